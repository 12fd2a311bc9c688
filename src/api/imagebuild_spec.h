// Parsing and validation of the ImageBuild spec beyond what the CRD schema checks, and the tag
// rule (semver version -> vX.Y.Z, vX.Y, latest). Messages name the field and how to fix it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "api/imagebuild.h"
#include "common/status.h"

namespace ibo::api {

// Reads and checks spec; the error message says which field is wrong and how to fix it. Its first
// cause names the rule that refused (reason: the rule's id; field: the field's path).
StatusOr<ImageBuildSpec> ParseImageBuildSpec(const Json& spec);

// Every rule ParseImageBuildSpec checks. tests/bad_input/ holds an ImageBuild per rule with its
// exact message (semantic/: the CRD schema lets it through; schema/: the schema refuses it first,
// so only an object written without the schema reaches the rule), and a test fails for a rule
// without one.
struct SpecRule {
  const char* id;
  bool schema_stops;  // the CRD schema refuses such input before the operator sees it
};
const std::vector<SpecRule>& SpecRules();

// "1h", "10m", "90s", "1h30m", "250ms" (Go's time.ParseDuration subset).
StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text);

// A release's tags: `exact` always move (the version's own tag and spec.tags); `floating` (vX.Y,
// vX, latest) move only to an equal or higher version, never for a prerelease.
struct ReleaseTags {
  std::vector<std::string> exact;
  std::vector<std::string> floating;
  std::vector<std::string> all;  // every tag, in the order they are listed in status

  bool operator==(const ReleaseTags&) const = default;
};
StatusOr<ReleaseTags> DeriveReleaseTags(const std::string& version, const std::vector<DerivedTag>& derive,
                                        const std::vector<std::string>& extra);
StatusOr<ReleaseTags> DeriveReleaseTags(const ImageBuildSpec& spec);

// The tags to push: from the version (full X.Y.Z -> X.Y.Z, X.Y, latest with the v prefix kept as
// given; a prerelease only its own tag; +build metadata dropped), then spec.tags; checked against
// the OCI tag grammar, duplicates removed, order kept.
StatusOr<std::vector<std::string>> DeriveTags(const std::string& version, const std::vector<std::string>& extra);

}  // namespace ibo::api
