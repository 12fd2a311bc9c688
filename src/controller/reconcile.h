// The reconcile decision for one ImageBuild, as a pure function: (the ImageBuild, its pods and
// ConfigMaps, the nodes, facts about referenced Secrets, the clock, operator settings) ->
// actions. Adapters (controller.cc) read the inputs from informer caches and apply the actions.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/imagebuild.h"
#include "api/object_views.h"
#include "controller/build_pods.h"
#include "controller/lifecycle.h"

namespace ibo::controller {

struct SecretFacts {
  bool exists = false;
  std::string type;
  std::vector<std::string> keys;  // data keys only, never values
};

struct ReconcileInput {
  api::ImageBuild imagebuild;
  std::vector<api::PodView> pods;              // owned by this ImageBuild
  std::vector<api::ConfigMapView> config_maps;  // owned by this ImageBuild
  std::vector<api::NodeView> nodes;
  std::map<std::string, SecretFacts> secrets;  // by name, for every Secret the spec references
  std::chrono::system_clock::time_point now;
  const OperatorSettings* settings;
  int other_active_builds = 0;  // builds in progress elsewhere, for the concurrency cap
  // "namespace/name" of another ImageBuild merging into this one's repository, "" for none: a
  // registry has no conditional tag write, so merges into one repository take turns.
  std::string repository_merging;
};

struct EventAction {
  std::string type;  // Normal or Warning
  std::string reason;
  std::string message;
};

// A finished build attempt or merge, for the metrics: told by the decision, not re-derived.
struct Outcome {
  enum class Kind { kBuildAttempt, kMerge } kind;
  std::string platform;  // build attempts
  bool succeeded = false;
  std::optional<double> seconds;  // how long it ran, when known
};

struct Actions {
  std::vector<Json> create_pods;
  std::vector<std::string> delete_pods;
  std::optional<Json> apply_config_map;           // create, or see DecideExistingConfigMap
  std::optional<api::ImageBuildStatus> status;  // the new status, when it changed
  std::vector<EventAction> events;              // explain the status: recorded after it is written
  std::vector<Outcome> outcomes;                // likewise, once the status is written
  std::optional<std::chrono::milliseconds> requeue_after;
  std::vector<const Transition*> transitions;  // the lifecycle rows this pass took, in order
};

// The Secrets an ImageBuild's spec references, so the adapter can look them up.
std::vector<std::string> ReferencedSecrets(const api::ImageBuildSpec& spec);

Actions Reconcile(const ReconcileInput& input);

// True while the build holds a slot of the operator's concurrency cap.
bool IsActive(const api::ImageBuildStatus& status);

// The ConfigMap the decision wants exists already, outside the cache: whose is it?
struct ExistingConfigMapDecision {
  enum class Kind { kLeave, kUpdate, kConflict } kind;
  std::string message;  // kConflict: the event's message
};
ExistingConfigMapDecision DecideExistingConfigMap(const api::ConfigMapView& existing, const Json& wanted,
                                                  const std::string& owner_uid);

}  // namespace ibo::controller
