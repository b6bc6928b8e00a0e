// The simulated cluster as a whole: determinism (same scenario and seed, same bytes), the wire-format properties
// the issue names (per-version hostname label, MIG series without GPU_UTIL, unassigned GPUs without pod labels,
// one pod labelled per shared GPU, no catalog-inferred names), and the live server: a loopback address per pod,
// real HTTP, simulated time running at --speed, endpoints that open and close with their pods.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "observe/prom/dcgm_catalog.h"
#include "observe/prom/scraper.h"
#include "sim/behavior.h"
#include "sim/cluster_server.h"
#include "sim/endpoints.h"
#include "sim/parsed_page_for_test.h"
#include "sim/world.h"

namespace gpuwise::sim {
namespace {

namespace prom = observe::prom;

World DemoWorld(std::uint64_t seed = 1) {
  auto s = BuiltinScenario("demo");
  EXPECT_TRUE(s.ok());
  s->seed = seed;
  auto w = BuildWorld(*s);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(*w);
}

// Every endpoint's page at simulated time t, concatenated in pod order.
std::string AllPages(const World& world, double t) {
  Simulator sim(world, {.step_s = 15, .start_s = t - 3600, .data_dir = ""});
  sim.AdvanceTo(t);
  std::string out;
  for (std::size_t i = 0; i < world.pods.size(); ++i) {
    bool up = false;
    out += world.pods[i].meta.name + "\n" + RenderEndpoint(sim, static_cast<int>(i), &up);
  }
  return out;
}

std::string LabelOf(const PageSample& s, const std::string& name) { return s.Label(name); }

TEST(SimCluster, SameScenarioAndSeedGiveTheSameBytes) {
  const double t = 7 * 86400.0 + 14 * 3600;
  const World a = DemoWorld(), b = DemoWorld();
  const std::string pa = AllPages(a, t), pb = AllPages(b, t);
  EXPECT_GT(pa.size(), 100000u);
  EXPECT_EQ(pa, pb);
  ASSERT_EQ(a.pods.size(), b.pods.size());
  for (std::size_t i = 0; i < a.pods.size(); ++i) {
    EXPECT_EQ(a.pods[i].meta.uid, b.pods[i].meta.uid);
    EXPECT_EQ(a.pods[i].ip, b.pods[i].ip);
  }
  // Another seed changes names and values.
  const World c = DemoWorld(2);
  EXPECT_NE(AllPages(c, t), pa);
}

TEST(SimCluster, EveryPodHasItsOwnLoopbackAddress) {
  const World world = DemoWorld();
  std::set<std::string> seen;
  for (const SimPod& pod : world.pods) {
    if (pod.node.empty()) continue;
    ASSERT_FALSE(pod.ip.empty()) << pod.meta.name;
    EXPECT_TRUE(seen.insert(pod.ip).second) << "address reused: " << pod.ip;
    const std::string block = pod.ip.substr(0, pod.ip.find('.', 4) + 1);
    switch (pod.role) {
      case PodRole::kDcgmExporter: EXPECT_EQ(block, "127.1.") << pod.ip; break;
      case PodRole::kKubeStateMetrics: EXPECT_EQ(block, "127.4.") << pod.ip; break;
      case PodRole::kWorkload: {
        const auto kind = world.scenario.workloads[static_cast<std::size_t>(pod.workload)].kind;
        const bool serving = kind == WorkloadKind::kInference || kind == WorkloadKind::kForgotten;
        EXPECT_EQ(block, serving ? "127.2." : "127.3.") << pod.meta.name << " " << pod.ip;
      }
    }
  }
}

TEST(SimCluster, DcgmPagesHaveTheExportersShape) {
  const World world = DemoWorld();
  Simulator sim(world, {.step_s = 15, .start_s = 7 * 86400.0, .data_dir = ""});
  sim.AdvanceTo(7 * 86400.0 + 600);
  const prom::DcgmCatalog& catalog = prom::DcgmCatalog::Default();
  int shared_gpus = 0, mig_series = 0, idle_series = 0;
  for (std::size_t i = 0; i < world.pods.size(); ++i) {
    if (world.pods[i].role != PodRole::kDcgmExporter) continue;
    bool up = false;
    const std::string page = RenderEndpoint(sim, static_cast<int>(i), &up);
    ASSERT_TRUE(up);
    const ParsedPage parsed = ParsePage(page);
    const std::vector<PageSample>& samples = parsed.samples;
    EXPECT_EQ(parsed.errors, 0) << parsed.first_error;
    const int node = world.NodeIndex(world.pods[i].node);
    for (const PageSample& s : samples) {
      const prom::CatalogRow* row = catalog.Find(s.name);
      ASSERT_NE(row, nullptr) << s.name;
      EXPECT_TRUE(row->confirmed) << "the sim emitted a name the catalog only infers: " << s.name;
      EXPECT_FALSE(LabelOf(s, "Hostname").empty()) << "demo pools run dcgm-exporter 3.x: Hostname";
      if (!LabelOf(s, "GPU_I_ID").empty()) {
        ++mig_series;
        EXPECT_NE(s.name, "DCGM_FI_DEV_GPU_UTIL") << "MIG instances have no GPU_UTIL";
      }
      if (LabelOf(s, "pod").empty()) {
        ++idle_series;
        EXPECT_TRUE(LabelOf(s, "namespace").empty() && LabelOf(s, "container").empty());
      }
    }
    // Shared GPUs: more than one pod runs on the device, the series name one of them (the last started).
    const SimNode& n = world.nodes[static_cast<std::size_t>(node)];
    for (const SimGpu& gpu : n.gpus) {
      std::vector<const SimPod*> on;
      for (const SimPod& p : world.pods) {
        if (!p.alive(sim.now() - 15) || p.gpus.empty()) continue;
        for (const GpuBinding& b : p.gpus) {
          if (b.node == node && b.gpu == gpu.index && b.mig < 0) on.push_back(&p);
        }
      }
      if (on.size() < 2) continue;
      ++shared_gpus;
      std::set<std::string> labelled;
      for (const PageSample& s : samples) {
        if (LabelOf(s, "UUID") == gpu.uuid && !LabelOf(s, "pod").empty()) labelled.insert(LabelOf(s, "pod"));
      }
      EXPECT_EQ(labelled.size(), 1u) << gpu.uuid << ": dcgm-exporter labels one pod of a shared GPU";
    }
  }
  EXPECT_GT(shared_gpus, 0);
  EXPECT_GT(mig_series, 0);
  EXPECT_GT(idle_series, 0);
}

TEST(SimCluster, NewerExportersWriteLowercaseHostname) {
  auto s = BuiltinScenario("demo");
  ASSERT_TRUE(s.ok());
  for (NodePool& p : s->node_pools) p.dcgm_exporter_version = "4.6.1-4.7.1-ubuntu22.04";
  auto world = BuildWorld(*s);
  ASSERT_TRUE(world.ok());
  Simulator sim(*world, {.step_s = 15, .start_s = 0, .data_dir = ""});
  sim.AdvanceTo(60);
  for (std::size_t i = 0; i < world->pods.size(); ++i) {
    if (world->pods[i].role != PodRole::kDcgmExporter) continue;
    bool up = false;
    const std::string page = RenderEndpoint(sim, static_cast<int>(i), &up);
    EXPECT_NE(page.find(",hostname=\""), std::string::npos);
    EXPECT_EQ(page.find("Hostname=\""), std::string::npos);
    break;
  }
}

TEST(SimCluster, ServesEachPodOnItsAddressAtTheSimulatedSpeed) {
  base::FakeClock clock;
  ClusterServerOptions options;
  options.ephemeral_ports = true;
  options.speed = 60;
  options.start_s = 7 * 86400.0 + 14 * 3600;
  ClusterServer server(DemoWorld(), options, clock);
  ASSERT_TRUE(server.Start().ok());
  const std::vector<Endpoint> endpoints = server.Endpoints();
  std::map<std::string, int> kinds;
  std::vector<std::string> urls;
  for (const Endpoint& e : endpoints) {
    ++kinds[e.kind];
    if (e.kind != "kube-state-metrics") urls.push_back(e.url());
  }
  EXPECT_EQ(kinds["dcgm-exporter"], 10);
  EXPECT_GE(kinds["vllm"], 6);
  prom::Scraper scraper({});
  for (const prom::ScrapeResult& r : scraper.Scrape(urls)) {
    EXPECT_TRUE(r.status.ok()) << r.url << ": " << r.status.ToString();
    const ParsedPage parsed = ParsePage(r.body);
    EXPECT_FALSE(parsed.samples.empty()) << r.url;
    EXPECT_EQ(parsed.errors, 0) << r.url << ": " << parsed.first_error;
  }
  // 10 wall seconds at speed 60 are 10 simulated minutes.
  const double before = server.SimulatedNow();
  clock.Advance(std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(server.SimulatedNow() - before, 600);
  server.Stop();
}

TEST(SimCluster, EndpointsOpenAndCloseWithTheirPods) {
  World world = DemoWorld();
  // A serving pod replaced by a rollout within the window: its endpoint closes, its successor's opens.
  const SimPod* old_pod = nullptr;
  const SimPod* new_pod = nullptr;
  for (const SimPod& p : world.pods) {
    if (p.port == 0 || p.role != PodRole::kWorkload || p.end_s == kForever || p.node.empty()) continue;
    for (const SimPod& q : world.pods) {
      if (q.workload == p.workload && q.replica == p.replica && q.start_s == p.end_s && !q.node.empty()) {
        old_pod = &p;
        new_pod = &q;
      }
    }
    if (old_pod != nullptr) break;
  }
  ASSERT_NE(old_pod, nullptr) << "the demo has rollouts";
  const std::string old_name = old_pod->meta.name, new_name = new_pod->meta.name;
  base::FakeClock clock;
  ClusterServerOptions options;
  options.ephemeral_ports = true;
  options.start_s = old_pod->end_s - 30;
  ClusterServer server(std::move(world), options, clock);
  ASSERT_TRUE(server.Start().ok());
  auto has = [&server](const std::string& pod) {
    for (const Endpoint& e : server.Endpoints()) {
      if (e.pod == pod) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(old_name));
  EXPECT_FALSE(has(new_name));
  clock.Advance(std::chrono::seconds(60));
  bool switched = false;
  for (int i = 0; i < 50 && !switched; ++i) {  // the reconciler runs every 200 ms of wall time
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    switched = !has(old_name) && has(new_name);
  }
  EXPECT_TRUE(switched);
  server.Stop();
}

TEST(SimCluster, GroundTruthCostAddsUpToTheNodePrices) {
  const World world = DemoWorld();
  std::int64_t gpu_sum = 0, node_sum = 0;
  for (std::size_t n = 0; n < world.nodes.size(); ++n) {
    const NodePool& pool = world.scenario.node_pools[static_cast<std::size_t>(world.nodes[n].pool)];
    gpu_sum += GpuHourPrice(world, static_cast<int>(n)).value * static_cast<std::int64_t>(world.nodes[n].gpus.size());
    node_sum += pool.price_per_node_hour.value;
  }
  // Integer division leaves at most one micro-dollar per GPU unassigned.
  EXPECT_LE(node_sum - gpu_sum, 64);
  EXPECT_GE(node_sum - gpu_sum, 0);
  // Workloads + unallocated = the GPU cost, each side computed on its own (workloads from their pods' bindings,
  // unallocated from each device's free share); rounding is at most 1 micro-dollar per binding and device.
  const double t = 7 * 86400.0 + 14 * 3600;
  std::int64_t workloads = 0, unallocated = 0, bindings = 0;
  for (std::size_t w = 0; w < world.scenario.workloads.size(); ++w) {
    const WorkloadTruth truth = TruthOf(world, static_cast<int>(w), t);
    workloads += truth.cost_micro_usd_per_hour;
    bindings += static_cast<std::int64_t>(std::ceil(truth.gpus_held)) + 4 * truth.pods;
  }
  for (std::size_t n = 0; n < world.nodes.size(); ++n) {
    for (const SimGpu& gpu : world.nodes[n].gpus) {
      const double free = 1 - GpuShareHeld(world, static_cast<int>(n), gpu.index, t);
      unallocated += std::llround(free * static_cast<double>(GpuHourPrice(world, static_cast<int>(n)).value));
    }
  }
  EXPECT_NEAR(static_cast<double>(workloads + unallocated), static_cast<double>(gpu_sum),
              static_cast<double>(bindings + 64));
  // The demo plants waste: vLLM servers hold their whole budget whatever their traffic needs.
  for (std::size_t w = 0; w < world.scenario.workloads.size(); ++w) {
    if (world.scenario.workloads[w].name != "mistral-7b-ads") continue;
    const WorkloadTruth truth = TruthOf(world, static_cast<int>(w), t);
    EXPECT_EQ(truth.pods, 3);
    EXPECT_DOUBLE_EQ(truth.gpus_held, 3);
    EXPECT_LT(truth.memory_need_mib, 0.5 * truth.memory_held_mib);
  }
}

}  // namespace
}  // namespace gpuwise::sim
