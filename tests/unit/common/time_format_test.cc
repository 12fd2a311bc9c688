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

// Found by the imagebuild and kubeconfig fuzzers: year 9999 (valid RFC 3339) overflowed the
// nanosecond clock in from_time_t, undefined behaviour that UBSan stopped on.
TEST(TimeFormatTest, RefusesTimesTheClockCannotHold) {
  EXPECT_FALSE(ParseTime("9999-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseTime("0001-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseTime("-999-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseTime("2200-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseTime("1970-01-01T00:00:00Z").ok());
}

TEST(TimeFormatTest, RefusesFieldsOutOfRange) {
  EXPECT_FALSE(ParseTime("2026-13-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-99T00:00:00Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-27T24:00:00Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-27T23:00:00+99:00").ok());
  EXPECT_FALSE(ParseTime("2026-11-27T23:00:00+-1:00").ok());
}

}  // namespace
}  // namespace ibo
