// cosign's signature format (a simple-signing payload as a layer of the manifest tagged
// sha256-<hex>.sig): pure format functions, and SignManifest, the registry I/O around them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "merge/signing_key.h"
#include "registry/registry_client.h"

namespace ibo::merge {

inline constexpr const char* kSimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr const char* kCosignSignatureAnnotation = "dev.cosignproject.cosign/signature";

// "sha256-<hex>.sig": where cosign (and containers/image with use-sigstore-attachments) looks.
std::string SignatureTag(const std::string& digest);
// The payload bytes, exactly as cosign writes them (its Go struct order, "optional":null):
// {"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":null}
std::string SimpleSigningPayload(const std::string& docker_reference, const std::string& digest);
// The layer descriptor of a payload and its DER signature (base64 in the annotation).
nlohmann::json SignatureLayer(const std::string& payload, const std::string& der_signature);

// The signature image to push: its manifest and its config blob.
struct SignatureImage {
  registry::Manifest manifest;
  std::string config;
};

// The signature manifest with `layer` appended to the layers of `existing` (the manifest now at
// the signature tag, if any), which are kept as they are: other signers' signatures stay. The
// config is cosign's: empty platform, one diff_id and history entry per layer.
StatusOr<SignatureImage> ExtendSignatureImage(const std::optional<registry::Manifest>& existing,
                                              const nlohmann::json& layer);
// Whether a layer of the existing signature manifest already signs `payload` under `key`: then
// signing again would only add a duplicate (ECDSA signatures differ each time).
bool HasSignatureBy(const registry::Manifest& existing, const std::string& payload, const SigningKey& key);

struct SignatureResult {
  std::string digest;  // of the signature manifest
  bool pushed = false;  // false: an existing layer already held this key's signature
};

// Signs `digest` for `docker_reference` and stores the signature in the registry: payload and
// config blobs first, then the manifest under SignatureTag(digest).
StatusOr<SignatureResult> SignManifest(registry::RegistryClient& client, const SigningKey& key,
                                       const std::string& docker_reference, const std::string& digest);

}  // namespace ibo::merge
