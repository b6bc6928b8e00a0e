// KubeClient against the simulated kube-apiserver over real HTTPS on loopback: LIST pages every object once and
// restarts once when its continue token expires; WATCH delivers ADDED/MODIFIED/DELETED in order, bookmarks advance
// the version, an expired version is kOutOfRange; 429 (Retry-After) and 5xx are retried, a persistent 500 fails
// naming what failed; 403 names the verb, resource and scope with the RBAC fix; 401 re-reads credentials once and
// names their source; client certificates authenticate; TLS is verified (CA, tls_server_name) unless told not to;
// the token never shows in an error; the rate limiter spaces requests on the FakeClock; discovery and ResolveKind
// work on the demo world's owner references; and the watch stream decoder frames events cut at any byte.
#include "observe/kube/kube_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "base/clock.h"
#include "sim/behavior.h"
#include "sim/kube_api.h"
#include "sim/kube_cluster.h"
#include "sim/kube_store.h"
#include "sim/kube_tls.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr double kNow = 1795000000;
constexpr char kAdminToken[] = "admin-token-5f1c9e2b7a44";
constexpr char kViewerToken[] = "viewer-token-93d0e1aa4c08";

const sim::ResourceType& SimType(const char* key) { return *sim::FindResourceByKey(key); }

ResourceType Deployments() {
  ResourceType t;
  t.group = "apps";
  t.version = "v1";
  t.resource = "deployments";
  t.kind = "Deployment";
  return t;
}

ListOptions TeamA() {
  ListOptions o;
  o.namespace_name = "team-a";
  return o;
}

std::string Name(const ObjectPtr& o) { return (*o)["metadata"]["name"].get<std::string>(); }
std::string Rv(const ObjectPtr& o) { return (*o)["metadata"]["resourceVersion"].get<std::string>(); }

class KubeClientTest : public ::testing::Test {
 protected:
  // The event log holds 64 events, so a test can push a version out of the watchable history.
  KubeClientTest() : store_([] { return kNow; }, 64), server_(store_, Options(), [] { return kNow; }) {}

  static sim::KubeApiOptions Options() {
    sim::KubeApiOptions o;
    o.tokens[kAdminToken] = {"admin", {"system:masters"}};
    o.tokens[kViewerToken] = {"viewer", {"viewers"}};
    // Viewers may read pods in team-a only.
    o.rbac.push_back({"viewers", true, "team-a", {{{"get", "list", "watch"}, {""}, {"pods"}, {}, {}}}});
    o.bookmark_interval = 50ms;
    o.threads = 16;
    return o;
  }

  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    for (const char* ns : {"default", "team-a", "team-b"}) {
      ASSERT_TRUE(store_.Create(SimType("namespaces"), {{"metadata", {{"name", ns}}}}).ok());
    }
    ASSERT_TRUE(store_
                    .Create(SimType("configmaps"),
                            {{"metadata", {{"name", "churn"}, {"namespace", "default"}}}, {"data", {{"n", "0"}}}})
                    .ok());
  }

  void AddPod(const std::string& ns, const std::string& name, const std::string& app = "web") {
    json pod = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
                {"spec", {{"nodeName", "node-1"}, {"containers", json::array({{{"name", "main"}, {"image", "x:1"}}})}}},
                {"status", {{"phase", "Running"}}}};
    ASSERT_TRUE(store_.Create(SimType("pods"), pod).ok());
  }

  // `n` changes to a ConfigMap: events of another type than pods.
  void Churn(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_
                      .Mutate(SimType("configmaps"), "default", "churn",
                              [](json& o) {
                                o["data"]["n"] = std::to_string(std::stoi(o["data"]["n"].get<std::string>()) + 1);
                                return base::Status::Ok();
                              })
                      .ok());
    }
  }
  // Writes enough events that every version before now falls out of the store's event log (64 events).
  void ExpireHistory() { Churn(100); }

  RestConfig Config(const std::string& token = kAdminToken) const {
    RestConfig c;
    c.server = server_.url();
    c.ca_pem = server_.pki().ca.cert_pem;
    c.token = token;
    c.source = "test kubeconfig";
    return c;
  }

  static KubeClientOptions Options(int max_retries) {
    KubeClientOptions o;
    o.max_retries = max_retries;
    o.backoff_base = 100ms;
    o.timeout = 10s;
    return o;
  }

  std::uint64_t StoreVersion() const { return store_.resource_version(); }

  base::FakeClock clock_;
  sim::KubeStore store_;
  sim::KubeApiServer server_;
};

TEST_F(KubeClientTest, ListPagesThroughEveryObjectOnceAndFillsTypeMeta) {
  for (int i = 0; i < 100; ++i)
    AddPod(i % 3 == 0 ? "team-b" : "team-a", "p-" + std::to_string(i), i % 2 ? "odd" : "even");
  KubeClientOptions o = Options(3);
  o.page_size = 7;
  KubeClient client(Config(), o, clock_);
  std::vector<std::size_t> progress;
  base::Result<ObjectList> list = client.List(PodsType(), {}, [&](std::size_t n) { progress.push_back(n); });
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->pages, 15) << "100 items in pages of 7";
  EXPECT_EQ(list->relists, 0);
  ASSERT_EQ(list->items.size(), 100u);
  std::set<std::string> keys;
  for (const ObjectPtr& o : list->items) {
    keys.insert((*o)["metadata"]["namespace"].get<std::string>() + "/" + Name(o));
    // Built-in list items come without apiVersion/kind on the wire; the client fills them from PodList.
    EXPECT_EQ((*o)["kind"], "Pod");
    EXPECT_EQ((*o)["apiVersion"], "v1");
  }
  EXPECT_EQ(keys.size(), 100u) << "every pod exactly once";
  ASSERT_EQ(progress.size(), 15u);
  EXPECT_EQ(progress.front(), 7u);
  EXPECT_EQ(progress.back(), 100u);
  EXPECT_EQ(list->resource_version, std::to_string(StoreVersion()));
  EXPECT_EQ(client.stats().requests, 15);

  // Namespace and label selector go to the server.
  ListOptions lo;
  lo.namespace_name = "team-b";
  lo.label_selector = "app=even";
  base::Result<ObjectList> some = client.List(PodsType(), lo);
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  std::size_t want = store_
                         .List(SimType("pods"), "team-b", {}, 0,
                               [](const json& p) { return p["metadata"]["labels"]["app"] == "even"; })
                         .items.size();
  EXPECT_EQ(some->items.size(), want);
  EXPECT_GT(want, 0u);
  for (const ObjectPtr& p : some->items) {
    EXPECT_EQ((*p)["metadata"]["namespace"], "team-b");
    EXPECT_EQ((*p)["metadata"]["labels"]["app"], "even");
  }
}

TEST_F(KubeClientTest, ExpiredContinueTokenRestartsTheListOnce) {
  for (int i = 0; i < 30; ++i) AddPod("team-a", "p-" + std::to_string(i));
  KubeClientOptions o = Options(3);
  o.page_size = 7;
  KubeClient client(Config(), o, clock_);
  bool expired = false;
  base::Result<ObjectList> list = client.List(PodsType(), {}, [&](std::size_t) {
    if (!expired) {
      expired = true;
      ExpireHistory();  // the first page's continue token now names a version the server no longer has
      AddPod("team-a", "p-new");
    }
  });
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->relists, 1);
  EXPECT_EQ(list->pages, 1 + 5) << "the first page, then the whole list again (31 items in pages of 7)";
  std::set<std::string> names;
  for (const ObjectPtr& p : list->items) names.insert(Name(p));
  EXPECT_EQ(list->items.size(), 31u) << "no page of the abandoned list is kept";
  EXPECT_EQ(names.size(), 31u);
  EXPECT_TRUE(names.count("p-new"));
  EXPECT_EQ(list->resource_version, std::to_string(StoreVersion()));

  // A token that expires on the restarted list as well is an error: the list does not loop forever.
  base::Result<ObjectList> again = client.List(PodsType(), {}, [&](std::size_t) { ExpireHistory(); });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), base::Code::kOutOfRange);
  EXPECT_NE(again.status().message().find("cannot list pods cluster-wide: 410 Gone"), std::string::npos)
      << again.status().message();
  EXPECT_NE(again.status().message().find("continue parameter is too old"), std::string::npos);
}

TEST_F(KubeClientTest, GetReturnsTheObjectOrNotFound) {
  AddPod("team-a", "web-0");
  KubeClient client(Config(), Options(3), clock_);
  base::Result<ObjectPtr> pod = client.Get(PodsType(), "team-a", "web-0");
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ((**pod)["kind"], "Pod");
  EXPECT_EQ((**pod)["metadata"]["name"], "web-0");
  base::Result<ObjectPtr> missing = client.Get(PodsType(), "team-a", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot get pods \"nope\" in namespace team-a: 404 Not Found: pods \"nope\" not found");
  EXPECT_EQ(client.stats().requests, 2) << "a 404 is not retried";
  // Cluster-scoped: the namespace argument is ignored.
  base::Result<ObjectPtr> ns = client.Get(NamespacesType(), "ignored", "team-b");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ((**ns)["kind"], "Namespace");
}

TEST_F(KubeClientTest, WatchDeliversAddedModifiedDeletedInOrder) {
  AddPod("team-a", "web-0");
  KubeClient client(Config(), Options(3), clock_);
  ListOptions lo;
  lo.namespace_name = "team-a";
  base::Result<ObjectList> list = client.List(PodsType(), lo);
  ASSERT_TRUE(list.ok());
  // Changes made before the watch connects are replayed from the list's version; then live ones arrive.
  AddPod("team-a", "late");
  AddPod("team-b", "elsewhere");  // another namespace: not in this watch
  ASSERT_TRUE(store_
                  .Mutate(SimType("pods"), "team-a", "late",
                          [](json& o) {
                            o["metadata"]["labels"]["x"] = "y";
                            return base::Status::Ok();
                          })
                  .ok());
  ASSERT_TRUE(store_.Delete(SimType("pods"), "team-a", "late").ok());
  std::thread live([this] {
    std::this_thread::sleep_for(100ms);
    AddPod("team-a", "live");
  });
  WatchOptions w;
  w.list = lo;
  w.list.resource_version = list->resource_version;
  w.timeout = 10s;
  std::vector<std::pair<WatchEventType, std::string>> seen;
  std::string last_rv;
  std::string live_rv;
  base::Status st = client.Watch(
      PodsType(), w,
      [&](const WatchEvent& e) {
        if (e.type == WatchEventType::kBookmark) return true;
        EXPECT_EQ((*e.object)["kind"], "Pod");
        seen.emplace_back(e.type, Name(e.object));
        if (Name(e.object) == "live") live_rv = Rv(e.object);
        return seen.size() < 4;
      },
      &last_rv);
  live.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::vector<std::pair<WatchEventType, std::string>> want = {{WatchEventType::kAdded, "late"},
                                                                    {WatchEventType::kModified, "late"},
                                                                    {WatchEventType::kDeleted, "late"},
                                                                    {WatchEventType::kAdded, "live"}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(last_rv, live_rv) << "the last version seen is reported for a resume";
}

TEST_F(KubeClientTest, BookmarksAdvanceTheVersion) {
  KubeClient client(Config(), Options(3), clock_);
  const std::string start = std::to_string(StoreVersion());
  Churn(3);  // events of another type only: the pods watch sees none of them
  WatchOptions w;
  w.list.resource_version = start;
  w.timeout = 10s;
  int others = 0;
  std::string bookmark_rv;
  std::string last_rv;
  base::Status st = client.Watch(
      PodsType(), w,
      [&](const WatchEvent& e) {
        if (e.type != WatchEventType::kBookmark) {
          ++others;
          return true;
        }
        bookmark_rv = Rv(e.object);
        return bookmark_rv != std::to_string(StoreVersion());
      },
      &last_rv);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(others, 0);
  EXPECT_EQ(bookmark_rv, std::to_string(StoreVersion()));
  EXPECT_EQ(last_rv, bookmark_rv) << "a bookmark moves the resume point past events of other types";
  EXPECT_NE(last_rv, start);
}

TEST_F(KubeClientTest, WatchFromAnExpiredVersionIsOutOfRange) {
  KubeClient client(Config(), Options(3), clock_);
  const std::string start = std::to_string(StoreVersion());
  ExpireHistory();
  WatchOptions w;
  w.list.resource_version = start;
  w.timeout = 10s;
  int events = 0;
  std::string last_rv;
  base::Status st = client.Watch(
      PodsType(), w, [&](const WatchEvent&) { return ++events < 100; }, &last_rv);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kOutOfRange);
  EXPECT_NE(st.message().find("cannot watch pods cluster-wide from resourceVersion " + start + ": 410 Gone"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(events, 0);
  EXPECT_EQ(last_rv, start);
}

TEST_F(KubeClientTest, StopFlagEndsAWatchPromptly) {
  KubeClient client(Config(), Options(3), clock_);
  std::atomic<bool> stop{false};
  WatchOptions w;
  w.list.resource_version = std::to_string(StoreVersion());
  w.timeout = 300s;
  w.bookmarks = false;
  base::Status st;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    st = client.Watch(
        PodsType(), w, [](const WatchEvent&) { return true; }, nullptr, &stop);
  });
  std::this_thread::sleep_for(200ms);
  stop = true;
  watcher.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "the 300 s watch ended on the stop flag";
}

TEST_F(KubeClientTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  AddPod("team-a", "web-0");
  server_.AddFault({.method = "GET", .path_contains = "/pods", .status = 429, .retry_after_s = 3, .times = 2});
  KubeClient client(Config(), Options(5), clock_);
  const std::int64_t t0 = clock_.MonotonicNanos();
  base::Result<ObjectList> list = client.List(PodsType(), {});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->items.size(), 1u);
  EXPECT_EQ(client.stats().retries, 2);
  EXPECT_EQ(client.stats().requests, 3);
  EXPECT_EQ(clock_.MonotonicNanos() - t0, std::chrono::nanoseconds(6s).count()) << "Retry-After: 3, twice";

  // Retry-After is capped by backoff_cap.
  server_.AddFault({.method = "GET", .path_contains = "/pods", .status = 429, .retry_after_s = 600, .times = 1});
  KubeClientOptions capped = Options(5);
  capped.backoff_cap = 10s;
  KubeClient client2(Config(), capped, clock_);
  const std::int64_t t1 = clock_.MonotonicNanos();
  ASSERT_TRUE(client2.List(PodsType(), {}).ok());
  EXPECT_EQ(clock_.MonotonicNanos() - t1, std::chrono::nanoseconds(10s).count());

  // Past max_retries a 429 is kResourceExhausted.
  server_.AddFault({.method = "GET", .path_contains = "/pods", .status = 429, .retry_after_s = 1, .times = -1});
  base::Result<ObjectList> refused = client.List(PodsType(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("429 Too Many Requests (after 5 retries)"), std::string::npos)
      << refused.status().message();
}

TEST_F(KubeClientTest, ServiceUnavailableIsRetried) {
  server_.AddFault({.method = "GET", .path_contains = "/nodes", .status = 503, .times = 2});
  KubeClient client(Config(), Options(3), clock_);
  const std::int64_t t0 = clock_.MonotonicNanos();
  base::Result<ObjectList> nodes = client.List(NodesType(), {});
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_EQ(client.stats().retries, 2);
  EXPECT_EQ(client.stats().requests, 3);
  // Backoff 100 ms then 200 ms, each with jitter in [50%, 100%].
  const std::int64_t slept_ms = (clock_.MonotonicNanos() - t0) / 1'000'000;
  EXPECT_GE(slept_ms, 150);
  EXPECT_LE(slept_ms, 300);
}

TEST_F(KubeClientTest, PersistentServerErrorFailsAfterMaxRetriesWithAClearMessage) {
  sim::KubeFault f;
  f.status = 500;
  f.path_contains = "/pods";
  f.times = -1;
  server_.AddFault(f);
  KubeClient client(Config(), Options(3), clock_);
  const std::int64_t t0 = clock_.MonotonicNanos();
  base::Result<ObjectList> list = client.List(PodsType(), TeamA());
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), base::Code::kUnavailable);
  EXPECT_EQ(list.status().message(),
            "cannot list pods in namespace team-a: 500 Internal Server Error (after 3 retries): injected fault: the "
            "server is currently unable to handle the request");
  EXPECT_EQ(client.stats().requests, 4);
  EXPECT_EQ(client.stats().retries, 3);
  // Exponential: 100 + 200 + 400 ms, each jittered down by at most half.
  const std::int64_t slept_ms = (clock_.MonotonicNanos() - t0) / 1'000'000;
  EXPECT_GE(slept_ms, 350);
  EXPECT_LE(slept_ms, 700);
}

TEST_F(KubeClientTest, ConnectionErrorsAreRetriedThenUnavailable) {
  sim::KubeStore other_store([] { return kNow; });
  sim::KubeApiServer closed(other_store, {}, [] { return kNow; });
  ASSERT_TRUE(closed.Start().ok());
  RestConfig c = Config();
  c.server = closed.url();
  c.insecure_skip_tls_verify = true;
  // Once it answers (httplib's stop() right after start can miss the listener), stop it: nothing listens there.
  {
    RestConfig probe = c;
    probe.token.clear();
    base::Result<std::string> up = KubeClient(probe, Options(5), clock_).GetPath("/healthz", "get", "healthz");
    ASSERT_TRUE(up.ok()) << up.status().ToString();
  }
  closed.Stop();
  KubeClient client(c, Options(2), clock_);
  base::Result<ObjectList> list = client.List(PodsType(), {});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), base::Code::kUnavailable);
  EXPECT_NE(
      list.status().message().find("cannot list pods cluster-wide: " + c.server + ": cannot reach the API server"),
      std::string::npos)
      << list.status().message();
  EXPECT_NE(list.status().message().find("(after 2 retries)"), std::string::npos);
  EXPECT_EQ(client.stats().requests, 3);
}

TEST_F(KubeClientTest, ASlowAnswerIsDeadlineExceededAndNotRetried) {
  server_.AddFault({.method = "GET", .path_contains = "/pods", .delay = 400ms, .times = 1});
  KubeClientOptions o = Options(3);
  o.timeout = 100ms;
  KubeClient client(Config(), o, clock_);
  base::Result<ObjectList> list = client.List(PodsType(), {});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_NE(
      list.status().message().find("cannot list pods cluster-wide: " + server_.url() + ": timed out after 100 ms"),
      std::string::npos)
      << list.status().message();
  EXPECT_EQ(client.stats().requests, 1);
}

TEST_F(KubeClientTest, ProxyUrlIsUsed) {
  // A proxy that is not there: the request must go to it, not to the server (which would answer).
  sim::KubeStore other_store([] { return kNow; });
  sim::KubeApiOptions plain;
  plain.tls = false;
  sim::KubeApiServer gone(other_store, plain, [] { return kNow; });
  ASSERT_TRUE(gone.Start().ok());
  RestConfig c = Config();
  c.proxy_url = gone.url();
  {
    RestConfig probe;
    probe.server = gone.url();
    ASSERT_TRUE(KubeClient(probe, Options(3), clock_).GetPath("/healthz", "get", "healthz").ok());
  }
  gone.Stop();
  base::Result<std::string> v = KubeClient(c, Options(0), clock_).GetPath("/version", "get", "version");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), base::Code::kUnavailable);
  c.proxy_url.clear();
  EXPECT_TRUE(KubeClient(c, Options(0), clock_).GetPath("/version", "get", "version").ok());
}

TEST_F(KubeClientTest, ForbiddenNamesVerbResourceScopeAndTheFix) {
  AddPod("team-a", "web-0");
  KubeClient client(Config(kViewerToken), Options(3), clock_);
  ListOptions team_a;
  team_a.namespace_name = "team-a";
  ASSERT_TRUE(client.List(PodsType(), team_a).ok()) << "viewers may list pods in team-a";

  base::Result<ObjectList> all = client.List(PodsType(), {});
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), base::Code::kPermissionDenied);
  EXPECT_EQ(all.status().message(),
            "cannot list pods cluster-wide: 403 Forbidden: pods is forbidden: User \"viewer\" cannot list resource "
            "\"pods\" in API group \"\" at the cluster scope; grant verb 'list' on 'pods' (group \"\") cluster-wide, "
            "see `gpuwise rbac --print`");

  base::Result<ObjectList> deps = client.List(Deployments(), team_a);
  ASSERT_FALSE(deps.ok());
  EXPECT_EQ(deps.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(deps.status().message().find("cannot list deployments.apps in namespace team-a: 403 Forbidden"),
            std::string::npos)
      << deps.status().message();
  EXPECT_NE(deps.status().message().find("grant verb 'list' on 'deployments' (group \"apps\") in namespace team-a"),
            std::string::npos)
      << deps.status().message();

  WatchOptions w;
  w.list.namespace_name = "team-b";
  base::Status watch = client.Watch(
      PodsType(), w, [](const WatchEvent&) { return false; }, nullptr);
  EXPECT_EQ(watch.code(), base::Code::kPermissionDenied);
  EXPECT_NE(watch.message().find("grant verb 'watch' on 'pods' (group \"\") in namespace team-b"), std::string::npos)
      << watch.message();
  EXPECT_EQ(client.stats().requests, 4) << "a 403 is not retried";
  for (const std::string& m : {all.status().message(), deps.status().message(), watch.message()}) {
    EXPECT_EQ(m.find(kViewerToken), std::string::npos);
  }
}

TEST_F(KubeClientTest, UnauthorizedRereadsCredentialsOnceAndNamesTheirSource) {
  const std::string bad = "not-a-valid-token-7c1d2e9f";
  KubeClient client(Config(bad), Options(3), clock_);
  base::Result<ObjectList> list = client.List(PodsType(), {});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), base::Code::kPermissionDenied);
  EXPECT_EQ(list.status().message(),
            "cannot list pods cluster-wide: 401 Unauthorized (after 1 retry): the API server rejected the "
            "credentials (bearer token, from test kubeconfig)");
  EXPECT_EQ(client.stats().requests, 2) << "one retry with fresh credentials, no more";
  EXPECT_EQ(list.status().message().find(bad), std::string::npos);

  // A rotated token file: the cached token is stale, the 401 makes the provider read the file again.
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / ("kube-client-token-" + std::to_string(std::random_device{}()));
  std::ofstream(file) << bad << "\n";
  RestConfig c = Config("");
  c.token_file = file.string();
  KubeClient rotating(c, Options(3), clock_);
  base::Result<ObjectList> stale = rotating.List(PodsType(), {});
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("bearer token from token file " + file.string()), std::string::npos)
      << stale.status().message();
  std::ofstream(file, std::ios::trunc) << kAdminToken << "\n";
  const auto before = rotating.stats();
  base::Result<ObjectList> fresh = rotating.List(PodsType(), {});
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  // With the token cached, 401 then 200 after Invalidate(); a provider that notices the file change sooner needs one.
  EXPECT_LE(rotating.stats().requests - before.requests, 2);
  std::filesystem::remove(file);
}

TEST_F(KubeClientTest, ClientCertificatesAuthenticate) {
  base::Result<sim::PemPair> alice = sim::IssueClientCert(server_.pki().ca, "alice", {"system:masters"});
  ASSERT_TRUE(alice.ok());
  RestConfig c = Config("");
  c.client_cert_pem = alice->cert_pem;
  c.client_key_pem = alice->key_pem;
  KubeClient client(c, Options(3), clock_);
  base::Result<ObjectList> ns = client.List(NamespacesType(), {});
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->items.size(), 3u);

  // A certificate from a CA the server does not trust is a 401 naming the client certificate.
  base::Result<sim::KubePki> other = sim::GenerateKubePki();
  ASSERT_TRUE(other.ok());
  base::Result<sim::PemPair> mallory = sim::IssueClientCert(other->ca, "alice", {"system:masters"});
  ASSERT_TRUE(mallory.ok());
  c.client_cert_pem = mallory->cert_pem;
  c.client_key_pem = mallory->key_pem;
  KubeClient rejected(c, Options(3), clock_);
  base::Result<ObjectList> denied = rejected.List(NamespacesType(), {});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("401 Unauthorized"), std::string::npos) << denied.status().message();
  EXPECT_NE(denied.status().message().find("rejected the credentials (client certificate"), std::string::npos)
      << denied.status().message();
}

TEST_F(KubeClientTest, TlsIsVerifiedUnlessSkipped) {
  base::Result<sim::KubePki> other = sim::GenerateKubePki();
  ASSERT_TRUE(other.ok());
  RestConfig wrong_ca = Config();
  wrong_ca.ca_pem = other->ca.cert_pem;
  KubeClient client(wrong_ca, Options(3), clock_);
  base::Result<std::string> v = client.GetPath("/version", "get", "version");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), base::Code::kUnavailable);
  EXPECT_NE(v.status().message().find("TLS verification failed"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("insecure-skip-tls-verify"), std::string::npos);
  EXPECT_EQ(v.status().message().find(kAdminToken), std::string::npos);
  EXPECT_EQ(client.stats().requests, 1) << "a certificate that does not verify is not retried";

  // Without a CA the system roots apply, which do not know the cluster's CA either.
  RestConfig no_ca = Config();
  no_ca.ca_pem.clear();
  EXPECT_FALSE(KubeClient(no_ca, Options(0), clock_).GetPath("/version", "get", "version").ok());

  RestConfig skip = wrong_ca;
  skip.insecure_skip_tls_verify = true;
  base::Result<std::string> skipped = KubeClient(skip, Options(0), clock_).GetPath("/version", "get", "version");
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_NE(skipped->find("v1.31.2"), std::string::npos);
}

TEST_F(KubeClientTest, TlsServerNameIsTheNameVerified) {
  // The serving certificate names localhost, kubernetes.default.svc, ... and 127.0.0.1, not other names.
  RestConfig c = Config();
  c.tls_server_name = "kubernetes.default.svc";
  base::Result<std::string> ok = KubeClient(c, Options(0), clock_).GetPath("/version", "get", "version");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  c.tls_server_name = "api.example.com";
  base::Result<std::string> bad = KubeClient(c, Options(0), clock_).GetPath("/version", "get", "version");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("TLS verification failed"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("api.example.com"), std::string::npos) << bad.status().message();
  // The connection still goes to the configured address.
  EXPECT_NE(bad.status().message().find(server_.url()), std::string::npos) << bad.status().message();
}

TEST_F(KubeClientTest, RateLimiterSpacesRequestsOnTheClock) {
  KubeClientOptions o = Options(0);
  o.qps = 10;
  o.burst = 5;
  KubeClient client(Config(), o, clock_);
  const std::int64_t t0 = clock_.MonotonicNanos();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.GetPath("/version", "get", "version").ok());
  EXPECT_EQ(clock_.MonotonicNanos(), t0) << "a burst of 5 goes at once";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.GetPath("/version", "get", "version").ok());
  // (N - burst) / qps = (25 - 5) / 10 = 2 s.
  const std::int64_t took_ms = (clock_.MonotonicNanos() - t0) / 1'000'000;
  EXPECT_GE(took_ms, 2000);
  EXPECT_LE(took_ms, 2010);
  EXPECT_GE(client.stats().throttled_ms, 1990);
  EXPECT_LE(client.stats().throttled_ms, 2010);
  EXPECT_EQ(client.stats().requests, 25);
  EXPECT_GT(client.stats().bytes, 0);
}

TEST_F(KubeClientTest, BodyLimitIsEnforced) {
  for (int i = 0; i < 20; ++i) AddPod("team-a", "p-" + std::to_string(i));
  KubeClientOptions o = Options(3);
  o.max_body_bytes = 2000;
  KubeClient client(Config(), o, clock_);
  base::Result<ObjectList> list = client.List(PodsType(), {});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(list.status().message().find("max_body_bytes=2000"), std::string::npos) << list.status().message();
  EXPECT_EQ(client.stats().requests, 1);
}

TEST_F(KubeClientTest, DiscoveryIsCachedAndSkipsSubresources) {
  KubeClient client(Config(), Options(3), clock_);
  base::Result<std::vector<ResourceType>> all = client.Resources();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const std::int64_t requests = client.stats().requests;
  std::set<std::string> keys;
  for (const ResourceType& t : *all) {
    EXPECT_EQ(t.resource.find('/'), std::string::npos) << t.resource;
    keys.insert(t.Key());
    if (t.Key() == "pods") {
      EXPECT_TRUE(t.namespaced);
    }
    if (t.Key() == "nodes") {
      EXPECT_FALSE(t.namespaced);
    }
    if (t.Key() == "inferenceservices.serving.kserve.io") {
      EXPECT_EQ(t.ApiVersion(), "serving.kserve.io/v1beta1");
    }
  }
  // Exactly what the server serves.
  std::set<std::string> served;
  for (const sim::ResourceType& t : sim::KubeResources()) served.insert(t.key());
  EXPECT_EQ(keys, served);
  ASSERT_TRUE(client.Resources().ok());
  EXPECT_EQ(client.stats().requests, requests) << "cached";
  client.RefreshDiscovery();
  ASSERT_TRUE(client.Resources().ok());
  EXPECT_EQ(client.stats().requests, 2 * requests);

  base::Result<ResourceType> dep = client.ResolveKind("apps/v1", "Deployment");
  ASSERT_TRUE(dep.ok()) << dep.status().ToString();
  EXPECT_EQ(dep->Key(), "deployments.apps");
  base::Result<ResourceType> old = client.ResolveKind("apps/v1beta2", "ReplicaSet");
  ASSERT_TRUE(old.ok()) << "an older version of a group resolves to the served one";
  EXPECT_EQ(old->ApiVersion(), "apps/v1");
  base::Result<ResourceType> pod = client.ResolveKind("v1", "Pod");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->resource, "pods") << "not pods/status nor pods/log, which also speak Pod";
  base::Result<ResourceType> none = client.ResolveKind("example.com/v1", "Widget");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), base::Code::kNotFound);
  EXPECT_NE(none.status().message().find("no resource of kind Widget in example.com/v1"), std::string::npos);
}

TEST_F(KubeClientTest, GetPathReturnsTheBodyAndNamesWhatFailed) {
  KubeClient client(Config(kViewerToken), Options(3), clock_);
  base::Result<std::string> v = client.GetPath("/version", "get", "version");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(json::parse(*v)["gitVersion"], "v1.31.2");
  base::Result<std::string> nodes = client.GetPath("/api/v1/nodes?limit=1", "list", "nodes");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(nodes.status().message().find("cannot list nodes (/api/v1/nodes): 403 Forbidden"), std::string::npos)
      << nodes.status().message();
  EXPECT_NE(nodes.status().message().find("grant verb 'list' on 'nodes', see `gpuwise rbac --print`"),
            std::string::npos)
      << nodes.status().message();
}

// The demo world's pods are owned through ReplicaSets, StatefulSets, Jobs, LeaderWorkerSets and InferenceServices:
// every owner reference resolves to a served resource through discovery, and the owner is there.
TEST(KubeClientDemo, EveryOwnerReferenceOfTheDemoResolves) {
  base::Result<sim::Scenario> scenario = sim::BuiltinScenario("demo");
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  base::Result<sim::World> world = sim::BuildWorld(*scenario);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  const double start = 2 * 86400.0 + 12 * 3600;
  sim::Simulator simulator(*world, sim::SimulatorOptions{.step_s = 15, .start_s = start, .data_dir = ""});
  simulator.AdvanceTo(start + 1);
  const double epoch = world->options.epoch_unix_s;
  sim::Simulator* sp = &simulator;
  sim::KubeStore store([sp, epoch] { return epoch + sp->now(); });
  sim::KubeCluster cluster(*world, simulator, store);
  cluster.Seed();
  sim::KubeApiOptions o;
  o.tokens[kAdminToken] = {"admin", {"system:masters"}};
  o.threads = 8;
  sim::KubeApiServer server(store, o, [sp, epoch] { return epoch + sp->now(); });
  ASSERT_TRUE(server.Start().ok());
  RestConfig c;
  c.server = server.url();
  c.ca_pem = server.pki().ca.cert_pem;
  c.token = kAdminToken;
  base::FakeClock clock;
  KubeClientOptions opts;
  opts.page_size = 50;
  KubeClient client(c, opts, clock);
  base::Result<ObjectList> pods = client.List(PodsType(), {});
  ASSERT_TRUE(pods.ok()) << pods.status().ToString();
  EXPECT_EQ(pods->items.size(), store.List(SimType("pods"), "").items.size());
  std::set<std::string> owner_kinds;
  int owners = 0;
  for (const ObjectPtr& p : pods->items) {
    const json& meta = (*p)["metadata"];
    if (!meta.contains("ownerReferences")) continue;
    for (const json& ref : meta["ownerReferences"]) {
      base::Result<ResourceType> t =
          client.ResolveKind(ref["apiVersion"].get<std::string>(), ref["kind"].get<std::string>());
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(t->kind, ref["kind"]);
      base::Result<ObjectPtr> owner =
          client.Get(*t, (*p)["metadata"]["namespace"].get<std::string>(), ref["name"].get<std::string>());
      ASSERT_TRUE(owner.ok()) << owner.status().ToString();
      EXPECT_EQ((**owner)["metadata"]["uid"], ref["uid"]);
      owner_kinds.insert(t->Key());
      ++owners;
    }
  }
  EXPECT_GT(owners, 10);
  EXPECT_GE(owner_kinds.size(), 2u) << "more than one owner type in the demo";
}

// ---- WatchStreamDecoder ----

// A stream with the awkward parts: braces, brackets and escaped quotes inside strings, unicode, nested arrays,
// CRLF and no separator at all between two events.
std::string SampleStream() {
  std::string s;
  s +=
      R"({"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a{b","resourceVersion":"11"},"data":"}\"]\\"}})";
  s += "\n";
  s +=
      R"({"type":"MODIFIED","object":{"metadata":{"name":"caf\u00e9 \"x\"","resourceVersion":"12","annotations":{"k":"[{}]"}},"spec":{"list":[[1,2],[{"a":"}"}]]}}})";
  s += "\r\n";
  s += R"(  {"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"15"}}})";
  s +=
      R"({"type":"DELETED","object":{"metadata":{"name":"a{b","resourceVersion":"16"},"note":"ends with backslash \\"}})";
  s += "\n";
  return s;
}

struct Seen {
  WatchEventType type;
  std::string object;
  bool operator==(const Seen&) const = default;
};

ResourceType PodsForDecoder() { return PodsType(); }

base::Status FeedInPieces(const std::string& stream, const std::vector<std::size_t>& cuts, std::vector<Seen>* out,
                          std::string* last_rv) {
  WatchStreamDecoder d(PodsForDecoder());
  std::size_t from = 0;
  auto on = [&](const WatchEvent& e) {
    out->push_back({e.type, e.object->dump()});
    return true;
  };
  for (std::size_t cut : cuts) {
    RETURN_IF_ERROR(d.Feed(std::string_view(stream).substr(from, cut - from), on));
    from = cut;
  }
  RETURN_IF_ERROR(d.Feed(std::string_view(stream).substr(from), on));
  EXPECT_FALSE(d.partial());
  *last_rv = d.last_resource_version();
  return base::Status::Ok();
}

TEST(WatchStreamDecoder, EventsSplitAtEveryByteBoundaryDecodeTheSame) {
  const std::string stream = SampleStream();
  std::vector<Seen> whole;
  std::string whole_rv;
  ASSERT_TRUE(FeedInPieces(stream, {}, &whole, &whole_rv).ok());
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[0].type, WatchEventType::kAdded);
  EXPECT_EQ(whole[1].type, WatchEventType::kModified);
  EXPECT_EQ(whole[2].type, WatchEventType::kBookmark);
  EXPECT_EQ(whole[3].type, WatchEventType::kDeleted);
  EXPECT_EQ(json::parse(whole[0].object)["metadata"]["name"], "a{b");
  EXPECT_EQ(json::parse(whole[0].object)["data"], "}\"]\\");
  EXPECT_EQ(json::parse(whole[1].object)["metadata"]["name"], "caf\xc3\xa9 \"x\"");
  // Objects without apiVersion/kind get the watched type's.
  EXPECT_EQ(json::parse(whole[1].object)["kind"], "Pod");
  EXPECT_EQ(json::parse(whole[3].object)["apiVersion"], "v1");
  EXPECT_EQ(whole_rv, "16");
  // One cut at every position, then two cuts at every pair of positions, then byte by byte.
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    std::vector<Seen> got;
    std::string rv;
    ASSERT_TRUE(FeedInPieces(stream, {i}, &got, &rv).ok()) << "cut at " << i;
    ASSERT_EQ(got, whole) << "cut at " << i;
    EXPECT_EQ(rv, whole_rv);
  }
  for (std::size_t i = 0; i <= stream.size(); i += 3) {
    for (std::size_t j = i; j <= stream.size(); j += 5) {
      std::vector<Seen> got;
      std::string rv;
      ASSERT_TRUE(FeedInPieces(stream, {i, j}, &got, &rv).ok()) << "cuts at " << i << ", " << j;
      ASSERT_EQ(got, whole) << "cuts at " << i << ", " << j;
    }
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
  std::vector<Seen> bytewise;
  std::string rv;
  ASSERT_TRUE(FeedInPieces(stream, every, &bytewise, &rv).ok());
  EXPECT_EQ(bytewise, whole);
}

TEST(WatchStreamDecoder, ErrorEventsAndBadInputAreStatuses) {
  auto feed = [](const std::string& s, int* events = nullptr) {
    WatchStreamDecoder d(PodsType(), 300);
    return d.Feed(s, [&](const WatchEvent&) {
      if (events != nullptr) ++*events;
      return true;
    });
  };
  int events = 0;
  base::Status gone = feed(R"js({"type":"ADDED","object":{"metadata":{"name":"x","resourceVersion":"3"}}}
{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 2 (40)","reason":"Expired","code":410}}
{"type":"ADDED","object":{"metadata":{"name":"y"}}})js",
                           &events);
  EXPECT_EQ(gone.code(), base::Code::kOutOfRange);
  EXPECT_EQ(gone.message(), "410 Gone: resourceVersion too old (too old resource version: 2 (40))");
  EXPECT_EQ(events, 1) << "nothing after the error is delivered";
  EXPECT_EQ(feed(R"({"type":"ERROR","object":{"code":500,"message":"etcd down"}})").code(), base::Code::kUnavailable);
  EXPECT_EQ(feed(R"(]{"type":"ADDED"})").code(), base::Code::kInvalidArgument);
  EXPECT_EQ(feed(R"({"type":"ADDED"})").code(), base::Code::kInvalidArgument) << "no object";
  EXPECT_EQ(feed(R"({"type":"RENAMED","object":{}})").code(), base::Code::kInvalidArgument);
  EXPECT_EQ(feed(R"({"type":"ADDED","object":{"a":1,}})").code(), base::Code::kInvalidArgument) << "not JSON";
  EXPECT_EQ(feed(R"({"type":"ADDED","object":{"pad":")" + std::string(400, 'x') + "\"}}").code(),
            base::Code::kResourceExhausted);
  // An unfinished event is buffered, not an error: the rest may come in the next chunk.
  WatchStreamDecoder d(PodsType());
  EXPECT_TRUE(
      d.Feed(R"({"type":"ADDED","object":{"metadata":{"name":"x"})", [](const WatchEvent&) { return true; }).ok());
  EXPECT_TRUE(d.partial());
}

TEST(WatchStreamDecoder, StopsWhenTheConsumerSaysSo) {
  const std::string stream = SampleStream();
  WatchStreamDecoder d(PodsType());
  int n = 0;
  ASSERT_TRUE(d.Feed(stream, [&](const WatchEvent&) { return ++n < 2; }).ok());
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(d.stopped());
  ASSERT_TRUE(d.Feed(stream, [&](const WatchEvent&) { return ++n < 100; }).ok());
  EXPECT_EQ(n, 2) << "a stopped decoder delivers nothing more";
  EXPECT_EQ(d.last_resource_version(), "12");
}

}  // namespace
}  // namespace gpuwise::observe::kube
