// A scripted HTTP server on 127.0.0.1 for the transport's tests, plain or TLS with a certificate
// made at start: each accepted connection runs the test's handler on its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;

namespace ibo::http::testing {

// One accepted connection, as the handler sees it.
class ServerConnection {
 public:
  ServerConnection(int fd, ssl_st* ssl) : fd_(fd), ssl_(ssl) {}
  ~ServerConnection();
  // The next request head (through the blank line) and, given a Content-Length, its body; empty
  // when the client closed.
  std::string ReadRequest();
  void Write(const std::string& bytes);
  void Close();  // the server ends the connection now

 private:
  int fd_;
  ssl_st* ssl_;
  std::string pending_;
};

class LoopbackServer {
 public:
  using Handler = std::function<void(ServerConnection&)>;
  explicit LoopbackServer(Handler handler, bool tls = false);
  ~LoopbackServer();

  std::string Url(const std::string& path) const;  // http(s)://127.0.0.1:port/path
  int accepted() const { return accepted_.load(); }
  const std::string& certificate_pem() const { return certificate_pem_; }  // the CA to trust

 private:
  void AcceptLoop();
  void MakeCertificate();
  void Serve(int fd);

  Handler handler_;
  bool tls_;
  int listen_fd_ = -1;
  int port_ = 0;
  ssl_ctx_st* ctx_ = nullptr;
  std::string certificate_pem_;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::set<int> open_fds_;  // shut at destruction: a client may keep one open, idle
  std::thread acceptor_;
};

}  // namespace ibo::http::testing
