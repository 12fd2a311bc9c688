// Errors as values across layers: a Status (code + message + optional details) and StatusOr<T>,
// in the spirit of absl::Status / absl::StatusOr.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ibo {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // the caller's input is wrong (bad flag, malformed config)
  kNotFound,
  kAlreadyExists,
  kConflict,          // optimistic concurrency: stale resourceVersion
  kGone,              // resourceVersion too old (HTTP 410)
  kInvalid,           // the server refused the object (HTTP 422), see causes
  kUnauthorized,
  kForbidden,
  kTooManyRequests,   // see retry_after
  kTimeout,
  kUnavailable,       // connection refused, DNS, TLS, 5xx
  kFailedPrecondition,
  kCancelled,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

// One field-level reason the server gave for refusing an object (Status.details.causes).
struct FieldCause {
  std::string reason;
  std::string field;
  std::string message;
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The HTTP status behind this error, 0 when none (transport failure or not HTTP).
  int http_status() const { return http_status_; }
  Status& set_http_status(int s) { http_status_ = s; return *this; }
  const std::optional<std::chrono::seconds>& retry_after() const { return retry_after_; }
  Status& set_retry_after(std::chrono::seconds s) { retry_after_ = s; return *this; }
  const std::vector<FieldCause>& causes() const { return causes_; }
  Status& add_cause(FieldCause c) { causes_.push_back(std::move(c)); return *this; }

  // A copy with context put in front of the message ("reading kubeconfig: ...").
  Status Annotate(const std::string& context) const;
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int http_status_ = 0;
  std::optional<std::chrono::seconds> retry_after_;
  std::vector<FieldCause> causes_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }

template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ibo

// Early return of a non-OK Status from a function returning Status or StatusOr.
#define IBO_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::ibo::Status ibo_status_ = (expr);    \
    if (!ibo_status_.ok()) return ibo_status_; \
  } while (0)

#define IBO_CONCAT_INNER(a, b) a##b
#define IBO_CONCAT(a, b) IBO_CONCAT_INNER(a, b)
#define IBO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#define IBO_ASSIGN_OR_RETURN(lhs, expr) IBO_ASSIGN_OR_RETURN_IMPL(IBO_CONCAT(ibo_sor_, __LINE__), lhs, expr)
