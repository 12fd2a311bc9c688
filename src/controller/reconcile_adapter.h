// The thin I/O around the pure decision for one ImageBuild: read its inputs from listers (and
// the Secrets' key names from the API), run Reconcile(), and apply the actions in a fixed order:
// creates (the pods of one decision at once), deletes, the status write, then the events and
// outcomes that explain that status.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/controller_observer.h"
#include "controller/reconcile.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/lister.h"
#include "kube/object_cache.h"

namespace ibo::controller {

// The ImageBuild resource, for the kube client; the client library itself names no product type.
inline const kube::ResourceType kImageBuildResource{api::kGroup, "v1alpha1", "imagebuilds", true};

// Indexes of the ImageBuild cache that the adapter reads instead of decoding every cached
// ImageBuild up to three times per reconcile (O(N^2) over a backlog). Add them to the cache (or
// informer) behind AdapterListers::imagebuilds before objects arrive: ImageBuildIndexes().
namespace imagebuild_indexes {
inline constexpr const char* kActive = "imagebuild-active";            // "1" while IsActive(status)
inline constexpr const char* kRepository = "imagebuild-repository";    // spec.image unless Failed
inline constexpr const char* kMerging = "imagebuild-merging";          // spec.image while Merging
inline constexpr const char* kUnfinished = "imagebuild-unfinished";    // "1" unless Succeeded or Failed
}  // namespace imagebuild_indexes
std::vector<std::pair<std::string, kube::IndexFunc>> ImageBuildIndexes();

struct AdapterListers {
  const kube::Lister& imagebuilds;  // with ImageBuildIndexes()
  const kube::Lister& pods;         // indexed by owner UID (kube::indexes::kOwnerUid)
  const kube::Lister& config_maps;  // likewise
  const kube::Lister& nodes;
};

class ReconcileAdapter {
 public:
  ReconcileAdapter(kube::Client& client, kube::EventRecorder& recorder, ControllerObserver& observer,
                   const OperatorSettings& settings, AdapterListers listers);

  // Reconciles one "namespace/name"; the requeue the decision asked for.
  Status Reconcile(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after);
  // Called when a slot under --max-concurrent-builds came free.
  void OnSlotFreed(std::function<void()> callback) { on_slot_freed_ = std::move(callback); }

 private:
  StatusOr<ReconcileInput> Gather(const std::string& key, const kube::Json& object, std::unique_lock<std::mutex>& admission,
                                  std::unique_lock<std::mutex>& merge_turn);
  void CountActive(const std::string& key, ReconcileInput& input);
  bool SharesRepository(const std::string& key, const std::string& repository) const;
  void FindRepositoryMerge(const std::string& key, ReconcileInput& input);
  Status AddSecretFacts(const std::string& ns, ReconcileInput& input);
  Status ApplyConfigMap(const kube::Json& owner, const std::string& uid, const kube::Json& wanted);
  std::vector<Status> CreateAll(const std::string& ns, const std::vector<kube::Json>& pods);
  Status CreatePods(const std::string& key, const kube::Json& object, const std::vector<kube::Json>& pods);
  Status Apply(const std::string& key, const kube::Json& object, const api::ImageBuildStatus& before, const Actions& actions);
  Status WriteStatus(const std::string& key, const kube::Json& object, const api::ImageBuildStatus& before,
                     const api::ImageBuildStatus& after);
  std::optional<std::chrono::milliseconds> AwaitingOwnWrite(const std::string& key, const kube::Json& cached);

  kube::Client& client_;
  kube::EventRecorder& recorder_;
  ControllerObserver& observer_;
  const OperatorSettings& settings_;
  AdapterListers listers_;
  std::function<void()> on_slot_freed_;
  std::mutex admission_mu_;  // one admission decision at a time under --max-concurrent-builds
  std::mutex admitted_mu_;
  std::set<std::string> admitted_;  // keys this process made active, ahead of the cache
  std::mutex merge_turn_mu_;        // one decision at a time that may start a merge
  std::map<std::string, std::string> merging_;  // key -> repository, ahead of the cache
  // Status writes the cache does not show yet, as client-go's expectations do for creates: a
  // reconcile that still sees the version a write replaced would decide on a status already gone,
  // and its own write could only conflict; it waits for the watch to deliver the write instead.
  struct UnseenWrite {
    std::string replaced_version;
    std::chrono::steady_clock::time_point written;
  };
  std::mutex unseen_mu_;
  std::map<std::string, UnseenWrite> unseen_writes_;
};

// How long a reconcile waits for the watch to show the ImageBuild's own status write before it
// decides anyway; the watch delivers it in milliseconds, so this only bounds a watch in trouble.
inline constexpr std::chrono::milliseconds kOwnWriteWait{5000};

}  // namespace ibo::controller
