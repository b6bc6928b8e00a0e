// The what-if: the snapshot's GPU nodes and live pods at the end of the window, and the same cluster with a plan's
// actions applied, as a scheduler and the NVIDIA device plugin would leave it. Savings (savings.h) count what it
// frees; optimizers never score themselves with it. Independent of how any optimizer reasons.
//
// The rules it applies, each the behaviour of the component that would carry the action out:
// - SetResources / SetScheduling on a controller: its pods are recreated with the new values (a rolling update).
// - SetReplicas: fewer pods removes the ones a ReplicaSet would delete first (unscheduled, then the most crowded
//   node of the workload, then the newest); more pods adds copies of the newest one, unscheduled.
// - Cordon / Uncordon: the node takes no new pod / takes them again. Evict: the pod goes; a controller's pod comes
//   back unscheduled, a bare pod does not.
// - SetNodeLabel nvidia.com/mig.config or nvidia.com/device-plugin.config: the node advertises what the named
//   config (from a SetConfigMapKey of the same plan) gives every GPU; a MIG change with GPU pods still on the
//   node is an error of the plan.
// - Then every unscheduled pod is placed, oldest first, on a schedulable node whose allocatable cpu, memory and
//   extended resources still fit it and whose labels match its nodeSelector, preferring the node with the most free
//   GPU capacity (kube-scheduler's default LeastAllocated spreads, so this does not flatter consolidation).
//   A KAI fraction (the gpu-fraction annotation: no GPU resource) only goes to nodes that run KAI. A one-device
//   fraction (HAMi, KAI) that fits a node running a fractional backend is placed there, node and GPU, by gpuwise's
//   online placement policy (fractional/online_placement.h, the one the simulator's scheduler runs),
//   among those nodes, sized as the fraction of a GPU it reserves (the larger of memory and compute).
// Occupied GPUs per node: exclusive GPUs count one each; pods whose devices telemetry named occupy those; other
// shares (time-slicing, MPS) and MIG instances are placed by the device plugin, unseen: ProjectNow packs
// them tightly (n units fill ceil(n / units per GPU) GPUs) and ProjectPlan spreads them (n units occupy min(n, GPUs)),
// so savings, which compare the two, can only be understated by what we cannot see. On nodes with a fractional
// backend, fractions whose GPU is unseen are laid out best-fit (tightly, before and after alike) on what the seen
// ones leave, so a GPU counts as occupied when any fraction is on it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/plan.h"
#include "model/snapshot.h"

namespace gpuwise::optimize {

struct ProjectedPod {
  std::string namespace_name, name;
  model::WorkloadKey workload;
  std::string owner_kind;                      // direct owner's kind ("ReplicaSet", "" for a bare pod)
  std::string node;                            // "" = unscheduled
  std::map<std::string, double> extended;      // nvidia.com/gpu, nvidia.com/mig-3g.40gb, ... per pod
  double cpu = 0, memory_bytes = 0;
  std::map<std::string, std::string> node_selector;
  model::Labels labels;
  model::PodAntiAffinity anti_affinity;        // required, by hostname: honoured when placing
  std::int64_t created_unix_s = 0;
  bool fractional = false;                     // HAMi or KAI fraction: its nvidia.com/gpu are shares, not devices
  double kai_fraction = 0, kai_memory_mib = 0; // KAI's annotations (HAMi's fraction is in `extended`)
  bool kai() const { return kai_fraction > 0 || kai_memory_mib > 0; }
  bool gpu() const { return !extended.empty() || kai(); }
  // Physical GPUs (by device key) this pod holds, when telemetry said so or the projection placed a fraction there;
  // empty = left to the device plugin.
  std::vector<std::string> devices;
  bool devices_placed = false;                 // `devices` are the projection's choice, not telemetry's
};

struct ProjectedNode {
  std::string name;
  int gpus = 0;
  bool unschedulable = false;
  bool cordoned_by_plan = false;
  int replicas = 1;                            // shares per GPU (time-slicing / MPS)
  model::FractionalBackend backend = model::FractionalBackend::kNone;  // HAMi, KAI: fractions placed per GPU
  bool fractional() const { return backend != model::FractionalBackend::kNone; }
  double gpu_memory_mib = 0;
  std::string gpu_model;
  std::vector<std::string> gpu_keys;           // its physical GPUs' device keys, by index ("node/#k" when unseen)
  std::string mig_config;                      // the layout the node is asked for ("" = as it is)
  std::map<std::string, double> allocatable;   // extended resources
  double cpu = 0, memory_bytes = 0;
  model::Labels labels;
  std::int64_t price_micro_per_gpu_hour = 0;
  int occupied_gpus = 0;                       // filled by Occupancy()
  int gpu_pods = 0;
};

struct Projection {
  std::vector<ProjectedNode> nodes;            // the snapshot's GPU nodes, by name
  std::vector<ProjectedPod> pods;              // live pods on them, and pods the plan recreated
  std::vector<std::string> notes;              // pods that could not be placed, unknown configs, ...
  int unplaced_gpu_pods = 0;
};

// The cluster at the end of the snapshot's window.
Projection ProjectNow(const model::Snapshot& snapshot);
// `now` with every action of `plan` applied, then unscheduled pods placed. An error only for a plan that cannot be
// applied at all (an action on an object the snapshot does not have is a note, not an error).
// `assume_mixed_strategy`: a MIG config on a node without the mixed strategy advertises nvidia.com/mig-<profile>, as
// it will once the device plugin's strategy is changed (recommend --allow-strategy-change).
base::Result<Projection> ProjectPlan(const model::Snapshot& snapshot, const model::Plan& plan, bool assume_mixed_strategy = false);

// Applies `more` on top of `projection` (a ProjectPlan result), in place, then places the pods they displace again,
// without re-applying the plan: the result is what ProjectPlan gives for the plan followed by `more`, when `more`
// cordons no node that a pod the plan displaced was placed on. Only Cordon, Uncordon and Evict (InvalidArgument for
// any other kind, before anything changes); notes become those of `more` and of the placement. Pods keep their
// order (an evicted bare pod is removed). For optimizers that try many small changes (defragment).
base::Status ProjectMore(Projection& projection, std::span<const model::Action> more);

// Milli of each GPU (1000 = all of it) the pods on a node with a fractional backend use: pods whose devices telemetry
// named on those; then the others in creation order, on the GPU the projection chose, else best-fit. One entry per
// gpu_keys.
std::vector<int> FractionalGpuUse(const Projection& projection, const ProjectedNode& node);

// Extended resources a pod's GPU request asks of a node ("nvidia.com/gpu": 1, "nvidia.com/mig-1g.10gb": 2).
std::map<std::string, double> ExtendedRequests(const model::GpuRequest& request);
// "1g.10gb+me" -> "nvidia.com/mig-1g.10gb.me" (the device plugin's mixed-strategy name).
std::string MigResourceName(const std::string& profile);

}  // namespace gpuwise::optimize
