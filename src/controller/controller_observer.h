// What the controller tells about its work, for metrics: reconciles, the work queue, and the
// outcomes the decision reports. operator/ wires it to Prometheus; tests may count.
#pragma once

#include <cstddef>
#include <string>

#include "controller/reconcile.h"

namespace ibo::controller {

class ControllerObserver {
 public:
  virtual ~ControllerObserver() = default;
  enum class Result { kSuccess, kRequeueAfter, kError };
  virtual void ReconcileDone(Result result, double seconds) = 0;
  virtual void QueueDepth(size_t depth) = 0;
  virtual void QueueAdded() = 0;
  virtual void QueueRetried() = 0;
  // A build attempt or merge ended, as a status that was written says.
  virtual void OutcomeRecorded(const Outcome& outcome) = 0;
};

// Observes nothing: the default.
class NullObserver : public ControllerObserver {
 public:
  void ReconcileDone(Result, double) override {}
  void QueueDepth(size_t) override {}
  void QueueAdded() override {}
  void QueueRetried() override {}
  void OutcomeRecorded(const Outcome&) override {}
};

}  // namespace ibo::controller
