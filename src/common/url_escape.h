// Percent-encoding for URL query values (and form bodies): RFC 3986's unreserved characters stay,
// every other byte becomes %XX. And a URL with its userinfo removed, for what may be shown.
#pragma once

#include <string>
#include <string_view>

namespace ibo {

std::string QueryEscape(std::string_view s);
// "https://user:token@host/repo.git" -> "https://host/repo.git"; other URLs as they are.
std::string WithoutCredentials(std::string_view url);

}  // namespace ibo
