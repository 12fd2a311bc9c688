// What a build or merge pod ended with (controller/pod_observation.h): the termination message is
// the build's digest, or the merge's index digest, or, with FallbackToLogsOnError, the tail of a
// failed build's log. A success must carry a well-formed digest, and the words made of a message
// that is valid UTF-8 (as the API server delivers it) must stay valid UTF-8: they go into the
// status and events, which are written as JSON.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/object_views.h"
#include "controller/pod_observation.h"

namespace {

using ibo::api::Json;
using ibo::controller::PodReport;

bool ValidUtf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

bool WellFormedDigest(const std::string& d) {
  if (d.size() != 71 || d.rfind("sha256:", 0) != 0) return false;
  for (size_t i = 7; i < d.size(); ++i) {
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'))) return false;
  }
  return true;
}

void Check(const PodReport& report, bool utf8) {
  if (report.observed == ibo::controller::Observation::kSucceeded && !WellFormedDigest(report.digest)) std::abort();
  if (utf8 && !ValidUtf8(report.what)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string message(reinterpret_cast<const char*>(data), size);
  const bool utf8 = ValidUtf8(message);
  for (const auto* role : {&ibo::controller::kBuildRole, &ibo::controller::kMergeRole}) {
    for (const char* phase : {"Succeeded", "Failed"}) {
      // As the informer hands the pod over: JSON, decoded into the view the decision reads.
      Json terminated = {{"exitCode", phase[0] == 'S' ? 0 : 1}, {"reason", "Error"}, {"message", message}};
      Json pod = {{"metadata", {{"name", "p"}}},
                  {"status", {{"phase", phase}, {"message", message},
                              {"containerStatuses", Json::array({{{"name", role->container}, {"state", {{"terminated", terminated}}}}})}}}};
      Check(ibo::controller::ObservePod(ibo::api::DecodePod(pod), *role), utf8);
      // The fetching init container's message, when it failed.
      pod["status"]["initContainerStatuses"] = Json::array({{{"name", "fetch"}, {"state", {{"terminated", terminated}}}}});
      Check(ibo::controller::ObservePod(ibo::api::DecodePod(pod), *role), utf8);
      // A container that waits says its message too.
      pod["status"]["phase"] = "Pending";
      pod["spec"]["nodeName"] = "n";
      pod["status"]["containerStatuses"][0]["state"] = {{"waiting", {{"reason", "ErrImagePull"}, {"message", message}}}};
      Check(ibo::controller::ObservePod(ibo::api::DecodePod(pod), *role), utf8);
    }
  }
  (void)ibo::controller::IsDigest(message);
  return 0;
}
