#include "kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ibo::kube {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueueTest, DeduplicatesQueuedKeys) {
  WorkQueue q;
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), "a");
  EXPECT_EQ(q.Get(), "b");
}

TEST(WorkQueueTest, AKeyInProcessIsRequeuedOnlyAfterDone) {
  WorkQueue q;
  q.Add("a");
  auto key = q.Get();
  ASSERT_EQ(key, "a");
  q.Add("a");              // changed while a worker holds it
  EXPECT_EQ(q.Len(), 0u);  // not handed to a second worker
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "a");
}

TEST(WorkQueueTest, NoKeyIsHandledByTwoWorkersAtOnce) {
  WorkQueue q;
  std::atomic<int> in_flight{0}, max_in_flight{0}, handled{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        const int now = ++in_flight;
        int seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {}
        std::this_thread::sleep_for(1ms);
        --in_flight;
        ++handled;
        q.Done(*key);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    q.Add("same");
    std::this_thread::sleep_for(50us);
  }
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(max_in_flight.load(), 1);
  EXPECT_GE(handled.load(), 1);
}

TEST(WorkQueueTest, BackoffIsExponentialPerKeyAndCapped) {
  WorkQueueOptions options;
  options.base_delay = 5ms;
  options.max_delay = 1000s;
  WorkQueue q(options);
  EXPECT_EQ(q.NextBackoff("k"), 5ms);
  q.AddRateLimited("k");
  EXPECT_EQ(q.NextBackoff("k"), 10ms);
  q.AddRateLimited("k");
  EXPECT_EQ(q.NextBackoff("k"), 20ms);
  EXPECT_EQ(q.NumRequeues("k"), 2);
  EXPECT_EQ(q.NextBackoff("other"), 5ms);
  for (int i = 0; i < 40; ++i) q.AddRateLimited("k");
  EXPECT_EQ(q.NextBackoff("k"), 1000s);
  q.Forget("k");
  EXPECT_EQ(q.NextBackoff("k"), 5ms);
  EXPECT_EQ(q.NumRequeues("k"), 0);
}

TEST(WorkQueueTest, DelayedAddsArriveInOrderOfTime) {
  WorkQueue q;
  const auto start = std::chrono::steady_clock::now();
  q.AddAfter("late", 60ms);
  q.AddAfter("early", 20ms);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Get(), "early");
  EXPECT_EQ(q.Get(), "late");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 60ms);
}

TEST(WorkQueueTest, AnEarlierDelayReplacesALaterOne) {
  WorkQueue q;
  q.AddAfter("k", 10s);
  q.AddAfter("k", 10ms);
  EXPECT_EQ(q.Get(), "k");
}

TEST(WorkQueueTest, ManyDelayedKeysArriveOnceEachAtTheirEarliestTime) {
  WorkQueue q;
  constexpr int kKeys = 50;
  for (int i = 0; i < kKeys; ++i) q.AddAfter("k" + std::to_string(i), 10s);
  // In the order of their times, so that a slow machine between two adds cannot swap them.
  for (int i = 0; i < kKeys; ++i) q.AddAfter("k" + std::to_string(i), std::chrono::milliseconds(1 + i));
  for (int i = 0; i < kKeys; ++i) q.AddAfter("k" + std::to_string(i), 20s);  // later: changes nothing
  for (int i = 0; i < kKeys; ++i) {
    const auto key = q.Get();
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(*key, "k" + std::to_string(i));
    q.Done(*key);
  }
  q.AddAfter("k0", 5ms);  // a key handed out may be delayed again
  EXPECT_EQ(q.Get(), "k0");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ShutDownWakesWaitingWorkers) {
  WorkQueue q;
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = q.Get(); });
  std::this_thread::sleep_for(10ms);
  q.ShutDown();
  worker.join();
  EXPECT_FALSE(got.has_value());
  q.Add("after");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ObserverSeesAddsRetriesAndDepth) {
  int adds = 0, retries = 0;
  size_t depth = 0;
  WorkQueue q({}, {[&](size_t d) { depth = d; }, [&] { ++adds; }, [&] { ++retries; }});
  q.Add("a");
  q.Add("b");
  EXPECT_EQ(depth, 2u);
  q.AddRateLimited("c");
  EXPECT_EQ(adds, 2);
  EXPECT_EQ(retries, 1);
}

}  // namespace
}  // namespace ibo::kube
