// GCC 12 reports a false maybe-uninitialized inside std::variant when gMock copies
// StatusOr<http::Response> return values at -O2.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "registry/registry_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/oci_digest.h"
#include "unit/http/mock_transport.h"

namespace ibo::registry {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::Truly;

http::Response Reply(int status, std::string body = {}, http::Headers headers = {}) {
  return http::Response{status, std::move(headers), std::move(body)};
}

bool HasAuthorization(const http::Request& r) { return r.headers.count("Authorization") > 0; }

class RegistryClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<RegistryClient> Client(std::optional<Credentials> creds) {
    RegistryOptions options;
    options.repository = {"r.example.com", "team/app"};
    options.credentials = std::move(creds);
    return NewRegistryClient(options, transport_);
  }
  std::shared_ptr<http::MockTransport> transport_ = std::make_shared<http::MockTransport>();
};

TEST_F(RegistryClientTest, RetriesA503ThenAResetWaitingRetryAfter) {
  const std::string blob = "layer";
  const std::string digest = oci::Sha256Digest(blob);
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Reply(503, "", {{"Retry-After", "1"}})))
      .WillOnce(Return(StatusOr<http::Response>(Unavailable("connection reset by peer"))))
      .WillOnce(Return(Reply(200, blob)));
  const auto start = std::chrono::steady_clock::now();
  auto got = Client(std::nullopt)->GetBlob(digest);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000 + 250));
}

TEST_F(RegistryClientTest, GivesUpAfterTheRetriesNamingTheRegistryAndTheStep) {
  RegistryOptions options;
  options.repository = {"r.example.com", "team/app"};
  options.first_retry_wait = std::chrono::milliseconds(1);
  EXPECT_CALL(*transport_, Send(_)).Times(5).WillRepeatedly(Return(Reply(500)));
  auto got = NewRegistryClient(options, transport_)->HeadManifest("v1");
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("registry r.example.com failed (HTTP 500)"));
}

TEST_F(RegistryClientTest, ANotFoundIsFinal) {
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Reply(404)));
  EXPECT_EQ(Client(std::nullopt)->HeadManifest("v1").status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryClientTest, BasicChallengeThenRedirectElsewhereWithoutCredentials) {
  const std::string blob = "config bytes";
  const std::string digest = oci::Sha256Digest(blob);
  const std::string blob_url = "https://r.example.com/v2/team/app/blobs/" + digest;
  ::testing::InSequence order;
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::url, blob_url), Truly([](const http::Request& r) {
                                        return !HasAuthorization(r);
                                      }))))
      .WillOnce(Return(Reply(401, "", {{"WWW-Authenticate", R"(Basic realm="test")"}})));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::url, blob_url), Truly([](const http::Request& r) {
                                        return r.headers.at("Authorization") == "Basic dTpw";  // u:p
                                      }))))
      .WillOnce(Return(Reply(307, "", {{"Location", "https://cdn.example.net/blob?sig=1"}})));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::url, "https://cdn.example.net/blob?sig=1"),
                                      Truly([](const http::Request& r) { return !HasAuthorization(r); }))))
      .WillOnce(Return(Reply(200, blob)));
  auto got = Client(Credentials{"u", "p", ""})->GetBlob(digest);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, blob);
}

TEST_F(RegistryClientTest, BearerTokenFromRealmWithServiceAndScope) {
  const std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
  const std::string digest = oci::Sha256Digest(manifest);
  const std::string manifest_url = "https://r.example.com/v2/team/app/manifests/" + digest;
  ::testing::InSequence order;
  EXPECT_CALL(*transport_, Send(Field(&http::Request::url, manifest_url)))
      .WillOnce(Return(Reply(401, "", {{"WWW-Authenticate",
                                        R"(Bearer realm="https://auth.example.com/token",service="reg")"}})));
  EXPECT_CALL(*transport_,
              Send(AllOf(Field(&http::Request::url,
                               "https://auth.example.com/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull%2Cpush"),
                         Truly([](const http::Request& r) { return r.headers.at("Authorization") == "Basic dTpw"; }))))
      .WillOnce(Return(Reply(200, R"({"token":"T0K"})")));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::url, manifest_url), Truly([](const http::Request& r) {
                                        return r.headers.at("Authorization") == "Bearer T0K" &&
                                               r.headers.at("Accept").find("oci.image.index") != std::string::npos;
                                      }))))
      .WillOnce(Return(Reply(200, manifest)));
  auto got = Client(Credentials{"u", "p", ""})->GetManifest(digest);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(got->digest, digest);
}

TEST_F(RegistryClientTest, RefusedCredentialsNeverAppearInTheError) {
  EXPECT_CALL(*transport_, Send(_))
      .WillRepeatedly(Return(Reply(401, "", {{"WWW-Authenticate", R"(Basic realm="test")"}})));
  auto got = Client(Credentials{"robot", "s3cret-pass", ""})->HeadManifest("v1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnauthorized);
  EXPECT_THAT(got.status().message(), HasSubstr("refused the credentials"));
  EXPECT_THAT(got.status().message(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_THAT(got.status().message(), ::testing::Not(HasSubstr("cm9ib3")));
}

TEST_F(RegistryClientTest, ContentNotMatchingItsDigestIsRefused) {
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Reply(200, "tampered")));
  auto got = Client(std::nullopt)->GetBlob(oci::Sha256Digest("original"));
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("does not match its digest"));
}

TEST_F(RegistryClientTest, AnonymousAgainstAuthenticatedRegistrySaysSo) {
  EXPECT_CALL(*transport_, Send(_))
      .WillRepeatedly(Return(Reply(401, "", {{"WWW-Authenticate", R"(Basic realm="test")"}})));
  auto got = Client(std::nullopt)->Ping();
  EXPECT_EQ(got.code(), StatusCode::kUnauthorized);
  EXPECT_THAT(got.message(), HasSubstr("no credentials are configured"));
}

TEST_F(RegistryClientTest, IdentityTokenIsExchangedAsAnOAuth2RefreshToken) {
  ::testing::InSequence order;
  EXPECT_CALL(*transport_, Send(Field(&http::Request::url, "https://r.example.com/v2/")))
      .WillOnce(Return(Reply(401, "", {{"WWW-Authenticate", R"(Bearer realm="https://auth.example.com/token",service="reg")"}})));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::method, "POST"),
                                      Field(&http::Request::url, "https://auth.example.com/token"),
                                      Field(&http::Request::body, HasSubstr("grant_type=refresh_token")),
                                      Field(&http::Request::body, HasSubstr("refresh_token=REFRESH")))))
      .WillOnce(Return(Reply(200, R"({"access_token":"ACCESS"})")));
  EXPECT_CALL(*transport_, Send(Truly([](const http::Request& r) {
                return r.headers.count("Authorization") && r.headers.at("Authorization") == "Bearer ACCESS";
              })))
      .WillOnce(Return(Reply(200)));
  EXPECT_TRUE(Client(Credentials{"", "", "REFRESH"})->Ping().ok());
}

TEST_F(RegistryClientTest, RedirectFromHttpsToPlainHttpIsRefused) {
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Reply(302, "", {{"Location", "http://cdn.example.net/blob"}})));
  auto got = Client(std::nullopt)->GetBlob(oci::Sha256Digest("x"));
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("redirected GET to plain HTTP; refused"));
}

// Found writing the manifest fuzz target: a distribution error body whose code is not a string
// threw type_error from value() while the error was being worded.
TEST_F(RegistryClientTest, AnErrorBodyOfOtherTypesStillGivesTheError) {
  EXPECT_CALL(*transport_, Send(_))
      .WillRepeatedly(Return(StatusOr<http::Response>(Reply(404, R"({"errors":[{"code":404,"message":["gone"]}]})"))));
  auto got = Client(std::nullopt)->GetManifest("v1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
}

// Blob upload (for signatures): HEAD first, then POST for an upload location and PUT with the
// digest; a blob the registry has is not sent again.
TEST_F(RegistryClientTest, PutBlobUploadsMonolithicallyUnlessTheRegistryHasIt) {
  const std::string bytes = "payload", digest = oci::Sha256Digest(bytes);
  const std::string blob_url = "https://r.example.com/v2/team/app/blobs/" + digest;
  ::testing::InSequence order;
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::method, "HEAD"), Field(&http::Request::url, blob_url))))
      .WillOnce(Return(Reply(404)));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::method, "POST"),
                                      Field(&http::Request::url, "https://r.example.com/v2/team/app/blobs/uploads/"))))
      .WillOnce(Return(Reply(202, "", {{"Location", "/v2/team/app/blobs/uploads/u1?_state=s"}})));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::method, "PUT"),
                                      Field(&http::Request::url, "https://r.example.com/v2/team/app/blobs/uploads/u1?_state=s"
                                                                 "&digest=sha256%3A" + digest.substr(7)),
                                      Field(&http::Request::body, bytes))))
      .WillOnce(Return(Reply(201)));
  EXPECT_CALL(*transport_, Send(AllOf(Field(&http::Request::method, "HEAD"), Field(&http::Request::url, blob_url))))
      .WillOnce(Return(Reply(200)));
  EXPECT_TRUE(Client(std::nullopt)->PutBlob(digest, bytes).ok());
  EXPECT_TRUE(Client(std::nullopt)->PutBlob(digest, bytes).ok());  // there now: HEAD alone
}

TEST_F(RegistryClientTest, APutBlobRefusedSaysWhichBlob) {
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Reply(404)))
      .WillOnce(Return(Reply(403, R"({"errors":[{"code":"DENIED","message":"no push"}]})")));
  const Status put = Client(std::nullopt)->PutBlob(oci::Sha256Digest("x"), "x");
  EXPECT_EQ(put.code(), StatusCode::kForbidden);
  EXPECT_THAT(put.message(), HasSubstr("uploading blob " + oci::Sha256Digest("x") + ": access denied"));
}

TEST(ResolveLocation, AbsoluteRootRelativeAndRelative) {
  EXPECT_EQ(ResolveLocation("https://a/v2/x/blobs/d", "https://b/y"), "https://b/y");
  EXPECT_EQ(ResolveLocation("https://a:5000/v2/x/blobs/d", "/v2/x/blobs/e"), "https://a:5000/v2/x/blobs/e");
  EXPECT_EQ(ResolveLocation("https://a/v2/x/blobs/d?q=1", "e"), "https://a/v2/x/blobs/e");
  EXPECT_EQ(ResolveLocation("https://a/v2/", "//c/z"), "https://c/z");
}

TEST(OriginOf, DefaultPortsAndCase) {
  EXPECT_EQ(OriginOf("https://R.example.com/v2/"), "https://r.example.com:443");
  EXPECT_EQ(OriginOf("https://r.example.com:443/x"), "https://r.example.com:443");
  EXPECT_EQ(OriginOf("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
  EXPECT_NE(OriginOf("http://r.example.com/"), OriginOf("https://r.example.com/"));
}

}  // namespace
}  // namespace ibo::registry
