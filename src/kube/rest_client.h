// The Kubernetes REST client over http::Transport: authentication, client-side rate limiting,
// typed errors, Retry-After on 429, watch streams.
#pragma once

#include <functional>
#include <memory>

#include "http/http_transport.h"
#include "kube/client.h"
#include "kube/config.h"

namespace ibo::kube {

struct RestClientOptions {
  double qps = 20;  // client-go's defaults are 5/10; an operator with several informers wants more
  int burst = 30;
  std::string user_agent = "imagebuild-operator";
  // A request without an answer for this long fails; a watch may be silent for its timeoutSeconds
  // plus this before it counts as stalled.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  int max_retries_on_429 = 5;
  // Set: an answer the caller discards (CreateWithoutResult, UpdateWithoutResult) is asked for in
  // protobuf, which the server encodes for a fraction of JSON's cost; a resource without protobuf
  // (a custom resource) is answered in JSON, and an error in protobuf is read as JSON would be.
  bool protobuf_discarded_answers = false;
  // Asked before every write (any method but GET) leaves, after the rate limiter's wait; an error
  // refuses the write and is returned as its result. The leader's WriteFence goes here.
  std::function<Status(const std::string& what)> write_gate;
};

// One non-empty line of a watch stream: a JSON WatchEvent. An ERROR event is returned as the API
// error it carries (410 Gone arrives this way). `what` names the watch in errors.
// unparsed: members of the object never built (ListOptions::unparsed_members).
StatusOr<WatchEvent> DecodeWatchEvent(const std::string& line, const std::string& what,
                                      const std::vector<DroppedMember>& unparsed = {});

// transport may be null: one is made from the configuration's TLS settings.
std::unique_ptr<Client> NewRestClient(ClusterConfig config, RestClientOptions options = {},
                                      std::unique_ptr<http::Transport> transport = nullptr);

}  // namespace ibo::kube
