#include "controller/controller.h"

#include <spdlog/spdlog.h>

#include "controller/reconcile.h"

namespace ibo::controller {

using kube::Json;

ImageBuildController::ImageBuildController(kube::Client& client, kube::EventRecorder& recorder, ControllerOptions options)
    : client_(client), recorder_(recorder), options_(std::move(options)) {
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
  nodes_->AddHandlers({[this](const Json&) { EnqueueAllActive(); },
                       [this](const Json& a, const Json& b) {
                         if (a.value("status", Json::object()) != b.value("status", Json::object()) ||
                             a["metadata"].value("labels", Json::object()) != b["metadata"].value("labels", Json::object())) {
                           EnqueueAllActive();
                         }
                       },
                       [this](const Json&) { EnqueueAllActive(); }});
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

void ImageBuildController::EnqueueAllActive() {
  for (const auto& informer : imagebuilds_) {
    for (const auto& ib : informer->cache().List()) {
      const std::string phase = ib.value("status", Json::object()).value("phase", "");
      if (phase != "Succeeded" && phase != "Failed") queue_.Add(kube::ObjectKey(ib));
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
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Worker(); });
}

void ImageBuildController::Stop() {
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
    Status s = ReconcileKey(*key, &requeue);
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
    auto part = i->cache().ByIndex(index, value);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Status ImageBuildController::ReconcileKey(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after) {
  std::optional<Json> ib;
  for (const auto& i : imagebuilds_) {
    if ((ib = i->cache().Get(key))) break;
  }
  if (!ib) return Status::Ok();  // deleted: the garbage collector removes what it owned
  const Json& meta = (*ib)["metadata"];
  const std::string ns = meta.value("namespace", "");
  const std::string uid = meta.value("uid", "");
  if (!ib->contains("kind")) (*ib)["kind"] = "ImageBuild";

  ReconcileInput input;
  input.imagebuild = *ib;
  input.pods = Collect(pods_, kube::indexes::kOwnerUid, uid);
  input.config_maps = Collect(config_maps_, kube::indexes::kOwnerUid, uid);
  input.nodes = nodes_->cache().List();
  input.now = std::chrono::system_clock::now();
  input.settings = &options_.settings;
  for (const auto& i : imagebuilds_) {
    for (const auto& other : i->cache().List()) {
      if (kube::ObjectKey(other) != key && IsActive(other)) ++input.other_active_builds;
    }
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
      auto patched = client_.Patch(kube::resources::kConfigMaps, ns, cm["metadata"]["name"], kube::PatchType::kMerge,
                                   {{"data", cm["data"]}});
      if (!patched.ok()) return patched.status();
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
  for (const auto& e : actions.events) {
    spdlog::info("{}: {} {}: {}", key, e.type, e.reason, e.message);
    recorder_.Record(*ib, e.type, e.reason, e.message);
  }
  if (actions.status) {
    Json updated = *ib;
    updated["status"] = *actions.status;
    auto result = client_.Update(kube::resources::kImageBuilds, ns, updated, "status");
    if (!result.ok()) return result.status();
    spdlog::info("{}: status phase {}", key, actions.status->value("phase", ""));
  }
  if (requeue_after) *requeue_after = actions.requeue_after;
  return Status::Ok();
}

}  // namespace ibo::controller
