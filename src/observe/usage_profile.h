// Per-GPU / per-MIG-instance usage profiles over a window: p50/p95/p99/max of compute activity, framebuffer
// used, DRAM activity and power. Two ways to get them: BuildProfiles sketches raw samples (a mergeable
// UsageSketch: 1% relative error, max and count exact); PrometheusSource::PushdownProfiles lets Prometheus
// compute them (quantile_over_time etc.: exact, Prometheus's interpolated quantile). Both fill MetricStats.
// BuildProfiles is pure: RangeTelemetry in, profiles out. Compute activity names the signal it came from (SM_ACTIVE, else
// GR_ENGINE_ACTIVE, else GPU_UTIL; GPU_UTIL never on MIG). A signal with no sample is "unknown".
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "model/usage_sketch.h"
#include "observe/metrics_source.h"

namespace gpuwise::observe {

enum class ProfileMetric { kCompute, kFbUsed, kDram, kPower, kCount };
inline constexpr std::size_t kProfileMetricCount = static_cast<std::size_t>(ProfileMetric::kCount);
std::string_view ProfileMetricName(ProfileMetric m);  // "compute", "fb_used", "dram", "power"
std::string_view ProfileMetricUnit(ProfileMetric m);  // "ratio", "bytes", "ratio", "watts"

// Summary of one metric over the window; NaN = unknown (no sample).
struct MetricStats {
  std::uint64_t count = 0;
  double p50 = NAN, p95 = NAN, p99 = NAN, max = NAN, mean = NAN;
};
MetricStats StatsOf(const model::UsageSketch& sketch);

struct EntityProfile {
  prom::GpuEntity entity;  // identity
  std::array<MetricStats, kProfileMetricCount> stats;
  // Raw mode only: the sketches behind `stats`, mergeable with other windows (empty in pushdown mode).
  std::array<model::UsageSketch, kProfileMetricCount> sketches;
  std::string compute_source;  // exported metric name used for compute, or "" when unknown
  std::int64_t first_ms = 0, last_ms = 0;
};

// The signals a profile needs, for RangeRequest::signals.
std::vector<prom::Signal> ProfileSignals();

std::vector<EntityProfile> BuildProfiles(const RangeTelemetry& range);

// Reads the window from any source and sketches it. *range (optional) receives what was read, for the
// counts a report prints. The source's error comes back annotated with what it describes.
base::Result<std::vector<EntityProfile>> ReadProfiles(MetricsSource& source, const RangeRequest& request,
                                                      RangeTelemetry* range = nullptr);

}  // namespace gpuwise::observe
