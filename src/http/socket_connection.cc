// POSIX sockets and OpenSSL for the HTTP/1.1 transport. Sockets are non-blocking and every wait
// is a poll() with a deadline, so no read or write outlives its timeout.
#include "http/socket_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>

namespace ibo::http {
namespace {

using Clock = std::chrono::steady_clock;

// What OpenSSL's error queue says, oldest first; never key or certificate contents.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

Status LoadCaPem(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
    ++loaded;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (loaded == 0) return InvalidArgument("TLS: the CA data holds no PEM certificate");
  return Status::Ok();
}

Status UseCertChainPem(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    return InvalidArgument("TLS: the client certificate data is not a PEM certificate: " + OpenSslErrors());
  }
  X509_free(leaf);
  while (X509* intermediate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add_extra_chain_cert(ctx, intermediate);  // the context owns it now
  }
  ERR_clear_error();
  return Status::Ok();
}

Status UseKeyPem(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  const bool used = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!used) return InvalidArgument("TLS: the client key data is not a PEM private key: " + OpenSslErrors());
  return Status::Ok();
}

Status LoadTrust(SSL_CTX* ctx, const TlsOptions& options) {
  if (options.ca_file.empty() && options.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return Unavailable("TLS: the system CA store: " + OpenSslErrors());
    return Status::Ok();
  }
  if (!options.ca_file.empty() && SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument("TLS: the CA file " + options.ca_file + " cannot be read: " + OpenSslErrors());
  }
  if (!options.ca_pem.empty()) return LoadCaPem(ctx, options.ca_pem);
  return Status::Ok();
}

Status LoadClientIdentity(SSL_CTX* ctx, const TlsOptions& options) {
  if (!options.client_cert_file.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx, options.client_cert_file.c_str()) != 1) {
    return InvalidArgument("TLS: the client certificate " + options.client_cert_file + " cannot be read: " +
                           OpenSslErrors());
  }
  if (!options.client_cert_pem.empty()) IBO_RETURN_IF_ERROR(UseCertChainPem(ctx, options.client_cert_pem));
  if (!options.client_key_file.empty() &&
      SSL_CTX_use_PrivateKey_file(ctx, options.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("TLS: the client key " + options.client_key_file + " cannot be read: " + OpenSslErrors());
  }
  if (!options.client_key_pem.empty()) IBO_RETURN_IF_ERROR(UseKeyPem(ctx, options.client_key_pem));
  const bool has_cert = !options.client_cert_file.empty() || !options.client_cert_pem.empty();
  const bool has_key = !options.client_key_file.empty() || !options.client_key_pem.empty();
  if (has_cert != has_key) return InvalidArgument("TLS: a client certificate needs its key, and a key its certificate");
  if (has_cert && SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgument("TLS: the client key does not match the client certificate");
  }
  return Status::Ok();
}

// Writes on a socket whose peer has gone raise SIGPIPE, which would end the process; OpenSSL
// writes with write(2), so MSG_NOSIGNAL cannot help. A handler someone installed is kept.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  });
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

Status PollUntil(int fd, short events, Clock::time_point deadline, const std::atomic<bool>* cancelled) {
  while (true) {
    if (cancelled && cancelled->load()) return {StatusCode::kCancelled, "cancelled"};
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return {StatusCode::kTimeout, "timed out"};
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining.count(), INT_MAX)));
    if (rc < 0 && errno != EINTR) return Unavailable(std::string("poll: ") + std::strerror(errno));
    if (rc > 0) {
      if (cancelled && cancelled->load()) return {StatusCode::kCancelled, "cancelled"};
      return Status::Ok();  // ready, or hung up: the next read or write says which
    }
  }
}

StatusOr<int> ConnectOne(const addrinfo& ai, Clock::time_point deadline) {
  const int fd = socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  int error = connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    Status waited = PollUntil(fd, POLLOUT, deadline, nullptr);
    if (!waited.ok()) {
      close(fd);
      return Status(waited.code(), "connecting: " + waited.message());
    }
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  }
  if (error != 0) {
    close(fd);
    return Unavailable(std::string("connecting: ") + std::strerror(error));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // a request head and body go out at once
  return fd;
}

StatusOr<int> Connect(const Url& url, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (rc != 0) return Unavailable("resolving " + url.host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  const auto deadline = Clock::now() + timeout;
  Status last = Unavailable("resolving " + url.host + ": no address");
  for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
    auto fd = ConnectOne(*ai, deadline);
    if (fd.ok()) return fd;
    last = fd.status();
    if (last.code() == StatusCode::kTimeout) break;
  }
  return last;
}

}  // namespace

StatusOr<std::shared_ptr<TlsClientContext>> TlsClientContext::Load(const TlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Internal("TLS: " + OpenSslErrors());
  std::shared_ptr<TlsClientContext> out(new TlsClientContext(ctx, !options.insecure_skip_verify));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read() takes every record the kernel holds, not a 5-byte record header and then its body:
  // a watch delivers one record per event. Bytes read ahead are what SSL_has_pending() counts.
  SSL_CTX_set_read_ahead(ctx, 1);
  // Servers often close without close_notify; the HTTP framing tells a cut body from a whole one.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(ctx, options.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  if (!options.insecure_skip_verify) IBO_RETURN_IF_ERROR(LoadTrust(ctx, options));
  IBO_RETURN_IF_ERROR(LoadClientIdentity(ctx, options));
  return out;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

StatusOr<std::unique_ptr<SocketConnection>> SocketConnection::Open(const Url& url, const TlsClientContext* tls,
                                                                   std::chrono::milliseconds timeout) {
  IgnoreSigpipeOnce();
  IBO_ASSIGN_OR_RETURN(int fd, Connect(url, timeout));
  std::unique_ptr<SocketConnection> connection(new SocketConnection(fd, nullptr));
  if (url.tls) {
    if (!tls) return Internal("https without a TLS context");
    IBO_RETURN_IF_ERROR(connection->Handshake(url, *tls, timeout));
  }
  return connection;
}

SocketConnection::~SocketConnection() {
  if (ssl_) SSL_free(ssl_);
  close(fd_);
}

Status SocketConnection::Handshake(const Url& url, const TlsClientContext& tls, std::chrono::milliseconds timeout) {
  ssl_ = SSL_new(tls.get());
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return Internal("TLS: " + OpenSslErrors());
  const bool ip = IsIpLiteral(url.host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, url.host.c_str());
  if (tls.verify()) {
    const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), url.host.c_str())
                         : SSL_set1_host(ssl_, url.host.c_str());
    if (named != 1) return InvalidArgument("TLS: cannot verify the name " + url.host);
  }
  const auto deadline = Clock::now() + timeout;
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return Status::Ok();
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      Status waited = Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (!waited.ok()) return Status(waited.code(), "TLS handshake: " + waited.message());
      continue;
    }
    const long verdict = SSL_get_verify_result(ssl_);
    if (verdict != X509_V_OK) {
      return Unavailable(std::string("TLS handshake: the server's certificate is not trusted: ") +
                         X509_verify_cert_error_string(verdict));
    }
    return Unavailable("TLS handshake: " + OpenSslErrors());
  }
}

Status SocketConnection::Wait(short events, Clock::time_point deadline) {
  return PollUntil(fd_, events, deadline, &cancelled_);
}

Status SocketConnection::WriteAll(std::string_view data, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    if (cancelled_.load()) return {StatusCode::kCancelled, "cancelled"};
    const size_t piece = std::min<size_t>(data.size(), INT_MAX);
    ssize_t written = 0;
    short wait_for = POLLOUT;
    if (ssl_) {
      ERR_clear_error();
      written = SSL_write(ssl_, data.data(), static_cast<int>(piece));
      const int error = written > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, static_cast<int>(written));
      if (error == SSL_ERROR_WANT_READ) wait_for = POLLIN;
      if (error != SSL_ERROR_NONE && error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        const std::string why = error == SSL_ERROR_SYSCALL ? std::string(std::strerror(errno)) : OpenSslErrors();
        return Unavailable("writing: " + why);
      }
    } else {
      written = send(fd_, data.data(), piece, MSG_NOSIGNAL);
      if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return Unavailable(std::string("writing: ") + std::strerror(errno));
      }
    }
    if (written > 0) {
      data.remove_prefix(static_cast<size_t>(written));
      deadline = Clock::now() + timeout;  // an inactivity timeout: progress restarts it
      continue;
    }
    IBO_RETURN_IF_ERROR(Wait(wait_for, deadline));
  }
  answer_pending_ = true;
  return Status::Ok();
}

StatusOr<size_t> SocketConnection::ReadSome(char* data, size_t size, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (answer_pending_) {  // saves the read that would only say "not yet", one syscall a request
    answer_pending_ = false;
    if (!ssl_ || SSL_has_pending(ssl_) == 0) IBO_RETURN_IF_ERROR(Wait(POLLIN, deadline));
  }
  return ssl_ ? ReadTls(data, size, deadline) : ReadPlain(data, size, deadline);
}

StatusOr<size_t> SocketConnection::ReadPlain(char* data, size_t size, Clock::time_point deadline) {
  while (true) {
    if (cancelled_.load()) return Status(StatusCode::kCancelled, "cancelled");
    const ssize_t n = recv(fd_, data, size, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (cancelled_.load()) return Status(StatusCode::kCancelled, "cancelled");
      return Unavailable(std::string("reading: ") + std::strerror(errno));
    }
    IBO_RETURN_IF_ERROR(Wait(POLLIN, deadline));
  }
}

StatusOr<size_t> SocketConnection::ReadTls(char* data, size_t size, Clock::time_point deadline) {
  while (true) {
    if (cancelled_.load()) return Status(StatusCode::kCancelled, "cancelled");
    ERR_clear_error();
    const int n = SSL_read(ssl_, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
    if (n > 0) return static_cast<size_t>(n);
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_ZERO_RETURN) return static_cast<size_t>(0);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      IBO_RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline));
      continue;
    }
    if (cancelled_.load()) return Status(StatusCode::kCancelled, "cancelled");
    if (error == SSL_ERROR_SYSCALL) {
      if (errno == 0) return static_cast<size_t>(0);
      return Unavailable(std::string("reading: ") + std::strerror(errno));
    }
    return Unavailable("reading: " + OpenSslErrors());
  }
}

void SocketConnection::Cancel() {
  cancelled_.store(true);
  shutdown(fd_, SHUT_RDWR);  // wakes a poll() on this socket in another thread
}

bool SocketConnection::IdleAndOpen() {
  pollfd p{fd_, POLLIN, 0};
  const int rc = poll(&p, 1, 0);
  if (rc == 0 && !(ssl_ && SSL_has_pending(ssl_))) return true;
  if (rc < 0 || (p.revents & (POLLERR | POLLHUP))) return false;
  char byte = 0;
  if (ssl_) {  // readable may be only a TLS 1.3 session ticket: peeking processes it
    ERR_clear_error();
    const int n = SSL_peek(ssl_, &byte, 1);
    const bool alive = n <= 0 && SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return alive;
  }
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace ibo::http
