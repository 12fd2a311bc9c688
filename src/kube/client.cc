#include "kube/client.h"

namespace ibo::kube {

StatusOr<Json> Client::ListAll(const ResourceType& type, const std::string& ns, ListOptions options) {
  Json all;
  Json items = Json::array();
  while (true) {
    IBO_ASSIGN_OR_RETURN(Json page, List(type, ns, options));
    if (page.contains("items") && page["items"].is_array()) {
      for (auto& item : page["items"]) items.push_back(std::move(item));
    }
    std::string next;
    if (page.contains("metadata") && page["metadata"].is_object()) next = page["metadata"].value("continue", "");
    all = std::move(page);
    if (next.empty()) break;
    options.continue_token = next;
  }
  all["items"] = std::move(items);
  if (all.contains("metadata")) all["metadata"].erase("continue");
  return all;
}

}  // namespace ibo::kube
