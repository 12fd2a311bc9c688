#include "common/oci_digest.h"

#include <openssl/evp.h>

namespace ibo::oci {
namespace {

std::string HexDigest(const EVP_MD* md, std::string_view bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return hex;
}

}  // namespace

std::string Sha256Digest(std::string_view bytes) { return "sha256:" + HexDigest(EVP_sha256(), bytes); }

Status VerifyDigest(std::string_view digest, std::string_view bytes, const std::string& what) {
  std::string actual;
  if (digest.starts_with("sha256:")) {
    actual = "sha256:" + HexDigest(EVP_sha256(), bytes);
  } else if (digest.starts_with("sha512:")) {
    actual = "sha512:" + HexDigest(EVP_sha512(), bytes);
  } else {
    return InvalidArgument(what + ": unsupported digest algorithm in " + std::string(digest));
  }
  if (actual != digest) {
    return FailedPrecondition(what + ": content does not match its digest (got " + actual + ")");
  }
  return Status::Ok();
}

}  // namespace ibo::oci
