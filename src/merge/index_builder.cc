#include "merge/index_builder.h"

#include <algorithm>

#include "common/json_parse.h"
#include "common/oci_digest.h"
#include "common/oci_media_types.h"

namespace ibo::merge {
namespace {

namespace mt = oci::media_type;

constexpr const char* kReferenceType = "vnd.docker.reference.type";
constexpr const char* kReferenceDigest = "vnd.docker.reference.digest";

// Registry bytes parsed under the depth cap. Too deep is said as such; unreadable JSON reads as
// null, which each caller refuses in its own words.
StatusOr<nlohmann::json> ParseRegistryJson(const std::string& bytes, const std::string& what) {
  auto doc = ParseJson(bytes);
  if (doc.ok()) return doc;
  if (JsonDepth(bytes) > kMaxJsonDepth) return FailedPrecondition(what + ": " + doc.status().message());
  return nlohmann::json();
}

std::string Annotation(const nlohmann::json& descriptor, const char* name) {
  if (!descriptor.contains("annotations") || !descriptor["annotations"].is_object()) return {};
  const auto& annotations = descriptor["annotations"];
  auto it = annotations.find(name);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsAttestation(const nlohmann::json& descriptor) {
  return Annotation(descriptor, kReferenceType) == "attestation-manifest";
}

std::string StringOr(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json PlatformJson(const oci::Platform& p) {
  nlohmann::json out = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) out["variant"] = p.variant;
  if (!p.os_version.empty()) out["os.version"] = p.os_version;
  if (!p.os_features.empty()) out["os.features"] = p.os_features;
  return out;
}

}  // namespace

StatusOr<std::string> ConfigDigestOf(const registry::Manifest& image) {
  IBO_ASSIGN_OR_RETURN(const nlohmann::json doc, ParseRegistryJson(image.bytes, "manifest " + image.digest));
  if (!doc.is_object() || !doc.contains("config") || !doc["config"].is_object()) {
    return FailedPrecondition("manifest " + image.digest + " has no config descriptor");
  }
  const std::string digest = StringOr(doc["config"], "digest");
  if (digest.empty()) return FailedPrecondition("manifest " + image.digest + " has a config without a digest");
  return digest;
}

StatusOr<oci::Platform> PlatformFromConfig(const std::string& config_bytes) {
  IBO_ASSIGN_OR_RETURN(const nlohmann::json doc, ParseRegistryJson(config_bytes, "image config"));
  if (!doc.is_object()) return FailedPrecondition("image config is not a JSON object");
  oci::Platform p;
  p.os = StringOr(doc, "os");
  p.architecture = StringOr(doc, "architecture");
  p.variant = StringOr(doc, "variant");
  p.os_version = StringOr(doc, "os.version");
  if (auto it = doc.find("os.features"); it != doc.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_string()) p.os_features.push_back(f.get<std::string>());
    }
  }
  if (p.os.empty() || p.architecture.empty()) {
    return FailedPrecondition("image config declares no os and architecture (not a runnable image)");
  }
  return p;
}

std::optional<oci::Platform> PlatformOfDescriptor(const nlohmann::json& descriptor) {
  auto it = descriptor.find("platform");
  if (it == descriptor.end() || !it->is_object()) return std::nullopt;
  oci::Platform p;
  p.os = StringOr(*it, "os");
  p.architecture = StringOr(*it, "architecture");
  p.variant = StringOr(*it, "variant");
  return p;
}

StatusOr<IndexSelection> SelectPlatform(const registry::Manifest& index, const oci::Platform& declared) {
  IBO_ASSIGN_OR_RETURN(const nlohmann::json doc, ParseRegistryJson(index.bytes, "index " + index.digest));
  if (!doc.is_object() || !doc.contains("manifests") || !doc["manifests"].is_array()) {
    return FailedPrecondition("index " + index.digest + " has no manifests list");
  }
  const nlohmann::json* chosen = nullptr;
  std::vector<std::string> offered;
  for (const auto& entry : doc["manifests"]) {
    if (!entry.is_object() || IsAttestation(entry)) continue;
    const auto platform = PlatformOfDescriptor(entry);
    if (!platform) continue;
    offered.push_back(platform->ToString());
    if (!chosen && oci::SamePlatform(*platform, declared)) chosen = &entry;
  }
  if (!chosen) {
    std::string list;
    for (const auto& p : offered) list += (list.empty() ? "" : ", ") + p;
    return NotFound("index " + index.digest + " has no manifest for " + declared.ToString() + " (it has: " +
                    (list.empty() ? "none" : list) + ")");
  }
  IndexSelection selection{*chosen, {}};
  const std::string chosen_digest = StringOr(*chosen, "digest");
  for (const auto& entry : doc["manifests"]) {
    if (entry.is_object() && IsAttestation(entry) && Annotation(entry, kReferenceDigest) == chosen_digest) {
      selection.attestations.push_back(entry);
    }
  }
  return selection;
}

nlohmann::json ImageDescriptor(const registry::Manifest& image, const oci::Platform& from_config) {
  return {{"mediaType", image.media_type},
          {"size", image.bytes.size()},
          {"digest", image.digest},
          {"platform", PlatformJson(from_config)}};
}

registry::Manifest BuildIndex(std::vector<PlatformImage> images, const std::map<std::string, std::string>& annotations) {
  std::sort(images.begin(), images.end(), [](const PlatformImage& a, const PlatformImage& b) {
    return oci::Normalize(a.declared).ToString() < oci::Normalize(b.declared).ToString();
  });
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& image : images) manifests.push_back(image.descriptor);
  for (const auto& image : images) {
    for (const auto& attestation : image.attestations) manifests.push_back(attestation);
  }
  // Always an OCI index, also of Docker schema 2 images: a Docker manifest list has no
  // annotations, and the version annotation is what keeps floating tags from moving backwards.
  registry::Manifest index;
  index.media_type = std::string(mt::kOciIndex);
  nlohmann::json doc = {{"schemaVersion", 2}, {"mediaType", index.media_type}, {"manifests", manifests}};
  if (!annotations.empty()) doc["annotations"] = annotations;
  index.bytes = doc.dump();
  index.digest = oci::Sha256Digest(index.bytes);
  return index;
}

std::string IndexAnnotation(const std::string& manifest_bytes, const std::string& key) {
  const auto doc = ParseJson(manifest_bytes);  // unreadable or too deep: no annotation
  if (!doc.ok() || !doc->is_object() || !doc->contains("manifests")) return "";
  return Annotation(*doc, key.c_str());
}

}  // namespace ibo::merge
