#include "optimize/projection.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>

#include "optimize/savings.h"

namespace gpuwise::optimize {
namespace {

constexpr std::int64_t kEnd = 1'794'787'200;

// Hand-built snapshots: GPU nodes with allocatable resources, live pods with requests, owned by Deployments.
struct Cluster {
  model::Snapshot s;
  Cluster() {
    s.start_unix_s = s.grid_start_unix_s = kEnd - 3600;
    s.end_unix_s = kEnd;
    s.intervals = 1;
  }
  void Node(const std::string& name, int gpus, std::int64_t price = 2'000'000, int replicas = 1) {
    model::SnapshotNode n;
    n.node.name = name;
    n.gpus = gpus;
    n.replicas = replicas;
    n.node.allocatable["nvidia.com/gpu"] = gpus * replicas;
    n.node.cpu_allocatable = 64;
    n.node.memory_allocatable_bytes = 512e9;
    n.price_micro_per_gpu_hour = price;
    s.nodes.push_back(n);
  }
  void Pod(const std::string& deployment, const std::string& name, const std::string& node, model::GpuRequest gpu,
           double cpu = 4) {
    model::Pod p;
    p.namespace_name = "ml";
    p.name = name;
    p.node = node;
    p.phase = node.empty() ? "Pending" : "Running";
    p.created_unix_s = kEnd - 7200 + static_cast<std::int64_t>(s.pods.size());
    model::Container c;
    c.gpu = gpu;
    c.cpu_request = cpu;
    p.containers.push_back(c);
    p.owners = {{"apps/v1", "ReplicaSet", deployment + "-abc", ""}, {"apps/v1", "Deployment", deployment, ""}};
    s.pods.push_back(p);
  }
  // A node running HAMi: GPUs of 40 GiB split 10 ways.
  void HamiNode(const std::string& name, int gpus) {
    Node(name, gpus);
    model::SnapshotNode& n = s.nodes.back();
    n.node.backend = model::FractionalBackend::kHami;
    n.node.gpu_memory_mib = 40960;
    n.node.allocatable["nvidia.com/gpu"] = gpus * 10;
    n.node.allocatable["nvidia.com/gpucores"] = gpus * 100;
  }
  // A HAMi request of one GPU's `cores` percent.
  static model::GpuRequest Cores(int cores) {
    model::GpuRequest r;
    r.gpus = 1;
    r.hami_gpucores_percent = cores;
    return r;
  }
  static model::GpuRequest Gpus(int n) {
    model::GpuRequest r;
    r.gpus = n;
    return r;
  }
};

model::Action NodeAction(model::ActionKind kind, const std::string& node, model::ActionValue before, model::ActionValue after) {
  model::Action a;
  a.id = "n" + node + std::to_string(static_cast<int>(kind));
  a.kind = kind;
  a.target = {"v1", "Node", "", node, ""};
  a.before = std::move(before);
  a.after = std::move(after);
  a.revert.kind = kind == model::ActionKind::kCordon ? model::ActionKind::kUncordon : kind;
  return a;
}

// Deployment ml/<name> scaled from `from` to `to` replicas, as action a1.
model::Action Scale(const std::string& name, int from, int to) {
  model::Action a;
  a.id = "a1";
  a.kind = model::ActionKind::kSetReplicas;
  a.target = {"apps/v1", "Deployment", "ml", name, ""};
  a.before = model::ReplicaCount{from};
  a.after = model::ReplicaCount{to};
  a.revert.kind = model::ActionKind::kSetReplicas;
  return a;
}

model::Action Evict(const std::string& pod, const std::string& node, int i) {
  model::Action a;
  a.id = "e" + std::to_string(i);
  a.kind = model::ActionKind::kEvict;
  a.target = {"v1", "Pod", "ml", pod, ""};
  a.before = model::PodPlacement{node};
  a.revert = {true, model::ActionKind::kEvict, "recreated by its controller"};
  return a;
}

const ProjectedNode& NodeOf(const Projection& p, const std::string& name) {
  for (const ProjectedNode& n : p.nodes) {
    if (n.name == name) return n;
  }
  ADD_FAILURE() << "no node " << name;
  return p.nodes.front();
}

TEST(ProjectionTest, UnseenSharesArePackedBeforeAndSpreadAfter) {
  Cluster c;
  c.Node("a", 8);
  c.Node("ts", 8, 2'000'000, 4);  // time-sliced, 4 shares per GPU: 32 nvidia.com/gpu
  c.Pod("big", "big-1", "a", Cluster::Gpus(3));
  for (int i = 0; i < 5; ++i) c.Pod("small", "small-" + std::to_string(i), "ts", Cluster::Gpus(1));
  const Projection now = ProjectNow(c.s);
  EXPECT_EQ(NodeOf(now, "a").occupied_gpus, 3);
  // Where the device plugin put the shares is unseen: "now" packs them (5 shares of 4 per GPU fill 2 GPUs), the
  // projection after a plan spreads them (5 GPUs), so savings never count GPUs the shares may still occupy.
  EXPECT_EQ(NodeOf(now, "ts").occupied_gpus, 2);
  auto after = ProjectPlan(c.s, model::Plan{});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(NodeOf(*after, "ts").occupied_gpus, 5);
  // Scaling the shared workload from 5 pods to 3 frees nothing that can be proven: 3 spread shares may hold 3 GPUs.
  model::Plan plan;
  plan.actions.push_back(Scale("small", 5, 3));
  auto sv = ComputeSavings(c.s, plan);
  ASSERT_TRUE(sv.ok());
  EXPECT_EQ(sv->gpus_freed, 0);
}

TEST(ProjectionTest, AFractionComesBackWhereTheFragmentationAwarePolicyPutsIt) {
  // HAMi nodes a, b, c of two GPUs: 0.6 of a GPU on a, 0.3 on b, 0.4 on c (where on each node is unseen: laid out
  // best-fit, one GPU each). Draining c re-places the 0.4: beside the 0.6 on a's first GPU it fills that GPU, and
  // every other choice leaves a sliver no pod of the workload fits. The GPU counts stay exact (a keeps 1 occupied).
  Cluster c;
  c.HamiNode("a", 2);
  c.HamiNode("b", 2);
  c.HamiNode("c", 2);
  c.Pod("six", "six-1", "a", Cluster::Cores(60));
  c.Pod("three", "three-1", "b", Cluster::Cores(30));
  c.Pod("four", "four-1", "c", Cluster::Cores(40));
  const Projection now = ProjectNow(c.s);
  for (const char* n : {"a", "b", "c"}) EXPECT_EQ(NodeOf(now, n).occupied_gpus, 1) << n;
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "c", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("four-1", "c", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const ProjectedPod* moved = nullptr;
  for (const ProjectedPod& p : after->pods) {
    if (p.name.starts_with("four-1")) moved = &p;
  }
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->node, "a");
  EXPECT_EQ(moved->devices, std::vector<std::string>{NodeOf(*after, "a").gpu_keys.at(0)});
  EXPECT_EQ(NodeOf(*after, "a").occupied_gpus, 1);
  EXPECT_EQ(NodeOf(*after, "b").occupied_gpus, 1);
  auto sv = ComputeSavings(c.s, plan);
  ASSERT_TRUE(sv.ok());
  EXPECT_EQ(sv->nodes_released, 1);
  EXPECT_EQ(sv->gpus_freed, 2);
}

TEST(ProjectionTest, AKaiFractionIsAGpuPodAndOnlyKaiNodesTakeIt) {
  // KAI's pods carry their fraction in an annotation and ask for no GPU resource. They hold GPUs all the same (a
  // node with one is not empty), and when one moves only a node running KAI takes it, never the plain node beside.
  Cluster c;
  c.HamiNode("k0", 2);
  c.HamiNode("k1", 1);
  c.Node("plain", 8);
  for (const char* n : {"k0", "k1"}) {
    model::SnapshotNode& sn = c.s.nodes[n[1] == '0' ? 0 : 1];
    sn.node.backend = model::FractionalBackend::kKai;
    sn.node.allocatable.erase("nvidia.com/gpucores");
    sn.node.allocatable["nvidia.com/gpu"] = sn.gpus;
  }
  model::GpuRequest half;
  half.kai_fraction = 0.5;
  c.Pod("a", "a-1", "k0", half);
  c.Pod("b", "b-1", "k1", half);
  const Projection now = ProjectNow(c.s);
  EXPECT_EQ(NodeOf(now, "k1").gpu_pods, 1);
  EXPECT_EQ(NodeOf(now, "k1").occupied_gpus, 1);
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "k1", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("b-1", "k1", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(NodeOf(*after, "k0").gpu_pods, 2);
  EXPECT_EQ(NodeOf(*after, "k0").occupied_gpus, 1);  // beside the other half
  EXPECT_EQ(NodeOf(*after, "plain").gpu_pods, 0);
  // With k0 cordoned too, the plain node's eight free GPUs do not take it: it stays Pending.
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "k0", model::Schedulability{false}, model::Schedulability{true}));
  auto stuck = ProjectPlan(c.s, plan);
  ASSERT_TRUE(stuck.ok());
  EXPECT_EQ(stuck->unplaced_gpu_pods, 1);
}

TEST(ProjectionTest, AFractionThatFitsNoGpuStaysPending) {
  // Two GPUs each 0.7 used: a returning 0.4 fits HAMi's device count (20 per node) but no GPU's room.
  Cluster c;
  c.HamiNode("a", 2);
  c.HamiNode("b", 1);
  c.Pod("seven", "seven-1", "a", Cluster::Cores(70));
  c.Pod("seven", "seven-2", "a", Cluster::Cores(70));
  c.Pod("four", "four-1", "b", Cluster::Cores(40));
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "b", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("four-1", "b", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unplaced_gpu_pods, 1);
  auto sv = ComputeSavings(c.s, plan);
  ASSERT_TRUE(sv.ok());
  EXPECT_EQ(sv->pods_left_pending, 1);
}

TEST(ProjectionTest, AnEmptyPlanSavesNothing) {
  Cluster c;
  c.Node("a", 8);
  c.Node("b", 8);
  c.Pod("x", "x-1", "a", Cluster::Gpus(2));
  auto sv = ComputeSavings(c.s, model::Plan{});
  ASSERT_TRUE(sv.ok()) << sv.status().ToString();
  EXPECT_EQ(sv->gpus_freed, 0);
  EXPECT_EQ(sv->micro_per_hour, 0);
}

TEST(ProjectionTest, DrainingANodeReleasesItWhenTheOthersHaveRoom) {
  Cluster c;
  c.Node("a", 8, 3'000'000);
  c.Node("b", 8, 2'000'000);
  c.Pod("x", "x-1", "a", Cluster::Gpus(2));
  c.Pod("x", "x-2", "a", Cluster::Gpus(2));
  c.Pod("y", "y-1", "b", Cluster::Gpus(2));
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "a", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("x-1", "a", 1));
  plan.actions.push_back(Evict("x-2", "a", 2));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(NodeOf(*after, "a").gpu_pods, 0);
  EXPECT_EQ(NodeOf(*after, "b").occupied_gpus, 6);
  auto sv = ComputeSavings(c.s, plan);
  ASSERT_TRUE(sv.ok());
  EXPECT_EQ(sv->nodes_released, 1);
  EXPECT_EQ(sv->gpus_freed, 8);                     // every GPU of the released node, not just the 4 held
  EXPECT_EQ(sv->micro_per_hour, 8 * 3'000'000);
  EXPECT_EQ(sv->annualized, 8 * 3'000'000LL * 8760);
}

TEST(ProjectionTest, DrainingWithoutRoomLeavesPodsPendingAndReleasesNothingFalsely) {
  Cluster c;
  c.Node("a", 4);
  c.Node("b", 4);
  c.Pod("x", "x-1", "a", Cluster::Gpus(4));
  c.Pod("y", "y-1", "b", Cluster::Gpus(2));
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "a", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("x-1", "a", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unplaced_gpu_pods, 1);
  ASSERT_FALSE(after->notes.empty());
  EXPECT_NE(after->notes.back().find("x-1"), std::string::npos);
}

TEST(ProjectionTest, RequiredAntiAffinityKeepsReplicasApartWhenTheyArePlacedAgain) {
  // Two replicas that must not share a node, on a and b; b is drained. a has GPUs to spare, but the replica from b
  // may not join its sibling there: it stays Pending, and the drain releases nothing.
  Cluster c;
  c.Node("a", 8);
  c.Node("b", 8);
  c.Pod("x", "x-1", "a", Cluster::Gpus(1));
  c.Pod("x", "x-2", "b", Cluster::Gpus(1));
  for (model::Pod& p : c.s.pods) {
    p.labels = {{"app", "x"}};
    p.anti_affinity.hostname = {{{"app", "x"}}};
  }
  model::Plan plan;
  plan.actions.push_back(NodeAction(model::ActionKind::kCordon, "b", model::Schedulability{false}, model::Schedulability{true}));
  plan.actions.push_back(Evict("x-2", "b", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unplaced_gpu_pods, 1);
  EXPECT_NE(after->notes.back().find("anti-affinity"), std::string::npos);
  // Without the rule the replica joins its sibling on a.
  for (model::Pod& p : c.s.pods) p.anti_affinity = {};
  after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unplaced_gpu_pods, 0);
  EXPECT_EQ(NodeOf(*after, "a").gpu_pods, 2);
}

TEST(ProjectionTest, ScalingToZeroFreesTheGpusItHeld) {
  Cluster c;
  c.Node("a", 8);
  c.Pod("idle", "idle-1", "a", Cluster::Gpus(2));
  c.Pod("busy", "busy-1", "a", Cluster::Gpus(1));
  model::Plan plan;
  plan.actions.push_back(Scale("idle", 1, 0));
  auto sv = ComputeSavings(c.s, plan);
  ASSERT_TRUE(sv.ok());
  EXPECT_EQ(sv->gpus_freed, 2);
  EXPECT_EQ(sv->nodes_released, 0);
  ASSERT_EQ(sv->freed.size(), 1u);
  EXPECT_EQ(sv->freed[0].actions, std::vector<std::string>{"a1"});
}

TEST(ProjectionTest, AMigChangeNeedsTheNodeDrainedAndThenAdvertisesTheLayout) {
  Cluster c;
  c.Node("a", 2);
  c.s.nodes[0].node.labels["nvidia.com/mig.strategy"] = "mixed";
  c.Node("b", 8);
  c.Pod("x", "x-1", "a", Cluster::Gpus(1));
  model::Plan plan;
  model::Action cm;
  cm.id = "c1";
  cm.kind = model::ActionKind::kSetConfigMapKey;
  cm.target = {"v1", "ConfigMap", "gpu-operator", "gpuwise-mig-parted", ""};
  model::ConfigMapValue v;
  v.key = "config.yaml";
  v.format = "mig-parted";
  v.mig_layouts["gpuwise-a"] = {{"3g.40gb", 2}, {"1g.10gb", 1}};
  cm.before = model::ConfigMapValue{};
  cm.after = v;
  cm.revert.kind = model::ActionKind::kSetConfigMapKey;
  plan.actions.push_back(cm);
  plan.actions.push_back(NodeAction(model::ActionKind::kSetNodeLabel, "a", model::LabelValue{"nvidia.com/mig.config", std::nullopt},
                                    model::LabelValue{"nvidia.com/mig.config", "gpuwise-a"}));
  auto refused = ProjectPlan(c.s, plan);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("x-1"), std::string::npos);

  plan.actions.insert(plan.actions.begin() + 1, Evict("x-1", "a", 1));
  auto after = ProjectPlan(c.s, plan);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const ProjectedNode& a = NodeOf(*after, "a");
  EXPECT_EQ(a.allocatable.count("nvidia.com/gpu"), 0u);
  EXPECT_EQ(a.allocatable.at("nvidia.com/mig-3g.40gb"), 4);
  EXPECT_EQ(a.allocatable.at("nvidia.com/mig-1g.10gb"), 2);
}

// Random clusters, random drains: whatever the plan, the projection never overcommits a node, a released node has
// no GPU pod, and every displaced pod is either placed or reported.
RC_GTEST_PROP(ProjectionProperty, FractionsPlacedAgainNeverOvercommitAGpu, ()) {
  // HAMi nodes with fractions laid out within every GPU; drain some. Every GPU ends with at most all of itself used,
  // every pod is placed or counted Pending, and a released node holds nothing.
  Cluster c;
  const int nodes = *rc::gen::inRange(2, 6);
  int pods = 0;
  for (int n = 0; n < nodes; ++n) {
    const std::string name = "h" + std::to_string(n);
    c.HamiNode(name, *rc::gen::inRange(1, 5));
    const int count = *rc::gen::inRange(0, 7);
    for (int k = 0; k < count; ++k) {
      c.Pod("f" + std::to_string(pods % 4), "p" + std::to_string(pods), name, Cluster::Cores(*rc::gen::inRange(1, 11) * 10));
      ++pods;
    }
  }
  const Projection now = ProjectNow(c.s);
  for (const ProjectedNode& n : now.nodes) {
    for (int u : FractionalGpuUse(now, n)) RC_PRE(u <= 1000);
  }
  model::Plan plan;
  int e = 0;
  for (int n = 0; n < nodes; ++n) {
    if (!*rc::gen::arbitrary<bool>()) continue;
    const std::string name = "h" + std::to_string(n);
    plan.actions.push_back(NodeAction(model::ActionKind::kCordon, name, model::Schedulability{false}, model::Schedulability{true}));
    for (const model::Pod& p : c.s.pods) {
      if (p.node == name) plan.actions.push_back(Evict(p.name, name, e++));
    }
  }
  auto after = ProjectPlan(c.s, plan);
  RC_ASSERT(after.ok());
  int placed = 0;
  for (const ProjectedPod& p : after->pods) placed += p.node.empty() ? 0 : 1;
  RC_ASSERT(placed + after->unplaced_gpu_pods == pods);
  for (const ProjectedNode& n : after->nodes) {
    const std::vector<int> use = FractionalGpuUse(*after, n);
    for (int u : use) RC_ASSERT(u <= 1000);
    RC_ASSERT(n.occupied_gpus == std::count_if(use.begin(), use.end(), [](int u) { return u > 0; }));
    if (n.cordoned_by_plan) RC_ASSERT(n.gpu_pods == 0);
  }
}

// Draining one more node on top of a projection (ProjectMore) gives what projecting the whole plan with that drain
// gives (ProjectPlan), as long as no pod the plan moved landed on the node drained.
RC_GTEST_PROP(ProjectionProperty, ADrainOnTopEqualsTheWholePlanProjected, ()) {
  Cluster c;
  const int nodes = *rc::gen::inRange(3, 7);
  int pods = 0;
  for (int n = 0; n < nodes; ++n) {
    const std::string name = "h" + std::to_string(n);
    c.HamiNode(name, *rc::gen::inRange(1, 5));
    const int count = *rc::gen::inRange(0, 5);
    for (int k = 0; k < count; ++k) {
      c.Pod("f" + std::to_string(pods % 4), "p" + std::to_string(pods), name, Cluster::Cores(*rc::gen::inRange(1, 11) * 10));
      ++pods;
    }
  }
  auto drain = [&](const std::string& node, int& e) {
    std::vector<model::Action> out = {NodeAction(model::ActionKind::kCordon, node, model::Schedulability{false}, model::Schedulability{true})};
    for (const model::Pod& p : c.s.pods) {
      if (p.node == node) out.push_back(Evict(p.name, node, e++));
    }
    return out;
  };
  int e = 0;
  model::Plan plan;
  for (model::Action& a : drain("h0", e)) plan.actions.push_back(std::move(a));
  auto current = ProjectPlan(c.s, plan);
  RC_ASSERT(current.ok());
  const std::string other = "h" + std::to_string(*rc::gen::inRange(1, nodes));
  for (const ProjectedPod& p : current->pods) RC_PRE(!(p.node == other && p.name.ends_with("~")));
  const std::vector<model::Action> more = drain(other, e);
  std::optional<Projection> incremental = *current;
  RC_ASSERT(ProjectMore(*incremental, more).ok());
  for (const model::Action& a : more) plan.actions.push_back(a);
  auto whole = ProjectPlan(c.s, plan);
  RC_ASSERT(whole.ok());
  RC_ASSERT(incremental->unplaced_gpu_pods == whole->unplaced_gpu_pods);
  RC_ASSERT(incremental->pods.size() == whole->pods.size());
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> where;
  for (const ProjectedPod& p : whole->pods) where[p.name] = {p.node, p.devices};
  for (const ProjectedPod& p : incremental->pods) RC_ASSERT(where.at(p.name) == std::make_pair(p.node, p.devices));
  for (std::size_t i = 0; i < whole->nodes.size(); ++i) RC_ASSERT(incremental->nodes[i].occupied_gpus == whole->nodes[i].occupied_gpus);
  // And only drains are applied on top: anything else is refused before anything changes.
  model::Action scale = Scale("f0", 1, 0);
  const std::size_t before = current->pods.size();
  RC_ASSERT(!ProjectMore(*current, std::vector<model::Action>{more.front(), scale}).ok());
  RC_ASSERT(current->pods.size() == before);
  for (const ProjectedNode& n : current->nodes) RC_ASSERT(!(n.name == other && n.unschedulable));
}

RC_GTEST_PROP(ProjectionProperty, DrainsNeverOvercommit, ()) {
  Cluster c;
  const int nodes = *rc::gen::inRange(1, 6);
  std::vector<int> free(static_cast<std::size_t>(nodes));
  for (int n = 0; n < nodes; ++n) {
    const int gpus = *rc::gen::inRange(1, 9);
    c.Node("n" + std::to_string(n), gpus);
    free[static_cast<std::size_t>(n)] = gpus;
  }
  int pods = 0;
  for (int n = 0; n < nodes; ++n) {
    while (free[static_cast<std::size_t>(n)] > 0 && *rc::gen::inRange(0, 3) > 0) {
      const int g = *rc::gen::inRange(1, free[static_cast<std::size_t>(n)] + 1);
      c.Pod("d" + std::to_string(pods % 3), "p" + std::to_string(pods), "n" + std::to_string(n), Cluster::Gpus(g));
      free[static_cast<std::size_t>(n)] -= g;
      ++pods;
    }
  }
  model::Plan plan;
  int e = 0;
  for (int n = 0; n < nodes; ++n) {
    if (!*rc::gen::arbitrary<bool>()) continue;
    const std::string name = "n" + std::to_string(n);
    plan.actions.push_back(NodeAction(model::ActionKind::kCordon, name, model::Schedulability{false}, model::Schedulability{true}));
    for (const model::Pod& p : c.s.pods) {
      if (p.node == name) plan.actions.push_back(Evict(p.name, name, e++));
    }
  }
  auto after = ProjectPlan(c.s, plan);
  RC_ASSERT(after.ok());
  std::map<std::string, double> used;
  int placed = 0;
  for (const ProjectedPod& p : after->pods) {
    if (p.node.empty()) continue;
    ++placed;
    used[p.node] += p.extended.count("nvidia.com/gpu") ? p.extended.at("nvidia.com/gpu") : 0;
  }
  for (const ProjectedNode& n : after->nodes) {
    RC_ASSERT(used[n.name] <= n.allocatable.at("nvidia.com/gpu"));
    RC_ASSERT(n.occupied_gpus <= n.gpus);
  }
  RC_ASSERT(placed + after->unplaced_gpu_pods == pods);
  auto sv = ComputeSavings(c.s, plan);
  RC_ASSERT(sv.ok());
  for (const model::FreedGpu& f : sv->freed) {
    if (f.node_released) RC_ASSERT(NodeOf(*after, f.node).gpu_pods == 0);
  }
}

}  // namespace
}  // namespace gpuwise::optimize
