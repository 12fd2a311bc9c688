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

TEST(ObjectCacheTest, IndexesFollowUpdatesAndDeletes) {
  ObjectCache cache;
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

TEST(ObjectCacheTest, ReplaceReportsWhatDisappeared) {
  ObjectCache cache;
  cache.Upsert(Pod("ci", "a", "u", "build"));
  cache.Upsert(Pod("ci", "b", "u", "build"));
  auto gone = cache.Replace({Pod("ci", "b", "u", "build"), Pod("ci", "c", "u", "build")});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(ObjectKey(*gone[0]), "ci/a");
  EXPECT_NE(cache.Get("ci/c"), nullptr);
  EXPECT_EQ(cache.ByIndex(indexes::kNamespace, "ci").size(), 2u);
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
