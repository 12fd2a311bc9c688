// How `run` comes to an end: SIGTERM or SIGINT, or a lost lease. A dedicated thread takes the
// signals with sigwait(), so no signal handler runs at all; everything else waits on StopRequest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace ibo::operator_main {

enum class StopReason { kSignal, kLeaseLost };

// A one-shot stop request: the first reason wins, every waiter wakes.
class StopRequest {
 public:
  void Request(StopReason reason);
  bool Requested() const;
  // Blocks until a stop is requested and returns its reason.
  StopReason Wait() const;
  // Blocks until `ready` is true (re-checked after every Notify) or a stop is requested.
  // True when ready, false when stopped.
  bool WaitFor(const std::function<bool()>& ready) const;
  // Wakes WaitFor to look at its condition again.
  void Notify();

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<StopReason> reason_;
};

// Blocks SIGTERM and SIGINT in the calling thread and so in every thread it starts from then on:
// call it before any thread starts, so that only SignalWatcher's sigwait() receives them.
void BlockStopSignals();

// A thread that waits for SIGTERM or SIGINT and requests a stop; destroying it ends the thread.
class SignalWatcher {
 public:
  explicit SignalWatcher(StopRequest& stop);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Run();

  StopRequest& stop_;
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

}  // namespace ibo::operator_main
