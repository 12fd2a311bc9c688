// HTTP/1.1 framing: URLs, request heads, response heads and chunk sizes, as pure functions.
#include "http/http1_wire.h"

#include <gtest/gtest.h>

namespace ibo::http {
namespace {

TEST(ParseUrlTest, SplitsSchemeHostPortAndTarget) {
  auto url = ParseUrl("https://api.example:6443/api/v1/pods?watch=1");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.example");
  EXPECT_EQ(url->port, 6443);
  EXPECT_EQ(url->target, "/api/v1/pods?watch=1");
  EXPECT_EQ(url->HostHeader(), "api.example:6443");
  EXPECT_EQ(url->Origin(), "https://api.example:6443");
}

TEST(ParseUrlTest, DefaultsThePortAndThePath) {
  auto url = ParseUrl("http://registry.local");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->HostHeader(), "registry.local");
  EXPECT_EQ(ParseUrl("https://h")->port, 443);
  EXPECT_EQ(ParseUrl("http://h?x=1")->target, "/?x=1");
  EXPECT_EQ(ParseUrl("http://h/p#fragment")->target, "/p");
}

TEST(ParseUrlTest, ReadsBracketedIpv6) {
  auto url = ParseUrl("http://[::1]:5000/v2/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 5000);
  EXPECT_EQ(url->HostHeader(), "[::1]:5000");
}

TEST(ParseUrlTest, RefusesWhatItCannotSend) {
  EXPECT_EQ(ParseUrl("ftp://h/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("/relative").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("http://:80/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("http://h:0/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("http://h:99999/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("http://[::1/").status().code(), StatusCode::kInvalidArgument);
  auto with_user = ParseUrl("https://user:secret@h/");
  ASSERT_FALSE(with_user.ok());
  EXPECT_EQ(with_user.status().message().find("secret"), std::string::npos) << "a credential reached an error";
}

TEST(RequestHeadTest, WritesTheRequestLineHostAndLength) {
  Request request{.method = "POST", .url = "http://h:8080/x", .body = "{}"};
  request.headers["Content-Type"] = "application/json";
  request.headers["content-length"] = "999";  // the transport's own length wins
  auto head = RequestHead(request, *ParseUrl(request.url));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, "POST /x HTTP/1.1\r\nHost: h:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
}

TEST(RequestHeadTest, AnEmptyPostSaysSoAndAGetSaysNothing) {
  Request post{.method = "POST", .url = "http://h/u"};
  EXPECT_NE(RequestHead(post, *ParseUrl(post.url))->find("Content-Length: 0\r\n"), std::string::npos);
  Request get{.method = "GET", .url = "http://h/u"};
  EXPECT_EQ(RequestHead(get, *ParseUrl(get.url))->find("Content-Length"), std::string::npos);
  Request blob{.method = "PUT", .url = "http://h/u", .body = "bytes"};
  EXPECT_NE(RequestHead(blob, *ParseUrl(blob.url))->find("Content-Type: application/octet-stream"),
            std::string::npos);
}

TEST(RequestHeadTest, RefusesAHeaderThatWouldSmuggleAnother) {
  Request request{.url = "http://h/"};
  request.headers["Authorization"] = "Bearer abc\r\nX-Evil: 1";
  auto head = RequestHead(request, *ParseUrl(request.url));
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().message().find("abc"), std::string::npos) << "a credential reached an error";
}

TEST(ParseResponseHeadTest, ReadsStatusHeadersAndLength) {
  auto head = ParseResponseHead("HTTP/1.1 201 Created\r\nContent-Length: 12\r\ncontent-type: a/b\r\n", "POST");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 201);
  EXPECT_EQ(head->framing, BodyFraming::kLength);
  EXPECT_EQ(head->content_length, 12u);
  EXPECT_EQ(head->headers.at("Content-Type"), "a/b");
  EXPECT_TRUE(head->keep_alive);
}

TEST(ParseResponseHeadTest, TellsEachFraming) {
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "GET")->framing, BodyFraming::kChunked);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 5", "HEAD")->framing, BodyFraming::kNone);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 204 No Content", "DELETE")->framing, BodyFraming::kNone);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 304 Not Modified", "GET")->framing, BodyFraming::kNone);
  auto until_close = ParseResponseHead("HTTP/1.1 200 OK", "GET");
  EXPECT_EQ(until_close->framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(until_close->keep_alive);
}

TEST(ParseResponseHeadTest, KnowsWhenTheConnectionEnds) {
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0", "GET")->keep_alive);
  EXPECT_FALSE(ParseResponseHead("HTTP/1.0 200 OK\r\nContent-Length: 0", "GET")->keep_alive);
  EXPECT_TRUE(ParseResponseHead("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0", "GET")->keep_alive);
}

TEST(ParseResponseHeadTest, JoinsRepeatedHeadersAndAcceptsBareNewlines) {
  auto head =
      ParseResponseHead("HTTP/1.1 401 Unauthorized\nWww-Authenticate: Basic\nWWW-Authenticate: Bearer x\n", "GET");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->status, 401);
  EXPECT_EQ(head->headers.at("www-authenticate"), "Basic, Bearer x");
}

TEST(ParseResponseHeadTest, RefusesWhatIsNotHttp) {
  EXPECT_FALSE(ParseResponseHead("SSH-2.0-OpenSSH_9.2", "GET").ok());
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 abc OK", "GET").ok());
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nno colon here", "GET").ok());
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 12x", "GET").ok());
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", "GET").ok());
}

TEST(ParseChunkSizeTest, ReadsHexWithExtensions) {
  EXPECT_EQ(*ParseChunkSize("1a"), 26u);
  EXPECT_EQ(*ParseChunkSize("FF;name=value"), 255u);
  EXPECT_EQ(*ParseChunkSize("0"), 0u);
  EXPECT_FALSE(ParseChunkSize("").ok());
  EXPECT_FALSE(ParseChunkSize("zz").ok());
  EXPECT_FALSE(ParseChunkSize("-1").ok());
}

}  // namespace
}  // namespace ibo::http
