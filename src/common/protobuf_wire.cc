#include "common/protobuf_wire.h"

namespace ibo {

bool ProtoReader::Fail(const char* what) {
  error_ = what;
  rest_ = {};
  return false;
}

bool ProtoReader::ReadVarint(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (rest_.empty()) return Fail("a varint runs past the end of the message");
    const auto byte = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return Fail("a varint longer than 10 bytes");
}

bool ProtoReader::Next(ProtoField& field) {
  if (rest_.empty() || !error_.empty()) return false;
  uint64_t key = 0;
  if (!ReadVarint(key)) return false;
  field = ProtoField{};
  field.number = static_cast<uint32_t>(key >> 3);
  if (field.number == 0 || (key >> 3) > 0x1fffffff) return Fail("a field numbered 0 or above 2^29");
  switch (key & 7) {
    case 0:
      field.type = WireType::kVarint;
      return ReadVarint(field.varint);
    case 1:
    case 5: {
      const size_t size = (key & 7) == 1 ? 8 : 4;
      if (rest_.size() < size) return Fail("a fixed-size field runs past the end of the message");
      field.type = size == 8 ? WireType::kFixed64 : WireType::kFixed32;
      for (size_t i = 0; i < size; ++i) field.varint |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
      rest_.remove_prefix(size);
      return true;
    }
    case 2: {
      uint64_t size = 0;
      if (!ReadVarint(size)) return false;
      if (size > rest_.size()) return Fail("a length-delimited field runs past the end of the message");
      field.type = WireType::kBytes;
      field.bytes = rest_.substr(0, size);
      rest_.remove_prefix(size);
      return true;
    }
    default:
      return Fail("a group or an unknown wire type (3, 4, 6 or 7)");
  }
}

namespace {

// The length of the valid UTF-8 sequence at the start of s, or 0 when it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as in Go's utf8 package).
size_t Utf8SequenceLength(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // the valid range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) { n = 3; if (b0 == 0xe0) lo = 0xa0; if (b0 == 0xed) hi = 0x9f; }
  else if (b0 >= 0xf0 && b0 <= 0xf4) { n = 4; if (b0 == 0xf0) lo = 0x90; if (b0 == 0xf4) hi = 0x8f; }
  else return 0;
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

}  // namespace

std::string ProtoString(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const size_t n = Utf8SequenceLength(bytes);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      bytes.remove_prefix(1);
    } else {
      out.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }
  return out;
}

}  // namespace ibo
