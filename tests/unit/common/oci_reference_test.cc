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
  EXPECT_TRUE(ParseRepository("[fe80::1.2.3.4]/app").ok());
  for (const char* good : {"Registry-1.Example.com/a", "h:1/a", "h:65535/a0/b9", "h/a---b", "h/a.b_c__d"}) {
    EXPECT_TRUE(ParseRepository(good).ok()) << good;
  }
}

TEST(ParseRepository, RefusesWhatDistributionRefuses) {
  for (const char* bad : {"app", "/app", "host/", "host/App", "host/a//b", "host/-a", "host/a-", "ho st/app",
                          "host:port/app", "host/a:tag", "a-.b/app", "a..b/app", ".a/app", "a./app",
                          "host:123456/app", "host:/app", "[]:5000/app", "[::1/app", "[::1]x/app", "[::g]/app",
                          "host/a___b", "host/a_.b", "host/a.", "host/a--", "host/_a"}) {
    EXPECT_FALSE(ParseRepository(bad).ok()) << bad;
  }
}

// A host of 100,000 characters once overflowed the stack (std::regex recursed per character):
// the length is told first.
TEST(ParseRepository, ALongHostIsRefusedWithItsLength) {
  auto repo = ParseRepository(std::string(200000, 'a') + "/app");
  ASSERT_FALSE(repo.ok());
  EXPECT_NE(repo.status().message().find("host longer than"), std::string::npos);
  EXPECT_TRUE(ParseRepository(std::string(253, 'a') + ":5000/app").ok());
}

TEST(ValidateTag, FollowsTheTagGrammar) {
  for (const std::string& good : std::vector<std::string>{"latest", "v1.4.2", "v1.4", "_x", "A-b_c.d", std::string(128, 'a')}) {
    EXPECT_TRUE(ValidateTag(good).ok()) << good;
  }
  for (const char* bad : {"", ".v1", "-v1", "v1/2", "v1:2", "v 1", "v1+meta", "v\xc3\xa9" "1"}) {
    EXPECT_FALSE(ValidateTag(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateTag(std::string(129, 'a')).ok());
}

TEST(ValidateDigest, NeedsAlgorithmAndHex) {
  EXPECT_TRUE(ValidateDigest("sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:" + std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(ValidateDigest(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateDigest("md5:" + std::string(32, 'a')).ok());
  EXPECT_TRUE(ValidateDigest("sha512:" + std::string(128, 'f')).ok());
  EXPECT_FALSE(ValidateDigest("sha512:" + std::string(64, 'f')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:" + std::string(128, 'f')).ok());
  EXPECT_FALSE(ValidateDigest("sha256:").ok());
}

}  // namespace
}  // namespace ibo::oci
