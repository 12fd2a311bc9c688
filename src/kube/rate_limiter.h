// A client-side token bucket (QPS with a burst), as client-go's default rate limiter.
#pragma once

#include <chrono>
#include <mutex>

namespace ibo::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // qps <= 0 disables limiting.
  TokenBucket(double qps, int burst);
  // Takes a token at `now` and says how long the caller must wait before using it.
  Clock::duration Reserve(Clock::time_point now);
  // Takes a token, sleeping as long as needed.
  void Wait();

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
  bool started_ = false;
};

}  // namespace ibo::kube
