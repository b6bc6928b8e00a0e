// ScrapeWindow: turns repeated scrapes of dcgm-exporter pages (a live view over a few minutes, or the pages of a
// simulated history) into the same RangeTelemetry a Prometheus window gives: one SignalSeries per (GPU entity,
// signal, pod label) with the scrape times as timestamps. So both sources go through one snapshot path and give the
// same attribution for the same data.
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "observe/metrics_source.h"

namespace gpuwise::observe {

class ScrapeWindow {
 public:
  // Adds every value of one scrape (all endpoints' pages built into one Telemetry) taken at t_ms.
  void Add(const prom::Telemetry& telemetry, std::int64_t t_ms);
  int scrapes() const { return scrapes_; }
  const RangeTelemetry& range() const { return range_; }
  RangeTelemetry Take();

 private:
  RangeTelemetry range_;
  std::map<std::string, std::size_t> entity_index_;                 // GpuEntity::Key() -> index
  std::map<std::tuple<std::size_t, int, int>, std::size_t> series_;  // (entity, signal, attribution) -> series
  int scrapes_ = 0;
};

}  // namespace gpuwise::observe
