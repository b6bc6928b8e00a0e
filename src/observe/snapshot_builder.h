// Snapshot builder: joins dcgm-exporter telemetry (one scrape, or a window from Prometheus) to the cluster read from
// the Kubernetes API (and pods known only from kube-state-metrics or from the telemetry's own labels), and prices
// each node. Pure: values in, a model::Snapshot out; no I/O, no clock.
//
// Joins, in the order the issue prescribes:
// - GPU -> node: the Hostname/hostname label when it names a node; else the exporter pod's node (its `instance`
//   scrape target or its own pod label, through SnapshotOptions::target_node / exporter_pod_node, or a node/
//   kubernetes_node label Prometheus attached from service discovery); else "GPU on unknown node": counted and
//   reported, never priced.
// - MIG instance -> GPU: parent UUID + GPU_I_ID.
// - Device -> pod: the exporter's pod labels in all their forms (exported_* first). Pods with GPU requests that no
//   label names (an exporter without --kubernetes, a shared GPU where only one sharer is labelled) are placed on a
//   free device of the right kind on their node, as the device plugin would (fewest shares first), and marked
//   "assumed".
// - Pod -> workload: the top owner (observe/kube walked ownerReferences); a pod the API no longer has keeps the
//   source that named it (kube-state-metrics, inferred from its name, or "pod gone").
// - Workload -> team: model/annotations' rule (gpuwise.io/team, configured label keys, namespace labels, name).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/annotations.h"
#include "model/cluster.h"
#include "model/price_book.h"
#include "model/snapshot.h"
#include "observe/metrics_source.h"
#include "observe/prometheus_source.h"
#include "observe/serving_telemetry.h"

namespace gpuwise::observe {

// A node's price as the price book gives it (model/price_book), per GPU-hour.
struct NodePriceQuote {
  std::int64_t effective_micro_per_gpu_hour = 0;
  std::int64_t list_micro_per_gpu_hour = 0;
  std::string rule;             // which rule matched
  std::string unpriced_reason;  // non-empty: no price

  static NodePriceQuote From(const model::NodePrice& p) {
    return {p.effective_micro_per_gpu_hour, p.list_micro_per_gpu_hour, p.rule, p.unpriced_reason};
  }
};
using NodePricer = std::function<NodePriceQuote(const model::Node& node, std::int64_t at_unix_s)>;

struct SnapshotOptions {
  std::int64_t interval_s = 3600;           // the cost grid; windows are cut on multiples of it (UTC)
  model::TeamOptions team;                   // label keys read after gpuwise.io/team (default: "team")
  NodePricer pricer;                         // unset: every node unpriced
  std::vector<std::int64_t> price_changes;   // times inside the window where a price may change (the book's)
  bool interval_sketches = false;            // also sketch each workload per interval (for --store rollups)
  const ServingByPod* serving = nullptr;     // serving-engine scrapes per pod (vLLM), when read
  const ServingTotals* serving_totals = nullptr;  // or the window's figures per pod from Prometheus
  // Aggregated reads: per-series window statistics from Prometheus (quantiles at {0.5, idle_level, 0.95, 0.99}),
  // folded into each workload's WindowProfile; series of weighted (aggregated) telemetry are not sketched.
  const SeriesWindowStats* series_stats = nullptr;
  double idle_level = 0.9;
  // Exporter scrape target ("10.0.0.5:9400") or exporter pod ("gpu-operator/nvidia-dcgm-exporter-x") -> node name,
  // from endpoint discovery; the second join step.
  std::map<std::string, std::string> target_node;
  std::map<std::string, std::string> exporter_pod_node;
};

// A live view: one interval of interval_s starting at now (costs are per interval_s at the current state); a pod
// holds what it holds at now. `scrapes` may hold several scrapes (ScrapeWindow): their samples all fall in the one
// interval, so profiles have every sample and a device's holders are weighted by the scrapes that label them.
base::Result<model::Snapshot> BuildLiveSnapshot(const model::ClusterState& cluster, const RangeTelemetry& scrapes,
                                                std::int64_t now_unix_s, const SnapshotOptions& options);
// One scrape.
base::Result<model::Snapshot> BuildLiveSnapshot(const model::ClusterState& cluster, const prom::Telemetry& telemetry,
                                                std::int64_t now_unix_s, const SnapshotOptions& options);

// A window [start, end): every sample of `range` (its SignalSeries carry the pod each series names). `past_pods`
// are pods the API no longer has (from kube-state-metrics, source kKubeState), with lifetimes and requests.
base::Result<model::Snapshot> BuildRangeSnapshot(const model::ClusterState& cluster,
                                                 const std::vector<model::Pod>& past_pods,
                                                 const RangeTelemetry& range, std::int64_t start_unix_s,
                                                 std::int64_t end_unix_s, const SnapshotOptions& options);

// The owner a gone pod's name implies: "<deployment>-<rs hash>-<5>" -> Deployment, "<cronjob>-<minutes>-<5>" ->
// CronJob, "<job>-<5>" -> Job, "<statefulset>-<n>" -> StatefulSet. false when the name fits no pattern.
bool InferOwnerFromName(std::string_view pod_name, model::OwnerRef* owner);

}  // namespace gpuwise::observe
