#include "optimize/fractional/unit_placement.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace gpuwise::optimize::fractional {
namespace {

PodRequest Pod(int milli, int gpus = 1, std::int64_t cpu = 1000) {
  PodRequest p;
  p.cpu_milli = cpu;
  p.memory_mib = 1024;
  p.num_gpu = gpus;
  p.gpu_milli = milli;
  return p;
}

UnitConfig Shares(int n) {
  UnitConfig c;
  c.kind = UnitConfig::Kind::kShares;
  c.replicas = n;
  return c;
}

UnitConfig Mig(std::vector<int> slices) {
  UnitConfig c;
  c.kind = UnitConfig::Kind::kMig;
  c.mig_slices = std::move(slices);
  return c;
}

UnitNode Node(const std::string& name, int gpus, UnitConfig config, std::int64_t cpu = 64000) {
  return {{name, cpu, 256 * 1024, gpus, "A100"}, std::move(config)};
}

TEST(UnitPlacementTest, ConfigsGiveTheirUnits) {
  EXPECT_EQ(UnitConfig{}.UnitsPerGpu(), (std::vector<std::pair<int, int>>{{1000, 1}}));
  EXPECT_EQ(Shares(4).UnitsPerGpu(), (std::vector<std::pair<int, int>>{{250, 4}}));
  EXPECT_EQ(Shares(3).UnitsPerGpu(), (std::vector<std::pair<int, int>>{{333, 3}}));
  // A100 "all-balanced"-like 3g + 2g + 1g + 1g of 7 slices: 428, 285 and two 142 milli.
  EXPECT_EQ(Mig({3, 2, 1, 1}).UnitsPerGpu(), (std::vector<std::pair<int, int>>{{428, 1}, {285, 1}, {142, 2}}));
  EXPECT_EQ(Mig({7}).UnitsPerGpu(), (std::vector<std::pair<int, int>>{{1000, 1}}));
  EXPECT_EQ(Mig({3, 2, 1, 1}).Name(), "mig-3+2+1+1/7");
  EXPECT_EQ(Shares(2).Name(), "shares-2");
}

TEST(UnitPlacementTest, HoldingListsTheUnitsAPodFits) {
  const std::vector<UnitNode> nodes = {Node("m", 2, Mig({3, 2, 1, 1})), Node("w", 2, UnitConfig{})};
  UnitClusterState s(nodes);
  EXPECT_EQ(s.capacity_milli(), 4000);
  EXPECT_EQ(s.Holding(0, Pod(200), {}), (std::vector<int>{285, 428}));
  EXPECT_EQ(s.Holding(0, Pod(500), {}), std::vector<int>{});     // no unit of the MIG layout holds half a GPU
  EXPECT_EQ(s.Holding(1, Pod(500), {}), std::vector<int>{1000});
  EXPECT_EQ(s.Holding(1, Pod(1000, 2), {}), std::vector<int>{1000});
  EXPECT_EQ(s.Holding(1, Pod(1000, 3), {}), std::vector<int>{});  // two GPUs only
  EXPECT_EQ(s.Holding(1, Pod(100, 1, 65000), {}), std::vector<int>{});  // cpu
  s.Place(0, Pod(200), 285);
  EXPECT_EQ(s.Holding(0, Pod(200), {}), (std::vector<int>{285, 428}));  // the other GPU's 2g is still free
  s.Place(0, Pod(200), 285);
  EXPECT_EQ(s.Holding(0, Pod(200), {}), std::vector<int>{428});
  EXPECT_EQ(s.demand_placed_milli(), 400);
  EXPECT_EQ(s.units_placed_milli(), 570);
}

TEST(UnitPlacementTest, FragmentationCountsFreeUnitsATypicalPodCannotUse) {
  // Pods of 0.45 and 0.2 of a GPU, half each. A node of one GPU in four shares of 250: the 0.45 fits no share, so
  // all its 1000 free milli are fragment to it; the 0.2 fits. 0.5 x 1000 + 0.5 x 0 = 500.
  const std::vector<TypicalPod> typical = {{Pod(450), 0.5}, {Pod(200), 0.5}};
  UnitClusterState s(std::vector<UnitNode>{Node("q", 1, Shares(4)), Node("h", 1, Shares(2))});
  EXPECT_DOUBLE_EQ(UnitFragmentation(s.nodes()[0], typical, {}), 500);
  EXPECT_DOUBLE_EQ(UnitFragmentation(s.nodes()[1], typical, {}), 0);
  // Half the GPU taken in 250s: 500 free, still none for the 0.45.
  s.Place(0, Pod(200), 250);
  s.Place(0, Pod(200), 250);
  EXPECT_DOUBLE_EQ(UnitFragmentation(s.nodes()[0], typical, {}), 250);
}

TEST(UnitPlacementTest, GpuwiseKeepsLargeUnitsForThePodsThatNeedThem) {
  // A 0.2 pod, a node of half-GPU shares and a node of quarter shares (cpu and memory alike). gpuwise scores the
  // half share 0 (fragmentation unchanged) + 300 (lost), the quarter share 500 -> 375 for the 0.45 pods (-125) + 50
  // lost = -75: the quarter share, and both halves stay for the 0.45 pods.
  const std::vector<TypicalPod> typical = {{Pod(450), 0.5}, {Pod(200), 0.5}};
  const std::vector<UnitNode> nodes = {Node("h", 1, Shares(2)), Node("q", 1, Shares(4))};
  UnitClusterState s(nodes);
  auto gpuwise = NewUnitPlacer(UnitPolicyKind::kGpuwise, typical, {0, 1});
  const UnitPlacement g = gpuwise->Choose(s, Pod(200));
  EXPECT_EQ(g.node, 1);
  EXPECT_EQ(g.unit_milli, 250);
  // LeastAllocated: the node with the most cpu and memory free (both equal here: the lower rank), smallest unit.
  auto least = NewUnitPlacer(UnitPolicyKind::kLeastAllocated, typical, {1, 0});
  EXPECT_EQ(least->Choose(s, Pod(200)).node, 1);
}

TEST(UnitPlacementTest, BestFitTakesTheTightestUnitThenTheFullestNode) {
  // A 0.3 pod: a 333 share is tighter than a 500; of the two nodes with 333s, the one with less left after it.
  std::vector<UnitNode> nodes = {Node("h", 1, Shares(2)), Node("t2", 2, Shares(3)), Node("t1", 1, Shares(3))};
  UnitClusterState s(nodes);
  auto best_fit = NewUnitPlacer(UnitPolicyKind::kBestFit, {{Pod(300), 1}}, {0, 1, 2});
  const UnitPlacement b = best_fit->Choose(s, Pod(300));
  EXPECT_EQ(b.node, 2);
  EXPECT_EQ(b.unit_milli, 333);
}

TEST(UnitPlacementTest, APodNoUnitHoldsFails) {
  UnitClusterState s(std::vector<UnitNode>{Node("q", 2, Shares(4))});
  for (UnitPolicyKind k : {UnitPolicyKind::kLeastAllocated, UnitPolicyKind::kBestFit, UnitPolicyKind::kGpuwise}) {
    auto p = NewUnitPlacer(k, {{Pod(300), 1}}, {0});
    EXPECT_EQ(p->Choose(s, Pod(300)).node, -1) << UnitPolicyName(k);
    EXPECT_EQ(p->Choose(s, Pod(1000, 2)).node, -1) << UnitPolicyName(k);
    EXPECT_EQ(p->Choose(s, Pod(250)).unit_milli, 250) << UnitPolicyName(k);
  }
  UnitPolicyKind k;
  EXPECT_TRUE(ParseUnitPolicy("bestfit", &k));
  EXPECT_EQ(k, UnitPolicyKind::kBestFit);
  EXPECT_FALSE(ParseUnitPolicy("FGD", &k));
}

// Whatever the policy, a run never hands out a unit that is not free, never gives a pod a unit smaller than its
// request (or a multi-GPU pod anything but whole-GPU units), never overdraws cpu or memory, and the requests placed
// never exceed the units taken, which never exceed the capacity.
RC_GTEST_PROP(UnitPlacementProperty, PlacementsRespectUnitsAndResources, ()) {
  const int n = *rc::gen::inRange(1, 6);
  std::vector<UnitNode> nodes;
  for (int i = 0; i < n; ++i) {
    UnitConfig c;
    switch (*rc::gen::inRange(0, 4)) {
      case 0: break;
      case 1: c = Shares(*rc::gen::inRange(2, 8)); break;
      case 2: c = Mig(*rc::gen::element(std::vector<int>{3, 2, 1, 1}, std::vector<int>{4, 3}, std::vector<int>{1, 1, 1, 1, 1, 1, 1},
                                          std::vector<int>{7}, std::vector<int>{2, 2, 2, 1})); break;
      default: c = Shares(2); break;
    }
    nodes.push_back(Node("n" + std::to_string(i), *rc::gen::inRange(1, 9), c, *rc::gen::inRange(1, 64) * 1000));
  }
  std::vector<PodRequest> pods;
  const int count = *rc::gen::inRange(1, 60);
  for (int i = 0; i < count; ++i) {
    const int kind = *rc::gen::inRange(0, 4);
    if (kind == 0) pods.push_back(Pod(0, 0, *rc::gen::inRange(1, 8) * 1000));
    else if (kind == 1) pods.push_back(Pod(1000, *rc::gen::element(1, 2, 4, 8), *rc::gen::inRange(1, 8) * 1000));
    else pods.push_back(Pod(*rc::gen::inRange(1, 100) * 10, 1, *rc::gen::inRange(1, 8) * 1000));
  }
  const auto policy = *rc::gen::element(UnitPolicyKind::kLeastAllocated, UnitPolicyKind::kBestFit, UnitPolicyKind::kGpuwise);
  UnitClusterState s(nodes);
  std::vector<int> rank(nodes.size());
  for (std::size_t i = 0; i < rank.size(); ++i) rank[i] = static_cast<int>(rank.size() - 1 - i);
  auto placer = NewUnitPlacer(policy, TypicalPods(pods), rank);
  for (const PodRequest& p : pods) {
    const UnitPlacement c = placer->Choose(s, p);
    if (c.node < 0) continue;
    RC_ASSERT(c.node < static_cast<int>(nodes.size()));
    if (p.num_gpu > 0) {
      RC_ASSERT(c.unit_milli >= (p.num_gpu > 1 ? kGpuMilli : p.gpu_milli));
      int free = 0;
      for (const auto& [size, k] : s.nodes()[static_cast<std::size_t>(c.node)].free) free += size == c.unit_milli ? k : 0;
      RC_ASSERT(free >= p.num_gpu);
    }
    s.Place(c.node, p, c.unit_milli);
    const UnitClusterState::Node& after = s.nodes()[static_cast<std::size_t>(c.node)];
    RC_ASSERT(after.cpu_left >= 0);
    RC_ASSERT(after.memory_left >= 0);
    for (const auto& [size, k] : after.free) RC_ASSERT(k >= 0);
  }
  RC_ASSERT(s.demand_placed_milli() <= s.units_placed_milli());
  RC_ASSERT(s.units_placed_milli() <= s.capacity_milli());
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
