#include "common/semver.h"

#include <cctype>

namespace ibo {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// A numeric part: digits, no leading zero, and small enough to hold.
std::optional<unsigned long long> Number(std::string_view s) {
  if (!AllDigits(s) || (s.size() > 1 && s[0] == '0') || s.size() > 18) return std::nullopt;
  return std::stoull(std::string(s));
}

bool Identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace

std::optional<Semver> ParseSemver(std::string_view text) {
  Semver v;
  if (!text.empty() && text[0] == 'v') {
    v.prefix = "v";
    text.remove_prefix(1);
  }
  if (const size_t plus = text.find('+'); plus != std::string_view::npos) {
    for (auto id : Split(text.substr(plus + 1), '.')) if (!Identifier(id)) return std::nullopt;
    v.build = std::string(text.substr(plus + 1));
    text = text.substr(0, plus);
  }
  if (const size_t dash = text.find('-'); dash != std::string_view::npos) {
    for (auto id : Split(text.substr(dash + 1), '.')) {
      if (!Identifier(id) || (AllDigits(id) && !Number(id))) return std::nullopt;
      v.prerelease.emplace_back(id);
    }
    text = text.substr(0, dash);
  }
  const auto core = Split(text, '.');
  if (core.size() != 3) return std::nullopt;
  auto major = Number(core[0]), minor = Number(core[1]), patch = Number(core[2]);
  if (!major || !minor || !patch) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  v.patch = *patch;
  return v;
}

int CompareSemver(const Semver& a, const Semver& b) {
  for (auto [x, y] : {std::pair{a.major, b.major}, std::pair{a.minor, b.minor}, std::pair{a.patch, b.patch}}) {
    if (x != y) return x < y ? -1 : 1;
  }
  // A release outranks its prereleases; prereleases compare identifier by identifier.
  if (a.prerelease.empty() || b.prerelease.empty()) return a.prerelease.empty() - b.prerelease.empty();
  for (size_t i = 0; i < a.prerelease.size() && i < b.prerelease.size(); ++i) {
    const std::string& x = a.prerelease[i];
    const std::string& y = b.prerelease[i];
    if (x == y) continue;
    const bool xn = AllDigits(x), yn = AllDigits(y);
    if (xn && yn) return std::stoull(x) < std::stoull(y) ? -1 : 1;
    if (xn != yn) return xn ? -1 : 1;  // numeric identifiers rank lower
    return x < y ? -1 : 1;
  }
  return a.prerelease.size() == b.prerelease.size() ? 0 : (a.prerelease.size() < b.prerelease.size() ? -1 : 1);
}

}  // namespace ibo
