// The grammars spec fields must follow beyond the CRD's patterns: Kubernetes names, label keys and
// values, resource quantities, git URLs and revisions, paths inside a repository, image
// references. Pure and written by hand: std::regex recurses once per character, and these texts
// have no length limit in the schema.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ibo::api::grammar {

// A DNS subdomain (RFC 1123), as Secret and ServiceAccount names are: lowercase letters, digits,
// '-' and '.', at most 253, starting and ending with a letter or digit.
bool IsDnsSubdomain(std::string_view s);
// A label key: [PREFIX/]NAME, PREFIX a DNS subdomain, NAME up to 63 of letters, digits, '-', '_'
// and '.', starting and ending with a letter or digit. Also the grammar of extended resources.
bool IsLabelKey(std::string_view s);
// A label value: empty, or a NAME as in a label key.
bool IsLabelValue(std::string_view s);

// A Kubernetes quantity ("500m", "2Gi", "1e3", or a JSON integer) as a number; nothing when it is
// not one.
std::optional<long double> Quantity(const nlohmann::json& value);

// A relative path that stays inside the folder it is relative to: not absolute, and no ".."
// climbing above its start ("a/../b" stays, "a/../../b" leaves). Empty is the folder itself.
bool StaysInside(std::string_view relative_path);

// https://, http://, ssh://, git:// URLs with a host and a path, and scp-like [USER@]HOST:PATH;
// not an option (-...) nor a local path.
bool IsGitUrl(std::string_view url);
// A branch, tag or commit as git fetch takes it: not starting with '-', no whitespace or control
// characters, none of ~ ^ : ? * [ \, no "..", "@{" or "//", not ending in '/', '.' or ".lock".
bool IsGitRevision(std::string_view revision);

// A Dockerfile ARG name usable as $NAME: a letter or '_', then letters, digits and '_'.
bool IsArgName(std::string_view s);
// A Dockerfile stage name (FROM ... AS NAME): a letter, then letters, digits, '-', '_' and '.'.
bool IsStageName(std::string_view s);
// NAME[:TAG][@DIGEST] as docker pull takes it (docker.io names such as moby/buildkit included).
bool IsImageReference(std::string_view s);

}  // namespace ibo::api::grammar
