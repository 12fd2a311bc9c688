#include "merge/merge_command.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "http/http_transport.h"
#include "registry/docker_config.h"
#include "registry/reference.h"

namespace ibo::merge {

const char* const kMergeUsage =
    "usage: imagebuild-operator merge --repository HOST[:PORT]/PATH\n"
    "         --platform-digest OS/ARCH[/VARIANT]=sha256:<hex> ... --tag TAG ...\n"
    "         [--registry-config FILE] [--ca-file FILE] [--insecure-registry HOST[:PORT]]...\n"
    "         [--termination-log FILE] [--timeout SECONDS]\n"
    "\n"
    "Verifies each platform's image (pushed by digest) and pushes their image index under every\n"
    "tag, then reads each tag back. Prints the index digest as the last line.\n"
    "  --platform-digest      may name one multi-platform index for several platforms\n"
    "  --registry-config      docker config.json or .dockerconfigjson (default $DOCKER_CONFIG/config.json)\n"
    "  --ca-file              PEM bundle to trust instead of the system store\n"
    "  --insecure-registry    use plain HTTP for this registry (repeatable)\n"
    "  --termination-log      where to write the digest or the error (default /dev/termination-log)\n";

namespace {

constexpr const char* kDefaultTerminationLog = "/dev/termination-log";

void WriteTerminationLog(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

}  // namespace

StatusOr<MergeFlags> ParseMergeFlags(const std::vector<std::string>& args) {
  MergeFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name == "--help" || name == "-h") {
      flags.help = true;
      continue;
    }
    if (!name.starts_with("--")) return InvalidArgument("unexpected argument \"" + name + "\"");
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgument(name + " needs a value");
    }
    if (name == "--repository") {
      flags.repository = value;
    } else if (name == "--platform-digest") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) {
        return InvalidArgument("--platform-digest \"" + value + "\": expected OS/ARCH[/VARIANT]=sha256:<hex>");
      }
      IBO_ASSIGN_OR_RETURN(registry::Platform platform, registry::ParsePlatform(value.substr(0, eq)));
      flags.request.inputs.push_back({platform, value.substr(eq + 1)});
    } else if (name == "--tag") {
      flags.request.tags.push_back(value);
    } else if (name == "--registry-config") {
      flags.registry_config = value;
    } else if (name == "--ca-file") {
      flags.ca_file = value;
    } else if (name == "--insecure-registry") {
      flags.insecure_registries.push_back(value);
    } else if (name == "--termination-log") {
      flags.termination_log = value;
    } else if (name == "--timeout") {
      char* end = nullptr;
      const long seconds = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || seconds <= 0) {
        return InvalidArgument("--timeout \"" + value + "\": expected a positive number of seconds");
      }
      flags.timeout = std::chrono::seconds(seconds);
    } else {
      return InvalidArgument("unknown flag " + name);
    }
  }
  if (flags.help) return flags;
  if (flags.repository.empty()) return InvalidArgument("--repository is required");
  IBO_RETURN_IF_ERROR(registry::ParseRepository(flags.repository).status());
  IBO_RETURN_IF_ERROR(ValidateRequest(flags.request));
  return flags;
}

int RunMergeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto flags = ParseMergeFlags(args);
  if (!flags.ok()) {
    err << "merge: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help) {
    out << kMergeUsage;
    return 0;
  }
  std::string termination_log = flags->termination_log;
  if (termination_log.empty() && std::filesystem::exists(kDefaultTerminationLog)) {
    termination_log = kDefaultTerminationLog;
  }
  auto fail = [&](const Status& status) {
    err << "merge: " << status.message() << "\n";
    WriteTerminationLog(termination_log, status.message() + "\n");
    return 1;
  };

  registry::RegistryOptions options;
  options.repository = *registry::ParseRepository(flags->repository);
  options.timeout = flags->timeout;
  const auto& insecure = flags->insecure_registries;
  options.plain_http = std::find(insecure.begin(), insecure.end(), options.repository.host) != insecure.end();

  // An explicit config must be readable; the default one is optional.
  std::string config_path = flags->registry_config;
  const bool explicit_config = !config_path.empty();
  if (!explicit_config) config_path = registry::DefaultDockerConfigPath();
  if (explicit_config || std::filesystem::exists(config_path)) {
    auto config = registry::DockerConfig::Load(config_path);
    if (!config.ok()) return fail(config.status());
    options.credentials = config->For(options.repository.host);
  }

  http::TlsOptions tls;
  tls.ca_file = flags->ca_file;
  if (!tls.ca_file.empty() && !std::filesystem::exists(tls.ca_file)) {
    return fail(NotFound("--ca-file " + tls.ca_file + " does not exist"));
  }
  std::shared_ptr<http::Transport> transport = http::NewTransport(tls);
  auto client = registry::NewRegistryClient(options, transport);

  auto result = Merge(*client, flags->request);
  if (!result.ok()) return fail(result.status());
  for (const auto& tag : result->tags_updated) out << "pushed " << flags->repository << ":" << tag << "\n";
  for (const auto& tag : result->tags_unchanged) out << "unchanged " << flags->repository << ":" << tag << "\n";
  out << result->index.digest << "\n";
  WriteTerminationLog(termination_log, result->index.digest);
  return 0;
}

}  // namespace ibo::merge
