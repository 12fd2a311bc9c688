#include "merge/cosign_signature.h"

#include <initializer_list>

#include "common/base64.h"
#include "common/oci_digest.h"
#include "common/oci_media_types.h"

namespace ibo::merge {
namespace {

namespace mt = oci::media_type;

constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";  // go-containerregistry's empty image

std::string StringOr(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// cosign's empty image, with a diff_id (the layer is not compressed: its digest) and an empty
// history entry per layer, as go-containerregistry's mutate.Append writes them.
std::string SignatureConfig(const nlohmann::json& layers) {
  nlohmann::json diff_ids = nlohmann::json::array();
  nlohmann::json history = nlohmann::json::array();
  for (const auto& layer : layers) {
    diff_ids.push_back(StringOr(layer, "digest"));
    history.push_back({{"created", kZeroTime}});
  }
  nlohmann::json config = {{"architecture", ""}, {"config", nlohmann::json::object()}, {"created", kZeroTime},
                           {"history", history},  {"os", ""}, {"rootfs", {{"diff_ids", diff_ids}, {"type", "layers"}}}};
  return config.dump();
}

// The layers of an existing signature manifest; an error when the tag holds something else.
StatusOr<nlohmann::json> ExistingLayers(const registry::Manifest& existing) {
  const std::string where = "the signature tag's manifest " + existing.digest;
  if (!mt::IsImageManifest(existing.media_type)) {
    return FailedPrecondition(where + " is " + (existing.media_type.empty() ? "of no known type" : existing.media_type) +
                              ", not a signature manifest; it is left alone and nothing is signed");
  }
  const auto doc = nlohmann::json::parse(existing.bytes, nullptr, false);
  if (!doc.is_object() || !doc.contains("layers") || !doc["layers"].is_array()) {
    return FailedPrecondition(where + " has no layers list; it is left alone and nothing is signed");
  }
  return doc["layers"];
}

}  // namespace

std::string SignatureTag(const std::string& digest) {
  std::string tag = digest;
  if (const auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag + ".sig";
}

std::string SimpleSigningPayload(const std::string& docker_reference, const std::string& digest) {
  // Written by hand, not by a JSON library: the bytes are what is signed, in cosign's field
  // order. Both strings are checked OCI grammar (no quotes or backslashes), dumped anyway.
  const auto quoted = [](const std::string& s) { return nlohmann::json(s).dump(); };
  return R"({"critical":{"identity":{"docker-reference":)" + quoted(docker_reference) +
         R"(},"image":{"docker-manifest-digest":)" + quoted(digest) +
         R"(},"type":"cosign container image signature"},"optional":null})";
}

nlohmann::json SignatureLayer(const std::string& payload, const std::string& der_signature) {
  return {{"mediaType", kSimpleSigningMediaType},
          {"size", payload.size()},
          {"digest", oci::Sha256Digest(payload)},
          {"annotations", {{kCosignSignatureAnnotation, Base64Encode(der_signature)}}}};
}

StatusOr<SignatureImage> ExtendSignatureImage(const std::optional<registry::Manifest>& existing,
                                              const nlohmann::json& layer) {
  nlohmann::json layers = nlohmann::json::array();
  std::string media_type(mt::kOciManifest);
  if (existing) {
    IBO_ASSIGN_OR_RETURN(layers, ExistingLayers(*existing));
    media_type = existing->media_type;  // cosign writes Docker types when asked to; keep them
  }
  if (std::find(layers.begin(), layers.end(), layer) == layers.end()) layers.push_back(layer);
  SignatureImage image;
  image.config = SignatureConfig(layers);
  const nlohmann::json config_descriptor = {
      {"mediaType", media_type == mt::kDockerManifest ? kDockerConfig : kOciConfig},
      {"size", image.config.size()},
      {"digest", oci::Sha256Digest(image.config)}};
  const nlohmann::json doc = {
      {"schemaVersion", 2}, {"mediaType", media_type}, {"config", config_descriptor}, {"layers", layers}};
  image.manifest.media_type = media_type;
  image.manifest.bytes = doc.dump();
  image.manifest.digest = oci::Sha256Digest(image.manifest.bytes);
  return image;
}

bool HasSignatureBy(const registry::Manifest& existing, const std::string& payload, const SigningKey& key) {
  const auto layers = ExistingLayers(existing);
  if (!layers.ok()) return false;
  const std::string payload_digest = oci::Sha256Digest(payload);
  for (const auto& layer : *layers) {
    if (!layer.is_object() || StringOr(layer, "mediaType") != kSimpleSigningMediaType ||
        StringOr(layer, "digest") != payload_digest || !layer.contains("annotations") ||
        !layer["annotations"].is_object()) {
      continue;
    }
    const auto signature = Base64Decode(StringOr(layer["annotations"], kCosignSignatureAnnotation));
    if (signature.ok() && key.Verify(payload, *signature)) return true;
  }
  return false;
}

StatusOr<SignatureResult> SignManifest(registry::RegistryClient& client, const SigningKey& key,
                                       const std::string& docker_reference, const std::string& digest) {
  const std::string tag = SignatureTag(digest);
  const std::string what = "signing " + digest;
  std::optional<registry::Manifest> existing;
  if (auto current = client.GetManifest(tag); current.ok()) {
    existing = std::move(*current);
  } else if (current.status().code() != StatusCode::kNotFound) {
    return current.status().Annotate(what + ": reading " + tag);
  }
  const std::string payload = SimpleSigningPayload(docker_reference, digest);
  if (existing && HasSignatureBy(*existing, payload, key)) return SignatureResult{existing->digest, false};

  auto signature = key.Sign(payload);
  if (!signature.ok()) return signature.status().Annotate(what);
  auto image = ExtendSignatureImage(existing, SignatureLayer(payload, *signature));
  if (!image.ok()) return image.status().Annotate(what + ": " + tag);
  for (const std::string* blob : std::initializer_list<const std::string*>{&payload, &image->config}) {
    if (Status put = client.PutBlob(oci::Sha256Digest(*blob), *blob); !put.ok()) {
      return put.Annotate(what + ": pushing a blob of " + tag);
    }
  }
  auto pushed = client.PutManifest(tag, image->manifest);
  if (!pushed.ok()) return pushed.status().Annotate(what);
  return SignatureResult{image->manifest.digest, true};
}

}  // namespace ibo::merge
