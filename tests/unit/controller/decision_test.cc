// Scenarios of the decision written after the lifecycle table (no golden trace): the emulated
// group as one unit, and a merge pod whose container cannot start.
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/controller/decision_fixture.h"

namespace ibo::controller {
namespace {

using namespace std::chrono_literals;
using namespace decision_testing;

class DecisionTest : public DecisionFixture {
 public:
  void TestBody() override {}  // also used as a fresh fixture inside a test

  void Unschedulable(Json* pod) {
    (*pod)["status"]["conditions"] =
        Json::array({{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}}});
  }
  void Waiting(Json* pod, const std::string& container, const std::string& reason, const std::string& message) {
    (*pod)["spec"]["nodeName"] = "n-amd64";
    (*pod)["status"] = {{"phase", "Pending"},
                        {"containerStatuses", Json::array({{{"name", container},
                                                            {"state", {{"waiting", {{"reason", reason}, {"message", message}}}}}}})}};
  }
  void ToMerging() {
    Step();
    End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
    End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
    Step();
  }
  bool Said(const Actions& a, const std::string& reason, const std::string& part) {
    for (const auto& e : a.events) {
      if (e.reason == reason && e.message.find(part) != std::string::npos) return true;
    }
    return false;
  }
  std::string ReadyMessage() {
    for (const auto& c : ib["status"]["conditions"]) if (c["type"] == "Ready") return c.value("message", "");
    return "";
  }
};

// The emulated group used to be its first platform: at the scheduling deadline only that one
// failed, and the others stayed Pending until the build's timeout.
TEST_F(DecisionTest, AnUnschedulableEmulatedGroupFailsEveryPlatformAtTheDeadline) {
  for (const char* policy : {"AllPlatforms", "AvailablePlatforms"}) {
    SCOPED_TRACE(policy);
    DecisionTest t;
    t.ib["spec"]["emulation"] = "Always";
    t.ib["spec"]["platforms"][0].erase("dockerfile");  // one emulated pod, one Dockerfile
    t.ib["spec"]["failurePolicy"] = policy;
    t.ib["spec"]["schedulingTimeout"] = "5m";
    t.Step();
    ASSERT_EQ(t.pods.size(), 1u);
    t.Unschedulable(&t.pods[0]);
    t.Step();
    for (const auto& ps : t.ib["status"]["platforms"]) {
      EXPECT_EQ(ps["message"], "the build pod cannot be scheduled yet") << ps.dump();
    }
    t.now += 6min;
    const Actions a = t.Step();
    for (const auto& ps : t.ib["status"]["platforms"]) {
      EXPECT_EQ(ps["phase"], "Failed") << ps.dump();
      EXPECT_NE(ps["message"].get<std::string>().find("not scheduled within 300s"), std::string::npos);
    }
    EXPECT_TRUE(t.Said(a, "NoNodesForPlatform", "linux/amd64"));
    EXPECT_TRUE(t.Said(a, "NoNodesForPlatform", "linux/arm64"));
    EXPECT_EQ(t.ib["status"]["phase"], "Failed");  // at the deadline, not at the timeout
    EXPECT_TRUE(t.pods.empty());
  }
}

TEST_F(DecisionTest, AnEmulatedGroupRetriesAsOneUnit) {
  ib["spec"]["emulation"] = "Always";
  ib["spec"]["platforms"][0].erase("dockerfile");  // one emulated pod, one Dockerfile
  Step();
  End(&pods[0], "Failed", "build", "qemu: uncaught target signal 11");
  Step();
  for (const auto& ps : ib["status"]["platforms"]) {
    EXPECT_EQ(ps["attempt"], 2);
    EXPECT_EQ(ps["phase"], "Pending");
  }
  now += 11s;
  const Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);  // one pod for both, again
  EXPECT_EQ(a.create_pods[0]["metadata"]["labels"]["imagebuild.io/attempt"], "2");
}

TEST_F(DecisionTest, AnOldSplitEmulatedStatusFollowsItsLead) {
  ib["spec"]["emulation"] = "Always";
  ib["spec"]["platforms"][0].erase("dockerfile");  // one emulated pod, one Dockerfile
  Step();
  ib["status"]["platforms"][0]["phase"] = "Failed";  // as the old decision left it
  ib["status"]["platforms"][0]["message"] = "no node";
  Step();
  EXPECT_EQ(ib["status"]["platforms"][1]["phase"], "Failed");
  EXPECT_EQ(ib["status"]["phase"], "Failed");
}

TEST_F(DecisionTest, AMergePodThatCannotStartFailsTheAttemptAtOnceAndQuotesTheKubelet) {
  for (const char* reason : {"CreateContainerConfigError", "CreateContainerError", "InvalidImageName"}) {
    SCOPED_TRACE(reason);
    DecisionTest t;
    t.ToMerging();
    Json* merge = t.PodFor("merge");
    const std::string first = (*merge)["metadata"]["name"];
    t.Waiting(merge, "merge", reason, "container has runAsNonRoot and image will run as root");
    const Actions a = t.Step();
    EXPECT_NE(std::find(a.delete_pods.begin(), a.delete_pods.end(), first), a.delete_pods.end());
    EXPECT_EQ(t.ib["status"]["phase"], "Merging");
    EXPECT_EQ(t.ib["status"]["mergeAttempt"], 2);
    EXPECT_TRUE(t.Said(a, "MergeFailed", std::string("(") + reason + "): container has runAsNonRoot"));
    EXPECT_EQ(a.events[0].type, "Warning");
    EXPECT_NE(t.ReadyMessage().find(reason), std::string::npos) << t.ReadyMessage();
    // Through the merge's retries: the second attempt is final with retries: 1.
    t.now += 11s;
    ASSERT_EQ(t.Step().create_pods.size(), 1u);
    t.Waiting(t.PodFor("merge"), "merge", reason, "still");
    t.Step();
    EXPECT_EQ(t.ib["status"]["phase"], "Failed");
    EXPECT_NE(t.ReadyMessage().find(reason), std::string::npos);
  }
}

TEST_F(DecisionTest, AMergeImagePullBackOffIsSaidAndWaitedOn) {
  ToMerging();
  Waiting(PodFor("merge"), "merge", "ImagePullBackOff", "Back-off pulling image \"imagebuild-operator:test\"");
  const Actions a = Step();
  EXPECT_TRUE(a.delete_pods.empty());
  EXPECT_EQ(ib["status"]["phase"], "Merging");
  EXPECT_NE(ReadyMessage().find("ImagePullBackOff"), std::string::npos) << ReadyMessage();
  EXPECT_FALSE(ib["status"].contains("mergeAttempt") && ib["status"]["mergeAttempt"] != 1);
}

}  // namespace
}  // namespace ibo::controller

namespace ibo::controller {
namespace {

using namespace std::chrono_literals;
using namespace decision_testing;

// Release semantics of edits (issue 13, part 4): what an edit changes decides what is redone.
class EditTest : public DecisionFixture {
 public:
  void TestBody() override {}
  void Edit(const std::string& field, const Json& value) {
    ib["spec"][field] = value;
    ib["metadata"]["generation"] = ib["metadata"]["generation"].get<int>() + 1;
  }
  void ToReady() {
    Step();
    End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
    End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
    Step();
    End(PodFor("merge"), "Succeeded", "merge", kIndex);
    Step();
  }
  std::string Ready(const char* field = "status") {
    for (const auto& c : ib["status"]["conditions"]) if (c["type"] == "Ready") return c.value(field, "");
    return "";
  }
  int64_t ReadyGeneration() {
    for (const auto& c : ib["status"]["conditions"]) if (c["type"] == "Ready") return c["observedGeneration"];
    return 0;
  }
};

TEST_F(EditTest, InPlaceEditsApplyToTheRunningBuildAndRebuildNothing) {
  Step();
  const std::string id = ib["status"]["buildID"];
  const auto pods_before = pods.size();
  for (const auto& [field, value] : std::vector<std::pair<std::string, Json>>{
           {"retries", 3}, {"timeout", "2h"}, {"ttlSecondsAfterFinished", 600}, {"failurePolicy", "AvailablePlatforms"},
           {"schedulingTimeout", "20m"}}) {
    SCOPED_TRACE(field);
    Edit(field, value);
    const Actions a = Step();
    EXPECT_TRUE(a.create_pods.empty());
    EXPECT_TRUE(a.delete_pods.empty());
    EXPECT_EQ(ib["status"]["buildID"], id);
    EXPECT_EQ(ib["status"]["observedGeneration"], ib["metadata"]["generation"]);
    EXPECT_EQ(ReadyGeneration(), ib["metadata"]["generation"].get<int64_t>());
  }
  EXPECT_EQ(pods.size(), pods_before);
  // And they take effect: retries 3 lets arm64 fail three times and still build.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Json* latest = nullptr;
    for (auto& p : pods) if (p["metadata"]["labels"].value("imagebuild.io/platform", "") == "linux-arm64") latest = &p;
    End(latest, "Failed", "build", "flaky");
    Step();
    now += 10min;
    Step();
  }
  EXPECT_EQ(ib["status"]["platforms"][1]["attempt"], 4);
  EXPECT_EQ(ib["status"]["platforms"][1]["phase"], "Pending");
}

TEST_F(EditTest, AnInPlaceEditToAFinishedBuildKeepsItReadyAtTheNewGeneration) {
  ToReady();
  Edit("retries", 2);
  const Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_EQ(Ready(), "True");
  EXPECT_EQ(ReadyGeneration(), 2);
  EXPECT_EQ(ib["status"]["observedGeneration"], 2);
}

TEST_F(EditTest, ATagsEditMergesTheSameDigestsAgainAndBuildsNothing) {
  ToReady();
  Edit("tags", Json::array({"main", "stable"}));
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json& merge = a.create_pods[0];
  EXPECT_EQ(merge["metadata"]["labels"]["imagebuild.io/role"], "merge");
  const std::string args = merge["spec"]["containers"][0]["args"].dump();
  EXPECT_NE(args.find("linux/amd64=" + kDigestA), std::string::npos);
  EXPECT_NE(args.find("linux/arm64=" + kDigestB), std::string::npos);
  EXPECT_NE(args.find("\"stable\""), std::string::npos);
  EXPECT_EQ(ib["status"]["phase"], "Merging");
  EXPECT_EQ(ib["status"]["observedGeneration"], 2);
  const std::string index2 = "sha256:" + std::string(64, 'd');
  for (auto& p : pods) if (p["metadata"]["name"] == merge["metadata"]["name"]) End(&p, "Succeeded", "merge", index2);
  Step();
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
  EXPECT_EQ(ib["status"]["manifest"]["digest"], index2);
  EXPECT_EQ(ib["status"]["manifest"]["tags"].back(), "stable");
  EXPECT_TRUE(Step().create_pods.empty());  // done: the tags match
}

// spec.signing is a release field: asked for after the build, or with another key, it merges
// the same digests again, signed; the signature goes into status.manifest.signature.
TEST_F(EditTest, SigningAskedForAfterTheBuildMergesAgainSignedAndRecordsTheSignature) {
  ToReady();
  EXPECT_FALSE(ib["status"]["manifest"].contains("signature"));
  secrets["release-key"] = {true, "Opaque", {"cosign.key"}};
  secrets["release-key-2026"] = {true, "Opaque", {"cosign.key"}};
  Edit("signing", {{"keySecretRef", {{"name", "release-key"}}}});
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json merge = a.create_pods[0];
  EXPECT_EQ(merge["metadata"]["labels"]["imagebuild.io/role"], "merge");
  EXPECT_NE(merge["spec"]["containers"][0]["args"].dump().find("--signing-key"), std::string::npos);
  const std::string sig = "sha256:" + std::string(64, 'e'), fp = "sha256:" + std::string(64, 'f');
  for (auto& p : pods) {
    if (p["metadata"]["name"] == merge["metadata"]["name"]) End(&p, "Succeeded", "merge", kIndex + "\nsignature " + sig + " " + fp + "\n");
  }
  Step();
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
  EXPECT_EQ(ib["status"]["manifest"]["signature"],
            (Json{{"digest", sig}, {"keyFingerprint", fp}, {"keySecretRef", {{"name", "release-key"}, {"key", "cosign.key"}}}}));
  EXPECT_TRUE(Step().create_pods.empty());  // signed with this key: done
  // Another key: another merge pod, of its own name.
  Edit("signing", {{"keySecretRef", {{"name", "release-key-2026"}}}});
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  EXPECT_NE(a.create_pods[0]["metadata"]["name"], merge["metadata"]["name"]);
}

TEST_F(EditTest, AMergeThatReportsNoSignatureWhenAskedToSignFailsTheAttempt) {
  ib["spec"]["signing"] = {{"keySecretRef", {{"name", "release-key"}}}};
  secrets["release-key"] = {true, "Opaque", {"cosign.key"}};
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  Step();
  End(PodFor("merge"), "Succeeded", "merge", kIndex);  // a merge image from before signing
  Step();
  EXPECT_NE(ib["status"]["phase"], "Succeeded");
  EXPECT_NE(Condition("Ready", "message").find("reported no signature"), std::string::npos) << Condition("Ready", "message");
}

TEST_F(EditTest, AnIdentityEditOrTheRebuildAnnotationBuildsEverythingAgain) {
  ToReady();
  const std::string id = ib["status"]["buildID"];
  Edit("dockerfile", "Dockerfile.new");
  EXPECT_EQ(Step().create_pods.size(), 2u);
  EXPECT_NE(ib["status"]["buildID"], id);
  const std::string second = ib["status"]["buildID"];
  ib["metadata"]["annotations"]["imagebuild.io/rebuild"] = "2026-12-01";
  EXPECT_EQ(Step().create_pods.size(), 2u);
  EXPECT_NE(ib["status"]["buildID"], second);
}

TEST_F(EditTest, ABuildThatSucceededBeforeIdentitiesExistedIsNotRebuiltByTheUpgrade) {
  ToReady();
  Json legacy = ib["status"];
  legacy.erase("buildIdentity");  // as the operator before this change wrote it
  legacy.erase("buildGeneration");
  ib["status"] = legacy;
  const Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_TRUE(a.delete_pods.empty());
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
  EXPECT_FALSE(ib["status"].value("buildIdentity", "").empty());  // adopted once
  EXPECT_FALSE(Step().status.has_value());
}

}  // namespace
}  // namespace ibo::controller

namespace ibo::controller {
namespace {

using namespace decision_testing;

// Floating tags (issue 13, part 3) as the decision asks for them and records what the merge held.
class FloatingTagsTest : public DecisionFixture {
 public:
  void TestBody() override {}
  std::string MergeArgs() { return PodFor("merge")->at("spec")["containers"][0]["args"].dump(); }
  std::string Ready(const char* field) {
    for (const auto& c : ib["status"]["conditions"]) if (c["type"] == "Ready") return c.value(field, "");
    return "";
  }
};

TEST_F(FloatingTagsTest, TheMergeIsAskedToGuardFloatingTagsAndAnnotateTheIndex) {
  ib["spec"]["source"]["git"]["url"] = "https://ci:s3cret@git.example.com/org/worker.git";
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  Step();
  const std::string args = MergeArgs();
  for (const char* want : {"\"--tag\",\"v1.4.2\"", "\"--tag\",\"main\"", "\"--floating-tag\",\"v1.4\"",
                           "\"--floating-tag\",\"latest\"", "\"--version\",\"v1.4.2\"",
                           "org.opencontainers.image.version=v1.4.2",
                           "org.opencontainers.image.source=https://git.example.com/org/worker.git",
                           "org.opencontainers.image.created=2026-11-27T10:00:00Z"}) {
    EXPECT_NE(args.find(want), std::string::npos) << want << " in " << args;
  }
  EXPECT_EQ(args.find("s3cret"), std::string::npos) << "credentials reach the index";
}

TEST_F(FloatingTagsTest, WhatTheMergeHeldBackIsInTheStatusAndDoesNotMergeAgain) {
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  Step();
  End(PodFor("merge"), "Succeeded", "merge", kIndex + "\nheld latest holds v2.0.0, newer than v1.4.2\nunversioned v1.4\n");
  Step();
  ASSERT_EQ(ib["status"]["phase"], "Succeeded") << ib["status"].dump();
  const Json& m = ib["status"]["manifest"];
  EXPECT_EQ(m["tags"], (Json{"v1.4.2", "v1.4", "main"}));
  EXPECT_EQ(m["heldBack"], (Json::array({{{"tag", "latest"}, {"reason", "holds v2.0.0, newer than v1.4.2"}}})));
  EXPECT_EQ(m["movedFromUnversioned"], (Json{"v1.4"}));
  EXPECT_NE(Ready("message").find("held back latest (holds v2.0.0, newer than v1.4.2)"), std::string::npos) << Ready("message");
  EXPECT_TRUE(Step().create_pods.empty());  // a held tag is no reason to merge again
}

TEST_F(FloatingTagsTest, APartialMergeMovesNoFloatingTagUnlessAskedTo) {
  for (bool float_partial : {false, true}) {
    SCOPED_TRACE(float_partial);
    FloatingTagsTest t;
    t.ib["spec"]["retries"] = 0;
    t.ib["spec"]["failurePolicy"] = "AvailablePlatforms";
    t.ib["spec"]["floatPartialMerges"] = float_partial;
    t.Step();
    t.End(t.PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
    t.End(t.PodFor("build", "linux-arm64"), "Failed", "build", "boom");
    t.Step();
    const std::string args = t.MergeArgs();
    EXPECT_EQ(args.find("--floating-tag") != std::string::npos, float_partial) << args;
    EXPECT_NE(args.find("\"--tag\",\"v1.4.2\""), std::string::npos);
    t.End(t.PodFor("merge"), "Succeeded", "merge", kIndex);
    t.Step();
    const Json& m = t.ib["status"]["manifest"];
    EXPECT_EQ(m.contains("heldBack"), !float_partial) << m.dump();
    if (!float_partial) {
      EXPECT_EQ(m["tags"], (Json{"v1.4.2", "main"}));
      EXPECT_NE(m["heldBack"][0]["reason"].get<std::string>().find("lacks linux/arm64"), std::string::npos);
    }
    EXPECT_EQ(t.Ready("reason"), "PartiallySucceeded");
  }
}

TEST_F(FloatingTagsTest, APrereleaseAndChosenDerivedTags) {
  ib["spec"]["version"] = "v2.0.0-rc.1";
  ib["spec"]["derivedTags"] = {"version", "major", "latest"};
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  Step();
  EXPECT_EQ(MergeArgs().find("--floating-tag"), std::string::npos);  // a prerelease moves none
  ib["spec"]["version"] = "v2.0.0";
  ib["metadata"]["generation"] = 2;
  Step();
  for (auto& p : pods) {
    if (p["metadata"]["labels"]["imagebuild.io/role"] == "build") End(&p, "Succeeded", "build", kDigestA);
  }
  Step();
  std::string args;
  for (auto& p : pods) {
    if (p["metadata"]["labels"]["imagebuild.io/role"] == "merge") args = p["spec"]["containers"][0]["args"].dump();
  }
  EXPECT_NE(args.find("\"--floating-tag\",\"v2\""), std::string::npos) << args;
  EXPECT_NE(args.find("\"--floating-tag\",\"latest\""), std::string::npos);
  EXPECT_EQ(args.find("\"v2.0\""), std::string::npos) << "minor was not chosen";
}

}  // namespace
}  // namespace ibo::controller

namespace ibo::controller {
namespace {

using namespace decision_testing;

class MergeTurnTest : public DecisionFixture {
 public:
  void TestBody() override {}
};

TEST_F(MergeTurnTest, MergesIntoOneRepositoryTakeTurns) {
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  repository_merging = "ci/api";
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_EQ(ib["status"]["phase"], "Merging");
  ASSERT_TRUE(a.requeue_after.has_value());
  std::string ready;
  for (const auto& c : ib["status"]["conditions"]) if (c["type"] == "Ready") ready = c["message"];
  EXPECT_NE(ready.find("waiting for ci/api's merge into registry.example.com/org/worker"), std::string::npos) << ready;
  repository_merging.clear();
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  // Once its own merge pod is asked for, another's merge no longer holds it back.
  repository_merging = "ci/api";
  pods.pop_back();  // the cache has not shown it yet
  EXPECT_EQ(Step().create_pods.size(), 1u);
}

}  // namespace
}  // namespace ibo::controller
