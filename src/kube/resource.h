// Names a Kubernetes resource type (group, version, plural, scope) and builds its REST paths.
#pragma once

#include <string>

namespace ibo::kube {

struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // v1, v1alpha1, ...
  std::string resource;  // plural: pods, leases
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // /api/v1/namespaces/NS/pods[/NAME[/SUB]] or /apis/G/V/...; an empty namespace lists across all.
  std::string Path(const std::string& ns, const std::string& name = "", const std::string& subresource = "") const;
};

namespace resources {
inline const ResourceType kPods{"", "v1", "pods", true};
inline const ResourceType kNodes{"", "v1", "nodes", false};
inline const ResourceType kConfigMaps{"", "v1", "configmaps", true};
inline const ResourceType kSecrets{"", "v1", "secrets", true};
inline const ResourceType kEvents{"", "v1", "events", true};
inline const ResourceType kNamespaces{"", "v1", "namespaces", false};
inline const ResourceType kServiceAccounts{"", "v1", "serviceaccounts", true};
inline const ResourceType kLeases{"coordination.k8s.io", "v1", "leases", true};
}  // namespace resources

}  // namespace ibo::kube
