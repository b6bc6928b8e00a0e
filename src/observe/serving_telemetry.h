// Serving-engine telemetry: what a vLLM /metrics page says about demand, per scrape. KV-cache use
// (vllm:kv_cache_usage_perc, before 0.9 vllm:gpu_cache_usage_perc) and its capacity (vllm:cache_config_info:
// num_gpu_blocks x block_size tokens, and the configured gpu_memory_utilization), the counters that price a
// request and a token (vllm:request_success_total summed over finished_reason, vllm:prompt_tokens_total,
// vllm:generation_tokens_total, vllm:num_preemptions_total), and the latency histograms that right-sizing checks SLOs
// against (vllm:time_to_first_token_seconds, vllm:time_per_output_token_seconds or its successor
// vllm:inter_token_latency_seconds, vllm:e2e_request_latency_seconds). Engines other than vLLM are not parsed (the
// report names them). Pure parsing: a page in, a sample out; malformed lines are counted, never fatal.
//
// Latency quantiles (docs/report.md "Serving figures"): a window's histogram is the increase of each pod's
// cumulative bucket counts (HistogramIncrease: Prometheus's counter-reset rule, a drop is a restart), pods summed
// bucket by bucket (AddHistogram), then the quantile as Prometheus's histogram_quantile computes it
// (HistogramQuantile: linear inside the bucket that holds rank q x count; in the +Inf bucket, the highest finite
// bound). Summing buckets before the quantile makes the workload's quantile exact for its merged histogram; a
// quantile of per-pod quantiles would not be.
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
  // Latency histograms, cumulative since the engine started, summed over the page's engines and models.
  model::LatencyHistogram ttft, tpot, e2e;
  int bad_lines = 0;
};

// Scrapes per pod ("namespace", "pod"), in time order.
using ServingByPod = std::map<std::pair<std::string, std::string>, std::vector<ServingSample>>;

// Parses one vLLM page scraped at t_ms.
ServingSample ParseVllmPage(std::string_view page, std::int64_t t_ms);

// Folds a pod's scrapes (in time order) into the window's figures: KV use per sample into the sketch, counter
// increases with resets handled (a counter that drops restarted: its new value is the increase), capacity and
// configured utilisation from the last sample that has them. Latency: with two or more scrapes, each histogram's
// increase between the first and the last (HistogramIncrease), basis "increase over N scrapes"; with one scrape,
// the counts since the engine started, basis "since start (one scrape)". The pod's histograms are added to *out's
// and its quantiles recomputed (SetLatencyQuantiles), so calling it once per pod of a workload gives the workload's.
void AccumulateServing(const std::vector<ServingSample>& samples, model::ServingUsage* out);

// Adds one pod's window figures to its workload's (latency histograms bucket by bucket, quantiles recomputed).
void MergeServing(const model::ServingUsage& pod, model::ServingUsage* workload);

// ---- latency histogram arithmetic (pure; Prometheus classic histograms)

// The increase of a histogram over scrapes in time order (those not read are skipped): the sum of the steps from one
// scrape to the next, where a step in which the count or any bucket drops, or the bounds change, is a restart and
// adds the new value whole (Prometheus's rule for counters, applied to the histogram as one so its buckets stay
// consistent). Worked number: +Inf counts 100, 130, 5, 25 -> 30 + 5 + 20 = 55. Fewer than two read scrapes: an empty
// histogram (count 0) over the bounds seen.
model::LatencyHistogram HistogramIncrease(const std::vector<const model::LatencyHistogram*>& scrapes);

// Adds `more` into *into. Same bounds: counts add bucket by bucket. Different bounds (engines of different versions):
// the union of bounds, where each histogram contributes at a bound the cumulative count at its own largest bound
// at or below it (the observations it knows are <= that bound): exact at shared bounds, an undercount elsewhere.
void AddHistogram(const model::LatencyHistogram& more, model::LatencyHistogram* into);

// Prometheus's histogram_quantile on one histogram, q in [0, 1] (else NaN). NaN when the histogram counts no
// observation (an empty window is unknown, not 0). Buckets are first made monotone (each at least the one below, as
// Prometheus does for extrapolated increases). rank = q x count; the first bucket whose cumulative count reaches
// rank holds the quantile, interpolated linearly between its lower bound (the previous bound; 0 for the first
// bucket, unless its bound is <= 0, which is returned as is) and its upper bound:
//   lower + (upper - lower) x (rank - cumulative below) / (observations in the bucket).
// In the +Inf bucket: the highest finite bound. q = 0: the lower bound of the first non-empty bucket (Prometheus's
// formula divides 0 by 0 there). Worked number: bounds 0.1, 0.5, 1; cumulative 50, 90, 99; count 100; q 0.9 ->
// rank 90 -> bucket (0.1, 0.5] -> 0.1 + 0.4 x 40 / 40 = 0.5; q 0.95 -> rank 95 -> (0.5, 1] -> 0.5 + 0.5 x 5/9 = 0.78;
// q 0.995 -> rank 99.5 > 99 -> +Inf bucket -> 1.
double HistogramQuantile(double q, const model::LatencyHistogram& h);

// Sets u's p50/p99 fields and latency_requests from its histograms.
void SetLatencyQuantiles(model::ServingUsage* u);

using ServingTotals = std::map<std::pair<std::string, std::string>, model::ServingUsage>;

// A window's serving figures per pod from Prometheus: counter increases over [start, end) (increase(), summed over
// finished_reason and engines), KV-cache use p95 and max (quantile_over_time, max_over_time; the largest engine),
// and the cache config. A series names its pod by pod/namespace labels (Kubernetes service discovery), else by its
// `instance` address through `pod_by_address` ("10.0.0.7:8000" or "10.0.0.7" -> (namespace, pod)). Series of no
// known pod are counted in *unmatched.
// Latency: one instant query per histogram name at the window's end,
//   sum by (namespace, pod, instance, le) (increase(vllm:time_to_first_token_seconds_bucket[<window>]))
// (and the same for time_per_output_token, inter_token_latency, e2e_request_latency), so each pod's buckets come back
// and the quantile is computed here over the pods a workload merges (histogram_quantile in PromQL would give one per
// pod). The queries run at most PromClientOptions::concurrency at a time; a "too many samples" answer is retried
// split by namespace (2, 4, ... shards of the namespaces of pod_by_address, plus one shard for every other
// namespace). A histogram that cannot be read is a line in *warnings (optional), not an error: the counters stand.
base::Result<ServingTotals> ReadServingHistory(prom::PromClient& client, std::int64_t start_unix_s,
                                               std::int64_t end_unix_s,
                                               const std::map<std::string, std::pair<std::string, std::string>>& pod_by_address,
                                               int* unmatched, std::vector<std::string>* warnings = nullptr);

}  // namespace gpuwise::observe
