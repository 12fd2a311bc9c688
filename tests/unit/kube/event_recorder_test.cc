// The event recorder against a mocked API: what an Event holds, repeats counted, transient
// failures retried under the same Event name, refusals dropped, the queue bounded, and a
// destructor that stops by its drain deadline while the API is down.
#include "kube/event_recorder.h"

#include <future>

#include <gtest/gtest.h>

#include "mock_client.h"

namespace ibo::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;

const Json kTarget = {{"apiVersion", "imagebuild.io/v1alpha1"},
                      {"kind", "ImageBuild"},
                      {"metadata", {{"namespace", "ci"}, {"name", "app"}, {"uid", "u-1"}, {"resourceVersion", "7"}}}};

EventRecorderOptions FastOptions() {
  EventRecorderOptions o;
  o.host = "node-a";
  o.first_backoff = 1ms;
  o.max_backoff = 4ms;
  o.clock = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)); };
  return o;
}

// Create answers taken in turn; every object sent is kept.
struct Creates {
  std::vector<Json> sent;
  std::vector<Status> answers;
  StatusOr<Json> operator()(const Json& object) {
    sent.push_back(object);
    Status s = answers.size() >= sent.size() ? answers[sent.size() - 1] : Status::Ok();
    if (!s.ok()) return s;
    return object;
  }
};

class EventRecorderTest : public ::testing::Test {
 protected:
  void ExpectCreates(Creates& creates) {
    EXPECT_CALL(client_, Create(OfResource("events"), "ci", _)).WillRepeatedly([&](auto&, auto&, const Json& o) {
      return creates(o);
    });
  }
  NiceMock<MockClient> client_;
};

TEST_F(EventRecorderTest, WritesTheEventOnTheObjectOffTheCallersThread) {
  Creates creates;
  ExpectCreates(creates);
  ApiEventRecorder recorder(client_, "imagebuild-operator", FastOptions());
  recorder.Record(kTarget, "Warning", "NoNodesForPlatform", std::string(2000, 'x'));
  ASSERT_TRUE(recorder.Flush(5s));
  ASSERT_EQ(creates.sent.size(), 1u);
  const Json& e = creates.sent[0];
  EXPECT_EQ(e["metadata"]["namespace"], "ci");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("app.", 0), 0u);
  EXPECT_EQ(e["involvedObject"], Json({{"apiVersion", "imagebuild.io/v1alpha1"},
                                       {"kind", "ImageBuild"},
                                       {"namespace", "ci"},
                                       {"name", "app"},
                                       {"uid", "u-1"},
                                       {"resourceVersion", "7"}}));
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["message"].get<std::string>(), std::string(1021, 'x') + "...");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(e["source"], Json({{"component", "imagebuild-operator"}, {"host", "node-a"}}));
  EXPECT_EQ(e["reportingInstance"], "node-a");
}

TEST_F(EventRecorderTest, RetriesTransientFailuresUnderTheSameNameAndCountsRepeats) {
  Creates creates;
  // The third try answers AlreadyExists: the second landed although its answer was lost.
  creates.answers = {Unavailable("connection reset"), Status{StatusCode::kTimeout, "timed out"},
                     Status{StatusCode::kAlreadyExists, "exists"}};
  ExpectCreates(creates);
  std::vector<Json> patches;
  EXPECT_CALL(client_, Patch(OfResource("events"), "ci", _, PatchType::kMerge, _, ""))
      .WillOnce([&](auto&, auto&, auto&, auto, const Json& p, auto&) -> StatusOr<Json> {
        patches.push_back(p);
        return Unavailable("connection refused");
      })
      .WillRepeatedly([&](auto&, auto&, const std::string& name, auto, const Json& p, auto&) -> StatusOr<Json> {
        patches.push_back(p);
        EXPECT_EQ(name, creates.sent.at(0)["metadata"]["name"]);
        return Json::object();
      });
  ApiEventRecorder recorder(client_, "imagebuild-operator", FastOptions());
  recorder.Record(kTarget, "Normal", "Built", "linux/amd64 built");
  recorder.Record(kTarget, "Normal", "Built", "linux/amd64 built");
  recorder.Record(kTarget, "Normal", "Built", "linux/amd64 built");
  ASSERT_TRUE(recorder.Flush(5s));
  ASSERT_EQ(creates.sent.size(), 3u);
  EXPECT_EQ(creates.sent[1]["metadata"]["name"], creates.sent[0]["metadata"]["name"]);
  EXPECT_EQ(creates.sent[2]["metadata"]["name"], creates.sent[0]["metadata"]["name"]);
  // The count is set, not added to: the retried patch says 2 again.
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0]["count"], 2);
  EXPECT_EQ(patches[1]["count"], 2);
  EXPECT_EQ(patches[2]["count"], 3);
}

TEST_F(EventRecorderTest, DropsWhatTheServerRefusesWithoutRetrying) {
  Creates creates;
  creates.answers = {Status{StatusCode::kInvalid, "message: Too long"},
                     FailedPrecondition("refused by the leader-election fence")};
  ExpectCreates(creates);
  ApiEventRecorder recorder(client_, "imagebuild-operator", FastOptions());
  recorder.Record(kTarget, "Warning", "A", "one");
  recorder.Record(kTarget, "Warning", "B", "two");
  ASSERT_TRUE(recorder.Flush(5s));
  EXPECT_EQ(creates.sent.size(), 2u);
}

TEST_F(EventRecorderTest, GivesUpAfterItsAttempts) {
  Creates creates;
  creates.answers.assign(10, Unavailable("connection refused"));
  ExpectCreates(creates);
  auto options = FastOptions();
  options.max_attempts = 4;
  ApiEventRecorder recorder(client_, "imagebuild-operator", options);
  recorder.Record(kTarget, "Normal", "Building", "building");
  ASSERT_TRUE(recorder.Flush(5s));
  EXPECT_EQ(creates.sent.size(), 4u);
}

TEST_F(EventRecorderTest, ARepeatOfAnExpiredEventStartsANewOne) {
  Creates creates;
  ExpectCreates(creates);
  EXPECT_CALL(client_, Patch(_, _, _, _, _, _))
      .WillOnce(Return(StatusOr<Json>(NotFound("events \"app.1\" not found"))));
  ApiEventRecorder recorder(client_, "imagebuild-operator", FastOptions());
  recorder.Record(kTarget, "Normal", "Building", "building");
  recorder.Record(kTarget, "Normal", "Building", "building");
  ASSERT_TRUE(recorder.Flush(5s));
  ASSERT_EQ(creates.sent.size(), 2u);
  EXPECT_EQ(creates.sent[1]["count"], 1);
}

TEST_F(EventRecorderTest, AFullQueueDropsNewEventsAndRecordNeverWaits) {
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  std::atomic<int> created{0};
  EXPECT_CALL(client_, Create(_, _, _)).WillRepeatedly([&](auto&, auto&, const Json& o) -> StatusOr<Json> {
    if (created++ == 0) {
      entered.set_value();
      released.wait();
    }
    return o;
  });
  auto options = FastOptions();
  options.max_queued = 2;
  ApiEventRecorder recorder(client_, "imagebuild-operator", options);
  recorder.Record(kTarget, "Normal", "R0", "taken by the writer, which then waits on the API");
  entered.get_future().wait();
  for (int i = 1; i <= 4; ++i) recorder.Record(kTarget, "Normal", "R" + std::to_string(i), "queued or dropped");
  release.set_value();
  ASSERT_TRUE(recorder.Flush(5s));
  EXPECT_EQ(created.load(), 3);  // R0, then R1 and R2; R3 and R4 found the queue full
}

TEST_F(EventRecorderTest, StopsByItsDrainDeadlineWhileTheApiIsDown) {
  EXPECT_CALL(client_, Create(_, _, _)).WillRepeatedly(Return(StatusOr<Json>(Unavailable("connection refused"))));
  auto options = FastOptions();
  options.max_attempts = 1000000;
  options.first_backoff = options.max_backoff = 10min;  // only the drain deadline can end the wait
  options.drain_timeout = 50ms;
  auto recorder = std::make_unique<ApiEventRecorder>(client_, "imagebuild-operator", options);
  for (int i = 0; i < 5; ++i) recorder->Record(kTarget, "Normal", "R" + std::to_string(i), "never written");
  EXPECT_FALSE(recorder->Flush(20ms));
  auto destroyed = std::async(std::launch::async, [&] { recorder.reset(); });
  EXPECT_EQ(destroyed.wait_for(60s), std::future_status::ready) << "the destructor did not stop by its deadline";
}

}  // namespace
}  // namespace ibo::kube
