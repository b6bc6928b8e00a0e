// Integration test against a real Prometheus (Debian package `prometheus`, with promtool for backfilling):
// writes simulated dcgm-exporter history as one OpenMetrics file per 2-hour window, backfills it with
// `promtool tsdb create-blocks-from openmetrics`, starts Prometheus on loopback, and reads it back through
// gpuwise's PrometheusSource and through the `gpuwise query` command. Checks: the sample count read back
// equals the count written, exactly (a 20-minute gap of one node included: Prometheus's repeated values
// across it must not count), and p50/p95/p99 match the raw samples within 1% relative error, max exactly.
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "prometheus_process.h"
#include "schema_check.h"
#include "base/time_parse.h"
#include "observe/prom/dcgm_telemetry.h"
#include "observe/prometheus_source.h"
#include "observe/usage_profile.h"
#include "sim/dcgm_page.h"

extern char** environ;

namespace gpuwise {
namespace {

namespace fs = std::filesystem;
namespace prom = observe::prom;

// Families written to the history: everything the usage profile reads plus two it does not.
const std::vector<std::string> kFamilies = {"DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED",
                                            "DCGM_FI_DEV_FB_FREE", "DCGM_FI_PROF_DRAM_ACTIVE", "DCGM_FI_DEV_POWER_USAGE",
                                            "DCGM_FI_DEV_SM_CLOCK"};
constexpr std::int64_t kStepMs = 30'000;
constexpr std::int64_t kBlockMs = 2 * 3600 * 1000;

struct Truth {
  // entity key -> profile metric -> raw canonical values
  std::map<std::string, std::array<std::vector<double>, observe::kProfileMetricCount>> values;
  std::int64_t profile_samples = 0;  // samples of the families the profile reads (GR, GPU_UTIL, FB_USED, DRAM, POWER)
  std::int64_t all_samples = 0;
};

// Writes the history files and returns the truth. Node 1 is silent during [start+3h, start+3h20m).
Truth WriteHistory(const fs::path& dir, std::int64_t start_ms, std::int64_t end_ms) {
  Truth truth;
  const std::vector<sim::NodeSpec> fleet = sim::MakeFleet(16, 1, 3);
  for (std::int64_t block = start_ms; block <= end_ms; block += kBlockMs) {
    std::map<std::string, std::string> by_family;
    for (std::int64_t t = block; t < std::min(block + kBlockMs, end_ms + 1); t += kStepMs) {
      for (std::size_t n = 0; n < fleet.size(); ++n) {
        if (n == 1 && t >= start_ms + 3 * 3600000 && t < start_ms + 3 * 3600000 + 20 * 60000) continue;
        sim::PageOptions po;
        po.seed = 3;
        po.time_s = static_cast<double>(t - start_ms) / 1000.0;
        const std::string page = sim::RenderPage(fleet[n], po);
        prom::ExpositionParser parser(page, {});
        prom::Entry e;
        while (parser.Next(&e).ok() && e.kind != prom::EntryKind::kEof) {
          if (e.kind != prom::EntryKind::kSample) continue;
          const std::string name(e.sample.name);
          if (std::find(kFamilies.begin(), kFamilies.end(), name) == kFamilies.end()) continue;
          // Re-render the sample line with an OpenMetrics timestamp (seconds).
          std::string line = name + "{";
          for (std::size_t i = 0; i < e.sample.labels.size(); ++i) {
            if (i) line += ",";
            line += std::string(e.sample.labels[i].name) + "=\"" + std::string(e.sample.labels[i].value) + "\"";
          }
          char tail[64];
          std::snprintf(tail, sizeof tail, "} %.6f %lld\n", e.sample.value, static_cast<long long>(t / 1000));
          by_family[name] += line + tail;
          ++truth.all_samples;
          // Truth: entity key and canonical value, exactly as the page says.
          prom::DcgmTelemetryBuilder one;
          std::size_t idx = 0;
          const prom::CatalogRow* row = one.Locate(e.sample.name, e.sample.labels, &idx);
          double v;
          if (row == nullptr || !prom::NormalizeValue(*row, e.sample.value, &v)) continue;
          int metric = -1;
          switch (row->signal) {
            case prom::Signal::kGrEngineActive: metric = 0; break;
            case prom::Signal::kGpuUtil: ++truth.profile_samples; continue;  // read, but GR wins as source
            case prom::Signal::kFbUsed: metric = 1; break;
            case prom::Signal::kDramActive: metric = 2; break;
            case prom::Signal::kPower: metric = 3; break;
            default: continue;
          }
          ++truth.profile_samples;
          truth.values[one.entity(idx).Key()][static_cast<std::size_t>(metric)].push_back(v);
        }
      }
    }
    std::ofstream out(dir / ("block-" + std::to_string(block) + ".om"));
    for (const auto& [family, lines] : by_family) out << "# TYPE " << family << " gauge\n" << lines;
    out << "# EOF\n";
  }
  return truth;
}

double ExactQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1)))];
}

// Prometheus's quantile_over_time: rank q * (n - 1), linear interpolation between neighbours.
double InterpolatedQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double rank = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

class PrometheusIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = testing::Which("promtool");
    prometheus_ = testing::Which("prometheus");
    ASSERT_FALSE(promtool_.empty() || prometheus_.empty())
        << "needs Debian's prometheus package (promtool + prometheus); scripts/install-deps test installs it";
    dir_ = fs::temp_directory_path() / ("gpuwise-prom-it-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "om");
    fs::create_directories(dir_ / "tsdb");
  }
  void TearDown() override {
    prometheus_process_.Stop();
    fs::remove_all(dir_);
  }

  void StartPrometheus() {
    const std::string error = prometheus_process_.Start(dir_, "global:\n  scrape_interval: 30s\nscrape_configs: []\n");
    ASSERT_TRUE(error.empty()) << error;
    port_ = prometheus_process_.port();
  }

  testing::PrometheusProcess prometheus_process_;
  std::string promtool_, prometheus_;
  fs::path dir_;
  int port_ = 0;
};

TEST_F(PrometheusIntegrationTest, BackfilledHistoryReadsBackExactly) {
  const char* hours_env = std::getenv("GPUWISE_IT_HOURS");
  const std::int64_t hours = hours_env ? std::atoll(hours_env) : 48;
  const std::int64_t start_ms = *base::ParseTime("2026-11-01T00:00:00Z");
  const std::int64_t end_ms = start_ms + hours * 3600000 - kStepMs;
  const Truth truth = WriteHistory(dir_ / "om", start_ms, end_ms);
  ASSERT_GT(truth.all_samples, 0);
  ASSERT_LE(truth.all_samples, 20'000'000);
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir_ / "om")) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    ASSERT_EQ(testing::RunCommand({promtool_, "tsdb", "create-blocks-from", "openmetrics", f.string(), (dir_ / "tsdb").string()},
                  dir_ / "promtool.log"),
              0)
        << "promtool failed on " << f << ": see " << (dir_ / "promtool.log");
  }
  StartPrometheus();
  if (HasFatalFailure()) return;
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);

  // 1) In process, at a 15 s step: 11,520 points per series, so query_range is chunked under the 11,000
  // limit, and every other step is a repeated value the presence query must drop.
  prom::PromClientOptions options;
  options.base_url = url;
  observe::PrometheusSource source(options, base::SystemClock::Get());
  observe::RangeRequest request;
  request.start_ms = start_ms;
  request.end_ms = end_ms;
  request.step = std::chrono::milliseconds(15'000);
  request.signals = observe::ProfileSignals();
  auto range = source.Range(request);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  std::int64_t read_back = 0;
  for (const auto& s : range->series) read_back += static_cast<std::int64_t>(s.values.size());
  EXPECT_EQ(read_back, truth.profile_samples) << "points read " << range->points_read << ", dropped "
                                              << range->stale_dropped;
  EXPECT_GT(range->stale_dropped, 0);
  std::printf("history: %lld samples written in %zu OpenMetrics files; profile signals: %lld written, %lld read back "
              "at a 15 s step (%lld points received, %lld repeated values dropped, %d requests)\n",
              static_cast<long long>(truth.all_samples), files.size(), static_cast<long long>(truth.profile_samples),
              static_cast<long long>(read_back), static_cast<long long>(range->points_read),
              static_cast<long long>(range->stale_dropped), range->requests);
  auto profiles = observe::BuildProfiles(*range);
  ASSERT_EQ(profiles.size(), truth.values.size());
  for (const auto& p : profiles) {
    auto it = truth.values.find(p.entity.Key());
    ASSERT_NE(it, truth.values.end()) << p.entity.Key();
    EXPECT_EQ(p.compute_source, "DCGM_FI_PROF_GR_ENGINE_ACTIVE");
    for (std::size_t m = 0; m < observe::kProfileMetricCount; ++m) {
      const auto& raw = it->second[m];
      const model::UsageSketch& sk = p.sketches[m];
      ASSERT_EQ(sk.count(), raw.size()) << p.entity.Key() << " metric " << m;
      if (raw.empty()) continue;
      EXPECT_EQ(sk.max(), *std::max_element(raw.begin(), raw.end()));
      for (double q : {0.5, 0.95, 0.99}) {
        const double exact = ExactQuantile(raw, q);
        EXPECT_LE(std::fabs(sk.Quantile(q) - exact), 0.01 * std::fabs(exact) + 1e-12)
            << p.entity.Key() << " metric " << m << " q" << q;
      }
    }
  }

  // 2) Pushdown: Prometheus computes the window statistics; exact counts, and quantiles equal to the
  // interpolated quantiles of the raw samples (up to float rounding).
  auto pushed = source.PushdownProfiles(request);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  ASSERT_EQ(pushed->size(), truth.values.size());
  for (const auto& p : *pushed) {
    auto it = truth.values.find(p.entity.Key());
    ASSERT_NE(it, truth.values.end()) << p.entity.Key();
    EXPECT_EQ(p.compute_source, "DCGM_FI_PROF_GR_ENGINE_ACTIVE");
    for (std::size_t m = 0; m < observe::kProfileMetricCount; ++m) {
      const auto& raw = it->second[m];
      const observe::MetricStats& st = p.stats[m];
      ASSERT_EQ(st.count, raw.size()) << p.entity.Key() << " metric " << m;
      if (raw.empty()) continue;
      EXPECT_EQ(st.max, *std::max_element(raw.begin(), raw.end()));
      const std::pair<double, double> qs[] = {{0.5, st.p50}, {0.95, st.p95}, {0.99, st.p99}};
      for (const auto& [q, got] : qs) {
        const double want = InterpolatedQuantile(raw, q);
        EXPECT_NEAR(got, want, 1e-9 * std::fabs(want) + 1e-12) << p.entity.Key() << " metric " << m << " q" << q;
      }
    }
  }

  // 2b) A client sample limit far below the data: raw reads chunk in time; pushdown needs nothing (Prometheus bounds
  // a function by one series' window; sharding on refusal is tested against the fake); same answers.
  prom::PromClientOptions tight = options;
  tight.limits.max_samples = 60'000;
  observe::PrometheusSource tight_source(tight, base::SystemClock::Get());
  auto sharded = tight_source.PushdownProfiles(request);
  ASSERT_TRUE(sharded.ok()) << sharded.status().ToString();
  ASSERT_EQ(sharded->size(), pushed->size());
  std::map<std::string, std::uint64_t> counts;
  for (const auto& p : *pushed) counts[p.entity.Key()] = p.stats[0].count;
  for (const auto& p : *sharded) EXPECT_EQ(p.stats[0].count, counts[p.entity.Key()]) << p.entity.Key();
  auto tight_range = tight_source.Range(request);
  ASSERT_TRUE(tight_range.ok()) << tight_range.status().ToString();
  std::int64_t tight_read = 0;
  for (const auto& s : tight_range->series) tight_read += static_cast<std::int64_t>(s.values.size());
  EXPECT_EQ(tight_read, truth.profile_samples);
  EXPECT_GT(tight_range->requests, range->requests);

  // 3) The command a user runs, at the scrape interval.
  const fs::path out = dir_ / "query.json";
  ASSERT_EQ(testing::RunCommand({GPUWISE_BINARY, "--output", "json", "query", "--prometheus", url, "--window",
                 std::to_string(hours) + "h", "--end", base::FormatTime(end_ms), "--step", "30s"},
                out),
            0);
  std::ifstream in(out);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "gpuwise query did not print JSON";
  EXPECT_EQ(doc["kind"], "UsageReport");
  EXPECT_EQ(doc["mode"], "raw");
  for (const auto& v : testing::CheckSchema(testing::LoadSchema("UsageReport"), doc)) ADD_FAILURE() << v;
  std::int64_t cli_compute = 0, truth_compute = 0;
  for (const auto& g : doc["gpus"]) cli_compute += g["profiles"]["compute"]["count"].get<std::int64_t>();
  for (const auto& [k, v] : truth.values) truth_compute += static_cast<std::int64_t>(v[0].size());
  EXPECT_EQ(cli_compute, truth_compute);
}

}  // namespace
}  // namespace gpuwise
