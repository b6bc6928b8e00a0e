// Scenario generators and request-arrival traces for the simulated cluster: a synthetic fleet of any size (scale
// tests), the Alibaba openb GPU-sharing trace as HAMi-like nodes and pods, and LLM request traces (Azure LLM
// inference 2023, Mooncake, ServeGen). Deterministic: the same inputs and seed give the same values, bit for bit.
// Errors are Status values naming the file and line; nothing throws.
// Thread-safety: pure functions of their arguments and of the files they read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/scenario.h"

namespace gpuwise::sim {

inline constexpr int kMaxSyntheticGpus = 1'000'000;

// A fleet of about `gpus` GPUs (1..kMaxSyntheticGpus) in eight node pools of four models (instance types and
// prices as in scenarios/demo.yaml): whole-GPU H100, H100 with MIG (mixed, 2 of 8 GPUs partitioned), A100 80GB,
// A100 40GB under a HAMi-like backend, A100 40GB spot, time-sliced L4 (replicas 4, renamed to
// nvidia.com/gpu.shared), L4, and L4 spot. Every pool has 8- or 4-GPU nodes, so the total is `gpus` rounded up
// to a multiple of 4: nodes go to pools by their share, rounded down, and the rest goes to the pools furthest
// below their share (8-GPU nodes first, then at most one 4-GPU node). Small fleets drop pools that get no node.
// Workloads of every kind (the kinds appear from about 100 GPUs up), each pinned to its pool, labelled
// `gpuwise.io/team`, with a few `gpuwise.io/` annotations, fill 74-82% of each pool's GPUs (per pool, drawn
// from the seed), so 70-85% of the fleet is requested. 100,000 GPUs take about 10 ms. The result passes
// ValidateScenario.
base::Result<Scenario> SyntheticScenario(int gpus, std::uint64_t seed);

// Nodes and pods of the Alibaba cluster-trace-gpu-v2023 "openb" trace (Weng et al., ATC'23): reads
// `<openb_dir>/openb_node_list_gpu_node.csv` and `<openb_dir>/openb_pod_list_<pod_list>.csv` (pod_list e.g.
// "default", "gpushare20"; letters, digits and '_' only).
// - Nodes: every node runs a HAMi-like backend; pools group nodes by (GPU model, GPUs, CPU, memory), in the order
//   they first appear. CPU-only nodes (gpu 0 or no model) are skipped. Node names become <pool>-<i>; the trace's
//   `sn` is not kept.
// - Pods: CPU-only pods (num_gpu 0) are skipped. num_gpu 1 with gpu_milli < 1000 is a HAMi request: count 1,
//   gpucores = gpu_milli / 10 (rounded, at least 1), gpumem = gpu_milli / 1000 of the smallest GPU memory the pod
//   may land on (the models in gpu_spec, else every model in the node list), so the request fits on any GPU it
//   may use. Otherwise num_gpu whole GPUs (nvidia.com/gpu). One workload per pod, replicas 1, namespace "openb",
//   team label "openb-<qos>".
// - Kind from qos: LS -> inference (Deployment; a model sized to the request and synthetic traffic, from the
//   seed), BE -> batch (Job), Burstable -> notebook (StatefulSet) with one GPU or less, Guaranteed -> training
//   (Job); Burstable or no qos column (the multigpu lists) -> training when num_gpu > 1, else batch / notebook.
// - Lifetimes: batch pods keep theirs (usage.start_hour = creation_time / 3600, usage.run_hours = lifetime). The
//   Scenario has no start or end for other kinds, so those run for the whole window; every pod carries its trace
//   fields as `sim.gpuwise.io/openb-*` annotations (qos, phase, creation/deletion/scheduled time, gpu_spec,
//   cpu_milli, memory_mib, gpu_milli).
// Errors: NotFound naming a missing directory or file; InvalidArgument "<file>:<line>: column '<name>': ..." for
// a malformed line or an unknown GPU model; InvalidArgument for a bad pod_list name.
base::Result<Scenario> OpenbScenario(const std::string& openb_dir, std::string_view pod_list, std::uint64_t seed);

// The openb GPU model codes this loader knows: modelName as dcgm-exporter would report it and the framebuffer
// total in MiB. nullptr for an unknown code.
struct OpenbGpuModel {
  std::string_view code;        // "V100M16"
  std::string_view model_name;  // "Tesla V100-SXM2-16GB"
  double memory_mib;            // 16160
  double price_per_gpu_hour;    // USD, for cost tests only
};
const OpenbGpuModel* FindOpenbGpuModel(std::string_view code);

enum class TraceFormat { kAzureLlm, kMooncake, kServeGen };
std::string_view TraceFormatName(TraceFormat format);

// Request arrivals, sorted by time, with their token counts.
struct ArrivalTrace {
  TraceFormat format = TraceFormat::kAzureLlm;
  std::string source;               // the path read
  std::vector<double> arrival_s;    // seconds from the trace's start: the first request (request logs) or the
                                    // first window (ServeGen)
  std::vector<int> prompt_tokens;   // per request; empty when the trace has none (ServeGen)
  std::vector<int> output_tokens;
  double duration_s = 0;            // request logs: last - first arrival; ServeGen: the windows' span
  // Summary. Token means are unknown (nullopt) for ServeGen: its token-length files are not part of the traces.
  std::optional<double> mean_prompt_tokens;
  std::optional<double> mean_output_tokens;
  double mean_rps = 0;              // requests / duration_s; 0 when duration_s is 0
};

struct ArrivalTraceOptions {
  // Keep arrivals before this time (seconds from the start); 0 = all. ServeGen windows past it are not generated.
  double max_duration_s = 0;
  // ServeGen only: its files hold per-window rates and inter-arrival distributions, so arrivals are drawn (as
  // servegen/construct.py generate_workload does) from this seed.
  std::uint64_t seed = 1;
  // ServeGen only: refuse (ResourceExhausted) to generate more requests than this; the whole m-large directory
  // is ~237 million over 14 days.
  std::size_t max_requests = 20'000'000;
};

// Loads a trace, detecting the format by name and content:
// - Azure LLM inference 2023 (AzureLLMInferenceTrace_{conv,code}.csv): header TIMESTAMP,ContextTokens,
//   GeneratedTokens; TIMESTAMP "2023-11-16 18:15:46.6805900".
// - Mooncake (*.jsonl): one JSON object per line, timestamp (ms), input_length, output_length (hash_ids ignored).
// - ServeGen: a chunk-<client>-trace.csv (no header: window_start_s, rate_req_per_s, cv, Gamma|Weibull|empty,
//   shape, scale), or a directory of them (clients summed). Each window with a distribution gets
//   ceil(rate * window) gaps drawn from it, scaled to fill the window; the arrival on the window's end is
//   dropped, as in generate_workload.
// Errors: NotFound for a missing path; InvalidArgument "<file>:<line>: ..." naming the column or field;
// ResourceExhausted past options.max_requests.
base::Result<ArrivalTrace> LoadArrivalTrace(const std::string& path);
base::Result<ArrivalTrace> LoadArrivalTrace(const std::string& path, const ArrivalTraceOptions& options);

}  // namespace gpuwise::sim
