#include "observe/serving_telemetry.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "base/log.h"
#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe {
namespace {

double LabelNumber(std::span<const prom::Label> labels, std::string_view name) {
  for (const prom::Label& l : labels) {
    if (l.name != name) continue;
    double v = NAN;
    auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), v);
    return ec == std::errc() && p == l.value.data() + l.value.size() ? v : NAN;
  }
  return NAN;
}

std::string_view LabelValue(std::span<const prom::Label> labels, std::string_view name) {
  for (const prom::Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

void AddTo(double* sum, double v) {
  if (!std::isfinite(v) || v < 0) return;
  *sum = std::isnan(*sum) ? v : *sum + v;
}

// A bucket bound as Prometheus prints it: "0.25", "1e+06", "+Inf". NaN when it is none.
double ParseLe(std::string_view text) {
  if (text == "+Inf" || text == "Inf" || text == "+inf" || text == "inf") return INFINITY;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = NAN;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() && !std::isnan(v) ? v : NAN;
}

// The latency histograms read (vllm:time_per_output_token_seconds and its successor inter_token_latency_seconds are
// read apart: until 0.13 vLLM observes every inter-token latency into both, so they must not add).
enum class Hist { kTtft, kTpot, kItl, kE2e, kCount };
constexpr std::string_view kHistNames[] = {"vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds",
                                           "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds"};
static_assert(std::size(kHistNames) == static_cast<std::size_t>(Hist::kCount));

// Which histogram a sample name belongs to, and whether it is a bucket (else the _count). kCount: neither.
Hist HistOf(std::string_view name, bool* bucket) {
  for (std::size_t h = 0; h < std::size(kHistNames); ++h) {
    if (!name.starts_with(kHistNames[h])) continue;
    const std::string_view rest = name.substr(kHistNames[h].size());
    if (rest == "_bucket" || rest == "_count") {
      *bucket = rest == "_bucket";
      return static_cast<Hist>(h);
    }
  }
  return Hist::kCount;
}

// One series' buckets as they arrive (a page's, or a Prometheus answer's): bound -> cumulative count.
struct BucketSet {
  std::map<double, double> finite;
  double inf = NAN, count = NAN;
  void Add(double le, double v) {
    if (!std::isfinite(v) || v < 0 || std::isnan(le)) return;
    if (std::isinf(le)) {
      if (le > 0) inf = std::isnan(inf) ? v : inf + v;
      return;
    }
    finite[le] += v;
  }
  model::LatencyHistogram Histogram() const {
    model::LatencyHistogram h;
    for (const auto& [le, v] : finite) {
      h.upper_bounds.push_back(le);
      h.cumulative.push_back(v);
    }
    // The +Inf bucket is the count; a series without one (a partial page) falls back on _count, else its top bucket.
    h.count = !std::isnan(inf) ? inf : !std::isnan(count) ? count : h.cumulative.empty() ? 0 : h.cumulative.back();
    return h;
  }
};

void MergeBasis(std::string* into, const std::string& basis) {
  if (basis.empty() || into->find(basis) != std::string::npos) return;
  *into += (into->empty() ? "" : "; ") + basis;
}

void AddLatency(const model::ServingUsage& pod, model::ServingUsage* w) {
  AddHistogram(pod.ttft, &w->ttft);
  AddHistogram(pod.tpot, &w->tpot);
  AddHistogram(pod.e2e, &w->e2e);
  MergeBasis(&w->latency_basis, pod.latency_basis);
  SetLatencyQuantiles(w);
}

}  // namespace

model::LatencyHistogram HistogramIncrease(const std::vector<const model::LatencyHistogram*>& scrapes) {
  model::LatencyHistogram out;
  const model::LatencyHistogram* last = nullptr;
  for (const model::LatencyHistogram* h : scrapes) {
    if (h == nullptr || !h->read() || h->cumulative.size() != h->upper_bounds.size()) continue;
    if (last == nullptr) {
      out.upper_bounds = h->upper_bounds;
      out.cumulative.assign(h->upper_bounds.size(), 0.0);
      out.count = 0;
      last = h;
      continue;
    }
    bool reset = h->upper_bounds != last->upper_bounds || h->count < last->count;
    for (std::size_t i = 0; !reset && i < h->cumulative.size(); ++i) reset = h->cumulative[i] < last->cumulative[i];
    model::LatencyHistogram step = *h;  // a restart: the new value is the increase
    if (!reset) {
      for (std::size_t i = 0; i < step.cumulative.size(); ++i) step.cumulative[i] -= last->cumulative[i];
      step.count -= last->count;
    }
    AddHistogram(step, &out);
    last = h;
  }
  return out;
}

void AddHistogram(const model::LatencyHistogram& more, model::LatencyHistogram* into) {
  if (!more.read()) return;
  if (!into->read()) {
    *into = more;
    return;
  }
  if (into->upper_bounds == more.upper_bounds && into->cumulative.size() == more.cumulative.size()) {
    for (std::size_t i = 0; i < more.cumulative.size(); ++i) into->cumulative[i] += more.cumulative[i];
    into->count += more.count;
    return;
  }
  // Different bounds: each contributes at every bound of the union what it knows is at or below it.
  std::vector<double> bounds = into->upper_bounds;
  bounds.insert(bounds.end(), more.upper_bounds.begin(), more.upper_bounds.end());
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  auto at = [](const model::LatencyHistogram& h, double bound) {
    const std::size_t n = std::min(h.upper_bounds.size(), h.cumulative.size());
    const auto it = std::upper_bound(h.upper_bounds.begin(), h.upper_bounds.begin() + static_cast<std::ptrdiff_t>(n), bound);
    return it == h.upper_bounds.begin() ? 0.0 : h.cumulative[static_cast<std::size_t>(it - h.upper_bounds.begin()) - 1];
  };
  std::vector<double> cumulative(bounds.size());
  for (std::size_t i = 0; i < bounds.size(); ++i) cumulative[i] = at(*into, bounds[i]) + at(more, bounds[i]);
  into->upper_bounds = std::move(bounds);
  into->cumulative = std::move(cumulative);
  into->count += more.count;
}

double HistogramQuantile(double q, const model::LatencyHistogram& h) {
  if (!(q >= 0 && q <= 1)) return NAN;
  const std::size_t n = std::min(h.upper_bounds.size(), h.cumulative.size());
  if (n == 0) return NAN;  // only the +Inf bucket: Prometheus needs two
  // Monotone, as Prometheus makes extrapolated increases before it interpolates.
  std::vector<double> cum(n);
  double run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(h.cumulative[i])) run = std::max(run, h.cumulative[i]);
    cum[i] = run;
  }
  const double count = std::isfinite(h.count) ? std::max(run, h.count) : run;
  if (!(count > 0)) return NAN;
  const std::vector<double>& le = h.upper_bounds;
  const auto lower = [&](std::size_t b) { return b > 0 ? le[b - 1] : std::min(0.0, le[0]); };
  if (q == 0) {
    for (std::size_t b = 0; b < n; ++b) {
      if (cum[b] > 0) return lower(b);
    }
    return le[n - 1];
  }
  const double rank = q * count;
  std::size_t b = 0;
  while (b < n && cum[b] < rank) ++b;
  if (b == n) return le[n - 1];  // in the +Inf bucket: the highest finite bound
  if (b == 0 && le[0] <= 0) return le[0];
  const double below = b > 0 ? cum[b - 1] : 0;
  return lower(b) + (le[b] - lower(b)) * ((rank - below) / (cum[b] - below));
}

void SetLatencyQuantiles(model::ServingUsage* u) {
  u->ttft_p50_s = HistogramQuantile(0.5, u->ttft);
  u->ttft_p99_s = HistogramQuantile(0.99, u->ttft);
  u->tpot_p50_s = HistogramQuantile(0.5, u->tpot);
  u->tpot_p99_s = HistogramQuantile(0.99, u->tpot);
  u->e2e_p50_s = HistogramQuantile(0.5, u->e2e);
  u->e2e_p99_s = HistogramQuantile(0.99, u->e2e);
  u->latency_requests = u->ttft.read() ? u->ttft.count : u->e2e.count;
}

ServingSample ParseVllmPage(std::string_view page, std::int64_t t_ms) {
  ServingSample s;
  s.t_ms = t_ms;
  prom::ExpositionParser parser(page, {});
  prom::Entry e;
  // Per engine (the `engine` label; "" before 0.10): KV use and blocks, so several engines weigh by capacity.
  std::map<std::string, std::pair<double, double>> kv;  // engine -> (usage, tokens)
  bool new_kv_name = false;
  // Latency buckets per (histogram, series: every label but le), merged once the page is read.
  std::map<std::pair<Hist, std::string>, BucketSet> buckets;
  while (true) {
    if (!parser.Next(&e).ok()) {
      ++s.bad_lines;
      continue;
    }
    if (e.kind == prom::EntryKind::kEof) break;
    if (e.kind != prom::EntryKind::kSample) continue;
    const std::string_view n = e.sample.name;
    const double v = e.sample.value;
    if (n.starts_with("vllm:") && (n.ends_with("_bucket") || n.ends_with("_count"))) {
      bool bucket = false;
      const Hist h = HistOf(n, &bucket);
      if (h == Hist::kCount) continue;
      std::string series;
      for (const prom::Label& l : e.sample.labels) {
        if (l.name == "le") continue;
        series.append(l.name).push_back('=');
        series.append(l.value).push_back('\x1f');
      }
      BucketSet& set = buckets[{h, std::move(series)}];
      if (!bucket) {
        if (std::isfinite(v) && v >= 0) set.count = v;
      } else {
        set.Add(ParseLe(LabelValue(e.sample.labels, "le")), v);
      }
      continue;
    }
    const std::string engine(LabelValue(e.sample.labels, "engine"));
    if (n == "vllm:kv_cache_usage_perc" || (n == "vllm:gpu_cache_usage_perc" && !new_kv_name)) {
      if (n == "vllm:kv_cache_usage_perc" && !new_kv_name) {
        new_kv_name = true;  // the current name wins over the deprecated one on the same page
        for (auto& [k, x] : kv) x.first = NAN;
      }
      if (std::isfinite(v) && v >= 0) kv[engine].first = std::min(v, 1.0);
    } else if (n == "vllm:cache_config_info") {
      const double blocks = LabelNumber(e.sample.labels, "num_gpu_blocks");
      const double block_size = LabelNumber(e.sample.labels, "block_size");
      if (std::isfinite(blocks) && std::isfinite(block_size) && blocks >= 0 && block_size > 0) {
        kv[engine].second = blocks * block_size;
      }
      const double util = LabelNumber(e.sample.labels, "gpu_memory_utilization");
      if (std::isfinite(util) && util > 0 && util <= 1) s.gpu_memory_utilization = util;
    } else if (n == "vllm:request_success_total") {
      AddTo(&s.requests, v);
    } else if (n == "vllm:prompt_tokens_total") {
      AddTo(&s.prompt_tokens, v);
    } else if (n == "vllm:generation_tokens_total") {
      AddTo(&s.generation_tokens, v);
    } else if (n == "vllm:num_preemptions_total") {
      AddTo(&s.preemptions, v);
    } else if (n == "vllm:num_requests_running") {
      AddTo(&s.running, v);
    } else if (n == "vllm:num_requests_waiting") {
      AddTo(&s.waiting, v);
    }
  }
  double used = 0, tokens = 0, plain = NAN;
  for (const auto& [engine, x] : kv) {
    if (std::isnan(x.first)) continue;
    if (x.second > 0) {
      used += x.first * x.second;
      tokens += x.second;
    } else {
      plain = std::isnan(plain) ? x.first : std::max(plain, x.first);
    }
  }
  if (tokens > 0) {
    s.kv_usage = used / tokens;
    s.kv_capacity_tokens = tokens;
  } else {
    s.kv_usage = plain;
  }
  model::LatencyHistogram itl;
  for (const auto& [key, set] : buckets) {
    model::LatencyHistogram* into = key.first == Hist::kTtft   ? &s.ttft
                                    : key.first == Hist::kTpot ? &s.tpot
                                    : key.first == Hist::kItl  ? &itl
                                                               : &s.e2e;
    AddHistogram(set.Histogram(), into);
  }
  if (!s.tpot.read()) s.tpot = std::move(itl);  // vLLM >= 0.13 has only the successor
  return s;
}

void AccumulateServing(const std::vector<ServingSample>& samples, model::ServingUsage* out) {
  if (samples.empty()) return;
  out->engine = "vllm";
  ++out->pods;
  auto increase = [&](double ServingSample::*field) {
    double total = 0, last = NAN;
    for (const ServingSample& s : samples) {
      const double v = s.*field;
      if (std::isnan(v)) continue;
      if (!std::isnan(last)) total += v >= last ? v - last : v;  // a drop is a restart: the new value is the increase
      last = v;
    }
    return total;
  };
  out->requests += increase(&ServingSample::requests);
  out->prompt_tokens += increase(&ServingSample::prompt_tokens);
  out->generation_tokens += increase(&ServingSample::generation_tokens);
  out->preemptions += increase(&ServingSample::preemptions);
  out->seconds = std::max(out->seconds, static_cast<double>(samples.back().t_ms - samples.front().t_ms) / 1000.0);
  for (const ServingSample& s : samples) {
    if (!std::isnan(s.kv_usage)) out->kv_usage.Insert(s.kv_usage);
    if (!std::isnan(s.kv_capacity_tokens)) out->kv_capacity_tokens = s.kv_capacity_tokens;
    if (!std::isnan(s.gpu_memory_utilization)) out->gpu_memory_utilization = s.gpu_memory_utilization;
  }
  // Latency: the increase between the first and last scrape; one scrape: everything since the engine started.
  int read = 0;
  for (const ServingSample& s : samples) read += s.ttft.read() || s.tpot.read() || s.e2e.read() ? 1 : 0;
  if (read == 0) return;
  model::ServingUsage pod;
  auto window = [&](model::LatencyHistogram ServingSample::*field) {
    std::vector<const model::LatencyHistogram*> scrapes;
    for (const ServingSample& s : samples) scrapes.push_back(&(s.*field));
    if (read > 1) return HistogramIncrease(scrapes);
    for (const model::LatencyHistogram* h : scrapes) {
      if (h->read()) return *h;
    }
    return model::LatencyHistogram{};
  };
  pod.ttft = window(&ServingSample::ttft);
  pod.tpot = window(&ServingSample::tpot);
  pod.e2e = window(&ServingSample::e2e);
  pod.latency_basis = read > 1 ? "increase over " + std::to_string(read) + " scrapes" : "since start (one scrape)";
  AddLatency(pod, out);
}

void MergeServing(const model::ServingUsage& pod, model::ServingUsage* w) {
  w->engine = pod.engine;
  w->pods += std::max(1, pod.pods);
  w->requests += pod.requests;
  w->prompt_tokens += pod.prompt_tokens;
  w->generation_tokens += pod.generation_tokens;
  w->preemptions += pod.preemptions;
  w->seconds = std::max(w->seconds, pod.seconds);
  auto up = [](double* slot, double v) {
    if (!std::isnan(v)) *slot = std::isnan(*slot) ? v : std::max(*slot, v);
  };
  up(&w->kv_p95, pod.kv_p95);
  up(&w->kv_max, pod.kv_max);
  up(&w->kv_capacity_tokens, pod.kv_capacity_tokens);
  up(&w->gpu_memory_utilization, pod.gpu_memory_utilization);
  if (pod.kv_usage.count() > 0) (void)w->kv_usage.Merge(pod.kv_usage);
  AddLatency(pod, w);
}

namespace {

// Instant queries at at_ms, at most the client's concurrency in flight; answers in the order asked.
std::vector<base::Result<prom::QueryResponse>> QueryAll(prom::PromClient& client, const std::vector<std::string>& promql,
                                                        std::int64_t at_ms) {
  std::vector<base::Result<prom::QueryResponse>> out(promql.size(), base::Unavailable("not run"));
  const std::size_t width = static_cast<std::size_t>(std::max(1, client.options().concurrency));
  for (std::size_t i = 0; i < promql.size(); i += width) {
    std::vector<std::thread> threads;
    for (std::size_t j = i + 1; j < std::min(promql.size(), i + width); ++j) {
      threads.emplace_back([&, j] { out[j] = client.Query(promql[j], at_ms); });
    }
    out[i] = client.Query(promql[i], at_ms);
    for (std::thread& t : threads) t.join();
  }
  return out;
}

using PodKey = std::pair<std::string, std::string>;
using PodOf = std::function<const PodKey*(const prom::Labels&)>;

// `sum by (namespace, pod, instance, le) (increase(<name>_bucket{<shard>}[<window>]))`.
std::string BucketIncreaseQuery(std::string_view name, const std::string& shard, const std::string& window) {
  std::vector<std::string> matchers;
  if (!shard.empty()) matchers.push_back(shard);
  return "sum by (namespace, pod, instance, le) (increase(" + prom::BuildSelector(std::string(name) + "_bucket", matchers) +
         "[" + window + "]))";
}

// The latency histograms per pod over the window (see ReadServingHistory in the header).
base::Status ReadLatencyHistory(prom::PromClient& client, const std::string& window, std::int64_t at_ms,
                                const std::map<std::string, PodKey>& pod_by_address, const PodOf& pod_of,
                                ServingTotals* out, std::vector<std::string>* warnings) {
  constexpr std::size_t kHists = static_cast<std::size_t>(Hist::kCount);
  // Per histogram: (namespace, pod, instance) -> its buckets.
  std::array<std::map<std::tuple<std::string, std::string, std::string>, BucketSet>, kHists> sets;
  auto fold = [&](std::size_t h, const prom::QueryResponse& r) {
    for (const prom::Sample& smp : r.vector) {
      std::string le, instance;
      for (const auto& [k, v] : smp.labels) {
        if (k == "le") le = v;
        else if (k == "instance") instance = v;
      }
      const PodKey* key = pod_of(smp.labels);
      if (key == nullptr) continue;
      sets[h][{key->first, key->second, instance}].Add(ParseLe(le), smp.value);
    }
  };
  std::vector<std::string> promql;
  for (std::string_view name : kHistNames) promql.push_back(BucketIncreaseQuery(name, "", window));
  std::vector<base::Result<prom::QueryResponse>> answers = QueryAll(client, promql, at_ms);
  // Namespaces to shard by, when an answer is "too many samples".
  std::set<std::string> ns_set;
  for (const auto& [address, key] : pod_by_address) ns_set.insert(key.first);
  const std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
  for (std::size_t h = 0; h < kHists; ++h) {
    const std::string name(kHistNames[h]);
    if (answers[h].ok()) {
      fold(h, *answers[h]);
      continue;
    }
    base::Status failed = answers[h].status();
    // Split by namespace: 2, 4, ... groups of the known namespaces, and one shard for every other namespace (and
    // series without the label), so the shards cover each series exactly once.
    for (std::size_t k = 2; prom::IsTooManySamples(failed) && !namespaces.empty(); k *= 2) {
      std::vector<std::string> shards = prom::RegexShards("namespace", namespaces, k);
      std::string rest = prom::RegexShards("namespace", namespaces, 1).front();
      rest.replace(rest.find("=~"), 2, "!~");
      shards.push_back(std::move(rest));
      LOG_INFO << "prometheus: too many samples for " << name << " buckets; " << shards.size() << " namespace shards";
      std::vector<std::string> sharded;
      for (const std::string& shard : shards) sharded.push_back(BucketIncreaseQuery(name, shard, window));
      std::vector<base::Result<prom::QueryResponse>> parts = QueryAll(client, sharded, at_ms);
      failed = base::Status::Ok();
      for (const auto& part : parts) {
        if (!part.ok()) {
          failed = part.status();
          break;
        }
      }
      if (failed.ok()) {
        for (const auto& part : parts) fold(h, *part);
        break;
      }
      if (k >= namespaces.size()) break;  // every namespace alone and still too many
    }
    if (!failed.ok() && warnings != nullptr) {
      warnings->push_back("serving latency " + name + " unreadable (" + failed.message() + "): its quantiles are unknown");
    }
  }
  std::map<PodKey, model::LatencyHistogram> itl;
  for (std::size_t h = 0; h < kHists; ++h) {
    for (const auto& [series, set] : sets[h]) {
      const PodKey key{std::get<0>(series), std::get<1>(series)};
      model::ServingUsage& u = (*out)[key];
      u.engine = "vllm";
      switch (static_cast<Hist>(h)) {
        case Hist::kTtft: AddHistogram(set.Histogram(), &u.ttft); break;
        case Hist::kTpot: AddHistogram(set.Histogram(), &u.tpot); break;
        case Hist::kItl: AddHistogram(set.Histogram(), &itl[key]); break;
        case Hist::kE2e: AddHistogram(set.Histogram(), &u.e2e); break;
        case Hist::kCount: break;
      }
    }
  }
  for (auto& [key, u] : *out) {
    if (!u.tpot.read()) {
      auto it = itl.find(key);
      if (it != itl.end()) u.tpot = std::move(it->second);
    }
    if (u.ttft.read() || u.tpot.read() || u.e2e.read()) u.latency_basis = "increase over " + window + " (Prometheus)";
    SetLatencyQuantiles(&u);
  }
  return base::Status::Ok();
}

}  // namespace

base::Result<ServingTotals> ReadServingHistory(prom::PromClient& client, std::int64_t start, std::int64_t end,
                                               const std::map<std::string, std::pair<std::string, std::string>>& pod_by_address,
                                               int* unmatched, std::vector<std::string>* warnings) {
  ServingTotals out;
  if (end <= start) return base::InvalidArgument("serving history: the window is empty");
  const std::string w = prom::FormatPromDuration(std::chrono::milliseconds((end - start) * 1000));
  const std::int64_t at = end * 1000;
  std::set<std::string> missed;
  auto pod_of = [&](const prom::Labels& labels) -> const std::pair<std::string, std::string>* {
    std::string pod, ns, instance;
    for (const auto& [k, v] : labels) {
      if (k == "pod") pod = v;
      else if (k == "namespace") ns = v;
      else if (k == "instance") instance = v;
    }
    static thread_local std::pair<std::string, std::string> key;
    if (!pod.empty() && !ns.empty()) {
      key = {ns, pod};
      return &key;
    }
    auto it = pod_by_address.find(instance);
    if (it == pod_by_address.end()) it = pod_by_address.find(instance.substr(0, instance.rfind(':')));
    if (it == pod_by_address.end()) {
      missed.insert(instance);
      return nullptr;
    }
    return &it->second;
  };
  auto each = [&](const std::string& promql, const std::function<void(model::ServingUsage&, const prom::Sample&)>& f) -> base::Status {
    ASSIGN_OR_RETURN(prom::QueryResponse r, client.Query(promql, at));
    for (const prom::Sample& s : r.vector) {
      if (!std::isfinite(s.value)) continue;
      const auto* key = pod_of(s.labels);
      if (key == nullptr) continue;
      model::ServingUsage& u = out[*key];
      u.engine = "vllm";
      f(u, s);
    }
    return base::Status::Ok();
  };
  auto counter = [&](const char* metric, double model::ServingUsage::*field) {
    return each(std::string("sum by (namespace, pod, instance) (increase(") + metric + "[" + w + "]))",
                [field](model::ServingUsage& u, const prom::Sample& s) { u.*field += std::max(0.0, s.value); });
  };
  RETURN_IF_ERROR(counter("vllm:request_success_total", &model::ServingUsage::requests));
  RETURN_IF_ERROR(counter("vllm:prompt_tokens_total", &model::ServingUsage::prompt_tokens));
  RETURN_IF_ERROR(counter("vllm:generation_tokens_total", &model::ServingUsage::generation_tokens));
  RETURN_IF_ERROR(counter("vllm:num_preemptions_total", &model::ServingUsage::preemptions));
  for (const char* metric : {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}) {
    RETURN_IF_ERROR(each(std::string("quantile_over_time(0.95, ") + metric + "[" + w + "])",
                         [](model::ServingUsage& u, const prom::Sample& s) {
                           u.kv_p95 = std::isnan(u.kv_p95) ? s.value : std::max(u.kv_p95, s.value);
                         }));
    RETURN_IF_ERROR(each(std::string("max_over_time(") + metric + "[" + w + "])", [](model::ServingUsage& u, const prom::Sample& s) {
      u.kv_max = std::isnan(u.kv_max) ? s.value : std::max(u.kv_max, s.value);
    }));
  }
  RETURN_IF_ERROR(each("last_over_time(vllm:cache_config_info[" + w + "])", [](model::ServingUsage& u, const prom::Sample& s) {
    double blocks = NAN, block_size = NAN, util = NAN;
    for (const auto& [k, v] : s.labels) {
      const double x = std::atof(v.c_str());
      if (k == "num_gpu_blocks") blocks = x;
      else if (k == "block_size") block_size = x;
      else if (k == "gpu_memory_utilization") util = x;
    }
    if (blocks > 0 && block_size > 0) u.kv_capacity_tokens = (std::isnan(u.kv_capacity_tokens) ? 0 : u.kv_capacity_tokens) + blocks * block_size;
    if (util > 0 && util <= 1) u.gpu_memory_utilization = util;
  }));
  RETURN_IF_ERROR(ReadLatencyHistory(client, w, at, pod_by_address, pod_of, &out, warnings));
  for (auto& [key, u] : out) {
    u.pods = 1;
    u.seconds = static_cast<double>(end - start);
  }
  if (unmatched != nullptr) *unmatched = static_cast<int>(missed.size());
  return out;
}

}  // namespace gpuwise::observe
