// A registry in memory behind http::Transport, for the fuzz targets that drive the real registry
// client: content by digest or tag, pushes stored, an optional 401 challenge and its token service.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "http/http_transport.h"
#include "common/oci_digest.h"

namespace ibo::fuzz {

class FakeRegistryTransport : public http::Transport {
 public:
  // Served by digest; `content_type` is sent with every manifest.
  void Add(const std::string& bytes) { store_[oci::Sha256Digest(bytes)] = bytes; }
  // Served under a tag as well.
  void Tag(const std::string& tag, const std::string& bytes) { store_[tag] = bytes; }
  std::optional<std::string> challenge;  // sent with a 401 to requests without Authorization
  std::string content_type;
  std::string error_body;  // the body of every 404
  int error_status = 404;

  StatusOr<http::Response> Send(const http::Request& request) override {
    std::lock_guard lock(mu_);
    http::Response response;
    const std::string origin = "registry.test:5000/v2/";
    const auto at = request.url.find(origin);
    if (at == std::string::npos) {  // the token service
      response.status = 200;
      response.body = R"({"token":"t0k3n","expires_in":300})";
      return response;
    }
    if (challenge && !request.headers.count("Authorization")) {
      response.status = 401;
      response.headers["WWW-Authenticate"] = *challenge;
      return response;
    }
    const std::string path = request.url.substr(at + origin.size());
    if (path.empty()) {
      response.status = 200;
      return response;
    }
    const auto slash = path.rfind('/');
    const std::string ref = path.substr(slash + 1);
    if (request.method == "PUT") {
      store_[ref] = request.body;
      store_[oci::Sha256Digest(request.body)] = request.body;
      response.status = 201;
      response.headers["Docker-Content-Digest"] = oci::Sha256Digest(request.body);
      return response;
    }
    auto it = store_.find(ref);
    if (it == store_.end()) {
      response.status = error_status;
      response.body = error_body;
      response.headers["Content-Type"] = "application/json";
      return response;
    }
    response.status = 200;
    if (path.find("/manifests/") != std::string::npos) {
      response.headers["Content-Type"] = content_type;
      response.headers["Docker-Content-Digest"] = oci::Sha256Digest(it->second);
    }
    if (request.method != "HEAD") response.body = it->second;
    return response;
  }

  StatusOr<std::unique_ptr<http::ResponseStream>> Stream(const http::Request&) override {
    return Status(StatusCode::kUnavailable, "no streams here");
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> store_;
};

}  // namespace ibo::fuzz
