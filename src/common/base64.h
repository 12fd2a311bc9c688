// Standard base64 (RFC 4648) with padding, and its URL-safe unpadded form (JWTs).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo {

std::string Base64Encode(std::string_view data);
std::string Base64UrlEncode(std::string_view data);
// Accepts padded or unpadded input and ignores whitespace; refuses any other character.
StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace ibo
