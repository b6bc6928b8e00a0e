#include "optimize/defragment.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "optimize/projection.h"

namespace gpuwise::optimize {
namespace {

constexpr std::int64_t kEnd = 1'794'787'200;

// HAMi nodes of two 40 GiB GPUs with fractional pods (percent of one GPU's cores), each pod its own Deployment.
struct Fixture {
  model::Snapshot s;
  analyze::CostLedger ledger;
  analyze::Report report;
  Fixture() {
    s.start_unix_s = s.grid_start_unix_s = kEnd - 3600;
    s.end_unix_s = kEnd;
    s.intervals = 1;
  }
  void Node(const std::string& name, int gpus = 2) {
    model::SnapshotNode n;
    n.node.name = name;
    n.gpus = gpus;
    n.node.backend = model::FractionalBackend::kHami;
    n.node.gpu_memory_mib = 40960;
    n.node.allocatable["nvidia.com/gpu"] = gpus * 10;
    n.node.allocatable["nvidia.com/gpucores"] = gpus * 100;
    n.node.cpu_allocatable = 32;
    n.node.memory_allocatable_bytes = 128e9;
    n.price_micro_per_gpu_hour = 4'000'000;
    s.nodes.push_back(n);
    analyze::NodeCost nc;
    nc.cost = gpus * 4'000'000LL;
    ledger.nodes.push_back(nc);
  }
  void Pod(const std::string& node, const std::string& name, int cores, const std::string& owner = "ReplicaSet") {
    model::Pod p;
    p.namespace_name = "ml";
    p.name = name + "-0";
    p.node = node;
    p.phase = "Running";
    p.created_unix_s = kEnd - 7200 + static_cast<std::int64_t>(s.pods.size());
    model::Container c;
    c.gpu.gpus = 1;
    c.gpu.hami_gpucores_percent = cores;
    c.cpu_request = 2;
    p.containers.push_back(c);
    if (!owner.empty()) p.owners = {{"apps/v1", owner, name + "-abc", ""}, {"apps/v1", "Deployment", name, ""}};
    s.pods.push_back(p);
    model::Workload w;
    w.key = owner.empty() ? model::WorkloadKey{"ml", "Pod", p.name} : model::WorkloadKey{"ml", "Deployment", name};
    w.pods = {static_cast<int>(s.pods.size()) - 1};
    s.workloads.push_back(w);
    s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
  }
  // The last pod's workload was idle all window (no-regret scales it to zero).
  void Idle() {
    analyze::WorkloadRow row;
    row.workload = static_cast<int>(s.workloads.size()) - 1;
    row.namespace_name = "ml";
    row.kind = "Deployment";
    row.name = s.workloads.back().key.name;
    row.gpus = 0.3;
    row.gpu_hours = 100;
    row.diagnosis.state = analyze::GpuState::kIdle;
    row.diagnosis.idle_sample_share = 1;
    report.workloads.push_back(row);
  }
  model::Plan Run(const std::function<void(std::vector<model::WorkloadPolicy>&)>& edit = {},
                  std::set<std::string> only = {"defragment"}) {
    OptimizeInput in{s, ledger, report, ResolvePolicies(s), RowsByWorkload(s, report)};
    if (edit) edit(in.policies);
    RecommendOptions o;
    o.only = std::move(only);
    return BuildPlan(in, o);
  }
};

std::set<std::string> Cordoned(const model::Plan& plan) {
  std::set<std::string> out;
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kCordon) out.insert(a.target.name);
  }
  return out;
}

TEST(DefragmentTest, DrainsDownToTheFewestNodesTheFractionsNeed) {
  // 0.6 + 0.3 on h0, 0.4 on h1, 0.5 + 0.5 on h2: 2.3 GPUs of fractions need three GPUs, so two nodes of two GPUs
  // at the least (no pair of the five fits one GPU together with a third). Draining h1, the least used, reaches it.
  Fixture f;
  for (const char* n : {"h0", "h1", "h2"}) f.Node(n);
  f.Pod("h0", "six", 60);
  f.Pod("h0", "three", 30);
  f.Pod("h1", "four", 40);
  f.Pod("h2", "five-a", 50);
  f.Pod("h2", "five-b", 50);
  const model::Plan plan = f.Run();
  ASSERT_TRUE(model::ValidatePlan(plan).ok()) << model::ValidatePlan(plan).ToString();
  EXPECT_EQ(Cordoned(plan), std::set<std::string>{"h1"});
  int evictions = 0;
  for (const model::Action& a : plan.actions) {
    if (a.kind != model::ActionKind::kEvict) continue;
    ++evictions;
    EXPECT_EQ(a.target.name, "four-0");
    EXPECT_EQ(a.optimizer, "defragment");
  }
  EXPECT_EQ(evictions, 1);
  EXPECT_EQ(plan.savings.nodes_released, 1);
  EXPECT_EQ(plan.savings.gpus_freed, 2);
  EXPECT_EQ(plan.savings.pods_left_pending, 0);
}

TEST(DefragmentTest, LeavesANodeWhosePodsFindNoRoom) {
  // 0.7 on each GPU of h0 and h1: no 0.7 fits beside another, so nothing can be drained.
  Fixture f;
  f.Node("h0");
  f.Node("h1");
  f.Pod("h0", "a", 70);
  f.Pod("h0", "b", 70);
  f.Pod("h1", "c", 70);
  const model::Plan plan = f.Run();
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(plan.savings.gpus_freed, 0);
}

TEST(DefragmentTest, BarePodsAndPoliciesKeepTheirNode) {
  // Nodes of one GPU. h1's 0.2 would fit beside h2's, but it is a bare pod (gone once evicted); h2's 0.2 has
  // automation off; h0's 0.9 fits beside neither.
  Fixture f;
  for (const char* n : {"h0", "h1", "h2"}) f.Node(n, 1);
  f.Pod("h0", "big", 90);
  f.Pod("h1", "bare", 20, /*owner=*/"");
  f.Pod("h2", "kept", 20);
  const model::Plan plan = f.Run([](std::vector<model::WorkloadPolicy>& p) { p[2].automation.value = model::Automation::kOff; });
  EXPECT_TRUE(Cordoned(plan).empty());
  const model::Plan free = f.Run();  // without the policy, h2 drains (h1's bare pod still holds h1)
  EXPECT_EQ(Cordoned(free), std::set<std::string>{"h2"});
}

TEST(DefragmentTest, ANodeThePlanEmptiesIsCordonedWithoutMovingAnything) {
  // no-regret scales h0's only workload to zero: h0 is cordoned, and h1's pod, which h0 could have taken, stays.
  Fixture f;
  f.Node("h0");
  f.Node("h1");
  f.Pod("h0", "stale", 30);
  f.Idle();
  f.Pod("h1", "live", 50);
  const model::Plan plan = f.Run({}, {"no-regret", "defragment"});
  ASSERT_TRUE(model::ValidatePlan(plan).ok()) << model::ValidatePlan(plan).ToString();
  EXPECT_EQ(Cordoned(plan), std::set<std::string>{"h0"});
  for (const model::Action& a : plan.actions) {
    EXPECT_NE(a.kind, model::ActionKind::kEvict) << a.target.name;
    if (a.kind == model::ActionKind::kCordon) {
      EXPECT_EQ(a.risk, model::Risk::kLow);
    }
  }
  EXPECT_TRUE(plan.risks.empty());
  EXPECT_EQ(plan.savings.nodes_released, 1);
}

// Random HAMi clusters: every drain the optimizer keeps holds when the whole plan is projected again (no GPU pod
// left Pending, every drained node released), whatever drains it tried and rolled back in between; and it never
// needs more nodes than it found in use.
RC_GTEST_PROP(DefragmentProperty, KeptDrainsHoldWhenTheWholePlanIsProjected, ()) {
  Fixture f;
  const int nodes = *rc::gen::inRange(2, 7);
  int pods = 0, in_use = 0;
  for (int n = 0; n < nodes; ++n) {
    const std::string name = "h" + std::to_string(n);
    const int gpus = *rc::gen::inRange(1, 4);
    f.Node(name, gpus);
    // Fractions laid out GPU by GPU, each GPU at most full.
    bool any = false;
    for (int g = 0; g < gpus; ++g) {
      int left = 100;
      while (left >= 10 && *rc::gen::inRange(0, 3) > 0) {
        const int cores = *rc::gen::inRange(1, left / 10 + 1) * 10;
        f.Pod(name, "p" + std::to_string(pods++), cores);
        left -= cores;
        any = true;
      }
    }
    in_use += any ? 1 : 0;
  }
  const model::Plan plan = f.Run();
  RC_ASSERT(model::ValidatePlan(plan).ok());
  RC_ASSERT(plan.savings.pods_left_pending == 0);
  const std::set<std::string> drained = Cordoned(plan);
  RC_ASSERT(plan.savings.nodes_released == static_cast<int>(drained.size()));
  RC_ASSERT(static_cast<int>(drained.size()) <= in_use);
}

}  // namespace
}  // namespace gpuwise::optimize
