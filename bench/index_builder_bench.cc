// How long building and hashing an index takes, for a growing number of platforms.
#include <benchmark/benchmark.h>

#include "merge/index_builder.h"
#include "registry/digest.h"
#include "registry/media_types.h"

namespace {

void BM_BuildIndex(benchmark::State& state) {
  std::vector<ibo::merge::PlatformImage> images;
  for (int i = 0; i < state.range(0); ++i) {
    ibo::registry::Platform platform{"linux", "arch" + std::to_string(i), "", "", {}};
    const std::string bytes = "manifest " + std::to_string(i);
    ibo::registry::Manifest image{std::string(ibo::registry::media_type::kOciManifest),
                                  ibo::registry::Sha256Digest(bytes), bytes};
    images.push_back({platform, ibo::merge::ImageDescriptor(image, platform), {}});
  }
  for (auto _ : state) benchmark::DoNotOptimize(ibo::merge::BuildIndex(images));
}
BENCHMARK(BM_BuildIndex)->Arg(2)->Arg(8)->Arg(32);

}  // namespace
