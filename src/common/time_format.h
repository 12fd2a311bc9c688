// RFC 3339 times as Kubernetes writes them (metav1.Time in seconds, MicroTime in microseconds).
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace ibo {

using SystemTime = std::chrono::system_clock::time_point;

std::string FormatTime(SystemTime t);       // 2026-11-27T23:59:08Z
std::string FormatMicroTime(SystemTime t);  // 2026-11-27T23:59:08.123456Z
// Accepts both forms, and a numeric offset instead of Z.
StatusOr<SystemTime> ParseTime(const std::string& text);

}  // namespace ibo
