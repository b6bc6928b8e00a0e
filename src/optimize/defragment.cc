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
                          const std::set<std::string>& touched) {
  std::map<std::string, std::size_t> workload_index;
  for (std::size_t w = 0; w < in.snapshot.workloads.size(); ++w) workload_index[in.snapshot.workloads[w].key.str()] = w;
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

}  // namespace

void Defragment(const OptimizeInput& in, const DefragmentOptions& o, PlanBuilder& b) {
  const model::Snapshot& s = in.snapshot;
  model::Plan trial = b.plan();
  base::Result<Projection> current = ProjectPlan(s, trial, in.allow_strategy_change);
  if (!current.ok()) {
    b.Note("defragment: the plan so far cannot be projected (" + current.status().message() + "): nothing tried");
    return;
  }
  const std::set<std::string> touched = TouchedWorkloads(trial);
  // Candidates: schedulable fractional nodes with GPU pods, and those the plan so far empties (GPU pods now, none
  // after it: a cordon alone releases them). A node empty now is no-regret's to release.
  const Projection now = ProjectNow(s);
  std::vector<std::string> candidates;
  for (std::size_t i = 0; i < current->nodes.size(); ++i) {
    const ProjectedNode& n = current->nodes[i];
    if (n.fractional() && !n.unschedulable && (n.gpu_pods > 0 || now.nodes[i].gpu_pods > 0)) candidates.push_back(n.name);
  }
  if (candidates.empty()) return;
  auto node_of = [](const Projection& pr, const std::string& name) -> const ProjectedNode& {
    return *std::find_if(pr.nodes.begin(), pr.nodes.end(), [&](const ProjectedNode& n) { return n.name == name; });
  };
  // Least used first (the fewest fractions to move), then the dearest, then by name.
  std::map<std::string, int> used;
  for (const std::string& name : candidates) used[name] = UsedMilli(*current, node_of(*current, name));
  std::sort(candidates.begin(), candidates.end(), [&](const std::string& a, const std::string& c) {
    const ProjectedNode& na = node_of(*current, a);
    const ProjectedNode& nc = node_of(*current, c);
    return std::make_tuple(used[a], -na.price_micro_per_gpu_hour * na.gpus, a) <
           std::make_tuple(used[c], -nc.price_micro_per_gpu_hour * nc.gpus, c);
  });
  const std::string per = s.live ? " per hour" : " per hour, at the window's prices";
  int trials = 0, moved_fractions = 0;
  for (const std::string& name : candidates) {
    if (trials >= o.max_trials) {
      b.Note("defragment: stopped after " + std::to_string(trials) + " trial drains (max_trials); " +
             std::to_string(candidates.size() - static_cast<std::size_t>(trials)) + " fractional node(s) not tried");
      break;
    }
    const ProjectedNode& node = node_of(*current, name);
    const bool receives = std::any_of(current->pods.begin(), current->pods.end(),
                                      [&](const ProjectedPod& p) { return p.node == name && p.name.ends_with("~"); });
    if (node.unschedulable || receives) continue;  // a node pods are moved to is not drained
    if (const std::string why = WhyNotMovable(in, *current, node, touched); !why.empty()) {
      b.Note("defragment: node " + name + " stays (" + why + ")");
      continue;
    }
    ++trials;
    model::Plan attempt = trial;
    std::vector<model::Action> actions;
    actions.push_back(NodeCordon(name));
    std::vector<const ProjectedPod*> moving;
    for (const ProjectedPod& p : current->pods) {
      if (p.node != name || p.owner_kind == "DaemonSet" || p.owner_kind == "Node") continue;
      moving.push_back(&p);
      actions.push_back(PodEvict(p, name, o.pod_restart_s));
    }
    for (std::size_t k = 0; k < actions.size(); ++k) {
      actions[k].id = "defrag-trial-" + std::to_string(k);
      if (k > 0) actions[k].depends_on = {actions[0].id};
      attempt.actions.push_back(actions[k]);
    }
    base::Result<Projection> after = ProjectPlan(s, attempt, in.allow_strategy_change);
    if (!after.ok() || after->unplaced_gpu_pods > current->unplaced_gpu_pods || node_of(*after, name).gpu_pods > 0) {
      continue;  // some pod would find no room: the node stays
    }
    // Where the projection puts each pod again, for the evidence.
    std::map<std::string, std::string> lands;  // "ns/name" -> "node (device)"
    for (const ProjectedPod& q : after->pods) {
      if (!q.name.ends_with("~") || q.node.empty()) continue;
      lands[q.namespace_name + "/" + q.name.substr(0, q.name.size() - 1)] =
          q.node + (q.devices.empty() ? std::string() : " (" + q.devices.front() + ")");
    }
    int fractions = 0;
    for (const ProjectedPod* p : moving) fractions += p->fractional ? 1 : 0;
    const std::int64_t node_price = node.price_micro_per_gpu_hour * node.gpus;
    model::Action& cordon = actions[0];
    if (node.gpu_pods == 0) {
      cordon.reason = "node " + name + " runs a fractional backend and the plan so far leaves no GPU pod on it: cordon it "
                      "so the node group can remove it (" + Usd(node_price) + per + ")";
    } else {
      cordon.reason = "node " + name + " runs a fractional backend and uses " + base::StrPrintf("%.2f", used[name] / 1000.0) +
                    " of its " + std::to_string(node.gpus) + " GPUs for " + std::to_string(moving.size()) +
                    " pod(s); gpuwise's placement policy fits them on the backend's other nodes: drain it so the node "
                    "group can remove it (" + Usd(node_price) + per + ")";
    }
    cordon.evidence = {"GPUs in use on the node (fractions summed): " + base::StrPrintf("%.2f", used[name] / 1000.0),
                       "fractional pods moved: " + std::to_string(fractions) + " of " + std::to_string(moving.size())};
    cordon.risk = fractions > 0 ? model::Risk::kMedium : model::Risk::kLow;
    cordon.disruption.text = "none by the cordon itself; the evictions after it restart " + std::to_string(moving.size()) +
                             " pod(s)";
    const std::string cordon_id = b.Add(cordon);
    for (std::size_t k = 1; k < actions.size(); ++k) {
      model::Action& ev = actions[k];
      const std::string pod = ev.target.namespace_name + "/" + ev.target.name;
      ev.depends_on = {cordon_id};
      ev.reason = "node " + name + " is being drained: " + pod +
                  " fits elsewhere; its controller recreates it and the scheduler places it again";
      auto l = lands.find(pod);
      ev.evidence = {l == lands.end() ? "projected to fit on another node" : "projected: lands on " + l->second};
      ev.risk = model::Risk::kMedium;
      b.Add(ev);
    }
    trial = b.plan();
    current = std::move(after);
    moved_fractions += fractions;
  }
  if (moved_fractions > 0) {
    b.Risk("defragment assumes the fractional backend places the returning pods as gpuwise's policy would (on the GPU "
           "that fills best); HAMi's default GPU policy spreads instead: set hami.io/gpu-scheduler-policy=binpack on "
           "those pods (or the scheduler's default) so the drained capacity stays free");
  }
}

}  // namespace gpuwise::optimize
