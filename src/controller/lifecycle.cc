#include "controller/lifecycle.h"

#include <algorithm>

#include "common/enum_names.h"

namespace ibo::controller {
namespace {

using enum Subject;
using enum Observation;
using enum Guard;

// Read down a subject's rows to follow its life. Guards pick between rows of the same
// (phase, observation); the first row whose guard holds wins.
const std::vector<Transition> kTable = {
    // A build as a whole.
    {kBuild, "Pending|Building|Merging|Succeeded|Failed", kNewBuild, kAlways, "Pending", kDeletePods, ""},
    {kBuild, "Pending|Building|Merging|Succeeded|Failed", kOtherBuildRunning, kAlways, "", kDeletePods, "Superseded"},
    {kBuild, "Pending|Building|Merging|Failed", kSpecInvalid, kAlways, "Failed", kDeletePods | kFinish | kRequeue, "InvalidSpec"},
    {kBuild, "Failed", kSpecFixed, kAlways, "Pending", kNoEffect, ""},
    {kBuild, "Pending", kQueueFull, kAlways, "Pending", kRequeue, ""},
    {kBuild, "Pending", kAdmitted, kAlways, "Building", kNoEffect, "Building"},
    {kBuild, "Building|Merging", kTimedOut, kAlways, "Failed", kDeletePods | kFinish, "TimedOut"},
    {kBuild, "Building", kPlatformFailed, kAllPlatforms, "Failed", kDeletePods | kFinish, "BuildFailed"},
    {kBuild, "Building", kNoneSucceeded, kAlways, "Failed", kFinish, "BuildFailed"},
    {kBuild, "Building|Merging", kPlatformsDone, kAlways, "Merging", kNoEffect, ""},
    {kBuild, "Succeeded|Failed", kTtlExpired, kAlways, "", kDeletePods, ""},
    {kBuild, "Succeeded", kTagsChanged, kAlways, "Merging", kNoEffect, ""},
    // The source, once the build is admitted: its revision resolved to the commit every platform builds.
    {kSource, "Resolving", kRevisionIsCommit, kAlways, "Resolved", kNoEffect, ""},
    {kSource, "Resolving", kBackingOff, kAlways, "Resolving", kRequeue, ""},
    {kSource, "Resolving", kNotCreated, kAlways, "Resolving", kCreatePod, ""},
    {kSource, "Resolving", kCreateRequested, kAlways, "Resolving", kCreatePod, ""},
    {kSource, "Resolving", kUnbound, kAlways, "Resolving", kNoEffect, ""},
    {kSource, "Resolving", kRunning, kAlways, "Resolving", kNoEffect, ""},
    {kSource, "Resolving", kStuck, kAlways, "Resolving", kNoEffect, ""},
    {kSource, "Resolving", kCannotStart, kRetriesLeft, "Resolving", kDeletePods | kNextAttempt | kRequeue, "SourceFailed"},
    {kSource, "Resolving", kCannotStart, kNoRetriesLeft, "Failed", kDeletePods | kFinish, "SourceFailed"},
    {kSource, "Resolving", kSucceeded, kAlways, "Resolved", kNoEffect, "SourceResolved"},
    {kSource, "Resolving", kFailed, kPermanent, "Failed", kFinish, "SourceFailed"},
    {kSource, "Resolving", kFailed, kRetriesLeft, "Resolving", kNextAttempt | kRequeue, "SourceFailed"},
    {kSource, "Resolving", kFailed, kNoRetriesLeft, "Failed", kFinish, "SourceFailed"},
    // A platform unit: one platform, or every platform of an emulation: Always build.
    {kPlatform, "Pending", kBackingOff, kAlways, "Pending", kRequeue, ""},
    {kPlatform, "Pending", kNotCreated, kNodesExist, "Pending", kCreatePod, ""},
    {kPlatform, "Pending", kNotCreated, kNoNodes, "Pending", kCreatePod | kRequeue, "NoNodesForPlatform"},
    {kPlatform, "Pending|Building", kCreateRequested, kAlways, "", kCreatePod, ""},
    {kPlatform, "Pending", kUnbound, kAlways, "Pending", kNoEffect, ""},
    {kPlatform, "Pending", kWaitingForNodes, kNoNodes, "Pending", kRequeue, "NoNodesForPlatform"},
    {kPlatform, "Pending", kWaitingForNodes, kNodesExist, "Pending", kRequeue, ""},
    {kPlatform, "Pending", kSchedulingDeadline, kFallback, "Pending", kDeletePods | kRequeue, "EmulationFallback"},
    {kPlatform, "Pending", kSchedulingDeadline, kNoFallback, "Failed", kDeletePods | kFinish, "NoNodesForPlatform"},
    {kPlatform, "Pending|Building", kStarting, kAlways, "", kNoEffect, ""},
    {kPlatform, "Pending|Building", kRunning, kAlways, "Building", kNoEffect, ""},
    {kPlatform, "Pending|Building", kStuck, kAlways, "Building", kNoEffect, "BuildStuck"},
    {kPlatform, "Pending|Building", kCannotStart, kRetriesLeft, "Pending", kDeletePods | kNextAttempt | kRequeue, "BuildFailed"},
    {kPlatform, "Pending|Building", kCannotStart, kNoRetriesLeft, "Failed", kDeletePods | kFinish, "BuildFailed"},
    {kPlatform, "Pending|Building", kSucceeded, kAlways, "Succeeded", kFinish, "Built"},
    {kPlatform, "Pending|Building", kFailed, kPermanent, "Failed", kFinish, "BuildFailed"},
    {kPlatform, "Pending|Building", kFailed, kRetriesLeft, "Pending", kNextAttempt | kRequeue, "BuildFailed"},
    {kPlatform, "Pending|Building", kFailed, kNoRetriesLeft, "Failed", kFinish, "BuildFailed"},
    {kPlatform, "Pending|Building", kCancelled, kAllPlatforms, "Cancelled", kDeletePods, ""},
    // The merge, once every platform finished and one succeeded.
    {kMerge, "Merging", kBackingOff, kAlways, "Merging", kRequeue, ""},
    {kMerge, "Merging", kRepositoryBusy, kAlways, "Merging", kRequeue, ""},
    {kMerge, "Merging", kNotCreated, kAlways, "Merging", kCreatePod, "Merging"},
    {kMerge, "Merging", kCreateRequested, kAlways, "Merging", kCreatePod, ""},
    {kMerge, "Merging", kUnrecorded, kAlways, "Merging", kNoEffect, "Merging"},
    {kMerge, "Merging", kUnbound, kAlways, "Merging", kNoEffect, ""},
    {kMerge, "Merging", kStarting, kAlways, "Merging", kNoEffect, ""},
    {kMerge, "Merging", kRunning, kAlways, "Merging", kNoEffect, ""},
    {kMerge, "Merging", kStuck, kAlways, "Merging", kNoEffect, ""},
    {kMerge, "Merging", kCannotStart, kRetriesLeft, "Merging", kDeletePods | kNextAttempt | kRequeue, "MergeFailed"},
    {kMerge, "Merging", kCannotStart, kNoRetriesLeft, "Failed", kDeletePods | kFinish, "MergeFailed"},
    {kMerge, "Merging", kSucceeded, kComplete, "Succeeded", kFinish, "Succeeded"},
    {kMerge, "Merging", kSucceeded, kPartial, "Succeeded", kFinish, "PartiallySucceeded"},
    {kMerge, "Merging", kFailed, kRetriesLeft, "Merging", kNextAttempt | kRequeue, "MergeFailed"},
    {kMerge, "Merging", kFailed, kNoRetriesLeft, "Failed", kFinish, "MergeFailed"},
};

constexpr std::pair<Subject, const char*> kSubjects[] = {
    {kBuild, "build"}, {kSource, "source"}, {kPlatform, "platform"}, {kMerge, "merge"}};

constexpr std::pair<Observation, const char*> kObservations[] = {
    {kNewBuild, "new build ID"}, {kOtherBuildRunning, "another build's pods run"},
    {kSpecInvalid, "spec or Secret invalid"}, {kSpecFixed, "spec valid again"},
    {kQueueFull, "concurrency cap reached"}, {kAdmitted, "slot free"}, {kTimedOut, "timeout ran out"},
    {kPlatformFailed, "a platform failed"}, {kNoneSucceeded, "all finished, none succeeded"},
    {kPlatformsDone, "all finished, some succeeded"}, {kTtlExpired, "TTL ran out"}, {kTagsChanged, "tags edited"},
    {kRevisionIsCommit, "revision is a commit id"},
    {kBackingOff, "backing off"}, {kNotCreated, "no pod yet"}, {kCreateRequested, "pod asked for, not seen"},
    {kUnrecorded, "pod seen, status lost"},
    {kUnbound, "pod not scheduled yet"}, {kWaitingForNodes, "no node fits yet"},
    {kSchedulingDeadline, "no node fits by the deadline"}, {kStarting, "pod on a node, not started"},
    {kRunning, "pod running"}, {kStuck, "container waiting"},
    {kCannotStart, "container cannot start"}, {kSucceeded, "pod ended with a digest"}, {kFailed, "pod failed"},
    {kCancelled, "another platform failed"}, {kRepositoryBusy, "repository merging"},
};

constexpr std::pair<Guard, const char*> kGuards[] = {
    {kAlways, ""}, {kPermanent, "retrying cannot help"}, {kRetriesLeft, "retries left"}, {kNoRetriesLeft, "no retries left"},
    {kFallback, "emulation Fallback"}, {kNoFallback, "no fallback"}, {kNodesExist, "nodes exist"},
    {kNoNodes, "no Ready node"}, {kAllPlatforms, "AllPlatforms"}, {kComplete, "every platform built"},
    {kPartial, "some platforms failed"},
};

bool ListHas(const char* list, const std::string& phase) {
  const std::string text = list;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('|', start), text.size());
    if (text.compare(start, end - start, phase) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

const std::vector<Transition>& LifecycleTable() { return kTable; }

const Transition* FindTransition(Subject subject, const std::string& phase, Observation observed,
                                 const std::vector<Guard>& holding) {
  for (const auto& t : kTable) {
    if (t.subject != subject || t.observed != observed || !ListHas(t.from, phase)) continue;
    if (t.guard == kAlways || std::find(holding.begin(), holding.end(), t.guard) != holding.end()) return &t;
  }
  return nullptr;
}

const char* SubjectName(Subject subject) { return NameOf(kSubjects, subject); }
const char* ObservationName(Observation o) { return NameOf(kObservations, o); }
const char* GuardName(Guard g) { return NameOf(kGuards, g); }

std::string EffectNames(unsigned effects) {
  static const std::pair<Effect, const char*> kNames[] = {{kCreatePod, "create pod"}, {kDeletePods, "delete pods"},
                                                          {kNextAttempt, "next attempt"}, {kFinish, "finish"},
                                                          {kRequeue, "requeue"}};
  std::string out;
  for (const auto& [e, name] : kNames) {
    if (effects & e) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

std::string LifecycleMarkdown() {
  std::string out = "| subject | from | observed | guard | to | effects | event |\n| --- | --- | --- | --- | --- | --- | --- |\n";
  auto cell = [](const std::string& s) {
    if (s.empty()) return std::string("(same)");
    std::string c;
    for (char ch : s) c += ch == '|' ? std::string(", ") : std::string(1, ch);
    return c;
  };
  for (const auto& t : kTable) {
    out += "| " + std::string(SubjectName(t.subject)) + " | " + cell(t.from) + " | " + ObservationName(t.observed) +
           " | " + GuardName(t.guard) + " | " + cell(t.to) + " | " + EffectNames(t.effects) + " | " + t.event + " |\n";
  }
  return out;
}

}  // namespace ibo::controller
