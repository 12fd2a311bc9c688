// Access to the control plane that the CTest fixture started: its kubeconfig, a client, a fresh
// namespace per test, and the fixture's own scripts. A test without the fixture fails loudly.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/rest_client.h"

namespace ibo::testing {

inline std::string RequiredEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    ADD_FAILURE() << name << " is not set: run this test through ctest, which starts the control plane";
    std::abort();
  }
  return v;
}

// cluster_dir_env names the fixture: IBO_TEST_CLUSTER_DIR (the main control plane) or
// IBO_TEST_NOCACHE_CLUSTER_DIR (kube-apiserver without its watch cache).
inline kube::ClusterConfig AdminConfig(const char* cluster_dir_env = "IBO_TEST_CLUSTER_DIR") {
  auto config = kube::LoadKubeconfig({RequiredEnv(cluster_dir_env) + "/kubeconfig"});
  if (!config.ok()) {
    ADD_FAILURE() << "the test control plane's kubeconfig cannot be loaded: " << config.status().ToString();
    std::abort();
  }
  return *config;
}

inline std::unique_ptr<kube::Client> AdminClient(const char* cluster_dir_env = "IBO_TEST_CLUSTER_DIR") {
  kube::RestClientOptions options;
  options.qps = 0;  // tests are not the thing being rate limited
  return kube::NewRestClient(AdminConfig(cluster_dir_env), options);
}

// Runs a command of the fixture (tests/infra), failing the test if it fails.
inline void RunInfra(const std::string& command_line) {
  const std::string cmd = RequiredEnv("IBO_TEST_INFRA") + "/" + command_line;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Polls `condition` until it holds or `timeout` passes.
// The ImageBuild CRD applied and Established, and two Nodes (amd64, arm64) registered as kubelets
// would: NAME_PREFIX-amd64 and NAME_PREFIX-arm64. Other tests apply the same CRD at the same time
// (apply.sh retries the race of first creations).
inline void InstallImageBuildCrd() {
  const std::string repo = RequiredEnv("IBO_TEST_INFRA") + "/../..";
  RunInfra("apply.sh " + repo + "/crds/imagebuild.io_imagebuilds.yaml");
  ASSERT_EQ(std::system("kubectl --kubeconfig \"$IBO_TEST_KUBECONFIG\" "
                        "wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null"),
            0);
}

// On the shared control plane the scheduler binds any test's pods to any Ready node of the right
// architecture: a suite that adds nodes removes them when it ends (RemoveNodes), and the tests
// whose pods a node stand-in runs hold the CTest resource lock shared_nodes.
inline void InstallImageBuildCrdAndNodes(const std::string& name_prefix) {
  InstallImageBuildCrd();
  RunInfra("node.sh add " + name_prefix + "-amd64 amd64 >/dev/null");
  RunInfra("node.sh add " + name_prefix + "-arm64 arm64 >/dev/null");
}

inline void RemoveNodes(const std::string& name_prefix) {
  (void)std::system(("kubectl --kubeconfig \"$IBO_TEST_KUBECONFIG\" delete node " + name_prefix + "-amd64 " +
                     name_prefix + "-arm64 --ignore-not-found --wait=false >/dev/null 2>&1").c_str());
}

inline bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(every);
  }
  return condition();
}

// A namespace created for one test and deleted after it.
class TestNamespace {
 public:
  explicit TestNamespace(kube::Client& client, const std::string& prefix) : client_(client) {
    static int counter = 0;
    name_ = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    auto created = client_.Create(kube::resources::kNamespaces, "",
                                  {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name_}}}});
    EXPECT_TRUE(created.ok()) << created.status().ToString();
  }
  ~TestNamespace() { (void)client_.Delete(kube::resources::kNamespaces, "", name_); }
  const std::string& name() const { return name_; }

 private:
  kube::Client& client_;
  std::string name_;
};

inline kube::Json ConfigMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
}

}  // namespace ibo::testing
