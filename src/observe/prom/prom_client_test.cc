// Tests for the Prometheus API client against the loopback fake: limits, retries, errors, secrets, gaps.
#include "observe/prom/prom_client.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "base/clock.h"
#include "fakes/fake_prometheus.h"

namespace gpuwise::observe::prom {
namespace {

using fakes::FakePrometheus;
using namespace std::chrono_literals;

constexpr std::int64_t kStart = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;
constexpr char kToken[] = "tok-3f9a1c7e5b2d4a6f8e0c";

std::unique_ptr<FakePrometheus> StartFake(FakePrometheus::Options o = {}) {
  auto r = FakePrometheus::Start(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

PromClientOptions BaseOptions(const FakePrometheus& fake) {
  PromClientOptions o;
  o.base_url = fake.url();
  o.jitter_seed = 42;
  o.request_timeout = 10s;
  return o;
}

// A gpu series with one sample per step: value = index (exactly representable).
void AddGpuSeries(FakePrometheus& fake, const std::string& gpu, std::int64_t points, std::int64_t start = kStart,
                  double offset = 0) {
  std::vector<std::int64_t> ts(static_cast<std::size_t>(points));
  std::vector<double> vs(static_cast<std::size_t>(points));
  for (std::int64_t i = 0; i < points; ++i) {
    ts[static_cast<std::size_t>(i)] = start + i * kStep;
    vs[static_cast<std::size_t>(i)] = offset + static_cast<double>(i);
  }
  fake.AddSeries({{"__name__", "DCGM_FI_DEV_GPU_UTIL"}, {"gpu", gpu}, {"Hostname", "node-1"}}, std::move(ts),
                 std::move(vs));
}

std::int64_t PointsOf(const fakes::RecordedRequest& r) {
  double start = std::stod(r.Param("start")), end = std::stod(r.Param("end")), step = std::stod(r.Param("step"));
  return static_cast<std::int64_t>((end - start) / step + 1e-9) + 1;
}

TEST(PlanRangeTest, WorkedNumbers) {
  RangeLimits limits;
  const std::int64_t end = kStart + 172'799 * kStep;  // 30 days at 15 s: 172,800 points
  auto p = PlanRange(kStart, end, kStep, 1'000, 1, limits);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->points_per_chunk, 11'000);
  EXPECT_EQ(p->chunks.size(), 16u);
  EXPECT_EQ(p->chunks.front().start_ms, kStart);
  EXPECT_EQ(p->chunks.back().end_ms, end);
  for (std::size_t i = 1; i < p->chunks.size(); ++i) {
    EXPECT_EQ(p->chunks[i].start_ms, p->chunks[i - 1].end_ms + kStep);
  }
  auto q = PlanRange(kStart, end, kStep, 10'000, 1, limits);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->points_per_chunk, 2'500);
  EXPECT_EQ(q->chunks.size(), 70u);  // ceil(172800 / 2500)
  auto too_many = PlanRange(kStart, end, kStep, 30'000'000, 1, limits);
  EXPECT_EQ(too_many.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(too_many.status().message().find("at least 2 shards"), std::string::npos);
  auto sharded = PlanRange(kStart, end, kStep, 30'000'000, 2, limits);
  ASSERT_TRUE(sharded.ok());
  EXPECT_EQ(sharded->min_shards, 2);
  EXPECT_EQ(sharded->points_per_chunk, 1);
  EXPECT_FALSE(PlanRange(kStart, end, 0, 1, 1, limits).ok());
  EXPECT_FALSE(PlanRange(end, kStart, kStep, 1, 1, limits).ok());
  auto single = PlanRange(kStart, kStart, kStep, 0, 1, limits);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->chunks.size(), 1u);
}

TEST(PromClientTest, ChunksThirtyDaysAndStitchesExactly) {
  auto fake = StartFake();
  const std::int64_t points = 172'800;
  AddGpuSeries(*fake, "0", points);
  AddGpuSeries(*fake, "1", points, kStart, 0.5);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  const std::int64_t end = kStart + (points - 1) * kStep;
  auto r = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, end, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = fake->Requests();
  ASSERT_EQ(reqs.size(), 16u);
  std::int64_t total = 0;
  for (const auto& q : reqs) {
    EXPECT_EQ(q.path, "/api/v1/query_range");
    EXPECT_EQ(q.response_status, 200);
    EXPECT_LE(PointsOf(q), 11'000);
    total += PointsOf(q);
  }
  EXPECT_EQ(total, points);  // chunks cover the range once
  ASSERT_EQ(r->matrix.size(), 2u);
  for (std::size_t s = 0; s < 2; ++s) {
    const Series& series = r->matrix[s];
    ASSERT_EQ(series.timestamps_ms.size(), static_cast<std::size_t>(points));
    ASSERT_EQ(series.values.size(), static_cast<std::size_t>(points));
    bool exact = true;
    for (std::int64_t i = 0; i < points && exact; ++i) {
      exact = series.timestamps_ms[static_cast<std::size_t>(i)] == kStart + i * kStep &&
              series.values[static_cast<std::size_t>(i)] == static_cast<double>(i) + (s == 0 ? 0 : 0.5);
    }
    EXPECT_TRUE(exact) << "series " << s;
  }
  EXPECT_EQ(r->matrix[0].labels, (Labels{{"Hostname", "node-1"}, {"__name__", "DCGM_FI_DEV_GPU_UTIL"}, {"gpu", "0"}}));
}

TEST(PromClientTest, MaxSamplesChunksThenShards) {
  FakePrometheus::Options fo;
  fo.max_samples = 20;
  auto fake = StartFake(fo);
  std::vector<std::string> gpus;
  for (int g = 0; g < 32; ++g) {
    gpus.push_back(std::to_string(g));
    AddGpuSeries(*fake, gpus.back(), 10, kStart, g * 100.0);
  }
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.limits.max_samples = 20;
  PromClient client(o, clock);
  RangeQuery q;
  q.promql = "DCGM_FI_DEV_GPU_UTIL{Hostname=\"node-1\",{{shard}}}";
  q.start_ms = kStart;
  q.end_ms = kStart + 9 * kStep;
  q.step = std::chrono::milliseconds(kStep);
  q.estimated_series = 32;
  // One step of 32 series already exceeds 20 samples: the client refuses to send anything.
  auto refused = client.QueryRange(q);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::Code::kResourceExhausted);
  EXPECT_TRUE(fake->Requests().empty());

  q.shards = RegexShards("gpu", gpus, 4);  // 8 series per shard -> 2 points per chunk
  ASSERT_EQ(q.shards.size(), 4u);
  auto r = client.QueryRange(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = fake->Requests();
  EXPECT_EQ(reqs.size(), 20u);  // 4 shards x 5 chunks
  for (const auto& req : reqs) {
    EXPECT_EQ(req.response_status, 200) << req.Param("query");
    EXPECT_LE(PointsOf(req) * 8, 20);
  }
  ASSERT_EQ(r->matrix.size(), 32u);
  for (const Series& s : r->matrix) {
    ASSERT_EQ(s.values.size(), 10u);
    std::string gpu;
    for (const auto& [k, v] : s.labels) {
      if (k == "gpu") gpu = v;
    }
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(s.values[i], std::stod(gpu) * 100.0 + static_cast<double>(i));
  }
}

TEST(PromClientTest, ServerTooManySamplesHalvesTheChunk) {
  FakePrometheus::Options fo;
  fo.max_samples = 50;
  auto fake = StartFake(fo);
  for (int g = 0; g < 10; ++g) AddGpuSeries(*fake, std::to_string(g), 20);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  // No estimate: the first request (10 x 20 = 200 samples) is refused with 422; halves until it fits.
  auto r = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, kStart + 19 * kStep, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrix.size(), 10u);
  for (const Series& s : r->matrix) EXPECT_EQ(s.values.size(), 20u);
  int refused = 0;
  for (const auto& req : fake->Requests()) refused += req.response_status == 422;
  EXPECT_GE(refused, 1);
}

TEST(PromClientTest, RetriesOn503ThenSucceedsInstantlyWithFakeClock) {
  auto fake = StartFake();
  AddGpuSeries(*fake, "0", 4);
  fake->InjectFailures(3, 503);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  auto r = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, kStart + 3 * kStep, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requests, 4);
  EXPECT_EQ(fake->Requests().size(), 4u);
  // Backoff slept 0.5 s, 1 s, 2 s (each jittered into [d/2, d]) on the fake clock.
  EXPECT_GE(clock.MonotonicNanos(), 1'750'000'000);
  EXPECT_LE(clock.MonotonicNanos(), 3'500'000'000);
}

TEST(PromClientTest, RetriesOn429HonouringRetryAfter) {
  auto fake = StartFake();
  AddGpuSeries(*fake, "0", 4);
  fake->InjectFailures(2, 429, 7);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  auto r = client.Query("DCGM_FI_DEV_GPU_UTIL", kStart + kStep);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_EQ(r->vector[0].value, 1.0);
  EXPECT_EQ(clock.MonotonicNanos(), 14'000'000'000);
}

TEST(PromClientTest, GivesUpAfterMaxRetries) {
  auto fake = StartFake();
  fake->InjectFailures(100, 503);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.max_retries = 2;
  PromClient client(o, clock);
  auto r = client.Query("up", kStart);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("giving up after 3 attempts"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("injected failure 503"), std::string::npos);
  EXPECT_NE(r.status().message().find("HTTP 503"), std::string::npos);
  EXPECT_EQ(fake->Requests().size(), 3u);
}

TEST(PromClientTest, PrometheusErrorTextSurfaces) {
  FakePrometheus::Options fo;
  fo.max_samples = 0;
  auto fake = StartFake(fo);
  AddGpuSeries(*fake, "0", 4);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.limits.max_points_per_series = 100'000;  // pretend the server allows more: it does not
  PromClient client(o, clock);

  auto bad = client.Query("sum(rate(x[5m]", kStart);  // the fake rejects it as a parse error (400)
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("HTTP 400"), std::string::npos) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("bad_data"), std::string::npos);
  EXPECT_NE(bad.status().message().find("sum(rate(x[5m]"), std::string::npos);

  auto samples = client.Query("DCGM_FI_DEV_GPU_UTIL", kStart);
  ASSERT_FALSE(samples.ok());
  EXPECT_EQ(samples.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(samples.status().message().find("HTTP 422"), std::string::npos);
  EXPECT_NE(samples.status().message().find("query processing would load too many samples into memory"),
            std::string::npos);

  auto res = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, kStart + 20'000 * kStep, std::chrono::milliseconds(kStep));
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("exceeded maximum resolution of 11,000 points per timeseries"),
            std::string::npos)
      << res.status().ToString();
}

TEST(PromClientTest, HtmlErrorPageIsClear) {
  auto fake = StartFake();
  fake->ServeHtml(502);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.max_retries = 1;
  PromClient client(o, clock);
  auto r = client.Query("up", kStart);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("HTTP 502"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("<title>502 Bad Gateway</title>"), std::string::npos);

  fake->ServeHtml(200);  // a proxy answering 200 with a login page
  auto page = client.Query("up", kStart);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(page.status().message().find("expected a Prometheus API JSON response, got: \"<html>"), std::string::npos)
      << page.status().ToString();
}

TEST(PromClientTest, ConnectionRefusedIsUnavailableNamingTheUrl) {
  std::string url;
  {
    auto fake = StartFake();
    url = fake->url();
  }  // nothing listens there any more
  base::FakeClock clock;
  PromClientOptions o;
  o.base_url = url + "/";
  o.max_retries = 2;
  o.bearer_token = kToken;
  PromClient client(o, clock);
  auto r = client.Query("up", kStart);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_NE(r.status().message().find(url + "/api/v1/query"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("giving up after 3 attempts"), std::string::npos);
  EXPECT_GT(clock.MonotonicNanos(), 0);  // backed off on the fake clock
}

TEST(PromClientTest, TimeoutIsDeadlineExceededWithoutRetry) {
  FakePrometheus::Options fo;
  fo.latency = 5s;
  auto fake = StartFake(fo);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.request_timeout = 200ms;
  PromClient client(o, clock);
  auto r = client.Query("up", kStart);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos);
  EXPECT_EQ(fake->Requests().size(), 1u);
}

TEST(PromClientTest, ServerSideTimeoutIsDeadlineExceeded) {
  FakePrometheus::Options fo;
  fo.latency = 2s;
  fo.query_timeout = 10ms;
  auto fake = StartFake(fo);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.max_retries = 1;
  PromClient client(o, clock);
  auto r = client.Query("up", kStart);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("query timed out in expression evaluation"), std::string::npos);
}

TEST(PromClientTest, ConcurrencyNeverExceedsTheLimit) {
  FakePrometheus::Options fo;
  fo.latency = 20ms;
  fo.max_concurrency = 3;  // the fake would answer 429 past 3
  auto fake = StartFake(fo);
  AddGpuSeries(*fake, "0", 300);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.concurrency = 3;
  o.limits.max_points_per_series = 10;  // 30 chunks
  PromClient client(o, clock);
  auto r = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, kStart + 299 * kStep, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(fake->Requests().size(), 30u);
  for (const auto& req : fake->Requests()) EXPECT_EQ(req.response_status, 200);
  EXPECT_LE(fake->MaxInFlight(), 3);
  EXPECT_GE(fake->MaxInFlight(), 2);  // it did run in parallel
  ASSERT_EQ(r->matrix.size(), 1u);
  EXPECT_EQ(r->matrix[0].values.size(), 300u);
}

TEST(PromClientTest, ServerConcurrencyLimit429IsRetried) {
  FakePrometheus::Options fo;
  fo.latency = 10ms;
  fo.max_concurrency = 1;
  auto fake = StartFake(fo);
  AddGpuSeries(*fake, "0", 40);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.concurrency = 4;
  o.max_retries = 200;
  o.limits.max_points_per_series = 5;  // 8 chunks
  PromClient client(o, clock);
  auto r = client.QueryRange("DCGM_FI_DEV_GPU_UTIL", kStart, kStart + 39 * kStep, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrix.size(), 1u);
  EXPECT_EQ(r->matrix[0].values.size(), 40u);
}

TEST(PromClientTest, SendsBearerTokenCustomHeadersAndForm) {
  auto fake = StartFake();
  AddGpuSeries(*fake, "0", 4);
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.bearer_token = kToken;
  o.extra_headers = {{"X-Scope-OrgID", "tenant-a"}};
  PromClient client(o, clock);
  ASSERT_TRUE(client.Query("DCGM_FI_DEV_GPU_UTIL{gpu=~\"0|1\"}", kStart).ok());
  auto reqs = fake->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].Header("Authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(reqs[0].Header("X-Scope-OrgID"), "tenant-a");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(reqs[0].Param("query"), "DCGM_FI_DEV_GPU_UTIL{gpu=~\"0|1\"}");
  EXPECT_EQ(reqs[0].Param("time"), "1700000000");
  // The server is asked to stop evaluating 5 s before the client's own timeout (10 s in these tests).
  EXPECT_EQ(reqs[0].Param("timeout"), "5s");
}

TEST(PromClientTest, BasicAuthIsSent) {
  auto fake = StartFake();
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.basic_auth_user = "alice";
  o.basic_auth_password = "pw";
  PromClient client(o, clock);
  ASSERT_TRUE(client.Labels().ok());
  EXPECT_EQ(fake->Requests().at(0).Header("Authorization"), "Basic YWxpY2U6cHc=");
}

TEST(PromClientTest, SecretsNeverAppearInStatusMessages) {
  auto fake = StartFake();
  base::FakeClock clock;
  PromClientOptions o = BaseOptions(*fake);
  o.bearer_token = kToken;
  o.basic_auth_user = "bob";
  o.basic_auth_password = "hunter2-password";
  o.max_retries = 1;
  // Credentials in the URL are stripped from messages too.
  o.base_url = "http://bob:url-secret-pw@127.0.0.1:" + std::to_string(fake->port());
  PromClient client(o, clock);
  std::vector<base::Status> errors;
  fake->InjectFailures(10, 503);
  errors.push_back(client.Query("up", kStart).status());
  fake->InjectFailures(0);
  fake->ServeHtml(401);
  errors.push_back(client.Query("up", kStart).status());
  fake->ServeHtml(0);
  errors.push_back(client.Query("bad(", kStart).status());
  errors.push_back(client.Series({"bad{"}, kStart, kStart).status());
  for (const base::Status& s : errors) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.ToString().find(kToken), std::string::npos) << s.ToString();
    EXPECT_EQ(s.ToString().find("hunter2"), std::string::npos) << s.ToString();
    EXPECT_EQ(s.ToString().find("url-secret-pw"), std::string::npos) << s.ToString();
  }
  EXPECT_EQ(errors[1].code(), base::Code::kPermissionDenied);
}

TEST(PromClientTest, GapsBecomeMissingNotRepeated) {
  auto fake = StartFake();
  // 40 scrapes every 15 s with a 3-minute hole (scrapes 10..21 missing).
  std::vector<std::int64_t> ts;
  std::vector<double> vs;
  for (int i = 0; i < 40; ++i) {
    if (i >= 10 && i < 22) continue;
    ts.push_back(kStart + i * kStep);
    vs.push_back(i);
  }
  fake->AddSeries({{"__name__", "DCGM_FI_DEV_GPU_UTIL"}, {"gpu", "0"}}, ts, vs);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  const std::string sel = BuildSelector("DCGM_FI_DEV_GPU_UTIL", {EqualMatcher("gpu", "0")});
  const std::int64_t end = kStart + 39 * kStep;
  auto raw = client.QueryRange(sel, kStart, end, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  ASSERT_EQ(raw->matrix.size(), 1u);
  EXPECT_EQ(raw->matrix[0].values.size(), 40u);  // lookback repeated value 9 across the hole
  EXPECT_EQ(PresenceQuery(sel, 15s), "count_over_time(DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"}[15s])");
  auto presence = client.QueryRange(PresenceQuery(sel, 15s), kStart, end, std::chrono::milliseconds(kStep));
  ASSERT_TRUE(presence.ok()) << presence.status().ToString();
  std::int64_t dropped = 0;
  Matrix clean = DropStalePoints(raw->matrix, presence->matrix, &dropped);
  EXPECT_EQ(dropped, 12);
  ASSERT_EQ(clean.size(), 1u);
  EXPECT_EQ(clean[0].timestamps_ms, ts);
  EXPECT_EQ(clean[0].values, vs);
  EXPECT_EQ(clean[0].labels, raw->matrix[0].labels);
}

TEST(PromClientTest, WindowQueriesAtAnInstant) {
  auto fake = StartFake();
  AddGpuSeries(*fake, "0", 20);  // values 0..19
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  const std::int64_t t = kStart + 19 * kStep;
  auto max = client.Query(MaxOverTime("DCGM_FI_DEV_GPU_UTIL", 300s), t);
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  ASSERT_EQ(max->vector.size(), 1u);
  EXPECT_EQ(max->vector[0].value, 19.0);
  EXPECT_EQ(max->vector[0].labels, (Labels{{"Hostname", "node-1"}, {"gpu", "0"}}));  // __name__ dropped
  auto count = client.Query(CountOverTime("DCGM_FI_DEV_GPU_UTIL", 60s), t);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->vector.at(0).value, 4.0);  // (t-60s, t]
  auto avg = client.Query(AvgOverTime("DCGM_FI_DEV_GPU_UTIL", 60s), t);
  ASSERT_TRUE(avg.ok());
  EXPECT_EQ(avg->vector.at(0).value, 17.5);
  auto q = client.Query(QuantileOverTime(0.5, "DCGM_FI_DEV_GPU_UTIL", 60s), t);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->vector.at(0).value, 17.5);
}

TEST(PromClientTest, SeriesAndLabels) {
  auto fake = StartFake();
  AddGpuSeries(*fake, "0", 4);
  AddGpuSeries(*fake, "1", 4);
  base::FakeClock clock;
  PromClient client(BaseOptions(*fake), clock);
  auto s = client.Series({"DCGM_FI_DEV_GPU_UTIL{gpu=\"1\"}"}, kStart, kStart + 3 * kStep);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->series.size(), 1u);
  EXPECT_EQ(s->series[0], (Labels{{"Hostname", "node-1"}, {"__name__", "DCGM_FI_DEV_GPU_UTIL"}, {"gpu", "1"}}));
  auto l = client.Labels();
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->names, (std::vector<std::string>{"Hostname", "__name__", "gpu"}));
  EXPECT_FALSE(client.Series({}, kStart, kStart).ok());
}

TEST(PromQlBuildersTest, Text) {
  EXPECT_EQ(FormatPromDuration(300s), "5m");
  EXPECT_EQ(FormatPromDuration(90s), "90s");
  EXPECT_EQ(FormatPromDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatPromDuration(2h), "2h");
  EXPECT_EQ(QuantileOverTime(0.95, "x{a=\"b\"}", 5min), "quantile_over_time(0.95, x{a=\"b\"}[5m])");
  EXPECT_EQ(MaxOverTime("x", 1min), "max_over_time(x[1m])");
  EXPECT_EQ(AvgOverTime("x", 1min), "avg_over_time(x[1m])");
  EXPECT_EQ(EqualMatcher("pod", "a\"b\\c"), "pod=\"a\\\"b\\\\c\"");
  EXPECT_EQ(BuildSelector("", {"a=\"1\"", "b=\"2\""}), "{a=\"1\",b=\"2\"}");
  auto shards = RegexShards("Hostname", {"a.b", "c", "d"}, 2);
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[0], "Hostname=~\"a\\\\.b|c\"");
  EXPECT_EQ(shards[1], "Hostname=~\"d\"");
}

TEST(StitchTest, OverlapsAreDeduplicatedAndSorted) {
  Matrix a = {Series{{{"a", "1"}}, {1, 2, 3}, {10, 20, 30}}, Series{{{"a", "0"}}, {5}, {50}}};
  Matrix b = {Series{{{"a", "1"}}, {3, 4}, {99, 40}}};
  std::vector<Matrix> parts;
  parts.push_back(a);
  parts.push_back(b);
  Matrix m = StitchMatrices(std::move(parts));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels, (Labels{{"a", "0"}}));
  EXPECT_EQ(m[1].timestamps_ms, (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(m[1].values, (std::vector<double>{10, 20, 30, 40}));
}

}  // namespace
}  // namespace gpuwise::observe::prom
