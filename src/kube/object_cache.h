// A thread-safe store of Kubernetes objects keyed "namespace/name", with secondary indexes
// (by namespace, by owner UID, by label, or any function of the object). Stored objects are
// immutable: readers get pointers to them (kTree) or their own decoded copy (kPacked).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/lister.h"

namespace ibo::kube {

// The values an object is indexed under.
using IndexFunc = std::function<std::vector<std::string>(const Json&)>;

std::string ObjectKey(const Json& object);  // "ns/name", or "name" when cluster-scoped

namespace indexes {
inline constexpr const char* kNamespace = "namespace";
inline constexpr const char* kOwnerUid = "owner-uid";
IndexFunc ByNamespace();
IndexFunc ByOwnerUid();
IndexFunc ByLabel(const std::string& label_key);
}  // namespace indexes

// How a cache holds its objects. A parsed nlohmann tree costs several times its JSON text (a map
// node and a heap string per field), so caches of thousands of objects keep MessagePack bytes
// and decode an object when it is read; small caches (Nodes) keep the trees and share them.
enum class CacheStorage { kTree, kPacked };

class ObjectCache : public Lister {
 public:
  explicit ObjectCache(CacheStorage storage = CacheStorage::kTree);
  // Indexes must be added before objects are. None is there by default: each costs a copy of every
  // key (the namespace index, once built in, was 4 MiB at 30,000 objects and read by nobody).
  void AddIndex(const std::string& name, IndexFunc func);

  // Returns the previous object, or null.
  ObjectPtr Upsert(Json object);
  // Upsert without handing back the previous object (no decode); whether there was one.
  bool Store(const Json& object);
  ObjectPtr Erase(const std::string& key);
  bool Remove(const std::string& key);  // Erase without the decode
  // Swaps in a full list; returns the objects that disappeared.
  std::vector<ObjectPtr> Replace(std::vector<Json> objects);

  ObjectPtr Get(const std::string& key) const override;  // null when absent
  std::vector<ObjectPtr> List() const override;
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const override;
  std::vector<std::string> KeysByIndex(const std::string& index, const std::string& value) const override;
  std::vector<std::string> Keys() const;
  size_t Size() const;

 private:
  struct Entry {
    ObjectPtr tree;                                         // kTree
    std::vector<uint8_t> packed;                            // kPacked
    std::vector<std::pair<std::string, std::string>> indexed;  // (index, value): unindexing needs no decode
  };
  Entry MakeEntry(const Json& object) const;
  ObjectPtr Read(const Entry& entry) const;
  std::vector<std::pair<std::string, std::string>> IndexValues(const Json& object) const;
  // Stores under the lock; the previous entry, if any, is moved into *previous.
  bool PutLocked(const std::string& key, Entry entry, Entry* previous);
  void IndexLocked(const std::string& key, const Entry& entry);
  void UnindexLocked(const std::string& key, const Entry& entry);

  const CacheStorage storage_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> items_;
  std::map<std::string, IndexFunc> index_funcs_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;
};

}  // namespace ibo::kube
