// Records core/v1 Events on an object as `kubectl describe` shows them; an exact repeat
// (same object, type, reason and message) raises the count of the existing Event instead.
// Events are written off the caller's thread and retried through transient API failures.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kube/client.h"

namespace ibo::kube {

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // type: "Normal" or "Warning"; reason: CamelCase; the object must carry apiVersion, kind, metadata.
  virtual void Record(const Json& object, const std::string& type, const std::string& reason,
                      const std::string& message) = 0;
};

struct EventRecorderOptions {
  std::string host;  // source.host and reportingInstance; empty leaves them out
  // client-go's broadcaster keeps 1,000 events waiting and tries each 12 times: the same here.
  size_t max_queued = 1000;
  int max_attempts = 12;
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{10000};
  // How long the destructor goes on writing what is queued before it drops the rest.
  std::chrono::milliseconds drain_timeout{3000};
  std::function<std::chrono::system_clock::time_point()> clock = std::chrono::system_clock::now;
};

// Record() only queues: a reconcile never waits on an event write. One writer thread keeps each
// object's events in order. A write that fails on the connection, a timeout, a 5xx or a 429 is
// tried again with the same Event name (AlreadyExists then means an earlier try landed); any
// other refusal (invalid, forbidden, the leader-election fence) drops the event with a warning.
class ApiEventRecorder : public EventRecorder {
 public:
  ApiEventRecorder(Client& client, std::string component, EventRecorderOptions options = {});
  ~ApiEventRecorder() override;
  ApiEventRecorder(const ApiEventRecorder&) = delete;
  ApiEventRecorder& operator=(const ApiEventRecorder&) = delete;

  void Record(const Json& object, const std::string& type, const std::string& reason,
              const std::string& message) override;
  // Until every event queued before the call is written or given up; false if the timeout came first.
  bool Flush(std::chrono::milliseconds timeout);

 private:
  struct Pending {
    std::string api_version, kind, ns, name, uid, resource_version;
    std::string type, reason, message;
    std::chrono::system_clock::time_point at;
  };
  struct Seen {
    std::string ns, name;
    int count;
  };
  enum class Outcome { kWritten, kRetry, kDropped };

  void WriteLoop();
  void Write(const Pending& event);
  Outcome TryWrite(const Pending& event, const std::string& key, const std::string& event_name, int attempt);
  Outcome TryCount(const Pending& event, const std::string& key, Seen seen);
  Json NewEvent(const Pending& event, const std::string& event_name) const;
  void Remember(const std::string& key, Seen seen);
  // Sleeps for the attempt's backoff; false when the drain deadline has passed meanwhile.
  bool Backoff(int attempt);

  Client& client_;
  const std::string component_;
  const EventRecorderOptions options_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  uint64_t queued_ = 0, finished_ = 0;  // totals, for Flush
  bool draining_ = false;
  std::chrono::steady_clock::time_point drain_deadline_;

  // The writer thread's own: no lock.
  std::map<std::string, Seen> seen_;  // aggregation key -> the Event it went to
  std::list<std::string> order_;      // oldest first, to bound memory
  std::string last_failure_;          // of the event being written
  std::thread writer_;
};

}  // namespace ibo::kube
