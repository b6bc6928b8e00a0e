#include "cli/views.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/units.h"

namespace gpuwise::cli {
namespace prom = observe::prom;
using prom::Signal;

namespace {

std::string Fixed(double v, const char* fmt) {
  if (std::isnan(v)) return "unknown";
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string PodText(const prom::GpuEntity& e) {
  if (e.pods.empty()) return "-";
  std::string s = e.pods[0].namespace_name + "/" + e.pods[0].pod;
  if (e.pods.size() > 1) s += " +" + std::to_string(e.pods.size() - 1);
  return s;
}

std::string ShortSource(Signal s) {
  switch (s) {
    case Signal::kSmActive: return "sm_active";
    case Signal::kGrEngineActive: return "gr_engine (upper bound)";
    case Signal::kGpuUtil: return "gpu_util (coarse)";
    default: return "none";
  }
}

// Total framebuffer: FB_TOTAL when exported, else FREE + USED + RESERVED (DCGM: total ~ sum; derived).
double FbTotal(const prom::GpuEntity& e) {
  if (e.has(Signal::kFbTotal)) return e.get(Signal::kFbTotal);
  if (e.has(Signal::kFbUsed) && e.has(Signal::kFbFree)) {
    return e.get(Signal::kFbUsed) + e.get(Signal::kFbFree) +
           (e.has(Signal::kFbReserved) ? e.get(Signal::kFbReserved) : 0.0);
  }
  return NAN;
}

nlohmann::json EntityIdentity(const prom::GpuEntity& e) {
  nlohmann::json j = {{"hostname", e.hostname}, {"uuid", e.uuid}, {"gpu", e.gpu_index}, {"model", e.model_name}};
  if (!e.driver_version.empty()) j["driverVersion"] = e.driver_version;
  if (e.is_mig()) j["mig"] = {{"profile", e.gi_profile}, {"giId", e.gi_id}};
  nlohmann::json pods = nlohmann::json::array();
  for (const auto& p : e.pods) {
    nlohmann::json pj = {{"namespace", p.namespace_name}, {"pod", p.pod}, {"container", p.container}};
    if (!p.vgpu.empty()) pj["vgpu"] = p.vgpu;
    if (!p.pod_uid.empty()) pj["podUid"] = p.pod_uid;
    if (!p.dra_claim.empty()) pj["draClaim"] = p.dra_claim;
    pods.push_back(pj);
  }
  j["pods"] = pods;
  return j;
}

}  // namespace

nlohmann::json Number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

Table TelemetryTable(const prom::Telemetry& t) {
  Table table;
  table.columns = {"NODE", "GPU", "MIG", "MODEL", "POD", "COMPUTE", "SOURCE", "FB USED", "FB TOTAL", "DRAM", "POWER"};
  for (const prom::GpuEntity& e : t.entities) {
    prom::ComputeActivity c = prom::ResolveCompute(e);
    table.rows.push_back({e.hostname, e.gpu_index, e.is_mig() ? e.gi_profile + "/" + std::to_string(e.gi_id) : "-",
                          e.model_name.empty() ? "unknown" : e.model_name, PodText(e), base::FormatPercent(c.ratio),
                          ShortSource(c.source), base::FormatBytes(e.get(Signal::kFbUsed)), base::FormatBytes(FbTotal(e)),
                          base::FormatPercent(e.get(Signal::kDramActive)), Fixed(e.get(Signal::kPower), "%.0f W")});
  }
  return table;
}

nlohmann::json TelemetryJson(const prom::Telemetry& t) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const prom::GpuEntity& e : t.entities) {
    nlohmann::json j = EntityIdentity(e);
    prom::ComputeActivity c = prom::ResolveCompute(e);
    j["compute"] = {{"ratio", Number(c.ratio)}, {"source", c.source == Signal::kCount ? "none" : std::string(prom::SignalName(c.source))},
                    {"note", c.note}};
    j["fbTotalBytes"] = Number(FbTotal(e));
    nlohmann::json signals = nlohmann::json::object();
    for (std::size_t s = 0; s < prom::kSignalCount; ++s) {
      if (!std::isnan(e.values[s])) signals[std::string(prom::SignalName(static_cast<Signal>(s)))] = e.values[s];
    }
    j["signals"] = signals;
    if (!e.xid_message.empty()) j["xidMessage"] = e.xid_message;
    gpus.push_back(j);
  }
  return {{"gpus", gpus},
          {"signalHealth", SignalHealthJson(t)},
          {"stats",
           {{"samples", t.stats.samples},
            {"dcgmSamples", t.stats.dcgm_samples},
            {"unknownMetrics", t.stats.unknown_metrics},
            {"missingValues", t.stats.missing_values},
            {"badLines", t.stats.bad_lines},
            {"errors", t.stats.errors}}},
          {"units", {{"ratio", "0..1"}, {"fb", "bytes"}, {"power", "watts"}, {"energy", "joules"}, {"clocks", "hertz"}}},
          {"migAssumption", std::string(prom::kMigAssumptionText)}};
}

std::vector<std::string> SignalHealthNotes(const prom::Telemetry& t) {
  std::vector<std::string> notes;
  const prom::FleetTotals f = prom::Summarize(t);
  if (f.gpus > 0) {
    char busy[64];
    std::snprintf(busy, sizeof busy, "%.2f", f.busy_gpu_equivalents);
    notes.push_back("fleet: " + std::to_string(f.gpus) + " GPUs (" + std::to_string(f.mig_gpus) + " MIG-partitioned into " +
                    std::to_string(f.mig_instances) + " instances); no pod on " + std::to_string(f.idle_gpus) +
                    " whole GPUs and " + std::to_string(f.idle_instances) + " MIG instances; compute busy " + busy +
                    " GPU-equivalents of " + std::to_string(f.gpus) + " (" +
                    base::FormatPercent(f.busy_gpu_equivalents / static_cast<double>(f.gpus)) + "); framebuffer " +
                    base::FormatBytes(f.fb_used_bytes) + " used of " + base::FormatBytes(f.fb_total_bytes));
  }
  for (const auto& h : prom::SignalHealth(t)) {
    std::string n = "signal health " + h.hostname + ": " + std::to_string(h.gpus) + " GPUs, " +
                    std::to_string(h.mig_instances) + " MIG instances; compute from " + h.compute_source;
    if (h.compute_source != "sm_active") n += " (run 'gpuwise doctor' to enable DCGM_FI_PROF_SM_ACTIVE)";
    notes.push_back(n);
  }
  if (t.stats.bad_lines > 0) {
    notes.push_back(std::to_string(t.stats.bad_lines) + " malformed lines skipped; first: " + t.stats.errors.front());
  }
  return notes;
}

nlohmann::json SignalHealthJson(const prom::Telemetry& t) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : prom::SignalHealth(t)) {
    nlohmann::json present = nlohmann::json::object();
    for (std::size_t s = 0; s < prom::kSignalCount; ++s) {
      if (h.present[s]) present[std::string(prom::SignalName(static_cast<Signal>(s)))] = h.present[s];
    }
    out.push_back({{"hostname", h.hostname}, {"gpus", h.gpus}, {"migInstances", h.mig_instances},
                   {"computeSource", h.compute_source}, {"present", present}});
  }
  return out;
}

Table ProfilesTable(const std::vector<observe::EntityProfile>& profiles) {
  Table table;
  table.columns = {"NODE", "GPU", "MIG", "POD", "METRIC", "P50", "P95", "P99", "MAX", "SAMPLES", "SOURCE"};
  for (const auto& p : profiles) {
    for (std::size_t m = 0; m < observe::kProfileMetricCount; ++m) {
      const auto metric = static_cast<observe::ProfileMetric>(m);
      const observe::MetricStats& s = p.stats[m];
      auto fmt = [&](double v) {
        switch (metric) {
          case observe::ProfileMetric::kFbUsed: return base::FormatBytes(v);
          case observe::ProfileMetric::kPower: return Fixed(v, "%.0f W");
          default: return base::FormatPercent(v);
        }
      };
      std::string source = metric == observe::ProfileMetric::kCompute ? (p.compute_source.empty() ? "none" : p.compute_source) : "";
      table.rows.push_back({p.entity.hostname, p.entity.gpu_index,
                            p.entity.is_mig() ? p.entity.gi_profile + "/" + std::to_string(p.entity.gi_id) : "-",
                            PodText(p.entity), std::string(observe::ProfileMetricName(metric)), fmt(s.p50),
                            fmt(s.p95), fmt(s.p99), fmt(s.max), std::to_string(s.count), source});
    }
  }
  return table;
}

nlohmann::json ProfilesJson(const std::vector<observe::EntityProfile>& profiles) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& p : profiles) {
    nlohmann::json j = EntityIdentity(p.entity);
    nlohmann::json prof = nlohmann::json::object();
    for (std::size_t m = 0; m < observe::kProfileMetricCount; ++m) {
      const auto metric = static_cast<observe::ProfileMetric>(m);
      const observe::MetricStats& s = p.stats[m];
      nlohmann::json pm = {{"unit", std::string(observe::ProfileMetricUnit(metric))},
                           {"count", s.count},
                           {"p50", Number(s.p50)},
                           {"p95", Number(s.p95)},
                           {"p99", Number(s.p99)},
                           {"max", Number(s.max)},
                           {"mean", Number(s.mean)}};
      if (metric == observe::ProfileMetric::kCompute) pm["source"] = p.compute_source.empty() ? "none" : p.compute_source;
      prof[std::string(observe::ProfileMetricName(metric))] = pm;
    }
    j["profiles"] = prof;
    if (p.first_ms) j["firstSample"] = p.first_ms;
    if (p.last_ms) j["lastSample"] = p.last_ms;
    gpus.push_back(j);
  }
  return gpus;
}

Table DoctorTable(const prom::DoctorReport& report) {
  Table table;
  table.columns = {"NODE", "SEVERITY", "SIGNAL", "FINDING"};
  for (const auto& f : report.findings) {
    table.rows.push_back({f.hostname, std::string(prom::SeverityName(f.severity)), f.signal, f.message});
  }
  for (const auto& f : report.findings) {
    if (!f.csv_line.empty()) table.notes.push_back("add to the counters CSV: " + f.csv_line);
  }
  if (!report.findings.empty()) table.notes.push_back(std::string("how: ") + prom::kCustomCsvHowTo);
  if (report.findings.empty()) table.notes.push_back("every signal gpuwise uses is present on every node");
  return table;
}

nlohmann::json DoctorJson(const prom::DoctorReport& report) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : report.nodes) {
    nodes.push_back({{"hostname", n.hostname}, {"gpus", n.gpus}, {"migInstances", n.mig_instances},
                     {"computeSource", n.compute_source}, {"missing", n.missing}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings) {
    findings.push_back({{"hostname", f.hostname}, {"severity", std::string(prom::SeverityName(f.severity))},
                        {"signal", f.signal}, {"message", f.message}, {"csvLine", f.csv_line}, {"fix", f.fix}});
  }
  return {{"nodes", nodes}, {"findings", findings}};
}

}  // namespace gpuwise::cli
