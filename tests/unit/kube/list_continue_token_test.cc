// A List page's continue token read off its body ahead of the parse: found where kube-apiserver
// writes it, and never taken from inside an item.
#include "kube/list_continue_token.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protobuf_fixtures.h"

namespace ibo::kube {
namespace {

using testing::ReadProtobufFixture;

TEST(ListContinueTokenTest, ABuiltInListHasItsMetadataFirst) {
  EXPECT_EQ(JsonListContinueToken(R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"52",)"
                                  R"("continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NTJ9","remainingItemCount":4},)"
                                  R"("items":[{"metadata":{"name":"a"}}]})"),
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NTJ9");
  EXPECT_EQ(JsonListContinueToken(R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[]})"),
            "");
}

TEST(ListContinueTokenTest, ACustomResourceListHasItsMetadataLast) {
  const std::string page = R"({"apiVersion":"imagebuild.io/v1alpha1","items":[{"metadata":{"name":"a"},"spec":{}}],)"
                           R"("kind":"ImageBuildList","metadata":{"continue":"eyJydiI6N30","remainingItemCount":9,)"
                           R"("resourceVersion":"7"}})";
  EXPECT_EQ(JsonListContinueToken(page + "\n"), "eyJydiI6N30");
  EXPECT_EQ(JsonListContinueToken(R"({"apiVersion":"v","items":[],"kind":"L","metadata":{"resourceVersion":"7"}})"), "");
}

TEST(ListContinueTokenTest, AnythingElseIsLeftToTheParse) {
  for (const char* body : {
           R"({"items":[{"metadata":{"continue":"from-an-item"}}]})",         // an item's, not the list's
           R"({"a":1,"z":{"b":1,"metadata":{"continue":"nested"}}})",         // one level down
           R"({"items":[],"metadata":{"continue":"esc\"aped"}})",             // not a plain token
           R"({"items":[],"metadata":{"continue":{"x":1}}})",                 // not a string
           R"({"kind":"L","apiVersion":"v1","metadata":{"continue":"t")",     // cut short
           R"({"kind":"L","apiVersion":"v1","items":[],"metadata":{"continue":"t"}} trailing)",
           "",
       }) {
    EXPECT_EQ(JsonListContinueToken(body), std::nullopt) << body;
  }
}

// list.pb and list.json: one page (limit=1) of kube-apiserver 1.20's pods in both encodings.
TEST(ListContinueTokenTest, AProtobufListHasItsMetadataFirst) {
  const nlohmann::json json = nlohmann::json::parse(ReadProtobufFixture("list.json"));
  const std::string token = json["metadata"].value("continue", "");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(ProtobufListContinueToken(ReadProtobufFixture("list.pb")), token);
  EXPECT_EQ(JsonListContinueToken(ReadProtobufFixture("list.json")), std::nullopt);  // the fixture is pretty-printed
  EXPECT_EQ(ProtobufListContinueToken(R"({"kind":"PodList"})"), std::nullopt);
  EXPECT_EQ(ProtobufListContinueToken(std::string("k8s\0\x12\x05\x0a\x03", 8)), std::nullopt);  // cut short
}

}  // namespace
}  // namespace ibo::kube
