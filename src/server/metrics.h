// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format. Names follow controller-runtime's where they apply, so dashboards work.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ibo::server {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  // Declares a family once; kind is "counter", "gauge" or "histogram".
  void Declare(const std::string& name, const std::string& kind, const std::string& help,
               std::vector<double> buckets = {});
  void Add(const std::string& name, const Labels& labels, double delta = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  void Observe(const std::string& name, const Labels& labels, double value);
  std::string Render() const;

  // Default buckets of controller-runtime's reconcile histogram, and longer ones for builds.
  static std::vector<double> ReconcileBuckets();
  static std::vector<double> BuildBuckets();

 private:
  struct Series {
    double value = 0;               // counter or gauge
    std::vector<uint64_t> counts;   // histogram: per bucket, cumulative on render
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string kind, help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };
  Family& FamilyFor(const std::string& name);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace ibo::server
