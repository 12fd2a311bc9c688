#include "merge/signing_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/oci_digest.h"

namespace ibo::merge {

struct SigningKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// A PEM passphrase prompt must never block or guess: an encrypted key is refused.
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string WhyNotLoaded(const std::string& pem, const std::string& what) {
  // Only the PEM labels are looked at, never the key's bytes.
  if (pem.find("ENCRYPTED SIGSTORE PRIVATE KEY") != std::string::npos ||
      pem.find("ENCRYPTED COSIGN PRIVATE KEY") != std::string::npos) {
    return what + " is in cosign's encrypted format, which needs a cipher (NaCl secretbox) this operator does not "
                  "have: convert it to an unencrypted PKCS#8 PEM (see the README, spec.signing)";
  }
  if (pem.find("ENCRYPTED PRIVATE KEY") != std::string::npos || pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    return what + " is encrypted with a passphrase: store it unencrypted (openssl pkcs8 -topk8 -nocrypt)";
  }
  return what + " is not a PEM private key (expected \"BEGIN PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")";
}

StatusOr<std::string> PublicKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) return Internal("cannot encode the signing key's public key");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

StatusOr<std::string> PublicPemOf(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return Internal("cannot write the signing key's public key");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

StatusOr<SigningKey> SigningKey::FromPem(const std::string& pem, const std::string& what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return Internal("cannot read " + what);
  auto impl = std::make_shared<Impl>();
  impl->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();  // OpenSSL's queued errors may quote PEM lines; they are not passed on
  if (impl->key == nullptr) return InvalidArgument(WhyNotLoaded(pem, what));
  if (EVP_PKEY_get_base_id(impl->key) != EVP_PKEY_EC) {
    return InvalidArgument(what + " is not an ECDSA key: cosign's format needs ECDSA P-256");
  }
  char group[64] = {0};
  size_t group_length = 0;
  if (EVP_PKEY_get_utf8_string_param(impl->key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_length) != 1 ||
      std::string(group) != "prime256v1") {
    return InvalidArgument(what + " is an EC key on curve " + (group[0] ? group : "unknown") +
                           ", not P-256 (prime256v1)");
  }
  IBO_ASSIGN_OR_RETURN(std::string der, PublicKeyDer(impl->key));
  IBO_ASSIGN_OR_RETURN(std::string public_pem, PublicPemOf(impl->key));
  return SigningKey(std::move(impl), oci::Sha256Digest(der), std::move(public_pem));
}

StatusOr<std::string> SigningKey::Sign(std::string_view payload) const {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(payload.data()),
                     payload.size()) != 1) {
    ERR_clear_error();
    return Internal("ECDSA signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) != 1) {
    ERR_clear_error();
    return Internal("ECDSA signing failed");
  }
  signature.resize(length);  // DER signatures vary in length
  return signature;
}

bool SigningKey::Verify(std::string_view payload, std::string_view der_signature) const {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_signature.data()),
                                   der_signature.size(), reinterpret_cast<const unsigned char*>(payload.data()),
                                   payload.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace ibo::merge
