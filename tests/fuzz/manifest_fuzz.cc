// Manifests and indexes as a registry serves them, read by the registry client and the merge
// (registry/registry_client.h, merge/index_builder.h, merge/merge.h). Input: documents separated by
// a line "--"; the first is the input the merge is given for linux/amd64 (an image manifest or an
// index), the others are what it refers to (configs, child manifests), served by their digests by
// a registry in memory. The last document is also the body of the registry's error answers and
// what the floating tag `latest` holds before the merge.
// Whatever the merge builds must be an index whose digest is that of its bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_registry_transport.h"
#include "merge/index_builder.h"
#include "merge/merge.h"
#include "common/oci_digest.h"
#include "common/oci_media_types.h"
#include "registry/registry_client.h"

namespace reg = ibo::registry;
namespace oci = ibo::oci;

namespace {

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> docs;
  size_t start = 0;
  while (true) {
    const auto end = text.find("\n--\n", start);
    docs.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return docs;
    start = end + 4;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> docs = Split(std::string(reinterpret_cast<const char*>(data), size));
  const oci::Platform amd64{"linux", "amd64"}, arm64{"linux", "arm64", "v8"};

  // The pure decoders on every document.
  for (const auto& doc : docs) {
    for (const char* type : {"", oci::media_type::kOciIndex.data(), oci::media_type::kDockerManifest.data()}) {
      const reg::Manifest m{type, oci::Sha256Digest(doc), doc};
      (void)ibo::merge::ConfigDigestOf(m);
      (void)ibo::merge::SelectPlatform(m, amd64);
      (void)ibo::merge::SelectPlatform(m, arm64);
    }
    (void)ibo::merge::PlatformFromConfig(doc);
    const nlohmann::json j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_object() && j.contains("manifests") && j["manifests"].is_array()) {
      for (const auto& entry : j["manifests"]) if (entry.is_object()) (void)ibo::merge::PlatformOfDescriptor(entry);
    }
  }

  // The registry client and the whole merge over them.
  auto transport = std::make_shared<ibo::fuzz::FakeRegistryTransport>();
  for (const auto& doc : docs) transport->Add(doc);
  transport->error_body = docs.back();
  transport->error_status = docs.size() % 2 ? 404 : 500;
  // The manifest's own mediaType is read first; a Content-Type is what is left when it has none.
  transport->content_type = std::string(oci::media_type::kOciManifest) + "; charset=utf-8";
  reg::RegistryOptions options;
  options.repository = {"registry.test:5000", "team/app"};
  options.plain_http = true;
  options.max_retries = 0;  // the fake's 500s would be retried with real waits: this target reads documents
  auto client = reg::NewRegistryClient(options, transport);
  (void)client->GetManifest("missing");  // not there: the error body is read
  (void)client->GetBlob("sha256:" + std::string(64, '0'));

  ibo::merge::MergeRequest request;
  request.inputs.push_back({amd64, oci::Sha256Digest(docs.front())});
  request.tags = {"v1.4.2"};
  // A floating tag moves only to a higher version than the index it holds names: that index, its
  // annotations and their semver are read from the registry too (the last document).
  request.floating_tags = {"latest", "v1.4"};
  request.version = "v1.4.2";
  transport->Tag("latest", docs.back());
  auto result = ibo::merge::Merge(*client, request);
  if (result.ok()) {
    if (!oci::media_type::IsIndex(result->index.media_type)) std::abort();
    if (oci::Sha256Digest(result->index.bytes) != result->index.digest) std::abort();
    if (!nlohmann::json::accept(result->index.bytes)) std::abort();
  }
  return 0;
}
