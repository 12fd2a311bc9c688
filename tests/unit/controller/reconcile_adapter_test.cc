// The adapter's order of effects, with strict mocks of the API client and the event recorder:
// creates, deletes, the status write, then the events that explain it; a refused create or a
// foreign ConfigMap is said as an event without any status write; the pods of one decision are
// created at once.
#include "controller/reconcile_adapter.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/time_format.h"
#include "unit/kube/mock_client.h"
#include "kube/object_cache.h"

namespace ibo::controller {
namespace {

using ::testing::_;
using ::testing::InSequence;
using ::testing::Return;
using ::testing::StrictMock;
using kube::OfResource;

class MockObserver : public ControllerObserver {
 public:
  MOCK_METHOD(void, ReconcileDone, (Result, double), (override));
  MOCK_METHOD(void, QueueDepth, (size_t), (override));
  MOCK_METHOD(void, QueueAdded, (), (override));
  MOCK_METHOD(void, QueueRetried, (), (override));
  MOCK_METHOD(void, OutcomeRecorded, (const Outcome&), (override));
};

Json Node(const std::string& arch) {
  return {{"metadata", {{"name", "n-" + arch}, {"labels", {{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", arch}}}}},
          {"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

class ReconcileAdapterTest : public ::testing::Test {
 protected:
  ReconcileAdapterTest() {
    for (auto& [name, func] : ImageBuildIndexes()) imagebuilds_.AddIndex(name, std::move(func));
    pods_.AddIndex(kube::indexes::kOwnerUid, kube::indexes::ByOwnerUid());
    config_maps_.AddIndex(kube::indexes::kOwnerUid, kube::indexes::ByOwnerUid());
    settings_.insecure_registries = {"registry.example.com"};
    imagebuilds_.Upsert({{"apiVersion", "imagebuild.io/v1alpha1"},
                         {"kind", "ImageBuild"},
                         {"metadata", {{"name", "worker"}, {"namespace", "ci"}, {"uid", "u1"}, {"generation", 2}, {"resourceVersion", "7"}}},
                         {"spec",
                          {{"image", "registry.example.com/org/worker"},
                           {"version", "v1.4.2"},
                           {"source", {{"git", {{"url", "https://example.com/r.git"}}}}},
                           {"pushSecretRef", {{"name", "regcred"}}},
                           {"platforms", Json::array({{{"platform", "linux/amd64"}}})}}},
                         {"status", {{"buildID", "0ld0ld00"}, {"phase", "Building"}, {"platforms", Json::array()}}}});
    // A pod of the build this generation supersedes.
    pods_.Upsert({{"metadata", {{"name", "worker-old"}, {"namespace", "ci"},
                                {"labels", {{"imagebuild.io/build-id", "0ld0ld00"}, {"imagebuild.io/role", "build"}}},
                                {"ownerReferences", Json::array({{{"uid", "u1"}, {"controller", true}, {"kind", "ImageBuild"}}})}}},
                  {"status", {{"phase", "Running"}}}});
    nodes_.Upsert(Node("amd64"));
  }

  void ExpectSecret() {
    EXPECT_CALL(client_, Get(OfResource("secrets"), "ci", "regcred"))
        .WillOnce(Return(StatusOr<Json>(Json{{"type", "kubernetes.io/dockerconfigjson"}, {"data", {{".dockerconfigjson", "e30="}}}})));
  }

  Status Reconcile() {
    ReconcileAdapter adapter(client_, recorder_, observer_, settings_, {imagebuilds_, pods_, config_maps_, nodes_});
    std::optional<std::chrono::milliseconds> requeue;
    return adapter.Reconcile("ci/worker", &requeue);
  }

  StrictMock<kube::MockClient> client_;
  StrictMock<kube::MockEventRecorder> recorder_;
  StrictMock<MockObserver> observer_;
  OperatorSettings settings_;
  kube::ObjectCache imagebuilds_, pods_, config_maps_, nodes_;
};

TEST_F(ReconcileAdapterTest, CreatesThenDeletesThenTheStatusThenItsEvents) {
  InSequence order;
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(OfResource("pods"), "ci", "worker-old", _)).WillOnce(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status"))
      .WillOnce([](const kube::ResourceType&, const std::string&, const Json& object, const std::string&) {
        EXPECT_EQ(object["metadata"]["resourceVersion"], "7");  // a stale cache conflicts
        EXPECT_EQ(object["status"]["phase"], "Building");
        return StatusOr<Json>(object);
      });
  EXPECT_CALL(recorder_, Record(_, "Normal", "Superseded", _));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Building", _));
  EXPECT_TRUE(Reconcile().ok());
}

TEST_F(ReconcileAdapterTest, WaitsForTheCacheToShowItsOwnStatusWrite) {
  ReconcileAdapter adapter(client_, recorder_, observer_, settings_, {imagebuilds_, pods_, config_maps_, nodes_});
  ExpectSecret();
  EXPECT_CALL(client_, Create(_, "ci", _)).WillRepeatedly(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(_, "ci", _, _)).WillOnce(Return(Status::Ok()));
  Json written;
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status"))
      .WillOnce([&](const kube::ResourceType&, const std::string&, const Json& object, const std::string&) {
        written = object;
        return StatusOr<Json>(object);
      });
  EXPECT_CALL(recorder_, Record(_, _, _, _)).Times(2);
  std::optional<std::chrono::milliseconds> requeue;
  ASSERT_TRUE(adapter.Reconcile("ci/worker", &requeue).ok());
  ::testing::Mock::VerifyAndClearExpectations(&client_);

  // The cache still holds resourceVersion 7, which the write replaced: nothing is read or written.
  requeue.reset();
  ASSERT_TRUE(adapter.Reconcile("ci/worker", &requeue).ok());
  ASSERT_TRUE(requeue);
  EXPECT_GT(*requeue, std::chrono::milliseconds(0));
  EXPECT_LE(*requeue, kOwnWriteWait);

  // The watch delivers the write: the next reconcile decides on it again (the mock's creates are
  // in no cache, so it asks for them once more).
  written["metadata"]["resourceVersion"] = "8";
  imagebuilds_.Upsert(written);
  ExpectSecret();
  EXPECT_CALL(client_, Create(_, "ci", _)).WillRepeatedly(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(_, "ci", _, _)).WillRepeatedly(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status"))
      .WillRepeatedly([](const kube::ResourceType&, const std::string&, const Json& object, const std::string&) {
        EXPECT_EQ(object["metadata"]["resourceVersion"], "8");
        return StatusOr<Json>(object);
      });
  EXPECT_CALL(recorder_, Record(_, _, _, _)).Times(::testing::AnyNumber());
  ASSERT_TRUE(adapter.Reconcile("ci/worker", &requeue).ok());
}

TEST_F(ReconcileAdapterTest, ALostStatusWriteRecordsNoEvent) {
  ExpectSecret();
  EXPECT_CALL(client_, Create(_, "ci", _)).WillRepeatedly(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(_, "ci", _, _)).WillOnce(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status"))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kConflict, "the object has been modified"))));
  EXPECT_EQ(Reconcile().code(), StatusCode::kConflict);  // decided again, events and all
}

TEST_F(ReconcileAdapterTest, AForeignConfigMapIsAnEventAndNothingElse) {
  InSequence order;
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kAlreadyExists, "exists"))));
  EXPECT_CALL(client_, Get(OfResource("configmaps"), "ci", "worker-imagebuild-registry"))
      .WillOnce(Return(StatusOr<Json>(Json{{"metadata", {{"name", "worker-imagebuild-registry"}}}, {"data", {{"x", "y"}}}})));
  EXPECT_CALL(recorder_, Record(_, "Warning", "ConfigMapConflict",
                                "ConfigMap worker-imagebuild-registry exists and is not owned by this ImageBuild; rename or delete it"));
  EXPECT_EQ(Reconcile().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ReconcileAdapterTest, OurOwnConfigMapEditedByHandIsUpdated) {
  InSequence order;
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kAlreadyExists, "exists"))));
  EXPECT_CALL(client_, Get(OfResource("configmaps"), "ci", "worker-imagebuild-registry"))
      .WillOnce(Return(StatusOr<Json>(Json{{"metadata", {{"name", "worker-imagebuild-registry"}, {"resourceVersion", "3"},
                                                         {"ownerReferences", Json::array({{{"uid", "u1"}, {"controller", true}}})}}},
                                           {"data", {{"registries.conf", "edited"}}}})));
  EXPECT_CALL(client_, Update(OfResource("configmaps"), "ci", _, ""))
      .WillOnce([](const kube::ResourceType&, const std::string&, const Json& object, const std::string&) {
        EXPECT_EQ(object["metadata"]["resourceVersion"], "3");
        EXPECT_NE(object["data"]["registries.conf"], "edited");
        return StatusOr<Json>(object);
      });
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(OfResource("pods"), "ci", "worker-old", _)).WillOnce(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status")).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Superseded", _));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Building", _));
  EXPECT_TRUE(Reconcile().ok());
}

TEST_F(ReconcileAdapterTest, ARefusedPodCreateIsAnEventWithoutAStatusWrite) {
  InSequence order;
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kForbidden, "exceeded quota: pods"))));
  EXPECT_CALL(recorder_, Record(_, "Warning", "PodCreateFailed", "exceeded quota: pods"));
  EXPECT_EQ(Reconcile().code(), StatusCode::kForbidden);
}

// Two platforms of a pinned commit (no resolve pod), so one decision creates two build pods.
void TwoPlatforms(kube::ObjectCache& imagebuilds, kube::ObjectCache& nodes) {
  Json ib = *imagebuilds.Get("ci/worker");
  ib["spec"]["source"]["git"]["revision"] = std::string(40, 'c');
  ib["spec"]["platforms"] = Json::array({{{"platform", "linux/amd64"}}, {{"platform", "linux/arm64"}}});
  imagebuilds.Upsert(ib);
  nodes.Upsert(Node("arm64"));
}

TEST_F(ReconcileAdapterTest, ThePodsOfOneDecisionAreCreatedAtOnce) {
  TwoPlatforms(imagebuilds_, nodes_);
  ExpectSecret();
  std::mutex mu;
  std::condition_variable both_arrived;
  int arrived = 0;
  std::vector<std::string> overlapping;  // the pods whose create saw the other one's begin
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _))
      .Times(2)
      .WillRepeatedly([&](const kube::ResourceType&, const std::string&, const Json& pod) {
        std::unique_lock lock(mu);
        ++arrived;
        both_arrived.notify_all();
        // Sequential creates would wait here for a second create that comes only after this one.
        if (both_arrived.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 2; })) {
          overlapping.push_back(pod["metadata"]["name"]);
        }
        return StatusOr<Json>(Json::object());
      });
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(OfResource("pods"), "ci", "worker-old", _)).WillOnce(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status")).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Superseded", _));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Building", _));
  EXPECT_TRUE(Reconcile().ok());
  EXPECT_EQ(overlapping.size(), 2u);
}

TEST_F(ReconcileAdapterTest, TwoPodsRefusedByAQuotaAreOneEventAndNoStatusWrite) {
  TwoPlatforms(imagebuilds_, nodes_);
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _))
      .Times(2)
      .WillRepeatedly(Return(StatusOr<Json>(Status(StatusCode::kForbidden, "exceeded quota: pods"))));
  EXPECT_CALL(recorder_, Record(_, "Warning", "PodCreateFailed", "exceeded quota: pods"));
  EXPECT_EQ(Reconcile().code(), StatusCode::kForbidden);
}

TEST_F(ReconcileAdapterTest, APodThatExistsAlreadyCountsAsCreated) {
  TwoPlatforms(imagebuilds_, nodes_);
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kAlreadyExists, "exists"))))
      .WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Delete(OfResource("pods"), "ci", "worker-old", _)).WillOnce(Return(Status::Ok()));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status")).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Superseded", _));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Building", _));
  EXPECT_TRUE(Reconcile().ok());
}

// The platform's pod ended with a digest: Built, then the merge pod; the finished attempt
// reaches the observer only once the status that says so is written.
void BuiltPlatform(kube::ObjectCache& imagebuilds, kube::ObjectCache& pods) {
  const std::string id = api::BuildId("u1", 1, "");
  const std::string name = api::PodName("worker", "u1", 1, "", "linux/amd64", 1);
  Json ib = *imagebuilds.Get("ci/worker");
  ib["metadata"]["generation"] = 1;
  ib["status"] = {{"buildID", id}, {"phase", "Building"}, {"observedGeneration", 1}, {"startTime", FormatTime(std::chrono::system_clock::now())},
                  {"platforms", Json::array({{{"platform", "linux/amd64"}, {"phase", "Building"}, {"attempt", 1}, {"podName", name},
                                              {"attemptStartTime", FormatTime(std::chrono::system_clock::now())}}})}};
  imagebuilds.Upsert(ib);
  pods.Erase("ci/worker-old");
  pods.Upsert({{"metadata", {{"name", name}, {"namespace", "ci"},
                             {"labels", {{"imagebuild.io/build-id", id}, {"imagebuild.io/role", "build"}}},
                             {"ownerReferences", Json::array({{{"uid", "u1"}, {"controller", true}, {"kind", "ImageBuild"}}})}}},
               {"spec", {{"nodeName", "n-amd64"}}},
               {"status", {{"phase", "Succeeded"},
                           {"containerStatuses", Json::array({{{"name", "build"},
                              {"state", {{"terminated", {{"exitCode", 0}, {"message", "sha256:" + std::string(64, 'a')}}}}}}})}}}});
}

TEST_F(ReconcileAdapterTest, OutcomesAreToldOnlyAfterTheStatusIsWritten) {
  BuiltPlatform(imagebuilds_, pods_);
  InSequence order;
  ExpectSecret();
  EXPECT_CALL(client_, Create(OfResource("configmaps"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Create(OfResource("pods"), "ci", _)).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status")).WillOnce(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Built", _));
  EXPECT_CALL(recorder_, Record(_, "Normal", "Merging", _));
  EXPECT_CALL(observer_, OutcomeRecorded(::testing::Field(&Outcome::platform, "linux/amd64")));
  EXPECT_TRUE(Reconcile().ok());
}

TEST_F(ReconcileAdapterTest, NoOutcomeIsToldWhenTheStatusWriteFails) {
  BuiltPlatform(imagebuilds_, pods_);
  ExpectSecret();
  EXPECT_CALL(client_, Create(_, "ci", _)).WillRepeatedly(Return(StatusOr<Json>(Json::object())));
  EXPECT_CALL(client_, Update(OfResource("imagebuilds"), "ci", _, "status"))
      .WillOnce(Return(StatusOr<Json>(Status(StatusCode::kConflict, "modified"))));
  EXPECT_FALSE(Reconcile().ok());
}

}  // namespace
}  // namespace ibo::controller
