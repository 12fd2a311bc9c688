#include "common/url_escape.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

TEST(QueryEscape, KeepsUnreservedEscapesTheRest) {
  EXPECT_EQ(QueryEscape("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(QueryEscape("imagebuild.io/role in (build,merge)"), "imagebuild.io%2Frole%20in%20%28build%2Cmerge%29");
  EXPECT_EQ(QueryEscape("repository:team/app:pull,push"), "repository%3Ateam%2Fapp%3Apull%2Cpush");
  EXPECT_EQ(QueryEscape("a=b&c+d"), "a%3Db%26c%2Bd");
  EXPECT_EQ(QueryEscape("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(QueryEscape(std::string("\0\n", 2)), "%00%0A");
  EXPECT_EQ(QueryEscape(""), "");
}

TEST(WithoutCredentialsTest, DropsUserinfoOnly) {
  EXPECT_EQ(WithoutCredentials("https://user:t0ken@git.example.com/org/repo.git"), "https://git.example.com/org/repo.git");
  EXPECT_EQ(WithoutCredentials("https://git.example.com/a@b"), "https://git.example.com/a@b");
  EXPECT_EQ(WithoutCredentials("https://x@h:8443"), "https://h:8443");
  EXPECT_EQ(WithoutCredentials("git@github.com:org/repo.git"), "git@github.com:org/repo.git");
}

}  // namespace
}  // namespace ibo
