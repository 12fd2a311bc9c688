// The one implementation of http::Transport: HTTP/1.1 on POSIX sockets and OpenSSL, blocking on
// the caller's thread, with idle connections kept per origin. It replaced cpprestsdk's client,
// whose task and thread hand-offs cost most of the operator's CPU (README, "Where the CPU went").
#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "http/http1_wire.h"
#include "http/http_transport.h"
#include "http/socket_connection.h"

namespace ibo::http {
namespace {

constexpr size_t kReadSize = 16 * 1024;
constexpr size_t kMaxHeadBytes = 1 << 20;
constexpr size_t kMaxIdlePerOrigin = 16;
constexpr size_t kOneWriteBytes = 256 * 1024;  // a bigger body is not copied behind its head

// Reads one response from a connection: the head, then the body as its framing says.
class ResponseReader {
 public:
  ResponseReader(SocketConnection& connection, std::chrono::milliseconds timeout)
      : connection_(connection), timeout_(timeout) {}

  // Skips interim (1xx) answers.
  StatusOr<ResponseHead> ReadHead(const std::string& method) {
    while (true) {
      IBO_ASSIGN_OR_RETURN(std::string head, ReadUntilBlankLine());
      IBO_ASSIGN_OR_RETURN(ResponseHead parsed, ParseResponseHead(head, method));
      if (parsed.status >= 200 || parsed.status == 101) {
        Begin(parsed);
        return parsed;
      }
    }
  }

  // Appends at least one byte of body to `out`; false once the body is complete.
  StatusOr<bool> ReadBody(std::string& out) {
    switch (framing_) {
      case BodyFraming::kNone: return false;
      case BodyFraming::kLength: return ReadCounted(out);
      case BodyFraming::kChunked: return ReadChunked(out);
      case BodyFraming::kUntilClose: return ReadToClose(out);
    }
    return false;
  }

  bool received_any() const { return received_ > 0; }
  // The body ended where its framing said and nothing was read past it.
  bool reusable() const { return done_ && pos_ == buffer_.size(); }

 private:
  void Begin(const ResponseHead& head) {
    framing_ = head.framing;
    remaining_ = head.content_length;
    done_ = framing_ == BodyFraming::kNone || (framing_ == BodyFraming::kLength && remaining_ == 0);
    if (done_) framing_ = BodyFraming::kNone;
  }

  // False at the peer's end of stream. One TLS record is at most 16 KiB: a read of that size on
  // the stack, appended, costs neither a large allocation nor zero-filling per response.
  StatusOr<bool> Fill() {
    if (pos_ == buffer_.size()) {
      buffer_.clear();
      pos_ = 0;
    }
    char piece[kReadSize];
    IBO_ASSIGN_OR_RETURN(size_t n, connection_.ReadSome(piece, sizeof piece, timeout_));
    buffer_.append(piece, n);
    received_ += n;
    return n > 0;
  }

  StatusOr<std::string> ReadUntilBlankLine() {
    while (true) {
      const std::string_view pending(buffer_.data() + pos_, buffer_.size() - pos_);
      size_t end = pending.find("\r\n\r\n");
      size_t skip = 4;
      if (end == std::string_view::npos && (end = pending.find("\n\n")) != std::string_view::npos) skip = 2;
      if (end != std::string_view::npos) {
        std::string head(pending.substr(0, end));
        pos_ += end + skip;
        return head;
      }
      if (pending.size() > kMaxHeadBytes) return Unavailable("the response head is over 1 MiB");
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) {
        return Unavailable(received_ ? "the server closed the connection inside the response head"
                                     : "the server closed the connection without answering");
      }
    }
  }

  // Moves up to `limit` buffered bytes to `out`, reading first when none are buffered.
  StatusOr<size_t> Take(std::string& out, uint64_t limit) {
    if (pos_ == buffer_.size()) {
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return static_cast<size_t>(0);
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(limit, buffer_.size() - pos_));
    out.append(buffer_, pos_, n);
    pos_ += n;
    return n;
  }

  StatusOr<bool> ReadCounted(std::string& out) {
    if (done_) return false;
    IBO_ASSIGN_OR_RETURN(size_t n, Take(out, remaining_));
    if (n == 0) return Unavailable("the server closed the connection " + std::to_string(remaining_) +
                                   " bytes before the end of the body");
    remaining_ -= n;
    done_ = remaining_ == 0;
    return true;
  }

  StatusOr<bool> ReadToClose(std::string& out) {
    if (done_) return false;
    IBO_ASSIGN_OR_RETURN(size_t n, Take(out, UINT64_MAX));
    done_ = n == 0;
    return !done_;
  }

  StatusOr<std::string> ReadLine() {
    while (true) {
      const size_t newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(pos_, newline - pos_);
        pos_ = newline + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buffer_.size() - pos_ > 4096) return Unavailable("a chunked body with a chunk-size line over 4 KiB");
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return Unavailable("the server closed the connection inside a chunked body");
    }
  }

  StatusOr<bool> ReadChunked(std::string& out) {
    if (done_) return false;
    while (remaining_ == 0) {
      if (in_chunk_) IBO_RETURN_IF_ERROR(ReadLine().status());  // the CRLF after a chunk's data
      in_chunk_ = false;
      IBO_ASSIGN_OR_RETURN(std::string size_line, ReadLine());
      IBO_ASSIGN_OR_RETURN(remaining_, ParseChunkSize(size_line));
      if (remaining_ == 0) {
        while (true) {  // trailers, up to the blank line
          IBO_ASSIGN_OR_RETURN(std::string trailer, ReadLine());
          if (trailer.empty()) break;
        }
        done_ = true;
        return false;
      }
      in_chunk_ = true;
    }
    IBO_ASSIGN_OR_RETURN(size_t n, Take(out, remaining_));
    if (n == 0) return Unavailable("the server closed the connection inside a chunk");
    remaining_ -= n;
    return true;
  }

  SocketConnection& connection_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  size_t pos_ = 0;
  size_t received_ = 0;
  BodyFraming framing_ = BodyFraming::kNone;
  uint64_t remaining_ = 0;
  bool in_chunk_ = false;
  bool done_ = true;
};

// Idle keep-alive connections by origin. A timeout empties an origin's list: the peer may be gone
// or a middlebox stuck, so every connection to it is suspect.
class ConnectionPool {
 public:
  std::unique_ptr<SocketConnection> Take(const std::string& origin) {
    std::lock_guard lock(mu_);
    auto& idle = idle_[origin];
    while (!idle.empty()) {
      std::unique_ptr<SocketConnection> connection = std::move(idle.back());
      idle.pop_back();
      if (connection->IdleAndOpen()) return connection;  // one the server closed is dropped
    }
    return nullptr;
  }

  void Put(const std::string& origin, std::unique_ptr<SocketConnection> connection) {
    std::lock_guard lock(mu_);
    auto& idle = idle_[origin];
    if (idle.size() < kMaxIdlePerOrigin) idle.push_back(std::move(connection));
  }

  void Forget(const std::string& origin) {
    std::lock_guard lock(mu_);
    idle_.erase(origin);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<SocketConnection>>> idle_;
};

class Http1Stream : public ResponseStream {
 public:
  Http1Stream(std::unique_ptr<SocketConnection> connection, std::unique_ptr<ResponseReader> reader,
              ResponseHead head, std::function<void()> on_timeout)
      : connection_(std::move(connection)), reader_(std::move(reader)), head_(std::move(head)),
        on_timeout_(std::move(on_timeout)) {}

  int status() const override { return head_.status; }
  const Headers& headers() const override { return head_.headers; }

  StatusOr<std::optional<std::string>> ReadLine() override {
    while (true) {
      const size_t newline = pending_.find('\n', scanned_);
      if (newline != std::string::npos) {
        size_t end = newline;
        if (end > start_ && pending_[end - 1] == '\r') --end;
        std::string line = pending_.substr(start_, end - start_);
        start_ = scanned_ = newline + 1;
        return std::optional<std::string>(std::move(line));
      }
      scanned_ = pending_.size();
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) {
        if (pending_.size() == start_) return std::optional<std::string>();
        std::string rest = pending_.substr(start_);  // a last line without its newline
        pending_.clear();
        start_ = scanned_ = 0;
        return std::optional<std::string>(std::move(rest));
      }
    }
  }

  StatusOr<std::optional<std::string>> ReadExactly(size_t size) override {
    while (pending_.size() - start_ < size) {
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (more) continue;
      if (pending_.size() == start_) return std::optional<std::string>();
      return Unavailable("stream: the body ended " + std::to_string(pending_.size() - start_) +
                         " bytes into a piece of " + std::to_string(size));
    }
    std::string piece = pending_.substr(start_, size);
    start_ += size;
    scanned_ = start_;
    return std::optional<std::string>(std::move(piece));
  }

  StatusOr<std::optional<std::string>> ReadSome() override {
    if (pending_.size() == start_) {
      pending_.clear();
      start_ = scanned_ = 0;
      IBO_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return std::optional<std::string>();
    }
    std::string piece = start_ == 0 ? std::move(pending_) : pending_.substr(start_);
    pending_.clear();
    start_ = scanned_ = 0;
    return std::optional<std::string>(std::move(piece));
  }

  void Cancel() override { connection_->Cancel(); }

 private:
  StatusOr<bool> Fill() {
    if (start_ > 0 && start_ * 2 >= pending_.size()) {  // drop what was returned, amortised O(1)
      pending_.erase(0, start_);
      scanned_ -= start_;
      start_ = 0;
    }
    auto more = reader_->ReadBody(pending_);
    if (!more.ok()) {
      if (more.status().code() == StatusCode::kTimeout && on_timeout_) on_timeout_();
      return Status(more.status().code(), "stream: " + more.status().message());
    }
    return *more;
  }

  std::unique_ptr<SocketConnection> connection_;
  std::unique_ptr<ResponseReader> reader_;
  ResponseHead head_;
  std::function<void()> on_timeout_;
  std::string pending_;  // body bytes read and not yet returned, from start_
  size_t start_ = 0;
  size_t scanned_ = 0;  // no newline before this offset
};

// A small request goes out in one write: one TLS record and one segment, not two of each.
Status WriteRequest(SocketConnection& connection, const std::string& head, const Request& request) {
  if (request.body.empty()) return connection.WriteAll(head, request.timeout);
  if (request.body.size() <= kOneWriteBytes) return connection.WriteAll(head + request.body, request.timeout);
  IBO_RETURN_IF_ERROR(connection.WriteAll(head, request.timeout));
  return connection.WriteAll(request.body, request.timeout);
}

// One request on one connection, up to the end of the response head.
struct Exchange {
  std::string origin;  // the connection pool's key
  std::unique_ptr<SocketConnection> connection;
  std::unique_ptr<ResponseReader> reader;
  ResponseHead head;
};

class Http1Transport : public Transport {
 public:
  explicit Http1Transport(TlsOptions tls) : tls_options_(std::move(tls)) {}

  StatusOr<Response> Send(const Request& request) override {
    IBO_ASSIGN_OR_RETURN(Exchange exchange, Start(request));
    Response out;
    out.status = exchange.head.status;
    out.headers = std::move(exchange.head.headers);
    while (true) {
      auto more = exchange.reader->ReadBody(out.body);
      if (!more.ok()) return Failed(more.status(), request, exchange.origin);
      if (!*more) break;
    }
    if (exchange.head.keep_alive && exchange.reader->reusable()) {
      pool_->Put(exchange.origin, std::move(exchange.connection));
    }
    return out;
  }

  StatusOr<std::unique_ptr<ResponseStream>> Stream(const Request& request) override {
    IBO_ASSIGN_OR_RETURN(Exchange exchange, Start(request));
    return std::unique_ptr<ResponseStream>(new Http1Stream(
        std::move(exchange.connection), std::move(exchange.reader), std::move(exchange.head),
        [pool = std::weak_ptr<ConnectionPool>(pool_), origin = exchange.origin] {
          if (auto p = pool.lock()) p->Forget(origin);  // the stream may outlive the transport
        }));
  }

 private:
  Status Failed(const Status& status, const Request& request, const std::string& origin) {
    if (status.code() == StatusCode::kTimeout) pool_->Forget(origin);
    return Status(status.code(), request.method + " " + request.url + ": " + status.message());
  }

  // A pooled connection the server closed in the meantime fails before any answer; the request
  // is sent again on a new one when that is safe: nothing was answered and it is a read, or the
  // request never got out whole (a server acts on no part of a request).
  StatusOr<Exchange> Start(const Request& request) {
    IBO_ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
    IBO_ASSIGN_OR_RETURN(std::string head, RequestHead(request, url));
    const std::string origin = url.Origin();
    const bool read_only = request.method == "GET" || request.method == "HEAD" || request.method == "OPTIONS";
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<SocketConnection> connection = attempt == 0 ? pool_->Take(origin) : nullptr;
      const bool reused = connection != nullptr;
      if (!connection) {
        IBO_ASSIGN_OR_RETURN(const TlsClientContext* tls, Tls(url));
        auto opened = SocketConnection::Open(url, tls, request.timeout);
        if (!opened.ok()) return Failed(opened.status(), request, origin);
        connection = std::move(*opened);
      }
      Status sent = WriteRequest(*connection, head, request);
      if (!sent.ok()) {
        if (reused && sent.code() == StatusCode::kUnavailable) continue;
        return Failed(sent, request, origin);
      }
      auto reader = std::make_unique<ResponseReader>(*connection, request.timeout);
      auto response_head = reader->ReadHead(request.method);
      if (response_head.ok()) {
        return Exchange{origin, std::move(connection), std::move(reader), std::move(*response_head)};
      }
      const bool stale = reused && !reader->received_any() && response_head.status().code() == StatusCode::kUnavailable;
      if (stale && read_only) continue;
      return Failed(response_head.status(), request, origin);
    }
  }

  StatusOr<const TlsClientContext*> Tls(const Url& url) {
    if (!url.tls) return static_cast<const TlsClientContext*>(nullptr);
    std::lock_guard lock(tls_mu_);
    if (!tls_) {
      auto loaded = TlsClientContext::Load(tls_options_);
      if (!loaded.ok()) return loaded.status();  // not kept: a file fixed later is read then
      tls_ = std::move(*loaded);
    }
    return static_cast<const TlsClientContext*>(tls_.get());
  }

  TlsOptions tls_options_;
  std::mutex tls_mu_;
  std::shared_ptr<TlsClientContext> tls_;
  std::shared_ptr<ConnectionPool> pool_ = std::make_shared<ConnectionPool>();
};

}  // namespace

std::unique_ptr<Transport> NewTransport(TlsOptions tls) { return std::make_unique<Http1Transport>(std::move(tls)); }

}  // namespace ibo::http
