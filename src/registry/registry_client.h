// A client of one repository on an OCI distribution registry: manifests (GET, HEAD, PUT) and
// blobs (GET, and upload for signatures), with Basic or Bearer-token authentication and redirects followed by our own code,
// so that credentials only ever go to the registry's own origin.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/oci_reference.h"
#include "common/status.h"
#include "http/http_transport.h"
#include "registry/docker_config.h"

namespace ibo::registry {

struct Manifest {
  std::string media_type;
  std::string digest;  // of `bytes`, checked on every read
  std::string bytes;
};

struct RegistryOptions {
  oci::Repository repository;
  bool plain_http = false;                 // only for registries the user named insecure
  std::optional<Credentials> credentials;  // none: anonymous
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // Every request the client makes is idempotent (GET, HEAD, and PUT of a manifest, which names
  // its content), so each is retried after a transport failure (a reset, a timeout), 429, 500,
  // 502, 503 or 504: up to this many more times, waiting Retry-After (at most max_retry_wait)
  // or else first_retry_wait, doubling.
  int max_retries = 4;
  std::chrono::milliseconds first_retry_wait{250};
  std::chrono::milliseconds max_retry_wait{std::chrono::seconds(10)};
};

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;
  // Checks that the registry answers and authenticates for pull and push on the repository.
  virtual Status Ping() = 0;
  // A manifest by tag or digest; its bytes are checked against the digest.
  virtual StatusOr<Manifest> GetManifest(const std::string& reference) = 0;
  // The digest a tag or digest currently resolves to; NotFound when it does not exist.
  virtual StatusOr<std::string> HeadManifest(const std::string& reference) = 0;
  // Stores the manifest under a tag (or its digest); returns the digest the registry reports.
  virtual StatusOr<std::string> PutManifest(const std::string& reference, const Manifest& manifest) = 0;
  // A blob's bytes, checked against its digest.
  virtual StatusOr<std::string> GetBlob(const std::string& digest) = 0;
  // Uploads a blob (monolithic: POST, then PUT with its digest) unless the registry has it.
  virtual Status PutBlob(const std::string& digest, const std::string& bytes) = 0;
};

std::unique_ptr<RegistryClient> NewRegistryClient(RegistryOptions options,
                                                  std::shared_ptr<http::Transport> transport);

// Where a redirect's Location points, resolved against the URL that was requested.
std::string ResolveLocation(const std::string& from_url, const std::string& location);
// "scheme://host:port" of a URL, lowercased, with the scheme's default port made explicit.
std::string OriginOf(const std::string& url);

}  // namespace ibo::registry
