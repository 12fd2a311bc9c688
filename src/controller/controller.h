// The ImageBuild controller's adapters: informer caches of ImageBuilds, their pods and ConfigMaps,
// and Nodes feed a work queue; workers run the pure Reconcile() and apply its actions.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/build_pods.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/work_queue.h"
#include "server/metrics.h"

namespace ibo::controller {

struct ControllerOptions {
  std::vector<std::string> namespaces;  // empty: all namespaces
  int workers = 2;
  std::chrono::seconds resync_period{300};
  OperatorSettings settings;
  server::Metrics* metrics = nullptr;  // optional: reconcile, work queue and build metrics
};

class ImageBuildController {
 public:
  ImageBuildController(kube::Client& client, kube::EventRecorder& recorder, ControllerOptions options);
  ~ImageBuildController();

  // Starts the informers; WaitForSync says when the caches are complete.
  void StartInformers();
  bool WaitForSync(std::chrono::milliseconds timeout);
  bool HasSynced() const;
  // Starts the workers (only on the leader).
  void StartWorkers();
  // Stops taking work, lets in-flight reconciles finish, stops the informers.
  void Stop();

  // Reconciles one "namespace/name" now; exposed for tests and for the workers.
  Status ReconcileKey(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after);

 private:
  Status ReconcileCached(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after);
  void EnqueueOwner(const kube::Json& object);
  void EnqueueUnfinished();
  void Worker();
  // Counts finished build attempts and merges between the status before and after a reconcile.
  void RecordBuildMetrics(const kube::Json& before, const kube::Json& after);
  std::vector<kube::Json> Collect(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                                  const std::string& index, const std::string& value) const;

  kube::Client& client_;
  kube::EventRecorder& recorder_;
  ControllerOptions options_;
  kube::WorkQueue queue_;
  std::vector<std::unique_ptr<kube::Informer>> imagebuilds_, pods_, config_maps_;
  std::unique_ptr<kube::Informer> nodes_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
  std::mutex lifecycle_mu_;  // StartWorkers and Stop may come from different threads
  std::mutex admission_mu_;  // one admission decision at a time under --max-concurrent-builds
  std::mutex admitted_mu_;
  std::set<std::string> admitted_;  // keys this process made active, ahead of the cache
};

}  // namespace ibo::controller
