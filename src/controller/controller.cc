#include "controller/controller.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/log_format.h"
#include "common/time_format.h"
#include "controller/reconcile.h"

namespace ibo::controller {

using kube::Json;

namespace {

constexpr const char* kControllerName = "imagebuild";

kube::WorkQueueObserver QueueObserver(server::Metrics* m) {
  if (!m) return {};
  m->Declare("workqueue_depth", "gauge", "Current depth of workqueue");
  m->Declare("workqueue_adds_total", "counter", "Total number of adds handled by workqueue");
  m->Declare("workqueue_retries_total", "counter", "Total number of retries handled by workqueue");
  const server::Labels name{{"name", kControllerName}};
  return {[m, name](size_t depth) { m->Set("workqueue_depth", name, static_cast<double>(depth)); },
          [m, name] { m->Add("workqueue_adds_total", name); },
          [m, name] { m->Add("workqueue_retries_total", name); }};
}

double SecondsBetween(const std::string& from, const std::string& to) {
  auto a = ParseTime(from);
  auto b = ParseTime(to);
  if (!a.ok() || !b.ok()) return 0;
  return std::chrono::duration<double>(*b - *a).count();
}

}  // namespace

ImageBuildController::ImageBuildController(kube::Client& client, kube::EventRecorder& recorder, ControllerOptions options)
    : client_(client), recorder_(recorder), options_(std::move(options)), queue_({}, QueueObserver(options_.metrics)) {
  if (auto* m = options_.metrics) {
    m->Declare("controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
    m->Declare("controller_runtime_reconcile_errors_total", "counter", "Total number of reconciliation errors per controller");
    m->Declare("controller_runtime_reconcile_time_seconds", "histogram", "Length of time per reconciliation per controller",
               server::Metrics::ReconcileBuckets());
    m->Declare("imagebuild_builds_total", "counter", "Finished build attempts by platform and result");
    m->Declare("imagebuild_build_duration_seconds", "histogram", "Duration of build attempts by platform",
               server::Metrics::BuildBuckets());
    m->Declare("imagebuild_merge_duration_seconds", "histogram", "Duration of merge pods", server::Metrics::BuildBuckets());
  }
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    kube::InformerOptions ib_options;
    ib_options.namespace_ = ns;
    ib_options.resync_period = options_.resync_period;
    auto ib = std::make_unique<kube::Informer>(client_, kube::resources::kImageBuilds, ib_options);
    ib->AddHandlers({[this](const Json& o) { queue_.Add(kube::ObjectKey(o)); },
                     [this](const Json&, const Json& o) { queue_.Add(kube::ObjectKey(o)); },
                     [this](const Json& o) { queue_.Add(kube::ObjectKey(o)); }});
    imagebuilds_.push_back(std::move(ib));

    kube::InformerOptions owned;
    owned.namespace_ = ns;
    owned.label_selector = labels::kRole;  // only what this operator made
    for (auto* list : {&pods_, &config_maps_}) {
      const auto& type = list == &pods_ ? kube::resources::kPods : kube::resources::kConfigMaps;
      auto informer = std::make_unique<kube::Informer>(client_, type, owned);
      informer->AddHandlers({[this](const Json& o) { EnqueueOwner(o); },
                             [this](const Json&, const Json& o) { EnqueueOwner(o); },
                             [this](const Json& o) { EnqueueOwner(o); }});
      list->push_back(std::move(informer));
    }
  }
  nodes_ = std::make_unique<kube::Informer>(client_, kube::resources::kNodes, kube::InformerOptions{});
  // A node appearing or becoming Ready can unblock a platform that waits for one.
  nodes_->AddHandlers({[this](const Json&) { EnqueueUnfinished(); },
                       [this](const Json& a, const Json& b) {
                         if (a.value("status", Json::object()) != b.value("status", Json::object()) ||
                             a["metadata"].value("labels", Json::object()) != b["metadata"].value("labels", Json::object())) {
                           EnqueueUnfinished();
                         }
                       },
                       [this](const Json&) { EnqueueUnfinished(); }});
}

ImageBuildController::~ImageBuildController() { Stop(); }

void ImageBuildController::EnqueueOwner(const Json& object) {
  const Json& meta = object["metadata"];
  for (const auto& ref : meta.value("ownerReferences", Json::array())) {
    if (ref.value("kind", "") == "ImageBuild" && ref.value("controller", false)) {
      queue_.Add(meta.value("namespace", "") + "/" + ref.value("name", ""));
    }
  }
}

void ImageBuildController::EnqueueUnfinished() {
  for (const auto& informer : imagebuilds_) {
    for (const auto& ib : informer->cache().List()) {
      const std::string phase = ib->value("status", Json::object()).value("phase", "");
      if (phase != "Succeeded" && phase != "Failed") queue_.Add(kube::ObjectKey(*ib));
    }
  }
}

void ImageBuildController::StartInformers() {
  for (auto* list : {&imagebuilds_, &pods_, &config_maps_}) {
    for (auto& i : *list) i->Start();
  }
  nodes_->Start();
}

bool ImageBuildController::HasSynced() const {
  for (const auto* list : {&imagebuilds_, &pods_, &config_maps_}) {
    for (const auto& i : *list) if (!i->HasSynced()) return false;
  }
  return nodes_->HasSynced();
}

bool ImageBuildController::WaitForSync(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!HasSynced()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void ImageBuildController::StartWorkers() {
  std::lock_guard lock(lifecycle_mu_);
  if (stopped_ || !workers_.empty()) return;
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Worker(); });
}

void ImageBuildController::Stop() {
  std::lock_guard lock(lifecycle_mu_);
  if (stopped_.exchange(true)) return;
  queue_.ShutDown();
  for (auto& w : workers_) if (w.joinable()) w.join();
  for (auto* list : {&imagebuilds_, &pods_, &config_maps_}) {
    for (auto& i : *list) i->Stop();
  }
  nodes_->Stop();
}

void ImageBuildController::Worker() {
  while (auto key = queue_.Get()) {
    std::optional<std::chrono::milliseconds> requeue;
    const auto started = std::chrono::steady_clock::now();
    Status s = ReconcileKey(*key, &requeue);
    if (auto* m = options_.metrics) {
      const server::Labels controller{{"controller", kControllerName}};
      m->Observe("controller_runtime_reconcile_time_seconds", controller,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      m->Add("controller_runtime_reconcile_total",
             {{"controller", kControllerName}, {"result", !s.ok() ? "error" : requeue ? "requeue_after" : "success"}});
      if (!s.ok()) m->Add("controller_runtime_reconcile_errors_total", controller);
    }
    if (!s.ok()) {
      const bool conflict = s.code() == StatusCode::kConflict;
      spdlog::log(conflict ? spdlog::level::debug : spdlog::level::warn, "reconcile {}: {}", *key, s.ToString());
      queue_.AddRateLimited(*key);
    } else {
      queue_.Forget(*key);
      if (requeue) queue_.AddAfter(*key, *requeue);
    }
    queue_.Done(*key);
  }
}

std::vector<Json> ImageBuildController::Collect(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                                                const std::string& index, const std::string& value) const {
  std::vector<Json> out;
  for (const auto& i : informers) {
    for (const auto& object : i->cache().ByIndex(index, value)) out.push_back(*object);
  }
  return out;
}

Status ImageBuildController::ReconcileKey(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after) {
  const ScopedLogObject log_object(key);
  // Last line of defence: whatever an object holds, a worker never dies of it.
  try {
    return ReconcileCached(key, requeue_after);
  } catch (const std::exception& e) {
    spdlog::error("reconcile {}: {}", key, e.what());
    return Internal(std::string("unexpected content: ") + e.what());
  }
}

Status ImageBuildController::ReconcileCached(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after) {
  kube::ObjectPtr cached;
  for (const auto& i : imagebuilds_) {
    if ((cached = i->cache().Get(key))) break;
  }
  if (!cached) {  // deleted: the garbage collector removes what it owned
    std::lock_guard lock(admitted_mu_);
    admitted_.erase(key);
    return Status::Ok();
  }
  std::optional<Json> ib = *cached;  // the decision's own copy  // deleted: the garbage collector removes what it owned
  const Json& meta = (*ib)["metadata"];
  const std::string ns = meta.value("namespace", "");
  const std::string uid = meta.value("uid", "");
  if (!ib->contains("kind")) (*ib)["kind"] = "ImageBuild";

  ReconcileInput input;
  input.imagebuild = *ib;
  input.pods = Collect(pods_, kube::indexes::kOwnerUid, uid);
  input.config_maps = Collect(config_maps_, kube::indexes::kOwnerUid, uid);
  for (const auto& node : nodes_->cache().List()) input.nodes.push_back(*node);
  input.now = std::chrono::system_clock::now();
  input.settings = &options_.settings;
  // Admissions to the concurrency cap are decided one at a time, counting both what the cache
  // shows and what this process admitted but the cache may not show yet.
  std::unique_lock<std::mutex> admission;
  if (options_.settings.max_concurrent_builds > 0 && !IsActive(*ib) &&
      ib->value("status", Json::object()).value("phase", "") != "Succeeded") {
    admission = std::unique_lock(admission_mu_);
  }
  {
    std::set<std::string> active;
    for (const auto& i : imagebuilds_) {
      for (const auto& other : i->cache().List()) {
        if (IsActive(*other)) active.insert(kube::ObjectKey(*other));
      }
    }
    std::lock_guard lock(admitted_mu_);
    active.insert(admitted_.begin(), admitted_.end());
    active.erase(key);
    input.other_active_builds = static_cast<int>(active.size());
  }
  for (const auto& name : ReferencedSecrets(*ib)) {
    // Existence, type and key names only: the data is dropped here and goes nowhere.
    auto secret = client_.Get(kube::resources::kSecrets, ns, name);
    SecretFacts facts;
    if (secret.ok()) {
      facts.exists = true;
      facts.type = secret->value("type", "Opaque");
      if (secret->contains("data") && (*secret)["data"].is_object()) {
        for (const auto& item : (*secret)["data"].items()) facts.keys.push_back(item.key());
      }
    } else if (secret.status().code() != StatusCode::kNotFound) {
      return secret.status();
    }
    input.secrets[name] = facts;
  }

  Actions actions = Reconcile(input);

  if (actions.apply_config_map) {
    Json cm = *actions.apply_config_map;
    auto created = client_.Create(kube::resources::kConfigMaps, ns, cm);
    if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
      const std::string name = cm["metadata"]["name"];
      auto existing = client_.Get(kube::resources::kConfigMaps, ns, name);
      if (!existing.ok()) return existing.status();
      bool ours = false;
      for (const auto& ref : (*existing)["metadata"].value("ownerReferences", Json::array())) {
        ours = ours || (ref.value("uid", "") == uid && ref.value("controller", false));
      }
      if (!ours) {
        // Never overwrite what someone else made; say so where the user looks.
        const std::string why = "ConfigMap " + name + " exists and is not owned by this ImageBuild; rename or delete it";
        recorder_.Record(*ib, "Warning", "ConfigMapConflict", why);
        return FailedPrecondition(why);
      }
      // An update with the resourceVersion read above: a concurrent change conflicts and is retried.
      // A lagging cache may ask for what the server already holds: no write then.
      if (existing->value("data", Json::object()) != cm["data"]) {
        Json refreshed = *existing;
        refreshed["data"] = cm["data"];
        auto updated = client_.Update(kube::resources::kConfigMaps, ns, refreshed);
        if (!updated.ok()) return updated.status();
      }
    } else if (!created.ok()) {
      return created.status();
    }
  }
  for (const auto& name : actions.delete_pods) {
    Status s = client_.Delete(kube::resources::kPods, ns, name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    spdlog::info("{}: deleted pod {}", key, name);
  }
  for (const auto& pod : actions.create_pods) {
    auto created = client_.Create(kube::resources::kPods, ns, pod);
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      recorder_.Record(*ib, "Warning", "PodCreateFailed", created.status().message());
      return created.status();
    }
    spdlog::info("{}: created {} pod {}", key, pod["metadata"]["labels"].value(labels::kRole, ""),
                 pod["metadata"]["name"].get<std::string>());
  }
  if (actions.status) {
    Json updated = *ib;
    updated["status"] = *actions.status;
    auto result = client_.Update(kube::resources::kImageBuilds, ns, updated, "status");
    if (!result.ok()) return result.status();
    RecordBuildMetrics(ib->value("status", Json::object()), *actions.status);
    {
      std::lock_guard lock(admitted_mu_);
      if (IsActive(updated)) admitted_.insert(key);
      else admitted_.erase(key);
    }
    // A slot under the concurrency cap came free: queued builds need not wait for their requeue.
    if (IsActive(*ib) && !IsActive(updated) && options_.settings.max_concurrent_builds > 0) EnqueueUnfinished();
    spdlog::info("{}: status phase {}", key, actions.status->value("phase", ""));
  }
  // Only now: a status write that lost a conflict is decided again, events and all.
  for (const auto& e : actions.events) {
    spdlog::info("{}: {} {}: {}", key, e.type, e.reason, e.message);
    recorder_.Record(*ib, e.type, e.reason, e.message);
  }
  if (requeue_after) *requeue_after = actions.requeue_after;
  return Status::Ok();
}

void ImageBuildController::RecordBuildMetrics(const Json& before, const Json& after) {
  auto* m = options_.metrics;
  if (!m) return;
  std::map<std::string, Json> old_platforms;
  for (const auto& p : before.value("platforms", Json::array())) old_platforms[p.value("platform", "")] = p;
  for (const auto& p : after.value("platforms", Json::array())) {
    const std::string platform = p.value("platform", "");
    const Json old = old_platforms.count(platform) ? old_platforms[platform] : Json::object();
    const bool same_build = before.value("buildID", "") == after.value("buildID", "");
    const std::string phase = p.value("phase", "");
    if (same_build && p.value("attempt", 1) > old.value("attempt", 1)) {
      m->Add("imagebuild_builds_total", {{"platform", platform}, {"result", "failed"}});  // retried
    } else if ((phase == "Succeeded" || phase == "Failed") && old.value("phase", "") != phase) {
      m->Add("imagebuild_builds_total", {{"platform", platform}, {"result", phase == "Succeeded" ? "succeeded" : "failed"}});
      const std::string from = p.value("attemptStartTime", "");
      if (!from.empty()) {
        m->Observe("imagebuild_build_duration_seconds", {{"platform", platform}},
                   SecondsBetween(from, p.value("completionTime", FormatTime(std::chrono::system_clock::now()))));
      }
    }
  }
  const std::string phase = after.value("phase", "");
  if (before.value("phase", "") == "Merging" && (phase == "Succeeded" || phase == "Failed") &&
      after.contains("mergeStartTime")) {
    m->Observe("imagebuild_merge_duration_seconds", {}, SecondsBetween(after["mergeStartTime"], after.value("completionTime", "")));
  }
}

}  // namespace ibo::controller
