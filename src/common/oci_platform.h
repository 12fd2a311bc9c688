// Image platforms (os/architecture/variant) and their normalisation as containerd does it, so that
// arm64 and arm64/v8 are one platform and arm and arm/v7 are one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ibo::oci {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;                // "os.version", Windows images
  std::vector<std::string> os_features;  // "os.features"

  // "os/architecture[/variant]".
  std::string ToString() const;
};

// "os/architecture[/variant]", as in --platform.
StatusOr<Platform> ParsePlatform(std::string_view text);
// containerd's platforms.Normalize: lowercases, maps aliases (x86_64, aarch64, armhf...), and
// gives arm its default variant v7 and arm64 no variant for v8.
Platform Normalize(const Platform& platform);
// Same os, architecture and variant after normalising.
bool SamePlatform(const Platform& a, const Platform& b);

}  // namespace ibo::oci
