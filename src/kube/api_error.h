// Turns a kube-apiserver response (HTTP status and its Status object) into a typed ibo::Status.
#pragma once

#include <string>

#include "common/status.h"
#include "http/http_transport.h"

namespace ibo::kube {

// The error for a non-2xx response; `what` names the request ("get pods/ns/name").
Status ApiErrorFromResponse(const http::Response& response, const std::string& what);
// The error carried by a watch ERROR event's Status object.
Status ApiErrorFromStatusObject(int code, const std::string& status_json, const std::string& what);

}  // namespace ibo::kube
