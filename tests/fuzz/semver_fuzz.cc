// The tag rule (api::DeriveTags): spec.version, a semantic version, gives vX.Y.Z, vX.Y and latest;
// spec.tags add to them. Input: the version on the first line, extra tags on the following ones.
// What comes out must be valid, distinct tags, and never none.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/imagebuild_spec.h"
#include "registry/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string version;
  std::getline(in, version);
  std::vector<std::string> extra;
  for (std::string line; std::getline(in, line);) extra.push_back(line);
  for (const auto& tags_in : {std::vector<std::string>(), extra}) {
    auto tags = ibo::api::DeriveTags(version, tags_in);
    if (!tags.ok()) continue;
    if (tags->empty()) std::abort();
    std::set<std::string> seen;
    for (const auto& t : *tags) {
      if (!ibo::registry::ValidateTag(t).ok()) std::abort();
      if (!seen.insert(t).second) std::abort();
    }
  }
  return 0;
}
