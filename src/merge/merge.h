// The merge itself: verify every per-platform input against the registry, build their index, push
// it under every tag and read each tag back. Nothing is pushed unless every check passes.
#pragma once

#include <string>
#include <vector>

#include "common/oci_platform.h"
#include "common/status.h"
#include "registry/registry_client.h"

namespace ibo::merge {

struct PlatformDigest {
  oci::Platform platform;
  std::string digest;  // an image manifest, or an index holding the platform's manifest
};

struct MergeRequest {
  std::vector<PlatformDigest> inputs;
  std::vector<std::string> tags;
};

struct MergeResult {
  registry::Manifest index;
  std::vector<std::string> tags_updated;    // tags that pointed elsewhere (or nowhere) before
  std::vector<std::string> tags_unchanged;  // tags already at the index digest
};

// Checks what can be checked without the registry: digests, tags, no platform given twice.
Status ValidateRequest(const MergeRequest& request);
StatusOr<MergeResult> Merge(registry::RegistryClient& client, const MergeRequest& request);

}  // namespace ibo::merge
