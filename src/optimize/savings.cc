#include "optimize/savings.h"

#include <algorithm>
#include <set>

#include "optimize/projection.h"

namespace gpuwise::optimize {
namespace {

constexpr std::int64_t kHoursPerYear = 24 * 365;

// Nodes each action touches: its node, or the nodes its pods (or its workload's pods) ran on before the plan.
std::map<std::string, std::set<std::string>> ActionsByNode(const Projection& now, const model::Plan& plan) {
  std::map<std::string, std::set<std::string>> out;
  for (const model::Action& a : plan.actions) {
    const model::ObjectRef& t = a.target;
    if (t.kind == "Node") {
      out[t.name].insert(a.id);
      continue;
    }
    for (const ProjectedPod& p : now.pods) {
      if (p.namespace_name != t.namespace_name) continue;
      const bool mine = (t.kind == "Pod" && p.name == t.name) || (p.workload.kind == t.kind && p.workload.name == t.name);
      if (mine) out[p.node].insert(a.id);
    }
  }
  return out;
}

}  // namespace

base::Result<model::PlanSavings> ComputeSavings(const model::Snapshot& snapshot, const model::Plan& plan,
                                                bool assume_mixed_strategy) {
  const Projection now = ProjectNow(snapshot);
  ASSIGN_OR_RETURN(Projection after, ProjectPlan(snapshot, plan, assume_mixed_strategy));
  model::PlanSavings sv;
  sv.method =
      "the cluster at the end of the window, and the same cluster with every action applied and every displaced pod "
      "placed again as the scheduler and the device plugin would (docs/recommend.md); GPUs that end with no pod, "
      "at each node's effective price";
  const auto touched = ActionsByNode(now, plan);
  std::set<std::string> freeing;
  for (std::size_t i = 0; i < after.nodes.size(); ++i) {
    const ProjectedNode& b = now.nodes[i];
    const ProjectedNode& a = after.nodes[i];
    model::FreedGpu f;
    f.node = a.name;
    f.node_released = a.cordoned_by_plan && a.gpu_pods == 0;
    f.gpus = f.node_released ? a.gpus : std::max(0, b.occupied_gpus - a.occupied_gpus);
    if (f.gpus == 0) continue;
    f.micro_per_hour = a.price_micro_per_gpu_hour * f.gpus;
    if (a.price_micro_per_gpu_hour == 0) sv.notes.push_back("node " + a.name + " has no price: its freed GPUs count as $0");
    if (auto t = touched.find(a.name); t != touched.end()) f.actions.assign(t->second.begin(), t->second.end());
    freeing.insert(f.actions.begin(), f.actions.end());
    sv.gpus_freed += f.gpus;
    sv.nodes_released += f.node_released ? 1 : 0;
    sv.micro_per_hour += f.micro_per_hour;
    sv.freed.push_back(std::move(f));
  }
  sv.annualized = sv.micro_per_hour * kHoursPerYear;
  // Actions that free nothing themselves enable the ones that depend on them.
  for (const model::Action& a : plan.actions) {
    if (freeing.count(a.id) != 0) continue;
    std::string enables;
    for (const model::Action& b : plan.actions) {
      if (std::find(b.depends_on.begin(), b.depends_on.end(), a.id) != b.depends_on.end()) {
        enables += (enables.empty() ? "" : ", ") + b.id;
      }
    }
    sv.enables[a.id] = enables;
  }
  sv.notes.insert(sv.notes.end(), after.notes.begin(), after.notes.end());
  sv.pods_left_pending = after.unplaced_gpu_pods;
  return sv;
}

}  // namespace gpuwise::optimize
