#include "operator/run_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ibo::operator_main {
namespace {

using ::testing::HasSubstr;

// `run --help` as it read before the flags became one table, to the byte, with the flags added
// since (the timeouts and the user agent, issue 12; the resync period, issue 15).
constexpr const char* kHelpBeforeTheTable =
    "usage: imagebuild-operator run [flags]\n"
    "\n"
    "Kubernetes:\n"
    "  --kubeconfig PATH                  else $KUBECONFIG, else in-cluster, else ~/.kube/config\n"
    "  --namespace NS                     watch only NS (repeatable; default: all namespaces)\n"
    "  --leader-elect                     elect a leader on a Lease before reconciling\n"
    "  --leader-election-id NAME          the Lease's name (default imagebuild-operator)\n"
    "  --leader-election-namespace NS     the Lease's namespace (default: $POD_NAMESPACE or default)\n"
    "  --max-concurrent-reconciles N      worker threads (default 5)\n"
    "  --kube-api-qps QPS                 client-side rate limit (default 20)\n"
    "  --kube-api-burst N                 (default 30)\n"
    "  --kube-api-request-timeout SECONDS a request unanswered this long fails; a watch silent for its own\n"
    "                                     timeout plus this is stalled and reconnects (default 30)\n"
    "  --watch-timeout SECONDS            the API server ends each watch after a random time in [S, 2S)\n"
    "                                     (default 300); a stall is detected within 2S + the request timeout\n"
    "  --resync-period SECONDS            every ImageBuild is reconciled again this often, changed or not\n"
    "                                     (default 300; 0: never)\n"
    "  --kube-api-content-type TYPE       how pods are listed and watched: application/vnd.kubernetes.protobuf\n"
    "                                     (the default, as kube-controller-manager's) or application/json\n"
    "  --user-agent TEXT                  User-Agent of every API request (default imagebuild-operator)\n"
    "  --metrics-bind-address ADDR        /metrics in Prometheus format (default :8080; 0 turns it off)\n"
    "  --health-probe-bind-address ADDR   /healthz and /readyz (default :8081; 0 turns it off)\n"
    "  --log-format json|text             (default text)\n"
    "  --log-level debug|info|warn|error  (default info)\n"
    "Builds:\n"
    "  --merge-image IMAGE                the image whose `imagebuild-operator merge` the merge pod runs\n"
    "                                     (default: this operator's own image at its version)\n"
    "  --git-image IMAGE                  the image that fetches sources\n"
    "  --buildkit-image IMAGE             default moby/buildkit:v0.12.5-rootless\n"
    "  --buildah-image IMAGE              default quay.io/buildah/stable:v1.33\n"
    "  --max-concurrent-builds N          0: no cap (default 0)\n"
    "  --default-ttl-seconds-after-finished N\n"
    "  --insecure-registry HOST[:PORT]    reached over plain HTTP (repeatable)\n"
    "  --registry-ca-file PATH            CA for registries, copied to build and merge pods\n"
    "  --retry-backoff SECONDS            first retry delay of a failed platform (default 10)\n";

TEST(RunFlags, HelpIsUnchanged) { EXPECT_EQ(RunHelp(), kHelpBeforeTheTable); }

// A repeatable flag says so in its help, and only a repeatable one does.
TEST(RunFlags, RepeatableFlagsSayTheyAre) {
  RunFlags f;
  const flags::FlagTable table = RunFlagTable(f);
  for (const auto& flag : table.flags()) {
    EXPECT_EQ(flag.repeatable, flag.help.find("repeatable") != std::string::npos) << flag.name;
  }
}

TEST(RunFlags, Defaults) {
  auto f = ParseRunFlags({});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->help);
  EXPECT_EQ(f->kubeconfig, "");
  EXPECT_TRUE(f->namespaces.empty());
  EXPECT_FALSE(f->leader_elect);
  EXPECT_EQ(f->leader_election_id, "imagebuild-operator");
  EXPECT_EQ(f->leader_election_namespace, "");
  EXPECT_EQ(f->workers, 5);
  EXPECT_EQ(f->qps, 20);
  EXPECT_EQ(f->burst, 30);
  EXPECT_EQ(f->resync_period_seconds, 300);
  EXPECT_EQ(f->metrics_address, ":8080");
  EXPECT_EQ(f->probe_address, ":8081");
  EXPECT_EQ(f->log_format, "text");
  EXPECT_EQ(f->log_level, "info");
  EXPECT_EQ(f->settings.merge_image, std::string("ghcr.io/imagebuild-operator/imagebuild-operator:") + IBO_VERSION);
  EXPECT_EQ(f->settings.git_image, "alpine/git:2.43.0");
  EXPECT_EQ(f->settings.buildkit_image, "moby/buildkit:v0.12.5-rootless");
  EXPECT_EQ(f->settings.buildah_image, "quay.io/buildah/stable:v1.33");
  EXPECT_EQ(f->settings.max_concurrent_builds, 0);
  EXPECT_FALSE(f->settings.default_ttl_seconds_after_finished.has_value());
  EXPECT_TRUE(f->settings.insecure_registries.empty());
  EXPECT_EQ(f->registry_ca_file, "");
  EXPECT_EQ(f->settings.retry_backoff, std::chrono::seconds(10));
}

TEST(RunFlags, EveryFlagBothSpellings) {
  auto f = ParseRunFlags({"--kubeconfig", "/k", "--namespace=a", "--namespace", "b", "--leader-elect",
                          "--leader-election-id=id", "--leader-election-namespace", "ns",
                          "--max-concurrent-reconciles=4", "--kube-api-qps", "2.5", "--kube-api-burst=7",
                          "--resync-period=0", "--metrics-bind-address", "0", "--health-probe-bind-address=127.0.0.1:1",
                          "--log-format=json", "--log-level", "debug", "--merge-image=m", "--git-image", "g",
                          "--buildkit-image=bk", "--buildah-image", "ba", "--max-concurrent-builds=3",
                          "--default-ttl-seconds-after-finished", "60", "--insecure-registry=r:5000",
                          "--insecure-registry", "s", "--registry-ca-file=/ca", "--retry-backoff", "0"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->kubeconfig, "/k");
  EXPECT_EQ(f->namespaces, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f->leader_elect);
  EXPECT_EQ(f->leader_election_id, "id");
  EXPECT_EQ(f->leader_election_namespace, "ns");
  EXPECT_EQ(f->workers, 4);
  EXPECT_EQ(f->qps, 2.5);
  EXPECT_EQ(f->burst, 7);
  EXPECT_EQ(f->resync_period_seconds, 0);
  EXPECT_EQ(f->metrics_address, "0");
  EXPECT_EQ(f->probe_address, "127.0.0.1:1");
  EXPECT_EQ(f->log_format, "json");
  EXPECT_EQ(f->log_level, "debug");
  EXPECT_EQ(f->settings.merge_image, "m");
  EXPECT_EQ(f->settings.git_image, "g");
  EXPECT_EQ(f->settings.buildkit_image, "bk");
  EXPECT_EQ(f->settings.buildah_image, "ba");
  EXPECT_EQ(f->settings.max_concurrent_builds, 3);
  EXPECT_EQ(f->settings.default_ttl_seconds_after_finished, 60);
  EXPECT_EQ(f->settings.insecure_registries, (std::vector<std::string>{"r:5000", "s"}));
  EXPECT_EQ(f->registry_ca_file, "/ca");
  EXPECT_EQ(f->settings.retry_backoff, std::chrono::seconds(0));
}

TEST(RunFlags, LeaderElectTakesTrueOrFalse) {
  EXPECT_FALSE(ParseRunFlags({"--leader-elect", "--leader-elect=false"})->leader_elect);
  EXPECT_EQ(ParseRunFlags({"--leader-elect=yes"}).status().message(),
            "flag --leader-elect: must be true or false, not \"yes\"");
}

TEST(RunFlags, HelpEndsTheParse) {
  EXPECT_TRUE(ParseRunFlags({"--help", "--no-such-flag"})->help);
  EXPECT_TRUE(ParseRunFlags({"-h"})->help);
  EXPECT_FALSE(ParseRunFlags({"--no-such-flag", "--help"}).ok());
}

TEST(RunFlags, ErrorsReadAsBefore) {
  auto error = [](std::vector<std::string> args) { return ParseRunFlags(args).status().message(); };
  EXPECT_EQ(error({"--no-such-flag"}), "unknown flag --no-such-flag (see imagebuild-operator run --help)");
  EXPECT_EQ(error({"stray"}), "unknown flag stray (see imagebuild-operator run --help)");
  EXPECT_EQ(error({"--namespace"}), "flag --namespace needs a value");
  EXPECT_EQ(error({"--max-concurrent-reconciles", "many"}),
            "flag --max-concurrent-reconciles: \"many\" is not a whole number from 1 to 64");
  EXPECT_EQ(error({"--max-concurrent-reconciles=65"}),
            "flag --max-concurrent-reconciles: \"65\" is not a whole number from 1 to 64");
  EXPECT_EQ(error({"--kube-api-qps=-3"}), "flag --kube-api-qps: \"-3\" is not a number from 0 to 10000");
  EXPECT_EQ(error({"--kube-api-qps=3x"}), "flag --kube-api-qps: \"3x\" is not a number from 0 to 10000");
  EXPECT_EQ(error({"--kube-api-burst=0"}), "flag --kube-api-burst: \"0\" is not a whole number from 1 to 10000");
  EXPECT_EQ(error({"--log-format", "yaml"}), "flag --log-format: must be json or text, not \"yaml\"");
  EXPECT_EQ(error({"--log-level", "trace"}), "flag --log-level: must be debug, info, warn or error");
  EXPECT_EQ(error({"--max-concurrent-builds=-1"}),
            "flag --max-concurrent-builds: \"-1\" is not a whole number from 0 to 100000");
  EXPECT_EQ(error({"--default-ttl-seconds-after-finished=x"}),
            "flag --default-ttl-seconds-after-finished: \"x\" is not a whole number from 0 to 1099511627776");
  EXPECT_EQ(error({"--retry-backoff=3601"}), "flag --retry-backoff: \"3601\" is not a whole number from 0 to 3600");
}

}  // namespace
}  // namespace ibo::operator_main
