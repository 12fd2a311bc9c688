#include "api/spec_fields.h"

#include "api/names.h"

namespace ibo::api {
namespace {

using Json = nlohmann::json;
using enum FieldClass;

const std::vector<SpecField> kFields = {
    {"spec.image", kIdentity},
    {"spec.version", kIdentity},  // the version's tags decide what floats, and the image's labels
    {"spec.tags", kRelease},
    {"spec.derivedTags", kRelease},
    {"spec.floatPartialMerges", kRelease},
    {"spec.source", kIdentity},
    {"spec.dockerfile", kIdentity},
    {"spec.buildArgs", kIdentity},
    {"spec.target", kIdentity},
    {"spec.labels", kIdentity},       // in the image's config
    {"spec.annotations", kIdentity},  // in its manifest
    {"spec.platforms[].platform", kIdentity},
    {"spec.platforms[].dockerfile", kIdentity},
    {"spec.platforms[].nodeSelector", kInPlace},  // where pods run, not what they build
    {"spec.platforms[].tolerations", kInPlace},
    {"spec.platforms[].affinity", kInPlace},
    {"spec.platforms[].resources", kInPlace},
    {"spec.builder", kIdentity},
    {"spec.emulation", kIdentity},
    {"spec.cache", kInPlace},  // a cache speeds a build up; it does not change what is built
    {"spec.pushSecretRef", kInPlace},
    {"spec.buildSecrets", kIdentity},  // what RUN steps may read
    {"spec.serviceAccountName", kInPlace},
    {"spec.timeout", kInPlace},
    {"spec.schedulingTimeout", kInPlace},
    {"spec.retries", kInPlace},
    {"spec.failurePolicy", kInPlace},
    {"spec.ttlSecondsAfterFinished", kInPlace},
    // A signature does not change the image, only what the merge pushes beside it: another key
    // merges the same digests again, and signs them.
    {"spec.signing", kRelease},
    {"spec.attestations", kIdentity},  // BuildKit pushes the provenance with the image, in its index
};

// The part of `value` below the path's components, keeping array positions.
void Project(const Json& value, const std::vector<std::string>& parts, size_t i, Json& out) {
  if (i == parts.size()) {
    out = value;
    return;
  }
  const std::string& part = parts[i];
  if (part.size() > 2 && part.compare(part.size() - 2, 2, "[]") == 0) {
    const std::string key = part.substr(0, part.size() - 2);
    if (!value.is_object() || !value.contains(key) || !value[key].is_array()) return;
    Json& list = out[key];
    if (!list.is_array()) list = Json::array();
    for (size_t n = 0; n < value[key].size(); ++n) {
      if (list.size() <= n) list.push_back(Json::object());
      Project(value[key][n], parts, i + 1, list[n]);
    }
    return;
  }
  if (!value.is_object() || !value.contains(part)) return;
  Project(value[part], parts, i + 1, out[part]);
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = std::min(path.find('.', start), path.size());
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

// The identity fields' paths below "spec", split once: the identity is computed at every decode.
const std::vector<std::vector<std::string>>& IdentityPaths() {
  static const std::vector<std::vector<std::string>> paths = [] {
    std::vector<std::vector<std::string>> out;
    for (const auto& f : kFields) {
      if (f.field_class != kIdentity) continue;
      std::vector<std::string> parts = Split(f.path);
      parts.erase(parts.begin());  // "spec"
      out.push_back(std::move(parts));
    }
    return out;
  }();
  return paths;
}

}  // namespace

const std::vector<SpecField>& SpecFields() { return kFields; }

// Hashes {"spec": projection}: the shape it always had, so a stored identity stays valid.
std::string BuildIdentity(const Json& spec, const std::string& rebuild_token) {
  Json identity = Json::object();
  Json& projected = identity["spec"];  // null when the spec sets no identity field
  for (const auto& parts : IdentityPaths()) Project(spec, parts, 0, projected);
  return HashHex(identity.dump() + "\n" + rebuild_token, 16);
}

}  // namespace ibo::api
