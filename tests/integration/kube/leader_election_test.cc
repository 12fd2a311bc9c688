// Two candidates for one Lease on the real kube-apiserver: one leads; when it dies without
// releasing, the other takes over within the lease duration plus 5 s; a clean release hands over
// within about one retry period.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kube/leader_election.h"
#include "support/cluster.h"

namespace ibo::kube {
namespace {

using ibo::testing::AdminClient;
using ibo::testing::Eventually;
using ibo::testing::TestNamespace;
using namespace std::chrono_literals;

struct Candidate {
  Candidate(Client& client, const std::string& ns, const std::string& id, bool release)
      : elector(client, Config(ns, id, release),
                {[this] { ++started; }, [this] { ++stopped; }, nullptr}) {}
  static LeaderElectionConfig Config(const std::string& ns, const std::string& id, bool release) {
    LeaderElectionConfig c;
    c.lease_namespace = ns;
    c.lease_name = "imagebuild-operator";
    c.identity = id;
    c.lease_duration = 4s;
    c.renew_deadline = 3s;
    c.retry_period = 500ms;
    c.release_on_cancel = release;
    return c;
  }
  void Start() { thread = std::thread([this] { elector.Run(); }); }
  void Stop() { elector.Stop(); if (thread.joinable()) thread.join(); }
  ~Candidate() { Stop(); }
  LeaderElector elector;
  std::atomic<int> started{0}, stopped{0};
  std::thread thread;
};

TEST(LeaderElectionTest, HandsOverWhenTheLeaderDiesAndWhenItReleases) {
  auto client_a = AdminClient();
  auto client_b = AdminClient();
  TestNamespace ns(*client_a, "lease");

  Candidate a(*client_a, ns.name(), "a", /*release=*/false);
  a.Start();
  ASSERT_TRUE(Eventually([&] { return a.elector.IsLeader(); }, 10s));
  Candidate b(*client_b, ns.name(), "b", /*release=*/true);
  b.Start();
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(b.elector.IsLeader()) << "two leaders at once";

  // "a" dies: it stops renewing and does not release.
  const auto died = std::chrono::steady_clock::now();
  a.Stop();
  EXPECT_EQ(a.stopped, 1);
  ASSERT_TRUE(Eventually([&] { return b.elector.IsLeader(); }, 4s + 5s));
  EXPECT_LE(std::chrono::steady_clock::now() - died, 4s + 5s);
  auto lease = client_a->Get(resources::kLeases, ns.name(), "imagebuild-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);

  // A new "c" waits; "b" shuts down cleanly and releases; "c" takes over quickly.
  Candidate c(*client_a, ns.name(), "c", true);
  c.Start();
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(c.elector.IsLeader());
  const auto released = std::chrono::steady_clock::now();
  b.Stop();
  ASSERT_TRUE(Eventually([&] { return c.elector.IsLeader(); }, 3s));
  EXPECT_LE(std::chrono::steady_clock::now() - released, 2s);
}

TEST(LeaderElectionTest, ALeaderThatCannotRenewStopsLeading) {
  auto client = AdminClient();
  TestNamespace ns(*client, "lease-lost");
  Candidate a(*client, ns.name(), "a", false);
  a.Start();
  ASSERT_TRUE(Eventually([&] { return a.elector.IsLeader(); }, 10s));
  // Someone else takes the lease by force: "a" can no longer renew and must stop at once.
  auto lease = client->Get(resources::kLeases, ns.name(), "imagebuild-operator");
  ASSERT_TRUE(lease.ok());
  (*lease)["spec"]["holderIdentity"] = "intruder";
  (*lease)["spec"]["leaseDurationSeconds"] = 3600;
  ASSERT_TRUE(client->Update(resources::kLeases, ns.name(), *lease).ok());
  EXPECT_TRUE(Eventually([&] { return !a.elector.IsLeader(); }, 3s + 2s));
  EXPECT_EQ(a.stopped, 1);
}

}  // namespace
}  // namespace ibo::kube
