// ReadCluster against the simulated API server seeded from the demo world: every GPU pod is read with the node,
// GPU requests and top owner the world itself gives it (Deployment, StatefulSet, Job -> CronJob, InferenceService,
// LeaderWorkerSet), nodes with their GPUs, capacity type and fractional backend, namespaces with their labels;
// owners are fetched once however many pods share them; an owner that is gone, of an unserved kind or replaced
// stops the walk with a warning naming it while the read goes on; filters, progress and skipped objects.
#include "observe/kube/cluster_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "observe/kube/demo_api_for_test.h"
#include "observe/kube/object_convert.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using testing::DemoApi;

const sim::ResourceType& SimType(const char* key) { return *sim::FindResourceByKey(key); }

// The world's own owner chain of a pod: its owner, then each controller's owner, up to the top.
std::vector<sim::OwnerRef> WorldChain(const sim::World& w, const sim::SimPod& p) {
  std::vector<sim::OwnerRef> chain = {p.owner};
  for (int guard = 0; guard < 10; ++guard) {
    auto it = std::find_if(w.controllers.begin(), w.controllers.end(),
                           [&](const sim::Controller& c) { return c.meta.uid == chain.back().uid; });
    if (it == w.controllers.end() || it->owners.empty()) break;
    chain.push_back(it->owners.front());
  }
  return chain;
}

const sim::SimPod* WorldPod(const sim::World& w, const std::string& ns, const std::string& name) {
  for (const sim::SimPod& p : w.pods) {
    if (p.meta.namespace_name == ns && p.meta.name == name) return &p;
  }
  return nullptr;
}

bool WorldPodWantsGpu(const sim::SimPod& p) {
  return std::any_of(p.requests.begin(), p.requests.end(),
                     [](const auto& kv) { return kv.first.rfind("nvidia.com/", 0) == 0; });
}

// Owner GETs cost a round trip each, so the full read is made once and shared by the tests that only look at it;
// tests that change the cluster build their own and read only what they need.
class ClusterReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new DemoApi();
    ASSERT_TRUE(shared_->status().ok()) << shared_->status().ToString();
    shared_client_ = shared_->Client().release();
    ReadOptions o;
    o.clock = &shared_->clock();
    base::Result<model::ClusterState> s = ReadCluster(*shared_client_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    read_ = new model::ClusterState(std::move(*s));
  }
  static void TearDownTestSuite() {
    delete read_;
    delete shared_client_;
    delete shared_;
  }

  static model::ClusterState Read(KubeClient& client, ReadOptions o = {}) {
    base::Result<model::ClusterState> s = ReadCluster(client, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : model::ClusterState();
  }

  static void MutatePod(DemoApi& api, const std::string& ns, const std::string& name,
                        const std::function<void(json&)>& f) {
    ASSERT_TRUE(api.store()
                    .Mutate(SimType("pods"), ns, name,
                            [&](json& o) {
                              f(o);
                              return base::Status::Ok();
                            })
                    .ok());
  }

  // A GPU pod of the read whose top owner has `kind`.
  static const model::Pod* PodWithTop(const model::ClusterState& s, const std::string& kind) {
    for (const model::Pod& p : s.pods) {
      if (p.RequestsGpu() && p.Top().kind == kind) return &p;
    }
    return nullptr;
  }

  static DemoApi* shared_;
  static KubeClient* shared_client_;
  static model::ClusterState* read_;
};

DemoApi* ClusterReaderTest::shared_ = nullptr;
KubeClient* ClusterReaderTest::shared_client_ = nullptr;
model::ClusterState* ClusterReaderTest::read_ = nullptr;

TEST_F(ClusterReaderTest, EveryGpuPodHasTheWorldsNodeRequestsAndTopOwner) {
  const model::ClusterState& s = *read_;
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  const sim::World& w = shared_->world();
  std::set<std::string> top_kinds;
  int gpu_pods = 0;
  for (const model::Pod& p : s.pods) {
    const sim::SimPod* wp = WorldPod(w, p.namespace_name, p.name);
    ASSERT_NE(wp, nullptr) << p.namespace_name << "/" << p.name << " is not a pod of the world";
    EXPECT_EQ(p.uid, wp->meta.uid);
    if (!WorldPodWantsGpu(*wp)) {
      EXPECT_FALSE(p.RequestsGpu()) << p.name;
      continue;
    }
    ++gpu_pods;
    SCOPED_TRACE(p.namespace_name + "/" + p.name);
    EXPECT_EQ(p.node, wp->node);
    if (wp->node.empty()) {
      EXPECT_EQ(p.unschedulable_message, wp->pending_reason);
    }
    // GPU requests, resource by resource, as the world wrote them.
    const model::GpuRequest g = p.GpuTotal();
    for (const auto& [resource, quantity] : wp->requests) {
      if (resource.rfind("nvidia.com/", 0) != 0) continue;
      const double v = ParseQuantity(quantity)->ToDouble();
      if (resource == "nvidia.com/gpu") EXPECT_EQ(g.gpus, v);
      else if (resource == "nvidia.com/gpu.shared") EXPECT_EQ(g.shared, v);
      else if (resource == "nvidia.com/gpumem") EXPECT_EQ(g.hami_gpumem_mib, v);
      else if (resource == "nvidia.com/gpucores") EXPECT_EQ(g.hami_gpucores_percent, v);
      else if (resource.rfind("nvidia.com/mig-", 0) == 0) EXPECT_EQ(g.mig.at(resource.substr(15)), v);
      else ADD_FAILURE() << "unexpected resource " << resource;
    }
    // The owner chain, direct owner first, top last.
    const std::vector<sim::OwnerRef> chain = WorldChain(w, *wp);
    ASSERT_EQ(p.owners.size(), chain.size());
    for (std::size_t i = 0; i < chain.size(); ++i) {
      EXPECT_EQ(p.owners[i].kind, chain[i].kind);
      EXPECT_EQ(p.owners[i].name, chain[i].name);
      EXPECT_EQ(p.owners[i].uid, chain[i].uid);
      EXPECT_EQ(p.owners[i].api_version, chain[i].api_version);
    }
    top_kinds.insert(p.Top().kind);
    // The serving engine and where it serves metrics.
    if (wp->image.rfind("vllm/vllm-openai", 0) == 0) {
      const sim::WorkloadSpec& spec = w.scenario.workloads[static_cast<std::size_t>(wp->workload)];
      EXPECT_EQ(p.engine.name, "vllm");
      EXPECT_EQ(p.engine.metrics_port, wp->port);
      EXPECT_EQ(p.engine.model, spec.model.name);
      EXPECT_NEAR(p.engine.gpu_memory_utilization, spec.gpu_memory_utilization, 0.005);
      EXPECT_EQ(p.engine.tensor_parallel, std::max(1, spec.tensor_parallel));
    }
  }
  // Every GPU pod alive in the world was read.
  int world_gpu_pods = 0;
  for (const sim::SimPod& wp : w.pods) {
    if (WorldPodWantsGpu(wp) && wp.alive(shared_->now())) ++world_gpu_pods;
  }
  EXPECT_EQ(gpu_pods, world_gpu_pods);
  EXPECT_GT(gpu_pods, 10);
  // The demo has each kind of top owner; the walk went through all of them.
  for (const char* kind : {"Deployment", "StatefulSet", "CronJob", "InferenceService", "LeaderWorkerSet"}) {
    EXPECT_TRUE(top_kinds.count(kind)) << kind;
  }
  // Sorted by namespace, name.
  EXPECT_TRUE(std::is_sorted(s.pods.begin(), s.pods.end(), [](const model::Pod& a, const model::Pod& b) {
    return std::tie(a.namespace_name, a.name) < std::tie(b.namespace_name, b.name);
  }));
  EXPECT_EQ(s.source, shared_->server().url() + " (context sim)");
  EXPECT_EQ(s.read_unix_s, 1'700'000'000);  // the FakeClock's start
}

TEST_F(ClusterReaderTest, NodesAndNamespacesAsTheWorldLaysThemOut) {
  const model::ClusterState& s = *read_;
  const sim::World& w = shared_->world();
  ASSERT_EQ(s.nodes.size(), w.nodes.size());
  for (const sim::SimNode& wn : w.nodes) {
    const model::Node* n = s.FindNode(wn.meta.name);
    ASSERT_NE(n, nullptr) << wn.meta.name;
    const sim::NodePool& pool = w.scenario.node_pools[static_cast<std::size_t>(wn.pool)];
    EXPECT_EQ(n->gpu_count, static_cast<int>(wn.gpus.size())) << n->name;
    EXPECT_EQ(n->instance_type, pool.instance_type);
    EXPECT_EQ(n->zone, pool.zone);
    EXPECT_EQ(n->capacity_type,
              pool.capacity == sim::CapacityType::kSpot ? model::CapacityType::kSpot : model::CapacityType::kOnDemand);
    EXPECT_EQ(n->backend, pool.sharing.mode == sim::SharingMode::kHami ? model::FractionalBackend::kHami
                                                                         : model::FractionalBackend::kNone)
        << n->name;
    EXPECT_EQ(n->mig_strategy, pool.sharing.mode == sim::SharingMode::kMig ? "mixed" : "");
    for (const auto& [resource, quantity] : wn.capacity) {
      if (resource.find('/') == std::string::npos) continue;
      EXPECT_EQ(n->allocatable.at(resource), ParseQuantity(quantity)->ToDouble()) << n->name << " " << resource;
    }
    EXPECT_TRUE(n->ready);
  }
  // Every namespace the API serves (the world's, and those the control plane adds such as kube-node-lease).
  EXPECT_EQ(s.namespaces.size(), shared_->store().List(SimType("namespaces"), "").items.size());
  for (const sim::SimNamespace& wn : w.namespaces) {
    const model::Namespace* ns = s.FindNamespace(wn.meta.name);
    ASSERT_NE(ns, nullptr) << wn.meta.name;
    EXPECT_EQ(ns->labels, wn.meta.labels);
  }
  EXPECT_TRUE(std::is_sorted(s.nodes.begin(), s.nodes.end(),
                             [](const model::Node& a, const model::Node& b) { return a.name < b.name; }));
}

TEST_F(ClusterReaderTest, SharedOwnersAreFetchedOnce) {
  // The InferenceService's replicas share ReplicaSet -> Deployment -> InferenceService.
  const model::Pod* first = PodWithTop(*read_, "InferenceService");
  ASSERT_NE(first, nullptr);
  std::vector<const model::Pod*> siblings;
  for (const model::Pod& p : read_->pods) {
    if (!p.owners.empty() && p.owners.front() == first->owners.front()) siblings.push_back(&p);
  }
  ASSERT_GE(siblings.size(), 2u);
  std::unique_ptr<KubeClient> client = shared_->Client();
  OwnerResolver resolver(*client);
  std::vector<std::string> warnings;
  std::vector<model::OwnerRef> chain = resolver.Chain(first->namespace_name, first->owners.front(), &warnings);
  EXPECT_EQ(chain, first->owners);
  EXPECT_EQ(resolver.gets(), 3u);  // one GET per owner
  const std::int64_t requests = client->stats().requests;
  for (const model::Pod* p : siblings) {
    EXPECT_EQ(resolver.Chain(p->namespace_name, p->owners.front(), &warnings), p->owners);
  }
  EXPECT_EQ(resolver.gets(), 3u);
  EXPECT_EQ(client->stats().requests, requests) << "siblings are served from the cache";
  EXPECT_TRUE(warnings.empty());
}

TEST_F(ClusterReaderTest, AnUnreadableOwnerStopsTheWalkWithAWarningNamingIt) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  const model::ClusterState& s0 = *read_;  // the same world, read before any change
  const model::Pod* lws = PodWithTop(s0, "LeaderWorkerSet");
  const model::Pod* isvc = PodWithTop(s0, "InferenceService");
  const model::Pod* cron = PodWithTop(s0, "CronJob");
  ASSERT_NE(lws, nullptr);
  ASSERT_NE(isvc, nullptr);
  ASSERT_NE(cron, nullptr);
  const std::string lws_ns = lws->namespace_name, lws_pod = lws->name, lws_sts = lws->owners.front().name;
  const std::string isvc_ns = isvc->namespace_name, isvc_pod = isvc->name;
  const model::OwnerRef isvc_deploy = isvc->owners[1];
  const std::string cron_ns = cron->namespace_name, cron_pod = cron->name;
  const model::OwnerRef cron_job = cron->owners[0];
  // 1. The LeaderWorkerSet's StatefulSet is deleted (404).
  ASSERT_TRUE(api.store().Delete(SimType("statefulsets.apps"), lws_ns, lws_sts).ok());
  // 2. The InferenceService's Deployment is deleted and created again: same name, a new uid.
  {
    base::Result<sim::ObjectPtr> d = api.store().Get(SimType("deployments.apps"), isvc_ns, isvc_deploy.name);
    ASSERT_TRUE(d.ok());
    json again = **d;
    again["metadata"].erase("uid");
    again["metadata"].erase("resourceVersion");
    ASSERT_TRUE(api.store().Delete(SimType("deployments.apps"), isvc_ns, isvc_deploy.name).ok());
    ASSERT_TRUE(api.store().Create(SimType("deployments.apps"), again).ok());
  }
  // 3. The CronJob pod's Job names a kind the server does not serve as its owner.
  ASSERT_TRUE(api.store()
                  .Mutate(SimType("jobs.batch"), cron_ns, cron_job.name,
                          [](json& o) {
                            o["metadata"]["ownerReferences"] = json::array(
                                {{{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"name", "w1"},
                                  {"uid", "u"}, {"controller", true}}});
                            return base::Status::Ok();
                          })
                  .ok());
  // Owners read one GET at a time, and listed (every kind, however few owners it has): the same outcome.
  for (const std::size_t list_from : {std::size_t{0}, std::size_t{1}}) {
  SCOPED_TRACE("list_owners_from " + std::to_string(list_from));
  std::unique_ptr<KubeClient> client = api.Client();
  ReadOptions o;
  o.namespaces = {lws_ns, isvc_ns, cron_ns};
  o.list_owners_from = list_from;
  const model::ClusterState s = Read(*client, o);
  const model::Pod* p = s.FindPod(lws_ns, lws_pod);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->owners.size(), 1u);
  EXPECT_EQ(p->Top().kind, "StatefulSet");  // attributed as far as it could be read
  p = s.FindPod(isvc_ns, isvc_pod);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->owners.size(), 2u);
  EXPECT_EQ(p->Top().name, isvc_deploy.name);
  p = s.FindPod(cron_ns, cron_pod);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->owners.size(), 2u);
  EXPECT_EQ(p->Top().kind, "Widget");
  auto warned = [&](const std::string& needle) {
    return std::count_if(s.warnings.begin(), s.warnings.end(),
                         [&](const std::string& w) { return w.find(needle) != std::string::npos; });
  };
  EXPECT_EQ(warned("owner StatefulSet " + lws_ns + "/" + lws_sts + " (apps/v1) cannot be read:"), 1)
      << "one warning, however many pods it owns";
  EXPECT_EQ(warned("owner Deployment " + isvc_ns + "/" + isvc_deploy.name + " (apps/v1) cannot be read: the object "
                   "of that name has uid"),
            1);
  EXPECT_EQ(warned("owner Widget " + cron_ns + "/w1 (example.com/v1) cannot be read:"), 1);
  EXPECT_EQ(s.warnings.size(), 3u) << s.warnings.front();
  }
}

TEST_F(ClusterReaderTest, ListingOwnersGivesTheChainsGettingThemGives) {
  std::unique_ptr<KubeClient> client = shared_->Client();
  std::vector<std::pair<std::string, model::OwnerRef>> direct;
  for (const model::Pod& p : read_->pods) {
    if (!p.owners.empty()) direct.emplace_back(p.namespace_name, p.owners.front());
  }
  OwnerResolver listed(*client);
  std::vector<std::string> warnings;
  listed.Prefetch(direct, {}, &warnings, 1);
  EXPECT_GT(listed.lists(), 0u);
  EXPECT_EQ(listed.gets(), 0u);
  for (const model::Pod& p : read_->pods) {
    if (p.owners.empty()) continue;
    EXPECT_EQ(listed.Chain(p.namespace_name, p.owners.front(), &warnings), p.owners) << p.name;
  }
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  // Custom kinds (InferenceService, LeaderWorkerSet) are never listed: only they cost a GET each.
  std::set<std::string> custom;
  for (const model::Pod& p : read_->pods) {
    for (const model::OwnerRef& o : p.owners) {
      if (o.api_version.find('/') != std::string::npos && !o.api_version.starts_with("apps/") &&
          !o.api_version.starts_with("batch/")) {
        custom.insert(p.namespace_name + "/" + o.kind + "/" + o.name);
      }
    }
  }
  EXPECT_EQ(listed.gets(), custom.size());
}

TEST_F(ClusterReaderTest, NamespaceFilterLabelSelectorAndProgress) {
  std::map<std::string, std::size_t> last;
  ReadOptions o;
  o.namespaces = {"search", "no-such-namespace"};
  o.progress = [&](std::string_view stage, std::size_t n) { last[std::string(stage)] = n; };
  model::ClusterState s = Read(*shared_client_, o);
  ASSERT_FALSE(s.pods.empty());
  for (const model::Pod& p : s.pods) EXPECT_EQ(p.namespace_name, "search");
  ASSERT_EQ(s.namespaces.size(), 1u);
  EXPECT_EQ(s.namespaces[0].name, "search");
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "namespace no-such-namespace does not exist");
  std::size_t world_search = 0;
  for (const sim::SimPod& p : shared_->world().pods) {
    if (p.meta.namespace_name == "search" && p.alive(shared_->now())) ++world_search;
  }
  EXPECT_EQ(s.pods.size(), world_search);
  EXPECT_EQ(last["nodes"], s.nodes.size());
  EXPECT_EQ(last["pods"], s.pods.size());
  EXPECT_EQ(last["owners"], s.pods.size());

  ReadOptions by_label;
  by_label.label_selector = "app=chat";
  s = Read(*shared_client_, by_label);
  ASSERT_FALSE(s.pods.empty());
  for (const model::Pod& p : s.pods) EXPECT_EQ(p.labels.at("app"), "chat");
  EXPECT_EQ(s.namespaces.size(), read_->namespaces.size());  // namespaces are not filtered by pod labels
}

TEST_F(ClusterReaderTest, ObjectsThatDoNotConvertAreSkippedWithAWarning) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  const model::Pod* victim = PodWithTop(*read_, "Deployment");
  ASSERT_NE(victim, nullptr);
  const std::string ns = victim->namespace_name, name = victim->name;
  const std::size_t pods = read_->pods.size();
  MutatePod(api, ns, name, [](json& o) { o["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "lots"; });
  std::unique_ptr<KubeClient> client = api.Client();
  ReadOptions o;
  o.resolve_owners = false;
  const model::ClusterState s = Read(*client, o);
  EXPECT_EQ(s.pods.size(), pods - 1);
  EXPECT_EQ(s.FindPod(ns, name), nullptr);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0].rfind("skipped: pod " + ns + "/" + name + ": spec.containers[0].resources.limits", 0), 0u)
      << s.warnings[0];
}

TEST_F(ClusterReaderTest, FractionalPodsMarkTheirNodesBackend) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  std::unique_ptr<KubeClient> client = api.Client();
  ReadOptions o;
  o.resolve_owners = false;
  const model::Node* target = nullptr;
  for (const model::Node& n : read_->nodes) {
    if (n.backend == model::FractionalBackend::kNone && n.HasGpus()) target = &n;
  }
  ASSERT_NE(target, nullptr);
  const std::string node = target->name;
  json pod = {{"metadata", {{"name", "kai-notebook"}, {"namespace", "research"},
                            {"annotations", {{"gpu-fraction", "0.5"}}}}},
              {"spec", {{"schedulerName", "kai-scheduler"}, {"nodeName", node},
                        {"containers", json::array({{{"name", "nb"}, {"image", "jupyter"}}})}}},
              {"status", {{"phase", "Running"}}}};
  ASSERT_TRUE(api.store().Create(SimType("pods"), pod).ok());
  model::ClusterState s = Read(*client, o);
  EXPECT_EQ(s.FindNode(node)->backend, model::FractionalBackend::kKai);
  // The same annotation under the default scheduler gives no GPU and marks nothing.
  ASSERT_TRUE(api.store().Delete(SimType("pods"), "research", "kai-notebook").ok());
  pod["spec"]["schedulerName"] = "default-scheduler";
  ASSERT_TRUE(api.store().Create(SimType("pods"), pod).ok());
  s = Read(*client, o);
  EXPECT_EQ(s.FindNode(node)->backend, model::FractionalBackend::kNone);
}

TEST_F(ClusterReaderTest, PodsThatCannotBeListedFailTheRead) {
  sim::KubeApiOptions o;
  o.tokens["nodes-only"] = {"nodes-only", {}};
  o.rbac.push_back({"nodes-only", false, "", {{{"list"}, {""}, {"nodes"}, {}, {}}}});
  DemoApi limited(o);
  ASSERT_TRUE(limited.status().ok());
  std::unique_ptr<KubeClient> c = limited.Client("nodes-only");
  base::Result<model::ClusterState> s = ReadCluster(*c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(s.status().message().find("pods"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("(gpuwise rbac rule list-pods)"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace gpuwise::observe::kube
