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

}  // namespace gpuwise::sim
