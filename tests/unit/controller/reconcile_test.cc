// The pure reconcile decision through an ImageBuild's life: no server, a fixed clock.
#include "controller/reconcile.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/time_format.h"
#include "unit/controller/decision_fixture.h"
#include "common/oci_digest.h"

namespace ibo::controller {
namespace {

using namespace std::chrono_literals;
using namespace decision_testing;

// The scenarios, each checked step by step against its golden trace (traces/<test>.json),
// recorded from the decision as it was before the lifecycle table: the same statuses, pods,
// deletes, events and requeues. Regenerate with IBO_RECORD_TRACES=1 only for a wanted change.
class ReconcileTest : public DecisionFixture {
 protected:
  void OnStep(const Actions& a) override { Record(a); }

  // Every step's actions, for the golden trace of this scenario (traces/<test>.json).
  void Record(const Actions& a) {
    Json step = {{"delete", a.delete_pods}, {"status", a.status ? Json(*a.status) : Json()}};
    step["create"] = Json::array();
    for (const auto& p : a.create_pods) step["create"].push_back({{"name", p["metadata"]["name"]}, {"sha256", oci::Sha256Digest(p.dump())}});
    step["events"] = Json::array();
    for (const auto& e : a.events) step["events"].push_back({e.type, e.reason, e.message});
    if (a.requeue_after) step["requeueMs"] = a.requeue_after->count();
    if (a.apply_config_map) step["configMap"] = *a.apply_config_map;
    trace.push_back(step);
  }

  void TearDown() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string path = std::string(IBO_TRACE_DIR) + "/" + name + ".json";
    if (std::getenv("IBO_RECORD_TRACES")) {
      std::ofstream(path) << trace.dump(1) << "\n";
      return;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << "no golden trace " << path << " (record with IBO_RECORD_TRACES=1)";
    const Json golden = Json::parse(in);
    ASSERT_EQ(golden.size(), trace.size()) << path;
    for (size_t i = 0; i < trace.size(); ++i) EXPECT_EQ(golden[i], trace[i]) << path << " step " << i;
  }

  Json trace = Json::array();
};

TEST_F(ReconcileTest, StartsOneNativePodPerPlatform) {
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 2u);
  const Json& amd = *PodFor("build", "linux-amd64");
  const Json& arm = *PodFor("build", "linux-arm64");
  EXPECT_EQ(amd["spec"]["nodeSelector"], (Json{{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "amd64"}}));
  EXPECT_EQ(arm["spec"]["nodeSelector"]["pool"], "arm");
  EXPECT_EQ(arm["spec"]["nodeSelector"]["kubernetes.io/arch"], "arm64");
  EXPECT_EQ(amd["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(amd["spec"]["automountServiceAccountToken"], false);
  EXPECT_EQ(amd["metadata"]["labels"]["imagebuild.io/build-id"], ib["status"]["buildID"]);
  EXPECT_EQ(ib["status"]["phase"], "Building");
  EXPECT_EQ(Condition("Reconciling"), "True");
  EXPECT_EQ(Condition("Ready"), "False");
  EXPECT_EQ(Condition("Stalled"), "False");
  // BuildKit rootless as documented upstream.
  const Json& c = amd["spec"]["containers"][0];
  EXPECT_EQ(amd["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/build"], "unconfined");
  EXPECT_EQ(c["securityContext"]["seccompProfile"]["type"], "Unconfined");
  EXPECT_EQ(c["securityContext"]["runAsUser"], 1000);
  EXPECT_EQ(c["terminationMessagePolicy"], "FallbackToLogsOnError");
  const std::string cmd = c["command"].dump();
  EXPECT_NE(cmd.find("filename=Dockerfile.worker"), std::string::npos);
  EXPECT_NE(cmd.find("platform=linux/amd64"), std::string::npos);
  EXPECT_NE(cmd.find("type=image,name=registry.example.com/org/worker,push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=true"), std::string::npos);
  EXPECT_NE(PodFor("build", "linux-arm64")->dump().find("filename=Dockerfile\""), std::string::npos);
}

TEST_F(ReconcileTest, IsIdempotentAndAdoptsItsPods) {
  Step();
  const std::string names = pods[0]["metadata"]["name"].get<std::string>() + pods[1]["metadata"]["name"].get<std::string>();
  Actions again = Step();
  EXPECT_TRUE(again.create_pods.empty());
  EXPECT_TRUE(again.delete_pods.empty());
  EXPECT_EQ(names, pods[0]["metadata"]["name"].get<std::string>() + pods[1]["metadata"]["name"].get<std::string>());
}

TEST_F(ReconcileTest, DigestsThenMergeThenReady) {
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA + "\n");
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json& merge = *PodFor("merge");
  EXPECT_EQ(merge["spec"]["volumes"].dump().find("workspace"), std::string::npos);  // no source needed
  const std::string args = merge["spec"]["containers"][0]["args"].dump();
  EXPECT_NE(args.find("linux/amd64=" + kDigestA), std::string::npos);
  EXPECT_NE(args.find("linux/arm64=" + kDigestB), std::string::npos);
  for (const char* tag : {"\"v1.4.2\"", "\"v1.4\"", "\"latest\"", "\"main\""}) EXPECT_NE(args.find(tag), std::string::npos) << tag;
  EXPECT_EQ(ib["status"]["phase"], "Merging");
  EXPECT_EQ(ib["status"]["platforms"][1]["digest"], kDigestB);

  End(PodFor("merge"), "Succeeded", "merge", kIndex);
  Step();
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
  EXPECT_EQ(ib["status"]["manifest"]["digest"], kIndex);
  EXPECT_EQ(ib["status"]["manifest"]["shortDigest"], "sha256:cccccccccccc");
  EXPECT_EQ(ib["status"]["manifest"]["tags"].size(), 4u);
  EXPECT_EQ(Condition("Ready"), "True");
  EXPECT_EQ(Condition("Ready", "reason"), "Succeeded");
  EXPECT_EQ(Condition("Reconciling"), "False");
  // kube-apiserver 1.20 built with a newer Go refuses empty strings in custom resources.
  EXPECT_EQ(ib["status"].dump().find("\"\""), std::string::npos) << ib["status"].dump();
  // An unchanged spec never rebuilds.
  Actions later = Step();
  EXPECT_TRUE(later.create_pods.empty());
  EXPECT_FALSE(later.status.has_value());
}

TEST_F(ReconcileTest, ANonDigestMessageFailsTheAttemptAndRetriesOnlyThatPlatform) {
  Step();
  const std::string first_arm = PodFor("build", "linux-arm64")->at("metadata").at("name");
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", "error: pushed nothing");
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());  // backing off
  EXPECT_EQ(ib["status"]["platforms"][1]["attempt"], 2);
  EXPECT_EQ(ib["status"]["platforms"][1]["phase"], "Pending");
  EXPECT_EQ(ib["status"]["platforms"][0]["digest"], kDigestA);
  ASSERT_TRUE(a.requeue_after.has_value());
  EXPECT_EQ(*a.requeue_after, 10s);
  now += 11s;
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  EXPECT_NE(a.create_pods[0]["metadata"]["name"], first_arm);
  EXPECT_EQ(a.create_pods[0]["metadata"]["labels"]["imagebuild.io/attempt"], "2");
}

TEST_F(ReconcileTest, OutOfRetriesFailsUnderAllPlatforms) {
  ib["spec"]["retries"] = 0;
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Failed", "build", "exit 1: no space left");
  Step();
  EXPECT_EQ(ib["status"]["phase"], "Failed");
  EXPECT_EQ(Condition("Stalled"), "True");
  EXPECT_EQ(Condition("Stalled", "reason"), "BuildFailed");
  EXPECT_EQ(PodFor("merge"), nullptr);
}

TEST_F(ReconcileTest, AvailablePlatformsMergesWhatBuiltAndSaysWhatIsMissing) {
  ib["spec"]["retries"] = 0;
  ib["spec"]["failurePolicy"] = "AvailablePlatforms";
  Step();
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Failed", "build", "boom");
  Step();
  ASSERT_NE(PodFor("merge"), nullptr);
  EXPECT_EQ(PodFor("merge")->dump().find("linux/arm64="), std::string::npos);
  End(PodFor("merge"), "Succeeded", "merge", kIndex);
  Step();
  EXPECT_EQ(Condition("Ready"), "True");
  EXPECT_EQ(Condition("Ready", "reason"), "PartiallySucceeded");
  EXPECT_NE(Condition("Ready", "message").find("linux/arm64"), std::string::npos);
}

TEST_F(ReconcileTest, ANewGenerationSupersedesTheRunningBuild) {
  Step();
  const std::string old_id = ib["status"]["buildID"];
  ib["metadata"]["generation"] = 2;
  ib["spec"]["version"] = "v1.4.3";  // an identity field
  Actions a = Step();
  EXPECT_EQ(a.delete_pods.size(), 2u);
  EXPECT_EQ(a.create_pods.size(), 2u);
  EXPECT_NE(ib["status"]["buildID"], old_id);
  bool superseded = false;
  for (const auto& e : a.events) superseded |= e.reason == "Superseded";
  EXPECT_TRUE(superseded);
}

TEST_F(ReconcileTest, ABuildWhoseStatusWriteWasLostIsStillSuperseded) {
  Step();
  const std::string old_id = ib["status"]["buildID"];
  ib.erase("status");  // the write conflicted: only the pods know the build
  ib["metadata"]["generation"] = 2;
  Actions a = Step();
  EXPECT_EQ(a.delete_pods.size(), 2u);
  std::vector<std::string> messages;
  for (const auto& e : a.events) if (e.reason == "Superseded") messages.push_back(e.message);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("build " + old_id + " superseded by generation 2"), std::string::npos) << messages[0];

  // Finished pods of an earlier build supersede nothing.
  for (auto& p : pods) End(&p, "Succeeded", "build", kDigestA);
  ib["metadata"]["generation"] = 3;
  ib.erase("status");
  for (const auto& e : Step().events) EXPECT_NE(e.reason, "Superseded") << e.message;
}

TEST_F(ReconcileTest, TheRebuildAnnotationForcesARebuild) {
  Step();
  const std::string old_id = ib["status"]["buildID"];
  ib["metadata"]["annotations"]["imagebuild.io/rebuild"] = "2026-11-27";
  Step();
  EXPECT_NE(ib["status"]["buildID"], old_id);
}

TEST_F(ReconcileTest, InvalidSpecStallsWithoutPods) {
  ib["spec"]["version"] = "v1.4";
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_EQ(Condition("Stalled"), "True");
  EXPECT_EQ(Condition("Ready", "reason"), "InvalidSpec");
  EXPECT_NE(Condition("Ready", "message").find("spec.version"), std::string::npos);
  ASSERT_FALSE(a.events.empty());
  EXPECT_EQ(a.events[0].reason, "InvalidSpec");
  // The same problem on a requeue is not announced again.
  EXPECT_TRUE(Step().events.empty());
}

TEST_F(ReconcileTest, AMissingOrMistypedPushSecretIsInvalidSpecAndSeenLater) {
  ib["spec"]["pushSecretRef"] = {{"name", "regcred"}};
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_NE(Condition("Ready", "message").find("\"regcred\" does not exist"), std::string::npos);
  EXPECT_TRUE(a.requeue_after.has_value());  // Secrets are not watched: looked at again later
  // Same generation throughout: the Secret appears (wrongly typed, then right) and is seen.
  secrets["regcred"] = {true, "Opaque", {"x"}};
  Step();
  EXPECT_NE(Condition("Ready", "message").find("kubernetes.io/dockerconfigjson"), std::string::npos);
  EXPECT_EQ(Condition("Stalled"), "True");
  secrets["regcred"] = {true, "kubernetes.io/dockerconfigjson", {".dockerconfigjson"}};
  a = Step();
  EXPECT_EQ(a.create_pods.size(), 2u);
  EXPECT_NE(a.create_pods[0].dump().find("regcred"), std::string::npos);
  EXPECT_EQ(ib["status"]["phase"], "Building");
  EXPECT_EQ(Condition("Stalled"), "False");
}

TEST_F(ReconcileTest, AMissingSigningSecretOrKeyIsInvalidSpecBeforeAnyBuild) {
  ib["spec"]["signing"] = {{"keySecretRef", {{"name", "release-key"}}}};
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_NE(Condition("Ready", "message").find("spec.signing.keySecretRef: Secret \"release-key\" does not exist"),
            std::string::npos);
  secrets["release-key"] = {true, "Opaque", {"key.pem"}};
  Step();
  EXPECT_NE(Condition("Ready", "message").find("has no key \"cosign.key\""), std::string::npos);
  secrets["release-key"] = {true, "Opaque", {"cosign.key"}};
  a = Step();
  EXPECT_EQ(a.create_pods.size(), 2u);
  for (const auto& pod : a.create_pods) EXPECT_EQ(pod.dump().find("release-key"), std::string::npos);  // build pods
}

TEST_F(ReconcileTest, ASecretChangedAfterSuccessDoesNotUndoIt) {
  ib["spec"]["pushSecretRef"] = {{"name", "regcred"}};
  secrets["regcred"] = {true, "kubernetes.io/dockerconfigjson", {".dockerconfigjson"}};
  RunToReady();
  ASSERT_EQ(Condition("Ready"), "True");
  secrets.erase("regcred");  // rotated away after the push
  Actions a = Step();
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
  EXPECT_EQ(Condition("Ready"), "True");
  EXPECT_TRUE(a.events.empty());
}

TEST_F(ReconcileTest, TimeInTheQueueDoesNotCountAgainstTheTimeout) {
  ib["spec"]["timeout"] = "30m";
  settings.max_concurrent_builds = 1;
  other_active = 1;
  Step();
  now += 2h;  // queued for longer than the timeout
  other_active = 0;
  Actions a = Step();
  EXPECT_EQ(a.create_pods.size(), 2u);
  EXPECT_EQ(ib["status"]["phase"], "Building");
  EXPECT_EQ(ib["status"]["startTime"], FormatTime(now));
}

TEST_F(ReconcileTest, AFailedCloneIsNamedAndAStuckContainerIsSaid) {
  Step();
  Json* amd = PodFor("build", "linux-amd64");
  (*amd)["spec"]["nodeName"] = "n-amd64";
  (*amd)["status"] = {{"phase", "Failed"},
                      {"initContainerStatuses", Json::array({{{"name", "source"},
                         {"state", {{"terminated", {{"exitCode", 128}, {"reason", "Error"},
                                                     {"message", "fatal: couldn't find remote ref v9.9.9"}}}}}}})}};
  Json* arm = PodFor("build", "linux-arm64");
  (*arm)["spec"]["nodeName"] = "n-arm64";
  (*arm)["status"] = {{"phase", "Pending"},
                      {"containerStatuses", Json::array({{{"name", "build"},
                         {"state", {{"waiting", {{"reason", "ImagePullBackOff"}, {"message", "Back-off pulling image"}}}}}}})}};
  Actions a = Step();
  EXPECT_NE(ib["status"]["platforms"][0]["message"].get<std::string>().find("init container source failed (Error): fatal: couldn't find remote ref"),
            std::string::npos) << ib["status"]["platforms"][0].dump();
  EXPECT_NE(ib["status"]["platforms"][1]["message"].get<std::string>().find("ImagePullBackOff"), std::string::npos);
  EXPECT_EQ(ib["status"]["platforms"][1]["phase"], "Building");
  // A missing Secret key cannot heal by waiting: the attempt fails.
  (*PodFor("build", "linux-arm64"))["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] = "CreateContainerConfigError";
  a = Step();
  EXPECT_EQ(ib["status"]["platforms"][1]["attempt"], 2);
}

TEST_F(ReconcileTest, ABindingAloneWritesNoStatusAndTheNodeComesWithTheNextChange) {
  Step();
  Json* amd = PodFor("build", "linux-amd64");
  (*amd)["spec"]["nodeName"] = "n-amd64";  // the scheduler bound it; the kubelet has not started it
  Actions bound = Step();
  EXPECT_FALSE(bound.status.has_value()) << bound.status->platforms[0].node_name;
  EXPECT_FALSE(ib["status"]["platforms"][0].contains("nodeName"));
  (*amd)["status"] = {{"phase", "Running"},
                      {"containerStatuses", Json::array({{{"name", "build"}, {"state", {{"running", Json::object()}}}}})}};
  Actions running = Step();
  ASSERT_TRUE(running.status.has_value());
  EXPECT_EQ(ib["status"]["platforms"][0]["nodeName"], "n-amd64");
  EXPECT_EQ(ib["status"]["platforms"][0]["phase"], "Building");
  EXPECT_FALSE(ib["status"]["platforms"][1].contains("nodeName"));
}

TEST_F(ReconcileTest, ACacheThatLagsDoesNotRepeatEventsOrStatus) {
  nodes = {Node("amd64")};
  Step();
  const Json status = ib["status"];
  pods.clear();  // the informer has not shown the pods yet
  Actions a = Step();
  EXPECT_EQ(a.create_pods.size(), 2u);  // asked again: AlreadyExists is harmless
  EXPECT_TRUE(a.events.empty());
  EXPECT_FALSE(a.status.has_value()) << ib["status"].dump();
}

TEST_F(ReconcileTest, NoNodesForAPlatformWaitsThenFails) {
  nodes = {Node("amd64"), Node("arm64", /*ready=*/false)};
  ib["spec"]["schedulingTimeout"] = "10m";
  Actions a = Step();
  EXPECT_EQ(Condition("Ready", "reason"), "NoNodesForPlatform");
  EXPECT_EQ(Condition("Reconciling"), "True");
  EXPECT_EQ(Condition("Stalled"), "False");
  bool warned = false;
  for (const auto& e : a.events) warned |= e.reason == "NoNodesForPlatform" && e.message.find("linux/arm64") != std::string::npos;
  EXPECT_TRUE(warned);
  now += 11min;
  a = Step();
  EXPECT_EQ(ib["status"]["platforms"][1]["phase"], "Failed");
  // failurePolicy AllPlatforms: the build cannot succeed, so amd64 is stopped at once.
  EXPECT_EQ(ib["status"]["phase"], "Failed");
  EXPECT_EQ(Condition("Stalled"), "True");
  EXPECT_EQ(ib["status"]["platforms"][0]["phase"], "Cancelled");
  EXPECT_EQ(PodFor("build", "linux-amd64"), nullptr);
}

TEST_F(ReconcileTest, TimeoutFailsTheBuild) {
  ib["spec"]["timeout"] = "30m";
  Step();
  now += 31min;
  Actions a = Step();
  EXPECT_EQ(a.delete_pods.size(), 2u);
  EXPECT_EQ(Condition("Stalled", "reason"), "TimedOut");
}

TEST_F(ReconcileTest, TheConcurrencyCapQueues) {
  settings.max_concurrent_builds = 1;
  other_active = 1;
  Actions a = Step();
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_EQ(Condition("Ready", "reason"), "Queued");
  other_active = 0;
  EXPECT_EQ(Step().create_pods.size(), 2u);
}

TEST_F(ReconcileTest, EmulationAlwaysBuildsEveryPlatformInOnePod) {
  ib["spec"]["emulation"] = "Always";
  ib["spec"]["platforms"][0].erase("dockerfile");  // one emulated pod, one Dockerfile
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  EXPECT_FALSE(a.create_pods[0]["spec"]["nodeSelector"].contains("kubernetes.io/arch"));
  EXPECT_NE(a.create_pods[0].dump().find("platform=linux/amd64,linux/arm64"), std::string::npos);
  End(&pods[0], "Succeeded", "build", kIndex);
  Step();
  const std::string args = PodFor("merge")->dump();
  EXPECT_NE(args.find("linux/amd64=" + kIndex), std::string::npos);
  EXPECT_NE(args.find("linux/arm64=" + kIndex), std::string::npos);
}

TEST_F(ReconcileTest, FinishedPodsAreRemovedAfterTheTtl) {
  ib["spec"]["ttlSecondsAfterFinished"] = 60;
  RunToReady();
  Actions a = Step();
  EXPECT_TRUE(a.delete_pods.empty());
  now += 61s;
  a = Step();
  EXPECT_EQ(a.delete_pods.size(), 3u);
  EXPECT_EQ(ib["status"]["manifest"]["digest"], kIndex);  // status kept
}

TEST_F(ReconcileTest, FallbackBuildsEmulatedWhenNoNodeComesInTime) {
  ib["spec"]["emulation"] = "Fallback";
  ib["spec"]["schedulingTimeout"] = "5m";
  nodes = {Node("amd64")};
  Step();
  const std::string native = PodFor("build", "linux-arm64")->at("metadata").at("name");
  now += 6min;
  Actions a = Step();
  EXPECT_NE(std::find(a.delete_pods.begin(), a.delete_pods.end(), native), a.delete_pods.end());
  EXPECT_EQ(ib["status"]["platforms"][1]["emulated"], true);
  bool said = false;
  for (const auto& e : a.events) said |= e.reason == "EmulationFallback";
  EXPECT_TRUE(said);
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json& emulated = a.create_pods[0];
  EXPECT_NE(emulated["metadata"]["name"], native);
  EXPECT_FALSE(emulated["spec"]["nodeSelector"].contains("kubernetes.io/arch"));
  EXPECT_NE(emulated.dump().find("platform=linux/arm64"), std::string::npos);
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(&pods.back(), "Succeeded", "build", kDigestB);
  Step();
  EXPECT_EQ(ib["status"]["platforms"][1]["digest"], kDigestB);
  EXPECT_NE(PodFor("merge"), nullptr);
}

TEST_F(ReconcileTest, FieldsOfTheWrongTypeAreInvalidSpecNotACrash) {
  const Json original = ib["spec"];
  for (const Json& bad : {Json{{"tags", {1, 2}}}, Json{{"retries", "many"}}, Json{{"platforms", "linux/amd64"}},
                          Json{{"platforms", Json::array({{{"platform", "linux/arm64"}, {"nodeSelector", {{"pool", 7}}}}})}},
                          Json{{"buildArgs", {{"A", Json::object()}}}, {"source", "git"}}}) {
    Json spec = ib["spec"];
    spec.update(bad);
    ib["spec"] = spec;
    ib["metadata"]["generation"] = ib["metadata"]["generation"].get<int>() + 1;
    Actions a;
    ASSERT_NO_THROW(a = Step()) << bad.dump();
    EXPECT_TRUE(a.create_pods.empty()) << bad.dump();
    EXPECT_EQ(Condition("Ready", "reason"), "InvalidSpec") << bad.dump();
    ib["spec"] = original;
  }
}

TEST_F(ReconcileTest, AFailedMergeIsRetriedThenFailsWhenOutOfRetries) {
  Step();
  BuildsSucceed();
  Step();
  const std::string first = PodFor("merge")->at("metadata").at("name");
  End(PodFor("merge"), "Failed", "merge", "merge: registry.example.com: connection refused");
  Actions a = Step();
  EXPECT_EQ(ib["status"]["phase"], "Merging");
  EXPECT_EQ(ib["status"]["mergeAttempt"], 2);
  EXPECT_TRUE(a.create_pods.empty());
  ASSERT_TRUE(a.requeue_after.has_value());
  now += 11s;
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json second = a.create_pods[0];
  EXPECT_NE(second["metadata"]["name"], first);
  for (auto& p : pods) if (p["metadata"]["name"] == second["metadata"]["name"]) End(&p, "Failed", "merge", "still refused");
  Step();  // retries: 1, so the second failure is final
  EXPECT_EQ(ib["status"]["phase"], "Failed");
  EXPECT_EQ(Condition("Stalled", "reason"), "MergeFailed");
  EXPECT_NE(Condition("Stalled", "message").find("still refused"), std::string::npos);
}

TEST_F(ReconcileTest, AnOlderGenerationsMergeNeverRunsAfterANewerBuildStarted) {
  Step();
  BuildsSucceed();
  Step();
  const std::string old_merge = PodFor("merge")->at("metadata").at("name");
  ib["metadata"]["generation"] = 2;
  ib["spec"]["version"] = "v1.5.0";
  Actions a = Step();
  EXPECT_NE(std::find(a.delete_pods.begin(), a.delete_pods.end(), old_merge), a.delete_pods.end());
  for (const auto& p : a.create_pods) EXPECT_EQ(p["metadata"]["labels"]["imagebuild.io/role"], "build");
  // Even if the old merge pod ended Succeeded before it was removed, its digest is not taken.
  Json late = {{"metadata", {{"name", old_merge}, {"labels", {{"imagebuild.io/role", "merge"}, {"imagebuild.io/build-id", "old"}}}}},
               {"spec", {{"containers", Json::array({{{"name", "merge"}}})}}}};
  End(&late, "Succeeded", "merge", kIndex);
  pods.push_back(late);
  Step();
  EXPECT_FALSE(ib["status"].contains("manifest")) << ib["status"].dump();
  EXPECT_EQ(ib["status"]["phase"], "Building");
}

}  // namespace
}  // namespace ibo::controller
