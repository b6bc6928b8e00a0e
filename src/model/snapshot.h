// Snapshot: one window of the cluster joined together, the input of every analysis. GPU devices (whole GPUs and
// MIG instances) with the node they sit on, the pods that held them and when, their usage per interval, the
// workloads and teams pods belong to, and each node's price. Built by observe/snapshot_builder from the Kubernetes
// API, kube-state-metrics and dcgm-exporter telemetry (scraped now, or a window from Prometheus); pure values.
//
// Time: the window is cut into intervals on a fixed grid (1 h by default, aligned to the hour in UTC; a live scrape
// is one interval). Usage values are means over the exporter samples inside an interval.
// Holding: who holds a device in an interval, and for what share of it (share x fraction of the interval), with how
// that was known: the exporter's pod label, or assumed from the pod's request (DeviceHold::how).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/usage_sketch.h"

namespace gpuwise::model {

// How a device was tied to its node (the order the issue prescribes; unknown GPUs are counted, never priced).
enum class NodeJoin { kHostname, kExporterPod, kApiOnly, kUnknown };
std::string_view NodeJoinName(NodeJoin j);  // "hostname-label", "exporter-pod", "api-only", "unknown-node"

struct SnapshotNode {
  Node node;
  int gpus = 0;                          // physical GPUs priced: the node's nvidia.com/gpu.count, else devices seen
  std::int64_t price_micro_per_gpu_hour = 0;  // effective price of one GPU-hour, micro-USD; 0 with unpriced_reason
  std::int64_t list_micro_per_gpu_hour = 0;   // list price, for showback "list vs effective"
  std::string price_rule;                // which price-book rule matched ("instance p5.48xlarge", ...)
  std::string unpriced_reason;           // non-empty when the node has no price
  // Shares per GPU under time-slicing / MPS (nvidia.com/gpu.replicas; 1 = not shared).
  int replicas = 1;
  // When a price changes inside the window (the price book's effective dates, commitments starting or ending): the
  // effective price per GPU-hour from each time on, sorted. Empty: price_micro_per_gpu_hour all window. A change
  // applies from the first interval that starts at or after it.
  struct PriceFrom {
    std::int64_t from_unix_s = 0;
    std::int64_t micro_per_gpu_hour = 0;
  };
  std::vector<PriceFrom> price_from;
  // The effective price per GPU-hour at time t.
  std::int64_t PriceAt(std::int64_t t) const;
};

struct Device {
  std::string key;             // "node/UUID" or "node/UUID/gi3"; "node/gpu2?" for a GPU the node has but no exporter reported
  int node = -1;               // index into Snapshot::nodes; -1: GPU on an unknown node
  NodeJoin join = NodeJoin::kUnknown;
  std::string hostname;        // as the exporter reported it
  std::string uuid;            // the physical GPU's UUID (the parent's, for a MIG instance)
  std::string gpu_index;
  std::string model_name;
  int gi_id = -1;              // MIG GPU instance id; -1 = whole GPU
  std::string mig_profile;     // "3g.40gb"
  int compute_slices = 0, total_slices = 7;  // MIG instance: g of 7 (A30: of 4)
  double gpu_share = 1;        // of the physical GPU: 1, or compute_slices / total_slices (the MIG cost denominator)
  double memory_bytes = NAN;   // the unit's framebuffer (FB_USED + FB_FREE, else the profile's or node label's size)
  bool seen = true;            // false: the node advertises it but no telemetry names it
  std::string compute_source;  // the signal compute activity comes from ("sm_active", ...), "" = none
  bool is_mig() const { return gi_id >= 0; }
};

// A physical GPU's MIG layout: slices no instance covers are unallocated capacity.
struct MigParent {
  int node = -1;
  std::string uuid;
  int total_slices = 7;
  std::vector<int> instances;  // device indices
};

enum class HoldHow {
  kLabel,        // dcgm-exporter labelled the device with the pod (exclusive GPU or MIG instance)
  kLabelShared,  // labelled, on a shared device: the label picks the device, the share comes from the request
  kAssumed,      // no label: placed on a free device of the right kind on its node (stated in the report)
};
std::string_view HoldHowName(HoldHow h);

struct DeviceHold {
  int pod = -1;          // index into Snapshot::pods
  double share = 1;      // of the device: 1 exclusive, 1/replicas time-slicing/MPS, HAMi/KAI fraction
  double fraction = 1;   // of the interval it held the device (lifetime overlap, or labelled samples / samples)
  HoldHow how = HoldHow::kAssumed;
  double weight() const { return share * fraction; }
};

// Usage of one device in one interval. NaN = no sample of that signal.
struct DeviceInterval {
  int device = -1;
  int interval = -1;
  std::uint32_t samples = 0;       // exporter samples inside the interval
  double compute = NAN;            // mean compute activity, relative to the unit (instance or GPU), 0..1
  double fb_used_bytes = NAN;      // mean framebuffer used
  double dram = NAN, tensor = NAN; // mean DRAM / tensor activity ratios
  double power_watts = NAN;
  // A holder is a serving engine that reserves its memory up front (vLLM, SGLang, TGI, TensorRT-LLM, LMDeploy): the
  // framebuffer used is the reservation, not demand. Usage then takes fb_demand_bytes (weights + KV cache in use,
  // from the engine's metrics) when known, else compute alone.
  bool fb_reserved = false;
  double fb_demand_bytes = NAN;
  std::vector<DeviceHold> holds;
};

// What a workload's usage profile tracks, each sketched over every exporter sample of the devices it held. Compute,
// fb_share, dram and tensor are ratios (0..1), power is watts, pcie_tx and pcie_rx bytes per second (DCGM's
// profiling rates, which dcgm-exporter's default counter list leaves out: often absent).
enum class UsageSignal { kCompute, kFbShare, kDram, kTensor, kPower, kPcieTx, kPcieRx, kCount };
inline constexpr std::size_t kUsageSignalCount = static_cast<std::size_t>(UsageSignal::kCount);
// "compute", "fb_share", "dram", "tensor", "power", "pcie_tx", "pcie_rx"
std::string_view UsageSignalName(UsageSignal s);

// A latency histogram as Prometheus keeps one (classic buckets): cumulative counts per finite upper bound, ascending,
// and the count of every observation (the le="+Inf" bucket). Counts are doubles: Prometheus's increase()
// extrapolates. Empty bounds and count 0: not read. Arithmetic (increase, merge, quantile): observe/serving_telemetry.
struct LatencyHistogram {
  std::vector<double> upper_bounds;  // seconds, ascending, finite
  std::vector<double> cumulative;    // cumulative[i] = observations <= upper_bounds[i]; same size as upper_bounds
  double count = 0;                  // every observation (+Inf)
  bool read() const { return !upper_bounds.empty() || count > 0; }
};

// What a serving engine's own metrics say over the window (vLLM; observe/serving_telemetry). Counters are increases
// over the scrapes (a live view: between the first and last scrape, `seconds` apart).
struct ServingUsage {
  std::string engine;                // "vllm"
  UsageSketch kv_usage;              // KV-cache use, 0..1, per scrape
  double kv_p95 = NAN, kv_max = NAN; // from Prometheus (window reads), when the sketch is empty
  double kv_capacity_tokens = NAN;   // per replica (num_gpu_blocks x block_size)
  double gpu_memory_utilization = NAN;
  double requests = 0, prompt_tokens = 0, generation_tokens = 0, preemptions = 0;
  double seconds = 0;                // time the counters cover (the longest replica's scrape span)
  // Latency the engine measured over the same span (vllm:time_to_first_token_seconds, time_per_output_token_seconds,
  // e2e_request_latency_seconds histograms): p50 and p99 in seconds, NaN when no request completed or not read.
  double ttft_p50_s = NAN, ttft_p99_s = NAN, tpot_p50_s = NAN, tpot_p99_s = NAN, e2e_p50_s = NAN, e2e_p99_s = NAN;
  // vLLM's memory demand on one GPU over the window (weights + activations + the most KV cache in use): the largest
  // reservation less the KV cache it never used; NaN when unknown (observe/snapshot_builder EstimateServingDemand).
  // A window figure for right-sizing; the per-interval cost ledger does not use it.
  double demand_bytes_per_gpu = NAN;
  double latency_requests = 0;       // requests those histograms counted (the TTFT histogram's count: one per request)
  // The histograms the quantiles come from, the workload's pods merged (TPOT: vllm:time_per_output_token_seconds, else
  // its successor vllm:inter_token_latency_seconds; one observation per output token).
  LatencyHistogram ttft, tpot, e2e;
  // What the histograms cover: "increase over 5 scrapes", "since start (one scrape)", "increase over 7d (Prometheus)";
  // "" when no latency histogram was read.
  std::string latency_basis;
  int pods = 0;                      // pods with engine metrics
  bool Any() const { return pods > 0; }
};

// A workload's profile when Prometheus computed it (aggregated reads of long windows): per signal the samples and,
// over the workload's series, the largest p50 / p(idle level) / p95 / p99 / max. The largest of several series'
// quantile is an upper bound of the pooled quantile (each series has at most 1 - q of its samples above it); with
// one series it is that series' quantile (Prometheus interpolates between ranks).
struct WindowStat {
  std::uint64_t count = 0;
  int series = 0;
  double p50 = NAN, p_idle = NAN, p95 = NAN, p99 = NAN, max = NAN;
};
struct WindowProfile {
  bool set = false;
  double idle_level = 0.9;   // the quantile p_idle is at (DiagnosisOptions::idle_share)
  std::array<WindowStat, kUsageSignalCount> stats;
};

struct Workload {
  WorkloadKey key;
  std::string api_version;         // of the top controller
  std::string team;
  std::string team_rule;           // which rule gave the team (annotation, label key, namespace label, namespace)
  AttributionSource source = AttributionSource::kApi;  // the weakest source among its pods
  std::vector<int> pods;
  // Samples of the devices it held: compute activity (unit-relative), framebuffer used / the unit's framebuffer,
  // DRAM and tensor activity (ratios), power (watts). A shared device's samples count for each sharer.
  std::array<UsageSketch, kUsageSignalCount> usage;
  // The same samples per interval (only when SnapshotOptions::interval_sketches): interval index -> sketches, for
  // hourly rollups that merge into exact long-window quantiles.
  std::map<int, std::array<UsageSketch, kUsageSignalCount>> interval_usage;
  std::string compute_source;      // the compute signal(s) its samples came from ("sm_active")
  ServingUsage serving;            // its serving engine's metrics, when read
  WindowProfile window;            // set by aggregated reads instead of `usage` sketches
};

struct Snapshot {
  std::int64_t start_unix_s = 0, end_unix_s = 0;  // the window
  std::int64_t grid_start_unix_s = 0;  // interval 0 starts here (start rounded down to the grid; = start when live)
  std::int64_t interval_s = 3600;
  int intervals = 0;
  bool live = false;               // one scrape, costs are per hour at the current state
  std::string telemetry_source;    // "scrape 10 endpoints", "prometheus http://..."
  std::string cluster_source;
  std::vector<SnapshotNode> nodes;
  std::vector<Device> devices;
  std::vector<MigParent> mig_parents;
  std::vector<Pod> pods;           // API pods plus pods known only from telemetry / kube-state-metrics
  std::vector<int> pod_workload;   // pod index -> workload index
  std::vector<Workload> workloads;
  std::vector<Namespace> namespaces;
  std::vector<DeviceInterval> usage;  // sorted by device, then interval
  // Counted, never dropped: GPUs on unknown nodes, telemetry for pods no source knows, oversubscribed devices...
  std::vector<std::string> warnings;
  std::int64_t IntervalStart(int i) const { return grid_start_unix_s + static_cast<std::int64_t>(i) * interval_s; }
  // Seconds of interval i inside the window (the first and last may be partial).
  std::int64_t IntervalSeconds(int i) const;
};

}  // namespace gpuwise::model
