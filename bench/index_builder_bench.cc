// How long building and hashing an index takes, for a growing number of platforms.
#include <benchmark/benchmark.h>

#include "common/oci_digest.h"
#include "common/oci_media_types.h"
#include "merge/index_builder.h"

namespace {

void BM_BuildIndex(benchmark::State& state) {
  std::vector<ibo::merge::PlatformImage> images;
  for (int i = 0; i < state.range(0); ++i) {
    ibo::oci::Platform platform{"linux", "arch" + std::to_string(i), "", "", {}};
    const std::string bytes = "manifest " + std::to_string(i);
    ibo::registry::Manifest image{std::string(ibo::oci::media_type::kOciManifest),
                                  ibo::oci::Sha256Digest(bytes), bytes};
    images.push_back({platform, ibo::merge::ImageDescriptor(image, platform), {}});
  }
  for (auto _ : state) benchmark::DoNotOptimize(ibo::merge::BuildIndex(images));
}
BENCHMARK(BM_BuildIndex)->Arg(2)->Arg(8)->Arg(32);

}  // namespace
