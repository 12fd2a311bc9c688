// Reads protocol buffers' wire format: the fields of one message, one at a time, without a schema
// or a generated class. Enough to pick the few fields a decoder needs and skip the rest unread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ibo {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

struct ProtoField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;    // kVarint; kFixed32/kFixed64 hold their raw bits here too
  std::string_view bytes;  // kBytes: a string, bytes or an embedded message
};

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view message) : rest_(message) {}

  // The next field; false at the end of the message or when it is malformed (see error()).
  bool Next(ProtoField& field);
  // Empty while the message read well; else what was wrong with it.
  const std::string& error() const { return error_; }

 private:
  bool ReadVarint(uint64_t& value);
  bool Fail(const char* what);

  std::string_view rest_;
  std::string error_;
};

// Hands each field of `message` to `on_field`, which returns a Status: the first error ends the
// walk and is returned as it is; a malformed message is an InvalidArgument "WHAT: why".
template <typename OnField>
Status ForEachProtoField(std::string_view message, const std::string& what, OnField on_field) {
  ProtoReader reader(message);
  ProtoField f;
  while (reader.Next(f)) {
    if (Status s = on_field(f); !s.ok()) return s;
  }
  if (!reader.error().empty()) return InvalidArgument(what + ": " + reader.error());
  return Status::Ok();
}

// A protobuf string as JSON may carry it: proto3 promises UTF-8 but Go's encoder does not check,
// so each byte of an invalid sequence becomes U+FFFD, as Go's encoding/json writes it.
std::string ProtoString(std::string_view bytes);

}  // namespace ibo
