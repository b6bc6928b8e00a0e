// The fractional-GPU optimizer of the table: right-sizes every workload (fractional/right_size.h), packs the cluster
// (fractional/packing.h), and writes what a cluster needs to carry the packing out:
// - the MIG manager's configs for the new layouts (SetConfigMapKey on its ConfigMap, typed; the app renders the
//   YAML into the existing text);
// - per node whose layout changes, the safe rollout: Cordon, Evict its GPU pods (the eviction API honours
//   PodDisruptionBudgets), SetNodeLabel nvidia.com/mig.config, WaitForNodeLabel nvidia.com/mig.config.state=success,
//   Uncordon; each step with the pods it restarts and for how long;
// - per workload whose unit changes, SetResources on its controller (a rolling update: the new pods ask for the MIG
//   profile and land where it is advertised);
// - per node the packing no longer needs, Cordon and Evict its pods, after the new capacity is ready.
// Workloads it cannot change (custom controllers, Jobs, bare pods, gpuwise.io/automation off or ignore, tensor
// parallel pods onto MIG) stay where they are and their nodes keep their configuration. Nodes that time-slice or
// run HAMi/KAI are left as they are (continuous fractions are placed online, issue 7). Pure.
#pragma once

#include <string>

#include "optimize/fractional/packing.h"
#include "optimize/fractional/right_size.h"
#include "optimize/optimizer.h"

namespace gpuwise::optimize {

struct FractionalOptions {
  fractional::RightSizeOptions sizing;
  fractional::PackOptions packing;
  // The MIG manager's ConfigMap (the GPU Operator's default; a custom one is named by the ClusterPolicy's
  // migManager.config.name) and the key mig-parted reads.
  std::string mig_config_namespace = "gpu-operator";
  std::string mig_config_name = "default-mig-parted-config";
  std::string mig_config_key = "config.yaml";
  // The device plugin's sharing configs (the GPU Operator's devicePlugin.config.name; the sim's and the operator
  // docs' time-slicing-config): one key per config, the value a k8s-device-plugin config file.
  std::string sharing_config_namespace = "gpu-operator";
  std::string sharing_config_name = "time-slicing-config";
  // Seconds a MIG reconfiguration takes (GPU reset, MIG manager restart of the GPU clients), for the disruption.
  double mig_reconfigure_s = 180;
  // Seconds for an evicted pod to run again elsewhere (image cached, model load excluded).
  double pod_restart_s = 60;
};

void Fractional(const OptimizeInput& input, const FractionalOptions& options, PlanBuilder& builder);

// The name gpuwise gives a layout in the MIG manager's config: "gpuwise-1g.10gb-x2-2g.20gb-x1" (profiles sorted,
// '+' as '.'), "-on-3" when only the first 3 GPUs carry it, "all-disabled" for MIG off.
std::string MigConfigName(const fractional::MigCounts& layout, int mig_gpus = 0);

}  // namespace gpuwise::optimize
