// The watch stream's line decoder (kube/rest_client.h): every line kube-apiserver, or whatever
// sits between it and the operator, may send. A decoded event must have the shape the informer
// reads without checking again: a string type and an object with, when present, an object
// metadata whose resourceVersion, when present, is a string.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "kube/rest_client.h"

using ibo::kube::DecodeWatchEvent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto event = DecodeWatchEvent(line, "watch pods");
  if (!event.ok()) return 0;
  if (!event->object.is_object()) std::abort();
  if (event->object.contains("metadata")) {
    const auto& metadata = event->object["metadata"];
    if (!metadata.is_object()) std::abort();
    if (metadata.contains("resourceVersion") && !metadata["resourceVersion"].is_string()) std::abort();
  }
  // What the informer does with it.
  (void)event->object.dump();
  return 0;
}
