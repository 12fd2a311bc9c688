#include "registry/docker_config.h"

#include <gtest/gtest.h>

namespace ibo::registry {
namespace {

TEST(DockerConfig, AuthFieldIsBase64UserColonPassword) {
  // "robot:pa:ss" — the password may itself hold a colon.
  auto config = DockerConfig::Parse(R"({"auths":{"registry.example.com:5000":{"auth":"cm9ib3Q6cGE6c3M="}}})", "f");
  ASSERT_TRUE(config.ok()) << config.status().message();
  auto creds = config->For("registry.example.com:5000");
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->username, "robot");
  EXPECT_EQ(creds->password, "pa:ss");
  EXPECT_FALSE(config->For("registry.example.com"));
}

TEST(DockerConfig, UsernamePasswordIdentityTokenAndUrlKeys) {
  auto config = DockerConfig::Parse(R"({"auths":{
      "https://a.example.com/v1/":{"username":"u","password":"p"},
      "http://b.example.com":{"identitytoken":"refresh"},
      "https://index.docker.io/v1/":{"username":"hub","password":"x"}}})", "f");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->For("a.example.com")->username, "u");
  EXPECT_EQ(config->For("a.example.com")->password, "p");
  EXPECT_EQ(config->For("b.example.com")->identity_token, "refresh");
  EXPECT_EQ(config->For("docker.io")->username, "hub");
}

TEST(DockerConfig, LegacyDockercfgHasNoAuthsWrapper) {
  auto config = DockerConfig::Parse(R"({"r.example.com":{"auth":"dTpw"}})", "f");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->For("r.example.com")->password, "p");
}

TEST(DockerConfig, ErrorsNeverQuoteTheContent) {
  auto bad_json = DockerConfig::Parse(R"({"auths":{"h":{"auth":"c2VjcmV0"}}, oops)", "/x/config.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.status().message().find("c2VjcmV0"), std::string::npos);
  EXPECT_NE(bad_json.status().message().find("/x/config.json"), std::string::npos);
  auto bad_auth = DockerConfig::Parse(R"({"auths":{"h":{"auth":"c2VjcmV0"}}})", "f");  // "secret", no colon
  ASSERT_FALSE(bad_auth.ok());
  EXPECT_EQ(bad_auth.status().message().find("secret"), std::string::npos);
  EXPECT_EQ(bad_auth.status().message().find("c2VjcmV0"), std::string::npos);
}

TEST(DockerConfig, DeepOrBrokenJsonIsRefusedWithoutQuotingIt) {
  auto deep = DockerConfig::Parse(R"({"auths":{"r":{"password":"hunter2","x":)" + std::string(200, '[') + std::string(200, ']') + "}}}",
                                  "/run/secrets/push/config.json");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), "registry config /run/secrets/push/config.json: JSON nested deeper than 64 levels (byte 101)");
  auto broken = DockerConfig::Parse(R"({"auths":{"r":{"password":"hunter2")", "c.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().find("hunter2"), std::string::npos) << broken.status().message();
}

}  // namespace
}  // namespace ibo::registry
