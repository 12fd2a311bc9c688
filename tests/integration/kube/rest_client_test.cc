// The REST client against the real kube-apiserver: every verb, every typed error, pagination,
// watch, and each way of authenticating.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/base64.h"
#include "support/cluster.h"

namespace ibo::kube {
namespace {

using ibo::testing::AdminClient;
using ibo::testing::ConfigMap;
using ibo::testing::TestNamespace;
namespace res = resources;

TEST(RestClientTest, CrudVerbsAndTypedErrors) {
  auto client = AdminClient();
  TestNamespace ns(*client, "rest");

  auto created = client->Create(res::kConfigMaps, ns.name(), ConfigMap("one", "a"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["data"]["v"], "a");

  auto again = client->Create(res::kConfigMaps, ns.name(), ConfigMap("one", "a"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);

  auto got = client->Get(res::kConfigMaps, ns.name(), "one");
  ASSERT_TRUE(got.ok());
  Json stale = *got;

  Json fresh = *got;
  fresh["data"]["v"] = "b";
  auto updated = client->Update(res::kConfigMaps, ns.name(), fresh);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();

  stale["data"]["v"] = "c";  // resourceVersion from before the update
  auto conflict = client->Update(res::kConfigMaps, ns.name(), stale);
  EXPECT_EQ(conflict.status().code(), StatusCode::kConflict);
  EXPECT_EQ(conflict.status().http_status(), 409);

  auto merged = client->Patch(res::kConfigMaps, ns.name(), "one", PatchType::kMerge, {{"data", {{"w", "x"}}}});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ((*merged)["data"]["v"], "b");
  EXPECT_EQ((*merged)["data"]["w"], "x");

  auto json_patched = client->Patch(res::kConfigMaps, ns.name(), "one", PatchType::kJson,
                                    Json::array({{{"op", "remove"}, {"path", "/data/w"}}}));
  ASSERT_TRUE(json_patched.ok()) << json_patched.status().ToString();
  EXPECT_FALSE((*json_patched)["data"].contains("w"));

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  EXPECT_EQ(client->Delete(res::kConfigMaps, ns.name(), "one", wrong_uid).code(), StatusCode::kConflict);

  DeleteOptions right_uid;
  right_uid.precondition_uid = (*got)["metadata"]["uid"];
  right_uid.propagation_policy = "Background";
  EXPECT_TRUE(client->Delete(res::kConfigMaps, ns.name(), "one", right_uid).ok());
  EXPECT_EQ(client->Get(res::kConfigMaps, ns.name(), "one").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client->Delete(res::kConfigMaps, ns.name(), "one").code(), StatusCode::kNotFound);
}

TEST(RestClientTest, InvalidObjectsCarryFieldCauses) {
  auto client = AdminClient();
  TestNamespace ns(*client, "rest");
  auto bad = client->Create(res::kConfigMaps, ns.name(), ConfigMap("Not_A_Valid_Name", "a"));
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalid) << bad.status().ToString();
  ASSERT_FALSE(bad.status().causes().empty());
  EXPECT_EQ(bad.status().causes()[0].field, "metadata.name");
}

TEST(RestClientTest, ListPaginatesAndAnExpiredContinueTokenIsGone) {
  auto client = AdminClient();
  TestNamespace ns(*client, "page");
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(client->Create(res::kConfigMaps, ns.name(), ConfigMap("cm-" + std::to_string(i), "x")).ok());
  }
  ListOptions page;
  page.limit = 3;
  auto first = client->List(res::kConfigMaps, ns.name(), page);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["items"].size(), 3u);
  const std::string token = (*first)["metadata"].value("continue", "");
  ASSERT_FALSE(token.empty());

  auto all = client->ListAll(res::kConfigMaps, ns.name(), page);
  ASSERT_TRUE(all.ok());
  size_t ours = 0;
  for (const auto& item : (*all)["items"]) ours += item["metadata"]["name"].get<std::string>().rfind("cm-", 0) == 0;
  EXPECT_EQ(ours, 7u);

  // Compacting etcd past the token's revision expires it: kube-apiserver answers 410.
  ASSERT_TRUE(client->Create(res::kConfigMaps, ns.name(), ConfigMap("bump", "x")).ok());
  ibo::testing::RunInfra("control-plane.sh compact-etcd \"$IBO_TEST_CLUSTER_DIR\" >/dev/null");
  page.continue_token = token;
  auto expired = client->List(res::kConfigMaps, ns.name(), page);
  EXPECT_EQ(expired.status().code(), StatusCode::kGone) << expired.status().ToString();
}

TEST(RestClientTest, WatchStreamsEventsAndReportsGoneAsAnError) {
  auto client = AdminClient();
  TestNamespace ns(*client, "watch");
  auto list = client->List(res::kConfigMaps, ns.name(), {});
  ASSERT_TRUE(list.ok());
  ListOptions from;
  from.resource_version = (*list)["metadata"]["resourceVersion"];
  from.timeout_seconds = 30;
  auto stream = client->Watch(res::kConfigMaps, ns.name(), from);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(client->Create(res::kConfigMaps, ns.name(), ConfigMap("w", "1")).ok());
  ASSERT_TRUE(client->Delete(res::kConfigMaps, ns.name(), "w").ok());
  auto added = (*stream)->Next();
  ASSERT_TRUE(added.ok() && added->has_value()) << added.status().ToString();
  EXPECT_EQ((*added)->type, "ADDED");
  EXPECT_EQ((*added)->object["metadata"]["name"], "w");
  auto deleted = (*stream)->Next();
  ASSERT_TRUE(deleted.ok() && deleted->has_value());
  EXPECT_EQ((*deleted)->type, "DELETED");

}

// Against kube-apiserver without its watch cache, a compacted resourceVersion reaches the watcher
// as 410 Gone (an ERROR event, or the status code).
TEST(WatchGoneTest, CompactedResourceVersionIsGone) {
  auto client = AdminClient("IBO_TEST_NOCACHE_CLUSTER_DIR");
  TestNamespace ns(*client, "gone");
  auto list = client->List(res::kConfigMaps, ns.name(), {});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_TRUE(client->Create(res::kConfigMaps, ns.name(), ConfigMap("a", "1")).ok());
  ASSERT_TRUE(client->Create(res::kConfigMaps, ns.name(), ConfigMap("b", "1")).ok());
  ibo::testing::RunInfra("control-plane.sh compact-etcd \"$IBO_TEST_NOCACHE_CLUSTER_DIR\" >/dev/null");
  ListOptions old;
  old.resource_version = (*list)["metadata"]["resourceVersion"];
  old.timeout_seconds = 10;
  auto stream = client->Watch(res::kConfigMaps, ns.name(), old);
  Status gone = stream.ok() ? (*stream)->Next().status() : stream.status();
  EXPECT_EQ(gone.code(), StatusCode::kGone) << gone.ToString();
}

TEST(RestClientTest, CancelUnblocksAWatch) {
  auto client = AdminClient();
  TestNamespace ns(*client, "cancel");
  auto stream = client->Watch(res::kConfigMaps, ns.name(), {});
  ASSERT_TRUE(stream.ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (*stream)->Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto next = (*stream)->Next();
  canceller.join();
  EXPECT_FALSE(next.ok() && next->has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(RestClientTest, RefusedConnectionIsUnavailable) {
  ClusterConfig config;
  config.server = "https://127.0.0.1:1";
  config.tls.insecure_skip_verify = true;
  auto client = NewRestClient(config);
  auto got = client->Get(res::kNamespaces, "", "default");
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
}

// A ServiceAccount with rights on ConfigMaps in one namespace, and its token.
std::string ServiceAccountToken(Client& admin, const std::string& ns) {
  EXPECT_TRUE(admin.Create(res::kServiceAccounts, ns, {{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                                                       {"metadata", {{"name", "reader"}}}}).ok());
  const ResourceType roles{"rbac.authorization.k8s.io", "v1", "roles", true};
  const ResourceType bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", true};
  EXPECT_TRUE(admin.Create(roles, ns, {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "Role"},
      {"metadata", {{"name", "reader"}}},
      {"rules", Json::array({{{"apiGroups", {""}}, {"resources", {"configmaps"}}, {"verbs", {"get", "list"}}}})}}).ok());
  EXPECT_TRUE(admin.Create(bindings, ns, {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
      {"metadata", {{"name", "reader"}}},
      {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "reader"}}},
      {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", "reader"}, {"namespace", ns}}})}}).ok());
  std::string token;
  ibo::testing::Eventually([&] {
    auto sa = admin.Get(res::kServiceAccounts, ns, "reader");
    if (!sa.ok() || !sa->contains("secrets")) return false;
    auto secret = admin.Get(res::kSecrets, ns, (*sa)["secrets"][0]["name"]);
    if (!secret.ok()) return false;
    auto decoded = Base64Decode((*secret)["data"].value("token", ""));
    if (!decoded.ok() || decoded->empty()) return false;
    token = *decoded;
    return true;
  }, std::chrono::seconds(20));
  return token;
}

TEST(RestClientTest, AuthenticatesWithTokenFilesAndExecPlugins) {
  auto admin = AdminClient();
  TestNamespace ns(*admin, "auth");
  ASSERT_TRUE(admin->Create(res::kConfigMaps, ns.name(), ConfigMap("visible", "1")).ok());
  const std::string token = ServiceAccountToken(*admin, ns.name());
  ASSERT_FALSE(token.empty());
  const ClusterConfig base = ibo::testing::AdminConfig();

  char tmpl[] = "/tmp/ibo-auth-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/token") << token;
  std::ofstream(dir + "/plugin.sh") << "#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
                                       "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$(cat "
                                    << dir << "/token)\"\n";
  std::filesystem::permissions(dir + "/plugin.sh", std::filesystem::perms::owner_all);
  std::ofstream(dir + "/kubeconfig") << "apiVersion: v1\nkind: Config\ncurrent-context: file\n"
      << "clusters: [{name: c, cluster: {server: \"" << base.server << "\", certificate-authority: \"" << base.tls.ca_file << "\"}}]\n"
      << "users:\n- {name: file, user: {tokenFile: token}}\n"
      << "- {name: exec, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plugin.sh}}}\n"
      << "- {name: wrong, user: {token: not-a-token}}\n"
      << "contexts:\n- {name: file, context: {cluster: c, user: file}}\n- {name: exec, context: {cluster: c, user: exec}}\n"
      << "- {name: wrong, context: {cluster: c, user: wrong}}\n";

  for (const char* context : {"file", "exec"}) {
    auto config = LoadKubeconfig({dir + "/kubeconfig"}, context);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto client = NewRestClient(*config);
    // The RBAC authorizer reads the new RoleBinding from a cache: the first answers may be 403.
    StatusOr<Json> got = NotFound("not asked yet");
    ibo::testing::Eventually([&] { return (got = client->Get(res::kConfigMaps, ns.name(), "visible")).ok(); },
                             std::chrono::seconds(10));
    EXPECT_TRUE(got.ok()) << context << ": " << got.status().ToString();
    // RBAC: the service account may read ConfigMaps here, nothing else.
    EXPECT_EQ(client->Get(res::kSecrets, ns.name(), "x").status().code(), StatusCode::kForbidden) << context;
  }
  auto wrong = LoadKubeconfig({dir + "/kubeconfig"}, "wrong");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(NewRestClient(*wrong)->Get(res::kConfigMaps, ns.name(), "visible").status().code(), StatusCode::kUnauthorized);
  std::filesystem::remove_all(dir);
}

// An exec plugin that hands out client certificates: the first (admin) expires after 5 s, the
// next one names a user without rights. The client must run the plugin again and present the new
// certificate: kube-apiserver then refuses it, which proves the rotation happened.
TEST(RestClientTest, ExecPluginClientCertificatesRotate) {
  const std::string pki = ibo::testing::RequiredEnv("IBO_TEST_CLUSTER_DIR") + "/pki";
  char tmpl[] = "/tmp/ibo-exec-cert-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  ASSERT_EQ(std::system(("cd " + dir + " && openssl req -newkey rsa:2048 -nodes -subj /CN=nobody -keyout nobody.key -out nobody.csr 2>/dev/null"
                         " && printf 'extendedKeyUsage=clientAuth\\n' > ext && openssl x509 -req -in nobody.csr -CA " + pki + "/ca.crt -CAkey " +
                         pki + "/ca.key -CAcreateserial -days 1 -extfile ext -out nobody.crt 2>/dev/null").c_str()), 0);
  std::ofstream(dir + "/plugin.sh")
      << "#!/bin/sh\n"
         "pem() { awk 'BEGIN{ORS=\"\\\\n\"} {print}' \"$1\"; }\n"
         "if [ ! -f " << dir << "/ran ]; then touch " << dir << "/ran\n"
         "  cert=" << pki << "/admin.crt; key=" << pki << "/admin.key; expiry=\",\\\"expirationTimestamp\\\":\\\"$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)\\\"\"\n"
         "else cert=" << dir << "/nobody.crt; key=" << dir << "/nobody.key; expiry=''; fi\n"
         "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"%s\",\"clientKeyData\":\"%s\"%s}}' \"$(pem $cert)\" \"$(pem $key)\" \"$expiry\"\n";
  std::filesystem::permissions(dir + "/plugin.sh", std::filesystem::perms::owner_all);
  const ClusterConfig base = ibo::testing::AdminConfig();
  ClusterConfig config;
  config.server = base.server;
  config.tls.ca_file = base.tls.ca_file;
  config.exec = ExecPluginConfig{"client.authentication.k8s.io/v1", dir + "/plugin.sh", {}, {}, base.server};
  auto client = NewRestClient(config);
  auto first = client->Get(res::kNamespaces, "", "default");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));
  auto second = client->Get(res::kNamespaces, "", "default");
  EXPECT_EQ(second.status().code(), StatusCode::kForbidden) << second.status().ToString();
  EXPECT_NE(second.status().message().find("nobody"), std::string::npos) << second.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ibo::kube
