// The no-regret optimizer, first in the table: capacity nobody uses is released before anything is re-packed.
// - A GPU node with no GPU pod at the end of the window and unallocated for most of it: cordon it, evict the CPU-only
//   pods that keep it up (DaemonSet pods stay), then the node can leave its node group.
// - An idle workload (the four-state diagnosis: compute below the idle threshold in most samples) or a forgotten
//   serving endpoint (idle, a serving engine, no request in the window): scale its controller to zero.
// Workloads with gpuwise.io/ignore, gpuwise.io/automation=off, or a controller that cannot be scaled (Job, bare
// pod, DaemonSet) get a note instead of an action.
#pragma once

#include "optimize/optimizer.h"

namespace gpuwise::optimize {

struct NoRegretOptions {
  // A node with no GPU pod at the end is released only if at least this share of its GPU cost in the window was
  // unallocated (a node emptied a minute ago by a rollout is not idle capacity).
  double node_unallocated_share = 0.5;
  // Workloads idle for less than this many hours of held GPU time are left alone (too little evidence).
  double min_idle_gpu_hours = 1.0;
};

void NoRegret(const OptimizeInput& input, const NoRegretOptions& options, PlanBuilder& builder);

}  // namespace gpuwise::optimize
