#include "controller/pod_observation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ibo::controller {
namespace {

api::PodView FailedBuildPod(const std::string& message) {
  api::PodView pod;
  pod.phase = "Failed";
  api::ContainerView build;
  build.name = "build";
  build.terminated = true;
  build.exit_code = 1;
  build.terminated_reason = "Error";
  build.terminated_message = message;
  pod.containers.push_back(build);
  return pod;
}

// Found by the termination_message fuzzer: a build log tail with non-ASCII characters was cut
// inside a UTF-8 sequence, and the status holding it could not be written as JSON (nlohmann's
// dump throws on invalid UTF-8), so the ImageBuild never recorded its failure.
TEST(PodObservationTest, ALongLogTailIsCutOnACharacter) {
  std::string log;
  for (int i = 0; i < 40; ++i) log += "Schritt 3/5: Abhängigkeiten ✓ — ビルド失敗 ";
  for (size_t n : {1u, 2u, 3u, 100u, 119u, 120u, 121u, 300u}) {
    const std::string tail = Bounded(log, n);
    EXPECT_NO_THROW((void)nlohmann::json(tail).dump()) << "n=" << n;
    EXPECT_LE(tail.size(), n + 3);
  }
  const PodReport report = ObservePod(FailedBuildPod(log), kBuildRole);
  EXPECT_EQ(report.observed, Observation::kFailed);
  EXPECT_NO_THROW((void)nlohmann::json(report.what).dump());
}

TEST(PodObservationTest, ShortTextIsKept) {
  EXPECT_EQ(Bounded("exit status 1 ❌", 300), "exit status 1 ❌");
  EXPECT_EQ(Bounded("abcdef", 3), "...def");
}

TEST(PodObservationTest, ADigestMessageSucceeds) {
  api::PodView pod = FailedBuildPod("sha256:" + std::string(64, 'a') + "\n");
  pod.phase = "Succeeded";
  const PodReport report = ObservePod(pod, kBuildRole);
  EXPECT_EQ(report.observed, Observation::kSucceeded);
  EXPECT_EQ(report.digest, "sha256:" + std::string(64, 'a'));
}

}  // namespace
}  // namespace ibo::controller
