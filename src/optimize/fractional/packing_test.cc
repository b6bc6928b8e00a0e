#include "optimize/fractional/packing.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "solve/cbc/cbc_solver.h"

namespace gpuwise::optimize::fractional {
namespace {

constexpr const char* kA100 = "NVIDIA A100-SXM4-80GB";
constexpr const char* kL40s = "NVIDIA L40S";

PackNode Node(const std::string& name, int gpus, std::int64_t micro_per_hour, const std::string& strategy = "mixed") {
  PackNode n;
  n.name = name;
  n.gpu_model = kA100;
  n.gpus = gpus;
  n.gpu_memory_bytes = 80e9;
  n.micro_per_hour = micro_per_hour;
  n.mig = FindMigGpu(kA100);
  n.mig_strategy = strategy;
  n.cpu_free = 1000;
  n.memory_free = 1e13;
  return n;
}

UnitChoice Whole(int gpus) {
  UnitChoice u;
  u.kind = UnitKind::kWholeGpu;
  u.gpu_model = kA100;
  u.gpus = gpus;
  u.gpu_share = gpus;
  return u;
}

UnitChoice Mig(const std::string& profile) {
  UnitChoice u;
  u.kind = UnitKind::kMig;
  u.gpu_model = kA100;
  u.mig_profile = profile;
  return u;
}

PackItem Item(const std::string& pod, int workload, int node, UnitChoice want, UnitChoice current, double cpu = 1) {
  PackItem it;
  it.pod = pod;
  it.workload = workload;
  it.node = node;
  it.options = {want};
  it.current = current;
  it.cpu = cpu;
  return it;
}

// What a config gives, computed here independently: "gpus" (whole GPUs for pods of any size), "gpus1" (whole GPUs
// beside a partial MIG layout: single-GPU pods only), and instances per profile.
std::map<std::string, int> CapacityOf(const NodeConfig& c, int gpus) {
  std::map<std::string, int> cap;
  if (c.kind == UnitKind::kWholeGpu) cap["gpus"] = gpus;
  if (c.kind == UnitKind::kMig) {
    const int mig = c.mig_gpus > 0 ? c.mig_gpus : gpus;
    for (const auto& [p, n] : c.layout) cap[p] = n * mig;
    if (mig < gpus) cap["gpus1"] = gpus - mig;
  }
  return cap;
}

// Independent check of a packing: every kept node's config is a valid layout of its GPU, no node gives more than it
// has, replicas of one workload on MIG units sit on different nodes, every pod has a node, and the cost is the kept
// nodes' price. "" when it holds, else the first violation.
std::string PackingError(std::span<const PackNode> nodes, std::span<const PackItem> items, const PackResult& r) {
  std::int64_t cost = 0;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const NodeOutcome& o = r.nodes[n];
    if (o.kept) cost += nodes[n].micro_per_hour;
    if (o.config.kind == UnitKind::kMig) {
      auto placed = PlaceCounts(*nodes[n].mig, o.config.layout);
      if (!placed.ok() || !Validate(*nodes[n].mig, *placed).ok()) return nodes[n].name + ": invalid " + o.config.Describe();
    }
    std::map<std::string, int> used;
    std::map<int, int> per_workload;
    for (int i : o.items) {
      const UnitChoice& u = r.item_unit[static_cast<std::size_t>(i)];
      if (r.item_node[static_cast<std::size_t>(i)] != static_cast<int>(n)) return "item lists disagree";
      if (u.kind == UnitKind::kWholeGpu) {
        if (o.config.kind == UnitKind::kWholeGpu) {
          used["gpus"] += u.gpus;
        } else if (u.gpus == 1 && o.config.mig_gpus > 0) {
          used["gpus1"] += 1;
        } else {
          return "an exclusive pod on a " + o.config.Describe() + " node";
        }
      } else if (u.kind == UnitKind::kMig) {
        used[u.mig_profile] += 1;
        if (++per_workload[items[static_cast<std::size_t>(i)].workload] > 1) return "two replicas of a workload on " + nodes[n].name;
      } else {
        return "unexpected unit";
      }
    }
    const auto cap = CapacityOf(o.config, nodes[n].gpus);
    for (const auto& [k, u] : used) {
      auto c = cap.find(k);
      if (c == cap.end() || u > c->second) return nodes[n].name + " overcommits " + k;
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (r.item_node[i] < 0) return items[i].pod + " has no node";
    const auto& on = r.nodes[static_cast<std::size_t>(r.item_node[i])].items;
    if (std::find(on.begin(), on.end(), static_cast<int>(i)) == on.end()) return items[i].pod + " is not in its node's list";
  }
  if (cost != r.micro_per_hour) return "cost is not the kept nodes' price";
  if (r.lower_bound_micro_per_hour > r.micro_per_hour) return "lower bound above the cost";
  return "";
}

void CheckPacking(std::span<const PackNode> nodes, std::span<const PackItem> items, const PackResult& r) {
  EXPECT_EQ(PackingError(nodes, items, r), "");
}

// The exact optimum of the same problem by a different model: a compact assignment MIP (pod x node, node x config),
// which CBC proves on small instances.
std::int64_t CompactOptimum(std::span<const PackNode> nodes, std::span<const PackItem> items, MipSolver& solver) {
  MipModel m;
  const MigGpu* gpu = FindMigGpu(kA100);
  // Configs: 0 exclusive; then every layout (maximal or not) on k of the node's GPUs, the others whole (k = all: none).
  std::vector<MigCounts> all_layouts;
  for (const MigLayoutOption& l : EnumerateLayouts(*gpu)) all_layouts.push_back(l.counts);
  std::vector<MigCounts> layouts;
  std::vector<int> mig_on;  // GPUs carrying the layout, per config (0 = all)
  for (const MigCounts& l : all_layouts) {
    layouts.push_back(l);
    mig_on.push_back(0);
    for (int k = 1; k < 8; ++k) {
      layouts.push_back(l);
      mig_on.push_back(k);
    }
  }
  const std::size_t configs = layouts.size() + 1;
  std::vector<std::vector<int>> y(nodes.size()), x(items.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    std::vector<MipTerm> one;
    for (std::size_t c = 0; c < configs; ++c) {
      y[n].push_back(m.AddVariable(0, 1, static_cast<double>(nodes[n].micro_per_hour) / 1e6, true));
      one.push_back({y[n].back(), 1});
    }
    m.AddRow(one, 0, 1);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::vector<MipTerm> once;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      x[i].push_back(m.AddVariable(0, 1, 0, true));
      once.push_back({x[i].back(), 1});
    }
    m.AddRow(once, 1, 1);
  }
  std::set<std::string> profiles;
  for (const PackItem& it : items) {
    if (it.options[0].kind == UnitKind::kMig) profiles.insert(it.options[0].mig_profile);
  }
  std::set<int> workloads;
  for (const PackItem& it : items) workloads.insert(it.workload);
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const int g = nodes[n].gpus;
    // Multi-GPU pods: exclusive nodes only. All whole-GPU pods: exclusive GPUs plus the whole GPUs of partial layouts.
    std::vector<MipTerm> whole{{y[n][0], -static_cast<double>(g)}};
    for (std::size_t c = 1; c < configs; ++c) {
      const int k = mig_on[c - 1];
      if (k > 0 && k < g) whole.push_back({y[n][c], -static_cast<double>(g - k)});
      if (k >= g) m.AddRow({{y[n][c], 1}}, 0, 0);  // not a config of this node
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].options[0].kind != UnitKind::kWholeGpu) continue;
      whole.push_back({x[i][n], static_cast<double>(items[i].options[0].gpus)});
    }
    m.AddRow(whole, -kMipInfinity, 0);
    {
      // Multi-GPU pods only on exclusive nodes: their GPUs <= g y_excl.
      std::vector<MipTerm> row{{y[n][0], -static_cast<double>(g)}};
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].options[0].kind == UnitKind::kWholeGpu && items[i].options[0].gpus > 1) {
          row.push_back({x[i][n], static_cast<double>(items[i].options[0].gpus)});
        }
      }
      m.AddRow(row, -kMipInfinity, 0);
    }
    for (const std::string& p : profiles) {
      std::vector<MipTerm> row;
      for (std::size_t c = 1; c < configs; ++c) {
        auto f = layouts[c - 1].find(p);
        const int k = mig_on[c - 1] > 0 ? std::min(mig_on[c - 1], g) : g;
        if (f != layouts[c - 1].end()) {
          row.push_back({y[n][c], -static_cast<double>(f->second * k)});
        }
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].options[0].kind == UnitKind::kMig && items[i].options[0].mig_profile == p) row.push_back({x[i][n], 1});
      }
      m.AddRow(row, -kMipInfinity, 0);
    }
    for (int w : workloads) {
      std::vector<MipTerm> row;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].workload == w && items[i].options[0].kind == UnitKind::kMig) row.push_back({x[i][n], 1});
      }
      if (!row.empty()) m.AddRow(row, -kMipInfinity, 1);
    }
  }
  MipOptions o;
  o.time_limit_seconds = 60;
  auto r = solver.Solve(m, o);
  if (!r.ok() || r->status != MipStatus::kOptimal) return -1;
  return static_cast<std::int64_t>(std::llround(r->objective * 1e6));
}

TEST(PackingTest, IdleWholeGpuEncodersConsolidateOntoOneMigNode) {
  auto cbc = solve::cbc::NewCbcSolver();
  // Three 8-GPU nodes; six one-GPU encoder pods of two workloads that fit a 2g.20gb slice each, spread over them.
  std::vector<PackNode> nodes = {Node("a", 8, 40'000'000), Node("b", 8, 40'000'000), Node("c", 8, 40'000'000)};
  std::vector<PackItem> items;
  for (int i = 0; i < 6; ++i) items.push_back(Item("ml/enc-" + std::to_string(i), i % 2 == 0 ? 0 : 1 + i, i % 3, Mig("2g.20gb"), Whole(1)));
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckPacking(nodes, items, *r);
  // Workload 0 has 3 replicas: they must sit on 3 different nodes, so 3 nodes it is, not 1: the spread rule binds.
  EXPECT_EQ(r->micro_per_hour, 3 * 40'000'000);
  EXPECT_TRUE(r->optimal);
}

TEST(PackingTest, OneReplicaEachPacksIntoOneNode) {
  auto cbc = solve::cbc::NewCbcSolver();
  std::vector<PackNode> nodes = {Node("a", 8, 40'000'000), Node("b", 8, 40'000'000), Node("c", 8, 40'000'000)};
  std::vector<PackItem> items;
  for (int i = 0; i < 6; ++i) items.push_back(Item("ml/enc-" + std::to_string(i), i, i % 3, Mig("2g.20gb"), Whole(1)));
  items.push_back(Item("ml/train", 10, 0, Whole(2), Whole(2)));
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckPacking(nodes, items, *r);
  // Six 2g slices fit one node (3 per GPU on A100); the 2-GPU pod needs an exclusive node: 2 nodes.
  EXPECT_EQ(r->micro_per_hour, 2 * 40'000'000);
  EXPECT_EQ(r->current_micro_per_hour, 3 * 40'000'000);
  int changed = 0;
  for (const NodeOutcome& o : r->nodes) changed += o.config_changed ? 1 : 0;
  EXPECT_EQ(changed, 1);  // one node re-laid out; the exclusive node keeps its config
}

TEST(PackingTest, SingleStrategyNodesAreReLaidOnlyWithTheStrategyChange) {
  auto cbc = solve::cbc::NewCbcSolver();
  std::vector<PackNode> nodes = {Node("a", 2, 10'000'000, "single"), Node("b", 2, 10'000'000, "single")};
  std::vector<PackItem> items = {Item("ml/x", 0, 0, Mig("3g.40gb"), Whole(1)), Item("ml/y", 1, 1, Mig("1g.10gb"), Whole(1))};
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  CheckPacking(nodes, items, *r);
  for (const NodeOutcome& o : r->nodes) EXPECT_FALSE(o.config_changed) << o.config.Describe();
  // Under single, a slice is nvidia.com/gpu: no pod could ask for 3g by name. Both nodes stay.
  EXPECT_EQ(r->micro_per_hour, 20'000'000);
  PackOptions change;
  change.allow_strategy_change = true;
  auto mixed = PackCluster(nodes, items, *cbc, change);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->micro_per_hour, 10'000'000);
}

TEST(PackingTest, PinnedPodsKeepTheirNodeAndItsLeftoverIsUsed) {
  auto cbc = solve::cbc::NewCbcSolver();
  std::vector<PackNode> nodes = {Node("a", 8, 40'000'000), Node("b", 8, 40'000'000)};
  PackItem pinned = Item("ml/big", 0, 0, Whole(4), Whole(4));
  pinned.movable = false;
  std::vector<PackItem> items = {pinned, Item("ml/small", 1, 1, Whole(2), Whole(2))};
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  CheckPacking(nodes, items, *r);
  EXPECT_TRUE(r->nodes[0].kept);
  EXPECT_FALSE(r->nodes[1].kept);
  EXPECT_EQ(r->item_node[1], 0);
}

UnitChoice Mps(int replicas, const char* model_name = kL40s) {
  UnitChoice u;
  u.kind = UnitKind::kMps;
  u.gpu_model = model_name;
  u.replicas = replicas;
  u.gpu_share = 1.0 / replicas;
  return u;
}

PackNode L40sNode(const std::string& name) {
  PackNode n = Node(name, 4, 10'000'000, "");
  n.gpu_model = kL40s;
  n.gpu_memory_bytes = 48e9;
  n.mig = nullptr;
  return n;
}

TEST(PackingTest, MpsSharesPackSingleReplicaServersOntoFewerNodes) {
  auto cbc = solve::cbc::NewCbcSolver();
  // Three 4-GPU L40S nodes (no MIG); ten one-GPU servers of ten workloads, 4 + 4 + 2, each of which may run on an MPS
  // half (or keep its whole GPU). Ten halves need 5 GPUs: more than one node, so two nodes, one of them MPS x2.
  std::vector<PackNode> nodes = {L40sNode("a"), L40sNode("b"), L40sNode("c")};
  std::vector<PackItem> items;
  UnitChoice whole = Whole(1);
  whole.gpu_model = kL40s;
  for (int i = 0; i < 10; ++i) {
    PackItem it = Item("ml/srv-" + std::to_string(i), i, i < 4 ? 0 : i < 8 ? 1 : 2, Mps(2), whole);
    it.options.push_back(whole);
    items.push_back(it);
  }
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->micro_per_hour, 2 * 10'000'000);
  EXPECT_TRUE(r->optimal);
  int on_mps = 0;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const NodeOutcome& o = r->nodes[n];
    std::map<std::string, int> used;
    for (int i : o.items) {
      const UnitChoice& u = r->item_unit[static_cast<std::size_t>(i)];
      if (u.kind == UnitKind::kMps) {
        // An MPS share only on a node configured for exactly that share count, at most replicas x GPUs of them.
        ASSERT_EQ(o.config.kind, UnitKind::kMps) << nodes[n].name;
        EXPECT_EQ(o.config.replicas, u.replicas);
        ++on_mps;
        ++used["mps"];
      } else {
        ASSERT_EQ(o.config.kind, UnitKind::kWholeGpu) << nodes[n].name;
        used["gpus"] += u.gpus;
      }
    }
    EXPECT_LE(used["mps"], 2 * nodes[n].gpus);
    EXPECT_LE(used["gpus"], nodes[n].gpus);
  }
  EXPECT_GE(on_mps, 6);  // 6 halves and 4 whole GPUs is the least MPS that fits two nodes
}

TEST(PackingTest, NoMpsWhereMigIsAllowed) {
  auto cbc = solve::cbc::NewCbcSolver();
  // On a mixed-strategy A100 node a slice of the same size isolates more: the packer never offers MPS there. A pod
  // whose only unit is MPS stays as it is.
  std::vector<PackNode> nodes = {Node("a", 8, 40'000'000), Node("b", 8, 40'000'000)};
  std::vector<PackItem> items = {Item("ml/x", 0, 0, Mps(2, kA100), Whole(1)), Item("ml/y", 1, 1, Mps(2, kA100), Whole(1))};
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  for (const NodeOutcome& o : r->nodes) EXPECT_NE(o.config.kind, UnitKind::kMps);
  EXPECT_EQ(r->item_unit[0].kind, UnitKind::kWholeGpu);
  // Under single, MIG is not allowed (without the strategy change), and a node giving whole GPUs may take MPS.
  nodes = {Node("a", 8, 40'000'000, "single"), Node("b", 8, 40'000'000, "single")};
  auto single = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->micro_per_hour, 40'000'000);
  EXPECT_EQ(single->item_unit[0].kind, UnitKind::kMps);
}

TEST(PackingTest, AntiAffinityKeepsWholeGpuReplicasOnDifferentNodes) {
  auto cbc = solve::cbc::NewCbcSolver();
  // Three replicas of one server on whole GPUs of three nodes. Without a rule they consolidate onto one node; with a
  // required anti-affinity by hostname (spread_nodes) they stay on three.
  std::vector<PackNode> nodes = {Node("a", 8, 40'000'000), Node("b", 8, 40'000'000), Node("c", 8, 40'000'000)};
  std::vector<PackItem> items;
  for (int i = 0; i < 3; ++i) items.push_back(Item("ml/srv-" + std::to_string(i), 0, i, Whole(1), Whole(1)));
  auto free_to_move = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(free_to_move.ok());
  EXPECT_EQ(free_to_move->micro_per_hour, 40'000'000);
  for (PackItem& it : items) it.spread_nodes = true;
  auto apart = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(apart.ok());
  EXPECT_EQ(apart->micro_per_hour, 3 * 40'000'000);
  std::set<int> on;
  for (int n : apart->item_node) on.insert(n);
  EXPECT_EQ(on.size(), 3u);
}

TEST(PackingTest, ReplicasThatMustMoveGoApartWhenThereIsRoom) {
  auto cbc = solve::cbc::NewCbcSolver();
  // c is released (dearer); a and b host pods that stay (2 GPUs on a, 1 on b), so a has 2 GPUs left and b 3. The two
  // replicas of x leave c: without any rule they still go to different nodes (soft spread), not both to the first
  // node with room.
  std::vector<PackNode> nodes = {Node("a", 4, 10'000'000), Node("b", 4, 10'000'000), Node("c", 4, 20'000'000)};
  std::vector<PackItem> items = {Item("ml/y", 1, 0, Whole(2), Whole(2)), Item("ml/v", 3, 1, Whole(1), Whole(1)),
                                 Item("ml/x-1", 0, 2, Whole(1), Whole(1)), Item("ml/x-2", 0, 2, Whole(1), Whole(1))};
  items[0].movable = items[1].movable = false;
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  CheckPacking(nodes, items, *r);
  EXPECT_EQ(r->micro_per_hour, 20'000'000);
  EXPECT_NE(r->item_node[2], r->item_node[3]);
}

TEST(PackingTest, GpusBreakTiesBetweenPackingsOfOnePrice) {
  auto cbc = solve::cbc::NewCbcSolver();
  // An 8-GPU node and a 4-GPU node at the same price; three one-GPU pods fit either. Dollars tie, so the packing keeps
  // the node with fewer GPUs.
  std::vector<PackNode> nodes = {Node("big", 8, 40'000'000), Node("small", 4, 40'000'000)};
  std::vector<PackItem> items;
  for (int i = 0; i < 3; ++i) items.push_back(Item("ml/x-" + std::to_string(i), i, i == 0 ? 1 : 0, Whole(1), Whole(1)));
  auto r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  CheckPacking(nodes, items, *r);
  EXPECT_EQ(r->micro_per_hour, 40'000'000);
  EXPECT_FALSE(r->nodes[0].kept);
  EXPECT_TRUE(r->nodes[1].kept);
  // Dollars first: when the big node is cheaper, it is kept.
  nodes[0].micro_per_hour = 39'000'000;
  r = PackCluster(nodes, items, *cbc);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->nodes[0].kept);
  EXPECT_FALSE(r->nodes[1].kept);
}

// Small random instances: the pattern packer's cost is within 1% of the compact model's proven optimum.
RC_GTEST_PROP(PackingProperty, WithinOnePercentOfTheCompactOptimum, ()) {
  auto cbc = solve::cbc::NewCbcSolver();
  const int n_nodes = *rc::gen::inRange(1, 4);
  std::vector<PackNode> nodes;
  for (int n = 0; n < n_nodes; ++n) {
    nodes.push_back(Node("n" + std::to_string(n), *rc::gen::element(1, 2, 4), *rc::gen::element(10'000'000, 12'000'000)));
  }
  const std::vector<std::string> profiles = {"1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"};
  std::vector<PackItem> items;
  const int n_items = *rc::gen::inRange(1, 7);
  // Replicas of one workload share its pod template, so they want the same unit.
  // Today each pod holds one whole GPU of a node with one free (the cluster as it is is always valid).
  std::map<int, UnitChoice> unit_of;
  std::vector<int> free_gpus;
  for (const PackNode& n : nodes) free_gpus.push_back(n.gpus);
  for (int i = 0; i < n_items; ++i) {
    const int workload = *rc::gen::inRange(0, 4);
    if (!unit_of.count(workload)) {
      unit_of[workload] = *rc::gen::inRange(0, 4) == 0 ? Whole(*rc::gen::element(1, 2)) : Mig(*rc::gen::elementOf(profiles));
    }
    const int start = *rc::gen::inRange(0, n_nodes);
    int node = -1;
    for (int k = 0; k < n_nodes && node < 0; ++k) {
      if (free_gpus[static_cast<std::size_t>((start + k) % n_nodes)] > 0) node = (start + k) % n_nodes;
    }
    if (node < 0) break;
    --free_gpus[static_cast<std::size_t>(node)];
    items.push_back(Item("p" + std::to_string(i), workload, node, unit_of[workload], Whole(1)));
  }
  RC_PRE(!items.empty());
  auto r = PackCluster(nodes, items, *cbc);
  RC_ASSERT(r.ok());
  const std::int64_t opt = CompactOptimum(nodes, items, *cbc);
  bool as_wanted = true;
  for (std::size_t i = 0; i < items.size(); ++i) as_wanted &= r->item_unit[i] == items[i].options[0];
  const std::string error = PackingError(nodes, items, *r);
  if (opt < 0) {
    // No packing exists (the compact model proves it): the packer must not claim one.
    RC_ASSERT(!(as_wanted && error.empty()));
    return;
  }
  RC_ASSERT(error == "");
  if (!as_wanted) {
    for (const PackNode& n : nodes) std::printf("node %s gpus %d price %lld\n", n.name.c_str(), n.gpus, (long long)n.micro_per_hour);
    for (std::size_t i = 0; i < items.size(); ++i) std::printf("item %s w%d node %d want %s/%d -> node %d\n", items[i].pod.c_str(), items[i].workload, items[i].node, items[i].options[0].mig_profile.c_str(), items[i].options[0].gpus, r->item_node[i]);
    for (const auto& note : r->notes) std::printf("note %s\n", note.c_str());
    std::printf("opt %lld\n", (long long)opt);
  }
  RC_ASSERT(as_wanted);
  RC_ASSERT(static_cast<double>(r->micro_per_hour) <= 1.01 * static_cast<double>(opt));
  RC_ASSERT(r->lower_bound_micro_per_hour <= opt);
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
