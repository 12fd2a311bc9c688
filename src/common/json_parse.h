// The one way JSON from outside the process is parsed (API server, registry, exec plugins, registry
// configs): its nesting is measured before nlohmann builds anything, since nlohmann's dump, copy,
// compare and destruction recurse once per level and a deep document would overflow a stack.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ibo {

// 64 levels. The deepest document the operator reads on purpose is a List of ImageBuilds whose
// managedFields mirror a core/v1 Affinity: about 22 levels. 64 leaves three times that, and 64
// levels of nlohmann's recursive walks take a few KiB of stack, safe on any thread.
inline constexpr int kMaxJsonDepth = 64;

enum class TooDeep {
  kRefuse,   // the whole document is refused
  kReplace,  // each value nested deeper is replaced by the string kTooDeepMarker and the rest is read:
             // one hostile object must not stop a List or a watch stream for every other object
};

// What a value nested deeper than the limit reads as under TooDeep::kReplace.
inline constexpr std::string_view kTooDeepMarker = "<ibo: cut here, nested deeper than 64 levels>";

// Parses text. Errors give a byte offset, never the input, which may hold secrets:
// "not valid JSON (byte 17)", "JSON nested deeper than 64 levels (byte 64)".
StatusOr<nlohmann::json> ParseJson(std::string_view text, TooDeep too_deep = TooDeep::kRefuse,
                                   int max_depth = kMaxJsonDepth);

// A member never built while parsing: `member` of any object that is itself the member `parent`
// (metadata.managedFields). Kubernetes sends managedFields with every object; nothing here reads
// them, and they were half of every cached tree and of every List page.
struct DroppedMember {
  std::string parent;
  std::string member;
};
StatusOr<nlohmann::json> ParseJson(std::string_view text, TooDeep too_deep, const std::vector<DroppedMember>& dropped);

// The deepest nesting of arrays and objects in text, strings and escapes respected ("1" is 0,
// "[]" is 1, "{\"a\":[]}" is 2). Malformed text is measured as far as it goes.
int JsonDepth(std::string_view text);

}  // namespace ibo
