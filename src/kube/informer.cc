#include "kube/informer.h"

#include <random>

#include <spdlog/spdlog.h>

namespace ibo::kube {

Informer::Informer(Client& client, ResourceType type, InformerOptions options)
    : client_(client), type_(std::move(type)), options_(std::move(options)) {
  cache_.AddIndex(indexes::kOwnerUid, indexes::ByOwnerUid());
}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  if (options_.resync_period.count() > 0) resync_thread_ = std::thread([this] { ResyncLoop(); });
}

void Informer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (current_) current_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!synced_) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void Informer::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void Informer::Dispatch(const std::string& type, const Json& object) {
  std::lock_guard dispatch(dispatch_mu_);
  if (type == "DELETED") {
    auto previous = cache_.Erase(ObjectKey(object));
    for (auto& h : handlers_) if (h.on_delete) h.on_delete(previous ? *previous : object);
    return;
  }
  auto previous = cache_.Upsert(object);
  for (auto& h : handlers_) {
    if (previous) {
      if (h.on_update) h.on_update(*previous, object);
    } else if (h.on_add) {
      h.on_add(object);
    }
  }
}

StatusOr<std::string> Informer::ListAndReplace() {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.limit = options_.list_page_size;
  IBO_ASSIGN_OR_RETURN(Json list, client_.ListAll(type_, options_.namespace_, options));
  std::vector<Json> items;
  // Items in a list carry no kind/apiVersion; handlers and adapters expect whole objects.
  const std::string kind = list.value("kind", "");
  for (auto& item : list["items"]) {
    if (!item.contains("apiVersion")) item["apiVersion"] = type_.ApiVersion();
    if (!item.contains("kind") && kind.size() > 4) item["kind"] = kind.substr(0, kind.size() - 4);  // PodList
    items.push_back(std::move(item));
  }
  // Handlers see a relist as adds, updates and deletes, so nothing is missed across a 410.
  std::lock_guard dispatch(dispatch_mu_);
  std::vector<std::pair<std::string, ObjectPtr>> previous;  // key, what the cache held
  previous.reserve(items.size());
  for (const auto& item : items) {
    std::string key = ObjectKey(item);
    ObjectPtr old = cache_.Get(key);
    previous.emplace_back(std::move(key), std::move(old));
  }
  const std::vector<ObjectPtr> gone = cache_.Replace(std::move(items));
  for (const auto& [key, old] : previous) {
    const ObjectPtr now = cache_.Get(key);
    for (auto& h : handlers_) {
      if (old) {
        if (h.on_update) h.on_update(*old, *now);
      } else if (h.on_add) {
        h.on_add(*now);
      }
    }
  }
  for (const auto& object : gone) {
    for (auto& h : handlers_) if (h.on_delete) h.on_delete(*object);
  }
  ++relists_;
  return list["metadata"].value("resourceVersion", "");
}

Status Informer::WatchFrom(std::string& resource_version) {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.resource_version = resource_version;
  options.allow_watch_bookmarks = true;
  static thread_local std::mt19937 rng{std::random_device{}()};
  const auto min = options_.min_watch_timeout.count();
  options.timeout_seconds = static_cast<int>(min + std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, min - 1))(rng));
  auto stream = client_.Watch(type_, options_.namespace_, options);
  if (!stream.ok()) return stream.status();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {StatusCode::kCancelled, "stopping"};
    current_ = std::move(*stream);
  }
  Status result;
  while (!stopping_) {
    auto event = current_->Next();
    if (!event.ok()) { result = event.status(); break; }
    if (!event->has_value()) break;  // the server ended the watch: start the next one
    WatchEvent& e = **event;
    const std::string rv = e.object.contains("metadata") ? e.object["metadata"].value("resourceVersion", "") : "";
    if (e.type != "BOOKMARK") {
      if (!e.object.contains("apiVersion")) e.object["apiVersion"] = type_.ApiVersion();
      Dispatch(e.type, e.object);
    }
    if (!rv.empty()) resource_version = rv;
  }
  std::lock_guard lock(mu_);
  current_.reset();
  return result;
}

void Informer::ResyncLoop() {
  while (true) {
    SleepFor(std::chrono::duration_cast<std::chrono::milliseconds>(options_.resync_period));
    if (stopping_) return;
    if (!synced_) continue;
    std::lock_guard dispatch(dispatch_mu_);
    for (const auto& object : cache_.List()) {
      for (auto& h : handlers_) if (h.on_update) h.on_update(*object, *object);
    }
  }
}

void Informer::Run() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::chrono::milliseconds backoff = options_.initial_backoff;
  auto jittered = [&](std::chrono::milliseconds d) {
    return std::chrono::milliseconds(static_cast<int64_t>(d.count() * std::uniform_real_distribution<double>(1.0, 2.0)(rng)));
  };
  std::string resource_version;
  while (!stopping_) {
    if (resource_version.empty()) {
      auto rv = ListAndReplace();
      if (!rv.ok()) {
        spdlog::warn("informer {}: list failed: {}; retrying", type_.resource, rv.status().ToString());
        SleepFor(jittered(backoff));
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      resource_version = *rv;
      synced_ = true;
      backoff = options_.initial_backoff;
    }
    Status s = WatchFrom(resource_version);
    if (stopping_) break;
    if (s.ok()) {
      backoff = options_.initial_backoff;
      continue;
    }
    if (s.code() == StatusCode::kGone) {
      spdlog::info("informer {}: resourceVersion {} is gone; listing again", type_.resource, resource_version);
      resource_version.clear();
      continue;
    }
    spdlog::warn("informer {}: watch failed: {}; reconnecting", type_.resource, s.ToString());
    SleepFor(jittered(backoff));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace ibo::kube
