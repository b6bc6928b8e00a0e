#include "observe/prometheus_source.h"

#include <tuple>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "base/log.h"

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

base::Result<std::int64_t> PrometheusSource::CountSignal(prom::Signal signal, const RangeRequest& request) {
  const std::string selector = SignalSelector(signal, request.matchers);
  const std::string window = prom::FormatPromDuration(std::chrono::milliseconds(request.end_ms - request.start_ms));
  auto count = client_.Query("count(last_over_time(" + selector + "[" + window + "]))", request.end_ms);
  if (!count.ok()) return count.status().Annotate("counting series of " + std::string(prom::SignalName(signal)));
  if (count->vector.empty()) return 0;
  const double n = count->vector[0].value;
  if (!(n >= 0 && n < 9e18)) return base::DataLoss("Prometheus returned a series count of " + std::to_string(n));
  return static_cast<std::int64_t>(n);
}

base::Result<std::int64_t> PrometheusSource::CountSeries(const RangeRequest& request) {
  std::int64_t total = 0;
  for (prom::Signal signal : request.signals) {
    ASSIGN_OR_RETURN(const std::int64_t n, CountSignal(signal, request));
    total += n;
  }
  return total;
}

base::Result<RangeTelemetry> PrometheusSource::Range(const RangeRequest& request) {
  if (request.end_ms <= request.start_ms) return base::InvalidArgument("empty window: end is not after start");
  if (request.step.count() <= 0) return base::InvalidArgument("--step must be positive");
  RangeTelemetry out;
  prom::DcgmTelemetryBuilder builder;
  for (std::size_t k = 0; k < request.signals.size(); ++k) {
    const prom::Signal signal = request.signals[k];
    if (request.progress) request.progress(prom::SignalName(signal), k, request.signals.size());
    const std::string selector = SignalSelector(signal, request.matchers);
    ASSIGN_OR_RETURN(const std::int64_t series, CountSignal(signal, request));
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
      int attribution = -1;
      const prom::CatalogRow* row = builder.Locate(name, labels, &entity, &attribution);
      if (row == nullptr) continue;
      SignalSeries ss;
      ss.entity = entity;
      ss.attribution = attribution;
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

// Which metric names of `signals` exist in the window, how many series each, and their UUIDs (for sharding).
// Queries go per name, not per signal regex: functions drop __name__, and the name decides the unit.
base::Status PrometheusSource::NamesInWindow(const RangeRequest& request, const std::vector<prom::Signal>& signals,
                                             std::map<std::string, std::int64_t>* series_by_name,
                                             std::map<std::string, std::vector<std::string>>* uuids_by_name) {
  for (prom::Signal signal : signals) {
    ASSIGN_OR_RETURN(prom::SeriesResponse series,
                     client_.Series({SignalSelector(signal, request.matchers)}, request.start_ms, request.end_ms));
    for (const prom::Labels& labels : series.series) {
      std::string name, uuid;
      for (const auto& [k, v] : labels) {
        if (k == "__name__") name = v;
        if (k == "UUID" || k == "uuid") uuid = v;
      }
      if (name.empty()) continue;
      ++(*series_by_name)[name];
      if (!uuid.empty()) (*uuids_by_name)[name].push_back(uuid);
    }
  }
  return base::Status::Ok();
}

base::Result<SeriesWindowStats> PrometheusSource::SeriesStats(const RangeRequest& request,
                                                              const std::vector<prom::Signal>& signals,
                                                              const std::vector<double>& quantiles) {
  if (request.end_ms <= request.start_ms) return base::InvalidArgument("empty window: end is not after start");
  if (request.step.count() <= 0) return base::InvalidArgument("--step must be positive");
  const std::chrono::milliseconds window(request.end_ms - request.start_ms);
  const prom::DcgmCatalog& catalog = prom::DcgmCatalog::Default();
  std::map<std::string, std::vector<std::string>> uuids_by_name;
  std::map<std::string, std::int64_t> series_by_name;
  RETURN_IF_ERROR(NamesInWindow(request, signals, &series_by_name, &uuids_by_name));
  SeriesWindowStats out;
  prom::DcgmTelemetryBuilder builder;
  std::map<std::tuple<std::size_t, int, prom::Signal>, std::size_t> index;
  const std::int64_t points = window.count() / request.step.count() + 1;
  const std::int64_t max_samples = client_.options().limits.max_samples;

  // One instant query per (name, shard, function). `which`: -1 count, -2 max, -3 mean, k >= 0 quantiles[k].
  struct Task {
    std::string name;
    const prom::CatalogRow* row = nullptr;
    bool sharded = false;
    std::string promql;
    int which = 0;
  };
  auto tasks_of = [&](const std::string& name, const prom::CatalogRow* row, const std::string& shard) {
    std::vector<std::string> matchers = request.matchers;
    if (!shard.empty()) matchers.push_back(shard);
    const std::string sel = prom::BuildSelector(name, matchers);
    std::vector<Task> t = {{name, row, !shard.empty(), prom::CountOverTime(sel, window), -1},
                           {name, row, !shard.empty(), prom::MaxOverTime(sel, window), -2},
                           {name, row, !shard.empty(), prom::AvgOverTime(sel, window), -3}};
    for (std::size_t q = 0; q < quantiles.size(); ++q) {
      t.push_back({name, row, !shard.empty(), prom::QuantileOverTime(quantiles[q], sel, window), static_cast<int>(q)});
    }
    return t;
  };
  // Unsharded first: Prometheus bounds a function of a range selector by one series' window, not by series x
  // window, so one query per function covers every series. A server that counts otherwise (and answers "too many
  // samples") gets the name again, sharded by UUID so each shard's series x points fits max_samples.
  std::deque<Task> queue;
  for (const auto& [name, count] : series_by_name) {
    const prom::CatalogRow* row = catalog.Find(name);
    if (row == nullptr) continue;
    for (Task& t : tasks_of(name, row, "")) queue.push_back(std::move(t));
  }
  std::set<std::string> sharded_names;
  auto shard = [&](const std::string& name, const prom::CatalogRow* row) -> base::Status {
    const std::int64_t count = series_by_name[name];
    auto& uuids = uuids_by_name[name];
    std::sort(uuids.begin(), uuids.end());
    uuids.erase(std::unique(uuids.begin(), uuids.end()), uuids.end());
    const std::size_t k = std::max<std::size_t>(2, static_cast<std::size_t>((count * points + max_samples - 1) / max_samples));
    if (uuids.size() < k) {
      return base::ResourceExhausted(name + ": " + std::to_string(count) + " series x " + std::to_string(points) +
                                     " points is over the server's sample limit and cannot be split by UUID; "
                                     "narrow with --match or shorten --window");
    }
    LOG_INFO << "prometheus: too many samples for " << name << " window statistics; " << k << " UUID shards";
    for (const std::string& s : prom::RegexShards("UUID", uuids, k)) {
      for (Task& t : tasks_of(name, row, s)) queue.push_back(std::move(t));
    }
    return base::Status::Ok();
  };
  auto fold = [&](const Task& task, const prom::QueryResponse& r) {
    for (const prom::Sample& smp : r.vector) {
      std::string_view ignored;
      std::vector<prom::Label> labels = Views(smp.labels, &ignored);
      std::size_t entity = 0;
      int attribution = -1;
      if (builder.Locate(task.name, labels, &entity, &attribution) == nullptr) continue;
      auto [it, fresh] = index.emplace(std::make_tuple(entity, attribution, task.row->signal), out.series.size());
      if (fresh) {
        SeriesStat st;
        st.entity = entity;
        st.attribution = attribution;
        st.signal = task.row->signal;
        st.metric_name = task.name;
        st.quantiles.assign(quantiles.size(), NAN);
        out.series.push_back(std::move(st));
      }
      SeriesStat& st = out.series[it->second];
      if (task.which == -1) {
        st.count = smp.value >= 0 && smp.value < 9e18 ? static_cast<std::uint64_t>(smp.value) : 0;
        continue;
      }
      double v;
      // Every unit conversion is a positive scale, so it commutes with quantiles, max and mean.
      const double value = prom::NormalizeValue(*task.row, smp.value, &v) ? v : NAN;
      if (task.which == -2) st.max = value;
      else if (task.which == -3) st.mean = value;
      else st.quantiles[static_cast<std::size_t>(task.which)] = value;
    }
  };
  // Batches of `concurrency` queries in flight; each batch is folded in order before the next starts, so at most
  // that many answers are held at once and the result does not depend on timing.
  const std::size_t width = static_cast<std::size_t>(std::max(1, client_.options().concurrency));
  std::set<std::string> started;
  while (!queue.empty()) {
    std::vector<Task> batch;
    while (!queue.empty() && batch.size() < width) {
      Task t = std::move(queue.front());
      queue.pop_front();
      if (!t.sharded && sharded_names.count(t.name)) continue;  // superseded by its shards
      if (started.insert(t.name).second && request.progress) {
        request.progress(t.name, started.size() - 1, series_by_name.size());
      }
      batch.push_back(std::move(t));
    }
    std::vector<base::Result<prom::QueryResponse>> answers(batch.size(), base::Unavailable("not run"));
    std::vector<std::thread> threads;
    for (std::size_t b = 1; b < batch.size(); ++b) {
      threads.emplace_back([&, b] { answers[b] = client_.Query(batch[b].promql, request.end_ms); });
    }
    if (!batch.empty()) answers[0] = client_.Query(batch[0].promql, request.end_ms);
    for (std::thread& t : threads) t.join();
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const Task& task = batch[b];
      ++out.requests;
      if (answers[b].ok()) {
        if (!sharded_names.count(task.name) || task.sharded) fold(task, *answers[b]);
        continue;
      }
      if (prom::IsTooManySamples(answers[b].status()) && !task.sharded) {
        if (sharded_names.insert(task.name).second) RETURN_IF_ERROR(shard(task.name, task.row));
        continue;
      }
      return answers[b].status().Annotate(std::string(prom::SignalName(task.row->signal)) + " window statistics");
    }
  }
  out.quantile_levels = quantiles;
  for (std::size_t i = 0; i < builder.entity_count(); ++i) out.entities.push_back(builder.entity(i));
  return out;
}

base::Result<std::vector<EntityProfile>> PrometheusSource::PushdownProfiles(const RangeRequest& request) {
  ASSIGN_OR_RETURN(SeriesWindowStats stats, SeriesStats(request, ProfileSignals(), {0.5, 0.95, 0.99}));
  // (entity, signal) -> stats; an entity's series under several pod labels: the last one read stands for it.
  std::map<std::pair<std::size_t, prom::Signal>, std::pair<std::string, MetricStats>> found;
  for (const SeriesStat& st : stats.series) {
    auto& slot = found[{st.entity, st.signal}];
    slot.first = st.metric_name;
    slot.second.count = st.count;
    slot.second.p50 = st.quantiles[0];
    slot.second.p95 = st.quantiles[1];
    slot.second.p99 = st.quantiles[2];
    slot.second.max = st.max;
    slot.second.mean = st.mean;
  }
  std::vector<EntityProfile> out(stats.entities.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i].entity = stats.entities[i];
  auto take = [&](std::size_t entity, prom::Signal s) -> const std::pair<std::string, MetricStats>* {
    auto it = found.find({entity, s});
    return it != found.end() && it->second.second.count > 0 ? &it->second : nullptr;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    EntityProfile& p = out[i];
    const std::pair<std::string, MetricStats>* compute = take(i, prom::Signal::kSmActive);
    if (!compute) compute = take(i, prom::Signal::kGrEngineActive);
    if (!compute && !p.entity.is_mig()) compute = take(i, prom::Signal::kGpuUtil);
    if (compute) {
      p.compute_source = compute->first;
      p.stats[static_cast<std::size_t>(ProfileMetric::kCompute)] = compute->second;
    }
    if (auto* f = take(i, prom::Signal::kFbUsed)) p.stats[static_cast<std::size_t>(ProfileMetric::kFbUsed)] = f->second;
    if (auto* d = take(i, prom::Signal::kDramActive)) p.stats[static_cast<std::size_t>(ProfileMetric::kDram)] = d->second;
    if (auto* w = take(i, prom::Signal::kPower)) p.stats[static_cast<std::size_t>(ProfileMetric::kPower)] = w->second;
  }
  return out;
}

base::Result<RangeTelemetry> PrometheusSource::AggregateRange(const RangeRequest& request,
                                                              std::chrono::seconds interval,
                                                              const std::vector<prom::Signal>& weighted) {
  if (request.end_ms <= request.start_ms) return base::InvalidArgument("empty window: end is not after start");
  if (interval.count() <= 0) return base::InvalidArgument("the aggregation interval must be positive");
  const std::chrono::milliseconds iv = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
  const prom::DcgmCatalog& catalog = prom::DcgmCatalog::Default();
  std::map<std::string, std::vector<std::string>> uuids_by_name;
  std::map<std::string, std::int64_t> series_by_name;
  RETURN_IF_ERROR(NamesInWindow(request, request.signals, &series_by_name, &uuids_by_name));
  RangeTelemetry out;
  prom::DcgmTelemetryBuilder builder;
  // Interval [T, T + iv) is read at t = T + iv - 1 ms over a window of iv - 1 ms: Prometheus 2.x range selectors
  // include both ends, so that is exactly [T, T + iv - 1 ms], the samples the raw path puts in the interval. (On 3.x,
  // whose windows are left-open, a sample exactly at T would be missed: a stated undercount.)
  const std::int64_t first = (request.start_ms / iv.count() + 1) * iv.count() - 1;
  const std::int64_t last = ((request.end_ms + iv.count() - 1) / iv.count()) * iv.count() - 1;
  const std::chrono::milliseconds inner = iv - std::chrono::milliseconds(1);
  std::size_t done = 0;
  for (const auto& [name, count] : series_by_name) {
    if (request.progress) request.progress(name, done++, series_by_name.size());
    const prom::CatalogRow* row = catalog.Find(name);
    if (row == nullptr) continue;
    const bool with_count = std::find(weighted.begin(), weighted.end(), row->signal) != weighted.end();
    const std::string sel = prom::BuildSelector(name, request.matchers);
    prom::RangeQuery q;
    q.start_ms = first;
    q.end_ms = last;
    q.step = iv;
    q.estimated_series = count;
    q.promql = prom::AvgOverTime(sel, inner);
    ASSIGN_OR_RETURN(prom::MatrixResult avg, client_.QueryRange(q));
    prom::MatrixResult counts;
    if (with_count) {
      q.promql = prom::CountOverTime(sel, inner);
      ASSIGN_OR_RETURN(counts, client_.QueryRange(q));
    }
    out.requests += avg.requests + counts.requests;
    for (auto& w : avg.warnings) out.warnings.push_back(std::move(w));
    // Counts by label set, matched to the averages' series.
    std::map<prom::Labels, const prom::Series*> count_of;
    for (const prom::Series& s : counts.matrix) count_of[s.labels] = &s;
    for (const prom::Series& s : avg.matrix) {
      std::string_view ignored;
      std::vector<prom::Label> labels = Views(s.labels, &ignored);
      std::size_t entity = 0;
      int attribution = -1;
      if (builder.Locate(name, labels, &entity, &attribution) == nullptr) continue;
      SignalSeries ss;
      ss.entity = entity;
      ss.signal = row->signal;
      ss.metric_name = name;
      ss.attribution = attribution;
      const prom::Series* c = with_count ? count_of[s.labels] : nullptr;
      std::size_t ci = 0;
      for (std::size_t i = 0; i < s.values.size(); ++i) {
        double v;
        if (!prom::NormalizeValue(*row, s.values[i], &v)) {
          ++out.missing_values;
          continue;
        }
        std::uint32_t weight = 1;
        if (c != nullptr) {
          while (ci < c->timestamps_ms.size() && c->timestamps_ms[ci] < s.timestamps_ms[i]) ++ci;
          if (ci < c->timestamps_ms.size() && c->timestamps_ms[ci] == s.timestamps_ms[i] && c->values[ci] >= 1 &&
              c->values[ci] < 4e9) {
            weight = static_cast<std::uint32_t>(c->values[ci]);
          }
        }
        // t = T + iv - 1 ms lies inside the interval it summarises.
        ss.timestamps_ms.push_back(s.timestamps_ms[i]);
        ss.values.push_back(v);
        ss.weights.push_back(weight);
        out.points_read += weight;
      }
      out.series.push_back(std::move(ss));
    }
  }
  for (std::size_t i = 0; i < builder.entity_count(); ++i) out.entities.push_back(builder.entity(i));
  return out;
}

}  // namespace gpuwise::observe
