// The informer's initial list, against a mock client: pages are fetched ahead of storing, and a
// page that fails fails the whole list, which is then retried from the start.
#include "kube/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

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

// Both tests below are about pages, which only a list from etcd has.
InformerOptions PagedFromEtcd() {
  InformerOptions options = FastRetries();
  options.first_list_from_watch_cache = false;
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
  Informer informer(client, resources::kConfigMaps, PagedFromEtcd());
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
  Informer informer(client, resources::kConfigMaps, PagedFromEtcd());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  informer.Stop();
  EXPECT_EQ(first_pages, 2);  // the failed list was not resumed from its continue token
  EXPECT_EQ(second_pages, 2);
  EXPECT_THAT(informer.cache().Keys(), UnorderedElementsAre("ci/a", "ci/b"));
}

TEST(InformerListTest, TheFirstListComesFromTheWatchCacheAndARelistAfter410FromEtcd) {
  NiceMock<MockClient> client;
  std::mutex mu;
  std::vector<ListOptions> lists;
  ON_CALL(client, List(_, "ci", _)).WillByDefault(Invoke([&](auto&, auto&, const ListOptions& o) -> StatusOr<Json> {
    std::lock_guard lock(mu);
    lists.push_back(o);
    return Page(lists.size() == 1 ? "a" : "b", "");
  }));
  int watches = 0;
  ON_CALL(client, Watch(_, _, _)).WillByDefault(Invoke([&](auto&&...) -> StatusOr<std::unique_ptr<WatchStream>> {
    if (++watches == 1) return Status{StatusCode::kGone, "too old resource version"};
    return std::unique_ptr<WatchStream>(std::make_unique<IdleWatch>());
  }));
  Informer informer(client, resources::kConfigMaps, FastRetries());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  for (int i = 0; i < 500 && informer.relists() < 2; ++i) std::this_thread::sleep_for(10ms);
  informer.Stop();
  std::lock_guard lock(mu);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].resource_version, "0") << "the first list, from the watch cache";
  EXPECT_EQ(lists[0].limit, 0) << "which ignores limit";
  EXPECT_EQ(lists[1].resource_version, "") << "a relist reads etcd: the watch cache may lag it";
  EXPECT_EQ(lists[1].limit, 500);
  EXPECT_THAT(informer.cache().Keys(), UnorderedElementsAre("ci/b"));
  EXPECT_EQ(informer.cache().Get("ci/b")->value("kind", ""), "ConfigMap");
}

TEST(InformerListTest, AWatchCacheListThatComesInPagesIsFollowedToItsEnd) {
  NiceMock<MockClient> client;
  WatchIdly(client);
  std::vector<ListOptions> lists;
  ON_CALL(client, List(_, "ci", _)).WillByDefault(Invoke([&](auto&, auto&, const ListOptions& o) -> StatusOr<Json> {
    lists.push_back(o);
    return o.continue_token.empty() ? Page("a", "after-a") : Page("b", "");
  }));
  Informer informer(client, resources::kConfigMaps, FastRetries());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  informer.Stop();
  EXPECT_THAT(informer.cache().Keys(), UnorderedElementsAre("ci/a", "ci/b"));
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[1].continue_token, "after-a");
  EXPECT_EQ(lists[1].resource_version, "") << "a continued list names no resourceVersion";
}

}  // namespace
}  // namespace ibo::kube
