// What a build or merge pod says, reduced to one Observation of the lifecycle table and the
// words that explain it: a digest, why it failed, or which container waits for what.
#pragma once

#include <string>
#include <vector>

#include "api/merge_report.h"
#include "api/object_views.h"
#include "controller/lifecycle.h"

namespace ibo::controller {

struct PodReport {
  Observation observed = Observation::kNotCreated;
  std::string node;    // where the pod runs, when bound
  std::string digest;  // kSucceeded
  api::MergeReport merge;  // kSucceeded of a merge pod: the tags it held back
  std::string what;    // kFailed, kStuck, kCannotStart: the cause, for messages and events
  bool permanent = false;  // kFailed: the source containers said retrying cannot help
};

// The role's container ("build" or "merge"), and how it reports success: true and the report
// filled in, or false and why the termination message is no report.
struct PodRole {
  const char* container;
  bool (*read)(const std::string& termination_message, PodReport& report);
};
extern const PodRole kBuildRole;
extern const PodRole kMergeRole;
extern const PodRole kResolveRole;  // its termination message is the commit

// The exit code of the source-fetching containers (the resolve pod's, the build pod's source
// init container) when the server lacks the revision or the commit: no retry can help.
inline constexpr int kSourcePermanentExitCode = 3;

// A pod that exists (not terminating). Scheduling (kUnbound vs kWaitingForNodes and the
// deadline) is the caller's to refine: it knows the nodes and the clock.
PodReport ObservePod(const api::PodView& pod, const PodRole& role);

// The tail of a long text, which says most in a log.
std::string Bounded(const std::string& s, size_t n = 300);
bool IsDigest(const std::string& s);
// A full git object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
bool IsCommitId(const std::string& s);

}  // namespace ibo::controller
