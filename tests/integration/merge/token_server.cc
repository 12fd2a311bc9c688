// A small token server for the registry's `auth: token` configuration, for the tests only: it
// checks Basic credentials and answers a JWT (RS256, x5c header) granting the scopes asked for,
// so that the registry client's Bearer flow runs against the real docker-registry.
//   ibo_test_token_server --listen http://127.0.0.1:PORT --key KEY.pem --cert CERT.pem
//                         --issuer ISSUER --user USER --password PASSWORD
#include <cpprest/http_listener.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base64.h"

namespace {

using web::http::http_request;
using web::http::status_codes;

struct Options {
  std::string listen, key, cert, issuer, user, password;
};

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

// Query parameters, keeping repeats (scope may be given several times).
std::multimap<std::string, std::string> Query(const std::string& query) {
  std::multimap<std::string, std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    const auto end = std::min(query.find('&', start), query.size());
    const std::string pair = query.substr(start, end - start);
    const auto eq = pair.find('=');
    if (eq != std::string::npos) out.emplace(PercentDecode(pair.substr(0, eq)), PercentDecode(pair.substr(eq + 1)));
    start = end + 1;
  }
  return out;
}

// "repository:team/app:pull,push" -> {"type":"repository","name":"team/app","actions":["pull","push"]}
nlohmann::json Access(const std::string& scope) {
  const auto first = scope.find(':');
  const auto last = scope.rfind(':');
  if (first == std::string::npos || last == first) return nullptr;
  nlohmann::json actions = nlohmann::json::array();
  const std::string list = scope.substr(last + 1);
  size_t start = 0;
  while (start <= list.size()) {
    const auto end = std::min(list.find(',', start), list.size());
    if (end > start) actions.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return {{"type", scope.substr(0, first)}, {"name", scope.substr(first + 1, last - first - 1)}, {"actions", actions}};
}

class Signer {
 public:
  explicit Signer(const Options& options) {
    FILE* key = std::fopen(options.key.c_str(), "r");
    FILE* cert = std::fopen(options.cert.c_str(), "r");
    if (!key || !cert) throw std::runtime_error("cannot read the key or certificate");
    key_ = PEM_read_PrivateKey(key, nullptr, nullptr, nullptr);
    X509* x509 = PEM_read_X509(cert, nullptr, nullptr, nullptr);
    std::fclose(key);
    std::fclose(cert);
    if (!key_ || !x509) throw std::runtime_error("cannot parse the key or certificate");
    unsigned char* der = nullptr;
    const int len = i2d_X509(x509, &der);
    cert_der_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    X509_free(x509);
  }

  std::string Sign(const nlohmann::json& claims) {
    const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5c", {ibo::Base64Encode(cert_der_)}}};
    const std::string input = ibo::Base64UrlEncode(header.dump()) + "." + ibo::Base64UrlEncode(claims.dump());
    std::lock_guard lock(mu_);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string signature(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    signature.resize(len);
    return input + "." + ibo::Base64UrlEncode(signature);
  }

 private:
  std::mutex mu_;
  EVP_PKEY* key_ = nullptr;
  std::string cert_der_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::map<std::string, std::string*> flags = {{"--listen", &options.listen}, {"--key", &options.key},
                                               {"--cert", &options.cert},     {"--issuer", &options.issuer},
                                               {"--user", &options.user},     {"--password", &options.password}};
  for (int i = 1; i + 1 < argc; i += 2) {
    auto it = flags.find(argv[i]);
    if (it == flags.end()) {
      std::cerr << "token_server: unknown flag " << argv[i] << "\n";
      return 2;
    }
    *it->second = argv[i + 1];
  }
  // SIGTERM and SIGINT are taken synchronously below; blocked before any listener thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    Signer signer(options);
    const std::string expected = "Basic " + ibo::Base64Encode(options.user + ":" + options.password);
    web::http::experimental::listener::http_listener listener(options.listen);
    listener.support(web::http::methods::GET, [&](http_request request) {
      const auto& headers = request.headers();
      if (!headers.has("Authorization") || headers.find("Authorization")->second != expected) {
        request.reply(status_codes::Unauthorized, R"({"details":"invalid credentials"})", "application/json");
        return;
      }
      const auto query = Query(request.request_uri().query());
      nlohmann::json access = nlohmann::json::array();
      for (auto [it, end] = query.equal_range("scope"); it != end; ++it) {
        if (auto a = Access(it->second); !a.is_null()) access.push_back(a);
      }
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
      const auto service = query.find("service");
      static std::atomic<int> serial{0};
      const nlohmann::json claims = {{"iss", options.issuer},
                                     {"sub", options.user},
                                     {"aud", service == query.end() ? "" : service->second},
                                     {"exp", now + 300},
                                     {"nbf", now - 10},
                                     {"iat", now},
                                     {"jti", std::to_string(now) + "-" + std::to_string(++serial)},
                                     {"access", access}};
      const std::string token = signer.Sign(claims);
      const nlohmann::json body = {{"token", token}, {"access_token", token}, {"expires_in", 300}};
      request.reply(status_codes::OK, body.dump(), "application/json");
    });
    listener.open().wait();
    std::cout << "token_server: listening on " << options.listen << std::endl;
    const timespec limit{600, 0};  // stops by itself even if nobody stops it
    sigtimedwait(&stop_signals, nullptr, &limit);
    listener.close().wait();
  } catch (const std::exception& e) {
    std::cerr << "token_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
