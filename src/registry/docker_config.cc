#include "registry/docker_config.h"

#include <cerrno>

#include "common/file_error.h"

#include "common/base64.h"
#include "common/json_parse.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ibo::registry {
namespace {

// "https://host:port/v1/" -> "host:port".
std::string HostOfKey(std::string key) {
  if (auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (auto slash = key.find('/'); slash != std::string::npos) key = key.substr(0, slash);
  return key;
}

std::string StringField(const nlohmann::json& entry, const char* name) {
  auto it = entry.find(name);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

StatusOr<DockerConfig> DockerConfig::Parse(std::string_view json, const std::string& source) {
  // The input holds secrets: ParseJson reports only an offset, never the content.
  auto parsed = ParseJson(json);
  if (!parsed.ok()) return InvalidArgument("registry config " + source + ": " + parsed.status().message());
  const nlohmann::json doc = std::move(parsed).value();
  if (!doc.is_object()) return InvalidArgument("registry config " + source + ": not a JSON object");
  // config.json and .dockerconfigjson nest entries under "auths"; the legacy .dockercfg does not.
  const nlohmann::json& auths = doc.contains("auths") ? doc["auths"] : doc;
  if (!auths.is_object()) return InvalidArgument("registry config " + source + ": \"auths\" is not an object");
  DockerConfig config;
  for (const auto& [key, entry] : auths.items()) {
    if (!entry.is_object()) continue;
    Credentials creds;
    creds.username = StringField(entry, "username");
    creds.password = StringField(entry, "password");
    creds.identity_token = StringField(entry, "identitytoken");
    if (const std::string auth = StringField(entry, "auth"); !auth.empty()) {
      auto decoded = Base64Decode(auth);
      const auto colon = decoded.ok() ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        return InvalidArgument("registry config " + source + ": the \"auth\" of " + HostOfKey(key) +
                               " is not base64 of user:password");
      }
      creds.username = decoded->substr(0, colon);
      creds.password = decoded->substr(colon + 1);
    }
    config.by_host_[HostOfKey(key)] = std::move(creds);
  }
  return config;
}

StatusOr<DockerConfig> DockerConfig::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return FileReadError("registry config", path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::optional<Credentials> DockerConfig::For(std::string_view host) const {
  std::string wanted(host);
  if (wanted == "docker.io" || wanted == "registry-1.docker.io") wanted = "index.docker.io";
  auto it = by_host_.find(wanted);
  if (it == by_host_.end() && wanted == "index.docker.io") it = by_host_.find("docker.io");
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return std::string(dir) + "/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.docker/config.json";
}

}  // namespace ibo::registry
