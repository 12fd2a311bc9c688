#include "common/base64.h"

#include <array>

namespace ibo {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Encode(std::string_view data, bool url) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto put = [&](unsigned v) {
    char c = kAlphabet[v & 63];
    if (url && c == '+') c = '-';
    if (url && c == '/') c = '_';
    out.push_back(c);
  };
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    put(v >> 18); put(v >> 12); put(v >> 6); put(v);
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    put(v >> 18); put(v >> 12);
    if (rest == 2) put(v >> 6); else if (!url) out.push_back('=');
    if (!url) out.push_back('=');
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data) { return Encode(data, false); }
std::string Base64UrlEncode(std::string_view data) { return Encode(data, true); }

StatusOr<std::string> Base64Decode(std::string_view text) {
  std::array<int, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  table['-'] = 62;
  table['_'] = 63;
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') { padding = true; continue; }
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0 || padding) return InvalidArgument("not valid base64");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if (bits >= 6) return InvalidArgument("not valid base64 (truncated)");
  return out;
}

}  // namespace ibo
