#include "registry/auth_challenge.h"

#include <algorithm>
#include <cctype>

namespace ibo::registry {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void SkipSpace() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void SkipSpaceAndCommas() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string Token() {
    const size_t start = i_;
    while (!done() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  std::string Bare() {
    const size_t start = i_;
    while (!done() && s_[i_] != ',' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  std::string Quoted() {  // at the opening quote
    std::string out;
    ++i_;
    while (!done() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out.push_back(s_[i_++]);
    }
    if (!done()) ++i_;
    return out;
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  Cursor c(header);
  c.SkipSpaceAndCommas();
  while (!c.done()) {
    std::string scheme = c.Token();
    if (scheme.empty()) break;
    AuthChallenge challenge{Lower(scheme), {}};
    c.SkipSpace();
    // auth-params: name=value pairs separated by commas; a token not followed by '=' starts
    // the next challenge.
    while (!c.done()) {
      c.SkipSpaceAndCommas();
      const size_t mark = c.pos();
      std::string name = c.Token();
      c.SkipSpace();
      if (name.empty() || c.peek() != '=') {
        c.set_pos(mark);
        break;
      }
      c.set_pos(c.pos() + 1);
      c.SkipSpace();
      // Unquoted values should be tokens; registries write URLs unquoted too, so read to the comma.
      std::string value = c.peek() == '"' ? c.Quoted() : c.Bare();
      challenge.params[Lower(name)] = value;
    }
    out.push_back(std::move(challenge));
    c.SkipSpaceAndCommas();
    if (!c.done() && !IsTokenChar(c.peek())) break;
  }
  return out;
}

}  // namespace ibo::registry
