// Percent-encoding for URL query values (and form bodies): RFC 3986's unreserved characters stay,
// every other byte becomes %XX.
#pragma once

#include <string>
#include <string_view>

namespace ibo {

std::string QueryEscape(std::string_view s);

}  // namespace ibo
