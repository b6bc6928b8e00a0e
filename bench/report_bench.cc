// report_bench: the two benchmarks of issue 5 for `gpuwise report` (app::RunReport) over a multi-day window.
//
//   report_bench fake [--gpus 10000] [--days 7] [--interval 30] [--seed 1] [--no-cluster] [--both]
//                     [--read auto|raw|aggregated] [--ksm-alone] [--timeout 900] [--perf FILE] [--verbose]
//     A synthetic fleet (sim::SyntheticScenario) served by the loopback FakePrometheus, which enforces a stock
//     server's limits (11,000 points per series, 50,000,000 samples per query) and computes the fleet's week of
//     history on demand (procedural series: the dcgm-exporter series of every GPU and MIG instance, labelled with
//     the pod that held it, and the kube-state-metrics series of every pod of the window). Measures gpuwise's wall
//     time, its peak RSS and the bytes it fetched (as sent by the server: gzip, headers included). Goals: < 30 s,
//     < 1 GiB, < 300 MB. Nodes and pods come from the simulated Kubernetes API (seeded at the window's end);
//     --no-cluster skips it, --both measures with and without.
//
//   report_bench prometheus [--gpus 1000] [--days D] [--interval 30] [--seed 1] [--no-cluster] [--both]
//                           [--keep DIR (a finished backfill there is reused)]
//                           [--read auto|raw|aggregated] [--timeout 3600] [--perf FILE] [--verbose]
//     The same fleet's history written by history mode (sim/history.h), backfilled window by window with
//     promtool into a real Prometheus (Debian's), which logs every query (query_log_file). gpuwise's wall time
//     against the sum of Prometheus's own execTotalTime over the report's queries; goal <= 1.5x. --days defaults
//     to $BENCH_HISTORY_DAYS, else 1 (about 20 minutes on a shared 2-vCPU VM, most of it promtool; 7 days about
//     2 hours and 94 GB of OpenMetrics per day written and deleted window by window).
//
// Each report runs in a child process (this binary re-executed), so its peak RSS is its own and runs do not mix;
// the servers stay in the parent. The peak is the kernel's VmHWM of the child's address space: getrusage's
// ru_maxrss would do in a forked child, but Linux carries it across execve, so an exec'ed child reports its
// parent's peak (500 MiB of fake series) as its own. The child's progress lines are timed by phase (with RSS and
// peak RSS at each phase's end) and printed to stderr. --ksm-alone also times the kube-state-metrics read alone.
// stdout: one JSON line per figure in bench/run's format (name, value, unit, anchor, anchor_value, ratio; ratio
// >= 1 meets the goal). stderr: progress, phases, totals. Exit: 0 when every report ran, 1 otherwise, 2 on usage.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analyze/cost.h"
#include "analyze/report.h"
#include "app/report_pipeline.h"
#include "base/clock.h"
#include "fakes/fake_prometheus.h"
#include "observe/ksm_history.h"
#include "observe/prom/exposition_parser.h"
#include "observe/prom/prom_client.h"
#include "prometheus_process.h"
#include "sim/behavior.h"
#include "sim/dcgm_page.h"
#include "sim/history.h"
#include "sim/ksm_page.h"
#include "sim/kube_api.h"
#include "sim/kube_cluster.h"
#include "sim/kube_store.h"
#include "sim/random.h"
#include "sim/scenario_gen.h"
#include "sim/world.h"

extern char** environ;

namespace gpuwise {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using fakes::FakeLabels;
using fakes::FakePrometheus;
using SteadyClock = std::chrono::steady_clock;

constexpr double kDayS = 86400;

double Since(SteadyClock::time_point t0) { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); }

void Note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Note(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("report_bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

std::string Sig(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// One bench/run line. ratio is computed by the caller (its direction differs by figure); NaN prints null.
void Emit(const std::string& name, double value, const std::string& unit, const std::string& anchor,
          double anchor_value, double ratio) {
  nlohmann::ordered_json j;  // bench/run's key order
  j["name"] = name;
  j["value"] = std::isfinite(value) ? json(std::stod(Sig(value))) : json(nullptr);
  j["unit"] = unit;
  j["anchor"] = anchor;
  j["anchor_value"] = std::isfinite(anchor_value) ? json(std::stod(Sig(anchor_value))) : json(nullptr);
  j["ratio"] = std::isfinite(ratio) ? json(std::round(ratio * 100) / 100) : json(nullptr);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------------------
// The child: one RunReport, timed by phase.
// ---------------------------------------------------------------------------------------------------------

// "reading pods: 1200" -> "reading pods"; "reading fb_used from Prometheus (3/8)" -> "reading fb_used from
// Prometheus": a phase is a progress line without its counters.
std::string PhaseKey(std::string_view line) {
  std::size_t end = line.size();
  for (const char c : {':', '('}) end = std::min(end, line.find(c) == std::string_view::npos ? end : line.find(c));
  std::string key(line.substr(0, end));
  while (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

// Resident and peak resident memory of this address space (VmRSS, VmHWM in /proc/self/status), MiB. Not
// getrusage's ru_maxrss: Linux keeps that across execve, so a child spawned from a parent holding 500 MiB would
// start with the parent's peak.
void Memory(double* rss_mib, double* peak_mib) {
  *rss_mib = *peak_mib = 0;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) *rss_mib = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) *peak_mib = std::atof(line.c_str() + 6) / 1024;
  }
}

// Only the kube-state-metrics read (to split the report's last phase): its time and peak memory.
int KsmOnlyMain(const std::map<std::string, std::string>& args, const std::string& prometheus, std::int64_t start,
                std::int64_t end) {
  observe::prom::PromClientOptions po;
  po.base_url = prometheus;
  observe::prom::PromClient client(po, base::SystemClock::Get());
  const auto t0 = SteadyClock::now();
  auto ksm = observe::ReadKsmHistory(client, start, end);
  json out;
  out["ok"] = ksm.ok();
  out["error"] = ksm.ok() ? "" : ksm.status().ToString();
  out["wall_s"] = Since(t0);
  double rss = 0, peak = 0;
  Memory(&rss, &peak);
  out["peak_mib"] = peak;
  if (ksm.ok()) {
    out["pods"] = ksm->pods.size();
    out["requests"] = ksm->requests;
  }
  std::ofstream(args.at("out")) << out.dump() << "\n";
  return ksm.ok() ? 0 : 1;
}

int ChildMain(const std::map<std::string, std::string>& args) {
  auto get = [&](const std::string& k) {
    auto it = args.find(k);
    return it == args.end() ? std::string() : it->second;
  };
  app::ReportConfig config;
  config.source = app::TelemetrySource::kPrometheus;
  config.prometheus.base_url = get("prometheus");
  config.start_unix_s = std::atoll(get("start").c_str());
  config.end_unix_s = std::atoll(get("end").c_str());
  config.step = std::chrono::milliseconds(std::atoll(get("step_ms").c_str()));
  if (get("only") == "ksm") return KsmOnlyMain(args, config.prometheus.base_url, config.start_unix_s, config.end_unix_s);
  config.use_cluster = !get("kubeconfig").empty();
  if (get("read") == "raw") config.read_mode = app::ReportConfig::ReadMode::kRaw;
  else if (get("read") == "aggregated") config.read_mode = app::ReportConfig::ReadMode::kAggregated;
  config.kubeconfig.path = get("kubeconfig");
  struct Phase {
    std::string key;
    double s = 0, rss_mib = 0, peak_mib = 0;  // duration; resident and peak resident memory at its end
  };
  std::vector<Phase> phases;
  std::string current = "start (price book, clients)";
  const auto t0 = SteadyClock::now();
  auto mark = t0;
  auto close_phase = [&](const std::string& key) {
    const auto now = SteadyClock::now();
    Phase p{key, std::chrono::duration<double>(now - mark).count()};
    Memory(&p.rss_mib, &p.peak_mib);
    phases.push_back(std::move(p));
    mark = now;
  };
  config.progress = [&](std::string_view line) {
    std::string key = PhaseKey(line);
    if (key == current) return;
    close_phase(current);
    current = std::move(key);
    if (!get("verbose").empty()) std::fprintf(stderr, "report_bench child: %7.2f s %.*s\n", Since(t0), static_cast<int>(line.size()), line.data());
  };
  base::Result<app::ReportRun> run = app::RunReport(config, base::SystemClock::Get());
  const double wall = Since(t0);
  close_phase(current + " (and everything after the last progress line: snapshot, ledger, report)");
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double rss_mib = 0, peak_mib = 0;
  Memory(&rss_mib, &peak_mib);
  json out;
  out["ok"] = run.ok();
  out["error"] = run.ok() ? "" : run.status().ToString();
  out["wall_s"] = wall;
  out["cpu_s"] = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  out["peak_mib"] = peak_mib;
  json ph = json::array();
  for (const Phase& p : phases) ph.push_back({{"phase", p.key}, {"s", p.s}, {"rss_mib", p.rss_mib}, {"peak_mib", p.peak_mib}});
  out["phases"] = ph;
  if (run.ok()) {
    // The pure stages again, timed alone (the pipeline reports no progress once telemetry is read).
    const auto t1 = SteadyClock::now();
    const analyze::CostLedger ledger = analyze::ComputeCosts(run->snapshot, {});
    analyze::ReportOptions ro = config.report;
    ro.prices = &run->prices;
    const analyze::Report report = analyze::BuildReport(run->snapshot, ledger, ro);
    (void)report;
    out["ledger_report_s"] = Since(t1);
    out["aggregated"] = run->aggregated;
    out["telemetry_points"] = run->telemetry_points;
    out["telemetry_requests"] = run->telemetry_requests;
    out["nodes"] = run->cluster.nodes.size();
    out["pods"] = run->snapshot.pods.size();
    out["devices"] = run->snapshot.devices.size();
    out["workloads"] = run->snapshot.workloads.size();
    out["gpu_cost_micro_usd"] = run->ledger.gpu_cost;
    // The plan computed with the report (recommend): each optimizer's time and actions.
    json plan = json::array();
    for (const model::OptimizerRun& o : run->plan.optimizers) {
      plan.push_back({{"optimizer", o.name}, {"s", o.seconds}, {"actions", o.actions}});
    }
    out["plan"] = plan;
    out["plan_actions"] = run->plan.actions.size();
    out["plan_gpus_freed"] = run->plan.savings.gpus_freed;
    json warnings = json::array();
    for (std::size_t i = 0; i < run->snapshot.warnings.size() && i < 5; ++i) warnings.push_back(run->snapshot.warnings[i]);
    out["warnings"] = run->snapshot.warnings.size();
    out["first_warnings"] = warnings;
  }
  std::ofstream(get("out")) << out.dump() << "\n";
  return run.ok() ? 0 : 1;
}

struct ChildResult {
  bool ok = false;
  bool timed_out = false;
  std::string error;
  json result;  // the child's JSON (empty when it died)
  double parent_wall_s = 0;
};

// Runs one report in a child process (this binary re-executed, under perf when perf_out is set) and waits for
// it, killing it after timeout_s.
ChildResult RunChild(const std::map<std::string, std::string>& args, const fs::path& dir, double timeout_s,
                     const std::string& perf_out) {
  ChildResult out;
  const fs::path result_file = dir / "child-result.json";
  fs::remove(result_file);
  std::vector<std::string> argv;
  if (!perf_out.empty()) argv = {"/usr/bin/perf", "record", "-q", "-F", "499", "-o", perf_out, "--"};
  // This very binary, even if it was rebuilt (unlinked) while a long run goes on.
  argv.push_back("/proc/self/exe");
  argv.push_back("child");
  for (const auto& [k, v] : args) argv.push_back(k + "=" + v);
  argv.push_back("out=" + result_file.string());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  const auto t0 = SteadyClock::now();
  if (posix_spawn(&pid, cargv[0], nullptr, nullptr, cargv.data(), environ) != 0) {
    out.error = "cannot start " + argv[0];
    return out;
  }
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Since(t0) > timeout_s) {
      out.timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  out.parent_wall_s = Since(t0);
  if (out.timed_out) {
    out.error = "killed after " + Sig(timeout_s) + " s (--timeout)";
    return out;
  }
  std::ifstream in(result_file);
  std::string line;
  if (!std::getline(in, line)) {
    out.error = "the child wrote no result (exit status " + std::to_string(status) + ")";
    return out;
  }
  out.result = json::parse(line, nullptr, false);
  if (out.result.is_discarded()) {
    out.error = "unreadable child result";
    return out;
  }
  out.ok = out.result.value("ok", false);
  out.error = out.result.value("error", "");
  return out;
}

void PrintChild(const ChildResult& r) {
  if (r.result.is_object()) {
    const json& j = r.result;
    Note("report: %s in %.2f s (cpu %.2f s), peak RSS %.0f MiB; read %s; %s points in %s requests; %s nodes, %s pods, "
         "%s devices, %s workloads, %s warnings",
         r.ok ? "ok" : "FAILED", j.value("wall_s", 0.0), j.value("cpu_s", 0.0), j.value("peak_mib", 0.0),
         j.contains("aggregated") ? (j["aggregated"].get<bool>() ? "aggregated" : "raw") : "?",
         j.contains("telemetry_points") ? j["telemetry_points"].dump().c_str() : "?",
         j.contains("telemetry_requests") ? j["telemetry_requests"].dump().c_str() : "?",
         j.contains("nodes") ? j["nodes"].dump().c_str() : "?", j.contains("pods") ? j["pods"].dump().c_str() : "?",
         j.contains("devices") ? j["devices"].dump().c_str() : "?",
         j.contains("workloads") ? j["workloads"].dump().c_str() : "?",
         j.contains("warnings") ? j["warnings"].dump().c_str() : "?");
    if (j.contains("plan")) {
      for (const json& o : j["plan"]) {
        Note("  plan: optimizer %s %.3f s, %d actions", o.value("optimizer", "").c_str(), o.value("s", 0.0), o.value("actions", 0));
      }
      Note("  plan: %d actions, %d GPUs freed", j.value("plan_actions", 0), j.value("plan_gpus_freed", 0));
    }
    if (j.contains("phases")) {
      for (const json& p : j["phases"]) {
        Note("  phase %7.2f s  RSS %5.0f MiB (peak %5.0f)  %s", p.value("s", 0.0), p.value("rss_mib", 0.0),
             p.value("peak_mib", 0.0), p.value("phase", "").c_str());
      }
    }
    if (j.contains("ledger_report_s")) Note("  (ledger + report alone, re-run: %.2f s)", j.value("ledger_report_s", 0.0));
    if (j.contains("first_warnings")) {
      for (const json& w : j["first_warnings"]) Note("  warning: %s", w.get<std::string>().substr(0, 300).c_str());
    }
  }
  if (!r.ok) Note("report failed: %s", r.error.c_str());
}

// ---------------------------------------------------------------------------------------------------------
// The fleet and the simulated Kubernetes API.
// ---------------------------------------------------------------------------------------------------------

struct Fleet {
  sim::World world;
  double start_s = 0, end_s = 0;  // the window, simulated seconds
  std::int64_t UnixMs(double t) const { return std::llround((world.options.epoch_unix_s + t) * 1000); }
  std::int64_t UnixS(double t) const { return static_cast<std::int64_t>(std::llround(world.options.epoch_unix_s + t)); }
};

base::Result<Fleet> MakeFleet(int gpus, double days, std::uint64_t seed) {
  ASSIGN_OR_RETURN(sim::Scenario scenario, sim::SyntheticScenario(gpus, seed));
  sim::WorldOptions wo;
  wo.horizon_s = std::max(wo.horizon_s, (days + 1) * kDayS);
  wo.address_block = 100 + static_cast<int>(::getpid() % 30) * 4;
  Fleet f;
  ASSIGN_OR_RETURN(f.world, sim::BuildWorld(scenario, wo));
  f.start_s = 0;
  f.end_s = days * kDayS;
  return f;
}

// The simulated API server, seeded as the cluster stands at the window's end (pods that ended inside the window
// are gone from it, as in a real cluster): store, control plane and server, without the metrics endpoints of
// sim::ClusterServer (telemetry comes from Prometheus here).
class SimApi {
 public:
  base::Status Start(sim::World world, double at_s, const fs::path& dir) {
    world_ = std::make_unique<sim::World>(std::move(world));
    const double epoch = world_->options.epoch_unix_s;
    sim_ = std::make_unique<sim::Simulator>(*world_, sim::SimulatorOptions{.step_s = 15, .start_s = at_s, .data_dir = ""});
    sim_->AdvanceTo(at_s + 1);
    const double now = epoch + at_s + 1;
    store_ = std::make_unique<sim::KubeStore>([now] { return now; });
    control_ = std::make_unique<sim::KubeCluster>(*world_, *sim_, *store_);
    control_->Seed();
    control_->Reconcile();
    sim_->SyncWithWorld();
    api_ = std::make_unique<sim::KubeApiServer>(*store_, sim::KubeApiOptions{}, [now] { return now; });
    RETURN_IF_ERROR(api_->Start());
    ASSIGN_OR_RETURN(const std::string text, api_->Kubeconfig("report-bench", {"system:masters"}, ""));
    kubeconfig_ = (dir / "kubeconfig").string();
    std::ofstream(kubeconfig_) << text;
    // What gpuwise's owner walk will GET (one request per distinct owner, cached): the owners of the pods alive now
    // and, up the chain, theirs.
    std::unordered_map<std::string, const sim::Controller*> by_uid;
    for (const sim::Controller& c : world_->controllers) by_uid[c.meta.uid] = &c;
    std::set<std::string> owners;
    for (const sim::SimPod& p : world_->pods) {
      if (!p.alive(at_s) || p.owner.uid.empty()) continue;
      for (std::string uid = p.owner.uid; !uid.empty() && owners.insert(uid).second;) {
        auto it = by_uid.find(uid);
        uid = it == by_uid.end() || it->second->owners.empty() ? "" : it->second->owners.front().uid;
      }
    }
    pods_ = 0;
    for (const sim::SimPod& p : world_->pods) pods_ += p.alive(at_s) ? 1 : 0;
    owners_ = owners.size();
    return base::Status::Ok();
  }
  std::size_t pods() const { return pods_; }
  std::size_t owners() const { return owners_; }
  ~SimApi() {
    if (api_) api_->Stop();
  }
  const std::string& kubeconfig() const { return kubeconfig_; }

 private:
  std::unique_ptr<sim::World> world_;
  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<sim::KubeStore> store_;
  std::unique_ptr<sim::KubeCluster> control_;
  std::unique_ptr<sim::KubeApiServer> api_;
  std::string kubeconfig_;
  std::size_t pods_ = 0, owners_ = 0;
};

// ---------------------------------------------------------------------------------------------------------
// The fleet's history as procedural series.
// ---------------------------------------------------------------------------------------------------------

// The dcgm-exporter families a report reads (app's ReportSignals: compute with its fallbacks, framebuffer, DRAM,
// tensor, power) plus FB_RESERVED. Other families of the page are never selected by a report's queries.
constexpr std::string_view kDcgmFamilies[] = {
    "DCGM_FI_DEV_GPU_UTIL",          "DCGM_FI_DEV_FB_FREE",          "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_RESERVED",       "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE",    "DCGM_FI_DEV_POWER_USAGE"};

using Interval = std::pair<std::int64_t, std::int64_t>;

// Appends [from, to) to a presence list, merging with the last interval when they touch.
void AddInterval(std::vector<Interval>* v, std::int64_t from, std::int64_t to) {
  if (to <= from) return;
  if (!v->empty() && v->back().second >= from) {
    v->back().second = std::max(v->back().second, to);
    return;
  }
  v->emplace_back(from, to);
}

FakeLabels Sorted(FakeLabels l) {
  l.erase(std::remove_if(l.begin(), l.end(), [](const auto& kv) { return kv.second.empty(); }), l.end());  // as Prometheus
  std::sort(l.begin(), l.end());
  return l;
}

struct SeriesCounts {
  std::int64_t dcgm = 0, ksm = 0, units = 0, pods = 0;
};

// One series per GPU (or MIG instance), family and holder: dcgm-exporter labels a unit with the last-started
// running pod that holds it (sim::Simulator::DcgmNode) and without pod labels while none does, so each holder
// over the window is its own series, present while it is the unit's label. Labels are the exporter's own (taken
// from a rendered page) plus the scrape's job and instance. Values: a wave around a level drawn per unit and holder
// (busy units 5-90% active, idle ones 0; memory, power and utilisation consistent with it).
std::vector<FakePrometheus::ProceduralSeries> DcgmSeries(const Fleet& fleet, std::int64_t interval_ms, SeriesCounts* counts) {
  const sim::World& w = fleet.world;
  std::vector<FakePrometheus::ProceduralSeries> out;
  // Pods holding each unit (node, gpu, mig).
  std::map<std::tuple<int, int, int>, std::vector<int>> holders;
  std::map<std::string, const sim::SimPod*> exporter_of;  // node name -> dcgm-exporter pod
  for (std::size_t i = 0; i < w.pods.size(); ++i) {
    const sim::SimPod& p = w.pods[i];
    if (p.role == sim::PodRole::kDcgmExporter) exporter_of[p.node] = &p;
    for (const sim::GpuBinding& b : p.gpus) holders[{b.node, b.gpu, b.mig}].push_back(static_cast<int>(i));
  }
  const std::set<std::string_view> families(std::begin(kDcgmFamilies), std::end(kDcgmFamilies));
  for (std::size_t n = 0; n < w.nodes.size(); ++n) {
    const sim::SimNode& node = w.nodes[n];
    auto exp = exporter_of.find(node.meta.name);
    if (exp == exporter_of.end() || exp->second->port == 0) continue;
    const sim::SimPod& exporter = *exp->second;
    const double exp_from = std::max(fleet.start_s, exporter.start_s), exp_to = std::min(fleet.end_s, exporter.end_s);
    if (exp_to <= exp_from) continue;
    const std::string instance = exporter.ip + ":" + std::to_string(exporter.port);
    // The exporter's label sets, from its own page with no pod assigned.
    sim::NodeSpec spec;
    spec.hostname = node.meta.name;
    spec.driver_version = w.scenario.node_pools[static_cast<std::size_t>(node.pool)].driver_version;
    for (const sim::SimGpu& gpu : node.gpus) {
      sim::GpuSpec gs;
      gs.index = gpu.index;
      gs.uuid = gpu.uuid;
      gs.model_name = gpu.model_name;
      gs.memory_gib = gpu.memory_mib / 1024;
      for (const sim::MigSlice& m : gpu.mig) {
        sim::MigInstanceSpec ms;
        ms.profile = m.profile;
        ms.gi_id = m.gi_id;
        ms.compute_slices = m.compute_slices;
        ms.memory_gib = m.memory_mib / 1024;
        gs.mig.push_back(ms);
      }
      spec.gpus.push_back(std::move(gs));
    }
    sim::PageOptions po;
    po.include_sm_active = true;
    po.lowercase_hostname_label = node.lowercase_hostname;
    const std::string page = sim::RenderPage(spec, po);
    // (uuid, gi) -> family -> labels
    std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, FakeLabels>>> labels_of;
    observe::prom::ExpositionParser parser(page, {});
    observe::prom::Entry e;
    while (parser.Next(&e).ok() && e.kind != observe::prom::EntryKind::kEof) {
      if (e.kind != observe::prom::EntryKind::kSample || !families.count(e.sample.name)) continue;
      FakeLabels l = {{"__name__", std::string(e.sample.name)}, {"job", "dcgm-exporter"}, {"instance", instance}};
      std::string uuid, gi;
      for (const observe::prom::Label& x : e.sample.labels) {
        l.emplace_back(std::string(x.name), std::string(x.value));
        if (x.name == "UUID") uuid = x.value;
        if (x.name == "GPU_I_ID") gi = x.value;
      }
      labels_of[{uuid, gi}].emplace_back(std::string(e.sample.name), std::move(l));
    }
    for (std::size_t g = 0; g < node.gpus.size(); ++g) {
      const sim::SimGpu& gpu = node.gpus[g];
      const int units = gpu.mig.empty() ? 1 : static_cast<int>(gpu.mig.size());
      for (int u = 0; u < units; ++u) {
        const int mig = gpu.mig.empty() ? -1 : u;
        const std::string gi = mig < 0 ? "" : std::to_string(gpu.mig[static_cast<std::size_t>(mig)].gi_id);
        const double total_mib = mig < 0 ? gpu.memory_mib : gpu.mig[static_cast<std::size_t>(mig)].memory_mib;
        ++counts->units;
        // The holder over time: at each change, the last-started alive pod (the later one on a tie), or none.
        const std::vector<int>& pods = holders[{static_cast<int>(n), static_cast<int>(g), mig}];
        std::vector<double> cuts = {exp_from, exp_to};
        for (int i : pods) {
          for (double t : {w.pods[static_cast<std::size_t>(i)].start_s, w.pods[static_cast<std::size_t>(i)].end_s}) {
            if (t > exp_from && t < exp_to) cuts.push_back(t);
          }
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        std::map<int, std::vector<Interval>> presence;  // holder pod (-1 none) -> intervals
        for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
          int holder = -1;
          for (int i : pods) {
            const sim::SimPod& p = w.pods[static_cast<std::size_t>(i)];
            if (p.alive(cuts[c]) && (holder < 0 || w.pods[static_cast<std::size_t>(holder)].start_s <= p.start_s)) holder = i;
          }
          AddInterval(&presence[holder], fleet.UnixMs(cuts[c]), fleet.UnixMs(cuts[c + 1]));
        }
        const auto& family_labels = labels_of[{gpu.uuid, gi}];
        const std::uint64_t unit_key = sim::HashString(gpu.uuid + "/" + gi);
        const double reserved = std::round(total_mib * sim::kFramebufferReservedFraction);
        const double usable = std::round(total_mib) - reserved;
        const double idle_w = gpu.model_name.find("H100") != std::string::npos   ? 72
                              : gpu.model_name.find("A100") != std::string::npos ? 58
                                                                                 : 35;
        const double span_w = (gpu.model_name.find("H100") != std::string::npos   ? 700
                               : gpu.model_name.find("A100") != std::string::npos ? 400
                                                                                  : 72) - idle_w;
        for (const auto& [holder, intervals] : presence) {
          const bool busy = holder >= 0;
          const std::uint64_t key = sim::Hash3(unit_key, static_cast<std::uint64_t>(holder + 1), 7);
          const double base = busy ? sim::Uniform(sim::Hash3(key, 1, 0), 0.05, 0.5) : 0;
          const double amp = busy ? std::min(0.9 - base, sim::Uniform(sim::Hash3(key, 2, 0), 0.05, 0.4)) : 0;
          const double used = busy ? usable * sim::Uniform(sim::Hash3(key, 3, 0), 0.35, 0.9) : 0;
          const double wiggle = busy ? usable * 0.05 : 0;
          const std::int64_t phase = static_cast<std::int64_t>(sim::Hash3(key, 4, 0) % FakePrometheus::kWavePeriod);
          FakeLabels pod_labels;
          if (busy) {
            const sim::SimPod& p = w.pods[static_cast<std::size_t>(holder)];
            pod_labels = {{"container", p.container}, {"namespace", p.meta.namespace_name}, {"pod", p.meta.name}};
          }
          for (const auto& [family, base_labels] : family_labels) {
            FakePrometheus::ProceduralSeries s;
            s.labels = base_labels;
            s.labels.insert(s.labels.end(), pod_labels.begin(), pod_labels.end());
            s.labels = Sorted(std::move(s.labels));
            s.interval_ms = interval_ms;
            s.present = intervals;
            s.phase = phase;
            // value = offset + scale * level, level 0..1000.
            auto ratio = [&](double k) {
              s.offset = k * base;
              s.scale = k * amp / 1000;
            };
            if (family == "DCGM_FI_PROF_GR_ENGINE_ACTIVE") ratio(1);
            else if (family == "DCGM_FI_PROF_SM_ACTIVE") ratio(0.8);
            else if (family == "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE") ratio(0.35);
            else if (family == "DCGM_FI_PROF_DRAM_ACTIVE") ratio(0.55);
            else if (family == "DCGM_FI_DEV_GPU_UTIL") ratio(100);
            else if (family == "DCGM_FI_DEV_FB_USED") {
              s.offset = used;
              s.scale = wiggle / 1000;
            } else if (family == "DCGM_FI_DEV_FB_FREE") {
              s.offset = usable - used;
              s.scale = -wiggle / 1000;
            } else if (family == "DCGM_FI_DEV_FB_RESERVED") {
              s.offset = reserved;
              s.scale = 0;
            } else {  // power
              s.offset = idle_w + span_w * base;
              s.scale = busy ? span_w * amp / 1000 : 3.0 / 1000;
            }
            out.push_back(std::move(s));
            ++counts->dcgm;
          }
        }
      }
    }
  }
  return out;
}

// The kube-state-metrics series gpuwise reads for pods of the window (observe/ksm_history.cc), as ksm 2.13 labels
// them (sim/ksm_page.cc), present while ksm lists the object: a pod while it lives and, for a Job's pod that
// succeeded, until its Job is deleted; a ReplicaSet or Job while it exists.
std::vector<FakePrometheus::ProceduralSeries> KsmSeries(const Fleet& fleet, std::int64_t interval_ms, SeriesCounts* counts) {
  const sim::World& w = fleet.world;
  std::vector<FakePrometheus::ProceduralSeries> out;
  const sim::SimPod* ksm = nullptr;
  for (const sim::SimPod& p : w.pods) {
    if (p.role == sim::PodRole::kKubeStateMetrics && ksm == nullptr) ksm = &p;
  }
  if (ksm == nullptr) return out;
  const std::string instance = ksm->ip + ":" + std::to_string(ksm->port);
  std::unordered_map<std::string, const sim::Controller*> by_uid;
  for (const sim::Controller& c : w.controllers) by_uid[c.meta.uid] = &c;
  // Series reach one hour past the window's edges: ksm_history evaluates hourly windows ending up to an hour later.
  const double lo = fleet.start_s - 3600, hi = fleet.end_s + 3600;
  auto add = [&](const std::string& name, FakeLabels labels, double from_s, double to_s, double value) {
    from_s = std::max(from_s, lo);
    to_s = std::min(to_s, hi);
    if (to_s <= from_s) return;
    FakePrometheus::ProceduralSeries s;
    labels.emplace_back("__name__", name);
    labels.emplace_back("job", "kube-state-metrics");
    labels.emplace_back("instance", instance);
    s.labels = Sorted(std::move(labels));
    s.interval_ms = interval_ms;
    s.present = {{fleet.UnixMs(from_s), fleet.UnixMs(to_s)}};
    s.offset = value;
    s.scale = 0;
    out.push_back(std::move(s));
    ++counts->ksm;
  };
  const double epoch = w.options.epoch_unix_s;
  for (const sim::SimPod& p : w.pods) {
    double listed_to = p.end_s;
    if (p.succeeds) {
      auto job = by_uid.find(p.owner.uid);
      if (job != by_uid.end()) listed_to = std::max(listed_to, job->second->meta.deleted_s);
    }
    if (listed_to <= lo || p.start_s >= hi) continue;
    ++counts->pods;
    const FakeLabels base = {{"namespace", p.meta.namespace_name}, {"pod", p.meta.name}, {"uid", p.meta.uid}};
    auto with = [&](FakeLabels extra) {
      FakeLabels l = base;
      l.insert(l.end(), extra.begin(), extra.end());
      return l;
    };
    const bool owned = !p.owner.kind.empty();
    add("kube_pod_info",
        with({{"pod_ip", p.ip}, {"node", p.node}, {"created_by_kind", owned ? p.owner.kind : ""},
              {"created_by_name", owned ? p.owner.name : ""}, {"host_network", "false"}}),
        p.start_s, listed_to, 1);
    add("kube_pod_owner",
        with(owned ? FakeLabels{{"owner_kind", p.owner.kind}, {"owner_name", p.owner.name}, {"owner_is_controller", "true"}}
                   : FakeLabels{}),
        p.start_s, listed_to, 1);
    FakeLabels pod_labels;
    for (const auto& [k, v] : p.meta.labels) pod_labels.emplace_back(sim::KsmLabelName("label", k), v);
    add("kube_pod_labels", with(pod_labels), p.start_s, listed_to, 1);
    if (!p.node.empty()) add("kube_pod_start_time", base, p.start_s, listed_to, std::floor(epoch + p.start_s));
    if (p.succeeds && listed_to > p.end_s) add("kube_pod_completion_time", base, p.end_s, listed_to, std::floor(epoch + p.end_s));
    for (const auto& [resource, quantity] : p.requests) {
      double milli = 0;
      if (!sim::ParseKubeQuantityMilli(quantity, &milli)) continue;
      const bool bytes = resource == "memory" || resource == "ephemeral-storage" || resource.rfind("hugepages-", 0) == 0;
      const std::string unit = resource == "cpu" ? "core" : bytes ? "byte" : "integer";
      add("kube_pod_container_resource_requests",
          with({{"container", p.container}, {"node", p.node}, {"resource", sim::KsmResourceName(resource)}, {"unit", unit}}),
          p.start_s, listed_to, resource == "cpu" ? milli / 1000 : std::ceil(milli / 1000));
    }
  }
  for (const sim::Controller& c : w.controllers) {
    const bool rs = c.kind == "ReplicaSet";
    if (!rs && c.kind != "Job") continue;
    const FakeLabels base = {{"namespace", c.meta.namespace_name}, {rs ? "replicaset" : "job_name", c.meta.name}};
    std::vector<sim::OwnerRef> owners = c.owners;
    if (owners.empty()) owners.push_back({});
    for (const sim::OwnerRef& o : owners) {
      FakeLabels l = base;
      if (!o.kind.empty()) l.insert(l.end(), {{"owner_kind", o.kind}, {"owner_name", o.name}, {"owner_is_controller", "true"}});
      add(rs ? "kube_replicaset_owner" : "kube_job_owner", l, c.meta.created_s, c.meta.deleted_s, 1);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------------------

struct Args {
  std::string mode;
  int gpus = 0;
  double days = 0;
  double interval_s = 30;
  std::uint64_t seed = 1;
  bool cluster = true;
  bool both = false;
  double timeout_s = 0;
  std::string perf;
  std::string keep;
  std::string read = "auto";  // ReportConfig::read_mode: auto (the product's default), raw, aggregated
  bool verbose = false;
  bool ksm_alone = false;
};

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  a->mode = argv[1];
  if (a->mode != "fake" && a->mode != "prometheus") return false;
  const char* env_days = std::getenv("BENCH_HISTORY_DAYS");
  a->gpus = a->mode == "fake" ? 10000 : 1000;
  a->days = a->mode == "fake" ? 7 : (env_days != nullptr && *env_days != '\0' ? std::atof(env_days) : 1);
  a->timeout_s = a->mode == "fake" ? 900 : 3600;
  for (int i = 2; i < argc; ++i) {
    const std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (f == "--no-cluster") a->cluster = false;
    else if (f == "--both") a->both = true;
    else if (f == "--verbose") a->verbose = true;
    else if (f == "--ksm-alone") a->ksm_alone = true;
    else if ((v = next()) == nullptr) return false;
    else if (f == "--gpus") a->gpus = std::atoi(v);
    else if (f == "--days") a->days = std::atof(v);
    else if (f == "--interval") a->interval_s = std::atof(v);
    else if (f == "--seed") a->seed = std::strtoull(v, nullptr, 10);
    else if (f == "--timeout") a->timeout_s = std::atof(v);
    else if (f == "--perf") a->perf = v;
    else if (f == "--keep") a->keep = v;
    else if (f == "--read") a->read = v;
    else return false;
  }
  return a->gpus > 0 && a->days > 0 && a->interval_s >= 1 && a->timeout_s > 0 &&
         (a->read == "auto" || a->read == "raw" || a->read == "aggregated");
}

// A scratch directory, removed at exit unless --keep named it.
struct WorkDir {
  fs::path path;
  bool keep = false;
  explicit WorkDir(const std::string& keep_dir) {
    if (!keep_dir.empty()) {
      path = keep_dir;
      keep = true;
    } else {
      path = fs::temp_directory_path() / ("gpuwise-report-bench-" + std::to_string(::getpid()));
    }
    fs::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ec;
    if (!keep) fs::remove_all(path, ec);
  }
};

std::string FleetName(const Args& a) {
  return std::to_string(a.gpus) + "gpus_" + Sig(a.days) + "d";
}

// ---------------------------------------------------------------------------------------------------------
// Benchmark 1: the fake Prometheus
// ---------------------------------------------------------------------------------------------------------

int FakeMain(const Args& a) {
  WorkDir dir(a.keep);
  const auto t0 = SteadyClock::now();
  base::Result<Fleet> fleet = MakeFleet(a.gpus, a.days, a.seed);
  if (!fleet.ok()) {
    Note("%s", fleet.status().ToString().c_str());
    return 1;
  }
  int gpus = 0;
  for (const sim::SimNode& n : fleet->world.nodes) gpus += static_cast<int>(n.gpus.size());
  Note("fleet: %d GPUs on %zu nodes, %zu pods over the horizon; built in %.1f s", gpus, fleet->world.nodes.size(),
       fleet->world.pods.size(), Since(t0));

  FakePrometheus::Options fo;  // a stock server's limits: 11,000 points per series, 50,000,000 samples per query
  auto fake = FakePrometheus::Start(fo);
  if (!fake.ok()) {
    Note("%s", fake.status().ToString().c_str());
    return 1;
  }
  const auto t1 = SteadyClock::now();
  const auto interval_ms = static_cast<std::int64_t>(std::llround(a.interval_s * 1000));
  SeriesCounts counts;
  (*fake)->AddProceduralSeries(DcgmSeries(*fleet, interval_ms, &counts));
  (*fake)->AddProceduralSeries(KsmSeries(*fleet, interval_ms, &counts));
  const double samples = static_cast<double>(counts.dcgm) * a.days * kDayS / a.interval_s;
  Note("fake Prometheus: %lld dcgm series (%lld GPUs and MIG instances), %lld kube-state-metrics series (%lld pods); "
       "about %.3g dcgm samples in the window; built in %.1f s",
       static_cast<long long>(counts.dcgm), static_cast<long long>(counts.units), static_cast<long long>(counts.ksm),
       static_cast<long long>(counts.pods), samples, Since(t1));

  std::unique_ptr<SimApi> api;
  if (a.cluster || a.both) {
    const auto t2 = SteadyClock::now();
    api = std::make_unique<SimApi>();
    if (base::Status st = api->Start(fleet->world, fleet->end_s, dir.path); !st.ok()) {
      Note("simulated API: %s", st.ToString().c_str());
      return 1;
    }
    Note("simulated Kubernetes API seeded at the window's end in %.1f s: %zu pods, %zu distinct owners up their chains "
         "(gpuwise GETs each once)", Since(t2), api->pods(), api->owners());
  }
  std::vector<bool> runs;
  if (a.both) runs = {true, false};
  else runs = {a.cluster};
  bool all_ok = true;
  for (const bool with_cluster : runs) {
    std::map<std::string, std::string> child = {{"prometheus", (*fake)->url()},
                                                {"start", std::to_string(fleet->UnixS(fleet->start_s))},
                                                {"end", std::to_string(fleet->UnixS(fleet->end_s))},
                                                {"step_ms", std::to_string(interval_ms)}};
    if (with_cluster) child["kubeconfig"] = api->kubeconfig();
    if (a.verbose) child["verbose"] = "1";
    child["read"] = a.read;
    (*fake)->ClearRequests();
    Note("running the report (%s the cluster)...", with_cluster ? "with" : "without");
    const ChildResult r = RunChild(child, dir.path, a.timeout_s, a.perf);
    const FakePrometheus::ServedStats served = (*fake)->Served();
    PrintChild(r);
    std::map<std::string, int> by_path;
    for (const fakes::RecordedRequest& rq : (*fake)->Requests()) ++by_path[rq.path + (rq.response_status == 200 ? "" : " (" + std::to_string(rq.response_status) + ")")];
    std::string paths;
    for (const auto& [p, n] : by_path) paths += " " + p + " x" + std::to_string(n);
    Note("fake Prometheus served %lld requests (%s), %.1f MB on the wire (%.1f MB of JSON before gzip), busy %.1f s summed",
         static_cast<long long>(served.requests), paths.c_str(), static_cast<double>(served.wire_bytes) / 1e6,
         static_cast<double>(served.body_bytes) / 1e6, served.busy_seconds);
    const std::string name = "report_" + FleetName(a) + "_fake_prometheus" + (with_cluster ? "" : "_no_cluster") +
                             (a.read == "auto" ? "" : "_" + a.read);
    if (!r.ok) {
      all_ok = false;
      if (!r.timed_out) continue;
      Note("TIMED OUT: the figures below are lower bounds (wall, RSS unknown, bytes so far)");
    }
    const double wall = r.timed_out ? r.parent_wall_s : r.result.value("wall_s", NAN);
    const double rss_mib = r.timed_out ? NAN : r.result.value("peak_mib", NAN);
    const double mb = static_cast<double>(served.wire_bytes) / 1e6;
    Emit(name + "_wall", wall, "s", "goal (issue 5): < 30 s", 30, 30 / wall);
    Emit(name + "_peak_rss", rss_mib, "MiB", "goal (issue 5): < 1 GiB", 1024, 1024 / rss_mib);
    Emit(name + "_fetched", mb, "MB", "goal (issue 5): < 300 MB fetched (gzip on the wire, headers included)", 300, 300 / mb);
  }
  if (a.ksm_alone) {
    std::map<std::string, std::string> child = {{"prometheus", (*fake)->url()},
                                                {"start", std::to_string(fleet->UnixS(fleet->start_s))},
                                                {"end", std::to_string(fleet->UnixS(fleet->end_s))},
                                                {"step_ms", std::to_string(interval_ms)},
                                                {"only", "ksm"}};
    (*fake)->ClearRequests();
    const ChildResult r = RunChild(child, dir.path, a.timeout_s, "");
    const FakePrometheus::ServedStats served = (*fake)->Served();
    Note("kube-state-metrics history alone: %s in %.2f s, peak RSS %.0f MiB, %s pods, %lld requests, %.1f MB on the wire "
         "(%.1f MB of JSON), fake busy %.1f s",
         r.ok ? "ok" : ("FAILED: " + r.error).c_str(), r.result.value("wall_s", 0.0), r.result.value("peak_mib", 0.0),
         r.result.contains("pods") ? r.result["pods"].dump().c_str() : "?", static_cast<long long>(served.requests),
         static_cast<double>(served.wire_bytes) / 1e6, static_cast<double>(served.body_bytes) / 1e6, served.busy_seconds);
  }
  return all_ok ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------
// Benchmark 2: a real Prometheus
// ---------------------------------------------------------------------------------------------------------

// Backfills each history window as soon as it is written: promtool runs on window k (in the background) while
// window k+1 is generated, and each file is deleted once promtool has read it, so at most two windows are on disk.
class BackfillSink : public sim::WindowSink {
 public:
  BackfillSink(fs::path om_dir, fs::path tsdb, std::string promtool)
      : om_dir_(std::move(om_dir)), tsdb_(std::move(tsdb)), promtool_(std::move(promtool)) {
    fs::create_directories(om_dir_);
  }
  ~BackfillSink() override { (void)Wait(); }
  base::Status Begin(std::int64_t window_start_unix_s) override {
    file_ = om_dir_ / (std::to_string(window_start_unix_s) + ".om");
    out_.open(file_, std::ios::binary | std::ios::trunc);
    if (!out_) return base::Internal("cannot write " + file_.string());
    return base::Status::Ok();
  }
  base::Status Write(std::string_view chunk) override {
    out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    bytes_ += static_cast<std::int64_t>(chunk.size());
    return out_ ? base::Status::Ok() : base::Internal("write failed: " + file_.string());
  }
  base::Status End() override {
    out_.close();
    RETURN_IF_ERROR(Wait());
    const fs::path file = file_, log = om_dir_ / "promtool.log";
    const std::vector<std::string> cmd = {promtool_, "tsdb", "create-blocks-from", "openmetrics", file.string(), tsdb_.string()};
    worker_ = std::thread([this, cmd, file, log] {
      const auto t0 = SteadyClock::now();
      const int rc = testing::RunCommand(cmd, log);
      promtool_s_ += Since(t0);
      if (rc != 0) {
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        error_ = "promtool failed on " + file.string() + ": " + ss.str().substr(0, 2000);
      }
      std::error_code ec;
      fs::remove(file, ec);
    });
    return base::Status::Ok();
  }
  base::Status Wait() {
    if (worker_.joinable()) worker_.join();
    if (!error_.empty()) return base::Internal(error_);
    return base::Status::Ok();
  }
  std::int64_t bytes() const { return bytes_; }
  double promtool_s() const { return promtool_s_; }

 private:
  fs::path om_dir_, tsdb_, file_;
  std::string promtool_;
  std::ofstream out_;
  std::thread worker_;
  std::string error_;
  std::int64_t bytes_ = 0;
  double promtool_s_ = 0;
};

// The value of a metric in Prometheus's own /metrics page (summed over its series), or NaN.
double SelfMetric(int port, const std::string& name) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return NAN;
  double sum = NAN;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    const double v = std::atof(line.substr(line.rfind(' ') + 1).c_str());
    sum = std::isnan(sum) ? v : sum + v;
  }
  return sum;
}

struct QueryLogSum {
  int queries = 0;
  double exec_total_s = 0, eval_total_s = 0, queue_s = 0;
};

// The query log's entries after byte `offset`: Prometheus writes one JSON object per query with
// stats.timings.{evalTotalTime, resultSortTime, queryPreparationTime, innerEvalTime, execQueueTime, execTotalTime}
// in seconds (2.42; execTotalTime = queue + preparation + evaluation + sort).
QueryLogSum SumQueryLog(const fs::path& log, std::uintmax_t offset) {
  QueryLogSum s;
  std::ifstream in(log);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("stats")) continue;
    const json& t = j["stats"]["timings"];
    ++s.queries;
    s.exec_total_s += t.value("execTotalTime", 0.0);
    s.eval_total_s += t.value("evalTotalTime", 0.0);
    s.queue_s += t.value("execQueueTime", 0.0);
  }
  return s;
}

std::uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  const std::uintmax_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

int PrometheusMain(const Args& a) {
  const std::string promtool = testing::Which("promtool"), prometheus = testing::Which("prometheus");
  if (promtool.empty() || prometheus.empty()) {
    Note("skipped: prometheus and promtool are not installed (apt-get install prometheus)");
    return 0;
  }
  WorkDir dir(a.keep);
  const auto t0 = SteadyClock::now();
  base::Result<Fleet> fleet = MakeFleet(a.gpus, a.days, a.seed);
  if (!fleet.ok()) {
    Note("%s", fleet.status().ToString().c_str());
    return 1;
  }
  int gpus = 0;
  for (const sim::SimNode& n : fleet->world.nodes) gpus += static_cast<int>(n.gpus.size());
  Note("fleet: %d GPUs on %zu nodes, %zu pods; history of %.3g days at %g s, backfilled window by window into %s",
       gpus, fleet->world.nodes.size(), fleet->world.pods.size(), a.days, a.interval_s, dir.path.c_str());
  // With --keep DIR, a finished backfill of the same fleet and window is reused.
  const fs::path marker = dir.path / "backfill.done";
  const std::string params = std::to_string(a.gpus) + " " + Sig(a.days) + " " + Sig(a.interval_s) + " " + std::to_string(a.seed);
  std::string previous;
  if (std::ifstream in(marker); in) std::getline(in, previous);
  if (previous == params) {
    Note("reusing the backfill in %s", dir.path.c_str());
  } else {
    fs::remove_all(dir.path / "prom");
    BackfillSink sink(dir.path / "om", dir.path / "prom" / "tsdb", promtool);
    sim::HistoryOptions ho;
    ho.start_s = fleet->start_s;
    ho.end_s = fleet->end_s;
    ho.scrape_interval_s = a.interval_s;
    int next_report = 1;
    ho.progress = [&](double done) {
      if (done * 20 < next_report) return;
      next_report = static_cast<int>(done * 20) + 1;
      Note("history %3.0f%% after %.0f s", done * 100, Since(t0));
    };
    base::Result<sim::HistoryStats> stats = sim::WriteHistory(fleet->world, ho, sink);
    base::Status waited = sink.Wait();
    if (!stats.ok() || !waited.ok()) {
      Note("backfill: %s", (!stats.ok() ? stats.status() : waited).ToString().c_str());
      return 1;
    }
    Note("backfilled %lld samples, %lld series, %.1f GB of OpenMetrics in %lld windows in %.0f s (promtool %.0f s of it, "
         "overlapped)",
         static_cast<long long>(stats->samples), static_cast<long long>(stats->series),
         static_cast<double>(sink.bytes()) / 1e9, static_cast<long long>(stats->windows), Since(t0), sink.promtool_s());
    std::ofstream(marker) << params << "\n";
  }
  const fs::path query_log = dir.path / "prom" / "query.log";
  std::ostringstream cfg;
  cfg << "global:\n  scrape_interval: " << Sig(a.interval_s) << "s\n  query_log_file: " << query_log.string()
      << "\nscrape_configs: []\n";
  testing::PrometheusProcess prom;
  if (const std::string err = prom.Start(dir.path / "prom", cfg.str()); !err.empty()) {
    Note("%s", err.c_str());
    return 1;
  }
  // A Prometheus that has run for a week has compacted its 2-hour blocks; backfilled ones are compacted once the
  // server runs. Wait until compaction is done, so it neither slows the report nor leaves 2-hour blocks to read.
  {
    const auto t1 = SteadyClock::now();
    double last = SelfMetric(prom.port(), "prometheus_tsdb_compactions_total");
    auto quiet_since = SteadyClock::now();
    while (Since(quiet_since) < 75 && Since(t1) < 1800) {
      std::this_thread::sleep_for(std::chrono::seconds(5));
      const double now = SelfMetric(prom.port(), "prometheus_tsdb_compactions_total");
      if (now != last) {
        last = now;
        quiet_since = SteadyClock::now();
      }
    }
    Note("Prometheus ready; %g compactions, %g blocks loaded, settled after %.0f s", last,
         SelfMetric(prom.port(), "prometheus_tsdb_blocks_loaded"), Since(t1));
  }
  std::string version = "?";
  {
    httplib::Client client("127.0.0.1", prom.port());
    if (auto res = client.Get("/api/v1/status/buildinfo"); res && res->status == 200) {
      const json j = json::parse(res->body, nullptr, false);
      if (!j.is_discarded() && j.contains("data")) version = j["data"].value("version", "?");
    }
  }
  std::unique_ptr<SimApi> api;
  if (a.cluster || a.both) {
    api = std::make_unique<SimApi>();
    if (base::Status st = api->Start(fleet->world, fleet->end_s, dir.path); !st.ok()) {
      Note("simulated API: %s", st.ToString().c_str());
      return 1;
    }
    Note("simulated Kubernetes API seeded at the window's end: %zu pods, %zu distinct owners up their chains", api->pods(),
         api->owners());
  }
  std::vector<bool> modes;
  if (a.both) modes = {true, false};
  else modes = {a.cluster};
  bool all_ok = true, warmed = false;
  for (const bool with_cluster : modes) {
    std::map<std::string, std::string> child = {{"prometheus", prom.url()},
                                                {"start", std::to_string(fleet->UnixS(fleet->start_s))},
                                                {"end", std::to_string(fleet->UnixS(fleet->end_s))},
                                                {"step_ms", std::to_string(std::llround(a.interval_s * 1000))}};
    if (with_cluster) child["kubeconfig"] = api->kubeconfig();
    if (a.verbose) child["verbose"] = "1";
    child["read"] = a.read;
    // The first run reads the blocks from disk into the page cache and is not measured; the next one is.
    ChildResult r;
    QueryLogSum qs;
    for (int pass = warmed ? 1 : 0; pass < 2; ++pass) {
      const std::uintmax_t offset = FileSize(query_log);
      Note("running the report %s the cluster, %s...", with_cluster ? "with" : "without",
           pass == 0 ? "cold (not measured)" : "warm (measured)");
      r = RunChild(child, dir.path, a.timeout_s, a.perf);
      PrintChild(r);
      qs = SumQueryLog(query_log, offset);
      Note("Prometheus's query log: %d queries, execTotalTime %.2f s summed (evalTotalTime %.2f s, queue %.2f s)",
           qs.queries, qs.exec_total_s, qs.eval_total_s, qs.queue_s);
      if (!r.ok) break;
    }
    warmed = true;
    if (!r.ok) {
      all_ok = false;
      continue;
    }
    const double wall = r.result.value("wall_s", NAN);
    const double anchor = qs.queries > 0 ? qs.exec_total_s : NAN;
    const std::string name = "report_" + FleetName(a) + "_prometheus" + (with_cluster ? "" : "_no_cluster") +
                             (a.read == "auto" ? "" : "_" + a.read);
    Emit(name + "_wall", wall, "s",
         "sum of Prometheus's own execTotalTime over the report's queries (query log, prometheus " + version +
             "); goal: wall <= 1.5x that",
         anchor, 1.5 * anchor / wall);
    Emit(name + "_peak_rss", r.result.value("peak_mib", NAN), "MiB", "goal (issue 5, 10,000 GPUs): < 1 GiB", 1024,
         1024 / r.result.value("peak_mib", NAN));
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace gpuwise

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "child") {
    std::map<std::string, std::string> args;
    for (int i = 2; i < argc; ++i) {
      const std::string_view kv = argv[i];
      const std::size_t eq = kv.find('=');
      if (eq != std::string_view::npos) args[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    return gpuwise::ChildMain(args);
  }
  gpuwise::Args args;
  if (!gpuwise::ParseArgs(argc, argv, &args)) {
    std::fprintf(stderr,
                 "usage: report_bench fake [--gpus N] [--days D] [--interval S] [--seed K] [--no-cluster|--both] "
                 "[--read auto|raw|aggregated] [--timeout S] [--perf FILE] [--keep DIR] [--verbose]\n"
                 "       report_bench prometheus [--gpus N] [--days D] [--interval S] [--seed K] [--no-cluster|--both] "
                 "[--read auto|raw|aggregated] [--timeout S] [--perf FILE] [--keep DIR] [--verbose]\n");
    return 2;
  }
  return args.mode == "fake" ? gpuwise::FakeMain(args) : gpuwise::PrometheusMain(args);
}
