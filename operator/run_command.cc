#include "operator/run_command.h"

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
#include "kube/protobuf_envelope.h"
#include "kube/rest_client.h"
#include "kube/write_fence.h"
#include "operator/metrics_observer.h"
#include "operator/run_flags.h"
#include "operator/shutdown.h"
#include "http/http_transport.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace ibo::operator_main {
namespace {

constexpr const char* kPrefix = "imagebuild-operator run: ";
constexpr const char* kLeaderMetric = "leader_election_master_status";

server::HttpReply Text(int code, std::string body) { return {code, "text/plain; charset=utf-8", std::move(body)}; }

Status ReadRegistryCa(RunFlags& flags) {
  if (flags.registry_ca_file.empty()) return Status::Ok();
  std::ifstream in(flags.registry_ca_file);
  if (!in) return InvalidArgument("--registry-ca-file " + flags.registry_ca_file + " cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  flags.settings.registry_ca_pem = s.str();
  return Status::Ok();
}

void SetUpLogging(const RunFlags& flags) {
  auto logger = spdlog::stderr_logger_mt("imagebuild-operator");
  if (flags.log_format == "json") logger->set_formatter(NewJsonLogFormatter());
  logger->set_level(spdlog::level::from_str(flags.log_level));
  spdlog::set_default_logger(logger);
}

kube::LeaderElectionConfig LeaseConfig(const RunFlags& flags) {
  kube::LeaderElectionConfig le;
  const char* pod_ns = std::getenv("POD_NAMESPACE");
  le.lease_namespace = !flags.leader_election_namespace.empty() ? flags.leader_election_namespace
                       : pod_ns && *pod_ns                      ? pod_ns
                                                                : "default";
  le.lease_name = flags.leader_election_id;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  le.identity = std::string(host) + "_" + std::to_string(getpid());
  return le;
}

// The running operator: its clients, metrics, controller, HTTP endpoints and leader election.
class Operator {
 public:
  Operator(const RunFlags& flags, const kube::ClusterConfig& config, StopRequest& stop);
  ~Operator();

  // Starts /metrics and the probes; an error names the flag whose address failed.
  Status StartServers();
  void StartElection();
  // Reconciles once leading and synced, until a stop is requested, then stops everything.
  StopReason Run();

 private:
  controller::ControllerOptions Options();
  server::HttpReply Probe(const std::string& path) const;
  void OnStartedLeading();
  void OnStoppedLeading();
  bool WaitUntilLeadingAndSynced();

  const RunFlags& flags_;
  const kube::ClusterConfig& config_;
  StopRequest& stop_;
  const server::Labels lease_label_;
  const kube::LeaderElectionConfig lease_;
  // Every write of the controller and its events passes it; the elector's renewals open it.
  kube::WriteFence fence_;
  std::unique_ptr<kube::Client> client_;
  kube::ApiEventRecorder recorder_;
  server::Metrics metrics_;
  MetricsObserver observer_;  // before the controller, which reports to it
  controller::ImageBuildController controller_;
  std::unique_ptr<server::HttpServer> metrics_server_, probe_server_;
  std::atomic<bool> leading_;
  std::unique_ptr<kube::Client> election_client_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::thread election_;
};

kube::RestClientOptions ClientOptions(const RunFlags& flags, kube::WriteFence* fence) {
  kube::RestClientOptions options;
  options.qps = flags.qps;
  options.burst = flags.burst;
  options.user_agent = flags.user_agent;
  options.request_timeout = std::chrono::seconds(flags.request_timeout_seconds);
  options.protobuf_discarded_answers = flags.kube_api_content_type == kube::kProtobufMediaType;
  if (fence) options.write_gate = [fence](const std::string& what) { return fence->Check(what); };
  return options;
}

Operator::Operator(const RunFlags& flags, const kube::ClusterConfig& config, StopRequest& stop)
    : flags_(flags),
      config_(config),
      stop_(stop),
      lease_label_{{"name", flags.leader_election_id}},
      lease_(LeaseConfig(flags)),
      fence_(lease_.renew_deadline),
      client_(kube::NewRestClient(config, ClientOptions(flags, flags.leader_elect ? &fence_ : nullptr))),
      recorder_(*client_, "imagebuild-operator"),
      observer_(metrics_),
      controller_(*client_, recorder_, Options()),
      leading_(!flags.leader_elect) {
  metrics_.Declare(kLeaderMetric, "gauge",
                   "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master");
  metrics_.Set(kLeaderMetric, lease_label_, flags.leader_elect ? 0 : 1);
  // A write refused by the fence means leadership is over, whatever the elector has seen so far.
  fence_.OnRefused([this] { stop_.Request(StopReason::kLeaseLost); });
  controller_.StartInformers();
}

Operator::~Operator() {
  controller_.Stop();
  if (elector_) elector_->Stop();
  if (election_.joinable()) election_.join();
}

controller::ControllerOptions Operator::Options() {
  controller::ControllerOptions options;
  options.namespaces = flags_.namespaces;
  options.workers = flags_.workers;
  options.min_watch_timeout = std::chrono::seconds(flags_.watch_timeout_seconds);
  options.resync_period = std::chrono::seconds(flags_.resync_period_seconds);
  options.pods_in_protobuf = flags_.kube_api_content_type == kube::kProtobufMediaType;
  options.settings = flags_.settings;
  options.observer = &observer_;
  return options;
}

server::HttpReply Operator::Probe(const std::string& path) const {
  if (path == "/healthz") return Text(200, "ok\n");
  if (path == "/readyz") return controller_.HasSynced() ? Text(200, "ok\n") : Text(503, "caches not synced\n");
  return Text(404, "not found\n");
}

Status Operator::StartServers() {
  if (flags_.metrics_address != "0") {
    auto started = server::StartHttpServer(flags_.metrics_address, [this](const std::string& path) {
      if (path != "/metrics") return Text(404, "not found\n");
      return server::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render()};
    });
    if (!started.ok()) return started.status().Annotate("--metrics-bind-address");
    metrics_server_ = std::move(*started);
  }
  if (flags_.probe_address != "0") {
    auto started = server::StartHttpServer(flags_.probe_address, [this](const std::string& path) { return Probe(path); });
    if (!started.ok()) return started.status().Annotate("--health-probe-bind-address");
    probe_server_ = std::move(*started);
  }
  return Status::Ok();
}

// The callbacks run on the elector's thread, which must stay free to renew: Run() starts the workers.
void Operator::OnStartedLeading() {
  metrics_.Set(kLeaderMetric, lease_label_, 1);
  leading_ = true;
  stop_.Notify();
}

void Operator::OnStoppedLeading() {
  metrics_.Set(kLeaderMetric, lease_label_, 0);
  fence_.Close();
  // Lost or given up: stop reconciling at once. After a signal, the signal stays the reason.
  controller_.Stop();
  stop_.Request(StopReason::kLeaseLost);
}

void Operator::StartElection() {
  if (!flags_.leader_elect) return;
  // A renewal must give up before the renew deadline, or two replicas could both lead.
  kube::RestClientOptions election_options;
  election_options.request_timeout = std::chrono::seconds(5);
  election_options.user_agent = flags_.user_agent;
  election_client_ = kube::NewRestClient(config_, election_options);
  const kube::LeaderElectionConfig& le = lease_;
  elector_ = std::make_unique<kube::LeaderElector>(
      *election_client_, le,
      kube::LeaderCallbacks{[this] { OnStartedLeading(); }, [this] { OnStoppedLeading(); }, nullptr,
                            [this](std::chrono::steady_clock::time_point at) { fence_.Renewed(at); }});
  election_ = std::thread([this] { elector_->Run(); });
  spdlog::info("campaigning for the lease {}/{}", le.lease_namespace, le.lease_name);
}

bool Operator::WaitUntilLeadingAndSynced() {
  if (!stop_.WaitFor([this] { return leading_.load(); })) return false;
  while (!controller_.WaitForSync(std::chrono::milliseconds(100))) {
    if (stop_.Requested()) return false;
  }
  return !stop_.Requested();
}

StopReason Operator::Run() {
  if (WaitUntilLeadingAndSynced()) {
    controller_.StartWorkers();
    spdlog::info("caches synced; reconciling");
  }
  const StopReason reason = stop_.Wait();
  spdlog::info("stopping");
  controller_.Stop();
  if (elector_) {
    elector_->Stop();
    election_.join();
  }
  return reason;
}

}  // namespace

int RunOperatorCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto flags = ParseRunFlags(args);
  Status usable = flags.status();
  if (usable.ok() && !flags->help) usable = ReadRegistryCa(*flags);
  if (!usable.ok()) {
    err << kPrefix << usable.message() << "\n";
    return 2;
  }
  if (flags->help) {
    out << RunHelp();
    return 0;
  }
  // Before any thread starts, so that every thread inherits the mask and only the watcher's
  // sigwait() takes SIGTERM and SIGINT.
  BlockStopSignals();
  // After the mask: the pool's threads start here and must inherit it.
  server::SizeThreadPool(server::DefaultThreadPoolSize());
  StopRequest stop;
  SignalWatcher signals(stop);
  SetUpLogging(*flags);
  auto config = kube::LoadDefaultConfig(flags->kubeconfig);
  if (!config.ok()) {
    err << kPrefix << config.status().message() << "\n";
    return 1;
  }
  Operator op(*flags, *config, stop);
  if (Status started = op.StartServers(); !started.ok()) {
    err << kPrefix << started.message() << "\n";
    return 1;
  }
  spdlog::info("imagebuild-operator {} starting (server {}, namespaces: {})", IBO_VERSION, config->server,
               flags->namespaces.empty() ? std::string("all") : std::to_string(flags->namespaces.size()));
  op.StartElection();
  if (op.Run() == StopReason::kLeaseLost) {
    spdlog::error("leader election lost; exiting so that a restart campaigns again");
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace ibo::operator_main
