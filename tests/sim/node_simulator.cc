// imagebuild-node-simulator: stands in for the kubelets of simulated nodes, since no container
// runtime runs on this machine. It registers Nodes as kubelets would, then runs the pods that the
// real kube-scheduler binds to them:
//   - a build pod "builds" by pushing a small but real single-platform image (one layer and a
//     config carrying its node's os and architecture) by digest to the ImageBuild's repository,
//     and ends with that digest as its termination message;
//   - a merge pod runs its own `imagebuild-operator merge` command for real, with the Secrets and
//     ConfigMaps it mounts read from the API into a temporary folder;
//   - a pod marked for deletion is deleted with grace period 0, as a kubelet does.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/base64.h"
#include "common/oci_digest.h"
#include "common/time_format.h"
#include "http/http_transport.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "support/simulated_source.h"

namespace {

using ibo::kube::Json;
namespace fs = std::filesystem;
namespace res = ibo::kube::resources;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct Options {
  std::string kubeconfig;
  std::map<std::string, std::string> nodes;  // name -> arch
  std::string operator_binary;
  std::set<std::string> insecure;            // HOST:PORT pushed to over plain HTTP
  std::map<std::string, int> fail_attempts;  // "linux/arm64" -> attempts that fail first
  std::chrono::milliseconds build_time{0};   // how long a build pod runs before it ends
  std::chrono::milliseconds build_time_max{0};  // when above build_time: a random time in between
  uint64_t seed = 0;                            // of those random times; printed at start
  std::string work_dir = "/tmp/imagebuild-node-simulator";
};

void Log(const std::string& line) {
  std::cerr << ibo::FormatTime(std::chrono::system_clock::now()) << " node-simulator: " << line << std::endl;
}

// One file in a tar archive (ustar), uncompressed: enough for a real, tiny image layer.
std::string TarWithFile(const std::string& name, const std::string& content) {
  std::string header(512, '\0');
  auto put = [&](size_t off, const std::string& v) { std::memcpy(&header[off], v.data(), v.size()); };
  auto octal = [](size_t v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*zo", width - 1, v);
    return std::string(buf);
  };
  put(0, name);
  put(100, octal(0644, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(content.size(), 12));
  put(136, octal(0, 12));
  put(148, "        ");
  header[156] = '0';
  put(257, std::string("ustar\0", 6));
  put(263, "00");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  put(148, octal(sum, 7));
  header[155] = ' ';
  std::string body = content;
  body.resize((content.size() + 511) / 512 * 512, '\0');
  return header + body + std::string(1024, '\0');
}

// Thrown when a pod cannot start yet (its volumes' sources are unreadable for now).
struct RetryLater {
  std::string why;
};

class Simulator {
 public:
  Simulator(Options options, std::unique_ptr<ibo::kube::Client> client)
      : options_(std::move(options)), client_(std::move(client)), http_(ibo::http::NewTransport({})),
        rng_(options_.seed) {}

  ibo::Status RegisterNodes() {
    for (const auto& [name, arch] : options_.nodes) {
      Json node = {{"apiVersion", "v1"}, {"kind", "Node"},
                   {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", arch},
                                                             {"kubernetes.io/hostname", name}}}}}};
      auto created = client_->Create(res::kNodes, "", node);
      if (!created.ok() && created.status().code() != ibo::StatusCode::kAlreadyExists) return created.status();
      IBO_RETURN_IF_ERROR(Heartbeat(name, arch));
      // A Node created through the API starts tainted not-ready; no lifecycle controller lifts it.
      auto current = client_->Get(res::kNodes, "", name);
      if (!current.ok()) return current.status();
      Json taints = Json::array();
      for (const auto& t : (*current)["spec"].value("taints", Json::array())) {
        if (t.value("key", "") != "node.kubernetes.io/not-ready") taints.push_back(t);
      }
      auto patched = client_->Patch(res::kNodes, "", name, ibo::kube::PatchType::kMerge, {{"spec", {{"taints", taints}}}});
      if (!patched.ok()) return patched.status();
      Log("node " + name + " (" + arch + ") ready");
    }
    return ibo::Status::Ok();
  }

  ibo::Status Heartbeat(const std::string& name, const std::string& arch) {
    const std::string now = ibo::FormatTime(std::chrono::system_clock::now());
    Json resources = {{"cpu", "16"}, {"memory", "64Gi"}, {"pods", "110"}};
    Json status = {{"status",
                    {{"capacity", resources}, {"allocatable", resources},
                     {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"},
                                                  {"message", "simulated node: imagebuild-node-simulator"},
                                                  {"lastHeartbeatTime", now}, {"lastTransitionTime", now}}})},
                     {"nodeInfo", {{"architecture", arch}, {"operatingSystem", "linux"}, {"kubeletVersion", "v1.20.2"},
                                   {"osImage", "simulated"}, {"containerRuntimeVersion", "simulated://0"},
                                   {"machineID", "simulated"}, {"systemUUID", "simulated"}, {"bootID", "simulated"},
                                   {"kernelVersion", "simulated"}, {"kubeProxyVersion", "v1.20.2"}}}}}};
    return client_->Patch(res::kNodes, "", name, ibo::kube::PatchType::kMerge, status, "status").status();
  }

  void Run() {
    auto last_heartbeat = std::chrono::steady_clock::now();
    while (!g_stop) {
      for (const auto& [node, arch] : options_.nodes) Tick(node, arch);
      if (std::chrono::steady_clock::now() - last_heartbeat > std::chrono::seconds(20)) {
        for (const auto& [node, arch] : options_.nodes) (void)Heartbeat(node, arch);
        last_heartbeat = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

 private:
  void Tick(const std::string& node, const std::string& arch) {
    ibo::kube::ListOptions on_node;
    on_node.field_selector = "spec.nodeName=" + node;
    auto pods = client_->List(res::kPods, "", on_node);
    if (!pods.ok()) {
      Log("listing pods: " + pods.status().ToString());
      return;
    }
    for (const auto& pod : (*pods)["items"]) {
      const auto& meta = pod["metadata"];
      const std::string ns = meta["namespace"], name = meta["name"];
      if (meta.contains("deletionTimestamp")) {
        ibo::kube::DeleteOptions now;
        now.grace_period_seconds = 0;
        if (client_->Delete(res::kPods, ns, name, now).ok()) Log("deleted " + ns + "/" + name);
        continue;
      }
      const std::string phase = pod.value("status", Json::object()).value("phase", "");
      const std::string uid = meta["uid"];
      if (phase == "Succeeded" || phase == "Failed" || finished_.count(uid)) continue;
      const std::string role = meta.value("labels", Json::object()).value("imagebuild.io/role", "");
      auto seen = running_since_.find(uid);
      if (seen == running_since_.end()) {
        const auto duration = role == "build" ? BuildTime() : std::chrono::milliseconds(0);
        running_since_[uid] = {std::chrono::steady_clock::now(), duration};
        MarkRunning(pod);
        if (role == "build" && duration.count() > 0) continue;
      } else if (role == "build" && std::chrono::steady_clock::now() - seen->second.first < seen->second.second) {
        continue;
      }
      running_since_.erase(uid);
      finished_.insert(uid);
      try {
        if (role == "build") RunBuild(pod, arch);
        else if (role == "merge") RunMerge(pod);
        else if (role == "resolve") End(pod, true, ibo::testing::SimulatedCommit(pod));
        else End(pod, false, "the node simulator runs only imagebuild-operator's resolve, build and merge pods");
      } catch (const RetryLater& later) {
        Log("merge pod " + name + " waits for its volumes: " + later.why);
        finished_.erase(uid);
      } catch (const std::exception& e) {
        // A pod the simulator cannot make sense of fails; the simulator goes on.
        End(pod, false, std::string("node simulator: ") + e.what());
      }
    }
  }

  // How long the next build pod runs: fixed, or drawn from [build_time, build_time_max] by the
  // seeded generator, in the order the pods are first seen.
  std::chrono::milliseconds BuildTime() {
    if (options_.build_time_max <= options_.build_time) return options_.build_time;
    return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(
        options_.build_time.count(), options_.build_time_max.count())(rng_));
  }

  void MarkRunning(const Json& pod) {
    const Json& c = pod["spec"]["containers"][0];
    const std::string now = ibo::FormatTime(std::chrono::system_clock::now());
    const Json status = {{"status",
                          {{"phase", "Running"},
                           {"startTime", now},
                           {"containerStatuses", Json::array({{{"name", c["name"]}, {"image", c["image"]},
                                                               {"imageID", "simulated"}, {"ready", true},
                                                               {"restartCount", 0},
                                                               {"state", {{"running", {{"startedAt", now}}}}}}})}}}};
    (void)client_->Patch(res::kPods, pod["metadata"]["namespace"], pod["metadata"]["name"], ibo::kube::PatchType::kMerge,
                         status, "status");
  }

  void End(const Json& pod, bool succeeded, const std::string& message) {
    const std::string container = pod["spec"]["containers"][0]["name"];
    const Json terminated = {{"exitCode", succeeded ? 0 : 1}, {"reason", succeeded ? "Completed" : "Error"},
                             {"message", message}, {"finishedAt", ibo::FormatTime(std::chrono::system_clock::now())}};
    const Json status = {{"status",
                          {{"phase", succeeded ? "Succeeded" : "Failed"},
                           {"containerStatuses", Json::array({{{"name", container},
                                                               {"image", pod["spec"]["containers"][0]["image"]},
                                                               {"imageID", "simulated"},
                                                               {"ready", false},
                                                               {"restartCount", 0},
                                                               {"state", {{"terminated", terminated}}}}})}}}};
    // The pod is never looked at again: a lost write would leave it Running for good.
    auto patched = client_->Patch(res::kPods, pod["metadata"]["namespace"], pod["metadata"]["name"],
                                  ibo::kube::PatchType::kMerge, status, "status");
    // Up to about 40 s: longer than a kube-apiserver restart takes.
    for (int attempt = 1; attempt < 25 && !patched.ok() && patched.status().code() != ibo::StatusCode::kNotFound; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200 * attempt, 2000)));
      patched = client_->Patch(res::kPods, pod["metadata"]["namespace"], pod["metadata"]["name"],
                               ibo::kube::PatchType::kMerge, status, "status");
    }
    Log(std::string(succeeded ? "succeeded " : "failed ") + pod["metadata"]["name"].get<std::string>() + ": " + message +
        (patched.ok() ? "" : " (status not written: " + patched.status().ToString() + ")"));
  }

  // Pushes one blob by a monolithic upload.
  ibo::Status PushBlob(const std::string& base, const std::string& path, const std::string& bytes, const std::string& digest) {
    ibo::http::Request start;
    start.method = "POST";
    start.url = base + "/v2/" + path + "/blobs/uploads/";
    IBO_ASSIGN_OR_RETURN(ibo::http::Response started, http_->Send(start));
    if (started.status != 202) return ibo::Unavailable("blob upload refused with HTTP " + std::to_string(started.status));
    std::string location = started.Header("Location").value_or("");
    if (location.rfind("http", 0) != 0) location = base + location;
    ibo::http::Request put;
    put.method = "PUT";
    put.url = location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
    put.headers["Content-Type"] = "application/octet-stream";
    put.body = bytes;
    IBO_ASSIGN_OR_RETURN(ibo::http::Response done, http_->Send(put));
    if (done.status != 201) return ibo::Unavailable("blob upload ended with HTTP " + std::to_string(done.status));
    return ibo::Status::Ok();
  }

  void RunBuild(const Json& pod, const std::string& node_arch) {
    const std::string platforms = pod["metadata"].value("annotations", Json::object()).value("imagebuild.io/platforms", "");
    const std::string attempt = pod["metadata"]["labels"].value("imagebuild.io/attempt", "1");
    auto fail = options_.fail_attempts.find(platforms);
    if (fail != options_.fail_attempts.end() && std::stoi(attempt) <= fail->second) {
      End(pod, false, "simulated failure of attempt " + attempt + " for " + platforms + " (--fail-attempts)");
      return;
    }
    // The repository comes from the build command's --output name=...
    const std::string command = pod["spec"]["containers"][0]["command"].dump();
    const auto at = command.find("type=image,name=");
    if (at == std::string::npos) {
      End(pod, false, "the simulator builds only BuildKit pods (no --output type=image found)");
      return;
    }
    const auto from = at + std::strlen("type=image,name=");
    const std::string repository = command.substr(from, command.find(',', from) - from);
    const auto slash = repository.find('/');
    const std::string host = repository.substr(0, slash), path = repository.substr(slash + 1);
    const std::string base = (options_.insecure.count(host) ? "http://" : "https://") + host;

    const std::string content = "built by imagebuild-node-simulator on a linux/" + node_arch + " node for " +
                                pod["metadata"]["name"].get<std::string>() + "\n";
    const std::string layer = TarWithFile("etc/imagebuild-sandbox", content);
    const std::string layer_digest = ibo::oci::Sha256Digest(layer);
    const Json config = {{"architecture", node_arch}, {"os", "linux"},
                         {"config", {{"Labels", {{"io.imagebuild.simulated", "true"}}}}},
                         {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}};
    const std::string config_bytes = config.dump();
    const std::string config_digest = ibo::oci::Sha256Digest(config_bytes);
    const Json manifest = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config_digest},
                                       {"size", config_bytes.size()}}},
                           {"layers", Json::array({{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                                    {"digest", layer_digest}, {"size", layer.size()}}})}};
    const std::string manifest_bytes = manifest.dump();
    const std::string digest = ibo::oci::Sha256Digest(manifest_bytes);
    ibo::Status s = PushBlob(base, path, layer, layer_digest);
    if (s.ok()) s = PushBlob(base, path, config_bytes, config_digest);
    if (s.ok()) {
      ibo::http::Request put;
      put.method = "PUT";
      put.url = base + "/v2/" + path + "/manifests/" + digest;
      put.headers["Content-Type"] = "application/vnd.oci.image.manifest.v1+json";
      put.body = manifest_bytes;
      auto r = http_->Send(put);
      if (!r.ok()) s = r.status();
      else if (r->status != 201) s = ibo::Unavailable("manifest upload ended with HTTP " + std::to_string(r->status));
    }
    if (!s.ok()) {
      End(pod, false, "push to " + repository + " failed: " + s.message());
      return;
    }
    End(pod, true, digest);
  }

  // An API server that is away (restarted by a fault test) is no reason to fail a pod: a kubelet
  // would wait for the volume's source.
  static bool Transient(const ibo::Status& s) {
    return s.code() == ibo::StatusCode::kUnavailable || s.code() == ibo::StatusCode::kTimeout ||
           s.code() == ibo::StatusCode::kTooManyRequests;
  }

  // Writes what a volume would hold into dir; false when its source cannot be read, with
  // *transient set when it may be readable later.
  bool MaterialiseVolume(const std::string& ns, const Json& volume, const fs::path& dir, std::string* error,
                         bool* transient) {
    fs::create_directories(dir);
    if (volume.contains("secret")) {
      auto secret = client_->Get(res::kSecrets, ns, volume["secret"]["secretName"]);
      if (!secret.ok()) { *error = secret.status().message(); *transient = Transient(secret.status()); return false; }
      std::map<std::string, std::string> paths;
      for (const auto& item : volume["secret"].value("items", Json::array())) paths[item["key"]] = item["path"];
      const Json data = secret->value("data", Json::object());  // named: items() must not outlive it
      for (const auto& item : data.items()) {
        if (!paths.empty() && !paths.count(item.key())) continue;
        auto decoded = ibo::Base64Decode(item.value().get<std::string>());
        std::ofstream(dir / (paths.empty() ? item.key() : paths[item.key()])) << (decoded.ok() ? *decoded : "");
      }
    } else if (volume.contains("configMap")) {
      auto cm = client_->Get(res::kConfigMaps, ns, volume["configMap"]["name"]);
      if (!cm.ok()) { *error = cm.status().message(); *transient = Transient(cm.status()); return false; }
      const Json data = cm->value("data", Json::object());
      for (const auto& item : data.items()) {
        std::ofstream(dir / item.key()) << item.value().get<std::string>();
      }
    }
    return true;
  }

  void RunMerge(const Json& pod) {
    const std::string ns = pod["metadata"]["namespace"], name = pod["metadata"]["name"];
    const fs::path root = fs::path(options_.work_dir) / (ns + "-" + name);
    fs::remove_all(root);
    fs::create_directories(root);
    const Json& container = pod["spec"]["containers"][0];
    std::map<std::string, Json> volumes;
    for (const auto& v : pod["spec"].value("volumes", Json::array())) volumes[v["name"]] = v;
    // Mount paths, longest first, mapped into the temporary folder.
    std::vector<std::pair<std::string, fs::path>> mounts;
    for (const auto& m : container.value("volumeMounts", Json::array())) {
      const fs::path local = root / "volumes" / m["name"].get<std::string>();
      std::string error;
      bool transient = false;
      if (!MaterialiseVolume(ns, volumes[m["name"]], local, &error, &transient)) {
        if (transient) throw RetryLater{error};
        End(pod, false, "volume " + m["name"].get<std::string>() + ": " + error);
        return;
      }
      mounts.emplace_back(m["mountPath"], local);
    }
    std::sort(mounts.begin(), mounts.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
    const fs::path termination = root / "termination-log";
    std::vector<std::string> argv{options_.operator_binary};
    for (const auto& a : container.value("args", Json::array())) {
      std::string arg = a;
      if (arg == "/dev/termination-log") arg = termination.string();
      for (const auto& [mount, local] : mounts) {
        if (arg.rfind(mount + "/", 0) == 0) { arg = (local / arg.substr(mount.size() + 1)).string(); break; }
      }
      argv.push_back(arg);
    }
    const fs::path out = root / "output";
    pid_t pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(out.c_str(), "w", stdout);
      (void)f;
      dup2(fileno(stdout), STDERR_FILENO);
      std::vector<char*> cargv;
      for (auto& s : argv) cargv.push_back(s.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    std::ifstream in(termination);
    std::stringstream message;
    message << in.rdbuf();
    std::string text = message.str();
    if (text.empty()) {  // FallbackToLogsOnError: the log's tail
      std::ifstream log(out);
      std::stringstream all;
      all << log.rdbuf();
      text = all.str();
      if (text.size() > 2048) text = text.substr(text.size() - 2048);
    }
    End(pod, WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, text);
  }

  Options options_;
  std::unique_ptr<ibo::kube::Client> client_;
  std::unique_ptr<ibo::http::Transport> http_;
  // By pod uid: when it started running, and for how long it builds.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::chrono::milliseconds>> running_since_;
  std::mt19937_64 rng_;
  std::set<std::string> finished_;
};

constexpr const char* kUsage =
    "usage: imagebuild-node-simulator --kubeconfig FILE --node NAME=ARCH [--node ...]\n"
    "         --operator-binary PATH [--insecure-registry HOST:PORT]... [--fail-attempts PLATFORM=N]...\n"
    "         [--build-seconds S | --build-seconds MIN-MAX [--seed N]] [--work-dir DIR]\n"
    "  MIN-MAX: each build pod runs a random time in [MIN, MAX] seconds, drawn from --seed\n"
    "  (default: from the clock; printed at start, so that a run can be replayed)\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool seeded = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help") { std::cout << kUsage; return 0; }
    if (i + 1 >= args.size()) { std::cerr << "node-simulator: " << a << " needs a value\n" << kUsage; return 2; }
    const std::string v = args[++i];
    if (a == "--kubeconfig") o.kubeconfig = v;
    else if (a == "--operator-binary") o.operator_binary = v;
    else if (a == "--insecure-registry") o.insecure.insert(v);
    else if (a == "--work-dir") o.work_dir = v;
    else if (a == "--build-seconds") {
      const auto dash = v.find('-');
      const auto ms = [](const std::string& t) { return std::chrono::milliseconds(static_cast<int64_t>(std::stod(t) * 1000)); };
      o.build_time = ms(v.substr(0, dash));
      if (dash != std::string::npos) o.build_time_max = ms(v.substr(dash + 1));
    } else if (a == "--seed") {
      o.seed = std::stoull(v);
      seeded = true;
    }
    else if (a == "--node" || a == "--fail-attempts") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) { std::cerr << "node-simulator: " << a << " takes KEY=VALUE\n"; return 2; }
      if (a == "--node") o.nodes[v.substr(0, eq)] = v.substr(eq + 1);
      else o.fail_attempts[v.substr(0, eq)] = std::stoi(v.substr(eq + 1));
    } else { std::cerr << "node-simulator: unknown flag " << a << "\n" << kUsage; return 2; }
  }
  if (o.nodes.empty() || o.operator_binary.empty()) { std::cerr << kUsage; return 2; }
  if (!seeded) o.seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  if (o.build_time_max > o.build_time) {
    Log("build times random in [" + std::to_string(o.build_time.count()) + ", " + std::to_string(o.build_time_max.count()) +
        "] ms, seed " + std::to_string(o.seed));
  }
  auto config = ibo::kube::LoadDefaultConfig(o.kubeconfig);
  if (!config.ok()) { std::cerr << "node-simulator: " << config.status().message() << "\n"; return 1; }
  ibo::kube::RestClientOptions client_options;
  client_options.qps = 0;
  client_options.user_agent = "imagebuild-node-simulator";  // the audit log tells it from the operator
  Simulator sim(o, ibo::kube::NewRestClient(*config, client_options));
  if (auto s = sim.RegisterNodes(); !s.ok()) { std::cerr << "node-simulator: " << s.ToString() << "\n"; return 1; }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  sim.Run();
  return 0;
}
