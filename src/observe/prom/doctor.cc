#include "observe/prom/doctor.h"

namespace gpuwise::observe::prom {
namespace {

struct Needed {
  Signal signal;
  Severity severity;
  const char* why;
  // The help text of NVIDIA's counters CSV for the field (etc/dcp-metrics-included.csv), so the line a user
  // pastes is the one the exporter ships.
  const char* csv_help;
  const char* csv_type;
};

constexpr Needed kNeeded[] = {
    {Signal::kSmActive, Severity::kWarning,
     "compute activity falls back to DCGM_FI_PROF_GR_ENGINE_ACTIVE, an upper bound of SM activity, so "
     "right-sizing compute is less tight",
     "The ratio of cycles an SM has at least 1 warp assigned.", "gauge"},
    {Signal::kGrEngineActive, Severity::kWarning,
     "without it compute activity falls back to DCGM_FI_DEV_GPU_UTIL (coarse; never on MIG instances)",
     "Ratio of time the graphics engine is active.", "gauge"},
    {Signal::kFbUsed, Severity::kError,
     "framebuffer use is unknown: memory right-sizing and the four-state diagnosis are off for these GPUs",
     "Framebuffer memory used (in MiB).", "gauge"},
    {Signal::kFbFree, Severity::kInfo, "total framebuffer is taken from the MIG profile or GPU model instead",
     "Framebuffer memory free (in MiB).", "gauge"},
    {Signal::kDramActive, Severity::kInfo, "memory-bandwidth-bound work cannot be told from idle work",
     "Ratio of cycles the device memory interface is active sending or receiving data.", "gauge"},
    {Signal::kPower, Severity::kInfo, "energy and power-based cost views are off", "Power draw (in W).", "gauge"},
};

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kOk: return "ok";
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "info";
}

DoctorReport Diagnose(const Telemetry& telemetry) {
  DoctorReport report;
  const DcgmCatalog& catalog = DcgmCatalog::Default();
  for (const NodeSignalHealth& h : SignalHealth(telemetry)) {
    NodeDoctorReport node{h.hostname, h.gpus, h.mig_instances, h.compute_source, {}};
    const std::size_t n = h.gpus + h.mig_instances;
    for (std::size_t s = 0; s < kSignalCount; ++s) {
      if (h.present[s] < n) node.missing.emplace_back(SignalName(static_cast<Signal>(s)));
    }
    for (const Needed& need : kNeeded) {
      const std::size_t have = h.present[static_cast<std::size_t>(need.signal)];
      if (have == n) continue;
      const CatalogRow* row = catalog.Primary(need.signal);
      DoctorFinding f;
      f.hostname = h.hostname;
      f.severity = need.severity;
      f.signal = std::string(SignalName(need.signal));
      f.message = (row ? row->name : f.signal) + " missing on " + std::to_string(n - have) + " of " +
                  std::to_string(n) + " GPUs/MIG instances: " + need.why;
      if (need.signal == Signal::kFbUsed && h.mig_instances > 0) {
        f.message += " (per-MIG-instance FB_* needs DCGM >= 3.1.3; some drivers still omit it: dcgm-exporter issue 512)";
      }
      if (row) f.csv_line = row->name + ", " + need.csv_type + ", " + need.csv_help;
      f.fix = kCustomCsvHowTo;
      if (need.signal == Signal::kSmActive) {
        f.fix += " Profiling fields (DCGM_FI_PROF_*) also need the GPU's profiling module free: one DCGM client at a time.";
      }
      report.findings.push_back(std::move(f));
    }
    std::size_t with_pods = 0;
    for (const GpuEntity& e : telemetry.entities) {
      if (e.hostname == h.hostname && !e.pods.empty()) ++with_pods;
    }
    if (with_pods == 0) {
      report.findings.push_back(
          {h.hostname, Severity::kInfo, "kubernetes",
           "no GPU on this node carries pod/namespace labels: either none is allocated, or dcgm-exporter runs without "
           "Kubernetes mapping, and then gpuwise attributes GPUs from the Kubernetes API alone",
           "", "dcgm-exporter --kubernetes (DCGM_EXPORTER_KUBERNETES=true; the GPU Operator sets it by default)"});
    }
    report.nodes.push_back(std::move(node));
  }
  if (telemetry.stats.missing_values > 0) {
    report.findings.push_back({"*", Severity::kInfo, "blank",
                               std::to_string(telemetry.stats.missing_values) +
                                   " values were DCGM blanks (not supported / not found / no permission): unknown, never zero",
                               "", "fields unsupported on a GPU model report blanks; nothing to fix unless gpuwise needs them"});
  }
  if (telemetry.stats.bad_lines > 0) {
    report.findings.push_back({"*", Severity::kWarning, "parse",
                               std::to_string(telemetry.stats.bad_lines) + " malformed lines were skipped; first: " +
                                   (telemetry.stats.errors.empty() ? "" : telemetry.stats.errors.front()),
                               "", "check the exporter version and any proxy in front of it"});
  }
  return report;
}

}  // namespace gpuwise::observe::prom
