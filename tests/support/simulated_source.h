// What the stand-ins for kubelets (the node simulator, KubeletStandIn) answer for a resolve pod:
// no git server runs for them, so a revision resolves to a fixed fake commit of its URL and name.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/oci_digest.h"

namespace ibo::testing {

inline bool IsResolvePod(const nlohmann::json& pod) {
  return pod["metadata"].value("labels", nlohmann::json::object()).value("imagebuild.io/role", "") == "resolve";
}

// 40 hex digits, the same for the same GIT_URL and GIT_REVISION of the pod's container.
inline std::string SimulatedCommit(const nlohmann::json& pod) {
  std::string url, revision;
  for (const auto& e : pod["spec"]["containers"][0].value("env", nlohmann::json::array())) {
    if (e.value("name", "") == "GIT_URL") url = e.value("value", "");
    if (e.value("name", "") == "GIT_REVISION") revision = e.value("value", "");
  }
  return oci::Sha256Digest(url + "#" + revision).substr(7, 40);
}

}  // namespace ibo::testing
