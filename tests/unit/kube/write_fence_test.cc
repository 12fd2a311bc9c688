// The leader's write fence against a fake steady clock: open within the renew deadline of the
// last renewal, closed after it, after Close() and before any renewal, and the refusal callback
// runs once.
#include "kube/write_fence.h"

#include <gtest/gtest.h>

namespace ibo::kube {
namespace {

using namespace std::chrono_literals;
using Time = std::chrono::steady_clock::time_point;

struct FakeClock {
  Time now{std::chrono::hours(1000)};
  WriteFence::Clock AsClock() { return [this] { return now; }; }
};

TEST(WriteFenceTest, RefusesBeforeAnyRenewal) {
  FakeClock clock;
  WriteFence fence(10s, clock.AsClock());
  Status s = fence.Check("create pods ci/a");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "create pods ci/a refused by the leader-election fence: this replica does not hold the lease");
}

TEST(WriteFenceTest, OpenUntilTheRenewDeadlineOfTheLastRenewal) {
  FakeClock clock;
  WriteFence fence(10s, clock.AsClock());
  fence.Renewed(clock.now);
  clock.now += 9999ms;
  EXPECT_TRUE(fence.Check("update").ok());
  clock.now += 1ms;  // exactly at the deadline: closed, as the elector judges it lost there
  Status s = fence.Check("patch imagebuilds/status ci/a");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "patch imagebuilds/status ci/a refused by the leader-election fence: the lease was last renewed 10000 ms "
            "ago, past the renew deadline of 10000 ms");
}

TEST(WriteFenceTest, ARenewalReopensAndMovesTheDeadline) {
  FakeClock clock;
  WriteFence fence(10s, clock.AsClock());
  fence.Renewed(clock.now);
  clock.now += 8s;
  fence.Renewed(clock.now - 1s);  // the attempt started a second ago
  clock.now += 8s;
  EXPECT_TRUE(fence.Check("create").ok());
  clock.now += 1s;
  EXPECT_FALSE(fence.Check("create").ok());
  // An older renewal reported late does not move the deadline back... nor forward.
  fence.Renewed(clock.now - 12s);
  EXPECT_FALSE(fence.Check("create").ok());
}

TEST(WriteFenceTest, ClosedAfterLeadershipEnds) {
  FakeClock clock;
  WriteFence fence(10s, clock.AsClock());
  fence.Renewed(clock.now);
  fence.Close();
  EXPECT_EQ(fence.Check("delete pods ci/a").code(), StatusCode::kFailedPrecondition);
}

TEST(WriteFenceTest, TheFirstRefusalStopsTheReplicaOnce) {
  FakeClock clock;
  WriteFence fence(10s, clock.AsClock());
  int stops = 0;
  fence.OnRefused([&] { ++stops; });
  fence.Renewed(clock.now);
  EXPECT_TRUE(fence.Check("create").ok());
  EXPECT_EQ(stops, 0);
  clock.now += 30s;  // a SIGSTOP longer than the lease
  EXPECT_FALSE(fence.Check("create").ok());
  EXPECT_FALSE(fence.Check("create events").ok());
  EXPECT_EQ(stops, 1);
}

}  // namespace
}  // namespace ibo::kube
