// Scenario: what the simulated cluster runs. Node pools (GPU model and count, instance type, zone, spot or
// on-demand, price, CPU and memory, and the GPU sharing the NVIDIA stack would configure) and workloads
// (inference servers, training, notebooks, batch, forgotten endpoints), with the namespaces, labels,
// `gpuwise.io/` annotations and GPU requests a real manifest has. Loaded from YAML (docs/scenarios.md);
// every error names the file, line and column and says what is expected.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"

namespace gpuwise::sim {

// How a node pool's GPUs are shared, as the GPU Operator / device plugin would configure them
// (nvidia-gpu-facts.md sections 2.3 and 3.1). One mode per node: the device plugin cannot mix them.
enum class SharingMode {
  kNone,         // whole GPUs as nvidia.com/gpu
  kMig,          // MIG partitions; strategy single (as nvidia.com/gpu) or mixed (nvidia.com/mig-<profile>)
  kTimeSlicing,  // `replicas` time-sliced shares per GPU (nvidia.com/gpu, or nvidia.com/gpu.shared if renamed)
  kMps,          // `replicas` MPS shares per GPU, each 1/replicas of memory and compute; not with MIG
  kHami,         // a HAMi-like backend: continuous fractions (nvidia.com/gpumem, nvidia.com/gpucores)
  kKai,          // the KAI scheduler's GPU sharing: fractions by the pod annotation gpu-fraction (schedulerName
                 // kai-scheduler); the stock device plugin advertises whole nvidia.com/gpu
};
std::string_view SharingModeName(SharingMode mode);

enum class MigStrategy { kSingle, kMixed };

struct Sharing {
  SharingMode mode = SharingMode::kNone;
  MigStrategy mig_strategy = MigStrategy::kMixed;
  std::vector<std::string> mig_layout;  // profiles on each MIG-enabled GPU, e.g. {"3g.40gb", "2g.20gb", ...}
  int mig_gpus = -1;                    // GPUs per node with MIG enabled; -1 = all
  int replicas = 1;                     // time-slicing / MPS shares per GPU
  bool rename = false;                  // renameByDefault: advertise nvidia.com/gpu.shared
};

enum class CapacityType { kOnDemand, kSpot };

struct NodePool {
  std::string name;
  int count = 1;                  // nodes in the pool: <name>-0 .. <name>-<count-1>
  std::string gpu_model;          // modelName as dcgm-exporter reports it, e.g. "NVIDIA H100 80GB HBM3"
  int gpus_per_node = 8;
  double gpu_memory_gib = 80;
  std::string instance_type;      // e.g. "p5.48xlarge"
  std::string zone;
  CapacityType capacity = CapacityType::kOnDemand;
  base::MicroUsd price_per_node_hour;  // ground truth for cost tests
  int cpu = 0;
  double memory_gib = 0;
  Sharing sharing;
  // dcgm-exporter image version on these nodes: >= 4.6.0 (up to 4.8.3) labels the node "hostname", older
  // versions "Hostname" (nvidia-gpu-facts.md 1.2).
  std::string dcgm_exporter_version = "3.3.9-3.6.1-ubuntu22.04";
  std::string driver_version = "535.129.03";  // DCGM_FI_DRIVER_VERSION; empty = the label is not exported
};

enum class WorkloadKind { kInference, kTraining, kNotebook, kBatch, kCronBatch, kForgotten };
std::string_view WorkloadKindName(WorkloadKind kind);

// The controller that owns the pods; InferenceService and LeaderWorkerSet stand for custom-resource owners
// (the owner chain goes through a Deployment or StatefulSet to the custom resource).
enum class OwnerKind { kDeployment, kStatefulSet, kJob, kCronJob, kInferenceService, kLeaderWorkerSet };
std::string_view OwnerKindName(OwnerKind kind);

struct GpuRequest {
  std::string resource = "nvidia.com/gpu";  // nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/mig-<profile>
  int count = 1;
  int gpumem_mib = 0;     // HAMi-like: nvidia.com/gpumem (with resource "nvidia.com/gpu", count 1)
  int gpucores_percent = 0;  // HAMi-like: nvidia.com/gpucores
  double fraction = 0;    // KAI: the gpu-fraction annotation (0..1 of one GPU; no nvidia.com/gpu request)
  bool Hami() const { return gpumem_mib > 0 || gpucores_percent > 0; }
  bool Kai() const { return fraction > 0; }
};

// The served model, for the vLLM memory model (nvidia-gpu-facts.md section 4).
struct ModelSpec {
  std::string name;
  double weights_gib = 0;
  int layers = 0;
  int kv_heads = 0;
  int head_dim = 0;
};

// Request arrivals: a daily curve between trough and peak (peak at peak_hour, local time), scaled on
// weekends, or a trace file (relative to ../shared/data) when present.
struct TrafficSpec {
  double peak_rps = 0;
  double trough_rps = 0;
  int peak_hour = 14;
  double weekend_factor = 1.0;
  std::string trace;
  // Mean tokens per request. Defaults: the Azure LLM inference trace 2023, conversation service
  // (AzureLLMInferenceTrace_conv.csv: mean context ~1,155 tokens, mean generated ~211; see sim/behavior.cc).
  double prompt_tokens = 0;
  double output_tokens = 0;
};

// The serving engine: vLLM (continuous batching, memory reserved up front, nvidia-gpu-facts.md 4) or an
// encoder server (Triton-like: a request is one forward pass; calibrated on MIGProfiler's BERT/ViT runs).
enum class EngineKind { kVllm, kEncoder };

// What a non-serving workload does with its GPU, and what every pod does with host memory. Zero = the
// kind's default (sim/behavior.cc).
struct UsageSpec {
  double gpu_memory_gib = 0;     // GPU memory the process holds (notebook kernel, training step, batch job)
  double sm_active = 0;          // SM activity while working (training, batch)
  double run_hours = 0;          // batch / cronbatch: how long one run takes
  double start_hour = 0;         // batch: hour of day 0 the Job starts
  double host_memory_gib = 0;    // host memory the container uses
  double host_memory_limit_gib = 0;  // its limit; used > limit = OOMKilled (exit 137)
};

struct WorkloadSpec {
  std::string name;
  std::string namespace_name;
  WorkloadKind kind = WorkloadKind::kInference;
  OwnerKind owner = OwnerKind::kDeployment;
  int replicas = 1;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  GpuRequest gpu;
  std::string node_pool;  // pin to a pool; empty = any pool that offers the resource
  ModelSpec model;
  EngineKind engine = EngineKind::kVllm;
  std::string engine_version = "0.10.1";  // vLLM version: selects metric names (kv_cache_usage_perc from 0.9)
  double gpu_memory_utilization = 0.9;  // vLLM --gpu-memory-utilization
  int tensor_parallel = 1;
  TrafficSpec traffic;
  UsageSpec usage;
  std::string schedule;  // CronJob schedule for kCronBatch: "M H * * *" (daily) is what the sim runs
};

// Delays the simulated cluster applies, in simulated seconds; tests set them to seconds.
struct Delays {
  // A pod's cold start is image pull (ContainerCreating) then, for model servers, weight load and engine
  // initialisation (Running, not Ready): 3-8 minutes for the usual models (ColdStartSeconds in behavior.h).
  double image_pull_s = 120;         // a ~10 GB serving image at ~100 MB/s. GUESS.
  double cold_start_s = -1;          // container start -> serving; < 0: 45 s + weights at 1 GiB/s. GUESS.
  double mig_reconfigure_s = 120;    // MIG Manager repartitioning a GPU. GUESS.
  double crash_backoff_s = 10;       // kubelet's first CrashLoopBackOff delay (doubles to 300 s)
};

struct Scenario {
  std::string name;
  std::uint64_t seed = 1;
  Delays delays;
  std::vector<NodePool> node_pools;
  std::vector<WorkloadSpec> workloads;
};

// Parses scenario YAML. `source` names the input in errors ("demo.yaml"). Unknown keys are errors (a typo in
// a scenario must not pass silently); then Validate() runs.
base::Result<Scenario> ParseScenario(std::string_view yaml, std::string_view source);

// Cross-checks: unique names, counts in range, sharing settings that a real node could have, every GPU request
// offered by some pool (or by its pinned pool), inference workloads with a model and traffic. Annotations are
// not checked here: gpuwise reads them through its own parser, where a bad value is a warning, as in a cluster.
base::Status ValidateScenario(const Scenario& scenario);

// A scenario compiled into gpuwise ("demo"); NotFound names the ones there are.
base::Result<Scenario> BuiltinScenario(std::string_view name);

// The GPU resources a pool's nodes advertise (e.g. {"nvidia.com/mig-3g.40gb", "nvidia.com/mig-1g.10gb"}).
std::vector<std::string> AdvertisedResources(const NodePool& pool);

}  // namespace gpuwise::sim
