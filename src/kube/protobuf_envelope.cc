#include "kube/protobuf_envelope.h"

#include "common/protobuf_wire.h"
#include "kube/api_error.h"

namespace ibo::kube {
namespace {

constexpr std::string_view kMagic("k8s\0", 4);

// Every field of `message` that is length-delimited, by number (no field read here is a number).
// `on_bytes(number, bytes)` returns a Status: the first error ends the walk.
template <typename OnBytes>
Status ForEachBytesField(std::string_view message, const char* what, OnBytes on_bytes) {
  return ForEachProtoField(message, what, [&](const ProtoField& f) {
    return f.type == WireType::kBytes ? on_bytes(f.number, f.bytes) : Status::Ok();
  });
}

// metav1.Status, as the JSON Status object ApiErrorFromStatusObject reads.
StatusOr<Json> DecodeStatusObject(std::string_view message) {
  Json status = {{"kind", "Status"}, {"apiVersion", "v1"}};
  IBO_RETURN_IF_ERROR(ForEachProtoField(message, "a Status", [&](const ProtoField& f) {
    if (f.number == 6 && f.type == WireType::kVarint) status["code"] = static_cast<int32_t>(f.varint);
    if (f.type != WireType::kBytes) return Status::Ok();
    if (f.number == 2) status["status"] = ProtoString(f.bytes);
    if (f.number == 3) status["message"] = ProtoString(f.bytes);
    if (f.number == 4) status["reason"] = ProtoString(f.bytes);
    return Status::Ok();
  }));
  return status;
}

}  // namespace

StatusOr<ProtobufEnvelope> OpenProtobufEnvelope(std::string_view body) {
  if (body.substr(0, kMagic.size()) != kMagic) {
    return Internal("not kube-apiserver's protobuf (no \"k8s\\0\" at its start)");
  }
  ProtobufEnvelope envelope;
  IBO_RETURN_IF_ERROR(ForEachBytesField(body.substr(kMagic.size()), "the protobuf envelope",
                                        [&](uint32_t number, std::string_view bytes) {
    if (number == 2) envelope.raw = bytes;
    if (number != 1) return Status::Ok();
    return ForEachBytesField(bytes, "the envelope's type", [&](uint32_t n, std::string_view b) {
      if (n == 1) envelope.api_version = ProtoString(b);
      if (n == 2) envelope.kind = ProtoString(b);
      return Status::Ok();
    });
  }));
  return envelope;
}

StatusOr<Json> DecodeProtobufStatus(std::string_view body) {
  IBO_ASSIGN_OR_RETURN(ProtobufEnvelope envelope, OpenProtobufEnvelope(body));
  return DecodeStatusObject(envelope.raw);
}

StatusOr<Json> DecodeProtobufList(std::string_view body, const ProtobufObjectDecoder& item) {
  IBO_ASSIGN_OR_RETURN(ProtobufEnvelope envelope, OpenProtobufEnvelope(body));
  Json list = {{"apiVersion", envelope.api_version}, {"kind", envelope.kind},
               {"metadata", Json::object()}, {"items", Json::array()}};
  IBO_RETURN_IF_ERROR(ForEachBytesField(envelope.raw, "a list", [&](uint32_t number, std::string_view bytes) {
    if (number == 2) {
      IBO_ASSIGN_OR_RETURN(Json decoded, item(bytes));
      list["items"].push_back(std::move(decoded));
    }
    if (number != 1) return Status::Ok();
    return ForEachBytesField(bytes, "a list's metadata", [&](uint32_t n, std::string_view b) {
      if (n == 2) list["metadata"]["resourceVersion"] = ProtoString(b);
      if (n == 3 && !b.empty()) list["metadata"]["continue"] = ProtoString(b);
      return Status::Ok();
    });
  }));
  return list;
}

StatusOr<WatchEvent> DecodeProtobufWatchEvent(std::string_view frame, const ProtobufObjectDecoder& object,
                                              const std::string& what) {
  WatchEvent event;
  std::string_view raw;
  bool has_object = false;
  Status read = ForEachBytesField(frame, "a watch event", [&](uint32_t number, std::string_view bytes) {
    if (number == 1) event.type = ProtoString(bytes);
    if (number != 2) return Status::Ok();
    has_object = true;
    return ForEachBytesField(bytes, "a watch event's object", [&](uint32_t n, std::string_view b) {
      if (n == 1) raw = b;
      return Status::Ok();
    });
  });
  if (!read.ok()) return Internal(what + ": unreadable watch event: " + read.message());
  if (event.type.empty() || !has_object) return Internal(what + ": watch event without a type and an object");
  auto envelope = OpenProtobufEnvelope(raw);
  if (!envelope.ok()) return Internal(what + ": " + event.type + " event: " + envelope.status().message());
  if (event.type == "ERROR") {
    // 410 Gone arrives this way when the watch's resourceVersion was compacted away.
    auto status = DecodeStatusObject(envelope->raw);
    if (!status.ok()) return Internal(what + ": unreadable ERROR event: " + status.status().message());
    return ApiErrorFromStatusObject(0, status->dump(), what);
  }
  auto decoded = object(envelope->raw);
  if (!decoded.ok()) return Internal(what + ": " + event.type + " event: " + decoded.status().message());
  event.object = std::move(*decoded);
  event.object["apiVersion"] = envelope->api_version;
  event.object["kind"] = envelope->kind;
  return event;
}

}  // namespace ibo::kube
