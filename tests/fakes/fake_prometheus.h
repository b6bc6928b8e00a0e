// A loopback fake Prometheus HTTP API server for tests: serves query, query_range, series and labels
// from in-memory series and enforces a stock server's limits (11,000 points, max samples), with
// knobs for latency, timeouts, a concurrency limit (429), injected failures and HTML error pages.
//
// It evaluates only plain selectors `metric{a="v",b=~"re",c!="x",d!~"re"}` and
// max_over_time / avg_over_time / count_over_time / quantile_over_time(q, sel[window]).
// Lookback for plain selectors is 5 minutes; windows are left-open (t - window, t] like Prometheus 3.
// Listens on 127.0.0.1 with a port picked by the kernel. Every request is recorded (method, path,
// params, headers) for assertions, together with the peak number of requests in flight.
// Thread-safety: all methods may be called while the server is serving.
#pragma once

#include <chrono>
#include <cstdint>
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
    // --query.max-samples: series matched x points evaluated, per query.
    std::int64_t max_samples = 50'000'000;
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
