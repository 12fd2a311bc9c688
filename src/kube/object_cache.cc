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

ObjectCache::ObjectCache(CacheStorage storage) : storage_(storage) {}

void ObjectCache::AddIndex(const std::string& name, IndexFunc func) {
  std::unique_lock lock(mu_);
  index_funcs_[name] = std::move(func);
  auto& index = indexes_[name];
  index.clear();
  for (auto& [key, entry] : items_) {
    for (const auto& v : index_funcs_[name](*Read(entry))) {
      index[v].insert(key);
      entry.indexed.emplace_back(name, v);
    }
  }
}

std::vector<std::pair<std::string, std::string>> ObjectCache::IndexValues(const Json& object) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, func] : index_funcs_) {
    for (auto& v : func(object)) out.emplace_back(name, std::move(v));
  }
  return out;
}

ObjectCache::Entry ObjectCache::MakeEntry(const Json& object) const {
  Entry entry;
  if (storage_ == CacheStorage::kPacked) {
    entry.packed = Json::to_msgpack(object);
    entry.packed.shrink_to_fit();
  } else {
    entry.tree = std::make_shared<const Json>(object);
  }
  return entry;
}

ObjectPtr ObjectCache::Read(const Entry& entry) const {
  if (entry.tree) return entry.tree;
  return std::make_shared<const Json>(Json::from_msgpack(entry.packed));
}

void ObjectCache::IndexLocked(const std::string& key, const Entry& entry) {
  for (const auto& [name, value] : entry.indexed) indexes_[name][value].insert(key);
}

void ObjectCache::UnindexLocked(const std::string& key, const Entry& entry) {
  for (const auto& [name, value] : entry.indexed) {
    auto& index = indexes_[name];
    auto it = index.find(value);
    if (it == index.end()) continue;
    it->second.erase(key);
    if (it->second.empty()) index.erase(it);
  }
}

bool ObjectCache::PutLocked(const std::string& key, Entry entry, Entry* previous) {
  auto it = items_.find(key);
  const bool existed = it != items_.end();
  if (existed) {
    UnindexLocked(key, it->second);
    if (previous) *previous = std::move(it->second);
    it->second = std::move(entry);
  } else {
    it = items_.emplace(key, std::move(entry)).first;
  }
  IndexLocked(key, it->second);
  return existed;
}

ObjectPtr ObjectCache::Upsert(Json object) {
  const std::string key = ObjectKey(object);
  Entry entry;
  if (storage_ == CacheStorage::kTree) {
    entry.tree = std::make_shared<const Json>(std::move(object));  // moved in: no copy
  } else {
    entry = MakeEntry(object);
  }
  std::unique_lock lock(mu_);
  entry.indexed = IndexValues(entry.tree ? *entry.tree : object);
  Entry previous;
  if (!PutLocked(key, std::move(entry), &previous)) return nullptr;
  return Read(previous);
}

bool ObjectCache::Store(const Json& object) {
  const std::string key = ObjectKey(object);
  Entry entry = MakeEntry(object);
  std::unique_lock lock(mu_);
  entry.indexed = IndexValues(object);
  return PutLocked(key, std::move(entry), nullptr);
}

ObjectPtr ObjectCache::Erase(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  Entry previous = std::move(it->second);
  items_.erase(it);
  UnindexLocked(key, previous);
  return Read(previous);
}

bool ObjectCache::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return false;
  UnindexLocked(key, it->second);
  items_.erase(it);
  return true;
}

std::vector<ObjectPtr> ObjectCache::Replace(std::vector<Json> objects) {
  std::map<std::string, Entry> fresh;
  {
    std::shared_lock lock(mu_);  // the index functions are read under the lock
    for (auto& o : objects) {
      Entry entry = MakeEntry(o);
      entry.indexed = IndexValues(o);
      fresh[ObjectKey(o)] = std::move(entry);
    }
  }
  std::unique_lock lock(mu_);
  std::vector<ObjectPtr> gone;
  for (auto& [key, entry] : items_) {
    if (!fresh.count(key)) gone.push_back(Read(entry));
  }
  items_ = std::move(fresh);
  for (auto& [name, index] : indexes_) index.clear();
  for (const auto& [key, entry] : items_) IndexLocked(key, entry);
  return gone;
}

ObjectPtr ObjectCache::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : Read(it->second);
}

std::vector<ObjectPtr> ObjectCache::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, entry] : items_) out.push_back(Read(entry));
  return out;
}

std::vector<std::string> ObjectCache::KeysByIndex(const std::string& index, const std::string& value) const {
  std::shared_lock lock(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return {};
  auto it = idx->second.find(value);
  if (it == idx->second.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<ObjectPtr> ObjectCache::ByIndex(const std::string& index, const std::string& value) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto it = idx->second.find(value);
  if (it == idx->second.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) out.push_back(Read(items_.at(key)));
  return out;
}

std::vector<std::string> ObjectCache::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, entry] : items_) out.push_back(key);
  return out;
}

size_t ObjectCache::Size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

std::vector<std::string> Lister::KeysByIndex(const std::string& index, const std::string& value) const {
  std::vector<std::string> out;
  for (const auto& object : ByIndex(index, value)) out.push_back(ObjectKey(*object));
  return out;
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

std::vector<std::string> UnionLister::KeysByIndex(const std::string& index, const std::string& value) const {
  std::vector<std::string> out;
  for (const auto* p : parts_) {
    auto part = p->KeysByIndex(index, value);
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
