// Lenient reads of JSON fields for the api decoders: a missing field or one of the wrong shape
// reads as absent, never as an exception.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ibo::api::json_fields {

using Json = nlohmann::json;

inline const Json& Field(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

inline std::string Str(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

inline bool Bool(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_boolean() && v.get<bool>();
}

template <typename T>
std::optional<T> Int(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<T>();
}

inline std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array()) for (const auto& e : j) if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

inline std::map<std::string, std::string> StringMap(const Json& j) {
  std::map<std::string, std::string> out;
  if (j.is_object()) for (const auto& [k, v] : j.items()) if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace ibo::api::json_fields
