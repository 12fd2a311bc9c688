// The REST client's own decisions, against a mock transport: headers, Retry-After on 429, a fresh
// credential after 401, and errors as values. The real server is in tests/integration/kube.
#include "kube/rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/pod_protobuf.h"
#include "common/json_parse.h"
#include "kube/protobuf_envelope.h"
#include "protobuf_fixtures.h"
#include "unit/http/mock_transport.h"
#include "unit/http/scripted_stream.h"

namespace ibo::kube {
namespace {

using ::testing::_;
using ::testing::Invoke;
using ::testing::Return;

http::Response Reply(int status, const std::string& body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = body;
  r.headers = std::move(headers);
  return r;
}

ClusterConfig TokenConfig() {
  ClusterConfig c;
  c.server = "https://kube.test:6443";
  c.token = "secret-token";
  return c;
}

TEST(RestClientUnitTest, SendsTheRequestAKubeApiserverExpects) {
  auto transport = std::make_unique<http::MockTransport>();
  http::Request seen;
  EXPECT_CALL(*transport, Send(_)).WillOnce(Invoke([&](const http::Request& r) {
    seen = r;
    return StatusOr<http::Response>(Reply(200, R"({"kind":"Pod"})"));
  }));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  auto patched = client->Patch(ResourceType{"imagebuild.io", "v1alpha1", "imagebuilds", true}, "ci", "worker", PatchType::kMerge, {{"spec", {{"version", "v2.0.0"}}}}, "status");
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(seen.method, "PATCH");
  EXPECT_EQ(seen.url, "https://kube.test:6443/apis/imagebuild.io/v1alpha1/namespaces/ci/imagebuilds/worker/status");
  EXPECT_EQ(seen.headers["Content-Type"], "application/merge-patch+json");
  EXPECT_EQ(seen.headers["Authorization"], "Bearer secret-token");
  EXPECT_EQ(seen.body, R"({"spec":{"version":"v2.0.0"}})");
}

TEST(RestClientUnitTest, WritesWithoutResultSendTheSameAndDoNotReadTheAnswer) {
  auto transport = std::make_unique<http::MockTransport>();
  std::vector<http::Request> seen;
  EXPECT_CALL(*transport, Send(_))
      .WillOnce(Invoke([&](const http::Request& r) { seen.push_back(r); return StatusOr<http::Response>(Reply(201, "{not json")); }))
      .WillOnce(Invoke([&](const http::Request& r) { seen.push_back(r); return StatusOr<http::Response>(Reply(201, "{not json")); }))
      .WillOnce(Invoke([&](const http::Request& r) { seen.push_back(r); return StatusOr<http::Response>(Reply(200, "{not json")); }))
      .WillOnce(Return(StatusOr<http::Response>(Reply(409, R"({"kind":"Status","reason":"AlreadyExists","code":409})"))));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  const Json pod = {{"metadata", {{"name", "p"}}}};
  EXPECT_TRUE(client->CreateWithoutResult(resources::kPods, "ci", pod).ok());
  EXPECT_EQ(client->Create(resources::kPods, "ci", pod).status().code(), StatusCode::kInternal);  // this one reads it
  EXPECT_TRUE(client->UpdateWithoutResult(resources::kPods, "ci", pod, "status").ok());
  EXPECT_EQ(client->CreateWithoutResult(resources::kPods, "ci", pod).code(), StatusCode::kAlreadyExists);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].url, seen[1].url);
  EXPECT_EQ(seen[0].body, seen[1].body);
  EXPECT_EQ(seen[2].method, "PUT");
  EXPECT_EQ(seen[2].url, "https://kube.test:6443/api/v1/namespaces/ci/pods/p/status");
}

TEST(RestClientUnitTest, DiscardedAnswersAreAskedForInProtobufAndItsErrorsRead) {
  auto transport = std::make_unique<http::MockTransport>();
  std::vector<http::Request> seen;
  http::Headers protobuf{{"Content-Type", "application/vnd.kubernetes.protobuf"}};
  EXPECT_CALL(*transport, Send(_))
      .WillOnce(Invoke([&](const http::Request& r) { seen.push_back(r); return StatusOr<http::Response>(Reply(201, "k8s\0...")); }))
      .WillOnce(Invoke([&](const http::Request& r) { seen.push_back(r); return StatusOr<http::Response>(Reply(201, "{}")); }))
      .WillOnce(Return(StatusOr<http::Response>(Reply(404, testing::ReadProtobufFixture("not_found.pb"), protobuf))));
  RestClientOptions options;
  options.qps = 0;
  options.protobuf_discarded_answers = true;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  const Json pod = {{"metadata", {{"name", "p"}}}};
  EXPECT_TRUE(client->CreateWithoutResult(resources::kPods, "ci", pod).ok());
  EXPECT_TRUE(client->Create(resources::kPods, "ci", pod).ok());
  const Status missing = client->UpdateWithoutResult(resources::kPods, "ci", pod, "status");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].headers["Accept"], "application/vnd.kubernetes.protobuf, application/json");
  EXPECT_EQ(seen[0].headers["Content-Type"], "application/json");  // the object itself goes as JSON
  EXPECT_EQ(seen[1].headers["Accept"], "application/json") << "an answer that is read stays JSON";
}

TEST(RestClientUnitTest, ListQueryIsEscaped) {
  auto transport = std::make_unique<http::MockTransport>();
  std::string url;
  EXPECT_CALL(*transport, Send(_)).WillOnce(Invoke([&](const http::Request& r) {
    url = r.url;
    return StatusOr<http::Response>(Reply(200, R"({"items":[]})"));
  }));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  ListOptions o;
  o.label_selector = "imagebuild.io/role in (build,merge)";
  o.limit = 500;
  ASSERT_TRUE(client->List(resources::kPods, "", o).ok());
  EXPECT_EQ(url, "https://kube.test:6443/api/v1/pods?labelSelector=imagebuild.io%2Frole%20in%20%28build%2Cmerge%29&limit=500");
}

TEST(RestClientUnitTest, HonoursRetryAfterOn429ThenSucceeds) {
  auto transport = std::make_unique<http::MockTransport>();
  EXPECT_CALL(*transport, Send(_))
      .WillOnce(Return(StatusOr<http::Response>(
          Reply(429, R"({"kind":"Status","reason":"TooManyRequests","code":429})", {{"Retry-After", "1"}}))))
      .WillOnce(Return(StatusOr<http::Response>(Reply(200, R"({"metadata":{"name":"x"}})"))));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  const auto start = std::chrono::steady_clock::now();
  auto got = client->Get(resources::kConfigMaps, "ci", "x");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
}

StatusOr<std::unique_ptr<http::ResponseStream>> Scripted(int status, std::vector<std::string> pieces,
                                                         http::Headers headers = {}, bool cut_short = false) {
  return std::unique_ptr<http::ResponseStream>(
      new http::ScriptedStream(status, std::move(headers), std::move(pieces), cut_short));
}

struct Listed {
  StatusOr<ListSummary> summary;
  std::vector<Json> items;
};

Listed ListEachOf(Client& client, const ListOptions& options) {
  Listed out{ListSummary{}, {}};
  out.summary = client.ListEach(resources::kConfigMaps, "ci", options, [&](Json item) {
    out.items.push_back(std::move(item));
    return Status::Ok();
  });
  return out;
}

TEST(RestClientUnitTest, ListEachReadsTheBodyAsItArrivesAfterA429) {
  auto transport = std::make_unique<http::MockTransport>();
  std::vector<std::string> urls;
  EXPECT_CALL(*transport, Stream(_))
      .WillOnce(Invoke([&](const http::Request& r) {
        urls.push_back(r.url);
        return Scripted(429, {R"({"kind":"Status","reason":"TooManyRequests","code":429,)",
                              R"("details":{"retryAfterSeconds":0}})"});
      }))
      .WillOnce(Invoke([&](const http::Request& r) {
        urls.push_back(r.url);
        EXPECT_EQ(r.headers.at("Accept"), "application/json");
        return Scripted(200, {R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9"},)",
                              R"("items":[{"metadata":{"name":"a","managedFields":[{}]}},{"metad)",
                              R"(ata":{"name":"b"},"kind":"Own"}]})"});
      }));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  ListOptions list;
  list.resource_version = "0";
  list.unparsed_members = {kManagedFieldsMember};
  Listed listed = ListEachOf(*client, list);
  ASSERT_TRUE(listed.summary.ok()) << listed.summary.status().ToString();
  EXPECT_EQ(listed.summary->resource_version, "9");
  EXPECT_EQ(listed.summary->kind, "ConfigMapList");
  EXPECT_EQ(Json(listed.items), Json::parse(R"([{"metadata":{"name":"a"},"apiVersion":"v1","kind":"ConfigMap"},
                                                {"metadata":{"name":"b"},"apiVersion":"v1","kind":"Own"}])"));
  EXPECT_EQ(urls, std::vector<std::string>(2, "https://kube.test:6443/api/v1/namespaces/ci/configmaps?resourceVersion=0"));
}

TEST(RestClientUnitTest, ListEachReadsProtobufOnlyWhenTheServerAnsweredInIt) {
  const std::string body = ibo::testing::ReadProtobufFixture("list.pb");
  auto page = DecodeProtobufList(body, api::DecodeTrimmedPod);
  ASSERT_TRUE(page.ok());
  auto transport = std::make_unique<http::MockTransport>();
  EXPECT_CALL(*transport, Stream(_))
      .WillOnce(Invoke([&](const http::Request& r) {
        EXPECT_EQ(r.headers.at("Accept"), kProtobufListAccept);
        return Scripted(200, {body.substr(0, 100), body.substr(100)}, {{"Content-Type", kProtobufMediaType}});
      }))
      .WillOnce(Return(Scripted(200, {R"({"kind":"PodList","items":[{}]})"}, {{"Content-Type", "application/json"}})));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  ListOptions list;
  list.protobuf_objects = api::DecodeTrimmedPod;
  Listed protobuf = ListEachOf(*client, list);
  ASSERT_TRUE(protobuf.summary.ok()) << protobuf.summary.status().ToString();
  EXPECT_EQ(protobuf.summary->continue_token, (*page)["metadata"]["continue"]);
  ASSERT_EQ(protobuf.items.size(), (*page)["items"].size());
  for (size_t i = 0; i < protobuf.items.size(); ++i) {
    Json expected = (*page)["items"][i];
    expected["apiVersion"] = "v1";
    expected["kind"] = "Pod";
    EXPECT_EQ(protobuf.items[i], expected);
  }
  Listed json = ListEachOf(*client, list);
  ASSERT_TRUE(json.summary.ok()) << json.summary.status().ToString();
  EXPECT_EQ(Json(json.items), Json::parse(R"([{"apiVersion":"v1","kind":"Pod"}])"));
}

TEST(RestClientUnitTest, ListEachErrorsNameTheListAndComeAsTheirType) {
  auto transport = std::make_unique<http::MockTransport>();
  EXPECT_CALL(*transport, Stream(_))
      .WillOnce(Return(Scripted(410, {R"({"kind":"Status","reason":"Expired","code":410,"message":"too old"})"})))
      .WillOnce(Return(Scripted(200, {R"({"items":[{"metadata":{}},{"meta)"}, {}, true)))
      .WillOnce(Return(Scripted(200, {R"({"items":[{"metadata":{}},{"meta":tru}]})"})));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  Listed gone = ListEachOf(*client, {});
  EXPECT_EQ(gone.summary.status().code(), StatusCode::kGone) << gone.summary.status().ToString();
  Listed cut = ListEachOf(*client, {});
  EXPECT_EQ(cut.summary.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cut.summary.status().message().rfind("list configmaps in ci: stream: the server closed", 0), 0u)
      << cut.summary.status().message();
  EXPECT_EQ(cut.items.size(), 1u) << "the item before the cut was handed over";
  Listed broken = ListEachOf(*client, {});
  EXPECT_EQ(broken.summary.status().code(), StatusCode::kInternal);
  EXPECT_EQ(broken.summary.status().message().rfind("list configmaps in ci: an unreadable item: ", 0), 0u)
      << broken.summary.status().message();
}

TEST(RestClientUnitTest, GivesUpAfterTheRetryBudgetWithTheTypedError) {
  auto transport = std::make_unique<http::MockTransport>();
  EXPECT_CALL(*transport, Send(_))
      .Times(2)
      .WillRepeatedly(Return(StatusOr<http::Response>(
          Reply(429, R"({"kind":"Status","reason":"TooManyRequests","code":429,"details":{"retryAfterSeconds":0}})"))));
  RestClientOptions options;
  options.qps = 0;
  options.max_retries_on_429 = 1;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  auto got = client->Get(resources::kConfigMaps, "ci", "x");
  EXPECT_EQ(got.status().code(), StatusCode::kTooManyRequests);
  EXPECT_EQ(got.status().retry_after(), std::chrono::seconds(0));
}

TEST(RestClientUnitTest, FetchesAFreshExecCredentialOnceAfter401) {
  ClusterConfig config = TokenConfig();
  config.token.clear();
  char tmpl[] = "/tmp/ibo-rest-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string counter = dir + "/n";
  // A real plugin process that hands out token-1, then token-2, ...
  const std::string plugin = dir + "/plugin.sh";
  {
    std::FILE* f = std::fopen(plugin.c_str(), "w");
    std::fprintf(f, "#!/bin/sh\nn=$(( $(cat %s 2>/dev/null || echo 0) + 1 )); echo $n > %s\n"
                    "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"token-'$n'\"}}'\n",
                 counter.c_str(), counter.c_str());
    std::fclose(f);
    chmod(plugin.c_str(), 0700);
  }
  config.exec = ExecPluginConfig{"client.authentication.k8s.io/v1", plugin, {}, {}, config.server};
  auto transport = std::make_unique<http::MockTransport>();
  std::vector<std::string> tokens;
  EXPECT_CALL(*transport, Send(_)).Times(2).WillRepeatedly(Invoke([&](const http::Request& r) {
    tokens.push_back(r.headers.at("Authorization"));
    return StatusOr<http::Response>(tokens.size() == 1 ? Reply(401, R"({"kind":"Status","reason":"Unauthorized","code":401})")
                                                       : Reply(200, "{}"));
  }));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(config, options, std::move(transport));
  EXPECT_TRUE(client->Get(resources::kConfigMaps, "ci", "x").ok());
  EXPECT_EQ(tokens, (std::vector<std::string>{"Bearer token-1", "Bearer token-2"}));
  std::system(("rm -rf " + dir).c_str());
}

TEST(RestClientUnitTest, TransportFailuresAreValuesNamingTheRequest) {
  auto transport = std::make_unique<http::MockTransport>();
  EXPECT_CALL(*transport, Send(_)).WillOnce(Return(StatusOr<http::Response>(Status(StatusCode::kTimeout, "timed out"))));
  RestClientOptions options;
  options.qps = 0;
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  auto got = client->Get(resources::kNodes, "", "n1");
  EXPECT_EQ(got.status().code(), StatusCode::kTimeout);
  EXPECT_EQ(got.status().message(), "get nodes n1: timed out");
}

// Found by the watch_event fuzzer: a line with a non-string type threw from value(); an object
// that is not an object, or metadata that is not one, threw later in the informer's thread.
TEST(RestClientUnitTest, TheWriteGateRefusesWritesBeforeTheyLeaveAndLetsReadsThrough) {
  auto transport = std::make_unique<http::MockTransport>();
  std::vector<std::string> sent;
  EXPECT_CALL(*transport, Send(_)).WillRepeatedly(Invoke([&](const http::Request& r) {
    sent.push_back(r.method);
    return StatusOr<http::Response>(Reply(200, R"({"metadata":{"name":"x"}})"));
  }));
  RestClientOptions options;
  options.qps = 0;
  std::vector<std::string> asked;
  options.write_gate = [&](const std::string& what) {
    asked.push_back(what);
    return FailedPrecondition(what + " refused by the leader-election fence");
  };
  auto client = NewRestClient(TokenConfig(), options, std::move(transport));
  EXPECT_TRUE(client->Get(resources::kConfigMaps, "ci", "x").ok());
  auto created = client->Create(resources::kPods, "ci", {{"metadata", {{"name", "p"}}}});
  EXPECT_EQ(created.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(client->Delete(resources::kPods, "ci", "p").code(), StatusCode::kFailedPrecondition);
  auto patched = client->Patch(resources::kPods, "ci", "p", PatchType::kMerge, Json::object(), "status");
  EXPECT_EQ(patched.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sent, std::vector<std::string>{"GET"});
  EXPECT_EQ(asked, (std::vector<std::string>{"create pods ci/p", "delete pods ci/p", "patch pods/status ci/p"}));
}

TEST(WatchEventTest, DecodesEventsAndRefusesOtherShapes) {
  auto added = DecodeWatchEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"p","resourceVersion":"7"}}})", "watch pods");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->type, "ADDED");
  EXPECT_EQ(added->object["metadata"]["resourceVersion"], "7");
  EXPECT_TRUE(DecodeWatchEvent(R"({"type":"BOOKMARK","object":{"metadata":{}}})", "w").ok());
  for (const char* line : {R"({"type":1,"object":{}})", R"({"object":{}})", R"({"type":"ADDED"})",
                           R"({"type":"ADDED","object":5})", R"({"type":"ADDED","object":{"metadata":[]}})",
                           R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":12}}})", "[1]", "{"}) {
    auto event = DecodeWatchEvent(line, "watch pods");
    ASSERT_FALSE(event.ok()) << line;
    EXPECT_EQ(event.status().code(), StatusCode::kInternal) << line;
    EXPECT_EQ(event.status().message().rfind("watch pods: ", 0), 0u) << event.status().message();
  }
}

TEST(WatchEventTest, AnErrorEventIsItsApiError) {
  auto gone = DecodeWatchEvent(
      R"j({"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 1 (48213)","reason":"Expired","code":410}})j",
      "watch pods");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kGone);
  EXPECT_EQ(gone.status().message(), "watch pods: too old resource version: 1 (48213)");
  auto odd = DecodeWatchEvent(R"({"type":"ERROR","object":{"code":3.6e112,"reason":false}})", "watch pods");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), StatusCode::kInternal);
}

// Issue 12 part 5: a watch event 9,000 levels deep (kube-apiserver passes up to 10,000) is read,
// its deep value cut at 64 levels, instead of crashing the informer's thread or ending the watch.
TEST(WatchEventTest, ADeepObjectIsDeliveredWithItsDeepValueCut) {
  std::string deep;
  for (int i = 0; i < 9000; ++i) deep += R"({"a":)";
  deep += "1" + std::string(9000, '}');
  auto event = DecodeWatchEvent(R"({"type":"ADDED","object":{"metadata":{"name":"deep","resourceVersion":"9"},"spec":)" +
                                    deep + "}}",
                                "watch imagebuilds");
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->object["metadata"]["name"], "deep");
  EXPECT_LE(JsonDepth(event->object.dump()), kMaxJsonDepth);
  EXPECT_NE(event->object.dump().find(kTooDeepMarker), std::string::npos);
  // What is not JSON stays refused, and says why.
  auto broken = DecodeWatchEvent(R"({"type":"ADDED","object":{)", "watch pods");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("not valid JSON (byte "), std::string::npos) << broken.status().message();
}

}  // namespace
}  // namespace ibo::kube
