// Reads a List page's continue token off its body before the body is parsed, so that the next
// page can be asked for while this one is parsed and stored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ibo::kube {

// From a JSON List: kube-apiserver writes the list's metadata either first (built-in types:
// {"kind","apiVersion","metadata",...}) or last (custom resources, keys sorted: ..."metadata":
// {...}}). The token ("" when the metadata names none) when the metadata is found in one of those
// places; nullopt when it is not, and the caller parses the page to know.
std::optional<std::string> JsonListContinueToken(std::string_view body);

// From a protobuf List (ListMeta is the first field of every List message): as above.
std::optional<std::string> ProtobufListContinueToken(std::string_view body);

}  // namespace ibo::kube
