#include "observe/prom/explain.h"

#include <cmath>
#include <cstdio>

#include "base/units.h"

namespace gpuwise::observe::prom {
namespace {

std::string Pct(double r) { return base::FormatPercent(r); }

// Why a signal has no value on this entity.
std::string WhyUnknown(const GpuEntity& e, Signal s) {
  const std::size_t i = static_cast<std::size_t>(s);
  if (e.blank[i]) return "exported as a DCGM blank (not supported, not found or no permission on this GPU)";
  if (e.is_mig() && (s == Signal::kGpuUtil || s == Signal::kMemCopyUtil || s == Signal::kEncUtil || s == Signal::kDecUtil)) {
    return "GPU-level only: dcgm-exporter never reports it for MIG instances";
  }
  if (s == Signal::kSmActive || s == Signal::kSmOccupancy || s == Signal::kFp16Active || s == Signal::kFp32Active ||
      s == Signal::kFp64Active) {
    return "not exported: commented out in dcgm-exporter's default counters ('gpuwise doctor' prints the line to add)";
  }
  if (s == Signal::kFbTotal) return "not collected by default before dcgm-exporter 4.9; derived from FB_USED + FB_FREE + FB_RESERVED";
  return "not exported by this dcgm-exporter";
}

}  // namespace

EntityExplanation Explain(const GpuEntity& e) {
  EntityExplanation x;
  x.subject = e.hostname + " gpu " + e.gpu_index + " (" + (e.uuid.empty() ? "no UUID" : e.uuid) + ", " +
              (e.model_name.empty() ? "unknown model" : e.model_name) + ")";
  if (e.is_mig()) x.subject += ", MIG " + e.gi_profile + " GI " + std::to_string(e.gi_id);
  auto add = [&](std::string topic, std::string text) { x.facts.push_back({std::move(topic), std::move(text)}); };

  const ComputeActivity c = ResolveCompute(e);
  if (c.source == Signal::kCount) {
    add("compute", std::string("unknown: none of DCGM_FI_PROF_SM_ACTIVE, DCGM_FI_PROF_GR_ENGINE_ACTIVE") +
                       (e.is_mig() ? "" : ", DCGM_FI_DEV_GPU_UTIL") +
                       " has a value here; gpuwise never shrinks compute on an unknown");
  } else {
    add("compute", Pct(c.ratio) + " from " + e.source_name[static_cast<std::size_t>(c.source)]);
    if (c.source == Signal::kGrEngineActive) {
      add("compute", "GR_ENGINE_ACTIVE is an upper bound of SM activity (the engine is active while any SM is): "
                     "SM_ACTIVE, when enabled, is never higher");
    } else if (c.source == Signal::kGpuUtil) {
      add("compute", "GPU_UTIL is coarse: the share of time any kernel ran, however few SMs it used");
    }
    if (e.is_mig()) {
      const int g = MigComputeSlices(e.gi_profile);
      const int total = MigTotalSlices(e.model_name);
      char buf[160];
      std::snprintf(buf, sizeof buf, "whole-GPU share = %s x %d/%d = %s", Pct(c.ratio).c_str(), g, total,
                    Pct(c.ratio * g / total).c_str());
      add("mig", std::string(kMigAssumptionText));
      add("mig", buf);
    }
  }
  if (e.has(Signal::kFbUsed)) {
    std::string text = base::FormatBytes(e.get(Signal::kFbUsed)) + " used";
    if (e.has(Signal::kFbTotal)) {
      text += " of " + base::FormatBytes(e.get(Signal::kFbTotal)) + " (" + e.source_name[static_cast<std::size_t>(Signal::kFbTotal)] + ")";
    } else if (e.has(Signal::kFbFree)) {
      const double total = e.get(Signal::kFbUsed) + e.get(Signal::kFbFree) +
                           (e.has(Signal::kFbReserved) ? e.get(Signal::kFbReserved) : 0.0);
      text += " of " + base::FormatBytes(total) + " (FB_USED + FB_FREE + FB_RESERVED)";
    }
    add("framebuffer", text + "; from " + e.source_name[static_cast<std::size_t>(Signal::kFbUsed)]);
  } else {
    add("framebuffer", "unknown: FB_USED " + WhyUnknown(e, Signal::kFbUsed) +
                           (e.is_mig() ? " (per-instance FB needs DCGM >= 3.1.3; the MIG profile's size bounds it)" : ""));
  }
  if (e.has(Signal::kPower)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f W", e.get(Signal::kPower));
    add("power", std::string(buf) + (e.is_mig() ? ": the parent GPU's, repeated on each instance; never summed across instances" : ""));
  }
  std::string unknown;
  for (Signal s : {Signal::kSmActive, Signal::kGrEngineActive, Signal::kGpuUtil, Signal::kDramActive, Signal::kFbUsed,
                   Signal::kFbFree, Signal::kPower, Signal::kGpuTemp, Signal::kMemoryTemp}) {
    if (e.has(s)) continue;
    add("unknown", std::string(SignalName(s)) + ": " + WhyUnknown(e, s));
  }
  if (e.pods.empty()) {
    add("attribution", "no pod labels: unallocated, or dcgm-exporter runs without --kubernetes");
  }
  for (const Attribution& a : e.pods) {
    std::string who = a.pod.empty() ? "DRA claim " + a.dra_claim : a.namespace_name + "/" + a.pod;
    if (!a.container.empty()) who += " container " + a.container;
    if (!a.vgpu.empty()) who += " (shared, replica " + a.vgpu + ")";
    add("attribution", who);
  }
  if (e.xid_last != 0) {
    add("health", "last XID " + std::to_string(e.xid_last) + (e.xid_message.empty() ? "" : ": " + e.xid_message));
  }
  for (std::size_t s = 0; s < kSignalCount; ++s) {
    if (e.catalog_inferred[s] && !std::isnan(e.values[s])) {
      add("catalog", std::string(SignalName(static_cast<Signal>(s))) + " came from " + e.source_name[s] +
                         ", a name the catalog infers (dcgm-exporter 4.9) but has not confirmed");
    }
  }
  return x;
}

}  // namespace gpuwise::observe::prom
