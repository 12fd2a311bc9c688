// What the informer's hot paths cost on a 1,000-pod list (100 ReplicaSets of 10 pods each, in 10
// namespaces, every pod shaped like what kube-apiserver returns: labels, annotations,
// ownerReferences, 2 containers with env/resources, nodeSelector, tolerations, status conditions
// and containerStatuses):
// - BM_DecodePodList: nlohmann::json::parse of the whole PodList text (bytes/s and pods/s);
// - BM_CacheReplace1000: ObjectCache::Replace of the 1,000 pods into a cache already holding
//   them, with owner-uid and label indexes (a relist);
// - BM_CacheByIndexOwnerUid: ByIndex of one owner's 10 pods (copies of them, as the cache returns);
// - BM_CacheGetByKey: Get of one pod by "namespace/name";
// - BM_WorkQueueAddAfter5000: a delayed add of one of 5,000 keys already delayed, as every
//   reconcile of a backlog of 5,000 builds requeues its build.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "kube/object_cache.h"
#include "kube/work_queue.h"

namespace {

using ibo::kube::Json;

constexpr int kPods = 1000;
constexpr int kOwners = 100;  // kPods / kOwners pods per owner
constexpr int kNamespaces = 10;
constexpr const char* kAppLabel = "app.kubernetes.io/name";

std::string Hex(unsigned value, int width) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(width, '0');
  for (int i = width - 1; i >= 0; --i, value >>= 4) out[i] = kDigits[value & 0xf];
  return out;
}

std::string OwnerUid(int owner) { return "6f1c2a3b-0000-4000-8000-" + Hex(owner, 12); }
std::string Namespace(int owner) { return "team-" + std::to_string(owner % kNamespaces); }
std::string OwnerName(int owner) { return "web-" + std::to_string(owner) + "-7d9f8b6c5d"; }
std::string PodName(int pod) { return OwnerName(pod % kOwners) + "-" + Hex(pod * 2654435761u, 5); }

Json Container(const std::string& name, const std::string& image, int port) {
  return {
      {"name", name},
      {"image", image},
      {"ports", {{{"name", "http"}, {"containerPort", port}, {"protocol", "TCP"}}}},
      {"env",
       {{{"name", "LOG_LEVEL"}, {"value", "info"}},
        {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.name"}}}}}},
        {{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "status.podIP"}}}}}}}},
      {"resources",
       {{"limits", {{"cpu", "500m"}, {"memory", "256Mi"}}}, {"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}},
      {"volumeMounts",
       {{{"name", "kube-api-access-x7k2p"},
         {"readOnly", true},
         {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}}}},
      {"terminationMessagePath", "/dev/termination-log"},
      {"terminationMessagePolicy", "File"},
      {"imagePullPolicy", "IfNotPresent"},
  };
}

Json ContainerStatus(const std::string& name, const std::string& image, int pod) {
  return {
      {"name", name},
      {"state", {{"running", {{"startedAt", "2024-05-02T10:15:31Z"}}}}},
      {"lastState", Json::object()},
      {"ready", true},
      {"restartCount", pod % 3},
      {"image", image},
      {"imageID", "docker-pullable://" + image + "@sha256:" + Hex(pod, 8) + std::string(56, 'a')},
      {"containerID", "containerd://" + Hex(pod, 8) + std::string(56, 'c')},
      {"started", true},
  };
}

Json Condition(const char* type) {
  return {{"type", type}, {"status", "True"}, {"lastProbeTime", nullptr},
          {"lastTransitionTime", "2024-05-02T10:15:30Z"}};
}

Json Pod(int pod) {
  const int owner = pod % kOwners;
  const std::string app = "web-" + std::to_string(owner);
  const std::string main_image = "registry.example.com/" + app + ":1.4." + std::to_string(owner % 7);
  const std::string sidecar_image = "registry.example.com/envoy:v1.29.1";
  return {
      {"metadata",
       {{"name", PodName(pod)},
        {"generateName", OwnerName(owner) + "-"},
        {"namespace", Namespace(owner)},
        {"uid", "0a9e4c1d-0000-4000-8000-" + Hex(pod, 12)},
        {"resourceVersion", std::to_string(481516 + pod)},
        {"creationTimestamp", "2024-05-02T10:15:29Z"},
        {"labels", {{kAppLabel, app}, {"app.kubernetes.io/part-of", "shop"}, {"pod-template-hash", "7d9f8b6c5d"}}},
        {"annotations",
         {{"kubectl.kubernetes.io/restartedAt", "2024-05-01T08:00:00Z"},
          {"prometheus.io/scrape", "true"},
          {"prometheus.io/port", "9102"}}},
        {"ownerReferences",
         {{{"apiVersion", "apps/v1"},
           {"kind", "ReplicaSet"},
           {"name", OwnerName(owner)},
           {"uid", OwnerUid(owner)},
           {"controller", true},
           {"blockOwnerDeletion", true}}}}}},
      {"spec",
       {{"containers", {Container("app", main_image, 8080), Container("envoy", sidecar_image, 15001)}},
        {"volumes",
         {{{"name", "kube-api-access-x7k2p"},
           {"projected",
            {{"defaultMode", 420},
             {"sources",
              {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
               {{"configMap", {{"name", "kube-root-ca.crt"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}}}}}}}}},
        {"restartPolicy", "Always"},
        {"terminationGracePeriodSeconds", 30},
        {"dnsPolicy", "ClusterFirst"},
        {"nodeSelector", {{"kubernetes.io/os", "linux"}, {"node.kubernetes.io/pool", "general"}}},
        {"serviceAccountName", "default"},
        {"serviceAccount", "default"},
        {"nodeName", "node-" + std::to_string(pod % 20)},
        {"securityContext", Json::object()},
        {"schedulerName", "default-scheduler"},
        {"tolerations",
         {{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"}, {"effect", "NoExecute"},
           {"tolerationSeconds", 300}},
          {{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"}, {"effect", "NoExecute"},
           {"tolerationSeconds", 300}}}},
        {"priority", 0},
        {"enableServiceLinks", true},
        {"preemptionPolicy", "PreemptLowerPriority"}}},
      {"status",
       {{"phase", "Running"},
        {"conditions",
         {Condition("Initialized"), Condition("Ready"), Condition("ContainersReady"), Condition("PodScheduled")}},
        {"hostIP", "10.0.0." + std::to_string(pod % 20 + 10)},
        {"podIP", "10.244." + std::to_string(pod / 250) + "." + std::to_string(pod % 250 + 2)},
        {"podIPs", {{{"ip", "10.244." + std::to_string(pod / 250) + "." + std::to_string(pod % 250 + 2)}}}},
        {"startTime", "2024-05-02T10:15:29Z"},
        {"containerStatuses", {ContainerStatus("app", main_image, pod), ContainerStatus("envoy", sidecar_image, pod)}},
        {"qosClass", "Burstable"}}},
  };
}

// The pods, and the PodList text holding them, built once.
struct Fixture {
  std::vector<Json> pods;
  std::string list_text;

  Fixture() {
    pods.reserve(kPods);
    Json items = Json::array();
    for (int i = 0; i < kPods; ++i) {
      pods.push_back(Pod(i));
      items.push_back(pods.back());
    }
    list_text = Json{{"kind", "PodList"},
                     {"apiVersion", "v1"},
                     {"metadata", {{"resourceVersion", "482516"}}},
                     {"items", std::move(items)}}
                    .dump();
  }
};

const Fixture& Pods() {
  static const Fixture fixture;
  return fixture;
}

// A cache with owner-uid and label indexes, holding the 1,000 pods.
void Fill(ibo::kube::ObjectCache& cache) {
  cache.AddIndex(ibo::kube::indexes::kOwnerUid, ibo::kube::indexes::ByOwnerUid());
  cache.AddIndex(kAppLabel, ibo::kube::indexes::ByLabel(kAppLabel));
  cache.Replace(Pods().pods);
}

void BM_DecodePodList(benchmark::State& state) {
  const std::string& text = Pods().list_text;
  for (auto _ : state) {
    Json list = Json::parse(text);
    benchmark::DoNotOptimize(list);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kPods);
  state.counters["list_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_DecodePodList)->Unit(benchmark::kMillisecond);

void BM_CacheReplace1000(benchmark::State& state) {
  ibo::kube::ObjectCache cache;
  Fill(cache);
  for (auto _ : state) benchmark::DoNotOptimize(cache.Replace(Pods().pods));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kPods);
}
BENCHMARK(BM_CacheReplace1000)->Unit(benchmark::kMillisecond);

void BM_CacheByIndexOwnerUid(benchmark::State& state) {
  ibo::kube::ObjectCache cache;
  Fill(cache);
  const std::string uid = OwnerUid(42);
  if (cache.ByIndex(ibo::kube::indexes::kOwnerUid, uid).size() != kPods / kOwners) {
    state.SkipWithError("the owner does not have its 10 pods");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(cache.ByIndex(ibo::kube::indexes::kOwnerUid, uid));
}
BENCHMARK(BM_CacheByIndexOwnerUid);

void BM_CacheGetByKey(benchmark::State& state) {
  ibo::kube::ObjectCache cache;
  Fill(cache);
  const std::string key = Namespace(537 % kOwners) + "/" + PodName(537);
  if (!cache.Get(key)) {
    state.SkipWithError("the pod is not in the cache");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(cache.Get(key));
}
BENCHMARK(BM_CacheGetByKey);

void BM_WorkQueueAddAfter5000(benchmark::State& state) {
  ibo::kube::WorkQueue queue;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back("builds/b-" + std::to_string(i));
  for (const auto& key : keys) queue.AddAfter(key, std::chrono::hours(1));
  size_t i = 0;
  for (auto _ : state) {
    queue.AddAfter(keys[i], std::chrono::hours(2));  // later than its pending time: kept as it is
    i = (i + 1) % keys.size();
  }
}
BENCHMARK(BM_WorkQueueAddAfter5000);

}  // namespace
