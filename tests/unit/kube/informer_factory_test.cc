// The shared informer factory hands out one informer per (resource, namespace, selector), and a
// union of listers reads several caches as one.
#include "kube/informer_factory.h"

#include <gtest/gtest.h>

#include "kube/object_cache.h"
#include "unit/kube/mock_client.h"

namespace ibo::kube {
namespace {

TEST(InformerFactoryTest, OneInformerPerResourceNamespaceAndSelector) {
  ::testing::StrictMock<MockClient> client;  // nothing is started: no request may be sent
  InformerFactory factory(client);
  InformerOptions a;
  a.namespace_ = "ci";
  a.label_selector = "imagebuild.io/role";
  Informer& first = factory.For(resources::kPods, a);
  EXPECT_EQ(&factory.For(resources::kPods, a), &first);
  InformerOptions other_namespace = a;
  other_namespace.namespace_ = "prod";
  EXPECT_NE(&factory.For(resources::kPods, other_namespace), &first);
  InformerOptions all = a;
  all.label_selector = "";
  EXPECT_NE(&factory.For(resources::kPods, all), &first);
  EXPECT_NE(&factory.For(resources::kConfigMaps, a), &first);
  EXPECT_FALSE(factory.HasSynced());
}

TEST(UnionListerTest, ReadsEveryPartAsOne) {
  ObjectCache ci, prod;
  for (auto* c : {&ci, &prod}) c->AddIndex(indexes::kOwnerUid, indexes::ByOwnerUid());
  ci.Upsert({{"metadata", {{"namespace", "ci"}, {"name", "a"}, {"ownerReferences", Json::array({{{"uid", "u"}}})}}}});
  prod.Upsert({{"metadata", {{"namespace", "prod"}, {"name", "b"}, {"ownerReferences", Json::array({{{"uid", "u"}}})}}}});
  UnionLister both({&ci, &prod});
  EXPECT_EQ(both.List().size(), 2u);
  ASSERT_NE(both.Get("prod/b"), nullptr);
  EXPECT_EQ(both.Get("prod/a"), nullptr);
  EXPECT_EQ(both.ByIndex(indexes::kOwnerUid, "u").size(), 2u);
  EXPECT_EQ(both.KeysByIndex(indexes::kOwnerUid, "u"), (std::vector<std::string>{"ci/a", "prod/b"}));
}

}  // namespace
}  // namespace ibo::kube
