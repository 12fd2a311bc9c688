#include "kube/object_cache.h"

#include <gtest/gtest.h>

namespace ibo::kube {
namespace {

Json Pod(const std::string& ns, const std::string& name, const std::string& owner, const std::string& role) {
  return {{"metadata",
           {{"namespace", ns},
            {"name", name},
            {"labels", {{"imagebuild.io/role", role}}},
            {"ownerReferences", Json::array({{{"uid", owner}, {"kind", "ImageBuild"}}})}}}};
}

class StorageTest : public ::testing::TestWithParam<CacheStorage> {};

TEST_P(StorageTest, IndexesFollowUpdatesAndDeletes) {
  ObjectCache cache(GetParam());
  cache.AddIndex(indexes::kNamespace, indexes::ByNamespace());
  cache.AddIndex(indexes::kOwnerUid, indexes::ByOwnerUid());
  cache.AddIndex("role", indexes::ByLabel("imagebuild.io/role"));
  cache.Upsert(Pod("ci", "a", "u1", "build"));
  cache.Upsert(Pod("ci", "b", "u1", "merge"));
  cache.Upsert(Pod("dev", "c", "u2", "build"));

  EXPECT_EQ(cache.ByIndex(indexes::kOwnerUid, "u1").size(), 2u);
  EXPECT_EQ(cache.ByIndex(indexes::kNamespace, "dev").size(), 1u);
  EXPECT_EQ(cache.ByIndex("role", "build").size(), 2u);

  auto previous = cache.Upsert(Pod("ci", "a", "u2", "merge"));  // owner and role changed
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(cache.ByIndex(indexes::kOwnerUid, "u1").size(), 1u);
  EXPECT_EQ(cache.ByIndex(indexes::kOwnerUid, "u2").size(), 2u);
  EXPECT_EQ(cache.ByIndex("role", "build").size(), 1u);

  EXPECT_NE(cache.Erase("ci/b"), nullptr);
  EXPECT_EQ(cache.Erase("ci/b"), nullptr);
  EXPECT_TRUE(cache.ByIndex(indexes::kOwnerUid, "u1").empty());
  EXPECT_EQ(cache.Size(), 2u);
}

TEST_P(StorageTest, ReplaceReportsWhatDisappeared) {
  ObjectCache cache(GetParam());
  cache.AddIndex(indexes::kNamespace, indexes::ByNamespace());
  cache.Upsert(Pod("ci", "a", "u", "build"));
  cache.Upsert(Pod("ci", "b", "u", "build"));
  auto gone = cache.Replace({Pod("ci", "b", "u", "build"), Pod("ci", "c", "u", "build")});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(ObjectKey(*gone[0]), "ci/a");
  EXPECT_NE(cache.Get("ci/c"), nullptr);
  EXPECT_EQ(cache.ByIndex(indexes::kNamespace, "ci").size(), 2u);
}

TEST_P(StorageTest, StoreAndRemoveKeepIndexesWithoutHandingBackTheOldObject) {
  ObjectCache cache(GetParam());
  cache.AddIndex(indexes::kNamespace, indexes::ByNamespace());
  cache.AddIndex(indexes::kOwnerUid, indexes::ByOwnerUid());
  EXPECT_FALSE(cache.Store(Pod("ci", "a", "u1", "build")));
  EXPECT_TRUE(cache.Store(Pod("ci", "a", "u2", "build")));  // moved to another owner
  EXPECT_TRUE(cache.KeysByIndex(indexes::kOwnerUid, "u1").empty());
  EXPECT_EQ(cache.KeysByIndex(indexes::kOwnerUid, "u2"), std::vector<std::string>{"ci/a"});
  EXPECT_EQ(cache.Get("ci/a")->at("metadata").at("ownerReferences")[0].at("uid"), "u2");
  EXPECT_EQ(cache.Keys(), std::vector<std::string>{"ci/a"});
  EXPECT_TRUE(cache.Remove("ci/a"));
  EXPECT_FALSE(cache.Remove("ci/a"));
  EXPECT_TRUE(cache.KeysByIndex(indexes::kOwnerUid, "u2").empty());
  EXPECT_TRUE(cache.KeysByIndex(indexes::kNamespace, "ci").empty());
}

TEST_P(StorageTest, AnIndexAddedLaterCoversWhatIsStored) {
  ObjectCache cache(GetParam());
  cache.Store(Pod("ci", "a", "u1", "build"));
  cache.AddIndex("role", indexes::ByLabel("imagebuild.io/role"));
  EXPECT_EQ(cache.KeysByIndex("role", "build"), std::vector<std::string>{"ci/a"});
  cache.Remove("ci/a");
  EXPECT_TRUE(cache.KeysByIndex("role", "build").empty());
}

INSTANTIATE_TEST_SUITE_P(Storages, StorageTest, ::testing::Values(CacheStorage::kTree, CacheStorage::kPacked),
                         [](const auto& info) { return info.param == CacheStorage::kTree ? "Tree" : "Packed"; });

TEST(ObjectCacheTest, PackedObjectsReadBackAsTheyWereStored) {
  ObjectCache cache(CacheStorage::kPacked);
  cache.AddIndex(indexes::kNamespace, indexes::ByNamespace());
  Json pod = Pod("ci", "a", "u", "build");
  pod["status"] = {{"phase", "Running"}, {"restarts", 3}, {"ratio", 0.5}, {"ready", true}, {"none", nullptr},
                   {"message", "ünïcode \u2713"}};
  cache.Upsert(pod);
  EXPECT_EQ(*cache.Get("ci/a"), pod);
  EXPECT_EQ(cache.Get("ci/a")->dump(), pod.dump());
  EXPECT_EQ(*cache.ByIndex(indexes::kNamespace, "ci").at(0), pod);
}

TEST(ObjectCacheTest, ClusterScopedKeysHaveNoNamespace) {
  EXPECT_EQ(ObjectKey(Json{{"metadata", {{"name", "node-1"}}}}), "node-1");
}

TEST(ObjectCacheTest, ReadersShareTheStoredObjectAndKeepItAcrossUpdates) {
  ObjectCache cache;
  cache.Upsert(Pod("ci", "a", "u", "build"));
  ObjectPtr first = cache.Get("ci/a");
  EXPECT_EQ(first, cache.Get("ci/a"));  // no copy per read
  cache.Upsert(Pod("ci", "a", "u", "merge"));
  EXPECT_EQ((*first)["metadata"]["labels"]["imagebuild.io/role"], "build");  // a reader's view stays whole
  EXPECT_EQ((*cache.Get("ci/a"))["metadata"]["labels"]["imagebuild.io/role"], "merge");
}

}  // namespace
}  // namespace ibo::kube
