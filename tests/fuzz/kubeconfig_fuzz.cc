// The kubeconfig parser and the exec credential plugin's output parser (kube/config.h). Every input
// goes to both: an ExecCredential is JSON, which YAML reads too.
#include <cstdint>
#include <string>

#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)ibo::kube::ParseKubeconfig(text, "/fuzz/kubeconfig");
  (void)ibo::kube::ParseKubeconfig(text, "/fuzz/kubeconfig", "other");
  (void)ibo::kube::ParseExecCredential(text, "client.authentication.k8s.io/v1");
  (void)ibo::kube::ParseExecCredential(text, "");
  return 0;
}
