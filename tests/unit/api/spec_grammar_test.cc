#include "api/spec_grammar.h"

#include <gtest/gtest.h>

namespace ibo::api::grammar {
namespace {

TEST(SpecGrammarTest, KubernetesNames) {
  for (const char* ok : {"regcred", "git-creds.v2", "a", "0a"}) EXPECT_TRUE(IsDnsSubdomain(ok)) << ok;
  for (const char* bad : {"", "RegCred", "npm_token", "-a", "a-", "a..b", "a.", " a"}) EXPECT_FALSE(IsDnsSubdomain(bad)) << bad;
  EXPECT_FALSE(IsDnsSubdomain(std::string(254, 'a')));
  for (const char* ok : {"pool", "example.com/pool", "node.kubernetes.io/instance-type", "A_b.c-D"}) EXPECT_TRUE(IsLabelKey(ok)) << ok;
  for (const char* bad : {"", "node pool", "/pool", "Example.com/pool", "a/b/c", "-pool"}) EXPECT_FALSE(IsLabelKey(bad)) << bad;
  EXPECT_FALSE(IsLabelKey(std::string(64, 'a')));
  EXPECT_TRUE(IsLabelValue(""));
  EXPECT_TRUE(IsLabelValue("arm-builders"));
  EXPECT_FALSE(IsLabelValue("big builders"));
}

TEST(SpecGrammarTest, Quantities) {
  EXPECT_NEAR(static_cast<double>(*Quantity("500m")), 0.5, 1e-12);
  EXPECT_EQ(*Quantity("2Gi"), 2.0L * 1024 * 1024 * 1024);
  EXPECT_EQ(*Quantity(4), 4.0L);
  EXPECT_EQ(*Quantity("1e3"), 1000.0L);
  EXPECT_EQ(*Quantity(".5"), 0.5L);
  EXPECT_LT(*Quantity("-500m"), 0);
  EXPECT_GT(*Quantity("8Gi"), *Quantity("4G"));
  for (const char* bad : {"two", "", "1.2.3", ".", "1Q", "1e", "5 Gi"}) EXPECT_FALSE(Quantity(bad).has_value()) << bad;
}

TEST(SpecGrammarTest, PathsStayInside) {
  for (const char* ok : {"", ".", "a", "a/b", "a/../b", "./a/./b/..", "a//b"}) EXPECT_TRUE(StaysInside(ok)) << ok;
  for (const char* bad : {"..", "../a", "a/../..", "/a", "a/../../b"}) EXPECT_FALSE(StaysInside(bad)) << bad;
  EXPECT_TRUE(StaysInside("a..b"));  // a name with dots is no parent folder
}

TEST(SpecGrammarTest, GitUrls) {
  for (const char* ok : {"https://github.com/org/app.git", "http://10.0.0.1:3000/app", "ssh://git@host.example/app.git",
                         "git://host/app", "git@github.com:org/app.git", "host.example:app.git", "https://ci:pw@host/app"}) {
    EXPECT_TRUE(IsGitUrl(ok)) << ok;
  }
  for (const char* bad : {"github.com/org/app.git", "--upload-pack=x", "ftp://host/app", "https://", "https://host",
                          "https://host/", "https://bad host/app", "file:///etc", "/srv/git/app", "host:"}) {
    EXPECT_FALSE(IsGitUrl(bad)) << bad;
  }
}

TEST(SpecGrammarTest, GitRevisions) {
  for (const char* ok : {"main", "v1.4.2", "refs/heads/feature/x", "0123456789abcdef0123456789abcdef01234567"}) {
    EXPECT_TRUE(IsGitRevision(ok)) << ok;
  }
  for (const char* bad : {"", "-x", "--orphan", "main..dev", "HEAD~1", "a b", "x.lock", "a/", "a:b", "@{-1}", "a\tb"}) {
    EXPECT_FALSE(IsGitRevision(bad)) << bad;
  }
}

TEST(SpecGrammarTest, DockerfileNamesAndImages) {
  EXPECT_TRUE(IsArgName("HTTP_PROXY"));
  EXPECT_TRUE(IsArgName("_x1"));
  for (const char* bad : {"", "1X", "HTTP PROXY", "A=B", "NPM-TOKEN"}) EXPECT_FALSE(IsArgName(bad)) << bad;
  EXPECT_TRUE(IsStageName("build-env.2_x"));
  for (const char* bad : {"", "1st", "final stage", "-x"}) EXPECT_FALSE(IsStageName(bad)) << bad;
  for (const char* ok : {"moby/buildkit:v0.12.5-rootless", "quay.io/buildah/stable", "localhost:5000/b@sha256:"
                         "0000000000000000000000000000000000000000000000000000000000000000", "busybox", "a__b/c--d"}) {
    EXPECT_TRUE(IsImageReference(ok)) << ok;
  }
  for (const char* bad : {"", "docker.io/Moby/buildkit", "moby/buildkit:", "moby//buildkit", "a_", "x@sha256:1", "a b"}) {
    EXPECT_FALSE(IsImageReference(bad)) << bad;
  }
}

}  // namespace
}  // namespace ibo::api::grammar
