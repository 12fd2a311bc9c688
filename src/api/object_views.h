// Small read-only views of the Pod, Node and ConfigMap fields the reconcile decision reads,
// decoded once at the edge so that the decision never walks raw JSON.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/imagebuild.h"
#include "common/json_parse.h"

namespace ibo::api {

struct ContainerView {
  std::string name;
  std::string waiting_reason;  // state.waiting
  std::string waiting_message;
  bool running = false;     // state.running
  bool terminated = false;  // state.terminated
  int exit_code = 0;
  std::string terminated_reason;
  std::string terminated_message;  // the termination message
};

struct PodView {
  std::string name;
  std::string build_id;  // labels
  std::string role;
  std::string phase;  // Pending, Running, Succeeded, Failed, Unknown
  std::string node_name;
  bool terminating = false;
  Timestamp created;
  bool unschedulable = false;  // PodScheduled=False with reason Unschedulable
  std::string reason, message;  // status.reason and status.message
  std::vector<ContainerView> init_containers;
  std::vector<ContainerView> containers;

  bool Finished() const { return phase == "Succeeded" || phase == "Failed"; }
  // A container (an init container included) has run: the kubelet started the pod.
  bool Started() const;
  const ContainerView* Container(const std::string& container_name) const;
};

struct NodeView {
  std::string name;
  std::string os, arch;  // kubernetes.io/os and kubernetes.io/arch labels
  bool unschedulable = false;
  bool ready = false;
};

struct OwnerRef {
  std::string uid;
  bool controller = false;
};

struct ConfigMapView {
  std::string name;
  std::vector<OwnerRef> owners;
  std::map<std::string, std::string> data;

  bool ControlledBy(const std::string& uid) const;
};

PodView DecodePod(const Json& pod);
// Cuts a pod down to what DecodePod, the owner index and the controller's handlers read (its
// metadata's identity, labels and owners, spec.nodeName, the status without images and ids): the
// pod cache keeps a tenth of what the API sends.
void TrimPod(Json& pod);
// Members of a pod that TrimPod drops and that a parser need not build (metadata.managedFields,
// the container specs, volumes, ...): the pod informer's lists and watches skip them.
std::vector<DroppedMember> PodMembersNeverRead();
// Drops from an ImageBuild what no reader needs: managedFields and kubectl's last-applied copy.
void TrimImageBuild(Json& imagebuild);
// Whether two versions of a Node differ in what scheduling onto it depends on (labels os/arch,
// unschedulable, Ready): heartbeats change the status every few seconds and nothing else.
bool SchedulingChanged(const Json& before, const Json& after);
NodeView DecodeNode(const Json& node);
// Cuts a Node down to what DecodeNode reads (name, labels, spec.unschedulable, the Ready
// condition): a kubelet's Node carries its images, addresses, capacity and volumes, tens of KB on
// a busy node, and the node cache holds every Node of the cluster.
void TrimNode(Json& node);
// Members of a Node that TrimNode drops and that a parser need not build.
std::vector<DroppedMember> NodeMembersNeverRead();
ConfigMapView DecodeConfigMap(const Json& config_map);

}  // namespace ibo::api
