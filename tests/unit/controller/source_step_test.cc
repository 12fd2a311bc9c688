// The source step of the decision: a branch is resolved once per build by a resolve pod, and
// every platform and every retry builds that commit; failures that retrying cannot mend fail at
// once; the commit and the other OCI metadata reach the build and merge pods.
#include <gtest/gtest.h>

#include "controller/pod_observation.h"
#include "unit/controller/decision_fixture.h"

namespace ibo::controller {
namespace {

using namespace std::chrono_literals;
using namespace decision_testing;

const std::string kTip = "89abcdef0123456789abcdef0123456789abcdef";

class SourceStepTest : public DecisionFixture {
 protected:
  SourceStepTest() { ib["spec"]["source"]["git"]["revision"] = "main"; }

  // The env value `name` of a build pod's source init container ("" when absent).
  static std::string GitEnv(const Json& pod, const std::string& name) {
    for (const auto& e : pod["spec"]["initContainers"][0]["env"]) if (e["name"] == name) return e.value("value", "");
    return "";
  }
  static void Exited(Json* pod, const std::string& container, int code, const std::string& message, bool init) {
    Json status = {{"name", container}, {"state", {{"terminated", {{"exitCode", code}, {"message", message}}}}}};
    (*pod)["spec"]["nodeName"] = "n";
    (*pod)["status"] = {{"phase", "Failed"}, {init ? "initContainerStatuses" : "containerStatuses", Json::array({status})}};
  }
  bool Said(const Actions& a, const std::string& reason, const std::string& part) {
    for (const auto& e : a.events) if (e.reason == reason && e.message.find(part) != std::string::npos) return true;
    return false;
  }
  // The current resolve pod (status.source.podName) ends with `commit`.
  void Resolve(const std::string& commit) {
    for (auto& p : pods) {
      if (p["metadata"]["name"] == ib["status"]["source"]["podName"]) End(&p, "Succeeded", "resolve", commit);
    }
  }
};

TEST_F(SourceStepTest, ABranchIsResolvedOnceAndEveryPlatformAndRetryBuildsThatCommit) {
  ib["spec"]["buildArgs"] = {{"A", "1"}};
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u) << "only the resolve pod runs before the commit is known";
  EXPECT_EQ(a.create_pods[0]["metadata"]["labels"]["imagebuild.io/role"], "resolve");
  EXPECT_EQ(ib["status"]["phase"], "Building");
  EXPECT_EQ(ib["status"]["source"]["revision"], "main");
  EXPECT_FALSE(ib["status"]["source"].contains("commit"));
  EXPECT_EQ(Condition("Ready", "message"), "resolving revision main of https://example.com/r.git");
  EXPECT_TRUE(Step().create_pods.empty()) << "the cache shows the pod: nothing new";

  Resolve(kCommit);
  a = Step();
  EXPECT_EQ(ib["status"]["source"]["commit"], kCommit);
  EXPECT_TRUE(Said(a, "SourceResolved", "revision main is commit " + kCommit));
  ASSERT_EQ(a.create_pods.size(), 2u);
  for (const auto& pod : a.create_pods) EXPECT_EQ(GitEnv(pod, "GIT_COMMIT"), kCommit);

  // main moves on (the resolve pod would now say kTip); arm64 fails and is retried: same commit.
  End(PodFor("build", "linux-arm64"), "Failed", "build", "boom");
  Step();
  now += 11s;
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  EXPECT_EQ(GitEnv(a.create_pods[0], "GIT_COMMIT"), kCommit);
  EXPECT_EQ(PodFor("resolve")->at("metadata").at("name"), ib["status"]["source"]["podName"]);
}

TEST_F(SourceStepTest, ACommitIdNeedsNoResolvePod) {
  ib["spec"]["source"]["git"]["revision"] = kTip;
  const Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 2u);
  EXPECT_EQ(ib["status"]["source"]["commit"], kTip);
  EXPECT_FALSE(ib["status"]["source"].contains("podName"));
}

TEST_F(SourceStepTest, ARevisionTheServerLacksFailsAtOnceWithoutBurningRetries) {
  ib["spec"]["retries"] = 3;
  Step();
  Exited(PodFor("resolve"), "resolve", kSourcePermanentExitCode, "revision main is no branch, tag or ref of the repository", false);
  const Actions a = Step();
  EXPECT_EQ(ib["status"]["phase"], "Failed");
  EXPECT_EQ(Condition("Ready", "reason"), "BuildFailed");
  EXPECT_NE(Condition("Ready", "message").find("cannot resolve revision main: "), std::string::npos) << Condition("Ready", "message");
  EXPECT_NE(Condition("Ready", "message").find("no branch, tag or ref"), std::string::npos);
  EXPECT_TRUE(Said(a, "SourceFailed", "no branch, tag or ref"));
  EXPECT_TRUE(a.create_pods.empty());
}

TEST_F(SourceStepTest, AResolveThatFailsOtherwiseIsRetriedAfterTheBackoff) {
  Step();
  Exited(PodFor("resolve"), "resolve", 128, "fatal: Authentication failed", false);
  Actions a = Step();
  EXPECT_EQ(ib["status"]["phase"], "Building");
  EXPECT_EQ(ib["status"]["source"]["attempt"], 2);
  EXPECT_TRUE(Said(a, "SourceFailed", "Authentication failed"));
  EXPECT_TRUE(Step().create_pods.empty()) << "backing off";
  now += 11s;
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  EXPECT_EQ(a.create_pods[0]["metadata"]["labels"]["imagebuild.io/role"], "resolve");
  Resolve(kTip);
  EXPECT_EQ(Step().create_pods.size(), 2u);
}

TEST_F(SourceStepTest, ACommitGoneFromTheServerFailsThePlatformWithoutRetries) {
  ib["spec"]["retries"] = 3;
  Step();
  Resolve(kCommit);
  Step();
  Exited(PodFor("build", "linux-arm64"), "source", kSourcePermanentExitCode,
         "commit " + kCommit + ", where main was when the build started, is not in main's history now", true);
  const Actions a = Step();
  const auto& arm = ib["status"]["platforms"][1];
  EXPECT_EQ(arm["phase"], "Failed");
  EXPECT_EQ(arm["attempt"], 1);
  EXPECT_NE(arm["message"].get<std::string>().find("is not in main's history now"), std::string::npos);
  EXPECT_TRUE(Said(a, "BuildFailed", "not retried"));
}

TEST_F(SourceStepTest, ABuildInFlightAcrossTheUpgradeGoesOnWithoutAResolve) {
  ib["spec"]["source"]["git"]["revision"] = kCommit;
  Step();
  ib["spec"]["source"]["git"]["revision"] = "main";  // as if written before status.source existed
  ib["status"].erase("source");
  ib["status"]["buildIdentity"] = api::DecodeImageBuild(ib).identity;
  const Actions a = Step();
  EXPECT_EQ(PodFor("resolve"), nullptr);
  EXPECT_TRUE(a.create_pods.empty());
  EXPECT_EQ(ib["status"]["phase"], "Building");
}

TEST_F(SourceStepTest, TheCommitAndTheUsersMetadataReachTheImagesAndTheIndex) {
  ib["spec"]["labels"] = {{"org.opencontainers.image.title", "worker"}};
  ib["spec"]["annotations"] = {{"com.example.team", "platform"}};
  ib["spec"]["builder"] = {{"strategy", "buildah"}};
  Step();
  Resolve(kCommit);
  Actions a = Step();
  ASSERT_EQ(a.create_pods.size(), 2u);
  const std::string script = a.create_pods[0]["spec"]["containers"][0]["command"][2];
  for (const std::string& want : {"--label 'org.opencontainers.image.revision=" + kCommit + "'",
                                 std::string("--label 'org.opencontainers.image.source=https://example.com/r.git'"),
                                 std::string("--label 'org.opencontainers.image.version=v1.4.2'"),
                                 std::string("--label 'org.opencontainers.image.created=2026-11-27T10:00:00Z'"),
                                 std::string("--label 'org.opencontainers.image.title=worker'"),
                                 "--annotation 'org.opencontainers.image.revision=" + kCommit + "'",
                                 std::string("--annotation 'com.example.team=platform'")}) {
    EXPECT_NE(script.find(want), std::string::npos) << want << " not in " << script;
  }
  EXPECT_EQ(script.find("--label 'com.example.team"), std::string::npos) << "annotations are not labels";
  End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
  End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  a = Step();
  ASSERT_EQ(a.create_pods.size(), 1u);
  const Json& args = a.create_pods[0]["spec"]["containers"][0]["args"];
  for (const std::string& want : {"org.opencontainers.image.revision=" + kCommit, std::string("com.example.team=platform"),
                                 std::string("org.opencontainers.image.created=2026-11-27T10:00:00Z")}) {
    EXPECT_NE(std::find(args.begin(), args.end(), Json(want)), args.end()) << want << " not an --annotation of " << args.dump();
  }
}

}  // namespace
}  // namespace ibo::controller
