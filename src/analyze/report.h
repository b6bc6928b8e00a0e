// Report: what `gpuwise report` prints, assembled from a snapshot, its cost ledger and the diagnosis of every
// workload. Fleet summary (GPUs, spend, utilisation, the three buckets, unused waste annualised), workloads ranked by
// idle spend with their state and action, showback by team and namespace, attribution classes (the cost share
// attributed through the API, kube-state-metrics, names, or not at all), findings (idle workloads, forgotten
// endpoints, unallocated GPUs, GPU nodes kept up by CPU-only pods, pending GPU demand) and signal health per node.
// Pure: the renderers (cli/report_view) turn it into table, JSON, YAML, CSV and HTML.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyze/cost.h"
#include "analyze/diagnosis.h"
#include "base/status.h"
#include "model/price_book.h"
#include "model/snapshot.h"

namespace gpuwise::analyze {

struct ReportOptions {
  DiagnosisOptions diagnosis;
  std::size_t top = 10;          // workloads in the terminal's "top wasters"
  // Findings: a whole GPU nobody held for at least this share of the window is "unallocated".
  double unallocated_share = 0.5;
  // Filters of the workload rows and showback (-n, -l). Fleet figures stay cluster-wide (the report says so).
  std::vector<std::string> namespaces;  // empty: all
  std::string label_selector;           // "k=v,k!=v,k,!k" on the workload's pod labels; "" = all
  // H100-equivalent GPU-hours: by price ratio from the book (default) or by dense BF16 TFLOPS. Null: not computed.
  const model::PriceBook* prices = nullptr;
  model::EquivalenceMethod equivalence = model::EquivalenceMethod::kPrice;
};

// Whether labels match a selector of equality terms (k=v, k==v, k!=v, k, !k, comma-separated). InvalidArgument for
// set-based terms (in, notin) and malformed text.
base::Result<bool> MatchesSelector(const model::Labels& labels, std::string_view selector);

struct WorkloadRow {
  int workload = -1;             // Snapshot::workloads index
  std::string namespace_name, kind, name, team, team_rule;
  std::string engine;            // serving engine of its pods ("" none)
  std::string workload_class;    // interactive | batch | training | notebook | dev | unknown
  std::string class_reason;      // the detection rule that gave it, in words
  std::string source;            // attribution source name
  int pods = 0;
  double gpus = 0;               // GPU-equivalents held on average over the window
  double gpu_hours = 0;
  double usage = 0;              // used $ / held $ (0..1), NaN when nothing held
  double assumed_share = 0;      // share of its GPU-hours held by assumption (no exporter label)
  Money money;
  std::int64_t idle_annualized = 0;
  Diagnosis diagnosis;
  // From the serving engine's metrics (vLLM), when read: demand beside the framebuffer, and unit costs.
  bool serving = false;
  double requests_per_hour = NAN, tokens_per_hour = NAN;   // prompt + generation
  std::int64_t micro_per_1k_requests = -1;                 // held $ / requests; -1 = no request in the window
  std::int64_t micro_per_million_tokens = -1;
  double kv_p95 = NAN, kv_max = NAN;                       // KV-cache use, 0..1
  double kv_capacity_tokens = NAN;                         // per replica
  double preemptions = 0;
  // Latency the engine measured (model::ServingUsage), seconds; NaN = unknown (no request in the window, not read).
  double ttft_p50_s = NAN, ttft_p99_s = NAN, tpot_p50_s = NAN, tpot_p99_s = NAN, e2e_p50_s = NAN, e2e_p99_s = NAN;
  double latency_requests = 0;   // requests the TTFT histogram counted
  std::string latency_basis;     // what the histograms cover ("increase over 3 scrapes", ...); "" = not read
};

struct ShowbackRow {
  std::string key;               // team, namespace, label value
  std::int64_t cost = 0, used = 0, idle = 0;
  double gpu_hours = 0;
  int workloads = 0;
};

struct NodeRow {
  int node = -1;
  std::string name, instance_type, gpu_model, capacity_type, price_rule, unpriced_reason;
  int gpus = 0, mig_instances = 0, unseen_gpus = 0;
  std::int64_t price_micro_per_gpu_hour = 0;
  std::int64_t cost = 0, unallocated = 0, used = 0, idle = 0;
  double idle_gpu_hours = 0;
  std::string compute_source;    // the best compute signal every device of the node has, or "none"
  int devices_without_samples = 0;
};

struct ClassRow {
  std::string source;            // "api", "kube-state-metrics", "inferred", "pod-gone"
  std::int64_t cost = 0;
  double share = 0;              // of allocated cost
  int workloads = 0;
};

struct Finding {
  std::string kind;              // idle-workload | forgotten-endpoint | unallocated-gpu | cpu-only-node | pending-gpu | signal-gap | unknown-node
  std::string subject;           // workload key, node name, pod
  std::string text;              // one sentence with the figures
  std::string action;
  std::int64_t cost = 0;         // in the window (0 when not a cost)
};

struct Fleet {
  int nodes = 0, gpus = 0, mig_instances = 0, unknown_node_gpus = 0, unpriced_gpus = 0;
  std::int64_t cost = 0, used = 0, idle = 0, unallocated = 0, unmeasured = 0;
  double utilization = 0;        // used / cost
  std::int64_t unused_annualized = 0;   // (idle + unallocated) x 365 x 24 / window hours
  double window_hours = 0;
  double gpu_hours = 0, used_gpu_hours = 0;
  double h100_equivalent_gpu_hours = NAN;   // GPU-hours of every known model x its factor; NaN when not computed
  std::string equivalence_method;           // "price" | "tflops"
};

// One GPU model of the fleet and its H100-equivalence factor, as printed under the report.
struct EquivalenceRow {
  std::string model;        // normalised GPU model
  double gpu_hours = 0;
  double factor = NAN;      // NaN: unknown (the reason says why)
  std::string basis;        // "tflops 312 / 989", "price ..."
};

// Usage per node and interval, for the HTML heatmap: the GPU-share-weighted mean of device usage (NaN: no sample),
// and the share of the node's GPU capacity held by pods.
struct Heatmap {
  std::vector<std::string> rows;            // node names
  std::vector<std::int64_t> column_starts;  // interval starts, Unix seconds
  std::vector<double> usage;                // rows x columns, row-major
  std::vector<double> held;                 // rows x columns
};

struct Report {
  std::int64_t start_unix_s = 0, end_unix_s = 0;
  bool live = false;
  std::string telemetry_source, cluster_source;
  std::string policy, usage_definition;
  DiagnosisOptions thresholds;
  Fleet fleet;
  std::vector<WorkloadRow> workloads;   // sorted by idle $ (descending), then key
  std::vector<ShowbackRow> teams, namespaces;
  std::vector<NodeRow> nodes;
  std::vector<ClassRow> classes;
  std::vector<Finding> findings;
  std::vector<EquivalenceRow> equivalence;
  Heatmap heatmap;
  std::vector<std::string> warnings;
};

Report BuildReport(const model::Snapshot& snapshot, const CostLedger& ledger, const ReportOptions& options = {});

// Showback by any pod label or annotation key ("label:app", "annotation:owner"): workloads whose first pod lacks it
// go to "(none)".
std::vector<ShowbackRow> ShowbackBy(const model::Snapshot& snapshot, const CostLedger& ledger, std::string_view key);

}  // namespace gpuwise::analyze
