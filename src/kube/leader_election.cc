#include "kube/leader_election.h"

#include <spdlog/spdlog.h>

#include "common/time_format.h"

namespace ibo::kube {

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

bool LeaderElector::WaitOrStop(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void LeaderElector::Stop() {
  stopping_ = true;
  cv_.notify_all();
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto now_wall = std::chrono::system_clock::now();
  const auto now = std::chrono::steady_clock::now();
  const std::string now_text = FormatMicroTime(now_wall);
  const int duration_seconds =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());

  auto current = client_.Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!current.ok()) {
    if (current.status().code() != StatusCode::kNotFound) {
      spdlog::warn("leader election: reading lease {}/{}: {}", config_.lease_namespace, config_.lease_name,
                   current.status().ToString());
      return false;
    }
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                  {"spec",
                   {{"holderIdentity", config_.identity},
                    {"leaseDurationSeconds", duration_seconds},
                    {"acquireTime", now_text},
                    {"renewTime", now_text},
                    {"leaseTransitions", 0}}}};
    auto created = client_.Create(resources::kLeases, config_.lease_namespace, lease);
    if (!created.ok()) return false;
    observed_holder_ = config_.identity;
    observed_renew_time_ = now_text;
    observed_at_ = now;
    return true;
  }

  Json lease = *current;
  Json& spec = lease["spec"];
  const std::string holder = spec.value("holderIdentity", "");
  const std::string renew = spec.value("renewTime", "");
  if (holder != observed_holder_ || renew != observed_renew_time_) {
    observed_holder_ = holder;
    observed_renew_time_ = renew;
    observed_at_ = now;
  }
  if (holder != reported_leader_) {
    reported_leader_ = holder;
    if (!holder.empty() && callbacks_.on_new_leader) callbacks_.on_new_leader(holder);
  }
  const auto held_for = std::chrono::seconds(spec.value("leaseDurationSeconds", duration_seconds));
  const bool held_by_other = !holder.empty() && holder != config_.identity;
  if (held_by_other && observed_at_ + held_for > now) return false;  // not expired by our clock

  if (holder != config_.identity) {
    spec["acquireTime"] = now_text;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = duration_seconds;
  spec["renewTime"] = now_text;
  auto updated = client_.Update(resources::kLeases, config_.lease_namespace, lease);
  if (!updated.ok()) return false;  // a Conflict means someone else won this round
  observed_holder_ = config_.identity;
  observed_renew_time_ = now_text;
  observed_at_ = now;
  return true;
}

void LeaderElector::Release() {
  auto current = client_.Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!current.ok() || (*current)["spec"].value("holderIdentity", "") != config_.identity) return;
  Json lease = *current;
  // As client-go: an empty holder and a one-second duration let a successor acquire at once.
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = FormatMicroTime(std::chrono::system_clock::now());
  auto s = client_.Update(resources::kLeases, config_.lease_namespace, lease);
  if (s.ok()) spdlog::info("leader election: released lease {}/{}", config_.lease_namespace, config_.lease_name);
}

bool LeaderElector::Attempt(std::chrono::steady_clock::time_point* started) {
  const auto start = std::chrono::steady_clock::now();
  if (!TryAcquireOrRenew()) return false;
  *started = start;
  if (callbacks_.on_renewed) callbacks_.on_renewed(start);
  return true;
}

void LeaderElector::Run() {
  // Acquire.
  auto last_renew = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (Attempt(&last_renew)) break;
    if (WaitOrStop(config_.retry_period)) return;
  }
  if (stopping_) return;
  leading_ = true;
  spdlog::info("leader election: {} became leader of {}/{}", config_.identity, config_.lease_namespace,
               config_.lease_name);
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();

  // Renew until it fails for longer than the renew deadline, measured from the start of the last
  // successful attempt, as the write fence measures it.
  const auto past_deadline = [&] { return std::chrono::steady_clock::now() - last_renew >= config_.renew_deadline; };
  while (!stopping_) {
    if (WaitOrStop(config_.retry_period)) break;
    // Woken past the deadline (the process was paused): leadership is over, whatever the lease
    // says now; trying to renew would only race a successor.
    if (!past_deadline() && Attempt(&last_renew)) continue;
    if (past_deadline()) {
      spdlog::error("leader election: {} lost the lease {}/{}", config_.identity, config_.lease_namespace,
                    config_.lease_name);
      break;
    }
  }
  leading_ = false;
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
  if (stopping_ && config_.release_on_cancel) Release();
}

}  // namespace ibo::kube
