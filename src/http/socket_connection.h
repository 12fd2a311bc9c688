// One TCP connection, in TLS or not, for the HTTP/1.1 transport: every wait is bounded by a
// timeout, and Cancel() from any thread ends a blocked read at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>

#include "common/status.h"
#include "http/http1_wire.h"
#include "http/http_transport.h"

struct ssl_ctx_st;
struct ssl_st;

namespace ibo::http {

// The TLS settings of one transport, loaded once: trusted CAs, client certificate and key.
class TlsClientContext {
 public:
  static StatusOr<std::shared_ptr<TlsClientContext>> Load(const TlsOptions& options);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  ssl_ctx_st* get() const { return ctx_; }
  bool verify() const { return verify_; }

 private:
  TlsClientContext(ssl_ctx_st* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  ssl_ctx_st* ctx_;
  bool verify_;
};

class SocketConnection {
 public:
  // Resolves, connects and (for https) handshakes and verifies the server's name, within `timeout`.
  static StatusOr<std::unique_ptr<SocketConnection>> Open(const Url& url, const TlsClientContext* tls,
                                                          std::chrono::milliseconds timeout);
  ~SocketConnection();
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;

  Status WriteAll(std::string_view data, std::chrono::milliseconds timeout);
  // At least one byte and at most `size`; 0 when the peer ended the stream.
  StatusOr<size_t> ReadSome(char* data, size_t size, std::chrono::milliseconds timeout);
  // Ends the connection from any thread: a read or write waiting on it returns kCancelled.
  void Cancel();
  // For a pooled connection: true while the peer has neither closed it nor sent anything.
  bool IdleAndOpen();

 private:
  SocketConnection(int fd, ssl_st* ssl) : fd_(fd), ssl_(ssl) {}
  Status Wait(short events, std::chrono::steady_clock::time_point deadline);
  Status Handshake(const Url& url, const TlsClientContext& tls, std::chrono::milliseconds timeout);
  StatusOr<size_t> ReadPlain(char* data, size_t size, std::chrono::steady_clock::time_point deadline);
  StatusOr<size_t> ReadTls(char* data, size_t size, std::chrono::steady_clock::time_point deadline);

  int fd_;
  ssl_st* ssl_;
  std::atomic<bool> cancelled_{false};
  bool answer_pending_ = false;  // a request went out: its answer cannot be here yet, so wait first
};

}  // namespace ibo::http
