// The informer against the real kube-apiserver: initial list, live events, indexes, resync,
// and a watch that survives a kube-apiserver restart.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <algorithm>
#include <set>
#include <vector>

#include "kube/informer.h"
#include "support/cluster.h"

namespace ibo::kube {
namespace {

using ibo::testing::AdminClient;
using ibo::testing::ConfigMap;
using ibo::testing::Eventually;
using ibo::testing::TestNamespace;
using namespace std::chrono_literals;

struct Recorded {
  std::mutex mu;
  std::set<std::string> added, deleted;
  std::atomic<int> updates{0};
  EventHandlers Handlers() {
    return {[this](const Json& o) { std::lock_guard l(mu); added.insert(ObjectKey(o)); },
            [this](const Json&, const Json&) { ++updates; },
            [this](const Json& o) { std::lock_guard l(mu); deleted.insert(ObjectKey(o)); }};
  }
  bool Added(const std::string& k) { std::lock_guard l(mu); return added.count(k) > 0; }
  bool Deleted(const std::string& k) { std::lock_guard l(mu); return deleted.count(k) > 0; }
};

TEST(InformerTest, ListsWatchesIndexesAndResyncs) {
  auto client = AdminClient();
  TestNamespace ns(*client, "inf");
  Json labelled = ConfigMap("before", "1");
  labelled["metadata"]["labels"]["app"] = "x";
  ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), labelled).ok());

  InformerOptions options;
  options.namespace_ = ns.name();
  options.resync_period = 1s;
  options.first_list_from_watch_cache = false;
  options.list_page_size = 1;  // exercise pagination in the initial list, from etcd
  Informer informer(*client, resources::kConfigMaps, options);
  informer.AddIndex("app", indexes::ByLabel("app"));
  Recorded seen;
  informer.AddHandlers(seen.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_TRUE(seen.Added(ns.name() + "/before"));
  EXPECT_EQ(informer.cache().ByIndex("app", "x").size(), 1u);
  EXPECT_EQ(informer.cache().Get(ns.name() + "/before")->value("kind", ""), "ConfigMap");

  ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), ConfigMap("after", "1")).ok());
  EXPECT_TRUE(Eventually([&] { return seen.Added(ns.name() + "/after"); }, 10s));
  ASSERT_TRUE(client->Delete(resources::kConfigMaps, ns.name(), "before").ok());
  EXPECT_TRUE(Eventually([&] { return seen.Deleted(ns.name() + "/before"); }, 10s));
  EXPECT_TRUE(informer.cache().ByIndex("app", "x").empty());
  // Resync: every object is handed to on_update again although nothing changed.
  const int updates = seen.updates;
  EXPECT_TRUE(Eventually([&] { return seen.updates > updates; }, 5s));
  informer.Stop();
}

// As the controller runs its big caches: packed, trimmed, and told of changes only (no old copy).
TEST(InformerTest, PackedTrimmedCacheSeesEveryChange) {
  auto client = AdminClient();
  TestNamespace ns(*client, "packed");
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), ConfigMap(name, "1")).ok());
  InformerOptions options;
  options.namespace_ = ns.name();
  // The first list from the watch cache, whole, each object trimmed and packed as it is read.
  options.storage = CacheStorage::kPacked;
  options.transform = [](Json& o) { DropManagedFields(o); o.erase("data"); };
  Informer informer(*client, resources::kConfigMaps, options);
  std::mutex mu;
  std::vector<std::string> changes;  // "key data-present"
  EventHandlers handlers;
  handlers.on_change = [&](const Json& o) {
    std::lock_guard l(mu);
    changes.push_back(ObjectKey(o) + (o.contains("data") ? " untrimmed" : ""));
  };
  informer.AddHandlers(std::move(handlers));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  auto seen = [&](const std::string& change) {
    std::lock_guard l(mu);
    return std::count(changes.begin(), changes.end(), change);
  };
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(seen(ns.name() + "/" + name), 1) << name;
  ASSERT_NE(informer.cache().Get(ns.name() + "/a"), nullptr);
  EXPECT_FALSE(informer.cache().Get(ns.name() + "/a")->contains("data"));
  EXPECT_FALSE(informer.cache().Get(ns.name() + "/a")->at("metadata").contains("managedFields"));
  EXPECT_EQ(informer.cache().Get(ns.name() + "/a")->value("kind", ""), "ConfigMap");

  ASSERT_TRUE(client->Patch(resources::kConfigMaps, ns.name(), "b", PatchType::kMerge, {{"data", {{"k", "2"}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return seen(ns.name() + "/b") == 2; }, 10s));
  ASSERT_TRUE(client->Delete(resources::kConfigMaps, ns.name(), "c").ok());
  EXPECT_TRUE(Eventually([&] { return seen(ns.name() + "/c") == 2; }, 10s));
  EXPECT_EQ(informer.cache().Get(ns.name() + "/c"), nullptr);
  EXPECT_EQ(informer.cache().Keys().size(), 2u);
  EXPECT_EQ(seen(ns.name() + "/a untrimmed") + seen(ns.name() + "/b untrimmed") + seen(ns.name() + "/c untrimmed"), 0);
  informer.Stop();
}

// Restarts the shared kube-apiserver: this test runs alone (RUN_SERIAL).
TEST(InformerRestartTest, WatchSurvivesAKubeApiserverRestart) {
  auto client = AdminClient();
  TestNamespace ns(*client, "restart");
  InformerOptions options;
  options.namespace_ = ns.name();
  options.initial_backoff = 200ms;
  options.max_backoff = 1s;
  Informer informer(*client, resources::kConfigMaps, options);
  Recorded seen;
  informer.AddHandlers(seen.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));

  ibo::testing::RunInfra("control-plane.sh restart-apiserver \"$IBO_TEST_CLUSTER_DIR\"");
  ASSERT_TRUE(Eventually([&] { return client->Create(resources::kConfigMaps, ns.name(), ConfigMap("later", "1")).ok(); }, 30s));
  EXPECT_TRUE(Eventually([&] { return seen.Added(ns.name() + "/later"); }, 30s))
      << "the informer did not see an object created after the restart";
  informer.Stop();
}

}  // namespace
}  // namespace ibo::kube


namespace ibo::kube {
namespace {

// Against kube-apiserver without a watch cache (no bookmarks there): the informer's
// resourceVersion stays where its own namespace last changed, while writes elsewhere move etcd
// on; once etcd is compacted past it, the informer's next watch gets 410 Gone and it must list
// again, keeping its cache whole.
TEST(InformerGoneTest, ListsAgainAfterGone) {
  auto client = ibo::testing::AdminClient("IBO_TEST_NOCACHE_CLUSTER_DIR");
  ibo::testing::TestNamespace watched(*client, "relist");
  ibo::testing::TestNamespace elsewhere(*client, "relist-other");
  ASSERT_TRUE(client->Create(resources::kConfigMaps, watched.name(), ibo::testing::ConfigMap("kept", "1")).ok());
  InformerOptions options;
  options.namespace_ = watched.name();
  options.initial_backoff = std::chrono::milliseconds(100);
  options.min_watch_timeout = std::chrono::seconds(1);  // each watch ends after 1-2 s and is renewed
  Informer informer(*client, resources::kConfigMaps, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  const int relists = informer.relists();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Create(resources::kConfigMaps, elsewhere.name(), ibo::testing::ConfigMap("c" + std::to_string(i), "1")).ok());
  }
  ibo::testing::RunInfra("control-plane.sh compact-etcd \"$IBO_TEST_NOCACHE_CLUSTER_DIR\" >/dev/null");
  EXPECT_TRUE(ibo::testing::Eventually([&] { return informer.relists() > relists; }, std::chrono::seconds(10)))
      << "the informer did not list again after its resourceVersion was compacted";
  EXPECT_TRUE(informer.cache().Get(watched.name() + "/kept") != nullptr);
  ASSERT_TRUE(client->Create(resources::kConfigMaps, watched.name(), ibo::testing::ConfigMap("after", "1")).ok());
  EXPECT_TRUE(ibo::testing::Eventually([&] { return informer.cache().Get(watched.name() + "/after") != nullptr; },
                                       std::chrono::seconds(10)));
  informer.Stop();
}

}  // namespace
}  // namespace ibo::kube
