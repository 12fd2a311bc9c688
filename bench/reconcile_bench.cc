// What one reconcile of bench/backlog.sh's ImageBuild costs in our own code, without the API:
// - BM_DecodeImageBuildNew / BM_DecodeImageBuildBuilding: DecodeImageBuild of the object as
//   created, and as the cache holds it after the first status write (two platforms building);
// - BM_DecideCreatePods: the decision for the new ImageBuild (both build pods made, BuildPod included);
// - BM_DecideWaiting: the decision when both pods are pending and nothing is to be done, as every
//   pod watch event of a backlog asks for it;
// - BM_PackedCacheGet: reading that ImageBuild back from a packed cache (MessagePack to a JSON
//   tree), as every reconcile does before it decodes.
#include <benchmark/benchmark.h>

#include <string>

#include "api/imagebuild.h"
#include "api/object_views.h"
#include "common/time_format.h"
#include "controller/reconcile.h"
#include "kube/object_cache.h"

namespace {

using Json = nlohmann::json;
using namespace ibo::controller;

Json Node(const std::string& arch) {
  const Json labels = {{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", arch}};
  return {{"metadata", {{"name", "n-" + arch}, {"labels", labels}}},
          {"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

// bench/backlog.sh's ImageBuild as kube-apiserver returns it.
Json NewImageBuild() {
  return {{"apiVersion", "imagebuild.io/v1alpha1"},
          {"kind", "ImageBuild"},
          {"metadata",
           {{"name", "b42"},
            {"namespace", "bench-ours"},
            {"uid", "6f1c2a3b-0000-4000-8000-00000000002a"},
            {"resourceVersion", "482516"},
            {"generation", 1},
            {"creationTimestamp", "2026-12-03T10:00:00Z"}}},
          {"spec",
           {{"image", "registry.bench.invalid/bench/app42"},
            {"version", "v1.0.0"},
            {"source",
             {{"git",
               {{"url", "https://git.bench.invalid/app.git"},
                {"revision", "0123456789abcdef0123456789abcdef01234567"}}}}},
            {"platforms", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}})}}}};
}

struct Fixture {
  OperatorSettings settings;
  std::chrono::system_clock::time_point now = *ibo::ParseTime("2026-12-03T10:00:05Z");
  Json created = NewImageBuild();
  Json building;            // after the first reconcile's status write
  std::vector<Json> pods;   // the two build pods, pending
  std::vector<ibo::api::NodeView> nodes{ibo::api::DecodeNode(Node("amd64")), ibo::api::DecodeNode(Node("arm64"))};

  Fixture() {
    const Actions first = Reconcile(Input(created, {}));
    building = created;
    building["status"] = Json(*first.status);
    building["metadata"]["resourceVersion"] = "482990";
    for (Json pod : first.create_pods) {
      pod["metadata"]["creationTimestamp"] = "2026-12-03T10:00:05Z";
      pod["status"] = {{"phase", "Pending"}};
      pods.push_back(std::move(pod));
    }
  }

  ReconcileInput Input(const Json& imagebuild, const std::vector<Json>& with_pods) const {
    ReconcileInput in;
    in.imagebuild = ibo::api::DecodeImageBuild(imagebuild);
    for (const auto& p : with_pods) in.pods.push_back(ibo::api::DecodePod(p));
    in.nodes = nodes;
    in.now = now;
    in.settings = &settings;
    return in;
  }
};

const Fixture& Backlog() {
  static const Fixture fixture;
  return fixture;
}

void BM_DecodeImageBuildNew(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ibo::api::DecodeImageBuild(Backlog().created));
}
BENCHMARK(BM_DecodeImageBuildNew);

void BM_DecodeImageBuildBuilding(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ibo::api::DecodeImageBuild(Backlog().building));
}
BENCHMARK(BM_DecodeImageBuildBuilding);

void BM_DecideCreatePods(benchmark::State& state) {
  const ReconcileInput in = Backlog().Input(Backlog().created, {});
  if (Reconcile(in).create_pods.size() != 2) {
    state.SkipWithError("the decision does not create the two build pods");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(Reconcile(in));
}
BENCHMARK(BM_DecideCreatePods);

void BM_DecideWaiting(benchmark::State& state) {
  const ReconcileInput in = Backlog().Input(Backlog().building, Backlog().pods);
  const Actions idle = Reconcile(in);
  if (!idle.create_pods.empty() || idle.status) {
    state.SkipWithError("the decision is not idle with both pods pending");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(Reconcile(in));
}
BENCHMARK(BM_DecideWaiting);

void BM_PackedCacheGet(benchmark::State& state) {
  ibo::kube::ObjectCache cache(ibo::kube::CacheStorage::kPacked);
  cache.Store(Backlog().building);
  const std::string key = "bench-ours/b42";
  if (!cache.Get(key)) {
    state.SkipWithError("the ImageBuild is not in the cache");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(cache.Get(key));
}
BENCHMARK(BM_PackedCacheGet);

}  // namespace
