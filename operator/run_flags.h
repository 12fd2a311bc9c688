// The flags of `imagebuild-operator run`: one table parses them, prints --help and carries the
// defaults.
#pragma once

#include <string>
#include <vector>

#include "common/flag_table.h"
#include "common/status.h"
#include "controller/build_pods.h"

namespace ibo::operator_main {

struct RunFlags {
  std::string kubeconfig;
  std::vector<std::string> namespaces;
  bool leader_elect = false;
  std::string leader_election_id;
  std::string leader_election_namespace;  // empty: $POD_NAMESPACE, else default
  int workers = 0;
  double qps = 0;
  int burst = 0;
  int request_timeout_seconds = 0;
  int watch_timeout_seconds = 0;
  int resync_period_seconds = 0;  // 0: never
  std::string kube_api_content_type;  // how pods are listed and watched
  std::string user_agent;  // every request's User-Agent: tells replicas apart in the audit log
  std::string log_format, log_level;
  std::string metrics_address, probe_address;  // "0": off
  controller::OperatorSettings settings;
  std::string registry_ca_file;
  bool help = false;
};

// The table, bound to the fields of `f`.
flags::FlagTable RunFlagTable(RunFlags& f);
// `imagebuild-operator run --help`.
std::string RunHelp();
// The arguments after `run`, defaults first. An error's message is the one line to print after
// "imagebuild-operator run: ".
StatusOr<RunFlags> ParseRunFlags(const std::vector<std::string>& args);

}  // namespace ibo::operator_main
