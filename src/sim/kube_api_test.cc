// The API server's protocol, transport-free (KubeApiServer::Handle) and over real HTTPS: discovery lists exactly
// the served types, errors are real Status objects, LIST selectors and pagination, WATCH order, bookmarks and
// 410 then relist, the three patch types, subresources, RBAC 403s naming verb and resource, and fault injection.
#include "sim/kube_api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

constexpr double kNow = 1795000000;

class KubeApiTest : public ::testing::Test {
 protected:
  KubeApiTest() : store_([] { return kNow; }, 1000), server_(store_, Options(), [] { return kNow; }) {}

  static KubeApiOptions Options() {
    KubeApiOptions o;
    o.tls = false;
    o.tokens["admin-token"] = {"admin", {"system:masters"}};
    o.tokens["viewer-token"] = {"viewer", {"viewers"}};
    o.rbac.push_back({"viewers", true, "", {{{"get", "list", "watch"}, {""}, {"pods"}, {}, {}}}});
    o.rbac.push_back({"viewer", false, "team-a", {{{"patch"}, {"apps"}, {"deployments/scale"}, {}, {}}}});
    o.bookmark_interval = std::chrono::milliseconds(50);
    return o;
  }

  void SetUp() override {
    for (const char* ns : {"default", "team-a"}) {
      ASSERT_TRUE(store_.Create(*FindResourceByKey("namespaces"), {{"metadata", {{"name", ns}}}}).ok());
    }
    for (int i = 0; i < 5; ++i) AddPod("team-a", "web-" + std::to_string(i), i % 2 == 0 ? "web" : "batch", "node-1");
    AddPod("default", "lonely", "web", "node-2");
  }

  void AddPod(const std::string& ns, const std::string& name, const std::string& app, const std::string& node) {
    json pod = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
                {"spec", {{"nodeName", node}, {"containers", json::array({{{"name", "main"}, {"image", "x:1"}}})}}},
                {"status", {{"phase", "Running"}}}};
    ASSERT_TRUE(store_.Create(*FindResourceByKey("pods"), pod).ok());
  }

  KubeResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& token = "admin-token", std::map<std::string, std::string> headers = {}) {
    KubeRequest r;
    r.method = method;
    const std::size_t q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) {
      httplib::Params params;
      httplib::detail::parse_query_text(path.substr(q + 1), params);
      for (const auto& [k, v] : params) r.query.emplace(k, v);
    }
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    for (auto& [k, v] : headers) r.headers[k] = v;
    r.body = body;
    return server_.Handle(std::move(r));
  }

  json CallJson(const std::string& method, const std::string& path, int want_status, const std::string& body = "",
                const std::string& token = "admin-token", std::map<std::string, std::string> headers = {}) {
    KubeResponse r = Call(method, path, body, token, std::move(headers));
    EXPECT_EQ(r.status, want_status) << method << " " << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  // Runs a watch until `stop_after` lines arrived or it ends; returns the event lines.
  std::vector<json> Watch(const std::string& path, std::size_t stop_after, const std::function<void()>& during = {}) {
    KubeResponse r = Call("GET", path);
    EXPECT_TRUE(r.stream != nullptr) << r.status << " " << r.body;
    std::vector<json> events;
    if (!r.stream) return events;
    std::atomic<bool> stopping{false};
    std::thread writer;
    if (during) writer = std::thread(during);
    r.stream(
        [&](std::string_view line) {
          events.push_back(json::parse(line));
          return events.size() < stop_after;
        },
        stopping);
    if (writer.joinable()) writer.join();
    return events;
  }

  std::vector<std::string> Names(const json& list) {
    std::vector<std::string> out;
    for (const json& i : list["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  }

  KubeStore store_;
  KubeApiServer server_;
};

TEST_F(KubeApiTest, DiscoveryListsExactlyTheServedResources) {
  json core = CallJson("GET", "/api/v1", 200);
  std::set<std::string> names;
  for (const json& r : core["resources"]) names.insert(r["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"configmaps", "endpoints", "events", "namespaces", "namespaces/finalize",
                                          "namespaces/status", "nodes", "nodes/status", "pods", "pods/eviction",
                                          "pods/log", "pods/proxy", "pods/status", "services", "services/status"}));
  // The eviction subresource names its own group and kind (kubectl drain looks for policy/v1 Eviction here).
  for (const json& r : core["resources"]) {
    if (r["name"] == "pods/eviction") {
      EXPECT_EQ(r["group"], "policy");
      EXPECT_EQ(r["version"], "v1");
      EXPECT_EQ(r["kind"], "Eviction");
    }
    if (r["name"] == "pods") {
      EXPECT_EQ(r["shortNames"], json::array({"po"}));
    }
  }
  json groups = CallJson("GET", "/apis", 200);
  std::set<std::string> group_names;
  for (const json& g : groups["groups"]) group_names.insert(g["name"]);
  EXPECT_EQ(group_names, (std::set<std::string>{"apps", "authorization.k8s.io", "autoscaling", "batch",
                                                "coordination.k8s.io", "discovery.k8s.io", "policy",
                                                "leaderworkerset.x-k8s.io", "serving.kserve.io"}));
  json apps = CallJson("GET", "/apis/apps/v1", 200);
  bool scale = false;
  for (const json& r : apps["resources"]) {
    if (r["name"] == "deployments/scale") {
      scale = true;
      EXPECT_EQ(r["group"], "autoscaling");
      EXPECT_EQ(r["kind"], "Scale");
    }
  }
  EXPECT_TRUE(scale);
  EXPECT_EQ(CallJson("GET", "/version", 200, "", "")["gitVersion"], "v1.31.2");
  // Anything else: a real 404 Status.
  json missing = CallJson("GET", "/apis/networking.k8s.io/v1/ingresses", 404);
  EXPECT_EQ(missing["kind"], "Status");
  EXPECT_EQ(missing["reason"], "NotFound");
  EXPECT_EQ(missing["code"], 404);
  CallJson("GET", "/api/v1/secrets", 404);
  CallJson("GET", "/apis/apps/v2", 404);
}

TEST_F(KubeApiTest, ErrorsAreStatusObjectsWithTheRealCodes) {
  json nf = CallJson("GET", "/api/v1/namespaces/team-a/pods/nope", 404);
  EXPECT_EQ(nf["message"], "pods \"nope\" not found");
  EXPECT_EQ(nf["details"]["name"], "nope");
  EXPECT_EQ(nf["details"]["kind"], "pods");
  json nfd = CallJson("GET", "/apis/apps/v1/namespaces/team-a/deployments/nope", 404);
  EXPECT_EQ(nfd["message"], "deployments.apps \"nope\" not found");
  json exists = CallJson("POST", "/api/v1/namespaces/team-a/pods", 409,
                         R"({"metadata":{"name":"web-0"},"spec":{"containers":[]}})");
  EXPECT_EQ(exists["reason"], "AlreadyExists");
  json unauth = CallJson("GET", "/api/v1/pods", 401, "", "wrong-token");
  EXPECT_EQ(unauth["reason"], "Unauthorized");
  json anon = CallJson("GET", "/api/v1/pods", 403, "", "");
  EXPECT_EQ(anon["message"],
            "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" at the "
            "cluster scope");
  json bad_ns = CallJson("POST", "/api/v1/namespaces/ghost/configmaps", 404, R"({"metadata":{"name":"x"}})");
  EXPECT_EQ(bad_ns["message"], "namespaces \"ghost\" not found");
  json method = CallJson("DELETE", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", 405);
  EXPECT_EQ(method["reason"], "MethodNotAllowed");
}

TEST_F(KubeApiTest, RbacForbiddenNamesVerbResourceAndScope) {
  CallJson("GET", "/api/v1/namespaces/team-a/pods", 200, "", "viewer-token");
  json f = CallJson("GET", "/api/v1/nodes", 403, "", "viewer-token");
  EXPECT_EQ(f["message"],
            "nodes is forbidden: User \"viewer\" cannot list resource \"nodes\" in API group \"\" at the cluster scope");
  json d = CallJson("DELETE", "/api/v1/namespaces/team-a/pods/web-0", 403, "", "viewer-token");
  EXPECT_EQ(d["message"], "pods \"web-0\" is forbidden: User \"viewer\" cannot delete resource \"pods\" in API group "
                          "\"\" in the namespace \"team-a\"");
  json s = CallJson("GET", "/apis/apps/v1/namespaces/team-a/deployments/x/scale", 403, "", "viewer-token");
  EXPECT_EQ(s["message"], "deployments.apps \"x\" is forbidden: User \"viewer\" cannot get resource "
                          "\"deployments/scale\" in API group \"apps\" in the namespace \"team-a\"");
  // SelfSubjectAccessReview answers what RBAC would.
  auto can = [&](const std::string& verb, const std::string& group, const std::string& res, const std::string& sub,
                 const std::string& ns) {
    json review = {{"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SelfSubjectAccessReview"},
                   {"spec", {{"resourceAttributes", {{"verb", verb}, {"group", group}, {"resource", res},
                                                     {"subresource", sub}, {"namespace", ns}}}}}};
    json r = CallJson("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 201, review.dump(),
                      "viewer-token");
    return r["status"]["allowed"].get<bool>();
  };
  EXPECT_TRUE(can("list", "", "pods", "", "team-a"));
  EXPECT_FALSE(can("delete", "", "pods", "", "team-a"));
  EXPECT_TRUE(can("patch", "apps", "deployments", "scale", "team-a"));
  EXPECT_FALSE(can("patch", "apps", "deployments", "scale", "default"));
}

TEST_F(KubeApiTest, ListSelectorsAndPagination) {
  json all = CallJson("GET", "/api/v1/pods", 200);
  EXPECT_EQ(all["kind"], "PodList");
  EXPECT_EQ(all["items"].size(), 6u);
  // Built-in list items carry no apiVersion/kind, as on the wire.
  EXPECT_FALSE(all["items"][0].contains("kind"));
  EXPECT_EQ(Names(CallJson("GET", "/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb", 200)),
            (std::vector<std::string>{"web-0", "web-2", "web-4"}));
  EXPECT_EQ(Names(CallJson("GET", "/api/v1/pods?labelSelector=app%20in%20(batch)", 200)),
            (std::vector<std::string>{"web-1", "web-3"}));
  EXPECT_EQ(Names(CallJson("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2", 200)),
            (std::vector<std::string>{"lonely"}));
  EXPECT_EQ(Names(CallJson("GET", "/api/v1/pods?fieldSelector=metadata.namespace%21%3Dteam-a", 200)),
            (std::vector<std::string>{"lonely"}));
  json bad = CallJson("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx", 400);
  EXPECT_EQ(bad["reason"], "BadRequest");
  EXPECT_NE(bad["message"].get<std::string>().find("field label not supported: spec.bogus"), std::string::npos);
  // Pages of 2 in etcd key order, then the rest; remainingItemCount counts what is left.
  std::vector<std::string> seen;
  std::string cont;
  int pages = 0;
  do {
    json page = CallJson("GET", "/api/v1/pods?limit=2" + (cont.empty() ? "" : "&continue=" + cont), 200);
    for (const std::string& n : Names(page)) seen.push_back(n);
    cont = page["metadata"].value("continue", "");
    if (!cont.empty()) {
      EXPECT_EQ(page["metadata"]["remainingItemCount"], 6 - 2 * (pages + 1));
    }
    ++pages;
  } while (!cont.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"lonely", "web-0", "web-1", "web-2", "web-3", "web-4"}));
  CallJson("GET", "/api/v1/pods?limit=2&continue=garbage", 400);
}

TEST_F(KubeApiTest, TablesForKubectl) {
  const std::map<std::string, std::string> accept = {
      {"accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                 "application/json"}};
  json table = CallJson("GET", "/api/v1/namespaces/team-a/pods?limit=500", 200, "", "admin-token", accept);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(table["rows"].size(), 5u);
  EXPECT_EQ(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_FALSE(table["metadata"]["resourceVersion"].get<std::string>().empty());
  json one = CallJson("GET", "/api/v1/namespaces/team-a/pods/web-1", 200, "", "admin-token", accept);
  EXPECT_EQ(one["rows"].size(), 1u);
}

TEST_F(KubeApiTest, WatchDeliversEventsInOrderWithBookmarks) {
  const std::uint64_t rv = std::stoull(CallJson("GET", "/api/v1/namespaces/team-a/pods", 200)["metadata"]["resourceVersion"].get<std::string>());
  std::vector<json> events = Watch(
      "/api/v1/namespaces/team-a/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=5&resourceVersion=" +
          std::to_string(rv),
      4, [&] {
        AddPod("team-a", "late-1", "web", "node-1");
        AddPod("default", "elsewhere", "web", "node-1");  // another namespace: not in this watch
        CallJson("PATCH", "/api/v1/namespaces/team-a/pods/late-1", 200, R"({"metadata":{"labels":{"x":"y"}}})",
                 "admin-token", {{"content-type", "application/merge-patch+json"}});
        CallJson("DELETE", "/api/v1/namespaces/team-a/pods/late-1?gracePeriodSeconds=0", 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      });
  std::vector<std::string> types;
  std::uint64_t last = rv;
  for (const json& e : events) {
    types.push_back(e["type"]);
    const std::uint64_t v = std::stoull(e["object"]["metadata"]["resourceVersion"].get<std::string>());
    if (e["type"] == "BOOKMARK") {
      EXPECT_GE(v, last) << "a bookmark carries the version the stream is complete up to";
    } else {
      EXPECT_GT(v, last) << "versions increase along the stream";
    }
    last = v;
    if (e["type"] != "BOOKMARK") {
      EXPECT_EQ(e["object"]["metadata"]["name"], "late-1");
    }
  }
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types[0], "ADDED");
  EXPECT_EQ(types[1], "MODIFIED");
  EXPECT_EQ(types[2], "DELETED");

  // With bookmarks on and nothing happening, a bookmark carries the current version.
  std::vector<json> quiet = Watch("/api/v1/namespaces/team-a/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=2"
                                  "&resourceVersion=" + std::to_string(store_.resource_version()), 1);
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0]["type"], "BOOKMARK");
  EXPECT_EQ(quiet[0]["object"]["kind"], "Pod");
}

TEST_F(KubeApiTest, WatchFromTooOldVersionIsGoneThenRelistWorks) {
  // The event log holds 1000 events: push the first versions out.
  for (int i = 0; i < 1100; ++i) {
    ASSERT_TRUE(store_.Mutate(*FindResourceByKey("pods"), "default", "lonely", [i](json& o) {
      o["metadata"]["labels"]["n"] = std::to_string(i);
      return base::Status::Ok();
    }).ok());
  }
  std::vector<json> gone = Watch("/api/v1/pods?watch=1&resourceVersion=2&timeoutSeconds=2", 5);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["type"], "ERROR");
  EXPECT_EQ(gone[0]["object"]["code"], 410);
  EXPECT_EQ(gone[0]["object"]["reason"], "Expired");
  // A client relists and watches from the list's version.
  json list = CallJson("GET", "/api/v1/pods", 200);
  const std::string rv = list["metadata"]["resourceVersion"];
  std::vector<json> after = Watch("/api/v1/pods?watch=1&timeoutSeconds=3&resourceVersion=" + rv, 1, [&] {
    AddPod("team-a", "after-relist", "web", "node-1");
  });
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["type"], "ADDED");
  EXPECT_EQ(after[0]["object"]["metadata"]["name"], "after-relist");
  // No version: the current objects arrive as ADDED first.
  std::vector<json> initial = Watch("/api/v1/namespaces/team-a/pods?watch=1&timeoutSeconds=1", 100);
  EXPECT_GE(initial.size(), 5u);
  for (const json& e : initial) EXPECT_EQ(e["type"], "ADDED");
}

TEST_F(KubeApiTest, PatchTypesAndConflicts) {
  const ResourceType& deployments = *FindResourceByKey("deployments.apps");
  json dep = {{"metadata", {{"name", "api"}, {"namespace", "team-a"}}},
              {"spec", {{"replicas", 2},
                        {"selector", {{"matchLabels", {{"app", "api"}}}}},
                        {"template", {{"metadata", {{"labels", {{"app", "api"}}}}},
                                      {"spec", {{"containers", json::array({{{"name", "a"}, {"image", "a:1"}},
                                                                           {{"name", "b"}, {"image", "b:1"}}})}}}}}}}};
  json created = CallJson("POST", "/apis/apps/v1/namespaces/team-a/deployments", 201, dep.dump());
  EXPECT_EQ(created["metadata"]["generation"], 1);
  const std::string base = "/apis/apps/v1/namespaces/team-a/deployments/api";
  json merged = CallJson("PATCH", base, 200, R"({"spec":{"replicas":3}})", "admin-token",
                         {{"content-type", "application/merge-patch+json"}});
  EXPECT_EQ(merged["spec"]["replicas"], 3);
  EXPECT_EQ(merged["metadata"]["generation"], 2);
  json strategic = CallJson("PATCH", base, 200, R"({"spec":{"template":{"spec":{"containers":[{"name":"b","image":"b:2"}]}}}})",
                            "admin-token", {{"content-type", "application/strategic-merge-patch+json"}});
  ASSERT_EQ(strategic["spec"]["template"]["spec"]["containers"].size(), 2u);
  EXPECT_EQ(strategic["spec"]["template"]["spec"]["containers"][1]["image"], "b:2");
  EXPECT_EQ(strategic["spec"]["template"]["spec"]["containers"][0]["image"], "a:1");
  json jp = CallJson("PATCH", base, 200, R"([{"op":"replace","path":"/spec/replicas","value":1}])", "admin-token",
                     {{"content-type", "application/json-patch+json"}});
  EXPECT_EQ(jp["spec"]["replicas"], 1);
  json failed_test = CallJson("PATCH", base, 422, R"([{"op":"test","path":"/spec/replicas","value":9}])", "admin-token",
                              {{"content-type", "application/json-patch+json"}});
  (void)failed_test;
  json invalid = CallJson("PATCH", base, 422, R"({"spec":{"replicas":-1}})", "admin-token",
                          {{"content-type", "application/merge-patch+json"}});
  EXPECT_EQ(invalid["reason"], "Invalid");
  CallJson("PATCH", base, 415, R"({})", "admin-token", {{"content-type", "text/plain"}});
  // A stale resourceVersion on PUT is a Conflict.
  json stale = created;
  json conflict = CallJson("PUT", base, 409, stale.dump());
  EXPECT_EQ(conflict["reason"], "Conflict");
  // The scale subresource reads and writes spec.replicas.
  json scale = CallJson("GET", base + "/scale", 200);
  EXPECT_EQ(scale["kind"], "Scale");
  EXPECT_EQ(scale["spec"]["replicas"], 1);
  EXPECT_EQ(scale["status"]["selector"], "app=api");
  CallJson("PATCH", base + "/scale", 200, R"({"spec":{"replicas":4}})", "admin-token",
           {{"content-type", "application/merge-patch+json"}});
  EXPECT_EQ((**store_.Get(deployments, "team-a", "api"))["spec"]["replicas"], 4);
  // Status is written only through the status subresource.
  CallJson("PATCH", base, 200, R"({"status":{"replicas":7}})", "admin-token",
           {{"content-type", "application/merge-patch+json"}});
  EXPECT_FALSE((**store_.Get(deployments, "team-a", "api")).contains("status"));
  CallJson("PATCH", base + "/status", 200, R"({"status":{"replicas":7}})", "admin-token",
           {{"content-type", "application/merge-patch+json"}});
  EXPECT_EQ((**store_.Get(deployments, "team-a", "api"))["status"]["replicas"], 7);
}

TEST_F(KubeApiTest, EvictionHonoursDisruptionBudgets) {
  json pdb = {{"metadata", {{"name", "web"}, {"namespace", "team-a"}}},
              {"spec", {{"minAvailable", 3}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  CallJson("POST", "/apis/policy/v1/namespaces/team-a/poddisruptionbudgets", 201, pdb.dump());
  ASSERT_TRUE(store_.Mutate(*FindResourceByKey("poddisruptionbudgets.policy"), "team-a", "web", [](json& o) {
    o["status"] = {{"disruptionsAllowed", 0}, {"currentHealthy", 3}, {"desiredHealthy", 3}, {"expectedPods", 3}};
    return base::Status::Ok();
  }).ok());
  const std::string eviction = R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-0","namespace":"team-a"}})";
  json refused = CallJson("POST", "/api/v1/namespaces/team-a/pods/web-0/eviction", 429, eviction);
  EXPECT_EQ(refused["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
  EXPECT_EQ(refused["details"]["causes"][0]["reason"], "DisruptionBudget");
  // Pods the budget does not select are evicted: graceful deletion marks them.
  const std::string other = R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-1","namespace":"team-a"}})";
  json ok = CallJson("POST", "/api/v1/namespaces/team-a/pods/web-1/eviction", 201, other);
  EXPECT_EQ(ok["status"], "Success");
  EXPECT_TRUE((**store_.Get(*FindResourceByKey("pods"), "team-a", "web-1"))["metadata"].contains("deletionTimestamp"));
  // Once the budget allows one disruption, one eviction goes through and uses it up.
  ASSERT_TRUE(store_.Mutate(*FindResourceByKey("poddisruptionbudgets.policy"), "team-a", "web", [](json& o) {
    o["status"]["disruptionsAllowed"] = 1;
    return base::Status::Ok();
  }).ok());
  CallJson("POST", "/api/v1/namespaces/team-a/pods/web-0/eviction", 201, eviction);
  const std::string third = R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-2","namespace":"team-a"}})";
  CallJson("POST", "/api/v1/namespaces/team-a/pods/web-2/eviction", 429, third);
}

TEST_F(KubeApiTest, PodLogsComeFromTheRuntime) {
  server_.SetPodLog([](std::string_view ns, std::string_view name, std::string_view container) -> base::Result<std::string> {
    return std::string(ns) + "/" + std::string(name) + "/" + std::string(container) + "\nline 2\nline 3\n";
  });
  KubeResponse r = Call("GET", "/api/v1/namespaces/team-a/pods/web-0/log");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body, "team-a/web-0/main\nline 2\nline 3\n");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/team-a/pods/web-0/log?tailLines=1").body, "line 3\n");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/team-a/pods/web-0/log?container=sidecar").status, 400);
}

TEST_F(KubeApiTest, CronJobScheduleAndTimeZoneAreValidated) {
  auto cron = [](const std::string& schedule, const std::string& zone) {
    json c = {{"metadata", {{"name", "nightly"}}},
              {"spec", {{"schedule", schedule},
                        {"jobTemplate", {{"spec", {{"template", {{"spec", {{"containers", json::array()}}}}}}}}}}}};
    if (!zone.empty()) c["spec"]["timeZone"] = zone;
    return c.dump();
  };
  json bad = CallJson("POST", "/apis/batch/v1/namespaces/team-a/cronjobs", 422, cron("61 * * * *", ""));
  EXPECT_EQ(bad["reason"], "Invalid");
  EXPECT_EQ(bad["message"], "CronJob.batch \"nightly\" is invalid: spec.schedule: Invalid value: \"61 * * * *\": end "
                            "of range (61) above maximum (59): 61");
  json zone = CallJson("POST", "/apis/batch/v1/namespaces/team-a/cronjobs", 422, cron("0 2 * * *", "Mars/Olympus"));
  EXPECT_NE(zone["message"].get<std::string>().find("unknown time zone Mars/Olympus"), std::string::npos) << zone.dump();
  CallJson("POST", "/apis/batch/v1/namespaces/team-a/cronjobs", 201, cron("0 2 * * *", "Europe/Berlin"));
}

TEST_F(KubeApiTest, FaultInjectionPerTest) {
  server_.AddFault({.method = "GET", .path_contains = "/pods", .status = 429, .retry_after_s = 3, .times = 2});
  KubeResponse a = Call("GET", "/api/v1/pods");
  EXPECT_EQ(a.status, 429);
  EXPECT_EQ(a.headers["Retry-After"], "3");
  EXPECT_EQ(json::parse(a.body)["reason"], "TooManyRequests");
  EXPECT_EQ(Call("GET", "/api/v1/pods").status, 429);
  EXPECT_EQ(Call("GET", "/api/v1/pods").status, 200) << "the fault hit twice, then cleared";
  KubeFault unavailable;
  unavailable.status = 503;
  unavailable.times = -1;
  server_.AddFault(unavailable);
  EXPECT_EQ(Call("GET", "/api/v1/nodes").status, 503);
  EXPECT_EQ(Call("GET", "/api/v1/nodes").status, 503);
  server_.ClearFaults();
  EXPECT_EQ(Call("GET", "/api/v1/nodes").status, 200);
  // A watch cut after 2 events.
  server_.AddFault({.method = "GET", .path_contains = "/pods", .cut_watch_after = 2});
  std::vector<json> cut = Watch("/api/v1/pods?watch=1&timeoutSeconds=5", 100);
  EXPECT_EQ(cut.size(), 2u);
  // Slow responses.
  KubeFault slow;
  slow.delay = std::chrono::milliseconds(300);
  server_.AddFault(slow);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Call("GET", "/api/v1/pods").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
}

TEST(KubeApiHttps, ServesOverTlsWithClientCertificatesAndTokens) {
  KubeStore store([] { return kNow; });
  ASSERT_TRUE(store.Create(*FindResourceByKey("namespaces"), {{"metadata", {{"name", "default"}}}}).ok());
  KubeApiOptions o;
  o.tokens["t0k3n"] = {"robot", {"robots"}};
  KubeApiServer server(store, o, [] { return kNow; });
  ASSERT_TRUE(server.Start().ok());
  const std::string url = server.url();
  ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u);
  base::Result<std::string> kubeconfig = server.Kubeconfig("alice", {"system:masters"});
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status().message();
  EXPECT_NE(kubeconfig->find("client-certificate-data: "), std::string::npos);
  EXPECT_NE(kubeconfig->find("certificate-authority-data: "), std::string::npos);
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  httplib::SSLClient client("127.0.0.1", port);
  const std::filesystem::path ca = std::filesystem::path(::testing::TempDir()) / "kube-api-ca.pem";
  {
    std::ofstream(ca) << server.pki().ca.cert_pem;
  }
  client.set_ca_cert_path(ca.string());
  client.enable_server_certificate_verification(true);
  auto version = client.Get("/version");
  ASSERT_TRUE(version) << httplib::to_string(version.error());
  EXPECT_EQ(version->status, 200);
  auto anon = client.Get("/api/v1/namespaces");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 403);
  auto robot = client.Get("/api/v1/namespaces", {{"Authorization", "Bearer t0k3n"}});
  ASSERT_TRUE(robot);
  EXPECT_EQ(robot->status, 403);
  EXPECT_NE(robot->body.find("User \\\"robot\\\" cannot list resource \\\"namespaces\\\""), std::string::npos);
  server.Stop();
}

}  // namespace
}  // namespace gpuwise::sim
