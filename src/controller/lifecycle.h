// The ImageBuild lifecycle as one transition table: for a build, a platform unit or the merge,
// (phase, what was observed, guard) -> (next phase, effects, event). The step functions look
// their transition up here; the README's lifecycle table is this table, checked by a test.
#pragma once

#include <string>
#include <vector>

namespace ibo::controller {

enum class Subject { kBuild, kSource, kPlatform, kMerge };

enum class Observation {
  // A build as a whole.
  kNewBuild,        // the build ID changed (a new generation or rebuild token)
  kOtherBuildRunning,  // unfinished pods of another build ID exist, or the status named one
  kSpecInvalid,     // the spec or a Secret it names is wrong
  kSpecFixed,       // a build stopped by InvalidSpec is valid now
  kQueueFull,       // the operator's concurrency cap is reached
  kAdmitted,        // a slot is free
  kTimedOut,        // spec.timeout has run out
  kPlatformFailed,  // a platform failed for good
  kNoneSucceeded,   // every platform finished, none succeeded
  kPlatformsDone,   // every platform finished, at least one succeeded
  kTtlExpired,      // ttlSecondsAfterFinished has run out
  kTagsChanged,     // a finished build's tags were edited (release fields only)
  kRevisionIsCommit,  // source.git.revision is a commit id already: nothing to resolve
  // A resolve pod's, a platform unit's or the merge's pod.
  kBackingOff,          // a retry's backoff has not run out
  kNotCreated,          // no pod for this attempt yet
  kCreateRequested,     // asked for; the cache does not show it yet
  kUnrecorded,          // the pod exists, but the status write that asked for it was lost
  kUnbound,             // not scheduled yet, nothing wrong so far
  kWaitingForNodes,     // no Ready node of the architecture, or Unschedulable, before the deadline
  kSchedulingDeadline,  // the same, past spec.schedulingTimeout
  kStarting,            // on a node, no container started yet (image pulls, volumes), none stuck
  kRunning,             // a container started, none stuck
  kStuck,               // a container waits for what may still come (an image pull backing off)
  kCannotStart,         // a container cannot start (bad image name, missing Secret key, refused config)
  kSucceeded,           // ended with a digest
  kFailed,              // failed, or ended without a digest
  kCancelled,           // another platform failed under failurePolicy AllPlatforms
  kRepositoryBusy,      // another ImageBuild's merge into the same repository runs
};

enum class Guard {
  kAlways,
  kPermanent,      // the pod said retrying cannot help (a revision or commit the server lacks)
  kRetriesLeft,    // attempt <= spec.retries
  kNoRetriesLeft,
  kFallback,       // emulation: Fallback and the platform is not emulated yet
  kNoFallback,
  kNodesExist,     // a Ready node of the architecture exists (or the build is emulated)
  kNoNodes,
  kAllPlatforms,   // failurePolicy AllPlatforms
  kComplete,       // every platform was built
  kPartial,        // some failed (failurePolicy AvailablePlatforms)
};

// What a transition does besides changing the phase.
enum Effect : unsigned {
  kNoEffect = 0,
  kCreatePod = 1u << 0,
  kDeletePods = 1u << 1,   // the subject's unfinished pods
  kNextAttempt = 1u << 2,  // count the attempt, wait the backoff (the one retry policy)
  kFinish = 1u << 3,       // completionTime
  kRequeue = 1u << 4,      // look again at a known time
};

struct Transition {
  Subject subject;
  const char* from;  // phase names, '|'-separated
  Observation observed;
  Guard guard;
  const char* to;     // "" when the phase stays
  unsigned effects;
  const char* event;  // the Event's reason, "" for none
};

const std::vector<Transition>& LifecycleTable();
// The first row for (subject, phase, observation) whose guard holds; null when none does: the
// step functions treat that as a bug in the table (tests cover every row).
const Transition* FindTransition(Subject subject, const std::string& phase, Observation observed,
                                 const std::vector<Guard>& holding);

const char* SubjectName(Subject subject);
const char* ObservationName(Observation observed);
const char* GuardName(Guard guard);
std::string EffectNames(unsigned effects);
// The table as Markdown rows, as the README shows it.
std::string LifecycleMarkdown();

}  // namespace ibo::controller
