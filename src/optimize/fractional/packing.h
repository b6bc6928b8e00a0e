// Packing the cluster: given the GPU nodes and, per pod, the units it may run on (right_size.h), choose each node's
// GPU configuration (exclusive GPUs, one MIG layout for all its GPUs, an MPS share count; or release it) and which
// unit each pod gets, to minimise the dollars per hour of the nodes kept, within the deployment model
// (docs/right-sizing.md "The deployment model"):
// - a node's config applies to every GPU of the node; MIG needs a MIG-capable GPU model; MPS never on MIG, and only
//   on nodes that give whole GPUs now and may not take MIG (where MIG is allowed, a slice of the same size isolates
//   memory bandwidth and faults too);
// - MIG layouts only under the mixed strategy (a pod asks for nvidia.com/mig-<profile>); under single (slices
//   advertised as nvidia.com/gpu) or none only with PackOptions::allow_strategy_change, a cluster-wide change;
// - pods with more than one GPU stay on exclusive GPUs of one node;
// - replicas of one workload on MIG or MPS units go to different nodes (the device plugin picks the GPU inside a node,
//   so only different nodes guarantee different GPUs); on whole GPUs too when a required pod anti-affinity says so
//   (PackItem::spread_nodes), else apart only where the packing leaves room (soft);
// - time-slicing: a node's shares go to pods that need no latency SLO (right_size.h); with N replicas per GPU the
//   device plugin may put any N of the node's pods on one GPU, so the N largest memory needs must fit one GPU (nothing
//   enforces memory) and the N largest compute needs stay within PackOptions::timeslice_compute_budget;
// - HAMi/KAI pods, and pods whose workload cannot be changed, stay where they are (pinned): their nodes keep their
//   config, and what those configs have left is used first.
//
// Method: per GPU model, time-sliced pods first, first-fit decreasing by memory onto the nodes that time-slice already,
// then the cheapest (the node count is bounded below by total memory / node memory, stated in the gap); then an exact
// pattern MIP through MipSolver (CBC): a pattern is a node config with its capacity
// per unit type (a MIG layout x GPUs; an exclusive node's split of its GPUs into the pods' sizes; an MPS node's
// shares); minimise the nodes' price subject to covering every unit type's demand and the replica spread, with at
// most the nodes of each type there are (GPUs break ties: a second solve at that price when node sizes differ); the replica spread is exact (Gale-Ryser rows: for every j, the j largest
// workloads' replicas fit the nodes' slots capped at j). The LP bound is the lower bound; the gap is stated. Patterns are then
// matched to nodes, preferring nodes that already have that config and host those pods (fewest moves), and pods to
// nodes. cpu and memory of nodes are checked when pods are matched; a pod that does not fit stays where it is.
// Pure; thread-safe given a thread-safe solver.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"
#include "optimize/fractional/mig_catalog.h"
#include "optimize/fractional/right_size.h"
#include "optimize/solver.h"

namespace gpuwise::optimize::fractional {

// A node's GPU configuration.
struct NodeConfig {
  UnitKind kind = UnitKind::kWholeGpu;  // kWholeGpu: exclusive GPUs; kMig; kMps; kTimeSlice / kFraction: pinned
  MigCounts layout;                     // kMig: instances per GPU (every GPU of the node the same)
  int replicas = 1;                     // kMps / kTimeSlice: shares per GPU
  int mig_gpus = 0;                     // kMig: the layout is on the first mig_gpus GPUs, the others whole (0: all)
  std::string Describe() const;         // "exclusive", "MIG 3g.40gb x2 + 1g.10gb x1 per GPU", "MPS x4"
  bool operator==(const NodeConfig&) const = default;
};

struct PackNode {
  std::string name;
  std::string gpu_model;          // as the snapshot names it
  int gpus = 0;
  double gpu_memory_bytes = 0;
  std::int64_t micro_per_hour = 0;  // the node's GPU price per hour (all its GPUs)
  const MigGpu* mig = nullptr;      // catalog entry; null: MIG not possible
  std::string mig_strategy;         // "single" | "mixed" | "" (none)
  double cpu_free = 0, memory_free = 0;  // allocatable minus pods that are not placed here (0: not checked)
  NodeConfig current;
  bool available = true;            // false: cordoned or being released by an earlier optimizer
};

struct PackItem {
  std::string pod;                  // "ns/name"
  int workload = -1;
  int node = -1;                    // index into the nodes it runs on now (-1: pending)
  bool movable = true;              // false: pinned to its node and unit
  std::vector<UnitChoice> options;  // feasible units, smallest share first; options[0] is used when movable
  UnitChoice current;
  double cpu = 0, memory_bytes = 0;
  // Replicas of its workload on different nodes whatever the unit (a required pod anti-affinity by hostname that
  // selects them). MIG and MPS units are spread anyway; whole GPUs otherwise only where the packing leaves room.
  bool spread_nodes = false;
};

struct PackOptions {
  bool allow_strategy_change = false;
  MipOptions mip{.time_limit_seconds = 10, .relative_gap = 0, .threads = 1, .log = false, .tight_relaxation = true};
  std::size_t max_patterns = 20'000;  // per GPU model; beyond: the cheapest configs only, and the note says so
  // Time-slicing: pods on one GPU share its compute; with N replicas per GPU the device plugin may put any N of a
  // node's pods on one GPU, so the N largest memory needs must fit the GPU and the N largest compute needs stay
  // within this budget.
  double timeslice_compute_budget = 0.8;
  int max_timeslice_replicas = 16;
};

struct NodeOutcome {
  NodeConfig config;
  bool kept = false;                // hosts pods after the plan
  bool config_changed = false;
  std::vector<int> items;           // PackItem indices placed here
};

struct PackResult {
  std::vector<NodeOutcome> nodes;   // per PackNode
  std::vector<int> item_node;       // per PackItem: node index after packing (-1: unplaced, stays as is)
  std::vector<UnitChoice> item_unit;
  std::int64_t current_micro_per_hour = 0;  // nodes hosting GPU pods now
  std::int64_t micro_per_hour = 0;          // nodes kept after packing
  std::int64_t lower_bound_micro_per_hour = 0;
  double gap = 0;                           // (micro_per_hour - lower bound) / micro_per_hour
  bool optimal = false;                     // every model's MIP proven optimal
  std::vector<std::string> notes;
};

base::Result<PackResult> PackCluster(std::span<const PackNode> nodes, std::span<const PackItem> items, MipSolver& solver,
                                     const PackOptions& options = {});

}  // namespace gpuwise::optimize::fractional
