#include "kube/rest_client.h"

#include <mutex>
#include <thread>

#include "common/base64.h"
#include "common/json_parse.h"
#include "common/url_escape.h"
#include "kube/api_error.h"
#include "kube/json_list_splitter.h"
#include "kube/protobuf_envelope.h"
#include "kube/rate_limiter.h"

namespace ibo::kube {
namespace {


const char* ContentTypeFor(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

std::string Query(const ListOptions& o, bool watch) {
  std::string q;
  auto add = [&](const std::string& k, const std::string& v) { q += (q.empty() ? "?" : "&") + k + "=" + QueryEscape(v); };
  if (watch) add("watch", "true");
  if (!o.label_selector.empty()) add("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add("fieldSelector", o.field_selector);
  if (o.limit > 0) add("limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) add("continue", o.continue_token);
  if (!o.resource_version.empty()) add("resourceVersion", o.resource_version);
  if (o.timeout_seconds > 0) add("timeoutSeconds", std::to_string(o.timeout_seconds));
  if (o.allow_watch_bookmarks) add("allowWatchBookmarks", "true");
  return q;
}

// A protobuf watch event is at most this large: a corrupt length fails the watch, not the process.
constexpr uint32_t kMaxProtobufEvent = 64u << 20;

// What the server answered in: one asked for protobuf may still answer JSON (a resource without
// protobuf, a proxy that rewrote it), and is then read as JSON.
bool IsProtobuf(const std::optional<std::string>& content_type) {
  return content_type && content_type->rfind(kProtobufMediaType, 0) == 0;
}

class RestWatchStream : public WatchStream {
 public:
  RestWatchStream(std::unique_ptr<http::ResponseStream> stream, std::string what, const ListOptions& options)
      : stream_(std::move(stream)), what_(std::move(what)), unparsed_(options.unparsed_members) {
    const auto type = stream_->headers().find("Content-Type");
    if (type != stream_->headers().end() && IsProtobuf(type->second)) protobuf_ = options.protobuf_objects;
  }

  StatusOr<std::optional<WatchEvent>> Next() override {
    if (protobuf_) return NextProtobuf();
    while (true) {
      IBO_ASSIGN_OR_RETURN(std::optional<std::string> line, stream_->ReadLine());
      if (!line) return std::optional<WatchEvent>();
      if (line->empty()) continue;
      IBO_ASSIGN_OR_RETURN(WatchEvent event, DecodeWatchEvent(*line, what_, unparsed_));
      return std::optional<WatchEvent>(std::move(event));
    }
  }

  void Cancel() override { stream_->Cancel(); }

 private:
  // Each event is a 4-byte big-endian length, then that many bytes.
  StatusOr<std::optional<WatchEvent>> NextProtobuf() {
    IBO_ASSIGN_OR_RETURN(std::optional<std::string> prefix, stream_->ReadExactly(4));
    if (!prefix) return std::optional<WatchEvent>();
    uint32_t size = 0;
    for (char c : *prefix) size = (size << 8) | static_cast<uint8_t>(c);
    if (size > kMaxProtobufEvent) {
      return Internal(what_ + ": a watch event of " + std::to_string(size) + " bytes: the stream is corrupt");
    }
    IBO_ASSIGN_OR_RETURN(std::optional<std::string> frame, stream_->ReadExactly(size));
    if (!frame) return Unavailable(what_ + ": the stream ended inside a watch event");
    IBO_ASSIGN_OR_RETURN(WatchEvent event, DecodeProtobufWatchEvent(*frame, protobuf_, what_));
    return std::optional<WatchEvent>(std::move(event));
  }

  std::unique_ptr<http::ResponseStream> stream_;
  std::string what_;
  std::vector<DroppedMember> unparsed_;
  ProtobufObjectDecoder protobuf_;
};

// An error answer as ApiErrorFromResponse reads it: a protobuf Status becomes its JSON.
http::Response WithJsonError(const http::Response& response) {
  http::Response copy = response;
  if (!IsProtobuf(response.Header("Content-Type"))) return copy;
  auto status = DecodeProtobufStatus(response.body);
  copy.body = status.ok() ? status->dump() : "";
  return copy;
}

class RestClient : public Client {
 public:
  RestClient(ClusterConfig config, RestClientOptions options, std::unique_ptr<http::Transport> transport)
      : config_(config), options_(std::move(options)), credentials_(std::move(config)),
        limiter_(options_.qps, options_.burst) {
    if (transport) {
      transport_ = std::move(transport);
      owns_transport_ = false;
    } else {
      transport_ = http::NewTransport(config_.tls);
    }
  }

  StatusOr<Json> Get(const ResourceType& type, const std::string& ns, const std::string& name) override {
    return Call("GET", type.Path(ns, name), "", "", "get " + type.resource + " " + Describe(ns, name));
  }

  StatusOr<Json> List(const ResourceType& type, const std::string& ns, const ListOptions& options) override {
    return Call("GET", type.Path(ns) + Query(options, false), "", "", "list " + type.resource + Where(ns),
                Body::kParse, options.unparsed_members, options.protobuf_objects);
  }

  StatusOr<Json> Create(const ResourceType& type, const std::string& ns, const Json& object) override {
    return Post(type, ns, object, Body::kParse);
  }
  Status CreateWithoutResult(const ResourceType& type, const std::string& ns, const Json& object) override {
    return Post(type, ns, object, Body::kDiscard).status();
  }

  StatusOr<Json> Update(const ResourceType& type, const std::string& ns, const Json& object,
                        const std::string& subresource) override {
    return Put(type, ns, object, subresource, Body::kParse);
  }
  Status UpdateWithoutResult(const ResourceType& type, const std::string& ns, const Json& object,
                             const std::string& subresource) override {
    return Put(type, ns, object, subresource, Body::kDiscard).status();
  }

  StatusOr<Json> Patch(const ResourceType& type, const std::string& ns, const std::string& name, PatchType patch_type,
                       const Json& patch, const std::string& subresource) override {
    return Call("PATCH", type.Path(ns, name, subresource), patch.dump(), ContentTypeFor(patch_type),
                "patch " + type.resource + (subresource.empty() ? "" : "/" + subresource) + " " + Describe(ns, name));
  }

  Status Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options) override {
    Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
    if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
    if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
    if (!options.precondition_resource_version.empty()) {
      body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
    }
    return Call("DELETE", type.Path(ns, name), body.dump(), "application/json",
                "delete " + type.resource + " " + Describe(ns, name))
        .status();
  }

  StatusOr<std::unique_ptr<WatchStream>> Watch(const ResourceType& type, const std::string& ns,
                                               const ListOptions& options) override {
    const std::string what = "watch " + type.resource + Where(ns);
    http::Request request;
    request.url = config_.server + type.Path(ns) + Query(options, true);
    // The transport's timeout is an inactivity timer: a watch silent for the server's own end of
    // the stream plus the request timeout is stalled (a dead peer, a stuck proxy) and fails.
    request.timeout = std::chrono::seconds(options.timeout_seconds > 0 ? options.timeout_seconds : 300) +
                      options_.request_timeout;
    IBO_ASSIGN_OR_RETURN(std::unique_ptr<http::ResponseStream> stream,
                         OpenStream(request, options.protobuf_objects ? kProtobufWatchAccept : nullptr, what));
    return std::unique_ptr<WatchStream>(new RestWatchStream(std::move(stream), what, options));
  }

  StatusOr<ListSummary> ListEach(const ResourceType& type, const std::string& ns, const ListOptions& options,
                                 const ListItemSink& sink) override {
    const std::string what = "list " + type.resource + Where(ns);
    http::Request request;
    request.url = config_.server + type.Path(ns) + Query(options, false);
    request.timeout = options_.request_timeout;  // between two reads: a list that stalls fails
    for (int attempt = 0;; ++attempt) {
      auto stream = OpenStream(request, options.protobuf_objects ? kProtobufListAccept : nullptr, what);
      if (stream.ok()) {
        auto list = ReadList(**stream, type, options, sink);
        if (!list.ok()) return list.status().Annotate(what);
        return list;
      }
      if (!AskAgain(stream.status(), attempt)) return stream.status();  // OpenStream dropped a 401's credentials
    }
  }

 private:
  // A GET whose body is read as it arrives; any answer but 200 is its ApiError.
  StatusOr<std::unique_ptr<http::ResponseStream>> OpenStream(http::Request& request, const char* accept,
                                                            const std::string& what) {
    IBO_RETURN_IF_ERROR(Authorize(request));
    if (accept) request.headers["Accept"] = accept;
    limiter_.Wait();
    auto stream = CurrentTransport()->Stream(request);
    if (!stream.ok()) return stream.status().Annotate(what);
    if ((*stream)->status() == 200) return stream;
    http::Response response;
    response.status = (*stream)->status();
    response.headers = (*stream)->headers();
    while (response.body.size() < (1 << 20)) {  // an error's body is short; it may be protobuf
      auto piece = (*stream)->ReadSome();
      if (!piece.ok() || !piece->has_value()) break;
      response.body += **piece;
    }
    if (response.status == 401) credentials_.Invalidate();
    return ApiErrorFromResponse(WithJsonError(response), what);
  }

  // A list's body, item by item, in protobuf when it came so and the caller decodes it.
  static StatusOr<ListSummary> ReadList(http::ResponseStream& stream, const ResourceType& type,
                                        const ListOptions& options, const ListItemSink& sink) {
    ListSummary summary;
    const auto content_type = stream.headers().find("Content-Type");
    if (options.protobuf_objects && content_type != stream.headers().end() && IsProtobuf(content_type->second)) {
      IBO_RETURN_IF_ERROR(ReadProtobufListStream(
          [&](size_t size) { return stream.ReadExactly(size); }, options.protobuf_objects,
          [&](Json item) {
            CompleteListItem(item, type, summary.kind);
            return sink(std::move(item));
          },
          summary));
      return summary;
    }
    const JsonListSplitter* read_so_far = nullptr;
    std::string list_kind;
    JsonListSplitter splitter([&](std::string_view text) {
      auto item = ParseJson(text, TooDeep::kReplace, options.unparsed_members);
      if (!item.ok()) return Internal("an unreadable item: " + item.status().message());
      if (!item->is_object()) return Internal("an item that is not an object");
      if (list_kind.empty()) list_kind = KindOf(read_so_far->members());
      CompleteListItem(*item, type, list_kind);
      return sink(std::move(item).value());
    });
    read_so_far = &splitter;
    while (true) {
      IBO_ASSIGN_OR_RETURN(std::optional<std::string> piece, stream.ReadSome());
      if (!piece) break;
      IBO_RETURN_IF_ERROR(splitter.Feed(*piece));
    }
    IBO_RETURN_IF_ERROR(splitter.Finish());
    return SummaryOf(splitter.members());
  }

  static std::string KindOf(const std::map<std::string, std::string>& members) {
    const auto kind = members.find("kind");
    if (kind == members.end()) return "";
    auto parsed = ParseJson(kind->second);
    return parsed.ok() && parsed->is_string() ? parsed->get<std::string>() : "";
  }

  static StatusOr<ListSummary> SummaryOf(const std::map<std::string, std::string>& members) {
    Json list = {{"kind", KindOf(members)}};
    if (const auto meta = members.find("metadata"); meta != members.end()) {
      auto parsed = ParseJson(meta->second);
      if (!parsed.ok() || !parsed->is_object()) return Internal("a list whose metadata is not an object");
      list["metadata"] = std::move(parsed).value();
    }
    return SummaryOfList(list);
  }

  // Whether a failed answer is asked for again: a 401 once (the caller dropped the credentials it
  // sent: a rotated token or an expired exec credential), a 429 within the retry budget, after its
  // Retry-After (at most 30 s).
  bool AskAgain(const Status& error, int attempt) const {
    if (error.http_status() == 401) return attempt == 0;
    if (error.code() != StatusCode::kTooManyRequests || attempt >= options_.max_retries_on_429) return false;
    const auto wait = error.retry_after().value_or(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::min<std::chrono::seconds>(wait, std::chrono::seconds(30)));
    return true;
  }
  enum class Body { kParse, kDiscard };  // a discarded answer is returned as an empty object

  StatusOr<Json> Post(const ResourceType& type, const std::string& ns, const Json& object, Body body) {
    const std::string name = object.contains("metadata") ? object["metadata"].value("name", "") : "";
    return Call("POST", type.Path(ns), object.dump(), "application/json",
                "create " + type.resource + " " + Describe(ns, name), body);
  }

  StatusOr<Json> Put(const ResourceType& type, const std::string& ns, const Json& object,
                     const std::string& subresource, Body body) {
    const std::string name = object.contains("metadata") ? object["metadata"].value("name", "") : "";
    if (name.empty()) return InvalidArgument("update " + type.resource + ": the object has no metadata.name");
    return Call("PUT", type.Path(ns, name, subresource), object.dump(), "application/json",
                "update " + type.resource + (subresource.empty() ? "" : "/" + subresource) + " " + Describe(ns, name),
                body);
  }

  static std::string Describe(const std::string& ns, const std::string& name) {
    return ns.empty() ? name : ns + "/" + name;
  }
  static std::string Where(const std::string& ns) { return ns.empty() ? "" : " in " + ns; }

  Status Authorize(http::Request& request) {
    request.headers["Accept"] = "application/json";
    request.headers["User-Agent"] = options_.user_agent;
    auto token = credentials_.BearerToken();
    if (!token.ok()) return token.status().Annotate("credentials for " + config_.server);
    if (!token->empty()) {
      request.headers["Authorization"] = "Bearer " + *token;
    } else if (!config_.username.empty()) {
      request.headers["Authorization"] = "Basic " + Base64Encode(config_.username + ":" + config_.password);
    }
    return Status::Ok();
  }

  // `protobuf_items` set: a list asked for in protobuf, each item decoded with it.
  StatusOr<Json> Call(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& content_type, const std::string& what, Body answer = Body::kParse,
                      const std::vector<DroppedMember>& unparsed = {},
                      const ProtobufObjectDecoder& protobuf_items = nullptr) {
    for (int attempt = 0;; ++attempt) {
      http::Request request;
      request.method = method;
      request.url = config_.server + path;
      request.body = body;
      request.timeout = options_.request_timeout;
      if (!content_type.empty()) request.headers["Content-Type"] = content_type;
      IBO_RETURN_IF_ERROR(Authorize(request));
      if (protobuf_items || (answer == Body::kDiscard && options_.protobuf_discarded_answers)) {
        request.headers["Accept"] = kProtobufListAccept;
      }
      limiter_.Wait();
      // Checked as late as it can be, so that no wait lies between the gate and the send.
      if (method != "GET" && options_.write_gate) IBO_RETURN_IF_ERROR(options_.write_gate(what));
      auto response = CurrentTransport()->Send(request);
      if (!response.ok()) return response.status().Annotate(what);
      if (response->status >= 200 && response->status < 300) {
        if (response->body.empty() || answer == Body::kDiscard) return Json::object();
        if (protobuf_items && IsProtobuf(response->Header("Content-Type"))) {
          auto list = DecodeProtobufList(response->body, protobuf_items);
          if (!list.ok()) return Internal(what + ": the server answered with unreadable protobuf: " + list.status().message());
          return std::move(list).value();
        }
        // A List holding one hostile object is still read: that object's deepest values are cut.
        auto doc = ParseJson(response->body, TooDeep::kReplace, unparsed);
        if (!doc.ok()) return Internal(what + ": the server answered with unreadable JSON: " + doc.status().message());
        return std::move(doc).value();
      }
      Status error = ApiErrorFromResponse(WithJsonError(*response), what);
      if (response->status == 401 && attempt == 0) credentials_.Invalidate();
      if (!AskAgain(error, attempt)) return error;
    }
  }

  ClusterConfig config_;
  RestClientOptions options_;
  CredentialSource credentials_;
  TokenBucket limiter_;
  // The transport carries the client certificate; an exec plugin's certificate rotates, so the
  // transport is rebuilt when it changes. Requests in flight keep the one they started with.
  std::shared_ptr<http::Transport> CurrentTransport() {
    std::lock_guard lock(transport_mu_);
    if (owns_transport_ && config_.exec) {
      auto cert = credentials_.ExecClientCertificate();
      const std::string pem = cert ? cert->client_certificate_pem : "";
      if (pem != transport_cert_pem_) {
        http::TlsOptions tls = config_.tls;
        tls.client_cert_pem = pem;
        tls.client_key_pem = cert ? cert->client_key_pem : "";
        transport_ = http::NewTransport(std::move(tls));
        transport_cert_pem_ = pem;
      }
    }
    return transport_;
  }

  std::mutex transport_mu_;
  std::shared_ptr<http::Transport> transport_;
  bool owns_transport_ = true;
  std::string transport_cert_pem_;
};

}  // namespace

StatusOr<WatchEvent> DecodeWatchEvent(const std::string& line, const std::string& what,
                                      const std::vector<DroppedMember>& unparsed) {
  // An event carrying a hostile object is still delivered, its deepest values cut (see json_parse.h):
  // refusing it would end the watch, and the List after it would hold the same object.
  auto parsed = ParseJson(line, TooDeep::kReplace, unparsed);
  if (!parsed.ok()) return Internal(what + ": unreadable watch event: " + parsed.status().message());
  Json doc = std::move(parsed).value();
  if (!doc.is_object()) return Internal(what + ": unreadable watch event");
  // The shape the informer reads without checking again (its value() calls throw otherwise).
  const auto type = doc.find("type");
  const auto object = doc.find("object");
  if (type == doc.end() || !type->is_string() || object == doc.end() || !object->is_object()) {
    return Internal(what + ": watch event without a type and an object");
  }
  WatchEvent event{type->get<std::string>(), std::move(*object)};
  if (event.type == "ERROR") {
    // 410 Gone arrives this way when the watch's resourceVersion was compacted away.
    return ApiErrorFromStatusObject(0, event.object.dump(), what);
  }
  if (const auto metadata = event.object.find("metadata"); metadata != event.object.end()) {
    const auto rv = metadata->is_object() ? metadata->find("resourceVersion") : metadata->end();
    if (!metadata->is_object() || (rv != metadata->end() && !rv->is_string())) {
      return Internal(what + ": " + event.type + " event with malformed metadata");
    }
  }
  return event;
}

std::unique_ptr<Client> NewRestClient(ClusterConfig config, RestClientOptions options,
                                      std::unique_ptr<http::Transport> transport) {
  return std::make_unique<RestClient>(std::move(config), std::move(options), std::move(transport));
}

}  // namespace ibo::kube
