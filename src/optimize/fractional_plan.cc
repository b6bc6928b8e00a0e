#include "optimize/fractional_plan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "base/format.h"
#include "base/units.h"
#include "optimize/projection.h"

namespace gpuwise::optimize {
namespace {

using fractional::NodeConfig;
using fractional::PackItem;
using fractional::PackNode;
using fractional::UnitChoice;
using fractional::UnitKind;

std::string Usd(std::int64_t micro) { return base::FormatDollars(micro); }

std::string Pct(double ratio) { return base::StrPrintf("%.1f%%", ratio * 100); }

bool Patchable(const std::string& kind) { return kind == "Deployment" || kind == "StatefulSet" || kind == "ReplicaSet"; }

// What a unit asks of Kubernetes: the extended resource and its count per pod.
std::pair<std::string, std::string> ResourceOf(const UnitChoice& u) {
  if (u.kind == UnitKind::kMig) return {MigResourceName(u.mig_profile), "1"};
  if (u.kind == UnitKind::kTimeSlice || u.kind == UnitKind::kMps) return {"nvidia.com/gpu.shared", "1"};  // renamed
  return {"nvidia.com/gpu", std::to_string(u.gpus)};
}

std::string UnitText(const UnitChoice& u) {
  switch (u.kind) {
    case UnitKind::kWholeGpu: return std::to_string(u.gpus) + " whole GPU" + (u.gpus > 1 ? "s" : "");
    case UnitKind::kMig: return "MIG " + u.mig_profile;
    case UnitKind::kMps: return "MPS 1/" + std::to_string(u.replicas);
    case UnitKind::kTimeSlice: return "time-sliced share";
    case UnitKind::kFraction: return "fraction";
  }
  return "?";
}

// The node's current configuration from its devices: every GPU with the same MIG layout, all whole GPUs, a sharing
// config; `regular` false when the GPUs differ (some MIG, some not): such a node is left alone.
NodeConfig CurrentConfig(const model::Snapshot& s, int node, bool& regular) {
  const model::SnapshotNode& sn = s.nodes[static_cast<std::size_t>(node)];
  NodeConfig c;
  regular = true;
  if (sn.node.backend != model::FractionalBackend::kNone) {
    c.kind = UnitKind::kFraction;
    return c;
  }
  if (sn.replicas > 1) {
    c.kind = sn.node.sharing_strategy == "mps" ? UnitKind::kMps : UnitKind::kTimeSlice;
    c.replicas = sn.replicas;
    return c;
  }
  std::vector<fractional::MigCounts> layouts;
  for (const model::MigParent& p : s.mig_parents) {
    if (p.node != node) continue;
    fractional::MigCounts counts;
    for (int d : p.instances) ++counts[s.devices[static_cast<std::size_t>(d)].mig_profile];
    layouts.push_back(counts);
  }
  if (layouts.empty()) return c;  // exclusive whole GPUs
  c.kind = UnitKind::kMig;
  c.layout = layouts.front();
  regular = static_cast<int>(layouts.size()) == sn.gpus &&
            std::all_of(layouts.begin(), layouts.end(), [&](const fractional::MigCounts& l) { return l == layouts.front(); });
  return c;
}

std::string GpuModelOf(const model::Snapshot& s, int node) {
  for (const model::Device& d : s.devices) {
    if (d.node == node && !d.model_name.empty()) return d.model_name;
  }
  return s.nodes[static_cast<std::size_t>(node)].node.gpu_product;
}

bool Shared(const NodeConfig& c) { return c.kind == UnitKind::kTimeSlice || c.kind == UnitKind::kMps; }

// The device plugin's config for a sharing node config: "gpuwise-ts-4" (time-slicing, 4 shares per GPU),
// "gpuwise-mps-2".
std::string SharingConfigName(const NodeConfig& c) {
  return std::string(c.kind == UnitKind::kMps ? "gpuwise-mps-" : "gpuwise-ts-") + std::to_string(c.replicas);
}

model::Action NodeAction(model::ActionKind kind, const std::string& node) {
  model::Action a;
  a.kind = kind;
  a.target = {"v1", "Node", "", node, ""};
  return a;
}

// After the node label `label_id`: wait until `until` holds, then uncordon. Returns the uncordon's id.
std::string WaitThenUncordon(PlanBuilder& b, const std::string& label_id, const std::string& node,
                             model::LabelValue until, std::string why, const std::string& config) {
  model::Action wait = NodeAction(model::ActionKind::kWaitForNodeLabel, node);
  wait.after = std::move(until);
  wait.depends_on = {label_id};
  wait.reason = std::move(why);
  wait.revert = {true, model::ActionKind::kWaitForNodeLabel, "nothing to undo"};
  const std::string wait_id = b.Add(std::move(wait));
  model::Action uncordon = NodeAction(model::ActionKind::kUncordon, node);
  uncordon.before = model::Schedulability{true};
  uncordon.after = model::Schedulability{false};
  uncordon.depends_on = {wait_id};
  uncordon.reason = "node " + node + " serves " + config + " now";
  uncordon.revert.kind = model::ActionKind::kCordon;
  return b.Add(std::move(uncordon));
}

}  // namespace

std::string MigConfigName(const fractional::MigCounts& layout, int mig_gpus) {
  if (layout.empty()) return "all-disabled";
  std::string name = "gpuwise";
  for (const auto& [profile, n] : layout) {
    std::string p = profile;
    std::replace(p.begin(), p.end(), '+', '.');
    name += "-" + p + "-x" + std::to_string(n);
  }
  if (mig_gpus > 0) name += "-on-" + std::to_string(mig_gpus);
  return name;
}

void Fractional(const OptimizeInput& in, const FractionalOptions& o, PlanBuilder& b) {
  const model::Snapshot& s = in.snapshot;
  if (in.solver == nullptr) {
    b.Note("no MIP solver was given: cluster packing skipped");
    return;
  }
  // What earlier optimizers decided: cordoned nodes, workloads they changed.
  std::set<std::string> cordoned, touched;
  std::map<std::string, std::string> scaled_to_zero;  // workload key -> the action that scales it to zero
  for (const model::Action& a : b.plan().actions) {
    if (a.kind == model::ActionKind::kCordon) cordoned.insert(a.target.name);
    if (a.target.kind == "Node" || a.target.kind == "Pod") continue;
    const std::string key = a.target.namespace_name + "/" + a.target.kind + "/" + a.target.name;
    touched.insert(key);
    const auto* r = std::get_if<model::ReplicaCount>(&a.after);
    if (a.kind == model::ActionKind::kSetReplicas && r != nullptr && r->replicas == 0) scaled_to_zero[key] = a.id;
  }

  // Nodes.
  std::vector<PackNode> nodes;
  std::vector<bool> reconfigurable;
  std::map<std::string, int> node_index;
  for (std::size_t n = 0; n < s.nodes.size(); ++n) {
    const model::SnapshotNode& sn = s.nodes[n];
    PackNode pn;
    pn.name = sn.node.name;
    pn.gpu_model = GpuModelOf(s, static_cast<int>(n));
    pn.gpus = sn.gpus;
    pn.gpu_memory_bytes = sn.node.gpu_memory_mib * 1048576.0;
    pn.micro_per_hour = sn.price_micro_per_gpu_hour * sn.gpus;
    pn.mig = fractional::FindMigGpu(pn.gpu_model);
    pn.mig_strategy = sn.node.mig_strategy == "none" ? "" : sn.node.mig_strategy;
    bool regular = true;
    pn.current = CurrentConfig(s, static_cast<int>(n), regular);
    pn.cpu_free = sn.node.cpu_allocatable;
    pn.memory_free = sn.node.memory_allocatable_bytes;
    pn.available = !sn.node.unschedulable && cordoned.count(pn.name) == 0 && sn.price_micro_per_gpu_hour > 0 && regular &&
                   (pn.current.kind == UnitKind::kWholeGpu || pn.current.kind == UnitKind::kMig);
    reconfigurable.push_back(pn.available);
    if (!regular) b.Note("node " + pn.name + ": its GPUs are configured differently (some MIG, some not): left as it is");
    if (sn.price_micro_per_gpu_hour == 0) b.Note("node " + pn.name + ": unpriced, left as it is");
    node_index[pn.name] = static_cast<int>(n);
    nodes.push_back(std::move(pn));
  }

  // Decisions, once per workload.
  const fractional::UsageIndex usage_index = fractional::IndexUsage(s);
  std::map<int, fractional::SizingDecision> decisions;
  auto decision_of = [&](int w) -> const fractional::SizingDecision& {
    auto it = decisions.find(w);
    if (it != decisions.end()) return it->second;
    const analyze::WorkloadRow* row = in.rows[static_cast<std::size_t>(w)];
    model::WorkloadClass cls = model::WorkloadClass::kUnknown;
    if (row != nullptr) cls = model::ParseWorkloadClass(row->workload_class).value_or(model::WorkloadClass::kUnknown);
    return decisions.emplace(w, fractional::RightSize(s, w, in.policies[static_cast<std::size_t>(w)], cls, o.sizing, &usage_index)).first->second;
  };

  // Pods: movable ones get the units their decision allows; the others are pinned where they are.
  std::vector<PackItem> items;
  std::vector<int> item_pod;
  const Projection now = ProjectNow(s);
  std::map<std::string, int> pod_index;
  for (std::size_t i = 0; i < s.pods.size(); ++i) pod_index[s.pods[i].namespace_name + "/" + s.pods[i].name] = static_cast<int>(i);
  // Workloads whose pods run on more than one GPU model: one resource change would move them all, and right-sizing
  // is for one model.
  std::map<int, std::set<std::string>> models_of;
  for (const ProjectedPod& p : now.pods) {
    auto ni = node_index.find(p.node);
    if (ni == node_index.end() || !p.gpu()) continue;
    models_of[s.pod_workload[static_cast<std::size_t>(pod_index[p.namespace_name + "/" + p.name])]].insert(
        nodes[static_cast<std::size_t>(ni->second)].gpu_model);
  }
  // Whether a pod's required anti-affinity is about its own replicas only (the packer keeps those apart); a rule that
  // reaches other pods, or one gpuwise does not read, leaves the pod where it is.
  std::map<int, bool> anti_affinity_own;  // workload -> answer, for workloads whose pods have such a rule
  auto anti_affinity_only_own = [&](const model::Pod& pod, int w) {
    auto it = anti_affinity_own.find(w);
    if (it != anti_affinity_own.end()) return it->second;
    bool own = !pod.anti_affinity.other;
    for (std::size_t q = 0; own && q < s.pods.size(); ++q) {
      const model::Pod& other = s.pods[q];
      if (other.end_unix_s != 0 || other.namespace_name != pod.namespace_name || s.pod_workload[q] == w) continue;
      own = !pod.anti_affinity.Selects(other.labels);
    }
    return anti_affinity_own[w] = own;
  };
  std::set<int> noted;
  std::map<std::size_t, std::set<std::string>> scaled_off;  // node -> actions that remove pods from it
  for (const ProjectedPod& p : now.pods) {
    auto ni = node_index.find(p.node);
    if (ni == node_index.end()) continue;
    PackNode& node = nodes[static_cast<std::size_t>(ni->second)];
    const int pod = pod_index[p.namespace_name + "/" + p.name];
    if (!p.gpu()) {
      node.cpu_free -= p.cpu;  // CPU-only pods stay
      node.memory_free -= p.memory_bytes;
      continue;
    }
    const int w = s.pod_workload[static_cast<std::size_t>(pod)];
    const model::Workload& wl = s.workloads[static_cast<std::size_t>(w)];
    if (auto z = scaled_to_zero.find(wl.key.str()); z != scaled_to_zero.end()) {
      // An earlier optimizer removes the pod: its GPUs are free once that action has run.
      scaled_off[static_cast<std::size_t>(ni->second)].insert(z->second);
      continue;
    }
    const fractional::SizingDecision& d = decision_of(w);
    PackItem it;
    it.pod = p.namespace_name + "/" + p.name;
    it.workload = w;
    it.node = ni->second;
    it.current = d.current;
    it.cpu = p.cpu;
    it.memory_bytes = p.memory_bytes;
    std::string why;
    if (touched.count(wl.key.str())) why = "an earlier optimizer already changes it";
    else if (!reconfigurable[static_cast<std::size_t>(ni->second)]) why = "its node is left as it is";
    else if (!Patchable(wl.key.kind)) why = "its controller (" + wl.key.kind + ") is not one gpuwise patches";
    else if (d.status == fractional::SizingStatus::kUnknown) why = "right-sizing is unknown: " + d.reason;
    else if (d.current.kind != UnitKind::kWholeGpu && d.current.kind != UnitKind::kMig) why = "it runs on a share";
    else if (!p.node_selector.empty()) why = "its nodeSelector pins it to some nodes";
    else if (models_of[w].size() > 1) why = "its pods run on " + std::to_string(models_of[w].size()) + " GPU models";
    else if (!s.pods[static_cast<std::size_t>(pod)].anti_affinity.Empty() && !anti_affinity_only_own(s.pods[static_cast<std::size_t>(pod)], w)) {
      why = "its required pod anti-affinity reaches other pods, or is not by hostname";
    }
    it.spread_nodes = s.pods[static_cast<std::size_t>(pod)].anti_affinity.Selects(s.pods[static_cast<std::size_t>(pod)].labels);
    const model::WorkloadPolicy& policy = in.policies[static_cast<std::size_t>(w)];
    if (why.empty() && (policy.ignore.value || policy.automation.value == model::Automation::kOff)) why = "its policy says leave it";
    it.movable = why.empty();
    if (it.movable) {
      // Keep or resize: any feasible unit (a keep decision still lists units of the same share, such as a whole GPU
      // for a full-GPU MIG instance).
      for (const UnitChoice& u : d.feasible) {
        if (u.kind != UnitKind::kFraction) it.options.push_back(u);
      }
      if (it.options.empty()) it.options = {d.current};
      // Equal shares: a whole GPU before a full-GPU MIG instance (more SMs, and any node can give one).
      std::stable_sort(it.options.begin(), it.options.end(), [](const UnitChoice& a, const UnitChoice& b) {
        if (a.gpu_share != b.gpu_share) return a.gpu_share < b.gpu_share;
        return a.kind == UnitKind::kWholeGpu && b.kind != UnitKind::kWholeGpu;
      });
    } else {
      if (noted.insert(w).second) b.Note(wl.key.str() + ": stays where it is (" + why + ")");
      // Its node keeps its config and its resources.
      node.cpu_free -= p.cpu;
      node.memory_free -= p.memory_bytes;
    }
    items.push_back(std::move(it));
    item_pod.push_back(pod);
  }
  bool any_resize = false;
  for (const auto& [w, d] : decisions) {
    any_resize |= d.status == fractional::SizingStatus::kResize;
    if (d.status == fractional::SizingStatus::kKeep && !noted.count(w)) {
      b.Note(s.workloads[static_cast<std::size_t>(w)].key.str() + ": keeps its unit (" + d.reason + ")");
    }
  }

  auto packed = fractional::PackCluster(nodes, items, *in.solver, o.packing);
  if (!packed.ok()) {
    b.Note("cluster packing failed: " + packed.status().message());
    return;
  }
  const fractional::PackResult& r = *packed;
  for (const std::string& n : r.notes) b.Note(n);
  const std::string summary = "the packing needs " + Usd(r.micro_per_hour) + "/h of GPU nodes instead of " +
                              Usd(r.current_micro_per_hour) + "/h (lower bound " + Usd(r.lower_bound_micro_per_hour) +
                              "/h, gap " + Pct(r.gap) + (r.optimal ? ", proven optimal" : "") + ")";
  if (r.micro_per_hour >= r.current_micro_per_hour) {
    b.Note(std::string(any_resize ? "right-sized units found, but " : "") + "no cheaper packing: " + summary);
    return;
  }

  const PlanBuilder::Mark mark = b.Checkpoint();
  // New layouts for the MIG manager.
  model::ConfigMapValue configs;
  configs.key = o.mig_config_key;
  configs.format = "mig-parted";
  std::vector<std::size_t> changed, released;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const fractional::NodeOutcome& out = r.nodes[n];
    if (out.kept && out.config_changed) {
      changed.push_back(n);
      if (out.config.kind == UnitKind::kMig) {
        const std::string name = MigConfigName(out.config.layout, out.config.mig_gpus);
        configs.mig_layouts[name] = std::map<std::string, int>(out.config.layout.begin(), out.config.layout.end());
        if (out.config.mig_gpus > 0) configs.mig_devices[name] = {out.config.mig_gpus, nodes[n].gpus};
      } else if (out.config.kind == UnitKind::kWholeGpu) {
        configs.mig_layouts[MigConfigName({})] = {};
      }
    }
    bool hosts = false;
    for (const PackItem& it : items) hosts |= it.node == static_cast<int>(n);
    if (!out.kept && hosts) released.push_back(n);
  }
  // Sharing configs for the device plugin, one ConfigMap key each (SharingConfigName), the shares renamed
  // nvidia.com/gpu.shared so that whole-GPU pods never land on a share.
  std::map<std::string, NodeConfig> sharing_configs;
  for (std::size_t n : changed) {
    if (Shared(r.nodes[n].config)) sharing_configs.emplace(SharingConfigName(r.nodes[n].config), r.nodes[n].config);
  }
  std::vector<std::string> ready;  // the actions after which the new capacity exists

  // 1. Released nodes take no new pod from now on.
  std::map<std::size_t, std::string> release_cordon;
  for (std::size_t n : released) {
    if (s.nodes[n].node.unschedulable) continue;
    model::Action a = NodeAction(model::ActionKind::kCordon, nodes[n].name);
    a.before = model::Schedulability{false};
    a.after = model::Schedulability{true};
    a.reason = "the packing does not need node " + nodes[n].name + " (" + Usd(nodes[n].micro_per_hour) + "/h): " + summary;
    a.evidence = {"packing: " + summary};
    a.revert.kind = model::ActionKind::kUncordon;
    a.disruption.text = "none by itself: no new pod lands on the node";
    release_cordon[n] = b.Add(std::move(a));
  }
  // 2. The MIG manager's configs.
  std::string config_id;
  if (!configs.mig_layouts.empty()) {
    model::Action a;
    a.kind = model::ActionKind::kSetConfigMapKey;
    a.target = {"v1", "ConfigMap", o.mig_config_namespace, o.mig_config_name, ""};
    model::ConfigMapValue before;
    before.key = o.mig_config_key;
    before.format = "mig-parted";
    a.before = before;
    a.after = configs;
    std::string names;
    for (const auto& [name, layout] : configs.mig_layouts) names += (names.empty() ? "" : ", ") + name;
    a.reason = "adds the MIG layouts the packing uses to the MIG manager's configs: " + names;
    a.revert.kind = model::ActionKind::kSetConfigMapKey;
    a.disruption.text = "none: the MIG manager applies a config only to nodes labelled with it";
    config_id = b.Add(std::move(a));
  }
  std::vector<std::string> not_mixed;
  for (std::size_t n : changed) {
    if (r.nodes[n].config.kind == UnitKind::kMig && nodes[n].mig_strategy != "mixed") not_mixed.push_back(nodes[n].name);
  }
  if (!not_mixed.empty()) {
    std::string names;
    for (const std::string& n : not_mixed) names += (names.empty() ? "" : ", ") + n;
    b.Risk("the MIG layouts on " + names + " need the device plugin's MIG strategy 'mixed' (ClusterPolicy "
           "spec.mig.strategy): a cluster-wide change, to make before this plan (--allow-strategy-change)");
  }
  // Workloads whose unit changes.
  std::map<int, UnitChoice> new_unit;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].movable && !(r.item_unit[i] == items[i].current) && r.item_unit[i].gpu_model == items[i].current.gpu_model) {
      new_unit.emplace(items[i].workload, r.item_unit[i]);
    }
  }
  std::vector<std::string> sharing_ids;
  for (const auto& [name, config] : sharing_configs) {
    const bool mps = config.kind == UnitKind::kMps;
    const int replicas = config.replicas;
    model::Action a;
    a.kind = model::ActionKind::kSetConfigMapKey;
    a.target = {"v1", "ConfigMap", o.sharing_config_namespace, o.sharing_config_name, ""};
    model::ConfigMapValue before, after;
    before.key = after.key = name;
    before.format = after.format = "device-plugin";
    after.sharing[name] = {mps ? "mps" : "time-slicing", replicas};
    after.sharing_rename[name] = true;
    a.before = before;
    a.after = after;
    a.reason = "adds the device plugin's " + std::string(mps ? "MPS" : "time-slicing") + " config " + name + " (" +
               std::to_string(replicas) + " shares per GPU" +
               (mps ? ", each limited to 1/" + std::to_string(replicas) + " of the memory and the SMs" : "") +
               ", advertised as nvidia.com/gpu.shared)";
    a.revert.kind = model::ActionKind::kSetConfigMapKey;
    a.disruption.text = "none: the device plugin applies a config only to nodes labelled with it";
    sharing_ids.push_back(b.Add(std::move(a)));
  }
  // 3. Nodes whose configuration changes take no new pod during the change.
  std::map<std::size_t, std::string> change_cordon;
  for (std::size_t n : changed) {
    const PackNode& node = nodes[n];
    const fractional::NodeOutcome& out = r.nodes[n];
    model::Action cordon = NodeAction(model::ActionKind::kCordon, node.name);
    cordon.before = model::Schedulability{s.nodes[n].node.unschedulable};
    cordon.after = model::Schedulability{true};
    cordon.reason = "node " + node.name + " changes from " + node.current.Describe() + " to " + out.config.Describe() +
                    ": no new pod may land during the change";
    cordon.revert.kind = model::ActionKind::kUncordon;
    cordon.disruption.text = "none by itself";
    change_cordon[n] = b.Add(std::move(cordon));
  }
  // 4. Evictions: every GPU pod of a node being re-partitioned, and the pods of released nodes whose unit stays (a
  // rolling update moves the others). Largest pods first: the scheduler takes pods in creation order, and a pod that
  // needs several GPUs of one node must not find them taken by small ones.
  std::vector<std::size_t> leaving;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].node < 0) continue;
    const std::size_t n = static_cast<std::size_t>(items[i].node);
    const bool relaid = change_cordon.count(n) != 0;
    const bool released_here = std::find(released.begin(), released.end(), n) != released.end();
    if (relaid || (released_here && !new_unit.count(items[i].workload))) leaving.push_back(i);
  }
  std::stable_sort(leaving.begin(), leaving.end(), [&](std::size_t a, std::size_t b2) {
    return std::max(items[a].current.gpus, 1) > std::max(items[b2].current.gpus, 1);
  });
  std::map<std::size_t, std::vector<std::string>> evicted_from;  // node -> eviction ids
  for (std::size_t i : leaving) {
    const std::size_t n = static_cast<std::size_t>(items[i].node);
    const bool relaid = change_cordon.count(n) != 0;
    model::Action ev;
    ev.kind = model::ActionKind::kEvict;
    const std::string& pod = items[i].pod;
    const auto slash = pod.find('/');
    ev.target = {"v1", "Pod", pod.substr(0, slash), pod.substr(slash + 1), ""};
    ev.before = model::PodPlacement{nodes[n].name};
    ev.depends_on = {relaid ? change_cordon[n] : release_cordon.count(n) ? release_cordon[n] : std::string()};
    if (ev.depends_on.front().empty()) ev.depends_on.clear();
    const bool to_shares = relaid && Shared(r.nodes[n].config);
    ev.reason = !relaid   ? "moves off " + nodes[n].name + ", which the packing releases"
                : to_shares ? "node " + nodes[n].name + " changes to " + r.nodes[n].config.Describe() + ": its whole-GPU pods move first"
                            : "the MIG manager needs the GPUs of " + nodes[n].name + " free to re-partition them";
    ev.risk = model::Risk::kMedium;
    ev.revert = {true, model::ActionKind::kEvict, "nothing to undo: its controller recreates the pod"};
    ev.disruption.pods_restarted = {pod};
    const double seconds = o.pod_restart_s + (relaid ? o.mig_reconfigure_s : 0);
    ev.disruption.expected_seconds = seconds;
    ev.disruption.text = "the pod restarts on a node with room (about " + std::to_string(static_cast<int>(seconds)) +
                         " s, longer if it waits for the re-partitioned node); PodDisruptionBudgets are honoured";
    evicted_from[n].push_back(b.Add(std::move(ev)));
  }
  // 5. Per node whose configuration changes: the MIG manager's (or the device plugin's) part of the rollout.
  for (std::size_t n : changed) {
    const PackNode& node = nodes[n];
    const fractional::NodeOutcome& out = r.nodes[n];
    if (Shared(out.config)) {
      const std::string name = SharingConfigName(out.config);
      const std::string replicas = std::to_string(out.config.replicas);
      model::Action label = NodeAction(model::ActionKind::kSetNodeLabel, node.name);
      const std::string& old = s.nodes[n].node.device_plugin_config;
      label.before = model::LabelValue{"nvidia.com/device-plugin.config", old.empty() ? std::nullopt : std::optional(old)};
      label.after = model::LabelValue{"nvidia.com/device-plugin.config", name};
      label.depends_on = {change_cordon[n]};
      label.depends_on.insert(label.depends_on.end(), scaled_off[n].begin(), scaled_off[n].end());
      label.depends_on.insert(label.depends_on.end(), sharing_ids.begin(), sharing_ids.end());
      label.depends_on.insert(label.depends_on.end(), evicted_from[n].begin(), evicted_from[n].end());
      label.reason = out.config.kind == UnitKind::kMps
                         ? "asks the device plugin for " + replicas + " MPS shares per GPU on " + node.name +
                               " (each pod limited to 1/" + replicas + " of the GPU's memory and SMs, which its need fits)"
                         : "asks the device plugin for " + replicas + " time-sliced shares per GPU on " + node.name +
                               " (no memory isolation: the pods' memory needs, the largest " + replicas +
                               " together, fit one GPU)";
      label.revert.kind = model::ActionKind::kSetNodeLabel;
      label.disruption.text = "the device plugin restarts on the node; running pods keep their GPUs";
      ready.push_back(WaitThenUncordon(b, b.Add(std::move(label)), node.name,
                                       {"nvidia.com/gpu.replicas", replicas},
                                       "GPU feature discovery reports the new share count before pods use it",
                                       out.config.Describe()));
      continue;
    }
    const std::string name =
        out.config.kind == UnitKind::kMig ? MigConfigName(out.config.layout, out.config.mig_gpus) : MigConfigName({});
    std::vector<std::string> deps = {change_cordon[n]};
    deps.insert(deps.end(), scaled_off[n].begin(), scaled_off[n].end());  // their pods leave the GPUs first
    if (!config_id.empty()) deps.push_back(config_id);
    deps.insert(deps.end(), evicted_from[n].begin(), evicted_from[n].end());
    // The MIG manager reports on its own label; clearing the last report first makes the wait below see this
    // change's outcome, not the previous success.
    model::Action clear = NodeAction(model::ActionKind::kSetNodeLabel, node.name);
    auto old_state = s.nodes[n].node.labels.find("nvidia.com/mig.config.state");
    clear.before = model::LabelValue{"nvidia.com/mig.config.state", old_state == s.nodes[n].node.labels.end()
                                                                        ? std::nullopt
                                                                        : std::optional(old_state->second)};
    clear.after = model::LabelValue{"nvidia.com/mig.config.state", std::nullopt};
    clear.depends_on = deps;
    clear.reason = "clears the MIG manager's last report on " + node.name + " so that the wait sees this change's outcome";
    clear.revert = {true, model::ActionKind::kSetNodeLabel, "nothing to undo: the MIG manager writes the label again"};
    deps = {b.Add(std::move(clear))};
    model::Action label = NodeAction(model::ActionKind::kSetNodeLabel, node.name);
    label.before = model::LabelValue{"nvidia.com/mig.config", s.nodes[n].node.mig_config.empty() ? std::nullopt
                                                                                                   : std::optional(s.nodes[n].node.mig_config)};
    label.after = model::LabelValue{"nvidia.com/mig.config", name};
    label.depends_on = deps;
    label.reason = "asks the MIG manager for " + out.config.Describe() + " on every GPU of " + node.name;
    label.evidence = {"GPU " + node.gpu_model + (node.mig != nullptr && node.mig->AnyInferred() ? " (some catalog rows are inferred)" : "")};
    if (node.mig != nullptr && out.config.kind == UnitKind::kMig && fractional::AnyInferred(*node.mig, out.config.layout)) {
      label.risk = model::Risk::kMedium;
      for (const std::string& f : fractional::InferredFacts(*node.mig, out.config.layout)) label.evidence.push_back("inferred: " + f);
    }
    label.revert.kind = model::ActionKind::kSetNodeLabel;
    label.disruption.text = "the GPUs reset while the MIG manager re-partitions them (about " +
                            std::to_string(static_cast<int>(o.mig_reconfigure_s)) + " s)";
    label.disruption.expected_seconds = o.mig_reconfigure_s;
    ready.push_back(WaitThenUncordon(
        b, b.Add(std::move(label)), node.name, {"nvidia.com/mig.config.state", "success"},
        "the MIG manager reports success before pods use the new layout (failed: stop and revert the label)",
        out.config.Describe()));
  }
  // 6. Workloads whose unit changes: their controller asks for the new unit (a rolling update).
  std::vector<std::string> resized;
  for (const auto& [w, unit] : new_unit) {
    const model::Workload& wl = s.workloads[static_cast<std::size_t>(w)];
    const fractional::SizingDecision& d = decisions.at(w);
    const model::Pod& pod = s.pods[static_cast<std::size_t>(wl.pods.front())];
    std::string container;
    for (const model::Container& c : pod.containers) {
      if (!c.gpu.Empty()) container = c.name;
    }
    model::Action a;
    a.kind = model::ActionKind::kSetResources;
    a.target = {"apps/v1", wl.key.kind, wl.key.namespace_name, wl.key.name, container};
    const auto [old_res, old_n] = ResourceOf(d.current);
    const auto [new_res, new_n] = ResourceOf(unit);
    model::ResourceValues before, after;
    before.requests[old_res] = old_n;
    before.limits[old_res] = old_n;
    after.requests[new_res] = new_n;
    after.limits[new_res] = new_n;
    a.before = before;
    a.after = after;
    a.depends_on = ready;
    if (!config_id.empty() && ready.empty()) a.depends_on = {config_id};
    a.reason = "from " + UnitText(d.current) + " to " + UnitText(unit) + ": " + d.reason;
    a.evidence = d.evidence;
    for (const std::string& why : unit.reasons) a.evidence.push_back(why);
    if (unit.predicted_ttft_p99_s || unit.predicted_tpot_p99_s || unit.predicted_request_p99_s) {
      a.risk = model::Risk::kMedium;
    }
    if (unit.relies_on_inferred) a.risk = model::Risk::kHigh;
    a.revert.kind = model::ActionKind::kSetResources;
    for (int p : wl.pods) {
      const model::Pod& wp = s.pods[static_cast<std::size_t>(p)];
      if (wp.end_unix_s == 0) a.disruption.pods_restarted.push_back(wp.namespace_name + "/" + wp.name);
    }
    a.disruption.expected_seconds = o.pod_restart_s;
    a.disruption.text = "a rolling update: each pod is replaced by one on " + UnitText(unit) + " (about " +
                        std::to_string(static_cast<int>(o.pod_restart_s)) + " s each, as the update strategy allows)";
    resized.push_back(b.Add(std::move(a)));
  }
  // The packing says where pods should go; the scheduler decides where they go. Check the plan the way its savings
  // will be computed (projection.h: the scheduler's spreading, pods in creation order) and keep it only if every
  // pod it displaces finds a node.
  auto check = ProjectPlan(s, b.plan(), in.allow_strategy_change);
  if (!check.ok() || check->unplaced_gpu_pods > 0) {
    b.Truncate(mark);
    b.Note("the packing (" + summary + ") is not proposed: carried out by the scheduler's own placement it would " +
           (check.ok() ? "leave " + std::to_string(check->unplaced_gpu_pods) + " GPU pod(s) Pending"
                       : "not apply (" + check.status().message() + ")"));
    return;
  }
  for (std::size_t n : released) {
    b.Note("node " + nodes[n].name + ": once empty, remove it from its node group (" + Usd(nodes[n].micro_per_hour) + "/h)");
  }
  b.Note("packing: " + summary + (r.optimal ? "" : "; not proven optimal"));
}

}  // namespace gpuwise::optimize
