// The store's contract: one cluster-wide version per write, etcd key order, generation on spec changes only,
// conflicts on stale versions, no event for a no-op write, Gone for a watch older than the log.
#include "sim/kube_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

const ResourceType& Pods() { return *FindResourceByKey("pods"); }
const ResourceType& Deployments() { return *FindResourceByKey("deployments.apps"); }

json Pod(const std::string& ns, const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}}, {"spec", {{"containers", json::array()}}}};
}

TEST(KubeStore, EveryWriteBumpsOneVersionAndLogsOneEvent) {
  KubeStore store([] { return 1795000000.0; });
  const std::uint64_t v0 = store.resource_version();
  ASSERT_TRUE(store.Create(Pods(), Pod("a", "x")).ok());
  ASSERT_TRUE(store.Mutate(Pods(), "a", "x", [](json& o) {
    o["metadata"]["labels"]["k"] = "v";
    return base::Status::Ok();
  }).ok());
  // A write that changes nothing neither bumps the version nor sends an event.
  ASSERT_TRUE(store.Mutate(Pods(), "a", "x", [](json&) { return base::Status::Ok(); }).ok());
  ASSERT_TRUE(store.Delete(Pods(), "a", "x").ok());
  EXPECT_EQ(store.resource_version(), v0 + 3);
  base::Result<std::vector<WatchEvent>> events = store.EventsSince(v0, Pods(), "");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, WatchEventType::kAdded);
  EXPECT_EQ((*events)[1].type, WatchEventType::kModified);
  EXPECT_EQ((*events)[2].type, WatchEventType::kDeleted);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*events)[i].resource_version, v0 + 1 + i);
  EXPECT_EQ((*(*events)[2].object)["metadata"]["resourceVersion"], std::to_string(v0 + 3));
}

TEST(KubeStore, CreateFillsIdentityAndRefusesDuplicates) {
  KubeStore store([] { return 1795000000.0; });
  base::Result<ObjectPtr> a = store.Create(Pods(), Pod("a", "x"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((**a)["metadata"]["creationTimestamp"], "2026-11-18T11:06:40Z");
  EXPECT_EQ((**a)["apiVersion"], "v1");
  EXPECT_EQ((**a)["kind"], "Pod");
  EXPECT_EQ((**a)["metadata"]["uid"].get<std::string>().size(), 36u);
  base::Result<ObjectPtr> dup = store.Create(Pods(), Pod("a", "x"));
  EXPECT_EQ(dup.status().code(), base::Code::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "pods \"x\" already exists");
  json generated = Pod("a", "");
  generated["metadata"].erase("name");
  generated["metadata"]["generateName"] = "web-";
  base::Result<ObjectPtr> g = store.Create(Pods(), generated);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((**g)["metadata"]["name"].get<std::string>().rfind("web-", 0), 0u);
  EXPECT_EQ((**g)["metadata"]["name"].get<std::string>().size(), 9u);
  EXPECT_NE((**a)["metadata"]["uid"], (**g)["metadata"]["uid"]);
}

TEST(KubeStore, GenerationCountsSpecChangesOnly) {
  KubeStore store([] { return 1795000000.0; });
  json d = {{"metadata", {{"name", "d"}, {"namespace", "a"}}}, {"spec", {{"replicas", 1}}}};
  ASSERT_TRUE(store.Create(Deployments(), d).ok());
  auto gen = [&] { return (**store.Get(Deployments(), "a", "d"))["metadata"]["generation"].get<int>(); };
  EXPECT_EQ(gen(), 1);
  ASSERT_TRUE(store.Mutate(Deployments(), "a", "d", [](json& o) {
    o["status"]["replicas"] = 1;
    return base::Status::Ok();
  }).ok());
  EXPECT_EQ(gen(), 1);
  ASSERT_TRUE(store.Mutate(Deployments(), "a", "d", [](json& o) {
    o["spec"]["replicas"] = 2;
    return base::Status::Ok();
  }).ok());
  EXPECT_EQ(gen(), 2);
}

TEST(KubeStore, StaleVersionIsAConflict) {
  KubeStore store([] { return 1795000000.0; });
  base::Result<ObjectPtr> a = store.Create(Pods(), Pod("a", "x"));
  ASSERT_TRUE(a.ok());
  json stale = **a;
  ASSERT_TRUE(store.Mutate(Pods(), "a", "x", [](json& o) {
    o["metadata"]["labels"]["k"] = "v";
    return base::Status::Ok();
  }).ok());
  base::Result<ObjectPtr> u = store.Update(Pods(), stale);
  EXPECT_EQ(u.status().code(), base::Code::kAborted);
  EXPECT_NE(u.status().message().find("the object has been modified"), std::string::npos);
}

TEST(KubeStore, ListsInEtcdKeyOrderWithPages) {
  KubeStore store([] { return 1795000000.0; });
  for (const char* ns : {"a", "a-b", "b"}) {
    for (const char* name : {"y", "x"}) ASSERT_TRUE(store.Create(Pods(), Pod(ns, name)).ok());
  }
  auto names = [](const KubeStore::ListResult& r) {
    std::vector<std::string> out;
    for (const ObjectPtr& o : r.items) out.push_back((*o)["metadata"]["namespace"].get<std::string>() + "/" + (*o)["metadata"]["name"].get<std::string>());
    return out;
  };
  // "a-b/..." sorts before "a/..." as the etcd keys /registry/pods/a-b/x and /registry/pods/a/x do.
  EXPECT_EQ(names(store.List(Pods(), "")), (std::vector<std::string>{"a-b/x", "a-b/y", "a/x", "a/y", "b/x", "b/y"}));
  EXPECT_EQ(names(store.List(Pods(), "a")), (std::vector<std::string>{"a/x", "a/y"}));
  KubeStore::ListResult page = store.List(Pods(), "", "", 4);
  EXPECT_EQ(page.items.size(), 4u);
  EXPECT_EQ(page.remaining, 2);
  EXPECT_EQ(names(store.List(Pods(), "", page.continue_key, 4)), (std::vector<std::string>{"b/x", "b/y"}));
}

TEST(KubeStore, WatchOlderThanTheLogIsGone) {
  KubeStore store([] { return 1795000000.0; }, 10);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(store.Create(Pods(), Pod("a", "p" + std::to_string(i))).ok());
  EXPECT_EQ(store.EventsSince(2, Pods(), "").status().code(), base::Code::kFailedPrecondition);
  base::Result<std::vector<WatchEvent>> recent = store.EventsSince(store.resource_version() - 5, Pods(), "");
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 5u);
}

}  // namespace
}  // namespace gpuwise::sim
