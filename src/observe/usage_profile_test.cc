#include "observe/usage_profile.h"

#include "observe/prometheus_source.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace gpuwise::observe {
namespace {

prom::GpuEntity Entity(const std::string& uuid, int gi) {
  prom::GpuEntity e;
  e.hostname = "n1";
  e.uuid = uuid;
  e.gpu_index = "0";
  e.gi_id = gi;
  return e;
}

SignalSeries Series(std::size_t entity, prom::Signal s, std::vector<double> values, const char* name) {
  SignalSeries ss;
  ss.entity = entity;
  ss.signal = s;
  ss.metric_name = name;
  ss.values = std::move(values);
  for (std::size_t i = 0; i < ss.values.size(); ++i) ss.timestamps_ms.push_back(1000 + 30000 * static_cast<std::int64_t>(i));
  return ss;
}

TEST(UsageProfileTest, QuantilesWithinOnePercentOfExactAndBestComputeSourceUsed) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(-2.0, 1.0);
  std::vector<double> sm(20000), gr(20000);
  for (auto& v : sm) v = std::min(1.0, dist(rng));
  for (auto& v : gr) v = std::min(1.0, dist(rng) * 1.5);
  RangeTelemetry range;
  range.entities = {Entity("GPU-a", -1), Entity("GPU-b", 3)};
  range.series.push_back(Series(0, prom::Signal::kGrEngineActive, gr, "DCGM_FI_PROF_GR_ENGINE_ACTIVE"));
  range.series.push_back(Series(0, prom::Signal::kSmActive, sm, "DCGM_FI_PROF_SM_ACTIVE"));
  range.series.push_back(Series(1, prom::Signal::kGpuUtil, {0.5, 0.5}, "DCGM_FI_DEV_GPU_UTIL"));
  range.series.push_back(Series(1, prom::Signal::kFbUsed, {1e9, 3e9, 2e9}, "DCGM_FI_DEV_FB_USED"));
  auto profiles = BuildProfiles(range);
  ASSERT_EQ(profiles.size(), 2u);
  EXPECT_EQ(profiles[0].compute_source, "DCGM_FI_PROF_SM_ACTIVE");
  const auto& sketch = profiles[0].sketches[static_cast<std::size_t>(ProfileMetric::kCompute)];
  EXPECT_EQ(sketch.count(), 20000u);
  std::vector<double> sorted = sm;
  std::sort(sorted.begin(), sorted.end());
  for (double q : {0.5, 0.95, 0.99}) {
    const double exact = sorted[static_cast<std::size_t>(std::floor(q * (sorted.size() - 1)))];
    EXPECT_NEAR(sketch.Quantile(q), exact, exact * 0.01) << q;
  }
  EXPECT_EQ(sketch.max(), sorted.back());
  // MIG instance: GPU_UTIL is never a compute source; compute is unknown, memory known.
  EXPECT_EQ(profiles[1].compute_source, "");
  EXPECT_EQ(profiles[1].sketches[static_cast<std::size_t>(ProfileMetric::kCompute)].count(), 0u);
  EXPECT_TRUE(std::isnan(profiles[1].sketches[static_cast<std::size_t>(ProfileMetric::kCompute)].Quantile(0.5)));
  EXPECT_EQ(profiles[1].sketches[static_cast<std::size_t>(ProfileMetric::kFbUsed)].max(), 3e9);
}

TEST(ReadProfilesTest, PassesTheRequestAndNamesTheSourceOnError) {
  FakeMetricsSource fake;
  fake.range.entities = {Entity("GPU-a", -1)};
  fake.range.series.push_back(Series(0, prom::Signal::kPower, {100, 300, 200}, "DCGM_FI_DEV_POWER_USAGE"));
  RangeRequest request;
  request.start_ms = 1;
  request.end_ms = 2;
  request.signals = ProfileSignals();
  RangeTelemetry range;
  auto profiles = ReadProfiles(fake, request, &range);
  ASSERT_TRUE(profiles.ok());
  ASSERT_EQ(profiles->size(), 1u);
  EXPECT_EQ((*profiles)[0].stats[static_cast<std::size_t>(ProfileMetric::kPower)].max, 300);
  EXPECT_EQ((*profiles)[0].stats[static_cast<std::size_t>(ProfileMetric::kPower)].count, 3u);
  EXPECT_EQ(range.series.size(), 1u);
  ASSERT_EQ(fake.requests.size(), 1u);
  EXPECT_EQ(fake.requests[0].signals.size(), 6u);
  fake.error = base::Unavailable("connection refused");
  auto failed = ReadProfiles(fake, request);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "reading fake: connection refused");
}

TEST(ScrapeSourceTest, HasNoHistoryAndSaysWhereToGetIt) {
  ScrapeSource source({"127.0.0.1:1"}, {});
  auto r = source.Range({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--prometheus"), std::string::npos);
}

TEST(SignalSelectorTest, CoversEveryCatalogNameOfTheSignal) {
  std::string sel = SignalSelector(prom::Signal::kSmActive, {"Hostname=\"n1\""});
  EXPECT_NE(sel.find("DCGM_FI_PROF_SM_ACTIVE|DCGM_FI_PROF_SM_UTIL_RATIO"), std::string::npos) << sel;
  EXPECT_NE(sel.find("Hostname=\"n1\""), std::string::npos) << sel;
}

}  // namespace
}  // namespace gpuwise::observe
