// Manifests, configs and a mocked registry holding them, shared by the merge unit tests.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/oci_digest.h"
#include "common/oci_media_types.h"
#include "unit/registry/mock_registry_client.h"

namespace ibo::merge::testing {

namespace mt = oci::media_type;

inline std::string ConfigBytes(const std::string& arch, const std::string& variant = "") {
  nlohmann::json config = {{"architecture", arch}, {"os", "linux"}, {"rootfs", {{"type", "layers"}}}};
  if (!variant.empty()) config["variant"] = variant;
  return config.dump();
}

inline registry::Manifest ImageManifest(const std::string& config, std::string_view media_type = mt::kOciManifest) {
  nlohmann::json doc = {{"schemaVersion", 2},
                        {"mediaType", media_type},
                        {"config",
                         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", oci::Sha256Digest(config)},
                          {"size", config.size()}}},
                        {"layers", nlohmann::json::array()}};
  registry::Manifest m{std::string(media_type), "", doc.dump()};
  m.digest = oci::Sha256Digest(m.bytes);
  return m;
}

inline nlohmann::json Entry(const registry::Manifest& m, const std::string& os, const std::string& arch,
                            const std::string& variant = "") {
  nlohmann::json e = {{"mediaType", m.media_type}, {"digest", m.digest}, {"size", m.bytes.size()},
                      {"platform", {{"os", os}, {"architecture", arch}}}};
  if (!variant.empty()) e["platform"]["variant"] = variant;
  return e;
}

// A BuildKit attestation entry for the image with digest `subject`.
inline nlohmann::json AttestationEntry(const registry::Manifest& m, const std::string& subject) {
  nlohmann::json e = Entry(m, "unknown", "unknown");
  e["annotations"] = {{"vnd.docker.reference.digest", subject}, {"vnd.docker.reference.type", "attestation-manifest"}};
  return e;
}

inline registry::Manifest IndexOf(const nlohmann::json& entries) {
  nlohmann::json doc = {{"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", entries}};
  registry::Manifest m{std::string(mt::kOciIndex), "", doc.dump(2)};
  m.digest = oci::Sha256Digest(m.bytes);
  return m;
}

// A mocked registry answering from maps; tags pushed are recorded.
class FakeContent {
 public:
  explicit FakeContent(registry::MockRegistryClient& client) {
    using ::testing::_;
    using ::testing::Invoke;
    ON_CALL(client, Ping()).WillByDefault(::testing::Return(Status::Ok()));
    ON_CALL(client, GetManifest(_)).WillByDefault(Invoke([this](const std::string& ref) -> StatusOr<registry::Manifest> {
      std::lock_guard lock(mu);
      auto it = manifests.find(ref);
      if (it == manifests.end()) return NotFound("manifest " + ref + ": not found in r/app");
      return it->second;
    }));
    ON_CALL(client, GetBlob(_)).WillByDefault(Invoke([this](const std::string& d) -> StatusOr<std::string> {
      std::lock_guard lock(mu);
      auto it = blobs.find(d);
      if (it == blobs.end()) return NotFound("blob " + d + ": not found in r/app");
      return it->second;
    }));
    ON_CALL(client, HeadManifest(_)).WillByDefault(Invoke([this](const std::string& ref) -> StatusOr<std::string> {
      std::lock_guard lock(mu);
      auto it = manifests.find(ref);
      if (it == manifests.end()) return NotFound("manifest " + ref + ": not found in r/app");
      return it->second.digest;
    }));
    ON_CALL(client, PutManifest(_, _))
        .WillByDefault(Invoke([this](const std::string& ref, const registry::Manifest& m) -> StatusOr<std::string> {
          std::lock_guard lock(mu);
          manifests[ref] = m;
          manifests[m.digest] = m;
          pushed.push_back(ref);
          return m.digest;
        }));
    ON_CALL(client, PutBlob(_, _)).WillByDefault(Invoke([this](const std::string& d, const std::string& b) -> Status {
      std::lock_guard lock(mu);
      if (oci::Sha256Digest(b) != d) return InvalidArgument("blob bytes do not match " + d);
      blobs[d] = b;
      return Status::Ok();
    }));
  }

  // An image for `arch` stored with its config; returns its manifest.
  registry::Manifest AddImage(const std::string& arch, const std::string& variant = "",
                              std::string_view media_type = mt::kOciManifest) {
    const std::string config = ConfigBytes(arch, variant);
    blobs[oci::Sha256Digest(config)] = config;
    return Add(ImageManifest(config, media_type));
  }
  registry::Manifest Add(registry::Manifest m) {
    manifests[m.digest] = m;
    return m;
  }

  std::mutex mu;  // the merge calls the registry from several threads
  std::map<std::string, registry::Manifest> manifests;
  std::map<std::string, std::string> blobs;
  std::vector<std::string> pushed;  // manifest references in the order they were pushed
};

}  // namespace ibo::merge::testing
