#include "kube/informer_factory.h"

#include <thread>

namespace ibo::kube {

Informer& InformerFactory::For(const ResourceType& type, const InformerOptions& options) {
  std::lock_guard lock(mu_);
  const std::string key = type.Path(options.namespace_) + "?" + options.label_selector;
  auto& slot = informers_[key];
  if (!slot) slot = std::make_unique<Informer>(client_, type, options);
  return *slot;
}

void InformerFactory::Start() {
  std::lock_guard lock(mu_);
  for (auto& [key, informer] : informers_) informer->Start();
}

void InformerFactory::Stop() {
  std::lock_guard lock(mu_);
  for (auto& [key, informer] : informers_) informer->Stop();
}

bool InformerFactory::HasSynced() const {
  std::lock_guard lock(mu_);
  for (const auto& [key, informer] : informers_) {
    if (!informer->HasSynced()) return false;
  }
  return true;
}

bool InformerFactory::WaitForSync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!HasSynced()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace ibo::kube
