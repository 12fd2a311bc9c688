#include "common/oci_platform.h"

#include <gtest/gtest.h>

namespace ibo::oci {
namespace {

Platform P(const char* text) { return *ParsePlatform(text); }

TEST(ParsePlatform, OsArchitectureVariant) {
  auto p = ParsePlatform("linux/arm/v7");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm");
  EXPECT_EQ(p->variant, "v7");
  EXPECT_EQ(p->ToString(), "linux/arm/v7");
  EXPECT_EQ(P("linux/amd64").ToString(), "linux/amd64");
  for (const char* bad : {"linux", "linux/", "/amd64", "linux/arm/v7/x", "linux//v7"}) {
    EXPECT_FALSE(ParsePlatform(bad).ok()) << bad;
  }
}

TEST(Normalize, MatchesContainerd) {
  EXPECT_EQ(Normalize(P("linux/x86_64")).ToString(), "linux/amd64");
  EXPECT_EQ(Normalize(P("linux/amd64/v1")).ToString(), "linux/amd64");
  EXPECT_EQ(Normalize(P("linux/amd64/v3")).ToString(), "linux/amd64/v3");
  EXPECT_EQ(Normalize(P("linux/aarch64")).ToString(), "linux/arm64");
  EXPECT_EQ(Normalize(P("linux/arm64/v8")).ToString(), "linux/arm64");
  EXPECT_EQ(Normalize(P("linux/arm64/8")).ToString(), "linux/arm64");
  EXPECT_EQ(Normalize(P("linux/arm")).ToString(), "linux/arm/v7");
  EXPECT_EQ(Normalize(P("linux/arm/6")).ToString(), "linux/arm/v6");
  EXPECT_EQ(Normalize(P("linux/armhf")).ToString(), "linux/arm/v7");
  EXPECT_EQ(Normalize(P("linux/armel")).ToString(), "linux/arm/v6");
  EXPECT_EQ(Normalize(P("linux/i386")).ToString(), "linux/386");
  EXPECT_EQ(Normalize(P("Linux/AMD64")).ToString(), "linux/amd64");
  EXPECT_EQ(Normalize(P("macos/arm64")).ToString(), "darwin/arm64");
}

TEST(SamePlatform, AliasesMatchAndArchitecturesDoNot) {
  EXPECT_TRUE(SamePlatform(P("linux/arm64"), P("linux/arm64/v8")));
  EXPECT_TRUE(SamePlatform(P("linux/arm"), P("linux/arm/v7")));
  EXPECT_FALSE(SamePlatform(P("linux/arm/v6"), P("linux/arm/v7")));
  EXPECT_FALSE(SamePlatform(P("linux/arm64"), P("linux/amd64")));
  EXPECT_FALSE(SamePlatform(P("linux/amd64"), P("windows/amd64")));
}

}  // namespace
}  // namespace ibo::oci
