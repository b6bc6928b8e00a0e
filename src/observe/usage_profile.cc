#include "observe/usage_profile.h"

#include <limits>

namespace gpuwise::observe {

std::string_view ProfileMetricName(ProfileMetric m) {
  switch (m) {
    case ProfileMetric::kCompute: return "compute";
    case ProfileMetric::kFbUsed: return "fb_used";
    case ProfileMetric::kDram: return "dram";
    case ProfileMetric::kPower: return "power";
    case ProfileMetric::kCount: break;
  }
  return "unknown";
}

std::string_view ProfileMetricUnit(ProfileMetric m) {
  switch (m) {
    case ProfileMetric::kFbUsed: return "bytes";
    case ProfileMetric::kPower: return "watts";
    default: return "ratio";
  }
}

MetricStats StatsOf(const model::UsageSketch& sketch) {
  MetricStats m;
  m.count = sketch.count();
  if (m.count == 0) return m;
  m.p50 = sketch.Quantile(0.5);
  m.p95 = sketch.Quantile(0.95);
  m.p99 = sketch.Quantile(0.99);
  m.max = sketch.max();
  m.mean = sketch.sum() / static_cast<double>(m.count);
  return m;
}

std::vector<prom::Signal> ProfileSignals() {
  return {prom::Signal::kSmActive, prom::Signal::kGrEngineActive, prom::Signal::kGpuUtil,
          prom::Signal::kFbUsed,   prom::Signal::kDramActive,     prom::Signal::kPower};
}

std::vector<EntityProfile> BuildProfiles(const RangeTelemetry& range) {
  std::vector<EntityProfile> out(range.entities.size());
  // Best compute signal per entity: rank 0 = SM_ACTIVE, 1 = GR_ENGINE_ACTIVE, 2 = GPU_UTIL (whole GPUs only).
  std::vector<int> best(range.entities.size(), 3);
  auto rank = [&](const SignalSeries& s) {
    switch (s.signal) {
      case prom::Signal::kSmActive: return 0;
      case prom::Signal::kGrEngineActive: return 1;
      case prom::Signal::kGpuUtil: return range.entities[s.entity].is_mig() ? 3 : 2;
      default: return 3;
    }
  };
  for (const SignalSeries& s : range.series) {
    if (!s.values.empty()) best[s.entity] = std::min(best[s.entity], rank(s));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].entity = range.entities[i];
    out[i].first_ms = std::numeric_limits<std::int64_t>::max();
    out[i].last_ms = std::numeric_limits<std::int64_t>::min();
  }
  for (const SignalSeries& s : range.series) {
    EntityProfile& p = out[s.entity];
    ProfileMetric m;
    switch (s.signal) {
      case prom::Signal::kSmActive:
      case prom::Signal::kGrEngineActive:
      case prom::Signal::kGpuUtil:
        if (best[s.entity] == 3 || rank(s) != best[s.entity]) continue;  // 3: no usable compute signal
        m = ProfileMetric::kCompute;
        p.compute_source = s.metric_name;
        break;
      case prom::Signal::kFbUsed: m = ProfileMetric::kFbUsed; break;
      case prom::Signal::kDramActive: m = ProfileMetric::kDram; break;
      case prom::Signal::kPower: m = ProfileMetric::kPower; break;
      default: continue;
    }
    model::UsageSketch& sketch = p.sketches[static_cast<std::size_t>(m)];
    sketch.InsertMany(s.values);
    if (!s.timestamps_ms.empty()) {
      p.first_ms = std::min(p.first_ms, s.timestamps_ms.front());
      p.last_ms = std::max(p.last_ms, s.timestamps_ms.back());
    }
  }
  for (EntityProfile& p : out) {
    if (p.first_ms > p.last_ms) p.first_ms = p.last_ms = 0;
    for (std::size_t m = 0; m < kProfileMetricCount; ++m) p.stats[m] = StatsOf(p.sketches[m]);
  }
  return out;
}

base::Result<std::vector<EntityProfile>> ReadProfiles(MetricsSource& source, const RangeRequest& request,
                                                      RangeTelemetry* range) {
  auto read = source.Range(request);
  if (!read.ok()) return read.status().Annotate("reading " + source.Describe());
  std::vector<EntityProfile> profiles = BuildProfiles(*read);
  if (range != nullptr) *range = std::move(*read);
  return profiles;
}

}  // namespace gpuwise::observe
