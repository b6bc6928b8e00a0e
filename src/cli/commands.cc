#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/time_parse.h"
#include "analyze/fail_on.h"
#include "analyze/focus.h"
#include "app/report_pipeline.h"
#include "store/rollup_store.h"
#include "cli/explain_workload.h"
#include "cli/focus_csv.h"
#include "cli/plan_view.h"
#include "cli/report_html.h"
#include "cli/report_view.h"
#include "cli/views.h"
#include "observe/kube/rbac.h"
#include "observe/prom/explain.h"
#include "observe/metrics_source.h"
#include "observe/prometheus_source.h"
#include "observe/usage_profile.h"
#include "optimize/optimizer.h"
#include "sim/cluster_server.h"
#include "sim/history.h"
#include "sim/scenario_gen.h"

namespace gpuwise::cli {
namespace {

namespace prom = observe::prom;

// ---- flags shared by commands ----

struct ScrapeFlags {
  std::string timeout = "10s";
  std::size_t max_body_bytes = 64u << 20;
  int concurrency = 8;
  std::string bearer_token_file;
  std::string ca_file;
  bool insecure = false;
};

void AddScrapeFlags(CLI::App* app, ScrapeFlags* f) {
  app->add_option("--timeout", f->timeout, "Per-endpoint request timeout (e.g. 10s)")->capture_default_str();
  app->add_option("--max-body-bytes", f->max_body_bytes, "Refuse pages larger than this")->capture_default_str();
  app->add_option("--concurrency", f->concurrency, "Endpoints scraped at once")->capture_default_str();
  app->add_option("--bearer-token-file", f->bearer_token_file, "File holding a bearer token (never logged)");
  app->add_option("--ca-file", f->ca_file, "PEM CA bundle to verify HTTPS endpoints");
  app->add_flag("--insecure-skip-tls-verify", f->insecure, "Do not verify TLS certificates (not recommended)");
}

base::Result<std::string> ReadSecretFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return base::InvalidArgument(std::string("cannot read ") + flag + " file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

base::Result<prom::ScrapeOptions> ToScrapeOptions(const ScrapeFlags& f) {
  prom::ScrapeOptions o;
  ASSIGN_OR_RETURN(auto timeout, base::ParseDuration(f.timeout));
  o.timeout = timeout;
  o.max_body_bytes = f.max_body_bytes;
  o.concurrency = f.concurrency;
  o.ca_file = f.ca_file;
  o.insecure_skip_verify = f.insecure;
  if (!f.bearer_token_file.empty()) {
    ASSIGN_OR_RETURN(o.bearer_token, ReadSecretFile(f.bearer_token_file, "--bearer-token-file"));
  }
  return o;
}

struct PromFlags {
  std::string url;
  std::vector<std::string> headers;
  std::string bearer_token_file;
  std::string user;
  std::string password_file;
  std::string ca_file;
  bool insecure = false;
  std::int64_t max_samples = 25'000'000;
  int concurrency = 4;
  std::string timeout = "110s";
};

void AddPromFlags(CLI::App* app, PromFlags* f, bool required) {
  auto* o = app->add_option("--prometheus", f->url, "Prometheus base URL, e.g. http://prometheus:9090 (also Thanos, Mimir, Cortex)");
  if (required) o->required();
  app->add_option("--prometheus-header", f->headers, "Extra header 'Name: value', repeatable (e.g. 'X-Scope-OrgID: team-a')");
  app->add_option("--prometheus-bearer-token-file", f->bearer_token_file,
                  "File holding a bearer token (or set GPUWISE_PROMETHEUS_TOKEN); never logged");
  app->add_option("--prometheus-user", f->user, "Basic-auth user");
  app->add_option("--prometheus-password-file", f->password_file, "File holding the basic-auth password");
  app->add_option("--prometheus-ca-file", f->ca_file, "PEM CA bundle to verify the server");
  app->add_flag("--prometheus-insecure-skip-tls-verify", f->insecure, "Do not verify TLS (not recommended)");
  app->add_option("--prometheus-max-samples", f->max_samples,
                  "Most samples one query may load; queries are sharded to stay under it (server default: 50M)")
      ->capture_default_str();
  app->add_option("--prometheus-concurrency", f->concurrency, "Queries in flight at once")->capture_default_str();
  app->add_option("--prometheus-timeout", f->timeout, "Per-request timeout (a stock server stops at 2m)")->capture_default_str();
}

base::Result<prom::PromClientOptions> ToPromOptions(const PromFlags& f) {
  prom::PromClientOptions o;
  if (f.url.rfind("http://", 0) != 0 && f.url.rfind("https://", 0) != 0) {
    return base::InvalidArgument("--prometheus must be an http:// or https:// URL, got '" + f.url + "'");
  }
  o.base_url = f.url;
  for (const std::string& h : f.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return base::InvalidArgument("--prometheus-header wants 'Name: value', got '" + h + "'");
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    o.extra_headers.emplace_back(h.substr(0, colon), value);
  }
  if (!f.bearer_token_file.empty()) {
    ASSIGN_OR_RETURN(o.bearer_token, ReadSecretFile(f.bearer_token_file, "--prometheus-bearer-token-file"));
  } else if (const char* env = std::getenv("GPUWISE_PROMETHEUS_TOKEN"); env && *env) {
    o.bearer_token = env;
  }
  o.basic_auth_user = f.user;
  if (!f.password_file.empty()) {
    ASSIGN_OR_RETURN(o.basic_auth_password, ReadSecretFile(f.password_file, "--prometheus-password-file"));
  }
  o.ca_file = f.ca_file;
  o.insecure_skip_verify = f.insecure;
  o.limits.max_samples = f.max_samples;
  o.concurrency = f.concurrency;
  ASSIGN_OR_RETURN(auto timeout, base::ParseDuration(f.timeout));
  o.request_timeout = timeout;
  return o;
}

int EmitOrFail(const GlobalFlags& g, std::string_view kind, const nlohmann::json& doc, const Table& table) {
  base::Status s = Emit(g.format, kind, doc, table, g.color, std::cout);
  if (!s.ok()) return Fail(s, kExitUsage);
  return kExitOk;
}

// ---- version ----

int RunVersion(const GlobalFlags& g) {
  Table t{{"VERSION", "API"}, {{"0.1.0", std::string(kApiVersion)}}, {}};
  return EmitOrFail(g, "Version", {{"version", "0.1.0"}}, t);
}

// ---- scrape ----

struct ScrapeArgs {
  std::vector<std::string> urls;
  ScrapeFlags flags;
} g_scrape;

// Scrapes every endpoint, logs each failure on stderr and lists every endpoint in *endpoints (for JSON).
// Fails only when every endpoint failed.
base::Result<prom::Telemetry> ScrapeAll(const std::vector<std::string>& urls, const prom::ScrapeOptions& options,
                                        std::vector<prom::ScrapeResult>* results, nlohmann::json* endpoints) {
  observe::ScrapeSource source(urls, options);
  auto telemetry = source.Current();
  *results = source.last_results();
  *endpoints = nlohmann::json::array();
  for (const auto& r : *results) {
    (*endpoints).push_back({{"url", r.url}, {"ok", r.status.ok()}, {"error", r.status.ok() ? "" : r.status.message()},
                            {"bytes", r.body.size()}, {"seconds", r.seconds}});
    if (!r.status.ok()) {
      LOG_ERROR << r.status.message();
    }
  }
  return telemetry;
}

int RunScrape(const GlobalFlags& g) {
  auto options = ToScrapeOptions(g_scrape.flags);
  if (!options.ok()) return Fail(options.status(), kExitUsage);
  std::vector<prom::ScrapeResult> results;
  nlohmann::json endpoints;
  auto telemetry = ScrapeAll(g_scrape.urls, *options, &results, &endpoints);
  if (!telemetry.ok()) return Fail(telemetry.status());
  Table table = TelemetryTable(*telemetry);
  table.notes = SignalHealthNotes(*telemetry);
  nlohmann::json doc = TelemetryJson(*telemetry);
  doc["endpoints"] = endpoints;
  int rc = EmitOrFail(g, "ScrapeReport", doc, table);
  if (rc != kExitOk) return rc;
  for (const auto& r : results) {
    if (!r.status.ok()) return kExitPartial;
  }
  return telemetry->entities.empty() ? Fail(base::NotFound("no dcgm-exporter GPU series on any endpoint")) : kExitOk;
}

// ---- query ----

struct QueryArgs {
  PromFlags prom;
  std::string window = "7d";
  std::string step = "30s";
  std::string end;
  std::vector<std::string> matchers;
  std::string mode = "auto";
  std::int64_t raw_point_limit = 20'000'000;
} g_query;

int RunQuery(const GlobalFlags& g) {
  auto options = ToPromOptions(g_query.prom);
  if (!options.ok()) return Fail(options.status(), kExitUsage);
  auto window = base::ParseDuration(g_query.window);
  if (!window.ok()) return Fail(window.status().Annotate("--window"), kExitUsage);
  auto step = base::ParseDuration(g_query.step);
  if (!step.ok()) return Fail(step.status().Annotate("--step"), kExitUsage);
  if (step->count() <= 0 || window->count() <= 0) return Fail(base::InvalidArgument("--window and --step must be positive"), kExitUsage);
  base::Clock& clock = base::SystemClock::Get();
  std::int64_t end = clock.NowUnixMillis();
  if (!g_query.end.empty()) {
    auto t = base::ParseTime(g_query.end);
    if (!t.ok()) return Fail(t.status().Annotate("--end"), kExitUsage);
    end = *t;
  }
  observe::PrometheusSource source(*options, clock);
  observe::RangeRequest request;
  request.end_ms = end;
  request.start_ms = end - window->count();
  request.step = *step;
  request.signals = observe::ProfileSignals();
  request.matchers = g_query.matchers;
  const bool show_progress = isatty(STDERR_FILENO) == 1;
  if (show_progress) {
    request.progress = [](std::string_view what, std::size_t i, std::size_t n) {
      std::cerr << "\r\033[K[" << (i + 1) << "/" << n << "] reading " << what << std::flush;
    };
  }
  LOG_INFO << "reading " << base::FormatDuration(*window) << " at " << base::FormatDuration(*step) << " from "
           << source.Describe();
  std::string mode = g_query.mode;
  if (mode != "auto" && mode != "raw" && mode != "pushdown") {
    return Fail(base::InvalidArgument("--mode must be auto, raw or pushdown, got '" + mode + "'"), kExitUsage);
  }
  if (mode == "auto") {
    // Raw reads every point (exact counts, gaps detected, mergeable sketches); past the point limit the
    // window statistics are pushed down to Prometheus instead.
    auto series = source.CountSeries(request);
    if (!series.ok()) return Fail(series.status().Annotate("querying " + g_query.prom.url));
    const std::int64_t points = *series * (window->count() / step->count() + 1);
    mode = points > g_query.raw_point_limit ? "pushdown" : "raw";
    LOG_INFO << *series << " series x " << (window->count() / step->count() + 1) << " points: " << mode << " mode";
  }
  std::vector<observe::EntityProfile> profiles;
  observe::RangeTelemetry range;
  if (mode == "raw") {
    auto r = observe::ReadProfiles(source, request, &range);
    if (!r.ok()) return Fail(r.status());
    profiles = std::move(*r);
  } else {
    auto p = source.PushdownProfiles(request);
    if (!p.ok()) return Fail(p.status().Annotate("querying " + g_query.prom.url));
    profiles = std::move(*p);
  }
  if (show_progress) std::cerr << "\r\033[K" << std::flush;
  Table table = ProfilesTable(profiles);
  std::string how = mode == "raw" ? std::to_string(range.points_read) + " points read, " +
                                        std::to_string(range.stale_dropped) +
                                        " repeated across gaps dropped (unknown, not repeated)"
                                  : "window statistics computed by Prometheus (pushdown)";
  table.notes.push_back("window " + base::FormatTime(request.start_ms) + " .. " + base::FormatTime(request.end_ms) +
                        ", step " + base::FormatDuration(*step) + "; " + how);
  table.notes.push_back(mode == "raw" ? "quantiles: 1% relative error (max and sample counts exact)"
                                      : "quantiles: exact, interpolated between ranks by Prometheus");
  table.notes.push_back(std::string("MIG: ") + std::string(prom::kMigAssumptionText));
  for (const auto& w : range.warnings) table.notes.push_back("prometheus warning: " + w);
  nlohmann::json doc = {{"source", source.Describe()},
                        {"mode", mode},
                        {"window", {{"start", base::FormatTime(request.start_ms)}, {"end", base::FormatTime(request.end_ms)},
                                    {"startMs", request.start_ms}, {"endMs", request.end_ms}, {"step", base::FormatDuration(*step)}}},
                        {"gpus", ProfilesJson(profiles)},
                        {"pointsRead", range.points_read},
                        {"staleDropped", range.stale_dropped},
                        {"missingValues", range.missing_values},
                        {"requests", range.requests},
                        {"warnings", range.warnings},
                        {"relativeAccuracy", mode == "raw" ? 0.01 : 0.0},
                        {"migAssumption", std::string(prom::kMigAssumptionText)}};
  int rc = EmitOrFail(g, "UsageReport", doc, table);
  if (rc != kExitOk) return rc;
  if (profiles.empty()) return Fail(base::NotFound("no dcgm-exporter series in the window (check --window, --match and that Prometheus scrapes dcgm-exporter)"));
  return kExitOk;
}

// ---- doctor ----

struct DoctorArgs {
  std::vector<std::string> urls;
  PromFlags prom;
  ScrapeFlags scrape;
} g_doctor;

// The latest values from either source, for doctor and explain. Returns an exit code: kExitOk, or the code of
// the error already printed.
struct CurrentRead {
  prom::Telemetry telemetry;
  nlohmann::json endpoints = nlohmann::json::array();
  bool partial = false;  // some endpoints failed
  std::string source;
};

int ReadCurrent(const char* command, const std::vector<std::string>& urls, const PromFlags& prom_flags,
                const ScrapeFlags& scrape_flags, CurrentRead* out) {
  if (!prom_flags.url.empty() && !urls.empty()) {
    return Fail(base::InvalidArgument("give either --prometheus or endpoint URLs, not both"), kExitUsage);
  }
  base::Result<prom::Telemetry> telemetry = base::Status(base::Code::kInternal, "unset");
  if (!prom_flags.url.empty()) {
    auto options = ToPromOptions(prom_flags);
    if (!options.ok()) return Fail(options.status(), kExitUsage);
    observe::PrometheusSource src(*options, base::SystemClock::Get());
    out->source = src.Describe();
    telemetry = src.Current();
  } else if (!urls.empty()) {
    auto options = ToScrapeOptions(scrape_flags);
    if (!options.ok()) return Fail(options.status(), kExitUsage);
    std::vector<prom::ScrapeResult> results;
    telemetry = ScrapeAll(urls, *options, &results, &out->endpoints);
    for (const auto& r : results) out->partial |= !r.status.ok();
    out->source = "scrape";
  } else {
    return Fail(base::InvalidArgument(std::string(command) + " needs --prometheus URL or dcgm-exporter endpoint URLs"),
                kExitUsage);
  }
  if (!telemetry.ok()) return Fail(telemetry.status());
  out->telemetry = std::move(*telemetry);
  return kExitOk;
}

int RunDoctor(const GlobalFlags& g) {
  CurrentRead read;
  if (int rc = ReadCurrent("doctor", g_doctor.urls, g_doctor.prom, g_doctor.scrape, &read); rc != kExitOk) return rc;
  const prom::Telemetry* telemetry = &read.telemetry;
  prom::DoctorReport report = prom::Diagnose(*telemetry);
  nlohmann::json doc = DoctorJson(report);
  doc["source"] = read.source;
  doc["endpoints"] = read.endpoints;
  doc["migAssumption"] = std::string(prom::kMigAssumptionText);
  int rc = EmitOrFail(g, "DoctorReport", doc, DoctorTable(report));
  if (rc != kExitOk) return rc;
  if (telemetry->entities.empty()) return Fail(base::NotFound("no dcgm-exporter GPU series found"));
  return read.partial ? kExitPartial : kExitOk;
}

// ---- explain ----

struct ExplainArgs {
  std::vector<std::string> urls;
  PromFlags prom;
  ScrapeFlags scrape;
  std::string gpu;
} g_explain;

int RunExplainWorkload(const GlobalFlags& g, const std::string& designator);

// A designator without ':' ("ns/name", "ns/Kind/name", "name") is a workload; host:port and URLs are exporters.
bool IsWorkloadDesignator(const std::string& arg) { return arg.find(':') == std::string::npos; }

int RunExplain(const GlobalFlags& g) {
  if (g_explain.urls.size() == 1 && IsWorkloadDesignator(g_explain.urls[0])) return RunExplainWorkload(g, g_explain.urls[0]);
  for (const std::string& u : g_explain.urls) {
    if (IsWorkloadDesignator(u)) {
      return Fail(base::InvalidArgument("explain: '" + u + "' looks like a workload; explain one workload at a time, or "
                                        "give dcgm-exporter endpoints (host:port or URLs)"), kExitUsage);
    }
  }
  CurrentRead read;
  if (int rc = ReadCurrent("explain", g_explain.urls, g_explain.prom, g_explain.scrape, &read); rc != kExitOk) return rc;
  const prom::Telemetry* telemetry = &read.telemetry;
  Table table{{"GPU", "TOPIC", "FACT"}, {}, {}};
  Table text;  // the table format: one block per GPU, easier to read than a three-column table

  nlohmann::json gpus = nlohmann::json::array();
  for (const prom::GpuEntity& e : telemetry->entities) {
    // --gpu matches a UUID (prefix), a node name, or node/index.
    const std::string& f = g_explain.gpu;
    if (!f.empty() && e.uuid.rfind(f, 0) != 0 && e.hostname != f && e.hostname + "/" + e.gpu_index != f) continue;
    prom::EntityExplanation x = prom::Explain(e);
    nlohmann::json facts = nlohmann::json::array();
    text.notes.push_back((text.notes.empty() ? "" : "\n") + x.subject);
    for (const auto& fact : x.facts) {
      text.notes.push_back("  " + fact.topic + ": " + fact.text);
      table.rows.push_back({x.subject, fact.topic, fact.text});
      facts.push_back({{"topic", fact.topic}, {"text", fact.text}});
    }
    gpus.push_back({{"subject", x.subject}, {"key", e.Key()}, {"facts", facts}});
  }
  if (gpus.empty()) {
    return Fail(base::NotFound(g_explain.gpu.empty() ? "no dcgm-exporter GPU series found"
                                                     : "no GPU matches --gpu '" + g_explain.gpu + "'"));
  }
  const int rc = EmitOrFail(g, "Explanation", {{"gpus", gpus}, {"migAssumption", std::string(prom::kMigAssumptionText)}},
                           g.format == OutputFormat::kTable ? text : table);
  return rc == kExitOk && read.partial ? kExitPartial : rc;
}

// ---- report ----

inline constexpr int kExitThreshold = 4;  // a --fail-on threshold was crossed (docs/cli.md)

struct ReportArgs {
  PromFlags prom;
  std::string window = "7d";
  std::string end;
  std::string step = "30s";
  bool scrape = false;
  std::vector<std::string> endpoints;
  bool via_api_proxy = false;
  int samples = 1;
  std::string every = "30s";
  std::string kubeconfig, context;
  bool no_cluster = false;
  std::vector<std::string> namespaces;
  bool all_namespaces = false;
  std::string selector;
  std::string price_book;
  std::vector<std::string> team_labels;
  std::string interval = "1h";
  analyze::DiagnosisOptions thresholds;
  std::size_t top = 10;
  std::vector<std::string> fail_on;
  std::string store;
  bool no_progress = false;
  std::string export_kind;          // "" | chargeback | focus
  std::string by = "team";
  std::string unallocated = "separate";
  bool whole_window = false;
  std::string billing_account = "kubernetes";
  std::string equivalence = "price";
  std::string read_mode = "auto";
} g_report, g_demo_report, g_explain_report;

// Progress on stderr, on a tty only, over one line.
std::function<void(std::string_view)> ProgressLine(bool enabled) {
  if (!enabled || isatty(STDERR_FILENO) != 1) return {};
  return [](std::string_view what) { std::cerr << "\r\033[K" << what << std::flush; };
}
void EndProgress() {
  if (isatty(STDERR_FILENO) == 1) std::cerr << "\r\033[K" << std::flush;
}

// Where a report reads from: Prometheus (with_prom: the --prometheus flags; explain has its own) or a scrape, the
// cluster, the price book, rollups.
void AddReportSourceFlags(CLI::App* app, ReportArgs* a, bool with_prom) {
  if (with_prom) AddPromFlags(app, &a->prom, false);
  app->add_option("--window", a->window, "With --prometheus: how far back to read (e.g. 24h, 7d)")->capture_default_str();
  app->add_option("--end", a->end, "With --prometheus: end of the window, RFC 3339 or Unix seconds (default: now)");
  app->add_option("--step", a->step, "With --prometheus: the scrape interval of the data (each sample read once)")
      ->capture_default_str();
  app->add_option("--read", a->read_mode,
                  "With --prometheus: raw (every sample: exact profiles), aggregated (hourly means and counts, and "
                  "window quantiles per series computed by Prometheus: few bytes), or auto (raw up to 20M points)")
      ->check(CLI::IsMember({"auto", "raw", "aggregated"}))
      ->capture_default_str();
  app->add_flag("--scrape", a->scrape, "Live view: scrape the dcgm-exporter endpoints now (found through the API)");
  app->add_option("--endpoint", a->endpoints, "With --scrape: a dcgm-exporter endpoint to scrape, repeatable (default: discovered)");
  app->add_flag("--via-api-proxy", a->via_api_proxy,
                "With --scrape, from outside the cluster network: reach the discovered dcgm-exporter and serving-engine "
                "pods through the API server's pods/proxy. Needs get on pods/proxy, which lets the holder send any GET "
                "to any pod (gpuwise rbac --print --pod-proxy); off by default for that reason");
  app->add_option("--kubeconfig", a->kubeconfig, "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)");
  app->add_option("--context", a->context, "kubeconfig context (default: current-context)");
  app->add_flag("--no-cluster", a->no_cluster, "Do not read the Kubernetes API (attribution from telemetry labels only; nothing priced)");
  app->add_option("--price-book", a->price_book, "Price book YAML or CSV (docs/pricing.md); default: the built-in example book");
}

void AddReportFlags(CLI::App* app, ReportArgs* a, bool demo) {
  if (!demo) {
    AddReportSourceFlags(app, a, true);
    app->add_option("--store", a->store, "Write hourly cost and usage rollups to this SQLite file (docs/store.md)");
  }
  app->add_option("--samples", a->samples, "Live view: scrapes to take, --every apart (profiles need several)")->capture_default_str();
  app->add_option("--every", a->every, "Live view: time between scrapes")->capture_default_str();
  app->add_option("-n,--namespace", a->namespaces, "Only these namespaces' workloads, repeatable (fleet figures stay cluster-wide)");
  app->add_flag("-A,--all-namespaces", a->all_namespaces, "Every namespace (the default)");
  app->add_option("-l,--selector", a->selector, "Only workloads whose pods match (k=v, k!=v, k, !k; comma-separated)");
  app->add_option("--team-label", a->team_labels, "Label key naming a team, read after gpuwise.io/team, repeatable (default: team)");
  app->add_option("--interval", a->interval, "Cost grid (rollups, day rows)")->capture_default_str();
  app->add_option("--compute-high", a->thresholds.compute_high, "p95 compute activity at or above: compute high")->capture_default_str();
  app->add_option("--fb-high", a->thresholds.fb_high, "p95 framebuffer share at or above: memory high")->capture_default_str();
  app->add_option("--dram-high", a->thresholds.dram_high, "p95 DRAM activity at or above (low compute): memory-bound")->capture_default_str();
  app->add_option("--idle-compute", a->thresholds.idle_compute, "A sample below this compute activity is idle")->capture_default_str();
  app->add_option("--idle-share", a->thresholds.idle_share, "Idle in at least this share of samples: an idle workload")->capture_default_str();
  app->add_option("--top", a->top, "Workloads in the top-wasters table")->capture_default_str();
  app->add_option("--fail-on", a->fail_on,
                  "Exit 4 when a threshold is crossed, repeatable: e.g. 'idle-cost-per-week>500', 'utilization<0.3' "
                  "(docs/report.md lists the metrics)");
  app->add_flag("--no-progress", a->no_progress, "No progress lines on stderr");
  app->add_option("--equivalence", a->equivalence,
                  "H100-equivalent GPU-hours by price ratio from the price book, or by dense BF16 TFLOPS")
      ->check(CLI::IsMember({"price", "tflops"}))
      ->capture_default_str();
  app->add_option("--export", a->export_kind,
                  "Instead of the report: 'chargeback' (showback rows, csv or json) or 'focus' (FOCUS 1.0 CSV; docs/focus.md)")
      ->check(CLI::IsMember({"chargeback", "focus"}));
  app->add_option("--by", a->by, "Chargeback dimension: team, namespace, workload, label:KEY or annotation:KEY")
      ->capture_default_str();
  app->add_option("--unallocated", a->unallocated,
                  "Chargeback: unallocated cost as its own row (separate) or spread over keys by their cost (proportional)")
      ->capture_default_str();
  app->add_flag("--whole-window", a->whole_window, "Chargeback: one row per key over the window instead of per UTC day");
  app->add_option("--billing-account", a->billing_account, "FOCUS BillingAccountId (the cluster's name)")->capture_default_str();
}

// Flags -> pipeline config (everything but the sources, which report and demo set differently).
base::Status FillReportConfig(const ReportArgs& a, app::ReportConfig* c) {
  ASSIGN_OR_RETURN(const auto interval, base::ParseDuration(a.interval));
  if (interval.count() < 60'000 || interval.count() % 60'000 != 0) return base::InvalidArgument("--interval must be whole minutes, at least 1m");
  c->interval_s = interval.count() / 1000;
  ASSIGN_OR_RETURN(c->scrape_every, base::ParseDuration(a.every));
  if (a.samples < 1 || a.samples > 10000) return base::InvalidArgument("--samples must be in 1..10000");
  c->scrape_samples = a.samples;
  if (!a.team_labels.empty()) c->team.label_keys = a.team_labels;
  c->report.diagnosis = a.thresholds;
  c->report.top = a.top;
  if (!a.all_namespaces) c->report.namespaces = a.namespaces;
  c->report.label_selector = a.selector;
  c->report.equivalence = a.equivalence == "tflops" ? model::EquivalenceMethod::kTflops : model::EquivalenceMethod::kPrice;
  if (!a.selector.empty()) RETURN_IF_ERROR(analyze::MatchesSelector({}, a.selector).status());
  for (const auto& t : {a.thresholds.compute_high, a.thresholds.fb_high, a.thresholds.dram_high, a.thresholds.idle_compute,
                        a.thresholds.idle_share}) {
    if (!(t >= 0 && t <= 1)) return base::InvalidArgument("thresholds are ratios in [0, 1]");
  }
  c->progress = ProgressLine(!a.no_progress);
  return base::Status::Ok();
}

// --store: hourly rollups (store/rollup_store, docs/store.md).
base::Status WriteStore(const std::string& path, const app::ReportRun& run) {
  ASSIGN_OR_RETURN(store::RollupStore db, store::RollupStore::Open(path, {}));
  store::RunInfo info;
  info.created_unix_s = base::SystemClock::Get().NowUnixMillis() / 1000;
  info.gpuwise_version = "0.1.0";
  ASSIGN_OR_RETURN(store::WriteCounts counts, db.WriteRollups(run.snapshot, run.ledger, info));
  std::cerr << "gpuwise: stored " << counts.cost_rows << " cost and " << counts.usage_rows << " usage rollups ("
            << counts.hours_written << " hours) in " << path << "\n";
  return base::Status::Ok();
}

// --export chargeback|focus: the ledger as rows instead of the report.
int EmitExport(const GlobalFlags& g, const ReportArgs& a, const app::ReportRun& run) {
  if (a.export_kind == "focus") {
    if (g.format != OutputFormat::kCsv && g.format != OutputFormat::kTable) {
      return Fail(base::InvalidArgument("--export focus is a CSV (FOCUS 1.0): use -o csv"), kExitUsage);
    }
    analyze::FocusOptions fo;
    fo.billing_account_id = a.billing_account;
    fo.currency = run.prices.currency();
    auto rows = analyze::FocusRows(run.snapshot, run.ledger, fo);
    if (!rows.ok()) return Fail(rows.status(), kExitUsage);
    std::cout << RenderCsv(FocusTable(*rows));
    return kExitOk;
  }
  analyze::ChargebackOptions co;
  if (base::Status s = analyze::ParseChargebackDimension(a.by, co); !s.ok()) return Fail(s, kExitUsage);
  auto mode = analyze::ParseUnallocatedMode(a.unallocated);
  if (!mode.ok()) return Fail(mode.status(), kExitUsage);
  co.unallocated = *mode;
  co.by_day = !a.whole_window;
  const std::vector<analyze::ChargebackRow> rows = analyze::Chargeback(run.snapshot, run.ledger, co);
  return EmitOrFail(g, "Chargeback", ChargebackJson(rows), ChargebackTable(rows, a.by));
}

int EmitReport(const GlobalFlags& g, const ReportArgs& a, const app::ReportRun& run) {
  if (!a.export_kind.empty()) return EmitExport(g, a, run);
  std::vector<analyze::FailOn> conditions;
  for (const std::string& e : a.fail_on) {
    auto f = analyze::ParseFailOn(e);
    if (!f.ok()) return Fail(f.status(), kExitUsage);
    conditions.push_back(*f);
  }
  const analyze::Report& r = run.report;
  if (g.format == OutputFormat::kHtml) {
    HtmlOptions html;
    html.plan = &run.plan;
    std::cout << ReportHtml(r, html);
  } else if (g.format == OutputFormat::kTable) {
    std::cout << ReportText(r, g.color, &run.plan);
  } else {
    int rc = EmitOrFail(g, "Report", ReportJson(r, &run.plan), ReportWorkloadTable(r));
    if (rc != kExitOk) return rc;
  }
  std::cout.flush();
  int rc = run.scrape_failures > 0 ? kExitPartial : kExitOk;
  for (const analyze::FailOnResult& f : analyze::EvaluateFailOn(r, conditions)) {
    std::cerr << "gpuwise: fail-on: " << f.message << "\n";
    if (f.failed) rc = kExitThreshold;
  }
  return rc;
}

// Flags -> config -> the pipeline, for `report` and `explain WORKLOAD`. Usage errors come back as InvalidArgument.
base::Result<app::ReportRun> RunReportFromFlags(const ReportArgs& a,
                                                const std::function<void(app::ReportConfig&)>& tweak = {}) {
  app::ReportConfig c;
  RETURN_IF_ERROR(FillReportConfig(a, &c));
  if (tweak) tweak(c);
  if (a.scrape == !a.prom.url.empty()) {
    return base::InvalidArgument("choose one source: --prometheus URL (a window) or --scrape (a live view)");
  }
  c.use_cluster = !a.no_cluster;
  c.kubeconfig.path = a.kubeconfig;
  c.kubeconfig.context = a.context;
  c.price_book_path = a.price_book;
  c.interval_rollups = !a.store.empty();
  if (a.scrape) {
    c.source = app::TelemetrySource::kScrape;
    for (const auto& u : a.endpoints) c.scrape_urls.push_back(prom::NormalizeScrapeUrl(u));
    if (a.via_api_proxy && a.no_cluster) return base::InvalidArgument("--via-api-proxy needs the cluster (not --no-cluster)");
    if (a.via_api_proxy && !a.endpoints.empty()) {
      return base::InvalidArgument("--via-api-proxy reaches discovered pods; --endpoint URLs are scraped directly");
    }
    c.via_api_proxy = a.via_api_proxy;
  } else {
    if (a.via_api_proxy) return base::InvalidArgument("--via-api-proxy is for --scrape (a live view); Prometheus is read directly");
    c.source = app::TelemetrySource::kPrometheus;
    ASSIGN_OR_RETURN(c.prometheus, ToPromOptions(a.prom));
    auto window = base::ParseDuration(a.window);
    auto step = base::ParseDuration(a.step);
    if (!window.ok() || !step.ok() || window->count() <= 0 || step->count() <= 0) {
      return base::InvalidArgument("--window and --step must be positive durations");
    }
    std::int64_t end_ms = base::SystemClock::Get().NowUnixMillis();
    if (!a.end.empty()) {
      auto t = base::ParseTime(a.end);
      if (!t.ok()) return t.status().Annotate("--end");
      end_ms = *t;
    }
    c.read_mode = a.read_mode == "raw"          ? app::ReportConfig::ReadMode::kRaw
                  : a.read_mode == "aggregated" ? app::ReportConfig::ReadMode::kAggregated
                                                : app::ReportConfig::ReadMode::kAuto;
    c.end_unix_s = end_ms / 1000;
    c.start_unix_s = c.end_unix_s - window->count() / 1000;
    c.step = *step;
  }
  auto run = app::RunReport(c, base::SystemClock::Get());
  EndProgress();
  if (!run.ok()) return run.status().code() == base::Code::kInvalidArgument ? run.status().Annotate("report") : run.status();
  return run;
}

int RunReport(const GlobalFlags& g) {
  auto run = RunReportFromFlags(g_report);
  if (!run.ok()) return Fail(run.status(), run.status().code() == base::Code::kInvalidArgument ? kExitUsage : kExitFailure);
  if (!g_report.store.empty()) {
    base::Status s = WriteStore(g_report.store, *run);
    if (!s.ok()) return Fail(s);
  }
  return EmitReport(g, g_report, *run);
}

int RunExplainWorkload(const GlobalFlags& g, const std::string& designator) {
  ReportArgs a = g_explain_report;
  a.prom = g_explain.prom;
  auto run = RunReportFromFlags(a);
  if (!run.ok()) return Fail(run.status(), run.status().code() == base::Code::kInvalidArgument ? kExitUsage : kExitFailure);
  auto w = FindWorkload(run->snapshot, designator);
  if (!w.ok()) return Fail(w.status(), kExitFailure);
  if (g.format == OutputFormat::kTable) {
    std::cout << ExplainWorkloadText(*run, *w);
    return kExitOk;
  }
  Table none;
  return EmitOrFail(g, "WorkloadExplanation", ExplainWorkloadJson(*run, *w), none);
}

// ---- recommend ----

struct RecommendArgs {
  std::string out_dir;
  std::vector<std::string> disable, only;
  bool list = false;
  bool allow_strategy_change = false;
} g_recommend;
ReportArgs g_recommend_report;

void AddRecommendFlags(CLI::App* app) {
  ReportArgs* a = &g_recommend_report;
  AddReportSourceFlags(app, a, true);
  app->add_option("--samples", a->samples, "Live view: scrapes to take, --every apart (profiles need several)")->capture_default_str();
  app->add_option("--every", a->every, "Live view: time between scrapes")->capture_default_str();
  app->add_option("-n,--namespace", a->namespaces, "Only act on these namespaces' workloads, repeatable");
  app->add_option("-l,--selector", a->selector, "Only act on workloads whose pods match (k=v, k!=v, k, !k; comma-separated)");
  app->add_option("--idle-compute", a->thresholds.idle_compute, "A sample below this compute activity is idle")->capture_default_str();
  app->add_option("--idle-share", a->thresholds.idle_share, "Idle in at least this share of samples: an idle workload")->capture_default_str();
  app->add_flag("--no-progress", a->no_progress, "No progress lines on stderr");
  app->add_option("--out-dir", g_recommend.out_dir,
                  "Also write the plan's patches and manifests here, with apply.sh (kubectl, in order) and plan.json");
  app->add_option("--disable", g_recommend.disable, "Skip this optimizer, repeatable (see --list-optimizers)");
  app->add_option("--only", g_recommend.only, "Run only this optimizer, repeatable");
  app->add_flag("--list-optimizers", g_recommend.list, "Print the optimizer table and exit");
  app->add_flag("--allow-strategy-change", g_recommend.allow_strategy_change,
                "Allow MIG layouts the nodes' MIG strategy does not advertise (single -> mixed, or MIG on nodes "
                "without a strategy): a cluster-wide change of the device plugin's flags, reported as such");
}

int RunRecommend(const GlobalFlags& g) {
  if (g_recommend.list) {
    Table t{{"OPTIMIZER", "DEFAULT", "WHAT IT DOES"}, {}, {}};
    nlohmann::json doc = nlohmann::json::array();
    for (const optimize::OptimizerEntry& e : optimize::Optimizers()) {
      t.rows.push_back({std::string(e.name), e.enabled_by_default ? "on" : "off", std::string(e.description)});
      doc.push_back({{"name", e.name}, {"enabledByDefault", e.enabled_by_default}, {"description", e.description}});
    }
    return EmitOrFail(g, "OptimizerList", {{"optimizers", doc}}, t);
  }
  std::set<std::string> known;
  for (const optimize::OptimizerEntry& e : optimize::Optimizers()) known.insert(std::string(e.name));
  for (const auto* names : {&g_recommend.disable, &g_recommend.only}) {
    for (const std::string& n : *names) {
      if (known.count(n) == 0) {
        return Fail(base::InvalidArgument("recommend: no optimizer named '" + n + "' (see --list-optimizers)"), kExitUsage);
      }
    }
  }
  ReportArgs a = g_recommend_report;
  a.all_namespaces = a.namespaces.empty();
  // -n/-l restrict the workloads the optimizers act on: the report rows they read are filtered the same way.
  auto run = RunReportFromFlags(a, [](app::ReportConfig& c) {
    c.recommend_options.disable.insert(g_recommend.disable.begin(), g_recommend.disable.end());
    c.recommend_options.only.insert(g_recommend.only.begin(), g_recommend.only.end());
    c.allow_strategy_change = g_recommend.allow_strategy_change;
  });
  if (!run.ok()) return Fail(run.status(), run.status().code() == base::Code::kInvalidArgument ? kExitUsage : kExitFailure);
  const model::Plan& plan = run->plan;
  if (!g_recommend.out_dir.empty()) {
    auto files = WritePlanFiles(plan, g_recommend.out_dir);
    if (!files.ok()) return Fail(files.status(), kExitUsage);
    std::cerr << "gpuwise: wrote " << *files << " files to " << g_recommend.out_dir << " (apply.sh applies them in order)\n";
  }
  int rc = kExitOk;
  if (g.format == OutputFormat::kTable) {
    std::cout << PlanText(plan, g.color);
  } else {
    rc = EmitOrFail(g, "Plan", PlanJson(plan), PlanTable(plan));
  }
  if (rc == kExitOk && run->scrape_failures > 0) rc = kExitPartial;
  return rc;
}

// ---- rbac ----

struct RbacArgs {
  bool print = false;
  bool pod_proxy = false;
  std::vector<std::string> owner_groups;
} g_rbac;

int RunRbac(const GlobalFlags& g) {
  if (!g_rbac.print) return Fail(base::InvalidArgument("rbac: use --print (gpuwise never creates RBAC objects itself)"), kExitUsage);
  observe::kube::RbacOptions o;
  o.pod_proxy = g_rbac.pod_proxy;
  o.extra_owner_groups = g_rbac.owner_groups;
  std::cout << observe::kube::ClusterRoleYaml(o);
  return kExitOk;
}

// ---- simulated cluster: sim and demo ----

struct SimArgs {
  std::string scenario = "demo";
  int gpus = 1000;
  std::string data_dir;
  std::int64_t seed = -1;
  double speed = 1;
  std::string start = "7d14h";
  bool ephemeral_ports = false;
  int address_block = 1;
  std::string prometheus_config;
  std::string run_for;
  bool serve = false;
  std::string history_dir;
  std::string history_days = "7d";
  std::string scrape_interval = "15s";
  bool kube_api = false;
  std::string kubeconfig;
  int kube_api_port = 0;
  bool plain_http = false;
} g_sim, g_demo;

volatile std::sig_atomic_t g_stop = 0;

// "demo" (built in), "synthetic" (--gpus), "openb" (from --data or ../shared/data), or a scenario YAML file.
base::Result<sim::Scenario> LoadScenario(const SimArgs& a) {
  base::Result<sim::Scenario> s = base::NotFound("");
  if (a.scenario == "demo") {
    s = sim::BuiltinScenario("demo");
  } else if (a.scenario == "synthetic") {
    if (a.gpus < 1 || a.gpus > 1000000) return base::InvalidArgument("--gpus must be in 1..1000000");
    s = sim::SyntheticScenario(a.gpus, a.seed >= 0 ? static_cast<std::uint64_t>(a.seed) : 1);
  } else if (a.scenario == "openb") {
    std::string dir = a.data_dir;
    if (dir.empty()) dir = "../shared/data";
    s = sim::OpenbScenario(dir + "/openb", "default", a.seed >= 0 ? static_cast<std::uint64_t>(a.seed) : 1);
  } else {
    std::ifstream in(a.scenario);
    if (!in) {
      return base::NotFound("--scenario '" + a.scenario +
                            "': not a built-in scenario (demo, synthetic, openb) and not a readable file");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    s = sim::ParseScenario(ss.str(), a.scenario);
  }
  if (s.ok() && a.seed >= 0) s->seed = static_cast<std::uint64_t>(a.seed);
  return s;
}

// --start: a duration after day 0 (the scenario's fixed Monday, 2026-11-16), or "now": day 0 becomes the Monday
// 00:00 UTC a week or two before the wall clock, so simulated time is the wall time (kubectl's client-side ages
// and a history backfill then line up with what is served live; the bytes then depend on the date).
base::Status ResolveStart(const std::string& text, double* start_s, sim::WorldOptions* wo) {
  if (text == "now") {
    const double now = static_cast<double>(base::SystemClock::Get().NowUnixMillis()) / 1000.0;
    const double day = std::floor(now / 86400.0);
    const double monday = (day - std::fmod(day + 3, 7.0)) * 86400.0;  // 1970-01-01 was a Thursday
    wo->epoch_unix_s = monday - 7 * 86400.0;
    *start_s = now - wo->epoch_unix_s;
    return base::Status::Ok();
  }
  base::Result<std::chrono::milliseconds> start = base::ParseDuration(text);
  if (!start.ok()) return start.status().Annotate("--start");
  *start_s = std::chrono::duration<double>(*start).count();
  return base::Status::Ok();
}

// The admin token of a plain-HTTP simulated API server: random per process (never logged; it is in the
// kubeconfig file only).
const std::string& SimAdminToken() {
  static const std::string token = [] {
    std::random_device rd;
    std::string t;
    for (int i = 0; i < 32; ++i) t += "0123456789abcdef"[rd() % 16];
    return t;
  }();
  return token;
}

// Writes the simulated API server's kubeconfig (a cluster-admin client certificate, or the admin token over plain
// HTTP) to `path`, mode 0600, and returns the path.
base::Result<std::string> WriteSimKubeconfig(sim::ClusterServer& server, const SimArgs& a) {
  sim::KubeApiServer* api = server.KubeApi();
  if (api == nullptr) return base::FailedPrecondition("the Kubernetes API is not served");
  ASSIGN_OR_RETURN(std::string text, api->Kubeconfig("gpuwise-sim-admin", {"system:masters"},
                                                    a.plain_http ? SimAdminToken() : ""));
  std::string path = a.kubeconfig;
  if (path.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    path = std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") + "/gpuwise-sim-" + std::to_string(::getpid()) + ".kubeconfig";
  }
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return base::Unavailable("cannot write the kubeconfig to '" + path + "'");
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) return base::Unavailable("cannot write the kubeconfig to '" + path + "'");
  return path;
}

base::Result<std::unique_ptr<sim::ClusterServer>> StartCluster(const SimArgs& a) {
  ASSIGN_OR_RETURN(sim::Scenario scenario, LoadScenario(a));
  if (!(a.speed > 0 && a.speed <= 1e6)) return base::InvalidArgument("--speed must be in (0, 1e6]");
  sim::WorldOptions wo;
  wo.address_block = a.address_block;
  double start_s = 0;
  RETURN_IF_ERROR(ResolveStart(a.start, &start_s, &wo));
  wo.horizon_s = start_s + 30 * 86400.0;
  ASSIGN_OR_RETURN(sim::World world, sim::BuildWorld(scenario, wo));
  sim::ClusterServerOptions co;
  co.start_s = start_s;
  co.speed = a.speed;
  co.ephemeral_ports = a.ephemeral_ports;
  co.data_dir = a.data_dir.empty() ? "../shared/data" : a.data_dir;
  co.kube_api = a.kube_api;
  co.kube_api_options.port = a.kube_api_port;
  co.kube_api_options.tls = !a.plain_http;
  if (a.plain_http) {
    // Plain HTTP has no client certificates: the kubeconfig carries a token of a cluster admin.
    co.kube_api_options.tokens[SimAdminToken()] = {"gpuwise-sim-admin", {"system:masters"}};
  }
  auto server = std::make_unique<sim::ClusterServer>(std::move(world), co);
  RETURN_IF_ERROR(server->Start());
  for (const std::string& note : server->Notes()) std::cerr << "gpuwise: note: " << note << "\n";
  return server;
}

Table EndpointTable(const std::vector<sim::Endpoint>& endpoints, nlohmann::json* doc) {
  Table t;
  t.columns = {"KIND", "NAMESPACE", "POD", "NODE", "URL"};
  for (const sim::Endpoint& e : endpoints) {
    t.rows.push_back({e.kind, e.namespace_name, e.pod, e.node, e.url()});
    doc->push_back({{"kind", e.kind}, {"namespace", e.namespace_name}, {"pod", e.pod}, {"node", e.node}, {"url", e.url()}});
  }
  return t;
}

// A Prometheus scrape config with one job per endpoint kind (static targets: the endpoints open now).
std::string ScrapeConfig(const std::vector<sim::Endpoint>& endpoints) {
  std::map<std::string, std::vector<std::string>> jobs;
  for (const sim::Endpoint& e : endpoints) jobs[e.kind].push_back(e.address + ":" + std::to_string(e.port));
  std::string out = "global:\n  scrape_interval: 15s\nscrape_configs:\n";
  for (const auto& [job, targets] : jobs) {
    out += "  - job_name: " + job + "\n    static_configs:\n      - targets:\n";
    for (const std::string& t : targets) out += "          - \"" + t + "\"\n";
  }
  return out;
}

void WaitForInterrupt(const std::string& run_for) {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  double limit_s = 1e18;
  if (!run_for.empty()) {
    if (auto d = base::ParseDuration(run_for); d.ok()) limit_s = std::chrono::duration<double>(*d).count();
  }
  const auto begin = std::chrono::steady_clock::now();
  while (!g_stop && std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < limit_s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// History mode: the scenario's past as OpenMetrics files, one per 2-hour window, for promtool.
int RunSimHistory(const GlobalFlags& g) {
  auto days = base::ParseDuration(g_sim.history_days);
  if (!days.ok()) return Fail(days.status().Annotate("--days"), kExitUsage);
  auto interval = base::ParseDuration(g_sim.scrape_interval);
  if (!interval.ok()) return Fail(interval.status().Annotate("--scrape-interval"), kExitUsage);
  sim::WorldOptions wo;
  wo.address_block = g_sim.address_block;
  double end_s = 0;
  if (base::Status st = ResolveStart(g_sim.start, &end_s, &wo); !st.ok()) return Fail(st, kExitUsage);
  auto scenario = LoadScenario(g_sim);
  if (!scenario.ok()) return Fail(scenario.status(), kExitUsage);
  wo.horizon_s = end_s + 86400;
  auto world = sim::BuildWorld(*scenario, wo);
  if (!world.ok()) return Fail(world.status(), kExitUsage);
  sim::HistoryOptions ho;
  ho.end_s = end_s;
  ho.start_s = end_s - std::chrono::duration<double>(*days).count();
  ho.scrape_interval_s = std::chrono::duration<double>(*interval).count();
  ho.data_dir = g_sim.data_dir.empty() ? "../shared/data" : g_sim.data_dir;
  const bool tty = isatty(STDERR_FILENO) == 1;
  int last_percent = -1;
  ho.progress = [&](double done) {
    const int percent = static_cast<int>(done * 100);
    if (!tty || percent == last_percent) return;
    last_percent = percent;
    std::cerr << "\rgpuwise sim: writing history " << percent << "%" << std::flush;
  };
  auto stats = sim::WriteHistoryToDir(*world, ho, g_sim.history_dir);
  if (tty) std::cerr << "\r\033[K";
  if (!stats.ok()) return Fail(stats.status());
  Table t;
  t.columns = {"DIR", "WINDOWS", "SAMPLES", "SERIES", "BYTES", "SCRAPES", "FAILED SCRAPES"};
  t.rows.push_back({g_sim.history_dir, std::to_string(stats->windows), std::to_string(stats->samples),
                    std::to_string(stats->series), std::to_string(stats->bytes), std::to_string(stats->scrapes),
                    std::to_string(stats->failed_scrapes)});
  t.notes.push_back("load it: for f in " + g_sim.history_dir + "/*.om; do promtool tsdb create-blocks-from openmetrics \"$f\" DATA_DIR; done");
  return EmitOrFail(g, "SimHistory",
                    {{"dir", g_sim.history_dir}, {"windows", stats->windows}, {"samples", stats->samples},
                     {"series", stats->series}, {"bytes", stats->bytes}, {"scrapes", stats->scrapes},
                     {"failedScrapes", stats->failed_scrapes}},
                    t);
}

int RunSim(const GlobalFlags& g) {
  if (!g_sim.history_dir.empty()) return RunSimHistory(g);
  if (!g_sim.run_for.empty() && !base::ParseDuration(g_sim.run_for).ok()) {
    return Fail(base::InvalidArgument("--for: not a duration: '" + g_sim.run_for + "'"), kExitUsage);
  }
  auto server = StartCluster(g_sim);
  if (!server.ok()) {
    const base::Code code = server.status().code();  // a bad scenario or flag is a usage error
    return Fail(server.status(), code == base::Code::kInvalidArgument || code == base::Code::kNotFound ? kExitUsage : kExitFailure);
  }
  const std::vector<sim::Endpoint> endpoints = (*server)->Endpoints();
  if (!g_sim.prometheus_config.empty()) {
    std::ofstream out(g_sim.prometheus_config);
    out << ScrapeConfig(endpoints);
    if (!out) return Fail(base::Unavailable("cannot write --prometheus-config '" + g_sim.prometheus_config + "'"));
  }
  nlohmann::json list = nlohmann::json::array();
  Table table = EndpointTable(endpoints, &list);
  const sim::World& world = (*server)->world();
  table.notes.push_back("scenario " + world.scenario.name + ": " + std::to_string(world.nodes.size()) + " nodes, " +
                        std::to_string((*server)->PodCount()) + " pods over the simulated window; simulated values, no GPU "
                        "was measured");
  nlohmann::json doc = {{"scenario", world.scenario.name}, {"simulatedTime", (*server)->SimulatedNow()}, {"endpoints", list}};
  if (g_sim.kube_api) {
    base::Result<std::string> path = WriteSimKubeconfig(**server, g_sim);
    if (!path.ok()) return Fail(path.status());
    doc["apiServer"] = (*server)->KubeApi()->url();
    doc["kubeconfig"] = *path;
    table.notes.push_back("Kubernetes API at " + (*server)->KubeApi()->url() + "; kubeconfig: " + *path +
                          "  (try: KUBECONFIG=" + *path + " kubectl get pods -A)");
  }
  const int rc = EmitOrFail(g, "SimEndpoints", doc, table);
  if (rc != kExitOk) return rc;
  std::cout.flush();
  std::cerr << "serving the simulated cluster until interrupted (Ctrl-C)\n";
  WaitForInterrupt(g_sim.run_for);
  (*server)->Stop();
  return kExitOk;
}

int RunDemo(const GlobalFlags& g) {
  // The API publishes the well-known ports (9400, 8000) as a cluster does, so endpoints keep them; the loopback
  // block is picked per process so the demo never collides with a running `gpuwise sim` (block 1) or another demo.
  g_demo.ephemeral_ports = false;
  if (g_demo.address_block == 1) g_demo.address_block = 20 + static_cast<int>(::getpid() % 50) * 4;
  g_demo.kube_api = true;         // the report reads the cluster through its API, as in production
  auto server = StartCluster(g_demo);
  if (!server.ok()) return Fail(server.status());
  sim::ClusterServer& cluster = **server;
  base::Result<std::string> kubeconfig = WriteSimKubeconfig(cluster, g_demo);
  if (!kubeconfig.ok()) return Fail(kubeconfig.status());
  const sim::World& world = cluster.world();
  std::cerr << "gpuwise demo: simulated cluster '" << world.scenario.name << "' with " << world.nodes.size()
            << " nodes; reading it through its Kubernetes API and dcgm-exporter endpoints (values are a model: no GPU "
               "is measured)\n";
  ReportArgs& a = g_demo_report;
  app::ReportConfig c;
  if (base::Status s = FillReportConfig(a, &c); !s.ok()) return Fail(s, kExitUsage);
  c.source = app::TelemetrySource::kScrape;
  c.kubeconfig.path = *kubeconfig;
  const double epoch = world.options.epoch_unix_s;
  c.scrape_time = [&cluster, epoch] { return static_cast<std::int64_t>((epoch + cluster.SimulatedNow()) * 1000.0); };
  const double speed = g_demo.speed;
  c.scrape_sleep = [speed](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(static_cast<double>(d.count()) / speed));
  };
  auto run = app::RunReport(c, base::SystemClock::Get());
  EndProgress();
  if (!run.ok()) return Fail(run.status());
  int rc = EmitReport(g, a, *run);
  if (rc == kExitOk || rc == kExitThreshold) {
    if (!g_demo.serve) return rc;
    std::cerr << "serving until interrupted (Ctrl-C); try: KUBECONFIG=" << *kubeconfig << " kubectl get pods -A\n";
    WaitForInterrupt(g_demo.run_for);
  }
  cluster.Stop();
  std::remove(kubeconfig->c_str());
  return rc;
}

void AddScenarioFlags(CLI::App* app, SimArgs* a) {
  app->add_option("--scenario", a->scenario, "demo, synthetic (with --gpus), openb (with --data), or a scenario YAML file")
      ->capture_default_str();
  app->add_option("--gpus", a->gpus, "GPUs of the synthetic scenario")->capture_default_str();
  app->add_option("--data", a->data_dir,
                  "The shared data folder holding openb/ and the traffic traces (default ../shared/data)");
  app->add_option("--seed", a->seed, "Override the scenario's seed (same scenario + seed = same bytes)");
  app->add_option("--start", a->start,
                  "Simulated time to start at, after day 0 (a Monday) 00:00, e.g. 7d14h; or 'now': simulated time is "
                  "the wall time (UTC)")
      ->capture_default_str();
  app->add_option("--speed", a->speed, "Simulated seconds per wall-clock second")->capture_default_str();
  app->add_option("--for", a->run_for, "Stop after this long (wall clock), e.g. 10m; default: until interrupted");
}

}  // namespace

int Fail(const base::Status& status, int code) {
  if (isatty(STDERR_FILENO) == 1) std::cerr << "\r\033[K";  // over any progress line
  std::cerr << "gpuwise: error: " << status.message() << "\n";
  return code;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"demo", "Start the simulated GPU cluster in-process, read it through gpuwise's real clients, report, exit",
       "Builds the built-in demo cluster (64 GPUs on 10 nodes: H100 with MIG, A100 80GB, A100 40GB with a HAMi-like\n"
       "backend, time-sliced L4s; inference, training, notebooks, batch, forgotten endpoints), serves its Kubernetes\n"
       "API and each pod's endpoint on its own loopback address, and runs `gpuwise report` on it with the same\n"
       "clients a real cluster uses: 12 scrapes 30 simulated seconds apart, then the report. The values are a model:\n"
       "no GPU is measured.\n\n"
       "Example:\n  gpuwise demo\n  gpuwise demo -o json\n  gpuwise demo --serve      # keep the cluster up for other tools",
       [](CLI::App* app) {
         g_demo.speed = 120;         // 12 scrapes 30 simulated seconds apart take 3 s
         g_demo_report.samples = 12;
         AddScenarioFlags(app, &g_demo);
         app->add_flag("--serve", g_demo.serve, "Keep serving the simulated cluster until interrupted");
         AddReportFlags(app, &g_demo_report, true);
       },
       RunDemo},
      {"recommend", "What to change to free GPUs, as a plan of typed actions with savings, risks and disruption",
       "Reads the same sources as `report` (the cluster, telemetry over a window or a live scrape, prices), runs the\n"
       "optimizer table (--list-optimizers) and prints the plan: each action's target, change, reason, evidence,\n"
       "risk, disruption and how to revert it, in dependency order. Savings are computed once for the whole plan by\n"
       "re-applying every action to the cluster as the scheduler and device plugin would (docs/recommend.md): GPUs and\n"
       "nodes that end with no pod, at their price. Nothing is changed in the cluster: --out-dir writes the patches,\n"
       "manifests and an ordered apply.sh to review. Exit codes: 0 ok, 1 failure, 2 usage, 3 some endpoints failed.\n\n"
       "Example:\n  gpuwise recommend --prometheus http://prometheus:9090 --window 7d\n"
       "  gpuwise recommend --scrape --samples 10 --every 30s --out-dir plan/ -o json",
       [](CLI::App* app) { AddRecommendFlags(app); },
       RunRecommend},
      {"report", "Which workloads hold GPUs they do not use, what it costs, who owns it: attribution, cost, diagnosis",
       "Reads the cluster through the Kubernetes API (kubeconfig as kubectl reads it, or in-cluster), GPU telemetry\n"
       "from Prometheus over a window (--prometheus, with kube-state-metrics for pods that are gone) or by scraping\n"
       "the dcgm-exporter endpoints now (--scrape), prices every node from the price book, and prints the fleet's\n"
       "spend in three buckets (used, allocated-idle, unallocated), the top wasters with their state (the four-state\n"
       "SM x framebuffer diagnosis) and action, showback by team, the attribution classes, findings and signal health.\n"
       "Money is exact to the micro-dollar (docs/cost.md). Exit codes: 0 ok, 1 failure, 2 usage, 3 some endpoints\n"
       "failed, 4 a --fail-on threshold was crossed.\n\n"
       "Example:\n  gpuwise report --prometheus http://prometheus:9090 --window 7d\n"
       "  gpuwise report --scrape --samples 10 --every 30s -n ml\n"
       "  gpuwise report --prometheus http://prom:9090 -o html > gpu-report.html\n"
       "  gpuwise report --prometheus http://prom:9090 --fail-on 'idle-cost-per-week>500'",
       [](CLI::App* app) { AddReportFlags(app, &g_report, false); },
       RunReport},
      {"sim", "Serve a simulated GPU cluster: dcgm-exporter, vLLM and kube-state-metrics endpoints on loopback",
       "Lays out a scenario's nodes and pods, gives every pod its own loopback address (dcgm-exporter pods on\n"
       "127.1.x.y:9400, vLLM pods on 127.2.x.y:8000, kube-state-metrics on 127.4.0.1:8080), prints the endpoints\n"
       "and serves them until interrupted, with a Kubernetes API server (HTTPS, generated CA) that kubectl works\n"
       "against: it writes a kubeconfig and prints its path. Controllers and a scheduler make API changes happen:\n"
       "scale a Deployment and pods start (after a model server's cold start), their endpoints open and the\n"
       "telemetry follows. Same scenario and seed, same bytes.\n\n"
       "With --history DIR it writes the scenario's past instead (dcgm, vLLM and kube-state-metrics series with\n"
       "timestamps, one OpenMetrics file per 2-hour window) for `promtool tsdb create-blocks-from openmetrics`.\n\n"
       "Example:\n  gpuwise sim --scenario demo\n  gpuwise sim --scenario synthetic --gpus 10000 --ephemeral-ports\n"
       "  gpuwise sim --scenario my-cluster.yaml --speed 60 --prometheus-config prom.yml\n"
       "  gpuwise sim --scenario demo --history /tmp/history --days 2d",
       [](CLI::App* app) {
         AddScenarioFlags(app, &g_sim);
         app->add_flag("--ephemeral-ports", g_sim.ephemeral_ports,
                       "Let the OS pick each endpoint's port (several sims at once); the endpoint list has them");
         app->add_option("--address-block", g_sim.address_block,
                         "Second octet of the loopback blocks (127.<b>.x.y exporters, <b+1> serving pods, ...)")
             ->capture_default_str();
         app->add_option("--prometheus-config", g_sim.prometheus_config,
                         "Write a Prometheus scrape config for the endpoints to this file");
         app->add_option("--history", g_sim.history_dir,
                         "Instead of serving: write the --days before --start as OpenMetrics files (one per 2 h) here");
         app->add_option("--days", g_sim.history_days, "History mode: how far back, e.g. 7d or 36h")->capture_default_str();
         app->add_option("--scrape-interval", g_sim.scrape_interval, "History mode: time between scrapes")
             ->capture_default_str();
         g_sim.kube_api = true;
         app->add_flag("!--no-kube-api", g_sim.kube_api,
                       "Do not serve the Kubernetes API (by default it is served, with its controllers and scheduler)");
         app->add_option("--kubeconfig", g_sim.kubeconfig,
                         "Where to write the kubeconfig for the API (default: $TMPDIR/gpuwise-sim-<pid>.kubeconfig)");
         app->add_option("--kube-api-port", g_sim.kube_api_port, "Port of the API server on 127.0.0.1 (0: the OS picks)")
             ->capture_default_str();
         app->add_flag("--plain-http", g_sim.plain_http,
                       "Serve the API over plain HTTP with a bearer token instead of HTTPS with a generated CA");
       },
       RunSim},
      {"scrape", "Scrape dcgm-exporter endpoints: normalised values per GPU and MIG instance, and signal health",
       "Fetches each endpoint (host:port or a URL), parses the page and prints one row per GPU or MIG instance in\n"
       "canonical units. Compute activity names its source: SM_ACTIVE, else GR_ENGINE_ACTIVE (upper bound), else\n"
       "GPU_UTIL (coarse; never on MIG). A missing signal prints 'unknown', never 0.\n\n"
       "Example:\n  gpuwise scrape node-1:9400 https://node-2:9400/metrics --ca-file ca.pem -o json",
       [](CLI::App* app) {
         app->add_option("urls", g_scrape.urls, "dcgm-exporter endpoints")->required();
         AddScrapeFlags(app, &g_scrape.flags);
       },
       RunScrape},
      {"query", "Per-GPU p50/p95/p99/max of compute, framebuffer, DRAM and power over a window, from Prometheus",
       "Reads dcgm-exporter history from Prometheus with query_range (chunked to 11,000 points, sharded under\n"
       "--prometheus-max-samples, --prometheus-concurrency in flight), drops the values Prometheus repeats across\n"
       "gaps, and sketches each series (1% relative error; max and counts exact). Set --step to the scrape interval.\n\n"
       "Example:\n  gpuwise query --prometheus http://prometheus:9090 --window 7d --step 30s\n"
       "  gpuwise query --prometheus https://mimir/prometheus --prometheus-header 'X-Scope-OrgID: ml' --match 'Hostname=\"gpu-node-3\"'",
       [](CLI::App* app) {
         AddPromFlags(app, &g_query.prom, true);
         app->add_option("--window", g_query.window, "How far back to read (e.g. 24h, 7d, 4w)")->capture_default_str();
         app->add_option("--step", g_query.step, "Resolution; use the scrape interval so each sample is read once")->capture_default_str();
         app->add_option("--end", g_query.end, "End of the window: RFC 3339 or Unix seconds (default: now)");
         app->add_option("--match", g_query.matchers, "Extra PromQL label matcher, repeatable, e.g. 'Hostname=\"n1\"'");
         app->add_option("--mode", g_query.mode,
                         "raw: read every point and sketch it (exact counts, gaps found); pushdown: Prometheus computes "
                         "the statistics (fewest bytes); auto: raw up to --raw-point-limit points, else pushdown")
             ->capture_default_str();
         app->add_option("--raw-point-limit", g_query.raw_point_limit, "auto mode: most points to read raw")->capture_default_str();
       },
       RunQuery},
      {"doctor", "Check which GPU signals are missing per node and print how to enable them",
       "Reads the latest values from Prometheus (--prometheus) or from dcgm-exporter endpoints, and lists per node\n"
       "the signals gpuwise needs that are absent, what gpuwise does meanwhile, the exact counters-CSV line to add,\n"
       "and the dcgm-exporter / GPU Operator setting that ships it.\n\n"
       "Example:\n  gpuwise doctor --prometheus http://prometheus:9090\n  gpuwise doctor node-1:9400 node-2:9400",
       [](CLI::App* app) {
         app->add_option("urls", g_doctor.urls, "dcgm-exporter endpoints (instead of --prometheus)");
         AddPromFlags(app, &g_doctor.prom, false);
         AddScrapeFlags(app, &g_doctor.scrape);
       },
       RunDoctor},
      {"explain", "Explain a workload's numbers (evidence and rules), or how gpuwise reads each GPU",
       "For each GPU and MIG instance (or the ones --gpu selects): which exported metric each number came from and\n"
       "why (the compute fallback chain), every unknown signal and its reason (not exported, a DCGM blank,\n"
       "GPU-level only), the MIG assumption with its worked number, and the pods the GPU is attributed to.\n\n"
       "With a workload (ns/name, ns/Kind/name or a unique name) instead of endpoints: runs the report's pipeline\n"
       "(--prometheus with --window, or --scrape) and prints everything behind that workload's numbers: owners and\n"
       "attribution, team and class rules, gpuwise.io/ policy, each device it held and how that was known, its\n"
       "usage percentiles (of exporter samples) and their source, every diagnosis rule with the thresholds, and the\n"
       "money with a worked line.\n\n"
       "Example:\n  gpuwise explain node-1:9400 --gpu GPU-58e8f5ea\n  gpuwise explain --prometheus http://prometheus:9090 --gpu gpu-node-3/0\n"
       "  gpuwise explain search/bge-reranker --prometheus http://prometheus:9090 --window 7d\n"
       "  gpuwise explain ml/Deployment/chat --scrape --samples 10",
       [](CLI::App* app) {
         app->add_option("urls", g_explain.urls, "dcgm-exporter endpoints (instead of --prometheus), or one workload");
         app->add_option("--gpu", g_explain.gpu, "A UUID (or its prefix), a node name, or node/index");
         AddPromFlags(app, &g_explain.prom, false);
         AddScrapeFlags(app, &g_explain.scrape);
         AddReportSourceFlags(app, &g_explain_report, false);
         app->add_option("--samples", g_explain_report.samples, "Workload, live view: scrapes to take")->capture_default_str();
         app->add_option("--every", g_explain_report.every, "Workload, live view: time between scrapes")->capture_default_str();
       },
       RunExplain},
      {"rbac", "Print the least-privilege ClusterRole (and binding) for what gpuwise reads",
       "Prints, as YAML to apply with kubectl, a ServiceAccount-bound ClusterRole with exactly the verbs and resources\n"
       "gpuwise reads (nodes, namespaces, pods, their owners up the chain, dcgm-exporter Services and EndpointSlices),\n"
       "each rule commented with why. --pod-proxy adds pods/proxy, which gpuwise needs only to scrape serving engines\n"
       "from outside the cluster; it is sensitive (it lets the holder send HTTP to any pod port), so it is opt-in.\n\n"
       "Example:\n  gpuwise rbac --print | kubectl apply -f -",
       [](CLI::App* app) {
         app->add_flag("--print", g_rbac.print, "Print the ClusterRole YAML");
         app->add_flag("--pod-proxy", g_rbac.pod_proxy, "Include pods/proxy (sensitive; see the help)");
         app->add_option("--owner-group", g_rbac.owner_groups,
                         "Another API group whose custom resources own GPU pods (get on its resources), repeatable");
       },
       RunRbac},
      {"version", "Print the gpuwise version", "Example:\n  gpuwise version -o json", [](CLI::App*) {}, RunVersion},
  };
  return kCommands;
}

}  // namespace gpuwise::cli
