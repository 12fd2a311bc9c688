// The latency benchmark of issue 15, part 3 (bench/latency.sh runs it): creates N ImageBuilds at
// RATE per second while the operator runs, ends their pods as a node simulator, and times three
// steps of every build by the arrival of watch events at this process's own clock.
//   latency_bench --kubeconfig PATH --namespace NS [--n 500] [--rate 20] [--timeout SECONDS]
// Prints a markdown table; exits 1 when not every ImageBuild reached Ready=True in time.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/oci_digest.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "support/kubelet_stand_in.h"

namespace {

using ibo::kube::Json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace kube = ibo::kube;

const kube::ResourceType kImageBuilds{"imagebuild.io", "v1alpha1", "imagebuilds", true};

struct Flags {
  std::string kubeconfig, ns;
  int n = 500;
  double rate = 20;
  int timeout_seconds = 0;  // 0: N / RATE + 60
};

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--kubeconfig") f.kubeconfig = v;
    else if (k == "--namespace") f.ns = v;
    else if (k == "--n") f.n = std::atoi(v.c_str());
    else if (k == "--rate") f.rate = std::atof(v.c_str());
    else if (k == "--timeout") f.timeout_seconds = std::atoi(v.c_str());
    else return std::nullopt;
  }
  if (argc % 2 == 0 || f.kubeconfig.empty() || f.ns.empty() || f.n <= 0 || f.rate <= 0) return std::nullopt;
  if (f.timeout_seconds <= 0) f.timeout_seconds = static_cast<int>(f.n / f.rate) + 60;
  return f;
}

std::string Label(const Json& object, const char* key) {
  return object["metadata"].value("labels", Json::object()).value(key, "");
}
std::string Phase(const Json& pod) { return pod.value("status", Json::object()).value("phase", ""); }

bool ReadyTrue(const Json& ib) {
  for (const auto& c : ib.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True") return true;
  }
  return false;
}

// Arrival times of one ImageBuild's events, as this process's watches saw them first.
struct Times {
  std::optional<Clock::time_point> created, added, merge_added, merge_succeeded, ready;
  std::map<std::string, Clock::time_point> build_added, build_succeeded;
};

// Every build's Times, written by the watch threads and the creator.
class Timeline {
 public:
  void Created(const std::string& name, Clock::time_point t) {
    std::lock_guard l(mu_);
    builds_[name].created = t;
  }
  void OnImageBuild(const kube::WatchEvent& e, Clock::time_point t) {
    std::lock_guard l(mu_);
    Times& b = builds_[e.object["metadata"].value("name", "")];
    if (!b.added) b.added = t;
    if (!b.ready && ReadyTrue(e.object)) {
      b.ready = t;
      ++ready_;
    }
  }
  void OnPod(const kube::WatchEvent& e, Clock::time_point t) {
    const std::string ib = Label(e.object, "imagebuild.io/name"), role = Label(e.object, "imagebuild.io/role");
    const std::string pod = e.object["metadata"].value("name", "");
    const bool succeeded = Phase(e.object) == "Succeeded";
    std::lock_guard l(mu_);
    added_.emplace(pod, t);
    if (succeeded) succeeded_.emplace(pod, t);
    Times& b = builds_[ib];
    if (role == "build") {
      b.build_added.emplace(pod, t);  // emplace keeps the first arrival
      if (succeeded) b.build_succeeded.emplace(pod, t);
    } else if (role == "merge") {
      if (!b.merge_added) b.merge_added = t;
      if (succeeded && !b.merge_succeeded) b.merge_succeeded = t;
    }
  }
  int Ready() const {
    std::lock_guard l(mu_);
    return ready_;
  }
  std::map<std::string, Times> Snapshot() const {
    std::lock_guard l(mu_);
    return builds_;
  }
  // Every pod's first arrival.
  std::map<std::string, Clock::time_point> Added() const {
    std::lock_guard l(mu_);
    return added_;
  }
  // Every pod's first Succeeded arrival.
  std::map<std::string, Clock::time_point> Succeeded() const {
    std::lock_guard l(mu_);
    return succeeded_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Times> builds_;
  std::map<std::string, Clock::time_point> added_, succeeded_;
  int ready_ = 0;
};

// A watch of one resource in one namespace on a thread of its own: every event goes to the
// handler with the time Next() returned it. Re-watches from the last resourceVersion when the
// server ends the stream, and lists afresh after an error (410 Gone).
class Watcher {
 public:
  using Handler = std::function<void(const kube::WatchEvent&, Clock::time_point)>;
  Watcher(kube::Client& client, kube::ResourceType type, std::string ns, Handler handler)
      : client_(client), type_(std::move(type)), ns_(std::move(ns)), handler_(std::move(handler)) {}
  ~Watcher() { Stop(); }

  // Starts the thread and returns once the first watch is established (false: it could not be).
  bool Start() {
    thread_ = std::thread([this] { Loop(); });
    std::unique_lock l(mu_);
    cv_.wait_for(l, 30s, [&] { return established_ || stop_; });
    return established_;
  }
  void Stop() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
      if (stream_) stream_->Cancel();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::string rv;
    while (!Stopping()) {
      if (rv.empty()) {
        auto list = client_.List(type_, ns_, {});
        if (!list.ok()) {
          Fail("list", list.status());
          continue;
        }
        rv = (*list)["metadata"].value("resourceVersion", "");
      }
      kube::ListOptions o;
      o.resource_version = rv;
      o.timeout_seconds = 600;
      auto stream = client_.Watch(type_, ns_, o);
      if (!stream.ok()) {
        Fail("watch", stream.status());
        rv.clear();
        continue;
      }
      if (!Attach(std::move(stream).value())) return;
      if (!Drain(rv)) rv.clear();
      Attach(nullptr);
    }
  }

  // Reads events until the stream ends (true) or fails (false); rv follows the objects.
  bool Drain(std::string& rv) {
    while (true) {
      auto next = stream_->Next();
      const auto t = Clock::now();
      if (!next.ok()) {
        if (!Stopping()) Fail("watch event", next.status());
        return false;
      }
      if (!next->has_value()) return true;
      const kube::WatchEvent& e = **next;
      rv = e.object["metadata"].value("resourceVersion", rv);
      if (e.type != "BOOKMARK") handler_(e, t);
    }
  }

  bool Attach(std::unique_ptr<kube::WatchStream> s) {
    std::lock_guard l(mu_);
    if (s && stop_) return false;
    stream_ = std::move(s);
    if (stream_) established_ = true;
    cv_.notify_all();
    return true;
  }
  bool Stopping() {
    std::lock_guard l(mu_);
    return stop_;
  }
  void Fail(const char* what, const ibo::Status& s) {
    std::cerr << "latency_bench: " << type_.resource << " " << what << ": " << s.ToString() << "\n";
    std::this_thread::sleep_for(100ms);
  }

  kube::Client& client_;
  kube::ResourceType type_;
  std::string ns_;
  Handler handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<kube::WatchStream> stream_;
  bool stop_ = false, established_ = false;
  std::thread thread_;
};

// The node simulator: KubeletStandIn fed from the bench's pod watch instead of its own poll. A
// bound pod is ended at once: builds with a digest as their termination message, the merge pod
// with a merge report (its index digest). Records when each pod was handed to it.
class NodeSimulator {
 public:
  NodeSimulator(kube::Client& client, const std::string& ns, Json nodes)
      : stand_in_(client, ns, Decide), nodes_(std::move(nodes)) {}
  ~NodeSimulator() { Stop(); }

  void Start() { thread_ = std::thread([this] { Loop(); }); }
  void Stop() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  // From the pod watch: a bound pod that has not ended goes to the stand-in, once.
  void Offer(const Json& pod, Clock::time_point t) {
    if (pod["spec"].value("nodeName", "").empty() || Phase(pod) == "Succeeded" || Phase(pod) == "Failed") return;
    std::lock_guard l(mu_);
    if (!bound_.emplace(pod["metadata"].value("name", ""), t).second) return;
    queue_.push_back(pod);
    cv_.notify_all();
  }
  std::map<std::string, Clock::time_point> Bound() const {
    std::lock_guard l(mu_);
    return bound_;
  }
  std::vector<std::string> Misplaced() const { return stand_in_.Misplaced(); }

 private:
  static std::optional<ibo::testing::KubeletStandIn::Outcome> Decide(const Json& pod, const Json&) {
    if (Label(pod, "imagebuild.io/role") == "merge") return ibo::testing::KubeletStandIn::Outcome{true, ibo::oci::Sha256Digest("index")};
    return ibo::testing::KubeletStandIn::Outcome{true, ibo::oci::Sha256Digest(pod["metadata"].value("name", "")) + "\n"};
  }
  void Loop() {
    std::unique_lock l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Json pod = std::move(queue_.front());
      queue_.pop_front();
      l.unlock();
      stand_in_.Step(pod, nodes_);
      l.lock();
    }
  }

  ibo::testing::KubeletStandIn stand_in_;
  Json nodes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Json> queue_;
  std::map<std::string, Clock::time_point> bound_;
  bool stop_ = false;
  std::thread thread_;
};

Json ImageBuild(const std::string& name, const std::string& ns) {
  return {{"apiVersion", "imagebuild.io/v1alpha1"},
          {"kind", "ImageBuild"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"image", "registry.bench.invalid/bench/" + name},
            {"version", "v1.0.0"},
            // A full commit id: no resolve pod, the first pods are the two build pods.
            {"source", {{"git", {{"url", "https://git.bench.invalid/app.git"},
                                 {"revision", "0123456789abcdef0123456789abcdef01234567"}}}}},
            {"platforms", Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}})}}}};
}

struct CreateReport {
  int failed = 0;
  double seconds = 0, max_lag_ms = 0;  // how late the last create started against its schedule
};

// Creates b0..b<N-1> at RATE per second on a fixed schedule (a slow create delays the next ones,
// never drops them), recording when each create returned.
CreateReport CreateAll(kube::Client& client, const Flags& f, Timeline& timeline) {
  CreateReport r;
  const auto t0 = Clock::now();
  for (int i = 0; i < f.n; ++i) {
    const auto due = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / f.rate));
    std::this_thread::sleep_until(due);
    r.max_lag_ms = std::max(r.max_lag_ms, std::chrono::duration<double, std::milli>(Clock::now() - due).count());
    const std::string name = "b" + std::to_string(i);
    auto created = client.Create(kImageBuilds, f.ns, ImageBuild(name, f.ns));
    if (!created.ok()) {
      std::cerr << "latency_bench: create " << name << ": " << created.status().ToString() << "\n";
      ++r.failed;
      continue;
    }
    timeline.Created(name, Clock::now());
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

double Ms(Clock::time_point from, Clock::time_point to) { return std::chrono::duration<double, std::milli>(to - from).count(); }

Clock::time_point Latest(const std::map<std::string, Clock::time_point>& m) {
  Clock::time_point t{};
  for (const auto& [_, v] : m) t = std::max(t, v);
  return t;
}
// When the first two build pods had both been seen.
Clock::time_point SecondEarliest(const std::map<std::string, Clock::time_point>& m) {
  std::vector<Clock::time_point> v;
  for (const auto& [_, t] : m) v.push_back(t);
  std::sort(v.begin(), v.end());
  return v[1];
}

// The samples of every step: (a) and (a') need both build pods seen, (b) both Succeeded and the
// merge pod, (c) the merge pod Succeeded and Ready=True. `window` (> 0) keeps only the builds
// b<i> created in that many seconds' window number `index`, to show a queue that grows.
std::map<std::string, std::vector<double>> Samples(const std::map<std::string, Times>& builds, double rate = 0,
                                                   int window = 0, int index = 0) {
  std::map<std::string, std::vector<double>> s;
  for (const auto& [name, b] : builds) {
    if (window > 0 && static_cast<int>(std::atoi(name.c_str() + 1) / (rate * window)) != index) continue;
    if (b.build_added.size() >= 2) {
      if (b.added) s["a"].push_back(Ms(*b.added, SecondEarliest(b.build_added)));
      if (b.created) s["a'"].push_back(Ms(*b.created, SecondEarliest(b.build_added)));
    }
    if (b.build_succeeded.size() >= 2 && b.merge_added) s["b"].push_back(Ms(Latest(b.build_succeeded), *b.merge_added));
    if (b.merge_succeeded && b.ready) s["c"].push_back(Ms(*b.merge_succeeded, *b.ready));
    if (b.added && b.ready) s["total"].push_back(Ms(*b.added, *b.ready));
  }
  return s;
}

// Per pod, FROM's arrival -> TO's arrival: the scheduler (ADDED -> bound) and the simulator (bound
// -> Succeeded) take those steps, part of none of (a)-(c).
std::vector<double> PodSteps(const std::map<std::string, Clock::time_point>& from,
                             const std::map<std::string, Clock::time_point>& to) {
  std::vector<double> v;
  for (const auto& [pod, t] : to) {
    if (auto it = from.find(pod); it != from.end()) v.push_back(Ms(it->second, t));
  }
  return v;
}

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void PrintRow(const std::string& what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) {
    std::printf("| %s | 0 | – | – | – |\n", what.c_str());
    return;
  }
  std::printf("| %s | %zu | %.1f | %.1f | %.1f |\n", what.c_str(), v.size(), Percentile(v, 50), Percentile(v, 99), v.back());
}

std::string P50P99(std::vector<double> v) {
  if (v.empty()) return "– / –";
  std::sort(v.begin(), v.end());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f / %.0f", Percentile(v, 50), Percentile(v, 99));
  return buf;
}

// The same steps by when the ImageBuilds were created, 5 s a row: flat rows are jitter, rising
// rows a queue that the arrival rate outruns.
void PrintWindows(const Flags& f, const std::map<std::string, Times>& builds) {
  constexpr int kWindow = 5;
  std::printf("\n| created in | (a) p50 / p99 ms | (b) p50 / p99 ms | (c) p50 / p99 ms |\n| --- | --- | --- | --- |\n");
  for (int i = 0; i * kWindow * f.rate < f.n; ++i) {
    auto s = Samples(builds, f.rate, kWindow, i);
    std::printf("| %d–%d s | %s | %s | %s |\n", i * kWindow, (i + 1) * kWindow, P50P99(s["a"]).c_str(),
                P50P99(s["b"]).c_str(), P50P99(s["c"]).c_str());
  }
}

void PrintReport(const Flags& f, const CreateReport& c, const Timeline& timeline, const NodeSimulator& sim) {
  auto s = Samples(timeline.Snapshot());
  std::printf("| step (arrival times at the bench's watches) | count | p50 ms | p99 ms | max ms |\n");
  std::printf("| --- | --- | --- | --- | --- |\n");
  PrintRow("(a) ImageBuild ADDED → both build pods ADDED", s["a"]);
  PrintRow("(a′) ImageBuild create returned → both build pods ADDED", s["a'"]);
  PrintRow("(b) last build pod Succeeded → merge pod ADDED", s["b"]);
  PrintRow("(c) merge pod Succeeded → Ready=True", s["c"]);
  PrintRow("ImageBuild ADDED → Ready=True (all steps, simulator included)", s["total"]);
  PrintRow("kube-scheduler: pod ADDED → bound (part of none of a–c)", PodSteps(timeline.Added(), sim.Bound()));
  PrintRow("node simulator: pod bound → its Succeeded (part of none of a–c)", PodSteps(sim.Bound(), timeline.Succeeded()));
  std::printf("\n%d ImageBuilds created in %.2f s (%.1f per second asked; %d creates failed; the latest create "
              "started %.1f ms behind its schedule); %d of %d Ready=True.\n",
              f.n - c.failed, c.seconds, f.rate, c.failed, c.max_lag_ms, timeline.Ready(), f.n);
  if (f.n >= 5 * 2 * f.rate) PrintWindows(f, timeline.Snapshot());
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  std::printf("\nThe bench's own CPU (watches, creates, node simulator): %.2f s.\n",
              seconds(self.ru_utime) + seconds(self.ru_stime));
}

// Waits until every ImageBuild is Ready=True or the deadline passes.
bool WaitAllReady(const Timeline& timeline, int n, Clock::time_point deadline) {
  while (timeline.Ready() < n && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  return timeline.Ready() >= n;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags) {
    std::cerr << "usage: latency_bench --kubeconfig PATH --namespace NS [--n 500] [--rate 20] [--timeout SECONDS]\n";
    return 2;
  }
  const Flags& f = *flags;
  const auto deadline = Clock::now() + std::chrono::seconds(f.timeout_seconds);
  auto config = kube::LoadKubeconfig({f.kubeconfig});
  if (!config.ok()) {
    std::cerr << "latency_bench: " << config.status().ToString() << "\n";
    return 1;
  }
  kube::RestClientOptions options;
  options.qps = 0;  // the bench is not what is rate limited
  options.user_agent = "latency-bench";
  auto watch_pods = kube::NewRestClient(*config, options), watch_builds = kube::NewRestClient(*config, options);
  auto creator = kube::NewRestClient(*config, options), simulator = kube::NewRestClient(*config, options);
  auto nodes = simulator->List(kube::resources::kNodes, "", {});
  if (!nodes.ok()) {
    std::cerr << "latency_bench: cannot list the Nodes: " << nodes.status().ToString() << "\n";
    return 1;
  }
  Timeline timeline;
  NodeSimulator sim(*simulator, f.ns, (*nodes)["items"]);
  Watcher pods(*watch_pods, kube::resources::kPods, f.ns, [&](const kube::WatchEvent& e, Clock::time_point t) {
    timeline.OnPod(e, t);
    if (e.type != "DELETED") sim.Offer(e.object, t);
  });
  Watcher builds(*watch_builds, kImageBuilds, f.ns,
                 [&](const kube::WatchEvent& e, Clock::time_point t) { timeline.OnImageBuild(e, t); });
  if (!pods.Start() || !builds.Start()) {
    std::cerr << "latency_bench: the watches could not be established\n";
    return 1;
  }
  sim.Start();
  const CreateReport created = CreateAll(*creator, f, timeline);
  const bool all_ready = WaitAllReady(timeline, f.n, deadline);
  sim.Stop();
  pods.Stop();
  builds.Stop();
  PrintReport(f, created, timeline, sim);
  if (!sim.Misplaced().empty()) std::cerr << "latency_bench: pod on a node of another architecture: " << sim.Misplaced()[0] << "\n";
  if (!all_ready) {
    std::cerr << "latency_bench: only " << timeline.Ready() << " of " << f.n << " ImageBuilds were Ready=True within "
              << f.timeout_seconds << " s\n";
    return 1;
  }
  return 0;
}
