// A small HTTP server for the operator's probes and metrics (cpprestsdk's listener stays behind
// this header). Only GET is answered; the handler maps a path to a response.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace ibo::server {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const std::string& path)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  virtual void Stop() = 0;
};

// address: ":8080", "127.0.0.1:8081" or "[::1]:9000"; the server listens until Stop() or
// destruction. A bad address or a port in use is an error value.
StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(const std::string& address, HttpHandler handler);

// Sizes the thread pool behind the listener; a program calls it before StartHttpServer, and after
// it set the signal mask the pool's threads must inherit (they start here). cpprestsdk's default
// is 40 threads: on a small node waking and parking them cost a quarter of the operator's CPU.
void SizeThreadPool(size_t threads);
// One thread per core, at least 2 and at most 8: the pool only answers probes and scrapes.
size_t DefaultThreadPoolSize();

}  // namespace ibo::server
