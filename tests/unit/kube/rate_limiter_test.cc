#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

namespace ibo::kube {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketTest, BurstThenQps) {
  TokenBucket bucket(10, 3);
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  EXPECT_EQ(bucket.Reserve(t0), 0ns);
  EXPECT_EQ(bucket.Reserve(t0), 0ns);
  EXPECT_EQ(bucket.Reserve(t0), 0ns);
  // The fourth waits one token (100 ms at 10 QPS), the fifth two.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(bucket.Reserve(t0)), 100ms);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(bucket.Reserve(t0)), 200ms);
  // A second later the debt is repaid and the bucket refilled up to its burst only.
  const auto t1 = t0 + 10s;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(t1), 0ns);
  EXPECT_GT(bucket.Reserve(t1), 0ns);
}

TEST(TokenBucketTest, ZeroQpsNeverWaits) {
  TokenBucket bucket(0, 1);
  const auto t0 = TokenBucket::Clock::time_point{};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(bucket.Reserve(t0), 0ns);
}

}  // namespace
}  // namespace ibo::kube
