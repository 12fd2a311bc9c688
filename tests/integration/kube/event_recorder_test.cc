// Events on the real kube-apiserver: created on the object, exact repeats aggregated by count.
#include <gtest/gtest.h>

#include "kube/event_recorder.h"
#include "support/cluster.h"

namespace ibo::kube {
namespace {

TEST(EventRecorderTest, RecordsAndAggregatesRepeats) {
  auto client = ibo::testing::AdminClient();
  ibo::testing::TestNamespace ns(*client, "events");
  auto cm = client->Create(resources::kConfigMaps, ns.name(), ibo::testing::ConfigMap("target", "1"));
  ASSERT_TRUE(cm.ok());
  ApiEventRecorder recorder(*client, "imagebuild-operator");
  recorder.Record(*cm, "Warning", "NoNodesForPlatform", "no Ready node for linux/arm64");
  recorder.Record(*cm, "Warning", "NoNodesForPlatform", "no Ready node for linux/arm64");
  recorder.Record(*cm, "Warning", "NoNodesForPlatform", "no Ready node for linux/arm64");
  recorder.Record(*cm, "Normal", "Building", "building linux/amd64");
  ASSERT_TRUE(recorder.Flush(std::chrono::seconds(10)));  // Record only queues

  ListOptions by_object;
  by_object.field_selector = "involvedObject.name=target";
  auto events = client->List(resources::kEvents, ns.name(), by_object);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ((*events)["items"].size(), 2u);
  for (const auto& e : (*events)["items"]) {
    EXPECT_EQ(e["involvedObject"]["uid"], (*cm)["metadata"]["uid"]);
    EXPECT_EQ(e["involvedObject"]["kind"], "ConfigMap");
    if (e["reason"] == "NoNodesForPlatform") {
      EXPECT_EQ(e["count"], 3);
      EXPECT_EQ(e["type"], "Warning");
    } else {
      EXPECT_EQ(e["count"], 1);
    }
  }
}

}  // namespace
}  // namespace ibo::kube
