#include "optimize/fractional/slice_latency.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/format.h"

namespace gpuwise::optimize::fractional {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Fitted constants. Source: MIGProfiler (shared/data/migprofiler-a100, commit 98cdb472), inference runs only:
// A100-80g/infer/nlp/integrated_result_{bsz,seq}.csv (bert-base), A100-80g/infer/cv/integrated_result.csv (ViT-B,
// ResNet-50), A100-40g/infer_{bsz,seq}/<model>/*_infer_{05,10,20,40}g_{bsz,seq}.csv (bert-base-multilingual, MiniLM,
// mpnet, distiluse v1/v2). Activity a = p95 (nearest rank) of the 1 Hz GRACT samples of the run's dcgm.csv between
// its start and end timestamps. Every ordered pair (from, to) of 7g/3g/2g/1g with fewer SMs on `to`, per (model,
// batch, seq): 576 moves. Fit: minimise the mean |ln(predicted / measured)| by Nelder-Mead (python, stdlib), then
// rounded (fit 16.05 and 2.99). slice_latency_test.cc checks the error figures these give.
constexpr double kOccupancyScale = 16.0;
constexpr double kOccupancyExponent = 3.0;
// p90 of max(0, measured / predicted - 1) per activity band, rounded up to the next percent (same data and fit).
struct ErrorBand {
  double activity_below;
  double bound;
};
constexpr ErrorBand kErrorBands[] = {{0.25, 0.05}, {0.50, 0.31}, {0.75, 0.17}, {2.0, 0.14}};
// Calibrated range: activity 0.098..1.0 (p95 on the source unit); SM ratio to/from 14/98 = 0.143 .. 1.
constexpr double kMinCalibratedActivity = 0.098;
constexpr double kMinCalibratedSmRatio = 14.0 / 98.0 - 1e-9;


base::Status CheckShape(const UnitShape& u, std::string_view which) {
  if (u.sms <= 0) return base::InvalidArgument(base::StrPrintf("%.*s unit: SMs must be > 0", int(which.size()), which.data()));
  if (u.compute_slices_total <= 0 || u.compute_slices <= 0 || u.compute_slices > u.compute_slices_total) {
    return base::InvalidArgument(base::StrPrintf("%.*s unit: compute slices %d of %d", int(which.size()), which.data(),
                                        u.compute_slices, u.compute_slices_total));
  }
  if (u.memory_slices_total <= 0 || u.memory_slices <= 0 || u.memory_slices > u.memory_slices_total) {
    return base::InvalidArgument(base::StrPrintf("%.*s unit: memory slices %d of %d", int(which.size()), which.data(),
                                        u.memory_slices, u.memory_slices_total));
  }
  if (u.framebuffer_bytes < 0) {
    return base::InvalidArgument(base::StrPrintf("%.*s unit: negative framebuffer", int(which.size()), which.data()));
  }
  return base::Status::Ok();
}

base::Status CheckPair(const UnitShape& from, const UnitShape& to) {
  RETURN_IF_ERROR(CheckShape(from, "from"));
  RETURN_IF_ERROR(CheckShape(to, "to"));
  if (from.family != to.family) {
    return base::FailedPrecondition(base::StrPrintf("moves across GPU families (%s to %s) are not modelled",
                                           GpuFamilyName(from.family).data(), GpuFamilyName(to.family).data()));
  }
  return base::Status::Ok();
}

bool ValidRatio(double x) { return std::isfinite(x) && x >= 0 && x <= 1; }

std::string BandName(double activity) {
  double lo = 0;
  for (const ErrorBand& b : kErrorBands) {
    if (activity < b.activity_below) return base::StrPrintf("activity %.2f-%.2f", lo, std::min(1.0, b.activity_below));
    lo = b.activity_below;
  }
  return "activity 0.75-1.00";
}

// M/D/1 mean response time in units of the service time.
double Queueing(double rho) { return 1 + rho / (2 * (1 - rho)); }

}  // namespace

std::string_view GpuFamilyName(GpuFamily family) {
  switch (family) {
    case GpuFamily::kA100: return "A100";
    case GpuFamily::kH100: return "H100";
    case GpuFamily::kH200: return "H200";
    case GpuFamily::kOther: return "other";
  }
  return "other";
}

double UnitShape::MemoryBandwidthShare() const {
  return memory_slices_total > 0 ? static_cast<double>(memory_slices) / memory_slices_total : 0;
}

double ComputeErrorBound(double activity) {
  for (const ErrorBand& b : kErrorBands) {
    if (activity < b.activity_below) return b.bound;
  }
  return kErrorBands[std::size(kErrorBands) - 1].bound;
}

base::Result<FactorPrediction> ComputeFactor(const UnitShape& from, const UnitShape& to, double activity) {
  RETURN_IF_ERROR(CheckPair(from, to));
  if (!ValidRatio(activity)) return base::InvalidArgument(base::StrPrintf("compute activity %g is not in [0, 1]", activity));
  FactorPrediction p;
  const double r = static_cast<double>(to.sms) / from.sms;
  p.needed_sm_share = std::min(1.0, kOccupancyScale * std::pow(activity, kOccupancyExponent));
  p.factor = std::max(1.0, p.needed_sm_share / r);
  p.error_bound = ComputeErrorBound(activity);
  if (from.family != GpuFamily::kA100) {
    p.extrapolated = true;
    p.reasons.push_back(base::StrPrintf("%s: calibrated on A100 only, applied by SM-share analogy",
                               GpuFamilyName(from.family).data()));
  }
  if (r < kMinCalibratedSmRatio) {
    p.extrapolated = true;
    p.reasons.push_back(base::StrPrintf("SM ratio %.3f below the calibrated 0.143 (1g of 7g)", r));
  }
  if (r > 1) {
    p.extrapolated = true;
    p.reasons.push_back("a larger unit: growth is not calibrated; no speed-up is predicted");
  }
  if (activity < kMinCalibratedActivity) {
    p.extrapolated = true;
    p.reasons.push_back(base::StrPrintf("activity %.3f below the calibrated 0.098", activity));
  }
  return p;
}

base::Result<FactorPrediction> DecodeFactor(const UnitShape& from, const UnitShape& to, double activity) {
  ASSIGN_OR_RETURN(FactorPrediction p, ComputeFactor(from, to, activity));
  const double bandwidth_ratio = from.MemoryBandwidthShare() / to.MemoryBandwidthShare();
  p.factor = std::max(p.factor, bandwidth_ratio);
  p.reasons.push_back("decode roofline (per-token time ~ 1 / memory bandwidth share) is an uncalibrated assumption");
  return p;
}

base::Result<LatencyPrediction> PredictLatency(const UnitShape& from, const UnitShape& to,
                                               const WorkloadObservation& observed, const LatencyOptions& options) {
  RETURN_IF_ERROR(CheckPair(from, to));
  if (!observed.ttft_p99_s && !observed.tpot_p99_s && !observed.request_p99_s) {
    return base::InvalidArgument("no latency observed on the source unit (TTFT, TPOT or request p99)");
  }
  for (const std::optional<double>& l : {observed.ttft_p99_s, observed.tpot_p99_s, observed.request_p99_s}) {
    if (l && !(std::isfinite(*l) && *l >= 0)) return base::InvalidArgument(base::StrPrintf("latency %g s is invalid", *l));
  }
  const double a = observed.gr_active_p95;
  if (!ValidRatio(a)) return base::InvalidArgument(base::StrPrintf("GR activity p95 %g is not in [0, 1]", a));
  if (observed.busy_fraction && !(ValidRatio(*observed.busy_fraction) && *observed.busy_fraction > 0)) {
    return base::InvalidArgument(base::StrPrintf("busy fraction %g is not in (0, 1]", *observed.busy_fraction));
  }
  if (!(options.saturation_activity > 0 && options.saturation_activity <= 1)) {
    return base::InvalidArgument(base::StrPrintf("saturation activity %g is not in (0, 1]", options.saturation_activity));
  }

  LatencyPrediction out;
  // Memory first: a unit too small for the workload's memory is no candidate at all.
  if (observed.memory_needed_bytes && to.framebuffer_bytes > 0 && *observed.memory_needed_bytes > to.framebuffer_bytes) {
    out.fits = false;
    out.does_not_fit = base::StrPrintf("needs %.2f GiB of GPU memory, the unit has %.2f GiB",
                              static_cast<double>(*observed.memory_needed_bytes) / (1 << 30),
                              static_cast<double>(to.framebuffer_bytes) / (1 << 30));
    out.reasons.push_back(out.does_not_fit);
    return out;
  }

  // Load: busy time per request grows by at most g on `to`.
  const double sm_ratio = static_cast<double>(from.sms) / to.sms;
  const double bw_ratio = from.MemoryBandwidthShare() / to.MemoryBandwidthShare();
  const double growth = std::max({1.0, sm_ratio, bw_ratio});
  const double load_from = observed.busy_fraction ? std::max(a, *observed.busy_fraction) : a;
  const double load_to = load_from * growth;
  if (load_to >= options.saturation_activity) {
    out.fits = false;
    out.does_not_fit = base::StrPrintf("would saturate: activity %.2f on the source x%.2f (SMs %d vs %d, memory slices %d of %d "
                              "vs %d of %d) = %.2f >= %.2f; latency unbounded under the same load",
                              load_from, growth, to.sms, from.sms, to.memory_slices, to.memory_slices_total,
                              from.memory_slices, from.memory_slices_total, load_to, options.saturation_activity);
    out.reasons.push_back(out.does_not_fit);
    return out;
  }
  const double queueing = options.model_queueing ? std::max(1.0, Queueing(load_to) / Queueing(load_from)) : 1.0;

  // Activity while serving: the calibration's input.
  double serving_activity = a;
  if (observed.busy_fraction) {
    serving_activity = std::min(1.0, a / *observed.busy_fraction);
  } else if (observed.request_p99_s || observed.tpot_p99_s) {
    out.reasons.push_back("busy fraction unknown: activity p95 taken as activity while serving (as in the "
                          "calibration); a bursty low-traffic server may slow more than predicted");
  }

  auto note_extrapolation = [&out](const FactorPrediction& f) {
    if (!f.extrapolated) return;
    out.extrapolated = true;
    for (const std::string& r : f.reasons) {
      if (std::find(out.reasons.begin(), out.reasons.end(), "extrapolated: " + r) == out.reasons.end()) {
        out.reasons.push_back("extrapolated: " + r);
      }
    }
  };
  double shown_bound = -1, shown_activity = 0;
  if (observed.ttft_p99_s) {
    // Prefill of an LLM prompt fills the SMs: taken as compute-bound (activity 1), whatever the server's average.
    ASSIGN_OR_RETURN(FactorPrediction f, ComputeFactor(from, to, 1.0));
    const double factor = f.factor * queueing;
    out.ttft_p99 = PredictedLatency{*observed.ttft_p99_s * factor, factor, f.error_bound};
    out.reasons.push_back(base::StrPrintf("prefill x%.2f (SMs %d vs %d, prefill taken as compute-bound)", f.factor, to.sms,
                                 from.sms));
    shown_bound = f.error_bound;
    shown_activity = 1.0;
    note_extrapolation(f);
  }
  if (observed.tpot_p99_s) {
    ASSIGN_OR_RETURN(FactorPrediction f, DecodeFactor(from, to, serving_activity));
    out.tpot_p99 = PredictedLatency{*observed.tpot_p99_s * f.factor, f.factor, f.error_bound};
    out.reasons.push_back(base::StrPrintf("decode x%.2f (memory slices %d of %d vs %d of %d, roofline assumption; compute "
                                 "activity p95 %.2f)",
                                 f.factor, to.memory_slices, to.memory_slices_total, from.memory_slices,
                                 from.memory_slices_total, serving_activity));
    if (f.error_bound > shown_bound) {
      shown_bound = f.error_bound;
      shown_activity = serving_activity;
    }
    f.reasons.pop_back();  // the roofline note is already in the decode reason
    note_extrapolation(f);
  }
  if (observed.request_p99_s) {
    ASSIGN_OR_RETURN(FactorPrediction f, ComputeFactor(from, to, serving_activity));
    const double factor = f.factor * queueing;
    out.request_p99 = PredictedLatency{*observed.request_p99_s * factor, factor, f.error_bound};
    out.reasons.push_back(base::StrPrintf("request x%.2f (SMs %d vs %d, compute activity p95 %.2f needs %.2f of the SMs)",
                                 f.factor, to.sms, from.sms, serving_activity, f.needed_sm_share));
    if (f.error_bound > shown_bound) {
      shown_bound = f.error_bound;
      shown_activity = serving_activity;
    }
    note_extrapolation(f);
  }
  if (queueing > 1 && (observed.ttft_p99_s || observed.request_p99_s)) {
    out.reasons.push_back(base::StrPrintf("queueing x%.2f (load %.2f -> %.2f, M/D/1 assumption)", queueing, load_from, load_to));
  }
  out.reasons.push_back(base::StrPrintf("model error p90 +%.0f%% (%s), calibrated on A100 MIGProfiler encoder/vision runs",
                               100 * shown_bound, BandName(shown_activity).c_str()));
  return out;
}

bool SloHolds(double predicted_s, double error_bound, double slo_s) {
  return std::isfinite(predicted_s) && predicted_s * (1 + std::max(0.0, error_bound)) <= slo_s;
}

SloCheck CheckSlo(const LatencyPrediction& prediction, const SloTargets& slo) {
  SloCheck check;
  if (!prediction.fits) {
    check.reasons.push_back("does not fit: " + prediction.does_not_fit);
    return check;
  }
  if (!slo.ttft_p99_s && !slo.tpot_p99_s && !slo.request_p99_s) {
    check.reasons.push_back("no SLO: gpuwise never shrinks compute");
    return check;
  }
  bool all = true;
  auto one = [&](const char* name, const std::optional<double>& target, const std::optional<PredictedLatency>& p) {
    if (!target) return;
    if (!p) {
      all = false;
      check.reasons.push_back(base::StrPrintf("%s SLO %.0f ms: no %s observed, unknown", name, *target * 1000, name));
      return;
    }
    const bool ok = SloHolds(p->predicted_s, p->error_bound, *target);
    all = all && ok;
    check.reasons.push_back(base::StrPrintf("%s p99 %.1f ms x (1 + %.0f%%) = %.1f ms %s SLO %.0f ms", name,
                                   p->predicted_s * 1000, 100 * p->error_bound,
                                   p->predicted_s * (1 + p->error_bound) * 1000, ok ? "<=" : ">", *target * 1000));
  };
  one("TTFT", slo.ttft_p99_s, prediction.ttft_p99);
  one("TPOT", slo.tpot_p99_s, prediction.tpot_p99);
  one("request", slo.request_p99_s, prediction.request_p99);
  check.holds = all;
  return check;
}

}  // namespace gpuwise::optimize::fractional
