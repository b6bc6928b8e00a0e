// World: the simulated cluster's objects, derived from a Scenario. Nodes with their GPUs and MIG instances,
// the controllers (Deployments, ReplicaSets, StatefulSets, Jobs, CronJobs, DaemonSets and custom-resource
// owners), and every pod with its loopback address, resource requests, GPU binding and lifetime. Pods come and
// go over the simulated window: Job runs, CronJob runs, rollouts (a new ReplicaSet hash), scaled-in replicas.
// Placement is the device plugin's and scheduler's job in a cluster; here a deterministic first fit per pool
// does it (spread over time-sliced GPUs, first fit on HAMi-like nodes).
//
// Time: simulated seconds since the epoch, local midnight of a Monday ("day 0"); `epoch_unix_s` maps it to
// wall-clock time for timestamps, UIDs and Job names.
// Thread-safety: plain values, immutable after BuildWorld.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/random.h"
#include "sim/scenario.h"

namespace gpuwise::sim {

constexpr double kForever = std::numeric_limits<double>::infinity();

struct ObjectMeta {
  std::string name;
  std::string namespace_name;  // empty for cluster-scoped objects (nodes, namespaces)
  std::string uid;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  double created_s = 0;        // simulated seconds
  double deleted_s = kForever;
};

struct OwnerRef {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
};

// Deployment, ReplicaSet, StatefulSet, Job, CronJob, DaemonSet, InferenceService, LeaderWorkerSet.
struct Controller {
  std::string api_version;
  std::string kind;
  ObjectMeta meta;
  std::vector<OwnerRef> owners;  // the controller's own owner (a ReplicaSet's Deployment, a Job's CronJob)
  int replicas = 0;
  int workload = -1;             // index into Scenario::workloads; -1 for cluster add-ons
  std::string schedule;          // CronJob
};

// A MIG GPU instance as nvidia-smi would list it.
struct MigSlice {
  std::string profile;           // "3g.40gb"
  int gi_id = 0;                 // NVML GPU instance id (GPU_I_ID)
  int start = 0;                 // placement start (memory slice)
  int compute_slices = 1;        // of 7
  int memory_slices = 1;         // of 8
  int sms = 0;
  double memory_mib = 0;         // as nvidia-smi -lgip reports (GiB * 1024)
};

struct SimGpu {
  int index = 0;
  std::string uuid;
  std::string model_name;
  double memory_mib = 0;         // nvidia-smi total (e.g. 81559 for an H100 80GB HBM3)
  int sms = 0;
  std::vector<MigSlice> mig;     // empty = MIG disabled
};

struct SimNode {
  ObjectMeta meta;               // name, labels (GFD, topology, instance type, capacity type)
  int pool = 0;                  // index into Scenario::node_pools
  std::vector<SimGpu> gpus;
  std::map<std::string, std::string> capacity;  // "cpu", "memory", "nvidia.com/gpu", "nvidia.com/mig-1g.10gb", ...
  Sharing sharing;               // how the device plugin and MIG manager have set the node up now
  std::string exporter_pod;      // name of this node's dcgm-exporter pod
  bool lowercase_hostname = false;  // dcgm-exporter 4.6-4.8 writes "hostname"
};

// One GPU device (or MIG instance, or share of a device) a pod's container holds.
struct GpuBinding {
  int node = 0;
  int gpu = 0;                   // index into SimNode::gpus
  int mig = -1;                  // index into SimGpu::mig, or -1
  int replica = -1;              // time-slicing / MPS replica index (device id "<UUID>::<n>"), or -1
  double memory_limit_mib = 0;   // what the pod may use: device, MIG instance, MPS share or HAMi gpumem
  double compute_share = 1;      // of the device (or instance): MPS 1/replicas, HAMi gpucores/100, else 1
};

enum class PodRole { kWorkload, kDcgmExporter, kKubeStateMetrics };

struct SimPod {
  ObjectMeta meta;
  PodRole role = PodRole::kWorkload;
  OwnerRef owner;                // the controller that owns it (ReplicaSet, StatefulSet, Job, DaemonSet)
  int workload = -1;             // index into Scenario::workloads
  int replica = 0;
  std::string node;              // empty while Pending
  std::string pending_reason;    // why it could not be placed ("0/10 nodes are available: ...")
  std::string ip;                // its own loopback address, e.g. 127.2.0.7
  int port = 0;                  // metrics port (dcgm 9400, vLLM 8000, kube-state-metrics 8080); 0 = none
  std::string container;
  std::string image;
  std::vector<std::string> command, args;  // as a manifest would set them (vLLM flags, torchrun, ...)
  std::map<std::string, std::string> requests;  // resource -> quantity ("cpu": "4", "nvidia.com/gpu": "1")
  std::map<std::string, std::string> limits;
  std::vector<GpuBinding> gpus;
  std::string scheduler = "default-scheduler";  // spec.schedulerName ("kai-scheduler" for KAI fractions)
  double start_s = 0;            // scheduled and started
  double end_s = kForever;       // deleted (rollout, scale-in) or finished (Job)
  bool succeeds = false;         // a Job pod that completes at end_s (phase Succeeded) rather than being deleted
  bool alive(double t) const { return start_s <= t && t < end_s; }
};

struct SimNamespace {
  ObjectMeta meta;
};

struct WorldOptions {
  // Simulated seconds covered; pods' lifetimes are laid out over [0, horizon_s].
  double horizon_s = 8 * 86400.0;
  // Unix time of simulated second 0. Default: Monday 2026-11-16 00:00:00 UTC.
  double epoch_unix_s = 1794787200.0;
  // Second octet of the loopback blocks: exporters on 127.<b>.x.y, serving pods on 127.<b+1>.x.y, other pods on
  // 127.<b+2>.x.y, cluster add-ons on 127.<b+3>.0.x.
  int address_block = 1;
};

struct World {
  Scenario scenario;
  WorldOptions options;
  std::vector<SimNamespace> namespaces;
  std::vector<SimNode> nodes;
  std::vector<Controller> controllers;
  std::vector<SimPod> pods;

  int NodeIndex(std::string_view name) const;
};

// Lays out the world. Errors: a scenario that fails validation. Pods that do not fit stay Pending with a
// reason (as in a cluster), they are not an error.
base::Result<World> BuildWorld(const Scenario& scenario, const WorldOptions& options = {});

// Sets a GPU node up for `sharing` as the MIG manager and the device plugin would: MIG instances on each
// GPU (creation order, first valid placement), the nvidia.com/* capacity, and the GFD sharing/product/MIG labels.
void ApplyNodeSharing(SimNode& node, const NodePool& pool, const Sharing& sharing);

// The device plugin's pick for one time-slicing or MPS share: the GPU with the fewest shares handed out (lowest
// index on ties), as the NVIDIA plugin spreads them; -1 when every GPU has `replicas`.
int LeastSharedGpu(const std::vector<int>& handed_out, int replicas);
// Share `replica` of GPU `gpu` of node `node` under `sharing` (MPS: 1/replicas of memory and compute).
GpuBinding ShareBinding(int node, int gpu, int replica, const SimGpu& device, const Sharing& sharing);

// GPU cost per hour of one device of the node (node price / GPUs), micro-dollars: the ground truth for cost.
base::MicroUsd GpuHourPrice(const World& world, int node);

// "127.2.0.7" for serving pod 6 of block 2.
std::string LoopbackAddress(int second_octet, int index);

}  // namespace gpuwise::sim
