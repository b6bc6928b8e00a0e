// PrometheusSource: MetricsSource over the Prometheus HTTP API (also Thanos, Mimir, Cortex, VictoriaMetrics).
// Reads every name a signal has in the dcgm catalog with one regex selector per signal, staying inside the
// server's limits (chunked query_range, sample-limit sharding, bounded concurrency: see prom_client.h), and
// drops the values Prometheus repeats across gaps (lookback), so a gap is unknown, not a repeated value.
#pragma once

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "observe/metrics_source.h"
#include "observe/prom/prom_client.h"
#include "observe/usage_profile.h"

namespace gpuwise::observe {

// Window statistics of each series (per GPU entity, pod label and signal), computed by Prometheus.
struct SeriesStat {
  std::size_t entity = 0;     // index into SeriesWindowStats::entities
  int attribution = -1;       // index into entities[entity].pods, or -1
  prom::Signal signal = prom::Signal::kCount;
  std::string metric_name;
  std::uint64_t count = 0;
  std::vector<double> quantiles;  // at SeriesWindowStats::quantile_levels, canonical units; NaN unknown
  double max = NAN, mean = NAN;
};
struct SeriesWindowStats {
  std::vector<prom::GpuEntity> entities;
  std::vector<SeriesStat> series;
  std::vector<double> quantile_levels;
  int requests = 0;
};

class PrometheusSource final : public MetricsSource {
 public:
  PrometheusSource(prom::PromClientOptions options, base::Clock& clock);
  std::string Describe() const override;
  base::Result<prom::Telemetry> Current() override;
  base::Result<RangeTelemetry> Range(const RangeRequest& request) override;

  // Window statistics computed by Prometheus itself (quantile_over_time, max_over_time, count_over_time,
  // avg_over_time at the window's end): a handful of instant queries instead of every raw point, and exact
  // over the raw samples (no lookback repeats). Quantiles are Prometheus's, interpolated between ranks. One query
  // per metric name and function (Prometheus bounds such a query by one series' window); a name the server answers
  // "too many samples" for is asked again sharded by UUID, each shard's series x points under max_samples.
  // `request.step` is the scrape interval, used only to size the shards. Up to the client's concurrency queries
  // are in flight at once.
  base::Result<std::vector<EntityProfile>> PushdownProfiles(const RangeRequest& request);

  // Per-series count, max, mean and quantiles over the whole window (instant queries at the end, sharded by UUID
  // only when the server refuses a name as too many samples). The quantiles are Prometheus's (interpolated
  // between ranks).
  base::Result<SeriesWindowStats> SeriesStats(const RangeRequest& request, const std::vector<prom::Signal>& signals,
                                              const std::vector<double>& quantiles);

  // The window on a grid of `interval` (aligned to multiples of it in Unix time): per series and interval the mean
  // (avg_over_time) and, for the `weighted` signals, the sample count (count_over_time) as the SignalSeries weight;
  // other signals get weight 1. Each interval [T, T + interval) is read at T + interval - 1 ms over interval - 1 ms. A week of 10,000 GPUs at 1 h is 168 points per series instead of 20,160: the cost
  // ledger is the same as from raw samples (means weighted by counts), the percentiles are not (use SeriesStats).
  base::Result<RangeTelemetry> AggregateRange(const RangeRequest& request, std::chrono::seconds interval,
                                              const std::vector<prom::Signal>& weighted);

  // How many series the requested signals have in the window (one count query per signal).
  base::Result<std::int64_t> CountSeries(const RangeRequest& request);

 private:
  base::Result<std::int64_t> CountSignal(prom::Signal signal, const RangeRequest& request);
  base::Status NamesInWindow(const RangeRequest& request, const std::vector<prom::Signal>& signals,
                             std::map<std::string, std::int64_t>* series_by_name,
                             std::map<std::string, std::vector<std::string>>* uuids_by_name);

  prom::PromClient client_;
  base::Clock& clock_;
};

// `{__name__=~"A|B|C"}` over every catalog name of a signal, plus extra matchers.
std::string SignalSelector(prom::Signal signal, const std::vector<std::string>& matchers);

}  // namespace gpuwise::observe
