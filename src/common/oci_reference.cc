#include "common/oci_reference.h"

#include <cctype>

namespace ibo::oci {
namespace {

// Written by hand, not with std::regex: these run on every decode of an ImageBuild, where
// libstdc++'s regex cost more than the rest of the spec's checks together.
bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool Alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool LowerHex(char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); }

// HOST[:PORT]: a DNS name, an IPv4 address or a bracketed IPv6 address, and 1 to 5 digits of port.
bool IsRegistryHost(std::string_view s) {
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    rest = s.substr(close + 1);
  } else {
    const size_t colon = s.find(':');
    if (!IsDnsName(s.substr(0, colon))) return false;
    if (colon != std::string_view::npos) rest = s.substr(colon);
  }
  if (rest.empty()) return true;
  const std::string_view port = rest.substr(1);
  if (rest.front() != ':' || port.empty() || port.size() > 5) return false;
  for (char c : port) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

bool IsDnsName(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !Alnum(label.front()) || !Alnum(label.back())) return false;
    for (char c : label) if (!Alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsPathComponent(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!LowerAlnum(s[i])) return false;
    while (i < s.size() && LowerAlnum(s[i])) ++i;
    if (i == s.size()) return true;
    if (s[i] == '.') ++i;
    else if (s[i] == '_') i += (i + 1 < s.size() && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-') while (i < s.size() && s[i] == '-') ++i;
    else return false;
    if (i == s.size()) return false;  // a separator must be followed by a run
  }
  return false;  // empty
}

StatusOr<Repository> ParseRepository(std::string_view text) {
  const std::string s(text);
  const auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) {
    return InvalidArgument("repository \"" + s + "\": expected HOST[:PORT]/PATH");
  }
  Repository repo{s.substr(0, slash), s.substr(slash + 1)};
  // A DNS name has at most 253 characters, and a port 6 more.
  if (repo.host.size() > 261) return InvalidArgument("repository \"" + s.substr(0, 300) + "...\": host longer than 261 characters");
  if (!IsRegistryHost(repo.host)) {
    return InvalidArgument("repository \"" + s + "\": \"" + repo.host + "\" is not a valid registry host");
  }
  if (repo.path.size() > 255) return InvalidArgument("repository \"" + s + "\": path longer than 255 characters");
  size_t start = 0;
  while (true) {
    const auto end = repo.path.find('/', start);
    const std::string component = repo.path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!IsPathComponent(component)) {
      return InvalidArgument("repository \"" + s + "\": path component \"" + component +
                             "\" must be lowercase letters and digits joined by '.', '_', '__' or '-'");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return repo;
}

Status ValidateTag(std::string_view tag) {
  bool valid = !tag.empty() && tag.size() <= 128 && (Alnum(tag.front()) || tag.front() == '_');
  for (size_t i = 1; valid && i < tag.size(); ++i) {
    valid = Alnum(tag[i]) || tag[i] == '_' || tag[i] == '.' || tag[i] == '-';
  }
  if (!valid) {
    return InvalidArgument("tag \"" + std::string(tag) +
                           "\" is not valid: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
  }
  return Status::Ok();
}

Status ValidateDigest(std::string_view digest) {
  const bool sha256 = digest.starts_with("sha256:"), sha512 = digest.starts_with("sha512:");
  const std::string_view hex = digest.substr(sha256 || sha512 ? 7 : 0);
  bool valid = (sha256 && hex.size() == 64) || (sha512 && hex.size() == 128);
  for (size_t i = 0; valid && i < hex.size(); ++i) valid = LowerHex(hex[i]);
  if (!valid) {
    return InvalidArgument("digest \"" + std::string(digest) + "\" is not valid: expected sha256:<64 hex digits>");
  }
  return Status::Ok();
}

}  // namespace ibo::oci
