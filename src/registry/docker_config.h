// Registry credentials from a docker config.json or a Kubernetes .dockerconfigjson secret: the
// `auths` entries with `auth` (base64 user:password), `username`/`password` or `identitytoken`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth2 refresh token, exchanged at the token realm
};

class DockerConfig {
 public:
  // `source` names the file in errors; errors never quote the content.
  static StatusOr<DockerConfig> Parse(std::string_view json, const std::string& source);
  static StatusOr<DockerConfig> Load(const std::string& path);

  // The credentials for a registry host (HOST[:PORT]); entries may be written as a bare host, a
  // URL ("https://host/v1/") or, for Docker Hub, index.docker.io.
  std::optional<Credentials> For(std::string_view host) const;

 private:
  std::map<std::string, Credentials> by_host_;
};

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::string DefaultDockerConfigPath();

}  // namespace ibo::registry
