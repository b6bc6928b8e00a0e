// The defragment optimizer of the table: on nodes that run a fractional backend (HAMi, KAI), pods arrive and leave
// one at a time and their fractions end up scattered, a node holding a few slivers that the other nodes have room
// for. For each such node, least-used first, it asks the what-if (projection.h, which places fractions node and GPU
// by gpuwise's online placement policy) whether every pod on it would find room elsewhere, with the plan so far and
// the drains it already chose applied; if so it drains the node: Cordon, then Evict each pod (the eviction API
// honours PodDisruptionBudgets; the controller recreates the pod and the backend places it). Savings then count the
// node as released.
// A node is left alone when a pod on it is bare (not recreated), a DaemonSet's, of a workload whose policy says
// leave it (gpuwise.io/automation=off or ignore) or already changed by an earlier optimizer, or when draining it
// would leave a GPU pod Pending. Pure.
#pragma once

#include "optimize/optimizer.h"

namespace gpuwise::optimize {

struct DefragmentOptions {
  int max_trials = 64;          // nodes tried (each trial is one projection of the whole cluster)
  double pod_restart_s = 60;    // seconds for an evicted pod to serve again elsewhere (model load excluded)
};

void Defragment(const OptimizeInput& input, const DefragmentOptions& options, PlanBuilder& builder);

}  // namespace gpuwise::optimize
