#include "controller/reconcile.h"

#include <algorithm>
#include <regex>
#include <set>

#include "common/time_format.h"

namespace ibo::controller {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using Clock = std::chrono::system_clock;

constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";

std::string Str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::optional<Clock::time_point> TimeField(const Json& j, const char* key) {
  auto text = Str(j, key);
  if (text.empty()) return std::nullopt;
  auto t = ParseTime(text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool IsDigest(const std::string& s) {
  static const std::regex kDigest("^sha256:[0-9a-f]{64}$");
  return std::regex_match(s, kDigest);
}

// The termination message (or reason) of the named container, trimmed and bounded.
std::string TerminationMessage(const Json& pod, const std::string& container, std::string* reason = nullptr) {
  const Json status = pod.value("status", Json::object());
  for (const auto& cs : status.value("containerStatuses", Json::array())) {
    if (cs.value("name", "") != container) continue;
    const Json terminated = cs.value("state", Json::object()).value("terminated", Json::object());
    if (reason) *reason = Str(terminated, "reason");
    return Trim(Str(terminated, "message"));
  }
  return "";
}

std::string Bounded(const std::string& s, size_t n = 300) {
  if (s.size() <= n) return s;
  return "..." + s.substr(s.size() - n);  // the tail of a log says most
}

bool NodeReadyFor(const Json& node, const PlatformSpec& p) {
  const Json labels = node.value("metadata", Json::object()).value("labels", Json::object());
  if (Str(labels, "kubernetes.io/os") != p.os || Str(labels, "kubernetes.io/arch") != p.arch) return false;
  if (node.value("spec", Json::object()).value("unschedulable", false)) return false;
  for (const auto& c : node.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool AnyReadyNode(const std::vector<Json>& nodes, const std::vector<const PlatformSpec*>& platforms) {
  for (const auto* p : platforms) {
    for (const auto& n : nodes) if (NodeReadyFor(n, *p)) return true;
  }
  return false;
}

std::string NoNodeMessage(const PlatformSpec& p) {
  return "no Ready node with kubernetes.io/os=" + p.os + " and kubernetes.io/arch=" + p.arch;
}

// Why a failed pod failed: the fetching init container first (a clone that failed), then the
// named container; reason and the tail of the message.
std::string FailureOf(const Json& pod, const std::string& container) {
  const Json status = pod.value("status", Json::object());
  for (const auto& cs : status.value("initContainerStatuses", Json::array())) {
    const Json terminated = cs.value("state", Json::object()).value("terminated", Json::object());
    if (terminated.value("exitCode", 0) != 0) {
      const std::string msg = Trim(Str(terminated, "message"));
      return "init container " + Str(cs, "name") + " failed (" + Str(terminated, "reason") + ")" +
             (msg.empty() ? "" : ": " + Bounded(msg));
    }
  }
  std::string reason;
  const std::string msg = TerminationMessage(pod, container, &reason);
  if (msg.empty() && reason.empty()) {
    const std::string pod_reason = Str(status, "reason"), pod_message = Str(status, "message");
    return "the pod failed" + (pod_reason.empty() ? "" : " (" + pod_reason + ")") +
           (pod_message.empty() ? "" : ": " + Bounded(pod_message));
  }
  return "container " + container + " failed" + (reason.empty() ? "" : " (" + reason + ")") + (msg.empty() ? "" : ": " + Bounded(msg));
}

// A container that cannot start: a permanent problem (a bad image name, a missing Secret key)
// fails the attempt; an image pull that backs off is said and waited on.
struct Stuck {
  bool permanent = false;
  std::string what;  // "" when nothing is stuck
};
Stuck StuckContainer(const Json& pod) {
  const Json status = pod.value("status", Json::object());
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const auto& cs : status.value(list, Json::array())) {
      const Json waiting = cs.value("state", Json::object()).value("waiting", Json::object());
      const std::string reason = Str(waiting, "reason");
      if (reason.empty() || reason == "ContainerCreating" || reason == "PodInitializing") continue;
      const bool permanent = reason == "InvalidImageName" || reason == "CreateContainerConfigError" ||
                             reason == "CreateContainerError";
      const std::string msg = Str(waiting, "message");
      return {permanent, "container " + Str(cs, "name") + " is waiting (" + reason + ")" + (msg.empty() ? "" : ": " + Bounded(msg, 200))};
    }
  }
  return {};
}

bool Unschedulable(const Json& pod) {
  for (const auto& c : pod.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False" &&
        c.value("reason", "") == "Unschedulable") {
      return true;
    }
  }
  return false;
}

bool Terminating(const Json& pod) { return pod.value("metadata", Json::object()).contains("deletionTimestamp"); }

std::string PodPhase(const Json& pod) { return Str(pod.value("status", Json::object()), "phase"); }

// The mutable view of a build's status that the decision works on.
struct Builder {
  const ReconcileInput& in;
  Actions actions;
  Json status;
  std::string now_text;
  std::string reason, message;  // for the conditions
  bool waiting_for_nodes = false;

  void Requeue(milliseconds after) {
    after = std::max(after, milliseconds(100));
    if (!actions.requeue_after || *actions.requeue_after > after) actions.requeue_after = after;
  }
  void RequeueAt(Clock::time_point t) { Requeue(duration_cast<milliseconds>(t - in.now)); }
  void Event(const std::string& type, const std::string& r, const std::string& m) {
    actions.events.push_back({type, r, m});
  }
};

std::string ConditionMessage(const Json& status, const std::string& type) {
  for (const auto& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == type) return Str(c, "message");
  }
  return "";
}

std::string ConditionReason(const Json& status, const std::string& type) {
  for (const auto& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == type) return Str(c, "reason");
  }
  return "";
}

bool HasKey(const SecretFacts& f, const std::string& key) {
  return std::find(f.keys.begin(), f.keys.end(), key) != f.keys.end();
}

// What the Secrets the spec names lack, as a message a person can act on; "" when all is well.
std::string CheckSecrets(const ImageBuildSpec& spec, const std::map<std::string, SecretFacts>& secrets) {
  auto facts = [&](const std::string& name) {
    auto it = secrets.find(name);
    return it == secrets.end() ? SecretFacts{} : it->second;
  };
  if (!spec.push_secret.empty()) {
    const SecretFacts f = facts(spec.push_secret);
    if (!f.exists) return "spec.pushSecretRef: Secret \"" + spec.push_secret + "\" does not exist in this namespace";
    if (f.type != "kubernetes.io/dockerconfigjson" || !HasKey(f, ".dockerconfigjson")) {
      return "spec.pushSecretRef: Secret \"" + spec.push_secret + "\" has type \"" + f.type +
             "\"; create it with kubectl create secret docker-registry (type kubernetes.io/dockerconfigjson)";
    }
  }
  if (!spec.git_secret.empty()) {
    const SecretFacts f = facts(spec.git_secret);
    if (!f.exists) return "spec.source.git.secretRef: Secret \"" + spec.git_secret + "\" does not exist in this namespace";
    if (!HasKey(f, "username") || !HasKey(f, "password")) {
      return "spec.source.git.secretRef: Secret \"" + spec.git_secret +
             "\" needs the keys username and password (kubectl create secret generic --type=kubernetes.io/basic-auth "
             "--from-literal=username=... --from-literal=password=...)";
    }
  }
  for (const auto& s : spec.build_secrets) {
    const SecretFacts f = facts(s.secret_name);
    if (!f.exists) return "spec.buildSecrets[" + s.id + "]: Secret \"" + s.secret_name + "\" does not exist in this namespace";
    if (!HasKey(f, s.key)) return "spec.buildSecrets[" + s.id + "]: Secret \"" + s.secret_name + "\" has no key \"" + s.key + "\"";
  }
  return "";
}

void SetCondition(Json& conditions, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, int64_t generation, const std::string& now) {
  const std::string status = value ? "True" : "False";
  for (auto& c : conditions) {
    if (c.value("type", "") != type) continue;
    if (c.value("status", "") != status) c["lastTransitionTime"] = now;
    c["status"] = status;
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = generation;
    return;
  }
  conditions.push_back({{"type", type}, {"status", status}, {"reason", reason}, {"message", message},
                        {"observedGeneration", generation}, {"lastTransitionTime", now}});
}

void WriteConditions(Builder& b, int64_t generation) {
  Json conditions = b.status.value("conditions", Json::array());
  const std::string phase = b.status.value("phase", "Pending");
  const bool succeeded = phase == "Succeeded";
  const bool failed = phase == "Failed";
  SetCondition(conditions, "Ready", succeeded, b.reason, b.message, generation, b.now_text);
  SetCondition(conditions, "Reconciling", !succeeded && !failed, b.reason, succeeded || failed ? "" : b.message,
               generation, b.now_text);
  SetCondition(conditions, "Stalled", failed, failed ? b.reason : "Progressing", failed ? b.message : "", generation,
               b.now_text);
  b.status["conditions"] = conditions;
}

void Finish(Builder& b, const std::string& phase, const std::string& reason, const std::string& message) {
  b.status["phase"] = phase;
  b.status["completionTime"] = b.now_text;
  b.reason = reason;
  b.message = message;
  b.Event(phase == "Failed" ? "Warning" : "Normal", reason, message);
}

void DeleteActivePods(Builder& b, const std::string& build_id) {
  for (const auto& pod : b.in.pods) {
    const std::string phase = PodPhase(pod);
    if (Terminating(pod) || phase == "Succeeded" || phase == "Failed") continue;
    if (pod["metadata"].value("labels", Json::object()).value(labels::kBuildId, "") != build_id) continue;
    b.actions.delete_pods.push_back(pod["metadata"]["name"]);
  }
}

Json* PlatformStatus(Json& platforms, const std::string& platform) {
  for (auto& p : platforms) if (p.value("platform", "") == platform) return &p;
  return nullptr;
}

// The wait before the attempt after `failed_attempt`: the operator's backoff, doubling, 5 min cap.
std::chrono::seconds RetryBackoff(const OperatorSettings& settings, int failed_attempt) {
  return std::min<std::chrono::seconds>(settings.retry_backoff * (1 << std::min(failed_attempt - 1, 10)),
                                        std::chrono::minutes(5));
}

// Handles a failed attempt: another attempt after a backoff, or the platform fails.
void AttemptFailed(Builder& b, Json& ps, const ImageBuildSpec& spec, const std::string& what) {
  const int attempt = ps.value("attempt", 1);
  const std::string platform = ps["platform"];
  if (attempt <= spec.retries) {
    const auto backoff = RetryBackoff(*b.in.settings, attempt);
    ps["attempt"] = attempt + 1;
    ps["phase"] = "Pending";
    ps["message"] = "attempt " + std::to_string(attempt) + " failed: " + what + "; retrying";
    ps["nextAttemptTime"] = FormatTime(b.in.now + backoff);
    ps.erase("podName");
    ps.erase("nodeName");
    b.Event("Warning", "BuildFailed", platform + ": attempt " + std::to_string(attempt) + " failed: " + what +
                                          "; retrying in " + std::to_string(backoff.count()) + "s");
    b.RequeueAt(b.in.now + backoff);
  } else {
    ps["phase"] = "Failed";
    ps["message"] = what;
    ps["completionTime"] = b.now_text;
    b.Event("Warning", "BuildFailed", platform + ": " + what + " (no retries left)");
  }
}

// One platform (or, for emulation: Always, every platform at once) moved one step on.
void ReconcileUnit(Builder& b, const BuildContext& ctx, const std::map<std::string, const Json*>& pods_by_name,
                   std::vector<Json*> statuses, std::vector<const PlatformSpec*> platforms, bool emulated_all) {
  Json& ps = *statuses.front();
  const std::string phase = ps.value("phase", "Pending");
  if (phase == "Succeeded" || phase == "Failed") return;
  if (auto next = TimeField(ps, "nextAttemptTime"); next && *next > b.in.now) {
    b.RequeueAt(*next);
    return;
  }
  const auto& meta = ctx.owner["metadata"];
  const bool emulated = emulated_all || ps.value("emulated", false);
  const int attempt = ps.value("attempt", 1);
  const std::string what = emulated_all ? std::string("all-platforms") : ps["platform"].get<std::string>() + (emulated ? "/emulated" : "");
  const std::string token = meta.value("annotations", Json::object()).value(labels::kRebuildAnnotation, "");
  const std::string name = PodName(meta["name"], meta["uid"], meta.value("generation", 1), token, what, attempt);
  auto it = pods_by_name.find(name);
  if (it == pods_by_name.end()) {
    b.actions.create_pods.push_back(BuildPod(ctx, platforms, emulated, name, attempt));
    // Already asked for (the cache has not shown it yet): the create is idempotent, say nothing twice.
    if (Str(ps, "podName") == name) {
      if (!emulated && !AnyReadyNode(b.in.nodes, platforms)) b.waiting_for_nodes = true;
      return;
    }
    for (Json* s : statuses) {
      (*s)["podName"] = name;
      (*s)["phase"] = "Pending";
      (*s)["attemptStartTime"] = b.now_text;
      if (!s->contains("startTime")) (*s)["startTime"] = b.now_text;
      s->erase("nextAttemptTime");
    }
    // The pod is created regardless (autoscalers add nodes for pods that ask), but a missing
    // architecture is said at once.
    if (!emulated && !AnyReadyNode(b.in.nodes, platforms)) {
      const std::string why = NoNodeMessage(*platforms.front());
      b.waiting_for_nodes = true;
      ps["message"] = why;
      b.Event("Warning", "NoNodesForPlatform", ps["platform"].get<std::string>() + ": " + why + "; waiting");
      b.RequeueAt(b.in.now + ctx.spec.scheduling_timeout);
    }
    return;
  }
  const Json& pod = *it->second;
  const std::string pod_phase = PodPhase(pod);
  const std::string node = Str(pod.value("spec", Json::object()), "nodeName");
  for (Json* s : statuses) {
    (*s)["podName"] = name;
    if (!node.empty()) (*s)["nodeName"] = node;
  }
  if (pod_phase == "Succeeded") {
    const std::string digest = TerminationMessage(pod, "build");
    if (!IsDigest(digest)) {
      for (Json* s : statuses) {
        AttemptFailed(b, *s, ctx.spec, "the build container ended without an image digest (termination message \"" +
                                           Bounded(digest, 120) + "\")");
      }
      return;
    }
    for (Json* s : statuses) {
      (*s)["phase"] = "Succeeded";
      (*s)["digest"] = digest;
      (*s)["completionTime"] = b.now_text;
      (*s)["message"] = "";
      s->erase("nextAttemptTime");
      b.Event("Normal", "Built", (*s)["platform"].get<std::string>() + " built as " + digest);
    }
    return;
  }
  if (pod_phase == "Failed") {
    const std::string what_failed = FailureOf(pod, "build");
    for (Json* s : statuses) AttemptFailed(b, *s, ctx.spec, what_failed);
    return;
  }
  if (!node.empty() || Terminating(pod)) {
    const Stuck stuck = StuckContainer(pod);
    if (stuck.permanent) {
      b.actions.delete_pods.push_back(name);
      for (Json* s : statuses) AttemptFailed(b, *s, ctx.spec, stuck.what);
      return;
    }
    for (Json* s : statuses) {
      (*s)["phase"] = "Building";
      if (!stuck.what.empty() && Str(*s, "message") != stuck.what) {
        (*s)["message"] = stuck.what;
        b.Event("Warning", "BuildStuck", (*s)["platform"].get<std::string>() + ": " + stuck.what);
      } else if (stuck.what.empty()) {
        s->erase("message");
      }
    }
    return;
  }
  // Not scheduled yet. Say at once when no node of this architecture exists; fail (or fall back
  // to emulation) only after schedulingTimeout.
  const auto created = TimeField(pod.value("metadata", Json::object()), "creationTimestamp")
                           .value_or(TimeField(ps, "attemptStartTime").value_or(b.in.now));
  const auto deadline = created + ctx.spec.scheduling_timeout;
  const bool any_node = emulated || AnyReadyNode(b.in.nodes, platforms);
  if (!any_node || Unschedulable(pod)) {
    const std::string platform = ps["platform"];
    const std::string why = !any_node ? NoNodeMessage(*platforms.front()) : "the build pod cannot be scheduled yet";
    if (b.in.now >= deadline) {
      b.actions.delete_pods.push_back(name);
      if (ctx.spec.emulation == Emulation::kFallback && !emulated) {
        ps["emulated"] = true;
        ps["message"] = why + " within " + std::to_string(ctx.spec.scheduling_timeout.count()) + "s; building emulated";
        b.Event("Warning", "EmulationFallback", platform + ": " + Str(ps, "message"));
        b.Requeue(milliseconds(100));
        return;
      }
      ps["phase"] = "Failed";
      ps["message"] = why + "; not scheduled within " + std::to_string(ctx.spec.scheduling_timeout.count()) + "s";
      ps["completionTime"] = b.now_text;
      b.Event("Warning", "NoNodesForPlatform", platform + ": " + Str(ps, "message"));
      return;
    }
    if (!any_node) {
      b.waiting_for_nodes = true;
      if (Str(ps, "message") != why) b.Event("Warning", "NoNodesForPlatform", platform + ": " + why + "; waiting");
    }
    ps["message"] = why;
    b.RequeueAt(deadline);
  }
}

void ReconcileMerge(Builder& b, const BuildContext& ctx, const std::map<std::string, const Json*>& pods_by_name,
                    const std::vector<std::string>& tags, const std::vector<std::string>& missing) {
  const auto& meta = ctx.owner["metadata"];
  const std::string token = meta.value("annotations", Json::object()).value(labels::kRebuildAnnotation, "");
  const int attempt = b.status.value("mergeAttempt", 1);
  if (auto next = TimeField(b.status, "nextMergeTime"); next && *next > b.in.now) {
    b.status["phase"] = "Merging";
    b.reason = "Merging";
    b.message = "merge attempt " + std::to_string(attempt) + " starts at " + Str(b.status, "nextMergeTime");
    b.RequeueAt(*next);
    return;
  }
  const std::string name = PodName(meta["name"], meta["uid"], meta.value("generation", 1), token, "merge", attempt);
  std::vector<std::pair<std::string, std::string>> digests;
  std::vector<std::string> platforms;
  for (const auto& ps : b.status["platforms"]) {
    if (ps.value("phase", "") != "Succeeded") continue;
    digests.emplace_back(ps["platform"], ps["digest"]);
    platforms.push_back(ps["platform"]);
  }
  auto it = pods_by_name.find(name);
  if (it == pods_by_name.end()) {
    b.actions.create_pods.push_back(MergePod(ctx, digests, tags, name));
    if (Str(b.status, "mergePodName") == name) {  // asked for already; the cache lags
      b.reason = "Merging";
      b.message = "pushing the manifest list for " + std::to_string(digests.size()) + " platforms";
      return;
    }
    b.status["phase"] = "Merging";
    b.status["mergePodName"] = name;
    b.status["mergeStartTime"] = b.now_text;
    b.status["mergeAttempt"] = attempt;
    b.status.erase("nextMergeTime");
    b.reason = "Merging";
    b.message = "pushing the manifest list for " + std::to_string(digests.size()) + " platforms";
    b.Event("Normal", "Merging", b.message);
    return;
  }
  const Json& pod = *it->second;
  b.status["phase"] = "Merging";
  b.reason = "Merging";
  b.message = "pushing the manifest list";
  const std::string pod_phase = PodPhase(pod);
  // A failed merge (a registry that was briefly away, say) is tried again like a build.
  auto merge_failed = [&](const std::string& what) {
    if (attempt <= ctx.spec.retries) {
      const auto backoff = RetryBackoff(*b.in.settings, attempt);
      b.status["mergeAttempt"] = attempt + 1;
      b.status["nextMergeTime"] = FormatTime(b.in.now + backoff);
      b.message = "merge attempt " + std::to_string(attempt) + " failed: " + what + "; retrying";
      b.Event("Warning", "MergeFailed", "attempt " + std::to_string(attempt) + " failed: " + what + "; retrying in " +
                                            std::to_string(backoff.count()) + "s");
      b.RequeueAt(b.in.now + backoff);
    } else {
      Finish(b, "Failed", "MergeFailed", what);
    }
  };
  if (pod_phase == "Succeeded") {
    const std::string digest = TerminationMessage(pod, "merge");
    if (!IsDigest(digest)) {
      merge_failed("the merge pod ended without an index digest: \"" + Bounded(digest, 120) + "\"");
      return;
    }
    const std::string image = ctx.spec.image;
    b.status["manifest"] = {{"digest", digest},
                            {"shortDigest", digest.substr(0, 19)},
                            {"reference", image + "@" + digest},
                            {"mediaType", kOciIndex},
                            {"tags", tags},
                            {"platforms", platforms}};
    if (missing.empty()) {
      Finish(b, "Succeeded", "Succeeded", "pushed " + image + "@" + digest + " for " + std::to_string(platforms.size()) + " platforms");
    } else {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      Finish(b, "Succeeded", "PartiallySucceeded", "pushed " + image + "@" + digest + " without " + list);
    }
  } else if (pod_phase == "Failed") {
    merge_failed(FailureOf(pod, "merge"));
  }
}

// Empty strings are left out of status: kube-apiserver 1.20 built with Go 1.16 or later refuses
// them in custom resources (kubernetes#99804), and an absent field reads the same.
void DropEmptyStrings(Json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_string() && it->get<std::string>().empty()) {
        it = j.erase(it);
      } else {
        DropEmptyStrings(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) DropEmptyStrings(e);
  }
}

}  // namespace

std::vector<std::string> ReferencedSecrets(const Json& imagebuild) {
  std::vector<std::string> out;
  const Json spec = imagebuild.value("spec", Json::object());
  auto add = [&](const std::string& n) { if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n); };
  add(Str(spec.value("pushSecretRef", Json::object()), "name"));
  add(Str(spec.value("source", Json::object()).value("git", Json::object()).value("secretRef", Json::object()), "name"));
  for (const auto& s : spec.value("buildSecrets", Json::array())) add(Str(s.value("secretRef", Json::object()), "name"));
  return out;
}

bool IsActive(const Json& imagebuild) {
  const std::string phase = Str(imagebuild.value("status", Json::object()), "phase");
  return phase == "Building" || phase == "Merging";
}

Actions Reconcile(const ReconcileInput& in) {
  Builder b{in, {}, in.imagebuild.value("status", Json::object()), FormatTime(in.now), "", ""};
  const Json& meta = in.imagebuild["metadata"];
  if (meta.contains("deletionTimestamp")) return {};  // the garbage collector removes the pods
  const Json old_status = b.status;
  const int64_t generation = meta.value("generation", 1);
  const std::string token = meta.value("annotations", Json::object()).value(labels::kRebuildAnnotation, "");
  const std::string build_id = BuildId(meta.value("uid", ""), generation, token);

  std::string superseded;  // the message, when this reconcile superseded a running build
  auto supersede = [&](const std::string& old_id) {
    superseded = "build " + old_id + " superseded by generation " + std::to_string(generation) +
                 (token.empty() ? "" : " (rebuild " + token + ")");
    b.Event("Normal", "Superseded", superseded);
  };
  if (Str(b.status, "buildID") != build_id) {
    const std::string old_phase = Str(b.status, "phase");
    if (!Str(b.status, "buildID").empty() && (old_phase == "Pending" || old_phase == "Building" || old_phase == "Merging")) {
      supersede(Str(b.status, "buildID"));
    }
    // startTime is set when the build leaves the queue: time spent Queued does not count.
    Json conditions = b.status.value("conditions", Json::array());
    b.status = {{"buildID", build_id}, {"phase", "Pending"}, {"platforms", Json::array()}, {"conditions", conditions}};
  }
  b.status["observedGeneration"] = generation;
  // A build whose status write was lost to a conflict (the spec changed between its pods' creation
  // and the write) is known only by its pods: superseding it is still news to the user.
  if (superseded.empty()) {
    std::set<std::string> unrecorded;
    for (const auto& pod : in.pods) {
      const std::string id = pod["metadata"].value("labels", Json::object()).value(labels::kBuildId, "");
      const std::string phase = pod.value("status", Json::object()).value("phase", "");
      if (!id.empty() && id != build_id && !Terminating(pod) && phase != "Succeeded" && phase != "Failed") unrecorded.insert(id);
    }
    for (const auto& id : unrecorded) supersede(id);
  }
  // Pods of other builds go at once; pods already terminating are never waited on.
  for (const auto& pod : in.pods) {
    if (pod["metadata"].value("labels", Json::object()).value(labels::kBuildId, "") != build_id && !Terminating(pod)) {
      b.actions.delete_pods.push_back(pod["metadata"]["name"]);
    }
  }

  auto finish_status = [&]() -> Actions {
    WriteConditions(b, generation);
    DropEmptyStrings(b.status);
    if (b.status != old_status) b.actions.status = b.status;
    return std::move(b.actions);
  };

  auto spec = ParseImageBuildSpec(in.imagebuild.value("spec", Json::object()));
  std::map<std::string, const Json*> pods_by_name;
  for (const auto& pod : in.pods) {
    if (!Terminating(pod)) pods_by_name[pod["metadata"]["name"]] = &pod;
  }

  // A finished build stays finished: what happens to its Secrets afterwards does not undo a
  // pushed image. Only a build stopped by InvalidSpec is looked at again (a Secret may appear).
  const std::string phase = Str(b.status, "phase");
  const bool invalid_before = phase == "Failed" && ConditionReason(b.status, "Ready") == "InvalidSpec";
  if (phase == "Succeeded" || (phase == "Failed" && !invalid_before)) {
    for (const auto& c : b.status.value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") { b.reason = Str(c, "reason"); b.message = Str(c, "message"); }
    }
    const auto ttl = spec.ok() && spec->ttl_seconds_after_finished ? spec->ttl_seconds_after_finished
                                                                   : in.settings->default_ttl_seconds_after_finished;
    const auto done = TimeField(b.status, "completionTime");
    if (ttl && done) {
      const auto expiry = *done + std::chrono::seconds(*ttl);
      for (const auto& [name, pod] : pods_by_name) {
        (void)pod;
        if (in.now >= expiry) b.actions.delete_pods.push_back(name);
        else b.RequeueAt(expiry);
      }
    }
    return finish_status();
  }

  std::string invalid = spec.ok() ? "" : spec.status().message();
  if (spec.ok()) invalid = CheckSecrets(*spec, in.secrets);
  if (!invalid.empty()) {
    DeleteActivePods(b, build_id);
    // Said once per distinct problem, not on every requeue.
    if (ConditionMessage(old_status, "Ready") != invalid) {
      b.Event("Warning", "InvalidSpec", invalid);
    }
    b.status["phase"] = "Failed";
    if (!b.status.contains("completionTime")) b.status["completionTime"] = b.now_text;
    b.reason = "InvalidSpec";
    b.message = invalid;
    // Secrets are not watched: look again later, so that a Secret created afterwards is seen.
    b.Requeue(std::chrono::seconds(30));
    return finish_status();
  }
  if (invalid_before) {
    // The problem is gone (a Secret was created or fixed): the same build starts after all.
    Json conditions = b.status.value("conditions", Json::array());
    b.status = {{"buildID", build_id}, {"phase", "Pending"}, {"platforms", Json::array()}, {"conditions", conditions},
                {"observedGeneration", generation}};
  }
  auto tags = DeriveTags(spec->version, spec->tags);

  BuildContext ctx{in.imagebuild, *spec, build_id, in.settings, false};
  if (auto cm = RegistryConfigMap(ctx)) {
    ctx.has_config_map = true;
    bool same = false;
    for (const auto& existing : in.config_maps) {
      if (existing["metadata"]["name"] == (*cm)["metadata"]["name"]) same = existing.value("data", Json::object()) == (*cm)["data"];
    }
    if (!same) b.actions.apply_config_map = *cm;
  }

  if (Str(b.status, "phase") == "Pending") {
    if (in.settings->max_concurrent_builds > 0 && in.other_active_builds >= in.settings->max_concurrent_builds) {
      b.reason = "Queued";
      b.message = "waiting: " + std::to_string(in.other_active_builds) + " builds are running, the operator's limit is " +
                  std::to_string(in.settings->max_concurrent_builds);
      b.Requeue(std::chrono::seconds(10));
      return finish_status();
    }
    b.status["phase"] = "Building";
    b.status["startTime"] = b.now_text;
    b.Event("Normal", "Building", "building " + spec->image + " for " + std::to_string(spec->platforms.size()) +
                                      " platforms (build " + build_id + ")");
  }

  const auto started = TimeField(b.status, "startTime").value_or(in.now);
  if (in.now - started >= spec->timeout) {
    DeleteActivePods(b, build_id);
    Finish(b, "Failed", "TimedOut", "the build did not finish within " + std::to_string(spec->timeout.count()) + "s");
    return finish_status();
  }
  b.RequeueAt(started + spec->timeout);

  // One status entry per platform, in spec order; entries of removed platforms are dropped.
  Json platforms = Json::array();
  for (const auto& p : spec->platforms) {
    Json* existing = PlatformStatus(b.status["platforms"], p.platform);
    platforms.push_back(existing ? *existing : Json{{"platform", p.platform}, {"phase", "Pending"}, {"attempt", 1}});
  }
  b.status["platforms"] = platforms;

  if (Str(b.status, "phase") == "Building") {
    std::vector<Json*> statuses;
    std::vector<const PlatformSpec*> specs;
    for (size_t i = 0; i < spec->platforms.size(); ++i) {
      statuses.push_back(&b.status["platforms"][i]);
      specs.push_back(&spec->platforms[i]);
    }
    if (spec->emulation == Emulation::kAlways) {
      ReconcileUnit(b, ctx, pods_by_name, statuses, specs, true);
    } else {
      for (size_t i = 0; i < statuses.size(); ++i) ReconcileUnit(b, ctx, pods_by_name, {statuses[i]}, {specs[i]}, false);
    }
  }

  std::vector<std::string> succeeded, failed, running;
  for (const auto& ps : b.status["platforms"]) {
    const std::string p = ps.value("phase", "");
    (p == "Succeeded" ? succeeded : p == "Failed" ? failed : running).push_back(ps["platform"]);
  }
  std::string failed_list;
  for (const auto& f : failed) failed_list += (failed_list.empty() ? "" : ", ") + f;
  if (!failed.empty() && spec->failure_policy == FailurePolicy::kAllPlatforms) {
    // The build cannot succeed any more: stop the other platforms now rather than at the end.
    for (auto& ps : b.status["platforms"]) {
      const std::string p = ps.value("phase", "");
      if (p == "Succeeded" || p == "Failed") continue;
      ps["phase"] = "Cancelled";
      ps["message"] = "cancelled: " + failed_list + " failed and failurePolicy is AllPlatforms";
    }
    DeleteActivePods(b, build_id);
    Finish(b, "Failed", "BuildFailed", "platforms failed: " + failed_list);
  } else if (running.empty()) {
    if (succeeded.empty()) {
      Finish(b, "Failed", "BuildFailed", "platforms failed: " + failed_list);
    } else {
      ReconcileMerge(b, ctx, pods_by_name, *tags, failed);
    }
  } else {
    b.reason = b.waiting_for_nodes ? "NoNodesForPlatform" : "Building";
    b.message = b.waiting_for_nodes ? "waiting for nodes: " : "building: ";
    std::string list;
    for (const auto& ps : b.status["platforms"]) {
      if (ps.value("phase", "") == "Succeeded" || ps.value("phase", "") == "Failed") continue;
      list += (list.empty() ? "" : ", ") + ps["platform"].get<std::string>() + " " + ps.value("phase", "");
      if (b.waiting_for_nodes && !Str(ps, "message").empty()) list += " (" + Str(ps, "message") + ")";
    }
    b.message += list;
    if (!superseded.empty()) {
      b.reason = "Superseded";
      b.message = superseded + "; " + b.message;
    }
  }
  return finish_status();
}

}  // namespace ibo::controller
