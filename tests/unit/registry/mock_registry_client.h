// gMock stand-in for registry::RegistryClient, for the merge logic's unit tests.
#pragma once

#include <gmock/gmock.h>

#include "registry/registry_client.h"

namespace ibo::registry {

class MockRegistryClient : public RegistryClient {
 public:
  MOCK_METHOD(Status, Ping, (), (override));
  MOCK_METHOD(StatusOr<Manifest>, GetManifest, (const std::string& reference), (override));
  MOCK_METHOD(StatusOr<std::string>, HeadManifest, (const std::string& reference), (override));
  MOCK_METHOD(StatusOr<std::string>, PutManifest, (const std::string& reference, const Manifest& manifest),
              (override));
  MOCK_METHOD(StatusOr<std::string>, GetBlob, (const std::string& digest), (override));
  MOCK_METHOD(Status, PutBlob, (const std::string& digest, const std::string& bytes), (override));
};

}  // namespace ibo::registry
