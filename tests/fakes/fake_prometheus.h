// A loopback fake Prometheus HTTP API server for tests: serves query, query_range, series and labels
// from in-memory series and enforces a stock server's limits (11,000 points, max samples), with
// knobs for latency, timeouts, a concurrency limit (429), injected failures and HTML error pages.
//
// It evaluates only plain selectors `metric{a="v",b=~"re",c!="x",d!~"re"}`,
// max/min/avg/sum/count/last_over_time(sel[window]), quantile_over_time(q, sel[window]) and
// increase/rate(sel[window]) (Prometheus's extrapolation), optionally inside one aggregation
// count/sum/min/max/avg, with or without `by (...)` / `without (...)`.
// Lookback for plain selectors is 5 minutes; windows are left-open (t - window, t] like Prometheus 3.
// Functions drop __name__ except last_over_time (as Prometheus does); an aggregation keeps its group's labels.
// Regex matchers that are literal alternations ("A|B|C", as sharding writes them) are matched by set lookup.
// Series are stored (AddSeries) or procedural (AddProceduralSeries: computed on demand, for benchmarks
// whose history would not fit in memory).
// Listens on 127.0.0.1 with a port picked by the kernel. Every request is recorded (method, path,
// params, headers) for assertions, together with the peak number of requests in flight, and counted
// (Served: bytes before and after compression, time spent answering).
// Thread-safety: all methods may be called while the server is serving; queries are evaluated
// concurrently (series are read under a shared lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gpuwise::fakes {

using FakeLabels = std::vector<std::pair<std::string, std::string>>;

struct RecordedRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;   // query string and form body, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  int response_status = 0;
  // First value of a param or header (header name case-insensitive); "" when absent.
  std::string Param(const std::string& name) const;
  std::string Header(const std::string& name) const;
};

class FakePrometheus {
 public:
  struct Options {
    // Prometheus rejects query_range when (end - start) / step + 1 exceeds this.
    std::int64_t max_points_per_series = 11'000;
    // --query.max-samples, per query: series matched x points evaluated; and for a function of a range selector
    // (evaluated series by series, as Prometheus does), one series' window: 20 series of 100,000 samples pass a
    // limit of 500,000, one series of 100,000 fails 50,000 (both checked against Prometheus 2.42).
    std::int64_t max_samples = 50'000'000;
    // Count a function's windows summed over every series instead (as backends that charge a query for all the
    // samples it touches do): the case where a client must shard by series.
    bool sum_function_windows = false;
    // Requests in flight above this get 429 (0 = no limit).
    int max_concurrency = 0;
    // Sleep before answering; when query_timeout > 0 and latency exceeds it, answer 503 "timeout".
    std::chrono::milliseconds latency{0};
    std::chrono::milliseconds query_timeout{0};
    std::int64_t lookback_ms = 300'000;
  };

  // Binds 127.0.0.1:0 and starts serving on a background thread.
  static base::Result<std::unique_ptr<FakePrometheus>> Start(Options options);
  static base::Result<std::unique_ptr<FakePrometheus>> Start() { return Start(Options{}); }
  ~FakePrometheus();  // stops the server, waking any request sleeping in `latency`

  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"

  // labels must include __name__; timestamps need not be sorted (they are sorted here).
  void AddSeries(FakeLabels labels, std::vector<std::int64_t> timestamps_ms, std::vector<double> values);

  // A series computed on demand, for histories too large to store (a week of 10,000 GPUs at 30 s is
  // billions of samples). It has one sample at every multiple of interval_ms (Unix ms) inside each
  // `present` interval [from_ms, to_ms), valued
  //   value(t)                                      when `value` is set (NaN = no sample at t), else
  //   offset + scale * WaveLevel(t / interval_ms + phase)
  // The wave form answers every window function from prefix tables in O(log) per window, whatever its
  // length (a 7-day quantile_over_time costs the same as a 1-minute one); `value` is evaluated sample by
  // sample. Worked number: offset 0.2, scale 0.0005 gives a ratio in [0.2, 0.7]. Selection, the points and
  // samples limits, lookback, /api/v1/series and /api/v1/labels treat it exactly as a stored series.
  struct ProceduralSeries {
    FakeLabels labels;  // must include __name__
    std::int64_t interval_ms = 30'000;
    std::vector<std::pair<std::int64_t, std::int64_t>> present;  // [from_ms, to_ms); any order, may overlap
    double offset = 0;
    double scale = 1;  // may be negative (a decreasing function of the level) or 0 (a constant)
    std::int64_t phase = 0;
    std::function<double(std::int64_t t_ms)> value;
  };
  void AddProceduralSeries(ProceduralSeries series);
  void AddProceduralSeries(std::vector<ProceduralSeries> series);  // one lock for many
  std::size_t ProceduralSeriesCount() const;

  // The wave: a fixed table of integer levels 0..1000 with period kWavePeriod samples (a daily cycle at 30 s
  // plus deterministic noise); WaveLevel(k) for any k (negative too) is table[k mod kWavePeriod].
  static constexpr std::int64_t kWavePeriod = 2880;
  static int WaveLevel(std::int64_t k);

  // What the server has sent since Start or the last ClearRequests.
  struct ServedStats {
    std::int64_t requests = 0;
    std::int64_t body_bytes = 0;  // response bodies as built, before compression
    std::int64_t wire_bytes = 0;  // status line, headers and body as sent (gzip when the client accepts it)
    double busy_seconds = 0;      // summed over requests: from the handler's start to the response written
  };
  ServedStats Served() const;

  // The next n requests answer http_status with a Prometheus error body (and Retry-After if given).
  void InjectFailures(int n, int http_status = 503, std::optional<int> retry_after_seconds = std::nullopt);
  // Every request answers an nginx-style HTML page with this status (0 = off).
  void ServeHtml(int http_status);
  void SetLatency(std::chrono::milliseconds latency);

  std::vector<RecordedRequest> Requests() const;
  void ClearRequests();
  int MaxInFlight() const;

 private:
  struct Impl;
  FakePrometheus();
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuwise::fakes
