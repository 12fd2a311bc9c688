// A list-then-watch reflector feeding an ObjectCache, with add/update/delete handlers, a
// has-synced signal and periodic resync: what client-go's shared informer gives a controller.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/object_cache.h"

namespace ibo::kube {

struct EventHandlers {
  std::function<void(const Json&)> on_add;
  std::function<void(const Json& old_object, const Json& new_object)> on_update;
  std::function<void(const Json&)> on_delete;  // the object as the cache last held it
  // Any add, update or delete, with the newest object (a delete's as the watch sent it): for
  // handlers that only enqueue. When no handler has on_update or on_delete, the informer never
  // decodes a packed cache's previous copy.
  std::function<void(const Json&)> on_change;
};

// Trims an object before it is cached and handed to handlers, as client-go's transform
// functions do: what no reader needs (managedFields, a pod's container specs) costs memory.
using Transform = std::function<void(Json&)>;
void DropManagedFields(Json& object);

struct InformerOptions {
  std::string namespace_;           // empty: all namespaces
  std::string label_selector;
  std::chrono::seconds resync_period{0};  // 0: never; else every handler sees on_update(o, o)
  // Until the first sync, lists come from the API server's watch cache (resourceVersion=0),
  // whole and read as they arrive; after it, from etcd in pages of list_page_size.
  bool first_list_from_watch_cache = true;
  int64_t list_page_size = 500;  // the next page is read while one is stored: two in memory at most
  CacheStorage storage = CacheStorage::kTree;
  Transform transform;  // none: objects are cached as the server sent them
  std::vector<DroppedMember> unparsed_members;  // never built by lists and watches (ListOptions)
  ProtobufObjectDecoder protobuf_objects;  // set: lists and watches in protobuf (ListOptions)
  // The server ends each watch after a random time in [min, 2*min), as client-go does.
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

class Informer {
 public:
  Informer(Client& client, ResourceType type, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start().
  void AddIndex(const std::string& name, IndexFunc func) { cache_.AddIndex(name, std::move(func)); }
  void AddHandlers(EventHandlers handlers);

  void Start();
  void Stop();
  bool HasSynced() const { return synced_.load(); }
  bool WaitForSync(std::chrono::milliseconds timeout);

  const ObjectCache& cache() const { return cache_; }
  const ResourceType& type() const { return type_; }
  // How many times it listed from scratch (after a 410 Gone, among others).
  int relists() const { return relists_.load(); }

 private:
  void Run();
  // Lists everything and swaps it into the cache; returns the list's resourceVersion.
  StatusOr<std::string> ListAndReplace();
  // Watches from `resource_version` until the stream ends or fails; updates it as events arrive.
  Status WatchFrom(std::string& resource_version);
  // Under dispatch_mu_: stores one object (or forgets one) and tells the handlers.
  void Put(Json object);
  void Forget(const std::string& key, const Json* as_sent);
  void StoreListed(Json item, std::set<std::string>& seen);
  ListOptions ListOptionsFor() const;
  StatusOr<std::string> ListFromWatchCache(std::set<std::string>& seen, int& pages);
  StatusOr<std::string> ListInPages(std::set<std::string>& seen, int& pages);
  void SleepFor(std::chrono::milliseconds d);
  void ResyncLoop();

  Client& client_;
  ResourceType type_;
  InformerOptions options_;
  ObjectCache cache_;
  std::vector<EventHandlers> handlers_;
  bool reads_old_ = false;  // some handler has on_update or on_delete
  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> relists_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<WatchStream> current_;
  std::thread thread_;
  std::thread resync_thread_;
  // Handlers run on the reflector thread and the resync thread, never on both at once.
  std::mutex dispatch_mu_;
};

}  // namespace ibo::kube
