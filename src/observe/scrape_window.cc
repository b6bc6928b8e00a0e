#include "observe/scrape_window.h"

#include <algorithm>

namespace gpuwise::observe {

void ScrapeWindow::Add(const prom::Telemetry& telemetry, std::int64_t t_ms) {
  ++scrapes_;
  for (const prom::GpuEntity& e : telemetry.entities) {
    auto [it, fresh] = entity_index_.emplace(e.Key(), range_.entities.size());
    if (fresh) {
      prom::GpuEntity identity = e;
      identity.pods.clear();
      range_.entities.push_back(std::move(identity));
    }
    prom::GpuEntity& mine = range_.entities[it->second];
    if (mine.target.empty()) mine.target = e.target;
    if (mine.exporter_pod.empty()) mine.exporter_pod = e.exporter_pod;
    // This scrape's pod labels, as indices into the accumulated entity's pod list.
    std::vector<int> attribution;
    for (const prom::Attribution& a : e.pods) {
      auto p = std::find(mine.pods.begin(), mine.pods.end(), a);
      if (p == mine.pods.end()) p = mine.pods.insert(mine.pods.end(), a);
      attribution.push_back(static_cast<int>(p - mine.pods.begin()));
    }
    if (attribution.empty()) attribution.push_back(-1);
    for (std::size_t s = 0; s < prom::kSignalCount; ++s) {
      // A blank (exported but unknown) value is kept as NaN: it carries the pod label; a signal not exported is not.
      if (std::isnan(e.values[s]) && !e.blank[s]) continue;
      for (int a : attribution) {
        auto [si, made] = series_.emplace(std::make_tuple(it->second, static_cast<int>(s), a), range_.series.size());
        if (made) {
          SignalSeries ss;
          ss.entity = it->second;
          ss.signal = static_cast<prom::Signal>(s);
          ss.metric_name = e.source_name[s];
          ss.attribution = a;
          range_.series.push_back(std::move(ss));
        }
        SignalSeries& ss = range_.series[si->second];
        ss.timestamps_ms.push_back(t_ms);
        ss.values.push_back(e.values[s]);
        ++range_.points_read;
      }
    }
  }
  range_.missing_values += static_cast<std::int64_t>(telemetry.stats.missing_values);
}

RangeTelemetry ScrapeWindow::Take() {
  RangeTelemetry out = std::move(range_);
  range_ = {};
  entity_index_.clear();
  series_.clear();
  scrapes_ = 0;
  return out;
}

}  // namespace gpuwise::observe
