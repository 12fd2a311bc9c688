// Enum <-> name tables: one constexpr array of (value, name) pairs per enum, read both ways.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace ibo {

template <typename E, size_t N>
const char* NameOf(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [e, name] : table) if (e == value) return name;
  return "";
}

template <typename E, size_t N>
std::optional<E> ValueOf(const std::pair<E, const char*> (&table)[N], std::string_view text) {
  for (const auto& [e, name] : table) if (text == name) return e;
  return std::nullopt;
}

}  // namespace ibo
