#include "operator/shutdown.h"

#include <gtest/gtest.h>

#include <csignal>
#include <future>

namespace ibo::operator_main {
namespace {

TEST(StopRequest, TheFirstReasonWins) {
  StopRequest stop;
  EXPECT_FALSE(stop.Requested());
  stop.Request(StopReason::kLeaseLost);
  stop.Request(StopReason::kSignal);
  EXPECT_TRUE(stop.Requested());
  EXPECT_EQ(stop.Wait(), StopReason::kLeaseLost);
}

TEST(StopRequest, WaitForWakesWhenReadyOrStopped) {
  StopRequest stop;
  std::atomic<bool> ready{false};
  auto waiter = std::async(std::launch::async, [&] { return stop.WaitFor([&] { return ready.load(); }); });
  ready = true;
  stop.Notify();
  EXPECT_TRUE(waiter.get());

  auto stopped = std::async(std::launch::async, [&] { return stop.WaitFor([] { return false; }); });
  stop.Request(StopReason::kSignal);
  EXPECT_FALSE(stopped.get());
}

// Each test runs in its own process (gtest_discover_tests), so blocking signals here is harmless.
TEST(SignalWatcher, SigtermAndSigintRequestAStop) {
  BlockStopSignals();
  for (int signal : {SIGTERM, SIGINT}) {
    StopRequest stop;
    SignalWatcher watcher(stop);
    ASSERT_EQ(kill(getpid(), signal), 0);
    EXPECT_EQ(stop.Wait(), StopReason::kSignal) << signal;
  }
}

TEST(SignalWatcher, EndsWithoutASignal) {
  BlockStopSignals();
  StopRequest stop;
  { SignalWatcher watcher(stop); }
  EXPECT_FALSE(stop.Requested());
}

}  // namespace
}  // namespace ibo::operator_main
