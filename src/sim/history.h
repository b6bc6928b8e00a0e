// History mode: past telemetry of the simulated cluster as OpenMetrics text with timestamps, one file per 2-hour
// window, ready for `promtool tsdb create-blocks-from openmetrics`. It scrapes every pod's endpoint (dcgm-exporter,
// vLLM, kube-state-metrics; sim/endpoints.h) at each scrape time as Prometheus would with a static scrape config:
// target labels job="<EndpointJob>" and instance="<ip>:<port>" are added (a page's own job / instance labels
// become exported_job / exported_instance, labels with empty values are dropped, labels are sorted by name) and
// up{job,instance} is 1, or 0 for a pod that is alive but does not answer. Pods come and go with their lifetimes.
//
// Output per window: every sample name is its own gauge family ("# TYPE vllm:prompt_tokens_total gauge",
// "# TYPE ..._bucket gauge"), which promtool accepts for any name; families in first-seen order, series in
// first-seen order, points in time order, "name{labels} value timestamp" with the timestamp in Unix seconds
// (whole milliseconds, written so that both Prometheus's truncating parser and a rounding one read back the same
// millisecond) and the value in the shortest form that reads back to the same double (integers without an
// exponent). Ends with "# EOF". Windows are aligned to multiples of window_s in Unix time, as Prometheus's 2 h
// blocks are; the first and last windows may be partial.
//
// Deterministic: the same world and options give the same bytes. Memory: one window's points (8 bytes each) plus
// every series' label block. Thread-safety: WriteHistory reads the World only; one call per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "sim/world.h"

namespace gpuwise::sim {

struct HistoryOptions {
  // Simulated seconds (World time): scrapes at start_s, start_s + scrape_interval_s, ... while < end_s.
  double start_s = 0;
  double end_s = 0;
  // Between scrapes; scrape times are rounded to whole milliseconds. The simulator moves in 15 s steps, so a
  // scrape between steps sees the step that ends at or after it.
  double scrape_interval_s = 15;
  // One output file per window; 7200 matches promtool's default --max-block-duration (2h).
  double window_s = 7200;
  // Where traffic traces are read from (SimulatorOptions::data_dir; empty = its default).
  std::string data_dir;
  // Called after each scrape with the fraction of scrapes done, in (0, 1]. May be empty.
  std::function<void(double done_fraction)> progress;
};

struct HistoryStats {
  std::int64_t samples = 0;  // sample lines written (up included)
  std::int64_t series = 0;   // distinct series over the whole history
  std::int64_t bytes = 0;    // bytes written, all windows
  std::int64_t windows = 0;  // windows (files) written
  std::int64_t scrapes = 0;  // target scrapes, up = 1 or 0
  std::int64_t failed_scrapes = 0;  // up = 0: alive but not answering, or a page that did not parse
  std::int64_t duplicates = 0;      // samples dropped because a page repeated a series (as Prometheus drops them)
};

// Receives the windows in time order: Begin, then Write for each chunk (at most ~1 MiB; the file is the
// concatenation), then End. A non-OK Status stops the run and is returned by WriteHistory.
class WindowSink {
 public:
  virtual ~WindowSink() = default;
  virtual base::Status Begin(std::int64_t window_start_unix_s) = 0;
  virtual base::Status Write(std::string_view chunk) = 0;
  virtual base::Status End() = 0;
};

// Scrapes the world over [options.start_s, options.end_s) and hands each window's OpenMetrics text to `sink`.
// Errors: InvalidArgument for an empty or non-finite range, a scrape interval or window under 1 ms, or more than
// 2^32 - 2 scrapes; whatever the sink returns.
base::Result<HistoryStats> WriteHistory(const World& world, const HistoryOptions& options, WindowSink& sink);

// WriteHistory into `<dir>/<window-start-unix-seconds>.om` files (dir is created if missing; existing files of the
// same names are replaced). Errors: as WriteHistory, and Internal naming the file on an I/O error.
base::Result<HistoryStats> WriteHistoryToDir(const World& world, const HistoryOptions& options,
                                             const std::string& dir);

// A sample value as the history writes it: "NaN", "+Inf", "-Inf", "-0", an integer without exponent when the
// value is one (|v| < 2^63), else the shortest decimal that reads back to the same double ("0.25", "1.5e-07").
void AppendOpenMetricsValue(double value, std::string* out);

// A Unix timestamp in milliseconds as OpenMetrics seconds: "1794787200", "1794787200.5"; for a millisecond that a
// float cannot hold exactly, the shortest decimal whose parse times 1000 truncates and rounds to `unix_ms`.
std::string FormatOpenMetricsTimestamp(std::int64_t unix_ms);

}  // namespace gpuwise::sim
