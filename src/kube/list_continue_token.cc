#include "kube/list_continue_token.h"

#include <cctype>

#include "common/protobuf_wire.h"

namespace ibo::kube {
namespace {

// Reads a flat JSON object's members from `at` (just past its '{') to its '}', keeping the
// "continue" string. Values are strings without escapes, or digits: all a ListMeta holds. False
// on anything else, which sends the caller to the full parse.
bool ReadListMeta(std::string_view s, size_t& at, std::string& token) {
  auto quoted = [&](std::string_view& out) {
    if (at >= s.size() || s[at] != '"') return false;
    const size_t end = s.find_first_of("\"\\", at + 1);
    if (end == std::string_view::npos || s[end] != '"') return false;
    out = s.substr(at + 1, end - at - 1);
    at = end + 1;
    return true;
  };
  if (at < s.size() && s[at] == '}') return ++at, true;
  while (true) {
    std::string_view key, value;
    if (!quoted(key) || at >= s.size() || s[at++] != ':') return false;
    if (at < s.size() && s[at] == '"') {
      if (!quoted(value)) return false;
      if (key == "continue") token = std::string(value);
    } else {
      const size_t start = at;
      while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
      if (at == start) return false;
    }
    if (at >= s.size()) return false;
    const char c = s[at++];
    if (c == '}') return true;
    if (c != ',') return false;
  }
}

// {"kind":"...","apiVersion":"...","metadata":{...}, ...: the metadata first.
std::optional<std::string> FromPrefix(std::string_view body) {
  size_t at = 0;
  for (std::string_view member : {"{\"kind\":\"", "\",\"apiVersion\":\""}) {
    if (body.substr(at, member.size()) != member) return std::nullopt;
    at = body.find_first_of("\"\\", at + member.size());
    if (at == std::string_view::npos || body[at] != '"') return std::nullopt;
  }
  constexpr std::string_view kMetadata = "\",\"metadata\":{";
  if (body.substr(at, kMetadata.size()) != kMetadata) return std::nullopt;
  at += kMetadata.size();
  std::string token;
  if (!ReadListMeta(body, at, token) || at >= body.size() || (body[at] != ',' && body[at] != '}')) return std::nullopt;
  return token;
}

// ...,"metadata":{...}} at the very end: the top-level object's last member. Text in strings holds
// no bare quote, so nothing inside an item can end the body this way.
std::optional<std::string> FromSuffix(std::string_view body) {
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
  constexpr std::string_view kMetadata = ",\"metadata\":{";
  size_t at = body.rfind(kMetadata);
  if (at == std::string_view::npos) return std::nullopt;
  at += kMetadata.size();
  std::string token;
  if (!ReadListMeta(body, at, token) || at + 1 != body.size() || body[at] != '}') return std::nullopt;
  return token;
}

}  // namespace

std::optional<std::string> JsonListContinueToken(std::string_view body) {
  if (auto token = FromPrefix(body)) return token;
  return FromSuffix(body);
}

std::optional<std::string> ProtobufListContinueToken(std::string_view body) {
  constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  ProtoReader envelope(body.substr(kMagic.size()));
  ProtoField field;
  std::string_view raw;
  while (envelope.Next(field)) {
    if (field.number == 2 && field.type == WireType::kBytes) raw = field.bytes;
  }
  if (!envelope.error().empty()) return std::nullopt;
  ProtoReader list(raw);  // ListMeta is field 1 of every List, and Go's encoder writes it first
  if (!list.Next(field) || field.number != 1 || field.type != WireType::kBytes) return std::nullopt;
  ProtoReader meta(field.bytes);
  std::string token;
  while (meta.Next(field)) {
    if (field.number == 3 && field.type == WireType::kBytes) token = std::string(field.bytes);
  }
  if (!meta.error().empty()) return std::nullopt;
  return token;
}

}  // namespace ibo::kube
