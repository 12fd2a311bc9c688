// The bad-input corpus (tests/bad_input/) against the parser: every file is refused by its own
// rule with its exact message, and every rule has a file. The integration test
// (tests/integration/controller/bad_input_test.cc) applies the same files to a real API server.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "api/imagebuild_spec.h"
#include "support/bad_input.h"

namespace ibo::api {
namespace {

using ibo::testing::BadInput;
using ibo::testing::LoadBadInputs;

std::vector<BadInput> All() {
  auto all = LoadBadInputs(IBO_BAD_INPUT_DIR, "semantic");
  for (auto& b : LoadBadInputs(IBO_BAD_INPUT_DIR, "schema")) all.push_back(std::move(b));
  return all;
}

TEST(BadInputTest, EveryFileIsRefusedByItsRuleWithItsExactMessage) {
  const auto all = All();
  ASSERT_FALSE(all.empty());
  for (const auto& b : all) {
    SCOPED_TRACE(b.file);
    ASSERT_FALSE(b.rule.empty()) << "no '# rule:' line";
    ASSERT_FALSE(b.expected.empty()) << "no '# expect:' line";
    EXPECT_EQ(b.object["metadata"]["name"], std::filesystem::path(b.file).stem().string());
    const auto parsed = ParseImageBuildSpec(b.object.value("spec", Json()));
    ASSERT_FALSE(parsed.ok()) << "accepted";
    EXPECT_EQ(parsed.status().message(), b.expected);
    ASSERT_FALSE(parsed.status().causes().empty());
    EXPECT_EQ(parsed.status().causes()[0].reason, b.rule);
  }
}

// A check added to ParseImageBuildSpec needs a Rule (Bad() takes one), and its Rule a file here.
TEST(BadInputTest, EveryRuleHasAFileInTheFolderItsSchemaFlagSays) {
  std::map<std::string, std::set<std::string>> folders_of;  // rule -> folders with a file for it
  for (const auto& b : All()) folders_of[b.rule].insert(b.file.substr(0, b.file.find('/')));
  std::set<std::string> ids;
  for (const auto& rule : SpecRules()) {
    ids.insert(rule.id);
    const std::string folder = rule.schema_stops ? "schema" : "semantic";
    EXPECT_EQ(folders_of[rule.id], std::set<std::string>{folder})
        << "rule " << rule.id << " needs a file in tests/bad_input/" << folder << "/ (and none elsewhere)";
  }
  EXPECT_EQ(ids.size(), SpecRules().size()) << "two rules share an id";
  for (const auto& [rule, folders] : folders_of) EXPECT_TRUE(ids.count(rule)) << "no rule " << rule;
}

TEST(BadInputTest, AtLeastFortyFilesPassTheSchemaAndAreWrongInMeaning) {
  EXPECT_GE(LoadBadInputs(IBO_BAD_INPUT_DIR, "semantic").size(), 40u);
}

}  // namespace
}  // namespace ibo::api
