// WWW-Authenticate challenges (registry/auth_challenge.h) as a registry, or anything between it and
// the merge, may send them; then the same header through the registry client's 401 handling (the
// token request it leads to), over a transport that answers from memory.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fake_registry_transport.h"
#include "registry/auth_challenge.h"
#include "registry/registry_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  for (const auto& challenge : ibo::registry::ParseWwwAuthenticate(header)) {
    if (challenge.scheme.empty()) std::abort();
    for (char c : challenge.scheme) if (std::isupper(static_cast<unsigned char>(c))) std::abort();
    for (const auto& [name, value] : challenge.params) {
      for (char c : name) if (std::isupper(static_cast<unsigned char>(c))) std::abort();
    }
  }
  auto transport = std::make_shared<ibo::fuzz::FakeRegistryTransport>();
  transport->challenge = header;
  ibo::registry::RegistryOptions options;
  options.repository = {"registry.test:5000", "team/app"};
  options.credentials = ibo::registry::Credentials{"user", "secret", ""};
  auto client = ibo::registry::NewRegistryClient(options, transport);
  (void)client->Ping();
  return 0;
}
