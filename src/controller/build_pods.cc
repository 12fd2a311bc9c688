#include "controller/build_pods.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/shell_quote.h"
#include "common/url_escape.h"

namespace ibo::controller {
namespace {

using api::ConfigMapName;
using api::HashHex;
using api::NameLabel;
using api::Strategy;
namespace labels = api::labels;

constexpr const char* kWorkspace = "/workspace";
constexpr const char* kPushConfigDir = "/etc/imagebuild/push";
constexpr const char* kRegistryConfigDir = "/etc/imagebuild/registry";
constexpr const char* kBuildSecretsDir = "/run/secrets/imagebuild";
constexpr int kMergeUser = 65532;  // nonroot in operator/Dockerfile
constexpr const char* kSigningKeyDir = "/etc/imagebuild/signing";  // the merge pod's only

Json OwnerReference(const api::ObjectMeta& owner) {
  return {{"apiVersion", api::kApiVersion},
          {"kind", api::kKind},
          {"name", owner.name},
          {"uid", owner.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

Json Metadata(const BuildContext& ctx, const std::string& name, const std::string& role) {
  const std::string& ib_name = ctx.owner.name;
  return {{"name", name},
          {"namespace", ctx.owner.namespace_},
          {"labels",
           {{labels::kName, NameLabel(ib_name)},
            {labels::kBuildId, ctx.build_id},
            {labels::kRole, role},
            {"app.kubernetes.io/managed-by", "imagebuild-operator"}}},
          {"ownerReferences", Json::array({OwnerReference(ctx.owner)})}};
}

// Asks git for credentials from the basic-auth Secret's keys, when the spec names one.
constexpr const char* kGitCredentials =
    "if [ -n \"${GIT_USERNAME:-}\" ]; then\n"
    "  git config --global credential.helper '!f() { echo username=$GIT_USERNAME; echo password=$GIT_PASSWORD; }; f'\n"
    "fi\n";

Json GitEnv(const BuildContext& ctx) {
  const auto& spec = ctx.spec;
  Json env = Json::array({{{"name", "GIT_URL"}, {"value", spec.git_url}},
                          {{"name", "GIT_REVISION"}, {"value", spec.git_revision}},
                          {{"name", "HOME"}, {"value", kWorkspace}}});
  if (!ctx.commit.empty()) env.push_back({{"name", "GIT_COMMIT"}, {"value", ctx.commit}});
  if (!spec.git_secret.empty()) {
    env.push_back({{"name", "GIT_USERNAME"},
                   {"valueFrom", {{"secretKeyRef", {{"name", spec.git_secret}, {"key", "username"}}}}}});
    env.push_back({{"name", "GIT_PASSWORD"},
                   {"valueFrom", {{"secretKeyRef", {{"name", spec.git_secret}, {"key", "password"}}}}}});
  }
  return env;
}

Json GitContainer(const BuildContext& ctx, const char* name, const std::string& script) {
  return {{"name", name},
          {"image", ctx.settings->git_image},
          {"command", {"sh", "-c", script}},
          {"env", GitEnv(ctx)},
          {"securityContext", {{"runAsUser", 1000}, {"runAsGroup", 1000}}},
          // git's own words (a ref the server does not have, a refused login) become the
          // platform's message: without this the kubelet reports only "Error".
          {"terminationMessagePolicy", "FallbackToLogsOnError"},
          {"volumeMounts", Json::array({{{"name", "workspace"}, {"mountPath", kWorkspace}}})}};
}

// Fetches the resolved commit into the workspace. Where the server refuses a commit by id
// (uploadpack.allowReachableSHA1InWant off, as with protocol v0 by default), the revision is
// fetched deeper until the commit is in it; a commit no longer in the revision's history (a
// force push) fails for good (exit 3), naming both commits.
Json GitInitContainer(const BuildContext& ctx) {
  const std::string script = std::string("set -eu\n") + kGitCredentials +
      "git init -q /workspace/src\n"
      "cd /workspace/src\n"
      "git remote add origin \"$GIT_URL\"\n"
      "rev=${GIT_REVISION:-HEAD}\n"
      "if [ -z \"${GIT_COMMIT:-}\" ]; then\n"
      // Fetching the one revision works for a branch, a tag and a full ref (refs/pull/1/head).
      "  git fetch -q --depth 1 origin \"$rev\"\n"
      "  GIT_COMMIT=$(git rev-parse 'FETCH_HEAD^{commit}')\n"
      "elif ! git fetch -q --depth 1 origin \"$GIT_COMMIT\" 2>/tmp/by-id; then\n"
      "  echo \"the server does not serve commits by id ($(tail -n1 /tmp/by-id)); fetching $rev deeper\"\n"
      "  for depth in 10 100 1000 full; do\n"
      "    if [ $depth = full ]; then\n"
      "      if [ -f .git/shallow ]; then git fetch -q --unshallow origin \"$rev\"; fi\n"
      "    else git fetch -q --depth $depth origin \"$rev\"; fi\n"
      "    git cat-file -e \"$GIT_COMMIT^{commit}\" 2>/dev/null && break\n"
      "    if [ $depth = full ]; then\n"
      "      echo \"commit $GIT_COMMIT, where $rev was when the build started, is not in $rev's history now (it is at\" \\\n"
      "        \"$(git rev-parse 'FETCH_HEAD^{commit}'): force-pushed?), and the server does not serve commits by id;\" \\\n"
      "        \"rebuild to build the new commit\" >&2\n"
      "      exit 3\n"
      "    fi\n"
      "  done\n"
      "fi\n"
      "git -c advice.detachedHead=false checkout -q --detach \"$GIT_COMMIT\"\n"
      "git rev-parse HEAD\n";
  return GitContainer(ctx, "source", script);
}

// The registry credentials and settings every pod needs; a build pod also gets the workspace the
// source is fetched into and its build secrets.
void AddCommonVolumes(const BuildContext& ctx, Json& volumes, Json& mounts, bool for_build) {
  if (for_build) {
    volumes.push_back({{"name", "workspace"}, {"emptyDir", Json::object()}});
    mounts.push_back({{"name", "workspace"}, {"mountPath", kWorkspace}});
  }
  if (!ctx.spec.push_secret.empty()) {
    volumes.push_back({{"name", "push-secret"},
                       {"secret",
                        {{"secretName", ctx.spec.push_secret},
                         {"items", Json::array({{{"key", ".dockerconfigjson"}, {"path", "config.json"}}})}}}});
    mounts.push_back({{"name", "push-secret"}, {"mountPath", kPushConfigDir}, {"readOnly", true}});
  }
  if (ctx.has_config_map) {
    volumes.push_back({{"name", "registry-config"},
                       {"configMap", {{"name", ConfigMapName(ctx.owner.name)}}}});
    mounts.push_back({{"name", "registry-config"}, {"mountPath", kRegistryConfigDir}, {"readOnly", true}});
  }
  if (for_build) {
    for (const auto& s : ctx.spec.build_secrets) {
      const std::string volume = "secret-" + HashHex(s.id, 8);
      volumes.push_back({{"name", volume},
                         {"secret",
                          {{"secretName", s.secret_name}, {"items", Json::array({{{"key", s.key}, {"path", s.id}}})}}}});
      mounts.push_back({{"name", volume},
                        {"mountPath", std::string(kBuildSecretsDir) + "/" + s.id},
                        {"subPath", s.id},
                        {"readOnly", true}});
    }
  }
}

// buildctl reads --output as one CSV record: a field with a comma or a quote is quoted.
std::string CsvField(const std::string& field) {
  if (field.find_first_of(",\"") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The HOST[:PORT] of a repository reference (its first component).
std::string RegistryHost(const std::string& repository) { return repository.substr(0, repository.find('/')); }

std::string CacheRef(const ImageBuildSpec& spec, const std::string& slug) {
  return spec.cache_repository + ":cache-" + slug;
}

}  // namespace

std::optional<Json> RegistryConfigMap(const BuildContext& ctx) {
  const auto& s = *ctx.settings;
  if (s.insecure_registries.empty() && s.registry_ca_pem.empty()) return std::nullopt;
  // One table per registry host (TOML forbids a table twice): plain HTTP for the insecure ones,
  // the operator's CA for the hosts this ImageBuild pushes to and caches at.
  std::map<std::string, std::pair<bool, bool>> hosts;  // host -> (insecure, trust the CA)
  for (const auto& host : s.insecure_registries) hosts[host].first = true;
  if (!s.registry_ca_pem.empty()) {
    hosts[RegistryHost(ctx.spec.image)].second = true;
    if (!ctx.spec.cache_repository.empty()) hosts[RegistryHost(ctx.spec.cache_repository)].second = true;
  }
  // The file replaces the image's own registries.conf: without a search registry, short names
  // such as `FROM golang:1.22` would stop resolving. docker.io is what Docker and BuildKit assume.
  std::string buildkitd, registries_conf = "unqualified-search-registries = [\"docker.io\"]\n";
  for (const auto& [host, how] : hosts) {
    buildkitd += "[registry.\"" + host + "\"]\n";
    if (how.first) {
      buildkitd += "  http = true\n  insecure = true\n";
      registries_conf += "[[registry]]\nlocation = \"" + host + "\"\ninsecure = true\n";
    }
    if (how.second) buildkitd += "  ca = [\"" + std::string(kRegistryConfigDir) + "/ca.crt\"]\n";
  }
  Json data = Json::object();
  if (!s.registry_ca_pem.empty()) data["ca.crt"] = s.registry_ca_pem;
  data["buildkitd.toml"] = buildkitd;
  data["registries.conf"] = registries_conf;
  Json metadata = Metadata(ctx, ConfigMapName(ctx.owner.name), "registry-config");
  metadata["labels"].erase(labels::kBuildId);  // shared by every build of this ImageBuild
  return Json{
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", std::move(metadata)}, {"data", std::move(data)}};
}

std::map<std::string, std::string> ImageMetadata(const BuildContext& ctx, const std::map<std::string, std::string>& user) {
  std::map<std::string, std::string> m = {{"org.opencontainers.image.source", WithoutCredentials(ctx.spec.git_url)}};
  if (!ctx.commit.empty()) m["org.opencontainers.image.revision"] = ctx.commit;
  if (!ctx.spec.version.empty()) m["org.opencontainers.image.version"] = ctx.spec.version;
  if (!ctx.created.empty()) m["org.opencontainers.image.created"] = ctx.created;
  for (const auto& [k, v] : user) m.emplace(k, v);  // validation refuses the keys above
  return m;
}

Json ResolvePod(const BuildContext& ctx, const std::string& pod_name) {
  // The ref git fetch would take for a short name, in git's own order (git-rev-parse(1)); an
  // annotated tag's commit is its peeled (^{}) entry.
  const std::string script = std::string("set -eu\n") + kGitCredentials +
      "git ls-remote \"$GIT_URL\" > /tmp/refs\n"
      "rev=${GIT_REVISION:-HEAD}\n"
      "for ref in \"$rev\" \"refs/$rev\" \"refs/tags/$rev\" \"refs/heads/$rev\" \"refs/remotes/$rev\" \"refs/remotes/$rev/HEAD\"; do\n"
      "  commit=$(awk -v r=\"$ref^{}\" '$2 == r { print $1; exit }' /tmp/refs)\n"
      "  [ -n \"$commit\" ] || commit=$(awk -v r=\"$ref\" '$2 == r { print $1; exit }' /tmp/refs)\n"
      "  if [ -n \"$commit\" ]; then\n"
      "    printf '%s' \"$commit\" > /dev/termination-log\n"
      "    echo \"$rev is $ref at $commit\"\n"
      "    exit 0\n"
      "  fi\n"
      "done\n"
      "echo \"revision $rev is no branch, tag or ref of the repository ($(wc -l < /tmp/refs) refs listed, none by that\" \\\n"
      "  \"name): fix spec.source.git.revision\" >&2\n"
      "exit 3\n";
  Json container = GitContainer(ctx, "resolve", script);
  container["resources"] = {{"requests", {{"cpu", "10m"}, {"memory", "32Mi"}}}};
  Json pod_spec = {{"restartPolicy", "Never"},
                   {"automountServiceAccountToken", false},
                   {"nodeSelector", {{"kubernetes.io/os", "linux"}}},
                   {"containers", Json::array({std::move(container)})},
                   {"volumes", Json::array({{{"name", "workspace"}, {"emptyDir", Json::object()}}})}};
  if (!ctx.spec.service_account.empty()) pod_spec["serviceAccountName"] = ctx.spec.service_account;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", Metadata(ctx, pod_name, "resolve")},
          {"spec", std::move(pod_spec)}};
}

namespace {

// What one build pod builds, whichever the strategy.
struct BuildTarget {
  std::string platform_list;  // os/arch[,os/arch...]
  std::string slug;           // for labels, cache tags and staging tags
  std::string dockerfile;
  std::string context;
  std::string builder_image;
};

// BuildKit rootless as its upstream documents for Kubernetes: no process sandbox, state in an
// emptyDir, unconfined seccomp and AppArmor.
Json BuildKitContainer(const BuildContext& ctx, const BuildTarget& t, Json& volumes, Json& mounts, Json& env,
                       Json& annotations) {
  const auto& spec = ctx.spec;
  volumes.push_back({{"name", "buildkitd"}, {"emptyDir", Json::object()}});
  mounts.push_back({{"name", "buildkitd"}, {"mountPath", "/home/user/.local/share/buildkit"}});
  env.push_back({{"name", "BUILDKITD_FLAGS"},
                 {"value", std::string("--oci-worker-no-process-sandbox") +
                               (ctx.has_config_map ? std::string(" --config ") + kRegistryConfigDir + "/buildkitd.toml" : "")}});
  Json args = {"build", "--frontend", "dockerfile.v0", "--local", "context=" + t.context, "--local",
               "dockerfile=" + t.context, "--opt", "filename=" + t.dockerfile, "--opt", "platform=" + t.platform_list};
  for (const auto& [k, v] : spec.build_args) { args.push_back("--opt"); args.push_back("build-arg:" + k + "=" + v); }
  for (const auto& [k, v] : ImageMetadata(ctx, spec.labels)) { args.push_back("--opt"); args.push_back("label:" + k + "=" + v); }
  if (!spec.target.empty()) { args.push_back("--opt"); args.push_back("target=" + spec.target); }
  if (spec.provenance != api::ProvenanceMode::kNone) {  // SLSA provenance, kept in the index by the merge
    args.push_back("--opt");
    args.push_back(std::string("attest:provenance=mode=") + (spec.provenance == api::ProvenanceMode::kMin ? "min" : "max"));
  }
  for (const auto& s : spec.build_secrets) {
    args.push_back("--secret");
    args.push_back("id=" + s.id + ",src=" + std::string(kBuildSecretsDir) + "/" + s.id);
  }
  args.push_back("--output");
  // OCI media types (BuildKit defaults to Docker's), so the merged index is an OCI index, as
  // status.manifest.mediaType records; buildah pushes OCI by default.
  std::string output = "type=image,name=" + spec.image + ",push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=true";
  for (const auto& [k, v] : ImageMetadata(ctx, spec.annotations)) output += "," + CsvField("annotation." + k + "=" + v);
  args.push_back(output);
  if (!spec.cache_repository.empty() && !spec.cache_disabled) {
    args.push_back("--import-cache");
    args.push_back("type=registry,ref=" + CacheRef(spec, t.slug));
    args.push_back("--export-cache");
    args.push_back("type=registry,ref=" + CacheRef(spec, t.slug) + ",mode=max");
  }
  args.push_back("--metadata-file");
  args.push_back("/tmp/metadata.json");
  const std::string script =
      "set -eu\n"
      "buildctl-daemonless.sh \"$@\"\n"
      "sed -n 's/.*\"containerimage.digest\": *\"\\(sha256:[0-9a-f]*\\)\".*/\\1/p' /tmp/metadata.json "
      "| head -n1 > /dev/termination-log\n"
      "cat /dev/termination-log\n";
  Json command = {"sh", "-c", script, "build"};
  for (auto& a : args) command.push_back(std::move(a));
  annotations["container.apparmor.security.beta.kubernetes.io/build"] = "unconfined";
  return {{"name", "build"},
          {"image", t.builder_image},
          {"command", std::move(command)},
          {"securityContext", {{"runAsUser", 1000}, {"runAsGroup", 1000}, {"seccompProfile", {{"type", "Unconfined"}}}}}};
}

// buildah's own storage, in an emptyDir rather than the container's writable layer (vfs copies
// every layer: a node's image filesystem would fill and be counted against the container).
constexpr const char* kBuildahStorage = "/var/lib/containers";

// buildah cannot push by digest alone (a digested reference must be known before the push, and
// the pushed manifest is only known after it): it pushes one staging tag per ImageBuild and
// platform, which each build moves, so that staging tags do not pile up in the repository.
std::string BuildahStagingRef(const BuildContext& ctx, const BuildTarget& t) {
  return ctx.spec.image + ":imagebuild-" + NameLabel(ctx.owner.name) + "-" + t.slug;
}

std::string BuildahBuildFlags(const BuildContext& ctx, const BuildTarget& t, const std::string& cert_dir) {
  const auto& spec = ctx.spec;
  std::string flags = " --storage-driver=vfs --isolation=chroot" + cert_dir + " --platform " + ShellQuote(t.platform_list) +
                      " -f " + ShellQuote(t.context + "/" + t.dockerfile);
  for (const auto& [k, v] : spec.build_args) flags += " --build-arg " + ShellQuote(k + "=" + v);
  for (const auto& [k, v] : ImageMetadata(ctx, spec.labels)) flags += " --label " + ShellQuote(k + "=" + v);
  for (const auto& [k, v] : ImageMetadata(ctx, spec.annotations)) flags += " --annotation " + ShellQuote(k + "=" + v);
  if (!spec.target.empty()) flags += " --target " + ShellQuote(spec.target);
  for (const auto& s : spec.build_secrets) {
    flags += " --secret " + ShellQuote("id=" + s.id + ",src=" + std::string(kBuildSecretsDir) + "/" + s.id);
  }
  if (!spec.cache_repository.empty() && !spec.cache_disabled) {
    flags += " --layers --cache-from " + ShellQuote(spec.cache_repository) + " --cache-to " + ShellQuote(spec.cache_repository);
  }
  return flags;
}

// A native build pushes its image; an emulated one (several platforms in one pod) builds them
// into one manifest list and pushes the list with every image in it: the merge takes the list's
// digest for each of its platforms. The digest file holds the pushed manifest's digest.
Json BuildahContainer(const BuildContext& ctx, const BuildTarget& t, bool multi, Json& volumes, Json& mounts,
                      Json& env) {
  const auto& spec = ctx.spec;
  const std::string staging = ShellQuote("docker://" + BuildahStagingRef(ctx, t));
  const std::string local = ShellQuote("localhost/imagebuild-" + t.slug);
  // containers/image trusts the *.crt files of --cert-dir for every registry it reaches.
  const std::string cert_dir = ctx.settings->registry_ca_pem.empty() ? "" : std::string(" --cert-dir ") + kRegistryConfigDir;
  std::string script = "set -eu\nbuildah build" + BuildahBuildFlags(ctx, t, cert_dir) +
                       (multi ? " --manifest " : " -t ") + local + " " + ShellQuote(t.context) + "\n";
  // buildah 1.28's manifest push ignores registries.conf's insecure entries, fails its push and
  // still exits 0 with an empty digest file (seen on the rig): it is told itself.
  const bool insecure = std::count(ctx.settings->insecure_registries.begin(), ctx.settings->insecure_registries.end(),
                                   RegistryHost(spec.image)) > 0;
  script += multi ? "buildah manifest push --all --storage-driver=vfs" + cert_dir + (insecure ? " --tls-verify=false" : "") +
                           " --digestfile /tmp/digest " + local + " " + staging + "\n"
                     : "buildah push --storage-driver=vfs" + cert_dir + " --digestfile /tmp/digest " + local + " " +
                           staging + "\n";
  // An empty digest file is a failed push, not a build that produced nothing.
  script += "[ -s /tmp/digest ] || { echo 'buildah wrote no digest: the push failed' >&2; exit 1; }\n"
            "cat /tmp/digest > /dev/termination-log\ncat /dev/termination-log\n";
  volumes.push_back({{"name", "containers-storage"}, {"emptyDir", Json::object()}});
  mounts.push_back({{"name", "containers-storage"}, {"mountPath", kBuildahStorage}});
  if (ctx.has_config_map) {
    env.push_back({{"name", "CONTAINERS_REGISTRIES_CONF"}, {"value", std::string(kRegistryConfigDir) + "/registries.conf"}});
  }
  // containers/image reads its credentials from REGISTRY_AUTH_FILE (DOCKER_CONFIG is Docker's),
  // for the pulls of FROM images as well as the push.
  if (!spec.push_secret.empty()) {
    env.push_back({{"name", "REGISTRY_AUTH_FILE"}, {"value", std::string(kPushConfigDir) + "/config.json"}});
  }
  env.push_back({{"name", "BUILDAH_ISOLATION"}, {"value", "chroot"}});
  return {{"name", "build"},
          {"image", t.builder_image},
          {"command", {"sh", "-c", script}},
          // buildah builds as root inside its container, explicitly: an image's USER does not decide it.
          {"securityContext", {{"runAsUser", 0}, {"capabilities", {{"add", {"SETUID", "SETGID"}}}}}}};
}

// A native build goes to nodes of its architecture; an emulated one to any Linux node.
void Place(Json& pod_spec, const PlatformSpec& first, bool emulated) {
  if (emulated) {
    pod_spec["nodeSelector"] = {{"kubernetes.io/os", "linux"}};
    return;
  }
  Json selector = {{"kubernetes.io/os", first.os}, {"kubernetes.io/arch", first.arch}};
  for (const auto& [k, v] : first.node_selector) selector[k] = v;
  pod_spec["nodeSelector"] = std::move(selector);
  if (!first.tolerations.empty()) pod_spec["tolerations"] = first.tolerations;
  if (!first.affinity.is_null()) pod_spec["affinity"] = first.affinity;
}

BuildTarget TargetOf(const BuildContext& ctx, const std::vector<const PlatformSpec*>& platforms, bool emulated) {
  const auto& spec = ctx.spec;
  const PlatformSpec& first = *platforms.front();
  BuildTarget t;
  t.slug = emulated && platforms.size() > 1 ? "multi" : first.Slug();
  for (const auto* p : platforms) t.platform_list += (t.platform_list.empty() ? "" : ",") + p->platform;
  t.dockerfile = first.dockerfile.empty() ? spec.dockerfile : first.dockerfile;
  t.context = std::string(kWorkspace) + "/src/" + spec.context_dir;
  t.builder_image = !spec.builder_image.empty() ? spec.builder_image
                    : spec.strategy == Strategy::kBuildKit ? ctx.settings->buildkit_image
                                                           : ctx.settings->buildah_image;
  return t;
}

}  // namespace

Json BuildPod(const BuildContext& ctx, const std::vector<const PlatformSpec*>& platforms, bool emulated,
              const std::string& pod_name, int attempt) {
  const auto& spec = ctx.spec;
  const PlatformSpec& first = *platforms.front();
  const BuildTarget target = TargetOf(ctx, platforms, emulated);
  Json metadata = Metadata(ctx, pod_name, "build");
  metadata["labels"][labels::kPlatform] = target.slug;
  metadata["labels"][labels::kAttempt] = std::to_string(attempt);
  metadata["annotations"] = {{"imagebuild.io/platforms", target.platform_list}};

  Json volumes = Json::array(), mounts = Json::array(), env = Json::array();
  AddCommonVolumes(ctx, volumes, mounts, true);
  if (!spec.push_secret.empty()) env.push_back({{"name", "DOCKER_CONFIG"}, {"value", kPushConfigDir}});
  Json container = spec.strategy == Strategy::kBuildKit
                       ? BuildKitContainer(ctx, target, volumes, mounts, env, metadata["annotations"])
                       : BuildahContainer(ctx, target, emulated && platforms.size() > 1, volumes, mounts, env);
  container["env"] = std::move(env);
  container["volumeMounts"] = std::move(mounts);
  container["terminationMessagePolicy"] = "FallbackToLogsOnError";
  // An emulated build of one platform (Fallback) keeps that platform's sizing; tolerations and
  // affinity aimed at its native nodes do not apply.
  if (!first.resources.is_null() && platforms.size() == 1) container["resources"] = first.resources;

  Json pod_spec = {{"restartPolicy", "Never"},
                   {"automountServiceAccountToken", false},
                   {"initContainers", Json::array({GitInitContainer(ctx)})},
                   {"containers", Json::array({std::move(container)})},
                   {"volumes", std::move(volumes)}};
  if (!spec.service_account.empty()) pod_spec["serviceAccountName"] = spec.service_account;
  Place(pod_spec, first, emulated);
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(metadata)}, {"spec", std::move(pod_spec)}};
}

namespace {

// spec.signing: the key Secret's one key, read-only, readable by the merge user alone (mode
// 0440, group fsGroup: see MergePod); build pods never mount it.
void AddSigningKey(const BuildContext& ctx, Json& args, Json& volumes, Json& mounts) {
  if (!ctx.spec.signing) return;
  volumes.push_back({{"name", "signing-key"},
                     {"secret",
                      {{"secretName", ctx.spec.signing->secret_name},
                       {"defaultMode", 0440},
                       {"items", Json::array({{{"key", ctx.spec.signing->key}, {"path", "cosign.key"}}})}}}});
  mounts.push_back({{"name", "signing-key"}, {"mountPath", kSigningKeyDir}, {"readOnly", true}});
  args.push_back("--signing-key");
  args.push_back(std::string(kSigningKeyDir) + "/cosign.key");
}

}  // namespace

Json MergePod(const BuildContext& ctx, const MergeInputs& inputs, const std::string& pod_name) {
  Json metadata = Metadata(ctx, pod_name, "merge");
  Json args = {"merge", "--repository", ctx.spec.image};
  for (const auto& [platform, digest] : inputs.platform_digests) {
    args.push_back("--platform-digest");
    args.push_back(platform + "=" + digest);
  }
  for (const auto& t : inputs.tags.exact) { args.push_back("--tag"); args.push_back(t); }
  if (inputs.move_floating && !inputs.tags.floating.empty()) {
    for (const auto& t : inputs.tags.floating) { args.push_back("--floating-tag"); args.push_back(t); }
    args.push_back("--version");
    args.push_back(ctx.spec.version);
  }
  for (const auto& [key, value] : inputs.annotations) { args.push_back("--annotation"); args.push_back(key + "=" + value); }
  if (!ctx.spec.push_secret.empty()) {
    args.push_back("--registry-config");
    args.push_back(std::string(kPushConfigDir) + "/config.json");
  }
  if (!ctx.settings->registry_ca_pem.empty()) {
    args.push_back("--ca-file");
    args.push_back(std::string(kRegistryConfigDir) + "/ca.crt");
  }
  for (const auto& host : ctx.settings->insecure_registries) {
    args.push_back("--insecure-registry");
    args.push_back(host);
  }
  args.push_back("--termination-log");
  args.push_back("/dev/termination-log");
  Json volumes = Json::array(), mounts = Json::array();
  AddCommonVolumes(ctx, volumes, mounts, false);
  AddSigningKey(ctx, args, volumes, mounts);
  Json container = {{"name", "merge"},
                    {"image", ctx.settings->merge_image},
                    {"command", {"imagebuild-operator"}},
                    {"args", std::move(args)},
                    {"volumeMounts", std::move(mounts)},
                    {"terminationMessagePolicy", "FallbackToLogsOnError"},
                    {"securityContext",
                     // The operator image's user; a --merge-image built without a USER starts all the same.
                     {{"runAsNonRoot", true},
                      {"runAsUser", kMergeUser},
                      {"runAsGroup", kMergeUser},
                      {"allowPrivilegeEscalation", false},
                      {"readOnlyRootFilesystem", true},
                      {"capabilities", {{"drop", {"ALL"}}}}}},
                    {"resources", {{"requests", {{"cpu", "50m"}, {"memory", "64Mi"}}}}}};
  Json pod_spec = {{"restartPolicy", "Never"},
                   {"automountServiceAccountToken", false},
                   {"containers", Json::array({std::move(container)})},
                   {"volumes", std::move(volumes)}};
  if (!ctx.spec.service_account.empty()) pod_spec["serviceAccountName"] = ctx.spec.service_account;
  if (ctx.spec.signing) pod_spec["securityContext"] = {{"fsGroup", kMergeUser}};  // the key's group
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(metadata)}, {"spec", std::move(pod_spec)}};
}

}  // namespace ibo::controller
