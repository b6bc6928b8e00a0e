// Latency on a slice: predicts a workload's latency after a move from its current GPU unit (a whole GPU or a MIG
// instance) to another, usually smaller, unit, with the model's error stated, so that right-sizing shrinks a workload
// only when its latency SLO still holds.
//
// The model (docs/latency-model.md has the derivation, the fit and the error tables):
//   - Compute term (encoder / vision forward passes; LLM prefill). A workload whose kernels keep an effective share
//     u of the SMs busy barely slows on a unit until the unit's SM share falls below u, then slows in proportion:
//         factor = max(1, u / r),   r = SMs(to) / SMs(from),   u = min(1, kOccupancyScale * a^kOccupancyExponent)
//     where a is the GR-engine activity (p95, 0..1, relative to `from`) while the workload is serving. Fitted once,
//     for all models and batch sizes, on MIGProfiler A100-40GB/80GB runs (8 encoder and vision models, 96 (model,
//     batch, seq) points, 576 shrink moves between 7g/3g/2g/1g). Worked number: a = 0.31 from 7g (98 SMs) to 3g
//     (42 SMs): u = 16 * 0.31^3 = 0.48, r = 0.43, factor = 0.48 / 0.43 = 1.11. With a >= 0.40, u = 1: the latency
//     scales with the SM ratio (98 / 42 = x2.33).
//   - Decode term (LLM TPOT): a roofline ASSUMPTION, not calibrated: per-token time scales with 1 / (memory bandwidth
//     share), bandwidth share = memory slices / total, floored by the compute term. 8 of 8 -> 4 of 8 slices: x2.
//   - Load: the unit must carry the same traffic. The busy time per request grows by at most
//     g = max(SM ratio, memory-bandwidth ratio), so the activity on `to` is up to a * g. At or above
//     LatencyOptions::saturation_activity the unit would saturate under load and the answer is "does not fit".
//     Below it, request latency and TTFT also get a queueing term (M/D/1 mean response time, an ASSUMPTION):
//         Q(rho) = 1 + rho / (2 (1 - rho)),   queueing factor = Q(a * g) / Q(a)
//     e.g. a = 0.3, g = 2.33: Q(0.7) / Q(0.3) = 2.17 / 1.21 = x1.78.
//   - Error: the compute term's relative error bound is the p90 of (measured / predicted - 1, floored at 0) over the
//     calibration moves in the workload's activity band (ComputeErrorBound); the SLO check adds it.
//   - Calibrated on A100 only. Other GPU families (H100, H200) use the same form by analogy on their own SM and
//     memory-slice ratios and are flagged `extrapolated`. Moves across GPU families are refused (FailedPrecondition).
//
// Inputs are plain numbers; units are in the names (`_s` seconds, `_bytes`). Errors: bad shapes or out-of-range
// observations are InvalidArgument; a move across GPU families is FailedPrecondition. Every function is pure and
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::optimize::fractional {

// GPU family a unit belongs to. Only kA100 is calibrated; the others are predicted by analogy.
enum class GpuFamily { kA100, kH100, kH200, kOther };
std::string_view GpuFamilyName(GpuFamily family);  // "A100" | "H100" | "H200" | "other"

// The shape of a GPU unit: a whole GPU (compute_slices == compute_slices_total, memory_slices ==
// memory_slices_total) or a MIG instance. A100 whole GPU with MIG off: 108 SMs, 7/7, 8/8. A100 3g.40gb: 42 SMs, 3/7,
// 4/8, 39.25 GiB. H100 SXM5 1g.10gb: 16 SMs, 1/7, 1/8.
struct UnitShape {
  GpuFamily family = GpuFamily::kA100;
  int sms = 0;                   // streaming multiprocessors of the unit
  int compute_slices = 7;        // MIG compute slices (g) of the unit
  int compute_slices_total = 7;  // of the GPU (7; A30: 4)
  int memory_slices = 8;         // MIG memory slices: the unit's share of memory bandwidth and L2
  int memory_slices_total = 8;   // of the GPU (8; A30: 4)
  std::int64_t framebuffer_bytes = 0;  // memory the unit offers; 0 = unknown (not checked)

  double MemoryBandwidthShare() const;  // memory_slices / memory_slices_total
};

// What gpuwise observed about the workload on `from`, at the same time window as its latency percentiles.
struct WorkloadObservation {
  std::optional<double> ttft_p99_s;     // LLM serving: time to first token, p99
  std::optional<double> tpot_p99_s;     // LLM serving: time per output token (inter-token latency), p99
  std::optional<double> request_p99_s;  // encoder / vision server: request latency, p99
  // DCGM_FI_PROF_GR_ENGINE_ACTIVE p95 over the window, 0..1, relative to the `from` unit (dcgm-exporter reports MIG
  // instances relative to the instance; MIGProfiler's series reach 0.99 on 1g slices, so they are too).
  double gr_active_p95 = 0;
  // Fraction of time at least one request is in flight at that p95, when known (vLLM num_requests_running > 0, or
  // request rate x mean latency). Activity while serving = gr_active_p95 / busy_fraction. When absent the activity
  // is taken as activity while serving, as in the calibration (closed-loop benchmark); for a bursty low-traffic
  // server that under-predicts the slowdown, and a reason says so.
  std::optional<double> busy_fraction;
  std::optional<std::int64_t> memory_needed_bytes;  // framebuffer the workload needs; checked against `to`
};

// Documented defaults; see the header comment for the formulas they feed.
struct LatencyOptions {
  // Activity on `to` (a * g) at or above which the unit is taken to saturate under the same traffic.
  double saturation_activity = 0.9;
  // Apply the queueing factor Q(a * g) / Q(a) to request latency and TTFT. TPOT never gets it (continuous batching
  // grows the batch instead of queueing iterations).
  bool model_queueing = true;
};

// The compute term's prediction: latency(to) / latency(from).
struct FactorPrediction {
  double factor = 1;           // >= 1: the model never predicts a speed-up
  double error_bound = 0;      // relative: the truth exceeded factor * (1 + error_bound) in 10% of calibration moves
  double needed_sm_share = 0;  // u: the share of `from`'s SMs the workload keeps busy
  bool extrapolated = false;   // outside the calibrated range (see reasons)
  std::vector<std::string> reasons;
};

// Compute-bound phase (encoder forward pass, LLM prefill). `activity` = GR activity while serving on `from`, 0..1.
// InvalidArgument on a malformed shape or an activity outside [0, 1]; FailedPrecondition across GPU families.
base::Result<FactorPrediction> ComputeFactor(const UnitShape& from, const UnitShape& to, double activity);

// Decode (per output token): max(bandwidth share(from) / bandwidth share(to), ComputeFactor). The bandwidth part is
// the uncalibrated roofline assumption; error_bound is the compute term's.
base::Result<FactorPrediction> DecodeFactor(const UnitShape& from, const UnitShape& to, double activity);

// p90 under-prediction of the compute term in the calibration, by activity band (a < 0.25: 5%, < 0.50: 31%,
// < 0.75: 17%, else 14%). Used as the error bound of every prediction at that activity.
double ComputeErrorBound(double activity);

// Error figures of the compute term on the calibration data (all 576 shrink moves, relative error
// |predicted - measured| / measured, and under-prediction max(0, measured / predicted - 1)). slice_latency_test
// recomputes them from the MIGProfiler CSVs and fails when the constants or the model drift from them.
struct CalibrationFigures {
  int moves;
  double abs_p50, abs_p90, abs_max;
  double under_p90, under_max;
};
inline constexpr CalibrationFigures kCalibration{576, 0.050, 0.320, 4.87, 0.158, 1.70};

struct PredictedLatency {
  double predicted_s = 0;
  double factor = 1;       // everything applied: compute or decode term, times queueing
  double error_bound = 0;  // relative
};

struct LatencyPrediction {
  bool fits = true;              // false: the unit would saturate or lacks memory; no numbers then
  std::string does_not_fit;      // why, when !fits
  std::optional<PredictedLatency> ttft_p99, tpot_p99, request_p99;  // each present when observed on `from`
  bool extrapolated = false;
  // Human-readable, e.g. "prefill x2.33 (SMs 42 vs 98, prefill taken as compute-bound)", "decode x2.00 (memory
  // slices 4 of 8 vs 8 of 8, roofline assumption)", "model error p90 +14% (activity 0.75-1.00), calibrated on A100
  // MIGProfiler encoder/vision runs".
  std::vector<std::string> reasons;
};

// Predicts p99 TTFT (compute term at activity 1: prefill taken as compute-bound), TPOT (decode term) and encoder
// request latency (compute term at the observed activity) on `to`. Errors as ComputeFactor, plus InvalidArgument
// when nothing was observed or a latency is negative or not finite.
base::Result<LatencyPrediction> PredictLatency(const UnitShape& from, const UnitShape& to,
                                               const WorkloadObservation& observed, const LatencyOptions& options = {});

// True when predicted_s * (1 + error_bound) <= slo_s.
bool SloHolds(double predicted_s, double error_bound, double slo_s);

struct SloTargets {
  std::optional<double> ttft_p99_s, tpot_p99_s, request_p99_s;
};
struct SloCheck {
  bool holds = false;
  std::vector<std::string> reasons;  // one per target, and why the check failed
};
// Holds only if the prediction fits, at least one SLO is set, and every SLO set has a prediction that holds with its
// error bound. No SLO -> does not hold ("no SLO: gpuwise never shrinks compute").
SloCheck CheckSlo(const LatencyPrediction& prediction, const SloTargets& slo);

}  // namespace gpuwise::optimize::fractional
