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

// metav1.ListMeta: the list's resourceVersion and continue token.
Status ReadListMeta(std::string_view bytes, ListSummary& summary) {
  return ForEachBytesField(bytes, "a list's metadata", [&](uint32_t n, std::string_view b) {
    if (n == 2) summary.resource_version = ProtoString(b);
    if (n == 3) summary.continue_token = ProtoString(b);
    return Status::Ok();
  });
}

// The envelope's runtime.TypeMeta: apiVersion and kind.
Status ReadTypeMeta(std::string_view bytes, std::string& api_version, std::string& kind) {
  return ForEachBytesField(bytes, "the envelope's type", [&](uint32_t n, std::string_view b) {
    if (n == 1) api_version = ProtoString(b);
    if (n == 2) kind = ProtoString(b);
    return Status::Ok();
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

constexpr uint64_t kMaxStreamedField = 64u << 20;

// A message read field by field from a stream, counting what it consumed.
class StreamedFields {
 public:
  explicit StreamedFields(const ExactReader& read) : read_(read) {}

  // The next field's key; nullopt at a clean end of the body (when `end_ok`).
  StatusOr<std::optional<uint64_t>> Varint(bool end_ok) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      IBO_ASSIGN_OR_RETURN(std::optional<std::string> byte, read_(1));
      if (!byte) {
        if (shift == 0 && end_ok) return std::optional<uint64_t>();
        return Unavailable("the list's body ended inside a field");
      }
      ++consumed_;
      const auto b = static_cast<uint8_t>(byte->front());
      value |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return std::optional<uint64_t>(value);
    }
    return Internal("a varint over 10 bytes in the list");
  }

  StatusOr<std::string> Bytes(uint64_t size) {
    if (size > kMaxStreamedField) return Internal("a field of " + std::to_string(size) + " bytes in the list");
    IBO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, read_(static_cast<size_t>(size)));
    if (!bytes && size > 0) return Unavailable("the list's body ended inside a field");
    consumed_ += size;
    return bytes ? std::move(*bytes) : std::string();
  }

  // A field's value, for a key already read; a length-delimited one is returned, others dropped.
  StatusOr<std::string> Value(uint64_t key) {
    switch (static_cast<WireType>(key & 7)) {
      case WireType::kVarint: IBO_RETURN_IF_ERROR(Varint(false).status()); return std::string();
      case WireType::kFixed64: return Bytes(8);
      case WireType::kFixed32: return Bytes(4);
      case WireType::kBytes: {
        IBO_ASSIGN_OR_RETURN(std::optional<uint64_t> size, Varint(false));
        return Bytes(*size);
      }
    }
    return Internal("a field of wire type " + std::to_string(key & 7) + " in the list");
  }

  uint64_t consumed() const { return consumed_; }

 private:
  const ExactReader& read_;
  uint64_t consumed_ = 0;
};

// The list message itself (the envelope's raw field), `size` bytes: metadata and items.
Status ReadStreamedList(StreamedFields& fields, uint64_t size, const ProtobufObjectDecoder& item,
                        const ListItemSink& sink, ListSummary& summary) {
  const uint64_t end = fields.consumed() + size;
  while (fields.consumed() < end) {
    IBO_ASSIGN_OR_RETURN(std::optional<uint64_t> key, fields.Varint(false));
    const bool bytes_field = (*key & 7) == static_cast<uint64_t>(WireType::kBytes);
    IBO_ASSIGN_OR_RETURN(std::string value, fields.Value(*key));
    if (bytes_field && (*key >> 3) == 1) IBO_RETURN_IF_ERROR(ReadListMeta(value, summary));
    if (bytes_field && (*key >> 3) == 2) {
      IBO_ASSIGN_OR_RETURN(Json decoded, item(value));
      IBO_RETURN_IF_ERROR(sink(std::move(decoded)));
    }
  }
  if (fields.consumed() != end) return Internal("the list's last field runs past the list");
  return Status::Ok();
}

}  // namespace

Status ReadProtobufListStream(const ExactReader& read, const ProtobufObjectDecoder& item, const ListItemSink& sink,
                              ListSummary& summary) {
  IBO_ASSIGN_OR_RETURN(std::optional<std::string> magic, read(kMagic.size()));
  if (!magic || *magic != kMagic) return Internal("not kube-apiserver's protobuf (no \"k8s\\0\" at its start)");
  StreamedFields fields(read);
  while (true) {
    IBO_ASSIGN_OR_RETURN(std::optional<uint64_t> key, fields.Varint(true));
    if (!key) return Status::Ok();
    if (*key == ((2u << 3) | static_cast<uint64_t>(WireType::kBytes))) {  // raw: the list
      IBO_ASSIGN_OR_RETURN(std::optional<uint64_t> size, fields.Varint(false));
      IBO_RETURN_IF_ERROR(ReadStreamedList(fields, *size, item, sink, summary));
      continue;
    }
    IBO_ASSIGN_OR_RETURN(std::string value, fields.Value(*key));
    if (*key != ((1u << 3) | static_cast<uint64_t>(WireType::kBytes))) continue;
    std::string api_version;
    IBO_RETURN_IF_ERROR(ReadTypeMeta(value, api_version, summary.kind));
  }
}

StatusOr<ProtobufEnvelope> OpenProtobufEnvelope(std::string_view body) {
  if (body.substr(0, kMagic.size()) != kMagic) {
    return Internal("not kube-apiserver's protobuf (no \"k8s\\0\" at its start)");
  }
  ProtobufEnvelope envelope;
  IBO_RETURN_IF_ERROR(ForEachBytesField(body.substr(kMagic.size()), "the protobuf envelope",
                                        [&](uint32_t number, std::string_view bytes) {
    if (number == 2) envelope.raw = bytes;
    if (number != 1) return Status::Ok();
    return ReadTypeMeta(bytes, envelope.api_version, envelope.kind);
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
    ListSummary meta;
    IBO_RETURN_IF_ERROR(ReadListMeta(bytes, meta));
    if (!meta.resource_version.empty()) list["metadata"]["resourceVersion"] = meta.resource_version;
    if (!meta.continue_token.empty()) list["metadata"]["continue"] = meta.continue_token;
    return Status::Ok();
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
