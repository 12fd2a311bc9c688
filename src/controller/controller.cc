#include "controller/controller.h"

#include <spdlog/spdlog.h>

#include "api/object_views.h"
#include "api/pod_protobuf.h"
#include "common/log_format.h"
#include "kube/object_cache.h"

namespace ibo::controller {

using kube::Json;

namespace {

kube::WorkQueueObserver QueueObserver(ControllerObserver& o) {
  return {[&o](size_t depth) { o.QueueDepth(depth); }, [&o] { o.QueueAdded(); }, [&o] { o.QueueRetried(); }};
}

}  // namespace

ImageBuildController::ImageBuildController(kube::Client& client, kube::EventRecorder& recorder, ControllerOptions options)
    : options_(std::move(options)),
      observer_(options_.observer ? *options_.observer : null_observer_),
      queue_({}, QueueObserver(observer_)),
      informers_(client) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  std::vector<const kube::Lister*> imagebuilds, pods, config_maps;
  for (const auto& ns : namespaces) {
    kube::InformerOptions ib_options;
    ib_options.namespace_ = ns;
    ib_options.resync_period = options_.resync_period;
    ib_options.min_watch_timeout = options_.min_watch_timeout;
    ib_options.storage = kube::CacheStorage::kPacked;
    ib_options.transform = api::TrimImageBuild;
    ib_options.unparsed_members = {kube::kManagedFieldsMember};
    auto& ib = informers_.For(kImageBuildResource, ib_options);
    for (auto& [name, func] : ImageBuildIndexes()) ib.AddIndex(name, std::move(func));
    kube::EventHandlers enqueue;
    enqueue.on_change = [this](const Json& o) { queue_.Add(kube::ObjectKey(o)); };
    ib.AddHandlers(std::move(enqueue));
    imagebuilds.push_back(&ib.cache());
    pods.push_back(WatchOwned(kube::resources::kPods, ns));
    config_maps.push_back(WatchOwned(kube::resources::kConfigMaps, ns));
  }
  imagebuilds_ = std::make_unique<kube::UnionLister>(imagebuilds);
  pods_ = std::make_unique<kube::UnionLister>(pods);
  config_maps_ = std::make_unique<kube::UnionLister>(config_maps);
  kube::InformerOptions node_options;
  node_options.min_watch_timeout = options_.min_watch_timeout;
  node_options.unparsed_members = api::NodeMembersNeverRead();
  node_options.transform = api::TrimNode;
  nodes_ = &informers_.For(kube::resources::kNodes, node_options);
  // A node appearing or becoming Ready can unblock a platform that waits for one.
  nodes_->AddHandlers({[this](const Json&) { EnqueueUnfinished(); },
                       [this](const Json& a, const Json& b) {
                         if (api::SchedulingChanged(a, b)) EnqueueUnfinished();
                       },
                       [this](const Json&) { EnqueueUnfinished(); }});
  adapter_ = std::make_unique<ReconcileAdapter>(client, recorder, observer_, options_.settings,
                                                AdapterListers{*imagebuilds_, *pods_, *config_maps_, nodes_->cache()});
  adapter_->OnSlotFreed([this] { EnqueueUnfinished(); });
}

ImageBuildController::~ImageBuildController() { Stop(); }

const kube::Lister* ImageBuildController::WatchOwned(const kube::ResourceType& type, const std::string& ns) {
  kube::InformerOptions owned;
  owned.namespace_ = ns;
  owned.label_selector = api::labels::kRole;  // only what this operator made
  owned.min_watch_timeout = options_.min_watch_timeout;
  owned.storage = kube::CacheStorage::kPacked;
  // A page of 500 build pods is 5 MB of JSON, held with its parsed tree while it is stored: half
  // that page costs a few more requests at start and lowers the peak.
  owned.list_page_size = 250;
  owned.unparsed_members = type.resource == kube::resources::kPods.resource
                               ? api::PodMembersNeverRead()
                               : std::vector<DroppedMember>{kube::kManagedFieldsMember};
  owned.transform = type.resource == kube::resources::kPods.resource ? kube::Transform(api::TrimPod)
                                                                     : kube::Transform(kube::DropManagedFields);
  // Decoded straight to what TrimPod keeps; kube-apiserver encodes each pod once for every
  // protobuf watcher, where each JSON watcher costs it an encoding of its own.
  if (type.resource == kube::resources::kPods.resource && options_.pods_in_protobuf) {
    owned.protobuf_objects = api::DecodeTrimmedPod;
  }
  auto& informer = informers_.For(type, owned);
  kube::EventHandlers enqueue;
  enqueue.on_change = [this](const Json& o) { EnqueueOwner(o); };
  informer.AddHandlers(std::move(enqueue));
  return &informer.cache();
}

void ImageBuildController::EnqueueOwner(const Json& object) {
  const Json& meta = object["metadata"];
  for (const auto& ref : meta.value("ownerReferences", Json::array())) {
    if (ref.value("kind", "") == api::kKind && ref.value("controller", false)) {
      queue_.Add(meta.value("namespace", "") + "/" + ref.value("name", ""));
    }
  }
}

void ImageBuildController::EnqueueUnfinished() {
  for (const auto& key : imagebuilds_->KeysByIndex(imagebuild_indexes::kUnfinished, "1")) queue_.Add(key);
}

void ImageBuildController::StartInformers() { informers_.Start(); }

bool ImageBuildController::HasSynced() const { return informers_.HasSynced(); }

bool ImageBuildController::WaitForSync(std::chrono::milliseconds timeout) { return informers_.WaitForSync(timeout); }

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
  informers_.Stop();
}

void ImageBuildController::Worker() {
  while (auto key = queue_.Get()) {
    std::optional<std::chrono::milliseconds> requeue;
    const auto started = std::chrono::steady_clock::now();
    Status s = ReconcileKey(*key, &requeue);
    using Result = ControllerObserver::Result;
    observer_.ReconcileDone(!s.ok() ? Result::kError : requeue ? Result::kRequeueAfter : Result::kSuccess,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
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

Status ImageBuildController::ReconcileKey(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after) {
  const ScopedLogObject log_object(key);
  // Last line of defence: whatever an object holds, a worker never dies of it.
  try {
    return adapter_->Reconcile(key, requeue_after);
  } catch (const std::exception& e) {
    spdlog::error("reconcile {}: {}", key, e.what());
    return Internal(std::string("unexpected content: ") + e.what());
  }
}

}  // namespace ibo::controller
