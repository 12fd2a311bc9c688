// The leader's write gate: writes pass only within the renew deadline of the last lease renewal,
// since client-go's election gives no fencing and a paused leader would write with a stale cache.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "common/status.h"

namespace ibo::kube {

class WriteFence {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // The deadline must be shorter than the lease duration: the gap is what a write already past
  // the gate has to reach the server before a successor may acquire the lease.
  explicit WriteFence(std::chrono::milliseconds renew_deadline, Clock clock = &std::chrono::steady_clock::now);

  // A successful acquisition or renewal whose attempt started at `attempt_started` (the
  // conservative end: the server granted it no earlier).
  void Renewed(std::chrono::steady_clock::time_point attempt_started);
  // Leadership is over: no write passes again until a renewal.
  void Close();
  // Called once, on the first refused write: the replica should stop and exit.
  void OnRefused(std::function<void()> callback);

  // Ok while the steady clock is within the renew deadline of the last renewal; otherwise a
  // FailedPrecondition naming how long ago that was. `what` names the refused write.
  Status Check(const std::string& what);

 private:
  const std::chrono::milliseconds renew_deadline_;
  const Clock clock_;
  std::mutex mu_;
  bool open_ = false;
  bool refused_ = false;
  std::chrono::steady_clock::time_point last_renewal_{};
  std::function<void()> on_refused_;
};

}  // namespace ibo::kube
