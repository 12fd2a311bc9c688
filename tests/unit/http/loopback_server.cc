// The transport tests' scripted server: blocking sockets, one thread per connection.
#include "unit/http/loopback_server.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ibo::http::testing {

ServerConnection::~ServerConnection() {
  if (ssl_) SSL_free(ssl_);
  close(fd_);
}

std::string ServerConnection::ReadRequest() {
  auto read_more = [&] {
    char buffer[4096];
    const int n = ssl_ ? SSL_read(ssl_, buffer, sizeof buffer) : static_cast<int>(recv(fd_, buffer, sizeof buffer, 0));
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) return "";
  }
  std::string head = pending_.substr(0, end + 4);
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  size_t length = 0;
  if (auto at = lower.find("content-length:"); at != std::string::npos) length = std::stoul(lower.substr(at + 15));
  while (pending_.size() < head.size() + length) {
    if (!read_more()) return "";
  }
  std::string request = pending_.substr(0, head.size() + length);
  pending_.erase(0, request.size());
  return request;
}

void ServerConnection::Write(const std::string& bytes) {
  if (ssl_) {
    SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  } else {
    send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
}

void ServerConnection::Close() { shutdown(fd_, SHUT_RDWR); }

LoopbackServer::LoopbackServer(Handler handler, bool tls) : handler_(std::move(handler)), tls_(tls) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("loopback server: cannot listen");
  }
  port_ = ntohs(address.sin_port);
  if (tls_) MakeCertificate();
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackServer::~LoopbackServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto& thread : connections_) thread.join();
  if (ctx_) SSL_CTX_free(ctx_);
}

std::string LoopbackServer::Url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void LoopbackServer::AcceptLoop() {
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ++accepted_;
    std::lock_guard lock(mu_);
    open_fds_.insert(fd);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void LoopbackServer::Serve(int fd) {
  ssl_st* ssl = nullptr;
  bool accepted = true;
  if (tls_) {
    ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    accepted = SSL_accept(ssl) == 1;  // false for a client that refused the certificate
  }
  auto connection = std::make_unique<ServerConnection>(fd, ssl);
  if (accepted) handler_(*connection);
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  connection.reset();  // closes fd while no one can shut it down by number
}

// A self-signed P-256 certificate for IP 127.0.0.1, which is also the CA a test trusts.
void LoopbackServer::MakeCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("loopback"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_set_pubkey(cert, key);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {{NID_subject_alt_name, "IP:127.0.0.1"},
                                                    {NID_basic_constraints, "critical,CA:TRUE"}};
  for (auto [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  certificate_pem_.assign(data, static_cast<size_t>(size));
  BIO_free(bio);
  ctx_ = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx_, cert);
  SSL_CTX_use_PrivateKey(ctx_, key);
  X509_free(cert);
  EVP_PKEY_free(key);
}

}  // namespace ibo::http::testing
