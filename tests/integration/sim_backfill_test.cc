// Integration test of history mode (sim/history.h) against the real Prometheus tools (Debian's `prometheus`
// package). One day of the demo cluster at a 60 s scrape interval: about 9 M samples, under the 20 M a test may
// backfill, and about 2 GB of text in a temporary directory. The day holds the first vLLM rollout and a nightly
// CronJob run. It is written as one OpenMetrics file per 2-hour window, backfilled with
// `promtool tsdb create-blocks-from openmetrics`, and served by a real Prometheus. Checks through the HTTP API:
// the samples and series Prometheus holds equal what the history wrote, exactly; dcgm-exporter and vLLM samples
// read back with their exact values; the pods from before and after the rollout are both there. Skips when
// promtool or prometheus is not installed.
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "observe/prom/exposition_parser.h"
#include "prometheus_process.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace gpuwise {
namespace {

namespace fs = std::filesystem;
namespace prom = observe::prom;

constexpr double kDay = 86400;
constexpr double kIntervalS = 60;

// The single value of an instant query's vector result; NaN when the result is empty or malformed.
double ScalarOf(const nlohmann::json& body) {
  if (body.is_discarded() || body.value("status", "") != "success") return std::nan("");
  const auto& result = body["data"]["result"];
  if (!result.is_array() || result.size() != 1) return std::nan("");
  const std::string text = result[0]["value"][1].get<std::string>();
  double v = std::nan("");
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first sample of `name` in an OpenMetrics window, as a PromQL selector with its labels, its value and time.
struct Found {
  std::string selector;
  double value = 0;
  std::int64_t ts_ms = 0;
};
Found FirstSample(const std::string& text, std::string_view name) {
  prom::ExpositionParser parser(text, {.format = prom::Format::kOpenMetrics});
  prom::Entry e;
  while (parser.Next(&e).ok() && e.kind != prom::EntryKind::kEof) {
    if (e.kind != prom::EntryKind::kSample || e.sample.name != name) continue;
    Found f;
    f.selector = std::string(name) + std::string(e.sample.raw_labels);  // the history writes PromQL-safe blocks
    f.value = e.sample.value;
    f.ts_ms = e.sample.timestamp_ms;
    return f;
  }
  return {};
}

class SimBackfillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = testing::Which("promtool");
    if (promtool_.empty() || testing::Which("prometheus").empty()) {
      GTEST_SKIP() << "needs Debian's prometheus package (promtool + prometheus); scripts/install-deps test installs it";
    }
    dir_ = fs::temp_directory_path() / ("gpuwise-backfill-it-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tsdb");
  }
  void TearDown() override {
    prometheus_.Stop();
    if (dir_.empty()) return;
    fs::remove_all(dir_ / "om");  // gigabytes; the logs and the TSDB stay for a failure's post-mortem
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string promtool_;
  fs::path dir_;
  testing::PrometheusProcess prometheus_;
};

TEST_F(SimBackfillTest, DemoHistoryBackfillsIntoPrometheusExactly) {
  auto scenario = sim::BuiltinScenario("demo");
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  auto world = sim::BuildWorld(*scenario);
  ASSERT_TRUE(world.ok()) << world.status().ToString();

  // The first rollout of a vLLM Deployment: an old pod whose end is a new pod's start in the same slot.
  const sim::SimPod *old_pod = nullptr, *new_pod = nullptr;
  for (const sim::SimPod& a : world->pods) {
    if (a.port == 0 || a.owner.kind != "ReplicaSet" || a.end_s == sim::kForever || a.workload < 0) continue;
    for (const sim::SimPod& b : world->pods) {
      if (b.workload == a.workload && b.replica == a.replica && b.start_s == a.end_s &&
          (old_pod == nullptr || a.end_s < old_pod->end_s)) {
        old_pod = &a;
        new_pod = &b;
      }
    }
  }
  ASSERT_NE(old_pod, nullptr) << "the demo has no vLLM rollout";
  // That day, midnight to midnight: the rollout (10:00-16:00) and the 02:00 nightly CronJob run.
  sim::HistoryOptions options;
  options.start_s = std::floor(old_pod->end_s / kDay) * kDay;
  options.end_s = options.start_s + kDay;
  options.scrape_interval_s = kIntervalS;
  const auto t0 = std::chrono::steady_clock::now();
  auto stats = sim::WriteHistoryToDir(*world, options, (dir_ / "om").string());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_GT(stats->samples, 1'000'000);
  ASSERT_LT(stats->samples, 20'000'000);
  EXPECT_EQ(stats->windows, 12);

  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir_ / "om")) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 12u);
  const auto t1 = std::chrono::steady_clock::now();
  for (const auto& f : files) {
    ASSERT_EQ(testing::RunCommand({promtool_, "tsdb", "create-blocks-from", "openmetrics", f.string(),
                                   (dir_ / "tsdb").string()},
                                  dir_ / "promtool.log"),
              0)
        << "promtool failed on " << f << ":\n"
        << ReadFile(dir_ / "promtool.log").substr(0, 4000);
  }
  const double promtool_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const std::string error = prometheus_.Start(dir_, "global:\n  scrape_interval: 60s\nscrape_configs: []\n");
  ASSERT_EQ(error, "");

  // Every metric name, then per name: samples = sum of count_over_time at the last scrape over a range reaching
  // just before the first one (each stored sample counted once, whatever the selector's end-inclusiveness);
  // series = how many series that sum has. (count_over_time over all names at once fails: dropping __name__
  // leaves series with equal labels.)
  const auto epoch_ms = static_cast<std::int64_t>(world->options.epoch_unix_s * 1000);
  const std::int64_t first_ms = epoch_ms + static_cast<std::int64_t>(options.start_s * 1000);
  const std::int64_t last_ms = epoch_ms + static_cast<std::int64_t>((options.end_s - kIntervalS) * 1000);
  const std::string at = sim::FormatOpenMetricsTimestamp(last_ms);
  const std::string range = "[" + std::to_string((last_ms - first_ms) / 1000 + 1) + "s]";
  httplib::Client client("127.0.0.1", prometheus_.port());
  auto res = client.Get("/api/v1/label/__name__/values");
  ASSERT_TRUE(res && res->status == 200);
  const nlohmann::json names = nlohmann::json::parse(res->body, nullptr, false);
  ASSERT_FALSE(names.is_discarded());
  ASSERT_GT(names["data"].size(), 50u);
  double samples = 0, series = 0;
  for (const auto& n : names["data"]) {
    const std::string name = n.get<std::string>();
    const double count = ScalarOf(prometheus_.Query("sum(count_over_time(" + name + range + "))", at));
    const double nseries = ScalarOf(prometheus_.Query("count(count_over_time(" + name + range + "))", at));
    EXPECT_GT(count, 0) << name;
    samples += count;
    series += nseries;
  }
  EXPECT_EQ(samples, static_cast<double>(stats->samples));
  EXPECT_EQ(series, static_cast<double>(stats->series));
  // Nothing before the history's range.
  EXPECT_TRUE(std::isnan(
      ScalarOf(prometheus_.Query("count(count_over_time(up[1h]))", sim::FormatOpenMetricsTimestamp(first_ms - 1)))));

  // One dcgm-exporter and one vLLM sample of the first window, queried at their own time: same value, exactly.
  const std::string first_window = ReadFile(files.front());
  for (std::string_view name : {"DCGM_FI_DEV_FB_USED", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "vllm:num_requests_running",
                                "vllm:prompt_tokens_total"}) {
    const Found f = FirstSample(first_window, name);
    ASSERT_FALSE(f.selector.empty()) << name << " not in " << files.front();
    EXPECT_EQ(ScalarOf(prometheus_.Query(f.selector, sim::FormatOpenMetricsTimestamp(f.ts_ms))), f.value)
        << f.selector;
  }

  // Both sides of the rollout: the old and the new pod as dcgm-exporter labels their GPUs, and their vLLM
  // endpoints' up series (the new one starts at 0 while it loads).
  for (const sim::SimPod* pod : {old_pod, new_pod}) {
    const std::string instance = pod->ip + ":" + std::to_string(pod->port);
    EXPECT_GT(ScalarOf(prometheus_.Query(
                  "count(count_over_time(DCGM_FI_DEV_FB_USED{pod=\"" + pod->meta.name + "\"}" + range + "))", at)),
              0)
        << pod->meta.name;
    EXPECT_GT(ScalarOf(prometheus_.Query("sum(count_over_time(up{instance=\"" + instance + "\"}" + range + "))", at)),
              0)
        << instance;
    EXPECT_GT(
        ScalarOf(prometheus_.Query("count(count_over_time(vllm:num_requests_running{instance=\"" + instance + "\"}" +
                                       range + "))",
                                   at)),
        0)
        << instance;
  }
  std::printf("history: %lld samples, %lld series, %lld bytes in %lld windows (%.1f s); promtool %.1f s\n",
              static_cast<long long>(stats->samples), static_cast<long long>(stats->series),
              static_cast<long long>(stats->bytes), static_cast<long long>(stats->windows), gen_s, promtool_s);
}

}  // namespace
}  // namespace gpuwise
