// UsageSketch benchmarks: ns/insert over 4 weeks of 15 s samples (161,280), the exact baseline
// (copy + 3x nth_element) on the same data, merge of 28 daily sketches, and, as counters, the
// relative error of p50/p95/p99 against exact and the bytes per series.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "base/units.h"
#include "model/usage_sketch.h"

namespace gpuwise::model {
namespace {

constexpr std::size_t kSamples = 161280;  // 4 weeks at 15 s
constexpr std::int64_t kStepMs = 15000;
constexpr std::int64_t kStartMs = 1'700'000'000'000;

// SM activity: lognormal, clipped into [0.001, 1].
const std::vector<double>& RatioSeries() {
  static const std::vector<double> v = [] {
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> d(-3.0, 1.2);  // p99 ~0.8: below the clip at 1
    std::vector<double> out(kSamples);
    for (double& x : out) x = std::clamp(d(rng), 0.001, 1.0);
    return out;
  }();
  return v;
}

// Framebuffer used: heavy-tailed Pareto bytes in [1 MiB, 80 GiB].
const std::vector<double>& BytesSeries() {
  static const std::vector<double> v = [] {
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> out(kSamples);
    for (double& x : out) x = std::min(80 * base::kGiB, base::kMiB / std::pow(1.0 - u(rng), 1.0 / 1.1));
    return out;
  }();
  return v;
}

const std::vector<double>& Series(int which) { return which == 0 ? RatioSeries() : BytesSeries(); }

double Exact(std::vector<double> v, double q) {
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank), v.end());
  return v[rank];
}

void AccuracyCounters(benchmark::State& state, const UsageSketch& s, const std::vector<double>& v) {
  for (auto [name, q] : {std::pair{"rel_err_p50", 0.50}, {"rel_err_p95", 0.95}, {"rel_err_p99", 0.99}}) {
    const double exact = Exact(v, q);
    state.counters[name] = std::fabs(s.Quantile(q) - exact) / exact;
  }
  state.counters["bytes_per_series"] = static_cast<double>(s.MemoryBytes());
  state.counters["buckets"] = static_cast<double>(s.BucketCount());
}

// Arg 0: ratio series, 1: framebuffer bytes.
void BM_SketchInsert(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  UsageSketch s;
  for (auto _ : state) {
    s = UsageSketch();
    for (double x : v) s.Insert(x);
    benchmark::DoNotOptimize(s);
  }
  state.counters["ns_per_insert"] = benchmark::Counter(
      static_cast<double>(v.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  AccuracyCounters(state, s, v);
}
BENCHMARK(BM_SketchInsert)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_SketchInsertMany(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  UsageSketch s;
  for (auto _ : state) {
    s = UsageSketch();
    s.InsertMany(v);
    benchmark::DoNotOptimize(s);
  }
  state.counters["ns_per_insert"] = benchmark::Counter(
      static_cast<double>(v.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  AccuracyCounters(state, s, v);
}
BENCHMARK(BM_SketchInsertMany)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_SketchInsertDecaying(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  UsageSketch::Options o;
  o.decay_half_life = kVpaHalfLife;
  UsageSketch s;
  for (auto _ : state) {
    s = *UsageSketch::Create(o);
    std::int64_t t = kStartMs;
    for (double x : v) s.Insert(x, t += kStepMs);
    benchmark::DoNotOptimize(s);
  }
  state.counters["ns_per_insert"] = benchmark::Counter(
      static_cast<double>(v.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_series"] = static_cast<double>(s.MemoryBytes());
}
BENCHMARK(BM_SketchInsertDecaying)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The exact baseline: keep every sample, then copy + nth_element for p50, p95, p99.
void BM_ExactBaseline(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::vector<double> copy = v;
    for (double q : {0.50, 0.95, 0.99}) {
      const auto rank = static_cast<std::size_t>(q * static_cast<double>(copy.size() - 1));
      std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(rank), copy.end());
      benchmark::DoNotOptimize(copy[rank]);
    }
  }
  state.counters["ns_per_sample"] = benchmark::Counter(
      static_cast<double>(v.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_series"] = static_cast<double>(v.size() * sizeof(double));
}
BENCHMARK(BM_ExactBaseline)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// p50 + p95 + p99 from a full sketch.
void BM_SketchQuantiles(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  UsageSketch s;
  for (double x : v) s.Insert(x);
  for (auto _ : state) {
    for (double q : {0.50, 0.95, 0.99}) benchmark::DoNotOptimize(s.Quantile(q));
  }
}
BENCHMARK(BM_SketchQuantiles)->Arg(0)->Arg(1);

// A 4-week view from 28 daily sketches.
void BM_MergeTwentyEightDays(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  const std::size_t per_day = v.size() / 28;
  std::vector<UsageSketch> days(28);
  for (std::size_t d = 0; d < 28; ++d) {
    for (std::size_t i = d * per_day; i < (d + 1) * per_day; ++i) days[d].Insert(v[i]);
  }
  UsageSketch month;
  for (auto _ : state) {
    month = UsageSketch();
    for (const UsageSketch& day : days) benchmark::DoNotOptimize(month.Merge(day).ok());
    benchmark::DoNotOptimize(month);
  }
  AccuracyCounters(state, month, v);
}
BENCHMARK(BM_MergeTwentyEightDays)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_SerializeRoundTrip(benchmark::State& state) {
  const std::vector<double>& v = Series(static_cast<int>(state.range(0)));
  UsageSketch s;
  for (double x : v) s.Insert(x);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string wire = s.Serialize();
    bytes = wire.size();
    benchmark::DoNotOptimize(UsageSketch::Deserialize(wire).ok());
  }
  state.counters["wire_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SerializeRoundTrip)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gpuwise::model

BENCHMARK_MAIN();
