// The tag rule (api::DeriveTags): spec.version, a semantic version, gives vX.Y.Z, vX.Y and latest;
// spec.tags add to them. Input: the version on the first line, extra tags on the following ones.
// What comes out must be valid, distinct tags, and never none. The first two lines also go to
// common/semver.h, whose precedence decides whether a floating tag moves: it must be an order
// (a version equals itself; a < b exactly when b > a).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/imagebuild_spec.h"
#include "common/semver.h"
#include "common/oci_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string version;
  std::getline(in, version);
  std::vector<std::string> extra;
  for (std::string line; std::getline(in, line);) extra.push_back(line);
  if (const auto a = ibo::ParseSemver(version)) {
    if (ibo::CompareSemver(*a, *a) != 0) std::abort();
    if (const auto b = ibo::ParseSemver(extra.empty() ? std::string() : extra.front())) {
      const int ab = ibo::CompareSemver(*a, *b), ba = ibo::CompareSemver(*b, *a);
      if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0)) std::abort();
    }
  }
  for (const auto& tags_in : {std::vector<std::string>(), extra}) {
    auto tags = ibo::api::DeriveTags(version, tags_in);
    if (!tags.ok()) continue;
    if (tags->empty()) std::abort();
    std::set<std::string> seen;
    for (const auto& t : *tags) {
      if (!ibo::oci::ValidateTag(t).ok()) std::abort();
      if (!seen.insert(t).second) std::abort();
    }
  }
  return 0;
}
