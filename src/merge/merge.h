// The merge itself: verify every per-platform input against the registry, build their index, push
// it under every tag and read each tag back. Nothing is pushed unless every check passes; with a
// signing key, the index and every manifest it lists are signed before any tag is pushed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/merge_report.h"

#include "common/oci_platform.h"
#include "common/status.h"
#include "merge/signing_key.h"
#include "registry/registry_client.h"

namespace ibo::merge {

struct PlatformDigest {
  oci::Platform platform;
  std::string digest;  // an image manifest, or an index holding the platform's manifest
};

struct MergeRequest {
  std::vector<PlatformDigest> inputs;
  std::vector<std::string> tags;           // always pushed: the exact version and explicit tags
  std::vector<std::string> floating_tags;  // latest, vX.Y, vX: never moved to a lower version
  std::string version;                     // this release's semantic version
  std::map<std::string, std::string> annotations;  // on the index (org.opencontainers.image.*)
  std::shared_ptr<const SigningKey> signing_key;    // none: nothing is signed
  std::string docker_reference;                     // the repository the signatures name
};

struct MergeResult {
  registry::Manifest index;
  std::vector<std::string> tags_updated;    // tags that pointed elsewhere (or nowhere) before
  std::vector<std::string> tags_unchanged;  // tags already at the index digest
  api::MergeReport report;                  // the digest, the floating tags held back and why, the signature
  int signatures_pushed = 0;                // signature manifests written (0 on a rerun with the same key)
};

// The annotation a floating tag's current index is judged by.
inline constexpr const char* kVersionAnnotation = "org.opencontainers.image.version";

// Checks what can be checked without the registry: digests, tags, no platform given twice.
Status ValidateRequest(const MergeRequest& request);
StatusOr<MergeResult> Merge(registry::RegistryClient& client, const MergeRequest& request);

}  // namespace ibo::merge
