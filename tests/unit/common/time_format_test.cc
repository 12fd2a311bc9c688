#include "common/time_format.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

TEST(TimeFormatTest, FormatsAndParsesBothForms) {
  auto t = ParseTime("2026-11-27T23:59:08Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatTime(*t), "2026-11-27T23:59:08Z");
  auto micro = ParseTime("2026-11-27T23:59:08.123456Z");
  ASSERT_TRUE(micro.ok());
  EXPECT_EQ(FormatMicroTime(*micro), "2026-11-27T23:59:08.123456Z");
  EXPECT_EQ(*micro - *t, std::chrono::microseconds(123456));
}

TEST(TimeFormatTest, HonoursOffsets) {
  auto a = ParseTime("2026-11-28T01:00:00+02:00");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(FormatTime(*a), "2026-11-27T23:00:00Z");
}

TEST(TimeFormatTest, RefusesIncompleteTimes) {
  EXPECT_FALSE(ParseTime("yesterday").ok());
  EXPECT_FALSE(ParseTime("2026-11-27T23:59:08").ok());
}

}  // namespace
}  // namespace ibo
