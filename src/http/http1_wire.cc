// HTTP/1.1 framing as pure functions over strings.
#include "http/http1_wire.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ibo::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value holds `token` (case-insensitive).
bool HasToken(const std::string& value, std::string_view token) {
  std::string_view rest = value;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    if (Lower(Trim(rest.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

StatusOr<uint16_t> ParsePort(std::string_view text, const std::string& url) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return InvalidArgument(url + ": the port is not a number from 1 to 65535");
  }
  return static_cast<uint16_t>(value);
}

// host, [v6] or either with :port; the default port comes from the scheme.
Status SplitAuthority(std::string_view authority, const std::string& url, Url& out) {
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument(url + ": an IPv6 address without its ']'");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return InvalidArgument(url + ": text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return InvalidArgument(url + ": no host");
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    IBO_ASSIGN_OR_RETURN(out.port, ParsePort(port, url));
  }
  return Status::Ok();
}

}  // namespace

std::string Url::HostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::Origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StatusOr<Url> ParseUrl(const std::string& url) {
  Url out;
  std::string_view rest = url;
  const size_t scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return InvalidArgument(url + ": not an absolute http(s) URL");
  const std::string scheme = Lower(rest.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return InvalidArgument(url + ": the scheme is not http or https");
  out.tls = scheme == "https";
  rest.remove_prefix(scheme_end + 3);
  const size_t path_start = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("a URL with user info: credentials go in a header, not the URL");
  }
  IBO_RETURN_IF_ERROR(SplitAuthority(authority, url, out));
  if (path_start != std::string_view::npos) {
    std::string_view target = rest.substr(path_start);
    target = target.substr(0, target.find('#'));
    out.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  }
  return out;
}

StatusOr<std::string> RequestHead(const Request& request, const Url& url) {
  std::string head = request.method + " " + url.target + " HTTP/1.1\r\nHost: " + url.HostHeader() + "\r\n";
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) == "host" || Lower(name) == "content-length") continue;
    if (value.find_first_of("\r\n") != std::string::npos || name.find_first_of("\r\n: ") != std::string::npos) {
      return InvalidArgument("the request header " + name.substr(0, 40) + " holds a line break or is misnamed");
    }
    head += name + ": " + value + "\r\n";
  }
  const bool sends_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                          request.method == "PATCH";
  if (sends_body) {
    if (!request.headers.count("Content-Type") && !request.body.empty()) {
      head += "Content-Type: application/octet-stream\r\n";
    }
    head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  head += "\r\n";
  return head;
}

namespace {

Status ParseStatusLine(std::string_view line, ResponseHead& out, bool& http10) {
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ') {
    return Unavailable("the server's answer is not HTTP/1.x: " + std::string(line.substr(0, 40)));
  }
  http10 = line.substr(5, 3) == "1.0";
  int status = 0;
  auto [end, error] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (error != std::errc() || end != line.data() + 12 || status < 100) {
    return Unavailable("the server's status line has no status code: " + std::string(line.substr(0, 40)));
  }
  out.status = status;
  return Status::Ok();
}

Status SetFraming(ResponseHead& out, const std::string& method) {
  if (method == "HEAD" || out.status < 200 || out.status == 204 || out.status == 304) {
    out.framing = BodyFraming::kNone;
    return Status::Ok();
  }
  if (auto te = out.headers.find("Transfer-Encoding"); te != out.headers.end()) {
    if (!HasToken(te->second, "chunked")) {
      return Unavailable("a transfer coding this client cannot read: " + te->second);
    }
    out.framing = BodyFraming::kChunked;
    return Status::Ok();
  }
  if (auto length = out.headers.find("Content-Length"); length != out.headers.end()) {
    const std::string_view text = Trim(length->second);
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out.content_length);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return Unavailable("the server sent a Content-Length that is not a number: " + length->second);
    }
    out.framing = BodyFraming::kLength;
    return Status::Ok();
  }
  out.framing = BodyFraming::kUntilClose;
  out.keep_alive = false;
  return Status::Ok();
}

}  // namespace

StatusOr<ResponseHead> ParseResponseHead(std::string_view head, const std::string& method) {
  ResponseHead out;
  bool http10 = false;
  size_t line_end = head.find('\n');
  IBO_RETURN_IF_ERROR(ParseStatusLine(Trim(head.substr(0, line_end)), out, http10));
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 1);
    line_end = head.find('\n');
    const std::string_view line = Trim(head.substr(0, line_end));
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Unavailable("a header line without a name: " + std::string(line.substr(0, 40)));
    }
    std::string name(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    auto [it, inserted] = out.headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;  // a repeated header is one comma-separated list
  }
  auto connection = out.headers.find("Connection");
  if (connection != out.headers.end() && HasToken(connection->second, "close")) out.keep_alive = false;
  if (http10 && (connection == out.headers.end() || !HasToken(connection->second, "keep-alive"))) {
    out.keep_alive = false;
  }
  IBO_RETURN_IF_ERROR(SetFraming(out, method));
  return out;
}

StatusOr<uint64_t> ParseChunkSize(std::string_view line) {
  line = Trim(line.substr(0, line.find(';')));
  uint64_t size = 0;
  auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
  if (line.empty() || error != std::errc() || end != line.data() + line.size()) {
    return Unavailable("a chunked body with a bad chunk size: " + std::string(line.substr(0, 20)));
  }
  return size;
}

}  // namespace ibo::http
