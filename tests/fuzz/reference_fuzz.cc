// The OCI name grammar (common/oci_reference.h, common/oci_platform.h): repositories, tags, digests and
// platforms, as a user writes them in an ImageBuild or on merge's command line. What parses must
// print back as it was written, and normalising a platform twice changes nothing more.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/oci_platform.h"
#include "common/oci_reference.h"

namespace reg = ibo::oci;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto repo = reg::ParseRepository(text); repo.ok()) {
    if (repo->ToString() != text) std::abort();
  }
  if (reg::ValidateTag(text).ok() && (text.empty() || text.size() > 128 || text[0] == '.' || text[0] == '-')) {
    std::abort();
  }
  if (reg::ValidateDigest(text).ok() && text.size() != 71 && text.size() != 135) std::abort();
  // NAME[:TAG][@DIGEST], as an image reference is written.
  const auto at = text.find('@');
  const std::string name = text.substr(0, at);
  if (at != std::string::npos) (void)reg::ValidateDigest(text.substr(at + 1));
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    (void)reg::ParseRepository(name.substr(0, colon));
    (void)reg::ValidateTag(name.substr(colon + 1));
  }
  if (auto platform = reg::ParsePlatform(text); platform.ok()) {
    if (platform->ToString() != text) std::abort();
    const reg::Platform once = reg::Normalize(*platform);
    const reg::Platform twice = reg::Normalize(once);
    if (once.ToString() != twice.ToString()) std::abort();
    if (!reg::SamePlatform(*platform, once)) std::abort();
  }
  return 0;
}
