#include "common/time_format.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace ibo {

std::string FormatTime(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatMicroTime(SystemTime t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros % 1000000));
  return out;
}

StatusOr<SystemTime> ParseTime(const std::string& text) {
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) {
    return InvalidArgument("not an RFC 3339 time: \"" + text + "\"");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) {
    return InvalidArgument("not an RFC 3339 time: \"" + text + "\"");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  // system_clock counts nanoseconds in 64 bits: about 1678 to 2262. Outside (year 9999, say) the
  // conversion would overflow; a day is kept in hand for the offset.
  const std::time_t secs = timegm(&tm);
  const auto limit = std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count() - 86400;
  if (secs > limit || secs < -limit) return InvalidArgument("time out of range: \"" + text + "\"");
  SystemTime t = std::chrono::system_clock::from_time_t(secs);
  size_t i = static_cast<size_t>(consumed);
  if (i < text.size() && text[i] == '.') {
    ++i;
    long long frac = 0;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (digits < 6) { frac = frac * 10 + (text[i] - '0'); ++digits; }
      ++i;
    }
    while (digits++ < 6) frac *= 10;
    t += std::chrono::microseconds(frac);
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh < 0 || oh > 23 || om < 0 || om > 59) {
      return InvalidArgument("bad time offset in \"" + text + "\"");
    }
    const auto offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    t = text[i] == '+' ? t - offset : t + offset;
  } else if (i >= text.size() || (text[i] != 'Z' && text[i] != 'z')) {
    return InvalidArgument("RFC 3339 time without a zone: \"" + text + "\"");
  }
  return t;
}

}  // namespace ibo
