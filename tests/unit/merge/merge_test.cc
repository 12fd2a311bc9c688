#include "merge/merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "merge/cosign_signature.h"
#include "unit/merge/merge_test_support.h"
#include "unit/merge/test_keys.h"

namespace ibo::merge {
namespace {

using namespace ::ibo::merge::testing;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;

oci::Platform P(const char* text) { return *oci::ParsePlatform(text); }

class MergeTest : public ::testing::Test {
 protected:
  NiceMock<registry::MockRegistryClient> client_;
  FakeContent content_{client_};
};

TEST_F(MergeTest, TwoPlatformsPushedUnderEveryTagAndReadBack) {
  const auto amd = content_.AddImage("amd64");
  const auto arm = content_.AddImage("arm64", "v8");
  auto result = Merge(client_, {{{P("linux/amd64"), amd.digest}, {P("linux/arm64/v8"), arm.digest}},
                                {"v1.4.2", "v1.4", "latest"}});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->tags_updated, (std::vector<std::string>{"v1.4.2", "v1.4", "latest"}));
  for (const char* tag : {"v1.4.2", "v1.4", "latest"}) EXPECT_EQ(content_.manifests.at(tag).digest, result->index.digest);
  const auto doc = nlohmann::json::parse(result->index.bytes);
  EXPECT_EQ(doc["manifests"][1]["platform"]["variant"], "v8");
  EXPECT_EQ(doc["manifests"][1]["size"], arm.bytes.size());
}

TEST_F(MergeTest, RerunYieldsTheSameDigestAndPushesNothing) {
  const auto amd = content_.AddImage("amd64");
  const MergeRequest request{{{P("linux/amd64"), amd.digest}}, {"latest"}};
  auto first = Merge(client_, request);
  ASSERT_TRUE(first.ok());
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto second = Merge(client_, request);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->index.digest, first->index.digest);
  EXPECT_EQ(second->tags_unchanged, std::vector<std::string>{"latest"});
}

TEST_F(MergeTest, WrongArchitectureIsRefusedAndNothingPushed) {
  const auto amd = content_.AddImage("amd64");
  const auto built_as_amd = content_.AddImage("amd64", "", mt::kDockerManifest);
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto result = Merge(client_, {{{P("linux/amd64"), amd.digest}, {P("linux/arm64"), built_as_amd.digest}}, {"v1"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "platform linux/arm64: manifest " + built_as_amd.digest +
                                           " is built for linux/amd64, not linux/arm64");
}

TEST_F(MergeTest, MissingDigestNamesPlatformAndDigest) {
  const auto amd = content_.AddImage("amd64");
  const std::string missing = "sha256:" + std::string(64, 'e');
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto result = Merge(client_, {{{P("linux/amd64"), amd.digest}, {P("linux/arm64"), missing}}, {"v1"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("platform linux/arm64: manifest " + missing));
}

TEST_F(MergeTest, AliasesOfTheDeclaredPlatformAreAccepted) {
  const auto arm = content_.AddImage("arm", "v7");
  const auto arm64 = content_.AddImage("aarch64");
  auto result = Merge(client_, {{{P("linux/arm"), arm.digest}, {P("linux/arm64/v8"), arm64.digest}}, {"v1"}});
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(MergeTest, BuildKitIndexInputKeepsItsAttestation) {
  const auto amd = content_.AddImage("amd64");
  const auto att = content_.Add(ImageManifest("{}"));
  const auto buildkit = content_.Add(IndexOf({Entry(amd, "linux", "amd64"), AttestationEntry(att, amd.digest)}));
  const auto arm = content_.AddImage("arm64");
  auto result = Merge(client_, {{{P("linux/amd64"), buildkit.digest}, {P("linux/arm64"), arm.digest}}, {"v1"}});
  ASSERT_TRUE(result.ok()) << result.status().message();
  const auto doc = nlohmann::json::parse(result->index.bytes);
  ASSERT_EQ(doc["manifests"].size(), 3u);
  EXPECT_EQ(doc["manifests"][0]["digest"], amd.digest);
  EXPECT_EQ(doc["manifests"][1]["digest"], arm.digest);
  EXPECT_EQ(doc["manifests"][2], AttestationEntry(att, amd.digest));
}

TEST_F(MergeTest, OneIndexNamedForSeveralPlatformsIsFetchedOnceAndReindexed) {
  const auto amd = content_.AddImage("amd64");
  const auto arm = content_.AddImage("arm64");
  const auto emulated = content_.Add(IndexOf({Entry(amd, "linux", "amd64"), Entry(arm, "linux", "arm64")}));
  EXPECT_CALL(client_, GetManifest(_)).Times(::testing::AnyNumber());
  EXPECT_CALL(client_, GetManifest(emulated.digest)).Times(1);
  auto result = Merge(client_, {{{P("linux/arm64"), emulated.digest}, {P("linux/amd64"), emulated.digest}}, {"v1"}});
  ASSERT_TRUE(result.ok()) << result.status().message();
  const auto doc = nlohmann::json::parse(result->index.bytes);
  ASSERT_EQ(doc["manifests"].size(), 2u);
  EXPECT_EQ(doc["manifests"][0]["digest"], amd.digest);
  EXPECT_EQ(doc["manifests"][1]["digest"], arm.digest);
}

// Found writing the manifest fuzz target: an index entry whose digest is not a string threw
// type_error from value() inside the verifying std::async, which ended the merge process.
TEST_F(MergeTest, IndexEntryWhoseDigestIsNotAStringIsRefused) {
  const auto amd = content_.AddImage("amd64");
  nlohmann::json entry = Entry(amd, "linux", "amd64");
  entry["digest"] = 5;
  const auto index = content_.Add(IndexOf(nlohmann::json::array({entry})));
  auto result = Merge(client_, {{{P("linux/amd64"), index.digest}}, {"v1"}});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("has an entry with an invalid digest"), std::string::npos)
      << result.status().message();
}

TEST_F(MergeTest, IndexEntryWhoseConfigDisagreesIsRefused) {
  const auto amd = content_.AddImage("amd64");
  const auto liar = content_.Add(IndexOf(nlohmann::json::array({Entry(amd, "linux", "arm64")})));
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto result = Merge(client_, {{{P("linux/arm64"), liar.digest}}, {"v1"}});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("platform linux/arm64: manifest " + amd.digest +
                                                   " is built for linux/amd64"));
}

TEST_F(MergeTest, UnreachableRegistryStopsBeforeAnyFetch) {
  ON_CALL(client_, Ping()).WillByDefault(::testing::Return(Unavailable("registry r is unreachable: refused")));
  EXPECT_CALL(client_, GetManifest(_)).Times(0);
  auto result = Merge(client_, {{{P("linux/amd64"), "sha256:" + std::string(64, 'a')}}, {"v1"}});
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
}

TEST(ValidateRequest, RefusesDuplicatePlatformsBadTagsAndDigests) {
  const std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_TRUE(ValidateRequest({{{P("linux/amd64"), d}}, {"v1"}}).ok());
  EXPECT_THAT(ValidateRequest({{{P("linux/arm64"), d}, {P("linux/arm64/v8"), d}}, {"v1"}}).message(),
              HasSubstr("linux/arm64/v8 is given more than once"));
  EXPECT_THAT(ValidateRequest({{{P("linux/amd64"), d}}, {"-bad"}}).message(), HasSubstr("tag \"-bad\""));
  EXPECT_THAT(ValidateRequest({{{P("linux/amd64"), "sha256:x"}}, {"v1"}}).message(), HasSubstr("platform linux/amd64"));
  EXPECT_FALSE(ValidateRequest({{}, {"v1"}}).ok());
  EXPECT_FALSE(ValidateRequest({{{P("linux/amd64"), d}}, {}}).ok());
}

// Floating tags never move backwards: each is judged by the version its current index names.
MergeRequest Release(const std::string& digest, const std::string& version, std::vector<std::string> floating) {
  MergeRequest r{{{P("linux/amd64"), digest}}, {version}};
  r.floating_tags = std::move(floating);
  r.version = version;
  r.annotations = {{kVersionAnnotation, version}};
  return r;
}

TEST_F(MergeTest, AFloatingTagMovesOnlyToAnEqualOrHigherVersion) {
  const auto amd = content_.AddImage("amd64");
  auto newer = Merge(client_, Release(amd.digest, "v1.4.2", {"v1", "latest"}));
  ASSERT_TRUE(newer.ok()) << newer.status().message();
  const auto arm = content_.AddImage("arm64");
  MergeRequest older = Release(arm.digest, "v1.3.9", {"v1.3", "v1", "latest"});
  older.inputs = {{P("linux/arm64"), arm.digest}};
  auto result = Merge(client_, older);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(content_.manifests.at("latest").digest, newer->index.digest);  // held
  EXPECT_EQ(content_.manifests.at("v1").digest, newer->index.digest);
  EXPECT_EQ(content_.manifests.at("v1.3").digest, result->index.digest);  // it held nothing
  EXPECT_EQ(content_.manifests.at("v1.3.9").digest, result->index.digest);
  ASSERT_EQ(result->report.held.size(), 2u);
  EXPECT_EQ(result->report.held[1].tag, "latest");
  EXPECT_EQ(result->report.held[1].reason, "holds v1.4.2, newer than v1.3.9");
  // An equal version moves them: a security rebuild of the same release.
  MergeRequest same = Release(arm.digest, "v1.4.2", {"v1", "latest"});
  same.inputs = {{P("linux/arm64"), arm.digest}};
  auto rebuild = Merge(client_, same);
  ASSERT_TRUE(rebuild.ok());
  EXPECT_TRUE(rebuild->report.held.empty());
  EXPECT_EQ(content_.manifests.at("latest").digest, rebuild->index.digest);
}

TEST_F(MergeTest, ATagOnAnIndexWithoutAVersionIsMovedAndSaidSo) {
  const auto amd = content_.AddImage("amd64");
  auto old = Merge(client_, {{{P("linux/amd64"), amd.digest}}, {"latest"}});  // as pushed before versions
  ASSERT_TRUE(old.ok());
  auto result = Merge(client_, Release(amd.digest, "v0.1.0", {"latest"}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->report.unversioned, std::vector<std::string>{"latest"});
  EXPECT_EQ(content_.manifests.at("latest").digest, result->index.digest);
}

TEST_F(MergeTest, APrereleaseMovesNoFloatingTagAndFloatingTagsNeedAVersion) {
  const auto amd = content_.AddImage("amd64");
  auto result = Merge(client_, Release(amd.digest, "v2.0.0-rc.1", {"latest"}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(content_.manifests.count("latest"), 0u);
  ASSERT_EQ(result->report.held.size(), 1u);
  EXPECT_THAT(result->report.held[0].reason, HasSubstr("prerelease"));
  MergeRequest unversioned = Release(amd.digest, "", {"latest"});
  EXPECT_THAT(Merge(client_, unversioned).status().message(), HasSubstr("--floating-tag needs --version"));
}

// Signing: every manifest of the index and the index are signed, after every check and before
// any tag; a rerun signs nothing again; a signing failure pushes no tag.
MergeRequest Signed(MergeRequest r, std::shared_ptr<const SigningKey> key) {
  r.signing_key = std::move(key);
  r.docker_reference = "r/app";
  return r;
}

TEST_F(MergeTest, ASignedMergeSignsEveryManifestAndTheIndexBeforeAnyTag) {
  const auto key = std::make_shared<const SigningKey>(*SigningKey::FromPem(NewKeyPem(), "test key"));
  const auto amd = content_.AddImage("amd64");
  const auto att = content_.Add(ImageManifest("{}"));
  const auto buildkit = content_.Add(IndexOf({Entry(amd, "linux", "amd64"), AttestationEntry(att, amd.digest)}));
  const auto arm = content_.AddImage("arm64");
  const MergeRequest request =
      Signed({{{P("linux/amd64"), buildkit.digest}, {P("linux/arm64"), arm.digest}}, {"v1", "latest"}}, key);
  auto result = Merge(client_, request);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->signatures_pushed, 4);
  for (const auto& d : {amd.digest, arm.digest, att.digest, result->index.digest}) {
    ASSERT_TRUE(content_.manifests.count(SignatureTag(d))) << d;
    EXPECT_TRUE(HasSignatureBy(content_.manifests.at(SignatureTag(d)), SimpleSigningPayload("r/app", d), *key));
  }
  EXPECT_EQ(result->report.signature_digest, content_.manifests.at(SignatureTag(result->index.digest)).digest);
  EXPECT_EQ(result->report.key_fingerprint, key->Fingerprint());
  // The index's signature is the last signature pushed, and the first tag comes after it.
  const auto& order = content_.pushed;
  const auto index_sig = std::find(order.begin(), order.end(), SignatureTag(result->index.digest));
  ASSERT_NE(index_sig, order.end());
  EXPECT_EQ(std::distance(order.begin(), index_sig), 3);
  EXPECT_EQ(order.size(), 6u);

  auto rerun = Merge(client_, request);
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->signatures_pushed, 0);
  EXPECT_EQ(rerun->report.signature_digest, result->report.signature_digest);
}

TEST_F(MergeTest, ASigningFailureFailsTheMergeAndPushesNoTag) {
  const auto key = std::make_shared<const SigningKey>(*SigningKey::FromPem(NewKeyPem(), "test key"));
  const auto amd = content_.AddImage("amd64");
  ON_CALL(client_, PutBlob(_, _)).WillByDefault(::testing::Return(Status(StatusCode::kForbidden, "denied")));
  auto result = Merge(client_, Signed({{{P("linux/amd64"), amd.digest}}, {"v1"}}, key));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("signing " + amd.digest));
  EXPECT_EQ(content_.manifests.count("v1"), 0u);
}

TEST_F(MergeTest, AFailedCheckSignsNothing) {
  const auto key = std::make_shared<const SigningKey>(*SigningKey::FromPem(NewKeyPem(), "test key"));
  const auto amd = content_.AddImage("amd64");
  EXPECT_CALL(client_, PutBlob(_, _)).Times(0);
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  EXPECT_FALSE(Merge(client_, Signed({{{P("linux/arm64"), amd.digest}}, {"v1"}}, key)).ok());
}

}  // namespace
}  // namespace ibo::merge
