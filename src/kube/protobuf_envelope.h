// kube-apiserver's protobuf framing: the envelope every object travels in (the magic "k8s\0",
// then a runtime.Unknown naming its kind), lists of objects, and watch events.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kube/client.h"

namespace ibo::kube {

// Protobuf's media type, and the Accept headers of a list and of a watch (each event a 4-byte
// big-endian length and then its bytes) that ask for it and take JSON from a server without it.
inline constexpr const char* kProtobufMediaType = "application/vnd.kubernetes.protobuf";
inline constexpr const char* kProtobufListAccept = "application/vnd.kubernetes.protobuf, application/json";
inline constexpr const char* kProtobufWatchAccept =
    "application/vnd.kubernetes.protobuf;stream=watch, application/json";

struct ProtobufEnvelope {
  std::string api_version;
  std::string kind;
  std::string_view raw;  // the object's own message; a view into the body given
};

StatusOr<ProtobufEnvelope> OpenProtobufEnvelope(std::string_view body);

// A list body as the JSON list shape the informer reads: {"apiVersion", "kind",
// "metadata": {"resourceVersion", "continue"}, "items": [each decoded by `item`]}.
StatusOr<Json> DecodeProtobufList(std::string_view body, const ProtobufObjectDecoder& item);

// Reads the next `size` bytes of a body; nullopt when it ended before any of them.
using ExactReader = std::function<StatusOr<std::optional<std::string>>(size_t size)>;

// A list body read as it arrives, each item decoded by `item` and handed to `sink` before the next
// is read: an unpaged list of 20,000 pods never lies in memory whole. `summary` is filled as its
// fields arrive (the kind, which kube-apiserver writes first, before any item). An item over
// 64 MiB fails the list.
Status ReadProtobufListStream(const ExactReader& read, const ProtobufObjectDecoder& item, const ListItemSink& sink,
                              ListSummary& summary);

// An error's body in protobuf (a Status in its envelope) as the JSON Status object
// ApiErrorFromStatusObject reads.
StatusOr<Json> DecodeProtobufStatus(std::string_view body);

// One watch event (a frame without its length). The object gets apiVersion and kind from its
// envelope, as a JSON event's has them; an ERROR event is returned as the error it carries.
StatusOr<WatchEvent> DecodeProtobufWatchEvent(std::string_view frame, const ProtobufObjectDecoder& object,
                                              const std::string& what);

}  // namespace ibo::kube
