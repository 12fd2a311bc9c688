// Pods listed and watched in protobuf against the real kube-apiserver read exactly as their JSON
// does after TrimPod: the same objects, the same events in the same order, the same errors.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "api/object_views.h"
#include "api/pod_protobuf.h"
#include "support/cluster.h"

namespace ibo::kube {
namespace {

using ibo::testing::AdminClient;
using ibo::testing::TestNamespace;
namespace res = resources;

// owner, when given, is an object that exists: kube-controller-manager's garbage collector deletes
// a pod whose owner is missing, and does so for ImageBuild owners once another test has installed
// the CRD (a race the watch below lost: "a" gone before its status update).
Json Pod(const std::string& name, const Json& owner = nullptr) {
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"},
              {"metadata", {{"name", name}, {"labels", {{"imagebuild.io/role", "build"}, {"n", name}}},
                            {"annotations", {{"skipped", "by the decoder"}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "registry.invalid/c:1"}}}},
                        // No scheduler has this name, so none writes to these pods: kube-scheduler
                        // marked them Unschedulable between the test's Get and its status Update (a
                        // conflict) and added a MODIFIED event the test does not expect. No node has the
                        // label either: the pods stay off every other test's nodes.
                        {"schedulerName", "ibo-test-no-scheduler"},
                        {"nodeSelector", {{"imagebuild.io/test-node", "none"}}}}}};
  if (!owner.is_null()) {
    pod["metadata"]["ownerReferences"] = {{{"apiVersion", owner["apiVersion"]}, {"kind", owner["kind"]},
                                           {"name", owner["metadata"]["name"]},
                                           {"uid", owner["metadata"]["uid"]}, {"controller", true}}};
  }
  return pod;
}

// A status as a kubelet would write it: a terminated init container, a waiting one, conditions.
Json WithStatus(Json pod) {
  pod["status"] = Json::parse(R"({
    "phase": "Failed", "reason": "Evicted", "message": "low on ephemeral-storage", "hostIP": "10.0.0.1",
    "conditions": [{"type": "Ready", "status": "False"},
                   {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2"}],
    "initContainerStatuses": [{"name": "source", "ready": false, "restartCount": 0, "image": "git", "imageID": "",
      "state": {"terminated": {"exitCode": 3, "reason": "Error", "message": "force-pushed?\n",
                               "startedAt": "2026-12-01T10:00:00Z", "finishedAt": "2026-12-01T10:00:05Z"}}}],
    "containerStatuses": [{"name": "c", "ready": false, "restartCount": 1, "image": "c", "imageID": "",
      "state": {"waiting": {"reason": "PodInitializing"}}}]})");
  return pod;
}

std::unique_ptr<WatchStream> WatchFrom(Client& client, const std::string& ns, const std::string& rv, bool protobuf) {
  ListOptions options;
  options.resource_version = rv;
  options.timeout_seconds = 30;
  if (protobuf) options.protobuf_objects = api::DecodeTrimmedPod;
  auto stream = client.Watch(res::kPods, ns, options);
  EXPECT_TRUE(stream.ok()) << stream.status().ToString();
  return stream.ok() ? std::move(*stream) : nullptr;
}

TEST(ProtobufPodsTest, ListPagesAndWatchEventsReadAsTrimmedJson) {
  auto client = AdminClient();
  TestNamespace ns(*client, "protobuf");
  auto start = client->List(res::kPods, ns.name(), {});
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  const std::string rv = (*start)["metadata"]["resourceVersion"];
  auto json_watch = WatchFrom(*client, ns.name(), rv, false);
  auto protobuf_watch = WatchFrom(*client, ns.name(), rv, true);
  ASSERT_TRUE(json_watch && protobuf_watch);

  for (const std::string name : {"a", "b", "c"}) {
    Json owner;
    if (name != "b") {
      auto created = client->Create(res::kConfigMaps, ns.name(), ibo::testing::ConfigMap("owner-" + name, name));
      ASSERT_TRUE(created.ok()) << created.status().ToString();
      owner = std::move(*created);
    }
    ASSERT_TRUE(client->Create(res::kPods, ns.name(), Pod(name, owner)).ok());
  }
  auto a = client->Get(res::kPods, ns.name(), "a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const Status updated = client->Update(res::kPods, ns.name(), WithStatus(*a), "status").status();
  ASSERT_TRUE(updated.ok()) << updated.ToString();
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(client->Delete(res::kPods, ns.name(), "c", now).ok());

  for (int i = 0; i < 5; ++i) {  // three ADDED, a MODIFIED, a DELETED
    auto from_json = json_watch->Next();
    auto from_protobuf = protobuf_watch->Next();
    ASSERT_TRUE(from_json.ok() && from_json->has_value()) << from_json.status().ToString();
    ASSERT_TRUE(from_protobuf.ok() && from_protobuf->has_value()) << from_protobuf.status().ToString();
    EXPECT_EQ((*from_protobuf)->type, (*from_json)->type);
    Json expected = (*from_json)->object;
    api::TrimPod(expected);
    EXPECT_EQ((*from_protobuf)->object, expected) << "event " << i;
  }

  ListOptions page;
  page.limit = 1;
  ListOptions protobuf_page = page;
  protobuf_page.protobuf_objects = api::DecodeTrimmedPod;
  for (int pages = 0; pages < 3; ++pages) {
    auto json = client->List(res::kPods, ns.name(), page);
    auto protobuf = client->List(res::kPods, ns.name(), protobuf_page);
    ASSERT_TRUE(json.ok() && protobuf.ok()) << protobuf.status().ToString();
    ASSERT_EQ((*protobuf)["items"].size(), (*json)["items"].size());
    for (size_t i = 0; i < (*json)["items"].size(); ++i) {
      Json expected = (*json)["items"][i];
      api::TrimPod(expected);
      EXPECT_EQ((*protobuf)["items"][i], expected);
    }
    const std::string next = (*json)["metadata"].value("continue", "");
    EXPECT_EQ((*protobuf)["metadata"].value("continue", "").empty(), next.empty());
    if (next.empty()) break;
    page.continue_token = next;
    protobuf_page.continue_token = (*protobuf)["metadata"]["continue"];
  }
}

// The informer's first list: resourceVersion=0, answered whole from the watch cache and read as
// it arrives, in JSON and in protobuf, holds what a list from etcd holds.
TEST(ProtobufPodsTest, AListFromTheWatchCacheReadAsItArrivesHoldsWhatEtcdHolds) {
  auto client = AdminClient();
  TestNamespace ns(*client, "stream");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Create(res::kPods, ns.name(), Pod("p" + std::to_string(i))).ok());
  auto from_etcd = client->ListAll(res::kPods, ns.name(), {});
  ASSERT_TRUE(from_etcd.ok()) << from_etcd.status().ToString();
  std::map<std::string, Json> expected;
  for (Json item : (*from_etcd)["items"]) {
    item["apiVersion"] = "v1";
    item["kind"] = "Pod";
    expected[item["metadata"]["name"]] = item;
  }
  ASSERT_EQ(expected.size(), 5u);
  for (const bool protobuf : {false, true}) {
    ListOptions options;
    options.resource_version = "0";
    if (protobuf) options.protobuf_objects = api::DecodeTrimmedPod;
    std::map<std::string, Json> streamed;
    StatusOr<ListSummary> summary = ListSummary{};
    // The watch cache serves what it has seen: it may lag the creates above by a moment.
    for (int attempt = 0; attempt < 50 && streamed.size() < expected.size(); ++attempt) {
      if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      streamed.clear();
      summary = client->ListEach(res::kPods, ns.name(), options, [&](Json item) {
        const std::string name = item["metadata"]["name"];
        streamed[name] = std::move(item);
        return Status::Ok();
      });
      ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    }
    EXPECT_EQ(summary->kind, "PodList");
    EXPECT_FALSE(summary->resource_version.empty());
    EXPECT_TRUE(summary->continue_token.empty());
    ASSERT_EQ(streamed.size(), expected.size()) << (protobuf ? "protobuf" : "JSON");
    for (const auto& [name, item] : expected) {
      Json want = item;
      if (protobuf) api::TrimPod(want);
      EXPECT_EQ(streamed[name], want) << name << (protobuf ? " in protobuf" : " in JSON");
    }
  }
  ListOptions bad;
  bad.resource_version = "0";
  bad.label_selector = "a b c";
  auto refused = client->ListEach(res::kPods, ns.name(), bad, [](Json) { return Status::Ok(); });
  EXPECT_EQ(refused.status().http_status(), 400) << refused.status().ToString();
}

// kube-apiserver answers a protobuf request's errors in protobuf: they are as typed as JSON's.
TEST(ProtobufPodsTest, ErrorsAnsweredInProtobufAreTyped) {
  auto client = AdminClient();
  ListOptions bad;
  bad.label_selector = "a in (";
  bad.protobuf_objects = api::DecodeTrimmedPod;
  auto list = client->List(res::kPods, "default", bad);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().http_status(), 400);
  EXPECT_NE(list.status().message().find("unable to parse requirement"), std::string::npos) << list.status().ToString();
  auto watch = client->Watch(res::kPods, "default", bad);
  ASSERT_FALSE(watch.ok());
  EXPECT_EQ(watch.status().http_status(), 400);
  EXPECT_NE(watch.status().message().find("unable to parse requirement"), std::string::npos) << watch.status().ToString();
}

// A resource without protobuf (a CRD) answers a protobuf request in JSON, which is then read as
// JSON: a list and a watch of ImageBuilds whose decoder must never be called.
TEST(ProtobufPodsTest, AServerAnsweringInJsonIsReadAsJson) {
  ibo::testing::InstallImageBuildCrd();  // no nodes: left on the shared control plane, they would take later tests' pods
  auto client = AdminClient();
  TestNamespace ns(*client, "protobuf-crd");
  const ResourceType imagebuilds{"imagebuild.io", "v1alpha1", "imagebuilds", true};
  const Json build = Json::parse(R"({"apiVersion": "imagebuild.io/v1alpha1", "kind": "ImageBuild",
    "metadata": {"name": "b"}, "spec": {"image": "registry.invalid/b", "version": "v1.0.0",
    "source": {"git": {"url": "https://git.invalid/b.git"}}, "platforms": [{"platform": "linux/amd64"}]}})");
  ASSERT_TRUE(client->Create(imagebuilds, ns.name(), build).ok());
  ListOptions options;
  options.protobuf_objects = [](std::string_view) -> StatusOr<Json> {
    ADD_FAILURE() << "a JSON answer went to the protobuf decoder";
    return Json::object();
  };
  auto list = client->List(imagebuilds, ns.name(), options);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ((*list)["items"].size(), 1u);
  EXPECT_EQ((*list)["items"][0]["metadata"]["name"], "b");
  options.resource_version = "0";
  options.timeout_seconds = 10;
  auto stream = client->Watch(imagebuilds, ns.name(), options);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto added = (*stream)->Next();
  ASSERT_TRUE(added.ok() && added->has_value()) << added.status().ToString();
  EXPECT_EQ((*added)->type, "ADDED");
  EXPECT_EQ((*added)->object["spec"]["image"], "registry.invalid/b");
}

// Without the watch cache a compacted resourceVersion is an ERROR event: in protobuf, a Status
// inside the event's envelope.
TEST(WatchGoneTest, CompactedResourceVersionIsGoneInProtobuf) {
  auto client = AdminClient("IBO_TEST_NOCACHE_CLUSTER_DIR");
  TestNamespace ns(*client, "gone-protobuf");
  auto list = client->List(res::kPods, ns.name(), {});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_TRUE(client->Create(res::kPods, ns.name(), Pod("a")).ok());
  ASSERT_TRUE(client->Create(res::kPods, ns.name(), Pod("b")).ok());
  ibo::testing::RunInfra("control-plane.sh compact-etcd \"$IBO_TEST_NOCACHE_CLUSTER_DIR\" >/dev/null");
  auto stream = WatchFrom(*client, ns.name(), (*list)["metadata"]["resourceVersion"], true);
  ASSERT_TRUE(stream);
  Status gone = stream->Next().status();
  EXPECT_EQ(gone.code(), StatusCode::kGone) << gone.ToString();
}

}  // namespace
}  // namespace ibo::kube
