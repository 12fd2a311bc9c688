// What the controller creates for an ImageBuild: deterministic names and labels, build pods for
// BuildKit (rootless) and buildah, the merge pod, and the ConfigMap with registry settings.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/imagebuild.h"
#include "api/imagebuild_spec.h"
#include "api/names.h"

namespace ibo::controller {

using Json = nlohmann::json;
using api::ImageBuildSpec;
using api::PlatformSpec;
using api::ConfigMapName;  // the ConfigMap RegistryConfigMap() makes

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

// Everything a pod needs to know about its ImageBuild.
struct BuildContext {
  api::ObjectMeta owner;  // the ImageBuild's metadata
  ImageBuildSpec spec;
  std::string build_id;
  const OperatorSettings* settings;
  bool has_config_map = false;  // registry settings are mounted from ConfigMapName()
  std::string commit;           // status.source.commit: what every build pod checks out
  std::string created;          // the build's start, RFC 3339: org.opencontainers.image.created
};

// The OCI metadata of every image of this build (org.opencontainers.image.source, revision,
// version, created), then the user's spec.labels or spec.annotations.
std::map<std::string, std::string> ImageMetadata(const BuildContext& ctx, const std::map<std::string, std::string>& user);

// The resolve pod: lists the remote's refs with the git credentials and ends with the commit the
// revision names as its termination message (the operator never reads Secret data itself).
Json ResolvePod(const BuildContext& ctx, const std::string& pod_name);

// One build pod. `platforms` has one entry for a native build, several for an emulated
// multi-platform build (emulation: Always); emulated pods carry no architecture selector.
Json BuildPod(const BuildContext& ctx, const std::vector<const PlatformSpec*>& platforms, bool emulated,
              const std::string& pod_name, int attempt);
// What the merge pod merges and pushes.
struct MergeInputs {
  std::vector<std::pair<std::string, std::string>> platform_digests;  // platform -> digest
  api::ReleaseTags tags;
  bool move_floating = true;  // false: the floating tags are left out (a merge lacking platforms)
  std::map<std::string, std::string> annotations;  // on the index
};
// The merge pod: `imagebuild-operator merge` with every platform=digest pair and tag.
Json MergePod(const BuildContext& ctx, const MergeInputs& inputs, const std::string& pod_name);
// buildkitd.toml, registries.conf and ca.crt for the build and merge pods; nullopt when the
// operator has neither insecure registries nor a CA.
std::optional<Json> RegistryConfigMap(const BuildContext& ctx);

}  // namespace ibo::controller
