#include "kube/api_error.h"

#include <gtest/gtest.h>

namespace ibo::kube {
namespace {

http::Response Reply(int status, const std::string& body) {
  http::Response r;
  r.status = status;
  r.body = body;
  return r;
}

TEST(ApiErrorTest, TypesFromReasonAndCode) {
  struct Case { int code; const char* reason; StatusCode want; } cases[] = {
      {404, "NotFound", StatusCode::kNotFound},   {409, "AlreadyExists", StatusCode::kAlreadyExists},
      {409, "Conflict", StatusCode::kConflict},   {410, "Expired", StatusCode::kGone},
      {410, "Gone", StatusCode::kGone},           {403, "Forbidden", StatusCode::kForbidden},
      {401, "Unauthorized", StatusCode::kUnauthorized}, {429, "TooManyRequests", StatusCode::kTooManyRequests},
      {503, "", StatusCode::kUnavailable},        {504, "", StatusCode::kTimeout},
  };
  for (const auto& c : cases) {
    const std::string body = std::string(R"({"kind":"Status","reason":")") + c.reason + R"(","message":"m","code":)" +
                             std::to_string(c.code) + "}";
    Status s = ApiErrorFromResponse(Reply(c.code, body), "get pods x");
    EXPECT_EQ(s.code(), c.want) << c.code << " " << c.reason;
    EXPECT_EQ(s.http_status(), c.code);
    EXPECT_EQ(s.message(), "get pods x: m");
  }
}

TEST(ApiErrorTest, InvalidCarriesFieldCauses) {
  Status s = ApiErrorFromResponse(
      Reply(422, R"({"kind":"Status","reason":"Invalid","message":"ImageBuild is invalid","code":422,
        "details":{"causes":[{"reason":"FieldValueInvalid","field":"spec.platforms[0].platform","message":"bad"}]}})"),
      "create imagebuilds ci/w");
  EXPECT_EQ(s.code(), StatusCode::kInvalid);
  ASSERT_EQ(s.causes().size(), 1u);
  EXPECT_EQ(s.causes()[0].field, "spec.platforms[0].platform");
}

TEST(ApiErrorTest, RetryAfterFromHeaderOrDetails) {
  http::Response r = Reply(429, R"({"kind":"Status","reason":"TooManyRequests","code":429,"details":{"retryAfterSeconds":3}})");
  EXPECT_EQ(ApiErrorFromResponse(r, "x").retry_after(), std::chrono::seconds(3));
  r.headers["retry-after"] = "7";
  EXPECT_EQ(ApiErrorFromResponse(r, "x").retry_after(), std::chrono::seconds(7));
}

TEST(ApiErrorTest, NonJsonBodyStillGivesTheStatus) {
  Status s = ApiErrorFromResponse(Reply(502, "<html>bad gateway</html>"), "list pods");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "list pods: HTTP 502");
}

// Found by the watch_event fuzzer: a Status whose members have other types (a float code, a
// numeric reason) threw from nlohmann's value() or overflowed converting the float to int.
TEST(ApiErrorTest, MembersOfAnotherTypeReadAsAbsent) {
  Status s = ApiErrorFromResponse(
      Reply(500, R"({"kind":"Status","reason":7,"message":["m"],"code":3.6e112,)"
                 R"("details":{"causes":[{"reason":1,"field":null,"message":"bad"}],"retryAfterSeconds":1e300}})"),
      "get pods");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "get pods: HTTP 500");
  ASSERT_EQ(s.causes().size(), 1u);
  EXPECT_EQ(s.causes()[0].message, "bad");
  EXPECT_FALSE(s.retry_after().has_value());
  EXPECT_EQ(ApiErrorFromStatusObject(0, R"({"code":-410,"reason":"Expired"})", "watch").code(), StatusCode::kGone);
  EXPECT_EQ(ApiErrorFromStatusObject(0, R"({"code":18446744073709551615})", "watch").code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ibo::kube
