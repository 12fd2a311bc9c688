#include "kube/config.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/base64.h"
#include "common/json_parse.h"
#include "common/time_format.h"

extern char** environ;

namespace ibo::kube {
namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Dirname(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// A named entry (cluster, user or context) and the file it came from.
struct Named {
  YAML::Node body;
  std::string file;
};

Status FieldError(const std::string& file, const std::string& field, const std::string& what) {
  return InvalidArgument("kubeconfig " + file + ": field " + field + ": " + what);
}

StatusOr<std::string> StringField(const YAML::Node& node, const char* key, const std::string& file,
                                  const std::string& path) {
  const YAML::Node v = node[key];
  if (!v) return std::string();
  if (!v.IsScalar()) return FieldError(file, path + "." + key, "must be a string");
  return v.as<std::string>();
}

StatusOr<std::string> DataField(const YAML::Node& node, const char* key, const std::string& file,
                                const std::string& path) {
  IBO_ASSIGN_OR_RETURN(std::string encoded, StringField(node, key, file, path));
  if (encoded.empty()) return encoded;
  auto decoded = Base64Decode(encoded);
  if (!decoded.ok()) return FieldError(file, path + "." + key, "is not valid base64");
  return *decoded;
}

// Collects the list under `section` (clusters, users, contexts), first definition winning.
Status CollectNamed(const YAML::Node& root, const char* section, const char* body_key, const std::string& file,
                    std::map<std::string, Named>& into) {
  const YAML::Node list = root[section];
  if (!list || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return FieldError(file, section, "must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string where = std::string(section) + "[" + std::to_string(i) + "]";
    if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) return FieldError(file, where + ".name", "is missing");
    const YAML::Node body = item[body_key];
    if (body && !body.IsMap() && !body.IsNull()) return FieldError(file, where + "." + body_key, "must be a mapping");
    into.try_emplace(item["name"].as<std::string>(), Named{body ? body : YAML::Node(YAML::NodeType::Map), file});
  }
  return Status::Ok();
}

struct Merged {
  std::map<std::string, Named> clusters, users, contexts;
  std::string current_context;
  std::string current_context_file;
};

Status MergeDocument(const std::string& text, const std::string& file, Merged& merged) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + file + ": not valid YAML at line " + std::to_string(e.mark.line + 1) +
                           ": " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();  // an empty file merges as nothing, as kubectl does
  if (!root.IsMap()) return InvalidArgument("kubeconfig " + file + ": must be a mapping (kind: Config)");
  IBO_RETURN_IF_ERROR(CollectNamed(root, "clusters", "cluster", file, merged.clusters));
  IBO_RETURN_IF_ERROR(CollectNamed(root, "users", "user", file, merged.users));
  IBO_RETURN_IF_ERROR(CollectNamed(root, "contexts", "context", file, merged.contexts));
  if (merged.current_context.empty()) {
    IBO_ASSIGN_OR_RETURN(merged.current_context, StringField(root, "current-context", file, ""));
    merged.current_context_file = file;
  }
  return Status::Ok();
}

Status ApplyExec(const YAML::Node& exec, const std::string& file, const std::string& path, ClusterConfig& out) {
  ExecPluginConfig plugin;
  IBO_ASSIGN_OR_RETURN(plugin.api_version, StringField(exec, "apiVersion", file, path));
  IBO_ASSIGN_OR_RETURN(plugin.command, StringField(exec, "command", file, path));
  if (plugin.command.empty()) return FieldError(file, path + ".command", "is required");
  if (plugin.api_version != "client.authentication.k8s.io/v1" &&
      plugin.api_version != "client.authentication.k8s.io/v1beta1") {
    return FieldError(file, path + ".apiVersion",
                      "must be client.authentication.k8s.io/v1 or v1beta1, not \"" + plugin.api_version + "\"");
  }
  // A relative command with a slash is relative to the kubeconfig, as kubectl resolves it.
  if (plugin.command.find('/') != std::string::npos) plugin.command = Resolve(plugin.command, Dirname(file));
  if (const YAML::Node args = exec["args"]) {
    if (!args.IsSequence()) return FieldError(file, path + ".args", "must be a list of strings");
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) return FieldError(file, path + ".args[" + std::to_string(i) + "]", "must be a string");
      plugin.args.push_back(args[i].as<std::string>());
    }
  }
  if (const YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return FieldError(file, path + ".env", "must be a list of {name, value}");
    for (size_t i = 0; i < env.size(); ++i) {
      const YAML::Node e = env[i];
      const std::string where = path + ".env[" + std::to_string(i) + "]";
      if (!e.IsMap()) return FieldError(file, where, "must be a mapping {name, value}");
      if (!e["name"] || !e["name"].IsScalar()) return FieldError(file, where + ".name", "is required and must be a string");
      IBO_ASSIGN_OR_RETURN(std::string value, StringField(e, "value", file, where));
      plugin.env.emplace_back(e["name"].as<std::string>(), std::move(value));
    }
  }
  plugin.cluster_server = out.server;
  out.exec = std::move(plugin);
  return Status::Ok();
}

StatusOr<ClusterConfig> Assemble(const Merged& merged, const std::string& context_override,
                                 const std::string& files_for_messages) {
  const std::string context_name = context_override.empty() ? merged.current_context : context_override;
  if (context_name.empty()) {
    return InvalidArgument("kubeconfig " + files_for_messages + ": field current-context: is not set and no context was chosen");
  }
  auto ctx_it = merged.contexts.find(context_name);
  if (ctx_it == merged.contexts.end()) {
    return InvalidArgument("kubeconfig " + files_for_messages + ": field contexts: no context named \"" + context_name + "\"");
  }
  const Named& ctx = ctx_it->second;
  const std::string ctx_path = "contexts[" + context_name + "].context";
  IBO_ASSIGN_OR_RETURN(std::string cluster_name, StringField(ctx.body, "cluster", ctx.file, ctx_path));
  IBO_ASSIGN_OR_RETURN(std::string user_name, StringField(ctx.body, "user", ctx.file, ctx_path));
  auto cl_it = merged.clusters.find(cluster_name);
  if (cl_it == merged.clusters.end()) {
    return FieldError(ctx.file, ctx_path + ".cluster", "no cluster named \"" + cluster_name + "\"");
  }

  ClusterConfig out;
  out.source = files_for_messages;
  const Named& cluster = cl_it->second;
  const std::string cl_path = "clusters[" + cluster_name + "].cluster";
  const std::string cl_dir = Dirname(cluster.file);
  IBO_ASSIGN_OR_RETURN(out.server, StringField(cluster.body, "server", cluster.file, cl_path));
  if (out.server.empty()) return FieldError(cluster.file, cl_path + ".server", "is required");
  if (out.server.rfind("https://", 0) != 0 && out.server.rfind("http://", 0) != 0) {
    return FieldError(cluster.file, cl_path + ".server", "must start with https:// or http://");
  }
  while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
  IBO_ASSIGN_OR_RETURN(std::string ca_file, StringField(cluster.body, "certificate-authority", cluster.file, cl_path));
  out.tls.ca_file = Resolve(ca_file, cl_dir);
  IBO_ASSIGN_OR_RETURN(out.tls.ca_pem, DataField(cluster.body, "certificate-authority-data", cluster.file, cl_path));
  if (const YAML::Node skip = cluster.body["insecure-skip-tls-verify"]) {
    try {
      out.tls.insecure_skip_verify = skip.as<bool>();
    } catch (const YAML::Exception&) {
      return FieldError(cluster.file, cl_path + ".insecure-skip-tls-verify", "must be true or false");
    }
  }

  if (!user_name.empty()) {
    auto us_it = merged.users.find(user_name);
    if (us_it == merged.users.end()) {
      return FieldError(ctx.file, ctx_path + ".user", "no user named \"" + user_name + "\"");
    }
    const Named& user = us_it->second;
    const std::string us_path = "users[" + user_name + "].user";
    const std::string us_dir = Dirname(user.file);
    IBO_ASSIGN_OR_RETURN(std::string cert, StringField(user.body, "client-certificate", user.file, us_path));
    IBO_ASSIGN_OR_RETURN(std::string key, StringField(user.body, "client-key", user.file, us_path));
    out.tls.client_cert_file = Resolve(cert, us_dir);
    out.tls.client_key_file = Resolve(key, us_dir);
    IBO_ASSIGN_OR_RETURN(out.tls.client_cert_pem, DataField(user.body, "client-certificate-data", user.file, us_path));
    IBO_ASSIGN_OR_RETURN(out.tls.client_key_pem, DataField(user.body, "client-key-data", user.file, us_path));
    const bool has_cert = !out.tls.client_cert_file.empty() || !out.tls.client_cert_pem.empty();
    const bool has_key = !out.tls.client_key_file.empty() || !out.tls.client_key_pem.empty();
    if (has_cert != has_key) {
      return FieldError(user.file, us_path + (has_cert ? ".client-key" : ".client-certificate"),
                        "is required together with the other half of the client certificate");
    }
    IBO_ASSIGN_OR_RETURN(out.token, StringField(user.body, "token", user.file, us_path));
    IBO_ASSIGN_OR_RETURN(std::string token_file, StringField(user.body, "tokenFile", user.file, us_path));
    out.token_file = Resolve(token_file, us_dir);
    IBO_ASSIGN_OR_RETURN(out.username, StringField(user.body, "username", user.file, us_path));
    IBO_ASSIGN_OR_RETURN(out.password, StringField(user.body, "password", user.file, us_path));
    if (const YAML::Node exec = user.body["exec"]; exec && !exec.IsNull()) {
      if (!exec.IsMap()) return FieldError(user.file, us_path + ".exec", "must be a mapping");
      IBO_RETURN_IF_ERROR(ApplyExec(exec, user.file, us_path + ".exec", out));
    }
    if (user.body["auth-provider"]) {
      return FieldError(user.file, us_path + ".auth-provider", "auth providers are not supported; use an exec plugin");
    }
  }
  return out;
}

std::string JoinPaths(const std::vector<std::string>& paths) {
  std::string s;
  for (const auto& p : paths) s += (s.empty() ? "" : ":") + p;
  return s;
}

}  // namespace

StatusOr<ClusterConfig> ParseKubeconfig(const std::string& yaml_text, const std::string& file_for_messages,
                                        const std::string& context) {
  Merged merged;
  IBO_RETURN_IF_ERROR(MergeDocument(yaml_text, file_for_messages, merged));
  return Assemble(merged, context, file_for_messages);
}

StatusOr<ClusterConfig> LoadKubeconfig(const std::vector<std::string>& paths, const std::string& context) {
  Merged merged;
  std::vector<std::string> read;
  for (const auto& path : paths) {
    if (path.empty()) continue;
    auto text = ReadFile(path);
    // kubectl ignores missing files in KUBECONFIG, but one named alone must exist.
    if (!text.ok()) {
      if (paths.size() == 1) return InvalidArgument("kubeconfig " + path + ": cannot be read");
      continue;
    }
    IBO_RETURN_IF_ERROR(MergeDocument(*text, path, merged));
    read.push_back(path);
  }
  if (read.empty()) return InvalidArgument("kubeconfig: none of " + JoinPaths(paths) + " can be read");
  return Assemble(merged, context, JoinPaths(read));
}

StatusOr<ClusterConfig> InClusterConfig(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    return FailedPrecondition("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  std::string h = host;
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";  // IPv6
  ClusterConfig out;
  out.server = "https://" + h + ":" + port;
  out.tls.ca_file = sa_dir + "/ca.crt";
  out.token_file = sa_dir + "/token";
  out.source = "in-cluster";
  struct stat st {};
  if (stat(out.token_file.c_str(), &st) != 0) {
    return FailedPrecondition("in-cluster: no service-account token at " + out.token_file);
  }
  return out;
}

StatusOr<ClusterConfig> LoadDefaultConfig(const std::string& explicit_kubeconfig) {
  if (!explicit_kubeconfig.empty()) return LoadKubeconfig({explicit_kubeconfig});
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::vector<std::string> paths;
    std::stringstream in(env);
    for (std::string p; std::getline(in, p, ':');) paths.push_back(p);
    return LoadKubeconfig(paths);
  }
  auto in_cluster = InClusterConfig();
  if (in_cluster.ok()) return in_cluster;
  const char* home = std::getenv("HOME");
  const std::string path = std::string(home ? home : "") + "/.kube/config";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return FailedPrecondition("no Kubernetes configuration: no --kubeconfig, no $KUBECONFIG, not in a cluster, and no " + path);
  }
  return LoadKubeconfig({path});
}

namespace {
// A member that must be a string when present; absent reads as "".
StatusOr<std::string> CredentialString(const nlohmann::json& object, const char* key, const char* path) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument(std::string("exec plugin output: ") + path + " must be a string");
  return it->get<std::string>();
}
}  // namespace

StatusOr<ExecCredential> ParseExecCredential(const std::string& json_text, const std::string& expected_api_version) {
  auto parsed = ParseJson(json_text);
  if (!parsed.ok()) return InvalidArgument("exec plugin printed no ExecCredential JSON: " + parsed.status().message());
  const nlohmann::json doc = std::move(parsed).value();
  if (!doc.is_object()) return InvalidArgument("exec plugin printed no ExecCredential JSON");
  IBO_ASSIGN_OR_RETURN(std::string kind, CredentialString(doc, "kind", "kind"));
  if (kind != "ExecCredential") return InvalidArgument("exec plugin output is not kind ExecCredential");
  IBO_ASSIGN_OR_RETURN(std::string api_version, CredentialString(doc, "apiVersion", "apiVersion"));
  if (!expected_api_version.empty() && api_version != expected_api_version) {
    return InvalidArgument("exec plugin answered apiVersion \"" + api_version + "\", expected \"" +
                           expected_api_version + "\"");
  }
  const nlohmann::json status = doc.contains("status") ? doc["status"] : nlohmann::json::object();
  if (!status.is_object()) return InvalidArgument("exec plugin output: status must be an object");
  ExecCredential out;
  IBO_ASSIGN_OR_RETURN(out.token, CredentialString(status, "token", "status.token"));
  IBO_ASSIGN_OR_RETURN(out.client_certificate_pem,
                       CredentialString(status, "clientCertificateData", "status.clientCertificateData"));
  IBO_ASSIGN_OR_RETURN(out.client_key_pem, CredentialString(status, "clientKeyData", "status.clientKeyData"));
  if (out.token.empty() && (out.client_certificate_pem.empty() || out.client_key_pem.empty())) {
    return InvalidArgument("exec plugin returned neither a token nor a client certificate and key");
  }
  if (status.contains("expirationTimestamp") && status["expirationTimestamp"].is_string()) {
    IBO_ASSIGN_OR_RETURN(out.expiration, ParseTime(status["expirationTimestamp"].get<std::string>()));
  }
  return out;
}

StatusOr<ExecCredential> RunExecPlugin(const ExecPluginConfig& plugin) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return Internal("exec plugin: cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  nlohmann::json info = {{"apiVersion", plugin.api_version},
                         {"kind", "ExecCredential"},
                         {"spec", {{"interactive", false}}}};
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : plugin.env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{plugin.command};
  argv_strings.insert(argv_strings.end(), plugin.args.begin(), plugin.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // The plugin starts with no signal blocked, whatever this thread blocks (`run` leaves SIGTERM
  // and SIGINT to a sigwait thread).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, plugin.command.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    return Unavailable("exec plugin " + plugin.command + ": cannot start: " + std::strerror(rc));
  }
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Unavailable("exec plugin " + plugin.command + " failed with exit status " +
                       std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1));
  }
  auto credential = ParseExecCredential(output, plugin.api_version);
  if (!credential.ok()) return credential.status().Annotate("exec plugin " + plugin.command);
  return credential;
}

CredentialSource::CredentialSource(ClusterConfig config,
                                   std::function<StatusOr<ExecCredential>(const ExecPluginConfig&)> exec)
    : config_(std::move(config)), exec_(std::move(exec)) {}

StatusOr<std::string> CredentialSource::BearerToken() {
  std::lock_guard lock(mu_);
  if (config_.exec) {
    const auto now = std::chrono::system_clock::now();
    if (!exec_credential_ || (exec_credential_->expiration && *exec_credential_->expiration <= now)) {
      auto fresh = exec_(*config_.exec);
      if (!fresh.ok()) return fresh.status();
      exec_credential_ = *fresh;
    }
    if (!exec_credential_->token.empty()) return exec_credential_->token;
  }
  if (!config_.token_file.empty()) {
    struct stat st {};
    if (stat(config_.token_file.c_str(), &st) != 0) {
      return Unavailable("token file " + config_.token_file + " cannot be read");
    }
    const auto mtime = std::chrono::system_clock::time_point(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec));
    if (!file_mtime_ || *file_mtime_ != mtime) {
      auto text = ReadFile(config_.token_file);
      if (!text.ok()) return text.status();
      std::string token = *text;
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
      file_token_ = token;
      file_mtime_ = mtime;
    }
    return file_token_;
  }
  return config_.token;
}

void CredentialSource::Invalidate() {
  std::lock_guard lock(mu_);
  exec_credential_.reset();
  file_mtime_.reset();
}

std::optional<ExecCredential> CredentialSource::ExecClientCertificate() {
  if (!config_.exec) return std::nullopt;
  (void)BearerToken();
  std::lock_guard lock(mu_);
  if (exec_credential_ && !exec_credential_->client_certificate_pem.empty()) return exec_credential_;
  return std::nullopt;
}

}  // namespace ibo::kube
