#include "common/json_parse.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

std::string Nested(int levels, const std::string& inner = "1") {
  std::string s;
  for (int i = 0; i < levels; ++i) s += "{\"a\":[";
  s += inner;
  for (int i = 0; i < levels; ++i) s += "]}";
  return s;  // 2 * levels deep
}

TEST(JsonDepthTest, CountsContainersOutsideStrings) {
  EXPECT_EQ(JsonDepth("1"), 0);
  EXPECT_EQ(JsonDepth("[]"), 1);
  EXPECT_EQ(JsonDepth(R"({"a":[{}]})"), 3);
  EXPECT_EQ(JsonDepth(R"(["[[[[", "\"[[[", "\\", {}])"), 2);  // brackets in strings, escaped quotes
  EXPECT_EQ(JsonDepth(Nested(500)), 1000);
  EXPECT_EQ(JsonDepth("[[[["), 4);  // malformed: measured as far as it goes
}

TEST(ParseJsonTest, ReadsWhatIsWithinTheLimit) {
  auto doc = ParseJson(Nested(kMaxJsonDepth / 2));
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->dump(), Nested(kMaxJsonDepth / 2));
  EXPECT_EQ(*ParseJson(R"({"k":"[{[{"})"), (nlohmann::json{{"k", "[{[{"}}));
}

// Found by the watch_event, kubeconfig and imagebuild fuzzers: nlohmann throws out_of_range (not
// parse_error) for a number beyond double's range, which escaped as an uncaught exception.
TEST(ParseJsonTest, ANumberOutOfRangeIsAnErrorNotAnException) {
  for (const char* text : {"1e309", R"({"type":"ADDED","object":{"n":-949999e909}})", "[1E400]"}) {
    auto doc = ParseJson(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_EQ(doc.status().message(), "not valid JSON (a number out of range)");
  }
  // Below the cut it is never parsed: the rest reads.
  EXPECT_TRUE(ParseJson(R"({"deep":)" + Nested(100, "1e999") + "}", TooDeep::kReplace).ok());
}

TEST(ParseJsonTest, RefusesDeeperThanTheLimitBeforeParsing) {
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  auto doc = ParseJson(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().message(), "JSON nested deeper than 64 levels (byte 64)");
  // A million levels (2 MB) are refused as fast, not parsed: no stack is at risk.
  EXPECT_FALSE(ParseJson(std::string(1'000'000, '[') + std::string(1'000'000, ']')).ok());
  EXPECT_FALSE(ParseJson(Nested(2, "1"), TooDeep::kRefuse, 3).ok());
  EXPECT_TRUE(ParseJson(Nested(2, "1"), TooDeep::kRefuse, 4).ok());
}

TEST(ParseJsonTest, ReplaceCutsOnlyTheDeepValues) {
  const std::string text = R"({"items":[{"name":"deep","v":)" + Nested(100) + R"(},{"name":"fine","v":[1]}],"n":2})";
  auto doc = ParseJson(text, TooDeep::kReplace);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)["items"][1], (nlohmann::json{{"name", "fine"}, {"v", {1}}}));
  EXPECT_EQ((*doc)["n"], 2);
  EXPECT_EQ((*doc)["items"][0]["name"], "deep");
  EXPECT_LE(JsonDepth((*doc).dump()), kMaxJsonDepth);
  // The value that would have opened level 65 is the marker, where it was.
  const nlohmann::json* at = &(*doc)["items"][0]["v"];
  for (int level = 4; level <= kMaxJsonDepth; ++level) at = at->is_object() ? &(*at)["a"] : &(*at)[0];
  EXPECT_EQ(*at, std::string(kTooDeepMarker));
}

TEST(ParseJsonTest, ReplaceCutsEveryDeepValueAndKeepsStringsIntact) {
  const std::string deep = std::string(70, '[') + "\"]]]\\\"]]\"" + std::string(70, ']');
  auto doc = ParseJson("[" + deep + ",\"x\"," + deep + "]", TooDeep::kReplace, 8);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)[1], "x");
  EXPECT_EQ((*doc)[2].dump(), (*doc)[0].dump());
  EXPECT_EQ(JsonDepth((*doc).dump()), 8);
}

TEST(ParseJsonTest, ErrorsGiveTheOffsetNeverTheInput) {
  auto doc = ParseJson(R"({"password":"hunter2",})");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message().find("hunter2"), std::string::npos) << doc.status().message();
  EXPECT_EQ(doc.status().message().rfind("not valid JSON (byte ", 0), 0u) << doc.status().message();
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("[[[[", TooDeep::kReplace, 2).ok());  // unbalanced stays refused
}

TEST(ParseJsonTest, DropsOnlyTheMemberUnderItsParent) {
  const std::vector<DroppedMember> managed{{"metadata", "managedFields"}, {"spec", "nothing by that name"}};
  auto list = ParseJson(R"({"kind":"PodList","metadata":{"resourceVersion":"5","managedFields":[1]},"items":[
      {"metadata":{"name":"a","managedFields":[{"manager":"kubelet","fieldsV1":{"f:metadata":{}}}],"labels":{"x":"1"}},
       "spec":{"annotations":{"managedFields":"a user's key"},"metadata":{"managedFields":"nested deeper, also dropped"}}},
      {"status":{"managedFields":"not under metadata"},"metadata":{"name":"b","managedFields":[]}},
      [{"metadata":{"managedFields":1,"name":"in an array"}}]]})",
                        TooDeep::kReplace, managed);
  ASSERT_TRUE(list.ok()) << list.status().message();
  const auto& items = (*list)["items"];
  EXPECT_FALSE((*list)["metadata"].contains("managedFields"));
  EXPECT_EQ((*list)["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(items[0]["metadata"], nlohmann::json({{"name", "a"}, {"labels", {{"x", "1"}}}}));
  EXPECT_EQ(items[0]["spec"]["annotations"]["managedFields"], "a user's key");
  EXPECT_FALSE(items[0]["spec"]["metadata"].contains("managedFields"));
  EXPECT_EQ(items[1]["status"]["managedFields"], "not under metadata");
  EXPECT_EQ(items[1]["metadata"], nlohmann::json({{"name", "b"}}));
  EXPECT_EQ(items[2][0]["metadata"], nlohmann::json({{"name", "in an array"}}));
  // A dropped container ends without a callback: what follows it is still judged right.
  auto pod = ParseJson(R"({"metadata":{"annotations":{"a":{"b":1}},"managedFields":[[{}]],"name":"p"},
                           "items":[{"x":{"managedFields":1}},{"metadata":{"managedFields":2}}]})",
                       TooDeep::kReplace,
                       std::vector<DroppedMember>{{"metadata", "annotations"}, {"metadata", "managedFields"}});
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ((*pod)["metadata"], nlohmann::json({{"name", "p"}}));
  EXPECT_EQ((*pod)["items"][0]["x"]["managedFields"], 1);
  EXPECT_EQ((*pod)["items"][1]["metadata"], nlohmann::json::object());
  // The same document parsed whole differs only there.
  EXPECT_TRUE(ParseJson(R"({"metadata":{"managedFields":[]}})")->at("metadata").contains("managedFields"));
  EXPECT_FALSE(ParseJson("{\"metadata\":{", TooDeep::kReplace, managed).ok());
}

}  // namespace
}  // namespace ibo
