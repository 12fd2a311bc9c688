// The list splitter (kube/json_list_splitter.h): every body a server, or whatever sits between it
// and the operator, may send for a list. Where the socket breaks the body must not change what
// it yields: the same items, the same members, the same verdict, whether fed whole or in pieces.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kube/json_list_splitter.h"

using ibo::Status;
using ibo::kube::JsonListSplitter;

namespace {

struct Outcome {
  std::vector<std::string> items;
  std::map<std::string, std::string> members;
  bool fed = true;
  bool finished = false;
};

Outcome Split(std::string_view body, size_t piece) {
  Outcome out;
  JsonListSplitter splitter(
      [&](std::string_view item) {
        // An item is a whole object as the splitter saw it: it opens and closes with braces.
        if (item.size() < 2 || item.front() != '{' || item.back() != '}') std::abort();
        out.items.emplace_back(item);
        return Status::Ok();
      },
      4096);
  for (size_t at = 0; at < body.size() && out.fed; at += piece) out.fed = splitter.Feed(body.substr(at, piece)).ok();
  out.finished = out.fed && splitter.Finish().ok();
  out.members = splitter.members();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 17;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = Split(body, body.size() + 1);
  const Outcome pieces = Split(body, piece);
  if (whole.fed != pieces.fed || whole.finished != pieces.finished) std::abort();
  if (whole.fed && (whole.items != pieces.items || whole.members != pieces.members)) std::abort();
  return 0;
}
