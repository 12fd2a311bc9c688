// A protobuf watch event of pods (kube/protobuf_envelope.h with api/pod_protobuf.h): every frame
// kube-apiserver, or whatever sits between it and the operator, may send. A decoded event must
// have what the informer and DecodePod read without checking again, and dump as JSON (strings
// that are not UTF-8 would make nlohmann throw).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/object_views.h"
#include "api/pod_protobuf.h"
#include "kube/protobuf_envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string frame(reinterpret_cast<const char*>(data), size);
  auto event = ibo::kube::DecodeProtobufWatchEvent(frame, ibo::api::DecodeTrimmedPod, "watch pods");
  if (!event.ok()) return 0;
  const auto& object = event->object;
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) std::abort();
  const auto& metadata = object["metadata"];
  if (metadata.contains("resourceVersion") && !metadata["resourceVersion"].is_string()) std::abort();
  (void)ibo::api::DecodePod(object);  // what the decision reads
  (void)object.dump();
  return 0;
}
