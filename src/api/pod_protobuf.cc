#include "api/pod_protobuf.h"

#include <chrono>

#include "common/protobuf_wire.h"
#include "common/time_format.h"

namespace ibo::api {
namespace {

// The field numbers of k8s.io/api/core/v1 and apimachinery's meta/v1 generated.proto (1.20).
namespace pod { enum : uint32_t { kMetadata = 1, kSpec = 2, kStatus = 3 }; }
namespace meta {
enum : uint32_t { kName = 1, kNamespace = 3, kUid = 5, kResourceVersion = 6, kGeneration = 7,
                  kCreationTimestamp = 8, kDeletionTimestamp = 9, kLabels = 11, kOwnerReferences = 13 };
}
namespace owner { enum : uint32_t { kKind = 1, kName = 3, kUid = 4, kApiVersion = 5, kController = 6, kBlockOwnerDeletion = 7 }; }
namespace spec { enum : uint32_t { kNodeName = 10 }; }
namespace status {
enum : uint32_t { kPhase = 1, kConditions = 2, kMessage = 3, kReason = 4, kContainerStatuses = 8, kInitContainerStatuses = 10 };
}
namespace condition { enum : uint32_t { kType = 1, kStatus = 2, kReason = 5 }; }
namespace container_status { enum : uint32_t { kName = 1, kState = 2 }; }
namespace state { enum : uint32_t { kWaiting = 1, kRunning = 2, kTerminated = 3 }; }
namespace waiting { enum : uint32_t { kReason = 1, kMessage = 2 }; }
namespace terminated { enum : uint32_t { kExitCode = 1, kReason = 3, kMessage = 4 }; }

// ForEachProtoField, its fields' errors annotated with `what`: they name the path to the field.
template <typename OnField>
Status ForEachField(std::string_view message, const char* what, OnField on_field) {
  return ForEachProtoField(message, what, [&](const ProtoField& f) { return on_field(f).Annotate(what); });
}

Status Expect(const ProtoField& f, WireType type) {
  if (f.type == type) return Status::Ok();
  return InvalidArgument("field " + std::to_string(f.number) + " has wire type " +
                         std::to_string(static_cast<int>(f.type)) + ", not " + std::to_string(static_cast<int>(type)));
}

// Sets json[key] to the string unless it is empty, which the JSON leaves out (omitempty).
Status PutString(Json& json, const char* key, const ProtoField& f) {
  IBO_RETURN_IF_ERROR(Expect(f, WireType::kBytes));
  if (!f.bytes.empty()) json[key] = ProtoString(f.bytes);
  return Status::Ok();
}

// Decodes an embedded message with `decode` into json[key] (or appended to it, `append`).
template <typename Decode>
Status PutMessage(Json& json, const char* key, const ProtoField& f, Decode decode, bool append = false) {
  IBO_RETURN_IF_ERROR(Expect(f, WireType::kBytes));
  auto value = decode(f.bytes);
  if (!value.ok()) return value.status();
  if (append) json[key].push_back(std::move(*value));
  else json[key] = std::move(*value);
  return Status::Ok();
}

// The last second a SystemTime holds (2262-04-11T23:47:16Z): its clock counts nanoseconds in 64 bits.
constexpr int64_t kLastSecond = std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count();

// A metav1.Time as the JSON writes it: whole seconds; the zero time is null, and so is one before
// 1970 or after 2262 (kube-apiserver sets these times itself: such a value is damage, and refusing
// the pod would stop the informer at it).
StatusOr<Json> DecodeTime(std::string_view message) {
  int64_t seconds = 0;
  IBO_RETURN_IF_ERROR(ForEachField(message, "a time", [&](const ProtoField& f) {
    if (f.number != 1) return Status::Ok();
    IBO_RETURN_IF_ERROR(Expect(f, WireType::kVarint));
    seconds = static_cast<int64_t>(f.varint);
    return Status::Ok();
  }));
  if (seconds <= 0 || seconds > kLastSecond) return Json(nullptr);
  return Json(FormatTime(SystemTime(std::chrono::seconds(seconds))));
}

StatusOr<Json> DecodeOwnerReference(std::string_view message) {
  Json ref = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "an owner reference", [&](const ProtoField& f) {
    switch (f.number) {
      case owner::kKind: return PutString(ref, "kind", f);
      case owner::kName: return PutString(ref, "name", f);
      case owner::kUid: return PutString(ref, "uid", f);
      case owner::kApiVersion: return PutString(ref, "apiVersion", f);
      case owner::kController:
      case owner::kBlockOwnerDeletion:  // pointers: present only when set
        IBO_RETURN_IF_ERROR(Expect(f, WireType::kVarint));
        ref[f.number == owner::kController ? "controller" : "blockOwnerDeletion"] = f.varint != 0;
        return Status::Ok();
      default: return Status::Ok();
    }
  }));
  return ref;
}

// A map<string, string> entry (key 1, value 2) into `map`.
Status DecodeMapEntry(std::string_view message, Json& map) {
  std::string key, value;
  IBO_RETURN_IF_ERROR(ForEachField(message, "a map entry", [&](const ProtoField& f) {
    if (f.number > 2) return Status::Ok();
    IBO_RETURN_IF_ERROR(Expect(f, WireType::kBytes));
    (f.number == 1 ? key : value) = ProtoString(f.bytes);
    return Status::Ok();
  }));
  map[key] = value;
  return Status::Ok();
}

StatusOr<Json> DecodeMetadata(std::string_view message) {
  Json m = Json::object();
  m["creationTimestamp"] = nullptr;  // the JSON always has it
  IBO_RETURN_IF_ERROR(ForEachField(message, "metadata", [&](const ProtoField& f) {
    switch (f.number) {
      case meta::kName: return PutString(m, "name", f);
      case meta::kNamespace: return PutString(m, "namespace", f);
      case meta::kUid: return PutString(m, "uid", f);
      case meta::kResourceVersion: return PutString(m, "resourceVersion", f);
      case meta::kGeneration:
        IBO_RETURN_IF_ERROR(Expect(f, WireType::kVarint));
        if (f.varint != 0) m["generation"] = static_cast<int64_t>(f.varint);
        return Status::Ok();
      case meta::kCreationTimestamp: return PutMessage(m, "creationTimestamp", f, DecodeTime);
      case meta::kDeletionTimestamp: return PutMessage(m, "deletionTimestamp", f, DecodeTime);
      case meta::kLabels:
        IBO_RETURN_IF_ERROR(Expect(f, WireType::kBytes));
        return DecodeMapEntry(f.bytes, m["labels"]);
      case meta::kOwnerReferences: return PutMessage(m, "ownerReferences", f, DecodeOwnerReference, true);
      default: return Status::Ok();
    }
  }));
  return m;
}

StatusOr<Json> DecodeSpec(std::string_view message) {
  Json s = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "spec", [&](const ProtoField& f) {
    return f.number == spec::kNodeName ? PutString(s, "nodeName", f) : Status::Ok();
  }));
  return s;
}

// A condition's type, status and reason; DecodeStatus keeps only PodScheduled, as TrimPod does.
StatusOr<Json> DecodeCondition(std::string_view message) {
  Json c = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "a condition", [&](const ProtoField& f) {
    switch (f.number) {
      case condition::kType: return PutString(c, "type", f);
      case condition::kStatus: return PutString(c, "status", f);
      case condition::kReason: return PutString(c, "reason", f);
      default: return Status::Ok();
    }
  }));
  return c;
}

StatusOr<Json> DecodeWaiting(std::string_view message) {
  Json w = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "state.waiting", [&](const ProtoField& f) {
    if (f.number == waiting::kReason) return PutString(w, "reason", f);
    if (f.number == waiting::kMessage) return PutString(w, "message", f);
    return Status::Ok();
  }));
  return w;
}

StatusOr<Json> DecodeTerminated(std::string_view message) {
  Json t = Json::object();
  t["exitCode"] = 0;  // not omitempty in the JSON
  IBO_RETURN_IF_ERROR(ForEachField(message, "state.terminated", [&](const ProtoField& f) {
    switch (f.number) {
      case terminated::kExitCode:
        IBO_RETURN_IF_ERROR(Expect(f, WireType::kVarint));
        t["exitCode"] = static_cast<int32_t>(static_cast<uint32_t>(f.varint));
        return Status::Ok();
      case terminated::kReason: return PutString(t, "reason", f);
      case terminated::kMessage: return PutString(t, "message", f);
      default: return Status::Ok();
    }
  }));
  return t;
}

// Of running only that it runs is kept (as {}), as the JSON view keeps it.
StatusOr<Json> DecodeState(std::string_view message) {
  Json s = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "state", [&](const ProtoField& f) {
    if (f.number == state::kWaiting) return PutMessage(s, "waiting", f, DecodeWaiting);
    if (f.number == state::kRunning) {
      IBO_RETURN_IF_ERROR(Expect(f, WireType::kBytes));
      s["running"] = Json::object();
      return Status::Ok();
    }
    if (f.number == state::kTerminated) return PutMessage(s, "terminated", f, DecodeTerminated);
    return Status::Ok();
  }));
  return s;
}

StatusOr<Json> DecodeContainerStatus(std::string_view message) {
  Json c = Json::object();
  c["state"] = Json::object();  // not a pointer: the JSON always has it
  IBO_RETURN_IF_ERROR(ForEachField(message, "a container status", [&](const ProtoField& f) {
    if (f.number == container_status::kName) return PutString(c, "name", f);
    if (f.number == container_status::kState) return PutMessage(c, "state", f, DecodeState);
    return Status::Ok();
  }));
  return c;
}

StatusOr<Json> DecodeStatus(std::string_view message) {
  Json s = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "status", [&](const ProtoField& f) -> Status {
    switch (f.number) {
      case status::kPhase: return PutString(s, "phase", f);
      case status::kMessage: return PutString(s, "message", f);
      case status::kReason: return PutString(s, "reason", f);
      case status::kContainerStatuses: return PutMessage(s, "containerStatuses", f, DecodeContainerStatus, true);
      case status::kInitContainerStatuses:
        return PutMessage(s, "initContainerStatuses", f, DecodeContainerStatus, true);
      case status::kConditions: {
        IBO_RETURN_IF_ERROR(PutMessage(s, "conditions", f, DecodeCondition, true));
        Json& added = s["conditions"].back();
        if (added.value("type", "") != "PodScheduled") s["conditions"].erase(s["conditions"].size() - 1);
        return Status::Ok();
      }
      default: return Status::Ok();
    }
  }));
  return s;
}

}  // namespace

StatusOr<Json> DecodeTrimmedPod(std::string_view message) {
  Json pod = Json::object();
  pod["metadata"] = {{"creationTimestamp", nullptr}};  // as the JSON of a pod without metadata
  pod["spec"] = Json::object();
  pod["status"] = Json::object();
  IBO_RETURN_IF_ERROR(ForEachField(message, "a pod", [&](const ProtoField& f) {
    switch (f.number) {
      case pod::kMetadata: return PutMessage(pod, "metadata", f, DecodeMetadata);
      case pod::kSpec: return PutMessage(pod, "spec", f, DecodeSpec);
      case pod::kStatus: return PutMessage(pod, "status", f, DecodeStatus);
      default: return Status::Ok();
    }
  }));
  return pod;
}

}  // namespace ibo::api
