// The four-state diagnosis of a workload's GPU use, from its usage profile (model::Workload::usage sketches):
// compute activity high or low x framebuffer high or low, plus "memory-bound" (low compute, high DRAM activity)
// and "idle" (compute near zero for most of the window). Each state comes with its action and the evidence in
// words; "unknown" comes with the reason (no compute signal, too few samples). Thresholds are options with
// documented defaults (docs/report.md). Pure.
//
// Rule, in order (first match wins):
//   1. fewer than min_samples compute samples                 -> unknown
//   2. share of samples with compute < idle_compute >= idle_share -> idle            (reclaim the GPU)
//   3. p95 compute >= compute_high and p95 fb share >= fb_high    -> busy            (keep; scale on SLO)
//   4. p95 compute >= compute_high                                 -> compute-bound  (keep compute, smaller memory)
//   5. p95 DRAM >= dram_high                                       -> memory-bound   (keep memory bandwidth)
//   6. p95 fb share >= fb_high                                     -> memory-held    (right-size memory / slice)
//   7. otherwise                                                   -> over-provisioned (a slice or a share)
// A framebuffer share unknown counts as low, stated in the evidence.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace gpuwise::analyze {

enum class GpuState { kUnknown, kIdle, kBusy, kComputeBound, kMemoryBound, kMemoryHeld, kOverProvisioned };
std::string_view GpuStateName(GpuState s);  // "unknown", "idle", "busy", "compute-bound", ...
// What to do about a state, in one line.
std::string_view GpuStateAction(GpuState s);

struct DiagnosisOptions {
  double compute_high = 0.40;   // p95 of compute activity (SM_ACTIVE) at or above: compute high
  double fb_high = 0.50;        // p95 of framebuffer used / what the pod holds at or above: framebuffer high
  double dram_high = 0.40;      // p95 of DRAM activity at or above (with low compute): memory-bound
  double idle_compute = 0.02;   // a sample below this compute activity is idle
  double idle_share = 0.90;     // ... and a workload idle in at least this share of samples is idle
  std::uint64_t min_samples = 1;
};

struct SignalSummary {
  std::uint64_t count = 0;
  double p50 = NAN, p95 = NAN, p99 = NAN, max = NAN, mean = NAN;
};
SignalSummary Summarize(const model::UsageSketch& sketch);

struct Diagnosis {
  GpuState state = GpuState::kUnknown;
  std::string action;
  std::vector<std::string> evidence;  // sentences with the figures and thresholds
  std::array<SignalSummary, model::kUsageSignalCount> signals;
  double idle_sample_share = NAN;     // share of compute samples below idle_compute
};

Diagnosis Diagnose(const model::Workload& workload, const DiagnosisOptions& options = {});

}  // namespace gpuwise::analyze
