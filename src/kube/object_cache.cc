#include "kube/object_cache.h"

namespace ibo::kube {

std::string ObjectKey(const Json& object) {
  static const Json kNoMetadata = Json::object();
  // Both branches are lvalues: no copy of the metadata.
  const Json& meta = object.contains("metadata") ? object["metadata"] : kNoMetadata;
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

namespace indexes {

IndexFunc ByNamespace() {
  return [](const Json& o) -> std::vector<std::string> {
    return {o.contains("metadata") ? o["metadata"].value("namespace", "") : ""};
  };
}

IndexFunc ByOwnerUid() {
  return [](const Json& o) {
    std::vector<std::string> out;
    if (o.contains("metadata") && o["metadata"].contains("ownerReferences")) {
      for (const auto& ref : o["metadata"]["ownerReferences"]) out.push_back(ref.value("uid", ""));
    }
    return out;
  };
}

IndexFunc ByLabel(const std::string& label_key) {
  return [label_key](const Json& o) -> std::vector<std::string> {
    if (o.contains("metadata") && o["metadata"].contains("labels") && o["metadata"]["labels"].contains(label_key)) {
      return {o["metadata"]["labels"][label_key].get<std::string>()};
    }
    return {};
  };
}

}  // namespace indexes

ObjectCache::ObjectCache() { AddIndex(indexes::kNamespace, indexes::ByNamespace()); }

void ObjectCache::AddIndex(const std::string& name, IndexFunc func) {
  std::unique_lock lock(mu_);
  index_funcs_[name] = std::move(func);
  auto& index = indexes_[name];
  index.clear();
  for (const auto& [key, object] : items_) {
    for (const auto& v : index_funcs_[name](*object)) index[v].insert(key);
  }
}

void ObjectCache::IndexLocked(const std::string& key, const Json& object) {
  for (const auto& [name, func] : index_funcs_) {
    for (const auto& v : func(object)) indexes_[name][v].insert(key);
  }
}

void ObjectCache::UnindexLocked(const std::string& key, const Json& object) {
  for (const auto& [name, func] : index_funcs_) {
    auto& index = indexes_[name];
    for (const auto& v : func(object)) {
      auto it = index.find(v);
      if (it == index.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.erase(it);
    }
  }
}

ObjectPtr ObjectCache::Upsert(Json object) {
  const std::string key = ObjectKey(object);
  auto stored = std::make_shared<const Json>(std::move(object));
  std::unique_lock lock(mu_);
  ObjectPtr previous;
  auto it = items_.find(key);
  if (it != items_.end()) {
    previous = it->second;
    UnindexLocked(key, *previous);
  }
  items_[key] = stored;
  IndexLocked(key, *stored);
  return previous;
}

ObjectPtr ObjectCache::Erase(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr previous = std::move(it->second);
  items_.erase(it);
  UnindexLocked(key, *previous);
  return previous;
}

std::vector<ObjectPtr> ObjectCache::Replace(std::vector<Json> objects) {
  std::map<std::string, ObjectPtr> fresh;
  for (auto& o : objects) {
    std::string key = ObjectKey(o);
    fresh[std::move(key)] = std::make_shared<const Json>(std::move(o));
  }
  std::unique_lock lock(mu_);
  std::vector<ObjectPtr> gone;
  for (auto& [key, object] : items_) {
    if (!fresh.count(key)) gone.push_back(object);
  }
  items_ = std::move(fresh);
  for (auto& [name, index] : indexes_) index.clear();
  for (const auto& [key, object] : items_) IndexLocked(key, *object);
  return gone;
}

ObjectPtr ObjectCache::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> ObjectCache::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, object] : items_) out.push_back(object);
  return out;
}

std::vector<ObjectPtr> ObjectCache::ByIndex(const std::string& index, const std::string& value) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto it = idx->second.find(value);
  if (it == idx->second.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) out.push_back(items_.at(key));
  return out;
}

size_t ObjectCache::Size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

ObjectPtr UnionLister::Get(const std::string& key) const {
  for (const auto* p : parts_) {
    if (auto o = p->Get(key)) return o;
  }
  return nullptr;
}

std::vector<ObjectPtr> UnionLister::List() const {
  std::vector<ObjectPtr> out;
  for (const auto* p : parts_) {
    auto part = p->List();
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::vector<ObjectPtr> UnionLister::ByIndex(const std::string& index, const std::string& value) const {
  std::vector<ObjectPtr> out;
  for (const auto* p : parts_) {
    auto part = p->ByIndex(index, value);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

}  // namespace ibo::kube
