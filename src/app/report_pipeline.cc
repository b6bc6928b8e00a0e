#include "app/report_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include "app/plan_render.h"
#include "observe/kube/cluster_reader.h"
#include "observe/kube/endpoint_discovery.h"
#include "observe/ksm_history.h"
#include "observe/metrics_source.h"
#include "observe/price_book_load.h"
#include "observe/prometheus_source.h"
#include "observe/scrape_window.h"
#include "observe/serving_telemetry.h"
#include "observe/snapshot_builder.h"
#include "observe/usage_profile.h"
#include "solve/cbc/cbc_solver.h"

namespace gpuwise::app {
namespace {

namespace kube = observe::kube;
namespace prom = observe::prom;

void Progress(const ReportConfig& c, std::string_view what) {
  if (c.progress) c.progress(what);
}

// The signals a report reads from Prometheus: compute (with its fallbacks), framebuffer, DRAM, tensor, power, PCIe.
std::vector<prom::Signal> ReportSignals() {
  return {prom::Signal::kSmActive,     prom::Signal::kGrEngineActive, prom::Signal::kGpuUtil,
          prom::Signal::kFbUsed,       prom::Signal::kFbFree,         prom::Signal::kDramActive,
          prom::Signal::kTensorActive, prom::Signal::kPower,          prom::Signal::kPcieTx,
          prom::Signal::kPcieRx};
}

// A live view: scrapes of the dcgm-exporter endpoints (found through the API unless given) and of the vLLM
// endpoints, in the same rounds, then the live snapshot.
// Pages of `urls` (as sources: the page's target comes from its URL); where proxy_paths[i] is not empty, the page is
// fetched through the API server's pods/proxy at that path instead (text format, as the pods serve it).
std::vector<prom::ScrapeResult> FetchPages(prom::Scraper& scraper, kube::KubeClient* client,
                                           const std::vector<std::string>& urls,
                                           const std::vector<std::string>& proxy_paths, int* proxied) {
  std::vector<std::string> direct;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (i >= proxy_paths.size() || proxy_paths[i].empty()) direct.push_back(urls[i]);
  }
  std::vector<prom::ScrapeResult> scraped = scraper.Scrape(direct), out;
  std::size_t next_direct = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (i >= proxy_paths.size() || proxy_paths[i].empty()) {
      out.push_back(std::move(scraped[next_direct++]));
      continue;
    }
    prom::ScrapeResult r;
    r.url = urls[i];
    ++*proxied;
    const auto t0 = std::chrono::steady_clock::now();
    base::Result<std::string> body = client->GetPath(proxy_paths[i], "get", "pods/proxy");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (body.ok()) {
      r.body = std::move(*body);
      r.format = prom::Format::kText;
    } else {
      r.status = body.status().Annotate("through the API server's pods/proxy " + proxy_paths[i]);
    }
    out.push_back(std::move(r));
  }
  return out;
}

base::Status ReadLive(const ReportConfig& config, base::Clock& clock, kube::KubeClient* client,
                      observe::SnapshotOptions snap, ReportRun& run) {
  observe::ServingByPod serving;
  std::vector<std::string> urls = config.scrape_urls, proxy_paths;
  std::vector<std::string> warnings;
  const bool proxied = config.via_api_proxy && client != nullptr;
  if (urls.empty()) {
    if (client == nullptr) return base::InvalidArgument("--scrape needs the cluster (to find dcgm-exporter) or endpoint URLs");
    Progress(config, "finding dcgm-exporter endpoints");
    ASSIGN_OR_RETURN(run.exporters, kube::DiscoverDcgmExporters(*client, {}, &warnings));
    for (const auto& e : run.exporters) {
      if (!e.ready) continue;
      urls.push_back(e.url);
      std::string path;
      const std::size_t colon = e.target.rfind(':');
      if (proxied && !e.pod.empty() && colon != std::string::npos) {
        path = kube::PodProxyPath(e.namespace_name, e.pod, std::atoi(e.target.c_str() + colon + 1), "/metrics");
      } else if (proxied) {
        warnings.push_back("dcgm-exporter " + e.url + ": no pod known, so not reachable through pods/proxy; scraped directly");
      }
      proxy_paths.push_back(std::move(path));
    }
    if (urls.empty()) return base::NotFound("no dcgm-exporter endpoint found in the cluster (Service or pods labelled app=nvidia-dcgm-exporter)");
  }
  snap.target_node = kube::NodeByTarget(run.exporters);
  for (const auto& e : run.exporters) {
    if (!e.pod.empty() && !e.node.empty()) snap.exporter_pod_node[e.namespace_name + "/" + e.pod] = e.node;
  }
  // Serving engines' own metrics (vLLM), scraped in the same rounds: KV-cache use, requests, tokens and latency.
  std::vector<kube::EngineEndpoint> engines;
  kube::DiscoveryOptions engine_discovery;
  engine_discovery.via_api_proxy = proxied;
  for (kube::EngineEndpoint& e : kube::EngineEndpoints(run.cluster, engine_discovery)) {
    if (e.engine == "vllm") engines.push_back(std::move(e));
  }
  std::vector<std::string> engine_urls, engine_paths;
  for (const auto& e : engines) {
    engine_urls.push_back(e.url);
    engine_paths.push_back(e.via_api_proxy ? e.url : "");
  }
  prom::Scraper scraper(config.scrape);
  observe::ScrapeWindow window;
  std::int64_t first_ms = 0;
  for (int k = 0; k < std::max(1, config.scrape_samples); ++k) {
    if (k > 0) {
      if (config.scrape_sleep) config.scrape_sleep(config.scrape_every);
      else clock.SleepFor(config.scrape_every);
    }
    Progress(config, "scraping " + std::to_string(urls.size()) + " endpoints (" + std::to_string(k + 1) + "/" +
                         std::to_string(std::max(1, config.scrape_samples)) + ")");
    const std::int64_t t_ms = config.scrape_time ? config.scrape_time() : clock.NowUnixMillis();
    if (k == 0) first_ms = t_ms;
    prom::DcgmTelemetryBuilder builder;
    int ok = 0;
    for (const prom::ScrapeResult& r : FetchPages(scraper, client, urls, proxy_paths, &run.proxied_pages)) {
      if (!r.status.ok()) {
        ++run.scrape_failures;
        warnings.push_back("scrape " + r.url + ": " + r.status.message());
        continue;
      }
      ++ok;
      builder.AddPage(r.body, r.format, r.url);
    }
    if (ok == 0) return base::Unavailable("every dcgm-exporter endpoint failed (" + std::to_string(urls.size()) + "); first: " + warnings.back());
    window.Add(builder.Finish(), t_ms);
    if (!engine_urls.empty()) {
      const std::vector<prom::ScrapeResult> pages = FetchPages(scraper, client, engine_urls, engine_paths, &run.proxied_pages);
      for (std::size_t i = 0; i < pages.size() && i < engines.size(); ++i) {
        if (!pages[i].status.ok()) {
          if (k == 0) warnings.push_back("serving metrics " + pages[i].url + ": " + pages[i].status.message());
          continue;
        }
        serving[{engines[i].namespace_name, engines[i].pod}].push_back(observe::ParseVllmPage(pages[i].body, t_ms));
      }
    }
  }
  snap.serving = &serving;
  observe::RangeTelemetry range = window.Take();
  run.telemetry_points = range.points_read;
  range.warnings.insert(range.warnings.end(), warnings.begin(), warnings.end());
  ASSIGN_OR_RETURN(run.snapshot, observe::BuildLiveSnapshot(run.cluster, range, first_ms / 1000, snap));
  run.snapshot.telemetry_source = "scrape of " + std::to_string(urls.size()) + " dcgm-exporter endpoints" +
                                  (proxied ? " through the API server's pods/proxy" : "") +
                                  (config.scrape_samples > 1 ? ", " + std::to_string(config.scrape_samples) + " times" : "");
  return base::Status::Ok();
}

// A window from Prometheus: telemetry (raw or aggregated), pods that are gone from kube-state-metrics, serving
// engines' counters, then the window snapshot.
base::Status ReadWindow(const ReportConfig& config, base::Clock& clock, observe::SnapshotOptions snap, ReportRun& run) {
  if (config.end_unix_s <= config.start_unix_s) return base::InvalidArgument("the window is empty");
  observe::PrometheusSource source(config.prometheus, clock);
  observe::RangeRequest request;
  request.start_ms = config.start_unix_s * 1000;
  request.end_ms = config.end_unix_s * 1000 - 1;
  request.step = config.step;
  request.signals = ReportSignals();
  request.progress = [&config](std::string_view what, std::size_t i, std::size_t n) {
    Progress(config, "reading " + std::string(what) + " from Prometheus (" + std::to_string(i + 1) + "/" + std::to_string(n) + ")");
  };
  bool aggregated = config.read_mode == ReportConfig::ReadMode::kAggregated;
  if (config.read_mode == ReportConfig::ReadMode::kAuto) {
    base::Result<std::int64_t> series = source.CountSeries(request);
    if (!series.ok()) return series.status().Annotate("counting series in Prometheus " + config.prometheus.base_url);
    const std::int64_t points = (request.end_ms - request.start_ms) / std::max<std::int64_t>(1, request.step.count()) + 1;
    aggregated = *series * points > config.raw_point_budget;
  }
  run.aggregated = aggregated;
  base::Result<observe::RangeTelemetry> range = base::Internal("unread");
  observe::SeriesWindowStats stats;
  if (aggregated) {
    if (config.interval_s % 60 != 0) return base::InvalidArgument("aggregated reads need an interval of whole minutes");
    request.signals = {prom::Signal::kSmActive, prom::Signal::kGrEngineActive, prom::Signal::kGpuUtil, prom::Signal::kFbUsed};
    // Every signal weighted by its own sample count: a device whose pod label changes within an interval has one
    // series per label, and their means only combine right when weighted.
    range = source.AggregateRange(request, std::chrono::seconds(config.interval_s), request.signals);
    if (range.ok()) {
      Progress(config, "window statistics from Prometheus");
      auto s = source.SeriesStats(request, ReportSignals(), {0.5, config.report.diagnosis.idle_share, 0.95, 0.99});
      if (!s.ok()) return s.status().Annotate("window statistics from Prometheus " + config.prometheus.base_url);
      stats = std::move(*s);
      range->requests += stats.requests;
      snap.series_stats = &stats;
      snap.idle_level = config.report.diagnosis.idle_share;
    }
  } else {
    range = source.Range(request);
  }
  if (!range.ok()) return range.status().Annotate("reading telemetry from Prometheus " + config.prometheus.base_url);
  run.telemetry_points = range->points_read;
  run.telemetry_requests = range->requests;
  std::vector<model::Pod> past;
  if (config.read_kube_state) {
    Progress(config, "reading kube-state-metrics history");
    prom::PromClient client_prom(config.prometheus, clock);
    base::Result<observe::KsmHistory> ksm = observe::ReadKsmHistory(client_prom, config.start_unix_s, config.end_unix_s);
    if (!ksm.ok()) {
      range->warnings.push_back("kube-state-metrics history unreadable: " + ksm.status().message());
    } else {
      run.telemetry_requests += ksm->requests;
      for (auto& w : ksm->warnings) range->warnings.push_back(std::move(w));
      past = std::move(ksm->pods);
    }
  }
  // Serving engines' counters, KV use and latency histograms over the window (pods by pod/namespace labels, else by
  // address).
  observe::ServingTotals serving_totals;
  {
    Progress(config, "reading serving-engine history");
    std::map<std::string, std::pair<std::string, std::string>> by_address;
    for (const model::Pod& p : run.cluster.pods) {
      if (!p.ip.empty()) by_address[p.ip] = {p.namespace_name, p.name};
    }
    for (const model::Pod& p : past) {
      if (!p.ip.empty()) by_address[p.ip] = {p.namespace_name, p.name};
    }
    prom::PromClient serving_client(config.prometheus, clock);
    int unmatched = 0;
    std::vector<std::string> serving_warnings;  // a latency histogram that could not be read
    auto totals = observe::ReadServingHistory(serving_client, config.start_unix_s, config.end_unix_s, by_address,
                                              &unmatched, &serving_warnings);
    for (std::string& w : serving_warnings) range->warnings.push_back(std::move(w));
    if (totals.ok()) {
      serving_totals = std::move(*totals);
      snap.serving_totals = &serving_totals;
      if (unmatched > 0) range->warnings.push_back(std::to_string(unmatched) + " serving-engine targets match no known pod");
    } else {
      range->warnings.push_back("serving-engine metrics unreadable: " + totals.status().message());
    }
  }
  Progress(config, "building the snapshot (devices, holders, intervals)");
  ASSIGN_OR_RETURN(run.snapshot, observe::BuildRangeSnapshot(run.cluster, past, *range, config.start_unix_s,
                                                             config.end_unix_s, snap));
  run.snapshot.telemetry_source = "prometheus " + config.prometheus.base_url +
                                  (aggregated ? " (aggregated: hourly means and counts, window quantiles per series)"
                                              : " (every sample)");
  return base::Status::Ok();
}

}  // namespace

base::Result<ReportRun> RunReport(const ReportConfig& config, base::Clock& clock) {
  ReportRun run;
  // Prices first: a bad price book is the cheapest error to report.
  if (config.price_book_path.empty()) {
    ASSIGN_OR_RETURN(run.prices, observe::DefaultPriceBook());
  } else {
    ASSIGN_OR_RETURN(run.prices, observe::LoadPriceBook(config.price_book_path));
  }

  // The cluster.
  std::unique_ptr<kube::KubeClient> client;
  if (config.use_cluster) {
    kube::RestConfig rest;
    if (config.rest_config) {
      rest = *config.rest_config;
    } else {
      ASSIGN_OR_RETURN(rest, kube::ResolveRestConfig(config.kubeconfig));
    }
    client = std::make_unique<kube::KubeClient>(rest, config.client, clock);
    kube::ReadOptions read;
    read.clock = &clock;
    read.progress = [&config](std::string_view stage, std::size_t done) {
      Progress(config, "reading " + std::string(stage) + ": " + std::to_string(done));
    };
    base::Result<model::ClusterState> state = kube::ReadCluster(*client, read);
    if (!state.ok()) return state.status().Annotate("reading the cluster from " + rest.server);
    run.cluster = std::move(*state);
  } else {
    run.cluster.source = "none (--no-cluster): nodes are unknown, so GPUs are counted but not priced";
  }

  observe::SnapshotOptions snap;
  snap.interval_s = config.interval_s;
  snap.team = config.team;
  snap.interval_sketches = config.interval_rollups;
  // The whole fleet is priced at once at each time (count-based commitments cover the first GPUs of the fleet): at
  // the window's end (a live view: now), and for a window at its start and every change point of the book.
  std::map<std::int64_t, std::map<std::string, model::NodePrice>> prices;  // time -> node -> price
  const std::int64_t price_time =
      config.source == TelemetrySource::kPrometheus ? config.end_unix_s - 1 : clock.NowUnixMillis() / 1000;
  std::vector<std::int64_t> times = {price_time};
  if (config.source == TelemetrySource::kPrometheus) {
    snap.price_changes = run.prices.ChangePoints(config.start_unix_s, config.end_unix_s);
    times.push_back(config.start_unix_s);
    times.insert(times.end(), snap.price_changes.begin(), snap.price_changes.end());
  }
  for (std::int64_t t : times) {
    const std::vector<model::NodePrice> priced = run.prices.PriceNodes(run.cluster.nodes, t);
    for (std::size_t i = 0; i < priced.size() && i < run.cluster.nodes.size(); ++i) prices[t][run.cluster.nodes[i].name] = priced[i];
  }
  snap.pricer = [&prices](const model::Node& node, std::int64_t at) {
    auto when = prices.upper_bound(at);
    if (when != prices.begin()) --when;
    auto it = when->second.find(node.name);
    if (it == when->second.end()) {
      observe::NodePriceQuote q;
      q.unpriced_reason = "not in the price book's fleet";
      return q;
    }
    return observe::NodePriceQuote::From(it->second);
  };

  if (config.source == TelemetrySource::kScrape) {
    RETURN_IF_ERROR(ReadLive(config, clock, client.get(), snap, run));
  } else {
    RETURN_IF_ERROR(ReadWindow(config, clock, snap, run));
  }
  Progress(config, "costs and report");
  analyze::CostOptions cost_options;
  cost_options.interval_rows = config.interval_rollups;
  run.ledger = analyze::ComputeCosts(run.snapshot, cost_options);
  analyze::ReportOptions report_options = config.report;
  report_options.prices = &run.prices;
  run.report = analyze::BuildReport(run.snapshot, run.ledger, report_options);
  if (config.recommend) {
    Progress(config, "planning");
    optimize::OptimizeInput in{run.snapshot, run.ledger, run.report, optimize::ResolvePolicies(run.snapshot),
                               optimize::RowsByWorkload(run.snapshot, run.report)};
    optimize::RecommendOptions ro = config.recommend_options;
    if (ro.created_unix_s == 0) ro.created_unix_s = clock.NowUnixMillis() / 1000;
    if (!ro.monotonic_nanos) ro.monotonic_nanos = [&clock] { return clock.MonotonicNanos(); };
    std::unique_ptr<optimize::MipSolver> cbc = solve::cbc::NewCbcSolver();
    in.solver = cbc.get();
    in.allow_strategy_change = config.allow_strategy_change;
    run.plan = optimize::BuildPlan(in, ro);
    RenderConfigMapTexts(run.cluster, run.plan);
  }
  return run;
}

}  // namespace gpuwise::app
