#include "controller/pod_observation.h"

#include <algorithm>
#include <cctype>

#include "common/oci_reference.h"

namespace ibo::controller {
namespace {

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool ReadBuild(const std::string& message, PodReport& report) {
  if (IsDigest(message)) {
    report.digest = message;
    return true;
  }
  report.what = "the build container ended without an image digest (termination message \"" + Bounded(message, 120) + "\")";
  return false;
}

bool ReadMerge(const std::string& message, PodReport& report) {
  auto parsed = api::ParseMergeReport(message);
  if (parsed.ok()) {
    report.digest = parsed->digest;
    report.merge = std::move(parsed).value();
    return true;
  }
  report.what = "the merge pod ended without an index digest: \"" + Bounded(message, 120) + "\"";
  return false;
}

bool ReadResolve(const std::string& message, PodReport& report) {
  if (IsCommitId(message)) {
    report.digest = message;
    return true;
  }
  report.what = "the resolve pod ended without a commit id (termination message \"" + Bounded(message, 120) + "\")";
  return false;
}

// Source containers exit kSourcePermanentExitCode when the server lacks what was asked for.
bool SaysPermanent(const api::ContainerView& c) {
  return c.terminated && c.exit_code == kSourcePermanentExitCode && (c.name == "source" || c.name == "resolve");
}

// Why a failed pod failed: the fetching init container first (a clone that failed), then the
// role's container; reason and the tail of the message.
std::string FailureOf(const api::PodView& pod, const std::string& container) {
  for (const auto& cs : pod.init_containers) {
    if (!cs.terminated || cs.exit_code == 0) continue;
    const std::string msg = Trim(cs.terminated_message);
    return "init container " + cs.name + " failed (" + cs.terminated_reason + ")" + (msg.empty() ? "" : ": " + Bounded(msg));
  }
  const api::ContainerView* c = pod.Container(container);
  const std::string reason = c ? c->terminated_reason : "";
  const std::string msg = c ? Trim(c->terminated_message) : "";
  if (msg.empty() && reason.empty()) {
    return "the pod failed" + (pod.reason.empty() ? "" : " (" + pod.reason + ")") +
           (pod.message.empty() ? "" : ": " + Bounded(pod.message));
  }
  return "container " + container + " failed" + (reason.empty() ? "" : " (" + reason + ")") + (msg.empty() ? "" : ": " + Bounded(msg));
}

// A container that cannot start: a permanent problem (a bad image name, a missing Secret key)
// fails the attempt; an image pull that backs off is said and waited on.
bool StuckContainer(const api::PodView& pod, PodReport& report) {
  for (const auto* list : {&pod.init_containers, &pod.containers}) {
    for (const auto& cs : *list) {
      const std::string& reason = cs.waiting_reason;
      if (reason.empty() || reason == "ContainerCreating" || reason == "PodInitializing") continue;
      const bool permanent = reason == "InvalidImageName" || reason == "CreateContainerConfigError" ||
                             reason == "CreateContainerError";
      report.observed = permanent ? Observation::kCannotStart : Observation::kStuck;
      report.what = "container " + cs.name + " is waiting (" + reason + ")" +
                    (cs.waiting_message.empty() ? "" : ": " + Bounded(cs.waiting_message, 200));
      return true;
    }
  }
  return false;
}

}  // namespace

const PodRole kBuildRole{"build", ReadBuild};
const PodRole kMergeRole{"merge", ReadMerge};
const PodRole kResolveRole{"resolve", ReadResolve};

std::string Bounded(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  // Start on a character: a cut UTF-8 sequence makes the status and the event unwritable as JSON.
  size_t start = s.size() - n;
  while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) ++start;
  return "..." + s.substr(start);
}

bool IsDigest(const std::string& s) {
  return s.rfind("sha256:", 0) == 0 && oci::ValidateDigest(s).ok();
}

bool IsCommitId(const std::string& s) {
  const auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); };
  return (s.size() == 40 || s.size() == 64) && std::all_of(s.begin(), s.end(), hex);
}

PodReport ObservePod(const api::PodView& pod, const PodRole& role) {
  PodReport report;
  report.node = pod.node_name;
  if (pod.phase == "Succeeded") {
    const api::ContainerView* c = pod.Container(role.container);
    const std::string message = c ? Trim(c->terminated_message) : "";
    report.observed = role.read(message, report) ? Observation::kSucceeded : Observation::kFailed;
    return report;
  }
  if (pod.phase == "Failed") {
    report.observed = Observation::kFailed;
    report.what = FailureOf(pod, role.container);
    for (const auto* list : {&pod.init_containers, &pod.containers}) {
      for (const auto& c : *list) report.permanent |= SaysPermanent(c);
    }
    return report;
  }
  if (pod.node_name.empty()) {
    report.observed = Observation::kUnbound;
    return report;
  }
  if (!StuckContainer(pod, report)) report.observed = pod.Started() ? Observation::kRunning : Observation::kStarting;
  return report;
}

}  // namespace ibo::controller
