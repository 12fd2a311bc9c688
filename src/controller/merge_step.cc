// The merge moved one step on: its pod created with every built platform's digest, watched
// (a container that cannot start fails the attempt, as for build pods), and its attempt ended
// with the index digest and the tags it held back, a retry or a failure.
#include "common/oci_media_types.h"
#include "common/url_escape.h"
#include "controller/decision.h"
#include "controller/retry_policy.h"

namespace ibo::controller {

using api::BuildPhase;
using api::Reason;
using enum Observation;

namespace {

// A failed merge (a registry that was briefly away, say) is tried again like a build.
void MergeFailed(Decision& d, const std::string& what, Observation observed) {
  const int attempt = d.status.merge.attempt.value_or(1);
  const RetryPlan plan = PlanRetry(attempt, d.in.imagebuild.spec.retries, d.in.settings->retry_backoff, d.in.now);
  const Transition& t = d.Step(Subject::kMerge, "Merging", observed, {plan.retry ? Guard::kRetriesLeft : Guard::kNoRetriesLeft});
  if (!plan.retry) return Finish(d, BuildPhase::kFailed, Reason::kMergeFailed, what, t.event);
  d.status.merge.attempt = plan.next_attempt;
  d.status.merge.next_time = plan.next_time;
  d.message = "merge attempt " + std::to_string(attempt) + " failed: " + what + "; retrying";
  d.Event(t.event, "attempt " + std::to_string(attempt) + " failed: " + what + "; retrying in " +
                       std::to_string(plan.backoff.count()) + "s");
  d.RequeueAt(plan.next_time);
}

std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

bool MovesFloating(const Decision& d, const std::vector<std::string>& missing) {
  return missing.empty() || d.in.imagebuild.spec.float_partial_merges;
}

// The manifest status: the tags that point at the index, and those held back with the reason.
api::ManifestStatus ManifestOf(const Decision& d, const PodReport& report, const api::ReleaseTags& tags,
                               const std::vector<std::string>& platforms, const std::vector<std::string>& missing) {
  const std::string& image = d.in.imagebuild.spec.image;
  api::ManifestStatus m{report.digest, report.digest.substr(0, 19), image + "@" + report.digest,
                        std::string(oci::media_type::kOciIndex), {}, platforms, {}, report.merge.unversioned};
  for (const auto& h : report.merge.held) m.held_back.push_back({h.tag, h.reason});
  if (!report.merge.signature_digest.empty() && d.in.imagebuild.spec.signing) {
    m.signature = api::SignatureStatus{report.merge.signature_digest, report.merge.key_fingerprint,
                                       *d.in.imagebuild.spec.signing};
  }
  if (!MovesFloating(d, missing)) {
    for (const auto& t : tags.floating) {
      m.held_back.push_back({t, "the index lacks " + List(missing) + "; floatPartialMerges moves floating tags anyway"});
    }
  }
  for (const auto& t : tags.all) {
    bool held = false;
    for (const auto& h : m.held_back) held |= h.tag == t;
    if (!held) m.tags.push_back(t);
  }
  return m;
}

void Merged(Decision& d, const PodReport& report, const api::ReleaseTags& tags, const std::vector<std::string>& platforms,
            const std::vector<std::string>& missing) {
  const Transition& t = d.Step(Subject::kMerge, "Merging", kSucceeded, {missing.empty() ? Guard::kComplete : Guard::kPartial});
  d.status.manifest = ManifestOf(d, report, tags, platforms, missing);
  std::string held;
  for (const auto& h : d.status.manifest->held_back) held += (held.empty() ? "" : "; ") + h.tag + " (" + h.reason + ")";
  const std::string pushed = "pushed " + d.status.manifest->reference;
  const std::string also = held.empty() ? "" : "; held back " + held;
  if (missing.empty()) {
    return Finish(d, BuildPhase::kSucceeded, Reason::kSucceeded,
                  pushed + " for " + std::to_string(platforms.size()) + " platforms" + also, t.event);
  }
  Finish(d, BuildPhase::kSucceeded, Reason::kPartiallySucceeded, pushed + " without " + List(missing) + also, t.event);
}

void SayPushing(Decision& d, const MergeInputs& inputs) {
  d.reason = Reason::kMerging;
  d.message = "pushing the manifest list for " + std::to_string(inputs.platform_digests.size()) + " platforms";
}

// The status names the merge's pod, its start and attempt, and the Merging event says it began.
void RecordMergeStarted(Decision& d, const std::string& name, int attempt, const MergeInputs& inputs,
                        Observation observed) {
  SayPushing(d, inputs);
  const Transition& t = d.Step(Subject::kMerge, "Merging", observed);
  d.status.phase = api::ParseBuildPhase(t.to);
  d.status.merge.pod_name = name;
  d.status.merge.start_time = d.in.now;
  d.status.merge.attempt = attempt;
  d.status.merge.next_time.reset();
  d.Event(t.event, d.message);
}

void CreateMergePod(Decision& d, const BuildContext& ctx, const std::string& name, int attempt, const MergeInputs& inputs) {
  d.actions.create_pods.push_back(MergePod(ctx, inputs, name));
  if (d.status.merge.pod_name == name) {  // asked for already; the cache lags
    SayPushing(d, inputs);
    d.Step(Subject::kMerge, "Merging", kCreateRequested);
    return;
  }
  RecordMergeStarted(d, name, attempt, inputs, kNotCreated);
}

}  // namespace

void StepMerge(Decision& d, const BuildContext& ctx, const api::ReleaseTags& tags, const std::vector<std::string>& missing) {
  const int attempt = d.status.merge.attempt.value_or(1);
  d.status.phase = BuildPhase::kMerging;
  d.reason = Reason::kMerging;
  if (const auto next = d.status.merge.next_time; next && *next > d.in.now) {
    d.Step(Subject::kMerge, "Merging", kBackingOff);
    d.message = "merge attempt " + std::to_string(attempt) + " starts at " + FormatTime(*next);
    d.RequeueAt(*next);
    return;
  }
  MergeInputs inputs{{}, tags, MovesFloating(d, missing), ImageMetadata(ctx, ctx.spec.annotations)};
  std::vector<std::string> platforms;
  for (const auto& ps : d.status.platforms) {
    if (ps.phase != api::PlatformPhase::kSucceeded) continue;
    inputs.platform_digests.emplace_back(ps.platform, ps.digest);
    platforms.push_back(ps.platform);
  }
  // A merge again after the tags changed has pods of its own, named by the tags it pushes.
  std::string joined;
  for (const auto& t : tags.all) joined += t + "\n";
  // ... and by the key it signs with: another key is another merge (unsigned merges keep their names).
  if (const auto& signing = ctx.spec.signing) joined += "signing " + signing->secret_name + "/" + signing->key + "\n";
  const std::string name = d.PodNameFor(d.status.manifest ? "merge-" + api::HashHex(joined, 8) : "merge", attempt);
  const api::PodView* pod = d.Pod(name);
  if (!pod && d.status.merge.pod_name != name && !d.in.repository_merging.empty()) {
    d.Step(Subject::kMerge, "Merging", kRepositoryBusy);
    d.message = "waiting for " + d.in.repository_merging + "'s merge into " + ctx.spec.image +
                " (a registry has no conditional tag write)";
    d.Requeue(std::chrono::seconds(5));
    return;
  }
  if (!pod) return CreateMergePod(d, ctx, name, attempt, inputs);
  // The reconcile that created the pod lost its status write (a conflict with a cache that lagged
  // an earlier write of ours): the merge is recorded and said now, or it never would be.
  if (d.status.merge.pod_name != name) RecordMergeStarted(d, name, attempt, inputs, kUnrecorded);
  const PodReport report = ObservePod(*pod, kMergeRole);
  d.message = "pushing the manifest list";
  switch (report.observed) {
    case kSucceeded:
      if (ctx.spec.signing && report.merge.signature_digest.empty()) {  // a --merge-image from before signing
        return MergeFailed(d, "spec.signing is set but the merge pod reported no signature (is --merge-image older "
                              "than signing?)", kFailed);
      }
      return Merged(d, report, tags, platforms, missing);
    case kCannotStart:
      d.actions.delete_pods.push_back(name);
      [[fallthrough]];
    case kFailed: return MergeFailed(d, report.what, report.observed);
    case kStuck:
      d.Step(Subject::kMerge, "Merging", kStuck);
      d.message = "pushing the manifest list: the merge pod's " + report.what;
      return;
    default: d.Step(Subject::kMerge, "Merging", report.observed);
  }
}

}  // namespace ibo::controller
