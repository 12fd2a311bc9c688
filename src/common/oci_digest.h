// Content digests: what the registry addresses manifests and blobs by, and how fetched bytes are
// checked against the digest they were asked for.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo::oci {

// "sha256:<hex>" of the bytes.
std::string Sha256Digest(std::string_view bytes);
// OK when the bytes hash to `digest` (sha256 or sha512); `what` names the content in the error.
Status VerifyDigest(std::string_view digest, std::string_view bytes, const std::string& what);

}  // namespace ibo::oci
