// The informer's initial list, against a mock client: pages are fetched ahead of storing, and a
// page that fails fails the whole list, which is then retried from the start.
#include "kube/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "unit/kube/mock_client.h"

namespace ibo::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::UnorderedElementsAre;

// A watch that delivers nothing until the informer stops it.
class IdleWatch : public WatchStream {
 public:
  StatusOr<std::optional<WatchEvent>> Next() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cancelled_; });
    return Status{StatusCode::kCancelled, "cancelled"};
  }
  void Cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

Json Page(const std::string& name, const std::string& next) {
  return {{"kind", "ConfigMapList"},
          {"metadata", {{"resourceVersion", "7"}, {"continue", next}}},
          {"items", Json::array({{{"metadata", {{"namespace", "ci"}, {"name", name}}}}})}};
}

InformerOptions FastRetries() {
  InformerOptions options;
  options.namespace_ = "ci";
  options.initial_backoff = 10ms;
  return options;
}

void WatchIdly(MockClient& client) {
  ON_CALL(client, Watch(_, _, _)).WillByDefault(Invoke([](auto&&...) -> StatusOr<std::unique_ptr<WatchStream>> {
    return std::unique_ptr<WatchStream>(std::make_unique<IdleWatch>());
  }));
}

TEST(InformerListTest, TheNextPageIsAskedForWhileThisOneIsStored) {
  NiceMock<MockClient> client;
  WatchIdly(client);
  std::mutex mu;
  std::condition_variable cv;
  bool second_asked = false;
  ON_CALL(client, List(_, "ci", _)).WillByDefault(Invoke([&](auto&, auto&, const ListOptions& o) -> StatusOr<Json> {
    if (o.continue_token.empty()) return Page("a", "after-a");
    std::lock_guard lock(mu);
    second_asked = true;
    cv.notify_all();
    return Page("b", "");
  }));
  Informer informer(client, resources::kConfigMaps, FastRetries());
  bool asked_while_storing_a = false;
  EventHandlers handlers;
  handlers.on_add = [&](const Json& o) {
    if (ObjectKey(o) != "ci/a") return;
    std::unique_lock lock(mu);  // storing page 1 waits here until page 2 has been asked for
    asked_while_storing_a = cv.wait_for(lock, 5s, [&] { return second_asked; });
  };
  informer.AddHandlers(std::move(handlers));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_TRUE(asked_while_storing_a);
  EXPECT_THAT(informer.cache().Keys(), UnorderedElementsAre("ci/a", "ci/b"));
  informer.Stop();
}

TEST(InformerListTest, AFailedPageFailsTheListWhichIsRetriedFromTheStart) {
  NiceMock<MockClient> client;
  WatchIdly(client);
  std::mutex mu;
  int first_pages = 0, second_pages = 0;
  ON_CALL(client, List(_, "ci", _)).WillByDefault(Invoke([&](auto&, auto&, const ListOptions& o) -> StatusOr<Json> {
    std::lock_guard lock(mu);
    if (o.continue_token.empty()) return ++first_pages, Page("a", "after-a");
    if (++second_pages == 1) return Status{StatusCode::kUnavailable, "connection reset"};
    return Page("b", "");
  }));
  Informer informer(client, resources::kConfigMaps, FastRetries());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  informer.Stop();
  EXPECT_EQ(first_pages, 2);  // the failed list was not resumed from its continue token
  EXPECT_EQ(second_pages, 2);
  EXPECT_THAT(informer.cache().Keys(), UnorderedElementsAre("ci/a", "ci/b"));
}

}  // namespace
}  // namespace ibo::kube
