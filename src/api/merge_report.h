// What the merge pod reports through its termination message (4 KiB at most, by Kubernetes):
//   line 1:  the index digest, sha256:<hex>
//   line 2:  "signature <digest> <fingerprint>" when the merge signed the index: the signature
//            manifest's digest and the key's (sha256 of its public DER SubjectPublicKeyInfo)
//   then:    "held <tag> <reason>" for a floating tag kept where it was,
//            "unversioned <tag>" for a floating tag moved off an index that named no version.
// Every other requested tag points at the index. A message of the digest alone (older merge
// images) is a report with nothing held.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace ibo::api {

inline constexpr size_t kTerminationMessageLimit = 4096;

struct HeldTag {
  std::string tag;
  std::string reason;

  bool operator==(const HeldTag&) const = default;
};

struct MergeReport {
  std::string digest;
  std::vector<HeldTag> held;
  std::vector<std::string> unversioned;
  std::string signature_digest;  // empty: not signed
  std::string key_fingerprint;

  bool operator==(const MergeReport&) const = default;
};

// Reasons are cut, and past the limit the last lines left out, so that the report always fits
// the termination message; the digest and the signature lines come first and always stay.
std::string FormatMergeReport(const MergeReport& report);
StatusOr<MergeReport> ParseMergeReport(const std::string& text);

}  // namespace ibo::api
