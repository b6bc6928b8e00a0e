#include "sim/scenario.h"

#include <set>

#include <gtest/gtest.h>

namespace gpuwise::sim {
namespace {

constexpr char kScenario[] = R"(apiVersion: gpuwise.io/v1alpha1
kind: Scenario
name: small
seed: 7
nodePools:
  - name: h100
    count: 2
    gpuModel: NVIDIA H100 80GB HBM3
    gpusPerNode: 8
    gpuMemoryGiB: 80
    instanceType: p5.48xlarge
    zone: us-east-1a
    capacityType: on-demand
    pricePerHour: 98.32
    cpu: 192
    memoryGiB: 2048
    sharing:
      mode: mig
      migStrategy: mixed
      migLayout: [3g.40gb, 2g.20gb, 1g.10gb, 1g.10gb]
      migGpus: 2
  - name: l4
    count: 1
    gpuModel: NVIDIA L4
    gpusPerNode: 4
    gpuMemoryGiB: 24
    capacityType: spot
    sharing: {mode: timeslicing, replicas: 4, rename: true}
  - name: hami
    gpuModel: NVIDIA A100-SXM4-80GB
    sharing: {mode: hami}
workloads:
  - name: chat
    namespace: ml-serving
    kind: inference
    replicas: 2
    labels: {team: search}
    annotations: {gpuwise.io/slo-ttft-p99: 800ms}
    gpu: {resource: nvidia.com/mig-3g.40gb}
    model: {name: llama-3-8b, weightsGiB: 16, layers: 32, kvHeads: 8, headDim: 128}
    engine: {gpuMemoryUtilization: 0.9}
    traffic: {peakRps: 20, troughRps: 2, weekendFactor: 0.6}
  - name: jupyter
    namespace: research
    kind: notebook
    gpu: {resource: nvidia.com/gpu.shared}
  - name: embed
    namespace: ml-serving
    kind: inference
    owner: InferenceService
    gpu: {resource: nvidia.com/gpu, count: 1, gpumem: 20000, gpucores: 30}
    model: {weightsGiB: 1}
    traffic: {peakRps: 5}
  - name: nightly
    namespace: batch
    kind: cronbatch
    schedule: "0 2 * * *"
    gpu: {resource: nvidia.com/gpu}
    nodePool: h100
)";

TEST(ScenarioTest, ParsesPoolsWorkloadsAndDefaults) {
  auto s = ParseScenario(kScenario, "small.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "small");
  EXPECT_EQ(s->seed, 7u);
  ASSERT_EQ(s->node_pools.size(), 3u);
  const NodePool& h100 = s->node_pools[0];
  EXPECT_EQ(h100.price_per_node_hour.value, 98'320'000);
  EXPECT_EQ(h100.sharing.mode, SharingMode::kMig);
  EXPECT_EQ(h100.sharing.mig_layout.size(), 4u);
  // Mixed strategy with 2 of 8 GPUs partitioned: the profiles and whole GPUs.
  EXPECT_EQ(AdvertisedResources(h100), (std::vector<std::string>{"nvidia.com/gpu", "nvidia.com/mig-1g.10gb",
                                                                 "nvidia.com/mig-2g.20gb", "nvidia.com/mig-3g.40gb"}));
  EXPECT_EQ(s->node_pools[1].capacity, CapacityType::kSpot);
  EXPECT_EQ(AdvertisedResources(s->node_pools[1]), (std::vector<std::string>{"nvidia.com/gpu.shared"}));
  ASSERT_EQ(s->workloads.size(), 4u);
  EXPECT_EQ(s->workloads[0].owner, OwnerKind::kDeployment);
  EXPECT_EQ(s->workloads[0].annotations.at("gpuwise.io/slo-ttft-p99"), "800ms");
  EXPECT_EQ(s->workloads[0].labels.at("team"), "search");
  EXPECT_EQ(s->workloads[1].owner, OwnerKind::kStatefulSet);  // a notebook's default owner
  EXPECT_EQ(s->workloads[2].owner, OwnerKind::kInferenceService);
  EXPECT_EQ(s->workloads[2].gpu.gpumem_mib, 20000);
  EXPECT_EQ(s->workloads[3].owner, OwnerKind::kCronJob);
}

struct BadCase {
  const char* find;
  const char* replace;
  const char* expect;
};

class ScenarioErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ScenarioErrorTest, NamesTheProblem) {
  std::string text = kScenario;
  const BadCase& c = GetParam();
  const std::size_t at = text.find(c.find);
  ASSERT_NE(at, std::string::npos) << c.find;
  text.replace(at, std::string(c.find).size(), c.replace);
  auto s = ParseScenario(text, "small.yaml");
  ASSERT_FALSE(s.ok()) << c.replace;
  EXPECT_NE(s.status().message().find(c.expect), std::string::npos) << s.status().message();
  EXPECT_EQ(s.status().message().rfind("small.yaml", 0), 0u) << s.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScenarioErrorTest,
    ::testing::Values(
        BadCase{"    gpusPerNode: 8", "    gpusPerNod: 8", "line 9 column 5: unknown key 'gpusPerNod' in nodePools[0]"},
        BadCase{"    count: 2", "    count: two", "line 7 column 12: nodePools[0].count: expected an integer, got 'two'"},
        BadCase{"mode: mig", "mode: magic", "sharing.mode: unknown value 'magic' (one of: none, mig, timeslicing, mps, hami, kai)"},
        BadCase{"migStrategy: mixed", "migStrategy: single", "migStrategy single needs identical partitions"},
        BadCase{"replicas: 4, rename", "replicas: 1, rename", "timeslicing needs replicas in 2..64"},
        BadCase{"resource: nvidia.com/mig-3g.40gb", "resource: nvidia.com/mig-4g.40gb",
                "no node pool advertises nvidia.com/mig-4g.40gb"},
        BadCase{"    nodePool: h100", "    nodePool: h200", "nodePool 'h200' does not exist"},
        BadCase{"    schedule: \"0 2 * * *\"\n", "", "cronbatch needs a schedule"},
        BadCase{"weightsGiB: 16", "weightsGiB: 0", "needs model.weightsGiB"},
        BadCase{"  - name: l4", "  - name: h100", "two node pools are named 'h100'"},
        BadCase{"kind: Scenario", "kind: Cluster", "expected apiVersion: gpuwise.io/v1alpha1 and kind: Scenario"},
        BadCase{"seed: 7\n", "seed: 7\n  oops: [\n", "not valid YAML"},
        BadCase{"gpuMemoryUtilization: 0.9}", "gpuMemoryUtilization: 0.9, version: latest}",
                "engine.version 'latest' is not a vLLM version"},
        BadCase{"gpuMemoryUtilization: 0.9}", "gpuMemoryUtilization: 0.9, name: tgi}",
                "engine.name: unknown value 'tgi' (one of: vllm, encoder)"},
        BadCase{"troughRps: 2,", "troughRps: 2, promptTokens: -5,", "token and memory figures must be >= 0"}));

}  // namespace
}  // namespace gpuwise::sim

namespace gpuwise::sim {
namespace {

// The built-in demo: what issue 3 asks of it, checked on the file itself.
TEST(BuiltinScenarioTest, DemoHasTheFleetAndEveryWorkloadKind) {
  auto s = BuiltinScenario("demo");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int nodes = 0, gpus = 0, hami_nodes = 0;
  std::set<std::string> models;
  for (const NodePool& p : s->node_pools) {
    nodes += p.count;
    gpus += p.count * p.gpus_per_node;
    if (p.sharing.mode == SharingMode::kHami) hami_nodes += p.count;
    models.insert(p.gpu_model);
  }
  EXPECT_EQ(nodes, 10);
  EXPECT_EQ(gpus, 64);
  EXPECT_GE(hami_nodes, 2);
  EXPECT_EQ(models, (std::set<std::string>{"NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-40GB",
                                           "NVIDIA L4"}));
  std::set<WorkloadKind> kinds;
  std::set<std::string> teams;
  bool custom_owner = false, class_annotated = false, class_detected = false;
  for (const WorkloadSpec& w : s->workloads) {
    kinds.insert(w.kind);
    teams.insert(w.labels.count("gpuwise.io/team") ? w.labels.at("gpuwise.io/team") : "");
    custom_owner |= w.owner == OwnerKind::kInferenceService || w.owner == OwnerKind::kLeaderWorkerSet;
    (w.annotations.count("gpuwise.io/class") ? class_annotated : class_detected) = true;
  }
  EXPECT_EQ(kinds.size(), 6u);  // inference, training, notebook, batch, cronbatch, forgotten
  EXPECT_GE(teams.size(), 4u);
  EXPECT_TRUE(custom_owner);
  EXPECT_TRUE(class_annotated);
  EXPECT_TRUE(class_detected);
  EXPECT_EQ(BuiltinScenario("nope").status().code(), base::Code::kNotFound);
}

}  // namespace
}  // namespace gpuwise::sim
