// Simulated vLLM /metrics pages (see vllm_page.h).
//
// Sources: metric names, help texts, bucket bounds and registration order from vllm-project/vllm
// vllm/v1/metrics/loggers.py (0.10.x and 0.11.x variants in the code index) and vllm/engine/metrics.py (V0);
// version boundaries from the deprecation comments in those files and vllm PRs #18354 (gpu_* renames, 0.9.2),
// #24110 (TPOT -> ITL, 0.10.2), #32661 (TPOT removed); page layout and number format from prometheus/client_python
// prometheus_client/exposition.py (generate_latest), metrics.py (Counter/Histogram samples) and utils.py
// (floatToGoString). Checked against captures quoted in vllm_page_golden_test.cc.
#include "sim/vllm_page.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "base/check.h"

namespace gpuwise::sim {
namespace {

constexpr VllmVersion kV1Engine{0, 8, 0};             // V1 became the default engine
constexpr VllmVersion kKvCacheNames{0, 9, 2};         // kv_cache_usage_perc, prefix_cache_*; gpu_* deprecated
constexpr VllmVersion kCacheInfoEngineLabel{0, 10, 0};  // per-engine cache_config_info (multi-engine loggers)
constexpr VllmVersion kInterTokenLatency{0, 10, 2};   // inter_token_latency_seconds; TPOT deprecated
constexpr VllmVersion kGpuNamesHidden{0, 11, 0};
constexpr VllmVersion kGpuNamesRemoved{0, 12, 0};
constexpr VllmVersion kTpotHidden{0, 12, 0};
constexpr VllmVersion kTpotRemoved{0, 13, 0};

// V1 buckets (loggers.py).
const std::vector<double> kTtftBucketsV1 = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
                                            1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kInterTokenBucketsV1 = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                                  0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kRequestLatencyBucketsV1 = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                                      30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kIterationTokenBuckets = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
const std::vector<double> kParamsNBuckets = {1, 2, 5, 10, 20};
// V0 buckets (vllm/engine/metrics.py of the 0.4-0.6 line; issue #8819's 0.6 capture ends TTFT at 10.0).
const std::vector<double> kTtftBucketsV0 = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                            0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
const std::vector<double> kTpotBucketsV0 = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5};
const std::vector<double> kE2eBucketsV0 = {1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0};

struct Label {
  std::string name;
  std::string value;
};
using Labels = std::vector<Label>;

Labels With(Labels labels, std::string name, std::string value) {
  labels.push_back({std::move(name), std::move(value)});
  return labels;
}

// prometheus_client escapes label values: backslash, newline, double quote.
void AppendEscapedLabelValue(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"') {
      *out += "\\\"";
    } else {
      out->push_back(c);
    }
  }
}

// HELP text escapes backslash and newline only.
void AppendEscapedHelp(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      out->push_back(c);
    }
  }
}

std::string PythonBool(bool b) { return b ? "True" : "False"; }

// Writes families the way prometheus_client's generate_latest does for single-series metrics.
class PageWriter {
 public:
  PageWriter(std::string* out, bool created_series, double created_unix_s)
      : out_(out), created_series_(created_series), created_(created_unix_s) {}

  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) {
    Header(name, help, "gauge");
    Sample(name, "", labels, value);
  }

  // One counter family (name without "_total"), one sample per series, then its "_created" gauge family.
  void Counter(std::string_view base, std::string_view help, const std::vector<std::pair<Labels, double>>& series) {
    const std::string total = std::string(base) + "_total";
    Header(total, help, "counter");
    std::vector<Labels> label_sets;
    for (const auto& [labels, value] : series) {
      Sample(total, "", labels, value);
      label_sets.push_back(labels);
    }
    Created(base, help, label_sets);
  }

  void Histogram(std::string_view name, std::string_view help, const Labels& labels, const VllmHistogram& h) {
    CHECK(h.counts.size() == h.upper_bounds.size()) << name << ": " << h.counts.size() << " counts for "
                                                    << h.upper_bounds.size() << " bounds";
    Header(name, help, "histogram");
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
      Sample(name, "_bucket", With(labels, "le", PrometheusFloat(h.upper_bounds[i])), static_cast<double>(h.counts[i]));
    }
    Sample(name, "_bucket", With(labels, "le", "+Inf"), static_cast<double>(h.count));
    Sample(name, "_count", labels, static_cast<double>(h.count));
    Sample(name, "_sum", labels, h.sum);
    Created(name, help, {labels});
  }

 private:
  void Header(std::string_view name, std::string_view help, std::string_view type) {
    *out_ += "# HELP ";
    *out_ += name;
    out_->push_back(' ');
    AppendEscapedHelp(out_, help);
    *out_ += "\n# TYPE ";
    *out_ += name;
    out_->push_back(' ');
    *out_ += type;
    out_->push_back('\n');
  }

  void Sample(std::string_view name, std::string_view suffix, Labels labels, double value) {
    auto by_name = [](const Label& a, const Label& b) { return a.name < b.name; };
    if (!std::is_sorted(labels.begin(), labels.end(), by_name)) std::sort(labels.begin(), labels.end(), by_name);
    *out_ += name;
    *out_ += suffix;
    if (!labels.empty()) {
      out_->push_back('{');
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_->push_back(',');
        *out_ += labels[i].name;
        *out_ += "=\"";
        AppendEscapedLabelValue(out_, labels[i].value);
        out_->push_back('"');
      }
      out_->push_back('}');
    }
    out_->push_back(' ');
    *out_ += PrometheusFloat(value);
    out_->push_back('\n');
  }

  // The "<name>_created" gauge family prometheus_client appends after a counter or histogram family, one sample
  // per series; a family without series gets none.
  void Created(std::string_view name, std::string_view help, const std::vector<Labels>& label_sets) {
    if (!created_series_ || label_sets.empty()) return;
    const std::string created = std::string(name) + "_created";
    Header(created, help, "gauge");
    for (const Labels& labels : label_sets) Sample(created, "", labels, created_);
  }

  std::string* out_;
  bool created_series_;
  double created_;
};

Labels CacheConfigLabels(const VllmCacheConfig& c) {
  Labels labels = {{"block_size", std::to_string(c.block_size)},
                   {"cache_dtype", c.cache_dtype},
                   {"enable_prefix_caching", PythonBool(c.enable_prefix_caching)},
                   {"gpu_memory_utilization", PythonFloatRepr(c.gpu_memory_utilization)},
                   {"num_gpu_blocks", std::to_string(c.num_gpu_blocks)}};
  for (const auto& [k, v] : c.extra_labels) labels.push_back({k, v});
  return labels;
}

std::vector<std::pair<Labels, double>> SuccessSeries(const Labels& base, const VllmRequestSuccess& s, bool only_seen) {
  std::vector<std::pair<Labels, double>> series;
  // FinishReason order (stop, length, abort): the order vLLM V1 creates the children.
  const std::pair<const char*, std::uint64_t> reasons[] = {{"stop", s.stop}, {"length", s.length}, {"abort", s.abort}};
  for (const auto& [reason, n] : reasons) {
    if (only_seen && n == 0) continue;
    series.push_back({With(base, "finished_reason", reason), static_cast<double>(n)});
  }
  return series;
}

// V1 engine (vllm/v1/metrics/loggers.py PrometheusStatLogger.__init__, then log_engine_initialized).
void RenderV1(const VllmState& s, const VllmPageOptions& o, std::string* out) {
  const VllmVersion& v = o.version;
  PageWriter w(out, o.created_series, s.created_unix_s);
  const Labels base = {{"engine", std::to_string(s.engine)}, {"model_name", s.model_name}};
  const auto one = [&](double value) { return std::vector<std::pair<Labels, double>>{{base, value}}; };
  const bool renamed = v >= kKvCacheNames;
  const bool gpu_names = v < kGpuNamesHidden || (v < kGpuNamesRemoved && o.show_hidden_metrics);
  const bool tpot = v < kTpotHidden || (v < kTpotRemoved && o.show_hidden_metrics);

  w.Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", base,
          s.num_requests_running);
  w.Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", base, s.num_requests_waiting);
  if (gpu_names) {
    // The missing spaces ("usage.DEPRECATED", "queriedtokens") are in vLLM's strings.
    w.Gauge("vllm:gpu_cache_usage_perc",
            renamed ? "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead."
                    : "GPU KV-cache usage. 1 means 100 percent usage.",
            base, s.kv_cache_usage);
    w.Counter("vllm:gpu_prefix_cache_queries",
              renamed ? "GPU prefix cache queries, in terms of number of queriedtokens. DEPRECATED: Use "
                        "vllm:prefix_cache_queries instead."
                      : "GPU prefix cache queries, in terms of number of queried tokens.",
              one(static_cast<double>(s.prefix_cache_queries)));
    w.Counter("vllm:gpu_prefix_cache_hits",
              renamed ? "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use "
                        "vllm:prefix_cache_hits instead."
                      : "GPU prefix cache hits, in terms of number of cached tokens.",
              one(static_cast<double>(s.prefix_cache_hits)));
  }
  if (renamed) {
    w.Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", base, s.kv_cache_usage);
    w.Counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
              one(static_cast<double>(s.prefix_cache_queries)));
    w.Counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
              one(static_cast<double>(s.prefix_cache_hits)));
  }
  w.Counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
            one(static_cast<double>(s.num_preemptions)));
  w.Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", one(static_cast<double>(s.prompt_tokens)));
  w.Counter("vllm:generation_tokens", "Number of generation tokens processed.",
            one(static_cast<double>(s.generation_tokens)));
  w.Counter("vllm:request_success", "Count of successfully processed requests.",
            SuccessSeries(base, s.request_success, /*only_seen=*/false));

  w.Histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", base, s.request_prompt_tokens);
  w.Histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", base,
              s.request_generation_tokens);
  w.Histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", base,
              s.iteration_tokens);
  w.Histogram("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.",
              base, s.request_max_num_generation_tokens);
  w.Histogram("vllm:request_params_n", "Histogram of the n request parameter.", base, s.request_params_n);
  w.Histogram("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", base,
              s.request_params_max_tokens);
  w.Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", base,
              s.time_to_first_token_s);
  if (tpot) {
    // Until 0.13 vLLM observes every inter-token latency into both families.
    w.Histogram("vllm:time_per_output_token_seconds",
                v >= kInterTokenLatency
                    ? "Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds "
                      "instead."
                    : "Histogram of time per output token in seconds.",
                base, s.inter_token_latency_s);
  }
  if (v >= kInterTokenLatency) {
    w.Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", base,
                s.inter_token_latency_s);
  }
  w.Histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", base,
              s.e2e_request_latency_s);
  w.Histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", base,
              s.request_queue_time_s);
  w.Histogram("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", base,
              s.request_inference_time_s);
  w.Histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", base,
              s.request_prefill_time_s);
  w.Histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", base,
              s.request_decode_time_s);

  // Registered last, by log_engine_initialized(); a gauge fixed at 1 emulating an Info metric.
  Labels info = CacheConfigLabels(s.cache_config);
  if (v >= kCacheInfoEngineLabel) info.push_back({"engine", std::to_string(s.engine)});
  w.Gauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", info, 1.0);
}

// V0 engine (vllm/engine/metrics.py): model_name label only, prometheus_client.disable_created_metrics(), only the
// finished reasons seen so far, cache_config_info first (as in the capture of QwenLM/Qwen3-VL issue #55).
// Families V0 had that a VllmState does not model (num_requests_swapped,
// cpu_cache_usage_perc, prefix-cache hit-rate gauges, request_params_*) are left out.
void RenderV0(const VllmState& s, std::string* out) {
  PageWriter w(out, /*created_series=*/false, 0);
  const Labels base = {{"model_name", s.model_name}};
  const auto one = [&](double value) { return std::vector<std::pair<Labels, double>>{{base, value}}; };
  w.Gauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", CacheConfigLabels(s.cache_config),
          1.0);
  w.Gauge("vllm:num_requests_running", "Number of requests currently running on GPU.", base, s.num_requests_running);
  w.Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", base, s.num_requests_waiting);
  w.Gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", base, s.kv_cache_usage);
  w.Counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
            one(static_cast<double>(s.num_preemptions)));
  w.Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", one(static_cast<double>(s.prompt_tokens)));
  w.Counter("vllm:generation_tokens", "Number of generation tokens processed.",
            one(static_cast<double>(s.generation_tokens)));
  w.Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", base,
              s.time_to_first_token_s);
  w.Histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", base,
              s.inter_token_latency_s);
  w.Histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", base,
              s.e2e_request_latency_s);
  w.Histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", base, s.request_prompt_tokens);
  w.Histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", base,
              s.request_generation_tokens);
  w.Counter("vllm:request_success", "Count of successfully processed requests.",
            SuccessSeries(base, s.request_success, /*only_seen=*/true));
}

// Digits of an unsigned decimal at text[*pos]; false when there are none.
bool ParseNumber(std::string_view text, std::size_t* pos, int* out) {
  const char* begin = text.data() + *pos;
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), *out);
  if (ec != std::errc() || end == begin) return false;
  *pos += static_cast<std::size_t>(end - begin);
  return true;
}

}  // namespace

base::Result<VllmVersion> ParseVllmVersion(std::string_view text) {
  const auto bad = [&] {
    return base::InvalidArgument("vLLM version '" + std::string(text) + "': expected MAJOR.MINOR[.PATCH], e.g. 0.10.1");
  };
  std::size_t p = 0;
  if (p < text.size() && (text[p] == 'v' || text[p] == 'V')) ++p;
  VllmVersion v{0, 0, 0};
  if (!ParseNumber(text, &p, &v.major) || p >= text.size() || text[p] != '.') return bad();
  ++p;
  if (!ParseNumber(text, &p, &v.minor)) return bad();
  if (p + 1 < text.size() && text[p] == '.' && text[p + 1] >= '0' && text[p + 1] <= '9') {
    ++p;
    if (!ParseNumber(text, &p, &v.patch)) return bad();
  }
  return v;
}

VllmHistogram MakeVllmHistogram(std::vector<double> upper_bounds) {
  VllmHistogram h;
  h.counts.assign(upper_bounds.size(), 0);
  h.upper_bounds = std::move(upper_bounds);
  return h;
}

void AddObservation(VllmHistogram* histogram, double value) {
  CHECK(histogram->counts.size() == histogram->upper_bounds.size()) << "histogram not made by MakeVllmHistogram";
  histogram->sum += value;
  // prometheus_client files a NaN in no bucket (NaN <= bound is false) and so leaves the count alone.
  if (std::isnan(value)) return;
  for (std::size_t i = 0; i < histogram->upper_bounds.size(); ++i) {
    if (value <= histogram->upper_bounds[i]) ++histogram->counts[i];
  }
  ++histogram->count;
}

std::vector<double> Build125Buckets(double max_value) {
  std::vector<double> buckets;
  for (double scale = 1;; scale *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * scale > max_value) return buckets;
      buckets.push_back(m * scale);
    }
  }
}

VllmState MakeVllmState(std::string model_name, int max_model_len, const VllmVersion& version) {
  const bool v0 = version < kV1Engine;
  const std::vector<double> tokens = Build125Buckets(max_model_len);
  const std::vector<double>& latency = v0 ? kE2eBucketsV0 : kRequestLatencyBucketsV1;
  VllmState s;
  s.model_name = std::move(model_name);
  s.cache_config.enable_prefix_caching = !v0;  // V1 turned prefix caching on by default
  s.request_prompt_tokens = MakeVllmHistogram(tokens);
  s.request_generation_tokens = MakeVllmHistogram(tokens);
  s.iteration_tokens = MakeVllmHistogram(kIterationTokenBuckets);
  s.request_max_num_generation_tokens = MakeVllmHistogram(tokens);
  s.request_params_n = MakeVllmHistogram(kParamsNBuckets);
  s.request_params_max_tokens = MakeVllmHistogram(tokens);
  s.time_to_first_token_s = MakeVllmHistogram(v0 ? kTtftBucketsV0 : kTtftBucketsV1);
  s.inter_token_latency_s = MakeVllmHistogram(v0 ? kTpotBucketsV0 : kInterTokenBucketsV1);
  s.e2e_request_latency_s = MakeVllmHistogram(latency);
  s.request_queue_time_s = MakeVllmHistogram(latency);
  s.request_inference_time_s = MakeVllmHistogram(latency);
  s.request_prefill_time_s = MakeVllmHistogram(latency);
  s.request_decode_time_s = MakeVllmHistogram(latency);
  return s;
}

std::string RenderVllmPage(const VllmState& state, const VllmPageOptions& options) {
  std::string out;
  out.reserve(32 * 1024);
  if (options.version < kV1Engine) {
    RenderV0(state, &out);
  } else {
    RenderV1(state, options, &out);
  }
  return out;
}

// Python's repr(float) (the 'r' format of PyOS_double_to_string): the shortest digits that round-trip, written
// positionally when the decimal exponent e of d.ddd x 10^e is in [-4, 16), else as d.ddde+XX; ".0" added to whole
// numbers. repr(1e16) = "1e+16", repr(0.0001) = "0.0001", repr(1e-05) = "1e-05", repr(12.0) = "12.0".
std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  if (std::fabs(value) < 1e16 && value == std::trunc(value)) {  // counts: repr is the integer and ".0"
    const auto [iend, iec] = std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(value));
    CHECK(iec == std::errc()) << "to_chars failed for " << value;
    std::string out(buf, iend);
    out += ".0";
    return out;
  }
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  CHECK(ec == std::errc()) << "to_chars failed for " << value;
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));  // "-1.2345e+06"
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  const bool negative_exponent = sci[e + 1] == '-';
  const int exponent_abs = std::atoi(std::string(sci.substr(e + 2)).c_str());
  const int exponent = negative_exponent ? -exponent_abs : exponent_abs;
  const int decpt = exponent + 1;  // digits d1 d2 ... with the point after decpt digits
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out.push_back(digits[0]);
    if (n > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char exp[8];
    std::snprintf(exp, sizeof(exp), "e%c%02d", negative_exponent ? '-' : '+', exponent_abs);
    out += exp;
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= n) {
    out += digits;
    out.append(static_cast<std::size_t>(decpt - n), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<std::size_t>(decpt));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(decpt), std::string::npos);
  }
  return out;
}

// prometheus_client floatToGoString: repr, except +Inf/-Inf/NaN and, like Go, an exponent for positive numbers with
// more than 6 digits before the point: 1753795326.9353123 -> "1.7537953269353123e+09", 1000000.0 -> "1e+06".
// The two-digit exponent follows client_python after PR #1190 (older releases printed "e+010" for 1e10).
std::string PrometheusFloat(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  std::string s = PythonFloatRepr(value);
  const std::size_t dot = s.find('.');
  if (value > 0 && dot != std::string::npos && dot > 6) {
    std::string mantissa = s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.')) mantissa.pop_back();
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e+%02d", static_cast<int>(dot - 1));
    return mantissa + exp;
  }
  return s;
}

}  // namespace gpuwise::sim
