#include "api/pod_protobuf.h"

#include <sstream>

#include <gtest/gtest.h>

#include "api/object_views.h"
#include "common/protobuf_wire.h"
#include "proto_builder.h"
#include "protobuf_fixtures.h"

namespace ibo::api {
namespace {

using testing::BytesField;
using testing::ReadProtobufFixture;
using testing::VarintField;

// The pod's own message inside kube-apiserver's envelope (runtime.Unknown's raw, field 2).
std::string PodMessage(const std::string& body) {
  ProtoReader reader(std::string_view(body).substr(4));
  ProtoField f;
  while (reader.Next(f)) {
    if (f.number == 2) return std::string(f.bytes);
  }
  ADD_FAILURE() << "no raw object in the envelope";
  return "";
}

Json Trimmed(Json pod) {
  TrimPod(pod);
  pod.erase("apiVersion");  // the envelope names them, not the pod's message
  pod.erase("kind");
  return pod;
}

// Both fixtures are one pod as kube-apiserver 1.20 served it in both encodings: a Failed pod whose
// status went through the status subresource with every field set, and a Pending one.
TEST(DecodeTrimmedPodTest, EqualsTrimPodOfTheSamePodsJson) {
  for (const std::string name : {"failed", "pending"}) {
    auto decoded = DecodeTrimmedPod(PodMessage(ReadProtobufFixture(name + ".pb")));
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.status().message();
    const Json expected = Trimmed(Json::parse(ReadProtobufFixture(name + ".json")));
    EXPECT_EQ(*decoded, expected) << name << "\n" << decoded->dump(1) << "\n" << expected.dump(1);
  }
}

TEST(DecodeTrimmedPodTest, TheFailedFixtureReadsAsTheDecisionReadsIt) {
  auto decoded = DecodeTrimmedPod(PodMessage(ReadProtobufFixture("failed.pb")));
  ASSERT_TRUE(decoded.ok());
  const PodView v = DecodePod(*decoded);
  EXPECT_EQ(v.phase, "Failed");
  EXPECT_EQ(v.reason, "Evicted");
  ASSERT_EQ(v.containers.size(), 1u);
  EXPECT_TRUE(v.containers[0].terminated);
  EXPECT_EQ(v.containers[0].exit_code, 137);
  EXPECT_EQ(v.containers[0].terminated_reason, "OOMKilled");
  EXPECT_EQ(v.containers[0].terminated_message, "killed: ünïcode \"quotes\" and a\nnewline");
  ASSERT_EQ(v.init_containers.size(), 1u);
  EXPECT_EQ(v.init_containers[0].exit_code, 0);
  EXPECT_FALSE(v.build_id.empty());
}

TEST(DecodeTrimmedPodTest, AnEmptyMessageIsAPodWithNothingSet) {
  auto decoded = DecodeTrimmedPod("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, Json::parse(R"({"metadata": {"creationTimestamp": null}, "spec": {}, "status": {}})"));
}

TEST(DecodeTrimmedPodTest, UnreadFieldsAreSkippedAndOnlyPodScheduledIsKept) {
  const std::string waiting = BytesField(1, BytesField(1, "ContainerCreating") + BytesField(2, ""));
  const std::string status = BytesField(1, "Pending") +
      BytesField(2, BytesField(1, "Ready") + BytesField(2, "False")) +
      BytesField(2, BytesField(1, "PodScheduled") + BytesField(2, "False") + BytesField(5, "Unschedulable") +
                        BytesField(6, "0/2 nodes")) +
      BytesField(8, BytesField(1, "build") + BytesField(2, waiting) + VarintField(5, 3)) +
      BytesField(10, BytesField(1, "source") + BytesField(2, BytesField(3, VarintField(1, uint64_t(int64_t{-2})))));
  const std::string meta = BytesField(1, "p") + VarintField(7, 0) + BytesField(8, VarintField(1, 1764614400)) +
                           BytesField(11, BytesField(1, "k") + BytesField(2, "v")) + BytesField(17, "managed, skipped");
  const std::string pod = BytesField(1, meta) + BytesField(2, BytesField(2, "containers, skipped") + BytesField(10, "n1")) +
                          BytesField(3, status) + VarintField(99, 1);
  auto decoded = DecodeTrimmedPod(pod);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, Json::parse(R"({
    "metadata": {"name": "p", "creationTimestamp": "2025-12-01T18:40:00Z", "labels": {"k": "v"}},
    "spec": {"nodeName": "n1"},
    "status": {"phase": "Pending",
               "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
               "containerStatuses": [{"name": "build", "state": {"waiting": {"reason": "ContainerCreating"}}}],
               "initContainerStatuses": [{"name": "source", "state": {"terminated": {"exitCode": -2}}}]}})"));
}

// Whether a container runs says whether the kubelet started the pod; since when is not kept.
TEST(DecodeTrimmedPodTest, ARunningInitContainerIsKeptAsRunningInBothEncodings) {
  const std::string running = BytesField(2, BytesField(1, VarintField(1, 1764614400)));
  const std::string status = BytesField(1, "Pending") + BytesField(10, BytesField(1, "source") + BytesField(2, running));
  auto decoded = DecodeTrimmedPod(BytesField(2, BytesField(10, "n1")) + BytesField(3, status));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const Json expected_status = Json::parse(
      R"({"phase": "Pending", "initContainerStatuses": [{"name": "source", "state": {"running": {}}}]})");
  EXPECT_EQ((*decoded)["status"], expected_status);
  Json json = {{"spec", {{"nodeName", "n1"}}},
               {"status", {{"phase", "Pending"}, {"initContainerStatuses", Json::array({{{"name", "source"},
                 {"state", {{"running", {{"startedAt", "2025-12-01T18:40:00Z"}}}}}}})}}}};
  TrimPod(json);
  EXPECT_EQ(json["status"], expected_status);
  EXPECT_TRUE(DecodePod(*decoded).Started());
  EXPECT_TRUE(DecodePod(json).Started());
  json["status"]["initContainerStatuses"][0]["state"] = {{"waiting", {{"reason", "PodInitializing"}}}};
  EXPECT_FALSE(DecodePod(json).Started()) << "bound and waiting is not started";
  json["status"]["phase"] = "Running";
  EXPECT_TRUE(DecodePod(json).Started());
}

// Found by the fuzz target: 32,934,663,226 seconds overflowed std::chrono's nanoseconds (UB).
TEST(DecodeTrimmedPodTest, TimesOutsideYears1970To2262AreUnset) {
  for (uint64_t seconds : {uint64_t{32934663226}, uint64_t{9223372037}, uint64_t(int64_t{-5}), ~uint64_t{0}}) {
    auto decoded = DecodeTrimmedPod(BytesField(1, BytesField(8, VarintField(1, seconds)) +
                                                     BytesField(9, VarintField(1, seconds))));
    ASSERT_TRUE(decoded.ok()) << seconds;
    EXPECT_EQ((*decoded)["metadata"]["creationTimestamp"], nullptr) << seconds;
    EXPECT_EQ((*decoded)["metadata"]["deletionTimestamp"], nullptr) << seconds;
  }
  auto last = DecodeTrimmedPod(BytesField(1, BytesField(8, VarintField(1, 9223372036))));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ((*last)["metadata"]["creationTimestamp"], "2262-04-11T23:47:16Z");
}

TEST(DecodeTrimmedPodTest, InvalidUtf8BecomesReplacementsSoTheJsonStillDumps) {
  const std::string status = BytesField(3, "bad \xff byte");
  auto decoded = DecodeTrimmedPod(BytesField(3, status));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ((*decoded)["status"]["message"], "bad \xEF\xBF\xBD byte");
  EXPECT_NO_THROW(decoded->dump());
}

TEST(DecodeTrimmedPodTest, MalformedPodsAreErrorsThatSayWhere) {
  // metadata.name as a varint; a truncated status; a container state cut short.
  auto wrong_type = DecodeTrimmedPod(BytesField(1, VarintField(1, 5)));
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.status().message(), "a pod: metadata: field 1 has wire type 0, not 2");
  auto truncated = DecodeTrimmedPod(BytesField(3, "") + "\x1a\x10" "short");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().message(), "a pod: a length-delimited field runs past the end of the message");
  auto nested = DecodeTrimmedPod(BytesField(3, BytesField(8, BytesField(2, "\x1a\x05" "ab"))));
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(),
            "a pod: status: a container status: state: a length-delimited field runs past the end of the message");
}

}  // namespace
}  // namespace ibo::api
