#include "kube/event_recorder.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "common/time_format.h"

namespace ibo::kube {
namespace {
constexpr size_t kMaxRemembered = 4096;
constexpr size_t kMaxMessage = 1024;  // kube-apiserver refuses longer event messages

// Failures that say nothing about the Event itself: the same write may well land later.
bool Transient(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kCancelled:
    case StatusCode::kTooManyRequests: return true;
    default: return false;
  }
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return suffix;
}
}  // namespace

ApiEventRecorder::ApiEventRecorder(Client& client, std::string component, EventRecorderOptions options)
    : client_(client), component_(std::move(component)), options_(std::move(options)) {
  writer_ = std::thread([this] { WriteLoop(); });
}

ApiEventRecorder::~ApiEventRecorder() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
  }
  changed_.notify_all();
  writer_.join();
}

void ApiEventRecorder::Record(const Json& object, const std::string& type, const std::string& reason,
                              const std::string& message) {
  const Json& meta = object.contains("metadata") ? object["metadata"] : Json::object();
  Pending event{object.value("apiVersion", ""), object.value("kind", ""),   meta.value("namespace", "default"),
                meta.value("name", ""),         meta.value("uid", ""),      meta.value("resourceVersion", ""),
                type,                           reason,
                message.size() > kMaxMessage ? message.substr(0, kMaxMessage - 3) + "..." : message,
                options_.clock()};
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queued) {
      spdlog::warn("event {} on {}/{} not recorded: {} events are waiting to be written already", reason,
                   event.ns, event.name, queue_.size());
      return;
    }
    queue_.push_back(std::move(event));
    ++queued_;
  }
  changed_.notify_all();
}

bool ApiEventRecorder::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  return changed_.wait_for(lock, timeout, [&] { return finished_ >= target; });
}

void ApiEventRecorder::WriteLoop() {
  for (;;) {
    Pending event;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return !queue_.empty() || draining_; });
      if (queue_.empty()) return;
      if (draining_ && std::chrono::steady_clock::now() >= drain_deadline_) {
        spdlog::warn("{} events not recorded: the operator stopped before the API server took them", queue_.size());
        return;
      }
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    Write(event);
    {
      std::lock_guard lock(mu_);
      ++finished_;
    }
    changed_.notify_all();
  }
}

void ApiEventRecorder::Write(const Pending& event) {
  const std::string key = event.uid + "\x1f" + event.type + "\x1f" + event.reason + "\x1f" + event.message;
  // Chosen once: a create that landed although its answer was lost is then AlreadyExists.
  const std::string event_name = event.name + "." + RandomSuffix();
  int attempts = 0;
  while (attempts < options_.max_attempts) {
    if (TryWrite(event, key, event_name, attempts++) != Outcome::kRetry) return;
    if (attempts < options_.max_attempts && !Backoff(attempts - 1)) break;
  }
  spdlog::warn("event {} on {}/{} not recorded after {} attempts: {}", event.reason, event.ns, event.name, attempts,
               last_failure_);
}

ApiEventRecorder::Outcome ApiEventRecorder::TryWrite(const Pending& event, const std::string& key,
                                                     const std::string& event_name, int attempt) {
  if (auto it = seen_.find(key); it != seen_.end()) {
    const Outcome counted = TryCount(event, key, it->second);
    if (counted != Outcome::kDropped) return counted;
    seen_.erase(key);  // the Event expired (events have a TTL) or was deleted: start a new one
  }
  const Status created = client_.CreateWithoutResult(resources::kEvents, event.ns, NewEvent(event, event_name));
  if (created.ok() || (attempt > 0 && created.code() == StatusCode::kAlreadyExists)) {
    Remember(key, Seen{event.ns, event_name, 1});
    return Outcome::kWritten;
  }
  if (Transient(created)) {
    last_failure_ = created.ToString();
    return Outcome::kRetry;
  }
  spdlog::warn("event {} on {}/{} not recorded: {}", event.reason, event.ns, event.name, created.ToString());
  return Outcome::kWritten;  // nothing more to do with it
}

// A repeat: the existing Event's count is set, not added to, so that a retried patch counts once.
ApiEventRecorder::Outcome ApiEventRecorder::TryCount(const Pending& event, const std::string& key, Seen seen) {
  Json patch = {{"count", seen.count + 1}, {"lastTimestamp", FormatTime(event.at)}};
  auto patched = client_.Patch(resources::kEvents, seen.ns, seen.name, PatchType::kMerge, patch);
  if (patched.ok()) {
    seen_[key].count = seen.count + 1;
    return Outcome::kWritten;
  }
  if (!Transient(patched.status())) return Outcome::kDropped;
  last_failure_ = patched.status().ToString();
  return Outcome::kRetry;
}

Json ApiEventRecorder::NewEvent(const Pending& event, const std::string& event_name) const {
  const std::string at = FormatTime(event.at);
  Json out = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", event_name}, {"namespace", event.ns}}},
      {"involvedObject",
       {{"apiVersion", event.api_version},
        {"kind", event.kind},
        {"namespace", event.ns},
        {"name", event.name},
        {"uid", event.uid},
        {"resourceVersion", event.resource_version}}},
      {"type", event.type},
      {"reason", event.reason},
      {"message", event.message},
      {"count", 1},
      {"firstTimestamp", at},
      {"lastTimestamp", at},
      {"source", {{"component", component_}}},
      {"reportingComponent", component_},
      {"reportingInstance", options_.host},
  };
  if (!options_.host.empty()) out["source"]["host"] = options_.host;
  return out;
}

void ApiEventRecorder::Remember(const std::string& key, Seen seen) {
  if (seen_.insert_or_assign(key, std::move(seen)).second) order_.push_back(key);
  while (order_.size() > kMaxRemembered) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
}

bool ApiEventRecorder::Backoff(int attempt) {
  const std::chrono::milliseconds doubled = options_.first_backoff * (int64_t{1} << std::min(attempt, 20));
  const auto wait = std::min(options_.max_backoff, doubled);
  const auto until = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(mu_);
  for (;;) {  // a drain that begins during the wait shortens it
    const auto deadline = draining_ ? std::min(until, drain_deadline_) : until;
    if (std::chrono::steady_clock::now() >= deadline) break;
    changed_.wait_until(lock, deadline);
  }
  return !(draining_ && std::chrono::steady_clock::now() >= drain_deadline_);
}

}  // namespace ibo::kube
