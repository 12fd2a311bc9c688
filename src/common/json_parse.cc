#include "common/json_parse.h"

#include <functional>
#include <vector>

#include <algorithm>

namespace ibo {
namespace {

// Walks text once, outside strings, calling on_open(i, depth) at each '[' or '{' (depth counts
// it) and returning the depth reached. on_open returns where to go on: i + 1, or past a
// container it skips. Strings and their escapes are stepped over, so brackets in them do not count.
template <typename OnOpen>
int Scan(std::string_view text, size_t from, OnOpen on_open) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = from; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      ++i;
    } else if (c == '"') {
      in_string = true;
      ++i;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, depth + 1);
      const size_t next = on_open(i, depth + 1);
      if (next == i + 1) ++depth;  // entered; a skipped container leaves the depth as it was
      i = next;
    } else {
      if ((c == ']' || c == '}') && depth > 0) --depth;
      ++i;
    }
  }
  return deepest;
}

// The byte after the container opened at text[open] closes (text.size() when it never does).
size_t EndOfContainer(std::string_view text, size_t open) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && --depth == 0) {
      return i + 1;
    }
  }
  return text.size();
}

// Discards `dropped` as nlohmann's parser meets it. The key each container sits under is kept by
// depth, not pushed and popped: nlohmann calls back no end event for a container it discarded.
class DroppingFilter {
 public:
  explicit DroppingFilter(const std::vector<DroppedMember>& dropped) : dropped_(dropped), key_at_(1) {}
  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    const auto d = static_cast<size_t>(depth);
    if (key_at_.size() < d + 2) key_at_.resize(d + 2);
    if (event == E::array_start) key_at_[d + 1].clear();  // its elements sit under no key
    if (event != E::key) return true;
    key_at_[d] = parsed.get_ref<const std::string&>();
    return d == 0 || !Dropped(key_at_[d - 1], key_at_[d]);
  }

 private:
  bool Dropped(const std::string& parent, const std::string& member) const {
    for (const auto& dropped : dropped_) {
      if (dropped.member == member && dropped.parent == parent) return true;
    }
    return false;
  }

  const std::vector<DroppedMember>& dropped_;
  std::vector<std::string> key_at_;  // [depth]: the key of the value being read at that depth
};

StatusOr<nlohmann::json> ParseText(std::string_view text, const std::vector<DroppedMember>& dropped) {
  try {
    if (!dropped.empty()) {
      DroppingFilter filter(dropped);
      return nlohmann::json::parse(text, std::ref(filter));
    }
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() may quote the input; the offset is enough to find the problem.
    return InvalidArgument("not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::exception&) {
    // A number out of double's range (1e309): out_of_range.406, which quotes the number.
    return InvalidArgument("not valid JSON (a number out of range)");
  }
}

}  // namespace

int JsonDepth(std::string_view text) {
  return Scan(text, 0, [](size_t i, int) { return i + 1; });
}

namespace {

StatusOr<nlohmann::json> Parse(std::string_view text, TooDeep too_deep, int max_depth,
                               const std::vector<DroppedMember>& dropped) {
  size_t first = text.size();
  Scan(text, 0, [&](size_t i, int depth) {
    if (depth > max_depth && first == text.size()) first = i;
    return i + 1;
  });
  if (first == text.size()) return ParseText(text, dropped);  // the common case: nothing to cut, no copy
  const std::string limit = "JSON nested deeper than " + std::to_string(max_depth) + " levels";
  if (too_deep == TooDeep::kRefuse) return InvalidArgument(limit + " (byte " + std::to_string(first) + ")");
  std::string cut;
  cut.reserve(text.size());
  const std::string marker = "\"" + std::string(kTooDeepMarker) + "\"";
  size_t copied = 0;
  Scan(text, 0, [&](size_t i, int depth) {
    if (depth <= max_depth) return i + 1;
    cut.append(text.substr(copied, i - copied)).append(marker);
    copied = EndOfContainer(text, i);
    return copied;
  });
  cut.append(text.substr(copied));
  return ParseText(cut, dropped);
}

}  // namespace

StatusOr<nlohmann::json> ParseJson(std::string_view text, TooDeep too_deep, int max_depth) {
  return Parse(text, too_deep, max_depth, {});
}

StatusOr<nlohmann::json> ParseJson(std::string_view text, TooDeep too_deep, const std::vector<DroppedMember>& dropped) {
  return Parse(text, too_deep, kMaxJsonDepth, dropped);
}

}  // namespace ibo
