#include "api/imagebuild_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "api/spec_grammar.h"
#include "common/enum_names.h"
#include "common/json_parse.h"
#include "common/oci_platform.h"
#include "common/oci_reference.h"
#include "common/semver.h"
#include "common/url_escape.h"

namespace ibo::api {
namespace {

// The rules, one per check. A refusal must name its rule, so a new check needs a new entry here
// (and a file in tests/bad_input/, or its test fails).
enum class Rule {
  kSpecMissing, kWrongType,
  kImageRequired, kImageDigest, kImageRepository, kImageTag,
  kDerivedTagUnknown, kVersionSemver, kVersionTagInvalid, kTagInvalid, kNoTag, kDerivedTagsGiveNone,
  kGitUrlRequired, kGitUrlForm, kGitRevision, kGitSecretName,
  kContextDirAbsolute, kContextDirLeaves, kDockerfilePath, kBuildArgName, kBuildArgPlatform, kTargetName,
  kBuilderStrategy, kBuilderImage, kEmulation,
  kPlatformsRequired, kPlatformForm, kPlatformOs, kPlatformVariant, kPlatformDuplicate, kPlatformDockerfilePath,
  kNodeSelectorPlatformKey, kNodeSelectorKey, kNodeSelectorValue,
  kTolerationKey, kTolerationEmptyKey, kTolerationExistsValue, kTolerationValue, kTolerationSecondsEffect,
  kAffinityDepth, kAffinityKey, kAffinityShape,
  kResourceName, kResourceQuantity, kResourceNegative, kResourceRequestAboveLimit,
  kEmulatedDockerfiles, kEmulatedResources,
  kCacheRepository, kPushSecretName, kBuildSecretFields, kBuildSecretName, kBuildSecretId, kServiceAccountName,
  kDurationNotPositive, kDurationUnderASecond, kDurationOver30Days, kRetriesRange, kFailurePolicy,
  kMetadataKey, kMetadataOperatorKey, kMetadataValue,
  kSigningSecretName, kSigningKey, kProvenanceMode, kProvenanceStrategy,
  kCount
};

struct RuleEntry {
  Rule rule;
  SpecRule spec_rule;
};
constexpr bool kSchema = true;  // the CRD schema refuses it first
constexpr RuleEntry kRules[] = {
    {Rule::kSpecMissing, {"spec-missing", kSchema}},
    {Rule::kWrongType, {"wrong-type", kSchema}},
    {Rule::kImageRequired, {"image-required", kSchema}},
    {Rule::kImageDigest, {"image-digest", kSchema}},
    {Rule::kImageRepository, {"image-repository", kSchema}},
    {Rule::kImageTag, {"image-tag", kSchema}},
    {Rule::kDerivedTagUnknown, {"derived-tag-unknown", kSchema}},
    {Rule::kVersionSemver, {"version-semver", kSchema}},
    {Rule::kVersionTagInvalid, {"version-tag-invalid", kSchema}},
    {Rule::kTagInvalid, {"tag-invalid", kSchema}},
    {Rule::kNoTag, {"no-tag", false}},
    {Rule::kDerivedTagsGiveNone, {"derived-tags-give-none", false}},
    {Rule::kGitUrlRequired, {"git-url-required", kSchema}},
    {Rule::kGitUrlForm, {"git-url-form", false}},
    {Rule::kGitRevision, {"git-revision", false}},
    {Rule::kGitSecretName, {"git-secret-name", false}},
    {Rule::kContextDirAbsolute, {"context-dir-absolute", false}},
    {Rule::kContextDirLeaves, {"context-dir-leaves", false}},
    {Rule::kDockerfilePath, {"dockerfile-path", false}},
    {Rule::kBuildArgName, {"build-arg-name", false}},
    {Rule::kBuildArgPlatform, {"build-arg-platform", false}},
    {Rule::kTargetName, {"target-name", false}},
    {Rule::kBuilderStrategy, {"builder-strategy", kSchema}},
    {Rule::kBuilderImage, {"builder-image", false}},
    {Rule::kEmulation, {"emulation", kSchema}},
    {Rule::kPlatformsRequired, {"platforms-required", kSchema}},
    {Rule::kPlatformForm, {"platform-form", kSchema}},
    {Rule::kPlatformOs, {"platform-os", kSchema}},
    {Rule::kPlatformVariant, {"platform-variant", kSchema}},
    {Rule::kPlatformDuplicate, {"platform-duplicate", kSchema}},
    {Rule::kPlatformDockerfilePath, {"platform-dockerfile-path", false}},
    {Rule::kNodeSelectorPlatformKey, {"node-selector-platform-key", false}},
    {Rule::kNodeSelectorKey, {"node-selector-key", false}},
    {Rule::kNodeSelectorValue, {"node-selector-value", false}},
    {Rule::kTolerationKey, {"toleration-key", false}},
    {Rule::kTolerationEmptyKey, {"toleration-empty-key", false}},
    {Rule::kTolerationExistsValue, {"toleration-exists-value", false}},
    {Rule::kTolerationValue, {"toleration-value", false}},
    {Rule::kTolerationSecondsEffect, {"toleration-seconds-effect", false}},
    {Rule::kAffinityDepth, {"affinity-depth", false}},
    {Rule::kAffinityKey, {"affinity-key", false}},
    {Rule::kAffinityShape, {"affinity-shape", false}},
    {Rule::kResourceName, {"resource-name", false}},
    {Rule::kResourceQuantity, {"resource-quantity", kSchema}},
    {Rule::kResourceNegative, {"resource-negative", false}},
    {Rule::kResourceRequestAboveLimit, {"resource-request-above-limit", false}},
    {Rule::kEmulatedDockerfiles, {"emulated-dockerfiles", false}},
    {Rule::kEmulatedResources, {"emulated-resources", false}},
    {Rule::kCacheRepository, {"cache-repository", kSchema}},
    {Rule::kPushSecretName, {"push-secret-name", false}},
    {Rule::kBuildSecretFields, {"build-secret-fields", kSchema}},
    {Rule::kBuildSecretName, {"build-secret-name", false}},
    {Rule::kBuildSecretId, {"build-secret-id", false}},
    {Rule::kServiceAccountName, {"service-account-name", false}},
    {Rule::kDurationNotPositive, {"duration-not-positive", false}},
    {Rule::kDurationUnderASecond, {"duration-under-a-second", false}},
    {Rule::kDurationOver30Days, {"duration-over-30-days", false}},
    {Rule::kRetriesRange, {"retries-range", kSchema}},
    {Rule::kFailurePolicy, {"failure-policy", kSchema}},
    {Rule::kMetadataKey, {"metadata-key", false}},
    {Rule::kMetadataOperatorKey, {"metadata-operator-key", false}},
    {Rule::kMetadataValue, {"metadata-value", false}},
    {Rule::kSigningSecretName, {"signing-secret-name", kSchema}},
    {Rule::kSigningKey, {"signing-key", kSchema}},
    {Rule::kProvenanceMode, {"provenance-mode", kSchema}},
    {Rule::kProvenanceStrategy, {"provenance-strategy", false}},
};

constexpr bool RulesInOrder() {
  if (std::size(kRules) != static_cast<size_t>(Rule::kCount)) return false;
  for (size_t i = 0; i < std::size(kRules); ++i) {
    if (static_cast<size_t>(kRules[i].rule) != i) return false;
  }
  return true;
}
static_assert(RulesInOrder(), "kRules lists every Rule once, in the enum's order");

// "spec.<field>: <what>", its first cause naming the rule.
Status Bad(Rule rule, const std::string& field, const std::string& what) {
  Status s = InvalidArgument("spec." + field + ": " + what);
  s.add_cause({kRules[static_cast<size_t>(rule)].spec_rule.id, "spec." + field, what});
  return s;
}

std::string Str(const Json& j, const char* key, const std::string& fallback = "") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

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
  // The CRD's pattern, as ParseSemver reads it (semver.org's grammar, parts of up to 18 digits).
  const std::optional<Semver> parsed = ParseSemver(version);
  if (!parsed) {
    return Bad(Rule::kVersionSemver, "version", Quoted(version) + " is not a semantic version X.Y.Z (optionally v-prefixed, e.g. v1.4.2 or 1.4.2-rc.1)");
  }
  const std::string v = parsed->prefix, major = std::to_string(parsed->major), minor = std::to_string(parsed->minor),
                    patch = std::to_string(parsed->patch);
  std::string pre;
  for (const auto& id : parsed->prerelease) pre += (pre.empty() ? "-" : ".") + id;
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
      return Bad(i < derived ? Rule::kVersionTagInvalid : Rule::kTagInvalid, i < derived ? "version" : "tags",
                 Quoted(tag) + " is not a valid tag: up to 128 of [A-Za-z0-9_.-], not starting with . or -");
    }
    if (!seen.insert(tag).second) continue;  // a tag listed again keeps its first meaning
    out.all.push_back(tag);
    (floating ? out.floating : out.exact).push_back(tag);
  }
  if (out.all.empty() && version.empty()) {
    return Bad(Rule::kNoTag, "version", "neither spec.version nor spec.tags is set, so the image would have no tag: "
                                        "set spec.version (such as v1.4.2) or list tags in spec.tags");
  }
  if (out.all.empty()) {
    const bool prerelease = version.find('-') != std::string::npos &&
                            version.find('-') < version.find('+');  // a '-' after '+' is build metadata
    return Bad(Rule::kDerivedTagsGiveNone, "derivedTags",
               std::string(prerelease ? "give the prerelease " + Quoted(version) + " no tag (a prerelease gets only its own version tag)"
                                      : "is empty, so " + Quoted(version) + " gives no tag") +
                   " and spec.tags is empty: add version to spec.derivedTags or list tags in spec.tags");
  }
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

const char* const kSecretNameRule =
    " is not a Secret name: lowercase letters, digits, - and ., at most 253, starting and ending with a letter or digit";
const char* const kFileInRepository =
    " is not a file inside the repository: give a path relative to spec.source.contextDir, such as Dockerfile or "
    "docker/Dockerfile.prod";

Status ParseImage(const Json& spec, ImageBuildSpec& out) {
  out.image = Str(spec, "image");
  if (out.image.empty()) {
    return Bad(Rule::kImageRequired, "image", "is required: the repository to push to, such as registry.example.com/org/app");
  }
  if (out.image.find('@') != std::string::npos) {
    return Bad(Rule::kImageDigest, "image",
               Quoted(out.image) + " carries a digest: give the repository only, such as registry.example.com/org/app");
  }
  // Before the repository grammar, which would call the tag a bad path component.
  if (const size_t slash = out.image.find('/'); slash != std::string::npos && out.image.find(':', slash) != std::string::npos) {
    return Bad(Rule::kImageTag, "image",
               Quoted(out.image) + " carries a tag: give the repository only, and tags in spec.tags or spec.version");
  }
  auto repo = oci::ParseRepository(out.image);
  if (!repo.ok()) {
    return Bad(Rule::kImageRepository, "image",
               repo.status().message() + ": give HOST[:PORT]/PATH, such as registry.example.com/org/app");
  }
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
      if (!kind) {
        return Bad(Rule::kDerivedTagUnknown, "derivedTags", Quoted(t.get<std::string>()) + " is none of version, minor, major, latest");
      }
      out.derived_tags.push_back(*kind);
    }
  }
  out.float_partial_merges = spec.value("floatPartialMerges", false);
  return DeriveReleaseTags(out).status();
}

Status ParseGit(const Json& git, ImageBuildSpec& out) {
  out.git_url = Str(git, "url");
  if (out.git_url.empty()) {
    return Bad(Rule::kGitUrlRequired, "source.git.url", "is required: the repository to build, such as https://github.com/org/app.git");
  }
  if (!grammar::IsGitUrl(out.git_url)) {
    return Bad(Rule::kGitUrlForm, "source.git.url",
               Quoted(WithoutCredentials(out.git_url)) +
                   " is not a git URL: give https://HOST/PATH, ssh://[USER@]HOST/PATH, git://HOST/PATH or USER@HOST:PATH");
  }
  out.git_revision = Str(git, "revision");
  if (!out.git_revision.empty() && !grammar::IsGitRevision(out.git_revision)) {
    return Bad(Rule::kGitRevision, "source.git.revision",
               Quoted(out.git_revision) + " is not a branch, tag or commit that git can fetch: no leading -, no spaces or "
                                          "control characters, none of ~ ^ : ? * [ \\ .. @{; such as main, v1.4.2 or a commit id");
  }
  out.git_secret = Str(git.value("secretRef", Json::object()), "name");
  if (!out.git_secret.empty() && !grammar::IsDnsSubdomain(out.git_secret)) {
    return Bad(Rule::kGitSecretName, "source.git.secretRef.name", Quoted(out.git_secret) + kSecretNameRule);
  }
  return Status::Ok();
}

Status ParseBuildArgs(const Json& spec, ImageBuildSpec& out) {
  if (!spec.contains("buildArgs") || !spec["buildArgs"].is_object()) return Status::Ok();
  for (auto it = spec["buildArgs"].begin(); it != spec["buildArgs"].end(); ++it) {
    if (!grammar::IsArgName(it.key())) {
      return Bad(Rule::kBuildArgName, "buildArgs",
                 Quoted(it.key()) + " is not a build argument name: a letter or _, then letters, digits and _ (as a "
                                    "Dockerfile's ARG declares it)");
    }
    static const std::set<std::string> kPerPlatform = {"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                                                       "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"};
    if (kPerPlatform.count(it.key())) {
      return Bad(Rule::kBuildArgPlatform, "buildArgs",
                 it.key() + " is set by the builder for each platform; one value for all would build every platform "
                            "alike: remove it");
    }
    out.build_args[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return Status::Ok();
}

Status ParseSource(const Json& spec, ImageBuildSpec& out) {
  const Json source = spec.value("source", Json::object());
  IBO_RETURN_IF_ERROR(ParseGit(source.value("git", Json::object()), out));
  out.context_dir = Str(source, "contextDir", ".");
  if (!out.context_dir.empty() && out.context_dir[0] == '/') {
    return Bad(Rule::kContextDirAbsolute, "source.contextDir",
               Quoted(out.context_dir) + " is absolute: give a path relative to the repository root, such as . or services/api");
  }
  if (!grammar::StaysInside(out.context_dir)) {
    return Bad(Rule::kContextDirLeaves, "source.contextDir",
               Quoted(out.context_dir) + " leaves the repository: give a path inside it, with no .. above its root");
  }
  out.dockerfile = Str(spec, "dockerfile", "Dockerfile");
  if (out.dockerfile.empty() || out.dockerfile[0] == '/' || !grammar::StaysInside(out.context_dir + "/" + out.dockerfile)) {
    return Bad(Rule::kDockerfilePath, "dockerfile", Quoted(out.dockerfile) + kFileInRepository);
  }
  IBO_RETURN_IF_ERROR(ParseBuildArgs(spec, out));
  out.target = Str(spec, "target");
  if (!out.target.empty() && !grammar::IsStageName(out.target)) {
    return Bad(Rule::kTargetName, "target",
               Quoted(out.target) + " is not a stage name: a letter, then letters, digits, -, _ and . (as FROM ... AS NAME "
                                    "declares it)");
  }
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
      return Bad(Rule::kMetadataKey, where, "a key must be non-empty, without spaces or '=' (such as org.opencontainers.image.title)");
    }
    if (OperatorOwnedKey(key)) {
      return Bad(Rule::kMetadataOperatorKey, where, "is set by the operator (from source.git.url, the resolved commit, version and the build's "
                        "start); remove it");
    }
    const std::string value = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    for (unsigned char c : value) {
      if (c < 0x20 || c == 0x7f) return Bad(Rule::kMetadataValue, where, "the value holds a control character (a newline?); use one line");
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
  else return Bad(Rule::kBuilderStrategy, "builder.strategy", "must be buildkit or buildah, not " + Quoted(strategy));
  out.builder_image = Str(builder, "image");
  if (!out.builder_image.empty() && !grammar::IsImageReference(out.builder_image)) {
    return Bad(Rule::kBuilderImage, "builder.image",
               Quoted(out.builder_image) + " is not an image reference NAME[:TAG][@DIGEST], such as "
                                           "moby/buildkit:v0.12.5-rootless; leave it out for the operator's default");
  }

  const std::string emulation = Str(spec, "emulation", "Never");
  if (emulation == "Never") out.emulation = Emulation::kNever;
  else if (emulation == "Fallback") out.emulation = Emulation::kFallback;
  else if (emulation == "Always") out.emulation = Emulation::kAlways;
  else return Bad(Rule::kEmulation, "emulation", "must be Never, Fallback or Always, not " + Quoted(emulation));
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

Status ParseNodeSelector(const Json& p, const std::string& field, PlatformSpec& ps) {
  if (p.contains("nodeSelector") && p["nodeSelector"].is_object()) {
    for (auto it = p["nodeSelector"].begin(); it != p["nodeSelector"].end(); ++it) {
      ps.node_selector[it.key()] = it.value().get<std::string>();
    }
  }
  for (const auto& [key, value] : ps.node_selector) {
    if (key == "kubernetes.io/os" || key == "kubernetes.io/arch") {
      return Bad(Rule::kNodeSelectorPlatformKey, field + ".nodeSelector",
                 key + " comes from .platform (" + ps.platform + "): remove it from nodeSelector");
    }
    if (!grammar::IsLabelKey(key)) {
      return Bad(Rule::kNodeSelectorKey, field + ".nodeSelector",
                 Quoted(key) + " is not a label key: [PREFIX/]NAME, NAME up to 63 letters, digits, -, _ and . starting and "
                               "ending with a letter or digit, PREFIX a DNS subdomain");
    }
    if (!grammar::IsLabelValue(value)) {
      return Bad(Rule::kNodeSelectorValue, field + ".nodeSelector",
                 "the value " + Quoted(value) + " of " + key + " is not a label value: up to 63 letters, digits, -, _ and ., "
                 "starting and ending with a letter or digit, or empty");
    }
  }
  return Status::Ok();
}

// What the Pod API would refuse in a toleration, said before any pod is made.
Status CheckTolerations(const Json& tolerations, const std::string& field) {
  if (!tolerations.is_array()) return Status::Ok();
  for (size_t j = 0; j < tolerations.size(); ++j) {
    const Json& t = tolerations[j];
    const std::string at = field + ".tolerations[" + std::to_string(j) + "]";
    const std::string key = Str(t, "key"), op = Str(t, "operator"), value = Str(t, "value"), effect = Str(t, "effect");
    if (!key.empty() && !grammar::IsLabelKey(key)) {
      return Bad(Rule::kTolerationKey, at + ".key", Quoted(key) + " is not a taint key: [PREFIX/]NAME, as label keys are");
    }
    if (key.empty() && op != "Exists") {
      return Bad(Rule::kTolerationEmptyKey, at + ".operator",
                 "must be Exists when key is empty (which tolerates every taint): set key, or set operator Exists");
    }
    if (op == "Exists" && !value.empty()) {
      return Bad(Rule::kTolerationExistsValue, at + ".value",
                 "must be empty with operator Exists, which matches every value: remove value, or set operator Equal");
    }
    if (op != "Exists" && !grammar::IsLabelValue(value)) {
      return Bad(Rule::kTolerationValue, at + ".value",
                 Quoted(value) + " is not a taint value: up to 63 letters, digits, -, _ and ., starting and ending with a "
                                 "letter or digit");
    }
    if (t.is_object() && t.contains("tolerationSeconds") && !t["tolerationSeconds"].is_null() && effect != "NoExecute") {
      return Bad(Rule::kTolerationSecondsEffect, at + ".tolerationSeconds",
                 "applies only to effect NoExecute (how long a pod stays on a node tainted so): remove it, or set effect "
                 "NoExecute");
    }
  }
  return Status::Ok();
}

// Nesting of a JSON value, walked without recursion: this is where a hostile document is measured.
int DepthOf(const Json& root) {
  int deepest = 0;
  std::vector<std::pair<const Json*, int>> todo{{&root, root.is_structured() ? 1 : 0}};
  while (!todo.empty()) {
    auto [j, depth] = todo.back();
    todo.pop_back();
    deepest = std::max(deepest, depth);
    if (j->is_structured()) {
      for (const auto& child : *j) todo.push_back({&child, child.is_structured() ? depth + 1 : depth});
    }
  }
  return deepest;
}

// A core/v1 Affinity is 9 levels deep at most (podAntiAffinity, preferred..., [], podAffinityTerm,
// labelSelector, matchExpressions, [], values, with the Affinity itself); 16 leaves room for
// what Kubernetes may add. Deeper is hostile, or cut by the decoder (json_parse.h).
constexpr int kMaxAffinityDepth = 16;

Status CheckAffinity(const Json& affinity, const std::string& field) {
  if (affinity.is_null()) return Status::Ok();
  if (DepthOf(affinity) > kMaxAffinityDepth) {
    return Bad(Rule::kAffinityDepth, field + ".affinity",
               "is nested deeper than " + std::to_string(kMaxAffinityDepth) +
                   " levels, and a core/v1 Affinity needs at most 9: give nodeAffinity, podAffinity and podAntiAffinity as "
                   "the Pod API defines them");
  }
  if (!affinity.is_object()) return Status::Ok();  // the schema says object
  for (const auto& [key, value] : affinity.items()) {
    if (key != "nodeAffinity" && key != "podAffinity" && key != "podAntiAffinity") {
      return Bad(Rule::kAffinityKey, field + ".affinity",
                 Quoted(key) + " is not part of a core/v1 Affinity, and the Pod API would drop it: use nodeAffinity, "
                               "podAffinity or podAntiAffinity");
    }
    if (!value.is_object()) {
      return Bad(Rule::kAffinityShape, field + ".affinity." + key, "must be an object, as the Pod API defines " + key);
    }
  }
  return Status::Ok();
}

bool IsContainerResource(const std::string& name) {
  if (name == "cpu" || name == "memory" || name == "ephemeral-storage") return true;
  if (name.starts_with("hugepages-")) return grammar::Quantity(Json(name.substr(10))).has_value();
  return name.find('/') != std::string::npos && grammar::IsLabelKey(name);  // an extended resource
}

std::string QuantityText(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Status CheckResources(const Json& resources, const std::string& field) {
  if (!resources.is_object()) return Status::Ok();
  for (const char* which : {"limits", "requests"}) {
    const Json& list = resources.value(which, Json::object());
    if (!list.is_object()) continue;
    for (const auto& [name, value] : list.items()) {
      const std::string at = field + ".resources." + which;
      if (!IsContainerResource(name)) {
        return Bad(Rule::kResourceName, at,
                   Quoted(name) + " is not a resource a container can ask for: cpu, memory, ephemeral-storage, "
                                  "hugepages-<size> or an extended resource DOMAIN/NAME");
      }
      const auto amount = grammar::Quantity(value);
      if (!amount) return Bad(Rule::kResourceQuantity, at + "." + name, Quoted(QuantityText(value)) + " is not a quantity such as 500m, 2Gi or 4");
      if (*amount < 0) return Bad(Rule::kResourceNegative, at + "." + name, Quoted(QuantityText(value)) + " is negative: give 0 or more");
    }
  }
  const Json& limits = resources.value("limits", Json::object());
  const Json& requests = resources.value("requests", Json::object());
  if (!limits.is_object() || !requests.is_object()) return Status::Ok();
  for (const auto& [name, request] : requests.items()) {
    if (!limits.contains(name)) continue;
    if (*grammar::Quantity(request) > *grammar::Quantity(limits[name])) {
      return Bad(Rule::kResourceRequestAboveLimit, field + ".resources.requests." + name,
                 Quoted(QuantityText(request)) + " is more than its limit " + Quoted(QuantityText(limits[name])) +
                     ", so no pod could start: raise resources.limits." + name + " or lower the request");
    }
  }
  return Status::Ok();
}

StatusOr<PlatformSpec> ParsePlatform(const Json& p, const std::string& field) {
  PlatformSpec ps;
  ps.platform = Str(p, "platform");
  auto parsed = oci::ParsePlatform(ps.platform);
  if (!parsed.ok()) {
    return Bad(Rule::kPlatformForm, field + ".platform", Quoted(ps.platform) + " is not os/arch[/variant], such as linux/amd64 or linux/arm/v7");
  }
  ps.os = parsed->os;
  ps.arch = parsed->architecture;
  ps.variant = parsed->variant;
  if (ps.os != "linux") {
    return Bad(Rule::kPlatformOs, field + ".platform",
               Quoted(ps.platform) + ": only linux platforms can be built (BuildKit and buildah build Linux images)");
  }
  if (!ps.variant.empty() && !KnownVariant(ps.arch, ps.variant)) {
    return Bad(Rule::kPlatformVariant, field + ".platform",
               Quoted(ps.platform) + ": " + ps.arch + " has no variant " + ps.variant + " (amd64: v2, v3, v4; arm64: v8; arm: v5, v6, v7)");
  }
  ps.dockerfile = Str(p, "dockerfile");
  IBO_RETURN_IF_ERROR(ParseNodeSelector(p, field, ps));
  if (p.contains("tolerations")) ps.tolerations = p["tolerations"];
  IBO_RETURN_IF_ERROR(CheckTolerations(ps.tolerations, field));
  if (p.contains("affinity")) ps.affinity = p["affinity"];
  IBO_RETURN_IF_ERROR(CheckAffinity(ps.affinity, field));
  if (p.contains("resources")) ps.resources = p["resources"];
  IBO_RETURN_IF_ERROR(CheckResources(ps.resources, field));
  return ps;
}

// With emulation Always one pod builds every platform, from the first platform's Dockerfile, and
// with several platforms without any platform's sizing: what a platform asks for otherwise would
// be ignored. (Its placement is ignored too, on any Linux node; that is not refused.)
Status CheckEmulatedGroup(const ImageBuildSpec& out) {
  if (out.emulation != Emulation::kAlways) return Status::Ok();
  const auto dockerfile = [&](const PlatformSpec& p) { return p.dockerfile.empty() ? out.dockerfile : p.dockerfile; };
  const std::string remedy = ": remove it, or set spec.emulation Never or Fallback";
  for (size_t i = 0; i < out.platforms.size(); ++i) {
    const PlatformSpec& p = out.platforms[i];
    const std::string field = "platforms[" + std::to_string(i) + "]";
    if (dockerfile(p) != dockerfile(out.platforms[0])) {
      return Bad(Rule::kEmulatedDockerfiles, field + ".dockerfile",
                 Quoted(dockerfile(p)) + " differs from spec.platforms[0]'s " + Quoted(dockerfile(out.platforms[0])) +
                     ", and with spec.emulation Always one pod builds every platform from one Dockerfile: give every "
                     "platform the same, or set emulation Never or Fallback");
    }
    if (!p.resources.is_null() && out.platforms.size() > 1) {
      return Bad(Rule::kEmulatedResources, field + ".resources",
                 "has no effect with spec.emulation Always and several platforms: their one emulated pod takes no "
                 "platform's sizing" + remedy);
    }
  }
  return Status::Ok();
}

Status ParsePlatforms(const Json& spec, ImageBuildSpec& out) {
  if (!spec.contains("platforms") || !spec["platforms"].is_array() || spec["platforms"].empty()) {
    return Bad(Rule::kPlatformsRequired, "platforms", "at least one platform is required, such as - platform: linux/amd64");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < spec["platforms"].size(); ++i) {
    const std::string field = "platforms[" + std::to_string(i) + "]";
    auto ps = ParsePlatform(spec["platforms"][i], field);
    if (!ps.ok()) return ps.status();
    if (!seen.insert(ps->platform).second) {
      return Bad(Rule::kPlatformDuplicate, field + ".platform", Quoted(ps->platform) + " is listed twice: list each platform once");
    }
    if (!ps->dockerfile.empty() && (ps->dockerfile[0] == '/' || !grammar::StaysInside(out.context_dir + "/" + ps->dockerfile))) {
      return Bad(Rule::kPlatformDockerfilePath, field + ".dockerfile", Quoted(ps->dockerfile) + kFileInRepository);
    }
    out.platforms.push_back(std::move(ps).value());
  }
  return CheckEmulatedGroup(out);
}

Status ParseBuildSecrets(const Json& spec, ImageBuildSpec& out) {
  if (!spec.contains("buildSecrets") || !spec["buildSecrets"].is_array()) return Status::Ok();
  for (size_t i = 0; i < spec["buildSecrets"].size(); ++i) {
    const Json& s = spec["buildSecrets"][i];
    const std::string field = "buildSecrets[" + std::to_string(i) + "]";
    BuildSecret bs{Str(s, "id"), Str(s.value("secretRef", Json::object()), "name"), Str(s.value("secretRef", Json::object()), "key")};
    if (bs.id.empty() || bs.secret_name.empty() || bs.key.empty()) {
      return Bad(Rule::kBuildSecretFields, field,
                 "needs id, secretRef.name and secretRef.key: the id a RUN --mount=type=secret,id=ID uses, and the Secret "
                 "and key that hold it");
    }
    if (bs.id == "." || bs.id == "..") {
      return Bad(Rule::kBuildSecretId, field + ".id",
                 Quoted(bs.id) + " names no file, and the secret is mounted as /run/secrets/ID: use letters, digits, _, - "
                                 "and . other than . or ..");
    }
    if (!grammar::IsDnsSubdomain(bs.secret_name)) {
      return Bad(Rule::kBuildSecretName, field + ".secretRef.name", Quoted(bs.secret_name) + kSecretNameRule);
    }
    out.build_secrets.push_back(bs);
  }
  return Status::Ok();
}

Status ParseRegistryAccess(const Json& spec, ImageBuildSpec& out) {
  const Json cache = spec.value("cache", Json::object());
  out.cache_repository = Str(cache, "repository");
  out.cache_disabled = cache.value("disabled", false);
  if (!out.cache_repository.empty()) {
    auto cache_repo = oci::ParseRepository(out.cache_repository);
    if (!cache_repo.ok()) {
      return Bad(Rule::kCacheRepository, "cache.repository",
                 cache_repo.status().message() + ": give HOST[:PORT]/PATH, such as registry.example.com/org/app-cache");
    }
  }
  out.push_secret = Str(spec.value("pushSecretRef", Json::object()), "name");
  if (!out.push_secret.empty() && !grammar::IsDnsSubdomain(out.push_secret)) {
    return Bad(Rule::kPushSecretName, "pushSecretRef.name", Quoted(out.push_secret) + kSecretNameRule);
  }
  IBO_RETURN_IF_ERROR(ParseBuildSecrets(spec, out));
  out.service_account = Str(spec, "serviceAccountName");
  if (!out.service_account.empty() && !grammar::IsDnsSubdomain(out.service_account)) {
    return Bad(Rule::kServiceAccountName, "serviceAccountName",
               Quoted(out.service_account) + " is not a ServiceAccount name: lowercase letters, digits, - and ., at most "
                                             "253, starting and ending with a letter or digit");
  }
  return Status::Ok();
}

Status ParseLifecycle(const Json& spec, ImageBuildSpec& out) {
  for (auto [field, target] : {std::pair{"timeout", &out.timeout}, std::pair{"schedulingTimeout", &out.scheduling_timeout}}) {
    const std::string text = Str(spec, field);
    if (text.empty()) continue;
    auto d = ParseDuration(text);
    if (!d.ok() || d->count() <= 0) {
      return Bad(Rule::kDurationNotPositive, field, Quoted(text) + " is not a positive duration: give one such as 30m, 1h or 1h30m");
    }
    if (*d < std::chrono::seconds(1)) {
      return Bad(Rule::kDurationUnderASecond, field, Quoted(text) + " is under a second, and the operator counts whole seconds: give 1s or more");
    }
    if (*d > std::chrono::hours(24 * 30)) {
      return Bad(Rule::kDurationOver30Days, field, Quoted(text) + " is longer than 30 days: give 720h or less");
    }
    *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  out.retries = spec.value("retries", 1);
  if (out.retries < 0 || out.retries > 10) {
    return Bad(Rule::kRetriesRange, "retries", "must be between 0 and 10, not " + std::to_string(out.retries));
  }
  const std::string policy = Str(spec, "failurePolicy", "AllPlatforms");
  if (policy == "AllPlatforms") out.failure_policy = FailurePolicy::kAllPlatforms;
  else if (policy == "AvailablePlatforms") out.failure_policy = FailurePolicy::kAvailablePlatforms;
  else return Bad(Rule::kFailurePolicy, "failurePolicy", "must be AllPlatforms or AvailablePlatforms, not " + Quoted(policy));
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
      return Bad(Rule::kSigningSecretName, "signing.keySecretRef.name", "is required: a Secret holding a PEM ECDSA P-256 private key");
    }
    const bool key_valid = !signing.key.empty() && std::all_of(signing.key.begin(), signing.key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!key_valid) {
      return Bad(Rule::kSigningKey, "signing.keySecretRef.key", "\"" + signing.key + "\" is not a Secret key ([-._a-zA-Z0-9]+)");
    }
    out.signing = signing;
  }
  const Json provenance = spec.value("attestations", Json::object()).value("provenance", Json());
  if (provenance.is_null()) return Status::Ok();
  const std::string mode = Str(provenance, "mode", "max");
  if (mode == "min") out.provenance = ProvenanceMode::kMin;
  else if (mode == "max") out.provenance = ProvenanceMode::kMax;
  else return Bad(Rule::kProvenanceMode, "attestations.provenance.mode", "must be min or max, not \"" + mode + "\"");
  if (out.strategy != Strategy::kBuildKit) {
    return Bad(Rule::kProvenanceStrategy, "attestations.provenance", "needs builder.strategy buildkit: buildah makes no provenance attestation");
  }
  return Status::Ok();
}

// "spec: <what>" for the whole spec.
Status BadSpec(Rule rule, const std::string& what) {
  Status s = InvalidArgument("spec: " + what);
  s.add_cause({kRules[static_cast<size_t>(rule)].spec_rule.id, "spec", what});
  return s;
}

StatusOr<ImageBuildSpec> ParseSpecFields(const Json& spec) {
  if (!spec.is_object()) {
    return BadSpec(Rule::kSpecMissing, "is missing: an ImageBuild needs at least spec.image, spec.source.git.url and spec.platforms");
  }
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
    return BadSpec(Rule::kWrongType, std::string("a field has the wrong type (") + e.what() +
                                         "): was the object written without the CRD's schema? Compare it with "
                                         "crds/imagebuild.io_imagebuilds.yaml");
  }
}

const std::vector<SpecRule>& SpecRules() {
  static const std::vector<SpecRule> rules = [] {
    std::vector<SpecRule> out;
    for (const auto& entry : kRules) out.push_back(entry.spec_rule);
    return out;
  }();
  return rules;
}

}  // namespace ibo::api
