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
