// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: a candidate
// acquires an expired or released lease, renews it every retry period, and stops leading at once
// when it cannot renew within the renew deadline. Expiry is judged by the local clock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "kube/client.h"

namespace ibo::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  bool release_on_cancel = true;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;  // leadership lost or given up: stop reconciling now
  std::function<void(const std::string& identity)> on_new_leader;
  // Every successful acquisition or renewal, with the steady time its attempt started: the
  // write fence (kube/write_fence.h) opens for the renew deadline from then.
  std::function<void(std::chrono::steady_clock::time_point attempt_started)> on_renewed;
};

class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks);

  // Campaigns, leads until leadership is lost or Stop() is called, then returns. Call from one thread.
  void Run();
  // Ends Run(): a leader releases the lease so that a successor takes over within one retry period.
  void Stop();
  bool IsLeader() const { return leading_.load(); }

 private:
  // One attempt to acquire or renew. True when this candidate holds the lease afterwards.
  bool TryAcquireOrRenew();
  void Release();
  bool WaitOrStop(std::chrono::milliseconds d);
  // TryAcquireOrRenew, and on success on_renewed with the attempt's start.
  bool Attempt(std::chrono::steady_clock::time_point* started);

  Client& client_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  // What we last saw of the lease and when (local clock), to judge expiry as client-go does.
  std::string observed_holder_;
  std::string observed_renew_time_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::string reported_leader_;
};

}  // namespace ibo::kube
