// gMock stand-in for http::Transport, to check what the registry and Kubernetes clients send.
#pragma once

#include <gmock/gmock.h>

#include "http/http_transport.h"

namespace ibo::http {

class MockTransport : public Transport {
 public:
  MOCK_METHOD(StatusOr<Response>, Send, (const Request& request), (override));
  MOCK_METHOD(StatusOr<std::unique_ptr<ResponseStream>>, Stream, (const Request& request), (override));
};

}  // namespace ibo::http
