// The manifest media types the registry client and the merge step understand.
#pragma once

#include <string_view>

namespace ibo::oci::media_type {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

inline bool IsImageManifest(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
inline bool IsIndex(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }

}  // namespace ibo::oci::media_type
