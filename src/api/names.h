// The names and labels the operator gives what it creates for an ImageBuild: deterministic, so
// that a restarted operator finds its pods again, and different for every build and attempt.
#pragma once

#include <cstdint>
#include <string>

namespace ibo::api {

namespace labels {
inline constexpr const char* kName = "imagebuild.io/name";
inline constexpr const char* kBuildId = "imagebuild.io/build-id";
inline constexpr const char* kRole = "imagebuild.io/role";
inline constexpr const char* kPlatform = "imagebuild.io/platform";
inline constexpr const char* kAttempt = "imagebuild.io/attempt";
inline constexpr const char* kRebuildAnnotation = "imagebuild.io/rebuild";
}  // namespace labels

// 8 hex characters of sha256(uid, generation, rebuild token).
std::string BuildId(const std::string& uid, int64_t generation, const std::string& rebuild_token);
// A label value for the ImageBuild's name: the name, or a hash when over 63 characters.
std::string NameLabel(const std::string& name);
// <name cut to fit>-<10 hex of sha256(uid, generation, token, what, attempt)>: stable across
// operator restarts, different for every attempt.
std::string PodName(const std::string& ib_name, const std::string& uid, int64_t generation,
                    const std::string& rebuild_token, const std::string& what, int attempt);
std::string ConfigMapName(const std::string& ib_name);
// The first `n` hex characters of sha256(text).
std::string HashHex(const std::string& text, size_t n);

}  // namespace ibo::api
