// The bad-input corpus (tests/bad_input/): ImageBuilds that are wrong in meaning, each with the
// rule that refuses it and its exact message in its first lines:
//   # rule: <id from api::SpecRules()>
//   # expect: <the whole message>
// semantic/ holds what the CRD schema lets through, schema/ what it refuses first.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ibo::testing {

// YAML as the API server reads it: quoted scalars are strings, plain ones are read as YAML 1.2's
// core schema reads them (null, booleans, integers, floats, else strings).
inline nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      if (s == "true" || s == "false") return s == "true";
      if (!s.empty() && s.find_first_not_of("-0123456789") == std::string::npos && s != "-") {
        try { return std::stoll(s); } catch (...) {}
      }
      return s;
    }
    default:
      return nullptr;
  }
}

struct BadInput {
  std::string file;      // path relative to tests/bad_input
  std::string rule;
  std::string expected;  // the message, exactly
  nlohmann::json object;
};

inline std::string Header(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# " + key + ": ", 0) == 0) return line.substr(key.size() + 4);
  }
  return "";
}

// Every file of one folder ("semantic" or "schema"), sorted by name.
inline std::vector<BadInput> LoadBadInputs(const std::string& root, const std::string& folder) {
  std::vector<BadInput> out;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/" + folder)) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    out.push_back({folder + "/" + entry.path().filename().string(), Header(text.str(), "rule"), Header(text.str(), "expect"),
                   YamlToJson(YAML::Load(text.str()))});
  }
  std::sort(out.begin(), out.end(), [](const BadInput& a, const BadInput& b) { return a.file < b.file; });
  return out;
}

}  // namespace ibo::testing
