// The HTTP/1.1 transport against a scripted loopback server: framing, connection reuse, stale
// pooled connections, timeouts, cancelling a stream, and TLS trust.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "http/http_transport.h"
#include "unit/http/loopback_server.h"

namespace ibo::http {
namespace {

using testing::LoopbackServer;
using testing::ServerConnection;
using namespace std::chrono_literals;

std::string Answer(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// Answers every request on a connection with its own request line, until the client closes.
void EchoRequestLine(ServerConnection& c) {
  for (std::string request; !(request = c.ReadRequest()).empty();) {
    c.Write(Answer(request.substr(0, request.find("\r\n"))));
  }
}

Request Get(const std::string& url, std::chrono::milliseconds timeout = 5s) {
  return Request{.method = "GET", .url = url, .timeout = timeout};
}

TEST(Http1TransportTest, KeepsTheConnectionForTheNextRequest) {
  LoopbackServer server(EchoRequestLine);
  auto transport = NewTransport({});
  for (const char* path : {"/a", "/b?x=1", "/c"}) {
    auto response = transport->Send(Get(server.Url(path)));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, std::string("GET ") + path + " HTTP/1.1");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(Http1TransportTest, SendsTheBodyWithItsLength) {
  std::promise<std::string> seen;
  LoopbackServer server([&](ServerConnection& c) {
    seen.set_value(c.ReadRequest());
    c.Write(Answer("{}"));
  });
  Request post{.method = "POST", .url = server.Url("/api"), .body = R"({"kind":"Pod"})"};
  post.headers["Content-Type"] = "application/json";
  ASSERT_TRUE(NewTransport({})->Send(post).ok());
  const std::string request = seen.get_future().get();
  EXPECT_NE(request.find("Content-Length: 14\r\n"), std::string::npos) << request;
  EXPECT_NE(request.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(request.substr(request.size() - 14), R"({"kind":"Pod"})");
}

TEST(Http1TransportTest, ReadsAChunkedBodyWithExtensionsAndTrailers) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n");
    std::this_thread::sleep_for(20ms);  // a body that arrives in pieces
    c.Write("5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n");
    EchoRequestLine(c);
  });
  auto transport = NewTransport({});
  auto response = transport->Send(Get(server.Url("/")));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "hello world");
  EXPECT_EQ(transport->Send(Get(server.Url("/again")))->body, "GET /again HTTP/1.1");
  EXPECT_EQ(server.accepted(), 1) << "a chunked body read to its end leaves the connection reusable";
}

TEST(Http1TransportTest, ReadsABodyThatEndsWithTheConnection) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.0 200 OK\r\n\r\nall of it");
    c.Close();
  });
  auto response = NewTransport({})->Send(Get(server.Url("/")));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "all of it");
}

TEST(Http1TransportTest, ACutBodyIsAnError) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    c.Close();
  });
  auto response = NewTransport({})->Send(Get(server.Url("/cut")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("GET " + server.Url("/cut")), std::string::npos)
      << response.status().message();
}

TEST(Http1TransportTest, AHeadAnswerHasNoBody) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:ab\r\n\r\n");
    EchoRequestLine(c);
  });
  auto transport = NewTransport({});
  auto head = transport->Send(Request{.method = "HEAD", .url = server.Url("/blob")});
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->Header("docker-content-digest"), "sha256:ab");
  EXPECT_EQ(transport->Send(Get(server.Url("/next")))->body, "GET /next HTTP/1.1");
}

TEST(Http1TransportTest, AConnectionTheServerClosedIsNotReused) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write(Answer("once"));  // keep-alive promised, then the server goes away (an idle timeout)
    c.Close();
  });
  auto transport = NewTransport({});
  ASSERT_TRUE(transport->Send(Get(server.Url("/1"))).ok());
  std::this_thread::sleep_for(50ms);
  Request post{.method = "POST", .url = server.Url("/2"), .body = "x"};
  auto second = transport->Send(post);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->body, "once");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Http1TransportTest, ConnectionCloseIsHonoured) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write(Answer("bye", "Connection: close\r\n"));
    std::this_thread::sleep_for(200ms);  // still open: the client must not wait for the server
  });
  auto transport = NewTransport({});
  ASSERT_TRUE(transport->Send(Get(server.Url("/1"))).ok());
  ASSERT_TRUE(transport->Send(Get(server.Url("/2"))).ok());
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Http1TransportTest, ASilentServerTimesOut) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    std::this_thread::sleep_for(1s);
  });
  const auto start = std::chrono::steady_clock::now();
  auto response = NewTransport({})->Send(Get(server.Url("/slow"), 200ms));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kTimeout) << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
}

TEST(Http1TransportTest, ARefusedConnectionIsUnavailable) {
  std::string url;
  {
    LoopbackServer gone([](ServerConnection&) {});
    url = gone.Url("/");
  }
  auto response = NewTransport({})->Send(Get(url));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
}

TEST(Http1TransportTest, StreamsLinesAsTheyArrive) {
  std::promise<void> first_read;
  LoopbackServer server([&](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\none\ntw\r\n");
    first_read.get_future().wait();
    c.Write("3\r\no\r\n\r\n0\r\n\r\n");
  });
  auto stream = NewTransport({})->Stream(Get(server.Url("/watch")));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->status(), 200);
  EXPECT_EQ((*stream)->ReadLine()->value(), "one");
  first_read.set_value();
  EXPECT_EQ((*stream)->ReadLine()->value(), "two");
  auto end = (*stream)->ReadLine();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_FALSE(end->has_value());
}

TEST(Http1TransportTest, ReadsLengthPrefixedPieces) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write(Answer(std::string("\0\0\0\3abc\0\0", 9)));
  });
  auto stream = NewTransport({})->Stream(Get(server.Url("/watch")));
  ASSERT_TRUE(stream.ok());
  auto prefix = (*stream)->ReadExactly(4);
  EXPECT_EQ(prefix->value(), std::string("\0\0\0\3", 4));
  EXPECT_EQ((*stream)->ReadExactly(3)->value(), "abc");
  EXPECT_FALSE((*stream)->ReadExactly(4).ok()) << "two bytes of a four-byte piece";
}

TEST(Http1TransportTest, ReadSomeHandsOverEachChunkAsItArrivesAndWhatALineReadLeft) {
  std::promise<void> first_read;
  LoopbackServer server([&](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhead\nx\r\n");
    first_read.get_future().wait();
    c.Write("4\r\nyz{}\r\n0\r\n\r\n");
  });
  auto stream = NewTransport({})->Stream(Get(server.Url("/list")));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->ReadLine()->value(), "head");
  EXPECT_EQ((*stream)->ReadSome()->value(), "x") << "the rest of what the line read had buffered";
  first_read.set_value();  // the second chunk is sent only now: ReadSome did not wait for it
  std::string rest;
  while (true) {
    auto piece = (*stream)->ReadSome();
    ASSERT_TRUE(piece.ok()) << piece.status().ToString();
    if (!piece->has_value()) break;
    ASSERT_FALSE((*piece)->empty());
    rest += **piece;
  }
  EXPECT_EQ(rest, "yz{}");
}

TEST(Http1TransportTest, ReadSomeFailsWhenTheBodyIsCutShort) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  auto stream = NewTransport({})->Stream(Get(server.Url("/list")));
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ((*stream)->ReadSome()->value(), "abc");
  auto cut = (*stream)->ReadSome();
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable);
}

TEST(Http1TransportTest, CancelEndsABlockedReadAtOnce) {
  LoopbackServer server([](ServerConnection& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.ReadRequest();  // until the client goes
  });
  auto stream = NewTransport({})->Stream(Get(server.Url("/watch"), 30s));
  ASSERT_TRUE(stream.ok());
  auto reader = std::async(std::launch::async, [&] { return (*stream)->ReadLine(); });
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  (*stream)->Cancel();
  ASSERT_EQ(reader.wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(reader.get().status().code(), StatusCode::kCancelled);
}

TEST(Http1TransportTest, KeepsATlsConnectionForTheNextRequest) {
  LoopbackServer server(EchoRequestLine, /*tls=*/true);  // TLS 1.3: session tickets after the handshake
  auto transport = NewTransport({.ca_pem = server.certificate_pem()});
  for (const char* path : {"/a", "/b", "/c"}) {
    auto response = transport->Send(Get(server.Url(path)));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->body, std::string("GET ") + path + " HTTP/1.1");
  }
  EXPECT_EQ(server.accepted(), 1) << "every request paid for a TLS handshake";
}

// Each Write is a TLS record of its own, all sent before the client reads: the client reads them
// ahead in one go, and must answer from what it holds rather than wait on a socket with nothing
// more to come (the server keeps the connection open).
TEST(Http1TransportTest, ReadsTlsRecordsItHoldsWithoutWaitingForMore) {
  LoopbackServer server(
      [](ServerConnection& c) {
        for (std::string request; !(request = c.ReadRequest()).empty();) {
          const std::string answer = Answer(request.substr(0, request.find("\r\n")));
          for (char byte : answer) c.Write(std::string(1, byte));
        }
      },
      /*tls=*/true);
  auto transport = NewTransport({.ca_pem = server.certificate_pem()});
  for (const char* path : {"/a", "/b"}) {
    auto response = transport->Send(Get(server.Url(path), 3s));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->body, std::string("GET ") + path + " HTTP/1.1");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(Http1TransportTest, StreamsTlsLinesSentAsManyRecords) {
  LoopbackServer server(
      [](ServerConnection& c) {
        c.ReadRequest();
        c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (const char* line : {"4\r\none\n\r\n", "4\r\ntwo\n\r\n", "6\r\nthree\n\r\n"}) c.Write(line);
        c.ReadRequest();  // open, silent, until the client goes
      },
      /*tls=*/true);
  auto stream = NewTransport({.ca_pem = server.certificate_pem()})->Stream(Get(server.Url("/watch"), 3s));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  for (const char* expected : {"one", "two", "three"}) {
    auto line = (*stream)->ReadLine();
    ASSERT_TRUE(line.ok()) << line.status().ToString();
    EXPECT_EQ(line->value_or("(end)"), expected);
  }
}

TEST(Http1TransportTest, TrustsOnlyTheGivenCa) {
  LoopbackServer server(EchoRequestLine, /*tls=*/true);
  auto trusted = NewTransport({.ca_pem = server.certificate_pem()})->Send(Get(server.Url("/tls")));
  ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
  EXPECT_EQ(trusted->body, "GET /tls HTTP/1.1");

  auto untrusted = NewTransport({})->Send(Get(server.Url("/tls")));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(untrusted.status().message().find("not trusted"), std::string::npos) << untrusted.status().message();

  EXPECT_TRUE(NewTransport({.insecure_skip_verify = true})->Send(Get(server.Url("/tls"))).ok());
}

TEST(Http1TransportTest, ChecksTheServerName) {
  LoopbackServer server(EchoRequestLine, /*tls=*/true);  // its certificate names 127.0.0.1 only
  std::string url = server.Url("/");
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  auto response = NewTransport({.ca_pem = server.certificate_pem()})->Send(Get(url));
  ASSERT_FALSE(response.ok()) << "a certificate for 127.0.0.1 accepted for localhost";
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
}

TEST(Http1TransportTest, BadClientKeyDataIsAClearError) {
  LoopbackServer server(EchoRequestLine, /*tls=*/true);
  TlsOptions tls{.ca_pem = server.certificate_pem(), .client_cert_pem = server.certificate_pem(),
                 .client_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"};
  auto response = NewTransport(tls)->Send(Get(server.Url("/")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("client key"), std::string::npos) << response.status().message();
  EXPECT_EQ(response.status().message().find("not a key"), std::string::npos) << "key material reached an error";
}

}  // namespace
}  // namespace ibo::http
