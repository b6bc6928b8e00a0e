// Explain: why gpuwise reads a GPU or MIG instance the way it does, fact by fact. Which signal each number came
// from and why (the compute fallback chain), what is unknown and why (not exported, a DCGM blank, GPU-level
// only), the MIG assumption with its worked number, and who the GPU is attributed to. Pure: an entity in, facts
// out; `gpuwise explain` prints them.
#pragma once

#include <string>
#include <vector>

#include "observe/prom/dcgm_telemetry.h"

namespace gpuwise::observe::prom {

struct ExplainFact {
  std::string topic;   // "compute", "framebuffer", "unknown", "mig", "attribution", ...
  std::string text;
};

struct EntityExplanation {
  std::string subject;  // "node-1 gpu 0 (GPU-...), MIG 1g.10gb GI 7"
  std::vector<ExplainFact> facts;
};

EntityExplanation Explain(const GpuEntity& entity);

}  // namespace gpuwise::observe::prom
