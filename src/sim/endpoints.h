// What each simulated pod's metrics endpoint serves: the dcgm-exporter page of a node, a vLLM server's page,
// the kube-state-metrics page; rendered from the Simulator's state at its current time. One place, used by the
// live ClusterServer and by the history writer, so both emit the same bytes for the same moment.
// Thread-safety: reads the Simulator; callers serialise access to it.
#pragma once

#include <string>
#include <vector>

#include "sim/behavior.h"
#include "sim/world.h"

namespace gpuwise::sim {

// The Prometheus job a pod's endpoint is scraped under, or "" when the pod has no metrics endpoint:
// "dcgm-exporter", "vllm", "kube-state-metrics".
std::string_view EndpointJob(const SimPod& pod);

// Pod i's page at sim.now(). *up = false when the endpoint does not answer (the pod is not running, or the
// server is still loading / crash-looping); the page is then empty.
std::string RenderEndpoint(const Simulator& sim, int pod, bool* up);

}  // namespace gpuwise::sim
