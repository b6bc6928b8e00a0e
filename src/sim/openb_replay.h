// The FGD paper's experiment (Weng et al., USENIX ATC 2023) replayed on the Alibaba openb trace: the GPU nodes of
// openb_node_list_gpu_node.csv, pods of an openb_pod_list_<trace>.csv offered one at a time in a seeded random order,
// then resampled from the trace (with replacement) until the arrived GPU requests reach `tune` (1.3) of the cluster's
// GPU capacity. Each pod is placed at once by the policy (optimize/fractional/online_placement.h) or fails for good;
// pods never leave. After every pod the allocated GPU share is recorded against the arrived share, and the allocation
// ratio at each arrival level 0..130% is the mean over the pods whose arrival rounds to that level, as the authors'
// analysis scripts bin it (docs/online-placement.md has the protocol and where it comes from).
// Errors: Status values naming the file, line and column; nothing throws. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "optimize/fractional/online_placement.h"
#include "optimize/fractional/unit_placement.h"

namespace gpuwise::sim {

// openb_node_list_*.csv (sn, cpu_milli, memory_mib, gpu, model): every row; nodes without GPUs keep gpus 0.
base::Result<std::vector<optimize::fractional::PlacementNode>> ReadOpenbNodeList(const std::string& path);
base::Result<std::vector<optimize::fractional::PlacementNode>> ParseOpenbNodeList(std::string name, std::string text);
// openb_pod_list_*.csv (cpu_milli, memory_mib, num_gpu, gpu_milli, optional gpu_spec "A|B"): every row, in file order.
base::Result<std::vector<optimize::fractional::PodRequest>> ReadOpenbPodList(const std::string& path);
base::Result<std::vector<optimize::fractional::PodRequest>> ParseOpenbPodList(std::string name, std::string text);

struct ReplayOptions {
  optimize::fractional::PolicyKind policy = optimize::fractional::PolicyKind::kBestFit;
  std::uint64_t seed = 42;
  double tune = 1.3;  // arrived GPU requests stop at this share of the cluster's GPU capacity
};

struct ReplayResult {
  std::vector<double> allocation_by_level;  // index L = 0..100*tune: mean allocated GPU %, NaN when no pod there
  int pods_offered = 0, pods_failed = 0;
  double arrived_percent = 0;               // at the end
  double allocated_percent = 0;             // at the end
  double seconds = 0;                       // wall time of the placement loop
};

// The arrival sequence of one run: the pods in a seeded random order, then uniform resamples of the trace appended
// until the next GPU pod would pass `tune` of `gpu_capacity_milli` (a trace already above it loses random pods
// instead; a trace without GPU pods is not resampled). Indices into `pods`.
std::vector<int> ArrivalOrder(const std::vector<optimize::fractional::PodRequest>& pods, std::int64_t gpu_capacity_milli,
                              double tune, std::uint64_t seed);

// One run. InvalidArgument when there is no GPU node or no pod.
base::Result<ReplayResult> Replay(const std::vector<optimize::fractional::PlacementNode>& nodes,
                                  const std::vector<optimize::fractional::PodRequest>& pods, const ReplayOptions& options);

// The same experiment on a stock cluster (optimize/fractional/unit_placement.h): every GPU node gives units of one
// kind, and the allocation ratio counts the placed pods' requests (gpu_milli x num_gpu), not the units they take, so
// that a unit larger than its pod counts only what the pod asked for.
struct UnitReplayOptions {
  optimize::fractional::UnitPolicyKind policy = optimize::fractional::UnitPolicyKind::kGpuwise;
  std::uint64_t seed = 42;
  double tune = 1.3;
};
struct UnitReplayResult {
  ReplayResult replay;                      // allocation = the placed pods' requests
  double units_percent = 0;                 // the units they took, at the end, % of capacity
};
// The configs of a stock cluster fitted to a trace: each GPU node whole GPUs, or time-slicing with 2, 3 or 4 shares
// per GPU, in proportion to the GPU capacity of the units the trace's pods ask for (a one-GPU pod the smallest of
// 1/4, 1/3, 1/2 or a whole GPU that holds it; other pods whole GPUs), by largest remainder over the nodes' GPUs, in a
// seeded order of the nodes. Nodes without GPUs get "whole".
std::vector<optimize::fractional::UnitConfig> StockConfigs(const std::vector<optimize::fractional::PlacementNode>& nodes,
                                                           const std::vector<optimize::fractional::PodRequest>& pods,
                                                           std::uint64_t seed);
// One run; the arrivals are ArrivalOrder's, as Replay. InvalidArgument when there is no GPU node, no pod, or the
// configs do not match the nodes.
base::Result<UnitReplayResult> ReplayUnits(const std::vector<optimize::fractional::PlacementNode>& nodes,
                                           const std::vector<optimize::fractional::UnitConfig>& configs,
                                           const std::vector<optimize::fractional::PodRequest>& pods,
                                           const UnitReplayOptions& options);

}  // namespace gpuwise::sim
