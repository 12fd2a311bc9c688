// The cache trims (TrimPod, TrimImageBuild) keep everything the decoders read, and the Node
// comparison tells scheduling changes from heartbeats.
#include "api/object_views.h"

#include <gtest/gtest.h>

#include <fstream>

namespace ibo::api {
namespace {

Json GoldenPod(const std::string& name) {
  std::ifstream in(std::string(IBO_GOLDEN_DIR) + "/" + name);
  return Json::parse(in);
}

// A build pod as the API serves it once it ran: server fields, managedFields, statuses.
Json ServedPod() {
  Json pod = GoldenPod("buildkit_arm64.json");
  pod["metadata"]["uid"] = "u-1";
  pod["metadata"]["resourceVersion"] = "42";
  pod["metadata"]["creationTimestamp"] = "2026-12-01T10:00:00Z";
  pod["metadata"]["deletionTimestamp"] = "2026-12-01T10:05:00Z";
  pod["metadata"]["managedFields"] = Json::array({{{"manager", "kubelet"}, {"fieldsV1", {{"f:status", Json::object()}}}}});
  pod["spec"]["nodeName"] = "node-a";
  Json running = {{"name", "source"}, {"image", "git:1"}, {"imageID", "sha256:x"}, {"ready", false},
                  {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}, {"message", "abc"}}}}}};
  Json waiting = {{"name", "build"}, {"image", "bk:1"}, {"restartCount", 2},
                  {"state", {{"waiting", {{"reason", "ImagePullBackOff"}, {"message", "no such image"}}}}}};
  pod["status"] = {{"phase", "Pending"}, {"reason", "Evicted"}, {"message", "low on disk"}, {"hostIP", "10.0.0.1"},
                   {"podIPs", Json::array({{{"ip", "10.1.0.2"}}})},
                   {"conditions", Json::array({{{"type", "Initialized"}, {"status", "True"}},
                                               {{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"},
                                                {"lastTransitionTime", "2026-12-01T10:00:00Z"}}})},
                   {"initContainerStatuses", Json::array({running})},
                   {"containerStatuses", Json::array({waiting})}};
  return pod;
}

void ExpectSameView(const PodView& a, const PodView& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.build_id, b.build_id);
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.node_name, b.node_name);
  EXPECT_EQ(a.terminating, b.terminating);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.unschedulable, b.unschedulable);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.message, b.message);
  ASSERT_EQ(a.init_containers.size(), b.init_containers.size());
  ASSERT_EQ(a.containers.size(), b.containers.size());
  for (size_t i = 0; i < a.containers.size(); ++i) {
    EXPECT_EQ(a.containers[i].name, b.containers[i].name);
    EXPECT_EQ(a.containers[i].waiting_reason, b.containers[i].waiting_reason);
    EXPECT_EQ(a.containers[i].waiting_message, b.containers[i].waiting_message);
  }
  for (size_t i = 0; i < a.init_containers.size(); ++i) {
    EXPECT_EQ(a.init_containers[i].terminated, b.init_containers[i].terminated);
    EXPECT_EQ(a.init_containers[i].exit_code, b.init_containers[i].exit_code);
    EXPECT_EQ(a.init_containers[i].terminated_reason, b.init_containers[i].terminated_reason);
    EXPECT_EQ(a.init_containers[i].terminated_message, b.init_containers[i].terminated_message);
  }
}

TEST(TrimPodTest, KeepsWhatTheDecoderAndTheOwnerIndexRead) {
  const Json served = ServedPod();
  Json trimmed = served;
  TrimPod(trimmed);
  ExpectSameView(DecodePod(served), DecodePod(trimmed));
  EXPECT_EQ(trimmed["metadata"]["ownerReferences"], served["metadata"]["ownerReferences"]);
  EXPECT_EQ(trimmed["metadata"]["labels"], served["metadata"]["labels"]);
  EXPECT_EQ(trimmed["metadata"]["namespace"], served["metadata"]["namespace"]);
  // What goes: the specs of containers and volumes, server bookkeeping, images and ids.
  EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
  EXPECT_EQ(trimmed["spec"], Json({{"nodeName", "node-a"}}));
  EXPECT_FALSE(trimmed["status"].contains("hostIP"));
  EXPECT_FALSE(trimmed["status"]["containerStatuses"][0].contains("image"));
  EXPECT_EQ(trimmed["status"]["conditions"],
            Json::array({{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}}}));
  EXPECT_EQ(trimmed["status"]["initContainerStatuses"][0]["state"],
            Json({{"terminated", {{"exitCode", 0}, {"reason", "Completed"}, {"message", "abc"}}}}));
  EXPECT_LT(trimmed.dump().size() * 3, served.dump().size());
}

TEST(TrimPodTest, WhatTheParserNeedNotBuildIsWhatTrimPodDrops) {
  const Json served = ServedPod();
  auto parsed = ParseJson(served.dump(), TooDeep::kRefuse, PodMembersNeverRead());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_FALSE((*parsed)["spec"].contains("containers"));  // never built
  EXPECT_FALSE((*parsed)["metadata"].contains("managedFields"));
  EXPECT_EQ((*parsed)["spec"]["nodeName"], "node-a");
  Json from_parser = *parsed, from_served = served;
  TrimPod(from_parser);
  TrimPod(from_served);
  EXPECT_EQ(from_parser, from_served);
}

TEST(TrimPodTest, LeavesMalformedPodsForTheDecoderToJudge) {
  Json pod = {{"metadata", "not an object"}, {"status", {{"containerStatuses", "nor a list"}}}};
  TrimPod(pod);
  EXPECT_EQ(pod["metadata"], "not an object");
  EXPECT_EQ(DecodePod(pod).containers.size(), 0u);
}

TEST(TrimImageBuildTest, DropsManagedFieldsAndKubectlsCopyOnly) {
  Json ib = {{"metadata",
              {{"name", "app"},
               {"managedFields", Json::array({Json::object()})},
               {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{...}"},
                                {"imagebuild.io/rebuild", "2"}}}}},
             {"spec", {{"image", "r/app"}}},
             {"status", {{"phase", "Succeeded"}}}};
  TrimImageBuild(ib);
  EXPECT_FALSE(ib["metadata"].contains("managedFields"));
  EXPECT_EQ(ib["metadata"]["annotations"], Json({{"imagebuild.io/rebuild", "2"}}));
  EXPECT_EQ(ib["spec"]["image"], "r/app");
  EXPECT_EQ(ib["status"]["phase"], "Succeeded");
}

Json Node(const std::string& ready, const std::string& heartbeat) {
  return {{"metadata", {{"name", "n"}, {"labels", {{"kubernetes.io/arch", "arm64"}, {"kubernetes.io/os", "linux"}}}}},
          {"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", ready}, {"lastHeartbeatTime", heartbeat}}})}}}};
}

// A Node as a kubelet keeps it: images, addresses, capacity, taints and every condition.
Json ServedNode() {
  return Json::parse(R"({"apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "big", "uid": "u", "resourceVersion": "9", "creationTimestamp": "2026-12-01T10:00:00Z",
                 "labels": {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "pool": "builders"},
                 "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                 "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]},
    "spec": {"unschedulable": true, "podCIDRs": ["10.1.0.0/24"],
             "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
    "status": {"conditions": [{"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2026-12-01T10:00:10Z"},
                              {"type": "Ready", "status": "True", "reason": "KubeletReady",
                               "lastHeartbeatTime": "2026-12-01T10:00:10Z"}],
               "addresses": [{"type": "InternalIP", "address": "10.0.0.9"}],
               "capacity": {"cpu": "64"}, "allocatable": {"cpu": "63"},
               "images": [{"names": ["registry.example.com/base@sha256:aa", "registry.example.com/base:1"], "sizeBytes": 1}],
               "nodeInfo": {"architecture": "arm64", "kubeletVersion": "v1.20.2"},
               "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
               "volumesInUse": ["v"], "volumesAttached": [{"name": "v", "devicePath": "/dev/x"}]}})");
}

TEST(TrimNodeTest, KeepsWhatDecodeNodeReadsAndNoHeartbeat) {
  Json node = ServedNode();
  TrimNode(node);
  EXPECT_EQ(node, Json::parse(R"({"apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "big", "uid": "u", "resourceVersion": "9", "creationTimestamp": "2026-12-01T10:00:00Z",
                 "labels": {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "pool": "builders"}},
    "spec": {"unschedulable": true},
    "status": {"conditions": [{"type": "Ready", "status": "True"}]}})"));
  const NodeView before = DecodeNode(ServedNode()), after = DecodeNode(node);
  EXPECT_EQ(after.name, before.name);
  EXPECT_EQ(after.os, before.os);
  EXPECT_EQ(after.arch, before.arch);
  EXPECT_EQ(after.unschedulable, before.unschedulable);
  EXPECT_EQ(after.ready, before.ready);
  EXPECT_TRUE(after.ready && after.unschedulable);
}

TEST(TrimNodeTest, WhatTheParserNeedNotBuildIsWhatTrimNodeDrops) {
  const Json served = ServedNode();
  auto parsed = ParseJson(served.dump(), TooDeep::kRefuse, NodeMembersNeverRead());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_FALSE((*parsed)["status"].contains("images"));  // never built
  Json from_parser = *parsed, from_served = served;
  TrimNode(from_parser);
  TrimNode(from_served);
  EXPECT_EQ(from_parser, from_served);
}

TEST(SchedulingChangedTest, HeartbeatsAreNotChangesReadinessLabelsAndCordonsAre) {
  EXPECT_FALSE(SchedulingChanged(Node("True", "10:00:00"), Node("True", "10:00:10")));
  EXPECT_TRUE(SchedulingChanged(Node("True", "10:00:00"), Node("False", "10:00:10")));
  Json relabelled = Node("True", "10:00:00");
  relabelled["metadata"]["labels"]["kubernetes.io/arch"] = "amd64";
  EXPECT_TRUE(SchedulingChanged(Node("True", "10:00:00"), relabelled));
  Json cordoned = Node("True", "10:00:00");
  cordoned["spec"]["unschedulable"] = true;
  EXPECT_TRUE(SchedulingChanged(Node("True", "10:00:00"), cordoned));
}

}  // namespace
}  // namespace ibo::api
