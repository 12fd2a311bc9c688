#include "controller/retry_policy.h"

#include <algorithm>

namespace ibo::controller {

RetryPlan PlanRetry(int failed_attempt, int retries, std::chrono::seconds first_backoff, SystemTime now) {
  RetryPlan plan;
  if (failed_attempt > retries) return plan;
  plan.retry = true;
  plan.next_attempt = failed_attempt + 1;
  plan.backoff = std::min<std::chrono::seconds>(first_backoff * (1 << std::min(failed_attempt - 1, 10)),
                                                std::chrono::minutes(5));
  plan.next_time = now + plan.backoff;
  return plan;
}

}  // namespace ibo::controller
