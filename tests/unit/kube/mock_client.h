// gMock stand-ins for kube::Client and kube::EventRecorder, for the adapters' unit tests.
#pragma once

#include <gmock/gmock.h>

#include "kube/client.h"
#include "kube/event_recorder.h"

namespace ibo::kube {

class MockClient : public Client {
 public:
  MOCK_METHOD(StatusOr<Json>, Get, (const ResourceType& type, const std::string& ns, const std::string& name), (override));
  MOCK_METHOD(StatusOr<Json>, List, (const ResourceType& type, const std::string& ns, const ListOptions& options), (override));
  MOCK_METHOD(StatusOr<Json>, Create, (const ResourceType& type, const std::string& ns, const Json& object), (override));
  MOCK_METHOD(StatusOr<Json>, Update,
              (const ResourceType& type, const std::string& ns, const Json& object, const std::string& subresource), (override));
  MOCK_METHOD(StatusOr<Json>, Patch,
              (const ResourceType& type, const std::string& ns, const std::string& name, PatchType patch_type,
               const Json& patch, const std::string& subresource),
              (override));
  MOCK_METHOD(Status, Delete, (const ResourceType& type, const std::string& ns, const std::string& name,
                               const DeleteOptions& options),
              (override));
  MOCK_METHOD(StatusOr<std::unique_ptr<WatchStream>>, Watch,
              (const ResourceType& type, const std::string& ns, const ListOptions& options), (override));
};

class MockEventRecorder : public EventRecorder {
 public:
  MOCK_METHOD(void, Record, (const Json& object, const std::string& type, const std::string& reason,
                             const std::string& message),
              (override));
};

// Matches a ResourceType by its plural name.
MATCHER_P(OfResource, plural, "") { return arg.resource == plural; }

}  // namespace ibo::kube
