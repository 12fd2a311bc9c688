#include "operator/run_command.h"

#include <csignal>
#include <set>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/log_format.h"
#include "controller/controller.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/leader_election.h"
#include "kube/rest_client.h"
#include "operator/metrics_observer.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace ibo::operator_main {
namespace {

constexpr const char* kHelp =
    "usage: imagebuild-operator run [flags]\n"
    "\n"
    "Kubernetes:\n"
    "  --kubeconfig PATH                  else $KUBECONFIG, else in-cluster, else ~/.kube/config\n"
    "  --namespace NS                     watch only NS (repeatable; default: all namespaces)\n"
    "  --leader-elect                     elect a leader on a Lease before reconciling\n"
    "  --leader-election-id NAME          the Lease's name (default imagebuild-operator)\n"
    "  --leader-election-namespace NS     the Lease's namespace (default: $POD_NAMESPACE or default)\n"
    "  --max-concurrent-reconciles N      worker threads (default 2)\n"
    "  --kube-api-qps QPS                 client-side rate limit (default 20)\n"
    "  --kube-api-burst N                 (default 30)\n"
    "  --metrics-bind-address ADDR        /metrics in Prometheus format (default :8080; 0 turns it off)\n"
    "  --health-probe-bind-address ADDR   /healthz and /readyz (default :8081; 0 turns it off)\n"
    "  --log-format json|text             (default text)\n"
    "  --log-level debug|info|warn|error  (default info)\n"
    "Builds:\n"
    "  --merge-image IMAGE                the image whose `imagebuild-operator merge` the merge pod runs\n"
    "                                     (default: this operator's own image at its version)\n"
    "  --git-image IMAGE                  the image that fetches sources\n"
    "  --buildkit-image IMAGE             default moby/buildkit:v0.12.5-rootless\n"
    "  --buildah-image IMAGE              default quay.io/buildah/stable:v1.33\n"
    "  --max-concurrent-builds N          0: no cap (default 0)\n"
    "  --default-ttl-seconds-after-finished N\n"
    "  --insecure-registry HOST[:PORT]    reached over plain HTTP (repeatable)\n"
    "  --registry-ca-file PATH            CA for registries, copied to build and merge pods\n"
    "  --retry-backoff SECONDS            first retry delay of a failed platform (default 10)\n";

std::atomic<bool> g_stop{false};
std::atomic<bool> g_lost_lease{false};
void OnSignal(int) { g_stop = true; }

struct Flags {
  std::string kubeconfig;
  std::vector<std::string> namespaces;
  bool leader_elect = false;
  std::string leader_election_id = "imagebuild-operator";
  std::string leader_election_namespace;
  int workers = 2;
  double qps = 20;
  int burst = 30;
  std::string log_format = "text", log_level = "info";
  std::string metrics_address = ":8080", probe_address = ":8081";
  controller::OperatorSettings settings;
  std::string registry_ca_file;
};

bool ParseInt(const std::string& text, long min, long max, long* out) {
  try {
    size_t used = 0;
    long v = std::stol(text, &used);
    if (used != text.size() || v < min || v > max) return false;
    *out = v;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Returns an error line, or "" when the flags are fine.
std::string ParseFlags(const std::vector<std::string>& args, Flags& f, bool* help) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "--help" || name == "-h") { *help = true; return ""; }
    if (name == "--leader-elect") {
      if (has_value && value != "true" && value != "false") return "flag --leader-elect: must be true or false, not \"" + value + "\"";
      f.leader_elect = !has_value || value == "true";
      continue;
    }
    static const std::set<std::string> kValueFlags = {
        "--kubeconfig", "--namespace", "--leader-election-id", "--leader-election-namespace",
        "--max-concurrent-reconciles", "--kube-api-qps", "--kube-api-burst", "--metrics-bind-address",
        "--health-probe-bind-address", "--log-format", "--log-level", "--merge-image", "--git-image",
        "--buildkit-image", "--buildah-image", "--max-concurrent-builds", "--default-ttl-seconds-after-finished",
        "--insecure-registry", "--registry-ca-file", "--retry-backoff"};
    if (!kValueFlags.count(name)) return "unknown flag " + name + " (see imagebuild-operator run --help)";
    if (!has_value) {
      if (i + 1 >= args.size()) return "flag " + name + " needs a value";
      value = args[++i];
    }
    long n = 0;
    auto number = [&](long min, long max) -> std::string {
      return ParseInt(value, min, max, &n) ? "" : "flag " + name + ": \"" + value + "\" is not a whole number from " +
                                                     std::to_string(min) + " to " + std::to_string(max);
    };
    std::string e;
    if (name == "--kubeconfig") f.kubeconfig = value;
    else if (name == "--namespace") f.namespaces.push_back(value);
    else if (name == "--leader-election-id") f.leader_election_id = value;
    else if (name == "--leader-election-namespace") f.leader_election_namespace = value;
    else if (name == "--max-concurrent-reconciles") { if ((e = number(1, 64)).empty()) f.workers = static_cast<int>(n); }
    else if (name == "--kube-api-qps") {
      try {
        size_t used = 0;
        f.qps = std::stod(value, &used);
        if (used != value.size() || f.qps < 0 || f.qps > 10000) throw std::invalid_argument(value);
      } catch (const std::exception&) {
        e = "flag --kube-api-qps: \"" + value + "\" is not a number from 0 to 10000";
      }
    }
    else if (name == "--kube-api-burst") { if ((e = number(1, 10000)).empty()) f.burst = static_cast<int>(n); }
    else if (name == "--metrics-bind-address") f.metrics_address = value;
    else if (name == "--health-probe-bind-address") f.probe_address = value;
    else if (name == "--log-format") {
      if (value != "json" && value != "text") e = "flag --log-format: must be json or text, not \"" + value + "\"";
      f.log_format = value;
    } else if (name == "--log-level") {
      if (value != "debug" && value != "info" && value != "warn" && value != "error") e = "flag --log-level: must be debug, info, warn or error";
      f.log_level = value;
    }
    else if (name == "--merge-image") f.settings.merge_image = value;
    else if (name == "--git-image") f.settings.git_image = value;
    else if (name == "--buildkit-image") f.settings.buildkit_image = value;
    else if (name == "--buildah-image") f.settings.buildah_image = value;
    else if (name == "--max-concurrent-builds") { if ((e = number(0, 100000)).empty()) f.settings.max_concurrent_builds = static_cast<int>(n); }
    else if (name == "--default-ttl-seconds-after-finished") { if ((e = number(0, 1L << 40)).empty()) f.settings.default_ttl_seconds_after_finished = n; }
    else if (name == "--insecure-registry") f.settings.insecure_registries.push_back(value);
    else if (name == "--registry-ca-file") f.registry_ca_file = value;
    else if (name == "--retry-backoff") { if ((e = number(0, 3600)).empty()) f.settings.retry_backoff = std::chrono::seconds(n); }
    if (!e.empty()) return e;
  }
  return "";
}

}  // namespace

int RunOperatorCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags;
  // The merge pods run this very version of the operator unless told otherwise.
  flags.settings.merge_image = std::string("ghcr.io/imagebuild-operator/imagebuild-operator:") + IBO_VERSION;
  bool help = false;
  if (std::string error = ParseFlags(args, flags, &help); !error.empty()) {
    err << "imagebuild-operator run: " << error << "\n";
    return 2;
  }
  if (help) { out << kHelp; return 0; }
  if (!flags.registry_ca_file.empty()) {
    std::ifstream in(flags.registry_ca_file);
    if (!in) { err << "imagebuild-operator run: --registry-ca-file " << flags.registry_ca_file << " cannot be read\n"; return 2; }
    std::ostringstream s;
    s << in.rdbuf();
    flags.settings.registry_ca_pem = s.str();
  }

  auto logger = spdlog::stderr_logger_mt("imagebuild-operator");
  if (flags.log_format == "json") {
    logger->set_formatter(NewJsonLogFormatter());
  }
  logger->set_level(spdlog::level::from_str(flags.log_level));
  spdlog::set_default_logger(logger);

  auto config = kube::LoadDefaultConfig(flags.kubeconfig);
  if (!config.ok()) {
    err << "imagebuild-operator run: " << config.status().message() << "\n";
    return 1;
  }
  kube::RestClientOptions client_options;
  client_options.qps = flags.qps;
  client_options.burst = flags.burst;
  auto client = kube::NewRestClient(*config, client_options);
  kube::ApiEventRecorder recorder(*client, "imagebuild-operator");

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  server::Metrics metrics;
  metrics.Declare("leader_election_master_status", "gauge",
                  "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master");
  const server::Labels lease_label{{"name", flags.leader_election_id}};
  metrics.Set("leader_election_master_status", lease_label, flags.leader_elect ? 0 : 1);
  controller::ControllerOptions options;
  options.namespaces = flags.namespaces;
  options.workers = flags.workers;
  options.settings = flags.settings;
  MetricsObserver observer(metrics);
  options.observer = &observer;
  controller::ImageBuildController controller(*client, recorder, options);
  controller.StartInformers();

  std::unique_ptr<server::HttpServer> metrics_server, probe_server;
  if (flags.metrics_address != "0") {
    auto started = server::StartHttpServer(flags.metrics_address, [&metrics](const std::string& path) {
      if (path != "/metrics") return server::HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
      return server::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render()};
    });
    if (!started.ok()) {
      err << "imagebuild-operator run: --metrics-bind-address: " << started.status().message() << "\n";
      return 1;
    }
    metrics_server = std::move(*started);
  }
  if (flags.probe_address != "0") {
    auto started = server::StartHttpServer(flags.probe_address, [&controller](const std::string& path) {
      if (path == "/healthz") return server::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
      if (path == "/readyz") {
        return controller.HasSynced() ? server::HttpReply{200, "text/plain; charset=utf-8", "ok\n"}
                                      : server::HttpReply{503, "text/plain; charset=utf-8", "caches not synced\n"};
      }
      return server::HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
    });
    if (!started.ok()) {
      err << "imagebuild-operator run: --health-probe-bind-address: " << started.status().message() << "\n";
      return 1;
    }
    probe_server = std::move(*started);
  }
  spdlog::info("imagebuild-operator {} starting (server {}, namespaces: {})", IBO_VERSION, config->server,
               flags.namespaces.empty() ? std::string("all") : std::to_string(flags.namespaces.size()));

  std::atomic<bool> leading{!flags.leader_elect};
  std::unique_ptr<kube::Client> election_client;
  std::unique_ptr<kube::LeaderElector> elector;
  std::thread election;
  if (flags.leader_elect) {
    // A renewal must give up before the renew deadline, or two replicas could both lead.
    kube::RestClientOptions election_options;
    election_options.request_timeout = std::chrono::seconds(5);
    election_client = kube::NewRestClient(*config, election_options);
    kube::LeaderElectionConfig le;
    const char* pod_ns = std::getenv("POD_NAMESPACE");
    le.lease_namespace = !flags.leader_election_namespace.empty() ? flags.leader_election_namespace
                         : pod_ns && *pod_ns                      ? pod_ns
                                                                  : "default";
    le.lease_name = flags.leader_election_id;
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    le.identity = std::string(host) + "_" + std::to_string(getpid());
    elector = std::make_unique<kube::LeaderElector>(
        *election_client, le,
        // The callbacks run on the elector's thread, which must stay free to renew: the workers
        // are started by the main loop below.
        kube::LeaderCallbacks{[&] {
                                metrics.Set("leader_election_master_status", lease_label, 1);
                                leading = true;
                              },
                              [&] {
                                metrics.Set("leader_election_master_status", lease_label, 0);
                                // Lost or given up: stop reconciling at once.
                                controller.Stop();
                                if (!g_stop) g_lost_lease = true;
                                g_stop = true;
                              },
                              nullptr});
    election = std::thread([&] { elector->Run(); });
    spdlog::info("campaigning for the lease {}/{}", le.lease_namespace, le.lease_name);
  }
  bool working = false;
  while (!g_stop) {
    if (leading && !working && controller.HasSynced()) {
      controller.StartWorkers();
      working = true;
      spdlog::info("caches synced; reconciling");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  spdlog::info("stopping");
  controller.Stop();
  if (elector) {
    elector->Stop();
    election.join();
  }
  if (g_lost_lease) {
    spdlog::error("leader election lost; exiting so that a restart campaigns again");
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace ibo::operator_main
