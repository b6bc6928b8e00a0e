#include "optimize/optimizer.h"

#include "optimize/defragment.h"
#include "optimize/fractional_plan.h"
#include "optimize/no_regret.h"
#include "optimize/savings.h"

namespace gpuwise::optimize {

std::string PlanBuilder::Add(model::Action action) {
  action.id = "a" + std::to_string(plan_.actions.size() + 1);
  action.optimizer = run_.name;
  ++run_.actions;
  plan_.actions.push_back(std::move(action));
  return plan_.actions.back().id;
}

void PlanBuilder::Note(std::string text) { run_.notes.push_back(std::move(text)); }

void PlanBuilder::Risk(std::string text) { plan_.risks.push_back(std::move(text)); }

void PlanBuilder::Truncate(const Mark& mark) {
  if (plan_.actions.size() > mark.actions) {
    run_.actions -= static_cast<int>(plan_.actions.size() - mark.actions);
    plan_.actions.resize(mark.actions);
  }
  if (plan_.risks.size() > mark.risks) plan_.risks.resize(mark.risks);
}

std::span<const OptimizerEntry> Optimizers() {
  static const OptimizerEntry kTable[] = {
      {"no-regret",
       "Release what nobody uses before re-packing anything: nodes with no GPU pod (cordon, move CPU-only pods off), "
       "idle workloads and forgotten serving endpoints (scale to zero)",
       true, [](const OptimizeInput& in, PlanBuilder& b) { NoRegret(in, NoRegretOptions{}, b); }},
      {"fractional",
       "Right-size every workload to a whole GPU or a MIG profile its SLO allows, pack the cluster with an exact "
       "pattern MIP (CBC), and re-partition nodes with the safe rollout (cordon, evict, relabel, wait, uncordon)",
       true, [](const OptimizeInput& in, PlanBuilder& b) {
         FractionalOptions o;
         o.packing.allow_strategy_change = in.allow_strategy_change;
         Fractional(in, o, b);
       }},
      {"defragment",
       "On nodes of a fractional backend (HAMi, KAI), drain each node whose pods gpuwise's online placement policy fits "
       "on the others (cordon, evict), least-used first",
       true, [](const OptimizeInput& in, PlanBuilder& b) { Defragment(in, DefragmentOptions{}, b); }},
  };
  return kTable;
}

std::vector<model::WorkloadPolicy> ResolvePolicies(const model::Snapshot& s) {
  std::vector<model::WorkloadPolicy> out(s.workloads.size());
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::Workload& wl = s.workloads[w];
    if (wl.pods.empty()) continue;
    // The newest pod carries the current template's annotations.
    const model::Pod* pod = &s.pods[static_cast<std::size_t>(wl.pods.front())];
    for (int i : wl.pods) {
      const model::Pod& p = s.pods[static_cast<std::size_t>(i)];
      if (p.created_unix_s > pod->created_unix_s) pod = &p;
    }
    const model::Namespace* ns = nullptr;
    for (const model::Namespace& n : s.namespaces) {
      if (n.name == pod->namespace_name) ns = &n;
    }
    out[w] = model::ResolvePolicy(*pod, ns, model::TeamOptions{});
  }
  return out;
}

std::vector<const analyze::WorkloadRow*> RowsByWorkload(const model::Snapshot& s, const analyze::Report& report) {
  std::vector<const analyze::WorkloadRow*> out(s.workloads.size(), nullptr);
  for (const analyze::WorkloadRow& r : report.workloads) {
    if (r.workload >= 0 && static_cast<std::size_t>(r.workload) < out.size()) out[static_cast<std::size_t>(r.workload)] = &r;
  }
  return out;
}

model::Plan BuildPlan(const OptimizeInput& input, const RecommendOptions& options) {
  model::Plan plan;
  const model::Snapshot& s = input.snapshot;
  plan.snapshot_id = "window-" + std::to_string(s.start_unix_s) + "-" + std::to_string(s.end_unix_s);
  plan.id = options.plan_id.empty() ? "plan-" + std::to_string(s.end_unix_s) : options.plan_id;
  plan.created_unix_s = options.created_unix_s;
  for (const OptimizerEntry& e : Optimizers()) {
    model::OptimizerRun run;
    run.name = std::string(e.name);
    run.enabled = options.disable.count(run.name) == 0 && (options.only.empty() || options.only.count(run.name) != 0) &&
                  (e.enabled_by_default || options.only.count(run.name) != 0);
    plan.optimizers.push_back(run);
    if (!run.enabled) continue;
    model::OptimizerRun& live = plan.optimizers.back();
    const std::int64_t t0 = options.monotonic_nanos ? options.monotonic_nanos() : 0;
    PlanBuilder builder(plan, live);
    e.run(input, builder);
    const std::int64_t t1 = options.monotonic_nanos ? options.monotonic_nanos() : 0;
    live.seconds = static_cast<double>(t1 - t0) / 1e9;
  }
  if (base::Status st = model::ValidatePlan(plan); !st.ok()) {
    // An optimizer wrote a malformed plan: gpuwise's own bug, but the user still gets the plan and the reason.
    plan.risks.push_back("the plan is malformed (" + st.message() + "): do not apply it; please report this");
  }
  auto savings = ComputeSavings(s, plan, input.allow_strategy_change);
  if (savings.ok()) {
    plan.savings = std::move(*savings);
    if (plan.savings.pods_left_pending > 0) {
      plan.risks.push_back(std::to_string(plan.savings.pods_left_pending) +
                           " GPU pod(s) the plan displaces find no node with room once it is applied (see the savings "
                           "notes): do not apply it as it is");
    }
  } else {
    plan.risks.push_back("the plan cannot be applied as written: " + savings.status().message());
  }
  return plan;
}

}  // namespace gpuwise::optimize
