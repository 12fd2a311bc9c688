// Every field of the CRD's spec is classified (identity, release or in place) in exactly one
// place, api/spec_fields.cc; a new CRD field without a class fails here.
#include "api/spec_fields.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

namespace ibo::api {
namespace {

// The leaf paths of an OpenAPI schema: objects recurse, arrays add "[]", free-form maps and
// preserved unknown fields are leaves.
void Leaves(const YAML::Node& schema, const std::string& path, std::set<std::string>& out) {
  if (schema["properties"] && !schema["x-kubernetes-preserve-unknown-fields"]) {
    for (const auto& p : schema["properties"]) Leaves(p.second, path + "." + p.first.as<std::string>(), out);
  } else if (schema["type"] && schema["type"].as<std::string>() == "array" && schema["items"] && schema["items"]["properties"]) {
    Leaves(schema["items"], path + "[]", out);
  } else {
    out.insert(path);
  }
}

const SpecField* ClassOf(const std::string& path) {
  const SpecField* best = nullptr;
  for (const auto& f : SpecFields()) {
    const std::string p = f.path;
    const bool covers = path == p || path.rfind(p + ".", 0) == 0 || path.rfind(p + "[]", 0) == 0;
    if (covers && (!best || p.size() > std::string(best->path).size())) best = &f;
  }
  return best;
}

TEST(SpecFieldsTest, EveryCrdFieldIsClassifiedAndEveryClassNamesACrdField) {
  for (const char* crd : {IBO_CRD, IBO_CHART_CRD}) {
    SCOPED_TRACE(crd);
    const YAML::Node doc = YAML::LoadFile(crd);
    const YAML::Node spec = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    ASSERT_TRUE(spec.IsDefined());
    std::set<std::string> leaves;
    Leaves(spec, "spec", leaves);
    ASSERT_GT(leaves.size(), 20u);
    for (const auto& leaf : leaves) EXPECT_NE(ClassOf(leaf), nullptr) << leaf << " has no class in api/spec_fields.cc";
    for (const auto& f : SpecFields()) {
      bool names_one = false;
      for (const auto& leaf : leaves) names_one |= ClassOf(leaf) == &f;
      EXPECT_TRUE(names_one) << f.path << " is not a field of the CRD";
    }
  }
}

TEST(SpecFieldsTest, OnlyIdentityFieldsMoveTheIdentity) {
  const nlohmann::json spec = {{"image", "r.example.com/a"},
                               {"version", "v1.0.0"},
                               {"tags", {"x"}},
                               {"retries", 1},
                               {"platforms", nlohmann::json::array({{{"platform", "linux/amd64"}, {"nodeSelector", {{"a", "b"}}}}})}};
  const std::string base = BuildIdentity(spec, "");
  auto with = [&](const char* field, const nlohmann::json& v) { auto s = spec; s[field] = v; return BuildIdentity(s, ""); };
  EXPECT_EQ(with("retries", 5), base);
  EXPECT_EQ(with("tags", {"y"}), base);
  EXPECT_EQ(with("timeout", "2h"), base);
  EXPECT_EQ(with("signing", {{"keySecretRef", {{"name", "release-key"}}}}), base);  // signs, builds nothing
  EXPECT_NE(with("attestations", {{"provenance", {{"mode", "max"}}}}), base);      // BuildKit pushes it with the image
  auto moved = spec;
  moved["platforms"][0]["nodeSelector"] = {{"a", "c"}};
  EXPECT_EQ(BuildIdentity(moved, ""), base);
  EXPECT_NE(with("version", "v1.0.1"), base);
  EXPECT_NE(with("buildArgs", {{"A", "1"}}), base);
  auto other = spec;
  other["platforms"][0]["platform"] = "linux/arm64";
  EXPECT_NE(BuildIdentity(other, ""), base);
  EXPECT_NE(BuildIdentity(spec, "token"), base);
  EXPECT_EQ(base.size(), 16u);
}

// The identity is stored in every build's status and pods: a new way of computing it must give
// the same value, or an upgrade of the operator would rebuild every image.
TEST(SpecFieldsTest, TheIdentityOfAStoredSpecDoesNotChange) {
  const nlohmann::json spec = {{"image", "r.example.com/a"},
                               {"version", "v1.0.0"},
                               {"retries", 1},
                               {"platforms", nlohmann::json::array(
                                                 {{{"platform", "linux/amd64"}, {"nodeSelector", {{"a", "b"}}}}})}};
  // sha256 of {"spec":{"image":"r.example.com/a","platforms":[{"platform":"linux/amd64"}],"version":"v1.0.0"}}\n
  EXPECT_EQ(BuildIdentity(spec, ""), "64ad536bdb040f72");
  EXPECT_EQ(BuildIdentity(nlohmann::json::object(), ""), "1e9493af25f68e7c");  // {"spec":null}\n
}

}  // namespace
}  // namespace ibo::api
