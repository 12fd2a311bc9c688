#include "operator/metrics_observer.h"

namespace ibo::operator_main {
namespace {

constexpr const char* kControllerName = "imagebuild";

}  // namespace

MetricsObserver::MetricsObserver(server::Metrics& m) : metrics_(m) {
  m.Declare("workqueue_depth", "gauge", "Current depth of workqueue");
  m.Declare("workqueue_adds_total", "counter", "Total number of adds handled by workqueue");
  m.Declare("workqueue_retries_total", "counter", "Total number of retries handled by workqueue");
  m.Declare("controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
  m.Declare("controller_runtime_reconcile_errors_total", "counter", "Total number of reconciliation errors per controller");
  m.Declare("controller_runtime_reconcile_time_seconds", "histogram", "Length of time per reconciliation per controller",
            server::Metrics::ReconcileBuckets());
  m.Declare("imagebuild_builds_total", "counter", "Finished build attempts by platform and result");
  m.Declare("imagebuild_build_duration_seconds", "histogram", "Duration of build attempts by platform",
            server::Metrics::BuildBuckets());
  m.Declare("imagebuild_merge_duration_seconds", "histogram", "Duration of merge pods", server::Metrics::BuildBuckets());
}

void MetricsObserver::ReconcileDone(Result result, double seconds) {
  const server::Labels controller{{"controller", kControllerName}};
  metrics_.Observe("controller_runtime_reconcile_time_seconds", controller, seconds);
  const char* name = result == Result::kError ? "error" : result == Result::kRequeueAfter ? "requeue_after" : "success";
  metrics_.Add("controller_runtime_reconcile_total", {{"controller", kControllerName}, {"result", name}});
  if (result == Result::kError) metrics_.Add("controller_runtime_reconcile_errors_total", controller);
}

void MetricsObserver::QueueDepth(size_t depth) {
  metrics_.Set("workqueue_depth", {{"name", kControllerName}}, static_cast<double>(depth));
}

void MetricsObserver::QueueAdded() { metrics_.Add("workqueue_adds_total", {{"name", kControllerName}}); }

void MetricsObserver::QueueRetried() { metrics_.Add("workqueue_retries_total", {{"name", kControllerName}}); }

void MetricsObserver::OutcomeRecorded(const controller::Outcome& o) {
  if (o.kind == controller::Outcome::Kind::kMerge) {
    if (o.seconds) metrics_.Observe("imagebuild_merge_duration_seconds", {}, *o.seconds);
    return;
  }
  metrics_.Add("imagebuild_builds_total", {{"platform", o.platform}, {"result", o.succeeded ? "succeeded" : "failed"}});
  if (o.seconds) metrics_.Observe("imagebuild_build_duration_seconds", {{"platform", o.platform}}, *o.seconds);
}

}  // namespace ibo::operator_main
