#include "operator/shutdown.h"

#include <pthread.h>

namespace ibo::operator_main {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void StopRequest::Request(StopReason reason) {
  {
    std::lock_guard lock(mu_);
    if (!reason_) reason_ = reason;
  }
  cv_.notify_all();
}

bool StopRequest::Requested() const {
  std::lock_guard lock(mu_);
  return reason_.has_value();
}

StopReason StopRequest::Wait() const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return reason_.has_value(); });
  return *reason_;
}

bool StopRequest::WaitFor(const std::function<bool()>& ready) const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return reason_.has_value() || ready(); });
  return !reason_.has_value();
}

void StopRequest::Notify() {
  // Taking the lock orders this wake-up after a waiter's check of its condition.
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWatcher::SignalWatcher(StopRequest& stop) : stop_(stop), thread_([this] { Run(); }) {}

SignalWatcher::~SignalWatcher() {
  closing_ = true;
  // SIGTERM is blocked everywhere, so sent to this thread it is only taken by its sigwait().
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWatcher::Run() {
  const sigset_t set = StopSignals();
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (closing_) return;
    stop_.Request(StopReason::kSignal);
  }
}

}  // namespace ibo::operator_main
