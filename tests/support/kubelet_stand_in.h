// Stands in for the kubelets of Nodes registered through the API (no container runtime runs
// here): it ends pods that the real kube-scheduler bound, reporting them as a kubelet would
// (phase, terminated state, termination message), and completes deletions with grace period 0.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "support/simulated_source.h"

namespace ibo::testing {

class KubeletStandIn {
 public:
  struct Outcome {
    bool succeeded = true;
    std::string message;  // the termination message
    // Set: the container does not start but waits, as a kubelet reports it (reason, message);
    // the pod stays Pending.
    std::optional<std::pair<std::string, std::string>> waiting;
  };
  // Decides how a bound pod ends, given the pod and its node; nullopt leaves it running for now.
  using Decide = std::function<std::optional<Outcome>(const kube::Json& pod, const kube::Json& node)>;

  KubeletStandIn(kube::Client& client, std::string ns, Decide decide)
      : client_(client), ns_(std::move(ns)), decide_(std::move(decide)) {}
  ~KubeletStandIn() { Stop(); }

  void Start() { thread_ = std::thread([this] { Loop(); }); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Pods bound to a node whose os/arch differs from the pod's node selector.
  std::vector<std::string> Misplaced() const {
    std::lock_guard l(mu_);
    return misplaced_;
  }
  // Names of the pods it ran, in the order they were bound.
  std::vector<std::string> Ran() const {
    std::lock_guard l(mu_);
    return ran_;
  }

  // Ends one pod as a poll does, given the Nodes' items: for a caller that feeds it pods from a
  // watch of its own instead of Start()'s poll (bench/latency_bench.cc, where a poll listing
  // every pod each 100 ms would cost more CPU than the operator it measures).
  void Step(const kube::Json& pod, const kube::Json& nodes) {
    const auto& meta = pod["metadata"];
    const std::string name = meta["name"];
    if (meta.contains("deletionTimestamp")) {
      // A kubelet deletes for good once the containers stopped.
      kube::DeleteOptions now;
      now.grace_period_seconds = 0;
      (void)client_.Delete(kube::resources::kPods, ns_, name, now);
      return;
    }
    const std::string node_name = pod["spec"].value("nodeName", "");
    const std::string phase = pod.value("status", kube::Json::object()).value("phase", "");
    if (node_name.empty() || phase == "Succeeded" || phase == "Failed") return;
    kube::Json node;
    for (const auto& n : nodes) if (n["metadata"]["name"] == node_name) node = n;
    Record(name, node_name, pod, node);
    // Resolve pods are the stand-in's own to answer: the tests decide builds and merges.
    auto outcome = IsResolvePod(pod) ? std::optional<Outcome>(Outcome{true, SimulatedCommit(pod), std::nullopt}) : decide_(pod, node);
    if (!outcome) return;
    const std::string container = pod["spec"]["containers"][0]["name"];
    if (outcome->waiting) {
      Wait(pod, container, *outcome->waiting);
      return;
    }
    const kube::Json terminated = {{"exitCode", outcome->succeeded ? 0 : 1},
                                   {"reason", outcome->succeeded ? "Completed" : "Error"},
                                   {"message", outcome->message}};
    const kube::Json status = {
        {"status",
         {{"phase", outcome->succeeded ? "Succeeded" : "Failed"},
          {"containerStatuses", kube::Json::array({{{"name", container},
                                                    {"image", pod["spec"]["containers"][0]["image"]},
                                                    {"imageID", ""},
                                                    {"ready", false},
                                                    {"restartCount", 0},
                                                    {"state", {{"terminated", terminated}}}}})}}}};
    (void)client_.Patch(kube::resources::kPods, ns_, name, kube::PatchType::kMerge, status, "status");
  }

 private:
  void Loop() {
    while (!stop_) {
      Tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void Tick() {
    auto pods = client_.List(kube::resources::kPods, ns_, {});
    auto nodes = client_.List(kube::resources::kNodes, "", {});
    if (!pods.ok() || !nodes.ok()) return;
    for (const auto& pod : (*pods)["items"]) Step(pod, (*nodes)["items"]);
  }

  // The first time a pod runs: its name in Ran(), and in Misplaced() if its node is of another os/arch.
  void Record(const std::string& name, const std::string& node_name, const kube::Json& pod, const kube::Json& node) {
    std::lock_guard l(mu_);
    if (!seen_.insert(name).second) return;
    ran_.push_back(name);
    const auto selector = pod["spec"].value("nodeSelector", kube::Json::object());
    const auto labels = node.is_null() ? kube::Json::object() : node["metadata"].value("labels", kube::Json::object());
    for (const char* key : {"kubernetes.io/os", "kubernetes.io/arch"}) {
      if (selector.contains(key) && labels.value(key, "") != selector[key]) misplaced_.push_back(name + " on " + node_name);
    }
  }

  void Wait(const kube::Json& pod, const std::string& container, const std::pair<std::string, std::string>& why) {
    const kube::Json waiting = {{"reason", why.first}, {"message", why.second}};
    const kube::Json status = {
        {"status",
         {{"phase", "Pending"},
          {"containerStatuses", kube::Json::array({{{"name", container},
                                                    {"image", pod["spec"]["containers"][0]["image"]},
                                                    {"imageID", ""},
                                                    {"ready", false},
                                                    {"restartCount", 0},
                                                    {"state", {{"waiting", waiting}}}}})}}}};
    (void)client_.Patch(kube::resources::kPods, ns_, pod["metadata"]["name"], kube::PatchType::kMerge, status, "status");
  }

  kube::Client& client_;
  std::string ns_;
  Decide decide_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::set<std::string> seen_;
  std::vector<std::string> ran_, misplaced_;
};

}  // namespace ibo::testing
