#include "kube/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/base64.h"
#include "common/time_format.h"

namespace ibo::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ibo-config-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kTwoContexts = R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority: pki/ca.crt}
- name: prod
  cluster: {server: "https://prod:443", certificate-authority-data: Q0EgREFUQQ==, insecure-skip-tls-verify: false}
users:
- name: dev-admin
  user: {client-certificate: pki/admin.crt, client-key: /abs/admin.key}
- name: prod-bot
  user: {tokenFile: token}
contexts:
- name: dev
  context: {cluster: dev, user: dev-admin}
- name: prod
  context: {cluster: prod, user: prod-bot}
)";

TEST(KubeconfigTest, CurrentContextWithPathsRelativeToTheFile) {
  TempDir dir;
  const std::string file = dir.Write("config", kTwoContexts);
  auto config = LoadKubeconfig({file});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->tls.ca_file, dir.path() + "/pki/ca.crt");
  EXPECT_EQ(config->tls.client_cert_file, dir.path() + "/pki/admin.crt");
  EXPECT_EQ(config->tls.client_key_file, "/abs/admin.key");
}

TEST(KubeconfigTest, ChosenContextAndDataFields) {
  TempDir dir;
  auto config = LoadKubeconfig({dir.Write("config", kTwoContexts)}, "prod");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://prod:443");
  EXPECT_EQ(config->tls.ca_pem, "CA DATA");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
}

TEST(KubeconfigTest, MergesFilesFirstDefinitionWins) {
  TempDir dir;
  const std::string first = dir.Write("a", R"(
clusters:
- {name: shared, cluster: {server: "https://first:1"}}
users:
- {name: u, user: {token: from-first}}
)");
  const std::string second = dir.Write("b", R"(
current-context: c
clusters:
- {name: shared, cluster: {server: "https://second:2"}}
users:
- {name: u, user: {token: from-second}}
contexts:
- {name: c, context: {cluster: shared, user: u}}
)");
  auto config = LoadKubeconfig({first, dir.path() + "/missing", second});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://first:1");
  EXPECT_EQ(config->token, "from-first");
}

TEST(KubeconfigTest, ErrorsNameTheFileAndTheField) {
  TempDir dir;
  struct Case { const char* yaml; const char* field; } cases[] = {
      {"current-context: x\ncontexts: []\n", "field contexts: no context named \"x\""},
      {"current-context: c\ncontexts:\n- {name: c, context: {cluster: nope}}\n", "contexts[c].context.cluster"},
      {"current-context: c\nclusters:\n- {name: k, cluster: {server: \"ftp://x\"}}\ncontexts:\n- {name: c, context: {cluster: k}}\n",
       "clusters[k].cluster.server"},
      {"current-context: c\nclusters:\n- {name: k, cluster: {server: \"https://x\", certificate-authority-data: \"***\"}}\n"
       "contexts:\n- {name: c, context: {cluster: k}}\n",
       "certificate-authority-data: is not valid base64"},
      {"current-context: c\nclusters:\n- {name: k, cluster: {server: \"https://x\"}}\nusers:\n- {name: u, user: {client-certificate: a.crt}}\n"
       "contexts:\n- {name: c, context: {cluster: k, user: u}}\n",
       "users[u].user.client-key"},
      {"clusters: {not: a list}\n", "field clusters: must be a list"},
      {"key: [unclosed\n", "not valid YAML at line"},
  };
  for (const auto& c : cases) {
    const std::string file = dir.Write("bad", c.yaml);
    auto config = LoadKubeconfig({file});
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(file), std::string::npos) << config.status().message();
    EXPECT_NE(config.status().message().find(c.field), std::string::npos) << config.status().message();
  }
}

TEST(KubeconfigTest, ExecPluginSettings) {
  TempDir dir;
  auto config = ParseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://x:1"}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/cred
      args: [--cluster, k]
      env: [{name: REGION, value: eu}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)", dir.path() + "/config");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->exec.has_value());
  EXPECT_EQ(config->exec->command, dir.path() + "/./bin/cred");
  EXPECT_EQ(config->exec->args, (std::vector<std::string>{"--cluster", "k"}));
  EXPECT_EQ(config->exec->env[0].first, "REGION");

  auto bad = ParseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://x:1"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)", "cfg");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("users[u].user.exec.apiVersion"), std::string::npos);

  // Wrongly typed args and env entries are named, not thrown.
  struct Case { const char* exec; const char* field; };
  for (const Case& c : {Case{"args: [--x, {a: b}]", "users[u].user.exec.args[1]"},
                        Case{"env: [oops]", "users[u].user.exec.env[0]"},
                        Case{"env: [{value: eu}]", "users[u].user.exec.env[0].name"},
                        Case{"env: [{name: [A], value: eu}]", "users[u].user.exec.env[0].name"},
                        Case{"env: [{name: A, value: {x: 1}}]", "users[u].user.exec.env[0].value"}}) {
    auto typed = ParseKubeconfig(std::string(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://x:1"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x, )") + c.exec + R"(}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)", "cfg");
    ASSERT_FALSE(typed.ok()) << c.exec;
    EXPECT_EQ(typed.status().code(), StatusCode::kInvalidArgument) << c.exec;
    EXPECT_NE(typed.status().message().find(std::string("field ") + c.field), std::string::npos) << typed.status().message();
  }
}

TEST(ExecCredentialTest, ParsesTokenAndExpiry) {
  auto c = ParseExecCredential(R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
    "status":{"token":"abc","expirationTimestamp":"2030-01-02T03:04:05Z"}})", "client.authentication.k8s.io/v1");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "abc");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(FormatTime(*c->expiration), "2030-01-02T03:04:05Z");
  // RFC 3339 as client-go reads it: an offset counts, fractions are fine, a zone is required.
  auto offset = ParseExecCredential(R"({"kind":"ExecCredential",
    "status":{"token":"abc","expirationTimestamp":"2030-01-02T05:04:05.5+02:00"}})", "");
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(FormatMicroTime(*offset->expiration), "2030-01-02T03:04:05.500000Z");
  EXPECT_FALSE(ParseExecCredential(R"({"kind":"ExecCredential",
    "status":{"token":"abc","expirationTimestamp":"2030-01-02T03:04:05"}})", "").ok());
  EXPECT_FALSE(ParseExecCredential(R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
    "status":{"token":"abc"}})", "client.authentication.k8s.io/v1").ok());
  EXPECT_FALSE(ParseExecCredential(R"({"kind":"ExecCredential","status":{}})", "").ok());
  EXPECT_FALSE(ParseExecCredential("not json", "").ok());
  // Wrong types are errors that name the field, never exceptions.
  for (const char* text : {R"({"kind":1})", R"({"kind":"ExecCredential","apiVersion":["v1"]})",
                           R"({"kind":"ExecCredential","status":"token"})",
                           R"({"kind":"ExecCredential","status":{"token":42}})",
                           R"({"kind":"ExecCredential","status":{"clientCertificateData":{},"clientKeyData":"k"}})"}) {
    auto parsed = ParseExecCredential(text, "");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  }
  auto typed = ParseExecCredential(R"({"kind":"ExecCredential","status":{"token":42}})", "");
  EXPECT_NE(typed.status().message().find("status.token must be a string"), std::string::npos) << typed.status().message();
}

TEST(CredentialSourceTest, RereadsARotatedTokenFile) {
  TempDir dir;
  ClusterConfig config;
  config.token_file = dir.Write("token", "first\n");
  CredentialSource source(config);
  EXPECT_EQ(*source.BearerToken(), "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dir.Write("token", "second");
  EXPECT_EQ(*source.BearerToken(), "second");
}

TEST(CredentialSourceTest, RunsTheExecPluginAgainOnlyAfterExpiry) {
  ClusterConfig config;
  config.exec = ExecPluginConfig{"client.authentication.k8s.io/v1", "cred", {}, {}, ""};
  int runs = 0;
  auto now = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point expiry = now + std::chrono::hours(1);
  CredentialSource source(config, [&](const ExecPluginConfig&) -> StatusOr<ExecCredential> {
    ++runs;
    return ExecCredential{"token-" + std::to_string(runs), "", "", expiry};
  });
  EXPECT_EQ(*source.BearerToken(), "token-1");
  EXPECT_EQ(*source.BearerToken(), "token-1");
  EXPECT_EQ(runs, 1);
  expiry = now - std::chrono::seconds(1);  // the next credential is born expired
  source.Invalidate();
  EXPECT_EQ(*source.BearerToken(), "token-2");
  EXPECT_EQ(*source.BearerToken(), "token-3");
}

TEST(RunExecPluginTest, RunsARealProcessWithExecInfo) {
  TempDir dir;
  const std::string script = dir.Write("plugin.sh",
      "#!/bin/sh\n"
      "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"'$GREETING'-tok\"}}'\n");
  fs::permissions(script, fs::perms::owner_all);
  auto c = RunExecPlugin({"client.authentication.k8s.io/v1", script, {}, {{"GREETING", "hi"}}, ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "hi-tok");
  auto failing = RunExecPlugin({"client.authentication.k8s.io/v1", "/bin/false", {}, {}, ""});
  ASSERT_FALSE(failing.ok());
  EXPECT_NE(failing.status().message().find("exit status 1"), std::string::npos);
}

TEST(InClusterTest, BracketsAnIpv6Host) {
  TempDir dir;
  dir.Write("token", "t");
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = InClusterConfig(dir.path());
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
}

// Found by the kubeconfig fuzzer: an expiry in year 9999 (valid RFC 3339) overflowed the
// nanosecond clock in from_time_t (UBSan: signed integer overflow). It is an error now, as a time
// without a zone is; a time with an offset is read as one.
TEST(ExecCredentialTest, AnExpiryTheClockCannotHoldIsAnError) {
  auto far = ParseExecCredential(R"({"kind":"ExecCredential",
    "status":{"token":"abc","expirationTimestamp":"9999-12-31T23:59:59Z"}})", "");
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.status().code(), StatusCode::kInvalidArgument);
  auto offset = ParseExecCredential(R"({"kind":"ExecCredential",
    "status":{"token":"abc","expirationTimestamp":"2030-01-02T05:04:05+02:00"}})", "");
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(FormatTime(*offset->expiration), "2030-01-02T03:04:05Z");
}

// Issue 12 part 5: an exec plugin's output is parsed under the depth cap, and the error says so.
TEST(ExecCredentialTest, DeepOutputIsRefusedNamingTheLimit) {
  const std::string deep = R"({"kind":"ExecCredential","status":{"token":"t","x":)" + std::string(5000, '[') +
                           std::string(5000, ']') + "}}";
  auto c = ParseExecCredential(deep, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "exec plugin printed no ExecCredential JSON: JSON nested deeper than 64 levels (byte 113)");
}

}  // namespace
}  // namespace ibo::kube
