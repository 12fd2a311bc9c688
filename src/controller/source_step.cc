// The build's source moved one step on: source.git.revision resolved to the one commit that every
// platform and every retry builds. A commit id needs no pod; a branch, tag or ref is resolved by
// a resolve pod with the git credentials, whose termination message is the commit.
#include <algorithm>

#include "common/url_escape.h"
#include "controller/decision.h"
#include "controller/retry_policy.h"

namespace ibo::controller {

using api::BuildPhase;
using api::Reason;
using enum Observation;

namespace {

std::string RevisionName(const std::string& revision) { return revision.empty() ? "HEAD" : revision; }

void Resolved(Decision& d, const Transition& t, const std::string& commit) {
  auto& source = d.status.source;
  source.commit = commit;
  source.next_time.reset();
  if (*t.event) d.Event(t.event, "revision " + RevisionName(source.revision) + " is commit " + commit);
}

// A failed resolve: another attempt after the backoff, or the build fails; at once when the pod
// said the revision does not exist (retrying cannot make it appear).
void ResolveFailed(Decision& d, const PodReport& report) {
  auto& source = d.status.source;
  const int attempt = source.attempt.value_or(1);
  const RetryPlan plan = PlanRetry(attempt, d.in.imagebuild.spec.retries, d.in.settings->retry_backoff, d.in.now);
  const Guard guard = report.permanent ? Guard::kPermanent : plan.retry ? Guard::kRetriesLeft : Guard::kNoRetriesLeft;
  const Transition& t = d.Step(Subject::kSource, "Resolving", report.observed, {guard});
  const std::string what = "cannot resolve revision " + RevisionName(source.revision) + ": " + report.what;
  if (guard != Guard::kRetriesLeft) return Finish(d, BuildPhase::kFailed, Reason::kBuildFailed, what, t.event);
  source.attempt = plan.next_attempt;
  source.next_time = plan.next_time;
  source.pod_name.clear();
  d.reason = Reason::kBuilding;
  d.message = "resolve attempt " + std::to_string(attempt) + " failed: " + report.what + "; retrying";
  d.Event(t.event, "attempt " + std::to_string(attempt) + " " + what + "; retrying in " +
                       std::to_string(plan.backoff.count()) + "s");
  d.RequeueAt(plan.next_time);
}

void CreateResolvePod(Decision& d, const BuildContext& ctx, const std::string& name) {
  d.actions.create_pods.push_back(ResolvePod(ctx, name));
  d.Step(Subject::kSource, "Resolving", d.status.source.pod_name == name ? kCreateRequested : kNotCreated);
  d.status.source.pod_name = name;
}

}  // namespace

bool SourceResolved(Decision& d, const BuildContext& ctx) {
  auto& source = d.status.source;
  if (!source.commit.empty()) return true;
  // A build in flight across the upgrade that brought this step has pods fetching the revision
  // themselves: it finishes as it started, with no commit recorded.
  const bool started_before = source.revision.empty() && source.pod_name.empty() &&
                              std::any_of(d.status.platforms.begin(), d.status.platforms.end(),
                                          [](const api::PlatformStatus& p) { return !p.pod_name.empty(); });
  if (started_before) return true;
  const auto& spec = d.in.imagebuild.spec;
  source.revision = spec.git_revision;
  if (IsCommitId(spec.git_revision)) {
    Resolved(d, d.Step(Subject::kSource, "Resolving", kRevisionIsCommit), spec.git_revision);
    return true;
  }
  d.reason = Reason::kBuilding;
  d.message = "resolving revision " + RevisionName(source.revision) + " of " + WithoutCredentials(spec.git_url);
  if (source.next_time && *source.next_time > d.in.now) {
    d.Step(Subject::kSource, "Resolving", kBackingOff);
    d.RequeueAt(*source.next_time);
    return false;
  }
  const int attempt = source.attempt.value_or(1);
  source.attempt = attempt;
  const std::string name = d.PodNameFor("resolve", attempt);
  const api::PodView* pod = d.Pod(name);
  if (!pod) {
    CreateResolvePod(d, ctx, name);
    return false;
  }
  const PodReport report = ObservePod(*pod, kResolveRole);
  switch (report.observed) {
    case kSucceeded:
      Resolved(d, d.Step(Subject::kSource, "Resolving", kSucceeded), report.digest);
      return true;
    case kCannotStart:
      d.actions.delete_pods.push_back(name);
      [[fallthrough]];
    case kFailed:
      ResolveFailed(d, report);
      return false;
    case kStuck:
      d.Step(Subject::kSource, "Resolving", kStuck);
      d.message += ": the resolve pod's " + report.what;
      return false;
    default:
      d.Step(Subject::kSource, "Resolving", report.observed == kUnbound ? kUnbound : kRunning);
      return false;
  }
}

}  // namespace ibo::controller
