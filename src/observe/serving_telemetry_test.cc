#include "observe/serving_telemetry.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "base/clock.h"
#include "fakes/fake_prometheus.h"

namespace gpuwise::observe {
namespace {

constexpr const char* kV1Page = R"(# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",gpu_memory_utilization="0.9",num_gpu_blocks="1000"} 1.0
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="1",gpu_memory_utilization="0.9",num_gpu_blocks="3000"} 1.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.8
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.4
vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.99
# TYPE vllm:request_success counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 90
vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} 10
vllm:prompt_tokens_total{engine="0",model_name="m"} 5000
vllm:generation_tokens_total{engine="0",model_name="m"} 2000
vllm:num_preemptions_total{engine="0",model_name="m"} 3
this line is broken
)";

TEST(ParseVllmPage, WeighsEnginesByCapacityAndPrefersTheCurrentName) {
  const ServingSample s = ParseVllmPage(kV1Page, 1000);
  // (0.8 x 16,000 + 0.4 x 48,000) / 64,000 = 0.5; the deprecated gpu_cache_usage_perc is ignored.
  EXPECT_DOUBLE_EQ(s.kv_usage, 0.5);
  EXPECT_DOUBLE_EQ(s.kv_capacity_tokens, 64000);
  EXPECT_DOUBLE_EQ(s.gpu_memory_utilization, 0.9);
  EXPECT_DOUBLE_EQ(s.requests, 100);
  EXPECT_DOUBLE_EQ(s.prompt_tokens, 5000);
  EXPECT_DOUBLE_EQ(s.generation_tokens, 2000);
  EXPECT_DOUBLE_EQ(s.preemptions, 3);
  EXPECT_EQ(s.bad_lines, 1);
}

TEST(ParseVllmPage, OldEnginesGpuCacheUsageAndAnEmptyPage) {
  const ServingSample old = ParseVllmPage("vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.25\n", 0);
  EXPECT_DOUBLE_EQ(old.kv_usage, 0.25);
  EXPECT_TRUE(std::isnan(old.kv_capacity_tokens));
  const ServingSample none = ParseVllmPage("", 0);
  EXPECT_TRUE(std::isnan(none.kv_usage));
  EXPECT_TRUE(std::isnan(none.requests));
  const ServingSample nan = ParseVllmPage("vllm:kv_cache_usage_perc NaN\nvllm:request_success_total -5\n", 0);
  EXPECT_TRUE(std::isnan(nan.kv_usage));
  EXPECT_TRUE(std::isnan(nan.requests));
}

TEST(AccumulateServing, CounterIncreasesSurviveARestart) {
  std::vector<ServingSample> samples(4);
  const double requests[] = {100, 130, 5, 25};  // the engine restarted between the 2nd and 3rd scrape
  for (int i = 0; i < 4; ++i) {
    samples[static_cast<std::size_t>(i)].t_ms = i * 30'000;
    samples[static_cast<std::size_t>(i)].requests = requests[i];
    samples[static_cast<std::size_t>(i)].kv_usage = 0.1 * (i + 1);
  }
  model::ServingUsage u;
  AccumulateServing(samples, &u);
  EXPECT_DOUBLE_EQ(u.requests, 30 + 5 + 20);
  EXPECT_DOUBLE_EQ(u.seconds, 90);
  EXPECT_EQ(u.kv_usage.count(), 4u);
  EXPECT_EQ(u.pods, 1);
  // A second replica over the same span adds its requests, not its time.
  AccumulateServing(samples, &u);
  EXPECT_DOUBLE_EQ(u.requests, 110);
  EXPECT_DOUBLE_EQ(u.seconds, 90);
  EXPECT_EQ(u.pods, 2);
}


// ---- latency histograms

model::LatencyHistogram Hist(std::vector<double> bounds, std::vector<double> cumulative, double count) {
  model::LatencyHistogram h;
  h.upper_bounds = std::move(bounds);
  h.cumulative = std::move(cumulative);
  h.count = count;
  return h;
}

// Two engines of one pod, each with its own TTFT series (and model_name): their buckets add. TPOT comes from
// time_per_output_token_seconds when the page has it (inter_token_latency_seconds holds the same observations and
// must not be added), else from its successor.
constexpr const char* kLatencyPage = R"(# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 3.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="m"} 8.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="1.0",model_name="m"} 9.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 10.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 10.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 3.2
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.1",model_name="m"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.5",model_name="m"} 2.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="1.0",model_name="m"} 4.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="+Inf",model_name="m"} 5.0
vllm:time_to_first_token_seconds_count{engine="1",model_name="m"} 5.0
# TYPE vllm:time_per_output_token_seconds histogram
vllm:time_per_output_token_seconds_bucket{engine="0",le="0.01",model_name="m"} 40.0
vllm:time_per_output_token_seconds_bucket{engine="0",le="0.025",model_name="m"} 90.0
vllm:time_per_output_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 100.0
# TYPE vllm:inter_token_latency_seconds histogram
vllm:inter_token_latency_seconds_bucket{engine="0",le="0.01",model_name="m"} 40.0
vllm:inter_token_latency_seconds_bucket{engine="0",le="0.025",model_name="m"} 90.0
vllm:inter_token_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 100.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1e+06",model_name="m"} 7.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 7.0
vllm:request_prompt_tokens_bucket{engine="0",le="1.0",model_name="m"} 2.0
)";

TEST(ParseVllmPage, LatencyHistogramsSumOverEnginesAndTpotIsNotCountedTwice) {
  const ServingSample s = ParseVllmPage(kLatencyPage, 0);
  EXPECT_EQ(s.bad_lines, 0);
  EXPECT_EQ(s.ttft.upper_bounds, (std::vector<double>{0.1, 0.5, 1.0}));
  EXPECT_EQ(s.ttft.cumulative, (std::vector<double>{4, 10, 13}));
  EXPECT_DOUBLE_EQ(s.ttft.count, 15);
  EXPECT_EQ(s.tpot.cumulative, (std::vector<double>{40, 90}));
  EXPECT_DOUBLE_EQ(s.tpot.count, 100);
  EXPECT_EQ(s.e2e.upper_bounds, (std::vector<double>{1e6}));  // "1e+06", as prometheus_client prints it
  EXPECT_DOUBLE_EQ(s.e2e.count, 7);
  // vLLM >= 0.13: only the successor.
  const ServingSample itl = ParseVllmPage(
      "vllm:inter_token_latency_seconds_bucket{le=\"0.05\"} 2\nvllm:inter_token_latency_seconds_bucket{le=\"+Inf\"} 3\n", 0);
  EXPECT_EQ(itl.tpot.cumulative, (std::vector<double>{2}));
  EXPECT_DOUBLE_EQ(itl.tpot.count, 3);
  EXPECT_FALSE(itl.ttft.read());
  // A page without histograms reads none; a broken bound is skipped, not fatal.
  EXPECT_FALSE(ParseVllmPage(kV1Page, 0).ttft.read());
  const ServingSample bad = ParseVllmPage("vllm:time_to_first_token_seconds_bucket{le=\"soon\"} 2\n", 0);
  EXPECT_TRUE(bad.ttft.upper_bounds.empty());
}

// The worked numbers of the header: bounds 0.1, 0.5, 1; cumulative 50, 90, 99; 100 observations.
TEST(HistogramQuantile, InterpolatesInsideTheBucketAsHistogramQuantileDoes) {
  const model::LatencyHistogram h = Hist({0.1, 0.5, 1.0}, {50, 90, 99}, 100);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.9, h), 0.5);                    // rank 90: the top of (0.1, 0.5]
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.95, h), 0.5 + 0.5 * 5.0 / 9.0);  // rank 95: 5 of the 9 in (0.5, 1]
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, h), 0.1);                    // rank 50: the top of the first bucket
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.25, h), 0.05);                  // first bucket: from 0 to 0.1, 25 of 50
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.995, h), 1.0);                  // in +Inf: the highest finite bound
  EXPECT_DOUBLE_EQ(HistogramQuantile(1.0, h), 1.0);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.0, h), 0.0);                    // lower bound of the first non-empty bucket
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.0, Hist({0.1, 0.5}, {0, 4}, 4)), 0.1);
  EXPECT_TRUE(std::isnan(HistogramQuantile(1.5, h)));
  EXPECT_TRUE(std::isnan(HistogramQuantile(-0.1, h)));
  // No observation: unknown, not 0. Only a +Inf bucket: Prometheus needs two buckets.
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.99, Hist({0.1, 0.5}, {0, 0}, 0))));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.99, model::LatencyHistogram{})));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, Hist({}, {}, 10))));
  // Non-monotone buckets (extrapolated increases) are first made monotone: 5, 4 -> 5, 5.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, Hist({1, 2, 3}, {5, 4, 10}, 10)), 1.0);
}

TEST(HistogramIncrease, DifferenceOfFirstAndLastWithARestartBetween) {
  // Scrapes 1 -> 2: +30 requests; the engine restarts; 3 is its first page (5 requests), 4 adds 20.
  const model::LatencyHistogram a = Hist({0.1, 1}, {60, 90}, 100);
  const model::LatencyHistogram b = Hist({0.1, 1}, {80, 115}, 130);
  const model::LatencyHistogram c = Hist({0.1, 1}, {1, 4}, 5);
  const model::LatencyHistogram d = Hist({0.1, 1}, {11, 20}, 25);
  const model::LatencyHistogram up = HistogramIncrease({&a, &b, &c, &d});
  EXPECT_EQ(up.cumulative, (std::vector<double>{20 + 1 + 10, 25 + 4 + 16}));
  EXPECT_DOUBLE_EQ(up.count, 30 + 5 + 20);
  // A restart that shows only in one bucket (the count grew past its old value again) is still a restart.
  const model::LatencyHistogram e = Hist({0.1, 1}, {10, 140}, 140);
  const model::LatencyHistogram up2 = HistogramIncrease({&b, &e});
  EXPECT_EQ(up2.cumulative, (std::vector<double>{10, 140}));
  EXPECT_DOUBLE_EQ(up2.count, 140);
  // Nothing happened: an empty window, whose quantile is unknown.
  const model::LatencyHistogram still = HistogramIncrease({&a, &a, &a});
  EXPECT_DOUBLE_EQ(still.count, 0);
  EXPECT_TRUE(still.read());
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.99, still)));
  // Scrapes without the histogram are skipped.
  const model::LatencyHistogram none;
  EXPECT_DOUBLE_EQ(HistogramIncrease({&a, &none, &b}).count, 30);
  EXPECT_FALSE(HistogramIncrease({&none}).read());
}

TEST(AddHistogram, SameBoundsAddAndDifferentBoundsKeepWhatEachKnows) {
  model::LatencyHistogram x = Hist({0.1, 1}, {1, 2}, 3);
  AddHistogram(Hist({0.1, 1}, {4, 5}, 6), &x);
  EXPECT_EQ(x.cumulative, (std::vector<double>{5, 7}));
  EXPECT_DOUBLE_EQ(x.count, 9);
  // V0 (bounds 1, 2.5) with V1 (0.5, 1): at 0.5 only V1 knows; at 2.5 V1 knows its count <= 1.
  model::LatencyHistogram y = Hist({1, 2.5}, {2, 4}, 5);
  AddHistogram(Hist({0.5, 1}, {3, 6}, 8), &y);
  EXPECT_EQ(y.upper_bounds, (std::vector<double>{0.5, 1, 2.5}));
  EXPECT_EQ(y.cumulative, (std::vector<double>{3, 8, 10}));
  EXPECT_DOUBLE_EQ(y.count, 13);
  model::LatencyHistogram empty;
  AddHistogram(y, &empty);
  EXPECT_EQ(empty.cumulative, y.cumulative);
  AddHistogram(model::LatencyHistogram{}, &empty);
  EXPECT_DOUBLE_EQ(empty.count, 13);
}

ServingSample Scrape(std::int64_t t_ms, model::LatencyHistogram ttft) {
  ServingSample s;
  s.t_ms = t_ms;
  s.ttft = std::move(ttft);
  return s;
}

TEST(AccumulateServing, LatencyIsTheWindowsIncreaseSummedOverPodsThenTheQuantile) {
  // Pod a: 100 requests before the window; over it 50 more, all fast (<= 0.1 s), across a restart.
  const std::vector<ServingSample> a = {Scrape(0, Hist({0.1, 0.5, 1}, {90, 95, 100}, 100)),
                                        Scrape(30'000, Hist({0.1, 0.5, 1}, {120, 125, 130}, 130)),
                                        Scrape(60'000, Hist({0.1, 0.5, 1}, {20, 20, 20}, 20))};
  // Pod b: 50 slow requests over the window (0.5 to 1 s), 10 of them past 1 s.
  const std::vector<ServingSample> b = {Scrape(0, Hist({0.1, 0.5, 1}, {0, 0, 0}, 0)),
                                        Scrape(30'000, Hist({0.1, 0.5, 1}, {0, 0, 20}, 20)),
                                        Scrape(60'000, Hist({0.1, 0.5, 1}, {0, 0, 40}, 50))};
  model::ServingUsage w;
  AccumulateServing(a, &w);
  EXPECT_DOUBLE_EQ(w.latency_requests, 50);
  EXPECT_DOUBLE_EQ(w.ttft_p99_s, 0.1 * 49.5 / 50);  // pod a alone: every request in the first bucket
  AccumulateServing(b, &w);
  // Merged: cumulative 50, 50, 90 of 100. p50 -> rank 50 -> top of the first bucket; p99 -> rank 99 > 90: +Inf
  // bucket -> 1 s. A quantile of the pods' quantiles would be neither (pod b's p50 alone is 0.5 + 0.5 x 25/40).
  EXPECT_DOUBLE_EQ(w.latency_requests, 100);
  EXPECT_DOUBLE_EQ(w.ttft_p50_s, 0.1);
  EXPECT_DOUBLE_EQ(w.ttft_p99_s, 1.0);
  EXPECT_EQ(w.latency_basis, "increase over 3 scrapes");
  EXPECT_TRUE(std::isnan(w.tpot_p99_s)) << "not on the pages: unknown";
  EXPECT_TRUE(std::isnan(w.e2e_p50_s));
}

TEST(AccumulateServing, AnEmptyWindowIsUnknownAndOneScrapeCountsSinceStart) {
  const model::LatencyHistogram h = Hist({0.1, 0.5, 1}, {10, 30, 40}, 40);
  model::ServingUsage still;
  AccumulateServing({Scrape(0, h), Scrape(30'000, h)}, &still);
  EXPECT_DOUBLE_EQ(still.latency_requests, 0);
  EXPECT_TRUE(std::isnan(still.ttft_p50_s));
  EXPECT_TRUE(std::isnan(still.ttft_p99_s));
  EXPECT_EQ(still.latency_basis, "increase over 2 scrapes");
  model::ServingUsage once;
  AccumulateServing({Scrape(0, h)}, &once);
  EXPECT_EQ(once.latency_basis, "since start (one scrape)");
  EXPECT_DOUBLE_EQ(once.latency_requests, 40);
  EXPECT_DOUBLE_EQ(once.ttft_p50_s, 0.1 + 0.4 * 10 / 20);  // rank 20: 10 of the 20 in (0.1, 0.5]
  // Pages without histograms leave the latency unread.
  model::ServingUsage none;
  AccumulateServing({ServingSample{}}, &none);
  EXPECT_TRUE(none.latency_basis.empty());
  EXPECT_TRUE(std::isnan(none.ttft_p99_s));
  // MergeServing adds pods' histograms the same way (the Prometheus path), and names mixed bases.
  model::ServingUsage w;
  MergeServing(once, &w);
  MergeServing(still, &w);
  EXPECT_DOUBLE_EQ(w.ttft_p50_s, once.ttft_p50_s);
  EXPECT_EQ(w.latency_basis, "since start (one scrape); increase over 2 scrapes");
}

// A random histogram: ascending bounds (some <= 0 allowed), non-negative bucket counts, sometimes an empty +Inf.
RC_GTEST_PROP(HistogramQuantileProperty, MonotoneInQAndInsideTheBucketThatHoldsTheRank, ()) {
  const int n = *rc::gen::inRange(1, 12);
  model::LatencyHistogram h;
  double bound = *rc::gen::inRange(-2, 3) * 0.25;
  double cum = 0;
  for (int i = 0; i < n; ++i) {
    bound += *rc::gen::inRange(1, 1000) / 100.0;
    cum += *rc::gen::inRange(0, 50);
    h.upper_bounds.push_back(bound);
    h.cumulative.push_back(cum);
  }
  h.count = cum + *rc::gen::inRange(0, 5);
  const double q1 = *rc::gen::inRange(0, 1001) / 1000.0;
  const double q2 = *rc::gen::inRange(0, 1001) / 1000.0;
  const double v1 = HistogramQuantile(std::min(q1, q2), h);
  const double v2 = HistogramQuantile(std::max(q1, q2), h);
  if (h.count == 0) {
    RC_ASSERT(std::isnan(v1) && std::isnan(v2));
    return;
  }
  RC_ASSERT(!std::isnan(v1) && !std::isnan(v2));
  RC_ASSERT(v1 <= v2 + 1e-12);
  // Inside the bucket holding rank q x count: (previous bound, bound], the first from min(0, first bound).
  const double q = std::max(q1, q2);
  const double rank = q * h.count;
  std::size_t b = 0;
  while (b < h.cumulative.size() && h.cumulative[b] < rank) ++b;
  if (b == h.cumulative.size()) {
    RC_ASSERT(v2 == h.upper_bounds.back());
  } else if (q > 0) {
    const double lower = b > 0 ? h.upper_bounds[b - 1] : std::min(0.0, h.upper_bounds[0]);
    RC_ASSERT(v2 >= lower - 1e-9);
    RC_ASSERT(v2 <= h.upper_bounds[b] + 1e-9);
  }
  RC_ASSERT(v2 <= h.upper_bounds.back() + 1e-9);
  RC_ASSERT(v1 >= std::min(0.0, h.upper_bounds.front()) - 1e-9);
}

// ---- the Prometheus path, against the fake Prometheus

using fakes::FakePrometheus;

constexpr std::int64_t kT0 = 1'794'787'200'000;  // ms
constexpr std::int64_t kEvery = 60'000;
constexpr int kScrapes = 11;                     // t0 .. t0 + 10 min

// Pod (ns, pod)'s TTFT series: per bound, cumulative counts that grow linearly by `per_step[i]` a scrape (from a
// large base, so Prometheus's extrapolation never clamps at zero and scales every bucket alike).
void AddTtft(FakePrometheus& fake, const std::string& ns, const std::string& pod, const std::vector<std::string>& les,
             const std::vector<double>& per_step) {
  for (std::size_t i = 0; i < les.size(); ++i) {
    std::vector<std::int64_t> ts;
    std::vector<double> vs;
    for (int k = 0; k < kScrapes; ++k) {
      ts.push_back(kT0 + k * kEvery);
      vs.push_back(1000 + per_step[i] * k);
    }
    fake.AddSeries({{"__name__", "vllm:time_to_first_token_seconds_bucket"}, {"namespace", ns}, {"pod", pod},
                    {"instance", pod + ":8000"}, {"engine", "0"}, {"model_name", "m"}, {"le", les[i]}},
                   ts, vs);
  }
}

struct HistoryRun {
  ServingTotals totals;
  std::vector<std::string> warnings;
  std::vector<std::string> bucket_queries;
};

HistoryRun History(FakePrometheus::Options fo, const std::vector<std::string>& namespaces) {
  HistoryRun run;
  auto fake = FakePrometheus::Start(fo);
  EXPECT_TRUE(fake.ok()) << fake.status().ToString();
  if (!fake.ok()) return run;
  // Two replicas of one workload in "chat" with buckets 0.1, 0.5, 1, +Inf: pod 0 is fast, pod 1 slow. Three more
  // pods in other namespaces so that sharding has something to split.
  const std::vector<std::string> les = {"0.1", "0.5", "1.0", "+Inf"};
  AddTtft(**fake, "chat", "llm-0", les, {11, 11, 11, 11});
  AddTtft(**fake, "chat", "llm-1", les, {0, 0, 9, 10});
  AddTtft(**fake, "search", "emb-0", les, {1, 2, 3, 4});
  AddTtft(**fake, "ads", "ads-0", les, {1, 1, 1, 1});
  AddTtft(**fake, "unknown", "x-0", les, {1, 1, 1, 1});
  prom::PromClientOptions o;
  o.base_url = (*fake)->url();
  o.concurrency = 2;
  o.max_retries = 0;
  prom::PromClient client(o, base::SystemClock::Get());
  std::map<std::string, std::pair<std::string, std::string>> by_address;
  for (std::size_t i = 0; i < namespaces.size(); ++i) by_address["10.0.0." + std::to_string(i)] = {namespaces[i], "p"};
  int unmatched = 0;
  const std::int64_t end_s = (kT0 + (kScrapes - 1) * kEvery) / 1000;
  auto totals = ReadServingHistory(client, end_s - 600, end_s, by_address, &unmatched, &run.warnings);
  EXPECT_TRUE(totals.ok()) << totals.status().ToString();
  if (totals.ok()) run.totals = std::move(*totals);
  for (const fakes::RecordedRequest& r : (*fake)->Requests()) {
    const std::string q = r.Param("query");
    if (q.find("_bucket") != std::string::npos) run.bucket_queries.push_back(q);
  }
  return run;
}

void ExpectChatWorkload(const HistoryRun& run) {
  const auto a = run.totals.find({"chat", "llm-0"});
  const auto b = run.totals.find({"chat", "llm-1"});
  ASSERT_NE(a, run.totals.end());
  ASSERT_NE(b, run.totals.end());
  EXPECT_EQ(a->second.latency_basis, "increase over 10m (Prometheus)");
  model::ServingUsage w;
  MergeServing(a->second, &w);
  MergeServing(b->second, &w);
  // Over the window's 10 samples each bucket grew 10 steps: llm-0 110 requests <= 0.1 s; llm-1 90 in (0.5, 1] and 10
  // past 1 s. increase() extrapolates every series alike (same sample times), which scales the histogram and leaves
  // its quantiles alone. Merged cumulative 110, 110, 200 of 210: p50 -> rank 105 -> 0.1 x 105/110; p99 -> rank
  // 207.9 > 200 -> 1 s; p90 -> rank 189 -> 0.5 + 0.5 x 79/90.
  const double scale = w.latency_requests / 210.0;
  EXPECT_GE(scale, 1.0);
  EXPECT_LT(scale, 1.2) << "increase() extrapolates to the window's start, at most one interval";
  EXPECT_NEAR(w.ttft.cumulative[0], 110 * scale, 1e-6);
  EXPECT_NEAR(w.ttft.cumulative[2], 200 * scale, 1e-6);
  EXPECT_NEAR(w.ttft_p50_s, 0.1 * 105.0 / 110.0, 1e-6);
  EXPECT_NEAR(w.ttft_p99_s, 1.0, 1e-9);
  EXPECT_NEAR(HistogramQuantile(0.9, w.ttft), 0.5 + 0.5 * 79.0 / 90.0, 1e-6);
  EXPECT_TRUE(std::isnan(w.tpot_p99_s)) << "no TPOT series: unknown";
  // Each pod's histogram is its own: the slow pod's p50 is inside (0.5, 1].
  EXPECT_NEAR(b->second.ttft_p50_s, 0.5 + 0.5 * 50.0 / 90.0, 1e-6);
}

TEST(ReadServingHistory, OneBucketQueryPerHistogramAndTheWorkloadQuantileOverItsPodsBuckets) {
  const HistoryRun run = History({}, {"chat", "search", "ads"});
  ExpectChatWorkload(run);
  EXPECT_TRUE(run.warnings.empty());
  ASSERT_EQ(run.bucket_queries.size(), 4u) << "TTFT, TPOT, inter-token latency, end-to-end";
  std::vector<std::string> queries = run.bucket_queries;
  std::sort(queries.begin(), queries.end());
  EXPECT_EQ(queries[0],
            "sum by (namespace, pod, instance, le) (increase(vllm:e2e_request_latency_seconds_bucket[10m]))");
}

TEST(ReadServingHistory, TooManySamplesSplitsTheBucketQueryByNamespaceAndLosesNoPod) {
  FakePrometheus::Options fo;
  fo.sum_function_windows = true;     // charges a query for every series' window
  fo.max_samples = 4 * kScrapes * 3;  // three pods' four buckets fit; all five pods' do not
  const HistoryRun run = History(fo, {"chat", "search", "ads"});
  ExpectChatWorkload(run);
  EXPECT_TRUE(run.warnings.empty()) << run.warnings.front();
  // The pod of a namespace the cluster does not know comes through the catch-all shard.
  EXPECT_NE(run.totals.find({"unknown", "x-0"}), run.totals.end());
  EXPECT_NE(run.totals.find({"search", "emb-0"}), run.totals.end());
  bool negated = false;
  for (const std::string& q : run.bucket_queries) negated |= q.find("namespace!~") != std::string::npos;
  EXPECT_TRUE(negated);
  // A server that refuses even one namespace's buckets: a warning, the counters stand.
  fo.max_samples = 4 * kScrapes - 1;
  const HistoryRun refused = History(fo, {"chat", "search"});
  EXPECT_FALSE(refused.warnings.empty());
  EXPECT_NE(refused.warnings.front().find("vllm:time_to_first_token_seconds"), std::string::npos) << refused.warnings.front();
}

}  // namespace
}  // namespace gpuwise::observe
