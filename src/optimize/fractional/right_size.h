// Right-sizing one workload: from its usage profile, its serving engine's demand, its gpuwise.io/ policy (class,
// isolation, SLOs) and its current GPU unit, the units it could run on instead (a whole GPU, a MIG profile, a
// time-slicing or MPS share, a HAMi/KAI fraction), each with the memory and compute it needs there and, where compute
// shrinks, the latency the slice model predicts (slice_latency.h) with its error. Or "unknown", with the reason.
// The cluster packer (packing.h) picks among the feasible units to minimise dollars; this file never looks at other
// workloads or at nodes.
//
// Rules (docs/right-sizing.md):
// - Memory need: the peak framebuffer the workload used on its unit (p100 of the framebuffer share x the unit's
//   memory) times (1 + memory_margin); for engines that reserve memory up front (vLLM gpu_memory_utilization) the real
//   demand (weights + activations + KV cache in use: the peak DeviceInterval::fb_demand_bytes of its devices), never
//   the reservation. Worked number: peak 0.20 of an 80 GiB GPU = 16 GiB, +10% = 17.6 GiB. A reserving engine whose
//   demand was not read has an unknown need: only units with at least the current unit's memory are feasible.
// - Compute need: p95 compute activity (p99 for interactive) x the current unit's SMs, as a share of one whole GPU of
//   its model. Worked number: p95 0.30 on an A100 3g.40gb (42 of 108 SMs) = 0.30 x 42 / 108 = 0.117 of a GPU.
// - No latency SLO: compute is never shrunk: only units with at least the workload's SMs now (time-slicing, which
//   caps nothing, or a larger unit) are feasible, and the decision says so. With an SLO, a unit with fewer SMs (or
//   fewer memory slices) is feasible only when the slice latency model says the SLO still holds with its error bound,
//   from the engine's measured p99 TTFT / TPOT (no measured latency: not feasible, with that reason).
// - Isolation (gpuwise.io/isolation, or the class default): a unit of the same or stronger isolation only
//   (exclusive > mig > mps > timeslice). Time-slicing and HAMi/KAI fractions are timeslice level and give no latency
//   guarantee: never with an SLO.
// - A pod with more than one GPU (tensor parallelism) never moves to MIG, MPS or a share: a CUDA process sees one
//   MIG device.
// - Candidates besides the current unit and a whole GPU: every MIG profile of the same GPU model (not "+me"); a
//   time-slicing share (isolation timeslice, no SLO, compute need <= timeslice_compute_budget); MPS shares 1/N, N in
//   2..max_mps_replicas (isolation mps or timeslice, not from a MIG instance, memory need <= GPU memory / N, compute
//   need <= 1/N, and the SM rule above on 1/N of the GPU's SMs); a HAMi/KAI fraction only for pods that already use
//   one (isolation timeslice, no SLO).
// - gpu_share, what a unit takes of one physical GPU: whole GPUs: gpus; MIG: max(g / 7, memory slices / 8) (A30: of
//   4), since both are taken (A100 3g.40gb: max(0.43, 0.50) = 0.50); MPS: 1/N; time-slicing: max(memory need / GPU
//   memory, compute need / timeslice_compute_budget); fraction: max(memory need / GPU memory, compute need).
// - Resize when the smallest feasible gpu_share is below the current one by at least min_saving (relative); keep
//   otherwise, the reason naming what rules the smaller units out.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/annotations.h"
#include "model/snapshot.h"
#include "optimize/fractional/slice_latency.h"

namespace gpuwise::optimize::fractional {

enum class UnitKind { kWholeGpu, kMig, kTimeSlice, kMps, kFraction };
std::string_view UnitKindName(UnitKind k);  // "whole-gpu", "mig", "time-slice", "mps", "fraction"

// One unit a workload's pods can run on.
struct UnitChoice {
  UnitKind kind = UnitKind::kWholeGpu;
  std::string gpu_model;       // the GPU model it sits on, as the snapshot names it ("NVIDIA A100-SXM4-80GB")
  std::string mig_profile;     // kMig: "3g.40gb"
  int gpus = 1;                // kWholeGpu: devices per pod
  int replicas = 0;            // kTimeSlice/kMps: shares per GPU of the node config it assumes (0: any)
  double gpu_share = 1;        // of one physical GPU it occupies (rules above; whole GPUs: gpus)
  // What one pod needs of the unit: memory (bytes; for time-slicing the sum on one GPU must fit) and compute (share
  // of one whole GPU's SMs at p95: for time-slicing the sum on one GPU stays below timeslice_compute_budget). For a
  // pod of several GPUs both are totals over its GPUs. An unknown memory need records the current unit's memory.
  double memory_bytes = 0;
  double compute_share = 0;
  // Where compute shrinks: the slice model's prediction (slice_latency.h) against the SLO.
  std::optional<double> predicted_ttft_p99_s, predicted_tpot_p99_s, predicted_request_p99_s;
  double error_bound = 0;      // relative: the largest of the predictions an SLO was checked on
  bool relies_on_inferred = false;  // a MIG catalog row marked inferred
  std::vector<std::string> reasons;
  bool operator==(const UnitChoice&) const = default;
};

// For reasons and tables: "whole GPU", "4 whole GPUs", "MIG 3g.40gb", "MPS 1/4", "time-slicing share",
// "fraction 0.30".
std::string UnitLabel(const UnitChoice& u);

enum class SizingStatus { kResize, kKeep, kUnknown };
std::string_view SizingStatusName(SizingStatus s);  // "resize", "keep", "unknown"

struct SizingDecision {
  int workload = -1;                 // Snapshot::workloads index
  SizingStatus status = SizingStatus::kUnknown;
  std::string reason;                // one sentence: why resize, why keep, or why unknown
  UnitChoice current;                // what its pods hold now
  std::vector<UnitChoice> feasible;  // every acceptable unit, the current one included, smallest gpu_share first
  int pods = 0;                      // live pods (replicas)
  std::vector<std::string> evidence;
};

struct RightSizeOptions {
  double memory_margin = 0.10;       // relative, added to the peak framebuffer need (0.10: 20 GiB -> 22 GiB)
  double min_samples = 30;           // fewer compute samples: unknown
  // Time-slicing: the pods' summed p95 compute on one GPU stays below this (contention would slow them).
  double timeslice_compute_budget = 0.8;
  // Resize only when the smallest feasible unit takes at least this share less of a GPU than the current one
  // (0.10: a whole GPU (1.00) resizes to 0.90 or less, never to 0.95).
  double min_saving = 0.10;
  int max_mps_replicas = 8;          // MPS shares tried: 1/2 .. 1/max_mps_replicas
  LatencyOptions latency;            // the slice model's options (slice_latency.h)
};

// Which Snapshot::usage rows each pod holds a device in (by pod index), built once per snapshot so that sizing every
// workload is linear in the snapshot rather than quadratic.
struct UsageIndex {
  std::vector<std::vector<std::uint32_t>> by_pod;
};
UsageIndex IndexUsage(const model::Snapshot& snapshot);

// One workload's decision. `policy` is its resolved gpuwise.io/ policy; `workload_class` its effective class.
SizingDecision RightSize(const model::Snapshot& snapshot, int workload, const model::WorkloadPolicy& policy,
                         model::WorkloadClass workload_class, const RightSizeOptions& options = {},
                         const UsageIndex* index = nullptr);

}  // namespace gpuwise::optimize::fractional
