// The simulated cluster's control plane: it seeds the API server's store from part 1's World, then runs, at each
// Reconcile, the controllers and the scheduler that make API changes take effect in the World (and so in the
// telemetry):
// - kubelet: pod status from the Simulator; graceful deletion ends the pod's process, then removes the object;
// - scheduler: cpu, memory, pods and every extended resource against allocatable, nodeSelector, required node
//   affinity, taints/tolerations, cordoned nodes; an unplaceable pod stays Pending with PodScheduled=False
//   (Unschedulable) and a FailedScheduling event;
// - device plugin: picks the GPU, MIG instance or shared replica inside the node (shares spread over GPUs as the
//   NVIDIA plugin does; HAMi gpumem/gpucores first fit);
// - Deployment (rolling update with maxSurge/maxUnavailable, Recreate), ReplicaSet, StatefulSet, DaemonSet, Job,
//   CronJob (schedule, timeZone, suspend), garbage collection along ownerReferences, PodDisruptionBudget status,
//   Endpoints and EndpointSlices of Services;
// - MIG manager and device-plugin config: the nvidia.com/mig.config and nvidia.com/device-plugin.config node
//   labels, resolved in the gpu-operator ConfigMaps, go pending -> success (or failed) after the scenario's delay
//   and change what the node advertises.
// Thread-safety: the caller serialises Seed/Reconcile with every other use of the World and the Simulator; the
// store is thread-safe (the API server reads and writes it concurrently).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "sim/behavior.h"
#include "sim/kube_store.h"
#include "sim/world.h"

namespace gpuwise::sim {

struct KubeClusterOptions {
  // Simulated seconds between a pod's deletion and its removal (containers stop on SIGTERM).
  double termination_s = 2;
  // Delay of a MIG or device-plugin reconfiguration (the scenario's delays.mig_reconfigure_s if < 0).
  double node_config_delay_s = -1;
};

class KubeCluster {
 public:
  KubeCluster(World& world, Simulator& sim, KubeStore& store, KubeClusterOptions options = {});
  ~KubeCluster();
  KubeCluster(const KubeCluster&) = delete;
  KubeCluster& operator=(const KubeCluster&) = delete;

  // Fills the store with the World at sim.now(): namespaces, nodes (with node leases), controllers, the pods
  // alive now, Services with Endpoints and EndpointSlices, the gpu-operator ConfigMaps, PodDisruptionBudgets.
  // From here on the controllers own the future: the World's laid-out later pods are dropped.
  void Seed();
  // One pass of every controller at sim.now(). Call Simulator::SyncWithWorld() after it.
  void Reconcile();

  // The log of a pod's container (what the engine printed, the failure that stopped it).
  base::Result<std::string> PodLog(std::string_view ns, std::string_view name) const;

  struct Impl;  // defined in kube_cluster.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuwise::sim
