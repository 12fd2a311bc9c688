// Where the Kubernetes API is and how to authenticate to it: kubeconfig files (merged as kubectl
// merges them), in-cluster service-account configuration, and credentials that change over time
// (rotated token files, exec credential plugins).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/http_transport.h"

namespace ibo::kube {

struct ExecPluginConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or v1beta1
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string cluster_server;  // passed to the plugin in KUBERNETES_EXEC_INFO
};

// A credential as an exec plugin returns it (ExecCredential.status).
struct ExecCredential {
  std::string token;
  std::string client_certificate_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

struct ClusterConfig {
  std::string server;  // https://host:port, no trailing slash
  http::TlsOptions tls;
  std::string token;        // static bearer token
  std::string token_file;   // re-read when it changes (projected service-account tokens rotate)
  std::optional<ExecPluginConfig> exec;
  std::string username, password;  // basic auth, rarely used
  std::string source;  // where it came from, for messages: a file path or "in-cluster"
};

// Reads kubeconfig files and merges them as kubectl does: the first file to define a cluster,
// user or context by name wins, and current-context comes from the first file that sets it.
// `context` picks a context; empty means current-context. Relative paths resolve against the file
// that holds them. Errors name the file and the field.
StatusOr<ClusterConfig> LoadKubeconfig(const std::vector<std::string>& paths, const std::string& context = "");

// Parses one kubeconfig document (the merge rules apply across documents).
StatusOr<ClusterConfig> ParseKubeconfig(const std::string& yaml_text, const std::string& file_for_messages,
                                        const std::string& context = "");

// In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service-account files under `sa_dir`.
StatusOr<ClusterConfig> InClusterConfig(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The order controller-runtime uses: an explicit path, else $KUBECONFIG (':'-separated), else
// in-cluster, else ~/.kube/config.
StatusOr<ClusterConfig> LoadDefaultConfig(const std::string& explicit_kubeconfig = "");

// Parses an exec plugin's stdout (an ExecCredential object).
StatusOr<ExecCredential> ParseExecCredential(const std::string& json_text, const std::string& expected_api_version);

// Runs an exec credential plugin and parses what it prints.
StatusOr<ExecCredential> RunExecPlugin(const ExecPluginConfig& plugin);

// Hands out the current bearer token: static, re-read from a file when its modification time
// changes, or obtained from an exec plugin and obtained again once it expires.
class CredentialSource {
 public:
  explicit CredentialSource(ClusterConfig config,
                            std::function<StatusOr<ExecCredential>(const ExecPluginConfig&)> exec = RunExecPlugin);
  // Empty when the configuration has no bearer token (client certificates only).
  StatusOr<std::string> BearerToken();
  // Forgets a cached exec credential, after the server answered 401.
  void Invalidate();
  // Client certificate data from an exec plugin, if it returned any.
  std::optional<ExecCredential> ExecClientCertificate();

 private:
  ClusterConfig config_;
  std::function<StatusOr<ExecCredential>(const ExecPluginConfig&)> exec_;
  std::mutex mu_;
  std::string file_token_;
  std::optional<std::chrono::system_clock::time_point> file_mtime_;
  std::optional<ExecCredential> exec_credential_;
};

}  // namespace ibo::kube
