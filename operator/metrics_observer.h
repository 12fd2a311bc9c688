// The controller's observations as Prometheus metrics, named as controller-runtime names them
// (controller_runtime_reconcile_*, workqueue_*) plus the build metrics (imagebuild_*).
#pragma once

#include "controller/controller_observer.h"
#include "server/metrics.h"

namespace ibo::operator_main {

class MetricsObserver : public controller::ControllerObserver {
 public:
  explicit MetricsObserver(server::Metrics& metrics);
  void ReconcileDone(Result result, double seconds) override;
  void QueueDepth(size_t depth) override;
  void QueueAdded() override;
  void QueueRetried() override;
  void OutcomeRecorded(const controller::Outcome& outcome) override;

 private:
  server::Metrics& metrics_;
};

}  // namespace ibo::operator_main
