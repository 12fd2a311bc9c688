#include "kube/event_recorder.h"

#include <random>

#include <spdlog/spdlog.h>

#include "common/time_format.h"

namespace ibo::kube {
namespace {
constexpr size_t kMaxRemembered = 4096;
constexpr size_t kMaxMessage = 1024;  // kube-apiserver refuses longer event messages
}  // namespace

ApiEventRecorder::ApiEventRecorder(Client& client, std::string component, std::string host,
                                   std::function<std::chrono::system_clock::time_point()> clock)
    : client_(client), component_(std::move(component)), host_(std::move(host)), clock_(std::move(clock)) {}

void ApiEventRecorder::Record(const Json& object, const std::string& type, const std::string& reason,
                              const std::string& raw_message) {
  const Json& meta = object.contains("metadata") ? object["metadata"] : Json::object();
  const std::string ns = meta.value("namespace", "default");
  const std::string name = meta.value("name", "");
  const std::string uid = meta.value("uid", "");
  const std::string message = raw_message.size() > kMaxMessage ? raw_message.substr(0, kMaxMessage - 3) + "..." : raw_message;
  const std::string now = FormatTime(clock_());
  const std::string key = uid + "\x1f" + type + "\x1f" + reason + "\x1f" + message;

  std::unique_lock lock(mu_);
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    Seen seen = it->second;
    lock.unlock();
    Json patch = {{"count", seen.count + 1}, {"lastTimestamp", now}};
    auto patched = client_.Patch(resources::kEvents, seen.ns, seen.name, PatchType::kMerge, patch);
    if (patched.ok()) {
      std::lock_guard relock(mu_);
      seen_[key].count = seen.count + 1;
      return;
    }
    // The Event expired (events have a TTL) or was deleted: start a new one.
    lock.lock();
    seen_.erase(key);
  }
  lock.unlock();

  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  const std::string event_name = name + "." + suffix;
  Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", event_name}, {"namespace", ns}}},
      {"involvedObject",
       {{"apiVersion", object.value("apiVersion", "")},
        {"kind", object.value("kind", "")},
        {"namespace", ns},
        {"name", name},
        {"uid", uid},
        {"resourceVersion", meta.value("resourceVersion", "")}}},
      {"type", type},
      {"reason", reason},
      {"message", message},
      {"count", 1},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"source", {{"component", component_}}},
      {"reportingComponent", component_},
      {"reportingInstance", host_},
  };
  if (!host_.empty()) event["source"]["host"] = host_;
  const Status created = client_.CreateWithoutResult(resources::kEvents, ns, event);
  if (!created.ok()) {
    spdlog::warn("event {} on {}/{} not recorded: {}", reason, ns, name, created.ToString());
    return;
  }
  std::lock_guard relock(mu_);
  seen_[key] = Seen{ns, event_name, 1};
  order_.push_back(key);
  while (order_.size() > kMaxRemembered) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace ibo::kube
