#include "registry/registry_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/json_parse.h"
#include "common/oci_digest.h"
#include "common/oci_media_types.h"
#include "common/url_escape.h"
#include "registry/auth_challenge.h"

namespace ibo::registry {

std::string OriginOf(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  std::string scheme = url.substr(0, scheme_end);
  const auto host_start = scheme_end + 3;
  const auto host_end = url.find_first_of("/?#", host_start);
  std::string host = url.substr(host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
  std::string out = scheme + "://" + host;
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  if (!has_port) out += scheme == "https" ? ":443" : ":80";
  return out;
}

std::string ResolveLocation(const std::string& from_url, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  const auto scheme_end = from_url.find("://");
  if (location.starts_with("//")) return from_url.substr(0, scheme_end + 1) + location;
  const auto path_start = from_url.find('/', scheme_end + 3);
  const std::string origin = from_url.substr(0, path_start);
  if (location.starts_with("/")) return origin + location;
  std::string path = path_start == std::string::npos ? "/" : from_url.substr(path_start);
  path = path.substr(0, path.find('?'));
  return origin + path.substr(0, path.rfind('/') + 1) + location;
}

namespace {

constexpr int kMaxRedirects = 5;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

const std::string& ManifestAccept() {
  static const std::string accept = std::string(oci::media_type::kOciIndex) + ", " +
                                    std::string(oci::media_type::kDockerManifestList) + ", " +
                                    std::string(oci::media_type::kOciManifest) + ", " +
                                    std::string(oci::media_type::kDockerManifest);
  return accept;
}

// "code: message" of the first error in a distribution error body, if there is one.
std::string RegistryErrorText(const std::string& body) {
  const auto parsed = ParseJson(body);  // unreadable or too deep: no text
  if (!parsed.ok()) return {};
  const nlohmann::json& doc = *parsed;
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
      doc["errors"].empty() || !doc["errors"][0].is_object()) {
    return {};
  }
  const auto& e = doc["errors"][0];
  const auto member = [&](const char* key) {  // value() throws on a member of another type
    const auto it = e.find(key);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string text = member("code") + ": " + member("message");
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

class DistributionClient : public RegistryClient {
 public:
  DistributionClient(RegistryOptions options, std::shared_ptr<http::Transport> transport)
      : options_(std::move(options)), transport_(std::move(transport)) {
    origin_url_ = (options_.plain_http ? "http://" : "https://") + options_.repository.host;
    origin_ = OriginOf(origin_url_);
    base_ = origin_url_ + "/v2/" + options_.repository.path;
    scope_ = "repository:" + options_.repository.path + ":pull,push";
  }

  Status Ping() override {
    http::Request request{.method = "GET", .url = origin_url_ + "/v2/"};
    IBO_ASSIGN_OR_RETURN(http::Response response, Execute(request));
    if (response.status == 200) return Status::Ok();
    return ErrorFor(response, "access to " + options_.repository.ToString());
  }

  StatusOr<Manifest> GetManifest(const std::string& reference) override {
    http::Request request{.method = "GET", .url = base_ + "/manifests/" + reference};
    request.headers["Accept"] = ManifestAccept();
    const std::string what = "manifest " + reference;
    IBO_ASSIGN_OR_RETURN(http::Response response, Execute(request));
    if (response.status != 200) return ErrorFor(response, what);
    Manifest manifest;
    manifest.bytes = std::move(response.body);
    manifest.digest = oci::Sha256Digest(manifest.bytes);
    if (reference.find(':') != std::string::npos) {
      IBO_RETURN_IF_ERROR(oci::VerifyDigest(reference, manifest.bytes, what));
      manifest.digest = reference;
    } else if (auto header = response.Header("Docker-Content-Digest");
               header && header->starts_with("sha256:") && *header != manifest.digest) {
      return FailedPrecondition(what + ": registry reports digest " + *header + " but the content is " +
                                manifest.digest);
    }
    // The manifest's own mediaType wins over a generic Content-Type.
    const auto parsed = ParseJson(manifest.bytes);
    if (!parsed.ok() && JsonDepth(manifest.bytes) > kMaxJsonDepth) {
      return FailedPrecondition(what + " from registry " + options_.repository.host + ": " + parsed.status().message());
    }
    const nlohmann::json doc = parsed.ok() ? *parsed : nlohmann::json();
    if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string()) {
      manifest.media_type = doc["mediaType"].get<std::string>();
    } else {
      manifest.media_type = response.Header("Content-Type").value_or("");
      manifest.media_type = manifest.media_type.substr(0, manifest.media_type.find(';'));
    }
    return manifest;
  }

  StatusOr<std::string> HeadManifest(const std::string& reference) override {
    http::Request request{.method = "HEAD", .url = base_ + "/manifests/" + reference};
    request.headers["Accept"] = ManifestAccept();
    IBO_ASSIGN_OR_RETURN(http::Response response, Execute(request));
    if (response.status != 200) return ErrorFor(response, "manifest " + reference);
    if (auto digest = response.Header("Docker-Content-Digest"); digest && !digest->empty()) return *digest;
    IBO_ASSIGN_OR_RETURN(Manifest manifest, GetManifest(reference));
    return manifest.digest;
  }

  StatusOr<std::string> PutManifest(const std::string& reference, const Manifest& manifest) override {
    http::Request request{.method = "PUT", .url = base_ + "/manifests/" + reference, .body = manifest.bytes};
    request.headers["Content-Type"] = manifest.media_type;
    const std::string what = "pushing " + reference;
    IBO_ASSIGN_OR_RETURN(http::Response response, Execute(request));
    if (response.status != 201 && response.status != 200) return ErrorFor(response, what);
    const std::string digest = response.Header("Docker-Content-Digest").value_or(oci::Sha256Digest(manifest.bytes));
    if (digest != manifest.digest) {
      return FailedPrecondition(what + ": registry stored digest " + digest + ", expected " + manifest.digest);
    }
    return digest;
  }

  StatusOr<std::string> GetBlob(const std::string& digest) override {
    http::Request request{.method = "GET", .url = base_ + "/blobs/" + digest};
    const std::string what = "blob " + digest;
    IBO_ASSIGN_OR_RETURN(http::Response response, Execute(request));
    if (response.status != 200) return ErrorFor(response, what);
    IBO_RETURN_IF_ERROR(oci::VerifyDigest(digest, response.body, what));
    return std::move(response.body);
  }

  Status PutBlob(const std::string& digest, const std::string& bytes) override {
    const std::string what = "uploading blob " + digest;
    http::Request head{.method = "HEAD", .url = base_ + "/blobs/" + digest};
    IBO_ASSIGN_OR_RETURN(http::Response exists, Execute(head));
    if (exists.status == 200) return Status::Ok();
    http::Request start{.method = "POST", .url = base_ + "/blobs/uploads/"};
    IBO_ASSIGN_OR_RETURN(http::Response started, Execute(start));
    if (started.status != 202) return ErrorFor(started, what);
    const auto location = started.Header("Location");
    if (!location || location->empty()) return FailedPrecondition(what + ": registry " + options_.repository.host +
                                                                   " named no upload location");
    std::string url = ResolveLocation(start.url, *location);
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + QueryEscape(digest);
    http::Request put{.method = "PUT", .url = url, .body = bytes};
    put.headers["Content-Type"] = "application/octet-stream";
    IBO_ASSIGN_OR_RETURN(http::Response done, Execute(put));
    if (done.status != 201 && done.status != 204) return ErrorFor(done, what);
    return Status::Ok();
  }

 private:
  // Sends, retrying what failed in passing (see RegistryOptions::max_retries). What still fails
  // is returned as it came, so that the caller's error names the step and the registry.
  StatusOr<http::Response> Execute(http::Request request) {
    request.timeout = options_.timeout;
    for (int retry = 0;; ++retry) {
      auto response = ExecuteOnce(request);
      const auto wait = RetryWait(response, retry);
      if (!wait) return response;
      std::this_thread::sleep_for(*wait);
    }
  }

  // How long to wait before sending again; nullopt when the outcome is final.
  std::optional<std::chrono::milliseconds> RetryWait(const StatusOr<http::Response>& response, int retry) const {
    if (retry >= options_.max_retries) return std::nullopt;
    const auto backoff = std::min(options_.first_retry_wait * (1 << retry), options_.max_retry_wait);
    if (!response.ok()) {
      const StatusCode code = response.status().code();
      if (code == StatusCode::kUnavailable || code == StatusCode::kTimeout) return backoff;
      return std::nullopt;
    }
    const int s = response->status;
    if (s != 429 && s != 500 && s != 502 && s != 503 && s != 504) return std::nullopt;
    if (const auto after = response->Header("Retry-After")) {
      char* end = nullptr;
      const long seconds = std::strtol(after->c_str(), &end, 10);
      if (end != after->c_str() && *end == '\0' && seconds >= 0) {
        return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), options_.max_retry_wait);
      }
    }
    return backoff;
  }

  // Sends with the current authorization; on a 401 challenge, authenticates once and retries.
  StatusOr<http::Response> ExecuteOnce(http::Request request) {
    for (int attempt = 0;; ++attempt) {
      std::string authorization;
      uint64_t generation;
      {
        std::lock_guard lock(mu_);
        authorization = authorization_;
        generation = generation_;
      }
      IBO_ASSIGN_OR_RETURN(http::Response response, SendFollowingRedirects(request, authorization));
      if (response.status != 401 || attempt > 0) return response;
      const auto challenge = response.Header("WWW-Authenticate");
      if (!challenge) return response;
      IBO_RETURN_IF_ERROR(Authenticate(*challenge, generation));
    }
  }

  StatusOr<http::Response> SendFollowingRedirects(http::Request request, const std::string& authorization) {
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      http::Request attempt = request;
      // Credentials go to the registry's own origin only, never to where it redirects.
      if (!authorization.empty() && OriginOf(attempt.url) == origin_) {
        attempt.headers["Authorization"] = authorization;
      }
      auto response = transport_->Send(attempt);
      if (!response.ok()) {
        return Status(response.status().code(), "registry " + options_.repository.host +
                                                    " is unreachable: " + response.status().message());
      }
      if (!IsRedirect(response->status)) return response;
      const auto location = response->Header("Location");
      if (!location) return response;
      const std::string next = ResolveLocation(request.url, *location);
      if (request.url.starts_with("https://") && next.starts_with("http://")) {
        return FailedPrecondition("registry " + options_.repository.host + " redirected " + request.method +
                                  " to plain HTTP; refused");
      }
      if (response->status == 303) {
        request.method = "GET";
        request.body.clear();
      }
      request.url = next;
    }
    return FailedPrecondition("registry " + options_.repository.host + ": more than " +
                              std::to_string(kMaxRedirects) + " redirects");
  }

  Status Authenticate(const std::string& header, uint64_t seen_generation) {
    std::lock_guard auth_lock(auth_mu_);
    {
      std::lock_guard lock(mu_);
      if (generation_ != seen_generation) return Status::Ok();  // another request already did
    }
    std::string authorization;
    for (const AuthChallenge& challenge : ParseWwwAuthenticate(header)) {
      if (challenge.scheme == "bearer") {
        IBO_ASSIGN_OR_RETURN(authorization, FetchToken(challenge));
        break;
      }
      if (challenge.scheme == "basic") {
        if (!HasPassword()) return NoCredentials();
        authorization = BasicAuthorization();
        break;
      }
    }
    if (authorization.empty()) {
      return Status(StatusCode::kUnauthorized,
                    "registry " + options_.repository.host + " asks for an authentication scheme we do not support");
    }
    std::lock_guard lock(mu_);
    authorization_ = std::move(authorization);
    ++generation_;
    return Status::Ok();
  }

  // The Bearer token flow: the realm the registry names, for its service and our scope.
  StatusOr<std::string> FetchToken(const AuthChallenge& challenge) {
    const std::string realm = challenge.Param("realm");
    if (!realm.starts_with("https://") && !realm.starts_with("http://")) {
      return Status(StatusCode::kUnauthorized,
                    "registry " + options_.repository.host + " names an invalid token realm");
    }
    const std::string service = challenge.Param("service");
    std::string scopes = scope_;
    if (const std::string asked = challenge.Param("scope"); !asked.empty() && asked != scope_) {
      scopes += " " + asked;
    }
    http::Request request{.method = "GET", .timeout = options_.timeout};
    const bool refresh = options_.credentials && !options_.credentials->identity_token.empty();
    if (refresh) {
      request.method = "POST";
      request.url = realm;
      request.headers["Content-Type"] = "application/x-www-form-urlencoded";
      request.body = "grant_type=refresh_token&client_id=imagebuild-operator&service=" + QueryEscape(service) +
                     "&scope=" + QueryEscape(scopes) +
                     "&refresh_token=" + QueryEscape(options_.credentials->identity_token);
    } else {
      request.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + "service=" + QueryEscape(service);
      size_t start = 0;
      while (start < scopes.size()) {
        const auto end = std::min(scopes.find(' ', start), scopes.size());
        request.url += "&scope=" + QueryEscape(scopes.substr(start, end - start));
        start = end + 1;
      }
      if (HasPassword()) {
        request.headers["Authorization"] =
            BasicAuthorization();
      }
    }
    auto response = transport_->Send(request);
    const std::string where = "token service of registry " + options_.repository.host;
    if (!response.ok()) return Status(response.status().code(), where + " is unreachable: " + response.status().message());
    if (response->status == 401 || response->status == 403) {
      return Status(StatusCode::kUnauthorized, where + " refused the credentials for " +
                                                   options_.repository.ToString() + " (HTTP " +
                                                   std::to_string(response->status) + ")");
    }
    if (response->status != 200) {
      return Unavailable(where + " answered HTTP " + std::to_string(response->status));
    }
    const auto parsed = ParseJson(response->body);  // unreadable or too deep: no token
    const nlohmann::json doc = parsed.ok() ? *parsed : nlohmann::json();
    std::string token;
    if (doc.is_object()) {
      if (doc.contains("token") && doc["token"].is_string()) token = doc["token"].get<std::string>();
      if (token.empty() && doc.contains("access_token") && doc["access_token"].is_string()) {
        token = doc["access_token"].get<std::string>();
      }
    }
    if (token.empty()) return Unavailable(where + " returned no token");
    return "Bearer " + token;
  }

  std::string BasicAuthorization() const {
    return "Basic " + Base64Encode(options_.credentials->username + ":" + options_.credentials->password);
  }

  bool HasPassword() const { return options_.credentials && !options_.credentials->username.empty(); }

  Status NoCredentials() const {
    return Status(StatusCode::kUnauthorized, "registry " + options_.repository.host +
                                                 " requires authentication and no credentials are configured for it");
  }

  Status ErrorFor(const http::Response& response, const std::string& what) const {
    std::string detail = RegistryErrorText(response.body);
    detail = detail.empty() ? "" : " (" + detail + ")";
    const std::string http = " (HTTP " + std::to_string(response.status) + ")";
    const std::string& host = options_.repository.host;
    switch (response.status) {
      case 401:
        if (!options_.credentials) return NoCredentials().Annotate(what);
        return Status(StatusCode::kUnauthorized, what + ": registry " + host + " refused the credentials" + http)
            .set_http_status(401);
      case 403:
        return Status(StatusCode::kForbidden, what + ": access denied by registry " + host + http + detail)
            .set_http_status(403);
      case 404:
        return NotFound(what + ": not found in " + options_.repository.ToString()).set_http_status(404);
      case 429:
        return Status(StatusCode::kTooManyRequests, what + ": registry " + host + " is rate limiting" + http)
            .set_http_status(429);
      default:
        if (response.status >= 500) {
          return Unavailable(what + ": registry " + host + " failed" + http + detail).set_http_status(response.status);
        }
        return FailedPrecondition(what + ": registry " + host + " answered" + http + detail)
            .set_http_status(response.status);
    }
  }

  RegistryOptions options_;
  std::shared_ptr<http::Transport> transport_;
  std::string origin_url_, origin_, base_, scope_;
  std::mutex auth_mu_;  // one authentication at a time
  std::mutex mu_;       // guards authorization_ and generation_
  std::string authorization_;
  uint64_t generation_ = 0;
};

}  // namespace

std::unique_ptr<RegistryClient> NewRegistryClient(RegistryOptions options,
                                                  std::shared_ptr<http::Transport> transport) {
  return std::make_unique<DistributionClient>(std::move(options), std::move(transport));
}

}  // namespace ibo::registry
