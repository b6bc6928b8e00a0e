// Simulated vLLM /metrics pages: one engine of one vLLM OpenAI server at one instant, rendered byte for byte as
// vLLM's prometheus_client registry exposes it (text format 0.0.4), for the demo, tests and parser benchmarks.
//
// Format (reference/nvidia-gpu-facts.md 4.3; vllm-project/vllm vllm/v1/metrics/loggers.py; prometheus/client_python
// prometheus_client/exposition.py generate_latest, metrics.py, utils.py floatToGoString):
// - Families in vLLM's registration order, each "# HELP <name> <help>" and "# TYPE <name> <type>", then samples.
// - Counters are declared without "_total"; the page shows "<base>_total". Each counter and histogram family is
//   followed by a gauge family "<base>_created" (Unix seconds the series was made), which prometheus_client adds
//   unless created series are disabled. vLLM V0 (< 0.8) disabled them; V1 shows them.
// - Histogram samples per series: "_bucket" for every bound plus le="+Inf" (cumulative), then "_count", "_sum".
// - Labels sorted by name: engine, finished_reason, le, model_name. V0 has only model_name.
// - Values as Python prints floats (floatToGoString): 0.0, 12.0, 9.75010481363281e-06, 1.7537953269353123e+09,
//   +Inf; a le bound of 1000000 is "1e+06".
//
// Versions (vLLM deprecates in X.Y, hides in X.Y+1 unless --show-hidden-metrics-for-version, removes in X.Y+2):
//   < 0.8.0        V0 engine: labels {model_name}, gpu_cache_usage_perc, time_per_output_token_seconds, V0 help
//                  texts and buckets, cache_config_info first, no *_created.
//   0.8.0 - 0.9.1  V1 engine: labels {engine, model_name}; gpu_cache_usage_perc, gpu_prefix_cache_{queries,hits}.
//   0.9.2 -        kv_cache_usage_perc, prefix_cache_{queries,hits} added; the gpu_* names deprecated.
//   0.10.0 -       cache_config_info carries the engine label (boundary inferred from the multi-engine loggers).
//   0.10.2 -       inter_token_latency_seconds added; time_per_output_token_seconds deprecated (same values).
//   0.11.x         gpu_* names hidden (shown with show_hidden_metrics).
//   0.12.x         gpu_* names gone; time_per_output_token_seconds hidden (shown with show_hidden_metrics).
//   >= 0.13        time_per_output_token_seconds gone.
// One API server (the default): with --api-server-count > 1 vLLM switches prometheus_client to multiprocess mode,
// which drops *_created and prints _sum before the buckets; that mode is not rendered.
// The page holds the families a VllmState models; newer vLLM versions add more (e.g. num_requests_waiting_by_reason,
// request_time_per_output_token_seconds) that are not emitted here.
//
// Pure: the output depends only on the arguments. Thread-safety: free functions on values.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gpuwise::sim {

struct VllmVersion {
  int major = 0;
  int minor = 10;
  int patch = 1;
  auto operator<=>(const VllmVersion&) const = default;
};

// "0.10.1", "v0.11.0", "0.6.3.post1", "0.11.0rc2" (suffixes after major.minor[.patch] are ignored).
base::Result<VllmVersion> ParseVllmVersion(std::string_view text);

// A Prometheus histogram with cumulative bucket counts, as prometheus_client keeps and prints it.
struct VllmHistogram {
  std::vector<double> upper_bounds;   // ascending, finite; the +Inf bucket is implicit
  std::vector<std::uint64_t> counts;  // counts[i] = observations <= upper_bounds[i]; same size as upper_bounds
  std::uint64_t count = 0;            // all observations (the +Inf bucket)
  double sum = 0;                     // sum of observed values
};

// An empty histogram over `upper_bounds`.
VllmHistogram MakeVllmHistogram(std::vector<double> upper_bounds);

// Records one observation: every bucket whose bound >= value, the count and the sum (prometheus_client semantics).
void AddObservation(VllmHistogram* histogram, double value);

// vLLM's 1-2-5 token buckets up to max_value: 1, 2, 5, 10, 20, 50, ... (loggers.py build_1_2_5_buckets).
std::vector<double> Build125Buckets(double max_value);

// The labels of vllm:cache_config_info (CacheConfig.metrics_info(): every field as Python str()).
struct VllmCacheConfig {
  int block_size = 16;
  std::string cache_dtype = "auto";
  bool enable_prefix_caching = true;     // printed "True"/"False"
  double gpu_memory_utilization = 0.9;   // fraction of GPU memory vLLM may use, printed as Python repr ("0.9")
  std::int64_t num_gpu_blocks = 0;       // KV-cache blocks after profiling; tokens = num_gpu_blocks * block_size
  // Further CacheConfig fields verbatim, e.g. {"swap_space_bytes", "4294967296"}, {"sliding_window", "None"};
  // the set differs per vLLM version. All labels are printed sorted by name.
  std::vector<std::pair<std::string, std::string>> extra_labels;
};

// Requests finished, by vLLM's finished_reason label (FinishReason: stop, length, abort).
struct VllmRequestSuccess {
  std::uint64_t stop = 0;
  std::uint64_t length = 0;
  std::uint64_t abort = 0;
};

// The state of one vLLM engine at one instant. Counters and histograms are cumulative since process start.
struct VllmState {
  std::string model_name;  // served_model_name: the model_name label
  int engine = 0;          // engine index (data-parallel rank): the engine label (V1 only)

  // Scheduler gauges.
  double num_requests_running = 0;
  double num_requests_waiting = 0;
  double kv_cache_usage = 0;  // fraction of KV-cache blocks in use, 0..1 (kv_cache_usage_perc / gpu_cache_usage_perc)

  // Counters.
  std::uint64_t prompt_tokens = 0;
  std::uint64_t generation_tokens = 0;
  std::uint64_t num_preemptions = 0;
  std::uint64_t prefix_cache_queries = 0;  // tokens looked up in the prefix cache
  std::uint64_t prefix_cache_hits = 0;     // of those, tokens found
  VllmRequestSuccess request_success;

  // Histograms (bounds set by MakeVllmState for the version; observe with AddObservation).
  VllmHistogram request_prompt_tokens;
  VllmHistogram request_generation_tokens;
  VllmHistogram iteration_tokens;                   // vllm:iteration_tokens_total, tokens per engine step
  VllmHistogram request_max_num_generation_tokens;
  VllmHistogram request_params_n;
  VllmHistogram request_params_max_tokens;
  VllmHistogram time_to_first_token_s;
  VllmHistogram inter_token_latency_s;  // shown as inter_token_latency_seconds and/or time_per_output_token_seconds
  VllmHistogram e2e_request_latency_s;
  VllmHistogram request_queue_time_s;
  VllmHistogram request_inference_time_s;
  VllmHistogram request_prefill_time_s;
  VllmHistogram request_decode_time_s;

  VllmCacheConfig cache_config;
  double created_unix_s = 0;  // when the metrics were created (about process start): every *_created value
};

// A zeroed state whose histograms carry the bucket bounds vLLM `version` uses; max_model_len sets the 1-2-5 token
// buckets (vLLM's --max-model-len).
VllmState MakeVllmState(std::string model_name, int max_model_len, const VllmVersion& version);

struct VllmPageOptions {
  VllmVersion version;               // default 0.10.1
  bool show_hidden_metrics = false;  // --show-hidden-metrics-for-version=<previous minor>: re-show hidden families
  bool created_series = true;        // V1 *_created gauges; false = PROMETHEUS_DISABLE_CREATED_SERIES. V0: always off
};

// The vLLM part of one server's /metrics page (text format 0.0.4), ending with a newline.
// CHECKs that every histogram's counts match its bounds (a bug in the caller, not outside data).
std::string RenderVllmPage(const VllmState& state, const VllmPageOptions& options);

// Python/prometheus_client number formats, exposed for tests: repr(float) and floatToGoString.
std::string PythonFloatRepr(double value);
std::string PrometheusFloat(double value);

}  // namespace gpuwise::sim
