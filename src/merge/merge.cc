#include "merge/merge.h"

#include <future>
#include <map>
#include <set>

#include "common/oci_media_types.h"
#include "common/oci_reference.h"
#include "common/semver.h"
#include "merge/cosign_signature.h"
#include "merge/index_builder.h"

namespace ibo::merge {
namespace {

namespace mt = oci::media_type;

// Runs fn(item) for every item concurrently; the results in the same order.
template <typename T, typename Fn>
auto ForEachConcurrently(const std::vector<T>& items, Fn fn) {
  using R = decltype(fn(items.front()));
  std::vector<std::future<R>> futures;
  futures.reserve(items.size());
  for (const T& item : items) futures.push_back(std::async(std::launch::async, fn, std::cref(item)));
  std::vector<R> results;
  results.reserve(items.size());
  for (auto& f : futures) results.push_back(f.get());
  return results;
}

Status FirstError(const std::vector<Status>& statuses) {
  for (const auto& s : statuses) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Checks one platform's image manifest against its config, which it fetches.
StatusOr<PlatformImage> VerifyImage(registry::RegistryClient& client, const oci::Platform& declared,
                                    const registry::Manifest& image) {
  const std::string where = "platform " + declared.ToString() + ": manifest " + image.digest;
  if (!mt::IsImageManifest(image.media_type)) {
    return FailedPrecondition(where + " is " + (image.media_type.empty() ? "of no known type" : image.media_type) +
                              ", not an image manifest");
  }
  auto config_digest = ConfigDigestOf(image);
  if (!config_digest.ok()) return config_digest.status().Annotate("platform " + declared.ToString());
  auto config = client.GetBlob(*config_digest);
  if (!config.ok()) return config.status().Annotate(where + ": config");
  auto platform = PlatformFromConfig(*config);
  if (!platform.ok()) return platform.status().Annotate(where + ": config " + *config_digest);
  if (!oci::SamePlatform(*platform, declared)) {
    return FailedPrecondition(where + " is built for " + platform->ToString() + ", not " + declared.ToString());
  }
  return PlatformImage{declared, ImageDescriptor(image, *platform), {}};
}

// An input that is an index: the declared platform's manifest from it, with its attestations.
StatusOr<PlatformImage> VerifyFromIndex(registry::RegistryClient& client, const oci::Platform& declared,
                                        const registry::Manifest& index) {
  const std::string where = "platform " + declared.ToString();
  auto selection = SelectPlatform(index, declared);
  if (!selection.ok()) return selection.status().Annotate(where);
  const auto digest_member = selection->descriptor.find("digest");  // value() throws on a non-string
  const std::string digest =
      digest_member != selection->descriptor.end() && digest_member->is_string() ? digest_member->get<std::string>() : "";
  if (!oci::ValidateDigest(digest).ok()) {
    return FailedPrecondition(where + ": index " + index.digest + " has an entry with an invalid digest");
  }
  auto image = client.GetManifest(digest);
  if (!image.ok()) return image.status().Annotate(where + ": in index " + index.digest);
  IBO_ASSIGN_OR_RETURN(PlatformImage verified, VerifyImage(client, declared, *image));
  verified.attestations = std::move(selection->attestations);
  return verified;
}

// Where a floating tag may go: registries have no conditional write, so the merge reads what the
// tag holds now (merges into one repository are serialized by the controller).
struct FloatingDecision {
  std::string held_reason;  // non-empty: leave the tag where it is
  bool unversioned = false;  // moved off an index that named no version
};

StatusOr<FloatingDecision> DecideFloatingTag(registry::RegistryClient& client, const std::string& tag,
                                             const std::string& version) {
  const auto ours = ParseSemver(version);
  if (ours->IsPrerelease()) return FloatingDecision{"a prerelease (" + version + ") moves no floating tag", false};
  auto current = client.GetManifest(tag);
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) return FloatingDecision{};
    return current.status().Annotate("tag " + tag);
  }
  const std::string held = IndexAnnotation(current->bytes, kVersionAnnotation);
  const auto theirs = ParseSemver(held);
  if (held.empty() || !theirs) return FloatingDecision{"", true};
  if (CompareSemver(*theirs, *ours) > 0) {
    return FloatingDecision{"holds " + held + ", newer than " + version, false};
  }
  return FloatingDecision{};
}

// Pushes every tag not already at the index.
Status PushTags(registry::RegistryClient& client, MergeResult& result, const std::vector<std::string>& tags) {
  const auto pushed = ForEachConcurrently(tags, [&](const std::string& tag) -> StatusOr<bool> {
    auto current = client.HeadManifest(tag);
    if (current.ok() && *current == result.index.digest) return false;
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status().Annotate("checking tag " + tag);
    }
    auto put = client.PutManifest(tag, result.index);
    if (!put.ok()) return put.status().Annotate("pushing the index to tag " + tag);
    return true;
  });
  for (size_t i = 0; i < pushed.size(); ++i) {
    if (!pushed[i].ok()) return pushed[i].status();
    (*pushed[i] ? result.tags_updated : result.tags_unchanged).push_back(tags[i]);
  }
  return Status::Ok();
}

// Signs every manifest the index lists (as `cosign sign --recursive` does: containers/image
// checks the signature of the platform image it copies), then the index itself.
Status SignAll(registry::RegistryClient& client, const MergeRequest& request, MergeResult& result) {
  std::vector<std::string> children;
  const auto doc = nlohmann::json::parse(result.index.bytes);
  for (const auto& entry : doc["manifests"]) children.push_back(entry["digest"].get<std::string>());
  const auto sign = [&](const std::string& digest) {
    return SignManifest(client, *request.signing_key, request.docker_reference, digest);
  };
  const auto signed_children = ForEachConcurrently(children, sign);
  for (const auto& s : signed_children) {
    if (!s.ok()) return s.status();
    result.signatures_pushed += s->pushed ? 1 : 0;
  }
  IBO_ASSIGN_OR_RETURN(SignatureResult index, sign(result.index.digest));
  result.signatures_pushed += index.pushed ? 1 : 0;
  result.report.signature_digest = index.digest;
  result.report.key_fingerprint = request.signing_key->Fingerprint();
  return Status::Ok();
}

}  // namespace

Status ValidateRequest(const MergeRequest& request) {
  if (request.inputs.empty()) return InvalidArgument("no --platform-digest given");
  if (request.tags.empty() && request.floating_tags.empty()) return InvalidArgument("no --tag given");
  if (!request.floating_tags.empty() && !ParseSemver(request.version)) {
    return InvalidArgument("--floating-tag needs --version, a semantic version such as v1.4.2");
  }
  std::set<std::string> platforms;
  for (const auto& input : request.inputs) {
    if (Status digest = oci::ValidateDigest(input.digest); !digest.ok()) {
      return digest.Annotate("platform " + input.platform.ToString());
    }
    if (!platforms.insert(oci::Normalize(input.platform).ToString()).second) {
      return InvalidArgument("platform " + input.platform.ToString() + " is given more than once");
    }
  }
  for (const auto* list : {&request.tags, &request.floating_tags}) {
    for (const auto& tag : *list) IBO_RETURN_IF_ERROR(oci::ValidateTag(tag));
  }
  if (request.signing_key && request.docker_reference.empty()) {
    return InvalidArgument("signing needs the repository the signature names");
  }
  return Status::Ok();
}

StatusOr<MergeResult> Merge(registry::RegistryClient& client, const MergeRequest& request) {
  IBO_RETURN_IF_ERROR(ValidateRequest(request));
  IBO_RETURN_IF_ERROR(client.Ping());

  // Each distinct input digest is fetched once: several platforms may name one index.
  std::vector<std::string> digests;
  for (const auto& input : request.inputs) {
    if (std::find(digests.begin(), digests.end(), input.digest) == digests.end()) digests.push_back(input.digest);
  }
  const auto fetched = ForEachConcurrently(digests, [&](const std::string& d) { return client.GetManifest(d); });
  std::map<std::string, const StatusOr<registry::Manifest>*> by_digest;
  for (size_t i = 0; i < digests.size(); ++i) by_digest[digests[i]] = &fetched[i];

  const auto verified = ForEachConcurrently(request.inputs, [&](const PlatformDigest& input) -> StatusOr<PlatformImage> {
    const auto& manifest = *by_digest.at(input.digest);
    if (!manifest.ok()) return manifest.status().Annotate("platform " + input.platform.ToString());
    if (mt::IsIndex(manifest->media_type)) return VerifyFromIndex(client, input.platform, *manifest);
    return VerifyImage(client, input.platform, *manifest);
  });
  std::vector<PlatformImage> images;
  for (const auto& v : verified) {
    if (!v.ok()) return v.status();
    images.push_back(*v);
  }

  MergeResult result;
  result.index = BuildIndex(std::move(images), request.annotations);
  result.report.digest = result.index.digest;

  // Floating tags first decide whether they move; then every tag that moves is pushed.
  std::vector<std::string> to_push = request.tags;
  const auto floating = ForEachConcurrently(request.floating_tags, [&](const std::string& tag) {
    return DecideFloatingTag(client, tag, request.version);
  });
  for (size_t i = 0; i < floating.size(); ++i) {
    if (!floating[i].ok()) return floating[i].status();
    const FloatingDecision& f = *floating[i];
    if (!f.held_reason.empty()) {
      result.report.held.push_back({request.floating_tags[i], f.held_reason});
      continue;
    }
    if (f.unversioned) result.report.unversioned.push_back(request.floating_tags[i]);
    to_push.push_back(request.floating_tags[i]);
  }
  // Every check has passed: sign, and only then push the tags, so that no tag ever names an
  // index whose signature is missing.
  if (request.signing_key) IBO_RETURN_IF_ERROR(SignAll(client, request, result));
  IBO_RETURN_IF_ERROR(PushTags(client, result, to_push));

  // Read every tag back: the registry must serve the index we built under each of them.
  const auto read_back = ForEachConcurrently(to_push, [&](const std::string& tag) -> Status {
    auto manifest = client.GetManifest(tag);
    if (!manifest.ok()) return manifest.status().Annotate("reading back tag " + tag);
    if (manifest->digest != result.index.digest) {
      return FailedPrecondition("tag " + tag + " reads back as " + manifest->digest + ", not the pushed " +
                                result.index.digest);
    }
    return Status::Ok();
  });
  IBO_RETURN_IF_ERROR(FirstError(read_back));
  return result;
}

}  // namespace ibo::merge
