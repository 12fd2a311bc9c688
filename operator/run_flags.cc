#include "operator/run_flags.h"

#include "kube/protobuf_envelope.h"

namespace ibo::operator_main {
namespace {

flags::Setter LogLevel(std::string* field) {
  return [field](const std::string& name, const std::string& value) {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      return InvalidArgument("flag " + name + ": must be debug, info, warn or error");
    }
    *field = value;
    return Status::Ok();
  };
}

std::vector<flags::Flag> KubernetesFlags(RunFlags& f) {
  using namespace flags;
  const std::string k = "Kubernetes:";
  return {
      {"--kubeconfig", "PATH", "else $KUBECONFIG, else in-cluster, else ~/.kube/config", "", Text(&f.kubeconfig), false, k},
      {"--namespace", "NS", "watch only NS (repeatable; default: all namespaces)", "", Append(&f.namespaces), true, k},
      {"--leader-elect", "", "elect a leader on a Lease before reconciling", "", Switch(&f.leader_elect), false, k},
      {"--leader-election-id", "NAME", "the Lease's name (default {default})", "imagebuild-operator",
       Text(&f.leader_election_id), false, k},
      {"--leader-election-namespace", "NS", "the Lease's namespace (default: $POD_NAMESPACE or default)", "",
       Text(&f.leader_election_namespace), false, k},
      {"--max-concurrent-reconciles", "N", "worker threads (default {default})", "5", WholeNumber(1, 64, &f.workers),
       false, k},
      {"--kube-api-qps", "QPS", "client-side rate limit (default {default})", "20", Number(0, 10000, &f.qps), false, k},
      {"--kube-api-burst", "N", "(default {default})", "30", WholeNumber(1, 10000, &f.burst), false, k},
      {"--kube-api-request-timeout", "SECONDS",
       "a request unanswered this long fails; a watch silent for its own\n"
       "timeout plus this is stalled and reconnects (default {default})",
       "30", WholeNumber(1, 3600, &f.request_timeout_seconds), false, k},
      {"--watch-timeout", "SECONDS",
       "the API server ends each watch after a random time in [S, 2S)\n"
       "(default {default}); a stall is detected within 2S + the request timeout",
       "300", WholeNumber(1, 3600, &f.watch_timeout_seconds), false, k},
      {"--resync-period", "SECONDS",
       "every ImageBuild is reconciled again this often, changed or not\n"
       "(default {default}; 0: never)",
       "300", WholeNumber(0, 86400, &f.resync_period_seconds), false, k},
      {"--kube-api-content-type", "TYPE",
       "how pods are listed and watched: application/vnd.kubernetes.protobuf\n"
       "(the default, as kube-controller-manager's) or application/json",
       kube::kProtobufMediaType, OneOf({kube::kProtobufMediaType, "application/json"}, &f.kube_api_content_type),
       false, k},
      {"--user-agent", "TEXT", "User-Agent of every API request (default {default})", "imagebuild-operator",
       Text(&f.user_agent), false, k},
      {"--metrics-bind-address", "ADDR", "/metrics in Prometheus format (default {default}; 0 turns it off)", ":8080",
       Text(&f.metrics_address), false, k},
      {"--health-probe-bind-address", "ADDR", "/healthz and /readyz (default {default}; 0 turns it off)", ":8081",
       Text(&f.probe_address), false, k},
      {"--log-format", "json|text", "(default {default})", "text", OneOf({"json", "text"}, &f.log_format), false, k},
      {"--log-level", "debug|info|warn|error", "(default {default})", "info", LogLevel(&f.log_level), false, k},
  };
}

std::vector<flags::Flag> BuildFlags(RunFlags& f) {
  using namespace flags;
  const std::string b = "Builds:";
  auto& s = f.settings;
  return {
      // The merge pods run this very version of the operator unless told otherwise.
      {"--merge-image", "IMAGE",
       "the image whose `imagebuild-operator merge` the merge pod runs\n"
       "(default: this operator's own image at its version)",
       std::string("ghcr.io/imagebuild-operator/imagebuild-operator:") + IBO_VERSION, Text(&s.merge_image), false, b},
      {"--git-image", "IMAGE", "the image that fetches sources", "alpine/git:2.43.0", Text(&s.git_image), false, b},
      {"--buildkit-image", "IMAGE", "default {default}", "moby/buildkit:v0.12.5-rootless", Text(&s.buildkit_image),
       false, b},
      {"--buildah-image", "IMAGE", "default {default}", "quay.io/buildah/stable:v1.33", Text(&s.buildah_image), false,
       b},
      {"--max-concurrent-builds", "N", "0: no cap (default {default})", "0",
       WholeNumber(0, 100000, &s.max_concurrent_builds), false, b},
      {"--default-ttl-seconds-after-finished", "N", "", "",
       WholeNumber(0, int64_t{1} << 40, [&s](int64_t n) { s.default_ttl_seconds_after_finished = n; }), false, b},
      {"--insecure-registry", "HOST[:PORT]", "reached over plain HTTP (repeatable)", "",
       Append(&s.insecure_registries), true, b},
      {"--registry-ca-file", "PATH", "CA for registries, copied to build and merge pods", "", Text(&f.registry_ca_file),
       false, b},
      {"--retry-backoff", "SECONDS", "first retry delay of a failed platform (default {default})", "10",
       WholeNumber(0, 3600, [&s](int64_t n) { s.retry_backoff = std::chrono::seconds(n); }), false, b},
  };
}

}  // namespace

flags::FlagTable RunFlagTable(RunFlags& f) {
  std::vector<flags::Flag> all = KubernetesFlags(f);
  for (auto& flag : BuildFlags(f)) all.push_back(std::move(flag));
  return flags::FlagTable(std::move(all), {.unknown_hint = " (see imagebuild-operator run --help)",
                                           .needs_value_prefix = "flag ",
                                           .reject_positional = false,
                                           .help_ends_parsing = true});
}

std::string RunHelp() {
  RunFlags unused;
  return "usage: imagebuild-operator run [flags]\n\n" + RunFlagTable(unused).Help();
}

StatusOr<RunFlags> ParseRunFlags(const std::vector<std::string>& args) {
  RunFlags f;
  IBO_RETURN_IF_ERROR(RunFlagTable(f).Parse(args, &f.help));
  return f;
}

}  // namespace ibo::operator_main
