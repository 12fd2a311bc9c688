// The signing key: the PEM forms accepted, the keys refused with a message that names the fix and
// never the key, signatures that OpenSSL verifies on its own, and the public fingerprint.
#include "merge/signing_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/merge/test_keys.h"

namespace ibo::merge {
namespace {

using namespace ::ibo::merge::testing;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SigningKeyTest, Pkcs8AndSec1P256KeysLoadAndSignWhatOpenSslVerifies) {
  for (PemForm form : {PemForm::kPkcs8, PemForm::kSec1}) {
    const std::string pem = NewKeyPem("P-256", form);
    auto key = SigningKey::FromPem(pem, "test key");
    ASSERT_TRUE(key.ok()) << key.status().message();
    const std::string payload = R"({"critical":{}})";
    auto signature = key->Sign(payload);
    ASSERT_TRUE(signature.ok());
    EXPECT_EQ(static_cast<unsigned char>((*signature)[0]), 0x30) << "an ASN.1 DER SEQUENCE";
    EXPECT_TRUE(OpenSslVerifies(key->PublicKeyPem(), payload, *signature));
    EXPECT_FALSE(OpenSslVerifies(key->PublicKeyPem(), payload + " ", *signature));
    EXPECT_TRUE(key->Verify(payload, *signature));
    EXPECT_FALSE(key->Verify("other", *signature));
  }
}

TEST(SigningKeyTest, TheFingerprintIsTheSha256OfThePublicKeyDer) {
  auto key = SigningKey::FromPem(NewKeyPem(), "test key");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->Fingerprint(), SpkiSha256(key->PublicKeyPem()));
  EXPECT_THAT(key->PublicKeyPem(), HasSubstr("-----BEGIN PUBLIC KEY-----"));
  auto other = SigningKey::FromPem(NewKeyPem(), "test key");
  EXPECT_NE(other->Fingerprint(), key->Fingerprint());
}

TEST(SigningKeyTest, KeysOfAnotherKindOrCurveAreRefusedByName) {
  EXPECT_THAT(SigningKey::FromPem(NewKeyPem("P-384"), "k").status().message(),
              HasSubstr("curve secp384r1, not P-256"));
  EXPECT_THAT(SigningKey::FromPem(NewKeyPem("RSA"), "k").status().message(), HasSubstr("not an ECDSA key"));
}

TEST(SigningKeyTest, EncryptedAndUnreadableKeysSayWhatToDoAndQuoteNothingOfTheKey) {
  const std::string encrypted = NewKeyPem("P-256", PemForm::kPkcs8Encrypted);
  const std::string cosign =
      "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n"
      "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  const std::string garbage = "not a key at all: c2VjcmV0";
  const auto message = [](const std::string& pem) {
    return SigningKey::FromPem(pem, "--signing-key /k").status().message();
  };
  EXPECT_THAT(message(encrypted), HasSubstr("encrypted with a passphrase"));
  EXPECT_THAT(message(cosign), HasSubstr("cosign's encrypted format"));
  EXPECT_THAT(message(cosign), HasSubstr("convert it to an unencrypted PKCS#8 PEM"));
  EXPECT_THAT(message(garbage), HasSubstr("--signing-key /k is not a PEM private key"));
  for (const std::string& secret : {std::string("eyJrZGYi"), std::string("c2VjcmV0"), encrypted.substr(40, 20)}) {
    for (const std::string& pem : {encrypted, cosign, garbage}) EXPECT_THAT(message(pem), Not(HasSubstr(secret)));
  }
}

}  // namespace
}  // namespace ibo::merge
