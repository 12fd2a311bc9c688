// The reconcile decision for one ImageBuild, as a pure function: (the ImageBuild, its pods and
// ConfigMaps, the nodes, referenced Secrets, the clock, operator settings) -> actions. Adapters
// (controller.cc) read the inputs from informer caches and apply the actions.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/build_pods.h"

namespace ibo::controller {

struct SecretFacts {
  bool exists = false;
  std::string type;
  std::vector<std::string> keys;  // data keys only, never values
};

struct ReconcileInput {
  Json imagebuild;
  std::vector<Json> pods;        // owned by this ImageBuild
  std::vector<Json> config_maps;  // owned by this ImageBuild
  std::vector<Json> nodes;
  std::map<std::string, SecretFacts> secrets;  // by name, for every Secret the spec references
  std::chrono::system_clock::time_point now;
  const OperatorSettings* settings;
  int other_active_builds = 0;  // builds in progress elsewhere, for the concurrency cap
};

struct EventAction {
  std::string type;  // Normal or Warning
  std::string reason;
  std::string message;
};

struct Actions {
  std::vector<Json> create_pods;
  std::vector<std::string> delete_pods;
  std::optional<Json> apply_config_map;  // create or update
  std::optional<Json> status;            // the new status, when it changed
  std::vector<EventAction> events;
  std::optional<std::chrono::milliseconds> requeue_after;
};

// The secrets an ImageBuild references, so the adapter can look them up (existence and type only).
std::vector<std::string> ReferencedSecrets(const Json& imagebuild);

Actions Reconcile(const ReconcileInput& input);

// True while the build holds a slot of the operator's concurrency cap.
bool IsActive(const Json& imagebuild);

}  // namespace ibo::controller
