// A thread-safe store of Kubernetes objects keyed "namespace/name", with secondary indexes
// (by namespace, by owner UID, by label, or any function of the object). Objects are shared and
// immutable once stored: readers get pointers, never copies.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
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

class ObjectCache : public Lister {
 public:
  ObjectCache();
  // Indexes must be added before objects are.
  void AddIndex(const std::string& name, IndexFunc func);

  // Returns the previous object, or null.
  ObjectPtr Upsert(Json object);
  ObjectPtr Erase(const std::string& key);
  // Swaps in a full list; returns the objects that disappeared.
  std::vector<ObjectPtr> Replace(std::vector<Json> objects);

  ObjectPtr Get(const std::string& key) const override;  // null when absent
  std::vector<ObjectPtr> List() const override;
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const override;
  size_t Size() const;

 private:
  void IndexLocked(const std::string& key, const Json& object);
  void UnindexLocked(const std::string& key, const Json& object);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, IndexFunc> index_funcs_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;
};

}  // namespace ibo::kube
