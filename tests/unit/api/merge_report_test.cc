// The merge's report through the termination message: round trip, the digest-only message of
// older merge images, bad lines, and the largest report fitting the 4 KiB limit.
#include "api/merge_report.h"

#include <gtest/gtest.h>

namespace ibo::api {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'c');

TEST(MergeReportTest, RoundTrips) {
  const MergeReport report{kDigest, {{"latest", "holds v1.4.2, newer than v1.3.9"}, {"v1", "holds v1.9.0"}}, {"v1.3"}};
  const auto parsed = ParseMergeReport(FormatMergeReport(report));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, report);
}

TEST(MergeReportTest, ADigestAloneIsAReportWithNothingHeld) {
  const auto parsed = ParseMergeReport(kDigest + "\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->digest, kDigest);
  EXPECT_TRUE(parsed->held.empty());
  EXPECT_TRUE(ParseMergeReport("  " + kDigest).ok());
}

TEST(MergeReportTest, RefusesWhatIsNotAReport) {
  for (const std::string& bad : {std::string(""), std::string("error: pushed nothing"), kDigest + "\nmoved latest",
                                kDigest + "\nheld .bad reason", "sha512:" + std::string(128, 'a')}) {
    EXPECT_FALSE(ParseMergeReport(bad).ok()) << bad;
  }
}

TEST(MergeReportTest, TheLargestReportFitsTheTerminationMessage) {
  MergeReport report{kDigest, {}, {}};
  const std::string long_tag(128, 't');
  const std::string long_version = "v" + std::string(60, '9') + ".0.0-" + std::string(60, 'r');
  for (int i = 0; i < 3; ++i) {
    report.held.push_back({long_tag.substr(0, 127) + char('a' + i), "holds " + long_version + ", newer than " + long_version +
                                                                         std::string(2000, 'x')});
  }
  const std::string text = FormatMergeReport(report);
  EXPECT_LE(text.size(), kTerminationMessageLimit);
  const auto parsed = ParseMergeReport(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->held.size(), 3u);
  EXPECT_EQ(parsed->held[2].tag, report.held[2].tag);
  EXPECT_EQ(parsed->held[0].reason.rfind("holds " + long_version, 0), 0u);
}

}  // namespace
}  // namespace ibo::api
