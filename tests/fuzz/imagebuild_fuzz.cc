// The ImageBuild decoder and spec validator (api/imagebuild.h, api/imagebuild_spec.h): any JSON the
// API server may hand the informer, including shapes the CRD schema would refuse. The status must
// also survive its own round trip: encoding what was decoded, decoding and encoding it again gives
// the same JSON. A spec that was cut for depth is never valid.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/imagebuild.h"
#include "api/imagebuild_spec.h"
#include "common/json_parse.h"

using ibo::api::Json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As the informer gets it: through the depth-capped parse, which cuts what is too deep.
  auto parsed = ibo::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size), ibo::TooDeep::kReplace);
  if (!parsed.ok()) return 0;
  const Json doc = std::move(parsed).value();
  const ibo::api::ImageBuild build = ibo::api::DecodeImageBuild(doc);
  (void)ibo::api::ParseImageBuildSpec(doc);  // the document itself as a spec
  if (build.spec_error.ok() && build.spec.platforms.empty()) std::abort();
  if (build.spec_error.ok() && doc.dump().find(ibo::kTooDeepMarker) != std::string::npos) {
    for (const auto& p : build.spec.platforms) if (p.affinity.dump().find(ibo::kTooDeepMarker) != std::string::npos) std::abort();
  }

  const Json once = build.status;
  ibo::api::ImageBuildStatus again;
  from_json(once, again);
  const Json twice = again;
  if (once != twice) std::abort();
  (void)once.dump();
  return 0;
}
