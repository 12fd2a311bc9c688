// Splits a Kubernetes list's JSON body, fed in pieces as it arrives, into the text of each element
// of its top-level "items" array and of its other top-level members: a list the server will not
// page (resourceVersion=0, from the watch cache) is then parsed one object at a time, and its body
// never lies in memory whole (Client::ListEach).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo::kube {

class JsonListSplitter {
 public:
  // Gets each item's text, a whole JSON object; an error it returns stops the split.
  using ItemSink = std::function<Status(std::string_view item)>;

  // An item, or another top-level member, longer than max_value_bytes is refused: a corrupt or
  // hostile body costs a bounded buffer, not the process.
  explicit JsonListSplitter(ItemSink on_item, size_t max_value_bytes = size_t{64} << 20);

  // The body's next bytes. Items completed in them reach the sink before Feed returns.
  Status Feed(std::string_view piece);
  // The body ended: an error unless it held one whole object.
  Status Finish() const;

  // The top-level members other than "items" (kind, apiVersion, metadata), each as its JSON text.
  const std::map<std::string, std::string>& members() const { return members_; }
  size_t items() const { return items_; }

 private:
  enum class State {
    kBeforeDocument,
    kExpectKey,         // after '{' (a '}' may follow) or ',' (only a key may)
    kInKey,
    kExpectColon,
    kExpectValue,
    kInMemberValue,
    kAfterMemberValue,
    kExpectItem,        // after '[' (a ']' may follow) or ',' (only an item may)
    kInItem,
    kAfterItem,
    kAfterDocument,
  };

  // One byte outside a value's scan; sets *value_started when a value (member or item) began here.
  Status Step(char c, bool& value_started);
  // Advances over the current value's bytes from `at`; the offset one past its end, npos when
  // the piece ended first, or kMismatched at a bracket that closes what is not open ("{]").
  static constexpr size_t kMismatched = std::string_view::npos - 1;
  size_t ScanValue(std::string_view piece, size_t at);
  Status Append(std::string_view bytes);
  Status EndValue();

  ItemSink on_item_;
  size_t max_value_bytes_;
  State state_ = State::kBeforeDocument;
  bool empty_allowed_ = true;  // '}' or ']' may close the object or array here (none after a ',')
  std::string key_;
  std::string value_;          // the member or item being read
  std::string closers_;        // the brackets the current value has open, as their closers
  size_t mismatch_at_ = 0;     // where in the piece ScanValue met a mismatched bracket
  bool in_string_ = false;
  bool escaped_ = false;
  bool bare_literal_ = false;  // a number, true, false or null: ends at the byte after it
  size_t items_ = 0;
  size_t offset_ = 0;          // bytes fed before the current piece
  std::map<std::string, std::string> members_;
};

}  // namespace ibo::kube
