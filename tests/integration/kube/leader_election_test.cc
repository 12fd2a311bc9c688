// Two candidates for one Lease on the real kube-apiserver: one leads; when it dies without
// releasing, the other waits out the lease and takes over within the lease duration plus 5 s; a
// clean release hands over at once, far below the lease duration the next one would otherwise wait.
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
  Candidate(Client& client, const std::string& ns, const std::string& id, bool release,
            std::chrono::seconds lease_duration = 4s)
      : elector(client, Config(ns, id, release, lease_duration),
                {[this] { ++started; }, [this] { ++stopped; }, nullptr}) {}
  static LeaderElectionConfig Config(const std::string& ns, const std::string& id, bool release,
                                     std::chrono::seconds lease_duration) {
    LeaderElectionConfig c;
    c.lease_namespace = ns;
    c.lease_name = "imagebuild-operator";
    c.identity = id;
    c.lease_duration = lease_duration;
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
  // "b" writes a 15 s lease once it leads: without its release, "c" below would wait that long.
  Candidate b(*client_b, ns.name(), "b", /*release=*/true, 15s);
  b.Start();
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(b.elector.IsLeader()) << "two leaders at once";

  // "a" dies: it stops renewing and does not release. Its last renewal is at most one retry
  // period old, so "b" must leave the lease alone for well over 2 s, then take it.
  a.Stop();
  const auto died = std::chrono::steady_clock::now();
  EXPECT_EQ(a.stopped, 1);
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(b.elector.IsLeader()) << "took over a lease that had not expired";
  ASSERT_TRUE(Eventually([&] { return b.elector.IsLeader(); }, 30s));
  EXPECT_LE(std::chrono::steady_clock::now() - died, 4s + 5s) << "slower than the lease duration plus 5 s";
  auto lease = client_a->Get(resources::kLeases, ns.name(), "imagebuild-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);

  // A new "c" waits; "b" shuts down cleanly and releases; "c" takes over quickly.
  Candidate c(*client_a, ns.name(), "c", true);
  c.Start();
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(c.elector.IsLeader());
  b.Stop();
  const auto released = std::chrono::steady_clock::now();
  // Released: nobody holds it (or "c" already does), so "c" needs no lease duration to take over.
  lease = client_a->Get(resources::kLeases, ns.name(), "imagebuild-operator");
  ASSERT_TRUE(lease.ok());
  const std::string holder = (*lease)["spec"].value("holderIdentity", "");
  EXPECT_TRUE(holder.empty() || holder == "c") << "held by " << holder << " after b released it";
  ASSERT_TRUE(Eventually([&] { return c.elector.IsLeader(); }, 30s));
  // One retry period (500 ms) plus a loaded machine's round trips; a third of the 15 s it would
  // have waited without the release.
  EXPECT_LE(std::chrono::steady_clock::now() - released, 5s);
}

TEST(LeaderElectionTest, ALeaderThatCannotRenewStopsLeading) {
  auto client = AdminClient();
  TestNamespace ns(*client, "lease-lost");
  Candidate a(*client, ns.name(), "a", false);
  a.Start();
  ASSERT_TRUE(Eventually([&] { return a.elector.IsLeader(); }, 10s));
  // Someone else takes the lease by force: "a" can no longer renew and must stop at once.
  // A merge patch carries no resourceVersion, so "a"'s own renewals cannot make it conflict.
  auto taken = client->Patch(resources::kLeases, ns.name(), "imagebuild-operator", PatchType::kMerge,
                             {{"spec", {{"holderIdentity", "intruder"}, {"leaseDurationSeconds", 3600}}}});
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_TRUE(Eventually([&] { return !a.elector.IsLeader(); }, 20s));
  a.Stop();  // joins: the stop callback has run
  EXPECT_EQ(a.stopped, 1);
}

}  // namespace
}  // namespace ibo::kube
