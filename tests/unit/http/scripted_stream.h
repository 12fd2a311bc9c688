// A ResponseStream that answers with a status, headers and a body handed over in given pieces:
// for unit tests of what reads a stream (a list parsed as it arrives, a watch).
#pragma once

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "http/http_transport.h"

namespace ibo::http {

class ScriptedStream : public ResponseStream {
 public:
  // `cut_short`: after the last piece the read fails as a connection closed too early would.
  ScriptedStream(int status, Headers headers, std::vector<std::string> pieces, bool cut_short = false)
      : status_(status), headers_(std::move(headers)), pieces_(pieces.begin(), pieces.end()), cut_short_(cut_short) {}

  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }

  StatusOr<std::optional<std::string>> ReadSome() override {
    if (pieces_.empty()) return End();
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    return std::optional<std::string>(std::move(piece));
  }

  StatusOr<std::optional<std::string>> ReadLine() override {
    std::string line;
    while (!pieces_.empty()) {
      const size_t newline = pieces_.front().find('\n');
      line += pieces_.front().substr(0, newline);
      if (newline == std::string::npos) {
        pieces_.pop_front();
        continue;
      }
      pieces_.front().erase(0, newline + 1);
      return std::optional<std::string>(std::move(line));
    }
    if (!line.empty()) return std::optional<std::string>(std::move(line));
    return End();
  }

  StatusOr<std::optional<std::string>> ReadExactly(size_t size) override {
    std::string out;
    while (out.size() < size && !pieces_.empty()) {
      const size_t n = std::min(size - out.size(), pieces_.front().size());
      out += pieces_.front().substr(0, n);
      pieces_.front().erase(0, n);
      if (pieces_.front().empty()) pieces_.pop_front();
    }
    if (out.size() == size) return std::optional<std::string>(std::move(out));
    if (out.empty()) return End();
    return Unavailable("stream: the body ended part way into a piece");
  }

  void Cancel() override {}

 private:
  StatusOr<std::optional<std::string>> End() {
    if (cut_short_) return Unavailable("stream: the server closed the connection 10 bytes before the end of the body");
    return std::optional<std::string>();
  }

  int status_;
  Headers headers_;
  std::deque<std::string> pieces_;
  bool cut_short_;
};

}  // namespace ibo::http
