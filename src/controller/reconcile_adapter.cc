#include "controller/reconcile_adapter.h"

#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/json_fields.h"
#include "kube/object_cache.h"

namespace ibo::controller {

using kube::Json;

namespace {

// A string member of an object member, read in place: Json::value() would copy the whole outer
// member (a status, a spec) at every watch event and reconcile.
std::string MemberString(const Json& o, const char* outer, const char* inner) {
  return api::json_fields::Str(api::json_fields::Field(o, outer), inner);
}

}  // namespace

ReconcileAdapter::ReconcileAdapter(kube::Client& client, kube::EventRecorder& recorder, ControllerObserver& observer,
                                   const OperatorSettings& settings, AdapterListers listers)
    : client_(client), recorder_(recorder), observer_(observer), settings_(settings), listers_(listers) {}

Status ReconcileAdapter::Reconcile(const std::string& key, std::optional<std::chrono::milliseconds>* requeue_after) {
  kube::ObjectPtr cached = listers_.imagebuilds.Get(key);
  if (!cached) {  // deleted: the garbage collector removes what it owned
    std::lock_guard lock(admitted_mu_);
    admitted_.erase(key);
    merging_.erase(key);
    std::lock_guard unseen(unseen_mu_);
    unseen_writes_.erase(key);
    return Status::Ok();
  }
  if (auto wait = AwaitingOwnWrite(key, *cached)) {
    if (requeue_after) *requeue_after = *wait;  // the watch event of the write comes first, as a rule
    return Status::Ok();
  }
  // Events and the status write need kind and apiVersion, which a list's items may lack; the
  // cached object is read in place otherwise (a copy per reconcile was a hot spot).
  const Json* object = cached.get();
  Json typed;
  if (!object->contains("kind") || !object->contains("apiVersion")) {
    typed = *cached;
    if (!typed.contains("kind")) typed["kind"] = api::kKind;
    if (!typed.contains("apiVersion")) typed["apiVersion"] = api::kApiVersion;
    object = &typed;
  }
  std::unique_lock<std::mutex> admission, merge_turn;
  auto input = Gather(key, *object, admission, merge_turn);
  if (!input.ok()) return input.status();
  const Actions actions = controller::Reconcile(*input);
  IBO_RETURN_IF_ERROR(Apply(key, *object, input->imagebuild.status, actions));
  if (requeue_after) *requeue_after = actions.requeue_after;
  return Status::Ok();
}

std::optional<std::chrono::milliseconds> ReconcileAdapter::AwaitingOwnWrite(const std::string& key,
                                                                            const Json& cached) {
  std::lock_guard lock(unseen_mu_);
  auto it = unseen_writes_.find(key);
  if (it == unseen_writes_.end()) return std::nullopt;
  const auto waited = std::chrono::steady_clock::now() - it->second.written;
  if (MemberString(cached, "metadata", "resourceVersion") != it->second.replaced_version || waited >= kOwnWriteWait) {
    unseen_writes_.erase(it);
    return std::nullopt;
  }
  return std::chrono::ceil<std::chrono::milliseconds>(kOwnWriteWait - waited);
}

StatusOr<ReconcileInput> ReconcileAdapter::Gather(const std::string& key, const Json& object,
                                                  std::unique_lock<std::mutex>& admission,
                                                  std::unique_lock<std::mutex>& merge_turn) {
  ReconcileInput input;
  input.imagebuild = api::DecodeImageBuild(object);
  const auto& meta = input.imagebuild.metadata;
  for (const auto& pod : listers_.pods.ByIndex(kube::indexes::kOwnerUid, meta.uid)) input.pods.push_back(api::DecodePod(*pod));
  for (const auto& cm : listers_.config_maps.ByIndex(kube::indexes::kOwnerUid, meta.uid)) {
    input.config_maps.push_back(api::DecodeConfigMap(*cm));
  }
  for (const auto& node : listers_.nodes.List()) input.nodes.push_back(api::DecodeNode(*node));
  input.now = std::chrono::system_clock::now();
  input.settings = &settings_;
  // Admissions to the concurrency cap are decided one at a time, counting both what the cache
  // shows and what this process admitted but the cache may not show yet.
  const auto& status = input.imagebuild.status;
  if (settings_.max_concurrent_builds > 0 && !IsActive(status) && status.phase != api::BuildPhase::kSucceeded) {
    admission = std::unique_lock(admission_mu_);
  }
  CountActive(key, input);
  // Likewise the turns of merges into one repository, when another ImageBuild shares it.
  if (SharesRepository(key, input.imagebuild.spec.image)) merge_turn = std::unique_lock(merge_turn_mu_);
  FindRepositoryMerge(key, input);
  if (input.imagebuild.spec_error.ok()) IBO_RETURN_IF_ERROR(AddSecretFacts(meta.namespace_, input));
  return input;
}

namespace {

// An index value from one field of a cached ImageBuild; none when the object is malformed there
// (the decision then sees it as inactive, as the decoder does).
kube::IndexFunc OneValue(std::function<std::string(const Json&)> read) {
  return [read = std::move(read)](const Json& o) -> std::vector<std::string> {
    try {
      std::string v = read(o);
      if (!v.empty()) return {std::move(v)};
    } catch (const Json::exception&) {
    }
    return {};
  };
}

std::string Phase(const Json& o) { return MemberString(o, "status", "phase"); }
std::string Image(const Json& o) { return MemberString(o, "spec", "image"); }

}  // namespace

std::vector<std::pair<std::string, kube::IndexFunc>> ImageBuildIndexes() {
  return {
      {imagebuild_indexes::kActive, OneValue([](const Json& o) {
         api::ImageBuildStatus status;  // IsActive reads the phase only
         status.phase = api::ParseBuildPhase(Phase(o));
         return IsActive(status) ? std::string("1") : std::string();
       })},
      {imagebuild_indexes::kRepository, OneValue([](const Json& o) { return Phase(o) == "Failed" ? "" : Image(o); })},
      {imagebuild_indexes::kMerging, OneValue([](const Json& o) { return Phase(o) == "Merging" ? Image(o) : ""; })},
      {imagebuild_indexes::kUnfinished, OneValue([](const Json& o) {
         const std::string phase = Phase(o);
         return phase == "Succeeded" || phase == "Failed" ? "" : "1";
       })},
  };
}

void ReconcileAdapter::CountActive(const std::string& key, ReconcileInput& input) {
  // Only the concurrency cap reads the count: without a cap nothing is counted.
  if (settings_.max_concurrent_builds <= 0) return;
  std::set<std::string> active;
  for (auto& other : listers_.imagebuilds.KeysByIndex(imagebuild_indexes::kActive, "1")) active.insert(std::move(other));
  {
    std::lock_guard lock(admitted_mu_);
    active.insert(admitted_.begin(), admitted_.end());
  }
  active.erase(key);
  input.other_active_builds = static_cast<int>(active.size());
}

bool ReconcileAdapter::SharesRepository(const std::string& key, const std::string& repository) const {
  if (repository.empty()) return false;
  for (const auto& other : listers_.imagebuilds.KeysByIndex(imagebuild_indexes::kRepository, repository)) {
    if (other != key) return true;
  }
  return false;
}

void ReconcileAdapter::FindRepositoryMerge(const std::string& key, ReconcileInput& input) {
  const std::string& repository = input.imagebuild.spec.image;
  if (repository.empty()) return;
  // The cache's merges into this repository, overlaid by what this process started (or ended)
  // ahead of the cache; the first other key in order waits this one.
  std::set<std::string> merging;
  std::lock_guard lock(admitted_mu_);
  for (const auto& k : listers_.imagebuilds.KeysByIndex(imagebuild_indexes::kMerging, repository)) {
    auto ahead = merging_.find(k);
    if (ahead == merging_.end() || ahead->second == repository) merging.insert(k);
  }
  for (const auto& [k, repo] : merging_) {
    if (repo == repository) merging.insert(k);
  }
  merging.erase(key);
  if (!merging.empty()) input.repository_merging = *merging.begin();
}

Status ReconcileAdapter::AddSecretFacts(const std::string& ns, ReconcileInput& input) {
  for (const auto& name : ReferencedSecrets(input.imagebuild.spec)) {
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
  return Status::Ok();
}

Status ReconcileAdapter::ApplyConfigMap(const Json& owner, const std::string& uid, const Json& wanted) {
  const std::string ns = owner["metadata"].value("namespace", "");
  auto created = client_.Create(kube::resources::kConfigMaps, ns, wanted);
  if (created.ok()) return Status::Ok();
  if (created.status().code() != StatusCode::kAlreadyExists) return created.status();
  const std::string name = wanted["metadata"]["name"];
  auto existing = client_.Get(kube::resources::kConfigMaps, ns, name);
  if (!existing.ok()) return existing.status();
  const auto decision = DecideExistingConfigMap(api::DecodeConfigMap(*existing), wanted, uid);
  switch (decision.kind) {
    case ExistingConfigMapDecision::Kind::kConflict:
      recorder_.Record(owner, "Warning", "ConfigMapConflict", decision.message);
      return FailedPrecondition(decision.message);
    case ExistingConfigMapDecision::Kind::kUpdate: {
      // An update with the resourceVersion read above: a concurrent change conflicts and is retried.
      Json refreshed = *existing;
      refreshed["data"] = wanted["data"];
      return client_.Update(kube::resources::kConfigMaps, ns, refreshed).status();
    }
    case ExistingConfigMapDecision::Kind::kLeave: break;
  }
  return Status::Ok();
}

// The pods of one decision are created at once (a build's platforms, each its own pod): the build
// then waits for one create's answer, not for the sum of them, and its platforms start together.
// Every request still passes the client's QPS limiter, so this adds no load a burst would not.
std::vector<Status> ReconcileAdapter::CreateAll(const std::string& ns, const std::vector<Json>& pods) {
  std::vector<Status> results(pods.size());
  std::vector<std::thread> others;
  for (size_t i = 1; i < pods.size(); ++i) {
    try {
      others.emplace_back([this, &ns, &pods, &results, i] {
        results[i] = client_.CreateWithoutResult(kube::resources::kPods, ns, pods[i]);
      });
    } catch (const std::system_error&) {  // no thread to be had: this one creates it after the first
      results[i] = client_.CreateWithoutResult(kube::resources::kPods, ns, pods[i]);
    }
  }
  if (!pods.empty()) results[0] = client_.CreateWithoutResult(kube::resources::kPods, ns, pods[0]);
  for (auto& thread : others) thread.join();
  return results;
}

Status ReconcileAdapter::CreatePods(const std::string& key, const Json& object, const std::vector<Json>& pods) {
  const std::vector<Status> results = CreateAll(object["metadata"].value("namespace", ""), pods);
  Status first_failure;
  for (size_t i = 0; i < pods.size(); ++i) {
    const std::string name = pods[i]["metadata"].value("name", "");
    if (results[i].ok() || results[i].code() == StatusCode::kAlreadyExists) {
      spdlog::info("{}: created {} pod {}", key, pods[i]["metadata"]["labels"].value(api::labels::kRole, ""), name);
    } else if (first_failure.ok()) {
      first_failure = results[i];
    } else {
      spdlog::warn("{}: pod {} not created either: {}", key, name, results[i].message());
    }
  }
  // One event for the first refusal: a quota refuses every pod of the build with the same words.
  if (!first_failure.ok()) recorder_.Record(object, "Warning", "PodCreateFailed", first_failure.message());
  return first_failure;
}

Status ReconcileAdapter::Apply(const std::string& key, const Json& object, const api::ImageBuildStatus& before,
                               const Actions& actions) {
  const std::string ns = object["metadata"].value("namespace", "");
  if (actions.apply_config_map) {
    IBO_RETURN_IF_ERROR(ApplyConfigMap(object, object["metadata"].value("uid", ""), *actions.apply_config_map));
  }
  IBO_RETURN_IF_ERROR(CreatePods(key, object, actions.create_pods));
  for (const auto& name : actions.delete_pods) {
    Status s = client_.Delete(kube::resources::kPods, ns, name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    spdlog::info("{}: deleted pod {}", key, name);
  }
  if (actions.status) IBO_RETURN_IF_ERROR(WriteStatus(key, object, before, *actions.status));
  // Only now: a status write that lost a conflict is decided again, events and all.
  for (const auto& e : actions.events) {
    spdlog::info("{}: {} {}: {}", key, e.type, e.reason, e.message);
    recorder_.Record(object, e.type, e.reason, e.message);
  }
  for (const auto& o : actions.outcomes) observer_.OutcomeRecorded(o);
  return Status::Ok();
}

Status ReconcileAdapter::WriteStatus(const std::string& key, const Json& object, const api::ImageBuildStatus& before,
                                     const api::ImageBuildStatus& after) {
  Json updated = Json::object();  // the object without its old status, which would be copied only to be replaced
  for (const auto& [member, value] : object.items()) {
    if (member != "status") updated[member] = value;
  }
  updated["status"] = after;
  IBO_RETURN_IF_ERROR(
      client_.UpdateWithoutResult(kImageBuildResource, object["metadata"].value("namespace", ""), updated, "status"));
  if (std::string version = object["metadata"].value("resourceVersion", ""); !version.empty()) {
    std::lock_guard lock(unseen_mu_);
    unseen_writes_[key] = {std::move(version), std::chrono::steady_clock::now()};
  }
  {
    std::lock_guard lock(admitted_mu_);
    if (IsActive(after)) admitted_.insert(key);
    else admitted_.erase(key);
    if (after.phase == api::BuildPhase::kMerging) merging_[key] = Image(object);
    else merging_.erase(key);
  }
  // A slot under the concurrency cap came free: queued builds need not wait for their requeue.
  if (IsActive(before) && !IsActive(after) && settings_.max_concurrent_builds > 0 && on_slot_freed_) on_slot_freed_();
  spdlog::info("{}: status phase {}", key, api::BuildPhaseName(after.PhaseOrPending()));
  return Status::Ok();
}

}  // namespace ibo::controller
