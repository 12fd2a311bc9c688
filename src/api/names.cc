#include "api/names.h"

#include "common/oci_digest.h"

namespace ibo::api {
namespace {

// Cuts a DNS label prefix so that prefix + suffix fits in 63 characters, without a trailing '-'.
std::string Fit(std::string prefix, size_t room) {
  if (prefix.size() > room) prefix.resize(room);
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) prefix.pop_back();
  return prefix;
}

}  // namespace

std::string HashHex(const std::string& text, size_t n) {
  return oci::Sha256Digest(text).substr(7, n);  // after "sha256:"
}

std::string BuildId(const std::string& uid, int64_t generation, const std::string& rebuild_token) {
  return HashHex(uid + "\n" + std::to_string(generation) + "\n" + rebuild_token, 8);
}

std::string NameLabel(const std::string& name) { return name.size() <= 63 ? name : "h-" + HashHex(name, 32); }

std::string PodName(const std::string& ib_name, const std::string& uid, int64_t generation,
                    const std::string& rebuild_token, const std::string& what, int attempt) {
  const std::string hash = HashHex(uid + "\n" + std::to_string(generation) + "\n" + rebuild_token + "\n" + what +
                                       "\n" + std::to_string(attempt), 10);
  return Fit(ib_name, 63 - 11) + "-" + hash;
}

std::string ConfigMapName(const std::string& ib_name) {
  static const std::string kSuffix = "-imagebuild-registry";
  return Fit(ib_name, 253 - kSuffix.size()) + kSuffix;
}

}  // namespace ibo::api
