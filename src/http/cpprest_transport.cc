// The one implementation of http::Transport, on cpprestsdk. Every cpprestsdk/pplx exception is
// caught here and turned into a Status.
#include <boost/asio/ssl.hpp>
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>
#include <thread>
#include <system_error>

#include "http/http_transport.h"

namespace ibo::http {

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

std::optional<std::string> Response::Header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

namespace {

namespace wh = web::http;
namespace whc = web::http::client;

// Where a request failed, turned into a value; `what` never carries request headers.
Status FromException(const std::exception& e, const std::string& url) {
  if (auto* he = dynamic_cast<const wh::http_exception*>(&e)) {
    const auto code = he->error_code();
    if (code == std::errc::timed_out || code == std::errc::operation_canceled) {
      return {code == std::errc::timed_out ? StatusCode::kTimeout : StatusCode::kCancelled,
              url + ": " + he->what()};
    }
    return Unavailable(url + ": " + he->what());
  }
  if (dynamic_cast<const pplx::task_canceled*>(&e)) return {StatusCode::kCancelled, url + ": cancelled"};
  return Unavailable(url + ": " + e.what());
}

Headers CopyHeaders(const wh::http_headers& from) {
  Headers out;
  for (const auto& [k, v] : from) out[k] = v;
  return out;
}

class CpprestStream : public ResponseStream {
 public:
  CpprestStream(wh::http_response response, std::shared_ptr<pplx::cancellation_token_source> cts,
                std::function<void()> on_timeout)
      : response_(std::move(response)), cts_(std::move(cts)), headers_(CopyHeaders(response_.headers())),
        body_(response_.body()), on_timeout_(std::move(on_timeout)) {}
  ~CpprestStream() override { Cancel(); }

  int status() const override { return response_.status_code(); }
  const Headers& headers() const override { return headers_; }

  StatusOr<std::optional<std::string>> ReadLine() override {
    return Guarded([&]() -> StatusOr<std::optional<std::string>> {
      while (true) {
        if (auto line = TakeLine()) return line;
        if (!Fill()) {
          if (pending_.size() == start_) return std::optional<std::string>();
          std::string rest = pending_.substr(start_);  // a last line without its newline
          pending_.clear();
          start_ = scanned_ = 0;
          return std::optional<std::string>(std::move(rest));
        }
      }
    });
  }

  StatusOr<std::optional<std::string>> ReadExactly(size_t size) override {
    return Guarded([&]() -> StatusOr<std::optional<std::string>> {
      while (pending_.size() - start_ < size) {
        if (Fill()) continue;
        if (pending_.size() == start_) return std::optional<std::string>();
        return Unavailable("stream: the body ended " + std::to_string(pending_.size() - start_) +
                           " bytes into a piece of " + std::to_string(size));
      }
      std::string piece = pending_.substr(start_, size);
      start_ += size;
      scanned_ = start_;
      return std::optional<std::string>(std::move(piece));
    });
  }

  void Cancel() override { cts_->cancel(); }

 private:
  // A read whose cpprestsdk exceptions become a Status; a timeout also tells the transport.
  template <typename Read>
  StatusOr<std::optional<std::string>> Guarded(Read read) {
    try {
      return read();
    } catch (const std::exception& e) {
      Status s = FromException(e, "stream");
      if (s.code() == StatusCode::kTimeout && on_timeout_) on_timeout_();
      return s;
    }
  }

  // The next complete line in what was read, without its line ending.
  std::optional<std::string> TakeLine() {
    const size_t newline = pending_.find('\n', scanned_);
    if (newline == std::string::npos) {
      scanned_ = pending_.size();
      return std::nullopt;
    }
    size_t end = newline;
    if (end > start_ && pending_[end - 1] == '\r') --end;
    std::string line = pending_.substr(start_, end - start_);
    start_ = scanned_ = newline + 1;
    return line;
  }

  // Appends what the connection has delivered, waiting for at least one byte; false at the end.
  // istream::read_line goes byte by byte through a pplx task each, which cost a quarter of the
  // operator's CPU on a busy watch: here one wait and one copy per network read.
  bool Fill() {
    if (start_ > 0 && start_ * 2 >= pending_.size()) {  // drop consumed lines, amortised O(1)
      pending_.erase(0, start_);
      scanned_ -= start_;
      start_ = 0;
    }
    auto buffer = body_.streambuf();
    size_t available = buffer.in_avail();
    if (available == 0) {
      uint8_t byte = 0;
      if (buffer.getn(&byte, 1).get() == 0) return false;
      pending_.push_back(static_cast<char>(byte));
      available = buffer.in_avail();
    }
    if (available > 0) {  // already buffered: getn completes at once
      const size_t old_size = pending_.size();
      pending_.resize(old_size + available);
      const size_t n = buffer.getn(reinterpret_cast<uint8_t*>(&pending_[old_size]), available).get();
      pending_.resize(old_size + n);
    }
    return true;
  }

  wh::http_response response_;
  std::shared_ptr<pplx::cancellation_token_source> cts_;
  Headers headers_;
  concurrency::streams::istream body_;
  std::function<void()> on_timeout_;
  std::string pending_;  // bytes read and not yet returned, from start_
  size_t start_ = 0;
  size_t scanned_ = 0;  // no newline before this offset
};

class CpprestTransport : public Transport {
 public:
  explicit CpprestTransport(TlsOptions tls) : tls_(std::move(tls)) {}

  StatusOr<Response> Send(const Request& request) override {
    try {
      auto [client, message] = Prepare(request);
      wh::http_response response = client->request(message).get();
      Response out;
      out.status = response.status_code();
      out.headers = CopyHeaders(response.headers());
      std::vector<unsigned char> bytes = response.extract_vector().get();
      out.body.assign(bytes.begin(), bytes.end());
      return out;
    } catch (const std::exception& e) {
      return Failed(e, request);
    }
  }

  StatusOr<std::unique_ptr<ResponseStream>> Stream(const Request& request) override {
    try {
      auto [client, message] = Prepare(request);
      auto cts = std::make_shared<pplx::cancellation_token_source>();
      wh::http_response response = client->request(message, cts->get_token()).get();
      const std::string origin = OriginOf(web::uri(request.url));
      return std::unique_ptr<ResponseStream>(
          new CpprestStream(std::move(response), std::move(cts), [pool = std::weak_ptr<Pool>(pool_), origin] {
            if (auto p = pool.lock()) ForgetOrigin(*p, origin);  // the stream may outlive the transport
          }));
    } catch (const std::exception& e) {
      return Failed(e, request);
    }
  }

 private:
  static std::string OriginOf(const web::uri& uri) {
    std::string origin = uri.scheme() + "://" + uri.host();
    if (uri.port() > 0) origin += ":" + std::to_string(uri.port());
    return origin;
  }

  Status Failed(const std::exception& e, const Request& request) {
    Status s = FromException(e, request.method + " " + request.url);
    if (s.code() == StatusCode::kTimeout) ForgetOrigin(*pool_, OriginOf(web::uri(request.url)));
    return s;
  }

  // A timeout means the peer may be gone or a middlebox stuck: every pooled connection to it is
  // suspect, so the clients (and their pools) for that origin are dropped and the next request
  // connects afresh. Requests in flight keep the client they hold.
  struct Pool {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<whc::http_client>> clients;  // by origin#timeout
  };
  static void ForgetOrigin(Pool& pool, const std::string& origin) {
    std::lock_guard lock(pool.mu);
    const std::string prefix = origin + "#";
    for (auto it = pool.clients.lower_bound(prefix); it != pool.clients.end() && it->first.rfind(prefix, 0) == 0;) {
      it = pool.clients.erase(it);
    }
  }

  std::pair<std::shared_ptr<whc::http_client>, wh::http_request> Prepare(const Request& request) {
    web::uri uri(request.url);
    const std::string origin = OriginOf(uri);

    wh::http_request message(request.method);
    std::string resource = uri.resource().to_string();
    message.set_request_uri(resource.empty() ? "/" : resource);
    if (!request.body.empty() || request.method == "PUT" || request.method == "POST" ||
        request.method == "PATCH") {
      message.set_body(std::vector<unsigned char>(request.body.begin(), request.body.end()));
    }
    for (const auto& [k, v] : request.headers) {
      if (message.headers().has(k)) message.headers().remove(k);
      message.headers().add(k, v);
    }
    return {ClientFor(origin, request.timeout), std::move(message)};
  }

  std::shared_ptr<whc::http_client> ClientFor(const std::string& origin, std::chrono::milliseconds timeout) {
    std::lock_guard lock(pool_->mu);
    const std::string key = origin + "#" + std::to_string(timeout.count());
    auto it = pool_->clients.find(key);
    if (it != pool_->clients.end()) return it->second;
    whc::http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    // Redirects are the caller's decision: following them here would forward credentials.
    config.set_max_redirects(0);
    config.set_validate_certificates(!tls_.insecure_skip_verify);
    TlsOptions tls = tls_;
    config.set_ssl_context_callback([tls](boost::asio::ssl::context& ctx) {
      namespace ssl = boost::asio::ssl;
      if (!tls.ca_file.empty() || !tls.ca_pem.empty()) {
        if (!tls.ca_file.empty()) ctx.load_verify_file(tls.ca_file);
        if (!tls.ca_pem.empty()) ctx.add_certificate_authority(boost::asio::buffer(tls.ca_pem));
      }
      if (!tls.client_cert_file.empty()) ctx.use_certificate_chain_file(tls.client_cert_file);
      if (!tls.client_cert_pem.empty()) ctx.use_certificate_chain(boost::asio::buffer(tls.client_cert_pem));
      if (!tls.client_key_file.empty()) ctx.use_private_key_file(tls.client_key_file, ssl::context::pem);
      if (!tls.client_key_pem.empty()) ctx.use_private_key(boost::asio::buffer(tls.client_key_pem), ssl::context::pem);
    });
    auto client = std::make_shared<whc::http_client>(web::uri(origin), config);
    pool_->clients.emplace(key, client);
    return client;
  }

  TlsOptions tls_;
  std::shared_ptr<Pool> pool_ = std::make_shared<Pool>();
};

}  // namespace

void SizeThreadPool(size_t threads) {
  try {
    crossplat::threadpool::initialize_with_threads(threads);
  } catch (const std::exception&) {
    // Already running (a second call, or a request went first): it keeps its size.
  }
}

size_t DefaultThreadPoolSize() {
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 8);
}

std::unique_ptr<Transport> NewTransport(TlsOptions tls) {
  return std::make_unique<CpprestTransport>(std::move(tls));
}

}  // namespace ibo::http
