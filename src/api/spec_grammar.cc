#include "api/spec_grammar.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/oci_digest.h"
#include "common/oci_reference.h"

namespace ibo::api::grammar {
namespace {

bool Alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// A label key's NAME or a label value: 1 to 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
bool IsLabelName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !Alnum(s.front()) || !Alnum(s.back())) return false;
  for (char c : s) if (!Alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool IsHost(std::string_view s) {  // HOST[:PORT], a DNS name or IPv4 address
  const size_t colon = s.rfind(':');
  std::string_view host = s.substr(0, colon), port = colon == std::string_view::npos ? "" : s.substr(colon + 1);
  if (colon != std::string_view::npos && (port.empty() || port.size() > 5)) return false;
  for (char c : port) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return host.size() <= 253 && oci::IsDnsName(host);
}

bool Printable(std::string_view s) {  // no whitespace, no control characters
  for (char c : s) if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

}  // namespace

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::string_view label : Split(s, '.')) {
    if (label.empty() || !LowerAlnum(label.front()) || !LowerAlnum(label.back())) return false;
    for (char c : label) if (!LowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsLabelKey(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return IsLabelName(s);
  return IsDnsSubdomain(s.substr(0, slash)) && IsLabelName(s.substr(slash + 1));
}

bool IsLabelValue(std::string_view s) { return s.empty() || IsLabelName(s); }

std::optional<long double> Quantity(const nlohmann::json& value) {
  if (value.is_number_integer()) return static_cast<long double>(value.get<int64_t>());
  if (!value.is_string()) return std::nullopt;
  const std::string s = value.get<std::string>();
  size_t i = (s.starts_with("+") || s.starts_with("-")) ? 1 : 0;
  const size_t digits = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  const std::string number_text = s.substr(digits, i - digits);
  if (number_text.empty() || number_text == "." || std::count(number_text.begin(), number_text.end(), '.') > 1) {
    return std::nullopt;
  }
  const long double number = std::strtold(s.substr(0, i).c_str(), nullptr);
  static const std::pair<const char*, long double> kSuffixes[] = {
      {"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L}, {"Ei", 1152921504606846976.0L}, {"n", 1e-9L}, {"u", 1e-6L}, {"m", 1e-3L},
      {"k", 1e3L}, {"M", 1e6L}, {"G", 1e9L}, {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"", 1.0L}};
  const std::string suffix = s.substr(i);
  for (const auto& [name, factor] : kSuffixes) {
    if (suffix == name) return number * factor;
  }
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {  // 1e3
    size_t j = 1 + (suffix[1] == '+' || suffix[1] == '-');
    if (j == suffix.size()) return std::nullopt;
    for (size_t k = j; k < suffix.size(); ++k) if (!std::isdigit(static_cast<unsigned char>(suffix[k]))) return std::nullopt;
    if (suffix.size() - j > 4) return std::nullopt;
    return number * std::pow(10.0L, std::stold(suffix.substr(1)));
  }
  return std::nullopt;
}

bool StaysInside(std::string_view path) {
  if (path.starts_with("/")) return false;
  int depth = 0;
  for (std::string_view part : Split(path, '/')) {
    if (part == "..") --depth;
    else if (!part.empty() && part != ".") ++depth;
    if (depth < 0) return false;
  }
  return true;
}

bool IsGitUrl(std::string_view url) {
  if (!Printable(url) || url.starts_with("-")) return false;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {  // scp-like: [USER@]HOST:PATH
    const size_t colon = url.find(':');
    if (colon == std::string_view::npos || colon + 1 == url.size()) return false;
    const size_t at = url.substr(0, colon).rfind('@');
    const size_t host_start = at == std::string_view::npos ? 0 : at + 1;
    return IsHost(url.substr(host_start, colon - host_start));
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http" && scheme != "ssh" && scheme != "git") return false;
  const std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return false;  // no path
  const std::string_view authority = rest.substr(0, slash);
  const size_t at = authority.rfind('@');
  return IsHost(at == std::string_view::npos ? authority : authority.substr(at + 1));
}

bool IsGitRevision(std::string_view r) {
  if (r.empty() || r.starts_with("-") || r.starts_with("/") || !Printable(r)) return false;
  if (r.ends_with("/") || r.ends_with(".") || r.ends_with(".lock")) return false;
  for (const char* bad : {"..", "@{", "//", "~", "^", ":", "?", "*", "[", "\\"}) {
    if (r.find(bad) != std::string_view::npos) return false;
  }
  return true;
}

bool IsArgName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) if (!Alnum(c) && c != '_') return false;
  return true;
}

bool IsStageName(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) if (!Alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool IsImageReference(std::string_view s) {
  if (const size_t at = s.find('@'); at != std::string_view::npos) {
    if (!oci::ValidateDigest(s.substr(at + 1)).ok()) return false;
    s = s.substr(0, at);
  }
  const size_t slash = s.rfind('/');
  if (const size_t colon = s.rfind(':'); colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    if (!oci::ValidateTag(s.substr(colon + 1)).ok()) return false;
    s = s.substr(0, colon);
  }
  if (s.empty() || s.size() > 255) return false;
  std::vector<std::string_view> parts = Split(s, '/');
  // The first component names a registry when it has a '.' or ':' or is localhost.
  const std::string_view first = parts.front();
  if (parts.size() > 1 && (first.find_first_of(".:") != std::string_view::npos || first == "localhost")) {
    if (!IsHost(first)) return false;
    parts.erase(parts.begin());
  }
  for (std::string_view part : parts) if (!oci::IsPathComponent(part)) return false;
  return true;
}

}  // namespace ibo::api::grammar
