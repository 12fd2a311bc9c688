// The one implementation of HttpServer, on cpprestsdk's http_listener.
#include "server/http_server.h"

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <thread>

namespace ibo::server {
namespace {

namespace wh = web::http;

class CpprestServer : public HttpServer {
 public:
  CpprestServer(std::unique_ptr<wh::experimental::listener::http_listener> listener)
      : listener_(std::move(listener)) {}
  ~CpprestServer() override { Stop(); }
  void Stop() override {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (const std::exception&) {
      // Closing a listener that failed is not worth reporting at shutdown.
    }
    listener_.reset();
  }

 private:
  std::unique_ptr<wh::experimental::listener::http_listener> listener_;
};

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(const std::string& address, HttpHandler handler) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) {
    return InvalidArgument("bind address \"" + address + "\" is not HOST:PORT or :PORT");
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("bind address \"" + address + "\": the port is not a number");
  }
  if (host.empty()) host = "0.0.0.0";
  try {
    auto listener = std::make_unique<wh::experimental::listener::http_listener>(
        web::uri("http://" + host + ":" + port));
    listener->support([handler](wh::http_request request) {
      try {
        if (request.method() != wh::methods::GET && request.method() != wh::methods::HEAD) {
          request.reply(wh::status_codes::MethodNotAllowed).wait();
          return;
        }
        HttpReply reply = handler(request.relative_uri().path());
        wh::http_response response(static_cast<wh::status_code>(reply.status));
        response.set_body(reply.body, reply.content_type);
        request.reply(response).wait();
      } catch (const std::exception&) {
        // The client went away; nothing to tell it.
      }
    });
    listener->open().wait();
    return std::unique_ptr<HttpServer>(new CpprestServer(std::move(listener)));
  } catch (const std::exception& e) {
    return Unavailable("cannot listen on " + address + ": " + e.what());
  }
}

void SizeThreadPool(size_t threads) {
  try {
    crossplat::threadpool::initialize_with_threads(threads);
  } catch (const std::exception&) {
    // Already running (a second call, or the listener went first): it keeps its size.
  }
}

size_t DefaultThreadPoolSize() { return std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 8); }

}  // namespace ibo::server
