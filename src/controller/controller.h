// The ImageBuild controller: shared informers of ImageBuilds, their pods and ConfigMaps, and
// Nodes feed a work queue; workers hand each key to the ReconcileAdapter.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/controller_observer.h"
#include "controller/reconcile_adapter.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer_factory.h"
#include "kube/work_queue.h"

namespace ibo::controller {

struct ControllerOptions {
  std::vector<std::string> namespaces;  // empty: all namespaces
  int workers = 5;  // kube-controller-manager's --concurrent-job-syncs; the QPS limiter, not this, bounds the load
  std::chrono::seconds resync_period{300};
  std::chrono::seconds min_watch_timeout{300};  // each informer's watch ends after [min, 2*min)
  // Pods are listed and watched in protobuf (false: JSON), as client-go's controllers read them.
  bool pods_in_protobuf = true;
  OperatorSettings settings;
  ControllerObserver* observer = nullptr;  // optional: reconcile, work queue and build metrics
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
  const kube::Lister* WatchOwned(const kube::ResourceType& type, const std::string& ns);
  void EnqueueOwner(const kube::Json& object);
  void EnqueueUnfinished();
  void Worker();

  ControllerOptions options_;
  NullObserver null_observer_;
  ControllerObserver& observer_;
  kube::WorkQueue queue_;
  kube::InformerFactory informers_;
  std::unique_ptr<kube::UnionLister> imagebuilds_, pods_, config_maps_;
  kube::Informer* nodes_ = nullptr;
  std::unique_ptr<ReconcileAdapter> adapter_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
  std::mutex lifecycle_mu_;  // StartWorkers and Stop may come from different threads
};

}  // namespace ibo::controller
