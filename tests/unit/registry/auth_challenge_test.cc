#include "registry/auth_challenge.h"

#include <gtest/gtest.h>

namespace ibo::registry {
namespace {

TEST(ParseWwwAuthenticate, BearerWithQuotedScopeHoldingCommas) {
  auto challenges = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].Param("realm"), "https://auth.example.com/token");
  EXPECT_EQ(challenges[0].Param("service"), "registry.example.com");
  EXPECT_EQ(challenges[0].Param("scope"), "repository:a/b:pull,push");
  EXPECT_EQ(challenges[0].Param("error"), "");
}

TEST(ParseWwwAuthenticate, BasicAndSeveralChallenges) {
  auto challenges = ParseWwwAuthenticate(R"(Basic realm="Registry Realm", Bearer realm=https://x/t, service=s)");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "basic");
  EXPECT_EQ(challenges[0].Param("realm"), "Registry Realm");
  EXPECT_EQ(challenges[1].scheme, "bearer");
  EXPECT_EQ(challenges[1].Param("realm"), "https://x/t");
  EXPECT_EQ(challenges[1].Param("service"), "s");
}

TEST(ParseWwwAuthenticate, CaseAndEscapes) {
  auto challenges = ParseWwwAuthenticate(R"(BEARER Realm="a\"b" , Error="insufficient_scope")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].Param("realm"), "a\"b");
  EXPECT_EQ(challenges[0].Param("error"), "insufficient_scope");
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
}

}  // namespace
}  // namespace ibo::registry
