// Writes protobuf wire format by hand, for tests that need messages no server sent: malformed,
// edge-case or minimal ones.
#pragma once

#include <cstdint>
#include <string>

namespace ibo::testing {

inline std::string Varint(uint64_t v) {
  std::string out;
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (v);
  return out;
}

// Field `number` as a varint, and as length-delimited bytes (a string or an embedded message).
inline std::string VarintField(uint32_t number, uint64_t v) { return Varint(uint64_t{number} << 3) + Varint(v); }
inline std::string BytesField(uint32_t number, const std::string& bytes) {
  return Varint((uint64_t{number} << 3) | 2) + Varint(bytes.size()) + bytes;
}

// kube-apiserver's envelope: "k8s\0", then runtime.Unknown{typeMeta{apiVersion, kind}, raw}.
inline std::string Envelope(const std::string& api_version, const std::string& kind, const std::string& raw) {
  return std::string("k8s\0", 4) + BytesField(1, BytesField(1, api_version) + BytesField(2, kind)) + BytesField(2, raw);
}

}  // namespace ibo::testing
