// Prometheus HTTP API client (query, query_range, series, labels) that stays inside a stock server's limits.
//
// Limits of a stock Prometheus, and what the client does about them:
//   - 11,000 points per series per query_range: the range is split into end-inclusive chunks of at most
//     RangeLimits::max_points_per_series points; chunk k+1 starts at chunk k's end plus one step; results
//     are stitched per label set without duplicates.
//   - --query.max-samples (50,000,000): the client plans for max_samples (default half of that):
//     estimated_series * points_per_chunk <= max_samples. Time chunking comes first; only when one step
//     of all series already exceeds the limit must the caller provide shards (label matchers), and then
//     each shard is queried separately. A server "too many samples" answer halves the chunk and retries.
//   - 2 minute query timeout: requests time out client-side at 110 s by default.
// Errors: connection failures -> Unavailable naming the URL; timeouts -> DeadlineExceeded; 4xx carry
// Prometheus's own errorType and error text; 429/5xx/connection errors are retried with exponential
// backoff and jitter (Retry-After honoured) using the Clock, so tests with a FakeClock run instantly.
// Secrets (bearer token, basic-auth password) never appear in a Status message or a log line.
// Thread-safety: all methods may be called from many threads at once; at most Options::concurrency
// requests are in flight per client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "observe/prom/query_decoder.h"

namespace gpuwise::observe::prom {

// What a stock Prometheus enforces (and the share of it the client plans for).
struct RangeLimits {
  // Prometheus rejects query_range with more than 11,000 points per series.
  std::int64_t max_points_per_series = 11'000;
  // Samples one query may load; the server default --query.max-samples is 50,000,000, we plan for half.
  std::int64_t max_samples = 25'000'000;
};

struct PromClientOptions {
  // "http://prometheus:9090", or with a path prefix ("https://mimir/prometheus"). No trailing slash needed.
  std::string base_url;
  // Sent as "Authorization: Bearer <token>" when not empty. Never logged, never in a Status.
  std::string bearer_token;
  // HTTP basic auth when basic_auth_user is not empty. The password is never logged.
  std::string basic_auth_user;
  std::string basic_auth_password;
  // PEM file of CA certificates to trust instead of the system store; empty = system store.
  std::string ca_file;
  // TLS verification is on by default. true disables peer and host name checks (testing only).
  bool insecure_skip_verify = false;
  // Extra request headers, e.g. {"X-Scope-OrgID", "tenant-a"} for Mimir, Cortex or Thanos.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // Whole-request timeout. A stock server gives up at 2 min; we stop a little earlier.
  std::chrono::milliseconds request_timeout{110'000};
  std::chrono::milliseconds connect_timeout{10'000};
  // Larger (decompressed) bodies are refused with ResourceExhausted: 512 MiB.
  std::int64_t max_body_bytes = 512LL << 20;
  // Retries after the first attempt on 429, 5xx and connection errors (not on timeouts or 4xx).
  int max_retries = 4;
  // Backoff before retry n (0-based): min(initial * 2^n, max), then jitter to a uniform draw in [d/2, d].
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  // A server's Retry-After (seconds) is honoured up to this cap.
  std::chrono::milliseconds max_retry_after{60'000};
  // Requests in flight at once, per client.
  int concurrency = 4;
  RangeLimits limits;
  // Seed for the backoff jitter; 0 = from std::random_device.
  std::uint64_t jitter_seed = 0;
  std::string user_agent = "gpuwise/0.1";
};

// One end-inclusive piece of a range: points at start_ms, start_ms + step, ..., <= end_ms.
struct RangeChunk {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

struct RangePlan {
  // Points per series in each chunk: min(max_points_per_series, max_samples / series_per_shard).
  std::int64_t points_per_chunk = 0;
  std::vector<RangeChunk> chunks;
  // Shards needed so that one step of one shard fits: ceil(estimated_series / max_samples), >= 1.
  std::int64_t min_shards = 1;
};

// Plans the chunks of [start_ms, end_ms] at step_ms for `estimated_series` series (<= 0: unknown, plan
// on the points limit only) split over `shards` shards (>= 1). Worked number: 30 days at 15 s =
// 172,801 points; 1,000 series -> max_samples/1,000 = 25,000 > 11,000 -> 11,000 points per chunk,
// 16 chunks. 10,000 series -> 2,500 points per chunk, 70 chunks. 30,000,000 series -> min_shards 2.
// Errors: InvalidArgument on step <= 0 or end < start; ResourceExhausted when shards < min_shards.
base::Result<RangePlan> PlanRange(std::int64_t start_ms, std::int64_t end_ms, std::int64_t step_ms,
                                  std::int64_t estimated_series, std::int64_t shards, const RangeLimits& limits);

// Replaced in RangeQuery::promql by each shard's matchers, e.g. `DCGM_FI_DEV_GPU_UTIL{namespace="a",{{shard}}}`.
inline constexpr std::string_view kShardPlaceholder = "{{shard}}";

struct RangeQuery {
  std::string promql;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::chrono::milliseconds step{15'000};
  // How many series the query returns (e.g. from a count() query); <= 0 = unknown.
  std::int64_t estimated_series = 0;
  // Label matchers substituted for kShardPlaceholder, one query per shard; empty = no sharding.
  std::vector<std::string> shards;
};

struct MatrixResult {
  Matrix matrix;  // sorted by labels
  std::vector<std::string> warnings;
  int requests = 0;  // HTTP requests made, retries included
};

class PromClient {
 public:
  // The clock is used for backoff sleeps only; it must outlive the client.
  PromClient(PromClientOptions options, base::Clock& clock);
  ~PromClient();
  PromClient(const PromClient&) = delete;
  PromClient& operator=(const PromClient&) = delete;

  // Instant query at time_ms (Unix ms).
  base::Result<QueryResponse> Query(std::string_view promql, std::int64_t time_ms);
  // Range query, chunked to the points limit; the result is stitched per series.
  base::Result<MatrixResult> QueryRange(std::string_view promql, std::int64_t start_ms, std::int64_t end_ms,
                                        std::chrono::milliseconds step);
  // Range query with a series estimate and optional shards; see the limits at the top of this file.
  base::Result<MatrixResult> QueryRange(const RangeQuery& query);
  // /api/v1/series for match[] selectors over [start_ms, end_ms].
  base::Result<SeriesResponse> Series(const std::vector<std::string>& matchers, std::int64_t start_ms,
                                      std::int64_t end_ms);
  // /api/v1/labels; optional match[] selectors and time bounds.
  base::Result<LabelsResponse> Labels(const std::vector<std::string>& matchers = {},
                                      std::optional<std::int64_t> start_ms = std::nullopt,
                                      std::optional<std::int64_t> end_ms = std::nullopt);

  const PromClientOptions& options() const { return options_; }

 private:
  struct Impl;
  PromClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// ---- PromQL builders ----

// Prometheus duration text for whole milliseconds using the largest exact unit: 300000 -> "5m",
// 90000 -> "90s", 1500 -> "1500ms".
std::string FormatPromDuration(std::chrono::milliseconds d);
// `name{m1,m2}` from a metric name and matcher texts such as `gpu="0"`; either part may be empty.
std::string BuildSelector(std::string_view metric, const std::vector<std::string>& matchers);
// `label="value"` with the value quoted and escaped for PromQL.
std::string EqualMatcher(std::string_view label, std::string_view value);
// Splits values into at most shard_count regex matchers `label=~"v1|v2"` (values regex-escaped),
// keeping the order of values; one matcher per group.
std::vector<std::string> RegexShards(std::string_view label, const std::vector<std::string>& values,
                                     std::size_t shard_count);
// Pushed-down window functions, evaluated by Prometheus: quantile_over_time(0.95, sel[5m]) etc.
std::string QuantileOverTime(double q, std::string_view selector, std::chrono::milliseconds window);
std::string MaxOverTime(std::string_view selector, std::chrono::milliseconds window);
std::string AvgOverTime(std::string_view selector, std::chrono::milliseconds window);
std::string CountOverTime(std::string_view selector, std::chrono::milliseconds window);

// ---- Gaps ----

// Prometheus repeats a series' last value for up to 5 minutes (lookback) across a gap. The presence
// query `count_over_time(<selector>[<scrape_interval>])`, run over the same range and step, has a
// point (> 0) only at steps with a real sample in the preceding scrape interval.
std::string PresenceQuery(std::string_view selector, std::chrono::milliseconds scrape_interval);
// Whether a Status is the server's "too many samples" answer (query.max-samples exceeded).
bool IsTooManySamples(const base::Status& s);
// Keeps only the raw points whose step has presence > 0 (presence series are matched by label set
// ignoring __name__, which count_over_time drops). Points with no presence become missing; series
// left with no point are removed. Returns how many points were dropped in *dropped (optional).
Matrix DropStalePoints(const Matrix& raw, const Matrix& presence, std::int64_t* dropped = nullptr);

// Merges chunk results in order into one matrix sorted by labels: same label set -> one series,
// timestamps strictly increasing, duplicates (same timestamp) keep the first value seen.
Matrix StitchMatrices(std::vector<Matrix> parts);

}  // namespace gpuwise::observe::prom
