// Bad input against the real API server (issue 12, part 5): every file of the bad-input corpus
// (tests/bad_input/semantic) passes the CRD schema and ends Failed with reason InvalidSpec and its
// exact message, creating no pod; what tests/bad_input/schema holds the schema refuses first; and a
// hostile ImageBuild, its affinity nested thousands of levels deep and close to etcd's 1.5 MiB
// object limit, is refused with a clear message while other ImageBuilds build.
#include <gtest/gtest.h>

#include <map>

#include "common/oci_digest.h"
#include "controller/build_pods.h"
#include "controller/controller.h"
#include "kube/event_recorder.h"
#include "support/bad_input.h"
#include "support/cluster.h"
#include "support/kubelet_stand_in.h"

namespace ibo::controller {
namespace {

using ibo::testing::Eventually;
using kube::Json;
using namespace std::chrono_literals;

std::string Condition(const Json& ib, const std::string& type, const char* field) {
  for (const auto& c : ib.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c.value(field, "");
  }
  return "";
}

// What the operator made of an ImageBuild: "phase/reason: message".
std::string Outcome(const Json& ib) {
  return ib.value("status", Json::object()).value("phase", "") + "/" + Condition(ib, "Ready", "reason") + ": " +
         Condition(ib, "Ready", "message");
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ibo::testing::InstallImageBuildCrdAndNodes("bad-input"); }
  static void TearDownTestSuite() { ibo::testing::RemoveNodes("bad-input"); }

  BadInputTest() : client_(ibo::testing::AdminClient()), ns_(*client_, "bad"), recorder_(*client_, "imagebuild-operator") {
    EXPECT_TRUE(Eventually([&] { return client_->List(kImageBuildResource, ns_.name(), {}).ok(); }, 10s));
  }
  ~BadInputTest() override {
    if (controller_) controller_->Stop();
    if (kubelet_) kubelet_->Stop();
  }

  void StartController() {
    ControllerOptions options;
    options.namespaces = {ns_.name()};
    options.workers = 4;
    options.settings.retry_backoff = 1s;
    options.settings.merge_image = "imagebuild-operator:test";
    controller_ = std::make_unique<ImageBuildController>(*client_, recorder_, options);
    controller_->StartInformers();
    ASSERT_TRUE(controller_->WaitForSync(20s));
    controller_->StartWorkers();
  }

  // Every pod ends as a kubelet would end a good build; the merge reports an index.
  void StartKubelet() {
    kubelet_ = std::make_unique<ibo::testing::KubeletStandIn>(
        *client_, ns_.name(), [](const Json& pod, const Json&) -> std::optional<ibo::testing::KubeletStandIn::Outcome> {
          const std::string role = pod["metadata"].value("labels", Json::object()).value("imagebuild.io/role", "");
          const std::string name = pod["metadata"]["name"];
          return ibo::testing::KubeletStandIn::Outcome{
              true, role == "merge" ? oci::Sha256Digest("index") : oci::Sha256Digest(name) + "\n"};
        });
    kubelet_->Start();
  }

  std::map<std::string, Json> ImageBuilds() {
    std::map<std::string, Json> out;
    auto list = client_->List(kImageBuildResource, ns_.name(), {});
    if (list.ok()) for (const auto& ib : (*list)["items"]) out[ib["metadata"]["name"]] = ib;
    return out;
  }

  std::vector<Json> Pods() {
    auto list = client_->List(kube::resources::kPods, ns_.name(), {});
    return list.ok() ? (*list)["items"].get<std::vector<Json>>() : std::vector<Json>{};
  }

  static Json Valid(const std::string& name) {
    return {{"apiVersion", "imagebuild.io/v1alpha1"}, {"kind", "ImageBuild"}, {"metadata", {{"name", name}}},
            {"spec", {{"image", "registry.local:5000/bad/" + name}, {"version", "v1.0.0"},
                      {"source", {{"git", {{"url", "https://git.example.com/org/app.git"}}}}},
                      {"platforms", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}})}}}};
  }

  std::unique_ptr<kube::Client> client_;
  ibo::testing::TestNamespace ns_;
  kube::ApiEventRecorder recorder_;
  std::unique_ptr<ImageBuildController> controller_;
  std::unique_ptr<ibo::testing::KubeletStandIn> kubelet_;
};

TEST_F(BadInputTest, EveryFileEndsFailedWithInvalidSpecAndItsMessageAndNoPod) {
  StartController();
  const auto corpus = ibo::testing::LoadBadInputs(IBO_BAD_INPUT_DIR, "semantic");
  ASSERT_GE(corpus.size(), 40u);
  for (const auto& b : corpus) {  // all at once: the operator decides them side by side
    auto created = client_->Create(kImageBuildResource, ns_.name(), b.object);
    ASSERT_TRUE(created.ok()) << b.file << " did not pass the CRD schema: " << created.status().ToString();
  }
  const auto settled = [&] {
    auto all = ImageBuilds();
    for (const auto& b : corpus) {
      if (Outcome(all[b.object["metadata"]["name"]]) != "Failed/InvalidSpec: " + b.expected) return false;
    }
    return true;
  };
  const bool all_settled = Eventually(settled, 60s, 200ms);
  auto all = ImageBuilds();
  for (const auto& b : corpus) {
    EXPECT_EQ(Outcome(all[b.object["metadata"]["name"]]), "Failed/InvalidSpec: " + b.expected) << b.file;
  }
  ASSERT_TRUE(all_settled);
  EXPECT_TRUE(Pods().empty()) << Pods().size() << " pods were created for bad input";
  // The Warning event says the same, for each.
  std::map<std::string, std::string> said;
  ASSERT_TRUE(Eventually([&] {
    auto events = client_->List(kube::resources::kEvents, ns_.name(), {});
    if (!events.ok()) return false;
    for (const auto& e : (*events)["items"]) {
      if (e.value("reason", "") == "InvalidSpec") said[e["involvedObject"]["name"]] = e.value("message", "");
    }
    return said.size() >= corpus.size();
  }, 20s)) << said.size() << " InvalidSpec events for " << corpus.size() << " ImageBuilds";
  for (const auto& b : corpus) EXPECT_EQ(said[b.object["metadata"]["name"]], b.expected) << b.file;
}

TEST_F(BadInputTest, TheSchemaRefusesWhatItsRulesWouldOtherwiseCatch) {
  for (const auto& b : ibo::testing::LoadBadInputs(IBO_BAD_INPUT_DIR, "schema")) {
    auto created = client_->Create(kImageBuildResource, ns_.name(), b.object);
    ASSERT_FALSE(created.ok()) << b.file << " passed the CRD schema: move it to tests/bad_input/semantic";
    EXPECT_EQ(created.status().http_status(), 422) << b.file << ": " << created.status().ToString();
  }
  EXPECT_TRUE(ImageBuilds().empty());
}

// {"a":{"a":...{"matchLabels":{}}}} `levels` deep, built without recursion.
Json Nested(int levels) {
  Json root = Json::object();
  Json* at = &root;
  for (int i = 0; i < levels; ++i) at = &((*at)["a"] = Json::object());
  (*at)["matchLabels"] = Json::object();
  return root;
}

constexpr size_t kEtcdLimit = 1572864;  // etcd's default --max-request-bytes, 1.5 MiB

TEST_F(BadInputTest, AHostileAffinityNearTheObjectLimitIsRefusedWhileOthersBuild) {
  StartKubelet();
  StartController();
  // Deeper than the decoder's 64 levels by far, within what kube-apiserver reads (Go's JSON stops
  // at 10,000), and padded to about 1.4 MiB.
  Json deep = Valid("deep");
  Json affinity = {{"nodeAffinity", Nested(9000)}};
  affinity["nodeAffinity"]["pad"] = std::string(1'400'000, 'x');
  deep["spec"]["platforms"][0]["affinity"] = std::move(affinity);
  const size_t bytes = deep.dump().size();
  ASSERT_LT(bytes, kEtcdLimit);
  ASSERT_GT(bytes, kEtcdLimit - 200'000);
  auto created = client_->Create(kImageBuildResource, ns_.name(), deep);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // A wide but well-formed affinity about as large builds: big is not refused, deep is.
  Json wide = Valid("wide");
  Json values = Json::array({"amd64"});
  for (size_t i = 0, size = 0; size < 1'100'000; ++i) {
    values.push_back("not-an-arch-" + std::to_string(i) + std::string(40, 'v'));
    size += values.back().get<std::string>().size() + 3;  // quotes and comma
  }
  wide["spec"]["platforms"] = Json::array({{{"platform", "linux/amd64"},
      {"affinity", {{"nodeAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution", {{"nodeSelectorTerms",
          Json::array({{{"matchExpressions", Json::array({{{"key", "kubernetes.io/arch"}, {"operator", "In"},
                                                           {"values", values}}})}}})}}}}}}}}});
  ASSERT_TRUE(client_->Create(kImageBuildResource, ns_.name(), wide).ok());
  ASSERT_TRUE(client_->Create(kImageBuildResource, ns_.name(), Valid("steady")).ok());

  const std::string refused = "Failed/InvalidSpec: spec.platforms[0].affinity: is nested deeper than 16 levels, and a "
                              "core/v1 Affinity needs at most 9: give nodeAffinity, podAffinity and podAntiAffinity as "
                              "the Pod API defines them";
  EXPECT_TRUE(Eventually([&] { return Outcome(ImageBuilds()["deep"]) == refused; }, 30s, 200ms))
      << Outcome(ImageBuilds()["deep"]);
  for (const char* name : {"steady", "wide"}) {
    EXPECT_TRUE(Eventually([&] { return Condition(ImageBuilds()[name], "Ready", "status") == "True"; }, 60s, 200ms))
        << name << ": " << Outcome(ImageBuilds()[name]);
  }
  for (const auto& p : Pods()) {
    const std::string owner = p["metadata"]["labels"].value("imagebuild.io/name", "");
    EXPECT_NE(owner, "deep") << "a pod was created for the hostile ImageBuild";
    if (owner == "wide" && p["metadata"]["labels"].value("imagebuild.io/role", "") == "build") {
      EXPECT_EQ(p["spec"]["affinity"], wide["spec"]["platforms"][0]["affinity"]) << "the wide affinity did not reach its pod";
    }
  }
}

}  // namespace
}  // namespace ibo::controller
