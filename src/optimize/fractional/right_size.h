// Right-sizing one workload: from its usage profile, its serving engine's demand, its gpuwise.io/ policy (class,
// isolation, SLOs) and its current GPU unit, the units it could run on instead (a whole GPU, a MIG profile, a
// time-slicing or MPS share, a HAMi/KAI fraction), each with the memory and compute it needs there and, where compute
// shrinks, the latency the slice model predicts (slice_latency.h) with its error. Or "unknown", with the reason.
// The cluster packer (packing.h) picks among the feasible units to minimise dollars; this file never looks at other
// workloads or at nodes.
//
// Rules (docs/right-sizing.md):
// - Memory need: the peak framebuffer the workload used on its unit (p100 of the framebuffer share x the unit's
//   memory) plus a margin; for engines that reserve memory up front (vLLM gpu_memory_utilization) the real demand
//   (weights + activations + KV cache in use, from fb_demand), never the reservation.
// - Compute need: p95 compute activity (p99 for interactive) scaled to the target unit's SMs.
// - No latency SLO: compute is never shrunk: only units that keep the workload's SMs (time-slicing, which caps
//   nothing) or a larger unit are feasible, and the decision says so.
// - Isolation (gpuwise.io/isolation, or the class default): a unit of the same or stronger isolation only
//   (exclusive > mig > mps > timeslice).
// - A pod with more than one GPU (tensor parallelism) never moves to MIG, MPS or a share: a CUDA process sees one
//   MIG device.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/annotations.h"
#include "model/snapshot.h"

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
  double gpu_share = 1;        // of one physical GPU it occupies (MIG: g/7 of compute; share: 1/replicas)
  // What one pod needs of the unit: memory (bytes; for time-slicing the sum on one GPU must fit) and compute (share
  // of one whole GPU's SMs at p95: for time-slicing the sum on one GPU should stay below 1).
  double memory_bytes = 0;
  double compute_share = 0;
  // Where compute shrinks: the slice model's prediction (slice_latency.h) against the SLO.
  std::optional<double> predicted_ttft_p99_s, predicted_tpot_p99_s, predicted_request_p99_s;
  double error_bound = 0;      // relative
  bool relies_on_inferred = false;  // a MIG catalog row marked inferred
  std::vector<std::string> reasons;
  bool operator==(const UnitChoice&) const = default;
};

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
  double memory_margin = 0.10;       // added to the peak framebuffer need
  double min_samples = 30;           // fewer compute samples: unknown
  // Time-slicing: the pods' summed p95 compute on one GPU stays below this (contention would slow them).
  double timeslice_compute_budget = 0.8;
};

// One workload's decision. `policy` is its resolved gpuwise.io/ policy; `workload_class` its effective class.
SizingDecision RightSize(const model::Snapshot& snapshot, int workload, const model::WorkloadPolicy& policy,
                         model::WorkloadClass workload_class, const RightSizeOptions& options = {});

}  // namespace gpuwise::optimize::fractional
