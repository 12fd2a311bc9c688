#include "common/oci_digest.h"

#include <gtest/gtest.h>

namespace ibo::oci {
namespace {

const std::string kEmptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Sha256Digest, OfKnownBytes) {
  EXPECT_EQ(Sha256Digest(""), kEmptySha256);
  EXPECT_EQ(Sha256Digest("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(VerifyDigest, Sha256AndSha512) {
  EXPECT_TRUE(VerifyDigest(kEmptySha256, "", "blob").ok());
  EXPECT_TRUE(VerifyDigest("sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a"
                           "836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                           "abc", "blob")
                  .ok());
}

TEST(VerifyDigest, NamesWhatDoesNotMatch) {
  Status wrong = VerifyDigest(kEmptySha256, "x", "manifest r/a@sha256:e3b0");
  EXPECT_EQ(wrong.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(wrong.message(), "manifest r/a@sha256:e3b0: content does not match its digest (got " + Sha256Digest("x") + ")");
  Status unsupported = VerifyDigest("md5:abc", "x", "blob");
  EXPECT_EQ(unsupported.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unsupported.message(), "blob: unsupported digest algorithm in md5:abc");
}

}  // namespace
}  // namespace ibo::oci
