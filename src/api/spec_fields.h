// Every ImageBuild spec field, classified once: does an edit to it change the image (a new
// build), only what is pushed (a new merge of the digests already built), or apply in place to
// the running build? The build's identity is a hash of the identity fields.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ibo::api {

enum class FieldClass {
  kIdentity,  // changes the image: every platform is built again
  kRelease,   // changes only what is pushed: a new merge of the same digests
  kInPlace,   // applies to the running build (and to pods still to come); nothing is rebuilt
};

struct SpecField {
  const char* path;  // "spec.platforms[].dockerfile"; a field classifies everything below it
  FieldClass field_class;
};

const std::vector<SpecField>& SpecFields();

// 16 hex characters of sha256 over the identity fields of `spec` (as the API server stores it,
// defaults applied) and the rebuild token.
std::string BuildIdentity(const nlohmann::json& spec, const std::string& rebuild_token);

}  // namespace ibo::api
