// PrometheusSource: MetricsSource over the Prometheus HTTP API (also Thanos, Mimir, Cortex, VictoriaMetrics).
// Reads every name a signal has in the dcgm catalog with one regex selector per signal, staying inside the
// server's limits (chunked query_range, sample-limit sharding, bounded concurrency: see prom_client.h), and
// drops the values Prometheus repeats across gaps (lookback), so a gap is unknown, not a repeated value.
#pragma once

#include <memory>
#include <string>

#include "observe/metrics_source.h"
#include "observe/prom/prom_client.h"

namespace gpuwise::observe {

class PrometheusSource final : public MetricsSource {
 public:
  PrometheusSource(prom::PromClientOptions options, base::Clock& clock);
  std::string Describe() const override;
  base::Result<prom::Telemetry> Current() override;
  base::Result<RangeTelemetry> Range(const RangeRequest& request) override;

 private:
  prom::PromClient client_;
  base::Clock& clock_;
};

// `{__name__=~"A|B|C"}` over every catalog name of a signal, plus extra matchers.
std::string SignalSelector(prom::Signal signal, const std::vector<std::string>& matchers);

}  // namespace gpuwise::observe
