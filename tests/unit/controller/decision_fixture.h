// The decision's test fixture: an ImageBuild, its pods and nodes as JSON, stepped through the
// pure Reconcile() with a fixed clock, with pods created and deleted as the actions say.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "api/imagebuild.h"
#include "api/object_views.h"
#include "common/time_format.h"
#include "controller/reconcile.h"

namespace ibo::controller::decision_testing {

using namespace std::chrono_literals;
inline const std::string kDigestA = "sha256:" + std::string(64, 'a');
inline const std::string kDigestB = "sha256:" + std::string(64, 'b');
inline const std::string kIndex = "sha256:" + std::string(64, 'c');
// The fixture's revision is a commit id, which needs no resolve pod; the source tests use branches.
inline const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

inline Json Node(const std::string& arch, bool ready = true) {
  return {{"metadata", {{"name", "n-" + arch}, {"labels", {{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", arch}}}}},
          {"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

class DecisionFixture : public ::testing::Test {
 public:
  DecisionFixture() {
    settings.retry_backoff = 10s;
    ib = {{"apiVersion", "imagebuild.io/v1alpha1"},
          {"kind", "ImageBuild"},
          {"metadata", {{"name", "worker"}, {"namespace", "ci"}, {"uid", "uid-1"}, {"generation", 1}}},
          {"spec",
           {{"image", "registry.example.com/org/worker"},
            {"version", "v1.4.2"},
            {"tags", {"main"}},
            {"source", {{"git", {{"url", "https://example.com/r.git"}, {"revision", kCommit}}}}},
            {"platforms", Json::array({{{"platform", "linux/amd64"}, {"dockerfile", "Dockerfile.worker"}},
                                       {{"platform", "linux/arm64"}, {"nodeSelector", {{"pool", "arm"}}}}})},
            {"retries", 1}}}};
    nodes = {Node("amd64"), Node("arm64")};
    now = *ParseTime("2026-11-27T10:00:00Z");
  }

  Actions Step() {
    ReconcileInput in{api::DecodeImageBuild(ib), {}, {}, {}, secrets, now, &settings, other_active};
    in.repository_merging = repository_merging;
    for (const auto& p : pods) in.pods.push_back(api::DecodePod(p));
    for (const auto& n : nodes) in.nodes.push_back(api::DecodeNode(n));
    Actions a = Reconcile(in);
    OnStep(a);
    if (a.status) ib["status"] = Json(*a.status);
    for (const auto& p : a.create_pods) {
      Json pod = p;
      pod["metadata"]["creationTimestamp"] = FormatTime(now);
      pod["status"] = {{"phase", "Pending"}};
      pods.push_back(pod);
    }
    for (const auto& name : a.delete_pods) {
      std::erase_if(pods, [&](const Json& p) { return p["metadata"]["name"] == name; });
    }
    return a;
  }

  virtual void OnStep(const Actions&) {}

  Json* PodFor(const std::string& role, const std::string& platform = "") {
    for (auto& p : pods) {
      const auto& l = p["metadata"]["labels"];
      if (l["imagebuild.io/role"] == role && (platform.empty() || l.value("imagebuild.io/platform", "") == platform)) return &p;
    }
    return nullptr;
  }

  static void End(Json* pod, const std::string& phase, const std::string& container, const std::string& message) {
    Json terminated = {{"exitCode", phase == "Succeeded" ? 0 : 1}, {"message", message}};
    Json container_status = {{"name", container}, {"state", {{"terminated", terminated}}}};
    (*pod)["spec"]["nodeName"] = "somewhere";
    (*pod)["status"] = {{"phase", phase}, {"containerStatuses", Json::array({container_status})}};
  }

  // Both platforms' build pods end with their digests.
  void BuildsSucceed() {
    End(PodFor("build", "linux-amd64"), "Succeeded", "build", kDigestA);
    End(PodFor("build", "linux-arm64"), "Succeeded", "build", kDigestB);
  }

  // From nothing to Ready: builds, merge, index pushed.
  void RunToReady() {
    Step();
    BuildsSucceed();
    Step();
    End(PodFor("merge"), "Succeeded", "merge", kIndex);
    Step();
  }

  std::string Condition(const std::string& type, const char* field = "status") {
    for (const auto& c : ib["status"]["conditions"]) if (c["type"] == type) return c.value(field, "");
    return "";
  }

  OperatorSettings settings;
  Json ib;
  std::vector<Json> pods, nodes;
  std::map<std::string, SecretFacts> secrets;
  std::chrono::system_clock::time_point now;
  int other_active = 0;
  std::string repository_merging;
};

}  // namespace ibo::controller::decision_testing
