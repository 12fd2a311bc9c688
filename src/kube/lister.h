// Read access to an informer's cache, as client-go's listers and indexers give it: what a
// controller reads instead of the API server. Abstract so that adapters are tested over any store.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ibo::kube {

using Json = nlohmann::json;
using ObjectPtr = std::shared_ptr<const Json>;

class Lister {
 public:
  virtual ~Lister() = default;
  virtual ObjectPtr Get(const std::string& key) const = 0;  // "namespace/name"; null when absent
  virtual std::vector<ObjectPtr> List() const = 0;
  virtual std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const = 0;
  // The keys alone, for callers that count or enqueue: a packed cache decodes nothing for them.
  virtual std::vector<std::string> KeysByIndex(const std::string& index, const std::string& value) const;
};

// Several listers read as one: the informers of several namespaces, say.
class UnionLister : public Lister {
 public:
  explicit UnionLister(std::vector<const Lister*> parts) : parts_(std::move(parts)) {}
  ObjectPtr Get(const std::string& key) const override;
  std::vector<ObjectPtr> List() const override;
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const override;
  std::vector<std::string> KeysByIndex(const std::string& index, const std::string& value) const override;

 private:
  std::vector<const Lister*> parts_;
};

}  // namespace ibo::kube
