// Tests of history mode: determinism, windows, an independent count by parsing the output back with gpuwise's
// OpenMetrics parser, pods that come and go (rollout, CronJob runs), crash-looping pods, value formatting.
#include "sim/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "observe/prom/exposition_parser.h"
#include "sim/behavior.h"
#include "sim/endpoints.h"
#include "sim/scenario.h"

namespace gpuwise::sim {
namespace {

namespace prom = observe::prom;

constexpr double kHour = 3600, kDay = 86400;

World DemoWorld(const std::function<void(Scenario*)>& edit = {}) {
  auto s = BuiltinScenario("demo");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (edit) edit(&*s);
  auto w = BuildWorld(*s);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(*w);
}

// Keeps every window in memory.
class StringSink : public WindowSink {
 public:
  base::Status Begin(std::int64_t start) override {
    EXPECT_FALSE(open_);
    open_ = true;
    windows.emplace_back(start, "");
    return base::Status::Ok();
  }
  base::Status Write(std::string_view chunk) override {
    EXPECT_TRUE(open_);
    windows.back().second.append(chunk);
    return base::Status::Ok();
  }
  base::Status End() override {
    EXPECT_TRUE(open_);
    open_ = false;
    return base::Status::Ok();
  }
  std::vector<std::pair<std::int64_t, std::string>> windows;

 private:
  bool open_ = false;
};

// One sample of the output; views into the window text, valid during the callback.
struct Point {
  std::string_view name;
  std::string_view labels;  // the label block as written
  double value = 0;
  std::int64_t ts_ms = 0;
};

// Parses one window back in OpenMetrics mode, calls fn(point) for each sample and checks the window's shape: a
// TYPE gauge line before each family's samples, every family contiguous and named like its samples, timestamps
// on every sample, "# EOF" last.
template <typename Fn>
void ForEachPointOfWindow(const std::string& text, Fn fn) {
  prom::ExpositionParser parser(text, {.format = prom::Format::kOpenMetrics});
  prom::Entry e;
  std::string family;
  std::set<std::string> done;
  bool eof = false;
  while (true) {
    base::Status st = parser.Next(&e);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) continue;
    if (e.kind == prom::EntryKind::kEof) {
      eof = true;
      break;
    }
    if (e.kind == prom::EntryKind::kType) {
      EXPECT_EQ(e.type, prom::MetricType::kGauge);
      EXPECT_TRUE(done.insert(std::string(e.family)).second) << "family " << e.family << " not contiguous";
      family = std::string(e.family);
      continue;
    }
    if (e.kind != prom::EntryKind::kSample) continue;
    EXPECT_EQ(e.sample.name, family);
    EXPECT_TRUE(e.sample.has_timestamp);
    fn(Point{e.sample.name, e.sample.raw_labels, e.sample.value, e.sample.timestamp_ms});
  }
  EXPECT_TRUE(eof);
  EXPECT_TRUE(text.size() >= 6 && text.compare(text.size() - 6, 6, "# EOF\n") == 0);
}

// The value of label `name` in a label block written by the history ("" when absent).
std::string_view LabelValue(std::string_view block, std::string_view name) {
  for (std::size_t pos = 0; (pos = block.find(name, pos)) != std::string_view::npos; pos += name.size()) {
    if (pos == 0 || (block[pos - 1] != '{' && block[pos - 1] != ',')) continue;
    if (block.substr(pos + name.size(), 2) != "=\"") continue;
    const std::size_t start = pos + name.size() + 2;
    return block.substr(start, block.find('"', start) - start);
  }
  return "";
}

HistoryStats RunHistory(const World& world, const HistoryOptions& options, StringSink* sink) {
  auto stats = WriteHistory(world, options, *sink);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  return stats.ok() ? *stats : HistoryStats{};
}

template <typename Fn>
void ForEachPoint(const StringSink& sink, Fn fn) {
  for (const auto& [start, text] : sink.windows) ForEachPointOfWindow(text, fn);
}

HistoryOptions Options(double start_s, double end_s, double interval_s) {
  HistoryOptions o;
  o.start_s = start_s;
  o.end_s = end_s;
  o.scrape_interval_s = interval_s;
  return o;
}

std::int64_t UnixMs(const World& world, double t) { return std::llround((world.options.epoch_unix_s + t) * 1000); }

TEST(HistoryTest, SameWorldAndOptionsGiveIdenticalBytes) {
  const World world = DemoWorld();
  HistoryOptions o = Options(1.75 * kHour, 2.25 * kHour, 60);
  StringSink a, b;
  const HistoryStats sa = RunHistory(world, o, &a), sb = RunHistory(world, o, &b);
  ASSERT_EQ(a.windows.size(), 2u);
  EXPECT_EQ(a.windows, b.windows);
  EXPECT_EQ(sa.samples, sb.samples);
  EXPECT_EQ(sa.bytes, sb.bytes);
  // A second World built from the same scenario gives the same bytes too.
  StringSink c;
  RunHistory(DemoWorld(), o, &c);
  EXPECT_EQ(a.windows, c.windows);
}

TEST(HistoryTest, OneWindowPerTwoHoursAlignedToUnixTime) {
  const World world = DemoWorld();
  // 01:00 to 06:30: windows start at 00:00 (partial), 02:00, 04:00, 06:00 (partial).
  HistoryOptions o = Options(1 * kHour, 6.5 * kHour, 300);
  double last_fraction = 0;
  int calls = 0;
  o.progress = [&](double f) {
    EXPECT_GT(f, last_fraction);
    last_fraction = f;
    ++calls;
  };
  StringSink sink;
  const HistoryStats stats = RunHistory(world, o, &sink);
  const auto epoch = static_cast<std::int64_t>(world.options.epoch_unix_s);
  ASSERT_EQ(sink.windows.size(), 4u);
  EXPECT_EQ(stats.windows, 4);
  EXPECT_EQ(calls, 66);  // 5.5 h / 5 min
  EXPECT_DOUBLE_EQ(last_fraction, 1.0);
  std::int64_t first_ts = std::numeric_limits<std::int64_t>::max(), last_ts = 0;
  for (std::size_t i = 0; i < sink.windows.size(); ++i) {
    const std::int64_t start = epoch + static_cast<std::int64_t>(i) * 7200;
    EXPECT_EQ(sink.windows[i].first, start);
    std::set<std::int64_t> times;
    ForEachPointOfWindow(sink.windows[i].second, [&](const Point& p) {
      EXPECT_GE(p.ts_ms, start * 1000);
      EXPECT_LT(p.ts_ms, (start + 7200) * 1000);
      times.insert(p.ts_ms);
      first_ts = std::min(first_ts, p.ts_ms);
      last_ts = std::max(last_ts, p.ts_ms);
    });
    EXPECT_EQ(times.size(), i == 0 ? 12u : i == 3 ? 6u : 24u) << "window " << i;
  }
  EXPECT_EQ(first_ts, UnixMs(world, 1 * kHour));
  EXPECT_EQ(last_ts, UnixMs(world, 6.5 * kHour - 300));
}

TEST(HistoryTest, CountsMatchTheOutputParsedBack) {
  const World world = DemoWorld();
  const HistoryOptions o = Options(3 * kDay + 10 * kHour, 3 * kDay + 10.5 * kHour, 30);
  StringSink sink;
  const HistoryStats stats = RunHistory(world, o, &sink);
  std::int64_t bytes = 0;
  for (const auto& [start, text] : sink.windows) bytes += static_cast<std::int64_t>(text.size());
  std::int64_t samples = 0;
  std::set<std::pair<std::string_view, std::string_view>> series;
  std::map<std::string, int, std::less<>> per_job;
  std::set<std::string_view> names;
  std::map<std::string, double> first;  // name + labels -> value at the first scrape
  const std::int64_t t0 = UnixMs(world, o.start_s);
  ForEachPoint(sink, [&](const Point& p) {
    ++samples;
    series.emplace(p.name, p.labels);
    names.insert(p.name);
    EXPECT_FALSE(LabelValue(p.labels, "instance").empty()) << p.name << p.labels;
    ++per_job[std::string(LabelValue(p.labels, "job"))];
    if (p.ts_ms == t0) first[std::string(p.name) + std::string(p.labels)] = p.value;
  });
  EXPECT_EQ(stats.samples, samples);
  EXPECT_EQ(stats.bytes, bytes);
  EXPECT_EQ(stats.series, static_cast<std::int64_t>(series.size()));
  EXPECT_GT(per_job["dcgm-exporter"], 0);
  EXPECT_GT(per_job["vllm"], 0);
  EXPECT_GT(per_job["kube-state-metrics"], 0);  // at least its up series
  EXPECT_TRUE(names.count("up"));
  EXPECT_TRUE(names.count("DCGM_FI_DEV_GPU_UTIL"));
  EXPECT_TRUE(names.count("vllm:num_requests_running"));
  EXPECT_EQ(stats.duplicates, 0);

  // Independently: every sample of every page at the first scrape is in the history with its value.
  SimulatorOptions sim_options;
  sim_options.start_s = o.start_s - 15;
  Simulator sim(world, sim_options);
  sim.AdvanceTo(o.start_s);
  std::size_t checked = 0, targets = 0;
  for (std::size_t i = 0; i < world.pods.size(); ++i) {
    const SimPod& pod = world.pods[i];
    if (pod.port == 0 || pod.ip.empty() || !pod.alive(o.start_s)) continue;
    ++targets;
    bool up = false;
    const std::string page = RenderEndpoint(sim, static_cast<int>(i), &up);
    const std::string instance = pod.ip + ":" + std::to_string(pod.port);
    const std::string job(EndpointJob(pod));
    auto up_it = first.find("up{instance=\"" + instance + "\",job=\"" + job + "\"}");
    ASSERT_NE(up_it, first.end()) << instance;
    EXPECT_EQ(up_it->second, up ? 1 : 0);
    prom::ExpositionParser parser(page, {});
    prom::Entry e;
    while (parser.Next(&e).ok() && e.kind != prom::EntryKind::kEof) {
      if (e.kind != prom::EntryKind::kSample) continue;
      std::vector<std::pair<std::string, std::string>> labels;
      for (const prom::Label& l : e.sample.labels) {
        if (l.value.empty()) continue;  // Prometheus: an empty label value is no label
        std::string value;
        for (char c : l.value) value += c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : std::string(1, c);
        labels.emplace_back(l.name, value);
      }
      labels.emplace_back("job", job);
      labels.emplace_back("instance", instance);
      std::sort(labels.begin(), labels.end());
      std::string key = std::string(e.sample.name) + "{";
      for (std::size_t k = 0; k < labels.size(); ++k) key += (k ? "," : "") + labels[k].first + "=\"" + labels[k].second + "\"";
      key += "}";
      auto it = first.find(key);
      ASSERT_NE(it, first.end()) << key;
      EXPECT_EQ(std::memcmp(&it->second, &e.sample.value, sizeof(double)), 0) << key;
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000u);
  EXPECT_EQ(checked + targets, first.size());
}

TEST(HistoryTest, RolloutOldAndNewPodsAppearInDisjointTimeRanges) {
  const World world = DemoWorld();
  // The earliest rollout of a vLLM Deployment: an old pod whose end is a new pod's start in the same slot.
  const SimPod *old_pod = nullptr, *new_pod = nullptr;
  for (const SimPod& a : world.pods) {
    if (a.port == 0 || a.owner.kind != "ReplicaSet" || a.end_s == kForever || a.workload < 0) continue;
    for (const SimPod& b : world.pods) {
      if (b.workload == a.workload && b.replica == a.replica && b.start_s == a.end_s && b.owner.name != a.owner.name &&
          (old_pod == nullptr || a.end_s < old_pod->end_s)) {
        old_pod = &a;
        new_pod = &b;
      }
    }
  }
  ASSERT_NE(old_pod, nullptr);
  const double rollout = old_pod->end_s;
  const double minute = std::floor(rollout / 60) * 60;
  const HistoryOptions o = Options(minute - 20 * 60, minute + 40 * 60, 30);
  StringSink sink;
  RunHistory(world, o, &sink);
  const std::string old_instance = old_pod->ip + ":" + std::to_string(old_pod->port);
  const std::string new_instance = new_pod->ip + ":" + std::to_string(new_pod->port);
  std::int64_t old_dcgm_last = 0, new_dcgm_first = std::numeric_limits<std::int64_t>::max();
  std::int64_t old_vllm_last = 0, new_vllm_first = std::numeric_limits<std::int64_t>::max();
  std::int64_t new_up0 = 0, new_up1 = 0;
  ForEachPoint(sink, [&](const Point& p) {
    const std::string_view instance = LabelValue(p.labels, "instance");
    // The GPU a pod holds, as dcgm-exporter labels it (kube-state-metrics lists pod objects, not GPUs).
    const std::string_view pod = LabelValue(p.labels, "job") == "dcgm-exporter" ? LabelValue(p.labels, "pod") : "";
    if (pod == old_pod->meta.name) old_dcgm_last = std::max(old_dcgm_last, p.ts_ms);
    if (pod == new_pod->meta.name) new_dcgm_first = std::min(new_dcgm_first, p.ts_ms);
    if (p.name == "up") {
      if (instance == new_instance) ++(p.value == 1 ? new_up1 : new_up0);
      return;
    }
    if (instance == old_instance) old_vllm_last = std::max(old_vllm_last, p.ts_ms);
    if (instance == new_instance) new_vllm_first = std::min(new_vllm_first, p.ts_ms);
  });
  ASSERT_GT(old_dcgm_last, 0) << old_pod->meta.name << " never labelled a GPU";
  ASSERT_NE(new_dcgm_first, std::numeric_limits<std::int64_t>::max()) << new_pod->meta.name;
  EXPECT_LT(old_dcgm_last, new_dcgm_first);
  // dcgm-exporter labels a GPU with the pod running during the collect step that ends at the scrape.
  EXPECT_LE(old_dcgm_last, UnixMs(world, rollout + 15));
  EXPECT_GT(new_dcgm_first, UnixMs(world, rollout));
  ASSERT_GT(old_vllm_last, 0);
  EXPECT_LT(old_vllm_last, UnixMs(world, rollout));
  // The new server loads its weights first (cold start): up = 0 until it serves.
  EXPECT_GE(new_vllm_first, UnixMs(world, rollout + ColdStartSeconds(world.scenario, world.scenario.workloads[static_cast<std::size_t>(new_pod->workload)])));
  EXPECT_GT(new_up0, 0);
  EXPECT_GT(new_up1, 0);
}

TEST(HistoryTest, CronJobRunPodsAppearOnlyDuringTheirRuns) {
  const World world = DemoWorld();
  // Day 1, 01:00-04:00: the 02:00-03:30 run of nightly-summaries, and no other.
  constexpr double kInterval = 120;
  const HistoryOptions o = Options(kDay + 1 * kHour, kDay + 4 * kHour, kInterval);
  std::map<std::string, const SimPod*> runs;
  for (const SimPod& pod : world.pods) {
    if (pod.workload >= 0 && world.scenario.workloads[static_cast<std::size_t>(pod.workload)].name == "nightly-summaries") {
      runs[pod.meta.name] = &pod;
    }
  }
  ASSERT_GE(runs.size(), 3u);
  StringSink sink;
  RunHistory(world, o, &sink);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> seen;  // pod -> first, last timestamp
  ForEachPoint(sink, [&](const Point& p) {
    if (LabelValue(p.labels, "job") != "dcgm-exporter") return;  // the GPU's pod label, not the pod object
    const std::string pod(LabelValue(p.labels, "pod"));
    if (!runs.count(pod)) return;
    auto [it, fresh] = seen.try_emplace(pod, p.ts_ms, p.ts_ms);
    it->second.first = std::min(it->second.first, p.ts_ms);
    it->second.second = std::max(it->second.second, p.ts_ms);
  });
  ASSERT_EQ(seen.size(), 1u);
  const SimPod& run = *runs.at(seen.begin()->first);
  EXPECT_EQ(run.start_s, kDay + 2 * kHour);
  // The GPU gets its pod label once the container runs, after the image pull.
  const double running = run.start_s + world.scenario.delays.image_pull_s;
  EXPECT_GE(seen.begin()->second.first, UnixMs(world, running));
  EXPECT_LE(seen.begin()->second.first, UnixMs(world, running + kInterval));
  // dcgm-exporter labels a GPU with the pod running during the collect step that ends at the scrape.
  EXPECT_LE(seen.begin()->second.second, UnixMs(world, run.end_s + 15));
  EXPECT_GE(seen.begin()->second.second, UnixMs(world, run.end_s - kInterval));
}

TEST(HistoryTest, CrashLoopingServerHasNoSeriesWhileDown) {
  // mistral-7b-ads outgrows its host memory limit: OOMKilled ~10 min after each start, back-off, restart.
  const World world = DemoWorld([](Scenario* s) {
    for (WorkloadSpec& w : s->workloads) {
      if (w.name == "mistral-7b-ads") {
        w.usage.host_memory_gib = 40;
        w.usage.host_memory_limit_gib = 32;
      }
    }
  });
  const SimPod* pod = nullptr;
  for (const SimPod& p : world.pods) {
    if (p.port != 0 && p.workload >= 0 && world.scenario.workloads[static_cast<std::size_t>(p.workload)].name ==
                                              "mistral-7b-ads" && p.alive(0)) {
      pod = &p;
      break;
    }
  }
  ASSERT_NE(pod, nullptr);
  const std::string instance = pod->ip + ":" + std::to_string(pod->port);
  const HistoryOptions o = Options(0, 1 * kHour, 30);
  StringSink sink;
  const HistoryStats stats = RunHistory(world, o, &sink);
  EXPECT_GT(stats.failed_scrapes, 0);
  std::map<std::int64_t, double> up;
  std::map<std::int64_t, int> samples;
  ForEachPoint(sink, [&](const Point& p) {
    if (LabelValue(p.labels, "instance") != instance) return;
    if (p.name == "up") up[p.ts_ms] = p.value;
    else ++samples[p.ts_ms];
  });
  EXPECT_EQ(up.size(), 120u);  // alive all along: up at every scrape
  int down = 0, back_up = 0;
  bool was_down = false;
  for (const auto& [ts, v] : up) {
    if (v == 0) {
      EXPECT_EQ(samples.count(ts), 0u) << "series at " << ts << " while down";
      ++down;
      was_down = true;
    } else {
      EXPECT_GT(samples[ts], 50) << ts;
      if (was_down) ++back_up;
      was_down = false;
    }
  }
  EXPECT_GT(down, 10);
  EXPECT_GE(back_up, 2);  // it comes back between crashes
}

TEST(HistoryTest, WritesOneFilePerWindowToADirectory) {
  const World world = DemoWorld();
  const HistoryOptions o = Options(1.75 * kHour, 2.25 * kHour, 60);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("gpuwise-history-test-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto stats = WriteHistoryToDir(world, o, (dir / "sub").string());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  StringSink sink;
  RunHistory(world, o, &sink);
  ASSERT_EQ(sink.windows.size(), 2u);
  for (const auto& [start, text] : sink.windows) {
    std::ifstream in(dir / "sub" / (std::to_string(start) + ".om"), std::ios::binary);
    ASSERT_TRUE(in) << start;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), text) << start;
  }
  std::filesystem::remove_all(dir);
}

TEST(HistoryTest, RejectsBadOptions) {
  const World world = DemoWorld();
  StringSink sink;
  EXPECT_FALSE(WriteHistory(world, Options(10, 10, 15), sink).ok());
  EXPECT_FALSE(WriteHistory(world, Options(0, std::nan(""), 15), sink).ok());
  EXPECT_FALSE(WriteHistory(world, Options(0, 60, 0), sink).ok());
  HistoryOptions o = Options(0, 60, 15);
  o.window_s = -1;
  EXPECT_FALSE(WriteHistory(world, o, sink).ok());
  EXPECT_TRUE(sink.windows.empty());
}

TEST(HistoryTest, ValuesReadBackToTheSameDouble) {
  auto text = [](double v) {
    std::string s;
    AppendOpenMetricsValue(v, &s);
    return s;
  };
  EXPECT_EQ(text(0), "0");
  EXPECT_EQ(text(-0.0), "-0");
  EXPECT_EQ(text(1e6), "1000000");
  EXPECT_EQ(text(-42), "-42");
  EXPECT_EQ(text(1794787200), "1794787200");
  EXPECT_EQ(text(0.25), "0.25");
  EXPECT_EQ(text(0.1), "0.1");
  EXPECT_EQ(text(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(text(std::nan("")), "NaN");
  const double values[] = {1.7537953269353123e+09, 9.75010481363281e-06, 1e300, 1e19, -2.5e-300, 0.1 + 0.2,
                           std::nextafter(1.0, 2.0), 123456.789, 4.9e-324, 9.2e18, 9007199254740993.0};
  for (double v : values) {
    const std::string s = text(v);
    double back = 0;
    ASSERT_TRUE(prom::ParseValue(s, &back)) << s;
    EXPECT_EQ(std::memcmp(&back, &v, sizeof v), 0) << s;
  }
}

TEST(HistoryTest, TimestampsReadBackToTheSameMillisecond) {
  EXPECT_EQ(FormatOpenMetricsTimestamp(1794787200000), "1794787200");
  EXPECT_EQ(FormatOpenMetricsTimestamp(1794787200500), "1794787200.5");
  EXPECT_EQ(FormatOpenMetricsTimestamp(-1500), "-1.5");
  for (std::int64_t ms = 1794787200000; ms < 1794787200000 + 3000; ++ms) {
    for (std::int64_t m : {ms, -ms, ms - 1794787200000}) {
      const std::string s = FormatOpenMetricsTimestamp(m);
      double sec = 0;
      ASSERT_EQ(std::from_chars(s.data(), s.data() + s.size(), sec).ec, std::errc()) << s;
      EXPECT_EQ(static_cast<std::int64_t>(sec * 1000), m) << s;  // Prometheus: int64(ts * 1000)
      EXPECT_EQ(std::llround(sec * 1000), m) << s;
      EXPECT_EQ(s.find('e'), std::string::npos) << s;
    }
  }
}

}  // namespace
}  // namespace gpuwise::sim
