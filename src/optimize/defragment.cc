#include "optimize/defragment.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "base/format.h"
#include "optimize/projection.h"

namespace gpuwise::optimize {
namespace {

std::string Usd(std::int64_t micro) { return base::FormatDollars(micro); }

// Workloads an earlier action of the plan changes (their pods are recreated or removed by it).
std::set<std::string> TouchedWorkloads(const model::Plan& plan) {
  std::set<std::string> out;
  for (const model::Action& a : plan.actions) {
    const model::ObjectRef& t = a.target;
    if (t.kind == "Node" || t.kind == "Pod" || t.kind == "ConfigMap") continue;
    out.insert(model::WorkloadKey{t.namespace_name, t.kind, t.name}.str());
  }
  return out;
}

// Why the pods on `node` cannot all be moved; "" when they can.
std::string WhyNotMovable(const OptimizeInput& in, const Projection& pr, const ProjectedNode& node,
                          const std::set<std::string>& touched, const std::map<std::string, std::size_t>& workload_index) {
  for (const ProjectedPod& p : pr.pods) {
    if (p.node != node.name) continue;
    const std::string pod = p.namespace_name + "/" + p.name;
    if (p.owner_kind.empty()) return "pod " + pod + " is a bare pod: evicted, it would not come back";
    if (p.owner_kind == "DaemonSet" || p.owner_kind == "Node") continue;  // runs on every node: not in the way
    const std::string key = p.workload.str();
    if (touched.count(key)) return key + " is changed by an earlier optimizer";
    auto w = workload_index.find(key);
    if (w != workload_index.end() && w->second < in.policies.size()) {
      const model::WorkloadPolicy& policy = in.policies[w->second];
      if (policy.ignore.value || policy.automation.value == model::Automation::kOff) {
        return key + "'s policy says leave it (gpuwise.io/automation=off or ignore)";
      }
    }
  }
  return "";
}

int UsedMilli(const Projection& pr, const ProjectedNode& n) {
  const std::vector<int> use = FractionalGpuUse(pr, n);
  return std::accumulate(use.begin(), use.end(), 0);
}

model::Action NodeCordon(const std::string& node) {
  model::Action a;
  a.kind = model::ActionKind::kCordon;
  a.target = {"v1", "Node", "", node, ""};
  a.before = model::Schedulability{false};
  a.after = model::Schedulability{true};
  a.revert.kind = model::ActionKind::kUncordon;
  return a;
}

model::Action PodEvict(const ProjectedPod& p, const std::string& node, double restart_s) {
  model::Action a;
  a.kind = model::ActionKind::kEvict;
  a.target = {"v1", "Pod", p.namespace_name, p.name, ""};
  a.before = model::PodPlacement{node};
  a.revert = {true, model::ActionKind::kEvict, "nothing to undo: its controller recreates the pod"};
  a.disruption.pods_restarted = {p.namespace_name + "/" + p.name};
  a.disruption.expected_seconds = restart_s;
  a.disruption.text = "the pod restarts on another node (PodDisruptionBudgets are honoured by the eviction API)";
  return a;
}

// What a trial drain changes in the what-if, to put it back when the drain is not kept: every node's schedulability
// and counts, and the pods it may touch (those on the node drained, and those not placed).
class Rollback {
 public:
  Rollback(const Projection& pr, const std::string& node) : unplaced_(pr.unplaced_gpu_pods), notes_(pr.notes), size_(pr.pods.size()) {
    for (const ProjectedNode& n : pr.nodes) nodes_.push_back({n.unschedulable, n.cordoned_by_plan, n.occupied_gpus, n.gpu_pods});
    for (std::size_t i = 0; i < pr.pods.size(); ++i) {
      if (pr.pods[i].node.empty() || pr.pods[i].node == node) pods_.emplace_back(i, pr.pods[i]);
    }
  }
  // False when the pods changed in number (a bare pod evicted), which a rollback cannot undo.
  bool Undo(Projection& pr) {
    if (pr.pods.size() != size_) return false;
    for (std::size_t i = 0; i < pr.nodes.size(); ++i) {
      ProjectedNode& n = pr.nodes[i];
      std::tie(n.unschedulable, n.cordoned_by_plan, n.occupied_gpus, n.gpu_pods) = nodes_[i];
    }
    for (auto& [i, p] : pods_) pr.pods[i] = std::move(p);
    pr.unplaced_gpu_pods = unplaced_;
    pr.notes = std::move(notes_);
    return true;
  }

 private:
  std::vector<std::tuple<bool, bool, int, int>> nodes_;
  std::vector<std::pair<std::size_t, ProjectedPod>> pods_;
  int unplaced_;
  std::vector<std::string> notes_;
  std::size_t size_;
};

}  // namespace

void Defragment(const OptimizeInput& in, const DefragmentOptions& o, PlanBuilder& b) {
  const model::Snapshot& s = in.snapshot;
  base::Result<Projection> projected = ProjectPlan(s, b.plan(), in.allow_strategy_change);
  if (!projected.ok()) {
    b.Note("defragment: the plan so far cannot be projected (" + projected.status().message() + "): nothing tried");
    return;
  }
  Projection& current = *projected;  // the what-if so far: the plan, then the drains kept
  const std::set<std::string> touched = TouchedWorkloads(b.plan());
  std::map<std::string, std::size_t> workload_index;
  for (std::size_t w = 0; w < s.workloads.size(); ++w) workload_index[s.workloads[w].key.str()] = w;
  std::map<std::string, std::size_t> node_index;
  for (std::size_t i = 0; i < current.nodes.size(); ++i) node_index[current.nodes[i].name] = i;
  // Candidates: schedulable fractional nodes with GPU pods, and those the plan so far empties (GPU pods now, none
  // after it: a cordon alone releases them). A node empty now is no-regret's to release.
  const Projection now = ProjectNow(s);
  std::vector<std::size_t> candidates;
  std::vector<int> used(current.nodes.size(), 0);
  for (std::size_t i = 0; i < current.nodes.size(); ++i) {
    const ProjectedNode& n = current.nodes[i];
    if (!n.fractional() || n.unschedulable || (n.gpu_pods == 0 && now.nodes[i].gpu_pods == 0)) continue;
    candidates.push_back(i);
    used[i] = UsedMilli(current, n);
  }
  if (candidates.empty()) return;
  // Least used first (the fewest fractions to move), then the dearest, then by name.
  std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t c) {
    const ProjectedNode& na = current.nodes[a];
    const ProjectedNode& nc = current.nodes[c];
    return std::make_tuple(used[a], -na.price_micro_per_gpu_hour * na.gpus, na.name) <
           std::make_tuple(used[c], -nc.price_micro_per_gpu_hour * nc.gpus, nc.name);
  });
  const std::string per = s.live ? " per hour" : " per hour, at the window's prices";
  int trials = 0, moved_fractions = 0;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const ProjectedNode& node = current.nodes[candidates[k]];
    const std::string name = node.name;
    if (trials >= o.max_trials) {
      b.Note("defragment: stopped after " + std::to_string(trials) + " trial drains (max_trials); " +
             std::to_string(candidates.size() - k) + " fractional node(s) not tried");
      break;
    }
    const bool receives = std::any_of(current.pods.begin(), current.pods.end(),
                                      [&](const ProjectedPod& p) { return p.node == name && p.name.ends_with("~"); });
    if (node.unschedulable || receives) continue;  // a node pods are moved to is not drained
    if (const std::string why = WhyNotMovable(in, current, node, touched, workload_index); !why.empty()) {
      b.Note("defragment: node " + name + " stays (" + why + ")");
      continue;
    }
    ++trials;
    std::vector<model::Action> actions;
    actions.push_back(NodeCordon(name));
    int fractions = 0;
    for (const ProjectedPod& p : current.pods) {
      if (p.node != name || p.owner_kind == "DaemonSet" || p.owner_kind == "Node") continue;
      fractions += p.fractional ? 1 : 0;
      actions.push_back(PodEvict(p, name, o.pod_restart_s));
    }
    for (std::size_t a = 0; a < actions.size(); ++a) actions[a].id = "defrag-trial-" + std::to_string(a);
    const int gpu_pods = node.gpu_pods, unplaced = current.unplaced_gpu_pods;
    const std::int64_t node_price = node.price_micro_per_gpu_hour * node.gpus;
    const int gpus = node.gpus;
    // The drain on top of the what-if so far (the plan and the drains already kept), not the whole plan again; put
    // back when some pod would find no room.
    Rollback rollback(current, name);
    const base::Status applied = ProjectMore(current, actions);
    if (!applied.ok() || current.unplaced_gpu_pods > unplaced || current.nodes[node_index.at(name)].gpu_pods > 0) {
      if (!rollback.Undo(current)) {  // cannot happen (no bare pod is evicted): project the plan again
        base::Result<Projection> again = ProjectPlan(s, b.plan(), in.allow_strategy_change);
        if (!again.ok()) return;
        current = std::move(*again);
      }
      continue;
    }
    // Where the projection puts each pod again, for the evidence.
    std::map<std::string, std::string> lands;  // "ns/name" -> "node (device)"
    for (const ProjectedPod& q : current.pods) {
      if (!q.name.ends_with("~") || q.node.empty()) continue;
      lands[q.namespace_name + "/" + q.name.substr(0, q.name.size() - 1)] =
          q.node + (q.devices.empty() ? std::string() : " (" + q.devices.front() + ")");
    }
    const std::size_t moving = actions.size() - 1;
    model::Action& cordon = actions[0];
    if (gpu_pods == 0) {
      cordon.reason = "node " + name + " runs a fractional backend and the plan so far leaves no GPU pod on it: cordon it "
                      "so the node group can remove it (" + Usd(node_price) + per + ")";
    } else {
      cordon.reason = "node " + name + " runs a fractional backend and uses " + base::StrPrintf("%.2f", used[candidates[k]] / 1000.0) +
                      " of its " + std::to_string(gpus) + " GPUs for " + std::to_string(moving) +
                      " pod(s); gpuwise's placement policy fits them on the backend's other nodes: drain it so the node "
                      "group can remove it (" + Usd(node_price) + per + ")";
    }
    cordon.evidence = {"GPUs in use on the node (fractions summed): " + base::StrPrintf("%.2f", used[candidates[k]] / 1000.0),
                       "fractional pods moved: " + std::to_string(fractions) + " of " + std::to_string(moving)};
    cordon.risk = fractions > 0 ? model::Risk::kMedium : model::Risk::kLow;
    cordon.disruption.text = "none by the cordon itself; the evictions after it restart " + std::to_string(moving) + " pod(s)";
    const std::string cordon_id = b.Add(cordon);
    for (std::size_t a = 1; a < actions.size(); ++a) {
      model::Action& ev = actions[a];
      const std::string pod = ev.target.namespace_name + "/" + ev.target.name;
      ev.depends_on = {cordon_id};
      ev.reason = "node " + name + " is being drained: " + pod +
                  " fits elsewhere; its controller recreates it and the scheduler places it again";
      auto l = lands.find(pod);
      ev.evidence = {l == lands.end() ? "projected to fit on another node" : "projected: lands on " + l->second};
      ev.risk = model::Risk::kMedium;
      b.Add(ev);
    }
    moved_fractions += fractions;
  }
  if (moved_fractions > 0) {
    b.Risk("defragment assumes the fractional backend places the returning pods as gpuwise's policy would (on the GPU "
           "that fills best); HAMi's default GPU policy spreads instead: set hami.io/gpu-scheduler-policy=binpack on "
           "those pods (or the scheduler's default) so the drained capacity stays free");
  }
}

}  // namespace gpuwise::optimize
