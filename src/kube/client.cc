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

ListSummary SummaryOfList(const Json& list) {
  const auto string_member = [](const Json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ListSummary summary;
  if (!list.is_object()) return summary;
  summary.kind = string_member(list, "kind");
  if (const auto meta = list.find("metadata"); meta != list.end() && meta->is_object()) {
    summary.resource_version = string_member(*meta, "resourceVersion");
    summary.continue_token = string_member(*meta, "continue");
  }
  return summary;
}

StatusOr<Json> Client::ListAll(const ResourceType& type, const std::string& ns, ListOptions options) {
  Json all;
  Json items = Json::array();
  while (true) {
    IBO_ASSIGN_OR_RETURN(Json page, List(type, ns, options));
    if (page.contains("items") && page["items"].is_array()) {
      for (auto& item : page["items"]) items.push_back(std::move(item));
    }
    const std::string next = SummaryOfList(page).continue_token;
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
  const ListSummary summary = SummaryOfList(page);
  if (const auto items = page.find("items"); items != page.end() && items->is_array()) {
    for (auto& item : *items) {
      CompleteListItem(item, type, summary.kind);
      IBO_RETURN_IF_ERROR(sink(std::move(item)));
    }
  }
  return summary;
}

}  // namespace ibo::kube
