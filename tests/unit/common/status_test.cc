#include "common/status.h"

#include <unistd.h>

#include <cerrno>

#include "common/file_error.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

StatusOr<int> Doubled(int v) {
  IBO_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, AnnotateKeepsCodeAndDetails) {
  Status s = Status(StatusCode::kInvalid, "refused").set_http_status(422);
  s.add_cause({"FieldValueInvalid", "spec.image", "bad repository"});
  Status a = s.Annotate("creating worker");
  EXPECT_EQ(a.code(), StatusCode::kInvalid);
  EXPECT_EQ(a.http_status(), 422);
  EXPECT_EQ(a.message(), "creating worker: refused");
  EXPECT_EQ(a.ToString(), "Invalid: creating worker: refused; spec.image: bad repository");
}

TEST(StatusOrTest, ValueAndErrorPropagate) {
  auto good = Doubled(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  auto bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not positive: -1");
}

TEST(StatusOrTest, OkStatusIsNotAValue) {
  StatusOr<int> s{Status::Ok()};
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ibo

namespace ibo {
namespace {

TEST(FileReadErrorTest, SaysWhatIsWrongAndWhatToDo) {
  EXPECT_EQ(FileReadError("registry config", "/etc/x.json", ENOENT).message(), "registry config /etc/x.json: does not exist");
  const Status denied = FileReadError("registry config", "/etc/x.json", EACCES);
  EXPECT_EQ(denied.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(denied.message().find("uid " + std::to_string(getuid()) + " may not read it"), std::string::npos) << denied.message();
  EXPECT_NE(denied.message().find("runAsUser"), std::string::npos);
  EXPECT_NE(FileReadError("CA", "/ca", EIO).message().find("Input/output error"), std::string::npos);
}

}  // namespace
}  // namespace ibo
