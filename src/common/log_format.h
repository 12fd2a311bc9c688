// Log lines for machines: --log-format json writes one JSON object per line, and lines written
// while a worker reconciles an object carry that object's namespace and name as fields.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace ibo {

// Marks the calling thread as working on one object ("namespace/name", or "name" for cluster-scoped
// objects) for its lifetime; JSON log lines written meanwhile name it.
class ScopedLogObject {
 public:
  explicit ScopedLogObject(std::string key);
  ~ScopedLogObject();
  ScopedLogObject(const ScopedLogObject&) = delete;
  ScopedLogObject& operator=(const ScopedLogObject&) = delete;

 private:
  std::string previous_;
};

// {"time":"...Z","level":"info","namespace":"ci","name":"api","msg":"..."}; namespace and name only
// inside a ScopedLogObject. Every string is escaped, so a line is valid JSON whatever it holds.
std::unique_ptr<spdlog::formatter> NewJsonLogFormatter();

}  // namespace ibo
