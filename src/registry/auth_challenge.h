// Parsing of WWW-Authenticate challenges (RFC 7235), which tell the client whether a registry
// wants Basic credentials or a Bearer token and where to get it (realm, service, scope).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ibo::registry {

struct AuthChallenge {
  std::string scheme;                         // lowercased: "basic", "bearer"
  std::map<std::string, std::string> params;  // names lowercased, values unquoted

  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Every challenge in the header value, in order; malformed trailing parts are ignored.
std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

}  // namespace ibo::registry
