#include "kube/json_list_splitter.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace ibo::kube {
namespace {

// What a split yields: each item's text, the other members, and how it ended.
struct Split {
  std::vector<std::string> items;
  std::map<std::string, std::string> members;
  Status fed;
  Status finished;
};

// Feeds `body` in pieces of the given sizes (cycled), as a socket might hand it over.
Split SplitInPieces(const std::string& body, const std::vector<size_t>& sizes, size_t max_value = 1 << 20) {
  Split out;
  JsonListSplitter splitter(
      [&](std::string_view item) {
        out.items.emplace_back(item);
        return Status::Ok();
      },
      max_value);
  size_t at = 0;
  for (size_t i = 0; at < body.size() && out.fed.ok(); ++i) {
    const size_t n = std::min(sizes[i % sizes.size()], body.size() - at);
    out.fed = splitter.Feed(std::string_view(body).substr(at, n));
    at += n;
  }
  out.finished = splitter.Finish();
  out.members = splitter.members();
  return out;
}

const std::string kList = R"({"kind":"PodList","apiVersion":"v1",
  "metadata": {"resourceVersion":"42", "continue": ""},
  "items": [ {"metadata":{"name":"a"},"s":"}]{[\"\\"}, {"metadata":{"name":"b"},"n":[1,2,{"x":null}]} ,
             {} ] , "extra": [true, false], "count": -1.5e3 }
)";

TEST(JsonListSplitterTest, SplitsItemsAndMembersWhereverThePiecesBreak) {
  const std::vector<std::string> items = {R"({"metadata":{"name":"a"},"s":"}]{[\"\\"})",
                                          R"({"metadata":{"name":"b"},"n":[1,2,{"x":null}]})", "{}"};
  for (size_t size : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{16384}}) {
    Split split = SplitInPieces(kList, {size});
    ASSERT_TRUE(split.fed.ok()) << size << ": " << split.fed.ToString();
    ASSERT_TRUE(split.finished.ok()) << size << ": " << split.finished.ToString();
    EXPECT_EQ(split.items, items) << "pieces of " << size;
    EXPECT_EQ(split.members["kind"], R"("PodList")");
    EXPECT_EQ(split.members["metadata"], R"({"resourceVersion":"42", "continue": ""})");
    EXPECT_EQ(split.members["extra"], "[true, false]");
    EXPECT_EQ(split.members["count"], "-1.5e3");
    EXPECT_EQ(split.members.count("items"), 0u);
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<size_t> sizes;
    for (int i = 0; i < 20; ++i) sizes.push_back(std::uniform_int_distribution<size_t>(1, 40)(rng));
    EXPECT_EQ(SplitInPieces(kList, sizes).items, items) << "round " << round;
  }
}

TEST(JsonListSplitterTest, EmptyListsAndAnItemsMemberThatIsNotAnArray) {
  for (const char* body : {R"({"items":[]})", R"({})", R"( { "items" : [ ] } )", R"({"items":null,"kind":"X"})"}) {
    Split split = SplitInPieces(body, {1});
    EXPECT_TRUE(split.fed.ok() && split.finished.ok()) << body << ": " << split.fed.ToString();
    EXPECT_TRUE(split.items.empty()) << body;
  }
  EXPECT_EQ(SplitInPieces(R"({"items":null})", {4}).members["items"], "null");
}

TEST(JsonListSplitterTest, ABodyCutShortIsUnavailableSoTheListIsRetried) {
  const size_t last = kList.rfind('}');
  for (size_t cut = 0; cut <= last; ++cut) {
    Split split = SplitInPieces(kList.substr(0, cut), {5});
    ASSERT_TRUE(split.fed.ok()) << cut << ": " << split.fed.ToString();
    EXPECT_EQ(split.finished.code(), StatusCode::kUnavailable) << "cut at " << cut;
  }
  EXPECT_TRUE(SplitInPieces(kList.substr(0, last + 1), {5}).finished.ok());
}

TEST(JsonListSplitterTest, MalformedListsAreErrorsNamingTheByte) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"([1,2])", "a list is a JSON object; it began with '['"},
      {R"({"items":[1]})", "an element of items that is not an object: it begins with '1'"},
      {R"({"items":[{},]})", "an element of items that is not an object: it begins with ']'"},
      {R"({"items":[{} {}]})", "'{' where ',' or ']' after an item belongs"},
      {R"({"a":1,})", "'}' where a member name belongs"},
      {R"({"a" 1})", "'1' where ':' belongs"},
      {R"({"a":})", "'}' where a value begins"},
      {R"({"a":1} x)", "'x' after the list's end"},
      {R"({"a":1 "b":2})", "'\"' where ',' or '}' belongs"},
      {R"({"items":[{"a":[}]})", "'}' where ']' belongs"},
      {R"({"metadata":{"a":1]})", "']' where '}' belongs"},
  };
  for (const auto& [body, why] : bad) {
    Split split = SplitInPieces(body, {3});
    ASSERT_FALSE(split.fed.ok()) << body;
    EXPECT_EQ(split.fed.code(), StatusCode::kInternal) << body;
    EXPECT_NE(split.fed.message().find(why), std::string::npos) << body << ": " << split.fed.message();
    EXPECT_EQ(split.fed.message().rfind("unreadable list JSON at byte ", 0), 0u) << split.fed.message();
  }
}

TEST(JsonListSplitterTest, AnOversizedItemOrMemberIsRefusedWithABoundedBuffer) {
  const std::string big(100, 'x');
  Split item = SplitInPieces(R"({"items":[{"a":")" + big + R"("}]})", {16}, 64);
  ASSERT_FALSE(item.fed.ok());
  EXPECT_NE(item.fed.message().find("an item of a list is over 64 bytes (item 1)"), std::string::npos)
      << item.fed.message();
  Split member = SplitInPieces(R"({"metadata":")" + big + R"("})", {16}, 64);
  ASSERT_FALSE(member.fed.ok());
  EXPECT_NE(member.fed.message().find("the member \"metadata\""), std::string::npos) << member.fed.message();
}

TEST(JsonListSplitterTest, TheSinksErrorStopsTheSplit) {
  int calls = 0;
  JsonListSplitter splitter([&](std::string_view) {
    ++calls;
    return Internal("the cache is full");
  });
  Status fed = splitter.Feed(R"({"items":[{},{},{}]})");
  EXPECT_EQ(fed.message(), "the cache is full");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ibo::kube
