#include "common/json_parse.h"

#include <functional>
#include <optional>
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

// Discards `dropped` as nlohmann's parser meets it, keeping the key of each open container.
class DroppingFilter {
 public:
  explicit DroppingFilter(DroppedMember dropped) : dropped_(dropped) {}
  bool operator()(int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::key:
        last_key_ = parsed.get_ref<const std::string&>();
        return !(last_key_ == dropped_.member && !open_.empty() && open_.back() == dropped_.parent);
      case E::object_start:
      case E::array_start:
        open_.push_back(event == E::object_start ? std::move(last_key_) : std::string());
        last_key_.clear();
        return true;
      case E::object_end:
      case E::array_end:
        if (!open_.empty()) open_.pop_back();
        last_key_.clear();
        return true;
      case E::value: return true;
    }
    return true;
  }

 private:
  DroppedMember dropped_;
  std::vector<std::string> open_;  // the key each open container sits under ("" in arrays)
  std::string last_key_;
};

StatusOr<nlohmann::json> ParseText(std::string_view text, const std::optional<DroppedMember>& dropped) {
  try {
    if (dropped) {
      DroppingFilter filter(*dropped);
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
                               const std::optional<DroppedMember>& dropped) {
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
  return Parse(text, too_deep, max_depth, std::nullopt);
}

StatusOr<nlohmann::json> ParseJson(std::string_view text, TooDeep too_deep, DroppedMember dropped) {
  return Parse(text, too_deep, kMaxJsonDepth, dropped);
}

}  // namespace ibo
