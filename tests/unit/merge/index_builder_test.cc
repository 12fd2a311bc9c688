#include "merge/index_builder.h"

#include <gtest/gtest.h>

#include "unit/merge/merge_test_support.h"

namespace ibo::merge {
namespace {

using namespace ::ibo::merge::testing;

oci::Platform P(const char* text) { return *oci::ParsePlatform(text); }

TEST(PlatformFromConfig, TakesOsArchitectureVariantAndWindowsFields) {
  auto p = PlatformFromConfig(
      R"({"os":"windows","architecture":"amd64","os.version":"10.0.17763.1","os.features":["win32k"]})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->os_version, "10.0.17763.1");
  EXPECT_EQ(p->os_features, std::vector<std::string>{"win32k"});
  EXPECT_EQ(PlatformFromConfig(ConfigBytes("arm", "v7"))->ToString(), "linux/arm/v7");
  EXPECT_FALSE(PlatformFromConfig(R"({"_type":"https://in-toto.io/Statement/v0.1"})").ok());
  EXPECT_FALSE(PlatformFromConfig("not json").ok());
}

TEST(ImageDescriptor, KeepsMediaTypeSizeDigestAndConfigPlatform) {
  const auto image = ImageManifest(ConfigBytes("arm64", "v8"), mt::kDockerManifest);
  oci::Platform platform = P("linux/arm64/v8");
  platform.os_version = "1";
  const auto d = ImageDescriptor(image, platform);
  EXPECT_EQ(d["mediaType"], mt::kDockerManifest);
  EXPECT_EQ(d["size"], image.bytes.size());
  EXPECT_EQ(d["digest"], image.digest);
  EXPECT_EQ(d["platform"], (nlohmann::json{{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"},
                                           {"os.version", "1"}}));
}

TEST(SelectPlatform, NormalisedMatchAndItsAttestationsOnly) {
  const auto amd = ImageManifest(ConfigBytes("amd64"));
  const auto arm = ImageManifest(ConfigBytes("arm64"));
  const auto amd_att = ImageManifest("{}"), arm_att = ImageManifest("{ }");
  const auto index = IndexOf({Entry(amd, "linux", "amd64"), Entry(arm, "linux", "arm64", "v8"),
                              AttestationEntry(amd_att, amd.digest), AttestationEntry(arm_att, arm.digest)});
  auto selected = SelectPlatform(index, P("linux/arm64"));
  ASSERT_TRUE(selected.ok()) << selected.status().message();
  EXPECT_EQ(selected->descriptor["digest"], arm.digest);
  ASSERT_EQ(selected->attestations.size(), 1u);
  EXPECT_EQ(selected->attestations[0]["digest"], arm_att.digest);

  auto missing = SelectPlatform(index, P("linux/s390x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "index " + index.digest + " has no manifest for linux/s390x (it has: linux/amd64, linux/arm64/v8)");
}

TEST(BuildIndex, DeterministicWhateverTheInputOrder) {
  const auto amd = ImageManifest(ConfigBytes("amd64"));
  const auto arm = ImageManifest(ConfigBytes("arm64"));
  PlatformImage a{P("linux/amd64"), ImageDescriptor(amd, P("linux/amd64")), {}};
  PlatformImage b{P("linux/arm64"), ImageDescriptor(arm, P("linux/arm64")), {}};
  const auto one = BuildIndex({a, b});
  const auto two = BuildIndex({b, a});
  EXPECT_EQ(one.bytes, two.bytes);
  EXPECT_EQ(one.digest, oci::Sha256Digest(one.bytes));
  EXPECT_EQ(one.media_type, mt::kOciIndex);
  const auto doc = nlohmann::json::parse(one.bytes);
  EXPECT_EQ(doc["schemaVersion"], 2);
  EXPECT_EQ(doc["mediaType"], mt::kOciIndex);
  ASSERT_EQ(doc["manifests"].size(), 2u);
  EXPECT_EQ(doc["manifests"][0]["digest"], amd.digest);
  EXPECT_EQ(doc["manifests"][1]["digest"], arm.digest);
}

TEST(BuildIndex, AlwaysAnOciIndexWithItsAnnotationsAlsoOfDockerSchema2Images) {
  const auto amd = ImageManifest(ConfigBytes("amd64"), mt::kDockerManifest);
  const auto arm = ImageManifest(ConfigBytes("arm64"), mt::kDockerManifest);
  PlatformImage a{P("linux/amd64"), ImageDescriptor(amd, P("linux/amd64")), {}};
  PlatformImage b{P("linux/arm64"), ImageDescriptor(arm, P("linux/arm64")), {}};
  const auto index = BuildIndex({a, b}, {{"org.opencontainers.image.version", "v1.4.2"}});
  EXPECT_EQ(index.media_type, mt::kOciIndex);
  const auto doc = nlohmann::json::parse(index.bytes);
  EXPECT_EQ(doc["mediaType"], mt::kOciIndex);
  EXPECT_EQ(doc["manifests"][0]["mediaType"], mt::kDockerManifest);
  EXPECT_EQ(IndexAnnotation(index.bytes, "org.opencontainers.image.version"), "v1.4.2");
  EXPECT_FALSE(nlohmann::json::parse(BuildIndex({a, b}).bytes).contains("annotations"));
  EXPECT_EQ(IndexAnnotation(amd.bytes, "org.opencontainers.image.version"), "");  // not an index
  EXPECT_EQ(IndexAnnotation("not json", "x"), "");
}

TEST(BuildIndex, AttestationsFollowTheImages) {
  const auto amd = ImageManifest(ConfigBytes("amd64"));
  const auto arm = ImageManifest(ConfigBytes("arm64"));
  const auto att = ImageManifest("{}");
  PlatformImage a{P("linux/amd64"), ImageDescriptor(amd, P("linux/amd64")), {AttestationEntry(att, amd.digest)}};
  PlatformImage b{P("linux/arm64"), ImageDescriptor(arm, P("linux/arm64")), {}};
  const auto doc = nlohmann::json::parse(BuildIndex({a, b}).bytes);
  ASSERT_EQ(doc["manifests"].size(), 3u);
  EXPECT_EQ(doc["manifests"][2], AttestationEntry(att, amd.digest));
}

// Issue 12 part 5: registry documents are parsed under the depth cap; a deep one is refused
// naming the document and the limit, never parsed (nlohmann's walks recurse per level).
TEST(IndexBuilderDepth, ADeepRegistryDocumentIsRefusedNamingTheLimit) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto p = PlatformFromConfig(R"({"os":"linux","architecture":"amd64","x":)" + deep + "}");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "image config: JSON nested deeper than 64 levels (byte 104)");
  registry::Manifest index;
  index.digest = "sha256:" + std::string(64, 'a');
  index.bytes = R"({"manifests":)" + deep + "}";
  auto s = SelectPlatform(index, P("linux/amd64"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "index " + index.digest + ": JSON nested deeper than 64 levels (byte 76)");
  EXPECT_EQ(IndexAnnotation(index.bytes, "org.opencontainers.image.version"), "");
}

}  // namespace
}  // namespace ibo::merge
