// The FGD paper's experiment replayed: the trace readers, the replay's invariants on random clusters (no node gives
// more GPU milli, cpu or memory than it has; multi-GPU pods take whole GPUs of one node; GPU models are respected),
// and a short replay of the six baselines on the `default` trace against the published per-seed spread.
#include "sim/openb_replay.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace gpuwise::sim {
namespace {

using optimize::fractional::ClusterState;
using optimize::fractional::NewPlacer;
using optimize::fractional::PlacementNode;
using optimize::fractional::PodRequest;
using optimize::fractional::PolicyKind;

constexpr PolicyKind kAll[] = {PolicyKind::kRandom,  PolicyKind::kDotProd, PolicyKind::kGpuClustering, PolicyKind::kGpuPacking,
                               PolicyKind::kBestFit, PolicyKind::kFgd,     PolicyKind::kGpuwise};

TEST(OpenbTrace, ReadsNodesAndPodsAndNamesBadCells) {
  auto nodes = ParseOpenbNodeList("nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn-1,96000,786432,8,G2\nc-1,64000,262144,0,\n");
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].gpus, 8);
  EXPECT_EQ((*nodes)[0].model, "G2");
  EXPECT_EQ((*nodes)[1].gpus, 0);
  auto pods = ParseOpenbPodList("pods.csv",
                                "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np-1,8000,30517,1,470,\n"
                                "p-2,88000,327680,8,1000,V100M16|V100M32|V100M16\np-3,4000,1000,0,0,\n");
  ASSERT_TRUE(pods.ok()) << pods.status().ToString();
  ASSERT_EQ(pods->size(), 3u);
  EXPECT_TRUE((*pods)[0].Sharing());
  EXPECT_EQ((*pods)[1].TotalGpuMilli(), 8000);
  EXPECT_EQ((*pods)[1].gpu_models, (std::vector<std::string>{"V100M16", "V100M32"}));  // duplicates dropped
  EXPECT_EQ((*pods)[2].TotalGpuMilli(), 0);

  auto bad = ParseOpenbPodList("pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np-1,8000,1,2,500\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "pods.csv:2: column 'gpu_milli': a pod of 2 GPUs takes them whole (gpu_milli 1000), got 500");
  bad = ParseOpenbPodList("pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np-1,8000,1,1,1500\n");
  EXPECT_EQ(bad.status().message(), "pods.csv:2: column 'gpu_milli': 1500 is out of range [0, 1000]");
  EXPECT_FALSE(ParseOpenbNodeList("nodes.csv", "sn,cpu_milli,memory_mib,gpu\n").ok());  // no model column
  EXPECT_EQ(ReadOpenbPodList("/nonexistent/pods.csv").status().code(), base::Code::kNotFound);
}

TEST(OpenbReplay, ArrivalsResampleToTheTargetAndStopWithoutGpuPods) {
  std::vector<PodRequest> pods(4);
  pods[0].num_gpu = 1;
  pods[0].gpu_milli = 500;
  pods[1].num_gpu = 8;
  pods[1].gpu_milli = 1000;
  // Capacity 20,000 milli, tune 1.3: the trace's 8,500 milli are resampled up to at most 26,000 (the last GPU
  // sample that would pass is not taken; an 8-GPU sample is checked by its per-GPU milli, as the reference does).
  const std::vector<int> order = ArrivalOrder(pods, 20'000, 1.3, 42);
  std::int64_t total = 0;
  for (int i : order) total += pods[static_cast<std::size_t>(i)].TotalGpuMilli();
  EXPECT_GT(order.size(), pods.size());
  EXPECT_LE(total, 26'000 + 7'000);
  EXPECT_GT(total, 26'000 - 8'000);
  std::vector<int> first(order.begin(), order.begin() + 4);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<int>{0, 1, 2, 3}));  // every trace pod once, first
  // Only CPU pods: nothing to resample towards (found by openb_trace_fuzz: it looped forever).
  const std::vector<PodRequest> cpu_only(3);
  EXPECT_EQ(ArrivalOrder(cpu_only, 20'000, 1.3, 42).size(), 3u);
  // Already above the target: random pods leave until it is met.
  const std::vector<int> down = ArrivalOrder(pods, 5'000, 1.3, 42);
  total = 0;
  for (int i : down) total += pods[static_cast<std::size_t>(i)].TotalGpuMilli();
  EXPECT_LE(total, 6'500);
}

// Random small clusters and pods, every policy: what the placer picks always fits, and the state never goes below zero.
RC_GTEST_PROP(OpenbReplayProperty, NoPolicyOvercommitsAnythingOrBreaksGpuRules, ()) {
  const char* models[] = {"A", "B", "C"};
  std::vector<PlacementNode> nodes;
  const int n_nodes = *rc::gen::inRange(1, 12);
  for (int i = 0; i < n_nodes; ++i) {
    PlacementNode n;
    n.name = "n" + std::to_string(i);
    n.cpu_milli = *rc::gen::inRange(1, 65) * 1000;
    n.memory_mib = *rc::gen::inRange(1, 512) * 1024;
    n.gpus = *rc::gen::element(0, 1, 2, 4, 8);
    n.model = n.gpus > 0 ? models[*rc::gen::inRange(0, 3)] : "";
    nodes.push_back(n);
  }
  std::vector<PodRequest> pods;
  const int n_pods = *rc::gen::inRange(1, 120);
  for (int i = 0; i < n_pods; ++i) {
    PodRequest p;
    p.cpu_milli = *rc::gen::inRange(0, 33) * 1000;
    p.memory_mib = *rc::gen::inRange(0, 64) * 1024;
    p.num_gpu = *rc::gen::element(0, 1, 1, 1, 2, 4, 8);
    p.gpu_milli = p.num_gpu == 0 ? 0 : p.num_gpu > 1 ? 1000 : *rc::gen::inRange(1, 1001);
    if (*rc::gen::inRange(0, 4) == 0) p.gpu_models = {models[*rc::gen::inRange(0, 3)]};
    pods.push_back(p);
  }
  const PolicyKind policy = *rc::gen::elementOf(std::vector<PolicyKind>(std::begin(kAll), std::end(kAll)));
  ClusterState state(nodes);
  std::vector<int> rank(nodes.size());
  for (std::size_t i = 0; i < rank.size(); ++i) rank[i] = static_cast<int>(rank.size() - 1 - i);
  auto placer = NewPlacer(policy, optimize::fractional::TypicalPods(pods), rank, 7);
  std::int64_t placed_milli = 0;
  for (const PodRequest& pod : pods) {
    const std::vector<int> allowed = state.AllowedModels(pod);
    const auto p = placer->Choose(state, pod);
    if (p.node < 0) {
      // A failure only when no node fits.
      for (int n = 0; n < static_cast<int>(nodes.size()); ++n) RC_ASSERT(!state.Fits(n, pod, allowed));
      continue;
    }
    RC_ASSERT(state.Fits(p.node, pod, allowed));
    const auto& node = state.nodes()[static_cast<std::size_t>(p.node)];
    if (pod.TotalGpuMilli() > 0) {
      RC_ASSERT(static_cast<int>(p.gpus.size()) == pod.num_gpu);  // whole GPUs of one node, or one shared GPU
      if (!pod.gpu_models.empty()) RC_ASSERT(state.models()[static_cast<std::size_t>(node.model)] == pod.gpu_models.front());
      for (int g : p.gpus) {
        RC_ASSERT(g >= 0 && g < node.gpus);
        RC_ASSERT(node.gpu_left[static_cast<std::size_t>(g)] >= pod.gpu_milli);
      }
      RC_ASSERT(std::set<int>(p.gpus.begin(), p.gpus.end()).size() == p.gpus.size());
    } else {
      RC_ASSERT(p.gpus.empty());
    }
    state.Place(p.node, pod, p.gpus);
    placed_milli += pod.TotalGpuMilli();
  }
  for (const auto& n : state.nodes()) {
    RC_ASSERT(n.cpu_left >= 0 && n.memory_left >= 0);
    for (int g = 0; g < n.gpus; ++g) RC_ASSERT(n.gpu_left[static_cast<std::size_t>(g)] >= 0);
  }
  RC_ASSERT(state.allocated_gpu_milli() == placed_milli);
  RC_TAG(std::string(optimize::fractional::PolicyName(policy)));
}

// ../shared/data, as CTest passes it (GPUWISE_SHARED).
std::string SharedData() {
  const char* env = std::getenv("GPUWISE_SHARED");
  return std::string(env != nullptr ? env : "../shared") + "/data";
}

// The six baselines on `default`, seeds 42..51 as published: at every arrival level 0..130 the mean over the seeds
// stays within the published seeds' mean +- 2 standard deviations (floored at 0.1 points: at low load the published
// seeds agree to within their rounding). The RNG differs from the authors' (Go's), so seeds are paired only by name.
// bench/run's replay section prints the full table for every trace.
TEST(OpenbReplayTest, BaselinesOnDefaultStayWithinThePublishedSpread) {
  const std::string data = SharedData();
  if (!std::filesystem::exists(data + "/openb/openb_node_list_gpu_node.csv")) GTEST_SKIP() << "no shared data at " << data;
  auto nodes = ReadOpenbNodeList(data + "/openb/openb_node_list_gpu_node.csv");
  auto pods = ReadOpenbPodList(data + "/openb/openb_pod_list_default.csv");
  ASSERT_TRUE(nodes.ok() && pods.ok());
  // Published rows of default: policy -> per-seed curves.
  std::map<std::string, std::vector<std::vector<double>>> published;
  std::ifstream in(data + "/fgd-results/analysis_allo_discrete.csv");
  ASSERT_TRUE(in) << "no fgd-results";
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (cells.size() < 136 || cells[0] != "openb_pod_list_default") continue;
    std::vector<double> curve;
    for (std::size_t i = 5; i < cells.size(); ++i) curve.push_back(std::stod(cells[i]));
    published[cells[1].substr(3)].push_back(curve);
  }
  ASSERT_EQ(published.size(), 6u);
  for (PolicyKind k : kAll) {
    if (k == PolicyKind::kGpuwise) continue;
    const std::string name(optimize::fractional::PolicyName(k));
    const auto& seeds = published.at(name);
    std::vector<double> mean(131, 0);
    constexpr int kSeeds = 10;
    for (std::uint64_t seed = 42; seed < 42 + kSeeds; ++seed) {
      ReplayOptions o;
      o.policy = k;
      o.seed = seed;
      auto r = Replay(*nodes, *pods, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (int l = 0; l <= 130; ++l) mean[static_cast<std::size_t>(l)] += r->allocation_by_level[static_cast<std::size_t>(l)] / kSeeds;
    }
    int outside = 0;
    for (int l = 0; l <= 130; ++l) {
      double m = 0, v = 0;
      for (const auto& c : seeds) m += c[static_cast<std::size_t>(l)] / static_cast<double>(seeds.size());
      for (const auto& c : seeds) v += std::pow(c[static_cast<std::size_t>(l)] - m, 2) / static_cast<double>(seeds.size() - 1);
      const double band = std::max(2 * std::sqrt(v), 0.1);
      if (std::abs(mean[static_cast<std::size_t>(l)] - m) > band) {
        ++outside;
        ADD_FAILURE() << name << " at " << l << "% arrival: " << mean[static_cast<std::size_t>(l)] << " vs published " << m
                      << " +- " << band;
      }
    }
    std::printf("%-14s 100%%: %.2f (published %.2f), 130%%: %.2f (published %.2f)\n", name.c_str(), mean[100],
                [&] { double m = 0; for (const auto& c : seeds) m += c[100] / 10; return m; }(), mean[130],
                [&] { double m = 0; for (const auto& c : seeds) m += c[130] / 10; return m; }());
    EXPECT_EQ(outside, 0) << name;
  }
}

// The stock cluster fitted to `default`: every GPU node gets a config, the share of GPUs per config follows the
// trace's demand for each unit (within one node's GPUs), and on it gpuwise's unit policy allocates at least as much
// of the pods' requests as kube-scheduler's default (LeastAllocated) at 100% and 130% arrival (seed 42; bench/run
// has the ten-seed table for every trace). Requests placed never exceed the units taken.
TEST(OpenbReplayTest, StockClusterFollowsTheTraceAndGpuwiseBeatsTheDefaultScheduler) {
  const std::string data = SharedData();
  if (!std::filesystem::exists(data + "/openb/openb_node_list_gpu_node.csv")) GTEST_SKIP() << "no shared data at " << data;
  auto nodes = ReadOpenbNodeList(data + "/openb/openb_node_list_gpu_node.csv");
  auto pods = ReadOpenbPodList(data + "/openb/openb_pod_list_default.csv");
  ASSERT_TRUE(nodes.ok() && pods.ok());
  const std::vector<optimize::fractional::UnitConfig> configs = StockConfigs(*nodes, *pods, 42);
  ASSERT_EQ(configs.size(), nodes->size());
  // Demand by unit, as StockConfigs counts it, against the GPUs each config got.
  std::map<int, double> demand, gpus;
  double total_demand = 0, total_gpus = 0;
  for (const auto& p : *pods) {
    if (p.num_gpu <= 0 || p.gpu_milli <= 0) continue;
    int shares = 1;
    for (int n = 4; n >= 2 && p.num_gpu == 1; --n) {
      if (p.gpu_milli <= 1000 / n) { shares = n; break; }
    }
    demand[shares] += shares == 1 ? p.num_gpu * 1000.0 : 1000.0 / shares;
    total_demand += shares == 1 ? p.num_gpu * 1000.0 : 1000.0 / shares;
  }
  int most_gpus = 0;
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const int replicas = configs[i].kind == optimize::fractional::UnitConfig::Kind::kShares ? configs[i].replicas : 1;
    gpus[replicas] += (*nodes)[i].gpus;
    total_gpus += (*nodes)[i].gpus;
    most_gpus = std::max(most_gpus, (*nodes)[i].gpus);
  }
  for (const auto& [replicas, d] : demand) {
    EXPECT_NEAR(gpus[replicas], d / total_demand * total_gpus, most_gpus) << "config with " << replicas << " shares per GPU";
  }
  std::map<optimize::fractional::UnitPolicyKind, UnitReplayResult> results;
  for (auto k : {optimize::fractional::UnitPolicyKind::kLeastAllocated, optimize::fractional::UnitPolicyKind::kGpuwise}) {
    UnitReplayOptions o;
    o.policy = k;
    auto r = ReplayUnits(*nodes, configs, *pods, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_LE(r->replay.allocated_percent, r->units_percent + 1e-9);
    EXPECT_LE(r->units_percent, 100 + 1e-9);
    results[k] = *r;
    std::printf("stock %-14s 100%%: %.2f, 130%%: %.2f, units taken %.2f%%\n",
                std::string(optimize::fractional::UnitPolicyName(k)).c_str(), r->replay.allocation_by_level[100],
                r->replay.allocation_by_level[130], r->units_percent);
  }
  const auto& least = results.at(optimize::fractional::UnitPolicyKind::kLeastAllocated).replay.allocation_by_level;
  const auto& ours = results.at(optimize::fractional::UnitPolicyKind::kGpuwise).replay.allocation_by_level;
  EXPECT_GE(ours[100], least[100]);
  EXPECT_GE(ours[130], least[130]);
  auto bad = ReplayUnits(*nodes, {}, *pods, UnitReplayOptions{});
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace gpuwise::sim
