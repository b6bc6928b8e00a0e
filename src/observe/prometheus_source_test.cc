// PrometheusSource::SeriesStats against the loopback fake Prometheus: one instant query per metric name and
// function when the server bounds a function by one series' window (as Prometheus does), and the same statistics,
// sharded by UUID, when the server charges a function for every series' window and refuses the unsharded query.
#include "observe/prometheus_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "fakes/fake_prometheus.h"

namespace gpuwise::observe {
namespace {

using fakes::FakePrometheus;

constexpr std::int64_t kStep = 30'000;
constexpr std::int64_t kStart = 1'794'787'200'000;
constexpr int kGpus = 12;
constexpr int kPoints = 240;  // two hours at 30 s

// GPU g's value at sample i: distinct per GPU and exactly representable, so max and count are exact.
double ValueOf(int g, int i) { return static_cast<double>((g * 7 + i * 13) % 101); }

void AddGpus(FakePrometheus& fake) {
  for (int g = 0; g < kGpus; ++g) {
    std::vector<std::int64_t> ts;
    std::vector<double> vs;
    for (int i = 0; i < kPoints; ++i) {
      ts.push_back(kStart + i * kStep);
      vs.push_back(ValueOf(g, i));
    }
    fake.AddSeries({{"__name__", "DCGM_FI_DEV_GPU_UTIL"},
                    {"gpu", std::to_string(g % 8)},
                    {"UUID", "GPU-" + std::to_string(1000 + g)},
                    {"Hostname", "node-" + std::to_string(g / 8)},
                    {"modelName", "NVIDIA A100-SXM4-80GB"}},
                   ts, vs);
  }
}

struct StatsRun {
  std::map<std::string, std::pair<std::uint64_t, double>> by_uuid;  // count, max (a fraction)
  int requests = 0;
};

StatsRun Stats(FakePrometheus::Options fo, std::int64_t client_max_samples) {
  StatsRun run;
  auto fake = FakePrometheus::Start(fo);
  EXPECT_TRUE(fake.ok()) << fake.status().ToString();
  if (!fake.ok()) return run;
  AddGpus(**fake);
  prom::PromClientOptions o;
  o.base_url = (*fake)->url();
  o.limits.max_samples = client_max_samples;
  PrometheusSource source(o, base::SystemClock::Get());
  RangeRequest r;
  r.start_ms = kStart - kStep / 2;  // off the first sample: no question of whether the window's start is in it
  r.end_ms = kStart + (kPoints - 1) * kStep;
  r.step = std::chrono::milliseconds(kStep);
  base::Result<SeriesWindowStats> s = source.SeriesStats(r, {prom::Signal::kGpuUtil}, {0.5});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return run;
  run.requests = s->requests;
  for (const SeriesStat& st : s->series) run.by_uuid[s->entities[st.entity].uuid] = {st.count, st.max};
  return run;
}

void ExpectTruth(const StatsRun& run) {
  ASSERT_EQ(run.by_uuid.size(), static_cast<std::size_t>(kGpus));
  for (int g = 0; g < kGpus; ++g) {
    double max = 0;
    for (int i = 0; i < kPoints; ++i) max = std::max(max, ValueOf(g, i));
    const auto it = run.by_uuid.find("GPU-" + std::to_string(1000 + g));
    ASSERT_NE(it, run.by_uuid.end()) << g;
    EXPECT_EQ(it->second.first, static_cast<std::uint64_t>(kPoints)) << g;
    EXPECT_EQ(it->second.second, max / 100) << g;  // GPU_UTIL is a percentage, read as a fraction
  }
}

TEST(SeriesStatsTest, OneQueryPerFunctionWhenTheServerBoundsOneSeriesWindow) {
  FakePrometheus::Options fo;
  fo.max_samples = kPoints + 10;  // one series' window fits; all twelve would not, were they summed
  const StatsRun run = Stats(fo, fo.max_samples);
  ExpectTruth(run);
  EXPECT_EQ(run.requests, 4);  // count, max, mean, one quantile
}

TEST(SeriesStatsTest, ShardsByUuidWhenTheServerRefusesTheSum) {
  FakePrometheus::Options fo;
  fo.max_samples = 5 * kPoints;  // five series' windows
  fo.sum_function_windows = true;
  const StatsRun run = Stats(fo, fo.max_samples);
  ExpectTruth(run);
  // 4 refused or superseded unsharded queries at most, then 3 shards (12 series x 240 / 1,200) x 4 functions.
  EXPECT_GE(run.requests, 1 + 3 * 4);
  EXPECT_LE(run.requests, 4 + 3 * 4);
}

}  // namespace
}  // namespace gpuwise::observe
