// KubeClient: a read-mostly Kubernetes REST client. LIST with pagination (limit/continue, relisting from scratch
// when a continue token expires), GET, WATCH (bookmarks, resourceVersion resume), discovery (core and group
// resources, cached) and kind -> resource resolution for walking ownerReferences through any custom resource.
// Every request goes through a client-side rate limiter (token bucket, qps/burst as client-go) and retries 429
// (honouring Retry-After) and 5xx / connection errors with capped exponential backoff and jitter. A 401 re-fetches
// credentials once. Errors are Status values whose message names the verb, resource, namespace and, for 401/403,
// what is missing ("cannot list pods in namespace ml: 403 Forbidden: <the server's message>; grant verb 'list' on
// 'pods' (group "") in namespace ml, see `gpuwise rbac --print`"). Secrets never appear in a message.
// Transport (libcurl, kept out of this header): TLS verified against RestConfig::ca_pem, which replaces the system
// roots as in client-go; tls_server_name is the name sent (SNI) and verified while the connection still goes to the
// server's address (CONNECT_TO), with the real Host header; proxy_url, else https_proxy/HTTPS_PROXY/NO_PROXY from
// the environment (read by libcurl itself), never for a loopback server; gzip accepted; one connection pool per
// client (keep-alive).
// Objects are nlohmann::json values shared read-only (json_fwd.hpp keeps the heavy header out of includers).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "observe/kube/rest_config.h"

namespace gpuwise::observe::kube {

using Object = nlohmann::json;
using ObjectPtr = std::shared_ptr<const Object>;

// One API resource type, as discovery names it.
struct ResourceType {
  std::string group;      // "" for core
  std::string version;    // "v1"
  std::string resource;   // plural: "pods", "deployments", "inferenceservices"
  std::string kind;       // "Pod"
  bool namespaced = true;
  std::vector<std::string> verbs;
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "pods", "deployments.apps": the name RBAC rules and error messages use.
  std::string Key() const { return group.empty() ? resource : resource + "." + group; }
};

// Well-known types, so the common reads need no discovery round trip.
const ResourceType& PodsType();
const ResourceType& NodesType();
const ResourceType& NamespacesType();
const ResourceType& ConfigMapsType();

struct KubeClientOptions {
  // Client-side rate limit (token bucket), <= 0: none. client-go's library default is 5/10, which tools that read a
  // whole cluster raise (50/100 is common); gpuwise reads in bursts and then stops, and the API server's priority
  // and fairness still protects it.
  double qps = 50;
  int burst = 100;
  int max_retries = 6;                // for 429, 5xx and connection errors
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{30'000};
  std::chrono::milliseconds timeout{60'000};         // one non-watch request
  std::chrono::milliseconds connect_timeout{5'000};
  std::int64_t page_size = 500;                      // LIST limit per page
  std::size_t max_body_bytes = 512u << 20;
  std::string user_agent = "gpuwise";
};

struct ListOptions {
  std::string namespace_name;        // "" = all namespaces (or a cluster-scoped type)
  std::string label_selector, field_selector;
  std::string resource_version;      // "" = most recent (a consistent read)
};

struct ObjectList {
  std::vector<ObjectPtr> items;      // with apiVersion and kind filled in (lists omit them on items)
  std::string resource_version;      // of the list, for a WATCH to start from
  int pages = 0;
  int relists = 0;                   // times a 410 on a continue token restarted the list
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };
struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  ObjectPtr object;                  // for a bookmark: only metadata.resourceVersion is meaningful
};

struct WatchOptions {
  ListOptions list;                  // resource_version: where to start (required for a resume)
  std::chrono::seconds timeout{300}; // timeoutSeconds sent to the server
  bool bookmarks = true;             // allowWatchBookmarks
};

// Frames a WATCH response body into events as its bytes arrive, in chunks cut anywhere (one JSON object per
// event, as json.Decoder reads the stream: newlines between objects are optional). Fills apiVersion/kind on event
// objects that lack them from `type`, and tracks the newest resourceVersion (bookmarks included).
// Thread-safety: one decoder per stream.
class WatchStreamDecoder {
 public:
  explicit WatchStreamDecoder(ResourceType type, std::size_t max_event_bytes = 64u << 20);
  // Feeds the next bytes: calls on_event for each event they complete, in order, and stops (OK, stopped() true)
  // once on_event returns false; later calls then do nothing. Errors: bytes that are not a JSON object stream, an
  // event without a known type or object, an event over max_event_bytes (kResourceExhausted), or an ERROR event:
  // its Status code mapped as HTTP statuses are (410 Gone -> kOutOfRange), with the server's message.
  base::Status Feed(std::string_view bytes, const std::function<bool(const WatchEvent&)>& on_event);
  // True when an unfinished event is buffered (a stream ending here was cut mid-event).
  bool partial() const { return !buffer_.empty(); }
  bool stopped() const { return stopped_; }
  const std::string& last_resource_version() const { return last_resource_version_; }
  std::int64_t events() const { return events_; }

 private:
  base::Status Emit(const std::function<bool(const WatchEvent&)>& on_event);

  ResourceType type_;
  std::size_t max_event_bytes_;
  std::string buffer_;  // bytes of the event being framed; the state below covers all of them
  int depth_ = 0;
  bool in_string_ = false, escaped_ = false, stopped_ = false;
  std::string last_resource_version_;
  std::int64_t events_ = 0;
};

class KubeClient {
 public:
  KubeClient(RestConfig config, KubeClientOptions options = {}, base::Clock& clock = base::SystemClock::Get());
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const RestConfig& config() const { return config_; }

  // Every page of a LIST. `progress` (optional) is called after each page with the items so far.
  base::Result<ObjectList> List(const ResourceType& type, const ListOptions& options,
                                const std::function<void(std::size_t items)>& progress = {});
  // One object; NotFound when it does not exist.
  base::Result<ObjectPtr> Get(const ResourceType& type, std::string_view namespace_name, std::string_view name);
  // Streams events until `on_event` returns false, the server ends the watch (timeout), or *stop becomes true.
  // Returns OK on a normal end, and a Status with code kOutOfRange ("410 Gone: resourceVersion too old") when the
  // server says the start version has expired: the caller relists. The last resourceVersion seen (bookmarks
  // included) is in *last_resource_version.
  base::Status Watch(const ResourceType& type, const WatchOptions& options,
                     const std::function<bool(const WatchEvent&)>& on_event, std::string* last_resource_version,
                     const std::atomic<bool>* stop = nullptr);

  // Discovery: every served resource (legacy /api and /apis, cached after the first call; Refresh re-reads).
  base::Result<std::vector<ResourceType>> Resources();
  void RefreshDiscovery();
  // The resource serving `kind` in `api_version` ("apps/v1", "Deployment"); NotFound when the server has none.
  base::Result<ResourceType> ResolveKind(std::string_view api_version, std::string_view kind);

  // Raw GET of a path ("/version", "/api/v1/namespaces/x/pods/y/proxy/metrics"); the body on 2xx.
  base::Result<std::string> GetPath(std::string_view path, std::string_view verb_for_errors,
                                    std::string_view resource_for_errors);

  // Counters, for reports and tests.
  struct Stats {
    std::int64_t requests = 0, retries = 0, throttled_ms = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  RestConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuwise::observe::kube
