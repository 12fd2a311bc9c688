#include "api/imagebuild_spec.h"

#include <gtest/gtest.h>

#include <tuple>

namespace ibo::api {
namespace {

using V = std::vector<std::string>;

TEST(DeriveTagsTest, SemverGivesThreeTagsKeepingThePrefix) {
  EXPECT_EQ(*DeriveTags("v1.4.2", {"main"}), (V{"v1.4.2", "v1.4", "latest", "main"}));
  EXPECT_EQ(*DeriveTags("1.4.2", {}), (V{"1.4.2", "1.4", "latest"}));
}

TEST(DeriveTagsTest, PrereleaseOnlyItsOwnTagAndBuildMetadataDropped) {
  EXPECT_EQ(*DeriveTags("1.4.2-rc.1", {}), (V{"1.4.2-rc.1"}));
  EXPECT_EQ(*DeriveTags("v2.0.0+build.7", {}), (V{"v2.0.0", "v2.0", "latest"}));
  EXPECT_EQ(*DeriveTags("v1.4.2-rc-1.alpha.7+b-2.9", {}), (V{"v1.4.2-rc-1.alpha.7"}));
  EXPECT_EQ(*DeriveTags("v0.10.0", {}), (V{"v0.10.0", "v0.10", "latest"}));
}

TEST(DeriveTagsTest, RefusesWhatIsNotAFullVersionOrATag) {
  // As the CRD's pattern: no leading zero in a number, nor in a numeric prerelease identifier.
  for (const char* bad : {"v1.4", "1.4.x", "01.2.3", "latest", "1.0.0-01", "V1.0.0", "v1.0.0-", "1.0.0+", "1.0.0-a..b",
                          "1.0.0-a_b", "1.2.3.4", " 1.2.3"}) EXPECT_FALSE(DeriveTags(bad, {}).ok()) << bad;
  EXPECT_FALSE(DeriveTags("", {"bad+tag"}).ok());
  EXPECT_FALSE(DeriveTags("", {".hidden"}).ok());
  EXPECT_FALSE(DeriveTags("", {}).ok());  // no tag at all
}

TEST(DeriveTagsTest, DuplicatesRemovedInOrder) {
  EXPECT_EQ(*DeriveTags("v1.0.0", {"latest", "edge", "edge"}), (V{"v1.0.0", "v1.0", "latest", "edge"}));
}

TEST(ParseDurationTest, GoStyleDurations) {
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("90s")->count(), 90000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_FALSE(ParseDuration("1 hour").ok());
  EXPECT_FALSE(ParseDuration("h").ok());
  EXPECT_EQ(ParseDuration("1.5h")->count(), 5400000);
  EXPECT_EQ(ParseDuration("1m1ms")->count(), 60001);
  EXPECT_FALSE(ParseDuration("1.h").ok());
  EXPECT_FALSE(ParseDuration(".5h").ok());
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("5d").ok());
}

// Found while writing the imagebuild fuzz target. A number too large for a double threw
// std::out_of_range from std::stod (not a json exception, so not an InvalidSpec), one too large
// for the milliseconds converted with undefined behaviour, and a long text (the CRD's pattern for
// timeout has no length limit) overflowed the stack in std::regex, which recurses once per
// character: SIGSEGV at 100,000 characters, in a plain build too.
TEST(ParseDurationTest, HugeAndLongDurationsAreRefusedNotFatal) {
  EXPECT_FALSE(ParseDuration(std::string(400, '9') + "h").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999h").ok());
  EXPECT_EQ(ParseDuration(std::string(200000, '0') + "1s")->count(), 1000);
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "0s";
  EXPECT_EQ(ParseDuration(many)->count(), 0);
}

TEST(ParseSpecTest, ErrorsNameTheField) {
  Json spec = {{"image", "registry.example.com/org/worker:v1"},
               {"version", "v1.0.0"},
               {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
               {"platforms", Json::array({{{"platform", "linux/amd64"}}})}};
  auto r = ParseImageBuildSpec(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("spec.image"), std::string::npos) << r.status().message();
  spec["image"] = "registry.example.com/org/worker";
  spec["platforms"].push_back({{"platform", "linux/amd64"}});
  r = ParseImageBuildSpec(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("spec.platforms[1].platform"), std::string::npos) << r.status().message();
  spec["platforms"] = Json::array({{{"platform", "linux/arm64"}, {"nodeSelector", {{"kubernetes.io/arch", "amd64"}}}}});
  r = ParseImageBuildSpec(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nodeSelector"), std::string::npos);
}

TEST(ParseImageBuildSpecTest, LabelsAndAnnotationsAreTheUsersButNotTheOperatorsKeys) {
  Json spec = {{"image", "registry.example.com/org/worker"},
               {"version", "v1.0.0"},
               {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
               {"labels", {{"org.opencontainers.image.title", "worker"}}},
               {"annotations", {{"com.example.team", "platform, core"}}},
               {"platforms", Json::array({{{"platform", "linux/amd64"}}})}};
  auto r = ParseImageBuildSpec(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->labels.at("org.opencontainers.image.title"), "worker");
  EXPECT_EQ(r->annotations.at("com.example.team"), "platform, core");
  const std::vector<std::tuple<const char*, std::string, std::string, std::string>> bad = {
      {"labels", "org.opencontainers.image.revision", "x",
       "spec.labels[org.opencontainers.image.revision]: is set by the operator (from source.git.url, the resolved commit, "
       "version and the build's start); remove it"},
      {"annotations", "org.opencontainers.image.created", "x", "spec.annotations[org.opencontainers.image.created]: is set by the operator"},
      {"labels", "a=b", "x", "spec.labels[a=b]: a key must be non-empty, without spaces or '='"},
      {"annotations", "k", "two\nlines", "spec.annotations[k]: the value holds a control character (a newline?); use one line"},
  };
  for (const auto& [field, key, value, message] : bad) {
    Json s = spec;
    s[field] = {{key, value}};
    r = ParseImageBuildSpec(s);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().message().substr(0, message.size()), message);
  }
}

TEST(ParseImageBuildSpecTest, OnlyVariantsThatExistForTheArchitecture) {
  auto with = [](const std::string& platform) {
    return ParseImageBuildSpec({{"image", "registry.example.com/a"}, {"version", "v1.0.0"},
                                {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
                                {"platforms", Json::array({{{"platform", platform}}})}});
  };
  for (const char* ok : {"linux/amd64/v2", "linux/amd64/v4", "linux/arm64/v8", "linux/arm/v6", "linux/arm/v7"}) {
    EXPECT_TRUE(with(ok).ok()) << ok << ": " << with(ok).status().message();
  }
  for (const char* bad : {"linux/amd64/v6", "linux/arm64/v7", "linux/arm/v8", "linux/s390x/v2"}) {
    const auto parsed = with(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("spec.platforms[0].platform"), std::string::npos);
    EXPECT_NE(parsed.status().message().find("has no variant"), std::string::npos) << parsed.status().message();
  }
}

}  // namespace
// buildah emulates as BuildKit does (QEMU through binfmt; --manifest for several platforms): the
// rig's e2e test builds emulation: Always with buildah for real.
TEST(ParseImageBuildSpecTest, BuildahMayEmulate) {
  for (const char* emulation : {"Always", "Fallback"}) {
    const auto parsed = ParseImageBuildSpec({{"image", "registry.example.com/a"}, {"version", "v1.0.0"},
                                             {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
                                             {"builder", {{"strategy", "buildah"}}},
                                             {"emulation", emulation},
                                             {"platforms", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}})}});
    ASSERT_TRUE(parsed.ok()) << emulation << ": " << parsed.status().message();
    EXPECT_NE(parsed->emulation, Emulation::kNever);
  }
}


namespace {

using Json = nlohmann::json;

// spec.signing and spec.attestations: defaults, and what is refused with the field named.
Json MinimalSpec(const Json& extra) {
  Json spec = {{"image", "r.example.com/a"}, {"version", "v1.0.0"},
               {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
               {"platforms", Json::array({{{"platform", "linux/amd64"}}})}};
  if (extra.is_object()) spec.update(extra);  // {} reads as null
  return spec;
}

TEST(ParseSpecTest, SigningNamesASecretAndItsKeyDefaultsToCosignKey) {
  EXPECT_FALSE(ParseImageBuildSpec(MinimalSpec({}))->signing.has_value());
  auto spec = ParseImageBuildSpec(MinimalSpec({{"signing", {{"keySecretRef", {{"name", "release-key"}}}}}}));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->signing, (SigningSpec{"release-key", "cosign.key"}));
  auto keyed = ParseImageBuildSpec(MinimalSpec({{"signing", {{"keySecretRef", {{"name", "k"}, {"key", "ec.pem"}}}}}}));
  EXPECT_EQ(keyed->signing->key, "ec.pem");
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({{"signing", Json::object()}})).status().message(),
            "spec.signing.keySecretRef.name: is required: a Secret holding a PEM ECDSA P-256 private key");
  EXPECT_FALSE(ParseImageBuildSpec(MinimalSpec({{"signing", {{"keySecretRef", {{"name", "k"}, {"key", "a/b"}}}}}})).ok());
}

TEST(ParseSpecTest, ProvenanceIsMaxByDefaultMinOnRequestAndBuildKitOnly) {
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({}))->provenance, ProvenanceMode::kNone);
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({{"attestations", {{"provenance", Json::object()}}}}))->provenance,
            ProvenanceMode::kMax);
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({{"attestations", {{"provenance", {{"mode", "min"}}}}}}))->provenance,
            ProvenanceMode::kMin);
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({{"attestations", {{"provenance", {{"mode", "full"}}}}}})).status().message(),
            "spec.attestations.provenance.mode: must be min or max, not \"full\"");
  EXPECT_EQ(ParseImageBuildSpec(MinimalSpec({{"attestations", {{"provenance", Json::object()}}},
                                             {"builder", {{"strategy", "buildah"}}}}))
                .status()
                .message(),
            "spec.attestations.provenance: needs builder.strategy buildkit: buildah makes no provenance attestation");
}

}  // namespace

}  // namespace ibo::api
