// cosign's signature format: the payload's exact bytes, the layer and its annotation, the
// signature manifest and config, extending a signature manifest that other signers wrote, and
// SignManifest against a mocked registry.
#include "merge/cosign_signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base64.h"
#include "unit/merge/merge_test_support.h"
#include "unit/merge/test_keys.h"

namespace ibo::merge {
namespace {

using namespace ::ibo::merge::testing;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

const std::string kDigest = "sha256:" + std::string(64, 'a');

SigningKey Key() { return *SigningKey::FromPem(NewKeyPem(), "test key"); }

TEST(CosignSignatureTest, ThePayloadIsCosignsBytesExactly) {
  EXPECT_EQ(SimpleSigningPayload("registry.example.com:5000/team/app", kDigest),
            R"({"critical":{"identity":{"docker-reference":"registry.example.com:5000/team/app"},)"
            R"("image":{"docker-manifest-digest":"sha256:)" + std::string(64, 'a') +
                R"("},"type":"cosign container image signature"},"optional":null})");
  EXPECT_EQ(SignatureTag(kDigest), "sha256-" + std::string(64, 'a') + ".sig");
}

TEST(CosignSignatureTest, TheLayerCarriesTheBase64DerSignatureThatVerifies) {
  const SigningKey key = Key();
  const std::string payload = SimpleSigningPayload("r/app", kDigest);
  const nlohmann::json layer = SignatureLayer(payload, *key.Sign(payload));
  EXPECT_EQ(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
  EXPECT_EQ(layer["digest"], oci::Sha256Digest(payload));
  EXPECT_EQ(layer["size"], payload.size());
  const auto der = Base64Decode(layer["annotations"]["dev.cosignproject.cosign/signature"].get<std::string>());
  ASSERT_TRUE(der.ok());
  EXPECT_TRUE(OpenSslVerifies(key.PublicKeyPem(), payload, *der));
}

TEST(CosignSignatureTest, ANewSignatureManifestIsOciWithCosignsEmptyConfig) {
  const nlohmann::json layer = SignatureLayer("payload", "sig");
  auto image = ExtendSignatureImage(std::nullopt, layer);
  ASSERT_TRUE(image.ok());
  const auto doc = nlohmann::json::parse(image->manifest.bytes);
  EXPECT_EQ(image->manifest.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(doc["mediaType"], image->manifest.media_type);
  EXPECT_EQ(doc["layers"], nlohmann::json::array({layer}));
  EXPECT_EQ(doc["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(doc["config"]["digest"], oci::Sha256Digest(image->config));
  EXPECT_EQ(image->manifest.digest, oci::Sha256Digest(image->manifest.bytes));
  const auto config = nlohmann::json::parse(image->config);
  EXPECT_EQ(config["architecture"], "");
  EXPECT_EQ(config["os"], "");
  EXPECT_EQ(config["rootfs"]["diff_ids"], nlohmann::json::array({oci::Sha256Digest("payload")}));
  EXPECT_EQ(config["history"].size(), 1u);
}

TEST(CosignSignatureTest, AnExistingSignatureManifestIsExtendedAndItsLayersKept) {
  nlohmann::json theirs = SignatureLayer("their payload", "their signature");
  theirs["annotations"]["dev.sigstore.cosign/bundle"] = "{}";  // another signer's extra annotations stay
  auto first = ExtendSignatureImage(std::nullopt, theirs);
  const nlohmann::json ours = SignatureLayer("our payload", "our signature");
  auto second = ExtendSignatureImage(first->manifest, ours);
  ASSERT_TRUE(second.ok());
  const auto doc = nlohmann::json::parse(second->manifest.bytes);
  EXPECT_EQ(doc["layers"], nlohmann::json::array({theirs, ours}));
  EXPECT_EQ(nlohmann::json::parse(second->config)["rootfs"]["diff_ids"].size(), 2u);
  // The same layer again is not duplicated.
  auto third = ExtendSignatureImage(second->manifest, ours);
  EXPECT_EQ(third->manifest.bytes, second->manifest.bytes);
}

TEST(CosignSignatureTest, DockerTypesAreKeptAndWhatIsNoSignatureManifestIsLeftAlone) {
  auto oci = ExtendSignatureImage(std::nullopt, SignatureLayer("p", "s"));
  registry::Manifest docker = oci->manifest;
  docker.media_type = std::string(mt::kDockerManifest);
  auto extended = ExtendSignatureImage(docker, SignatureLayer("q", "t"));
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->manifest.media_type, mt::kDockerManifest);
  EXPECT_EQ(nlohmann::json::parse(extended->manifest.bytes)["config"]["mediaType"],
            "application/vnd.docker.container.image.v1+json");
  const registry::Manifest index = IndexOf(nlohmann::json::array());
  EXPECT_THAT(ExtendSignatureImage(index, SignatureLayer("q", "t")).status().message(),
              HasSubstr("not a signature manifest; it is left alone"));
}

TEST(CosignSignatureTest, HasSignatureByFindsOnlyThisKeysSignatureOfThisPayload) {
  const SigningKey key = Key(), other = Key();
  const std::string payload = SimpleSigningPayload("r/app", kDigest);
  auto by_other = ExtendSignatureImage(std::nullopt, SignatureLayer(payload, *other.Sign(payload)));
  EXPECT_FALSE(HasSignatureBy(by_other->manifest, payload, key));
  auto both = ExtendSignatureImage(by_other->manifest, SignatureLayer(payload, *key.Sign(payload)));
  EXPECT_TRUE(HasSignatureBy(both->manifest, payload, key));
  EXPECT_FALSE(HasSignatureBy(both->manifest, SimpleSigningPayload("r/other", kDigest), key));
}

class SignManifestTest : public ::testing::Test {
 protected:
  NiceMock<registry::MockRegistryClient> client_;
  FakeContent content_{client_};
  SigningKey key_ = Key();
};

TEST_F(SignManifestTest, PushesPayloadAndConfigThenTheManifestUnderTheSigTag) {
  auto result = SignManifest(client_, key_, "r/app", kDigest);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->pushed);
  const registry::Manifest& stored = content_.manifests.at(SignatureTag(kDigest));
  EXPECT_EQ(stored.digest, result->digest);
  const auto doc = nlohmann::json::parse(stored.bytes);
  EXPECT_EQ(content_.blobs.at(doc["layers"][0]["digest"]), SimpleSigningPayload("r/app", kDigest));
  EXPECT_TRUE(content_.blobs.count(doc["config"]["digest"]));
  // Again with the same key: the signature is there, nothing is pushed.
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto again = SignManifest(client_, key_, "r/app", kDigest);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->pushed);
  EXPECT_EQ(again->digest, result->digest);
}

TEST_F(SignManifestTest, AnotherKeysSignatureIsKept) {
  const SigningKey other = Key();
  ASSERT_TRUE(SignManifest(client_, other, "r/app", kDigest).ok());
  auto ours = SignManifest(client_, key_, "r/app", kDigest);
  ASSERT_TRUE(ours.ok());
  const registry::Manifest& stored = content_.manifests.at(SignatureTag(kDigest));
  EXPECT_EQ(nlohmann::json::parse(stored.bytes)["layers"].size(), 2u);
  EXPECT_TRUE(HasSignatureBy(stored, SimpleSigningPayload("r/app", kDigest), other));
  EXPECT_TRUE(HasSignatureBy(stored, SimpleSigningPayload("r/app", kDigest), key_));
}

TEST_F(SignManifestTest, ARegistryFailureNamesWhatWasBeingSigned) {
  ON_CALL(client_, PutBlob(_, _)).WillByDefault(Return(Status(StatusCode::kForbidden, "access denied")));
  EXPECT_CALL(client_, PutManifest(_, _)).Times(0);
  auto result = SignManifest(client_, key_, "r/app", kDigest);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("signing " + kDigest + ": pushing a blob of " + SignatureTag(kDigest)));
}

}  // namespace
}  // namespace ibo::merge
