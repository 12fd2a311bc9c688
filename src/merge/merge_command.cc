#include "merge/merge_command.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "common/file_error.h"
#include "common/flag_table.h"
#include "common/oci_reference.h"
#include "http/http_transport.h"
#include "registry/docker_config.h"

namespace ibo::merge {

namespace {

constexpr const char* kDefaultTerminationLog = "/dev/termination-log";

constexpr const char* kSynopsis =
    "usage: imagebuild-operator merge --repository HOST[:PORT]/PATH\n"
    "         --platform-digest OS/ARCH[/VARIANT]=sha256:<hex> ... --tag TAG ...\n"
    "         [--floating-tag TAG... --version SEMVER] [--annotation KEY=VALUE]...\n"
    "         [--registry-config FILE] [--ca-file FILE] [--insecure-registry HOST[:PORT]]...\n"
    "         [--signing-key FILE] [--termination-log FILE] [--timeout SECONDS]\n"
    "\n"
    "Verifies each platform's image (pushed by digest) and pushes their image index under every\n"
    "tag, then reads each tag back. A floating tag stays where it is when the index it holds names a\n"
    "higher version. With --signing-key, the index and every manifest it lists are signed in cosign's\n"
    "format (tag sha256-<hex>.sig) before any tag is pushed. Prints the index digest as the last line;\n"
    "the termination log gets the report (the digest, the signature, the floating tags held back).\n";

void WriteTerminationLog(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

flags::Setter PlatformDigestFlag(std::vector<PlatformDigest>* inputs) {
  return [inputs](const std::string&, const std::string& value) -> Status {
    const auto eq = value.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--platform-digest \"" + value + "\": expected OS/ARCH[/VARIANT]=sha256:<hex>");
    }
    IBO_ASSIGN_OR_RETURN(oci::Platform platform, oci::ParsePlatform(value.substr(0, eq)));
    inputs->push_back({platform, value.substr(eq + 1)});
    return Status::Ok();
  };
}

flags::Setter AnnotationFlag(std::map<std::string, std::string>* annotations) {
  return [annotations](const std::string&, const std::string& value) -> Status {
    const auto eq = value.find('=');
    if (eq == std::string::npos || eq == 0) return InvalidArgument("--annotation \"" + value + "\": expected KEY=VALUE");
    (*annotations)[value.substr(0, eq)] = value.substr(eq + 1);
    return Status::Ok();
  };
}

flags::Setter Seconds(std::chrono::seconds* field) {
  return [field](const std::string&, const std::string& value) {
    char* end = nullptr;
    const long seconds = std::strtol(value.c_str(), &end, 10);
    if (end == value.c_str() || *end != '\0' || seconds <= 0) {
      return InvalidArgument("--timeout \"" + value + "\": expected a positive number of seconds");
    }
    *field = std::chrono::seconds(seconds);
    return Status::Ok();
  };
}

// `merge` words its usage errors without the "flag " of `run`, and takes no positional argument.
flags::FlagTable MergeFlagTable(MergeFlags& f) {
  using namespace flags;
  return FlagTable(
      {
          {"--repository", "HOST[:PORT]/PATH", "", "", Text(&f.repository)},
          {"--platform-digest", "OS/ARCH[/VARIANT]=sha256:<hex>", "may name one multi-platform index for several platforms",
           "", PlatformDigestFlag(&f.request.inputs), true},
          {"--tag", "TAG", "", "", Append(&f.request.tags), true},
          {"--floating-tag", "TAG", "moved only to an equal or higher --version (repeatable)", "",
           Append(&f.request.floating_tags), true},
          {"--version", "SEMVER", "this release's version, judged against what floating tags hold", "",
           Text(&f.request.version)},
          {"--annotation", "KEY=VALUE", "an annotation of the index (repeatable)", "", AnnotationFlag(&f.request.annotations),
           true},
          {"--registry-config", "FILE", "docker config.json or .dockerconfigjson (default $DOCKER_CONFIG/config.json)", "",
           Text(&f.registry_config)},
          {"--ca-file", "FILE", "PEM bundle to trust instead of the system store", "", Text(&f.ca_file)},
          {"--signing-key", "FILE", "PEM ECDSA P-256 private key (PKCS#8 or SEC1, unencrypted) to sign with", "",
           Text(&f.signing_key)},
          {"--insecure-registry", "HOST[:PORT]", "use plain HTTP for this registry (repeatable)", "",
           Append(&f.insecure_registries), true},
          {"--termination-log", "FILE", "where to write the report or the error (default /dev/termination-log)", "",
           Text(&f.termination_log)},
          {"--timeout", "SECONDS", "", "60", Seconds(&f.timeout)},
      },
      {.unknown_hint = "", .needs_value_prefix = "", .reject_positional = true, .help_ends_parsing = false});
}

// The key file is read whole and parsed; neither its path's contents nor OpenSSL's errors about
// them reach any message.
StatusOr<SigningKey> LoadSigningKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileReadError("--signing-key", path, errno);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto key = SigningKey::FromPem(pem, "--signing-key " + path);
  std::fill(pem.begin(), pem.end(), '\0');
  return key;
}

}  // namespace

std::string MergeUsage() {
  MergeFlags unused;
  return kSynopsis + MergeFlagTable(unused).Help({.column = 25, .placeholders = false, .undocumented = false});
}

StatusOr<MergeFlags> ParseMergeFlags(const std::vector<std::string>& args) {
  MergeFlags flags;
  IBO_RETURN_IF_ERROR(MergeFlagTable(flags).Parse(args, &flags.help));
  if (flags.help) return flags;
  if (flags.repository.empty()) return InvalidArgument("--repository is required");
  IBO_RETURN_IF_ERROR(oci::ParseRepository(flags.repository).status());
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
    out << MergeUsage();
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
  options.repository = *oci::ParseRepository(flags->repository);
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
  if (!tls.ca_file.empty() && !std::ifstream(tls.ca_file)) {
    return fail(FileReadError("--ca-file", tls.ca_file, errno));  // missing, or not readable by this uid
  }
  if (!flags->signing_key.empty()) {
    auto key = LoadSigningKey(flags->signing_key);
    if (!key.ok()) return fail(key.status());
    flags->request.signing_key = std::make_shared<const SigningKey>(std::move(*key));
    flags->request.docker_reference = options.repository.ToString();
  }
  std::shared_ptr<http::Transport> transport = http::NewTransport(tls);
  auto client = registry::NewRegistryClient(options, transport);

  auto result = Merge(*client, flags->request);
  if (!result.ok()) return fail(result.status());
  for (const auto& tag : result->tags_updated) out << "pushed " << flags->repository << ":" << tag << "\n";
  for (const auto& tag : result->tags_unchanged) out << "unchanged " << flags->repository << ":" << tag << "\n";
  for (const auto& held : result->report.held) out << "held " << flags->repository << ":" << held.tag << ": " << held.reason << "\n";
  if (!result->report.signature_digest.empty()) {
    out << "signed " << flags->repository << "@" << result->index.digest << " with key " << result->report.key_fingerprint
        << ": signature manifest " << result->report.signature_digest << " (" << result->signatures_pushed
        << " signature manifests written)\n";
  }
  out << result->index.digest << "\n";
  WriteTerminationLog(termination_log, api::FormatMergeReport(result->report));
  return 0;
}

}  // namespace ibo::merge
