// The pure part of the merge: the platform an image config declares, the choice of a platform's
// manifest inside an input index (keeping its attestations), and the index bytes, deterministic
// for the same inputs.
#pragma once

#include <map>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/oci_platform.h"
#include "common/status.h"
#include "registry/registry_client.h"

namespace ibo::merge {

// One platform's entry in the index being built.
struct PlatformImage {
  oci::Platform declared;               // as given on the command line
  nlohmann::json descriptor;                 // mediaType, size, digest, platform from the config
  std::vector<nlohmann::json> attestations;  // input index entries that refer to this image
};

// What an input index offers for one platform.
struct IndexSelection {
  nlohmann::json descriptor;  // the entry as written in the input index
  std::vector<nlohmann::json> attestations;
};

// The config blob digest of an image manifest.
StatusOr<std::string> ConfigDigestOf(const registry::Manifest& image);
// os, architecture, variant, os.version and os.features of an image config.
StatusOr<oci::Platform> PlatformFromConfig(const std::string& config_bytes);
// The platform object of a descriptor, if it has one.
std::optional<oci::Platform> PlatformOfDescriptor(const nlohmann::json& descriptor);
// The image manifest for `declared` in an index, and the attestation manifests that refer to it
// (annotation vnd.docker.reference.digest); NotFound naming the platforms it has otherwise.
StatusOr<IndexSelection> SelectPlatform(const registry::Manifest& index, const oci::Platform& declared);
// The index entry for an image: its mediaType, size and digest, and the platform from its config.
nlohmann::json ImageDescriptor(const registry::Manifest& image, const oci::Platform& from_config);
// The index: images in platform order, then their attestations, always an OCI index, with the
// given annotations. Keys are sorted, so the bytes are stable.
registry::Manifest BuildIndex(std::vector<PlatformImage> images, const std::map<std::string, std::string>& annotations = {});
// An annotation of an index ("" when the bytes are no index or lack it).
std::string IndexAnnotation(const std::string& manifest_bytes, const std::string& key);

}  // namespace ibo::merge
