// One informer per (resource, namespace, label selector), shared by every controller that asks
// for it, as client-go's SharedInformerFactory gives them: one list and one watch each.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kube/informer.h"

namespace ibo::kube {

class InformerFactory {
 public:
  explicit InformerFactory(Client& client) : client_(client) {}
  InformerFactory(const InformerFactory&) = delete;
  InformerFactory& operator=(const InformerFactory&) = delete;

  // Created on the first ask, before Start(); the same informer afterwards. Options other than
  // namespace and selector come from the first ask.
  Informer& For(const ResourceType& type, const InformerOptions& options);
  void Start();
  void Stop();
  bool HasSynced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;

 private:
  Client& client_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;  // by path and selector
};

}  // namespace ibo::kube
