#include "common/oci_reference.h"

#include <gtest/gtest.h>

#include <vector>

namespace ibo::oci {
namespace {

TEST(ParseRepository, SplitsHostAndPath) {
  auto repo = ParseRepository("127.0.0.1:5000/team/app");
  ASSERT_TRUE(repo.ok()) << repo.status().message();
  EXPECT_EQ(repo->host, "127.0.0.1:5000");
  EXPECT_EQ(repo->path, "team/app");
  EXPECT_EQ(repo->ToString(), "127.0.0.1:5000/team/app");
  EXPECT_TRUE(ParseRepository("registry.example.com/a.b/c_d/e__f/g-h--i").ok());
  EXPECT_TRUE(ParseRepository("[::1]:5000/app").ok());
}

TEST(ParseRepository, RefusesWhatDistributionRefuses) {
  for (const char* bad : {"app", "/app", "host/", "host/App", "host/a//b", "host/-a", "host/a-", "ho st/app",
                          "host:port/app", "host/a:tag"}) {
    EXPECT_FALSE(ParseRepository(bad).ok()) << bad;
  }
}

// std::regex recurses once per character: a host of 100,000 characters overflowed the stack
// (SIGSEGV) before the length was checked.
TEST(ParseRepository, ALongHostIsRefusedBeforeTheRegex) {
  auto repo = ParseRepository(std::string(200000, 'a') + "/app");
  ASSERT_FALSE(repo.ok());
  EXPECT_NE(repo.status().message().find("host longer than"), std::string::npos);
  EXPECT_TRUE(ParseRepository(std::string(253, 'a') + ":5000/app").ok());
}

TEST(ValidateTag, FollowsTheTagGrammar) {
  for (const std::string& good : std::vector<std::string>{"latest", "v1.4.2", "v1.4", "_x", "A-b_c.d", std::string(128, 'a')}) {
    EXPECT_TRUE(ValidateTag(good).ok()) << good;
  }
  for (const char* bad : {"", ".v1", "-v1", "v1/2", "v1:2", "v 1"}) EXPECT_FALSE(ValidateTag(bad).ok()) << bad;
  EXPECT_FALSE(ValidateTag(std::string(129, 'a')).ok());
}

TEST(ValidateDigest, NeedsAlgorithmAndHex) {
  EXPECT_TRUE(ValidateDigest("sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:" + std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(ValidateDigest(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("md5:" + std::string(32, 'a')).ok());
}

}  // namespace
}  // namespace ibo::oci
