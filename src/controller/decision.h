// Internal to the reconcile decision: the state one pass works on, and the step functions that
// reconcile.cc strings together. Each step consults the lifecycle table.
#pragma once

#include <string>
#include <vector>

#include "controller/lifecycle.h"
#include "controller/pod_observation.h"
#include "api/imagebuild_spec.h"
#include "controller/reconcile.h"

namespace ibo::controller {

// One pass of the decision: the input, the status being written, and the actions so far.
struct Decision {
  explicit Decision(const ReconcileInput& input);

  const ReconcileInput& in;
  const api::ImageBuildStatus old_status;
  api::ImageBuildStatus status;
  Actions actions;
  std::string build_id;
  std::string rebuild_token;
  int64_t generation;        // the ImageBuild's, which observedGeneration and the conditions follow
  int64_t build_generation;  // the generation the build started at: its ID and pod names

  // The Ready/Reconciling/Stalled conditions' reason and message, as the pass decides them.
  api::Reason reason = api::Reason::kProgressing;
  std::string message;
  bool waiting_for_nodes = false;
  std::string superseded;  // the message, when this pass superseded a running build

  void Requeue(std::chrono::milliseconds after);
  void RequeueAt(SystemTime t);
  void Event(const std::string& reason, const std::string& message);
  // The row for (subject, phase, observation) under the guards that hold: never null (a missing
  // row is a bug the table tests catch; it then changes nothing).
  const Transition& Step(Subject subject, const std::string& phase, Observation observed,
                         const std::vector<Guard>& holding = {});
  // Deletes this build's pods that are still running; `role` "" for every role.
  void DeleteUnfinishedPods(const std::string& role = "", const std::string& only_name = "");
  const api::PodView* Pod(const std::string& name) const;  // a live (not terminating) owned pod
  std::string PodNameFor(const std::string& what, int attempt) const;
  // Makes this pass's build the one started at `at`.
  void BuildAt(int64_t at);
};

// A platform unit: one platform, or every platform of an emulation: Always build, which share
// one pod and one state.
struct Unit {
  std::vector<api::PlatformStatus*> statuses;  // the first leads; the others follow it
  std::vector<const api::PlatformSpec*> specs;
  bool emulated_group = false;
};

void StartOrSupersede(Decision& d);
// A finished build whose tags changed since its merge: merge its digests again.
bool RemergeIfTagsChanged(Decision& d);
void FinishedBuild(Decision& d);
bool SpecUsable(Decision& d);  // false: the pass ends with InvalidSpec
bool Admit(Decision& d);       // false: queued
bool TimedOut(Decision& d);
// True once status.source.commit is known; until then the resolve pod runs and no build pod.
bool SourceResolved(Decision& d, const BuildContext& ctx);
void AlignPlatforms(Decision& d);
void StepUnit(Decision& d, const BuildContext& ctx, Unit& unit);
void StepBuild(Decision& d, const BuildContext& ctx, const api::ReleaseTags& tags);
void StepMerge(Decision& d, const BuildContext& ctx, const api::ReleaseTags& tags,
               const std::vector<std::string>& missing);
void Finish(Decision& d, api::BuildPhase phase, api::Reason reason, const std::string& message,
            const std::string& event);
// Writes the conditions from the phase, reason and message; returns the actions.
Actions Conclude(Decision& d);

}  // namespace ibo::controller
