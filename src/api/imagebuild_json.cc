// JSON encoding of the ImageBuild status, and lenient decoding of metadata and status.
#include <algorithm>

#include "api/imagebuild.h"
#include "api/imagebuild_spec.h"
#include "api/json_fields.h"
#include "api/names.h"
#include "api/spec_fields.h"
#include "common/enum_names.h"

namespace ibo::api {
namespace {

using namespace json_fields;

constexpr std::pair<BuildPhase, const char*> kBuildPhases[] = {
    {BuildPhase::kPending, "Pending"}, {BuildPhase::kBuilding, "Building"}, {BuildPhase::kMerging, "Merging"},
    {BuildPhase::kSucceeded, "Succeeded"}, {BuildPhase::kFailed, "Failed"}};
constexpr std::pair<PlatformPhase, const char*> kPlatformPhases[] = {
    {PlatformPhase::kPending, "Pending"}, {PlatformPhase::kBuilding, "Building"},
    {PlatformPhase::kSucceeded, "Succeeded"}, {PlatformPhase::kFailed, "Failed"},
    {PlatformPhase::kCancelled, "Cancelled"}};
constexpr std::pair<Reason, const char*> kReasons[] = {
    {Reason::kQueued, "Queued"}, {Reason::kBuilding, "Building"}, {Reason::kNoNodesForPlatform, "NoNodesForPlatform"},
    {Reason::kMerging, "Merging"}, {Reason::kSucceeded, "Succeeded"}, {Reason::kPartiallySucceeded, "PartiallySucceeded"},
    {Reason::kInvalidSpec, "InvalidSpec"}, {Reason::kBuildFailed, "BuildFailed"}, {Reason::kMergeFailed, "MergeFailed"},
    {Reason::kTimedOut, "TimedOut"}, {Reason::kSuperseded, "Superseded"}, {Reason::kProgressing, "Progressing"}};

Timestamp Time(const Json& j, const char* key) {
  const std::string text = Str(j, key);
  if (text.empty()) return std::nullopt;
  auto t = ParseTime(text);
  return t.ok() ? Timestamp(*t) : std::nullopt;
}

void PutString(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

void PutTime(Json& j, const char* key, const Timestamp& t) {
  if (t) j[key] = FormatTime(*t);
}

Json Encode(const Condition& c) {
  Json j = {{"type", c.type}, {"status", c.status}};
  PutString(j, "reason", c.reason);
  PutString(j, "message", c.message);
  if (c.observed_generation) j["observedGeneration"] = *c.observed_generation;
  PutTime(j, "lastTransitionTime", c.last_transition_time);
  return j;
}

Condition DecodeCondition(const Json& j) {
  return {Str(j, "type"), Str(j, "status"), Str(j, "reason"), Str(j, "message"), Int<int64_t>(j, "observedGeneration"),
          Time(j, "lastTransitionTime")};
}

Json Encode(const PlatformStatus& p) {
  Json j = {{"platform", p.platform}, {"phase", PlatformPhaseName(p.phase)}, {"attempt", p.attempt}};
  PutString(j, "podName", p.pod_name);
  PutString(j, "nodeName", p.node_name);
  PutString(j, "digest", p.digest);
  PutString(j, "message", p.message);
  PutTime(j, "startTime", p.start_time);
  PutTime(j, "attemptStartTime", p.attempt_start_time);
  PutTime(j, "completionTime", p.completion_time);
  PutTime(j, "nextAttemptTime", p.next_attempt_time);
  if (p.emulated) j["emulated"] = true;
  return j;
}

PlatformStatus DecodePlatform(const Json& j) {
  PlatformStatus p;
  p.platform = Str(j, "platform");
  p.phase = ParsePlatformPhase(Str(j, "phase")).value_or(PlatformPhase::kPending);
  p.attempt = std::max(1, Int<int>(j, "attempt").value_or(1));
  p.pod_name = Str(j, "podName");
  p.node_name = Str(j, "nodeName");
  p.digest = Str(j, "digest");
  p.message = Str(j, "message");
  p.start_time = Time(j, "startTime");
  p.attempt_start_time = Time(j, "attemptStartTime");
  p.completion_time = Time(j, "completionTime");
  p.next_attempt_time = Time(j, "nextAttemptTime");
  p.emulated = Bool(j, "emulated");
  return p;
}

Json Encode(const ManifestStatus& m) {
  Json j = Json::object();
  PutString(j, "digest", m.digest);
  PutString(j, "shortDigest", m.short_digest);
  PutString(j, "reference", m.reference);
  PutString(j, "mediaType", m.media_type);
  j["tags"] = m.tags;
  j["platforms"] = m.platforms;
  for (const auto& h : m.held_back) {
    Json entry = {{"tag", h.tag}};
    PutString(entry, "reason", h.reason);
    j["heldBack"].push_back(entry);
  }
  if (!m.moved_from_unversioned.empty()) j["movedFromUnversioned"] = m.moved_from_unversioned;
  if (m.signature) {
    Json sig = Json::object();
    PutString(sig, "digest", m.signature->digest);
    PutString(sig, "keyFingerprint", m.signature->key_fingerprint);
    Json ref = Json::object();
    PutString(ref, "name", m.signature->key_secret_ref.secret_name);
    PutString(ref, "key", m.signature->key_secret_ref.key);
    sig["keySecretRef"] = ref;
    j["signature"] = sig;
  }
  return j;
}

Json Encode(const SourceStatus& s) {
  Json j = Json::object();
  PutString(j, "revision", s.revision);
  PutString(j, "commit", s.commit);
  PutString(j, "podName", s.pod_name);
  if (s.attempt) j["attempt"] = *s.attempt;
  PutTime(j, "nextAttemptTime", s.next_time);
  return j;
}

SourceStatus DecodeSource(const Json& j) {
  return {Str(j, "revision"), Str(j, "commit"), Str(j, "podName"), Int<int>(j, "attempt"), Time(j, "nextAttemptTime")};
}

ManifestStatus DecodeManifest(const Json& j) {
  ManifestStatus m{Str(j, "digest"), Str(j, "shortDigest"), Str(j, "reference"), Str(j, "mediaType"),
                   Strings(Field(j, "tags")), Strings(Field(j, "platforms")), {}, Strings(Field(j, "movedFromUnversioned"))};
  if (Field(j, "heldBack").is_array()) {
    for (const auto& h : Field(j, "heldBack")) m.held_back.push_back({Str(h, "tag"), Str(h, "reason")});
  }
  if (const Json& sig = Field(j, "signature"); sig.is_object()) {
    const Json& ref = Field(sig, "keySecretRef");
    m.signature = SignatureStatus{Str(sig, "digest"), Str(sig, "keyFingerprint"), {Str(ref, "name"), Str(ref, "key")}};
  }
  return m;
}

}  // namespace

const char* BuildPhaseName(BuildPhase phase) { return NameOf(kBuildPhases, phase); }
const char* PlatformPhaseName(PlatformPhase phase) { return NameOf(kPlatformPhases, phase); }
const char* ReasonName(Reason reason) { return NameOf(kReasons, reason); }
std::optional<BuildPhase> ParseBuildPhase(const std::string& text) { return ValueOf(kBuildPhases, text); }
std::optional<PlatformPhase> ParsePlatformPhase(const std::string& text) { return ValueOf(kPlatformPhases, text); }

const Condition* ImageBuildStatus::FindCondition(const std::string& type) const {
  for (const auto& c : conditions) if (c.type == type) return &c;
  return nullptr;
}

PlatformStatus* ImageBuildStatus::FindPlatform(const std::string& platform) {
  for (auto& p : platforms) if (p.platform == platform) return &p;
  return nullptr;
}

void to_json(Json& j, const ImageBuildStatus& s) {
  j = Json::object();
  if (s.observed_generation) j["observedGeneration"] = *s.observed_generation;
  if (s.phase) j["phase"] = BuildPhaseName(*s.phase);
  PutString(j, "buildID", s.build_id);
  PutString(j, "buildIdentity", s.build_identity);
  if (s.build_generation) j["buildGeneration"] = *s.build_generation;
  PutTime(j, "startTime", s.start_time);
  PutTime(j, "completionTime", s.completion_time);
  if (!s.source.revision.empty() || !s.source.commit.empty()) j["source"] = Encode(s.source);
  PutString(j, "mergePodName", s.merge.pod_name);
  PutTime(j, "mergeStartTime", s.merge.start_time);
  if (s.merge.attempt) j["mergeAttempt"] = *s.merge.attempt;
  PutTime(j, "nextMergeTime", s.merge.next_time);
  j["platforms"] = Json::array();
  for (const auto& p : s.platforms) j["platforms"].push_back(Encode(p));
  if (s.manifest) j["manifest"] = Encode(*s.manifest);
  j["conditions"] = Json::array();
  for (const auto& c : s.conditions) j["conditions"].push_back(Encode(c));
}

void from_json(const Json& j, ImageBuildStatus& s) {
  s = {};
  s.observed_generation = Int<int64_t>(j, "observedGeneration");
  s.phase = ParseBuildPhase(Str(j, "phase"));
  s.build_id = Str(j, "buildID");
  s.build_identity = Str(j, "buildIdentity");
  s.build_generation = Int<int64_t>(j, "buildGeneration");
  s.start_time = Time(j, "startTime");
  s.completion_time = Time(j, "completionTime");
  if (Field(j, "source").is_object()) s.source = DecodeSource(Field(j, "source"));
  s.merge = {Str(j, "mergePodName"), Time(j, "mergeStartTime"), Int<int>(j, "mergeAttempt"), Time(j, "nextMergeTime")};
  for (const auto& p : Field(j, "platforms").is_array() ? Field(j, "platforms") : Json::array()) {
    s.platforms.push_back(DecodePlatform(p));
  }
  if (Field(j, "manifest").is_object()) s.manifest = DecodeManifest(Field(j, "manifest"));
  for (const auto& c : Field(j, "conditions").is_array() ? Field(j, "conditions") : Json::array()) {
    s.conditions.push_back(DecodeCondition(c));
  }
}

ObjectMeta DecodeObjectMeta(const Json& m) {
  ObjectMeta meta;
  meta.name = Str(m, "name");
  meta.namespace_ = Str(m, "namespace");
  meta.uid = Str(m, "uid");
  meta.resource_version = Str(m, "resourceVersion");
  meta.generation = Int<int64_t>(m, "generation").value_or(1);
  meta.labels = StringMap(Field(m, "labels"));
  meta.annotations = StringMap(Field(m, "annotations"));
  meta.creation_timestamp = Time(m, "creationTimestamp");
  meta.deleting = m.is_object() && m.contains("deletionTimestamp");
  return meta;
}

ImageBuild DecodeImageBuild(const Json& object) {
  ImageBuild ib;
  ib.metadata = DecodeObjectMeta(Field(object, "metadata"));
  const Json& raw_spec = Field(object, "spec").is_null() ? Json::object() : Field(object, "spec");
  auto token = ib.metadata.annotations.find(labels::kRebuildAnnotation);
  ib.identity = BuildIdentity(raw_spec, token == ib.metadata.annotations.end() ? "" : token->second);
  auto spec = ParseImageBuildSpec(raw_spec);
  if (spec.ok()) ib.spec = std::move(spec).value();
  else ib.spec_error = spec.status();
  from_json(Field(object, "status"), ib.status);
  return ib;
}

}  // namespace ibo::api
