// The merge moved one step on: its pod created with every built platform's digest, watched
// (a container that cannot start fails the attempt, as for build pods), and its attempt ended
// with the index digest, a retry or a failure.
#include "controller/decision.h"
#include "controller/retry_policy.h"
#include "common/oci_media_types.h"

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

void Merged(Decision& d, const std::string& digest, const std::vector<std::string>& tags,
            const std::vector<std::string>& platforms, const std::vector<std::string>& missing) {
  const std::string& image = d.in.imagebuild.spec.image;
  const Transition& t = d.Step(Subject::kMerge, "Merging", kSucceeded, {missing.empty() ? Guard::kComplete : Guard::kPartial});
  d.status.manifest = api::ManifestStatus{digest, digest.substr(0, 19), image + "@" + digest,
                                          std::string(oci::media_type::kOciIndex), tags, platforms};
  if (missing.empty()) {
    return Finish(d, BuildPhase::kSucceeded, Reason::kSucceeded,
                  "pushed " + image + "@" + digest + " for " + std::to_string(platforms.size()) + " platforms", t.event);
  }
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  Finish(d, BuildPhase::kSucceeded, Reason::kPartiallySucceeded, "pushed " + image + "@" + digest + " without " + list, t.event);
}

void CreateMergePod(Decision& d, const BuildContext& ctx, const std::string& name, int attempt,
                    const std::vector<std::pair<std::string, std::string>>& digests, const std::vector<std::string>& tags) {
  d.actions.create_pods.push_back(MergePod(ctx, digests, tags, name));
  d.reason = Reason::kMerging;
  d.message = "pushing the manifest list for " + std::to_string(digests.size()) + " platforms";
  if (d.status.merge.pod_name == name) {  // asked for already; the cache lags
    d.Step(Subject::kMerge, "Merging", kCreateRequested);
    return;
  }
  const Transition& t = d.Step(Subject::kMerge, "Merging", kNotCreated);
  d.status.phase = api::ParseBuildPhase(t.to);
  d.status.merge.pod_name = name;
  d.status.merge.start_time = d.in.now;
  d.status.merge.attempt = attempt;
  d.status.merge.next_time.reset();
  d.Event(t.event, d.message);
}

}  // namespace

void StepMerge(Decision& d, const BuildContext& ctx, const std::vector<std::string>& tags,
               const std::vector<std::string>& missing) {
  const int attempt = d.status.merge.attempt.value_or(1);
  d.status.phase = BuildPhase::kMerging;
  d.reason = Reason::kMerging;
  if (const auto next = d.status.merge.next_time; next && *next > d.in.now) {
    d.Step(Subject::kMerge, "Merging", kBackingOff);
    d.message = "merge attempt " + std::to_string(attempt) + " starts at " + FormatTime(*next);
    d.RequeueAt(*next);
    return;
  }
  std::vector<std::pair<std::string, std::string>> digests;
  std::vector<std::string> platforms;
  for (const auto& ps : d.status.platforms) {
    if (ps.phase != api::PlatformPhase::kSucceeded) continue;
    digests.emplace_back(ps.platform, ps.digest);
    platforms.push_back(ps.platform);
  }
  // A merge again after the tags changed has pods of its own, named by the tags it pushes.
  std::string joined;
  for (const auto& t : tags) joined += t + "\n";
  const std::string name = d.PodNameFor(d.status.manifest ? "merge-" + api::HashHex(joined, 8) : "merge", attempt);
  const api::PodView* pod = d.Pod(name);
  if (!pod) return CreateMergePod(d, ctx, name, attempt, digests, tags);
  const PodReport report = ObservePod(*pod, kMergeRole);
  d.message = "pushing the manifest list";
  switch (report.observed) {
    case kSucceeded: return Merged(d, report.digest, tags, platforms, missing);
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
