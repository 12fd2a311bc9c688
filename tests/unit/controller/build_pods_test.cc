// Golden pod specs: the exact build and merge pods for a fixed ImageBuild, so that any change to
// what runs in a user's cluster shows up in review. Regenerate with IBO_UPDATE_GOLDEN=1.
#include "controller/build_pods.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ibo::controller {
namespace {

Json Owner() {
  return {{"apiVersion", "imagebuild.io/v1alpha1"},
          {"kind", "ImageBuild"},
          {"metadata", {{"name", "worker"}, {"namespace", "ci"}, {"uid", "8d6c4d1e-0000-4000-8000-000000000001"}, {"generation", 3}}}};
}

Json Spec(const std::string& strategy) {
  return {{"image", "registry.example.com/org/worker"},
          {"version", "v1.4.2"},
          {"source", {{"git", {{"url", "https://github.com/org/repo.git"}, {"revision", "v1.4.2"}, {"secretRef", {{"name", "git-cred"}}}}},
                      {"contextDir", "services/worker"}}},
          {"dockerfile", "Dockerfile"},
          {"buildArgs", {{"GIT_SHA", "abc123"}}},
          {"target", "runtime"},
          {"platforms", Json::array({{{"platform", "linux/amd64"}, {"dockerfile", "Dockerfile.worker"}},
                                     {{"platform", "linux/arm64"},
                                      {"nodeSelector", {{"pool", "arm"}}},
                                      {"tolerations", Json::array({{{"key", "arch"}, {"value", "arm64"}, {"effect", "NoSchedule"}}})},
                                      {"resources", {{"requests", {{"cpu", "2"}, {"memory", "4Gi"}}}}}}})},
          {"builder", {{"strategy", strategy}}},
          {"cache", {{"repository", "registry.example.com/org/worker-cache"}}},
          {"pushSecretRef", {{"name", "regcred"}}},
          {"buildSecrets", Json::array({{{"id", "npmrc"}, {"secretRef", {{"name", "npm"}, {"key", ".npmrc"}}}}})},
          {"serviceAccountName", "builder"}};
}

void ExpectGolden(const Json& actual, const std::string& name) {
  const std::string path = std::string(IBO_GOLDEN_DIR) + "/" + name + ".json";
  const std::string text = actual.dump(2) + "\n";
  if (const char* update = std::getenv("IBO_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << text;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing: run the test once with IBO_UPDATE_GOLDEN=1 and review it";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(text, golden.str()) << "the pod for " << name << " changed; if that is intended, regenerate " << path;
}

struct Fixture {
  explicit Fixture(const std::string& strategy) {
    settings.insecure_registries = {"registry.local:5000"};
    settings.registry_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    auto parsed = ParseImageBuildSpec(Spec(strategy));
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    spec = *parsed;
    ctx = BuildContext{Owner(), spec, BuildId("8d6c4d1e-0000-4000-8000-000000000001", 3, ""), &settings, true};
  }
  OperatorSettings settings;
  ImageBuildSpec spec;
  BuildContext ctx;
};

TEST(BuildPodsGoldenTest, BuildKitRootlessArm64) {
  Fixture f("buildkit");
  ExpectGolden(BuildPod(f.ctx, {&f.spec.platforms[1]}, false, "worker-0123456789", 1), "buildkit_arm64");
}

TEST(BuildPodsGoldenTest, BuildahAmd64) {
  Fixture f("buildah");
  ExpectGolden(BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "worker-0123456789", 2), "buildah_amd64");
}

TEST(BuildPodsGoldenTest, EmulatedAllPlatforms) {
  Fixture f("buildkit");
  ExpectGolden(BuildPod(f.ctx, {&f.spec.platforms[0], &f.spec.platforms[1]}, true, "worker-0123456789", 1), "buildkit_emulated");
}

TEST(BuildPodsGoldenTest, MergeAndRegistryConfig) {
  Fixture f("buildkit");
  ExpectGolden(MergePod(f.ctx, {{"linux/amd64", "sha256:" + std::string(64, 'a')}, {"linux/arm64", "sha256:" + std::string(64, 'b')}},
                        {"v1.4.2", "v1.4", "latest"}, "worker-9876543210"),
               "merge");
  ExpectGolden(*RegistryConfigMap(f.ctx), "registry_config_map");
}

TEST(BuildPodsTest, NamesAreStableShortAndDistinct) {
  const std::string a = PodName(std::string(80, 'x'), "uid", 1, "", "linux/arm64", 1);
  EXPECT_LE(a.size(), 63u);
  EXPECT_EQ(a, PodName(std::string(80, 'x'), "uid", 1, "", "linux/arm64", 1));
  EXPECT_NE(a, PodName(std::string(80, 'x'), "uid", 1, "", "linux/arm64", 2));
  EXPECT_NE(a, PodName(std::string(80, 'x'), "uid", 1, "token", "linux/arm64", 1));
  EXPECT_NE(BuildId("uid", 1, ""), BuildId("uid", 2, ""));
  EXPECT_EQ(NameLabel("short"), "short");
  EXPECT_LE(NameLabel(std::string(100, 'n')).size(), 63u);
}

}  // namespace
}  // namespace ibo::controller
