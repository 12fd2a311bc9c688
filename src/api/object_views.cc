#include "api/object_views.h"

#include "api/json_fields.h"
#include "api/names.h"

namespace ibo::api {
namespace {

using namespace json_fields;

ContainerView DecodeContainer(const Json& cs) {
  ContainerView c;
  c.name = Str(cs, "name");
  const Json& state = Field(cs, "state");
  const Json& waiting = Field(state, "waiting");
  c.waiting_reason = Str(waiting, "reason");
  c.waiting_message = Str(waiting, "message");
  c.running = Field(state, "running").is_object();
  const Json& terminated = Field(state, "terminated");
  c.terminated = terminated.is_object();
  if (Field(terminated, "exitCode").is_number_integer()) c.exit_code = Field(terminated, "exitCode").get<int>();
  c.terminated_reason = Str(terminated, "reason");
  c.terminated_message = Str(terminated, "message");
  return c;
}

std::vector<ContainerView> DecodeContainers(const Json& list) {
  std::vector<ContainerView> out;
  if (list.is_array()) for (const auto& cs : list) out.push_back(DecodeContainer(cs));
  return out;
}

bool IsUnschedulable(const Json& conditions) {
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (Str(c, "type") == "PodScheduled" && Str(c, "status") == "False" && Str(c, "reason") == "Unschedulable") return true;
  }
  return false;
}

}  // namespace

const ContainerView* PodView::Container(const std::string& container_name) const {
  for (const auto& c : containers) if (c.name == container_name) return &c;
  return nullptr;
}

bool PodView::Started() const {
  if (phase == "Running") return true;
  for (const auto* list : {&init_containers, &containers}) {
    for (const auto& c : *list) if (c.running || c.terminated) return true;
  }
  return false;
}

bool ConfigMapView::ControlledBy(const std::string& uid) const {
  for (const auto& o : owners) if (o.uid == uid && o.controller) return true;
  return false;
}

PodView DecodePod(const Json& pod) {
  PodView v;
  const Json& meta = Field(pod, "metadata");
  const ObjectMeta m = DecodeObjectMeta(meta);
  v.name = m.name;
  v.terminating = m.deleting;
  v.created = m.creation_timestamp;
  auto label = [&](const char* key) { auto it = m.labels.find(key); return it == m.labels.end() ? "" : it->second; };
  v.build_id = label(labels::kBuildId);
  v.role = label(labels::kRole);
  v.node_name = Str(Field(pod, "spec"), "nodeName");
  const Json& status = Field(pod, "status");
  v.phase = Str(status, "phase");
  v.reason = Str(status, "reason");
  v.message = Str(status, "message");
  v.unschedulable = IsUnschedulable(Field(status, "conditions"));
  v.init_containers = DecodeContainers(Field(status, "initContainerStatuses"));
  v.containers = DecodeContainers(Field(status, "containerStatuses"));
  return v;
}

namespace {

// Keeps only the named members of an object (when it is one); what else it held goes.
void KeepOnly(Json& object, std::initializer_list<const char*> keys) {
  if (!object.is_object()) return;
  Json kept = Json::object();
  for (const char* key : keys) {
    if (auto it = object.find(key); it != object.end()) kept[key] = std::move(*it);
  }
  object = std::move(kept);
}

void TrimContainerStatuses(Json& status, const char* field) {
  auto list = status.find(field);
  if (list == status.end() || !list->is_array()) return;
  for (auto& cs : *list) {
    KeepOnly(cs, {"name", "state"});
    auto state = cs.find("state");
    if (state == cs.end() || !state->is_object()) continue;
    KeepOnly(*state, {"waiting", "running", "terminated"});
    if (auto r = state->find("running"); r != state->end()) *r = Json::object();  // that it runs, not since when
    if (auto w = state->find("waiting"); w != state->end()) KeepOnly(*w, {"reason", "message"});
    if (auto t = state->find("terminated"); t != state->end()) KeepOnly(*t, {"exitCode", "reason", "message"});
  }
}

// Keeps only the status's condition of `type`, and of it only `keys`.
void TrimConditions(Json& status, const char* type, std::initializer_list<const char*> keys) {
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return;
  Json kept = Json::array();
  for (auto& c : *conditions) {
    if (!c.is_object() || c.value("type", Json()) != type) continue;
    KeepOnly(c, keys);
    kept.push_back(std::move(c));
  }
  *conditions = std::move(kept);
}

}  // namespace

void TrimPod(Json& pod) {
  KeepOnly(pod, {"apiVersion", "kind", "metadata", "spec", "status"});
  if (auto meta = pod.find("metadata"); meta != pod.end()) {
    KeepOnly(*meta, {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "ownerReferences",
                     "creationTimestamp", "deletionTimestamp"});
  }
  if (auto spec = pod.find("spec"); spec != pod.end()) KeepOnly(*spec, {"nodeName"});
  if (auto status = pod.find("status"); status != pod.end() && status->is_object()) {
    KeepOnly(*status, {"phase", "reason", "message", "conditions", "initContainerStatuses", "containerStatuses"});
    TrimContainerStatuses(*status, "initContainerStatuses");
    TrimContainerStatuses(*status, "containerStatuses");
    TrimConditions(*status, "PodScheduled", {"type", "status", "reason"});  // is the pod unschedulable?
  }
}

std::vector<DroppedMember> PodMembersNeverRead() {
  return {{"metadata", "managedFields"}, {"metadata", "annotations"}, {"spec", "containers"},
          {"spec", "initContainers"},    {"spec", "volumes"},         {"spec", "affinity"},
          {"spec", "tolerations"},       {"spec", "securityContext"}, {"spec", "nodeSelector"},
          {"status", "podIPs"},          {"status", "hostIP"}};
}

void TrimImageBuild(Json& imagebuild) {
  auto meta = imagebuild.find("metadata");
  if (meta == imagebuild.end() || !meta->is_object()) return;
  meta->erase("managedFields");
  if (auto annotations = meta->find("annotations"); annotations != meta->end() && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  }
}

bool SchedulingChanged(const Json& before, const Json& after) {
  const NodeView a = DecodeNode(before), b = DecodeNode(after);
  return a.os != b.os || a.arch != b.arch || a.unschedulable != b.unschedulable || a.ready != b.ready;
}

void TrimNode(Json& node) {
  KeepOnly(node, {"apiVersion", "kind", "metadata", "spec", "status"});
  if (auto meta = node.find("metadata"); meta != node.end()) {
    KeepOnly(*meta, {"name", "uid", "resourceVersion", "labels", "creationTimestamp", "deletionTimestamp"});
  }
  if (auto spec = node.find("spec"); spec != node.end()) KeepOnly(*spec, {"unschedulable"});
  if (auto status = node.find("status"); status != node.end() && status->is_object()) {
    KeepOnly(*status, {"conditions"});
    TrimConditions(*status, "Ready", {"type", "status"});  // without the heartbeat times
  }
}

std::vector<DroppedMember> NodeMembersNeverRead() {
  return {{"metadata", "managedFields"}, {"metadata", "annotations"}, {"status", "images"},
          {"status", "addresses"},       {"status", "nodeInfo"},      {"status", "capacity"},
          {"status", "allocatable"},     {"status", "volumesAttached"}, {"status", "volumesInUse"},
          {"status", "daemonEndpoints"}, {"spec", "taints"},          {"spec", "podCIDRs"}};
}

NodeView DecodeNode(const Json& node) {
  NodeView v;
  const ObjectMeta m = DecodeObjectMeta(Field(node, "metadata"));
  v.name = m.name;
  if (auto it = m.labels.find("kubernetes.io/os"); it != m.labels.end()) v.os = it->second;
  if (auto it = m.labels.find("kubernetes.io/arch"); it != m.labels.end()) v.arch = it->second;
  v.unschedulable = Bool(Field(node, "spec"), "unschedulable");
  const Json& conditions = Field(Field(node, "status"), "conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      if (Str(c, "type") == "Ready") { v.ready = Str(c, "status") == "True"; break; }
    }
  }
  return v;
}

ConfigMapView DecodeConfigMap(const Json& config_map) {
  ConfigMapView v;
  const Json& meta = Field(config_map, "metadata");
  v.name = Str(meta, "name");
  const Json& owners = Field(meta, "ownerReferences");
  if (owners.is_array()) {
    for (const auto& o : owners) {
      v.owners.push_back({Str(o, "uid"), Bool(o, "controller")});
    }
  }
  v.data = StringMap(Field(config_map, "data"));
  return v;
}

}  // namespace ibo::api
