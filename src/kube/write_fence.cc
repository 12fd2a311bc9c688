#include "kube/write_fence.h"

#include <spdlog/spdlog.h>

namespace ibo::kube {

WriteFence::WriteFence(std::chrono::milliseconds renew_deadline, Clock clock)
    : renew_deadline_(renew_deadline), clock_(std::move(clock)) {}

void WriteFence::Renewed(std::chrono::steady_clock::time_point attempt_started) {
  std::lock_guard lock(mu_);
  // Renewals can finish out of order only across a restart of the election; keep the latest.
  if (!open_ || attempt_started > last_renewal_) last_renewal_ = attempt_started;
  open_ = true;
}

void WriteFence::Close() {
  std::lock_guard lock(mu_);
  open_ = false;
}

void WriteFence::OnRefused(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  on_refused_ = std::move(callback);
}

Status WriteFence::Check(const std::string& what) {
  std::function<void()> notify;
  Status refusal;
  {
    std::lock_guard lock(mu_);
    const auto now = clock_();
    if (open_ && now < last_renewal_ + renew_deadline_) return Status::Ok();
    std::string why = "this replica does not hold the lease";
    if (open_) {
      const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_renewal_);
      why = "the lease was last renewed " + std::to_string(ago.count()) + " ms ago, past the renew deadline of " +
            std::to_string(renew_deadline_.count()) + " ms";
    }
    refusal = FailedPrecondition(what + " refused by the leader-election fence: " + why);
    if (!refused_) {
      refused_ = true;
      notify = on_refused_;
    }
  }
  if (notify) {
    spdlog::error("{}; stopping", refusal.message());
    notify();
  }
  return refusal;
}

}  // namespace ibo::kube
