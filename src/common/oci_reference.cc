#include "common/oci_reference.h"

#include <regex>

namespace ibo::oci {
namespace {

// distribution/reference: path components are lowercase alphanumerics joined by separators.
const std::regex& PathComponent() {
  static const std::regex re("[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*");
  return re;
}

const std::regex& HostPattern() {
  // A hostname or IPv4 address, or a bracketed IPv6 address, with an optional port.
  static const std::regex re(
      "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
      "|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");
  return re;
}

}  // namespace

StatusOr<Repository> ParseRepository(std::string_view text) {
  const std::string s(text);
  const auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) {
    return InvalidArgument("repository \"" + s + "\": expected HOST[:PORT]/PATH");
  }
  Repository repo{s.substr(0, slash), s.substr(slash + 1)};
  // A DNS name has at most 253 characters; checked first, as std::regex recurses once per
  // character and a long enough host would overflow the stack.
  if (repo.host.size() > 261) return InvalidArgument("repository \"" + s.substr(0, 300) + "...\": host longer than 261 characters");
  if (!std::regex_match(repo.host, HostPattern())) {
    return InvalidArgument("repository \"" + s + "\": \"" + repo.host + "\" is not a valid registry host");
  }
  if (repo.path.size() > 255) return InvalidArgument("repository \"" + s + "\": path longer than 255 characters");
  size_t start = 0;
  while (true) {
    const auto end = repo.path.find('/', start);
    const std::string component = repo.path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!std::regex_match(component, PathComponent())) {
      return InvalidArgument("repository \"" + s + "\": path component \"" + component +
                             "\" must be lowercase letters and digits joined by '.', '_', '__' or '-'");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return repo;
}

Status ValidateTag(std::string_view tag) {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  if (!std::regex_match(std::string(tag), re)) {
    return InvalidArgument("tag \"" + std::string(tag) +
                           "\" is not valid: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
  }
  return Status::Ok();
}

Status ValidateDigest(std::string_view digest) {
  static const std::regex re("sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}");
  if (!std::regex_match(std::string(digest), re)) {
    return InvalidArgument("digest \"" + std::string(digest) + "\" is not valid: expected sha256:<64 hex digits>");
  }
  return Status::Ok();
}

}  // namespace ibo::oci
