#include "kube/json_list_splitter.h"

namespace ibo::kube {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The first byte of a number, true, false or null.
bool StartsBareLiteral(char c) { return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n'; }

std::string Shown(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  return "byte " + std::to_string(static_cast<unsigned char>(c));
}

}  // namespace

JsonListSplitter::JsonListSplitter(ItemSink on_item, size_t max_value_bytes)
    : on_item_(std::move(on_item)), max_value_bytes_(max_value_bytes) {}

Status JsonListSplitter::Feed(std::string_view piece) {
  size_t i = 0;
  while (i < piece.size()) {
    if (state_ == State::kInMemberValue || state_ == State::kInItem) {
      const size_t end = ScanValue(piece, i);
      if (end == kMismatched) {
        return Internal("unreadable list JSON at byte " + std::to_string(offset_ + mismatch_at_) + ": " +
                        Shown(piece[mismatch_at_]) + " where " + Shown(closers_.empty() ? '}' : closers_.back()) +
                        " belongs");
      }
      if (end == std::string_view::npos) {
        IBO_RETURN_IF_ERROR(Append(piece.substr(i)));
        break;
      }
      IBO_RETURN_IF_ERROR(Append(piece.substr(i, end - i)));
      IBO_RETURN_IF_ERROR(EndValue());
      i = end;
      continue;
    }
    bool value_started = false;
    Status step = Step(piece[i], value_started);
    if (!step.ok()) {
      return Internal("unreadable list JSON at byte " + std::to_string(offset_ + i) + ": " + step.message());
    }
    if (!value_started) ++i;  // a value's first byte is scanned as part of it
  }
  offset_ += piece.size();
  return Status::Ok();
}

Status JsonListSplitter::Finish() const {
  if (state_ == State::kAfterDocument) return Status::Ok();
  return Unavailable("the list's body ended after " + std::to_string(offset_) + " bytes, before its end (" +
                     std::to_string(items_) + " items read)");
}

Status JsonListSplitter::Step(char c, bool& value_started) {
  if (state_ == State::kInKey) {
    if (key_.size() >= 1024) return Internal("a member name over 1 KiB");
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      state_ = State::kExpectColon;
      return Status::Ok();
    }
    key_ += c;
    return Status::Ok();
  }
  if (IsSpace(c)) return Status::Ok();
  const auto begin_value = [&](State in) {
    if (c != '{' && c != '[' && c != '"' && !StartsBareLiteral(c)) return Internal(Shown(c) + " where a value begins");
    value_.clear();
    closers_.clear();
    in_string_ = escaped_ = false;
    bare_literal_ = c != '{' && c != '[' && c != '"';
    state_ = in;
    value_started = true;
    return Status::Ok();
  };
  const auto unexpected = [&](const char* wanted) { return Internal(Shown(c) + " where " + wanted + " belongs"); };
  switch (state_) {
    case State::kBeforeDocument:
      if (c != '{') return Internal("a list is a JSON object; it began with " + Shown(c));
      state_ = State::kExpectKey;
      empty_allowed_ = true;
      return Status::Ok();
    case State::kExpectKey:
      if (c == '}' && empty_allowed_) {
        state_ = State::kAfterDocument;
      } else if (c == '"') {
        key_.clear();
        escaped_ = false;
        state_ = State::kInKey;
      } else {
        return unexpected("a member name");
      }
      return Status::Ok();
    case State::kExpectColon:
      if (c != ':') return unexpected("':'");
      state_ = State::kExpectValue;
      return Status::Ok();
    case State::kExpectValue:
      if (key_ == "items" && c == '[') {
        state_ = State::kExpectItem;
        empty_allowed_ = true;
        return Status::Ok();
      }
      return begin_value(State::kInMemberValue);
    case State::kAfterMemberValue:
      if (c == '}') {
        state_ = State::kAfterDocument;
      } else if (c == ',') {
        state_ = State::kExpectKey;
        empty_allowed_ = false;
      } else {
        return unexpected("',' or '}'");
      }
      return Status::Ok();
    case State::kExpectItem:
      if (c == ']' && empty_allowed_) {
        state_ = State::kAfterMemberValue;
        return Status::Ok();
      }
      if (c != '{') return Internal("an element of items that is not an object: it begins with " + Shown(c));
      return begin_value(State::kInItem);
    case State::kAfterItem:
      if (c == ']') {
        state_ = State::kAfterMemberValue;
      } else if (c == ',') {
        state_ = State::kExpectItem;
        empty_allowed_ = false;
      } else {
        return unexpected("',' or ']' after an item");
      }
      return Status::Ok();
    case State::kAfterDocument: return Internal(Shown(c) + " after the list's end");
    case State::kInKey:
    case State::kInMemberValue:
    case State::kInItem: break;  // handled above and by ScanValue
  }
  return Status::Ok();
}

size_t JsonListSplitter::ScanValue(std::string_view piece, size_t at) {
  for (size_t i = at; i < piece.size(); ++i) {
    const char c = piece[i];
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
        if (closers_.empty()) return i + 1;
      }
      continue;
    }
    if (bare_literal_) {
      if (c == ',' || c == '}' || c == ']' || IsSpace(c)) return i;  // the byte after it is not its own
      continue;
    }
    switch (c) {
      case '"': in_string_ = true; break;
      case '{': closers_ += '}'; break;
      case '[': closers_ += ']'; break;
      case '}':
      case ']':
        if (closers_.empty() || closers_.back() != c) {
          mismatch_at_ = i;
          return kMismatched;
        }
        closers_.pop_back();
        if (closers_.empty()) return i + 1;
        break;
      default: break;
    }
  }
  return std::string_view::npos;
}

Status JsonListSplitter::Append(std::string_view bytes) {
  if (value_.size() + bytes.size() > max_value_bytes_) {
    return Internal(std::string(state_ == State::kInItem ? "an item" : "the member \"" + key_ + "\"") +
                    " of a list is over " + std::to_string(max_value_bytes_) + " bytes (item " +
                    std::to_string(items_ + 1) + ")");
  }
  value_.append(bytes);
  return Status::Ok();
}

Status JsonListSplitter::EndValue() {
  if (state_ == State::kInMemberValue) {
    members_[key_] = std::move(value_);
    value_.clear();
    state_ = State::kAfterMemberValue;
    return Status::Ok();
  }
  ++items_;
  state_ = State::kAfterItem;
  Status sunk = on_item_(value_);
  value_.clear();
  return sunk;
}

}  // namespace ibo::kube
