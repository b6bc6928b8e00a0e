// The report pipeline: the one path from sources to a Report, used by `gpuwise report`, `gpuwise demo` and the
// end-to-end tests. Reads the cluster through the Kubernetes API (observe/kube), telemetry by scraping the
// dcgm-exporter endpoints (found through the API, or given) or from Prometheus over a window (with
// kube-state-metrics for pods that are gone), prices nodes with the price book, builds the snapshot, the cost
// ledger and the report. Wiring only: every decision lives in observe/, analyze/ and model/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analyze/cost.h"
#include "analyze/report.h"
#include "base/clock.h"
#include "base/status.h"
#include "model/annotations.h"
#include "model/cluster.h"
#include "model/plan.h"
#include "model/price_book.h"
#include "model/snapshot.h"
#include "observe/kube/endpoint_discovery.h"
#include "observe/kube/kube_client.h"
#include "observe/kube/rest_config.h"
#include "observe/prom/prom_client.h"
#include "observe/prom/scraper.h"
#include "optimize/optimizer.h"

namespace gpuwise::app {

enum class TelemetrySource { kScrape, kPrometheus };

struct ReportConfig {
  // The cluster. rest_config, when set, is used as is (the demo); else kubeconfig is resolved as kubectl does.
  bool use_cluster = true;
  std::optional<observe::kube::RestConfig> rest_config;
  observe::kube::KubeconfigOptions kubeconfig;
  observe::kube::KubeClientOptions client;
  // Telemetry.
  TelemetrySource source = TelemetrySource::kScrape;
  std::vector<std::string> scrape_urls;     // empty: the dcgm-exporter endpoints found through the API
  observe::prom::ScrapeOptions scrape;
  int scrape_samples = 1;                   // scrapes of a live view, `scrape_every` apart
  // Live view from outside the cluster network: scrape discovered dcgm-exporter and serving-engine pods through the
  // API server's pods/proxy (needs `get` on pods/proxy: `gpuwise rbac --print --pod-proxy`, sensitive).
  bool via_api_proxy = false;
  std::chrono::milliseconds scrape_every{30'000};
  // Unix ms a scrape is taken at (the demo's simulated clock); default: the clock's now.
  std::function<std::int64_t()> scrape_time;
  // Sleeps between scrapes (the demo advances its simulated cluster); default: the clock's SleepFor.
  std::function<void(std::chrono::milliseconds)> scrape_sleep;
  observe::prom::PromClientOptions prometheus;
  std::int64_t start_unix_s = 0, end_unix_s = 0;   // the Prometheus window
  std::chrono::milliseconds step{30'000};          // the scrape interval of the data in Prometheus
  bool read_kube_state = true;
  // How a window is read. Raw: every sample (query_range at `step`): exact profiles, many bytes. Aggregated: per
  // series and interval the mean and sample count (the ledger is the same), profiles from per-series window
  // quantiles computed by Prometheus (an upper bound for workloads with several series). Auto: raw while
  // series x points stays under raw_point_budget.
  enum class ReadMode { kAuto, kRaw, kAggregated } read_mode = ReadMode::kAuto;
  std::int64_t raw_point_budget = 20'000'000;
  // Pricing and analysis.
  std::string price_book_path;              // "" = the built-in example book
  std::int64_t interval_s = 3600;
  model::TeamOptions team;
  analyze::ReportOptions report;
  bool interval_rollups = false;            // per-interval rows and sketches, for --store
  // Progress lines for stderr ("reading pods: 1200"), optional.
  std::function<void(std::string_view)> progress;
  // After the report: the plan of every enabled optimizer (optimize/optimizer.h) and its savings, for `recommend`
  // and the report's recoverable waste.
  bool recommend = true;
  optimize::RecommendOptions recommend_options;
  bool allow_strategy_change = false;       // MIG layouts the node's MIG strategy does not advertise (cluster-wide)
};

struct ReportRun {
  model::ClusterState cluster;
  std::vector<observe::kube::ExporterEndpoint> exporters;
  model::PriceBook prices;
  model::Snapshot snapshot;
  analyze::CostLedger ledger;
  analyze::Report report;
  model::Plan plan;                         // when ReportConfig::recommend
  int scrape_failures = 0;                  // endpoints that failed (the rest is used)
  int proxied_pages = 0;                    // pages fetched through the API server's pods/proxy
  std::int64_t telemetry_points = 0;
  int telemetry_requests = 0;
  bool aggregated = false;                  // the window was read aggregated (see ReportConfig::read_mode)
};

// Errors: the cluster unreadable (with use_cluster), no telemetry at all (every endpoint failed, Prometheus down),
// a bad price book. Partial failures are warnings in the report.
base::Result<ReportRun> RunReport(const ReportConfig& config, base::Clock& clock);

}  // namespace gpuwise::app
