// Decodes a core/v1 Pod from its protobuf message straight to what TrimPod keeps of its JSON:
// the pod informer asks kube-apiserver for protobuf, which it encodes once for every watcher
// (the scheduler's too), and the fields nothing here reads are skipped without being decoded.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ibo::api {

using Json = nlohmann::json;

// `message` is the Pod itself (the envelope's raw bytes). The result equals TrimPod applied to the
// pod's JSON, member for member, empty strings and unset values left out as the JSON leaves them.
StatusOr<Json> DecodeTrimmedPod(std::string_view message);

}  // namespace ibo::api
