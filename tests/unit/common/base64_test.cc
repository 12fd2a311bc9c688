#include "common/base64.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  const std::string data = std::string("any carnal pleas\0\xff\x10", 19);
  for (size_t n = 0; n <= data.size(); ++n) {
    const std::string part = data.substr(0, n);
    auto decoded = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, part);
    auto url = Base64Decode(Base64UrlEncode(part));
    ASSERT_TRUE(url.ok()) << n;
    EXPECT_EQ(*url, part);
  }
}

TEST(Base64Test, KnownVectors) {
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64Decode("Zm9v\nYmFy"), "foobar");
}

TEST(Base64Test, RefusesGarbage) {
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());
}

}  // namespace
}  // namespace ibo
