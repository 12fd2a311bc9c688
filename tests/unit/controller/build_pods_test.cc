// Golden pod specs: the exact build and merge pods for a fixed ImageBuild, so that any change to
// what runs in a user's cluster shows up in review. Regenerate with IBO_UPDATE_GOLDEN=1.
#include "controller/build_pods.h"

#include "api/imagebuild_spec.h"
#include "common/shell_quote.h"
#include "controller/pod_observation.h"

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
          {"labels", {{"org.opencontainers.image.title", "worker"}}},
          {"annotations", {{"org.opencontainers.image.description", "the worker, with a comma, and a \"quote\""}}},
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
    ctx.commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    ctx.created = "2026-11-27T10:00:00Z";
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

// Runs a pod's script for real with git against local repositories in a scratch folder: the
// pod's fixed paths (/workspace/src, /tmp/..., /dev/termination-log) are pointed into it.
class GitScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ibo-git-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // origin: main (two commits), a lightweight tag v1, an annotated tag v2 and a branch feature.
    Sh("git init -q -b main origin && cd origin && " + Commit("first") + " && git tag v1 && " + Commit("second") +
       " && git tag -a v2 -m release && git checkout -q -b feature && " + Commit("feature-commit") + " && git checkout -q main");
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  static std::string Commit(const std::string& subject) {
    return "git -c user.name=t -c user.email=t@t commit -q --allow-empty -m " + subject;
  }
  int Sh(const std::string& cmd) { return std::system(("cd " + dir_ + " && " + cmd).c_str()) >> 8; }
  std::string Read(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string Rev(const std::string& rev) {
    Sh("git -C origin rev-parse '" + rev + "^{commit}' > rev.out");
    std::string out = Read("rev.out");
    return out.substr(0, out.find('\n'));
  }
  // Runs `script` with env; its output goes to DIR/out, its termination message to DIR/msg.
  int Run(const std::string& script, const std::string& env, const std::string& work = "w", const std::string& args = "") {
    std::ofstream(dir_ + "/script.sh") << script;
    Sh("rm -rf " + work + " msg");
    // /tmp/ first: the scratch folder is under /tmp too.
    return Sh("sed -e 's|/tmp/|" + dir_ + "/|g' -e 's|/workspace/src|" + dir_ + "/" + work + "|g' -e 's|/dev/termination-log|" +
              dir_ + "/msg|g' script.sh > run.sh && env GIT_URL=file://" + dir_ + "/origin HOME=" + dir_ + " " + env +
              " sh run.sh " + args + " > out 2>&1");
  }
  std::string dir_;
};

TEST_F(GitScriptTest, TheResolvePodNamesTheCommitOfABranchATagAndHead) {
  Fixture f("buildah");
  const std::string script = ResolvePod(f.ctx, "r")["spec"]["containers"][0]["command"][2];
  for (const auto& [revision, ref] : std::vector<std::pair<std::string, std::string>>{
           {"feature", "feature"}, {"v1", "v1"}, {"v2", "v2"}, {"", "main"}, {"refs/heads/main", "main"}}) {
    EXPECT_EQ(Run(script, "GIT_REVISION='" + revision + "'"), 0) << revision << ": " << Read("out");
    EXPECT_EQ(Read("msg"), Rev(ref)) << "revision '" << revision << "'";
  }
  EXPECT_EQ(Run(script, "GIT_REVISION=nosuch"), kSourcePermanentExitCode);
  EXPECT_NE(Read("out").find("revision nosuch is no branch, tag or ref of the repository"), std::string::npos) << Read("out");
}

TEST_F(GitScriptTest, EveryBuildPodChecksOutTheResolvedCommitAfterTheBranchMoved) {
  Fixture f("buildah");
  const std::string resolved = Rev("main");
  Sh("cd origin && " + Commit("moved-on"));  // main moves after the resolve
  f.ctx.commit = resolved;
  const std::string script = BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "p", 1)["spec"]["initContainers"][0]["command"][2];
  // Protocol v2 serves any commit by id; v0 without uploadpack.allowReachableSHA1InWant does not,
  // and the script fetches main deeper until the commit is in it.
  for (const char* protocol : {"2", "0"}) {
    const std::string env = "GIT_REVISION=main GIT_COMMIT=" + resolved + " GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=protocol.version GIT_CONFIG_VALUE_0=" + protocol;
    EXPECT_EQ(Run(script, env), 0) << "protocol " << protocol << ": " << Read("out");
    Sh("git -C w rev-parse HEAD > head.out");
    EXPECT_EQ(Read("head.out"), resolved + "\n") << "protocol " << protocol;
    EXPECT_EQ(Read("out").find("does not serve commits by id") != std::string::npos, std::string(protocol) == "0") << Read("out");
  }
}

TEST_F(GitScriptTest, ACommitGoneFromTheBranchFailsForGoodNamingBothCommits) {
  Fixture f("buildah");
  const std::string gone = Rev("feature");
  Sh("git -C origin branch -q -D feature && git -C origin checkout -q -b feature main");  // a force push
  f.ctx.commit = gone;
  const std::string script = BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "p", 1)["spec"]["initContainers"][0]["command"][2];
  const std::string env = "GIT_REVISION=feature GIT_COMMIT=" + gone + " GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=protocol.version GIT_CONFIG_VALUE_0=0";
  EXPECT_EQ(Run(script, env), kSourcePermanentExitCode) << Read("out");
  const std::string out = Read("out");
  EXPECT_NE(out.find("commit " + gone + ", where feature was when the build started"), std::string::npos) << out;
  EXPECT_NE(out.find(Rev("main")), std::string::npos) << "the message names the branch's commit now: " << out;
}

// The BuildKit container's `sh -c SCRIPT build ARGS...`, run by sh as the kubelet runs it: buildctl
// gets every argument unchanged (spaces, quotes, commas, `$(...)` from the spec's build args), and
// the termination message is the digest that BuildKit's metadata file names.
TEST_F(GitScriptTest, TheBuildKitScriptPassesEveryArgumentUnchangedAndReportsTheDigest) {
  Fixture f("buildkit", {{"buildArgs", {{"NOTE", "a b 'c' \"d\" $(touch pwned) `touch pwned2` ;x"}}}});
  const Json command = BuildPod(f.ctx, {&f.spec.platforms[0]}, false, "p", 1)["spec"]["containers"][0]["command"];
  ASSERT_GE(command.size(), 4u);
  ASSERT_EQ(command[1], "-c");
  const std::string digest = "sha256:" + std::string(64, 'e');
  // A stand-in for buildctl-daemonless.sh: it writes its arguments, one per line, and the metadata.
  Sh("mkdir -p bin");
  std::ofstream(dir_ + "/bin/buildctl-daemonless.sh")
      << "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\n"
      << "printf '{\"containerimage.digest\": \"" << digest << "\"}' > \"$METADATA\"\n";
  Sh("chmod +x bin/buildctl-daemonless.sh");
  // `sh run.sh ARGS` gives the script the positional parameters that `sh -c SCRIPT $0 ARGS` does.
  std::string args, expected;
  for (size_t i = 4; i < command.size(); ++i) {
    const std::string arg = command[i];
    args += " " + ShellQuote(arg);
    expected += arg + "\n";
  }
  EXPECT_NE(expected.find("build-arg:NOTE=a b 'c' \"d\" $(touch pwned) `touch pwned2` ;x\n"), std::string::npos) << expected;
  const std::string env = "PATH=" + dir_ + "/bin:$PATH ARGS_FILE=" + dir_ + "/args METADATA=" + dir_ + "/metadata.json";
  EXPECT_EQ(Run(command[2], env, "w", args), 0) << Read("out");
  EXPECT_EQ(Read("args"), expected);
  std::string message = Read("msg");
  while (!message.empty() && message.back() == '\n') message.pop_back();
  EXPECT_EQ(message, digest);
  EXPECT_EQ(Sh("test ! -e pwned && test ! -e pwned2"), 0);
}

}  // namespace
}  // namespace ibo::controller
