#include "server/metrics.h"

#include <gtest/gtest.h>

namespace ibo::server {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistogramsInTextFormat) {
  Metrics m;
  m.Declare("controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
  m.Declare("workqueue_depth", "gauge", "Current depth of workqueue");
  m.Declare("imagebuild_build_duration_seconds", "histogram", "Duration", {10, 60});
  m.Add("controller_runtime_reconcile_total", {{"controller", "imagebuild"}, {"result", "success"}});
  m.Add("controller_runtime_reconcile_total", {{"controller", "imagebuild"}, {"result", "success"}}, 2);
  m.Set("workqueue_depth", {{"name", "imagebuild"}}, 4);
  m.Observe("imagebuild_build_duration_seconds", {{"platform", "linux/arm64"}}, 5);
  m.Observe("imagebuild_build_duration_seconds", {{"platform", "linux/arm64"}}, 30);
  m.Observe("imagebuild_build_duration_seconds", {{"platform", "linux/arm64"}}, 600);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE controller_runtime_reconcile_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("controller_runtime_reconcile_total{controller=\"imagebuild\",result=\"success\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("workqueue_depth{name=\"imagebuild\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("imagebuild_build_duration_seconds_bucket{platform=\"linux/arm64\",le=\"10\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("imagebuild_build_duration_seconds_bucket{platform=\"linux/arm64\",le=\"60\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("imagebuild_build_duration_seconds_bucket{platform=\"linux/arm64\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("imagebuild_build_duration_seconds_sum{platform=\"linux/arm64\"} 635\n"), std::string::npos);
  EXPECT_NE(text.find("imagebuild_build_duration_seconds_count{platform=\"linux/arm64\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, EscapesLabelValues) {
  Metrics m;
  m.Declare("x", "counter", "x");
  m.Add("x", {{"v", "a\"b\\c\nd"}});
  EXPECT_NE(m.Render().find("x{v=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos) << m.Render();
}

TEST(MetricsTest, AnUndeclaredMetricIsAProgrammingError) {
  Metrics m;
  EXPECT_THROW(m.Add("nope", {}), std::logic_error);
}

}  // namespace
}  // namespace ibo::server
