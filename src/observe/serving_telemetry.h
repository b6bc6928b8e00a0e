// Serving-engine telemetry: what a vLLM /metrics page says about demand, per scrape. KV-cache use
// (vllm:kv_cache_usage_perc, before 0.9 vllm:gpu_cache_usage_perc) and its capacity (vllm:cache_config_info:
// num_gpu_blocks x block_size tokens, and the configured gpu_memory_utilization), and the counters that price a
// request and a token (vllm:request_success_total summed over finished_reason, vllm:prompt_tokens_total,
// vllm:generation_tokens_total, vllm:num_preemptions_total). Engines other than vLLM are not parsed (the report
// names them). Pure parsing: a page in, a sample out; malformed lines are counted, never fatal.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/snapshot.h"
#include "observe/prom/prom_client.h"

namespace gpuwise::observe {

struct ServingSample {
  std::int64_t t_ms = 0;
  double kv_usage = NAN;              // 0..1 of the KV cache (summed over engines: weighted by their blocks)
  double kv_capacity_tokens = NAN;    // num_gpu_blocks x block_size, over every engine of the page
  double gpu_memory_utilization = NAN;
  double requests = NAN, prompt_tokens = NAN, generation_tokens = NAN, preemptions = NAN;  // counters
  double running = NAN, waiting = NAN;
  int bad_lines = 0;
};

// Scrapes per pod ("namespace", "pod"), in time order.
using ServingByPod = std::map<std::pair<std::string, std::string>, std::vector<ServingSample>>;

// Parses one vLLM page scraped at t_ms.
ServingSample ParseVllmPage(std::string_view page, std::int64_t t_ms);

// Folds a pod's scrapes (in time order) into the window's figures: KV use per sample into the sketch, counter
// increases with resets handled (a counter that drops restarted: its new value is the increase), capacity and
// configured utilisation from the last sample that has them.
void AccumulateServing(const std::vector<ServingSample>& samples, model::ServingUsage* out);

// Adds one pod's window figures to its workload's.
void MergeServing(const model::ServingUsage& pod, model::ServingUsage* workload);

using ServingTotals = std::map<std::pair<std::string, std::string>, model::ServingUsage>;

// A window's serving figures per pod from Prometheus: counter increases over [start, end) (increase(), summed over
// finished_reason and engines), KV-cache use p95 and max (quantile_over_time, max_over_time; the largest engine),
// and the cache config. A series names its pod by pod/namespace labels (Kubernetes service discovery), else by its
// `instance` address through `pod_by_address` ("10.0.0.7:8000" or "10.0.0.7" -> (namespace, pod)). Series of no
// known pod are counted in *unmatched.
base::Result<ServingTotals> ReadServingHistory(prom::PromClient& client, std::int64_t start_unix_s,
                                               std::int64_t end_unix_s,
                                               const std::map<std::string, std::pair<std::string, std::string>>& pod_by_address,
                                               int* unmatched);

}  // namespace gpuwise::observe
