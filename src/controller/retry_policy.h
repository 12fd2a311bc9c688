// The one retry rule for build attempts and merge attempts: spec.retries more attempts after the
// first, each after the operator's backoff, doubling per attempt, capped at 5 minutes.
#pragma once

#include <chrono>

#include "common/time_format.h"

namespace ibo::controller {

struct RetryPlan {
  bool retry = false;              // false: out of retries, the failure is final
  int next_attempt = 0;            // the attempt to run next, when retrying
  std::chrono::seconds backoff{0};
  SystemTime next_time;            // when it may start
};

RetryPlan PlanRetry(int failed_attempt, int retries, std::chrono::seconds first_backoff, SystemTime now);

}  // namespace ibo::controller
