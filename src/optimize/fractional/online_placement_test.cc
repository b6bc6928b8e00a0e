#include "optimize/fractional/online_placement.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gpuwise::optimize::fractional {
namespace {

PodRequest Pod(std::int64_t cpu, int num_gpu, int milli, std::vector<std::string> models = {}) {
  PodRequest p;
  p.cpu_milli = cpu;
  p.memory_mib = 1024;
  p.num_gpu = num_gpu;
  p.gpu_milli = milli;
  p.gpu_models = std::move(models);
  return p;
}

PlacementNode Node(const std::string& name, int gpus, const std::string& model = "G2", std::int64_t cpu = 96000) {
  return PlacementNode{name, cpu, 1 << 20, gpus, model};
}

TEST(TypicalPods, MostCommonTypesUntilTheCoverageThenRenormalised) {
  std::vector<PodRequest> pods;
  for (int i = 0; i < 6; ++i) pods.push_back(Pod(4000, 1, 500));
  for (int i = 0; i < 3; ++i) pods.push_back(Pod(8000, 0, 0));
  pods.push_back(Pod(2000, 8, 1000));
  // 6 + 3 = 90% < 95%, so the single 8-GPU pod is kept too: three types, probabilities 0.6, 0.3, 0.1.
  auto t = TypicalPods(pods);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t[0].probability, 0.6);
  EXPECT_EQ(t[0].pod.gpu_milli, 500);
  EXPECT_DOUBLE_EQ(t[1].probability, 0.3);
  // At 85% coverage the first two suffice and are renormalised: 6/9 and 3/9.
  t = TypicalPods(pods, 0.85);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t[0].probability, 6.0 / 9);
  // Equal counts: the larger cpu first (the reference's order).
  t = TypicalPods(std::vector<PodRequest>{Pod(1000, 1, 100), Pod(3000, 1, 100)}, 1.0);
  EXPECT_EQ(t[0].pod.cpu_milli, 3000);
}

// A node with GPUs at 300 and 1000 milli left, three typical pods:
//   A (cpu 1, 500 milli, p 0.5): fits (the 1000 GPU), the 300 GPU is too small for it: 0.5 x 300 = 150;
//   B (CPU-only, p 0.25): every idle milli is fragment to it: 0.25 x 1300 = 325;
//   C (cpu 1, one whole GPU, p 0.25): fits, the 300 GPU is fragment: 0.25 x 300 = 75.  F = 550.
std::vector<TypicalPod> Typical() {
  return {{Pod(1000, 1, 500), 0.5}, {Pod(1000, 0, 0), 0.25}, {Pod(1000, 1, 1000), 0.25}};
}

TEST(NodeFragmentation, TheFgdMeasureByHand) {
  ClusterState state(std::vector<PlacementNode>{Node("a", 2)});
  state.Place(0, Pod(0, 1, 700), std::vector<int>{0});
  const NodeState& n = state.nodes()[0];
  ASSERT_EQ(n.gpu_left[0], 300);
  const std::vector<std::vector<int>> allowed(3);
  EXPECT_DOUBLE_EQ(NodeFragmentation(n, Typical(), allowed), 550);
  // A typical pod the node's model does not serve counts every idle milli: C restricted to T4 gives 0.25 x 1300.
  std::vector<TypicalPod> t = Typical();
  t[2].pod.gpu_models = {"T4"};
  const std::vector<std::vector<int>> none = {{}, {}, {}};
  EXPECT_DOUBLE_EQ(NodeFragmentation(n, t, none), 150 + 325 + 325);
}

TEST(Placer, FgdTakesTheGpuThatLowersFragmentationMost) {
  // A 300-milli pod on the node above: on the 300 GPU, F falls to 250 (delta +300, score int(100 sigmoid(0.3)) =
  // 57); on the 1000 GPU, F rises to 650 (delta -100, score 47). FGD takes GPU 0; BestFit's GPU choice agrees.
  ClusterState state(std::vector<PlacementNode>{Node("a", 2)});
  state.Place(0, Pod(0, 1, 700), std::vector<int>{0});
  for (PolicyKind k : {PolicyKind::kFgd, PolicyKind::kGpuwise, PolicyKind::kBestFit}) {
    auto placer = NewPlacer(k, Typical(), {0}, 1);
    const Placement p = placer->Choose(state, Pod(1000, 1, 300));
    EXPECT_EQ(p.node, 0) << PolicyName(k);
    EXPECT_EQ(p.gpus, std::vector<int>{0}) << PolicyName(k);
  }
}

TEST(Placer, TiesGoToTheLowestRankAndWholePodsTakeTheLowestFreeGpus) {
  ClusterState state(std::vector<PlacementNode>{Node("a", 8), Node("b", 8), Node("c", 8)});
  // Three empty identical nodes tie under every deterministic policy: rank 0 is node c.
  const std::vector<int> rank = {2, 1, 0};
  for (PolicyKind k : {PolicyKind::kDotProd, PolicyKind::kGpuClustering, PolicyKind::kGpuPacking, PolicyKind::kBestFit,
                       PolicyKind::kFgd, PolicyKind::kGpuwise}) {
    auto placer = NewPlacer(k, Typical(), rank, 1);
    const Placement p = placer->Choose(state, Pod(1000, 2, 1000));
    EXPECT_EQ(p.node, 2) << PolicyName(k);
    EXPECT_EQ(p.gpus, (std::vector<int>{0, 1})) << PolicyName(k);
  }
}

TEST(Placer, PoliciesPreferWhatTheirScoresSay) {
  // Node a has a half-used GPU; node b is empty. A 400-milli pod:
  // - BestFit and GpuPacking take a (tighter; a partially used GPU), GPU 0;
  // - GpuClustering takes a: it already holds a shared pod (base + 75 against b's base + 25);
  // - DotProd scores both 99 (int(100 (1 - 0.0076)) and int(100 (1 - 0.0092))): the rank decides, so b.
  ClusterState state(std::vector<PlacementNode>{Node("a", 2), Node("b", 2)});
  state.Place(0, Pod(1000, 1, 500), std::vector<int>{0});
  for (PolicyKind k : {PolicyKind::kBestFit, PolicyKind::kGpuPacking, PolicyKind::kGpuClustering}) {
    auto placer = NewPlacer(k, Typical(), {1, 0}, 1);  // rank favours b: only the scores pick a
    const Placement p = placer->Choose(state, Pod(1000, 1, 400));
    EXPECT_EQ(p.node, 0) << PolicyName(k);
    EXPECT_EQ(p.gpus, std::vector<int>{0}) << PolicyName(k);
  }
  EXPECT_EQ(NewPlacer(PolicyKind::kDotProd, Typical(), {1, 0}, 1)->Choose(state, Pod(1000, 1, 400)).node, 1);
  // A pod that fits nowhere fails; a pod restricted to a model no node has fails.
  auto placer = NewPlacer(PolicyKind::kFgd, Typical(), {0, 1}, 1);
  EXPECT_EQ(placer->Choose(state, Pod(1000, 4, 1000)).node, -1);
  EXPECT_EQ(placer->Choose(state, Pod(1000, 1, 100, {"T4"})).node, -1);
}

TEST(Placer, GpuwisePutsCpuPodsWhereTheGpusAreTaken) {
  // Node a's GPUs are all taken, node b's are free. A CPU-only pod changes no fragmentation by much on either;
  // FGD's rank sends it to b (rank 0), gpuwise to a, keeping b's cpu for GPU pods.
  ClusterState state(std::vector<PlacementNode>{Node("a", 2), Node("b", 2)});
  state.Place(0, Pod(1000, 2, 1000), std::vector<int>{0, 1});
  const std::vector<TypicalPod> typical = {{Pod(1000, 1, 500), 1.0}};
  EXPECT_EQ(NewPlacer(PolicyKind::kFgd, typical, {1, 0}, 1)->Choose(state, Pod(4000, 0, 0)).node, 1);
  EXPECT_EQ(NewPlacer(PolicyKind::kGpuwise, typical, {1, 0}, 1)->Choose(state, Pod(4000, 0, 0)).node, 0);
}

TEST(PolicyNames, RoundTrip) {
  for (PolicyKind k : {PolicyKind::kRandom, PolicyKind::kDotProd, PolicyKind::kGpuClustering, PolicyKind::kGpuPacking,
                       PolicyKind::kBestFit, PolicyKind::kFgd, PolicyKind::kGpuwise}) {
    PolicyKind back;
    ASSERT_TRUE(ParsePolicy(PolicyName(k), &back));
    EXPECT_EQ(back, k);
  }
  PolicyKind k;
  EXPECT_TRUE(ParsePolicy("bestfit", &k));
  EXPECT_FALSE(ParsePolicy("worstfit", &k));
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
