#include "cli/explain_workload.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "analyze/cost.h"
#include "analyze/diagnosis.h"
#include "analyze/workload_class.h"
#include "base/check.h"
#include "base/units.h"
#include "cli/output.h"
#include "model/annotations.h"

namespace gpuwise::cli {
namespace {

using nlohmann::json;

// ---- formatting

std::string Exact(std::int64_t micro) { return base::FormatUsd({micro}); }  // "$1.234567"
json Num(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

// "1", "1/4" (a share that is 1/n), else four decimals.
std::string ShareText(double share) {
  if (std::abs(share - 1.0) < 1e-9) return "1";
  if (share > 0) {
    const double n = 1.0 / share;
    if (std::abs(n - std::round(n)) < 1e-6 && n <= 1024) return "1/" + std::to_string(static_cast<int>(std::llround(n)));
  }
  return Fixed(share, 4);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

// Held, used and idle in cents that re-add exactly: held rounded half up, split between used and idle by largest
// remainder (each within a cent of its exact value). Exact micro-dollars are in the JSON.
struct Cents {
  std::int64_t held = 0, used = 0, idle = 0;
};
Cents ToCents(const analyze::Money& m) {
  Cents c;
  c.held = (m.allocated() + 5000) / 10000;
  const std::vector<std::int64_t> parts =
      analyze::SplitExact(c.held, {static_cast<double>(m.used), static_cast<double>(m.idle)});
  c.used = parts[0];
  c.idle = parts[1];
  return c;
}
std::string Dollars(std::int64_t cents) { return base::FormatDollars(cents * 10000); }

// ---- meanings, in words

std::string AttributionMeaning(model::AttributionSource s) {
  switch (s) {
    case model::AttributionSource::kApi:
      return "the pod is in the Kubernetes API: its owner chain (ownerReferences) and labels are read from there";
    case model::AttributionSource::kKubeState:
      return "the pod is gone from the API; kube-state-metrics series (kube_pod_owner, kube_replicaset_owner, "
             "kube_job_owner, kube_pod_labels) named its owner and labels";
    case model::AttributionSource::kInferred:
      return "the pod is gone and kube-state-metrics did not list it: its owner is inferred from its name "
             "(<deployment>-<hash>-<5>, <cronjob>-<minutes>-<5>, <job>-<5>, <statefulset>-<n>)";
    case model::AttributionSource::kPodGone:
      break;
  }
  return "the pod is gone and nothing names its owner: it is its own workload (\"unattributed: pod gone\"), still "
         "counted";
}

std::string NodeJoinMeaning(model::NodeJoin j) {
  switch (j) {
    case model::NodeJoin::kHostname:
      return "the exporter's Hostname label names a node the Kubernetes API has";
    case model::NodeJoin::kExporterPod:
      return "the node of the dcgm-exporter pod that reported it (its scrape target or pod, from endpoint discovery, "
             "or a node label Prometheus attached)";
    case model::NodeJoin::kApiOnly:
      return "the node advertises this GPU (nvidia.com/gpu.count) but no exporter reports it: priced, held by "
             "assumption, no usage samples";
    case model::NodeJoin::kUnknown:
      break;
  }
  return "no node is named by its Hostname label or its exporter: counted, never priced";
}

std::string HoldHowMeaning(model::HoldHow h) {
  switch (h) {
    case model::HoldHow::kLabel:
      return "dcgm-exporter labelled the device with this pod";
    case model::HoldHow::kLabelShared:
      return "dcgm-exporter's pod label picks the shared device; the share comes from the pod's request";
    case model::HoldHow::kAssumed:
      break;
  }
  return "no exporter label names the pod: placed on a free device of the kind it requests on its node, as the "
         "device plugin would";
}

std::string ComputeSourceMeaning(const std::string& sources) {
  if (sources.empty()) return "none: no compute signal was sampled for its devices";
  std::vector<std::string> out;
  std::string rest = sources;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string s = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    if (s == "sm_active") {
      out.push_back("DCGM_FI_PROF_SM_ACTIVE (sm_active), the share of cycles an SM has at least one warp assigned "
                    "(the preferred signal)");
    } else if (s == "gr_engine_active") {
      out.push_back("DCGM_FI_PROF_GR_ENGINE_ACTIVE (gr_engine_active), the share of time the graphics engine is busy; "
                    "an upper bound on SM activity (SM_ACTIVE is not collected)");
    } else if (s == "gpu_util") {
      out.push_back("DCGM_FI_DEV_GPU_UTIL (gpu_util), the share of time any kernel ran; a coarse upper bound "
                    "(neither SM_ACTIVE nor GR_ENGINE_ACTIVE is collected)");
    } else {
      out.push_back(s);
    }
  }
  return Join(out, "; ");
}

std::string RequestText(const model::GpuRequest& g) {
  std::vector<std::string> r;
  if (g.gpus > 0) r.push_back("nvidia.com/gpu: " + std::to_string(g.gpus));
  if (g.shared > 0) r.push_back("nvidia.com/gpu.shared: " + std::to_string(g.shared));
  for (const auto& [profile, n] : g.mig) r.push_back("nvidia.com/mig-" + profile + ": " + std::to_string(n));
  if (g.hami_gpumem_mib > 0) r.push_back("nvidia.com/gpumem: " + Fixed(g.hami_gpumem_mib, 0) + " MiB");
  if (g.hami_gpumem_percent > 0) r.push_back("nvidia.com/gpumem-percentage: " + Fixed(g.hami_gpumem_percent, 0));
  if (g.hami_gpucores_percent > 0) r.push_back("nvidia.com/gpucores: " + Fixed(g.hami_gpucores_percent, 0));
  if (g.kai_fraction > 0) r.push_back("gpu-fraction: " + Fixed(g.kai_fraction, 2));
  if (g.kai_memory_mib > 0) r.push_back("gpu-memory: " + Fixed(g.kai_memory_mib, 0) + " MiB");
  for (const auto& [name, v] : g.other) r.push_back(name + ": " + Fixed(v, 2));
  return r.empty() ? "no GPU" : Join(r, ", ");
}

std::string DurationText(std::chrono::milliseconds ms) {
  const auto v = ms.count();
  if (v % 1000 == 0) return std::to_string(v / 1000) + "s";
  return std::to_string(v) + "ms";
}

// The team precedence of docs/annotations.md (model::ResolvePolicy), and which step a Workload::team_rule names.
constexpr const char* kTeamPrecedence[] = {
    "gpuwise.io/team label on the pod, then the same key as a pod annotation",
    "the configured label keys (default: team), in order, on the pod",
    "gpuwise.io/team label on the namespace, then as a namespace annotation",
    "the configured label keys, in order, on the namespace",
    "the namespace name",
};
int TeamStep(const std::string& rule) {
  const std::string team_key(model::kTeamKey);
  if (rule.starts_with("pod ")) return rule.find(team_key) != std::string::npos ? 1 : 2;
  if (rule == "namespace name") return 5;
  if (rule.starts_with("namespace ")) return rule.find(team_key) != std::string::npos ? 3 : 4;
  return 0;
}

// ---- serving latency (model::ServingUsage, from observe/serving_telemetry)

constexpr const char* kLatencyRule =
    "per pod, the increase of each cumulative bucket of vLLM's histogram over the basis (a count that drops is a "
    "restart: the new value is the increase); the workload's pods summed bucket by bucket; then the quantile as "
    "Prometheus's histogram_quantile computes it: linear inside the bucket that holds rank q x count, the highest "
    "finite bound when it falls in the +Inf bucket";
constexpr const char* kLatencyMetrics =
    "vllm:time_to_first_token_seconds, vllm:time_per_output_token_seconds (else vllm:inter_token_latency_seconds), "
    "vllm:e2e_request_latency_seconds";

std::string Millis(double seconds) {
  if (std::isnan(seconds)) return "unknown";
  return Fixed(seconds * 1000.0, seconds < 0.1 ? 1 : 0) + " ms";
}

// Whether the workload's latency was read at all (some pod's page or Prometheus had the histograms).
bool LatencyRead(const model::Workload& wl) { return wl.serving.Any() && !wl.serving.latency_basis.empty(); }

// ---- the facts, gathered once and rendered as text and JSON

struct HoldFact {
  int pod = -1, device = -1;
  double share_seconds = 0;   // sum of share x fraction x seconds
  double held_seconds = 0;    // sum of fraction x seconds
  double max_share = 0;       // for holds of no duration
  std::set<model::HoldHow> hows;
  analyze::Money money;
  double gpu_hours = 0;
  // The share held, weighted by time held (the same in every interval, unless the pod's request changed).
  double share() const { return held_seconds > 0 ? share_seconds / held_seconds : max_share; }
};

// One device-interval of the cost rule, written out (the largest the workload paid for on its largest device).
struct Worked {
  bool present = false;
  int device = -1, pod = -1, interval = -1;
  std::int64_t seconds = 0, price = 0, gpu_cost = 0, device_cost = 0;
  int slices = 0, total_slices = 0;  // MIG: the instance's compute slices of the GPU's
  double w = 0, big_w = 0, held = 0;  // this hold's weight, the sum of the device's holds, min(W, 1)
  double compute = NAN, fb = NAN;
  bool fb_reserved = false;
  double u = NAN;
  std::int64_t c = 0, used = 0, idle = 0;
};

struct Rule {
  int number = 0;
  analyze::GpuState state = analyze::GpuState::kUnknown;
  std::string condition, observed;
  bool holds = false, matched = false;
};

struct Signal {
  std::string name, unit;
  analyze::SignalSummary summary;
};

struct Facts {
  const app::ReportRun* run = nullptr;
  const model::Workload* wl = nullptr;
  int index = -1;
  double window_seconds = 0;
  // Team, class, policy.
  int team_step = 0;
  analyze::WorkloadClassification cls;
  std::string class_description;
  bool has_policy = false;
  model::WorkloadPolicy policy;
  model::Sourced<model::Isolation> isolation;
  std::vector<std::string> warnings;
  // Holdings and money.
  std::vector<HoldFact> holds;  // by pod name, then node, GPU index, GI id
  bool shared = false;
  Worked worked;
  analyze::Money by_device_total;
  std::set<int> nodes;          // snapshot node indices it held devices on (-1: unknown node)
  // Usage.
  std::vector<Signal> signals;
  std::string reservation;      // "" when no pod's engine reserves memory
  // Diagnosis.
  analyze::Diagnosis diagnosis;
  std::string report_state;     // the report row's state, "" when the report lists no row for it
  std::vector<Rule> rules;
};

// The money of every (pod, device) the workload held, from the ledger's own arithmetic (analyze::ComputeCosts with
// an on_hold observer), and the largest device's largest hold-interval for the worked line.
void CostHolds(const model::Snapshot& s, int w, std::map<std::pair<int, int>, HoldFact>* holds, Worked* worked) {
  std::map<int, std::int64_t> device_held;  // device -> the workload's held $ on it
  std::map<int, Worked> device_best;        // device -> its largest single hold-interval
  analyze::CostOptions options;
  options.on_hold = [&](const analyze::HoldCost& hc) {
    if (s.pod_workload[static_cast<std::size_t>(hc.pod)] != w) return;
    const model::Device& dev = s.devices[static_cast<std::size_t>(hc.device)];
    const model::DeviceInterval& iv =
        s.usage[static_cast<std::size_t>(hc.device) * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(hc.interval)];
    HoldFact& f = (*holds)[{hc.pod, hc.device}];
    f.money.Add(hc.money);
    f.gpu_hours += hc.gpu_hours;
    device_held[hc.device] += hc.part;
    Worked& best = device_best[hc.device];
    if (best.present && hc.part <= best.c) return;
    best.present = true;
    best.device = hc.device;
    best.pod = hc.pod;
    best.interval = hc.interval;
    best.seconds = hc.seconds;
    best.price = hc.price;
    best.gpu_cost = hc.gpu_cost;
    best.device_cost = hc.device_cost;
    best.slices = hc.slices;
    best.total_slices = hc.total_slices;
    best.w = hc.weight;
    best.big_w = hc.total_weight;
    best.held = hc.held;
    best.compute = iv.compute;
    best.fb_reserved = iv.fb_reserved;
    const double fb_bytes = iv.fb_reserved ? iv.fb_demand_bytes : iv.fb_used_bytes;
    best.fb = !std::isnan(fb_bytes) && dev.memory_bytes > 0 ? std::clamp(fb_bytes / dev.memory_bytes, 0.0, 1.0) : NAN;
    best.u = hc.usage;
    best.c = hc.part;
    best.used = hc.money.used;
    best.idle = hc.money.idle;
  };
  (void)analyze::ComputeCosts(s, options);
  // The largest device (most held $; ties: the first device), and its largest hold-interval.
  int best_device = -1;
  std::int64_t best_held = -1;
  for (const auto& entry : device_held) {
    if (entry.second > best_held) {
      best_held = entry.second;
      best_device = entry.first;
    }
  }
  if (best_device >= 0) *worked = device_best[best_device];
}

Facts Gather(const app::ReportRun& run, int w) {
  const model::Snapshot& s = run.snapshot;
  CHECK(w >= 0 && static_cast<std::size_t>(w) < s.workloads.size()) << "workload index " << w;
  Facts f;
  f.run = &run;
  f.wl = &s.workloads[static_cast<std::size_t>(w)];
  f.index = w;
  for (int i = 0; i < s.intervals; ++i) f.window_seconds += static_cast<double>(s.live ? s.interval_s : s.IntervalSeconds(i));

  // Team, class, policy: from the first pod (a workload's pods share a template), as the report does.
  f.team_step = TeamStep(f.wl->team_rule);
  if (!f.wl->pods.empty()) {
    const model::Pod& first = s.pods[static_cast<std::size_t>(f.wl->pods.front())];
    const model::Namespace* ns = nullptr;
    for (const model::Namespace& n : s.namespaces) {
      if (n.name == first.namespace_name) ns = &n;
    }
    f.cls = analyze::ClassifyWorkload({first, ns});
    for (const analyze::ClassRule& r : analyze::ClassRules()) {
      if (r.id == f.cls.rule_id) f.class_description = std::string(r.description);
    }
    f.has_policy = true;
    f.policy = model::ResolvePolicy(first, ns, model::TeamOptions{});
    f.isolation = f.policy.IsolationFor(f.cls.workload_class);
    std::set<std::string> seen;
    for (int p : f.wl->pods) {
      for (const model::AnnotationWarning& warning :
           model::ResolvePolicy(s.pods[static_cast<std::size_t>(p)], ns, model::TeamOptions{}).warnings) {
        if (seen.insert(warning.str()).second) f.warnings.push_back(warning.str());
      }
    }
  }

  // Holdings: share and fraction of the window per (pod, device), and how each was known.
  std::map<std::pair<int, int>, HoldFact> holds;
  for (const model::DeviceInterval& iv : s.usage) {
    const double secs = static_cast<double>(s.live ? s.interval_s : s.IntervalSeconds(iv.interval));
    for (const model::DeviceHold& h : iv.holds) {
      if (s.pod_workload[static_cast<std::size_t>(h.pod)] != w) continue;
      HoldFact& hf = holds[{h.pod, iv.device}];
      hf.pod = h.pod;
      hf.device = iv.device;
      hf.share_seconds += h.share * h.fraction * secs;
      hf.held_seconds += h.fraction * secs;
      hf.max_share = std::max(hf.max_share, h.share);
      hf.hows.insert(h.how);
    }
  }
  CostHolds(s, w, &holds, &f.worked);
  for (auto& entry : holds) {
    HoldFact& hf = entry.second;
    if (hf.share() < 1.0 - 1e-9 && !s.devices[static_cast<std::size_t>(hf.device)].is_mig()) f.shared = true;
    if (hf.hows.count(model::HoldHow::kLabelShared)) f.shared = true;
    f.by_device_total.Add(hf.money);
    f.nodes.insert(s.devices[static_cast<std::size_t>(hf.device)].node);
    f.holds.push_back(hf);
  }
  std::stable_sort(f.holds.begin(), f.holds.end(), [&s](const HoldFact& a, const HoldFact& b) {
    const auto& pa = s.pods[static_cast<std::size_t>(a.pod)];
    const auto& pb = s.pods[static_cast<std::size_t>(b.pod)];
    if (pa.name != pb.name) return pa.name < pb.name;
    const model::Device& da = s.devices[static_cast<std::size_t>(a.device)];
    const model::Device& db = s.devices[static_cast<std::size_t>(b.device)];
    if (da.hostname != db.hostname) return da.hostname < db.hostname;
    if (da.gpu_index.size() != db.gpu_index.size()) return da.gpu_index.size() < db.gpu_index.size();  // "2" < "10"
    if (da.gpu_index != db.gpu_index) return da.gpu_index < db.gpu_index;
    return std::tie(da.gi_id, da.key) < std::tie(db.gi_id, db.key);
  });

  // Usage profile: the diagnosis's summaries (the workload's sketches, or the window quantiles Prometheus computed
  // when the window was read aggregated).
  const analyze::DiagnosisOptions& o = run.report.thresholds;
  f.diagnosis = analyze::Diagnose(*f.wl, o);
  static constexpr const char* kUnits[] = {"ratio", "ratio", "ratio", "ratio", "watts", "bytes/s", "bytes/s"};
  static_assert(std::size(kUnits) == model::kUsageSignalCount);
  for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) {
    f.signals.push_back({std::string(model::UsageSignalName(static_cast<model::UsageSignal>(k))), kUnits[k],
                         f.diagnosis.signals[k]});
  }
  for (int p : f.wl->pods) {
    const model::ServingEngine& e = s.pods[static_cast<std::size_t>(p)].engine;
    if (!e.ReservesMemory() || !f.reservation.empty()) continue;
    int reserved = 0, demand = 0;
    for (const model::DeviceInterval& iv : s.usage) {
      bool held = false;
      for (const model::DeviceHold& h : iv.holds) held = held || s.pod_workload[static_cast<std::size_t>(h.pod)] == w;
      if (!held || !iv.fb_reserved) continue;
      ++reserved;
      if (!std::isnan(iv.fb_demand_bytes)) ++demand;
    }
    f.reservation = e.name + " reserves its GPU memory at start" +
                    (std::isnan(e.gpu_memory_utilization) ? std::string(" (its default budget)")
                                                          : " (--gpu-memory-utilization " + Fixed(e.gpu_memory_utilization, 2) + ")") +
                    ": the framebuffer used (fb_share) is that reservation, not demand. Usage and cost take the "
                    "engine's own demand (weights + KV cache in use, from its metrics) when known, else compute alone; "
                    "demand was known in " + std::to_string(demand) + " of " + std::to_string(reserved) +
                    " device-intervals.";
    if (f.wl->serving.Any() && f.wl->serving.kv_usage.count() > 0) {
      f.reservation += " Its engine metrics (" + std::to_string(f.wl->serving.pods) + " pod(s)): KV-cache use p95 " +
                       Pct(f.wl->serving.kv_usage.Quantile(0.95)) + " over " +
                       std::to_string(f.wl->serving.kv_usage.count()) + " scrapes (vllm:kv_cache_usage_perc).";
    }
  }

  // Diagnosis: the rules of analyze/diagnosis.h in order, with the report's thresholds.
  for (const analyze::WorkloadRow& row : run.report.workloads) {
    if (row.workload == w) f.report_state = std::string(analyze::GpuStateName(row.diagnosis.state));
  }
  const analyze::SignalSummary& c = f.diagnosis.signals[static_cast<std::size_t>(model::UsageSignal::kCompute)];
  const analyze::SignalSummary& fb = f.diagnosis.signals[static_cast<std::size_t>(model::UsageSignal::kFbShare)];
  const analyze::SignalSummary& dram = f.diagnosis.signals[static_cast<std::size_t>(model::UsageSignal::kDram)];
  const std::uint64_t min_samples = std::max<std::uint64_t>(1, o.min_samples);
  const bool enough = c.count >= min_samples;
  using analyze::GpuState;
  // The idle test is the diagnosis's own: the share of sketched samples below the idle level, or (window quantiles
  // from Prometheus, no share known) its verdict, which rule 2 alone can give once rule 1 does not hold.
  const double idle_share = f.diagnosis.idle_sample_share;
  const bool idle = enough && (std::isnan(idle_share) ? f.diagnosis.state == GpuState::kIdle : idle_share >= o.idle_share);
  std::string idle_observed = "no compute samples";
  if (!std::isnan(idle_share)) idle_observed = "below in " + Pct(idle_share) + " of samples";
  else if (enough) idle_observed = idle && !f.diagnosis.evidence.empty() ? f.diagnosis.evidence.front() : "not idle by the window's compute quantile";
  const bool compute_high = c.count > 0 && c.p95 >= o.compute_high;
  const bool fb_high = fb.count > 0 && fb.p95 >= o.fb_high;
  const bool dram_high = dram.count > 0 && dram.p95 >= o.dram_high;
  const std::string p95c = c.count > 0 ? "p95 compute " + Pct(c.p95) : "no compute samples";
  const std::string p95fb = fb.count > 0 ? "p95 framebuffer " + Pct(fb.p95) : "framebuffer unknown (counts as low)";
  f.rules = {
      {1, GpuState::kUnknown, "fewer than " + std::to_string(min_samples) + " compute samples",
       std::to_string(c.count) + " compute samples", !enough, false},
      {2, GpuState::kIdle,
       "compute below " + Pct(o.idle_compute) + " in at least " + Pct(o.idle_share) + " of samples",
       idle_observed, idle, false},
      {3, GpuState::kBusy, "p95 compute >= " + Pct(o.compute_high) + " and p95 framebuffer >= " + Pct(o.fb_high),
       p95c + ", " + p95fb, compute_high && fb_high, false},
      {4, GpuState::kComputeBound, "p95 compute >= " + Pct(o.compute_high), p95c, compute_high, false},
      {5, GpuState::kMemoryBound, "p95 DRAM activity >= " + Pct(o.dram_high),
       dram.count > 0 ? "p95 DRAM activity " + Pct(dram.p95) : "no DRAM activity samples", dram_high, false},
      {6, GpuState::kMemoryHeld, "p95 framebuffer >= " + Pct(o.fb_high), p95fb, fb_high, false},
      {7, GpuState::kOverProvisioned, "otherwise", "-", true, false},
  };
  for (Rule& r : f.rules) {
    if (r.holds) {
      r.matched = true;
      break;
    }
  }
  return f;
}

std::string KeyOf(const model::Workload& wl) { return wl.key.str(); }

std::string OwnerChain(const model::Pod& p) {
  std::string chain = "Pod " + p.name;
  for (const model::OwnerRef& o : p.owners) chain += " -> " + o.kind + " " + o.name;
  return chain;
}

std::string DeviceText(const model::Device& d) {
  std::string t = "GPU " + (d.uuid.empty() ? d.key : d.uuid);
  if (!d.gpu_index.empty()) t += " (index " + d.gpu_index + (d.model_name.empty() ? "" : ", " + d.model_name) + ")";
  else if (!d.model_name.empty()) t += " (" + d.model_name + ")";
  if (d.is_mig()) {
    t += ", MIG " + (d.mig_profile.empty() ? std::string("instance") : d.mig_profile) + " GI " + std::to_string(d.gi_id) +
         " (" + std::to_string(d.compute_slices) + "/" + std::to_string(d.total_slices) + " of the GPU's compute slices)";
  }
  if (!d.seen) t += ", not reported by any exporter";
  return t;
}

std::string HowText(const std::set<model::HoldHow>& hows) {
  std::vector<std::string> parts;
  for (model::HoldHow h : hows) parts.push_back(std::string(model::HoldHowName(h)) + " (" + HoldHowMeaning(h) + ")");
  return Join(parts, "; ");
}

// Seconds between a device's samples over what the workload held (held device-seconds over their samples); 0 for a
// live view (its one interval is not the time its scrapes span) or without samples.
double MeasuredSpacing(const Facts& f) {
  const model::Snapshot& s = f.run->snapshot;
  if (s.live) return 0;
  double seconds = 0, samples = 0;
  for (const model::DeviceInterval& u : s.usage) {
    if (u.samples == 0) continue;
    double held = 0;
    for (const model::DeviceHold& h : u.holds) {
      if (s.pod_workload[static_cast<std::size_t>(h.pod)] == f.index) held += h.fraction;
    }
    held = std::min(held, 1.0);
    seconds += held * static_cast<double>(s.IntervalSeconds(u.interval));
    samples += held * u.samples;
  }
  return samples > 0 ? seconds / samples : 0;
}

std::string SamplingSentence(const Facts& f) {
  const analyze::SignalSummary& c = f.signals[0].summary;
  const double spacing = MeasuredSpacing(f);
  const std::string measured =
      spacing > 0 ? "here one every " + Fixed(spacing, spacing < 10 ? 1 : 0) + " s on average over the devices it held; " : "";
  const std::string of = "Percentiles are of exporter samples: one value per device per scrape (" + measured +
                         "30 s by default, dcgm-exporter's default collect interval), not of a continuous signal; ";
  const std::string tail = " Compute: " + std::to_string(c.count) + " samples; telemetry: " + f.run->snapshot.telemetry_source + ".";
  // Sketches empty while the summaries have samples: the window was read aggregated, Prometheus computed them.
  if (f.wl->usage[static_cast<std::size_t>(model::UsageSignal::kCompute)].count() == 0 && c.count > 0) {
    return of + "computed by Prometheus over the window per series (quantile_over_time); with several series the "
                "largest, an upper bound of the workload's." + tail;
  }
  return of + "every device it held contributes its samples (a shared GPU's samples count for each sharer), sketched "
              "with 1% relative error." + tail;
}

// The worked line's formula with its figures, and where it applies.
std::pair<std::string, std::string> WorkedText(const Facts& f) {
  const Worked& k = f.worked;
  if (!k.present) return {};
  const model::Snapshot& s = f.run->snapshot;
  const model::Device& d = s.devices[static_cast<std::size_t>(k.device)];
  const double hours = static_cast<double>(k.seconds) / 3600.0;
  std::string t = "C = price x hours";
  std::string nums = Exact(k.price) + " x " + Fixed(hours, 4) + " h";
  if (k.total_slices > 0) {
    t += " x slices";
    nums += " x " + std::to_string(k.slices) + "/" + std::to_string(k.total_slices);
  }
  const bool partial = std::abs(k.w - 1.0) > 1e-9;
  if (partial) {
    t += " x w";
    nums += " x " + Fixed(k.w, 4);
  }
  t += " = " + nums + " = " + Exact(k.c);
  std::string u;
  if (std::isnan(k.u)) {
    u = "usage u unknown (no sample in the interval): counted idle, unmeasured";
  } else {
    const std::string fb_name = k.fb_reserved ? "fb demand" : "fb";
    u = "usage u = max(compute, " + fb_name + ") = max(" + Pct(k.compute) + ", " + Pct(k.fb) + ") = " + Pct(k.u);
  }
  t += "; " + u + "; W = " + Fixed(k.held, 4);
  if (k.big_w > 1.0 + 1e-9) t += " (the device's holds sum to " + Fixed(k.big_w, 4) + ", scaled to 1)";
  t += "; used = C x min(u, W) / W = " + Exact(k.c) + " x " + (std::isnan(k.u) ? std::string("0") : Fixed(std::min(k.u, k.held), 4)) +
       " / " + Fixed(k.held, 4) + " = " + Exact(k.used) + "; idle = C - used = " + Exact(k.idle);
  std::string where = "device " + d.key + ", pod " + s.pods[static_cast<std::size_t>(k.pod)].name;
  if (s.intervals > 1) where += ", interval starting " + Utc(std::max(s.IntervalStart(k.interval), s.start_unix_s)) + " (its largest)";
  if (k.total_slices > 0) {
    where += "; the GPU's interval cost " + Exact(k.gpu_cost) + " split by compute slices (largest remainder)";
  }
  if (partial) where += "; w = share x fraction of the interval";
  return {t, where};
}

}  // namespace

// ---- FindWorkload

namespace {

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string List(const model::Snapshot& s, const std::vector<int>& ws) {
  std::vector<std::string> keys;
  for (int w : ws) keys.push_back(s.workloads[static_cast<std::size_t>(w)].key.str());
  return Join(keys, ", ");
}

}  // namespace

base::Result<int> FindWorkload(const model::Snapshot& s, std::string_view designator) {
  std::string text(designator);
  while (!text.empty() && text.front() == ' ') text.erase(text.begin());
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.empty()) return base::InvalidArgument("workload: empty name (want ns/name, ns/Kind/name or name)");
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3) {
    return base::InvalidArgument("workload '" + text + "': too many '/' (want ns/name, ns/Kind/name or name)");
  }
  for (const std::string& p : parts) {
    if (p.empty()) return base::InvalidArgument("workload '" + text + "': an empty part (want ns/name, ns/Kind/name or name)");
  }
  std::vector<int> matches;
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::WorkloadKey& k = s.workloads[w].key;
    bool match = false;
    if (parts.size() == 1) match = k.name == parts[0];
    else if (parts.size() == 2) match = k.namespace_name == parts[0] && k.name == parts[1];
    else match = k.namespace_name == parts[0] && Lower(k.kind) == Lower(parts[1]) && k.name == parts[2];
    if (match) matches.push_back(static_cast<int>(w));
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return base::InvalidArgument("workload '" + text + "' is ambiguous: " + std::to_string(matches.size()) +
                                 " workloads match (" + List(s, matches) + "); name one as ns/Kind/name");
  }
  if (s.workloads.empty()) return base::NotFound("workload '" + text + "': the snapshot has no workloads");
  // Close matches: the smallest edit distance to the key written the same way (name, ns/name or ns/Kind/name),
  // with a substring match counted as closest; ties in key order.
  std::vector<std::pair<std::size_t, int>> ranked;
  const std::string want = Lower(text);
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::WorkloadKey& k = s.workloads[w].key;
    const std::string form = Lower(parts.size() == 1   ? k.name
                                   : parts.size() == 2 ? k.namespace_name + "/" + k.name
                                                       : k.str());
    std::size_t dist = EditDistance(want, form);
    if (form.find(want) != std::string::npos || want.find(form) != std::string::npos) dist = std::min<std::size_t>(dist, 1);
    if (Lower(k.name).find(Lower(parts.back())) != std::string::npos) dist = std::min<std::size_t>(dist, 2);
    ranked.emplace_back(dist, static_cast<int>(w));
  }
  std::stable_sort(ranked.begin(), ranked.end(), [&s](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return s.workloads[static_cast<std::size_t>(a.second)].key < s.workloads[static_cast<std::size_t>(b.second)].key;
  });
  std::vector<int> close;
  for (std::size_t i = 0; i < ranked.size() && close.size() < 5; ++i) close.push_back(ranked[i].second);
  return base::NotFound("no workload '" + text + "' in the snapshot (" + std::to_string(s.workloads.size()) +
                        " workloads); close matches: " + List(s, close));
}

// ---- text

std::string ExplainWorkloadText(const app::ReportRun& run, int workload) {
  const Facts f = Gather(run, workload);
  const model::Snapshot& s = run.snapshot;
  const model::Workload& wl = *f.wl;
  const analyze::WorkloadCost& cost = run.ledger.workloads[static_cast<std::size_t>(workload)];
  std::ostringstream out;
  out << "gpuwise explain " << KeyOf(wl) << "\n  ";
  if (s.live) out << "live view at " << Utc(s.start_unix_s) << " (money per hour at the current state)";
  else out << Utc(s.start_unix_s) << " to " << Utc(s.end_unix_s) << " (" << Fixed(run.ledger.window_hours, 1) << " h)";
  out << "\n  telemetry: " << s.telemetry_source << "   cluster: " << s.cluster_source << "\n\n";

  out << "IDENTITY\n";
  out << "  namespace " << wl.key.namespace_name << ", kind " << wl.key.kind << ", name " << wl.key.name;
  if (!wl.api_version.empty()) out << " (apiVersion " << wl.api_version << ")";
  out << "   [top controller of its pods' ownerReferences]\n";
  out << "  attribution " << model::AttributionSourceName(wl.source) << ": " << AttributionMeaning(wl.source) << "\n";
  for (int p : wl.pods) {
    const model::Pod& pod = s.pods[static_cast<std::size_t>(p)];
    out << "  pod " << pod.name << " on node " << (pod.node.empty() ? "(none)" : pod.node) << ", phase "
        << (pod.phase.empty() ? "unknown" : pod.phase) << ": " << OwnerChain(pod) << "   [owner chain, source "
        << model::AttributionSourceName(pod.source) << "]\n";
    out << "    requests " << RequestText(pod.GpuTotal());
    if (pod.engine.Found()) out << "; serving engine " << pod.engine.name << " (" << pod.engine.evidence << ")";
    out << "\n";
  }
  out << "\n";

  out << "TEAM, CLASS AND POLICY\n";
  out << "  team " << wl.team << ": rule \"" << wl.team_rule << "\"";
  if (f.team_step > 0) out << " (step " << f.team_step << " of 5)";
  out << "   [docs/annotations.md, first rule with a non-empty value wins]\n";
  for (int i = 0; i < 5; ++i) {
    out << "    " << (f.team_step == i + 1 ? "* " : "  ") << (i + 1) << ". " << kTeamPrecedence[i] << "\n";
  }
  if (f.has_policy) {
    out << "  class " << model::WorkloadClassName(f.cls.workload_class) << ": rule " << f.cls.rule_id << " ("
        << f.class_description << "): " << f.cls.reason << "   [analyze/workload_class.h, first match wins]\n";
    const model::WorkloadPolicy& p = f.policy;
    if (!p.HasSlo()) {
      out << "  SLO: none (gpuwise.io/slo-ttft-p99, gpuwise.io/slo-tpot-p99 unset): no SLO: compute is never shrunk, "
             "only memory and idle capacity\n";
    } else {
      if (p.slo_ttft_p99.value) out << "  SLO ttft p99 " << DurationText(*p.slo_ttft_p99.value) << "   [" << p.slo_ttft_p99.source << "]\n";
      if (p.slo_tpot_p99.value) out << "  SLO tpot p99 " << DurationText(*p.slo_tpot_p99.value) << "   [" << p.slo_tpot_p99.source << "]\n";
    }
    out << "  isolation " << model::IsolationName(f.isolation.value) << "   [" << f.isolation.source << "]\n";
    out << "  automation " << model::AutomationName(p.automation.value) << "   [" << p.automation.source << "]\n";
    if (p.deadline.value) out << "  deadline " << p.deadline.value->ToString() << "   [" << p.deadline.source << "]\n";
    if (p.ignore.value) out << "  ignored (gpuwise.io/ignore)   [" << p.ignore.source << "]\n";
    if (f.warnings.empty()) out << "  annotation warnings: none\n";
    for (const std::string& w : f.warnings) out << "  annotation warning: " << w << "\n";
  }
  out << "\n";

  out << "WHAT IT HOLDS\n";
  std::set<int> pods_with_holds;
  for (const HoldFact& h : f.holds) {
    const model::Device& d = s.devices[static_cast<std::size_t>(h.device)];
    const model::Pod& pod = s.pods[static_cast<std::size_t>(h.pod)];
    if (pods_with_holds.insert(h.pod).second) out << "  pod " << pod.name << "\n";
    const std::string node = d.node >= 0 ? s.nodes[static_cast<std::size_t>(d.node)].node.name : "(unknown node)";
    out << "    " << DeviceText(d) << "\n";
    out << "      node " << node << " (" << model::NodeJoinName(d.join) << ": " << NodeJoinMeaning(d.join) << ")\n";
    out << "      share " << ShareText(h.share());
    if (h.share() >= 1.0 - 1e-9) out << (d.is_mig() ? " (the whole MIG instance)" : " (the whole GPU)");
    else out << " of the device";
    out << ", " << Pct(f.window_seconds > 0 ? h.held_seconds / f.window_seconds : 0) << " of the window, "
        << Fixed(h.gpu_hours, 4) << " GPU-hours\n";
    out << "      known by " << HowText(h.hows) << "\n";
    const Cents c = ToCents(h.money);
    out << "      held " << Dollars(c.held) << " = used " << Dollars(c.used) << " + idle " << Dollars(c.idle) << "\n";
  }
  for (int p : wl.pods) {
    if (!pods_with_holds.count(p)) out << "  pod " << s.pods[static_cast<std::size_t>(p)].name << ": held no GPU device in the window\n";
  }
  if (f.shared) out << "  shared GPU policy: " << analyze::kSharedGpuPolicy << "\n";
  out << "\n";

  out << "USAGE PROFILE\n";
  out << "  compute from " << ComputeSourceMeaning(wl.compute_source) << "   [per device: SM_ACTIVE, else GR_ENGINE_ACTIVE, "
      << "else GPU_UTIL (whole GPUs only)]\n";
  out << "  " << SamplingSentence(f) << "\n";
  Table t;
  t.columns = {"SIGNAL", "SAMPLES", "P50", "P95", "P99", "MAX"};
  for (const Signal& sig : f.signals) {
    const auto& m = sig.summary;
    auto v = [&sig, &m](double x) {
      if (m.count == 0) return std::string("-");
      if (sig.unit == "watts") return Fixed(x, 1) + " W";
      if (sig.unit == "bytes/s") return Fixed(x / 1e6, 1) + " MB/s";
      return Pct(x);
    };
    t.rows.push_back({sig.name, std::to_string(m.count), v(m.p50), v(m.p95), v(m.p99), v(m.max)});
  }
  std::istringstream table(RenderTable(t, false));
  for (std::string line; std::getline(table, line);) out << "  " << line << "\n";
  if (!f.reservation.empty()) out << "  reservation, not demand: " << f.reservation << "\n";
  out << "\n";

  if (wl.serving.Any()) {
    const model::ServingUsage& sv = wl.serving;
    out << "SERVING LATENCY   [" << kLatencyMetrics << "]\n";
    if (!LatencyRead(wl)) {
      out << "  not read: the engine's metrics had no latency histograms\n\n";
    } else {
      out << "  basis " << sv.latency_basis << ", " << sv.pods << " pod(s); " << Fixed(sv.latency_requests, 0)
          << " request(s) counted\n";
      if (!(sv.latency_requests > 0)) {
        out << "  no request in the basis: latency unknown (not zero)\n";
      } else {
        out << "  TTFT        p50 " << Millis(sv.ttft_p50_s) << ", p99 " << Millis(sv.ttft_p99_s) << "\n";
        out << "  TPOT        p50 " << Millis(sv.tpot_p50_s) << ", p99 " << Millis(sv.tpot_p99_s) << "\n";
        out << "  end-to-end  p50 " << Millis(sv.e2e_p50_s) << ", p99 " << Millis(sv.e2e_p99_s) << "\n";
      }
      if (f.has_policy) {
        const auto slo = [&](const char* name, const model::Sourced<std::optional<std::chrono::milliseconds>>& v, double p99) {
          if (!v.value) return;
          out << "  SLO " << name << " p99 " << DurationText(*v.value) << ": observed " << Millis(p99);
          if (!std::isnan(p99)) out << (p99 * 1000.0 <= static_cast<double>(v.value->count()) ? " (within)" : " (above)");
          out << "   [" << v.source << "]\n";
        };
        slo("ttft", f.policy.slo_ttft_p99, sv.ttft_p99_s);
        slo("tpot", f.policy.slo_tpot_p99, sv.tpot_p99_s);
      }
      out << "  rule: " << kLatencyRule << "\n\n";
    }
  }

  out << "DIAGNOSIS  " << analyze::GpuStateName(f.diagnosis.state);
  if (!f.report_state.empty()) out << " (the report's state: " << f.report_state << ")";
  out << "\n  rules of analyze/diagnosis.h in order, first match wins; thresholds in force: compute high "
      << Pct(run.report.thresholds.compute_high) << ", framebuffer high " << Pct(run.report.thresholds.fb_high)
      << ", DRAM high " << Pct(run.report.thresholds.dram_high) << ", idle below " << Pct(run.report.thresholds.idle_compute)
      << " in " << Pct(run.report.thresholds.idle_share) << " of samples, at least "
      << std::max<std::uint64_t>(1, run.report.thresholds.min_samples) << " sample(s)\n";
  Table rules;
  rules.columns = {"#", "STATE", "CONDITION", "OBSERVED", "HOLDS", "RESULT"};
  bool before = true;
  for (const Rule& r : f.rules) {
    rules.rows.push_back({std::to_string(r.number), std::string(analyze::GpuStateName(r.state)), r.condition, r.observed,
                          r.holds ? "yes" : "no", r.matched ? "MATCHED" : before ? "-" : "not reached"});
    if (r.matched) before = false;
  }
  std::istringstream rules_table(RenderTable(rules, false));
  for (std::string line; std::getline(rules_table, line);) out << "  " << line << "\n";
  for (const std::string& e : f.diagnosis.evidence) out << "  evidence: " << e << "\n";
  out << "  action: " << f.diagnosis.action << "\n\n";

  out << "MONEY" << (s.live ? " (per hour)" : " (in the window)") << "\n";
  const Cents c = ToCents(cost.money);
  out << "  held " << Dollars(c.held) << "\n";
  out << "  used " << Dollars(c.used) << "\n";
  out << "  idle " << Dollars(c.idle);
  if (cost.money.unmeasured > 0) {
    out << " (of which " << base::FormatDollars(cost.money.unmeasured) << " unmeasured: intervals with no usage sample, counted idle)";
  }
  out << "\n  (cents rounded so that held = used + idle; exact micro-dollars: held " << Exact(cost.money.allocated())
      << " = used " << Exact(cost.money.used) << " + idle " << Exact(cost.money.idle) << ")\n";
  out << "  GPU-hours " << Fixed(cost.gpu_hours, 4) << " held (GPU-equivalents x hours: MIG by slices, shares by reserved "
      << "fraction), " << Fixed(cost.used_gpu_hours, 4) << " used";
  if (cost.assumed_gpu_hours > 0) out << ", " << Fixed(cost.assumed_gpu_hours, 4) << " held by assumption (no exporter label)";
  out << "\n  idle annualised " << base::FormatDollars(analyze::Annualize(cost.money.idle, run.ledger.window_hours))
      << " a year (idle x 365 x 24 h / " << Fixed(run.ledger.window_hours, 2) << " h)\n";
  out << "  usage: " << run.ledger.usage_definition << "\n";
  for (int n : f.nodes) {
    if (n < 0) {
      out << "  price on an unknown node: none (GPUs on unknown nodes are counted, never priced)\n";
      continue;
    }
    const model::SnapshotNode& sn = s.nodes[static_cast<std::size_t>(n)];
    if (!sn.unpriced_reason.empty()) {
      out << "  price on node " << sn.node.name << ": unpriced (" << sn.unpriced_reason << ")\n";
      continue;
    }
    out << "  price on node " << sn.node.name << ": " << Exact(sn.price_micro_per_gpu_hour) << " per GPU-hour";
    if (sn.list_micro_per_gpu_hour != sn.price_micro_per_gpu_hour && sn.list_micro_per_gpu_hour > 0) {
      out << " (list " << Exact(sn.list_micro_per_gpu_hour) << ")";
    }
    out << "   [price book rule: " << sn.price_rule << "]\n";
  }
  if (f.worked.present) {
    const auto [formula, where] = WorkedText(f);
    out << "  worked, its largest device: " << formula << "\n    (" << where << ")\n";
  }
  if (f.by_device_total.used != cost.money.used || f.by_device_total.idle != cost.money.idle) {
    out << "  note: the per-device figures above add up to " << Exact(f.by_device_total.allocated())
        << ", not the ledger's " << Exact(cost.money.allocated()) << " (a gpuwise bug: please report it)\n";
  }
  return out.str();
}

// ---- JSON

nlohmann::json ExplainWorkloadJson(const app::ReportRun& run, int workload) {
  const Facts f = Gather(run, workload);
  const model::Snapshot& s = run.snapshot;
  const model::Workload& wl = *f.wl;
  const analyze::WorkloadCost& cost = run.ledger.workloads[static_cast<std::size_t>(workload)];
  json doc;
  doc["apiVersion"] = kApiVersion;
  doc["kind"] = "WorkloadExplanation";
  doc["workload"] = {{"namespace", wl.key.namespace_name}, {"kind", wl.key.kind}, {"name", wl.key.name},
                     {"apiVersion", wl.api_version}, {"key", wl.key.str()}};
  doc["window"] = {{"start", s.start_unix_s}, {"end", s.end_unix_s}, {"hours", run.ledger.window_hours}, {"live", s.live}};
  doc["sources"] = {{"telemetry", s.telemetry_source}, {"cluster", s.cluster_source}};

  json pods = json::array();
  for (int p : wl.pods) {
    const model::Pod& pod = s.pods[static_cast<std::size_t>(p)];
    json chain = json::array();
    for (const model::OwnerRef& o : pod.owners) chain.push_back({{"apiVersion", o.api_version}, {"kind", o.kind}, {"name", o.name}});
    pods.push_back({{"name", pod.name}, {"node", pod.node}, {"phase", pod.phase},
                    {"attribution", model::AttributionSourceName(pod.source)}, {"owners", chain},
                    {"ownerChain", OwnerChain(pod)}, {"gpuRequest", RequestText(pod.GpuTotal())},
                    {"engine", pod.engine.Found() ? json{{"name", pod.engine.name}, {"evidence", pod.engine.evidence}}
                                                  : json(nullptr)}});
  }
  doc["identity"] = {{"attribution", {{"source", model::AttributionSourceName(wl.source)},
                                      {"meaning", AttributionMeaning(wl.source)}}},
                     {"pods", pods}};

  json precedence = json::array();
  for (const char* step : kTeamPrecedence) precedence.push_back(step);
  doc["team"] = {{"value", wl.team}, {"rule", wl.team_rule}, {"step", f.team_step}, {"precedence", precedence}};
  if (f.has_policy) {
    doc["class"] = {{"value", model::WorkloadClassName(f.cls.workload_class)}, {"rule", f.cls.rule_id},
                    {"description", f.class_description}, {"reason", f.cls.reason}};
    const model::WorkloadPolicy& p = f.policy;
    json slos = json::array();
    if (p.slo_ttft_p99.value) {
      slos.push_back({{"key", model::kSloTtftP99Key}, {"milliseconds", p.slo_ttft_p99.value->count()}, {"source", p.slo_ttft_p99.source}});
    }
    if (p.slo_tpot_p99.value) {
      slos.push_back({{"key", model::kSloTpotP99Key}, {"milliseconds", p.slo_tpot_p99.value->count()}, {"source", p.slo_tpot_p99.source}});
    }
    doc["policy"] = {
        {"object", p.object},
        {"slos", slos},
        {"slo", p.HasSlo() ? "compute may be resized within the SLO" : "no SLO: compute is never shrunk, only memory and idle capacity"},
        {"isolation", {{"value", model::IsolationName(f.isolation.value)}, {"source", f.isolation.source}}},
        {"automation", {{"value", model::AutomationName(p.automation.value)}, {"source", p.automation.source}}},
        {"deadline", p.deadline.value ? json{{"value", p.deadline.value->ToString()}, {"source", p.deadline.source}} : json(nullptr)},
        {"ignore", {{"value", p.ignore.value}, {"source", p.ignore.source}}},
        {"warnings", f.warnings}};
  } else {
    doc["class"] = nullptr;
    doc["policy"] = nullptr;
  }

  json devices = json::array();
  for (const HoldFact& h : f.holds) {
    const model::Device& d = s.devices[static_cast<std::size_t>(h.device)];
    json hows = json::array();
    std::vector<std::string> meanings;
    for (model::HoldHow how : h.hows) {
      hows.push_back(model::HoldHowName(how));
      meanings.push_back(HoldHowMeaning(how));
    }
    devices.push_back({{"pod", s.pods[static_cast<std::size_t>(h.pod)].name},
                       {"device", d.key},
                       {"node", d.node >= 0 ? json(s.nodes[static_cast<std::size_t>(d.node)].node.name) : json(nullptr)},
                       {"nodeJoin", model::NodeJoinName(d.join)},
                       {"nodeJoinMeaning", NodeJoinMeaning(d.join)},
                       {"uuid", d.uuid},
                       {"gpuIndex", d.gpu_index},
                       {"model", d.model_name},
                       {"migProfile", d.is_mig() ? json(d.mig_profile) : json(nullptr)},
                       {"giId", d.is_mig() ? json(d.gi_id) : json(nullptr)},
                       {"gpuShare", d.gpu_share},
                       {"share", h.share()},
                       {"windowFraction", f.window_seconds > 0 ? h.held_seconds / f.window_seconds : 0.0},
                       {"how", hows},
                       {"howMeaning", Join(meanings, "; ")},
                       {"gpuHours", h.gpu_hours},
                       {"heldMicroUsd", h.money.allocated()},
                       {"usedMicroUsd", h.money.used},
                       {"idleMicroUsd", h.money.idle},
                       {"unmeasuredMicroUsd", h.money.unmeasured}});
  }
  doc["holdings"] = {{"devices", devices}, {"sharedGpuPolicy", f.shared ? json(analyze::kSharedGpuPolicy) : json(nullptr)}};

  json signals = json::object();
  for (const Signal& sig : f.signals) {
    const auto& m = sig.summary;
    signals[sig.name] = {{"unit", sig.unit}, {"count", m.count}, {"p50", Num(m.p50)}, {"p95", Num(m.p95)},
                         {"p99", Num(m.p99)}, {"max", Num(m.max)}};
  }
  json latency = nullptr;
  if (LatencyRead(wl)) {
    const model::ServingUsage& sv = wl.serving;
    const auto pair = [](double p50, double p99) { return json{{"p50Seconds", Num(p50)}, {"p99Seconds", Num(p99)}}; };
    latency = {{"basis", sv.latency_basis},
               {"pods", sv.pods},
               {"requests", sv.latency_requests},
               {"metrics", kLatencyMetrics},
               {"rule", kLatencyRule},
               {"ttft", pair(sv.ttft_p50_s, sv.ttft_p99_s)},
               {"tpot", pair(sv.tpot_p50_s, sv.tpot_p99_s)},
               {"e2e", pair(sv.e2e_p50_s, sv.e2e_p99_s)}};
  }
  doc["usage"] = {{"computeSource", wl.compute_source.empty() ? "none" : wl.compute_source},
                  {"computeSourceMeaning", ComputeSourceMeaning(wl.compute_source)},
                  {"samples", f.signals[0].summary.count},
                  {"sampling", SamplingSentence(f)},
                  {"reservation", f.reservation.empty() ? json(nullptr) : json(f.reservation)},
                  {"latency", latency},
                  {"signals", signals}};

  const analyze::DiagnosisOptions& o = run.report.thresholds;
  json rules = json::array();
  for (const Rule& r : f.rules) {
    rules.push_back({{"number", r.number}, {"state", analyze::GpuStateName(r.state)}, {"condition", r.condition},
                     {"observed", r.observed}, {"holds", r.holds}, {"matched", r.matched}});
  }
  doc["diagnosis"] = {{"state", analyze::GpuStateName(f.diagnosis.state)},
                      {"reportState", f.report_state.empty() ? json(nullptr) : json(f.report_state)},
                      {"action", f.diagnosis.action},
                      {"evidence", f.diagnosis.evidence},
                      {"thresholds", {{"computeHigh", o.compute_high}, {"fbHigh", o.fb_high}, {"dramHigh", o.dram_high},
                                      {"idleCompute", o.idle_compute}, {"idleShare", o.idle_share},
                                      {"minSamples", std::max<std::uint64_t>(1, o.min_samples)}}},
                      {"rules", rules}};

  json prices = json::array();
  for (int n : f.nodes) {
    if (n < 0) {
      prices.push_back({{"node", nullptr}, {"priceMicroUsdPerGpuHour", 0}, {"listMicroUsdPerGpuHour", 0}, {"rule", ""},
                        {"unpricedReason", "GPU on an unknown node: counted, never priced"}});
      continue;
    }
    const model::SnapshotNode& sn = s.nodes[static_cast<std::size_t>(n)];
    prices.push_back({{"node", sn.node.name}, {"priceMicroUsdPerGpuHour", sn.price_micro_per_gpu_hour},
                      {"listMicroUsdPerGpuHour", sn.list_micro_per_gpu_hour}, {"rule", sn.price_rule},
                      {"unpricedReason", sn.unpriced_reason}});
  }
  json worked = nullptr;
  if (f.worked.present) {
    const Worked& k = f.worked;
    worked = {{"device", s.devices[static_cast<std::size_t>(k.device)].key},
              {"pod", s.pods[static_cast<std::size_t>(k.pod)].name},
              {"intervalStart", std::max(s.IntervalStart(k.interval), s.start_unix_s)},
              {"seconds", k.seconds},
              {"priceMicroUsdPerGpuHour", k.price},
              {"gpuCostMicroUsd", k.gpu_cost},
              {"deviceCostMicroUsd", k.device_cost},
              {"slices", k.total_slices > 0 ? json(k.slices) : json(nullptr)},
              {"totalSlices", k.total_slices > 0 ? json(k.total_slices) : json(nullptr)},
              {"weight", k.w},
              {"holdsWeight", k.big_w},
              {"compute", Num(k.compute)},
              {"fb", Num(k.fb)},
              {"fbReserved", k.fb_reserved},
              {"usage", Num(k.u)},
              {"heldMicroUsd", k.c},
              {"usedMicroUsd", k.used},
              {"idleMicroUsd", k.idle},
              {"text", WorkedText(f).first},
              {"where", WorkedText(f).second}};
  }
  doc["money"] = {{"perHour", s.live},
                  {"windowHours", run.ledger.window_hours},
                  {"heldMicroUsd", cost.money.allocated()},
                  {"usedMicroUsd", cost.money.used},
                  {"idleMicroUsd", cost.money.idle},
                  {"unmeasuredMicroUsd", cost.money.unmeasured},
                  {"gpuHours", cost.gpu_hours},
                  {"usedGpuHours", cost.used_gpu_hours},
                  {"assumedGpuHours", cost.assumed_gpu_hours},
                  {"idleAnnualizedMicroUsd", analyze::Annualize(cost.money.idle, run.ledger.window_hours)},
                  {"usageDefinition", run.ledger.usage_definition},
                  {"prices", prices},
                  {"worked", worked},
                  {"byDeviceMatchesLedger", f.by_device_total.used == cost.money.used &&
                                                f.by_device_total.idle == cost.money.idle &&
                                                f.by_device_total.unmeasured == cost.money.unmeasured}};
  return doc;
}

}  // namespace gpuwise::cli
