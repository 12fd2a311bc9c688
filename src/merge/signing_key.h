// The merge's signing key (PEM ECDSA P-256, PKCS#8 or SEC1): DER ECDSA-SHA256 signatures as cosign
// writes them, and its public fingerprint. No error or accessor ever carries the private key.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo::merge {

class SigningKey {
 public:
  // `what` names the key's source in errors (e.g. "--signing-key /etc/ibo/signing/cosign.key").
  static StatusOr<SigningKey> FromPem(const std::string& pem, const std::string& what);

  // ECDSA-SHA256 over the bytes, DER-encoded (the form cosign and containers/image verify).
  StatusOr<std::string> Sign(std::string_view payload) const;
  // Whether a DER signature over the bytes verifies under this key's public half.
  bool Verify(std::string_view payload, std::string_view der_signature) const;
  // "sha256:<hex>" of the public key's DER SubjectPublicKeyInfo (what
  // `openssl pkey -pubin -in cosign.pub -outform DER | sha256sum` prints).
  const std::string& Fingerprint() const { return fingerprint_; }
  // The public key as PEM ("PUBLIC KEY"), e.g. cosign.pub.
  const std::string& PublicKeyPem() const { return public_pem_; }

 private:
  struct Impl;
  explicit SigningKey(std::shared_ptr<const Impl> impl, std::string fingerprint, std::string public_pem)
      : impl_(std::move(impl)), fingerprint_(std::move(fingerprint)), public_pem_(std::move(public_pem)) {}

  std::shared_ptr<const Impl> impl_;
  std::string fingerprint_;
  std::string public_pem_;
};

}  // namespace ibo::merge
