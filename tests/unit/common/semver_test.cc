// Semantic versions: what parses, and precedence as semver.org 2.0 orders it.
#include "common/semver.h"

#include <gtest/gtest.h>

namespace ibo {
namespace {

int Cmp(const char* a, const char* b) { return CompareSemver(*ParseSemver(a), *ParseSemver(b)); }

TEST(SemverTest, ParsesWhatIsASemanticVersion) {
  const auto v = ParseSemver("v1.4.2-rc.1+build.7");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->prefix, "v");
  EXPECT_EQ(v->major, 1u);
  EXPECT_EQ(v->patch, 2u);
  EXPECT_EQ(v->prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_EQ(v->build, "build.7");
  for (const char* bad : {"", "v", "1.4", "1.4.2.1", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "x1.2.3",
                          "1.2.3-é", "99999999999999999999.0.0"}) {
    EXPECT_FALSE(ParseSemver(bad)) << bad;
  }
}

TEST(SemverTest, OrdersAsSemverSays) {
  EXPECT_LT(Cmp("v1.3.9", "v1.4.2"), 0);
  EXPECT_GT(Cmp("1.10.0", "1.9.9"), 0);
  EXPECT_EQ(Cmp("v1.4.2", "1.4.2+other"), 0);  // prefix and build metadata do not count
  // semver.org's example chain.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                         "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    EXPECT_LT(Cmp(chain[i], chain[i + 1]), 0) << chain[i] << " < " << chain[i + 1];
    EXPECT_GT(Cmp(chain[i + 1], chain[i]), 0);
  }
}

}  // namespace
}  // namespace ibo
