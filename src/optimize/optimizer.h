// The one table of optimizers, and the run that turns a snapshot and its report into a Plan. Each optimizer is
// named, timed, can be disabled, and may only append actions through a PlanBuilder; savings are then computed once
// for the whole plan (savings.h). Pure: the caller passes the snapshot, ledger and report, and a monotonic clock
// for the timings (null: timings are 0).
// Thread-safety: BuildPlan may run concurrently on different inputs.
#pragma once

#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/cost.h"
#include "analyze/report.h"
#include "model/annotations.h"
#include "model/plan.h"
#include "model/snapshot.h"
#include "optimize/solver.h"

namespace gpuwise::optimize {

// What every optimizer reads.
struct OptimizeInput {
  const model::Snapshot& snapshot;
  const analyze::CostLedger& ledger;
  const analyze::Report& report;
  // Per Snapshot::workloads index: the gpuwise.io/ annotations of its first live pod over its namespace's.
  std::vector<model::WorkloadPolicy> policies;
  // Per Snapshot::workloads index: the report row (nullptr when the report filtered it out).
  std::vector<const analyze::WorkloadRow*> rows;
  // The MIP solver exact packing uses (solve/cbc's adapter in the product); null: optimizers that need one say so.
  MipSolver* solver = nullptr;
  // MIG layouts that the node's MIG strategy does not advertise (single -> mixed) are allowed: a cluster-wide
  // change of the device plugin's flags, reported as such.
  bool allow_strategy_change = false;
};

// Appends actions for one optimizer: ids are given in order ("a1", "a2", ...), the optimizer's name is filled in.
class PlanBuilder {
 public:
  PlanBuilder(model::Plan& plan, model::OptimizerRun& run) : plan_(plan), run_(run) {}
  // Returns the new action's id.
  std::string Add(model::Action action);
  // An "unknown, with a reason" answer or a skipped workload, shown under the plan.
  void Note(std::string text);
  // A plan-wide risk ("changes the cluster's MIG strategy"), shown before the actions.
  void Risk(std::string text);
  // Undo: Mark() before appending, Truncate(mark) to drop what this optimizer appended since (its own check of the
  // plan failed). Risks added since are dropped too.
  struct Mark {
    std::size_t actions = 0, risks = 0;
  };
  Mark Checkpoint() const { return {plan_.actions.size(), plan_.risks.size()}; }
  void Truncate(const Mark& mark);
  // The plan so far: what earlier optimizers of the table already decided (a cordoned node, a workload scaled to 0).
  const model::Plan& plan() const { return plan_; }

 private:
  model::Plan& plan_;
  model::OptimizerRun& run_;
};

struct OptimizerEntry {
  std::string_view name;          // "no-regret"
  std::string_view description;   // one line for `recommend --list-optimizers` and the docs
  bool enabled_by_default = true;
  std::function<void(const OptimizeInput&, PlanBuilder&)> run;
};

// The table, in the order optimizers run (no-regret first: release what nobody uses before re-packing anything).
std::span<const OptimizerEntry> Optimizers();

struct RecommendOptions {
  std::set<std::string> disable;  // optimizer names to skip
  std::set<std::string> only;     // non-empty: run only these
  std::string plan_id;            // "" = derived from the snapshot window
  std::int64_t created_unix_s = 0;
  std::function<std::int64_t()> monotonic_nanos;  // for the timings
};

// Resolves each workload's policy, runs every enabled optimizer of the table in order, validates the plan and
// computes its savings. A plan the projection cannot apply keeps its actions and says why in `risks`.
model::Plan BuildPlan(const OptimizeInput& input, const RecommendOptions& options);

// The policies and report rows an OptimizeInput needs, from the snapshot and report.
std::vector<model::WorkloadPolicy> ResolvePolicies(const model::Snapshot& snapshot);
std::vector<const analyze::WorkloadRow*> RowsByWorkload(const model::Snapshot& snapshot, const analyze::Report& report);

}  // namespace gpuwise::optimize
