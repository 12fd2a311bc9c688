// The ImageBuild spec (imagebuild.io/v1alpha1) as the controller reads it, with validation of
// what the CRD schema cannot check, and the tag rule (semver version -> vX.Y.Z, vX.Y, latest).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ibo::controller {

using Json = nlohmann::json;

struct SecretRef {
  std::string name;
};

struct BuildSecret {
  std::string id;
  std::string secret_name;
  std::string key;
};

struct PlatformSpec {
  std::string platform;  // os/arch[/variant]
  std::string os, arch, variant;
  std::string dockerfile;  // empty: spec.dockerfile
  std::map<std::string, std::string> node_selector;
  Json tolerations = Json::array();
  Json affinity;
  Json resources;
  // os-arch[-variant], for labels and names.
  std::string Slug() const;
};

enum class Emulation { kNever, kFallback, kAlways };
enum class FailurePolicy { kAllPlatforms, kAvailablePlatforms };
enum class Strategy { kBuildKit, kBuildah };

struct ImageBuildSpec {
  std::string image;  // repository, no tag or digest
  std::string version;
  std::vector<std::string> tags;  // explicit
  std::string git_url, git_revision, git_secret;
  std::string context_dir = ".";
  std::string dockerfile = "Dockerfile";
  std::map<std::string, std::string> build_args;
  std::string target;
  std::vector<PlatformSpec> platforms;
  Strategy strategy = Strategy::kBuildKit;
  std::string builder_image;
  Emulation emulation = Emulation::kNever;
  std::string cache_repository;
  bool cache_disabled = false;
  std::string push_secret;
  std::vector<BuildSecret> build_secrets;
  std::string service_account;
  std::chrono::seconds timeout{3600};
  std::chrono::seconds scheduling_timeout{600};
  int retries = 1;
  FailurePolicy failure_policy = FailurePolicy::kAllPlatforms;
  std::optional<int64_t> ttl_seconds_after_finished;
};

// Reads and checks spec; the error message says which field is wrong and how to fix it.
StatusOr<ImageBuildSpec> ParseImageBuildSpec(const Json& spec);

// "1h", "10m", "90s", "1h30m", "250ms" (Go's time.ParseDuration subset).
StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text);

// The tags to push: from the version (full X.Y.Z -> X.Y.Z, X.Y, latest with the v prefix kept as
// given; a prerelease only its own tag; +build metadata dropped), then spec.tags; checked against
// the OCI tag grammar, duplicates removed, order kept.
StatusOr<std::vector<std::string>> DeriveTags(const std::string& version, const std::vector<std::string>& extra);

}  // namespace ibo::controller
