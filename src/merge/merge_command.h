// `imagebuild-operator merge`: its flags and the command run by the merge pod. Prints the index
// digest as its last line and writes it to the termination log; otherwise one clear error line.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "merge/merge.h"

namespace ibo::merge {

struct MergeFlags {
  std::string repository;
  MergeRequest request;
  std::string registry_config;  // empty: $DOCKER_CONFIG/config.json when it exists
  std::string ca_file;
  std::string signing_key;  // PEM ECDSA P-256 private key file; empty: nothing is signed
  std::vector<std::string> insecure_registries;
  std::string termination_log;  // empty: /dev/termination-log when it exists
  std::chrono::seconds timeout{};  // default: the flag table's
  bool help = false;
};

// `imagebuild-operator merge --help`.
std::string MergeUsage();

// The arguments after `merge`; --flag value and --flag=value are both accepted.
StatusOr<MergeFlags> ParseMergeFlags(const std::vector<std::string>& args);
// Returns the process exit code: 0 on success, 1 when the merge failed, 2 on a usage error.
int RunMergeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ibo::merge
