// The Kubernetes API as the operator uses it: typed errors, any resource, JSON objects.
// Abstract so that controllers are unit-tested with a mock; RestClient is the one implementation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_parse.h"
#include "common/status.h"
#include "kube/resource.h"

namespace ibo::kube {

using Json = nlohmann::json;

// Decodes one object's protobuf message (inside kube-apiserver's envelope) to the JSON the caller
// keeps of it: for the resources a program reads in bulk (pods), where protobuf costs the server
// one encoding shared by every watcher and costs the reader a fraction of parsing JSON.
using ProtobufObjectDecoder = std::function<StatusOr<nlohmann::json>(std::string_view message)>;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;             // page size; 0 = server default (everything)
  std::string continue_token;
  std::string resource_version;  // for watch: where to start
  int timeout_seconds = 0;       // for watch: server-side end of the stream
  bool allow_watch_bookmarks = false;
  // Members of the listed or watched objects that are never built (see ParseJson): what the
  // caller's transform would drop anyway costs neither memory nor allocations.
  std::vector<DroppedMember> unparsed_members;
  // Set: lists and watches ask for protobuf and decode each object with it (unparsed_members
  // is then unused: what the decoder does not read is skipped anyway).
  ProtobufObjectDecoder protobuf_objects;
};

// metadata.managedFields: sent with every object, read by nothing here.
inline const DroppedMember kManagedFieldsMember{"metadata", "managedFields"};

struct DeleteOptions {
  std::string propagation_policy;  // Foreground, Background, Orphan; empty = server default
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  Json object;
};

// What one list answer says of itself besides its items.
struct ListSummary {
  std::string kind;  // e.g. PodList: its items carry no kind of their own
  std::string resource_version;
  std::string continue_token;  // the next page's, when the server paged
};

// Takes each item of a list as it is read; an error it returns ends the list with that error.
using ListItemSink = std::function<Status(Json item)>;

// Items in a list carry no kind or apiVersion of their own; handlers and adapters expect whole
// objects. Sets what is missing from the list's kind (PodList: Pod) and the type's apiVersion.
void CompleteListItem(Json& item, const ResourceType& type, const std::string& list_kind);

// A parsed list's kind, resourceVersion and continue token; a member of another type reads as empty.
ListSummary SummaryOfList(const Json& list);

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event; nullopt when the server ended the stream normally (timeoutSeconds).
  virtual StatusOr<std::optional<WatchEvent>> Next() = 0;
  // Unblocks Next() from another thread.
  virtual void Cancel() = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  virtual StatusOr<Json> Get(const ResourceType& type, const std::string& ns, const std::string& name) = 0;
  // One page; metadata.continue in the result names the next.
  virtual StatusOr<Json> List(const ResourceType& type, const std::string& ns, const ListOptions& options) = 0;
  virtual StatusOr<Json> Create(const ResourceType& type, const std::string& ns, const Json& object) = 0;
  // Replaces the object; its metadata.resourceVersion makes a stale update fail with Conflict.
  virtual StatusOr<Json> Update(const ResourceType& type, const std::string& ns, const Json& object,
                                const std::string& subresource = "") = 0;
  virtual StatusOr<Json> Patch(const ResourceType& type, const std::string& ns, const std::string& name,
                               PatchType patch_type, const Json& patch, const std::string& subresource = "") = 0;
  virtual Status Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) = 0;
  virtual StatusOr<std::unique_ptr<WatchStream>> Watch(const ResourceType& type, const std::string& ns,
                                                       const ListOptions& options) = 0;

  // A create or an update whose answer the caller does not read: the server echoes the whole
  // object back (a pod with its managedFields), and parsing what nobody reads cost a tenth of the
  // operator's CPU. By default these call Create/Update; RestClient skips the parse.
  virtual Status CreateWithoutResult(const ResourceType& type, const std::string& ns, const Json& object) {
    return Create(type, ns, object).status();
  }
  virtual Status UpdateWithoutResult(const ResourceType& type, const std::string& ns, const Json& object,
                                     const std::string& subresource = "") {
    return Update(type, ns, object, subresource).status();
  }

  // One list answer (one page when options.limit is set), each item handed to `sink` as it is
  // read, in the server's order, completed by CompleteListItem (kube-apiserver names the list's
  // kind before its items): a list the server answers whole (resourceVersion=0, from its watch
  // cache, which ignores limit) then never lies in memory whole. By default one List call;
  // RestClient parses the body as it arrives.
  virtual StatusOr<ListSummary> ListEach(const ResourceType& type, const std::string& ns, const ListOptions& options,
                                         const ListItemSink& sink);

  // Every page of a list, items concatenated; the last page's resourceVersion is kept.
  StatusOr<Json> ListAll(const ResourceType& type, const std::string& ns, ListOptions options);
};

}  // namespace ibo::kube
