// The fake Prometheus's procedural series answer exactly as the same samples stored would (the O(log) window
// statistics of the wave agree with brute force), and its aggregations, grouping, increase, literal-alternation
// regexes, /api/v1/series and served-bytes accounting behave as Prometheus's do.
#include "fakes/fake_prometheus.h"

#include <httplib.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gpuwise::fakes {
namespace {

using nlohmann::json;

constexpr std::int64_t kIv = 30'000;           // scrape interval
constexpr std::int64_t kT0 = 1'794'787'200'000;  // a multiple of kIv

std::unique_ptr<FakePrometheus> StartFake(FakePrometheus::Options o = {}) {
  auto r = FakePrometheus::Start(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

json Get(const FakePrometheus& fake, const std::string& path, const httplib::Params& params, bool gzip = false) {
  httplib::Client client("127.0.0.1", fake.port());
  client.set_read_timeout(30, 0);
  httplib::Headers headers;
  headers.emplace("Accept-Encoding", gzip ? "gzip" : "identity");
  auto res = client.Post(path.c_str(), headers, params);
  if (!res) return json();
  json j = json::parse(res->body, nullptr, false);
  j["http_status"] = res->status;
  return j;
}

// name{...} -> value at the instant, per series key (the "k" label), NaN when absent.
std::map<std::string, double> Instant(const FakePrometheus& fake, const std::string& promql, std::int64_t t_ms) {
  json j = Get(fake, "/api/v1/query", {{"query", promql}, {"time", std::to_string(t_ms / 1000.0)}});
  std::map<std::string, double> out;
  EXPECT_EQ(j.value("status", ""), "success") << promql << ": " << j.dump().substr(0, 300);
  for (const json& s : j["data"]["result"]) {
    const std::string key = s["metric"].value("k", "");
    out[key] = std::stod(s["value"][1].get<std::string>());
  }
  return out;
}

// The same samples twice: as a procedural wave series (name wave_proc) and stored (name wave_stored).
struct Pair {
  std::vector<std::pair<std::int64_t, std::int64_t>> present;
  double offset, scale;
  std::int64_t phase;
};

void AddPair(FakePrometheus& fake, const std::string& key, const Pair& p) {
  FakePrometheus::ProceduralSeries s;
  s.labels = {{"__name__", "wave_proc"}, {"k", key}};
  s.interval_ms = kIv;
  s.present = p.present;
  s.offset = p.offset;
  s.scale = p.scale;
  s.phase = p.phase;
  fake.AddProceduralSeries(s);
  std::vector<std::int64_t> ts;
  std::vector<double> vs;
  for (const auto& [from, to] : p.present) {
    for (std::int64_t t = (from + kIv - 1) / kIv * kIv; t < to; t += kIv) {
      ts.push_back(t);
      vs.push_back(p.offset + p.scale * FakePrometheus::WaveLevel(t / kIv + p.phase));
    }
  }
  fake.AddSeries({{"__name__", "wave_stored"}, {"k", key}}, ts, vs);
}

TEST(FakePrometheusTest, WaveWindowFunctionsEqualTheSameSamplesStored) {
  auto fake = StartFake();
  const std::int64_t day = 86'400'000;
  // Longer than the wave's period, with a gap; a decreasing one; a short one; a constant.
  AddPair(*fake, "a", {{{kT0, kT0 + 3 * day + 7 * kIv}, {kT0 + 4 * day + 3 * kIv, kT0 + 5 * day}}, 0.1, 0.0007, 17});
  AddPair(*fake, "b", {{{kT0 + 123 * kIv, kT0 + 2 * day}}, 70000, -3.5, 2000});
  AddPair(*fake, "c", {{{kT0 + day / 2, kT0 + day / 2 + 11 * kIv}}, 5, 0.01, -9});
  AddPair(*fake, "d", {{{kT0, kT0 + day}}, 1, 0, 0});
  int compared = 0;
  for (const std::string fn : {"count_over_time", "sum_over_time", "avg_over_time", "min_over_time", "max_over_time",
                               "last_over_time", "quantile_over_time(0.5,", "quantile_over_time(0.95,",
                               "quantile_over_time(0.99,", "quantile_over_time(0,", "quantile_over_time(1,"}) {
    for (const std::string window : {"1h", "7h", "1d", "3d", "6d"}) {
      for (std::int64_t t : {kT0 + 5 * kIv, kT0 + day / 2 + 7 * kIv + 1, kT0 + day + 12345, kT0 + 3 * day + 9 * kIv,
                             kT0 + 5 * day + 1}) {
        auto q = [&](const std::string& name) {
          return fn.back() == ',' ? fn + " " + name + "[" + window + "])" : fn + "(" + name + "[" + window + "])";
        };
        const auto proc = Instant(*fake, q("wave_proc"), t);
        const auto stored = Instant(*fake, q("wave_stored"), t);
        ASSERT_EQ(proc.size(), stored.size()) << q("x") << " at " << t;
        for (const auto& [k, v] : stored) {
          ASSERT_TRUE(proc.count(k)) << k;
          EXPECT_NEAR(proc.at(k), v, 1e-9 * std::max(1.0, std::abs(v))) << q("x") << " series " << k << " at " << t;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 400);  // not vacuous
}

TEST(FakePrometheusTest, WavePlainSelectorFollowsLookbackLikeStoredSamples) {
  auto fake = StartFake();
  AddPair(*fake, "a", {{{kT0, kT0 + 40 * kIv}, {kT0 + 60 * kIv, kT0 + 90 * kIv}}, 3, 0.25, 5});
  auto values = [&](const std::string& name) {
    json j = Get(*fake, "/api/v1/query_range",
                 {{"query", name}, {"start", std::to_string(kT0 / 1000 - 60)}, {"end", std::to_string(kT0 / 1000 + 3000)},
                  {"step", "7"}});
    EXPECT_EQ(j["data"]["result"].size(), 1u);
    return j["data"]["result"][0]["values"];
  };
  const json proc = values("wave_proc"), stored = values("wave_stored");
  EXPECT_EQ(proc, stored);
  // The 20-sample gap is longer than the 5-minute lookback: some steps have no value.
  EXPECT_LT(proc.size(), static_cast<std::size_t>(3060 / 7 + 1));
}

TEST(FakePrometheusTest, AggregationsGroupByLabels) {
  auto fake = StartFake();
  for (int gpu = 0; gpu < 3; ++gpu) {
    for (const char* pod : {"p", "q"}) {
      fake->AddSeries({{"__name__", "util"}, {"gpu", std::to_string(gpu)}, {"pod", pod}, {"k", std::string(pod) + std::to_string(gpu)}},
                      {kT0}, {gpu * 10.0 + (pod[0] == 'p' ? 1 : 2)});
    }
  }
  EXPECT_EQ(Instant(*fake, "count(util)", kT0), (std::map<std::string, double>{{"", 6}}));
  EXPECT_EQ(Instant(*fake, "sum(last_over_time(util[1m]))", kT0), (std::map<std::string, double>{{"", 69}}));
  json j = Get(*fake, "/api/v1/query", {{"query", "max by (gpu) (util)"}, {"time", std::to_string(kT0 / 1000)}});
  ASSERT_EQ(j["data"]["result"].size(), 3u);
  for (const json& s : j["data"]["result"]) {
    const int gpu = std::stoi(s["metric"]["gpu"].get<std::string>());
    EXPECT_EQ(s["metric"].size(), 1u);  // only the group's label
    EXPECT_EQ(std::stod(s["value"][1].get<std::string>()), gpu * 10.0 + 2);
  }
  j = Get(*fake, "/api/v1/query", {{"query", "sum(util) without (gpu, k)"}, {"time", std::to_string(kT0 / 1000)}});
  ASSERT_EQ(j["data"]["result"].size(), 2u);  // by pod
  for (const json& s : j["data"]["result"]) {
    EXPECT_EQ(std::stod(s["value"][1].get<std::string>()), s["metric"]["pod"] == "p" ? 33 : 36);
  }
}

TEST(FakePrometheusTest, IncreaseExtrapolatesAsPrometheus) {
  auto fake = StartFake();
  // 0, 10, 20 at 0 s, 30 s, 60 s; a window of 90 s ending at 75 s: 20 over 60 s sampled, extended by 15 s at the
  // end (within 1.1 intervals) and towards zero at the start (the counter started at 0 there): 25.
  fake->AddSeries({{"__name__", "c_total"}, {"k", "a"}}, {kT0, kT0 + 30'000, kT0 + 60'000}, {0, 10, 20});
  // A counter reset (30 -> 5) is added back: 10 -> 30 -> 5 is an increase of 25 over 60 s. At the start it is
  // extended to where the counter would have been 0 (10 at 25 per 60 s: 24 s back, within 1.1 intervals), at the
  // end (90 s away) by half an interval: 25 * (60 + 24 + 15) / 60.
  fake->AddSeries({{"__name__", "c_total"}, {"k", "b"}}, {kT0 + 100'000, kT0 + 130'000, kT0 + 160'000}, {10, 30, 5});
  auto a = Instant(*fake, "increase(c_total[90s])", kT0 + 75'000);
  EXPECT_DOUBLE_EQ(a.at("a"), 25);
  auto b = Instant(*fake, "increase(c_total[200s])", kT0 + 250'000);
  EXPECT_DOUBLE_EQ(b.at("b"), 25.0 * 99 / 60);
  EXPECT_DOUBLE_EQ(Instant(*fake, "rate(c_total[200s])", kT0 + 250'000).at("b"), 25.0 * 99 / 60 / 200);
  // One sample: no increase at all, so no series.
  EXPECT_TRUE(Instant(*fake, "increase(c_total[40s])", kT0 + 170'000).empty());
}

TEST(FakePrometheusTest, LiteralAlternationsAndRegexesSelectTheSameSeries) {
  auto fake = StartFake();
  std::vector<FakePrometheus::ProceduralSeries> many;
  for (int i = 0; i < 50; ++i) {
    FakePrometheus::ProceduralSeries s;
    s.labels = {{"__name__", i % 2 ? "odd.name" : "even"}, {"UUID", "GPU-" + std::to_string(i)}, {"k", std::to_string(i)}};
    s.present = {{kT0, kT0 + 10 * kIv}};
    s.offset = i;
    s.scale = 0;
    many.push_back(s);
  }
  fake->AddProceduralSeries(many);
  EXPECT_EQ(fake->ProceduralSeriesCount(), 50u);
  const std::int64_t t = kT0 + 5 * kIv;
  // Escaped dot: literal; "GPU-1|GPU-3|GPU-4" a set lookup; "GPU-1.*" a real regex.
  EXPECT_EQ(Instant(*fake, R"({__name__=~"even|odd\\.name",UUID=~"GPU-1|GPU-3|GPU-4"})", t).size(), 3u);
  EXPECT_EQ(Instant(*fake, R"({__name__=~"odd\\.name",UUID=~"GPU-1|GPU-3|GPU-4"})", t).size(), 2u);
  EXPECT_EQ(Instant(*fake, R"({__name__="even",UUID=~"GPU-1.*"})", t).size(), 5u);  // 10, 12, 14, 16, 18
  EXPECT_EQ(Instant(*fake, R"(even{UUID!~"GPU-0|GPU-2"})", t).size(), 23u);
  // A sharded query is tens of kilobytes of form body (Prometheus takes up to 10 MB; httplib alone stops at 8 KiB).
  std::string big = "GPU-0";
  for (int i = 1000; i < 4000; ++i) big += "|GPU-" + std::to_string(i);
  EXPECT_EQ(Instant(*fake, "even{UUID=~\"" + big + "\"}", t).size(), 1u);
}

TEST(FakePrometheusTest, SeriesEndpointListsProceduralSeriesPresentInTheRange) {
  auto fake = StartFake();
  for (int i = 0; i < 2; ++i) {
    FakePrometheus::ProceduralSeries s;
    s.labels = {{"__name__", "m"}, {"k", std::to_string(i)}};
    s.present = {{kT0 + i * 100 * kIv, kT0 + (i * 100 + 10) * kIv}};
    fake->AddProceduralSeries(s);
  }
  auto listed = [&](std::int64_t start, std::int64_t end) {
    json j = Get(*fake, "/api/v1/series",
                 {{"match[]", "m"}, {"start", std::to_string(start / 1000)}, {"end", std::to_string(end / 1000)}});
    std::vector<std::string> keys;
    for (const json& l : j["data"]) keys.push_back(l["k"]);
    return keys;
  };
  EXPECT_EQ(listed(kT0, kT0 + 50 * kIv), std::vector<std::string>{"0"});
  EXPECT_EQ(listed(kT0 + 9 * kIv, kT0 + 100 * kIv), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(listed(kT0 + 10 * kIv, kT0 + 99 * kIv).empty());
}

TEST(FakePrometheusTest, SampleLimitBoundsOneSeriesWindowForFunctions) {
  FakePrometheus::Options o;
  o.max_samples = 1000;
  auto fake = StartFake(o);
  for (int i = 0; i < 5; ++i) {  // 5 x 600 samples: 3,000 in all, 600 per series
    FakePrometheus::ProceduralSeries s;
    s.labels = {{"__name__", "small"}, {"k", std::to_string(i)}};
    s.present = {{kT0, kT0 + 600 * kIv}};
    fake->AddProceduralSeries(s);
  }
  FakePrometheus::ProceduralSeries big;
  big.labels = {{"__name__", "big"}, {"k", "0"}};
  big.present = {{kT0, kT0 + 1500 * kIv}};
  fake->AddProceduralSeries(big);
  const std::string t = std::to_string((kT0 + 1600 * kIv) / 1000);
  json ok = Get(*fake, "/api/v1/query", {{"query", "count_over_time(small[1d])"}, {"time", t}});
  EXPECT_EQ(ok.value("status", ""), "success");
  EXPECT_EQ(ok["data"]["result"].size(), 5u);
  json over = Get(*fake, "/api/v1/query", {{"query", "count_over_time(big[1d])"}, {"time", t}});
  EXPECT_EQ(over.value("http_status", 0), 422);
  EXPECT_EQ(over.value("errorType", ""), "execution");
  // A plain range query counts series x points: 5 series x 201 steps > 1,000.
  json range = Get(*fake, "/api/v1/query_range", {{"query", "small"}, {"start", std::to_string(kT0 / 1000)},
                                                  {"end", std::to_string(kT0 / 1000 + 200 * 30)}, {"step", "30"}});
  EXPECT_EQ(range.value("http_status", 0), 422);
  // A backend that charges a function for every series' window: 5 x 600 fails 1,000, one series of 600 passes.
  o.sum_function_windows = true;
  auto summing = StartFake(o);
  for (int i = 0; i < 5; ++i) {
    FakePrometheus::ProceduralSeries s;
    s.labels = {{"__name__", "small"}, {"k", std::to_string(i)}};
    s.present = {{kT0, kT0 + 600 * kIv}};
    summing->AddProceduralSeries(s);
  }
  json all = Get(*summing, "/api/v1/query", {{"query", "count_over_time(small[1d])"}, {"time", t}});
  EXPECT_EQ(all.value("http_status", 0), 422);
  json one = Get(*summing, "/api/v1/query", {{"query", "count_over_time(small{k=\"3\"}[1d])"}, {"time", t}});
  EXPECT_EQ(one.value("status", ""), "success");
  EXPECT_EQ(one["data"]["result"].size(), 1u);
}

TEST(FakePrometheusTest, ServedCountsBytesOnTheWireAfterGzip) {
  auto fake = StartFake();
  FakePrometheus::ProceduralSeries s;
  s.labels = {{"__name__", "m"}, {"k", "a"}};
  s.present = {{kT0, kT0 + 5000 * kIv}};
  s.scale = 0.001;
  fake->AddProceduralSeries(s);
  const httplib::Params range = {{"query", "m"}, {"start", std::to_string(kT0 / 1000)},
                                 {"end", std::to_string(kT0 / 1000 + 4999 * 30)}, {"step", "30"}};
  ASSERT_EQ(Get(*fake, "/api/v1/query_range", range).value("http_status", 0), 200);
  const FakePrometheus::ServedStats plain = fake->Served();
  EXPECT_EQ(plain.requests, 1);
  EXPECT_GT(plain.body_bytes, 5000 * 10);
  EXPECT_GT(plain.wire_bytes, plain.body_bytes);  // uncompressed: the body plus status line and headers
  EXPECT_GT(plain.busy_seconds, 0);
  fake->ClearRequests();
  EXPECT_EQ(fake->Served().requests, 0);
  ASSERT_EQ(Get(*fake, "/api/v1/query_range", range, /*gzip=*/true).value("http_status", 0), 200);
  const FakePrometheus::ServedStats gz = fake->Served();
  EXPECT_EQ(gz.body_bytes, plain.body_bytes);
  EXPECT_LT(gz.wire_bytes, gz.body_bytes / 2);
}

}  // namespace
}  // namespace gpuwise::fakes
