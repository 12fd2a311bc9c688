// The ImageBuild API (imagebuild.io/v1alpha1) as typed objects: metadata, the spec as the
// controller reads it, and the whole status schema. A reader learns the status from this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/time_format.h"

namespace ibo::api {

using Json = nlohmann::json;
using Timestamp = std::optional<SystemTime>;  // absent fields stay absent

inline constexpr const char* kGroup = "imagebuild.io";
inline constexpr const char* kApiVersion = "imagebuild.io/v1alpha1";
inline constexpr const char* kKind = "ImageBuild";

struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 1;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  Timestamp creation_timestamp;
  bool deleting = false;  // metadata.deletionTimestamp is set

  bool operator==(const ObjectMeta&) const = default;
};

// ---- spec -------------------------------------------------------------------------------------

struct BuildSecret {
  std::string id;
  std::string secret_name;
  std::string key;

  bool operator==(const BuildSecret&) const = default;
};

struct PlatformSpec {
  std::string platform;  // os/arch[/variant]
  std::string os, arch, variant;
  std::string dockerfile;  // empty: spec.dockerfile
  std::map<std::string, std::string> node_selector;
  // core/v1 shapes passed to the pod as written.
  Json tolerations = Json::array();
  Json affinity;
  Json resources;
  // os-arch[-variant], for labels and names.
  std::string Slug() const;

  bool operator==(const PlatformSpec&) const = default;
};

enum class Emulation { kNever, kFallback, kAlways };
// The tags a version gives: vX.Y.Z, vX.Y, vX, latest (the v prefix as the version has it).
enum class DerivedTag { kVersion, kMinor, kMajor, kLatest };
enum class FailurePolicy { kAllPlatforms, kAvailablePlatforms };
enum class Strategy { kBuildKit, kBuildah };
// spec.attestations.provenance.mode: BuildKit's SLSA provenance attestation, none by default.
enum class ProvenanceMode { kNone, kMin, kMax };

// spec.signing: the merge signs the index (and every manifest it lists) in cosign's format with
// the PEM ECDSA P-256 private key in this Secret; only the merge pod mounts it.
struct SigningSpec {
  std::string secret_name;
  std::string key = "cosign.key";

  bool operator==(const SigningSpec&) const = default;
};

struct ImageBuildSpec {
  std::string image;  // repository, no tag or digest
  std::string version;
  std::vector<std::string> tags;  // explicit
  std::string git_url, git_revision, git_secret;
  std::string context_dir = ".";
  std::string dockerfile = "Dockerfile";
  std::map<std::string, std::string> build_args;
  std::string target;
  // spec.labels and spec.annotations: added to every platform image (config labels, manifest
  // annotations); the annotations also to the index.
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<PlatformSpec> platforms;
  Strategy strategy = Strategy::kBuildKit;
  std::string builder_image;
  Emulation emulation = Emulation::kNever;
  std::string cache_repository;
  bool cache_disabled = false;
  std::string push_secret;
  std::vector<BuildSecret> build_secrets;
  std::string service_account;
  std::chrono::seconds timeout{3600};
  std::chrono::seconds scheduling_timeout{600};
  int retries = 1;
  FailurePolicy failure_policy = FailurePolicy::kAllPlatforms;
  std::optional<int64_t> ttl_seconds_after_finished;
  std::vector<DerivedTag> derived_tags = {DerivedTag::kVersion, DerivedTag::kMinor, DerivedTag::kLatest};
  bool float_partial_merges = false;  // a merge lacking platforms moves floating tags too
  std::optional<SigningSpec> signing;
  ProvenanceMode provenance = ProvenanceMode::kNone;

  bool operator==(const ImageBuildSpec&) const = default;
};

// ---- status -----------------------------------------------------------------------------------

enum class BuildPhase { kPending, kBuilding, kMerging, kSucceeded, kFailed };
enum class PlatformPhase { kPending, kBuilding, kSucceeded, kFailed, kCancelled };

// The reasons of the Ready, Reconciling and Stalled conditions.
enum class Reason {
  kQueued,
  kBuilding,
  kNoNodesForPlatform,
  kMerging,
  kSucceeded,
  kPartiallySucceeded,
  kInvalidSpec,
  kBuildFailed,
  kMergeFailed,
  kTimedOut,
  kSuperseded,
  kProgressing,  // Stalled=False while the build goes on
};

const char* BuildPhaseName(BuildPhase phase);
const char* PlatformPhaseName(PlatformPhase phase);
const char* ReasonName(Reason reason);
std::optional<BuildPhase> ParseBuildPhase(const std::string& text);
std::optional<PlatformPhase> ParsePlatformPhase(const std::string& text);

inline bool IsFinished(PlatformPhase p) { return p == PlatformPhase::kSucceeded || p == PlatformPhase::kFailed; }
inline bool IsFinished(BuildPhase p) { return p == BuildPhase::kSucceeded || p == BuildPhase::kFailed; }

// metav1.Condition. Reasons are free CamelCase on the wire; ours are ReasonName()s.
struct Condition {
  std::string type;
  std::string status;  // True, False or Unknown
  std::string reason;
  std::string message;
  std::optional<int64_t> observed_generation;
  Timestamp last_transition_time;

  bool operator==(const Condition&) const = default;
};

// status.platforms[]: one entry per spec.platforms entry, in spec order.
struct PlatformStatus {
  std::string platform;
  PlatformPhase phase = PlatformPhase::kPending;
  int attempt = 1;
  std::string pod_name;
  std::string node_name;
  std::string digest;
  std::string message;
  Timestamp start_time;          // the first attempt's start
  Timestamp attempt_start_time;  // this attempt's start
  Timestamp completion_time;
  Timestamp next_attempt_time;  // set while backing off before a retry
  bool emulated = false;        // emulation: Fallback switched this platform to QEMU

  bool operator==(const PlatformStatus&) const = default;
};

// status.mergePodName, mergeStartTime, mergeAttempt and nextMergeTime.
struct MergeStatus {
  std::string pod_name;
  Timestamp start_time;
  std::optional<int> attempt;
  Timestamp next_time;  // set while backing off before another merge attempt

  bool operator==(const MergeStatus&) const = default;
};

// status.source: the commit spec.source.git.revision named when the build started. Every
// platform and every retry builds this commit, however the branch moves meanwhile.
struct SourceStatus {
  std::string revision;  // as the spec named it
  std::string commit;    // empty until resolved
  std::string pod_name;  // the resolve pod, when one was needed
  std::optional<int> attempt;
  Timestamp next_time;  // set while backing off before another resolve attempt

  bool operator==(const SourceStatus&) const = default;
};

// A floating tag the merge left where it was.
struct HeldBackTag {
  std::string tag;
  std::string reason;

  bool operator==(const HeldBackTag&) const = default;
};

// status.manifest.signature: the index's cosign signature, and the key that made it.
struct SignatureStatus {
  std::string digest;           // of the signature manifest (tag sha256-<index hex>.sig)
  std::string key_fingerprint;  // sha256:<hex> of the public key's DER SubjectPublicKeyInfo
  SigningSpec key_secret_ref;   // the Secret it came from: a change of it signs again

  bool operator==(const SignatureStatus&) const = default;
};

// status.manifest: the pushed index.
struct ManifestStatus {
  std::string digest;
  std::string short_digest;
  std::string reference;  // image@digest
  std::string media_type;
  std::vector<std::string> tags;  // the tags that point at this index
  std::vector<std::string> platforms;
  std::vector<HeldBackTag> held_back;                // floating tags left where they were, and why
  std::vector<std::string> moved_from_unversioned;  // floating tags taken off an index with no version
  std::optional<SignatureStatus> signature;          // set when spec.signing signed the index

  bool operator==(const ManifestStatus&) const = default;
};

struct ImageBuildStatus {
  std::optional<int64_t> observed_generation;
  std::optional<BuildPhase> phase;  // absent until the operator first wrote a status
  std::string build_id;
  std::string build_identity;              // BuildIdentity() of the spec this build builds
  std::optional<int64_t> build_generation;  // the generation it started at (names its pods)
  Timestamp start_time;  // when the build left the queue
  Timestamp completion_time;
  SourceStatus source;
  MergeStatus merge;
  std::vector<PlatformStatus> platforms;
  std::optional<ManifestStatus> manifest;
  std::vector<Condition> conditions;

  BuildPhase PhaseOrPending() const { return phase.value_or(BuildPhase::kPending); }
  const Condition* FindCondition(const std::string& type) const;
  PlatformStatus* FindPlatform(const std::string& platform);

  bool operator==(const ImageBuildStatus&) const = default;
};

struct ImageBuild {
  ObjectMeta metadata;
  ImageBuildSpec spec;  // meaningful only when spec_error is OK
  Status spec_error;    // what validation of spec found wrong, naming the field
  std::string identity;  // BuildIdentity() of the spec as stored, with the rebuild token
  ImageBuildStatus status;
};

// ---- JSON -------------------------------------------------------------------------------------

// Empty strings and unset optionals are left out: kube-apiserver 1.20 built with Go 1.16 or
// later refuses empty strings in custom resources (kubernetes#99804), and absent reads the same.
void to_json(Json& j, const ImageBuildStatus& status);
// Tolerant of older statuses (missing fields) and of wrong shapes, which read as absent.
void from_json(const Json& j, ImageBuildStatus& status);

ObjectMeta DecodeObjectMeta(const Json& metadata);
// The whole object: metadata and status decode leniently; the spec is parsed and validated,
// with the problem kept in spec_error.
ImageBuild DecodeImageBuild(const Json& object);

}  // namespace ibo::api
