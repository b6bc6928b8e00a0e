#include "observe/prometheus_source.h"

#include <algorithm>
#include <map>

namespace gpuwise::observe {
namespace {

std::vector<prom::Label> Views(const prom::Labels& labels, std::string_view* name) {
  std::vector<prom::Label> out;
  out.reserve(labels.size());
  for (const auto& [k, v] : labels) {
    if (k == "__name__") {
      *name = v;
      continue;
    }
    out.push_back({k, v});
  }
  return out;
}

}  // namespace

std::string SignalSelector(prom::Signal signal, const std::vector<std::string>& matchers) {
  std::string names;
  for (const prom::CatalogRow& row : prom::DcgmCatalog::Default().rows()) {
    if (row.signal != signal) continue;
    if (!names.empty()) names += '|';
    names += row.name;
  }
  std::vector<std::string> all = {"__name__=~\"" + names + "\""};
  all.insert(all.end(), matchers.begin(), matchers.end());
  return prom::BuildSelector("", all);
}

PrometheusSource::PrometheusSource(prom::PromClientOptions options, base::Clock& clock)
    : client_(std::move(options), clock), clock_(clock) {}

std::string PrometheusSource::Describe() const { return "prometheus " + client_.options().base_url; }

base::Result<prom::Telemetry> PrometheusSource::Current() {
  std::string names;
  for (const prom::CatalogRow& row : prom::DcgmCatalog::Default().rows()) {
    if (!names.empty()) names += '|';
    names += row.name;
  }
  ASSIGN_OR_RETURN(prom::QueryResponse r,
                   client_.Query("{__name__=~\"" + names + "\"}", clock_.NowUnixMillis()));
  prom::DcgmTelemetryBuilder builder;
  for (const prom::Sample& s : r.vector) {
    std::string_view name;
    std::vector<prom::Label> labels = Views(s.labels, &name);
    builder.Add(name, labels, s.value);
  }
  return builder.Finish();
}

base::Result<RangeTelemetry> PrometheusSource::Range(const RangeRequest& request) {
  if (request.end_ms <= request.start_ms) return base::InvalidArgument("empty window: end is not after start");
  if (request.step.count() <= 0) return base::InvalidArgument("--step must be positive");
  RangeTelemetry out;
  prom::DcgmTelemetryBuilder builder;
  for (prom::Signal signal : request.signals) {
    const std::string selector = SignalSelector(signal, request.matchers);
    // How many series: one instant count, so the client can shard to stay under the sample limit.
    std::int64_t series = 0;
    auto count = client_.Query("count(last_over_time(" + selector + "[" +
                                   prom::FormatPromDuration(std::chrono::milliseconds(request.end_ms - request.start_ms)) +
                                   "]))",
                               request.end_ms);
    if (!count.ok()) return count.status().Annotate("counting series of " + std::string(prom::SignalName(signal)));
    if (!count->vector.empty()) series = static_cast<std::int64_t>(count->vector[0].value);
    if (series == 0) continue;
    prom::RangeQuery q;
    q.promql = selector;
    q.start_ms = request.start_ms;
    q.end_ms = request.end_ms;
    q.step = request.step;
    q.estimated_series = series;
    ASSIGN_OR_RETURN(prom::MatrixResult raw, client_.QueryRange(q));
    // Presence at each step: a real sample within the last step. The window is one step minus 1 ms because
    // Prometheus 2.x range selectors include both ends: [t-15s, t] would also count the sample at t-15s.
    prom::RangeQuery pq = q;
    pq.promql = prom::PresenceQuery(selector, request.step - std::chrono::milliseconds(1));
    ASSIGN_OR_RETURN(prom::MatrixResult presence, client_.QueryRange(pq));
    out.requests += raw.requests + presence.requests;
    for (auto& w : raw.warnings) out.warnings.push_back(std::move(w));
    for (const prom::Series& s : raw.matrix) out.points_read += static_cast<std::int64_t>(s.values.size());
    std::int64_t dropped = 0;
    prom::Matrix kept = prom::DropStalePoints(raw.matrix, presence.matrix, &dropped);
    out.stale_dropped += dropped;
    for (const prom::Series& s : kept) {
      std::string_view name;
      std::vector<prom::Label> labels = Views(s.labels, &name);
      std::size_t entity = 0;
      const prom::CatalogRow* row = builder.Locate(name, labels, &entity);
      if (row == nullptr) continue;
      SignalSeries ss;
      ss.entity = entity;
      ss.signal = row->signal;
      ss.metric_name = row->name;
      ss.timestamps_ms.reserve(s.values.size());
      ss.values.reserve(s.values.size());
      for (std::size_t i = 0; i < s.values.size(); ++i) {
        double v;
        if (!prom::NormalizeValue(*row, s.values[i], &v)) {
          ++out.missing_values;
          continue;
        }
        ss.timestamps_ms.push_back(s.timestamps_ms[i]);
        ss.values.push_back(v);
      }
      out.series.push_back(std::move(ss));
    }
  }
  for (std::size_t i = 0; i < builder.entity_count(); ++i) out.entities.push_back(builder.entity(i));
  return out;
}

}  // namespace gpuwise::observe
