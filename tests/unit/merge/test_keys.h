// EC keys made with OpenSSL for the signing tests, as PEM, and an OpenSSL verification of a
// signature that does not go through merge::SigningKey.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

namespace ibo::merge::testing {

enum class PemForm { kPkcs8, kSec1, kPkcs8Encrypted };

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

// A fresh private key; `kind` is a curve name for EVP_PKEY_Q_keygen ("P-256", "P-384") or "RSA".
inline std::string NewKeyPem(const char* kind = "P-256", PemForm form = PemForm::kPkcs8) {
  EVP_PKEY* key = std::string(kind) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  char passphrase[] = "test-passphrase";
  switch (form) {
    case PemForm::kPkcs8: PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr); break;
    case PemForm::kSec1: PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr); break;
    case PemForm::kPkcs8Encrypted:
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase, sizeof passphrase - 1, nullptr,
                                    nullptr);
      break;
  }
  EVP_PKEY_free(key);
  return BioText(bio.get());
}

// Verifies a DER ECDSA-SHA256 signature with a public key PEM, through OpenSSL alone.
inline bool OpenSslVerifies(const std::string& public_pem, const std::string& payload, const std::string& der) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                   reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

// sha256:<hex> of the DER SubjectPublicKeyInfo of a public key PEM, through OpenSSL alone.
inline std::string SpkiSha256(const std::string& public_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  unsigned char md[32];
  unsigned int md_length = 0;
  EVP_Digest(der, static_cast<size_t>(length), md, &md_length, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < md_length; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
  return out;
}

}  // namespace ibo::merge::testing
