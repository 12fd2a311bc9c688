// The probe/metrics server on loopback, read with the project's own HTTP transport.
#include "server/http_server.h"

#include <gtest/gtest.h>

#include <random>

#include "http/http_transport.h"

namespace ibo::server {
namespace {

// Below Linux's default ephemeral range (32768 and up), seeded per process: tests run side by side.
std::string LoopbackAddress() {
  static std::mt19937 rng{std::random_device{}()};
  return "127.0.0.1:" + std::to_string(std::uniform_int_distribution<int>(20000, 32767)(rng));
}

TEST(HttpServerTest, AnswersGetThroughTheHandler) {
  std::string address;
  std::unique_ptr<HttpServer> server;
  for (int i = 0; i < 20 && !server; ++i) {  // a random port may be taken: try another
    address = LoopbackAddress();
    auto started = StartHttpServer(address, [](const std::string& path) {
      if (path == "/healthz") return HttpReply{200, "text/plain", "ok\n"};
      return HttpReply{404, "text/plain", "not found\n"};
    });
    if (started.ok()) server = std::move(*started);
  }
  ASSERT_TRUE(server);
  auto transport = http::NewTransport({});
  http::Request get;
  get.url = "http://" + address + "/healthz";
  get.timeout = std::chrono::seconds(5);
  auto ok = transport->Send(get);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok\n");
  get.url = "http://" + address + "/other";
  EXPECT_EQ(transport->Send(get)->status, 404);
  get.method = "POST";
  EXPECT_EQ(transport->Send(get)->status, 405);
  server->Stop();
  get.method = "GET";
  EXPECT_FALSE(transport->Send(get).ok());
}

TEST(HttpServerTest, RefusesABadAddress) {
  EXPECT_FALSE(StartHttpServer("8080", [](const std::string&) { return HttpReply{}; }).ok());
  EXPECT_FALSE(StartHttpServer(":http", [](const std::string&) { return HttpReply{}; }).ok());
}

}  // namespace
}  // namespace ibo::server
