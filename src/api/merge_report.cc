#include "api/merge_report.h"

#include <sstream>

#include "common/oci_reference.h"

namespace ibo::api {
namespace {

// A report names at most the floating tags (vX, vX.Y, latest) of one request: 3 lines of a
// 128-character tag and a reason of this length keep it far below the limit.
constexpr size_t kReasonLimit = 600;

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::string OneLine(std::string s) {
  for (char& c : s) if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > kReasonLimit) s = s.substr(0, kReasonLimit - 3) + "...";
  return s;
}

}  // namespace

std::string FormatMergeReport(const MergeReport& report) {
  std::string out = report.digest + "\n";
  if (!report.signature_digest.empty()) {
    out += "signature " + report.signature_digest + " " + report.key_fingerprint + "\n";
  }
  const auto add = [&out](const std::string& line) {
    if (out.size() + line.size() <= kTerminationMessageLimit) out += line;
  };
  for (const auto& h : report.held) add("held " + h.tag + " " + OneLine(h.reason) + "\n");
  for (const auto& t : report.unversioned) add("unversioned " + t + "\n");
  return out;
}

StatusOr<MergeReport> ParseMergeReport(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  MergeReport report;
  while (std::getline(in, line) && Trim(line).empty()) {}
  report.digest = Trim(line);
  if (!oci::ValidateDigest(report.digest).ok() || report.digest.rfind("sha256:", 0) != 0) {
    return InvalidArgument("the merge report does not start with an index digest");
  }
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string kind, tag;
    words >> kind >> tag;
    if (kind == "signature") {
      std::string fingerprint;
      words >> fingerprint;
      if (!oci::ValidateDigest(tag).ok() || !oci::ValidateDigest(fingerprint).ok()) {
        return InvalidArgument("the merge report's signature line names no digest and key fingerprint");
      }
      report.signature_digest = tag;
      report.key_fingerprint = fingerprint;
      continue;
    }
    if (!oci::ValidateTag(tag).ok()) return InvalidArgument("the merge report names no valid tag in \"" + line.substr(0, 200) + "\"");
    if (kind == "held") {
      std::string reason;
      std::getline(words >> std::ws, reason);
      report.held.push_back({tag, reason});
    } else if (kind == "unversioned") {
      report.unversioned.push_back(tag);
    } else {
      return InvalidArgument("the merge report has an unknown line \"" + line.substr(0, 200) + "\"");
    }
  }
  return report;
}

}  // namespace ibo::api
