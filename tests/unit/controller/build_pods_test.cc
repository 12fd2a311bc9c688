// Golden pod specs: the exact build and merge pods for a fixed ImageBuild, so that any change to
// what runs in a user's cluster shows up in review. Regenerate with IBO_UPDATE_GOLDEN=1.
#include "controller/build_pods.h"

#include "api/imagebuild_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ibo::controller {
namespace {

using api::BuildId;
using api::NameLabel;
using api::ParseImageBuildSpec;
using api::PodName;

api::ObjectMeta Owner() {
  return api::DecodeObjectMeta(
      {{"name", "worker"}, {"namespace", "ci"}, {"uid", "8d6c4d1e-0000-4000-8000-000000000001"}, {"generation", 3}});
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
  EXPECT_TRUE(text == golden.str()) << "the pod for " << name << " differs from " << path
                                    << "; if that is intended, run with IBO_UPDATE_GOLDEN=1 and review `git diff`";
}

struct Fixture {
  explicit Fixture(const std::string& strategy, const Json& extra = Json::object()) {
    settings.insecure_registries = {"registry.local:5000"};
    settings.registry_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    Json spec_json = Spec(strategy);
    spec_json.update(extra);
    auto parsed = ParseImageBuildSpec(spec_json);
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
  MergeInputs inputs{{{"linux/amd64", "sha256:" + std::string(64, 'a')}, {"linux/arm64", "sha256:" + std::string(64, 'b')}},
                     *api::DeriveReleaseTags(f.spec),
                     true,
                     {{"org.opencontainers.image.version", "v1.4.2"}}};
  ExpectGolden(MergePod(f.ctx, inputs, "worker-9876543210"), "merge");
  ExpectGolden(*RegistryConfigMap(f.ctx), "registry_config_map");
}

// spec.signing: the key is mounted read-only into the merge pod, readable through fsGroup by the
// merge user, and into no build pod.
TEST(BuildPodsGoldenTest, SignedMerge) {
  Fixture f("buildkit", {{"signing", {{"keySecretRef", {{"name", "release-key"}}}}}});
  MergeInputs inputs{{{"linux/amd64", "sha256:" + std::string(64, 'a')}}, *api::DeriveReleaseTags(f.spec), true, {}};
  const Json pod = MergePod(f.ctx, inputs, "worker-9876543210");
  ExpectGolden(pod, "merge_signed");
  const Json& spec = pod["spec"];
  EXPECT_EQ(spec["securityContext"]["fsGroup"], 65532);
  Json volume;
  for (const auto& v : spec["volumes"]) if (v["name"] == "signing-key") volume = v;
  EXPECT_EQ(volume["secret"]["secretName"], "release-key");
  EXPECT_EQ(volume["secret"]["defaultMode"], 0440);
  EXPECT_EQ(volume["secret"]["items"], Json::parse(R"([{"key":"cosign.key","path":"cosign.key"}])"));
  Json mount;
  for (const auto& m : spec["containers"][0]["volumeMounts"]) if (m["name"] == "signing-key") mount = m;
  EXPECT_EQ(mount["readOnly"], true);
  const Json& args = spec["containers"][0]["args"];
  const auto flag = std::find(args.begin(), args.end(), "--signing-key");
  ASSERT_NE(flag, args.end());
  EXPECT_EQ(*std::next(flag), "/etc/imagebuild/signing/cosign.key");
  for (const auto* strategy : {"buildkit", "buildah"}) {
    Fixture b(strategy, {{"signing", {{"keySecretRef", {{"name", "release-key"}, {"key", "k"}}}}}});
    const std::string build = BuildPod(b.ctx, {&b.spec.platforms[0]}, false, "worker-0123456789", 1).dump();
    EXPECT_EQ(build.find("release-key"), std::string::npos) << strategy << " build pod mounts the signing key";
    EXPECT_EQ(build.find("signing"), std::string::npos) << strategy;
  }
  Fixture unsigned_merge("buildkit");
  EXPECT_FALSE(MergePod(unsigned_merge.ctx, inputs, "m")["spec"].contains("securityContext"));
}

// spec.attestations.provenance: BuildKit's frontend option, as buildctl documents it.
TEST(BuildPodsTest, ProvenanceAddsBuildKitsAttestOption) {
  const auto args_of = [](const Json& extra) {
    Fixture f("buildkit", extra);
    return BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "worker-0123456789", 1)["spec"]["containers"][0]["command"];
  };
  const auto has = [](const Json& args, const std::string& opt) {
    for (size_t i = 0; i + 1 < args.size(); ++i) if (args[i] == "--opt" && args[i + 1] == opt) return true;
    return false;
  };
  EXPECT_TRUE(has(args_of({{"attestations", {{"provenance", Json::object()}}}}), "attest:provenance=mode=max"));
  EXPECT_TRUE(has(args_of({{"attestations", {{"provenance", {{"mode", "min"}}}}}}), "attest:provenance=mode=min"));
  EXPECT_TRUE(has(args_of({{"attestations", {{"provenance", {{"mode", "max"}}}}}}), "attest:provenance=mode=max"));
  const Json plain = args_of(Json::object());
  EXPECT_TRUE(has(plain, "filename=Dockerfile.worker"));  // the command it looks in
  EXPECT_EQ(plain.dump().find("attest:"), std::string::npos);
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

// The fetch script of the source init container, run for real with git against a local
// repository: a branch that is not the default, a tag, and the default.
TEST(BuildPodsTest, TheSourceScriptFetchesBranchesAndTags) {
  Fixture f("buildkit");
  const Json pod = BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "p", 1);
  const std::string script = pod["spec"]["initContainers"][0]["command"][2];
  char tmpl[] = "/tmp/ibo-git-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  ASSERT_EQ(std::system(("cd " + dir + " && git init -q origin && cd origin && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m main-commit"
                         " && git tag v1 && git checkout -q -b feature && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m feature-commit"
                         " && git checkout -q -").c_str()), 0);
  std::ofstream(dir + "/fetch.sh") << script;
  for (const auto& [revision, subject] : std::vector<std::pair<std::string, std::string>>{
           {"feature", "feature-commit"}, {"v1", "main-commit"}, {"", "main-commit"}}) {
    const std::string work = dir + "/w-" + (revision.empty() ? "default" : revision);
    // The script works in /workspace/src; point it at a scratch folder instead.
    const std::string cmd = "sed 's|/workspace/src|" + work + "|g' " + dir + "/fetch.sh > " + dir + "/run.sh && GIT_URL=file://" + dir +
                            "/origin GIT_REVISION='" + revision + "' HOME=" + dir + " sh " + dir + "/run.sh >/dev/null 2>&1 && test \"$(git -C " +
                            work + " log -1 --format=%s)\" = " + subject;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "revision '" << revision << "'";
  }
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace ibo::controller
