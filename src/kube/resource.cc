#include "kube/resource.h"

namespace ibo::kube {

std::string ResourceType::Path(const std::string& ns, const std::string& name, const std::string& subresource) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) path += "/namespaces/" + ns;
  path += "/" + resource;
  if (!name.empty()) path += "/" + name;
  if (!subresource.empty()) path += "/" + subresource;
  return path;
}

}  // namespace ibo::kube
