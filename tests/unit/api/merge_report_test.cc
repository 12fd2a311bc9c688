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

const std::string kSignature = "sha256:" + std::string(64, 'd');
const std::string kFingerprint = "sha256:" + std::string(64, 'e');

TEST(MergeReportTest, TheSignatureLineComesSecondAndRoundTrips) {
  const MergeReport report{kDigest, {{"latest", "holds v2.0.0"}}, {"v1"}, kSignature, kFingerprint};
  const std::string text = FormatMergeReport(report);
  EXPECT_EQ(text, kDigest + "\nsignature " + kSignature + " " + kFingerprint + "\nheld latest holds v2.0.0\nunversioned v1\n");
  const auto parsed = ParseMergeReport(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, report);
  EXPECT_FALSE(ParseMergeReport(kDigest + "\nsignature " + kSignature).ok());
  EXPECT_FALSE(ParseMergeReport(kDigest + "\nsignature latest " + kFingerprint).ok());
}

// At the 4 KiB limit: however many lines a request makes, the digest and the signature stay and
// the text fits; the lines that would not fit are the ones left out.
TEST(MergeReportTest, ASignedReportAtTheLimitKeepsTheSignatureAndFits) {
  MergeReport report{kDigest, {}, {}, kSignature, kFingerprint};
  for (int i = 0; i < 10; ++i) report.held.push_back({std::string(127, 't') + char('a' + i), std::string(2000, 'x')});
  for (int i = 0; i < 10; ++i) report.unversioned.push_back(std::string(127, 'u') + char('a' + i));
  const std::string text = FormatMergeReport(report);
  EXPECT_LE(text.size(), kTerminationMessageLimit);
  EXPECT_GT(text.size(), kTerminationMessageLimit - 800);  // filled, not emptied
  const auto parsed = ParseMergeReport(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->signature_digest, kSignature);
  EXPECT_EQ(parsed->key_fingerprint, kFingerprint);
  EXPECT_LT(parsed->held.size(), 10u);
  ASSERT_FALSE(parsed->held.empty());
  EXPECT_EQ(parsed->held[0].tag, report.held[0].tag);
  // The largest report a controller's request makes (3 floating tags) is kept whole.
  report.held.resize(3);
  report.unversioned.clear();
  const auto whole = ParseMergeReport(FormatMergeReport(report));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->held.size(), 3u);
}

}  // namespace
}  // namespace ibo::api
