#include "kube/api_error.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "common/json_parse.h"

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

// Members read leniently: a Status from a proxy or a broken server may hold any JSON, and
// nlohmann's value() throws on a member of another type (and converts a huge float to int).
std::string StringMember(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A non-negative integer that fits (up to a million), else nothing.
std::optional<int> IntMember(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    return v <= 1'000'000 ? std::optional<int>(static_cast<int>(v)) : std::nullopt;
  }
  const int64_t v = it->get<int64_t>();
  return v >= 0 && v <= 1'000'000 ? std::optional<int>(static_cast<int>(v)) : std::nullopt;
}

}  // namespace

Status ApiErrorFromStatusObject(int code, const std::string& status_json, const std::string& what) {
  // An unreadable or too deep body reads as no Status: the error keeps its HTTP code.
  auto parsed = ParseJson(status_json);
  const nlohmann::json status = parsed.ok() ? std::move(parsed).value() : nlohmann::json();
  std::string reason, message;
  if (status.is_object()) {
    reason = StringMember(status, "reason");
    message = StringMember(status, "message");
    if (code == 0) code = IntMember(status, "code").value_or(0);
  }
  if (message.empty()) message = "HTTP " + std::to_string(code);
  Status out(CodeFor(code, reason), what + ": " + message);
  out.set_http_status(code);
  if (status.is_object() && status.contains("details") && status["details"].is_object()) {
    const auto& details = status["details"];
    if (details.contains("causes") && details["causes"].is_array()) {
      for (const auto& c : details["causes"]) {
        if (!c.is_object()) continue;
        out.add_cause({StringMember(c, "reason"), StringMember(c, "field"), StringMember(c, "message")});
      }
    }
    if (const auto seconds = IntMember(details, "retryAfterSeconds")) {
      out.set_retry_after(std::chrono::seconds(*seconds));
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
