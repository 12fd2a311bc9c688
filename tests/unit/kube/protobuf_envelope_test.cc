#include "kube/protobuf_envelope.h"

#include <algorithm>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/object_views.h"
#include "api/pod_protobuf.h"
#include "proto_builder.h"
#include "protobuf_fixtures.h"

namespace ibo::kube {
namespace {

using testing::BytesField;
using testing::ReadProtobufFixture;
using testing::Envelope;
using testing::VarintField;

Json Trimmed(Json pod) {
  api::TrimPod(pod);
  return pod;
}

// The frames of a protobuf watch body: each a 4-byte big-endian length, then its bytes.
std::vector<std::string> Frames(const std::string& body) {
  std::vector<std::string> frames;
  for (size_t at = 0; at + 4 <= body.size();) {
    const uint32_t size = (uint8_t(body[at]) << 24) | (uint8_t(body[at + 1]) << 16) | (uint8_t(body[at + 2]) << 8) |
                          uint8_t(body[at + 3]);
    frames.push_back(body.substr(at + 4, size));
    at += 4 + size;
  }
  return frames;
}

TEST(ProtobufEnvelopeTest, OpensTheEnvelopeAndRefusesWhatIsNotOne) {
  const std::string body = Envelope("v1", "Pod", "raw bytes");  // raw is a view into it
  auto envelope = OpenProtobufEnvelope(body);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->api_version, "v1");
  EXPECT_EQ(envelope->kind, "Pod");
  EXPECT_EQ(envelope->raw, "raw bytes");
  auto json = OpenProtobufEnvelope(R"({"kind": "Pod"})");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().message(), "not kube-apiserver's protobuf (no \"k8s\\0\" at its start)");
  EXPECT_FALSE(OpenProtobufEnvelope(std::string("k8s\0\x0a\x09", 6)).ok());
}

// list.pb and list.json: the same page (limit=1) of kube-apiserver 1.20's pods, in both encodings.
TEST(ProtobufEnvelopeTest, AListPageReadsAsItsJson) {
  auto list = DecodeProtobufList(ReadProtobufFixture("list.pb"), api::DecodeTrimmedPod);
  ASSERT_TRUE(list.ok()) << list.status().message();
  const Json json = Json::parse(ReadProtobufFixture("list.json"));
  EXPECT_EQ((*list)["kind"], "PodList");
  EXPECT_EQ((*list)["apiVersion"], "v1");
  EXPECT_EQ((*list)["metadata"]["resourceVersion"], json["metadata"]["resourceVersion"]);
  EXPECT_EQ((*list)["metadata"]["continue"], json["metadata"]["continue"]);
  ASSERT_EQ((*list)["items"].size(), json["items"].size());
  for (size_t i = 0; i < json["items"].size(); ++i) EXPECT_EQ((*list)["items"][i], Trimmed(json["items"][i]));
}

// watch.pb and watch.json: two watches from one resourceVersion, open at once while a pod was
// created, given a status, relabelled and deleted.
TEST(ProtobufEnvelopeTest, WatchEventsReadAsTheirJson) {
  const auto frames = Frames(ReadProtobufFixture("watch.pb"));
  std::vector<Json> json_events;
  std::istringstream lines(ReadProtobufFixture("watch.json"));
  for (std::string line; std::getline(lines, line);) json_events.push_back(Json::parse(line));
  ASSERT_EQ(frames.size(), json_events.size());
  ASSERT_GE(frames.size(), 5u);
  for (size_t i = 0; i < frames.size(); ++i) {
    auto event = DecodeProtobufWatchEvent(frames[i], api::DecodeTrimmedPod, "watch pods");
    ASSERT_TRUE(event.ok()) << i << ": " << event.status().message();
    EXPECT_EQ(event->type, json_events[i]["type"]);
    EXPECT_EQ(event->object, Trimmed(json_events[i]["object"])) << i;
  }
}

TEST(ProtobufEnvelopeTest, AnErrorEventIsTheErrorItCarries) {
  const std::string status = BytesField(2, "Failure") + BytesField(3, "too old resource version: 1 (200)") +
                             BytesField(4, "Expired") + VarintField(6, 410);
  const std::string frame = BytesField(1, "ERROR") + BytesField(2, BytesField(1, Envelope("v1", "Status", status)));
  auto event = DecodeProtobufWatchEvent(frame, api::DecodeTrimmedPod, "watch pods");
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), StatusCode::kGone);
  EXPECT_THAT(event.status().message(), ::testing::HasSubstr("too old resource version"));
}

TEST(ProtobufEnvelopeTest, BrokenEventsAreErrorsNamingTheWatch) {
  const struct { std::string frame, message; } cases[] = {
      {BytesField(1, "ADDED"), "watch pods: watch event without a type and an object"},
      {BytesField(2, BytesField(1, Envelope("v1", "Pod", ""))), "watch pods: watch event without a type and an object"},
      {BytesField(1, "ADDED") + BytesField(2, BytesField(1, "{}")),
       "watch pods: ADDED event: not kube-apiserver's protobuf (no \"k8s\\0\" at its start)"},
      {BytesField(1, "ADDED") + BytesField(2, BytesField(1, Envelope("v1", "Pod", BytesField(1, VarintField(1, 2))))),
       "watch pods: ADDED event: a pod: metadata: field 1 has wire type 0, not 2"},
      {"\x0a\x09" "ADD", "watch pods: unreadable watch event: a watch event: a length-delimited field runs past the end of the message"},
  };
  for (const auto& c : cases) {
    auto event = DecodeProtobufWatchEvent(c.frame, api::DecodeTrimmedPod, "watch pods");
    ASSERT_FALSE(event.ok()) << c.message;
    EXPECT_EQ(event.status().message(), c.message);
  }
}

// A body handed over `size` bytes at most at a time, as ResponseStream::ReadExactly would.
class BodyReader {
 public:
  explicit BodyReader(std::string body) : body_(std::move(body)) {}
  StatusOr<std::optional<std::string>> operator()(size_t size) {
    if (at_ == body_.size()) return std::optional<std::string>();
    if (body_.size() - at_ < size) return Unavailable("the body ended part way into a piece");
    std::string piece = body_.substr(at_, size);
    at_ += size;
    largest_ = std::max(largest_, size);
    return std::optional<std::string>(std::move(piece));
  }
  size_t largest() const { return largest_; }

 private:
  std::string body_;
  size_t at_ = 0;
  size_t largest_ = 0;
};

struct Streamed {
  Status read;
  ListSummary summary;
  std::vector<Json> items;
};

Streamed Stream(BodyReader& reader, const ProtobufObjectDecoder& decode = api::DecodeTrimmedPod) {
  Streamed out;
  out.read = ReadProtobufListStream([&](size_t n) { return reader(n); }, decode,
                                    [&](Json item) {
                                      out.items.push_back(std::move(item));
                                      return Status::Ok();
                                    },
                                    out.summary);
  return out;
}

TEST(ProtobufEnvelopeTest, AStreamedListReadsAsItsPageDoesOneItemAtATime) {
  const std::string body = ReadProtobufFixture("list.pb");
  auto page = DecodeProtobufList(body, api::DecodeTrimmedPod);
  ASSERT_TRUE(page.ok());
  BodyReader reader(body);
  Streamed streamed = Stream(reader);
  ASSERT_TRUE(streamed.read.ok()) << streamed.read.message();
  EXPECT_EQ(streamed.summary.kind, "PodList");
  EXPECT_EQ(streamed.summary.resource_version, (*page)["metadata"]["resourceVersion"]);
  EXPECT_EQ(streamed.summary.continue_token, (*page)["metadata"]["continue"]);
  EXPECT_EQ(Json(streamed.items), (*page)["items"]);
  EXPECT_LT(reader.largest(), body.size()) << "never the whole body at once";
}

TEST(ProtobufEnvelopeTest, AStreamedListSkipsUnknownFieldsAndRefusesBrokenOnes) {
  const std::string meta = BytesField(1, BytesField(2, "7") + BytesField(3, "next"));
  // Unknown fields of every wire type, before and between the items.
  const std::string list = VarintField(9, 300) + meta + BytesField(2, "one") + std::string("\x2d\1\2\3\4", 5) +
                           BytesField(2, "two") + std::string("\x31", 1) + std::string(8, '\0');
  const ProtobufObjectDecoder echo = [](std::string_view m) -> StatusOr<Json> { return Json{{"m", m}}; };
  BodyReader good(Envelope("v1", "PodList", list) + BytesField(4, "application/vnd.kubernetes.protobuf"));
  Streamed streamed = Stream(good, echo);
  ASSERT_TRUE(streamed.read.ok()) << streamed.read.message();
  EXPECT_EQ(streamed.summary.resource_version, "7");
  EXPECT_EQ(streamed.summary.continue_token, "next");
  EXPECT_EQ(Json(streamed.items), Json::parse(R"([{"m":"one"},{"m":"two"}])"));

  const std::string whole = Envelope("v1", "PodList", list);
  const struct { std::string body, message; } cases[] = {
      {R"({"kind":"PodList"})", "not kube-apiserver's protobuf (no \"k8s\\0\" at its start)"},
      {whole.substr(0, whole.size() - 3), "the body ended part way into a piece"},
      {std::string("k8s\0", 4) + "\x12", "the list's body ended inside a field"},
      {std::string("k8s\0", 4) + BytesField(2, BytesField(2, "one")) + "\x13", "a field of wire type 3 in the list"},
      {std::string("k8s\0", 4) + "\x12\x03" + BytesField(2, "one"), "the list's last field runs past the list"},
      {std::string("k8s\0", 4) + "\x12\x06\x12\x80\x80\x80\x80\x01", "a field of 268435456 bytes in the list"},
  };
  for (const auto& c : cases) {
    BodyReader reader(c.body);
    Streamed broken = Stream(reader, echo);
    ASSERT_FALSE(broken.read.ok()) << c.message;
    EXPECT_EQ(broken.read.message(), c.message);
  }
}

// not_found.pb: kube-apiserver's 404 for a pod, asked for in protobuf.
TEST(ProtobufEnvelopeTest, AnErrorAnswerInProtobufReadsAsItsStatus) {
  auto status = DecodeProtobufStatus(ReadProtobufFixture("not_found.pb"));
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ((*status)["code"], 404);
  EXPECT_EQ((*status)["reason"], "NotFound");
  EXPECT_EQ((*status)["message"], "pods \"nope\" not found");
}

}  // namespace
}  // namespace ibo::kube
