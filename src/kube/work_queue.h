// A rate-limited work queue as client-go's: keys are de-duplicated, a key is never handed to two
// workers at once, failures back off per key (exponential) and overall (token bucket), and keys
// can be added after a delay.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "kube/rate_limiter.h"

namespace ibo::kube {

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{std::chrono::seconds(1000)};
  double overall_qps = 10;  // client-go's DefaultControllerRateLimiter: 10 qps, burst 100
  int overall_burst = 100;
};

// Observes the queue, for metrics (workqueue_depth, workqueue_adds_total, workqueue_retries_total).
struct WorkQueueObserver {
  std::function<void(size_t depth)> on_depth;
  std::function<void()> on_add;
  std::function<void()> on_retry;
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WorkQueue(WorkQueueOptions options = {}, WorkQueueObserver observer = {});

  void Add(const std::string& key);
  void AddAfter(const std::string& key, Clock::duration delay);
  // Adds after the key's own backoff (and the overall limit); counts a retry.
  void AddRateLimited(const std::string& key);
  // Clears the key's failure count, after it was handled successfully.
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;
  // The delay AddRateLimited would use for the key's next failure, without recording it.
  Clock::duration NextBackoff(const std::string& key) const;

  // Blocks for the next key; nullopt once shut down. Call Done(key) when finished with it.
  std::optional<std::string> Get();
  void Done(const std::string& key);
  // Wakes every Get(); keys still queued are dropped.
  void ShutDown();
  bool ShuttingDown() const;
  size_t Len() const;

 private:
  void AddLocked(const std::string& key);
  void PromoteDueLocked(Clock::time_point now);

  WorkQueueOptions options_;
  WorkQueueObserver observer_;
  TokenBucket overall_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  using Delayed = std::multimap<Clock::time_point, std::string>;
  Delayed delayed_;  // in order of time, for the workers' wait
  // Each delayed key's one entry in delayed_: a build's re-check found in O(log n), not by a scan
  // of every pending one under the lock the watch handlers share (O(n^2) over a backlog).
  std::map<std::string, Delayed::iterator> delayed_by_key_;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

}  // namespace ibo::kube
