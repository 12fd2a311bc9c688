// The ImageBuild decoder and spec validator (api/imagebuild.h, api/imagebuild_spec.h): any JSON the
// API server may hand the informer, including shapes the CRD schema would refuse. The status must
// also survive its own round trip: encoding what was decoded, decoding and encoding it again gives
// the same JSON.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/imagebuild.h"
#include "api/imagebuild_spec.h"

using ibo::api::Json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Json doc = Json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  const ibo::api::ImageBuild build = ibo::api::DecodeImageBuild(doc);
  (void)ibo::api::ParseImageBuildSpec(doc);  // the document itself as a spec
  if (build.spec_error.ok() && build.spec.platforms.empty()) std::abort();

  const Json once = build.status;
  ibo::api::ImageBuildStatus again;
  from_json(once, again);
  const Json twice = again;
  if (once != twice) std::abort();
  (void)once.dump();
  return 0;
}
