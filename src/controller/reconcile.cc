// The decision's spine: a build as a whole (new builds, validation, the queue, the timeout, the
// end), stringing together the platform units (platform_unit.cc) and the merge (merge_step.cc).
#include "controller/reconcile.h"

#include <algorithm>
#include <set>

#include "api/imagebuild_spec.h"
#include "controller/decision.h"

namespace ibo::controller {

using api::BuildPhase;
using api::PlatformPhase;
using api::Reason;
using enum Observation;

namespace {

const Transition kNoTransition{Subject::kBuild, "", kNotCreated, Guard::kAlways, "", kNoEffect, ""};

bool IsNormalEvent(const std::string& reason) {
  static const std::set<std::string> kNormal = {"Built", "Building", "Merging", "Succeeded", "PartiallySucceeded",
                                                "Superseded", "SourceResolved"};
  return kNormal.count(reason) > 0;
}

bool HasKey(const SecretFacts& f, const std::string& key) {
  return std::find(f.keys.begin(), f.keys.end(), key) != f.keys.end();
}

// What the Secrets the spec names lack, as a message a person can act on; "" when all is well.
std::string CheckSecrets(const api::ImageBuildSpec& spec, const std::map<std::string, SecretFacts>& secrets) {
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
  // A missing Secret volume would leave the merge pod mounting for ever: say so before building.
  if (const auto& signing = spec.signing) {
    const SecretFacts f = facts(signing->secret_name);
    const std::string where = "spec.signing.keySecretRef: Secret \"" + signing->secret_name + "\"";
    if (!f.exists) return where + " does not exist in this namespace";
    if (!HasKey(f, signing->key)) {
      return where + " has no key \"" + signing->key + "\" (kubectl create secret generic " + signing->secret_name +
             " --from-file=" + signing->key + "=cosign.key)";
    }
  }
  return "";
}

void SetCondition(std::vector<api::Condition>& conditions, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, int64_t generation, SystemTime now) {
  const std::string status = value ? "True" : "False";
  for (auto& c : conditions) {
    if (c.type != type) continue;
    if (c.status != status) c.last_transition_time = now;
    c.status = status;
    c.reason = reason;
    c.message = message;
    c.observed_generation = generation;
    return;
  }
  conditions.push_back({type, status, reason, message, generation, now});
}

// A new build starts from an empty status; the conditions carry on, so that their transition
// times stay true.
void ResetStatus(Decision& d) {
  std::vector<api::Condition> conditions = std::move(d.status.conditions);
  d.status = {};
  d.status.build_id = d.build_id;
  d.status.build_identity = d.in.imagebuild.identity;
  d.status.build_generation = d.build_generation;
  d.status.phase = BuildPhase::kPending;
  d.status.conditions = std::move(conditions);
}

// A build stopped by InvalidSpec is looked at again: a Secret may appear, or the spec be fixed.
bool StoppedByInvalidSpec(const api::ImageBuildStatus& status) {
  const auto* ready = status.FindCondition("Ready");
  return status.phase == BuildPhase::kFailed && ready && ready->reason == api::ReasonName(Reason::kInvalidSpec);
}

std::string PhaseName(const Decision& d) { return api::BuildPhaseName(d.status.PhaseOrPending()); }

void Enter(Decision& d, const Transition& t) {
  if (*t.to) d.status.phase = api::ParseBuildPhase(t.to);
}

std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

Decision::Decision(const ReconcileInput& input)
    : in(input), old_status(input.imagebuild.status), status(input.imagebuild.status) {
  const auto& meta = in.imagebuild.metadata;
  generation = meta.generation;
  auto token = meta.annotations.find(api::labels::kRebuildAnnotation);
  rebuild_token = token == meta.annotations.end() ? "" : token->second;
  BuildAt(generation);
}

void Decision::BuildAt(int64_t at) {
  build_generation = at;
  build_id = api::BuildId(in.imagebuild.metadata.uid, at, rebuild_token);
}

void Decision::Requeue(std::chrono::milliseconds after) {
  after = std::max(after, std::chrono::milliseconds(100));
  if (!actions.requeue_after || *actions.requeue_after > after) actions.requeue_after = after;
}

void Decision::RequeueAt(SystemTime t) { Requeue(std::chrono::duration_cast<std::chrono::milliseconds>(t - in.now)); }

void Decision::Event(const std::string& reason_text, const std::string& text) {
  actions.events.push_back({IsNormalEvent(reason_text) ? "Normal" : "Warning", reason_text, text});
}

const Transition& Decision::Step(Subject subject, const std::string& phase, Observation observed,
                                 const std::vector<Guard>& holding) {
  const Transition* t = FindTransition(subject, phase, observed, holding);
  if (!t) return kNoTransition;
  actions.transitions.push_back(t);
  return *t;
}

void Decision::DeleteUnfinishedPods(const std::string& role, const std::string& only_name) {
  for (const auto& pod : in.pods) {
    if (pod.terminating || pod.Finished() || pod.build_id != build_id) continue;
    if ((!role.empty() && pod.role != role) || (!only_name.empty() && pod.name != only_name)) continue;
    actions.delete_pods.push_back(pod.name);
  }
}

const api::PodView* Decision::Pod(const std::string& name) const {
  for (const auto& pod : in.pods) if (pod.name == name && !pod.terminating) return &pod;
  return nullptr;
}

std::string Decision::PodNameFor(const std::string& what, int attempt) const {
  const auto& meta = in.imagebuild.metadata;
  return api::PodName(meta.name, meta.uid, build_generation, rebuild_token, what, attempt);
}

// The build in the status goes on when the spec's identity fields are unchanged: edits to
// in-place and release fields rebuild nothing.
bool BuildGoesOn(Decision& d) {
  const auto& s = d.status;
  if (s.build_id.empty()) return false;
  if (!s.build_identity.empty()) {
    if (s.build_identity != d.in.imagebuild.identity || !s.build_generation) return false;
    d.BuildAt(*s.build_generation);
    return d.build_id == s.build_id;
  }
  // Written before builds had an identity: it is this build when nothing was edited since.
  if (s.observed_generation != d.generation || s.build_id != d.build_id) return false;
  d.status.build_identity = d.in.imagebuild.identity;
  d.status.build_generation = d.generation;
  return true;
}

void StartOrSupersede(Decision& d) {
  std::set<std::string> superseded;
  if (!BuildGoesOn(d)) {
    if (!d.status.build_id.empty() && d.status.phase && !api::IsFinished(*d.status.phase)) {
      superseded.insert(d.status.build_id);
    }
    d.BuildAt(d.generation);
    d.Step(Subject::kBuild, PhaseName(d), kNewBuild);
    ResetStatus(d);
  }
  d.status.observed_generation = d.generation;
  // A build whose status write was lost to a conflict (the spec changed between its pods'
  // creation and the write) is known only by its pods: superseding it is still news to the user.
  if (superseded.empty()) {
    for (const auto& pod : d.in.pods) {
      if (!pod.build_id.empty() && pod.build_id != d.build_id && !pod.terminating && !pod.Finished()) {
        superseded.insert(pod.build_id);
      }
    }
  }
  for (const auto& id : superseded) {
    const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kOtherBuildRunning);
    d.superseded = "build " + id + " superseded by generation " + std::to_string(d.generation) +
                   (d.rebuild_token.empty() ? "" : " (rebuild " + d.rebuild_token + ")");
    d.Event(t.event, d.superseded);
  }
  // Pods of other builds go at once, finished or not; pods already terminating are never waited on.
  for (const auto& pod : d.in.pods) {
    if (pod.build_id != d.build_id && !pod.terminating) d.actions.delete_pods.push_back(pod.name);
  }
}

void FinishedBuild(Decision& d) {
  if (const auto* ready = d.status.FindCondition("Ready")) d.message = ready->message;
  const auto& ib = d.in.imagebuild;
  const auto ttl = ib.spec_error.ok() && ib.spec.ttl_seconds_after_finished ? ib.spec.ttl_seconds_after_finished
                                                                             : d.in.settings->default_ttl_seconds_after_finished;
  if (!ttl || !d.status.completion_time) return;
  const auto expiry = *d.status.completion_time + std::chrono::seconds(*ttl);
  std::vector<std::string> live;
  for (const auto& pod : d.in.pods) if (!pod.terminating) live.push_back(pod.name);
  std::sort(live.begin(), live.end());
  if (!live.empty() && d.in.now >= expiry) d.Step(Subject::kBuild, PhaseName(d), kTtlExpired);
  for (const auto& name : live) {
    if (d.in.now >= expiry) d.actions.delete_pods.push_back(name);
    else d.RequeueAt(expiry);
  }
}

bool RemergeIfTagsChanged(Decision& d) {
  const auto& ib = d.in.imagebuild;
  if (!ib.spec_error.ok() || !d.status.manifest) return false;
  auto tags = api::DeriveReleaseTags(ib.spec);
  if (!tags.ok()) return false;
  // What the last merge was asked for: the tags it pushed and the ones it held back.
  std::set<std::string> asked(d.status.manifest->tags.begin(), d.status.manifest->tags.end());
  for (const auto& held : d.status.manifest->held_back) asked.insert(held.tag);
  // spec.signing names another key (or signing was just asked for): merge again, to sign.
  const auto& signature = d.status.manifest->signature;
  const bool sign_again = ib.spec.signing && (!signature || signature->key_secret_ref != *ib.spec.signing);
  if (std::set<std::string>(tags->all.begin(), tags->all.end()) == asked && !sign_again) return false;
  Enter(d, d.Step(Subject::kBuild, PhaseName(d), kTagsChanged));
  d.status.merge = {};
  d.status.completion_time.reset();
  return true;
}

bool SpecUsable(Decision& d) {
  const auto* ready = d.old_status.FindCondition("Ready");
  const bool invalid_before = StoppedByInvalidSpec(d.status);
  const auto& ib = d.in.imagebuild;
  const std::string invalid = ib.spec_error.ok() ? CheckSecrets(ib.spec, d.in.secrets) : ib.spec_error.message();
  if (!invalid.empty()) {
    const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kSpecInvalid);
    d.DeleteUnfinishedPods();
    // Said once per distinct problem, not on every requeue.
    if (!ready || ready->message != invalid) d.Event(t.event, invalid);
    Enter(d, t);
    if (!d.status.completion_time) d.status.completion_time = d.in.now;
    d.reason = Reason::kInvalidSpec;
    d.message = invalid;
    // Secrets are not watched: look again later, so that a Secret created afterwards is seen.
    d.Requeue(std::chrono::seconds(30));
    return false;
  }
  if (invalid_before) {
    // The problem is gone (a Secret was created or fixed): the build starts after all, named
    // by this generation, since the pods of an earlier one were deleted.
    d.Step(Subject::kBuild, PhaseName(d), kSpecFixed);
    d.BuildAt(d.generation);
    ResetStatus(d);
    d.status.observed_generation = d.generation;
  }
  return true;
}

bool Admit(Decision& d) {
  if (d.status.PhaseOrPending() != BuildPhase::kPending) return true;
  const int cap = d.in.settings->max_concurrent_builds;
  if (cap > 0 && d.in.other_active_builds >= cap) {
    d.Step(Subject::kBuild, PhaseName(d), kQueueFull);
    d.reason = Reason::kQueued;
    d.message = "waiting: " + std::to_string(d.in.other_active_builds) + " builds are running, the operator's limit is " +
                std::to_string(cap);
    d.Requeue(std::chrono::seconds(10));
    return false;
  }
  const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kAdmitted);
  Enter(d, t);
  d.status.start_time = d.in.now;
  const auto& spec = d.in.imagebuild.spec;
  d.Event(t.event, "building " + spec.image + " for " + std::to_string(spec.platforms.size()) + " platforms (build " +
                       d.build_id + ")");
  return true;
}

bool TimedOut(Decision& d) {
  const auto& spec = d.in.imagebuild.spec;
  // A merge again of a build long done (its tags changed) is bounded from its own start.
  const bool remerge = d.status.manifest && d.status.phase == BuildPhase::kMerging;
  const auto started = (remerge ? d.status.merge.start_time : d.status.start_time).value_or(d.in.now);
  if (d.in.now - started < spec.timeout) {
    d.RequeueAt(started + spec.timeout);
    return false;
  }
  const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kTimedOut);
  d.DeleteUnfinishedPods();
  Finish(d, BuildPhase::kFailed, Reason::kTimedOut,
         "the build did not finish within " + std::to_string(spec.timeout.count()) + "s", t.event);
  return true;
}

// One status entry per platform, in spec order; entries of removed platforms are dropped.
void AlignPlatforms(Decision& d) {
  std::vector<api::PlatformStatus> platforms;
  for (const auto& p : d.in.imagebuild.spec.platforms) {
    const api::PlatformStatus* existing = d.status.FindPlatform(p.platform);
    if (existing) {
      platforms.push_back(*existing);
    } else {
      platforms.push_back({});
      platforms.back().platform = p.platform;
    }
  }
  d.status.platforms = std::move(platforms);
}

void Finish(Decision& d, BuildPhase phase, Reason reason, const std::string& message, const std::string& event) {
  if (d.old_status.phase == BuildPhase::kMerging && d.status.merge.start_time) {
    d.actions.outcomes.push_back({Outcome::Kind::kMerge, "", phase == BuildPhase::kSucceeded,
                                  std::chrono::duration<double>(d.in.now - *d.status.merge.start_time).count()});
  }
  d.status.phase = phase;
  d.status.completion_time = d.in.now;
  d.reason = reason;
  d.message = message;
  d.Event(event.empty() ? api::ReasonName(reason) : event, message);
}

void StepBuild(Decision& d, const BuildContext& ctx, const api::ReleaseTags& tags) {
  std::vector<std::string> succeeded, failed, running;
  for (const auto& ps : d.status.platforms) {
    (ps.phase == PlatformPhase::kSucceeded ? succeeded : ps.phase == PlatformPhase::kFailed ? failed : running)
        .push_back(ps.platform);
  }
  const bool all_platforms = ctx.spec.failure_policy == api::FailurePolicy::kAllPlatforms;
  if (!failed.empty() && all_platforms) {
    // The build cannot succeed any more: stop the other platforms now rather than at the end.
    const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kPlatformFailed, {Guard::kAllPlatforms});
    for (auto& ps : d.status.platforms) {
      if (api::IsFinished(ps.phase)) continue;
      const Transition& cancel = d.Step(Subject::kPlatform, api::PlatformPhaseName(ps.phase), kCancelled, {Guard::kAllPlatforms});
      ps.phase = api::ParsePlatformPhase(cancel.to).value_or(ps.phase);
      ps.message = "cancelled: " + List(failed) + " failed and failurePolicy is AllPlatforms";
    }
    d.DeleteUnfinishedPods();
    Finish(d, BuildPhase::kFailed, Reason::kBuildFailed, "platforms failed: " + List(failed), t.event);
  } else if (running.empty() && succeeded.empty()) {
    const Transition& t = d.Step(Subject::kBuild, PhaseName(d), kNoneSucceeded);
    Finish(d, BuildPhase::kFailed, Reason::kBuildFailed, "platforms failed: " + List(failed), t.event);
  } else if (running.empty()) {
    Enter(d, d.Step(Subject::kBuild, PhaseName(d), kPlatformsDone));
    StepMerge(d, ctx, tags, failed);
  } else {
    d.reason = d.waiting_for_nodes ? Reason::kNoNodesForPlatform : Reason::kBuilding;
    std::string list;
    for (const auto& ps : d.status.platforms) {
      if (api::IsFinished(ps.phase)) continue;
      list += (list.empty() ? "" : ", ") + ps.platform + " " + api::PlatformPhaseName(ps.phase);
      if (d.waiting_for_nodes && !ps.message.empty()) list += " (" + ps.message + ")";
    }
    d.message = (d.waiting_for_nodes ? "waiting for nodes: " : "building: ") + list;
    if (!d.superseded.empty()) {
      d.reason = Reason::kSuperseded;
      d.message = d.superseded + "; " + d.message;
    }
  }
}

namespace {

// A node name alone is not worth a status write: every scheduler binding would cost one per platform,
// and the pod says where it runs. It rides along with the platform's next change (Running, a result).
bool OnlyNodeNamesDiffer(const api::ImageBuildStatus& now, const api::ImageBuildStatus& before) {
  if (now.platforms.size() != before.platforms.size()) return false;
  api::ImageBuildStatus without = now;
  for (size_t i = 0; i < now.platforms.size(); ++i) without.platforms[i].node_name = before.platforms[i].node_name;
  return without == before;
}

}  // namespace

Actions Conclude(Decision& d) {
  const BuildPhase phase = d.status.PhaseOrPending();
  const bool succeeded = phase == BuildPhase::kSucceeded, failed = phase == BuildPhase::kFailed;
  // A finished build keeps the reason it finished with.
  std::string reason = api::ReasonName(d.reason);
  if ((succeeded || failed) && d.reason == Reason::kProgressing) {
    if (const auto* ready = d.status.FindCondition("Ready")) reason = ready->reason;
  }
  auto& c = d.status.conditions;
  SetCondition(c, "Ready", succeeded, reason, d.message, d.generation, d.in.now);
  SetCondition(c, "Reconciling", !succeeded && !failed, reason, succeeded || failed ? "" : d.message, d.generation, d.in.now);
  SetCondition(c, "Stalled", failed, failed ? reason : api::ReasonName(Reason::kProgressing), failed ? d.message : "",
               d.generation, d.in.now);
  if (d.status != d.old_status && !OnlyNodeNamesDiffer(d.status, d.old_status)) d.actions.status = d.status;
  return std::move(d.actions);
}

std::vector<std::string> ReferencedSecrets(const api::ImageBuildSpec& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& n) {
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  add(spec.push_secret);
  add(spec.git_secret);
  for (const auto& s : spec.build_secrets) add(s.secret_name);
  if (spec.signing) add(spec.signing->secret_name);
  return out;
}

bool IsActive(const api::ImageBuildStatus& status) {
  return status.phase == BuildPhase::kBuilding || status.phase == BuildPhase::kMerging;
}

ExistingConfigMapDecision DecideExistingConfigMap(const api::ConfigMapView& existing, const Json& wanted,
                                                  const std::string& owner_uid) {
  using Kind = ExistingConfigMapDecision::Kind;
  if (!existing.ControlledBy(owner_uid)) {
    // Never overwrite what someone else made; say so where the user looks.
    return {Kind::kConflict, "ConfigMap " + existing.name + " exists and is not owned by this ImageBuild; rename or delete it"};
  }
  // A lagging cache may ask for what the server already holds: no write then.
  return {existing.data == api::DecodeConfigMap(wanted).data ? Kind::kLeave : Kind::kUpdate, ""};
}

Actions Reconcile(const ReconcileInput& in) {
  if (in.imagebuild.metadata.deleting) return {};  // the garbage collector removes the pods
  Decision d(in);
  StartOrSupersede(d);
  // A finished build stays finished: what happens to its Secrets afterwards does not undo a
  // pushed image. Only a build stopped by InvalidSpec is looked at again (a Secret may appear).
  const BuildPhase phase = d.status.PhaseOrPending();
  const bool invalid_before = StoppedByInvalidSpec(d.status);
  if ((phase == BuildPhase::kSucceeded && !RemergeIfTagsChanged(d)) || (phase == BuildPhase::kFailed && !invalid_before)) {
    FinishedBuild(d);
    return Conclude(d);
  }
  if (!SpecUsable(d)) return Conclude(d);
  const auto& spec = in.imagebuild.spec;
  auto tags = api::DeriveReleaseTags(spec);
  BuildContext ctx{in.imagebuild.metadata, spec, d.build_id, in.settings, false};
  if (auto cm = RegistryConfigMap(ctx)) {
    ctx.has_config_map = true;
    const std::string name = (*cm)["metadata"]["name"];
    const auto same = std::find_if(in.config_maps.begin(), in.config_maps.end(), [&](const api::ConfigMapView& c) {
      return c.name == name && c.data == api::DecodeConfigMap(*cm).data;
    });
    if (same == in.config_maps.end()) d.actions.apply_config_map = *cm;
  }
  if (!Admit(d) || TimedOut(d)) return Conclude(d);
  ctx.created = FormatTime(d.status.start_time.value_or(in.now));
  if (d.status.phase == BuildPhase::kBuilding && !SourceResolved(d, ctx)) return Conclude(d);
  ctx.commit = d.status.source.commit;
  AlignPlatforms(d);
  if (d.status.phase == BuildPhase::kBuilding) {
    std::vector<Unit> units;
    for (size_t i = 0; i < spec.platforms.size(); ++i) {
      if (i == 0 || spec.emulation != api::Emulation::kAlways) units.push_back({{}, {}, spec.emulation == api::Emulation::kAlways});
      units.back().statuses.push_back(&d.status.platforms[i]);
      units.back().specs.push_back(&spec.platforms[i]);
    }
    for (auto& unit : units) StepUnit(d, ctx, unit);
  }
  StepBuild(d, ctx, *tags);
  return Conclude(d);
}

}  // namespace ibo::controller
