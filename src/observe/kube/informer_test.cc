// Informer against the simulated kube-apiserver over HTTPS: it syncs from a LIST and follows ADDED/MODIFIED/DELETED;
// bookmarks advance its version; a cut watch resumes from the last version without a relist; a 410 makes it list
// again, tell handlers about objects that vanished meanwhile and converge to what a direct LIST returns; an
// informer that cannot list reports why; Stop() is prompt.
#include "observe/kube/informer.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "sim/kube_api.h"
#include "sim/kube_store.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr double kNow = 1795000000;
constexpr char kAdminToken[] = "informer-admin-token-18e0d3";
constexpr char kViewerToken[] = "informer-viewer-token-77b2c1";

const sim::ResourceType& SimType(const char* key) { return *sim::FindResourceByKey(key); }

std::string Key(const json& o) {
  return o["metadata"].value("namespace", "") + "/" + o["metadata"]["name"].get<std::string>();
}

// Waits (real time) until `done` holds or 5 s pass.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// What a handler saw, thread-safe.
class Recorder {
 public:
  InformerHandler Handler(std::function<void(WatchEventType, const ObjectPtr&)> also = {}) {
    return [this, also](WatchEventType type, const ObjectPtr& o) {
      {
        std::lock_guard lock(mu_);
        events_.emplace_back(type, Key(*o));
      }
      if (also) also(type, o);
    };
  }
  std::vector<std::pair<WatchEventType, std::string>> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  bool Saw(WatchEventType type, const std::string& key) const {
    for (const auto& e : events()) {
      if (e.first == type && e.second == key) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<WatchEventType, std::string>> events_;
};

class InformerTest : public ::testing::Test {
 protected:
  InformerTest() : store_([] { return kNow; }, 64), server_(store_, Options(), [] { return kNow; }) {}

  static sim::KubeApiOptions Options() {
    sim::KubeApiOptions o;
    o.tokens[kAdminToken] = {"admin", {"system:masters"}};
    o.tokens[kViewerToken] = {"viewer", {"viewers"}};
    o.rbac.push_back({"viewers", true, "team-a", {{{"get", "list", "watch"}, {""}, {"pods"}, {}, {}}}});
    o.bookmark_interval = 50ms;
    o.threads = 16;
    return o;
  }

  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    ASSERT_TRUE(store_
                    .Create(SimType("configmaps"),
                            {{"metadata", {{"name", "churn"}, {"namespace", "default"}}}, {"data", {{"n", "0"}}}})
                    .ok());
    for (int i = 0; i < 5; ++i) AddPod(i % 2 ? "team-a" : "team-b", "p-" + std::to_string(i));
  }

  void AddPod(const std::string& ns, const std::string& name) {
    json pod = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "web"}}}}},
                {"spec", {{"containers", json::array({{{"name", "main"}, {"image", "x:1"}}})}}}};
    ASSERT_TRUE(store_.Create(SimType("pods"), pod).ok());
  }

  void Relabel(const std::string& ns, const std::string& name, const std::string& value) {
    ASSERT_TRUE(store_
                    .Mutate(SimType("pods"), ns, name,
                            [&](json& o) {
                              o["metadata"]["labels"]["v"] = value;
                              return base::Status::Ok();
                            })
                    .ok());
  }

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

  RestConfig Config(const std::string& token = kAdminToken) const {
    RestConfig c;
    c.server = server_.url();
    c.ca_pem = server_.pki().ca.cert_pem;
    c.token = token;
    return c;
  }

  // key -> resourceVersion of every pod the server has now, read directly from the store.
  std::map<std::string, std::string> StorePods() const {
    std::map<std::string, std::string> out;
    for (const sim::ObjectPtr& o : store_.List(SimType("pods"), "").items) {
      out[Key(*o)] = (*o)["metadata"]["resourceVersion"].get<std::string>();
    }
    return out;
  }
  static std::map<std::string, std::string> Cached(const Informer& inf) {
    std::map<std::string, std::string> out;
    for (const ObjectPtr& o : inf.Items()) out[Key(*o)] = (*o)["metadata"]["resourceVersion"].get<std::string>();
    return out;
  }

  base::FakeClock clock_;
  sim::KubeStore store_;
  sim::KubeApiServer server_;
};

TEST_F(InformerTest, SyncsThenFollowsAddedModifiedDeleted) {
  KubeClient client(Config(), {}, clock_);
  Recorder rec;
  Informer inf(client, PodsType(), {}, rec.Handler(), clock_);
  EXPECT_FALSE(inf.HasSynced());
  ASSERT_TRUE(inf.Start().ok());
  EXPECT_EQ(inf.Start().code(), base::Code::kFailedPrecondition);
  ASSERT_TRUE(inf.WaitForSync(5s).ok());
  EXPECT_TRUE(inf.HasSynced());
  EXPECT_EQ(Cached(inf), StorePods());
  EXPECT_EQ(rec.events().size(), 5u) << "the initial list reaches the handler as ADDED";

  AddPod("team-a", "new");
  Relabel("team-b", "p-0", "2");
  ASSERT_TRUE(store_.Delete(SimType("pods"), "team-a", "p-1").ok());
  ASSERT_TRUE(Eventually([&] { return Cached(inf) == StorePods(); }));
  EXPECT_TRUE(rec.Saw(WatchEventType::kAdded, "team-a/new"));
  EXPECT_TRUE(rec.Saw(WatchEventType::kModified, "team-b/p-0"));
  EXPECT_TRUE(rec.Saw(WatchEventType::kDeleted, "team-a/p-1"));
  ASSERT_NE(inf.Get("team-b", "p-0"), nullptr);
  EXPECT_EQ((*inf.Get("team-b", "p-0"))["metadata"]["labels"]["v"], "2");
  EXPECT_EQ(inf.Get("team-a", "p-1"), nullptr);
  EXPECT_EQ((*inf.Get("team-a", "new"))["kind"], "Pod");
  const Informer::Stats s = inf.stats();
  EXPECT_EQ(s.lists, 1);
  EXPECT_EQ(s.relists, 0);
  EXPECT_EQ(s.events, 3);
  EXPECT_EQ(s.reconnects, 0);
  inf.Stop();
}

TEST_F(InformerTest, BookmarksAdvanceTheVersion) {
  KubeClient client(Config(), {}, clock_);
  ListOptions team_a;
  team_a.namespace_name = "team-a";
  Informer inf(client, PodsType(), InformerOptions{.list = team_a}, {}, clock_);
  ASSERT_TRUE(inf.Start().ok());
  ASSERT_TRUE(inf.WaitForSync(5s).ok());
  const std::string synced_at = inf.resource_version();
  Churn(3);
  AddPod("team-b", "other-namespace");
  const std::string now = std::to_string(store_.resource_version());
  ASSERT_TRUE(Eventually([&] { return inf.resource_version() == now; })) << inf.resource_version() << " vs " << now;
  EXPECT_NE(synced_at, now);
  EXPECT_EQ(inf.stats().events, 0) << "nothing in team-a changed";
  EXPECT_GE(inf.stats().bookmarks, 1);
  EXPECT_EQ(inf.Items().size(), 2u);
}

TEST_F(InformerTest, ACutWatchResumesFromTheLastVersionWithoutRelisting) {
  // Faults match LISTs too (where a cut means nothing): the informer's first LIST takes one, its next two
  // watches are each cut after one event.
  server_.AddFault({.method = "GET", .path_contains = "/pods", .cut_watch_after = 1, .times = 3});
  KubeClient client(Config(), {}, clock_);
  Informer inf(client, PodsType(), {}, {}, clock_);
  ASSERT_TRUE(inf.Start().ok());
  ASSERT_TRUE(inf.WaitForSync(5s).ok());
  for (int i = 0; i < 4; ++i) {
    AddPod("team-a", "n-" + std::to_string(i));
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(Eventually([&] { return Cached(inf) == StorePods(); }));
  const Informer::Stats s = inf.stats();
  EXPECT_GE(s.watches, 3) << "two watches were cut after one event each";
  EXPECT_EQ(s.lists, 1);
  EXPECT_EQ(s.relists, 0);
  EXPECT_EQ(s.events, 4);
}

TEST_F(InformerTest, RelistsAfterGoneAndConvergesToTheServer) {
  // The first watch ends after one event; while it is down, the server's history moves past the informer's
  // version and pods change: the resumed watch is told 410 and the informer lists again. (The first LIST takes
  // one of the two faults, where a cut means nothing.)
  server_.AddFault({.method = "GET", .path_contains = "/pods", .cut_watch_after = 1, .times = 2});
  KubeClient client(Config(), {}, clock_);
  std::atomic<bool> churned{false};
  Recorder rec;
  Informer inf(client, PodsType(), {}, rec.Handler([&](WatchEventType type, const ObjectPtr& o) {
    if (type != WatchEventType::kAdded || Key(*o) != "team-a/trigger" || churned.exchange(true)) return;
    // Runs on the informer's thread before it reconnects.
    ASSERT_TRUE(store_.Delete(SimType("pods"), "team-b", "p-0").ok());
    Relabel("team-a", "p-1", "changed");
    AddPod("team-b", "appeared");
    Churn(100);
  }),
               clock_);
  ASSERT_TRUE(inf.Start().ok());
  ASSERT_TRUE(inf.WaitForSync(5s).ok());
  AddPod("team-a", "trigger");
  ASSERT_TRUE(Eventually([&] { return inf.stats().relists == 1 && Cached(inf) == StorePods(); }))
      << inf.stats().relists;
  EXPECT_EQ(inf.stats().lists, 2);
  EXPECT_TRUE(rec.Saw(WatchEventType::kDeleted, "team-b/p-0")) << "the relist tells handlers what vanished";
  EXPECT_TRUE(rec.Saw(WatchEventType::kModified, "team-a/p-1"));
  EXPECT_TRUE(rec.Saw(WatchEventType::kAdded, "team-b/appeared"));
  // Converged with what a direct LIST through the client returns.
  base::Result<ObjectList> direct = client.List(PodsType(), {});
  ASSERT_TRUE(direct.ok());
  std::map<std::string, std::string> listed;
  for (const ObjectPtr& o : direct->items) listed[Key(*o)] = (*o)["metadata"]["resourceVersion"].get<std::string>();
  EXPECT_EQ(Cached(inf), listed);
  // And it keeps following after the relist.
  AddPod("team-a", "after");
  ASSERT_TRUE(Eventually([&] { return inf.Get("team-a", "after") != nullptr; }));
}

TEST_F(InformerTest, WaitForSyncSaysWhyItCannotList) {
  KubeClient client(Config(kViewerToken));  // real clock: the informer backs off between attempts
  Informer inf(client, PodsType());
  EXPECT_EQ(inf.WaitForSync(10ms).code(), base::Code::kFailedPrecondition);
  ASSERT_TRUE(inf.Start().ok());
  base::Status st = inf.WaitForSync(1000ms);
  EXPECT_EQ(st.code(), base::Code::kDeadlineExceeded);
  EXPECT_NE(st.message().find("the informer for pods cluster-wide did not sync within 1000 ms"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("grant verb 'list' on 'pods' (group \"\") cluster-wide"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find(kViewerToken), std::string::npos);
  EXPECT_FALSE(inf.HasSynced());
  EXPECT_GE(inf.stats().reconnects, 1);
  EXPECT_EQ(inf.last_error().code(), base::Code::kPermissionDenied);
}

TEST_F(InformerTest, StopEndsAnOpenWatchPromptly) {
  KubeClient client(Config(), {}, clock_);
  Informer inf(client, PodsType(), {}, {}, clock_);
  ASSERT_TRUE(inf.Start().ok());
  ASSERT_TRUE(inf.WaitForSync(5s).ok());
  std::this_thread::sleep_for(100ms);  // the watch is open (300 s timeout)
  const auto t0 = std::chrono::steady_clock::now();
  inf.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  inf.Stop();  // idempotent
}

}  // namespace
}  // namespace gpuwise::observe::kube
