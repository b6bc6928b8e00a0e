#include "analyze/diagnosis.h"

#include <cmath>
#include <cstdio>

namespace gpuwise::analyze {

std::string_view GpuStateName(GpuState s) {
  switch (s) {
    case GpuState::kIdle: return "idle";
    case GpuState::kBusy: return "busy";
    case GpuState::kComputeBound: return "compute-bound";
    case GpuState::kMemoryBound: return "memory-bound";
    case GpuState::kMemoryHeld: return "memory-held";
    case GpuState::kOverProvisioned: return "over-provisioned";
    case GpuState::kUnknown: break;
  }
  return "unknown";
}

std::string_view GpuStateAction(GpuState s) {
  switch (s) {
    case GpuState::kIdle:
      return "reclaim: scale to zero or delete; the GPU does no work for most of the window";
    case GpuState::kBusy:
      return "keep: compute and memory both used; scale replicas on the latency SLO";
    case GpuState::kComputeBound:
      return "keep the compute; its memory is mostly free: a GPU or MIG profile with less memory per SM, or share the "
             "memory with a memory-light workload";
    case GpuState::kMemoryBound:
      return "keep the memory bandwidth: do not move to fewer memory slices; batch requests to raise compute use";
    case GpuState::kMemoryHeld:
      return "right-size memory: the framebuffer is held but compute is low; for serving engines lower the memory "
             "reservation to the KV cache in use, then a smaller MIG slice or a share";
    case GpuState::kOverProvisioned:
      return "fractional GPU: a MIG slice or a time-slicing/MPS share fits both its compute and its memory";
    case GpuState::kUnknown: break;
  }
  return "none until the missing signal is collected";
}

SignalSummary Summarize(const model::UsageSketch& s) {
  SignalSummary out;
  out.count = s.count();
  if (out.count == 0) return out;
  out.p50 = s.Quantile(0.50);
  out.p95 = s.Quantile(0.95);
  out.p99 = s.Quantile(0.99);
  out.max = s.max();
  out.mean = s.sum() / static_cast<double>(out.count);
  return out;
}

namespace {

std::string Pct(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", r * 100.0);
  return buf;
}

}  // namespace

Diagnosis Diagnose(const model::Workload& w, const DiagnosisOptions& o) {
  Diagnosis d;
  for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) {
    if (w.window.set) {
      const model::WindowStat& ws = w.window.stats[k];
      d.signals[k] = {ws.count, ws.p50, ws.p95, ws.p99, ws.max, NAN};
    } else {
      d.signals[k] = Summarize(w.usage[k]);
    }
  }
  const SignalSummary& c = d.signals[static_cast<std::size_t>(model::UsageSignal::kCompute)];
  const SignalSummary& fb = d.signals[static_cast<std::size_t>(model::UsageSignal::kFbShare)];
  const SignalSummary& dram = d.signals[static_cast<std::size_t>(model::UsageSignal::kDram)];
  const std::string source = w.compute_source.empty() ? "compute activity" : w.compute_source;
  if (c.count < std::max<std::uint64_t>(1, o.min_samples)) {
    d.state = GpuState::kUnknown;
    d.evidence.push_back(c.count == 0 ? "no compute samples (no DCGM SM/GR activity or GPU_UTIL for its devices)"
                                      : "only " + std::to_string(c.count) + " compute samples (fewer than " +
                                            std::to_string(o.min_samples) + ")");
    d.action = std::string(GpuStateAction(d.state));
    return d;
  }
  bool idle = false;
  std::string idle_text;
  if (w.window.set) {
    // Prometheus's per-series quantile at the idle level: below the idle threshold means at least that share of
    // samples is idle (with several series, the largest one's quantile is an upper bound, so idle stays sound).
    const model::WindowStat& wc = w.window.stats[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    idle = std::abs(w.window.idle_level - o.idle_share) < 1e-9 && wc.p_idle < o.idle_compute;
    idle_text = "compute p" + Pct(w.window.idle_level).substr(0, Pct(w.window.idle_level).size() - 3) + " is " +
                Pct(wc.p_idle) + ", below " + Pct(o.idle_compute) + (wc.series > 1 ? " (upper bound over " +
                std::to_string(wc.series) + " series)" : "") + ": idle in at least " + Pct(o.idle_share) + " of samples";
  } else {
    d.idle_sample_share = w.usage[static_cast<std::size_t>(model::UsageSignal::kCompute)].ShareBelow(o.idle_compute);
    idle = d.idle_sample_share >= o.idle_share;
    idle_text = "compute below " + Pct(o.idle_compute) + " in " + Pct(d.idle_sample_share) + " of samples (idle threshold " +
                Pct(o.idle_share) + ")";
  }
  const bool compute_high = c.p95 >= o.compute_high;
  const bool fb_known = fb.count > 0;
  const bool fb_high = fb_known && fb.p95 >= o.fb_high;
  const bool dram_high = dram.count > 0 && dram.p95 >= o.dram_high;
  d.evidence.push_back(source + " p95 " + Pct(c.p95) + " over " + std::to_string(c.count) + " samples (" +
                       (compute_high ? "at or above" : "below") + " the " + Pct(o.compute_high) + " threshold)");
  d.evidence.push_back(fb_known ? "framebuffer used p95 " + Pct(fb.p95) + " of what it holds (" +
                                      (fb_high ? "at or above" : "below") + " the " + Pct(o.fb_high) + " threshold)"
                                : "framebuffer unknown (no FB_USED samples or unit size): counted as low");
  if (dram.count > 0) {
    d.evidence.push_back("DRAM activity p95 " + Pct(dram.p95) + " (" + (dram_high ? "at or above" : "below") + " the " +
                         Pct(o.dram_high) + " memory-bound threshold)");
  }
  if (w.window.set) {
    d.evidence.push_back(std::string("percentiles computed by Prometheus over the window (quantile_over_time per series") +
                         (c.count > 0 && w.window.stats[0].series > 1 ? "; the largest over the workload's series, an upper bound)" : ")"));
  }
  if (idle) {
    d.state = GpuState::kIdle;
    d.evidence.insert(d.evidence.begin(), idle_text);
  } else if (compute_high && fb_high) {
    d.state = GpuState::kBusy;
  } else if (compute_high) {
    d.state = GpuState::kComputeBound;
  } else if (dram_high) {
    d.state = GpuState::kMemoryBound;
  } else if (fb_high) {
    d.state = GpuState::kMemoryHeld;
  } else {
    d.state = GpuState::kOverProvisioned;
  }
  d.action = std::string(GpuStateAction(d.state));
  return d;
}

}  // namespace gpuwise::analyze
