// The status schema's JSON: every status the operator wrote in the decision's golden traces
// decodes and encodes back byte for byte; older and odd statuses decode without loss of sense.
#include "api/imagebuild.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ibo::api {
namespace {

TEST(ImageBuildStatusJsonTest, EveryGoldenStatusRoundTripsByteForByte) {
  int statuses = 0;
  for (const auto& entry : std::filesystem::directory_iterator(IBO_TRACE_DIR)) {
    std::ifstream in(entry.path());
    const Json trace = Json::parse(in);
    for (const auto& step : trace) {
      if (step["status"].is_null()) continue;
      const Json& written = step["status"];
      const ImageBuildStatus decoded = written.get<ImageBuildStatus>();
      EXPECT_EQ(Json(decoded).dump(), written.dump()) << entry.path();
      ++statuses;
    }
  }
  EXPECT_GT(statuses, 50);
}

TEST(ImageBuildStatusJsonTest, AnOlderStatusWithoutNewerFieldsDecodes) {
  const Json old = {{"phase", "Building"},
                    {"buildID", "53d33510"},
                    {"platforms", Json::array({{{"platform", "linux/amd64"}, {"phase", "Building"}}})}};
  const auto s = old.get<ImageBuildStatus>();
  EXPECT_EQ(s.phase, BuildPhase::kBuilding);
  ASSERT_EQ(s.platforms.size(), 1u);
  EXPECT_EQ(s.platforms[0].attempt, 1);
  EXPECT_FALSE(s.observed_generation.has_value());
  EXPECT_FALSE(s.merge.attempt.has_value());
  EXPECT_TRUE(s.conditions.empty());
}

TEST(ImageBuildStatusJsonTest, TheSignatureRoundTripsAndIsAbsentWhenUnsigned) {
  ImageBuildStatus s;
  s.manifest = ManifestStatus{};
  s.manifest->digest = "sha256:" + std::string(64, 'a');
  Json j = s;
  EXPECT_FALSE(j["manifest"].contains("signature"));
  s.manifest->signature = SignatureStatus{"sha256:" + std::string(64, 'b'), "sha256:" + std::string(64, 'c'),
                                          {"release-key", "cosign.key"}};
  j = s;
  EXPECT_EQ(j["manifest"]["signature"], Json::parse(R"({"digest":"sha256:)" + std::string(64, 'b') +
                                                    R"(","keyFingerprint":"sha256:)" + std::string(64, 'c') +
                                                    R"(","keySecretRef":{"key":"cosign.key","name":"release-key"}})"));
  EXPECT_EQ(j.get<ImageBuildStatus>(), s);
}

TEST(ImageBuildStatusJsonTest, EmptyStringsAndUnsetFieldsAreLeftOut) {
  ImageBuildStatus s;
  s.phase = BuildPhase::kPending;
  s.platforms.push_back({});
  s.platforms[0].platform = "linux/arm64";
  s.conditions.push_back({"Ready", "False", "Building", "", 2, std::nullopt});
  const Json j = s;
  EXPECT_EQ(j.dump().find("\"\""), std::string::npos) << j.dump();
  EXPECT_FALSE(j.contains("buildID"));
  EXPECT_FALSE(j.contains("manifest"));
  EXPECT_FALSE(j["platforms"][0].contains("emulated"));
  EXPECT_EQ(j["conditions"][0]["observedGeneration"], 2);
}

TEST(ImageBuildStatusJsonTest, WrongShapesReadAsAbsentNotAsACrash) {
  const Json odd = {{"phase", 7}, {"platforms", "none"}, {"conditions", {{"type", 1}}}, {"mergeAttempt", "two"},
                    {"startTime", "yesterday"}, {"manifest", Json::array()}};
  ImageBuildStatus s;
  ASSERT_NO_THROW(s = odd.get<ImageBuildStatus>());
  EXPECT_FALSE(s.phase.has_value());
  EXPECT_TRUE(s.platforms.empty());
  EXPECT_FALSE(s.start_time.has_value());
  EXPECT_FALSE(s.manifest.has_value());
  EXPECT_FALSE(s.merge.attempt.has_value());
}

TEST(ImageBuildDecodeTest, AnInvalidSpecKeepsMetadataAndStatusAndNamesTheField) {
  const Json object = {{"metadata", {{"name", "w"}, {"namespace", "ci"}, {"uid", "u"}, {"generation", 4},
                                     {"annotations", {{"imagebuild.io/rebuild", "t"}}}}},
                       {"spec", {{"image", "registry.example.com/x"}}},
                       {"status", {{"phase", "Failed"}}}};
  const ImageBuild ib = DecodeImageBuild(object);
  EXPECT_EQ(ib.metadata.generation, 4);
  EXPECT_EQ(ib.metadata.annotations.at("imagebuild.io/rebuild"), "t");
  EXPECT_EQ(ib.status.phase, BuildPhase::kFailed);
  EXPECT_FALSE(ib.spec_error.ok());
  EXPECT_NE(ib.spec_error.message().find("spec."), std::string::npos) << ib.spec_error.message();
}

TEST(ImageBuildNamesTest, PhasesAndReasonsReadBackTheirNames) {
  for (auto p : {BuildPhase::kPending, BuildPhase::kBuilding, BuildPhase::kMerging, BuildPhase::kSucceeded, BuildPhase::kFailed}) {
    EXPECT_EQ(ParseBuildPhase(BuildPhaseName(p)), p);
  }
  for (auto p : {PlatformPhase::kPending, PlatformPhase::kBuilding, PlatformPhase::kSucceeded, PlatformPhase::kFailed,
                 PlatformPhase::kCancelled}) {
    EXPECT_EQ(ParsePlatformPhase(PlatformPhaseName(p)), p);
  }
  EXPECT_STREQ(ReasonName(Reason::kPartiallySucceeded), "PartiallySucceeded");
  EXPECT_FALSE(ParseBuildPhase("Running").has_value());
}

}  // namespace
}  // namespace ibo::api
