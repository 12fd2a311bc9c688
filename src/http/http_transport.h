// A narrow, blocking HTTP interface shared by the Kubernetes and registry clients: HTTP/1.1 on
// sockets and OpenSSL (http1_transport.cc). Errors are values; nothing here throws.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace ibo::http {

// Header names compare case-insensitively.
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host[:port]/path?query
  Headers headers;
  std::string body;
  // Inactivity timeout: for a stream, how long it may be silent before it fails.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;

  std::optional<std::string> Header(const std::string& name) const;
};

// A response whose body is read as it arrives, line by line (JSON watch streams), in pieces of
// known size (length-prefixed protobuf watch streams) or as it comes (a list too large to hold).
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual int status() const = 0;
  virtual const Headers& headers() const = 0;
  // Next line without its newline; nullopt at the end of the body; an error when the read failed.
  virtual StatusOr<std::optional<std::string>> ReadLine() = 0;
  // The next `size` bytes; nullopt when the body ended before any of them; an error when it ended
  // part way or the read failed.
  virtual StatusOr<std::optional<std::string>> ReadExactly(size_t size) = 0;
  // The body's next bytes as they arrive, at least one; nullopt at the end of the body. For a
  // body read in pieces of any size (a list parsed as it arrives).
  virtual StatusOr<std::optional<std::string>> ReadSome() = 0;
  // Ends the stream from another thread: a blocked ReadLine returns promptly.
  virtual void Cancel() = 0;
};

struct TlsOptions {
  std::string ca_file;            // PEM bundle; empty: the system store
  std::string ca_pem;             // PEM data, used in addition to ca_file
  std::string client_cert_file;   // client certificate authentication
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;
  bool insecure_skip_verify = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends and reads the whole body. Redirects are returned, never followed.
  virtual StatusOr<Response> Send(const Request& request) = 0;
  virtual StatusOr<std::unique_ptr<ResponseStream>> Stream(const Request& request) = 0;
};

std::unique_ptr<Transport> NewTransport(TlsOptions tls);


}  // namespace ibo::http
