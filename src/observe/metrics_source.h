// MetricsSource: the one narrow interface through which gpuwise reads GPU telemetry, whether scraped from
// dcgm-exporter endpoints directly or read back from Prometheus (or a fake in tests).
// Thread-safety: implementations are used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "observe/prom/dcgm_telemetry.h"
#include "observe/prom/scraper.h"

namespace gpuwise::observe {

// Samples of one signal of one entity, columnar, in canonical units, timestamps strictly increasing.
struct SignalSeries {
  std::size_t entity = 0;  // index into RangeTelemetry::entities
  prom::Signal signal = prom::Signal::kCount;
  std::string metric_name;  // the exported name it came from (for "which source did you use")
  int attribution = -1;     // index into entities[entity].pods of the pod this series names, or -1 (no pod label)
  std::vector<std::int64_t> timestamps_ms;
  std::vector<double> values;
  // Empty: each value is one sample. Else values[i] is the mean of weights[i] samples (an aggregated read).
  std::vector<std::uint32_t> weights;
};

struct RangeRequest {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  // Resolution to read at; equal to the scrape interval, so each real sample is read once.
  std::chrono::milliseconds step{30'000};
  std::vector<prom::Signal> signals;
  std::vector<std::string> matchers;  // extra PromQL label matchers, e.g. Hostname="node-1"
  // Called before each signal is read ("fb_used", index, total), for progress on long reads. Optional.
  std::function<void(std::string_view what, std::size_t index, std::size_t total)> progress;
};

struct RangeTelemetry {
  std::vector<prom::GpuEntity> entities;  // identity only (values unused)
  std::vector<SignalSeries> series;
  std::int64_t points_read = 0;     // points received before gap filtering
  std::int64_t stale_dropped = 0;   // repeated values across gaps, dropped (unknown, not repeated)
  std::int64_t missing_values = 0;  // DCGM blanks / NaN, dropped
  int requests = 0;
  std::vector<std::string> warnings;
};

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // "prometheus http://prom:9090" or "scrape 3 endpoints", for output headers and errors.
  virtual std::string Describe() const = 0;
  // The latest value of every dcgm signal per GPU and MIG instance.
  virtual base::Result<prom::Telemetry> Current() = 0;
  // Every sample of the requested signals over the window. A direct scrape has no history: Unimplemented.
  virtual base::Result<RangeTelemetry> Range(const RangeRequest& request) = 0;
};

// Scrapes dcgm-exporter endpoints directly. Current() fails only when every endpoint fails; per-endpoint
// errors are in endpoint_errors().
class ScrapeSource final : public MetricsSource {
 public:
  ScrapeSource(std::vector<std::string> urls, prom::ScrapeOptions options);
  std::string Describe() const override;
  base::Result<prom::Telemetry> Current() override;
  base::Result<RangeTelemetry> Range(const RangeRequest& request) override;
  const std::vector<prom::ScrapeResult>& last_results() const { return last_; }

 private:
  std::vector<std::string> urls_;
  prom::Scraper scraper_;
  std::vector<prom::ScrapeResult> last_;
};

// A source with canned data, for tests of everything downstream of MetricsSource.
class FakeMetricsSource final : public MetricsSource {
 public:
  std::string Describe() const override { return "fake"; }
  base::Result<prom::Telemetry> Current() override { return current; }
  base::Result<RangeTelemetry> Range(const RangeRequest& request) override;
  prom::Telemetry current;
  RangeTelemetry range;
  base::Status error;  // when not OK, every call fails with it
  std::vector<RangeRequest> requests;
};

}  // namespace gpuwise::observe
