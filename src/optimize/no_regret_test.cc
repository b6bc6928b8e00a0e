#include "optimize/no_regret.h"

#include <gtest/gtest.h>

namespace gpuwise::optimize {
namespace {

constexpr std::int64_t kEnd = 1'794'787'200;

// Two 8-GPU nodes: "empty" runs only a CPU pod and a DaemonSet pod; "busy" runs an idle Deployment (2 GPUs), an
// idle Job (1 GPU) and a busy Deployment (4 GPUs).
struct Fixture {
  model::Snapshot s;
  analyze::CostLedger ledger;
  analyze::Report report;
  Fixture() {
    s.start_unix_s = s.grid_start_unix_s = kEnd - 24 * 3600;
    s.end_unix_s = kEnd;
    s.intervals = 24;
    for (const char* name : {"empty", "busy"}) {
      model::SnapshotNode n;
      n.node.name = name;
      n.gpus = 8;
      n.node.allocatable["nvidia.com/gpu"] = 8;
      n.price_micro_per_gpu_hour = 4'000'000;
      s.nodes.push_back(n);
      analyze::NodeCost nc;
      nc.cost = 8 * 24 * 4'000'000LL;
      nc.unallocated = std::string(name) == "empty" ? nc.cost : 0;
      ledger.nodes.push_back(nc);
    }
    Pod("empty", "web", "ReplicaSet", "Deployment", "web", 0);
    Pod("empty", "dcgm", "DaemonSet", "DaemonSet", "dcgm", 0);
    Pod("busy", "chat", "ReplicaSet", "Deployment", "chat", 2, "vllm");
    Pod("busy", "sweep", "Job", "Job", "sweep", 1);
    Pod("busy", "train", "ReplicaSet", "Deployment", "train", 4);
  }
  void Pod(const std::string& node, const std::string& name, const std::string& owner, const std::string& top_kind,
           const std::string& top, int gpus, const std::string& engine = "") {
    model::Pod p;
    p.namespace_name = "ml";
    p.name = name + "-0";
    p.node = node;
    p.phase = "Running";
    model::Container c;
    c.gpu.gpus = gpus;
    c.cpu_request = 2;
    p.containers.push_back(c);
    p.owners = {{"apps/v1", owner, top + (owner == top_kind ? "" : "-abc"), ""}};
    if (owner != top_kind) p.owners.push_back({"apps/v1", top_kind, top, ""});
    p.engine.name = engine;
    s.pods.push_back(p);
    model::Workload w;
    w.key = {"ml", top_kind, top};
    w.pods = {static_cast<int>(s.pods.size()) - 1};
    s.workloads.push_back(w);
    s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
    analyze::WorkloadRow row;
    row.workload = static_cast<int>(s.workloads.size()) - 1;
    row.namespace_name = "ml";
    row.kind = top_kind;
    row.name = top;
    row.engine = engine;
    row.gpus = gpus;
    row.gpu_hours = gpus * 24.0;
    row.diagnosis.state = top == "train" || gpus == 0 ? analyze::GpuState::kBusy : analyze::GpuState::kIdle;
    row.diagnosis.idle_sample_share = 0.97;
    row.diagnosis.evidence = {"compute p95 0.4%"};
    report.workloads.push_back(row);
  }
  model::Plan Run(const std::function<void(std::vector<model::WorkloadPolicy>&)>& edit = {}) {
    OptimizeInput in{s, ledger, report, ResolvePolicies(s), RowsByWorkload(s, report)};
    if (edit) edit(in.policies);
    RecommendOptions o;
    o.only = {"no-regret"};
    return BuildPlan(in, o);
  }
};

TEST(NoRegretTest, ReleasesTheEmptyNodeAndScalesIdleDeploymentsOnly) {
  Fixture f;
  const model::Plan plan = f.Run();
  ASSERT_TRUE(model::ValidatePlan(plan).ok()) << model::ValidatePlan(plan).ToString();
  std::vector<std::string> got;
  for (const model::Action& a : plan.actions) got.push_back(std::string(model::ActionKindName(a.kind)) + " " + a.target.name);
  // The CPU-only pod is evicted after the cordon; the DaemonSet pod stays; the idle Deployment scales to zero; the
  // idle Job cannot be scaled (a note); the busy Deployment is untouched.
  EXPECT_EQ(got, (std::vector<std::string>{"Cordon empty", "Evict web-0", "SetReplicas chat"}));
  EXPECT_EQ(plan.actions[1].depends_on, std::vector<std::string>{"a1"});
  EXPECT_EQ(std::get<model::ReplicaCount>(plan.actions[2].before).replicas, 1);
  bool job_note = false;
  for (const std::string& n : plan.optimizers.front().notes) job_note |= n.find("ml/Job/sweep") != std::string::npos;
  EXPECT_TRUE(job_note);
  // Savings from the projection: the released node's 8 GPUs and the idle endpoint's 2, at $4/GPU-hour.
  EXPECT_EQ(plan.savings.gpus_freed, 10);
  EXPECT_EQ(plan.savings.nodes_released, 1);
  EXPECT_EQ(plan.savings.micro_per_hour, 10 * 4'000'000);
  EXPECT_TRUE(plan.risks.empty());
}

TEST(NoRegretTest, AutomationOffAndIgnoreAreHonoured) {
  Fixture f;
  const model::Plan plan = f.Run([](std::vector<model::WorkloadPolicy>& p) {
    for (model::WorkloadPolicy& w : p) w.automation.value = model::Automation::kOff;
  });
  for (const model::Action& a : plan.actions) EXPECT_NE(a.kind, model::ActionKind::kSetReplicas);
  const model::Plan ignored = f.Run([](std::vector<model::WorkloadPolicy>& p) {
    for (model::WorkloadPolicy& w : p) w.ignore.value = true;
  });
  for (const model::Action& a : ignored.actions) EXPECT_NE(a.kind, model::ActionKind::kSetReplicas);
}

TEST(NoRegretTest, ANodeEmptiedJustNowIsNotReleased) {
  Fixture f;
  f.ledger.nodes[0].unallocated = f.ledger.nodes[0].cost / 10;  // held for 90% of the window
  const model::Plan plan = f.Run();
  for (const model::Action& a : plan.actions) EXPECT_NE(a.kind, model::ActionKind::kCordon);
}

}  // namespace
}  // namespace gpuwise::optimize
