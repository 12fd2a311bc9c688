// Semantic versions (semver.org 2.0, an optional leading v): parsing and precedence, so that a
// floating tag moves only to an equal or higher release.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ibo {

struct Semver {
  std::string prefix;  // "v" or ""
  unsigned long long major = 0, minor = 0, patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers; empty for a release
  std::string build;                    // ignored by precedence

  bool IsPrerelease() const { return !prerelease.empty(); }
};

std::optional<Semver> ParseSemver(std::string_view text);
// <0, 0 or >0 as a has lower, equal or higher precedence than b (prefix and build ignored).
int CompareSemver(const Semver& a, const Semver& b);

}  // namespace ibo
