// imagebuild-operator: the single binary behind the controller (`run`), the merge pod (`merge`)
// and `version`.
#include <malloc.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "merge/merge_command.h"
#include "operator/run_command.h"

namespace {

constexpr const char* kUsage =
    "usage: imagebuild-operator <command> [flags]\n"
    "\n"
    "commands:\n"
    "  run       run the ImageBuild controller\n"
    "  merge     push the image index of per-platform images under every tag\n"
    "  version   print the version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  // No fastbins (tcache still serves small blocks): with them, every allocation of a kilobyte or
  // more (a response body, a packed object) first consolidated them, 6 % of the operator's CPU.
  mallopt(M_MXFAST, 0);
  // Two arenas, not eight per core: the threads mostly wait on I/O, and each arena kept its own
  // free pages (a third of the RSS at 30,000 cached objects was slack).
  mallopt(M_ARENA_MAX, 2);
  // Blocks of 1 MiB and more (a List page's body) always come from mmap and go back when freed;
  // glibc's sliding threshold would otherwise move them onto the heap, where they stay.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  const std::string command = argv[1];
  if (command == "version") {
    if (argc > 2 && (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")) {
      std::cout << "Usage: imagebuild-operator version\n\nPrints the operator's version and exits.\n";
      return 0;
    }
    if (argc > 2) {
      std::cerr << "imagebuild-operator version: unexpected argument \"" << argv[2] << "\" (version takes none)\n";
      return 2;
    }
    std::cout << "imagebuild-operator " << IBO_VERSION << "\n";
    return 0;
  }
  if (command == "run") {
    return ibo::operator_main::RunOperatorCommand(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
  }
  if (command == "merge") {
    return ibo::merge::RunMergeCommand(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
  }
  std::cerr << "imagebuild-operator: unknown command \"" << command << "\" (see --help)\n";
  return 2;
}
