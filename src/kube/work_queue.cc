#include "kube/work_queue.h"

#include <algorithm>
#include <cmath>

namespace ibo::kube {

WorkQueue::WorkQueue(WorkQueueOptions options, WorkQueueObserver observer)
    : options_(options), observer_(std::move(observer)), overall_(options.overall_qps, options.overall_burst) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  if (observer_.on_add) observer_.on_add();
  // A key being processed is queued again when its worker calls Done.
  if (processing_.count(key)) return;
  queue_.push_back(key);
  if (observer_.on_depth) observer_.on_depth(queue_.size());
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Clock::duration delay) {
  if (delay <= Clock::duration::zero()) return Add(key);
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  const auto when = Clock::now() + delay;
  // Keep only the earliest pending time for a key.
  auto [found, inserted] = delayed_by_key_.try_emplace(key);
  if (!inserted) {
    if (found->second->first <= when) return;
    delayed_.erase(found->second);
  }
  found->second = delayed_.emplace(when, key);
  cv_.notify_all();
}

WorkQueue::Clock::duration WorkQueue::NextBackoff(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  const int n = it == failures_.end() ? 0 : it->second;
  const double ms = options_.base_delay.count() * std::pow(2.0, std::min(n, 62));
  return std::chrono::milliseconds(static_cast<int64_t>(std::min<double>(ms, options_.max_delay.count())));
}

void WorkQueue::AddRateLimited(const std::string& key) {
  auto per_key = NextBackoff(key);
  {
    std::lock_guard lock(mu_);
    ++failures_[key];
  }
  if (observer_.on_retry) observer_.on_retry();
  AddAfter(key, std::max(per_key, overall_.Reserve(Clock::now())));
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteDueLocked(Clock::time_point now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    delayed_by_key_.erase(key);
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    PromoteDueLocked(Clock::now());
    if (!queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, delayed_.begin()->first);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  if (observer_.on_depth) observer_.on_depth(queue_.size());
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    if (observer_.on_depth) observer_.on_depth(queue_.size());
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace ibo::kube
