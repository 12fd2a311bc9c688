// bench/cache_scale.sh's loader: N finished ImageBuilds and their 2N build pods, made as a
// long-running cluster keeps them. The operator's own decision (controller::Reconcile) makes every
// pod and status, so their shape is exactly what the operator writes; pods are bound to the API-only
// Nodes at creation and finished through pods/status as a kubelet would.
//   cache_scale_loader --kubeconfig PATH --namespace NS --builds N [--threads T] [--qps Q]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/imagebuild.h"
#include "api/object_views.h"
#include "common/oci_digest.h"
#include "common/time_format.h"
#include "controller/reconcile.h"
#include "controller/reconcile_adapter.h"
#include "kube/config.h"
#include "kube/rest_client.h"

namespace {

using ibo::Status;
using ibo::StatusOr;
using ibo::kube::Json;
namespace api = ibo::api;
namespace controller = ibo::controller;
namespace kube = ibo::kube;

struct Args {
  std::string kubeconfig, ns;
  int builds = 0, threads = 8;
  double qps = 5000;
};

// Who writes what in a real cluster: managedFields name the manager from the User-Agent, so the
// cached objects carry the same entries the operator would see.
struct Clients {
  std::unique_ptr<kube::Client> user;      // kubectl apply: the ImageBuilds
  std::unique_ptr<kube::Client> op;        // the operator: pods, ImageBuild status
  std::unique_ptr<kube::Client> kubelet;   // pods/status
};

bool ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--kubeconfig") a.kubeconfig = v;
    else if (k == "--namespace") a.ns = v;
    else if (k == "--builds") a.builds = std::atoi(v.c_str());
    else if (k == "--threads") a.threads = std::atoi(v.c_str());
    else if (k == "--qps") a.qps = std::atof(v.c_str());
    else return false;
  }
  return argc % 2 == 1 && !a.kubeconfig.empty() && !a.ns.empty() && a.builds > 0 && a.threads > 0 && a.qps > 0;
}

Json ImageBuildObject(int i, const std::string& ns) {
  Json spec = {{"image", "registry.bench.invalid/bench/app" + std::to_string(i)},
               {"version", "v1.0.0"},
               {"source", {{"git", {{"url", "https://git.bench.invalid/app.git"},
                                    {"revision", "0123456789abcdef0123456789abcdef01234567"}}}}},
               {"platforms", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}})}};
  Json ib = {{"apiVersion", "imagebuild.io/v1alpha1"},
             {"kind", "ImageBuild"},
             {"metadata", {{"name", "b" + std::to_string(i)}, {"namespace", ns}}},
             {"spec", spec}};
  // What kubectl apply (and Argo CD) leave on every object they manage.
  ib["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = ib.dump() + "\n";
  return ib;
}

Json Terminated(const Json& container, const std::string& message, const std::string& at, const std::string& id) {
  Json terminated = {{"exitCode", 0}, {"reason", "Completed"}, {"startedAt", at}, {"finishedAt", at},
                     {"containerID", "containerd://" + id}};
  if (!message.empty()) terminated["message"] = message;
  const std::string image = container.value("image", "");
  return {{"name", container.value("name", "")}, {"state", {{"terminated", terminated}}}, {"lastState", Json::object()},
          {"ready", false}, {"restartCount", 0}, {"image", image},
          {"imageID", image + "@" + ibo::oci::Sha256Digest(image)}, {"containerID", "containerd://" + id},
          {"started", false}};
}

// The status a kubelet reports for a pod whose containers all exited 0; `message` is the
// termination message of the first container (a build pod's digest).
Json FinishedStatus(const Json& pod, const std::string& message, int ip) {
  const std::string at = ibo::FormatTime(std::chrono::system_clock::now());
  const std::string name = pod["metadata"].value("name", "");
  auto id = [&](const std::string& c) { return ibo::oci::Sha256Digest(name + "/" + c).substr(7); };
  Json init = Json::array(), containers = Json::array();
  for (const auto& c : pod["spec"].value("initContainers", Json::array())) init.push_back(Terminated(c, "", at, id(c["name"])));
  for (const auto& c : pod["spec"]["containers"]) {
    containers.push_back(Terminated(c, containers.empty() ? message : "", at, id(c["name"])));
  }
  auto condition = [&](const char* type, const char* status, bool completed) {
    Json c = {{"type", type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", at}};
    if (completed) c["reason"] = "PodCompleted";
    return c;
  };
  const std::string pod_ip = "10.88." + std::to_string(ip / 250 % 250) + "." + std::to_string(ip % 250 + 2);
  Json status = {{"phase", "Succeeded"}, {"hostIP", "127.0.0.1"}, {"podIP", pod_ip},
                 {"podIPs", Json::array({{{"ip", pod_ip}}})}, {"startTime", at},
                 {"conditions", Json::array({condition("Initialized", "True", true), condition("Ready", "False", true),
                                             condition("ContainersReady", "False", true),
                                             condition("PodScheduled", "True", false)})},
                 {"containerStatuses", containers}};
  if (!init.empty()) status["initContainerStatuses"] = init;
  return {{"status", status}};
}


struct Loader {
  const Args& args;
  Clients& clients;
  std::vector<api::NodeView> nodes;
  controller::OperatorSettings settings;  // run's defaults, as the operator starts in the bench
  std::atomic<int> next{0}, done{0}, failed{0}, unsettled{0};
  std::mutex err_mu;

  controller::Actions Decide(const Json& ib, const std::vector<Json>& pods) const {
    controller::ReconcileInput in{api::DecodeImageBuild(ib), {}, {}, nodes, {}, std::chrono::system_clock::now(),
                                  &settings, 0};
    for (const auto& p : pods) in.pods.push_back(api::DecodePod(p));
    return controller::Reconcile(in);
  }

  // Creates one build pod on the Node of its architecture, then finishes it with `digest`.
  StatusOr<Json> RunPod(Json pod, const std::string& digest, int ip) {
    const std::string arch = pod["spec"].value("nodeSelector", Json::object()).value("kubernetes.io/arch", "amd64");
    pod["spec"]["nodeName"] = "bench-" + arch;
    IBO_ASSIGN_OR_RETURN(Json created, clients.op->Create(kube::resources::kPods, args.ns, pod));
    const std::string name = created["metadata"].value("name", "");
    return clients.kubelet->Patch(kube::resources::kPods, args.ns, name, kube::PatchType::kMerge,
                                  FinishedStatus(created, digest, ip), "status");
  }

  // One ImageBuild from creation to Succeeded, as the operator and kubelets would take it: the
  // decision's build pods exist and finished; its merge pod ran and is gone (only the decision saw it).
  Status LoadOne(int i) {
    IBO_ASSIGN_OR_RETURN(Json ib, clients.user->Create(controller::kImageBuildResource, args.ns, ImageBuildObject(i, args.ns)));
    controller::Actions a = Decide(ib, {});
    if (a.create_pods.size() != 2 || !a.status) return ibo::Internal("the decision did not start 2 build pods");
    ib["status"] = Json(*a.status);
    std::vector<Json> pods;
    for (const auto& p : a.create_pods) {
      const std::string digest = ibo::oci::Sha256Digest(p["metadata"].value("name", "") + "/image");
      IBO_ASSIGN_OR_RETURN(Json finished, RunPod(p, digest, 2 * i + static_cast<int>(pods.size())));
      pods.push_back(std::move(finished));
    }
    a = Decide(ib, pods);
    if (a.create_pods.size() != 1 || !a.status) return ibo::Internal("the decision did not start a merge pod");
    ib["status"] = Json(*a.status);
    Json merge = a.create_pods[0];
    merge["metadata"]["creationTimestamp"] = ibo::FormatTime(std::chrono::system_clock::now());
    merge["spec"]["nodeName"] = "bench-amd64";
    merge["status"] = FinishedStatus(merge, ibo::oci::Sha256Digest("index/" + std::to_string(i)), 0)["status"];
    std::vector<Json> with_merge = pods;
    with_merge.push_back(merge);
    a = Decide(ib, with_merge);
    if (!a.status || a.status->phase != api::BuildPhase::kSucceeded) return ibo::Internal("the decision did not succeed");
    ib["status"] = Json(*a.status);
    IBO_ASSIGN_OR_RETURN(Json written, clients.op->Update(controller::kImageBuildResource, args.ns, ib, "status"));
    // What the operator will see at start: would it act on this build again?
    a = Decide(written, pods);
    if (a.status || !a.create_pods.empty() || !a.delete_pods.empty() || a.apply_config_map) ++unsettled;
    return Status::Ok();
  }

  void Work() {
    for (int i = next++; i < args.builds; i = next++) {
      Status s = LoadOne(i);
      if (!s.ok()) {
        std::lock_guard lock(err_mu);
        if (failed++ < 5) std::fprintf(stderr, "cache_scale_loader: b%d: %s\n", i, s.ToString().c_str());
        continue;
      }
      const int n = ++done;
      if (n % 1000 == 0) std::fprintf(stderr, "cache_scale_loader: %d builds loaded\n", n);
    }
  }
};

StatusOr<std::unique_ptr<kube::Client>> NewClient(const Args& args, const std::string& user_agent) {
  IBO_ASSIGN_OR_RETURN(kube::ClusterConfig config, kube::LoadKubeconfig({args.kubeconfig}));
  kube::RestClientOptions options;
  options.qps = args.qps;
  options.burst = static_cast<int>(args.qps);
  options.user_agent = user_agent;
  return kube::NewRestClient(std::move(config), options);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    std::fprintf(stderr, "usage: cache_scale_loader --kubeconfig PATH --namespace NS --builds N [--threads T] [--qps Q]\n");
    return 2;
  }
  Clients clients;
  for (auto [slot, agent] : {std::pair{&clients.user, "kubectl-client-side-apply/v1.20.2 (linux/amd64) kubernetes/faecb19"},
                             std::pair{&clients.op, "imagebuild-operator"},
                             std::pair{&clients.kubelet, "kubelet/v1.20.2 (linux/amd64) kubernetes/faecb19"}}) {
    auto client = NewClient(args, agent);
    if (!client.ok()) {
      std::fprintf(stderr, "cache_scale_loader: %s\n", client.status().ToString().c_str());
      return 1;
    }
    *slot = std::move(client).value();
  }
  auto node_list = clients.user->List(kube::resources::kNodes, "", {});
  if (!node_list.ok()) {
    std::fprintf(stderr, "cache_scale_loader: listing nodes: %s\n", node_list.status().ToString().c_str());
    return 1;
  }
  Loader loader{args, clients, {}, {}};
  for (const auto& n : (*node_list)["items"]) loader.nodes.push_back(api::DecodeNode(n));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < args.threads; ++t) threads.emplace_back([&] { loader.Work(); });
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded %d builds and %d pods in %.1f s (%d failed); the decision would act again on %d\n",
              loader.done.load(), 2 * loader.done.load(), secs, loader.failed.load(), loader.unsettled.load());
  return loader.failed.load() == 0 ? 0 : 1;
}
