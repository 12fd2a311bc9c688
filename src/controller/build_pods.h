// What the controller creates for an ImageBuild: deterministic names and labels, build pods for
// BuildKit (rootless) and buildah, the merge pod, and the ConfigMap with registry settings.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "controller/imagebuild_spec.h"

namespace ibo::controller {

// Operator-wide build settings (flags of `imagebuild-operator run`).
struct OperatorSettings {
  std::string merge_image = "ghcr.io/imagebuild-operator/imagebuild-operator:latest";
  std::string git_image = "alpine/git:2.43.0";
  std::string buildkit_image = "moby/buildkit:v0.12.5-rootless";
  std::string buildah_image = "quay.io/buildah/stable:v1.33";
  int max_concurrent_builds = 0;  // 0: no cap
  std::optional<int64_t> default_ttl_seconds_after_finished;
  std::vector<std::string> insecure_registries;  // HOST[:PORT] reached over plain HTTP
  std::string registry_ca_pem;                   // copied into a ConfigMap owned by the ImageBuild
  std::chrono::seconds retry_backoff{10};        // first retry; doubles per attempt, 5 min cap
};

namespace labels {
inline constexpr const char* kName = "imagebuild.io/name";
inline constexpr const char* kBuildId = "imagebuild.io/build-id";
inline constexpr const char* kRole = "imagebuild.io/role";
inline constexpr const char* kPlatform = "imagebuild.io/platform";
inline constexpr const char* kAttempt = "imagebuild.io/attempt";
inline constexpr const char* kRebuildAnnotation = "imagebuild.io/rebuild";
}  // namespace labels

// 8 hex characters of sha256(uid, generation, rebuild token).
std::string BuildId(const std::string& uid, int64_t generation, const std::string& rebuild_token);
// A label value for the ImageBuild's name: the name, or a hash when over 63 characters.
std::string NameLabel(const std::string& name);
// <name cut to fit>-<10 hex of sha256(uid, generation, token, what, attempt)>: stable across
// operator restarts, different for every attempt.
std::string PodName(const std::string& ib_name, const std::string& uid, int64_t generation,
                    const std::string& rebuild_token, const std::string& what, int attempt);
std::string ConfigMapName(const std::string& ib_name);

// Everything a pod needs to know about its ImageBuild.
struct BuildContext {
  Json owner;  // the ImageBuild (apiVersion, kind, metadata)
  ImageBuildSpec spec;
  std::string build_id;
  const OperatorSettings* settings;
  bool has_config_map = false;  // registry settings are mounted from ConfigMapName()
};

// One build pod. `platforms` has one entry for a native build, several for an emulated
// multi-platform build (emulation: Always); emulated pods carry no architecture selector.
Json BuildPod(const BuildContext& ctx, const std::vector<const PlatformSpec*>& platforms, bool emulated,
              const std::string& pod_name, int attempt);
// The merge pod: `imagebuild-operator merge` with every platform=digest pair and tag.
Json MergePod(const BuildContext& ctx, const std::vector<std::pair<std::string, std::string>>& platform_digests,
              const std::vector<std::string>& tags, const std::string& pod_name);
// buildkitd.toml, registries.conf and ca.crt for the build and merge pods; nullopt when the
// operator has neither insecure registries nor a CA.
std::optional<Json> RegistryConfigMap(const BuildContext& ctx);

}  // namespace ibo::controller
