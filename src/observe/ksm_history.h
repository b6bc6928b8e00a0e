// Pods of the past from kube-state-metrics series in Prometheus: for a window, every pod KSM listed that lived in the
// window (a finished Job pod KSM keeps listing after it ended is not one), with its node,
// owner chain (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, any other owner kind as KSM names it), GPU
// requests per container, the labels KSM exports (only its allowlisted ones, keys sanitised: "label_app"; the
// Kubernetes key is added where it can be read back: "gpuwise.io/team" from "label_gpuwise_io_team", and one-word
// keys such as "team" and "app"), and its lifetime at the query step's resolution (first and last step it was
// listed; kube_pod_start_time and kube_pod_completion_time refine them). Attribution source kKubeState.
// Presence (kube_pod_info) is a range query at `step` whose inner window is one step. Everything else (owners,
// requests, start and end times, labels) needs only each series' last value: one instant last_over_time over the
// window each, one point per series. Prometheus bounds such a query by one series' window (a week at 30 s is
// 20,160 samples, far under --query.max-samples); the answers are 1/168 of the range form's for a week at 1 h.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"
#include "observe/prom/prom_client.h"

namespace gpuwise::observe {

struct KsmHistory {
  std::vector<model::Pod> pods;         // sorted by namespace, name
  int requests = 0;
  std::vector<std::string> warnings;    // KSM series missing, unreadable values
  bool found = false;                   // kube_pod_info had at least one series in the window
  int outside_window = 0;               // pods listed but not alive in the window (finished before it, or later)
};

// Reads [start, end) at `step` (default 1 h). A Prometheus without kube-state-metrics gives found = false, not an
// error; a Prometheus that fails does.
base::Result<KsmHistory> ReadKsmHistory(prom::PromClient& client, std::int64_t start_unix_s, std::int64_t end_unix_s,
                                        std::chrono::seconds step = std::chrono::hours(1));

// KSM's resource label back to the Kubernetes name: "nvidia_com_gpu" -> "nvidia.com/gpu", "nvidia_com_mig_1g_10gb"
// -> "nvidia.com/mig-1g.10gb", "nvidia_com_gpu_shared" -> "nvidia.com/gpu.shared"; "" when not a GPU resource.
std::string GpuResourceFromKsm(std::string_view ksm_resource);

}  // namespace gpuwise::observe
