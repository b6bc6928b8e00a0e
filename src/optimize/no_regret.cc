#include "optimize/no_regret.h"

#include <cmath>
#include <map>

#include "base/format.h"
#include "base/units.h"
#include "optimize/projection.h"

namespace gpuwise::optimize {
namespace {

std::string Usd(std::int64_t micro) { return base::FormatDollars(micro); }

std::string Fixed(double v, int digits) { return base::StrPrintf("%.*f", digits, v); }

// Controllers whose spec.replicas scales the workload.
const char* ApiVersionOfScalable(const std::string& kind) {
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "ReplicaSet") return "apps/v1";
  return nullptr;
}

void ReleaseIdleNodes(const OptimizeInput& in, const NoRegretOptions& o, const Projection& now, PlanBuilder& b) {
  const model::Snapshot& s = in.snapshot;
  for (std::size_t n = 0; n < s.nodes.size(); ++n) {
    const ProjectedNode& pn = now.nodes[n];
    const analyze::NodeCost& cost = in.ledger.nodes[n];
    if (pn.gpu_pods > 0 || pn.unschedulable || pn.gpus == 0) continue;
    if (cost.cost <= 0 || static_cast<double>(cost.unallocated) < o.node_unallocated_share * static_cast<double>(cost.cost)) {
      continue;
    }
    model::Action cordon;
    cordon.kind = model::ActionKind::kCordon;
    cordon.target = {"v1", "Node", "", pn.name, ""};
    cordon.before = model::Schedulability{false};
    cordon.after = model::Schedulability{true};
    cordon.reason = "no pod holds any of its " + std::to_string(pn.gpus) + " GPUs; " + Usd(cost.unallocated) + " of its " +
                    Usd(cost.cost) + " GPU cost" + (s.live ? " per hour" : " in the window") +
                    " is unallocated: cordon it so the node group can remove it";
    cordon.evidence = {"GPU pods on the node at the end of the window: 0",
                       "unallocated share of its GPU cost: " + Fixed(100.0 * static_cast<double>(cost.unallocated) / static_cast<double>(cost.cost), 1) + "%",
                       "price: " + Usd(s.nodes[n].price_micro_per_gpu_hour) + " per GPU-hour (" + s.nodes[n].price_rule + ")"};
    cordon.risk = model::Risk::kLow;
    cordon.revert.kind = model::ActionKind::kUncordon;
    cordon.disruption.text = "none: no pod is moved by the cordon itself";
    const std::string cordon_id = b.Add(std::move(cordon));
    for (const ProjectedPod& p : now.pods) {
      if (p.node != pn.name || p.gpu() || p.owner_kind == "DaemonSet" || p.owner_kind == "Node") continue;
      model::Action evict;
      evict.kind = model::ActionKind::kEvict;
      evict.target = {"v1", "Pod", p.namespace_name, p.name, ""};
      evict.before = model::PodPlacement{pn.name};
      evict.depends_on = {cordon_id};
      evict.reason = "a CPU-only pod keeps GPU node " + pn.name + " up; evicted, " +
                     (p.owner_kind.empty() ? std::string("it is not recreated (a bare pod)") : "its " + p.owner_kind + " recreates it on another node");
      evict.evidence = {"requests no GPU", "cpu request " + Fixed(p.cpu, 2) + " cores"};
      evict.risk = p.owner_kind.empty() ? model::Risk::kHigh : model::Risk::kLow;
      evict.revert = {true, model::ActionKind::kEvict,
                      p.owner_kind.empty() ? "a bare pod is gone once evicted: recreate it from its manifest"
                                           : "nothing to undo: the controller recreated the pod"};
      evict.disruption.pods_restarted = {p.namespace_name + "/" + p.name};
      evict.disruption.expected_seconds = 30;
      evict.disruption.text = "the pod restarts on another node (PodDisruptionBudgets are honoured by the eviction API)";
      b.Add(std::move(evict));
    }
    b.Note("node " + pn.name + ": once empty, remove it from its node group (the cluster autoscaler does this for an "
           "empty node; otherwise by hand)");
  }
}

void ScaleIdleWorkloads(const OptimizeInput& in, const NoRegretOptions& o, const Projection& now, PlanBuilder& b) {
  const model::Snapshot& s = in.snapshot;
  const std::string per = s.live ? " per hour" : " in the window";
  std::map<std::string, int> live;  // workload key -> live pods
  for (const ProjectedPod& p : now.pods) {
    if (p.gpu()) ++live[p.workload.str()];
  }
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const analyze::WorkloadRow* row = in.rows[w];
    if (row == nullptr || row->diagnosis.state != analyze::GpuState::kIdle) continue;
    const model::Workload& wl = s.workloads[w];
    const std::string key = wl.key.str();
    const model::WorkloadPolicy& policy = in.policies[w];
    if (policy.ignore.value) {
      b.Note(key + ": idle, left alone (" + policy.ignore.source + ")");
      continue;
    }
    if (policy.automation.value == model::Automation::kOff) {
      b.Note(key + ": idle, left alone (gpuwise.io/automation=off, " + policy.automation.source + ")");
      continue;
    }
    auto l = live.find(key);
    if (l == live.end() || l->second == 0) continue;  // nothing runs now: nothing to scale
    if (!s.live && row->gpu_hours < o.min_idle_gpu_hours) {
      b.Note(key + ": idle, but only " + Fixed(row->gpu_hours, 2) + " GPU-hours held in the window: too little to act on");
      continue;
    }
    const char* api = ApiVersionOfScalable(wl.key.kind);
    const bool endpoint = !row->engine.empty();
    const std::string what = endpoint ? "a " + row->engine + " endpoint" : "the workload";
    if (api == nullptr) {
      b.Note(key + ": idle (" + Fixed(row->gpus, 2) + " GPUs, " + Usd(row->money.allocated()) + per +
             "), but its controller (" + wl.key.kind + ") has no replica count gpuwise can set: stop it by hand");
      continue;
    }
    model::Action a;
    a.kind = model::ActionKind::kSetReplicas;
    a.target = {api, wl.key.kind, wl.key.namespace_name, wl.key.name, ""};
    a.before = model::ReplicaCount{l->second};
    a.after = model::ReplicaCount{0};
    a.reason = what + " held " + Fixed(row->gpus, 2) + " GPUs and was idle in " +
               Fixed(row->diagnosis.idle_sample_share * 100, 0) + "% of samples; it holds " + Usd(row->money.allocated()) +
               " of GPU" + per + (row->idle_annualized > 0 ? " (" + Usd(row->idle_annualized) + " idle a year)" : std::string()) +
               ": scale it to zero";
    a.evidence = row->diagnosis.evidence;
    if (s.live) {
      a.evidence.push_back("seen in a live view only: confirm over a window (--prometheus --window 7d) before acting");
      a.risk = model::Risk::kHigh;
    }
    if (endpoint && std::isfinite(row->requests_per_hour)) {
      a.evidence.push_back(Fixed(row->requests_per_hour, 2) + " requests per hour over the window");
    }
    if (!s.live) a.risk = endpoint || row->workload_class == "interactive" ? model::Risk::kMedium : model::Risk::kLow;
    a.revert.kind = model::ActionKind::kSetReplicas;
    for (const ProjectedPod& p : now.pods) {
      if (p.workload.str() == key) a.disruption.pods_restarted.push_back(p.namespace_name + "/" + p.name);
    }
    a.disruption.text = "its " + std::to_string(l->second) + " pod(s) stop until it is scaled up again" +
                        (endpoint ? "; callers of the endpoint get errors" : "");
    b.Add(std::move(a));
    if (endpoint) {
      b.Note(key + ": if a HorizontalPodAutoscaler manages it, lower its minReplicas instead (an HPA does not scale "
             "from zero without KEDA)");
    }
  }
}

}  // namespace

void NoRegret(const OptimizeInput& in, const NoRegretOptions& o, PlanBuilder& b) {
  const Projection now = ProjectNow(in.snapshot);
  ReleaseIdleNodes(in, o, now, b);
  ScaleIdleWorkloads(in, o, now, b);
}

}  // namespace gpuwise::optimize
