#include "kube/client.h"

namespace ibo::kube {

void CompleteListItem(Json& item, const ResourceType& type, const std::string& list_kind) {
  if (!item.is_object()) return;
  if (!item.contains("apiVersion")) item["apiVersion"] = type.ApiVersion();
  constexpr std::string_view kList = "List";
  if (!item.contains("kind") && list_kind.size() > kList.size() &&
      std::string_view(list_kind).substr(list_kind.size() - kList.size()) == kList) {
    item["kind"] = list_kind.substr(0, list_kind.size() - kList.size());
  }
}

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

StatusOr<ListSummary> Client::ListEach(const ResourceType& type, const std::string& ns, const ListOptions& options,
                                       const ListItemSink& sink) {
  IBO_ASSIGN_OR_RETURN(Json page, List(type, ns, options));
  ListSummary summary;
  summary.kind = page.value("kind", "");
  if (const auto meta = page.find("metadata"); meta != page.end() && meta->is_object()) {
    summary.resource_version = meta->value("resourceVersion", "");
    summary.continue_token = meta->value("continue", "");
  }
  if (const auto items = page.find("items"); items != page.end() && items->is_array()) {
    for (auto& item : *items) {
      CompleteListItem(item, type, summary.kind);
      IBO_RETURN_IF_ERROR(sink(std::move(item)));
    }
  }
  return summary;
}

}  // namespace ibo::kube
