#include "common/log_format.h"

#include <cstdio>
#include <string_view>

#include <spdlog/pattern_formatter.h>

namespace ibo {
namespace {

thread_local std::string current_object;

void AppendEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  for (char c : text) {
    switch (c) {
      case '"': dest.append(std::string_view("\\\"")); break;
      case '\\': dest.append(std::string_view("\\\\")); break;
      case '\n': dest.append(std::string_view("\\n")); break;
      case '\t': dest.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          dest.append(std::string_view(buf));
        } else {
          dest.push_back(c);
        }
    }
  }
}

// %j: the message as a JSON string body.
class EscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    AppendEscaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

// %O: ,"namespace":"...","name":"..." for the object the thread works on, or nothing.
class ObjectFields : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (current_object.empty()) return;
    const std::string_view key = current_object;
    const size_t slash = key.find('/');
    if (slash != std::string_view::npos) {
      dest.append(std::string_view(",\"namespace\":\""));
      AppendEscaped(key.substr(0, slash), dest);
      dest.push_back('"');
    }
    dest.append(std::string_view(",\"name\":\""));
    AppendEscaped(slash == std::string_view::npos ? key : key.substr(slash + 1), dest);
    dest.push_back('"');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<ObjectFields>(); }
};

}  // namespace

ScopedLogObject::ScopedLogObject(std::string key) : previous_(std::move(current_object)) {
  current_object = std::move(key);
}

ScopedLogObject::~ScopedLogObject() { current_object = std::move(previous_); }

std::unique_ptr<spdlog::formatter> NewJsonLogFormatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('j').add_flag<ObjectFields>('O').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l"%O,"msg":"%j"})");
  return formatter;
}

}  // namespace ibo
