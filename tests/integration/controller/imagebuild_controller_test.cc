// The ImageBuild controller against the real control plane: the real kube-scheduler binds build
// pods to Nodes of their architecture, a kubelet stand-in ends them with termination messages,
// and the controller records digests, runs the merge pod and reports kstatus conditions.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "common/oci_digest.h"
#include "controller/build_pods.h"
#include "controller/controller.h"
#include "kube/event_recorder.h"
#include "support/cluster.h"
#include "support/kubelet_stand_in.h"

namespace ibo::controller {
namespace {

using ibo::testing::Eventually;
using kube::Json;
using namespace std::chrono_literals;

std::string Label(const Json& pod, const char* key) {
  return pod["metadata"].value("labels", Json::object()).value(key, "");
}

// A digest the stand-in reports for a pod, derived from its name so every attempt differs.
std::string DigestFor(const Json& pod) { return oci::Sha256Digest(pod["metadata"]["name"].get<std::string>()); }

class ControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ibo::testing::InstallImageBuildCrdAndNodes("controller-test"); }
  static void TearDownTestSuite() { ibo::testing::RemoveNodes("controller-test"); }

  ControllerTest() : client_(ibo::testing::AdminClient()), ns_(*client_, "ctl"), recorder_(*client_, "imagebuild-operator") {
    EXPECT_TRUE(Eventually([&] { return client_->List(controller::kImageBuildResource, ns_.name(), {}).ok(); }, 10s));
  }
  ~ControllerTest() override {
    if (controller_) controller_->Stop();
    if (kubelet_) {
      kubelet_->Stop();
      // Every pod that ran, in every test, ran on a node of its own architecture.
      EXPECT_TRUE(kubelet_->Misplaced().empty()) << kubelet_->Misplaced()[0];
    }
  }

  void StartController(int max_concurrent_builds = 0, std::vector<std::string> insecure_registries = {}) {
    ControllerOptions options;
    options.namespaces = {ns_.name()};
    options.workers = 4;  // several at once, as a busy operator runs them
    options.settings.max_concurrent_builds = max_concurrent_builds;
    options.settings.insecure_registries = std::move(insecure_registries);
    options.settings.retry_backoff = 1s;
    options.settings.merge_image = "imagebuild-operator:test";
    controller_ = std::make_unique<ImageBuildController>(*client_, recorder_, options);
    controller_->StartInformers();
    ASSERT_TRUE(controller_->WaitForSync(20s));
    controller_->StartWorkers();
  }

  void StartKubelet(ibo::testing::KubeletStandIn::Decide decide) {
    kubelet_ = std::make_unique<ibo::testing::KubeletStandIn>(*client_, ns_.name(), std::move(decide));
    kubelet_->Start();
  }

  // Pods keep running until release_ is set, then end as SucceedAll ends them.
  void StartHeldKubelet() {
    StartKubelet([this](const Json& pod, const Json& node) -> std::optional<ibo::testing::KubeletStandIn::Outcome> {
      if (!release_) return std::nullopt;
      return SucceedAll(pod, node);
    });
  }

  // Builds succeed with a digest; the merge pod reports an index digest.
  static std::optional<ibo::testing::KubeletStandIn::Outcome> SucceedAll(const Json& pod, const Json&) {
    if (Label(pod, "imagebuild.io/role") == "merge") return ibo::testing::KubeletStandIn::Outcome{true, oci::Sha256Digest("index")};
    return ibo::testing::KubeletStandIn::Outcome{true, DigestFor(pod) + "\n"};
  }

  Json ImageBuild(const std::string& name, const Json& platforms) {
    return {{"apiVersion", "imagebuild.io/v1alpha1"},
            {"kind", "ImageBuild"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"image", "registry.local:5000/ci/" + name},
              {"version", "v1.4.2"},
              {"source", {{"git", {{"url", "https://example.com/repo.git"}, {"revision", "v1.4.2"}}}}},
              {"platforms", platforms},
              {"retries", 1}}}};
  }

  static Json TwoPlatforms() {
    return Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}});
  }

  Json Get(const std::string& name) {
    auto ib = client_->Get(controller::kImageBuildResource, ns_.name(), name);
    return ib.ok() ? *ib : Json::object();
  }

  static std::string Condition(const Json& ib, const std::string& type, const char* field = "status") {
    for (const auto& c : ib.value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("type", "") == type) return c.value(field, "");
    }
    return "";
  }

  // The build and merge pods; ResolvePods() the pods that resolved a revision to its commit.
  std::vector<Json> Pods() { return PodsWhere("imagebuild.io/role!=resolve"); }
  std::vector<Json> ResolvePods() { return PodsWhere("imagebuild.io/role=resolve"); }
  std::vector<Json> PodsWhere(const std::string& label_selector) {
    kube::ListOptions o;
    o.label_selector = label_selector;
    auto list = client_->List(kube::resources::kPods, ns_.name(), o);
    return list.ok() ? (*list)["items"].get<std::vector<Json>>() : std::vector<Json>{};
  }

  std::vector<std::string> EventReasons(const std::string& name) {
    kube::ListOptions o;
    o.field_selector = "involvedObject.name=" + name;
    auto list = client_->List(kube::resources::kEvents, ns_.name(), o);
    std::vector<std::string> out;
    if (list.ok()) for (const auto& e : (*list)["items"]) out.push_back(e["reason"]);
    return out;
  }
  // Events are written after the status they explain, so a test that saw the status waits for them.
  bool EventuallyRecorded(const std::string& name, const std::string& reason) {
    return Eventually([&] { return Has(EventReasons(name), reason); }, 10s);
  }

  static bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

  std::unique_ptr<kube::Client> client_;
  ibo::testing::TestNamespace ns_;
  kube::ApiEventRecorder recorder_;
  std::unique_ptr<ImageBuildController> controller_;
  std::unique_ptr<ibo::testing::KubeletStandIn> kubelet_;
  std::atomic<bool> release_{false};
};

TEST_F(ControllerTest, BuildsEachPlatformOnItsArchitectureThenMergesAndIsReady) {
  StartKubelet(SucceedAll);
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("worker", TwoPlatforms())).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("worker"), "Ready") == "True"; }, 60s))
      << Get("worker").value("status", Json::object()).dump(2);
  // What GitOps tools run.
  EXPECT_EQ(std::system(("kubectl --kubeconfig \"$IBO_TEST_KUBECONFIG\" wait --for=condition=Ready imagebuild/worker -n " +
                         ns_.name() + " --timeout=10s >/dev/null").c_str()), 0);

  const Json ib = Get("worker");
  const Json& status = ib["status"];
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["observedGeneration"], ib["metadata"]["generation"]);
  EXPECT_EQ(Condition(ib, "Reconciling"), "False");
  EXPECT_EQ(Condition(ib, "Stalled"), "False");
  EXPECT_EQ(status["manifest"]["digest"], oci::Sha256Digest("index"));
  EXPECT_EQ(status["manifest"]["tags"], (Json{"v1.4.2", "v1.4", "latest"}));
  EXPECT_EQ(status["manifest"]["reference"], "registry.local:5000/ci/worker@" + oci::Sha256Digest("index"));

  std::map<std::string, Json> pods;
  for (const auto& p : Pods()) pods[p["metadata"]["name"]] = p;
  ASSERT_EQ(status["platforms"].size(), 2u);
  std::string merge_args;
  for (const auto& [name, pod] : pods) {
    if (Label(pod, "imagebuild.io/role") == "merge") merge_args = pod["spec"]["containers"][0]["args"].dump();
  }
  for (const auto& ps : status["platforms"]) {
    const Json& pod = pods.at(ps["podName"]);
    EXPECT_EQ(ps["digest"], DigestFor(pod)) << ps.dump();
    EXPECT_EQ(ps["nodeName"], pod["spec"]["nodeName"]);
    const std::string arch = ps["platform"].get<std::string>().substr(6);
    auto node = client_->Get(kube::resources::kNodes, "", ps["nodeName"]);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    EXPECT_EQ((*node)["metadata"]["labels"]["kubernetes.io/arch"], arch) << "pod " << ps["podName"] << " on the wrong node";
    EXPECT_NE(merge_args.find(ps["platform"].get<std::string>() + "=" + ps["digest"].get<std::string>()), std::string::npos);
  }
  EXPECT_TRUE(kubelet_->Misplaced().empty()) << kubelet_->Misplaced()[0];
  for (const char* r : {"Building", "Built", "Merging", "Succeeded"}) EXPECT_TRUE(EventuallyRecorded("worker", r)) << r;
}

TEST_F(ControllerTest, RetriesOnlyTheFailedPlatformAndKeepsTheOthersDigest) {
  std::atomic<int> arm_attempts{0};
  StartKubelet([&](const Json& pod, const Json& node) -> std::optional<ibo::testing::KubeletStandIn::Outcome> {
    if (Label(pod, "imagebuild.io/platform") == "linux-arm64" && Label(pod, "imagebuild.io/attempt") == "1") {
      ++arm_attempts;
      return ibo::testing::KubeletStandIn::Outcome{false, "error: failed to solve: process \"make\" did not complete"};
    }
    return SucceedAll(pod, node);
  });
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("flaky", TwoPlatforms())).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("flaky"), "Ready") == "True"; }, 60s))
      << Get("flaky").value("status", Json::object()).dump(2);
  const Json status = Get("flaky")["status"];
  EXPECT_EQ(status["platforms"][0]["attempt"], 1);  // amd64 built once
  EXPECT_EQ(status["platforms"][1]["attempt"], 2);
  int amd_pods = 0;
  for (const auto& p : Pods()) amd_pods += Label(p, "imagebuild.io/platform") == "linux-amd64";
  EXPECT_EQ(amd_pods, 1);
  EXPECT_TRUE(EventuallyRecorded("flaky", "BuildFailed"));
}

TEST_F(ControllerTest, ANewGenerationSupersedesTheRunningBuild) {
  StartHeldKubelet();
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("bump", TwoPlatforms())).ok());
  // Running means recorded: the status names the build (it is written after the pods exist).
  ASSERT_TRUE(Eventually([&] {
    return Pods().size() == 2 && !Get("bump").value("status", Json::object()).value("buildID", "").empty();
  }, 20s));
  std::set<std::string> first;
  for (const auto& p : Pods()) first.insert(p["metadata"]["name"]);
  ASSERT_TRUE(client_->Patch(controller::kImageBuildResource, ns_.name(), "bump", kube::PatchType::kMerge,
                             {{"spec", {{"version", "v1.4.3"}}}}).ok());
  // The old build's pods go (never waited on while terminating), the new build's come.
  ASSERT_TRUE(Eventually([&] {
    auto pods = Pods();
    if (pods.size() != 2) return false;
    for (const auto& p : pods) if (first.count(p["metadata"]["name"])) return false;
    return true;
  }, 30s));
  release_ = true;
  ASSERT_TRUE(Eventually([&] { return Condition(Get("bump"), "Ready") == "True"; }, 60s));
  const Json ib = Get("bump");
  EXPECT_EQ(ib["status"]["observedGeneration"], 2);
  EXPECT_EQ(ib["status"]["manifest"]["tags"][0], "v1.4.3");
  EXPECT_TRUE(EventuallyRecorded("bump", "Superseded"));
}

TEST_F(ControllerTest, ARestartedControllerAdoptsItsPods) {
  StartHeldKubelet();
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("adopt", TwoPlatforms())).ok());
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }, 20s));
  controller_->Stop();
  controller_.reset();
  StartController();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(Pods().size(), 2u) << "the restarted controller created duplicate pods";
  EXPECT_EQ(ResolvePods().size(), 1u) << "the revision is resolved once per build";
  release_ = true;
  ASSERT_TRUE(Eventually([&] { return Condition(Get("adopt"), "Ready") == "True"; }, 60s));
  int builds = 0;
  for (const auto& p : Pods()) builds += Label(p, "imagebuild.io/role") == "build";
  EXPECT_EQ(builds, 2);
}

TEST_F(ControllerTest, AMissingPushSecretStallsWithInvalidSpecAndNoPods) {
  StartController();
  Json ib = ImageBuild("nosecret", TwoPlatforms());
  ib["spec"]["pushSecretRef"] = {{"name", "regcred"}};
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ib).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("nosecret"), "Stalled") == "True"; }, 20s));
  const Json got = Get("nosecret");
  EXPECT_EQ(Condition(got, "Ready"), "False");
  EXPECT_EQ(Condition(got, "Ready", "reason"), "InvalidSpec");
  EXPECT_NE(Condition(got, "Ready", "message").find("regcred"), std::string::npos);
  EXPECT_TRUE(Pods().empty());
  EXPECT_TRUE(EventuallyRecorded("nosecret", "InvalidSpec"));
}

TEST_F(ControllerTest, TheRegistryConfigMapIsKeptCurrentAndNeverTakenFromOthers) {
  StartHeldKubelet();
  StartController(0, {"registry.local:5000"});
  // Someone else's ConfigMap under the name the operator would use: left alone, and said so.
  ASSERT_TRUE(client_->Create(kube::resources::kConfigMaps, ns_.name(), ibo::testing::ConfigMap(ConfigMapName("taken"), "theirs")).ok());
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("taken", TwoPlatforms())).ok());
  EXPECT_TRUE(EventuallyRecorded("taken", "ConfigMapConflict"));
  auto theirs = client_->Get(kube::resources::kConfigMaps, ns_.name(), ConfigMapName("taken"));
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ((*theirs)["data"], Json({{"v", "theirs"}}));
  EXPECT_FALSE((*theirs)["metadata"].contains("ownerReferences"));

  // Its own ConfigMap: owned by the ImageBuild, and put back when someone edits it.
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("owned", TwoPlatforms())).ok());
  auto config_map = [&] { return client_->Get(kube::resources::kConfigMaps, ns_.name(), ConfigMapName("owned")); };
  ASSERT_TRUE(Eventually([&] { return config_map().ok(); }, 20s));
  Json cm = *config_map();
  const Json want = cm["data"];
  EXPECT_NE(want.value("buildkitd.toml", "").find("registry.local:5000"), std::string::npos) << want.dump();
  ASSERT_EQ(cm["metadata"]["ownerReferences"][0]["name"], "owned");
  EXPECT_TRUE(cm["metadata"]["ownerReferences"][0]["controller"].get<bool>());
  cm["data"] = {{"buildkitd.toml", "edited by hand"}};
  ASSERT_TRUE(client_->Update(kube::resources::kConfigMaps, ns_.name(), cm).ok());
  EXPECT_TRUE(Eventually([&] { auto got = config_map(); return got.ok() && (*got)["data"] == want; }, 20s))
      << config_map()->dump(2);
  for (const auto& p : Pods()) EXPECT_NE(Label(p, "imagebuild.io/name"), "taken") << "built on someone else's ConfigMap";
}

TEST_F(ControllerTest, APlatformWithoutNodesSaysSoAndKeepsWaiting) {
  StartKubelet(SucceedAll);
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(),
                              ImageBuild("mainframe", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/s390x"}}})))
                  .ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("mainframe"), "Ready", "reason") == "NoNodesForPlatform"; }, 20s))
      << Get("mainframe").value("status", Json::object()).dump(2);
  const Json ib = Get("mainframe");
  EXPECT_EQ(Condition(ib, "Reconciling"), "True");
  EXPECT_NE(Condition(ib, "Stalled"), "True");
  // The pod is there all the same (an autoscaler adds nodes for pods that ask).
  bool s390x_pod = false;
  for (const auto& p : Pods()) s390x_pod |= Label(p, "imagebuild.io/platform") == "linux-s390x";
  EXPECT_TRUE(s390x_pod);
  EXPECT_TRUE(EventuallyRecorded("mainframe", "NoNodesForPlatform"));
}

TEST_F(ControllerTest, TheConcurrencyCapHoldsWithSeveralWorkers) {
  StartHeldKubelet();
  StartController(/*max_concurrent_builds=*/1);
  for (const char* name : {"cap-a", "cap-b", "cap-c"}) {
    ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild(name, TwoPlatforms())).ok());
  }
  auto building = [&] {
    std::set<std::string> names;
    for (const auto& p : Pods()) names.insert(Label(p, "imagebuild.io/name"));
    return names.size();
  };
  auto queued = [&] {
    int n = 0;
    for (const char* name : {"cap-a", "cap-b", "cap-c"}) n += Condition(Get(name), "Ready", "reason") == "Queued";
    return n;
  };
  ASSERT_TRUE(Eventually([&] { return building() >= 1 && queued() == 2; }, 30s))
      << building() << " building, " << queued() << " queued";
  EXPECT_EQ(building(), 1u) << "more builds than the cap started";
  // And it stays so while the one build runs.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(building(), 1u) << "more builds than the cap started";
  EXPECT_EQ(queued(), 2);
  release_ = true;
  for (const char* name : {"cap-a", "cap-b", "cap-c"}) {
    EXPECT_TRUE(Eventually([&] { return Condition(Get(name), "Ready") == "True"; }, 90s)) << name;
  }
}

// A merge pod that cannot start (here: its image runs as root and the pod says runAsNonRoot) is
// said at once, in the Ready message and a Warning event, and goes through the merge's retries.
TEST_F(ControllerTest, AMergePodThatCannotStartIsSaidAtOnce) {
  const std::string why = "container has runAsNonRoot and image will run as root (pod: \"x\", container: merge)";
  StartKubelet([&](const Json& pod, const Json& node) -> std::optional<ibo::testing::KubeletStandIn::Outcome> {
    if (Label(pod, "imagebuild.io/role") != "merge") return SucceedAll(pod, node);
    ibo::testing::KubeletStandIn::Outcome waits;
    waits.waiting = std::make_pair(std::string("CreateContainerConfigError"), why);
    return waits;
  });
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("rootful", TwoPlatforms())).ok());
  ASSERT_TRUE(Eventually([&] { return EventuallyRecorded("rootful", "MergeFailed"); }, 30s))
      << Get("rootful").value("status", Json::object()).dump(2);
  ASSERT_TRUE(Eventually([&] { return Condition(Get("rootful"), "Stalled", "reason") == "MergeFailed"; }, 30s))
      << Get("rootful").value("status", Json::object()).dump(2);
  const std::string message = Condition(Get("rootful"), "Ready", "message");
  EXPECT_NE(message.find("CreateContainerConfigError"), std::string::npos) << message;
  EXPECT_NE(message.find("runAsNonRoot"), std::string::npos) << message;
  EXPECT_EQ(Get("rootful")["status"]["phase"], "Failed");
}

// Edits rebuild only what they change: retries on a running build create no pod and move
// observedGeneration; tags on a Ready build run one merge of the digests already built.
TEST_F(ControllerTest, EditsRebuildOnlyWhatTheyChange) {
  StartHeldKubelet();
  StartController();
  ASSERT_TRUE(client_->Create(controller::kImageBuildResource, ns_.name(), ImageBuild("edit", TwoPlatforms())).ok());
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2 && !Get("edit").value("status", Json::object()).value("buildID", "").empty(); }, 20s));
  const std::string id = Get("edit")["status"]["buildID"];
  ASSERT_TRUE(client_->Patch(controller::kImageBuildResource, ns_.name(), "edit", kube::PatchType::kMerge,
                             {{"spec", {{"retries", 3}, {"timeout", "2h"}}}}).ok());
  ASSERT_TRUE(Eventually([&] { return Get("edit")["status"].value("observedGeneration", 0) == 2; }, 20s));
  EXPECT_EQ(Get("edit")["status"]["buildID"], id);
  EXPECT_EQ(Pods().size(), 2u) << "an in-place edit rebuilt";
  release_ = true;
  ASSERT_TRUE(Eventually([&] { return Condition(Get("edit"), "Ready") == "True"; }, 60s));
  const Json ready = Get("edit");
  std::set<std::string> before;
  for (const auto& p : Pods()) before.insert(p["metadata"]["name"]);
  ASSERT_TRUE(client_->Patch(controller::kImageBuildResource, ns_.name(), "edit", kube::PatchType::kMerge,
                             {{"spec", {{"tags", {"stable"}}}}}).ok());
  ASSERT_TRUE(Eventually([&] {
    const Json status = Get("edit").value("status", Json::object());
    return Condition(Get("edit"), "Ready") == "True" && status.value("manifest", Json::object()).value("tags", Json::array()).size() == 4;
  }, 60s)) << Get("edit").value("status", Json::object()).dump(2);
  std::vector<std::string> added;
  for (const auto& p : Pods()) if (!before.count(p["metadata"]["name"])) added.push_back(Label(p, "imagebuild.io/role"));
  EXPECT_EQ(added, std::vector<std::string>{"merge"}) << "a tags edit built again";
  const Json after = Get("edit");
  EXPECT_EQ(after["status"]["buildID"], id);
  EXPECT_EQ(after["status"]["platforms"], ready["status"]["platforms"]);
  EXPECT_EQ(after["status"]["manifest"]["tags"].back(), "stable");
  EXPECT_EQ(after["status"]["observedGeneration"], 3);
}

}  // namespace
}  // namespace ibo::controller
