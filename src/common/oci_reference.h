// Names in the OCI distribution API (repository HOST[:PORT]/PATH, tags, digests), checked against
// the grammar of distribution/reference before any request is sent.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo::oci {

struct Repository {
  std::string host;  // HOST[:PORT], as the user wrote it
  std::string path;  // e.g. team/app

  std::string ToString() const { return host + "/" + path; }
};

// "HOST[:PORT]/PATH": the first component is always the registry host.
StatusOr<Repository> ParseRepository(std::string_view text);
// A DNS name or IPv4 address: labels of letters, digits and '-' joined by '.', each starting and
// ending with a letter or digit.
bool IsDnsName(std::string_view name);
// A path component of a repository: runs of [a-z0-9] joined by '.', '_', '__' or one or more '-'.
bool IsPathComponent(std::string_view component);
// A tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
Status ValidateTag(std::string_view tag);
// A digest: sha256:<64 lowercase hex> or sha512:<128 lowercase hex>.
Status ValidateDigest(std::string_view digest);

}  // namespace ibo::oci
