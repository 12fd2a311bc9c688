// The lifecycle table, row by row: for each (subject, phase, observation, guard) a case brings
// the ImageBuild there, takes one more decision, and checks that this row was taken and that
// its effects and event show in the actions. Every row of the table has a case.
#include "controller/lifecycle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "unit/controller/decision_fixture.h"

namespace ibo::controller {
namespace {

using namespace std::chrono_literals;
using namespace decision_testing;
using enum Subject;
using enum Observation;

struct Row {
  Subject subject;
  Observation observed;
  Guard guard;
};

struct Case {
  const char* name;
  Row row;
  std::function<void(DecisionFixture&)> arrange;  // everything but the checked decision
  const char* final_phase;                        // the build's phase after it
};

class LifecycleCase : public DecisionFixture {
 public:
  void TestBody() override {}
  Json& Spec() { return ib["spec"]; }
  // A spec edit: the API server bumps the generation.
  void Edit(const std::string& field, const Json& value) {
    ib["spec"][field] = value;
    ib["metadata"]["generation"] = ib["metadata"]["generation"].get<int>() + 1;
  }
  Json* Pod(const std::string& role, const std::string& platform = "") { return PodFor(role, platform); }
  void Run(const std::string& platform, const std::string& container_state, const std::string& reason) {
    Json* pod = PodFor(platform == "merge" ? "merge" : "build", platform == "merge" ? "" : platform);
    (*pod)["spec"]["nodeName"] = "n";
    (*pod)["status"]["phase"] = "Pending";
    const char* name = platform == "merge" ? "merge" : "build";
    if (container_state.empty()) {
      (*pod)["status"]["phase"] = "Running";
      return;
    }
    (*pod)["status"]["containerStatuses"] =
        Json::array({{{"name", name}, {"state", {{container_state, {{"reason", reason}, {"message", "m"}}}}}}});
  }
  // The scheduler bound the pod; the kubelet has started none of its containers.
  void Bind(const std::string& platform) {
    Json* pod = PodFor(platform == "merge" ? "merge" : "build", platform == "merge" ? "" : platform);
    (*pod)["spec"]["nodeName"] = "n";
    (*pod)["status"] = {{"phase", "Pending"}};
  }
  // A branch to resolve, and its resolve pod's states.
  void Branch() { ib["spec"]["source"]["git"]["revision"] = "main"; }
  void Resolving() { Branch(); Step(); }
  void ResolveWaits(const std::string& reason) {
    Json* pod = PodFor("resolve");
    (*pod)["spec"]["nodeName"] = "n";
    (*pod)["status"]["containerStatuses"] =
        Json::array({{{"name", "resolve"}, {"state", {{"waiting", {{"reason", reason}, {"message", "m"}}}}}}});
  }
  // A pod whose container (an init container when `init`) exited with `code`.
  static void Exited(Json* pod, const std::string& container, int code, const std::string& message, bool init = false) {
    Json status = {{"name", container}, {"state", {{"terminated", {{"exitCode", code}, {"message", message}}}}}};
    (*pod)["spec"]["nodeName"] = "n";
    (*pod)["status"] = {{"phase", "Failed"}, {init ? "initContainerStatuses" : "containerStatuses", Json::array({status})}};
  }
  void BothBuilt() {
    End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
    End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  }
  void ToMerging() { Step(); BothBuilt(); Step(); }
  void ArmFails() { End(PodFor("build", "linux-arm64"), "Failed", "build", "boom"); }
  void Unschedulable(const std::string& platform) {
    (*PodFor("build", platform))["status"]["conditions"] =
        Json::array({{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}}});
  }
};

using F = DecisionFixture;
LifecycleCase& L(F& f) { return static_cast<LifecycleCase&>(f); }

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // A build as a whole.
      {"new generation", {kBuild, kNewBuild, Guard::kAlways}, [](F& f) { f.Step(); L(f).Edit("version", "v1.4.3"); }, "Building"},
      {"superseded", {kBuild, kOtherBuildRunning, Guard::kAlways}, [](F& f) { f.Step(); L(f).Edit("version", "v1.4.3"); }, "Building"},
      {"spec invalid", {kBuild, kSpecInvalid, Guard::kAlways},
       [](F& f) { f.Step(); L(f).Spec()["pushSecretRef"] = {{"name", "gone"}}; }, "Failed"},
      {"spec fixed", {kBuild, kSpecFixed, Guard::kAlways},
       [](F& f) {
         L(f).Spec()["pushSecretRef"] = {{"name", "cred"}};
         f.Step();
         f.secrets["cred"] = {true, "kubernetes.io/dockerconfigjson", {".dockerconfigjson"}};
       }, "Building"},
      {"queue full", {kBuild, kQueueFull, Guard::kAlways},
       [](F& f) { f.settings.max_concurrent_builds = 1; f.other_active = 1; }, "Pending"},
      {"admitted", {kBuild, kAdmitted, Guard::kAlways}, [](F&) {}, "Building"},
      {"timed out", {kBuild, kTimedOut, Guard::kAlways},
       [](F& f) { L(f).Spec()["timeout"] = "30m"; f.Step(); f.now += 31min; }, "Failed"},
      {"a platform failed", {kBuild, kPlatformFailed, Guard::kAllPlatforms},
       [](F& f) { L(f).Spec()["retries"] = 0; f.Step(); L(f).ArmFails(); }, "Failed"},
      {"none succeeded", {kBuild, kNoneSucceeded, Guard::kAlways},
       [](F& f) {
         L(f).Spec()["retries"] = 0;
         L(f).Spec()["failurePolicy"] = "AvailablePlatforms";
         f.Step();
         L(f).ArmFails();
         f.End(f.PodFor("build", "linux-amd64"), "Failed", "build", "boom");
       }, "Failed"},
      {"platforms done", {kBuild, kPlatformsDone, Guard::kAlways}, [](F& f) { f.Step(); L(f).BothBuilt(); }, "Merging"},
      {"tags edited", {kBuild, kTagsChanged, Guard::kAlways},
       [](F& f) {
         L(f).ToMerging();
         f.End(f.PodFor("merge"), "Succeeded", "merge", kIndex);
         f.Step();
         L(f).Edit("tags", Json::array({"main", "stable"}));
       }, "Merging"},
      {"ttl expired", {kBuild, kTtlExpired, Guard::kAlways},
       [](F& f) {
         L(f).Spec()["ttlSecondsAfterFinished"] = 60;
         L(f).ToMerging();
         f.End(f.PodFor("merge"), "Succeeded", "merge", kIndex);
         f.Step();
         f.now += 61s;
       }, "Succeeded"},
      // The source.
      {"revision is a commit", {kSource, kRevisionIsCommit, Guard::kAlways}, [](F&) {}, "Building"},
      {"resolve pod created", {kSource, kNotCreated, Guard::kAlways}, [](F& f) { L(f).Branch(); }, "Building"},
      {"resolve cache lags", {kSource, kCreateRequested, Guard::kAlways}, [](F& f) { L(f).Resolving(); f.pods.clear(); }, "Building"},
      {"resolve not scheduled yet", {kSource, kUnbound, Guard::kAlways}, [](F& f) { L(f).Resolving(); }, "Building"},
      {"resolve running", {kSource, kRunning, Guard::kAlways},
       [](F& f) { L(f).Resolving(); (*f.PodFor("resolve"))["spec"]["nodeName"] = "n"; }, "Building"},
      {"resolve pull backing off", {kSource, kStuck, Guard::kAlways},
       [](F& f) { L(f).Resolving(); L(f).ResolveWaits("ImagePullBackOff"); }, "Building"},
      {"resolve cannot start, retried", {kSource, kCannotStart, Guard::kRetriesLeft},
       [](F& f) { L(f).Resolving(); L(f).ResolveWaits("CreateContainerConfigError"); }, "Building"},
      {"resolve cannot start, final", {kSource, kCannotStart, Guard::kNoRetriesLeft},
       [](F& f) { L(f).Spec()["retries"] = 0; L(f).Resolving(); L(f).ResolveWaits("InvalidImageName"); }, "Failed"},
      {"resolved", {kSource, kSucceeded, Guard::kAlways},
       [](F& f) { L(f).Resolving(); f.End(f.PodFor("resolve"), "Succeeded", "resolve", kCommit); }, "Building"},
      {"no such revision", {kSource, kFailed, Guard::kPermanent},
       [](F& f) { L(f).Resolving(); LifecycleCase::Exited(f.PodFor("resolve"), "resolve", 3, "no such revision"); }, "Failed"},
      {"resolve failed, retried", {kSource, kFailed, Guard::kRetriesLeft},
       [](F& f) { L(f).Resolving(); LifecycleCase::Exited(f.PodFor("resolve"), "resolve", 128, "refused"); }, "Building"},
      {"resolve backing off", {kSource, kBackingOff, Guard::kAlways},
       [](F& f) {
         L(f).Resolving();
         LifecycleCase::Exited(f.PodFor("resolve"), "resolve", 128, "refused");
         f.Step();
       }, "Building"},
      {"resolve failed, final", {kSource, kFailed, Guard::kNoRetriesLeft},
       [](F& f) {
         L(f).Spec()["retries"] = 0;
         L(f).Resolving();
         LifecycleCase::Exited(f.PodFor("resolve"), "resolve", 128, "refused");
       }, "Failed"},
      // A platform unit.
      {"backing off", {kPlatform, kBackingOff, Guard::kAlways}, [](F& f) { f.Step(); L(f).ArmFails(); f.Step(); }, "Building"},
      {"pod created", {kPlatform, kNotCreated, Guard::kNodesExist}, [](F&) {}, "Building"},
      {"pod created, no node", {kPlatform, kNotCreated, Guard::kNoNodes}, [](F& f) { f.nodes = {Node("amd64")}; }, "Building"},
      {"cache lags", {kPlatform, kCreateRequested, Guard::kAlways}, [](F& f) { f.Step(); f.pods.clear(); }, "Building"},
      {"not scheduled yet", {kPlatform, kUnbound, Guard::kAlways}, [](F& f) { f.Step(); }, "Building"},
      {"node went away", {kPlatform, kWaitingForNodes, Guard::kNoNodes},
       [](F& f) { f.Step(); f.nodes = {Node("amd64"), Node("arm64", false)}; }, "Building"},
      {"unschedulable", {kPlatform, kWaitingForNodes, Guard::kNodesExist},
       [](F& f) { f.Step(); L(f).Unschedulable("linux-arm64"); }, "Building"},
      {"fallback to emulation", {kPlatform, kSchedulingDeadline, Guard::kFallback},
       [](F& f) {
         L(f).Spec()["emulation"] = "Fallback";
         f.nodes = {Node("amd64")};
         f.Step();
         f.now += 11min;
       }, "Building"},
      {"not scheduled by the deadline", {kPlatform, kSchedulingDeadline, Guard::kNoFallback},
       [](F& f) { f.nodes = {Node("amd64")}; f.Step(); f.now += 11min; }, "Failed"},
      {"bound, not started", {kPlatform, kStarting, Guard::kAlways}, [](F& f) { f.Step(); L(f).Bind("linux-arm64"); },
       "Building"},
      {"running", {kPlatform, kRunning, Guard::kAlways}, [](F& f) { f.Step(); L(f).Run("linux-arm64", "", ""); }, "Building"},
      {"pull backing off", {kPlatform, kStuck, Guard::kAlways},
       [](F& f) { f.Step(); L(f).Run("linux-arm64", "waiting", "ImagePullBackOff"); }, "Building"},
      {"cannot start, retried", {kPlatform, kCannotStart, Guard::kRetriesLeft},
       [](F& f) { f.Step(); L(f).Run("linux-arm64", "waiting", "CreateContainerConfigError"); }, "Building"},
      {"cannot start, final", {kPlatform, kCannotStart, Guard::kNoRetriesLeft},
       [](F& f) { L(f).Spec()["retries"] = 0; f.Step(); L(f).Run("linux-arm64", "waiting", "InvalidImageName"); }, "Failed"},
      {"built", {kPlatform, kSucceeded, Guard::kAlways},
       [](F& f) { f.Step(); f.End(f.PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB); }, "Building"},
      {"failed, retried", {kPlatform, kFailed, Guard::kRetriesLeft}, [](F& f) { f.Step(); L(f).ArmFails(); }, "Building"},
      {"commit gone from the server", {kPlatform, kFailed, Guard::kPermanent},
       [](F& f) { f.Step(); LifecycleCase::Exited(f.PodFor("build", "linux-arm64"), "source", 3, "force-pushed", true); },
       "Failed"},
      {"failed, final", {kPlatform, kFailed, Guard::kNoRetriesLeft},
       [](F& f) { L(f).Spec()["retries"] = 0; f.Step(); L(f).ArmFails(); }, "Failed"},
      {"cancelled", {kPlatform, kCancelled, Guard::kAllPlatforms},
       [](F& f) { L(f).Spec()["retries"] = 0; f.Step(); L(f).ArmFails(); }, "Failed"},
      // The merge.
      {"merge backing off", {kMerge, kBackingOff, Guard::kAlways},
       [](F& f) { L(f).ToMerging(); f.End(f.PodFor("merge"), "Failed", "merge", "refused"); f.Step(); }, "Merging"},
      {"merge pod created", {kMerge, kNotCreated, Guard::kAlways}, [](F& f) { f.Step(); L(f).BothBuilt(); }, "Merging"},
      {"repository merging", {kMerge, kRepositoryBusy, Guard::kAlways},
       [](F& f) { f.Step(); L(f).BothBuilt(); f.repository_merging = "ci/other"; }, "Merging"},
      {"merge cache lags", {kMerge, kCreateRequested, Guard::kAlways},
       [](F& f) { L(f).ToMerging(); std::erase_if(f.pods, [](const Json& p) { return p["metadata"]["labels"]["imagebuild.io/role"] == "merge"; }); },
       "Merging"},
      {"merge status write lost", {kMerge, kUnrecorded, Guard::kAlways},
       [](F& f) {
         f.Step();
         L(f).BothBuilt();
         const Json before = f.ib;
         f.Step();  // creates the merge pod; its status write is lost
         f.ib = before;
       }, "Merging"},
      {"merge not scheduled yet", {kMerge, kUnbound, Guard::kAlways}, [](F& f) { L(f).ToMerging(); }, "Merging"},
      {"merge bound, not started", {kMerge, kStarting, Guard::kAlways}, [](F& f) { L(f).ToMerging(); L(f).Bind("merge"); },
       "Merging"},
      {"merge running", {kMerge, kRunning, Guard::kAlways}, [](F& f) { L(f).ToMerging(); L(f).Run("merge", "", ""); }, "Merging"},
      {"merge pull backing off", {kMerge, kStuck, Guard::kAlways},
       [](F& f) { L(f).ToMerging(); L(f).Run("merge", "waiting", "ErrImagePull"); }, "Merging"},
      {"merge cannot start, retried", {kMerge, kCannotStart, Guard::kRetriesLeft},
       [](F& f) { L(f).ToMerging(); L(f).Run("merge", "waiting", "CreateContainerConfigError"); }, "Merging"},
      {"merge cannot start, final", {kMerge, kCannotStart, Guard::kNoRetriesLeft},
       [](F& f) { L(f).Spec()["retries"] = 0; L(f).ToMerging(); L(f).Run("merge", "waiting", "CreateContainerError"); }, "Failed"},
      {"merged", {kMerge, kSucceeded, Guard::kComplete},
       [](F& f) { L(f).ToMerging(); f.End(f.PodFor("merge"), "Succeeded", "merge", kIndex); }, "Succeeded"},
      {"merged without a platform", {kMerge, kSucceeded, Guard::kPartial},
       [](F& f) {
         L(f).Spec()["retries"] = 0;
         L(f).Spec()["failurePolicy"] = "AvailablePlatforms";
         f.Step();
         L(f).ArmFails();
         f.End(f.PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
         f.Step();
         f.End(f.PodFor("merge"), "Succeeded", "merge", kIndex);
       }, "Succeeded"},
      {"merge failed, retried", {kMerge, kFailed, Guard::kRetriesLeft},
       [](F& f) { L(f).ToMerging(); f.End(f.PodFor("merge"), "Failed", "merge", "refused"); }, "Merging"},
      {"merge failed, final", {kMerge, kFailed, Guard::kNoRetriesLeft},
       [](F& f) { L(f).Spec()["retries"] = 0; L(f).ToMerging(); f.End(f.PodFor("merge"), "Failed", "merge", "refused"); }, "Failed"},
  };
  return cases;
}

bool Matches(const Transition& t, const Row& r) { return t.subject == r.subject && t.observed == r.observed && t.guard == r.guard; }

TEST(LifecycleTest, EveryRowTakesItsEffectsAndEvent) {
  for (const auto& c : Cases()) {
    SCOPED_TRACE(c.name);
    LifecycleCase f;
    c.arrange(f);
    const Actions a = f.Step();
    const Transition* taken = nullptr;
    for (const auto* t : a.transitions) if (Matches(*t, c.row)) taken = t;
    ASSERT_NE(taken, nullptr) << "row not taken";
    EXPECT_EQ(f.ib["status"].value("phase", ""), c.final_phase);
    if (taken->effects & kCreatePod) {
      EXPECT_FALSE(a.create_pods.empty());
    }
    if (taken->effects & kDeletePods) {
      EXPECT_FALSE(a.delete_pods.empty());
    }
    if (taken->effects & kRequeue) {
      EXPECT_TRUE(a.requeue_after.has_value());
    }
    if (*taken->event) {
      bool said = false;
      for (const auto& e : a.events) said |= e.reason == taken->event;
      EXPECT_TRUE(said) << "no " << taken->event << " event";
    }
  }
}

TEST(LifecycleTest, EveryRowHasACaseAndNoneIsAmbiguous) {
  for (const auto& t : LifecycleTable()) {
    bool covered = false;
    for (const auto& c : Cases()) covered |= Matches(t, c.row);
    EXPECT_TRUE(covered) << SubjectName(t.subject) << " " << ObservationName(t.observed) << " " << GuardName(t.guard);
    int same = 0;
    for (const auto& u : LifecycleTable()) same += u.subject == t.subject && u.observed == t.observed && u.guard == t.guard;
    EXPECT_EQ(same, 1) << "two rows for " << ObservationName(t.observed);
  }
}

TEST(LifecycleTest, TheReadmeShowsTheCodesTable) {
  std::ifstream in(IBO_README);
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string text = readme.str();
  const std::string begin = "<!-- lifecycle-table: begin -->\n", end = "<!-- lifecycle-table: end -->";
  const size_t from = text.find(begin), to = text.find(end);
  ASSERT_NE(from, std::string::npos) << "README.md has no lifecycle table";
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(text.substr(from + begin.size(), to - from - begin.size()), LifecycleMarkdown())
      << "README.md's lifecycle table differs from the code's; paste this:\n" << LifecycleMarkdown();
}

}  // namespace
}  // namespace ibo::controller
