// PrometheusSource: MetricsSource over the Prometheus HTTP API (also Thanos, Mimir, Cortex, VictoriaMetrics).
// Reads every name a signal has in the dcgm catalog with one regex selector per signal, staying inside the
// server's limits (chunked query_range, sample-limit sharding, bounded concurrency: see prom_client.h), and
// drops the values Prometheus repeats across gaps (lookback), so a gap is unknown, not a repeated value.
#pragma once

#include <memory>
#include <string>

#include "observe/metrics_source.h"
#include "observe/prom/prom_client.h"
#include "observe/usage_profile.h"

namespace gpuwise::observe {

class PrometheusSource final : public MetricsSource {
 public:
  PrometheusSource(prom::PromClientOptions options, base::Clock& clock);
  std::string Describe() const override;
  base::Result<prom::Telemetry> Current() override;
  base::Result<RangeTelemetry> Range(const RangeRequest& request) override;

  // Window statistics computed by Prometheus itself (quantile_over_time, max_over_time, count_over_time,
  // avg_over_time at the window's end): a handful of instant queries instead of every raw point, and exact
  // over the raw samples (no lookback repeats). Quantiles are Prometheus's, interpolated between ranks. Each
  // query stays under the sample limit: series are sharded by UUID when series x points would pass it.
  // `request.step` is the scrape interval, used only to estimate samples per series.
  base::Result<std::vector<EntityProfile>> PushdownProfiles(const RangeRequest& request);

  // How many series the requested signals have in the window (one count query per signal).
  base::Result<std::int64_t> CountSeries(const RangeRequest& request);

 private:
  base::Result<std::int64_t> CountSignal(prom::Signal signal, const RangeRequest& request);

  prom::PromClient client_;
  base::Clock& clock_;
};

// `{__name__=~"A|B|C"}` over every catalog name of a signal, plus extra matchers.
std::string SignalSelector(prom::Signal signal, const std::vector<std::string>& matchers);

}  // namespace gpuwise::observe
