// The simulated cluster's objects as the Kubernetes API serves them (JSON, apiVersion/kind/metadata/spec/status),
// from the World and the Simulator's runtime state; the API server's store is seeded from these and the kubelet
// model writes pod status from them (kube_cluster.h). Namespaces,
// nodes (labels, capacity and allocatable, Ready and unschedulable) and pods (owner references, resources,
// node, pod IP = the pod's loopback address, container ports, phase, container statuses with restarts, waiting
// reasons and the last termination's exit code and reason).
// Timestamps are RFC 3339 from World::options.epoch_unix_s. Thread-safety: reads its arguments only.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "sim/behavior.h"
#include "sim/world.h"

namespace gpuwise::sim {

// One object as JSON (the API server's store is seeded from these).
nlohmann::json NamespaceObject(const World& world, int ns);
nlohmann::json NodeObject(const Simulator& sim, int node);
nlohmann::json PodObject(const Simulator& sim, int pod);
// RFC 3339 of simulated second t.
std::string SimTimestamp(const World& world, double t);

// One object as JSON text. `sim` gives the runtime state at sim.now(); pod and node indices index the World.
std::string NamespaceJson(const World& world, int ns);
std::string NodeJson(const Simulator& sim, int node);
std::string PodJson(const Simulator& sim, int pod);

// A List ("PodList", "NodeList", "NamespaceList") of the objects alive at sim.now(), with a resourceVersion.
std::string ListJson(const Simulator& sim, std::string_view kind);

}  // namespace gpuwise::sim
