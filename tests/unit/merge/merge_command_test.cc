#include "merge/merge_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace ibo::merge {
namespace {

using ::testing::HasSubstr;

const std::string kDigest = "sha256:" + std::string(64, 'a');

// `merge --help`, to the byte (as it read before its flags became a table, with --signing-key).
constexpr const char* kUsage =
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
    "the termination log gets the report (the digest, the signature, the floating tags held back).\n"
    "  --platform-digest      may name one multi-platform index for several platforms\n"
    "  --floating-tag         moved only to an equal or higher --version (repeatable)\n"
    "  --version              this release's version, judged against what floating tags hold\n"
    "  --annotation           an annotation of the index (repeatable)\n"
    "  --registry-config      docker config.json or .dockerconfigjson (default $DOCKER_CONFIG/config.json)\n"
    "  --ca-file              PEM bundle to trust instead of the system store\n"
    "  --signing-key          PEM ECDSA P-256 private key (PKCS#8 or SEC1, unencrypted) to sign with\n"
    "  --insecure-registry    use plain HTTP for this registry (repeatable)\n"
    "  --termination-log      where to write the report or the error (default /dev/termination-log)\n";

TEST(MergeUsage, SaysEveryFlag) { EXPECT_EQ(MergeUsage(), kUsage); }

TEST(ParseMergeFlags, AllFlagsBothSpellings) {
  auto flags = ParseMergeFlags({"--repository", "127.0.0.1:5000/team/app", "--platform-digest",
                                "linux/amd64=" + kDigest, "--platform-digest=linux/arm/v7=" + kDigest, "--tag",
                                "v1", "--tag=latest", "--registry-config", "/c.json", "--ca-file=/ca.pem",
                                "--insecure-registry", "127.0.0.1:5000", "--termination-log", "/t", "--timeout=5"});
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  EXPECT_EQ(flags->repository, "127.0.0.1:5000/team/app");
  ASSERT_EQ(flags->request.inputs.size(), 2u);
  EXPECT_EQ(flags->request.inputs[1].platform.ToString(), "linux/arm/v7");
  EXPECT_EQ(flags->request.inputs[1].digest, kDigest);
  EXPECT_EQ(flags->request.tags, (std::vector<std::string>{"v1", "latest"}));
  EXPECT_EQ(flags->registry_config, "/c.json");
  EXPECT_EQ(flags->ca_file, "/ca.pem");
  EXPECT_EQ(flags->insecure_registries, std::vector<std::string>{"127.0.0.1:5000"});
  EXPECT_EQ(flags->termination_log, "/t");
  EXPECT_EQ(flags->timeout, std::chrono::seconds(5));
}

TEST(ParseMergeFlags, UsageErrorsAreOneClearLine) {
  EXPECT_THAT(ParseMergeFlags({"--tag", "v1"}).status().message(), HasSubstr("--repository is required"));
  EXPECT_THAT(ParseMergeFlags({"--repository", "r/a", "--platform-digest", "linux/amd64"}).status().message(),
              HasSubstr("expected OS/ARCH[/VARIANT]=sha256:<hex>"));
  EXPECT_THAT(ParseMergeFlags({"--repository", "r/a", "--bogus", "x"}).status().message(), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(ParseMergeFlags({"--repository"}).status().message(), HasSubstr("--repository needs a value"));
  EXPECT_THAT(ParseMergeFlags({"--repository", "r/a", "--platform-digest", "linux/amd64=" + kDigest, "--tag", "a b"})
                  .status()
                  .message(),
              HasSubstr("tag \"a b\""));
}

TEST(ParseMergeFlags, DefaultsAndHelp) {
  auto flags = ParseMergeFlags({"--repository", "r/a", "--platform-digest", "linux/amd64=" + kDigest, "--tag", "v1"});
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  EXPECT_EQ(flags->timeout, std::chrono::seconds(60));
  EXPECT_EQ(flags->termination_log, "");
  EXPECT_EQ(flags->registry_config, "");
  EXPECT_TRUE(ParseMergeFlags({"--help"})->help);
  // --help reads on: an error after it is still reported.
  EXPECT_THAT(ParseMergeFlags({"--help", "--bogus", "x"}).status().message(), HasSubstr("unknown flag --bogus"));
  EXPECT_EQ(ParseMergeFlags({"stray"}).status().message(), "unexpected argument \"stray\"");
  EXPECT_EQ(ParseMergeFlags({"--repository", "r/a", "--timeout", "0"}).status().message(),
            "--timeout \"0\": expected a positive number of seconds");
}

TEST(RunMergeCommand, UsageErrorExitsTwoWithOneLine) {
  std::ostringstream out, err;
  EXPECT_EQ(RunMergeCommand({"--tag", "v1"}, out, err), 2);
  EXPECT_EQ(err.str(), "merge: --repository is required\n");
  EXPECT_EQ(out.str(), "");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class RunMergeCommandTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args(std::vector<std::string> extra) {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    std::vector<std::string> args = {"--repository", "127.0.0.1:1/app", "--insecure-registry", "127.0.0.1:1",
                                     "--platform-digest", "linux/amd64=" + kDigest, "--tag", "v1",
                                     "--termination-log", log_, "--timeout", "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // One file per test: CTest runs the tests of this binary side by side.
  std::string log_ = ::testing::TempDir() + "/merge-termination-log-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + std::to_string(::getpid());
  std::ostringstream out_, err_;
};

TEST_F(RunMergeCommandTest, MissingRegistryConfigIsNamed) {
  EXPECT_EQ(RunMergeCommand(Args({"--registry-config", "/nonexistent/config.json"}), out_, err_), 1);
  EXPECT_EQ(err_.str(), "merge: registry config /nonexistent/config.json: does not exist\n");
  EXPECT_EQ(ReadFile(log_), "registry config /nonexistent/config.json: does not exist\n");
}

TEST_F(RunMergeCommandTest, UnreachableRegistryExitsOneWithOneLine) {
  const std::string config = ::testing::TempDir() + "/merge-empty-config.json";
  std::ofstream(config) << R"({"auths":{}})";
  EXPECT_EQ(RunMergeCommand(Args({"--registry-config", config}), out_, err_), 1);
  const std::string err = err_.str();
  EXPECT_THAT(err, ::testing::StartsWith("merge: registry 127.0.0.1:1 is unreachable"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunMergeCommandTest, AnUnusableSigningKeyFailsBeforeTheRegistryAndQuotesNothingOfIt) {
  EXPECT_EQ(RunMergeCommand(Args({"--signing-key", "/nonexistent/cosign.key"}), out_, err_), 1);
  EXPECT_EQ(err_.str(), "merge: --signing-key /nonexistent/cosign.key: does not exist\n");
  const std::string key = log_ + ".key";
  std::ofstream(key) << "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n"
                        "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  std::ostringstream err;
  EXPECT_EQ(RunMergeCommand(Args({"--signing-key", key}), out_, err), 1);
  const std::string text = err.str();
  EXPECT_THAT(text, HasSubstr("is in cosign's encrypted format"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("c2VjcmV0")));
  EXPECT_THAT(ReadFile(log_), ::testing::Not(HasSubstr("c2VjcmV0")));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST_F(RunMergeCommandTest, AMissingCaFileIsNamed) {
  EXPECT_EQ(RunMergeCommand(Args({"--ca-file", "/nonexistent/ca.crt"}), out_, err_), 1);
  EXPECT_EQ(err_.str(), "merge: --ca-file /nonexistent/ca.crt: does not exist\n");
}

}  // namespace
}  // namespace ibo::merge
