// Records core/v1 Events on an object as `kubectl describe` shows them; an exact repeat
// (same object, type, reason and message) raises the count of the existing Event instead.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "kube/client.h"

namespace ibo::kube {

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // type: "Normal" or "Warning"; reason: CamelCase; the object must carry apiVersion, kind, metadata.
  virtual void Record(const Json& object, const std::string& type, const std::string& reason,
                      const std::string& message) = 0;
};

class ApiEventRecorder : public EventRecorder {
 public:
  ApiEventRecorder(Client& client, std::string component, std::string host = "",
                   std::function<std::chrono::system_clock::time_point()> clock = std::chrono::system_clock::now);
  void Record(const Json& object, const std::string& type, const std::string& reason,
              const std::string& message) override;

 private:
  struct Seen {
    std::string ns, name;
    int count;
  };
  Client& client_;
  std::string component_, host_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;  // aggregation key -> the Event it went to
  std::list<std::string> order_;      // oldest first, to bound memory
};

}  // namespace ibo::kube
