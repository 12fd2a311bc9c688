// HTTP/1.1 as bytes, with no I/O: splitting a URL, writing a request head, reading a response
// head and how its body is framed. The socket transport (http1_transport.cc) is built on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/http_transport.h"

namespace ibo::http {

struct Url {
  bool tls = false;
  std::string host;  // without brackets for an IPv6 literal
  uint16_t port = 0;
  std::string target = "/";  // path and query, as sent on the request line

  std::string Origin() const;  // scheme://host:port, the key of a connection pool
  std::string HostHeader() const;
};

// http:// and https:// only; no user info (credentials in a URL belong in a header).
StatusOr<Url> ParseUrl(const std::string& url);

// The request line, the headers (Host and Content-Length added) and the blank line; the body is
// sent after it. A POST, PUT or PATCH always has a Content-Length, 0 when empty. A header value
// with a line break is refused: it would end the header early and smuggle in another.
StatusOr<std::string> RequestHead(const Request& request, const Url& url);

enum class BodyFraming {
  kNone,        // HEAD, 1xx, 204, 304
  kLength,      // Content-Length
  kChunked,     // Transfer-Encoding: chunked
  kUntilClose,  // neither: the body ends when the server closes
};

struct ResponseHead {
  int status = 0;
  Headers headers;
  BodyFraming framing = BodyFraming::kUntilClose;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the connection may carry another request after this body
};

// `head` is everything before the blank line (status line and header lines, CRLF or LF).
StatusOr<ResponseHead> ParseResponseHead(std::string_view head, const std::string& method);

// A chunk-size line ("1a3f", maybe with ";extensions"); an error for anything else.
StatusOr<uint64_t> ParseChunkSize(std::string_view line);

}  // namespace ibo::http
