#include "api/imagebuild_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>

#include "common/enum_names.h"
#include "common/oci_platform.h"
#include "common/oci_reference.h"

namespace ibo::api {
namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgument("spec." + field + ": " + what);
}

std::string Str(const Json& j, const char* key, const std::string& fallback = "") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

std::string PlatformSpec::Slug() const { return os + "-" + arch + (variant.empty() ? "" : "-" + variant); }

StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  if (text.empty()) return InvalidArgument("empty duration");
  const auto bad = [&] { return InvalidArgument("\"" + text + "\" is not a duration like 1h30m"); };
  const auto digits = [&](size_t i) {
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i;
  };
  // Parts of digits[.digits] and a unit (ms, h, m, s), read by hand: a regex over a long text
  // recurses once per character in libstdc++.
  double total_ms = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    i = digits(i);
    if (i == start) return bad();
    if (i < text.size() && text[i] == '.') {
      const size_t fraction = i + 1;
      i = digits(fraction);
      if (i == fraction) return bad();
    }
    const double n = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    double unit_ms = 0;
    if (text.compare(i, 2, "ms") == 0) unit_ms = 1, i += 2;
    else if (i < text.size() && text[i] == 'h') unit_ms = 3600000, ++i;
    else if (i < text.size() && text[i] == 'm') unit_ms = 60000, ++i;
    else if (i < text.size() && text[i] == 's') unit_ms = 1000, ++i;
    else return bad();
    total_ms += n * unit_ms;
  }
  // Go's time.Duration ends at about 290 years; beyond, the conversion to an integer overflows.
  if (!(total_ms < 9e15)) return InvalidArgument("\"" + text + "\" is longer than any duration (about 290 years)");
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

namespace {

// The version's tags, each marked floating or not, in the order status lists them.
StatusOr<std::vector<std::pair<std::string, bool>>> VersionTags(const std::string& version,
                                                                const std::vector<DerivedTag>& derive) {
  std::vector<std::pair<std::string, bool>> tags;
  if (version.empty()) return tags;
  static const std::regex kSemver(
      R"(^(v?)(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$)");
  std::smatch m;
  if (!std::regex_match(version, m, kSemver)) {
    return Bad("version", "\"" + version + "\" is not a semantic version X.Y.Z (optionally v-prefixed, e.g. v1.4.2 or 1.4.2-rc.1)");
  }
  const std::string v = m[1], major = m[2], minor = m[3], patch = m[4], pre = m[5];
  auto wanted = [&](DerivedTag t) { return std::find(derive.begin(), derive.end(), t) != derive.end(); };
  if (wanted(DerivedTag::kVersion)) tags.push_back({v + major + "." + minor + "." + patch + pre, false});
  if (!pre.empty()) return tags;  // a prerelease moves no floating tag
  if (wanted(DerivedTag::kMinor)) tags.push_back({v + major + "." + minor, true});
  if (wanted(DerivedTag::kMajor)) tags.push_back({v + major, true});
  if (wanted(DerivedTag::kLatest)) tags.push_back({"latest", true});
  return tags;
}

}  // namespace

StatusOr<ReleaseTags> DeriveReleaseTags(const std::string& version, const std::vector<DerivedTag>& derive,
                                        const std::vector<std::string>& extra) {
  IBO_ASSIGN_OR_RETURN(auto tags, VersionTags(version, derive));
  const size_t derived = tags.size();
  for (const auto& t : extra) tags.push_back({t, false});
  ReleaseTags out;
  std::set<std::string> seen;
  for (size_t i = 0; i < tags.size(); ++i) {
    const auto& [tag, floating] = tags[i];
    if (!oci::ValidateTag(tag).ok()) {
      return Bad(i < derived ? "version" : "tags",
                 "\"" + tag + "\" is not a valid tag: up to 128 of [A-Za-z0-9_.-], not starting with . or -");
    }
    if (!seen.insert(tag).second) continue;  // a tag listed again keeps its first meaning
    out.all.push_back(tag);
    (floating ? out.floating : out.exact).push_back(tag);
  }
  if (out.all.empty()) return Bad("version", "neither a version nor tags are set: the image would have no tag");
  return out;
}

StatusOr<ReleaseTags> DeriveReleaseTags(const ImageBuildSpec& spec) {
  return DeriveReleaseTags(spec.version, spec.derived_tags, spec.tags);
}

StatusOr<std::vector<std::string>> DeriveTags(const std::string& version, const std::vector<std::string>& extra) {
  IBO_ASSIGN_OR_RETURN(ReleaseTags tags,
                       DeriveReleaseTags(version, {DerivedTag::kVersion, DerivedTag::kMinor, DerivedTag::kLatest}, extra));
  return tags.all;
}

namespace {

Status ParseImage(const Json& spec, ImageBuildSpec& out) {
  out.image = Str(spec, "image");
  if (out.image.empty()) return Bad("image", "is required (a repository such as registry.example.com/org/app)");
  if (out.image.find('@') != std::string::npos) return Bad("image", "must not carry a digest");
  auto repo = oci::ParseRepository(out.image);
  if (!repo.ok()) return Bad("image", repo.status().message());
  if (repo->path.find(':') != std::string::npos) return Bad("image", "must not carry a tag: put tags in spec.tags or spec.version");
  out.version = Str(spec, "version");
  if (spec.contains("tags") && spec["tags"].is_array()) {
    for (const auto& t : spec["tags"]) out.tags.push_back(t.get<std::string>());
  }
  if (spec.contains("derivedTags") && spec["derivedTags"].is_array()) {
    out.derived_tags.clear();
    for (const auto& t : spec["derivedTags"]) {
      static const std::pair<DerivedTag, const char*> kNames[] = {
          {DerivedTag::kVersion, "version"}, {DerivedTag::kMinor, "minor"}, {DerivedTag::kMajor, "major"}, {DerivedTag::kLatest, "latest"}};
      auto kind = ValueOf(kNames, t.get<std::string>());
      if (!kind) return Bad("derivedTags", "\"" + t.get<std::string>() + "\" is none of version, minor, major, latest");
      out.derived_tags.push_back(*kind);
    }
  }
  out.float_partial_merges = spec.value("floatPartialMerges", false);
  return DeriveReleaseTags(out).status();
}

Status ParseSource(const Json& spec, ImageBuildSpec& out) {
  const Json source = spec.value("source", Json::object());
  const Json git = source.value("git", Json::object());
  out.git_url = Str(git, "url");
  if (out.git_url.empty()) return Bad("source.git.url", "is required");
  out.git_revision = Str(git, "revision");
  out.git_secret = Str(git.value("secretRef", Json::object()), "name");
  out.context_dir = Str(source, "contextDir", ".");
  if (out.context_dir.find("..") != std::string::npos || (!out.context_dir.empty() && out.context_dir[0] == '/')) {
    return Bad("source.contextDir", "must be a relative path inside the repository");
  }
  out.dockerfile = Str(spec, "dockerfile", "Dockerfile");
  if (spec.contains("buildArgs") && spec["buildArgs"].is_object()) {
    for (auto it = spec["buildArgs"].begin(); it != spec["buildArgs"].end(); ++it) {
      out.build_args[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
  }
  out.target = Str(spec, "target");
  return Status::Ok();
}

// The OCI keys the operator writes itself, from the source, the resolved commit, the version and
// the build's start: a user's value would be a second truth.
bool OperatorOwnedKey(const std::string& key) {
  static const std::set<std::string> kOwned = {"org.opencontainers.image.source", "org.opencontainers.image.revision",
                                               "org.opencontainers.image.version", "org.opencontainers.image.created"};
  return kOwned.count(key) > 0;
}

Status ParseStringMap(const Json& spec, const char* field, std::map<std::string, std::string>& out) {
  if (!spec.contains(field) || !spec[field].is_object()) return Status::Ok();
  for (auto it = spec[field].begin(); it != spec[field].end(); ++it) {
    const std::string& key = it.key();
    const std::string where = std::string(field) + "[" + key + "]";
    if (key.empty() || key.find_first_of("= \t\r\n") != std::string::npos) {
      return Bad(where, "a key must be non-empty, without spaces or '=' (such as org.opencontainers.image.title)");
    }
    if (OperatorOwnedKey(key)) {
      return Bad(where, "is set by the operator (from source.git.url, the resolved commit, version and the build's "
                        "start); remove it");
    }
    const std::string value = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    for (unsigned char c : value) {
      if (c < 0x20 || c == 0x7f) return Bad(where, "the value holds a control character (a newline?); use one line");
    }
    out[key] = value;
  }
  return Status::Ok();
}

Status ParseImageMetadata(const Json& spec, ImageBuildSpec& out) {
  IBO_RETURN_IF_ERROR(ParseStringMap(spec, "labels", out.labels));
  return ParseStringMap(spec, "annotations", out.annotations);
}

Status ParseBuilder(const Json& spec, ImageBuildSpec& out) {
  const Json builder = spec.value("builder", Json::object());
  const std::string strategy = Str(builder, "strategy", "buildkit");
  if (strategy == "buildkit") out.strategy = Strategy::kBuildKit;
  else if (strategy == "buildah") out.strategy = Strategy::kBuildah;
  else return Bad("builder.strategy", "must be buildkit or buildah, not \"" + strategy + "\"");
  out.builder_image = Str(builder, "image");

  const std::string emulation = Str(spec, "emulation", "Never");
  if (emulation == "Never") out.emulation = Emulation::kNever;
  else if (emulation == "Fallback") out.emulation = Emulation::kFallback;
  else if (emulation == "Always") out.emulation = Emulation::kAlways;
  else return Bad("emulation", "must be Never, Fallback or Always");
  // Both builders emulate through the nodes' binfmt (QEMU): BuildKit with its platform list,
  // buildah with --platform and --manifest (a real run on the rig proves the buildah one).
  return Status::Ok();
}

// The variants that exist (the OCI image spec's and Go's GOAMD64/GOARM levels).
bool KnownVariant(const std::string& arch, const std::string& variant) {
  if (arch == "amd64") return variant == "v2" || variant == "v3" || variant == "v4";
  if (arch == "arm64") return variant == "v8";
  if (arch == "arm") return variant == "v5" || variant == "v6" || variant == "v7";
  return false;
}

StatusOr<PlatformSpec> ParsePlatform(const Json& p, const std::string& field) {
  PlatformSpec ps;
  ps.platform = Str(p, "platform");
  auto parsed = oci::ParsePlatform(ps.platform);
  if (!parsed.ok()) return Bad(field + ".platform", "\"" + ps.platform + "\" is not os/arch[/variant]");
  ps.os = parsed->os;
  ps.arch = parsed->architecture;
  ps.variant = parsed->variant;
  if (ps.os != "linux") return Bad(field + ".platform", "only linux platforms can be built (BuildKit and buildah build Linux images)");
  if (!ps.variant.empty() && !KnownVariant(ps.arch, ps.variant)) {
    return Bad(field + ".platform", "\"" + ps.platform + "\": " + ps.arch + " has no variant " + ps.variant +
                                        " (amd64: v2, v3, v4; arm64: v8; arm: v5, v6, v7)");
  }
  ps.dockerfile = Str(p, "dockerfile");
  if (p.contains("nodeSelector") && p["nodeSelector"].is_object()) {
    for (auto it = p["nodeSelector"].begin(); it != p["nodeSelector"].end(); ++it) {
      ps.node_selector[it.key()] = it.value().get<std::string>();
    }
  }
  for (const char* fixed : {"kubernetes.io/os", "kubernetes.io/arch"}) {
    if (ps.node_selector.count(fixed)) {
      return Bad(field + ".nodeSelector", std::string(fixed) + " comes from the platform and must not be set");
    }
  }
  if (p.contains("tolerations")) ps.tolerations = p["tolerations"];
  if (p.contains("affinity")) ps.affinity = p["affinity"];
  if (p.contains("resources")) ps.resources = p["resources"];
  return ps;
}

Status ParsePlatforms(const Json& spec, ImageBuildSpec& out) {
  if (!spec.contains("platforms") || !spec["platforms"].is_array() || spec["platforms"].empty()) {
    return Bad("platforms", "at least one platform is required");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < spec["platforms"].size(); ++i) {
    const std::string field = "platforms[" + std::to_string(i) + "]";
    auto ps = ParsePlatform(spec["platforms"][i], field);
    if (!ps.ok()) return ps.status();
    if (!seen.insert(ps->platform).second) return Bad(field + ".platform", "\"" + ps->platform + "\" is listed twice");
    out.platforms.push_back(std::move(ps).value());
  }
  return Status::Ok();
}

Status ParseRegistryAccess(const Json& spec, ImageBuildSpec& out) {
  const Json cache = spec.value("cache", Json::object());
  out.cache_repository = Str(cache, "repository");
  out.cache_disabled = cache.value("disabled", false);
  if (!out.cache_repository.empty()) {
    auto cache_repo = oci::ParseRepository(out.cache_repository);
    if (!cache_repo.ok()) return Bad("cache.repository", cache_repo.status().message());
  }
  out.push_secret = Str(spec.value("pushSecretRef", Json::object()), "name");
  if (spec.contains("buildSecrets") && spec["buildSecrets"].is_array()) {
    for (size_t i = 0; i < spec["buildSecrets"].size(); ++i) {
      const Json& s = spec["buildSecrets"][i];
      BuildSecret bs{Str(s, "id"), Str(s.value("secretRef", Json::object()), "name"), Str(s.value("secretRef", Json::object()), "key")};
      if (bs.id.empty() || bs.secret_name.empty() || bs.key.empty()) {
        return Bad("buildSecrets[" + std::to_string(i) + "]", "needs id, secretRef.name and secretRef.key");
      }
      out.build_secrets.push_back(bs);
    }
  }
  out.service_account = Str(spec, "serviceAccountName");
  return Status::Ok();
}

Status ParseLifecycle(const Json& spec, ImageBuildSpec& out) {
  for (auto [field, target] : {std::pair{"timeout", &out.timeout}, std::pair{"schedulingTimeout", &out.scheduling_timeout}}) {
    const std::string text = Str(spec, field);
    if (text.empty()) continue;
    auto d = ParseDuration(text);
    if (!d.ok() || d->count() <= 0) return Bad(field, "\"" + text + "\" is not a positive duration like 30m or 1h");
    if (*d > std::chrono::hours(24 * 30)) return Bad(field, "\"" + text + "\" is longer than 30 days (720h)");
    *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  out.retries = spec.value("retries", 1);
  if (out.retries < 0 || out.retries > 10) return Bad("retries", "must be between 0 and 10");
  const std::string policy = Str(spec, "failurePolicy", "AllPlatforms");
  if (policy == "AllPlatforms") out.failure_policy = FailurePolicy::kAllPlatforms;
  else if (policy == "AvailablePlatforms") out.failure_policy = FailurePolicy::kAvailablePlatforms;
  else return Bad("failurePolicy", "must be AllPlatforms or AvailablePlatforms");
  if (spec.contains("ttlSecondsAfterFinished") && spec["ttlSecondsAfterFinished"].is_number_integer()) {
    out.ttl_seconds_after_finished = spec["ttlSecondsAfterFinished"].get<int64_t>();
  }
  return Status::Ok();
}

// spec.signing and spec.attestations: what the release carries besides the images.
Status ParseSupplyChain(const Json& spec, ImageBuildSpec& out) {
  if (spec.contains("signing") && !spec["signing"].is_null()) {
    const Json ref = spec["signing"].value("keySecretRef", Json::object());
    SigningSpec signing{Str(ref, "name"), Str(ref, "key", "cosign.key")};
    if (signing.secret_name.empty()) {
      return Bad("signing.keySecretRef.name", "is required: a Secret holding a PEM ECDSA P-256 private key");
    }
    static const std::regex kKey(R"(^[-._a-zA-Z0-9]+$)");
    if (!std::regex_match(signing.key, kKey)) {
      return Bad("signing.keySecretRef.key", "\"" + signing.key + "\" is not a Secret key ([-._a-zA-Z0-9]+)");
    }
    out.signing = signing;
  }
  const Json provenance = spec.value("attestations", Json::object()).value("provenance", Json());
  if (provenance.is_null()) return Status::Ok();
  const std::string mode = Str(provenance, "mode", "max");
  if (mode == "min") out.provenance = ProvenanceMode::kMin;
  else if (mode == "max") out.provenance = ProvenanceMode::kMax;
  else return Bad("attestations.provenance.mode", "must be min or max, not \"" + mode + "\"");
  if (out.strategy != Strategy::kBuildKit) {
    return Bad("attestations.provenance", "needs builder.strategy buildkit: buildah makes no provenance attestation");
  }
  return Status::Ok();
}

StatusOr<ImageBuildSpec> ParseSpecFields(const Json& spec) {
  if (!spec.is_object()) return InvalidArgument("spec is missing");
  ImageBuildSpec out;
  // In the order the fields were always checked: the first problem found is the one reported.
  for (auto* part : {ParseImage, ParseSource, ParseImageMetadata, ParseBuilder, ParsePlatforms, ParseRegistryAccess,
                     ParseLifecycle, ParseSupplyChain}) {
    IBO_RETURN_IF_ERROR(part(spec, out));
  }
  return out;
}

}  // namespace

StatusOr<ImageBuildSpec> ParseImageBuildSpec(const Json& spec) {
  // The CRD schema normally guarantees the types; without it (an old CRD, a hand-made object) a
  // field of the wrong type is an InvalidSpec, never a crash.
  try {
    return ParseSpecFields(spec);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("spec: a field has the wrong type (") + e.what() + ")");
  }
}

}  // namespace ibo::api
