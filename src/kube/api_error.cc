#include "kube/api_error.h"

#include <nlohmann/json.hpp>

namespace ibo::kube {
namespace {

StatusCode CodeFor(int http_status, const std::string& reason) {
  if (reason == "NotFound") return StatusCode::kNotFound;
  if (reason == "AlreadyExists") return StatusCode::kAlreadyExists;
  if (reason == "Conflict") return StatusCode::kConflict;
  if (reason == "Gone" || reason == "Expired") return StatusCode::kGone;
  if (reason == "Invalid") return StatusCode::kInvalid;
  if (reason == "Forbidden") return StatusCode::kForbidden;
  if (reason == "Unauthorized") return StatusCode::kUnauthorized;
  if (reason == "TooManyRequests") return StatusCode::kTooManyRequests;
  if (reason == "Timeout" || reason == "ServerTimeout") return StatusCode::kTimeout;
  switch (http_status) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthorized;
    case 403: return StatusCode::kForbidden;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kConflict;
    case 410: return StatusCode::kGone;
    case 422: return StatusCode::kInvalid;
    case 429: return StatusCode::kTooManyRequests;
    case 504: return StatusCode::kTimeout;
    default: return http_status >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
}

}  // namespace

Status ApiErrorFromStatusObject(int code, const std::string& status_json, const std::string& what) {
  nlohmann::json status = nlohmann::json::parse(status_json, nullptr, false);
  std::string reason, message;
  if (status.is_object()) {
    reason = status.value("reason", "");
    message = status.value("message", "");
    if (code == 0) code = status.value("code", 0);
  }
  if (message.empty()) message = "HTTP " + std::to_string(code);
  Status out(CodeFor(code, reason), what + ": " + message);
  out.set_http_status(code);
  if (status.is_object() && status.contains("details") && status["details"].is_object()) {
    const auto& details = status["details"];
    if (details.contains("causes") && details["causes"].is_array()) {
      for (const auto& c : details["causes"]) {
        if (!c.is_object()) continue;
        out.add_cause({c.value("reason", ""), c.value("field", ""), c.value("message", "")});
      }
    }
    if (details.contains("retryAfterSeconds") && details["retryAfterSeconds"].is_number_integer()) {
      out.set_retry_after(std::chrono::seconds(details["retryAfterSeconds"].get<int>()));
    }
  }
  return out;
}

Status ApiErrorFromResponse(const http::Response& response, const std::string& what) {
  Status out = ApiErrorFromStatusObject(response.status, response.body, what);
  if (auto retry = response.Header("Retry-After")) {
    try {
      out.set_retry_after(std::chrono::seconds(std::stoi(*retry)));
    } catch (const std::exception&) {
      // An HTTP-date Retry-After is not used by kube-apiserver; the default backoff applies.
    }
  }
  return out;
}

}  // namespace ibo::kube
