// The control plane makes API changes happen in the world: a replicas change starts pods that serve after their
// cold start and show in dcgm-exporter's pod labels; a rolling update never exceeds maxSurge nor drops below
// maxUnavailable; an unplaceable pod stays Pending with the scheduler's reason and an event; a MIG relabel goes
// pending -> success and changes allocatable (or failed, for an unknown config or a busy GPU); a device-plugin
// relabel changes the shared resource count; Jobs complete, CronJobs run on schedule in their time zone and stop
// when suspended; garbage collection follows ownerReferences; PodDisruptionBudgets count healthy pods.
#include "sim/kube_cluster.h"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "sim/kube_objects.h"
#include "sim/scenario.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

constexpr char kScenario[] = R"(
apiVersion: gpuwise.io/v1alpha1
kind: Scenario
name: control
delays: {imagePullSeconds: 60, coldStartSeconds: 60, migReconfigureSeconds: 30}
nodePools:
  - {name: a100, count: 2, gpuModel: NVIDIA A100-SXM4-80GB, gpusPerNode: 2, gpuMemoryGiB: 80, cpu: 32, memoryGiB: 256}
  - {name: l4, count: 1, gpuModel: NVIDIA L4, gpusPerNode: 2, gpuMemoryGiB: 24, cpu: 16, memoryGiB: 64}
  - {name: hami, count: 1, gpuModel: NVIDIA A100-SXM4-40GB, gpusPerNode: 1, gpuMemoryGiB: 40, cpu: 16, memoryGiB: 64,
     sharing: {mode: hami}}
workloads:
  - name: web
    namespace: serve
    kind: inference
    replicas: 2
    gpu: {count: 1}
    nodePool: a100
    model: {name: m7b, weightsGiB: 13.5, layers: 32, kvHeads: 8, headDim: 128}
    traffic: {peakRps: 4, troughRps: 2}
  - name: nightly
    namespace: batch
    kind: cronbatch
    schedule: "30 1 * * *"
    gpu: {count: 1}
    nodePool: l4
    usage: {runHours: 1}
)";

class KubeClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { SetUpWith(kScenario); }
  void SetUpWith(const char* text) {
    auto scenario = ParseScenario(text, "control");
    ASSERT_TRUE(scenario.ok()) << scenario.status().message();
    auto world = BuildWorld(*scenario);
    ASSERT_TRUE(world.ok());
    world_ = std::make_unique<World>(std::move(*world));
    // Day 2, 12:00 UTC.
    const double start = 2 * 86400.0 + 12 * 3600;
    sim_ = std::make_unique<Simulator>(*world_, SimulatorOptions{.step_s = 15, .start_s = start, .data_dir = ""});
    sim_->AdvanceTo(start + 1);
    const double epoch = world_->options.epoch_unix_s;
    Simulator* sim = sim_.get();
    store_ = std::make_unique<KubeStore>([sim, epoch] { return epoch + sim->now(); });
    cluster_ = std::make_unique<KubeCluster>(*world_, *sim_, *store_);
    cluster_->Seed();
    Step(15);
  }

  // Advances the simulator, running the control plane every `every` simulated seconds.
  void Step(double seconds, double every = 15) {
    const double end = sim_->now() + seconds;
    while (sim_->now() < end) {
      sim_->AdvanceTo(std::min(end, sim_->now() + every));
      cluster_->Reconcile();
      sim_->SyncWithWorld();
    }
  }

  const ResourceType& T(const char* key) { return *FindResourceByKey(key); }

  json Get(const char* type, const std::string& ns, const std::string& name) {
    base::Result<ObjectPtr> o = store_->Get(T(type), ns, name);
    return o.ok() ? **o : json();
  }

  void Patch(const char* type, const std::string& ns, const std::string& name, const std::function<void(json&)>& f) {
    ASSERT_TRUE(store_->Mutate(T(type), ns, name, [&](json& o) {
      f(o);
      return base::Status::Ok();
    }).ok());
  }

  std::vector<json> Pods(const std::string& ns, const std::string& prefix = "") {
    std::vector<json> out;
    for (const ObjectPtr& p : store_->List(T("pods"), ns).items) {
      if ((*p)["metadata"]["name"].get<std::string>().rfind(prefix, 0) == 0) out.push_back(*p);
    }
    return out;
  }

  static bool Ready(const json& pod) {
    for (const json& c : pod["status"].value("conditions", json::array())) {
      if (c["type"] == "Ready") return c["status"] == "True";
    }
    return false;
  }

  std::unique_ptr<World> world_;
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<KubeStore> store_;
  std::unique_ptr<KubeCluster> cluster_;
};

TEST_F(KubeClusterTest, SeedPublishesTheWorld) {
  EXPECT_EQ(store_->List(T("nodes"), "").items.size(), 4u);
  EXPECT_EQ(Pods("serve", "web-").size(), 2u);
  for (const json& p : Pods("serve", "web-")) EXPECT_TRUE(Ready(p)) << p["metadata"]["name"];
  json d = Get("deployments.apps", "serve", "web");
  EXPECT_EQ(d["status"]["readyReplicas"], 2);
  // The dcgm-exporter DaemonSet with its Service and EndpointSlice, one pod per GPU node.
  json ds = Get("daemonsets.apps", "gpu-operator", "nvidia-dcgm-exporter");
  EXPECT_EQ(ds["status"]["desiredNumberScheduled"], 4);
  EXPECT_EQ(ds["status"]["numberReady"], 4);
  json ep = Get("endpoints", "gpu-operator", "nvidia-dcgm-exporter");
  EXPECT_EQ(ep["subsets"][0]["addresses"].size(), 4u);
  const auto slices = store_->List(T("endpointslices.discovery.k8s.io"), "gpu-operator").items;
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ((*slices[0])["endpoints"].size(), 4u);
  EXPECT_EQ((*slices[0])["metadata"]["labels"]["kubernetes.io/service-name"], "nvidia-dcgm-exporter");
  EXPECT_EQ(Get("services", "serve", "web")["spec"]["ports"][0]["port"], 8000);
  EXPECT_FALSE(Get("configmaps", "gpu-operator", "default-mig-parted-config").is_null());
}

TEST_F(KubeClusterTest, ScalingUpStartsPodsThatServeAfterTheColdStartAndShowInTelemetry) {
  Patch("deployments.apps", "serve", "web", [](json& d) { d["spec"]["replicas"] = 3; });
  Step(30);
  std::vector<json> pods = Pods("serve", "web-");
  ASSERT_EQ(pods.size(), 3u);
  json fresh;
  for (const json& p : pods) {
    if (!Ready(p)) fresh = p;
  }
  ASSERT_FALSE(fresh.is_null());
  const std::string name = fresh["metadata"]["name"];
  ASSERT_FALSE(fresh["spec"].value("nodeName", "").empty()) << "scheduled";
  EXPECT_EQ(fresh["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating");
  // Image pull (60 s) then engine start (60 s): not ready before, ready after.
  Step(75);
  EXPECT_FALSE(Ready(Get("pods", "serve", name)));
  EXPECT_EQ(Get("pods", "serve", name)["status"]["phase"], "Running");
  Step(60);
  EXPECT_TRUE(Ready(Get("pods", "serve", name)));
  EXPECT_EQ(Get("deployments.apps", "serve", "web")["status"]["readyReplicas"], 3);
  // dcgm-exporter on its node labels a GPU with the new pod.
  const std::string node = Get("pods", "serve", name)["spec"]["nodeName"];
  const int ni = world_->NodeIndex(node);
  ASSERT_GE(ni, 0);
  bool labelled = false;
  for (const GpuSpec& g : sim_->DcgmNode(ni).gpus) labelled = labelled || g.pod == name;
  EXPECT_TRUE(labelled) << name << " on " << node;
  // Scaling down deletes a pod; the kubelet ends its process and removes it.
  Patch("deployments.apps", "serve", "web", [](json& d) { d["spec"]["replicas"] = 1; });
  Step(30);
  EXPECT_EQ(Pods("serve", "web-").size(), 1u);
}

TEST_F(KubeClusterTest, RollingUpdateHonoursSurgeAndUnavailable) {
  const int revision = std::stoi(Get("deployments.apps", "serve", "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"].get<std::string>());
  Patch("deployments.apps", "serve", "web", [](json& d) {
    d["spec"]["replicas"] = 2;
    d["spec"]["strategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 1}, {"maxUnavailable", 0}}}};
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "vllm/vllm-openai:v0.7.0";
  });
  int max_total = 0, min_ready = 99;
  for (int i = 0; i < 60; ++i) {
    Step(15);
    int total = 0, ready = 0;
    for (const json& p : Pods("serve", "web-")) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      ++total;
      ready += Ready(p) ? 1 : 0;
    }
    max_total = std::max(max_total, total);
    min_ready = std::min(min_ready, ready);
  }
  EXPECT_LE(max_total, 3) << "maxSurge 1 over 2 replicas";
  EXPECT_GE(min_ready, 2) << "maxUnavailable 0";
  std::vector<json> pods = Pods("serve", "web-");
  ASSERT_EQ(pods.size(), 2u);
  for (const json& p : pods) EXPECT_EQ(p["spec"]["containers"][0]["image"], "vllm/vllm-openai:v0.7.0");
  json d = Get("deployments.apps", "serve", "web");
  EXPECT_EQ(d["status"]["updatedReplicas"], 2);
  EXPECT_EQ(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], std::to_string(revision + 1));
}

TEST_F(KubeClusterTest, AnUnplaceablePodStaysPendingWithTheReason) {
  Patch("deployments.apps", "serve", "web", [](json& d) { d["spec"]["replicas"] = 6; });
  Step(30);
  int pending = 0;
  for (const json& p : Pods("serve", "web-")) {
    if (!p["spec"].value("nodeName", "").empty()) continue;
    ++pending;
    EXPECT_EQ(p["status"]["phase"], "Pending");
    const json& c = p["status"]["conditions"][0];
    EXPECT_EQ(c["type"], "PodScheduled");
    EXPECT_EQ(c["status"], "False");
    EXPECT_EQ(c["reason"], "Unschedulable");
    EXPECT_EQ(c["message"], "0/4 nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node "
                            "affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for "
                            "scheduling.");
  }
  EXPECT_EQ(pending, 2) << "4 A100s hold 4 replicas";
  int events = 0;
  for (const ObjectPtr& e : store_->List(T("events"), "serve").items) {
    events += (*e)["reason"] == "FailedScheduling" && (*e)["type"] == "Warning" ? 1 : 0;
  }
  EXPECT_EQ(events, 2);
  // Cordoned nodes take nothing new either.
  Patch("deployments.apps", "serve", "web", [](json& d) { d["spec"]["replicas"] = 2; });
  Step(30);
  for (const char* n : {"a100-0", "a100-1"}) Patch("nodes", "", n, [](json& o) { o["spec"]["unschedulable"] = true; });
  Patch("deployments.apps", "serve", "web", [](json& d) { d["spec"]["replicas"] = 3; });
  Step(15);
  bool cordon_reason = false;
  for (const json& p : Pods("serve", "web-")) {
    if (p["spec"].value("nodeName", "").empty()) {
      cordon_reason = p["status"]["conditions"][0]["message"].get<std::string>().find("2 node(s) were unschedulable") != std::string::npos;
    }
  }
  EXPECT_TRUE(cordon_reason);
}

TEST_F(KubeClusterTest, RequiredPodAntiAffinityKeepsReplicasOnDifferentNodes) {
  // Three replicas that must not share a node, on two A100 nodes: two run, one per node, and the third stays Pending
  // with kube-scheduler's reason, though GPUs are free (each node has 2).
  const json selector = Get("deployments.apps", "serve", "web")["spec"]["selector"]["matchLabels"];
  Patch("deployments.apps", "serve", "web", [&](json& d) {
    d["spec"]["replicas"] = 3;
    d["spec"]["strategy"] = {{"type", "Recreate"}};
    d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
        json::array({{{"topologyKey", "kubernetes.io/hostname"}, {"labelSelector", {{"matchLabels", selector}}}}});
  });
  Step(300);
  std::map<std::string, int> per_node;
  int pending = 0;
  for (const json& p : Pods("serve", "web-")) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    const std::string node = p["spec"].value("nodeName", "");
    if (!node.empty()) {
      ++per_node[node];
      continue;
    }
    ++pending;
    EXPECT_NE(p["status"]["conditions"][0]["message"].get<std::string>().find("2 node(s) didn't match pod anti-affinity rules"),
              std::string::npos) << p["status"]["conditions"][0]["message"];
  }
  EXPECT_EQ(per_node.size(), 2u);
  for (const auto& [node, n] : per_node) EXPECT_EQ(n, 1) << node;
  EXPECT_EQ(pending, 1);
}

TEST_F(KubeClusterTest, MigRelabelChangesAllocatableAfterTheDelay) {
  // Free a100-1 first: the web pods go to a100-0 (2 GPUs).
  std::string busy;
  for (const json& p : Pods("serve", "web-")) busy += p["spec"].value("nodeName", "") + " ";
  const std::string node = busy.find("a100-1") == std::string::npos ? "a100-1" : "a100-0";
  const std::string other = node == "a100-1" ? "a100-0" : "a100-1";
  Patch("nodes", "", node, [](json& o) { o["metadata"]["labels"]["nvidia.com/mig.config"] = "all-1g.10gb"; });
  Step(15);
  EXPECT_EQ(Get("nodes", "", node)["metadata"]["labels"]["nvidia.com/mig.config.state"], "pending");
  Step(30);
  json n = Get("nodes", "", node);
  EXPECT_EQ(n["metadata"]["labels"]["nvidia.com/mig.config.state"], "success");
  EXPECT_EQ(n["status"]["allocatable"]["nvidia.com/mig-1g.10gb"], "14") << n["status"]["allocatable"].dump();
  EXPECT_FALSE(n["status"]["allocatable"].contains("nvidia.com/gpu"));
  EXPECT_EQ(n["metadata"]["labels"]["nvidia.com/mig.strategy"], "mixed");
  const int ni = world_->NodeIndex(node);
  EXPECT_EQ(world_->nodes[static_cast<std::size_t>(ni)].gpus[0].mig.size(), 7u);
  EXPECT_EQ(sim_->DcgmNode(ni).gpus.size(), 2u);
  // An unknown config fails; so does repartitioning a GPU a pod is using.
  Patch("nodes", "", other, [](json& o) { o["metadata"]["labels"]["nvidia.com/mig.config"] = "no-such-config"; });
  Step(60);
  EXPECT_EQ(Get("nodes", "", other)["metadata"]["labels"]["nvidia.com/mig.config.state"], "failed");
  Patch("nodes", "", other, [](json& o) { o["metadata"]["labels"]["nvidia.com/mig.config"] = "all-3g.40gb"; });
  Step(60);
  EXPECT_EQ(Get("nodes", "", other)["metadata"]["labels"]["nvidia.com/mig.config.state"], "failed");
  bool said_why = false;
  for (const ObjectPtr& e : store_->List(T("events"), "default").items) {
    said_why = said_why || (*e)["message"].get<std::string>().find("is in use by pod serve/web-") != std::string::npos;
  }
  EXPECT_TRUE(said_why);
  // A MIG pod fits on the repartitioned node.
  Patch("deployments.apps", "serve", "web", [](json& d) {
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] = {{"nvidia.com/mig-1g.10gb", "1"}};
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = {{"nvidia.com/mig-1g.10gb", "1"}};
  });
  Step(120);
  int on_mig = 0;
  for (const json& p : Pods("serve", "web-")) on_mig += p["spec"].value("nodeName", "") == node ? 1 : 0;
  EXPECT_GE(on_mig, 1);
}

TEST_F(KubeClusterTest, DevicePluginRelabelSharesTheGpus) {
  Patch("nodes", "", "l4-0", [](json& o) { o["metadata"]["labels"]["nvidia.com/device-plugin.config"] = "time-slicing-4"; });
  Step(45);
  json n = Get("nodes", "", "l4-0");
  EXPECT_EQ(n["status"]["allocatable"]["nvidia.com/gpu"], "8");
  EXPECT_EQ(n["metadata"]["labels"]["nvidia.com/gpu.replicas"], "4");
  EXPECT_EQ(n["metadata"]["labels"]["nvidia.com/gpu.sharing-strategy"], "time-slicing");
  EXPECT_EQ(n["metadata"]["labels"]["nvidia.com/gpu.product"], "NVIDIA-L4-SHARED");
}

// A bare pod for `pool` requesting `requests` (as `kubectl run` with overrides would create it).
json BarePod(const std::string& name, const std::string& pool, const json& requests) {
  return {{"metadata", {{"name", name}, {"namespace", "serve"}}},
          {"spec", {{"nodeSelector", {{"gpuwise.io/node-pool", pool}}},
                    {"containers", json::array({{{"name", "main"}, {"image", "busybox"},
                                                 {"resources", {{"requests", requests}, {"limits", requests}}}}})}}}};
}

TEST_F(KubeClusterTest, SharedReplicasSpreadOverGpusAsTheNvidiaPluginDoes) {
  Patch("nodes", "", "l4-0", [](json& o) { o["metadata"]["labels"]["nvidia.com/device-plugin.config"] = "time-slicing-4"; });
  Step(45);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->Create(T("pods"), BarePod("share-" + std::to_string(i), "l4", {{"nvidia.com/gpu", "1"}})).ok());
    Step(15);
  }
  std::vector<int> gpus;
  for (const SimPod& p : world_->pods) {
    if (p.meta.name.rfind("share-", 0) == 0) gpus.push_back(p.gpus.at(0).gpu * 10 + p.gpus.at(0).replica);
  }
  // GPU 0 replica 0, GPU 1 replica 0, then GPU 0 replica 1: the GPU with the fewest replicas handed out first.
  EXPECT_EQ(gpus, (std::vector<int>{0, 10, 1}));
}

TEST_F(KubeClusterTest, HamiNodesHonourGpumemAndGpucores) {
  ASSERT_TRUE(store_->Create(T("pods"), BarePod("hami-a", "hami", {{"nvidia.com/gpu", "1"}, {"nvidia.com/gpumem", "24000"},
                                                                   {"nvidia.com/gpucores", "50"}})).ok());
  ASSERT_TRUE(store_->Create(T("pods"), BarePod("hami-b", "hami", {{"nvidia.com/gpu", "1"}, {"nvidia.com/gpumem", "24000"},
                                                                   {"nvidia.com/gpucores", "30"}})).ok());
  ASSERT_TRUE(store_->Create(T("pods"), BarePod("hami-c", "hami", {{"nvidia.com/gpu", "1"}, {"nvidia.com/gpumem", "8000"},
                                                                   {"nvidia.com/gpucores", "30"}})).ok());
  Step(30);
  // 40 GB: a (24 GB) fits, b (24 GB more) does not, c (8 GB, 30% of the cores beside a's 50%) does.
  EXPECT_FALSE(Get("pods", "serve", "hami-a")["spec"].value("nodeName", "").empty());
  EXPECT_TRUE(Get("pods", "serve", "hami-b")["spec"].value("nodeName", "").empty());
  EXPECT_FALSE(Get("pods", "serve", "hami-c")["spec"].value("nodeName", "").empty());
  EXPECT_NE(Get("pods", "serve", "hami-b")["status"]["conditions"][0]["message"].get<std::string>().find(
                "Insufficient nvidia.com/gpumem"),
            std::string::npos);
  for (const SimPod& p : world_->pods) {
    if (p.meta.name == "hami-c") {
      EXPECT_EQ(p.gpus.at(0).memory_limit_mib, 8000);
      EXPECT_DOUBLE_EQ(p.gpus.at(0).compute_share, 0.3);
    }
  }
}

TEST_F(KubeClusterTest, CronJobRunsOnScheduleInItsTimeZoneAndStopsWhenSuspended) {
  // 01:30 in Asia/Kolkata (UTC+5:30) is 20:00 UTC: from 12:00 UTC the next run is 8 hours away.
  Patch("cronjobs.batch", "batch", "nightly", [](json& c) { c["spec"]["timeZone"] = "Asia/Kolkata"; });
  const std::size_t jobs_before = store_->List(T("jobs.batch"), "batch").items.size();
  Step(7 * 3600 + 55 * 60, 300);
  EXPECT_EQ(store_->List(T("jobs.batch"), "batch").items.size(), jobs_before);
  Step(10 * 60);
  auto jobs = store_->List(T("jobs.batch"), "batch").items;
  ASSERT_EQ(jobs.size(), jobs_before + 1);
  const std::string name = (*jobs.back())["metadata"]["name"];
  // Named after the scheduled minute: 2026-11-18T20:00Z.
  const long long minute = static_cast<long long>((world_->options.epoch_unix_s + 2 * 86400 + 20 * 3600) / 60);
  EXPECT_EQ(name, "nightly-" + std::to_string(minute));
  EXPECT_EQ(Get("cronjobs.batch", "batch", "nightly")["status"]["lastScheduleTime"], "2026-11-18T20:00:00Z");
  // Its pod runs for an hour (after the image pull) and the Job completes.
  Step(75 * 60, 60);
  json job = Get("jobs.batch", "batch", name);
  EXPECT_EQ(job["status"]["succeeded"], 1) << job["status"].dump();
  EXPECT_EQ(job["status"]["conditions"][1]["type"], "Complete");
  // Suspended: no run the next day.
  Patch("cronjobs.batch", "batch", "nightly", [](json& c) { c["spec"]["suspend"] = true; });
  const std::size_t jobs_now = store_->List(T("jobs.batch"), "batch").items.size();
  Step(24 * 3600, 600);
  EXPECT_EQ(store_->List(T("jobs.batch"), "batch").items.size(), jobs_now);
}

TEST_F(KubeClusterTest, GarbageCollectionFollowsOwners) {
  ASSERT_TRUE(store_->Delete(T("deployments.apps"), "serve", "web").ok());
  // The ReplicaSet goes, then its pods are deleted, then the kubelet removes them once their containers stop.
  Step(90);
  EXPECT_TRUE(store_->List(T("replicasets.apps"), "serve").items.empty());
  EXPECT_TRUE(Pods("serve", "web-").empty());
}

TEST_F(KubeClusterTest, DisruptionBudgetsCountHealthyPods) {
  // The seeded budget of a two-replica server: maxUnavailable 1.
  json st = Get("poddisruptionbudgets.policy", "serve", "web")["status"];
  EXPECT_EQ(st["expectedPods"], 2);
  EXPECT_EQ(st["currentHealthy"], 2);
  EXPECT_EQ(st["desiredHealthy"], 1);
  EXPECT_EQ(st["disruptionsAllowed"], 1);
  Patch("poddisruptionbudgets.policy", "serve", "web", [](json& b) {
    b["spec"].erase("maxUnavailable");
    b["spec"]["minAvailable"] = "100%";
  });
  Step(15);
  st = Get("poddisruptionbudgets.policy", "serve", "web")["status"];
  EXPECT_EQ(st["desiredHealthy"], 2);
  EXPECT_EQ(st["disruptionsAllowed"], 0);
  EXPECT_EQ(st["conditions"][0]["reason"], "InsufficientPods");
}

// Two HAMi nodes of two GPUs each: fractional pods are placed by gpuwise's fragmentation-aware policy
// (optimize/fractional/online_placement.h), not by LeastAllocated.
constexpr char kHamiScenario[] = R"(
apiVersion: gpuwise.io/v1alpha1
kind: Scenario
name: hami
nodePools:
  - {name: hami, count: 2, gpuModel: NVIDIA A100-SXM4-40GB, gpusPerNode: 2, gpuMemoryGiB: 40, cpu: 32, memoryGiB: 128,
     sharing: {mode: hami}}
workloads: []
)";

class HamiPlacementTest : public KubeClusterTest {
 protected:
  void SetUp() override { SetUpWith(kHamiScenario); }
};

TEST_F(HamiPlacementTest, FractionalPodsFillGpusAndLeaveANodeWhole) {
  // Pods of 0.6, 0.4, 0.6 and 0.4 of a GPU, one after another. LeastAllocated sends each to the node with the most
  // cpu free and the device plugin takes the first GPU that fits: 0.6 + 0.6 on one node's two GPUs, 0.4 + 0.4 on the
  // other's first, three GPUs part-used. The fragmentation-aware policy pairs each 0.4 with a 0.6: two full GPUs on
  // one node, and the other node left whole for a pod that needs whole GPUs.
  auto pod = [](int cores, int mib) {
    return json{{"nvidia.com/gpu", "1"}, {"nvidia.com/gpumem", std::to_string(mib)},
                {"nvidia.com/gpucores", std::to_string(cores)}, {"cpu", "2"}};
  };
  const json sizes[] = {pod(60, 24000), pod(40, 16000), pod(60, 24000), pod(40, 16000)};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_->Create(T("pods"), BarePod("frac-" + std::to_string(i), "hami", sizes[i])).ok());
    Step(15);
  }
  std::map<int, int> per_node;
  std::map<std::pair<int, int>, double> per_gpu;
  for (const SimPod& p : world_->pods) {
    if (p.meta.name.rfind("frac-", 0) != 0 || p.gpus.empty()) continue;
    ++per_node[p.gpus.at(0).node];
    per_gpu[{p.gpus.at(0).node, p.gpus.at(0).gpu}] += p.gpus.at(0).compute_share;
  }
  EXPECT_EQ(per_node.size(), 1u);
  ASSERT_EQ(per_gpu.size(), 2u);
  for (const auto& [gpu, share] : per_gpu) EXPECT_NEAR(share, 1.0, 1e-9);
  // A pod of two whole GPUs still finds a node.
  ASSERT_TRUE(store_->Create(T("pods"), BarePod("pair", "hami", {{"nvidia.com/gpu", "2"}})).ok());
  Step(15);
  EXPECT_FALSE(Get("pods", "serve", "pair")["spec"].value("nodeName", "").empty());
}

constexpr char kKaiScenario[] = R"(
apiVersion: gpuwise.io/v1alpha1
kind: Scenario
name: kai
nodePools:
  - {name: kai, count: 2, gpuModel: NVIDIA A100-SXM4-40GB, gpusPerNode: 2, gpuMemoryGiB: 40, cpu: 32, memoryGiB: 128,
     sharing: {mode: kai}}
  - {name: plain, count: 1, gpuModel: NVIDIA A100-SXM4-40GB, gpusPerNode: 2, gpuMemoryGiB: 40, cpu: 64, memoryGiB: 256}
workloads: []
)";

class KaiPlacementTest : public KubeClusterTest {
 protected:
  void SetUp() override { SetUpWith(kKaiScenario); }
  // A pod of KAI's GPU sharing: kai-scheduler, a queue, the gpu-fraction annotation and no GPU resource.
  static json KaiPod(const std::string& name, const std::string& fraction) {
    json p = {{"metadata", {{"name", name}, {"namespace", "serve"}, {"labels", {{"kai.scheduler/queue", "default-queue"}}},
                            {"annotations", {{"gpu-fraction", fraction}}}}},
              {"spec", {{"schedulerName", "kai-scheduler"},
                        {"containers", json::array({{{"name", "main"}, {"image", "busybox"},
                                                     {"resources", {{"requests", {{"cpu", "2"}}}}}}})}}}};
    return p;
  }
};

TEST_F(KaiPlacementTest, FractionsGoToKaiNodesAndFillGpusAsThePolicySays) {
  // 0.6, 0.4, 0.6, 0.4 of a GPU by annotation: only the KAI nodes take them (the plain node has more cpu free, which
  // LeastAllocated would prefer), each 0.4 beside a 0.6, two full GPUs on one KAI node; the other stays whole.
  const char* sizes[] = {"0.6", "0.4", "0.6", "0.4"};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_->Create(T("pods"), KaiPod("frac-" + std::to_string(i), sizes[i])).ok());
    Step(15);
  }
  std::map<int, int> per_node;
  std::map<std::pair<int, int>, double> per_gpu;
  for (const SimPod& p : world_->pods) {
    if (p.meta.name.rfind("frac-", 0) != 0) continue;
    ASSERT_EQ(p.gpus.size(), 1u) << p.meta.name;
    EXPECT_EQ(p.scheduler, "kai-scheduler");
    ++per_node[p.gpus.at(0).node];
    per_gpu[{p.gpus.at(0).node, p.gpus.at(0).gpu}] += p.gpus.at(0).compute_share;
    EXPECT_NEAR(p.gpus.at(0).memory_limit_mib, p.gpus.at(0).compute_share * 40 * 1024, 1) << p.meta.name;
  }
  ASSERT_EQ(per_node.size(), 1u);
  EXPECT_EQ(world_->nodes[static_cast<std::size_t>(per_node.begin()->first)].sharing.mode, SharingMode::kKai);
  ASSERT_EQ(per_gpu.size(), 2u);
  for (const auto& [gpu, share] : per_gpu) EXPECT_NEAR(share, 1.0, 1e-9);
  // The API shows the pods as KAI wrote them; a fraction nothing fits waits with a reason.
  EXPECT_EQ(Get("pods", "serve", "frac-0")["spec"].value("schedulerName", ""), "kai-scheduler");
  ASSERT_TRUE(store_->Create(T("pods"), KaiPod("too-big", "0.9")).ok());
  ASSERT_TRUE(store_->Create(T("pods"), KaiPod("too-big-2", "0.9")).ok());
  ASSERT_TRUE(store_->Create(T("pods"), KaiPod("too-big-3", "0.9")).ok());
  Step(15);
  const json pending = Get("pods", "serve", "too-big-3");
  EXPECT_TRUE(pending["spec"].value("nodeName", "").empty());
  EXPECT_NE(pending["status"]["conditions"][0].value("message", "").find("KAI"), std::string::npos)
      << pending["status"].dump();
}

}  // namespace
}  // namespace gpuwise::sim
