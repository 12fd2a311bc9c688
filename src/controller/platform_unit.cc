// A platform unit moved one step on: its pod created, watched while it schedules and runs, and
// its attempt ended with a digest, a retry or a failure. An emulation: Always unit holds every
// platform; all of them share the unit's state.
#include "controller/decision.h"
#include "controller/retry_policy.h"

namespace ibo::controller {

using api::PlatformPhase;
using enum Observation;

namespace {

bool NodeReadyFor(const api::NodeView& node, const api::PlatformSpec& p) {
  return node.os == p.os && node.arch == p.arch && !node.unschedulable && node.ready;
}

bool AnyReadyNode(const std::vector<api::NodeView>& nodes, const std::vector<const api::PlatformSpec*>& platforms) {
  for (const auto* p : platforms) {
    for (const auto& n : nodes) if (NodeReadyFor(n, *p)) return true;
  }
  return false;
}

std::string NoNodeMessage(const api::PlatformSpec& p) {
  return "no Ready node with kubernetes.io/os=" + p.os + " and kubernetes.io/arch=" + p.arch;
}

void Enter(api::PlatformStatus& s, const Transition& t) {
  if (*t.to) s.phase = api::ParsePlatformPhase(t.to).value_or(s.phase);
}

std::optional<double> AttemptSeconds(const api::PlatformStatus& s, SystemTime now) {
  if (!s.attempt_start_time) return std::nullopt;
  return std::chrono::duration<double>(now - *s.attempt_start_time).count();
}

// A failed attempt: another one after the backoff, or the platform fails; at once when the pod
// said retrying cannot help (the commit is gone from the server).
void AttemptFailed(Decision& d, api::PlatformStatus& s, const PodReport& report) {
  const std::string& what = report.what;
  RetryPlan plan = PlanRetry(s.attempt, d.in.imagebuild.spec.retries, d.in.settings->retry_backoff, d.in.now);
  if (report.permanent) plan.retry = false;
  const Transition& t = d.Step(Subject::kPlatform, api::PlatformPhaseName(s.phase), report.observed,
                               {report.permanent ? Guard::kPermanent : plan.retry ? Guard::kRetriesLeft : Guard::kNoRetriesLeft});
  d.actions.outcomes.push_back({Outcome::Kind::kBuildAttempt, s.platform, false,
                                plan.retry ? std::nullopt : AttemptSeconds(s, d.in.now)});
  Enter(s, t);
  const std::string attempt = std::to_string(s.attempt);
  if (plan.retry) {
    s.attempt = plan.next_attempt;
    s.message = "attempt " + attempt + " failed: " + what + "; retrying";
    s.next_attempt_time = plan.next_time;
    s.pod_name.clear();
    s.node_name.clear();
    d.Event(t.event, s.platform + ": attempt " + attempt + " failed: " + what + "; retrying in " +
                         std::to_string(plan.backoff.count()) + "s");
    d.RequeueAt(plan.next_time);
  } else {
    s.message = what;
    s.completion_time = d.in.now;
    d.Event(t.event, s.platform + ": " + what + (report.permanent ? " (not retried: retrying cannot help)" : " (no retries left)"));
  }
}

void PodMissing(Decision& d, const BuildContext& ctx, Unit& unit, const std::string& name, bool emulated) {
  api::PlatformStatus& lead = *unit.statuses.front();
  const bool no_nodes = !emulated && !AnyReadyNode(d.in.nodes, unit.specs);
  d.actions.create_pods.push_back(BuildPod(ctx, unit.specs, emulated, name, lead.attempt));
  // Already asked for (the cache has not shown it yet): the create is idempotent, say nothing twice.
  if (lead.pod_name == name) {
    d.Step(Subject::kPlatform, api::PlatformPhaseName(lead.phase), kCreateRequested);
    if (no_nodes) d.waiting_for_nodes = true;
    return;
  }
  const Transition& t = d.Step(Subject::kPlatform, api::PlatformPhaseName(lead.phase), kNotCreated,
                               {no_nodes ? Guard::kNoNodes : Guard::kNodesExist});
  for (auto* s : unit.statuses) {
    s->pod_name = name;
    Enter(*s, t);
    s->attempt_start_time = d.in.now;
    if (!s->start_time) s->start_time = d.in.now;
    s->next_attempt_time.reset();
  }
  // The pod is created regardless (autoscalers add nodes for pods that ask), but a missing
  // architecture is said at once.
  if (no_nodes) {
    const std::string why = NoNodeMessage(*unit.specs.front());
    d.waiting_for_nodes = true;
    lead.message = why;
    d.Event(t.event, lead.platform + ": " + why + "; waiting");
    d.RequeueAt(d.in.now + ctx.spec.scheduling_timeout);
  }
}

// Not scheduled yet. Say at once when no node of this architecture exists; fail (or fall back
// to emulation) only after schedulingTimeout.
void NotScheduled(Decision& d, const BuildContext& ctx, Unit& unit, const api::PodView& pod, bool emulated) {
  api::PlatformStatus& lead = *unit.statuses.front();
  const auto deadline = pod.created.value_or(lead.attempt_start_time.value_or(d.in.now)) + ctx.spec.scheduling_timeout;
  const bool any_node = emulated || AnyReadyNode(d.in.nodes, unit.specs);
  const std::string phase = api::PlatformPhaseName(lead.phase);
  if (any_node && !pod.unschedulable) {
    d.Step(Subject::kPlatform, phase, kUnbound);
    return;
  }
  const std::string why = !any_node ? NoNodeMessage(*unit.specs.front()) : "the build pod cannot be scheduled yet";
  const std::string within = std::to_string(ctx.spec.scheduling_timeout.count()) + "s";
  if (d.in.now >= deadline) {
    d.actions.delete_pods.push_back(pod.name);
    const bool fallback = ctx.spec.emulation == api::Emulation::kFallback && !emulated;
    const Transition& t = d.Step(Subject::kPlatform, phase, kSchedulingDeadline, {fallback ? Guard::kFallback : Guard::kNoFallback});
    if (fallback) {
      lead.emulated = true;
      lead.message = why + " within " + within + "; building emulated";
      d.Event(t.event, lead.platform + ": " + lead.message);
      d.Requeue(std::chrono::milliseconds(100));
      return;
    }
    for (auto* s : unit.statuses) {  // every platform of an emulated group fails with it
      Enter(*s, t);
      s->message = why + "; not scheduled within " + within;
      s->completion_time = d.in.now;
      d.actions.outcomes.push_back({Outcome::Kind::kBuildAttempt, s->platform, false, AttemptSeconds(*s, d.in.now)});
      d.Event(t.event, s->platform + ": " + s->message);
    }
    return;
  }
  const Transition& t = d.Step(Subject::kPlatform, phase, kWaitingForNodes, {any_node ? Guard::kNodesExist : Guard::kNoNodes});
  if (!any_node) {
    d.waiting_for_nodes = true;
    if (lead.message != why) d.Event(t.event, lead.platform + ": " + why + "; waiting");
  }
  for (auto* s : unit.statuses) s->message = why;
  d.RequeueAt(deadline);
}

void Running(Decision& d, Unit& unit, const PodReport& report) {
  for (auto* s : unit.statuses) {
    const Transition& t = d.Step(Subject::kPlatform, api::PlatformPhaseName(s->phase), report.observed);
    Enter(*s, t);
    if (report.observed == kStuck && s->message != report.what) {
      s->message = report.what;
      d.Event(t.event, s->platform + ": " + report.what);
    } else if (report.observed == kRunning || report.observed == kStarting) {
      s->message.clear();
    }
  }
}

void Built(Decision& d, Unit& unit, const std::string& digest) {
  for (auto* s : unit.statuses) {
    const Transition& t = d.Step(Subject::kPlatform, api::PlatformPhaseName(s->phase), kSucceeded);
    d.actions.outcomes.push_back({Outcome::Kind::kBuildAttempt, s->platform, true, AttemptSeconds(*s, d.in.now)});
    Enter(*s, t);
    s->digest = digest;
    s->completion_time = d.in.now;
    s->message.clear();
    s->next_attempt_time.reset();
    d.Event(t.event, s->platform + " built as " + digest);
  }
}

// Statuses written before the emulated group had one state may disagree: the lead decides.
void FollowLead(Unit& unit) {
  const api::PlatformStatus& lead = *unit.statuses.front();
  for (auto* s : unit.statuses) {
    if (api::IsFinished(s->phase)) continue;
    s->phase = lead.phase;
    s->message = lead.message;
    s->completion_time = lead.completion_time;
  }
}

}  // namespace

void StepUnit(Decision& d, const BuildContext& ctx, Unit& unit) {
  api::PlatformStatus& lead = *unit.statuses.front();
  if (api::IsFinished(lead.phase)) return FollowLead(unit);
  if (lead.next_attempt_time && *lead.next_attempt_time > d.in.now) {
    d.Step(Subject::kPlatform, api::PlatformPhaseName(lead.phase), kBackingOff);
    d.RequeueAt(*lead.next_attempt_time);
    return;
  }
  const bool emulated = unit.emulated_group || lead.emulated;
  const std::string what = unit.emulated_group ? std::string("all-platforms") : lead.platform + (emulated ? "/emulated" : "");
  const std::string name = d.PodNameFor(what, lead.attempt);
  const api::PodView* pod = d.Pod(name);
  if (!pod) return PodMissing(d, ctx, unit, name, emulated);
  const PodReport report = ObservePod(*pod, kBuildRole);
  for (auto* s : unit.statuses) {
    s->pod_name = name;
    if (!report.node.empty()) s->node_name = report.node;
  }
  switch (report.observed) {
    case kSucceeded: return Built(d, unit, report.digest);
    case kCannotStart:
      d.actions.delete_pods.push_back(name);
      [[fallthrough]];
    case kFailed:
      for (auto* s : unit.statuses) AttemptFailed(d, *s, report);
      return;
    case kUnbound: return NotScheduled(d, ctx, unit, *pod, emulated);
    default: return Running(d, unit, report);
  }
}

}  // namespace ibo::controller
