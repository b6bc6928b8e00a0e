// The cluster as gpuwise sees it: GPU nodes, pods with their GPU requests and owners, namespaces. Plain values
// read from the Kubernetes API (observe/kube) or, for pods that are gone, from kube-state-metrics series; the
// snapshot builder joins them to telemetry. No I/O here.
// Units: times are Unix seconds (0 = unknown/never), memory in bytes or MiB as named, cpu in cores.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <tuple>
#include <vector>

namespace gpuwise::model {

using Labels = std::map<std::string, std::string>;

struct Taint {
  std::string key, value, effect;  // effect: NoSchedule | PreferNoSchedule | NoExecute
  bool operator==(const Taint&) const = default;
};

// How a node is bought. Read from the common clouds' labels (karpenter.sh/capacity-type,
// eks.amazonaws.com/capacityType, cloud.google.com/gke-spot / gke-provisioning, kubernetes.azure.com/scalesetpriority,
// node.kubernetes.io/lifecycle); kUnknown when none is set.
enum class CapacityType { kUnknown, kOnDemand, kSpot, kReserved };
std::string_view CapacityTypeName(CapacityType c);  // "unknown", "on-demand", "spot", "reserved"

// A continuous-fraction GPU backend running on a node (detected from node resources and labels).
enum class FractionalBackend { kNone, kHami, kKai };
std::string_view FractionalBackendName(FractionalBackend b);  // "none", "hami", "kai"

struct Node {
  std::string name;
  std::string uid;
  Labels labels;
  Labels annotations;
  std::string provider_id;        // spec.providerID
  std::string instance_type;      // node.kubernetes.io/instance-type (or the beta label)
  std::string region, zone;       // topology.kubernetes.io/region, zone (or the beta labels)
  CapacityType capacity_type = CapacityType::kUnknown;
  std::string capacity_type_source;  // the label key that said so ("" when unknown)
  // GPU feature discovery (nvidia.com/*) labels.
  std::string gpu_product;        // nvidia.com/gpu.product, e.g. "NVIDIA-H100-80GB-HBM3" (may carry -SHARED / MIG suffix)
  int gpu_count = 0;              // nvidia.com/gpu.count: physical GPUs
  double gpu_memory_mib = 0;      // nvidia.com/gpu.memory
  std::string mig_strategy;       // nvidia.com/mig.strategy: none | single | mixed ("" when unset)
  std::string mig_config;         // nvidia.com/mig.config (the MIG manager's wanted layout)
  std::string mig_config_state;   // nvidia.com/mig.config.state: pending | rebooting | success | failed
  std::string device_plugin_config;  // nvidia.com/device-plugin.config
  int gpu_replicas = 1;           // nvidia.com/gpu.replicas (time-slicing / MPS shares per GPU)
  std::string sharing_strategy;   // nvidia.com/gpu.sharing-strategy: none | time-slicing | mps
  FractionalBackend backend = FractionalBackend::kNone;
  // Extended resources by full name ("nvidia.com/gpu", "nvidia.com/mig-1g.10gb", "nvidia.com/gpu.shared",
  // "nvidia.com/gpumem", ...): every resource whose name has a '/' in it.
  std::map<std::string, double> capacity, allocatable;
  double cpu_allocatable = 0;              // cores
  double memory_allocatable_bytes = 0;
  bool unschedulable = false;              // spec.unschedulable (cordoned)
  bool ready = false;                      // condition Ready=True
  std::vector<Taint> taints;
  std::int64_t created_unix_s = 0;

  // True when the node advertises or labels any NVIDIA GPU.
  bool HasGpus() const;
};

// What one container requests of GPUs. For extended resources Kubernetes requires limits == requests, so a limit
// alone counts as the request.
struct GpuRequest {
  int gpus = 0;                        // nvidia.com/gpu: whole devices (or a 1/replicas share each on a node that
                                       // time-slices or runs MPS without renaming)
  int shared = 0;                      // nvidia.com/gpu.shared: 1/replicas shares (renamed sharing resources)
  std::map<std::string, int> mig;      // MIG profile ("1g.10gb") -> count, from nvidia.com/mig-<profile>
  double hami_gpumem_mib = 0;          // HAMi nvidia.com/gpumem (MiB per device)
  double hami_gpumem_percent = 0;      // HAMi nvidia.com/gpumem-percentage
  double hami_gpucores_percent = 0;    // HAMi nvidia.com/gpucores (percent of one device's SMs)
  double kai_fraction = 0;             // KAI gpu-fraction annotation (0..1 of a device)
  double kai_memory_mib = 0;           // KAI gpu-memory annotation (MiB)
  std::map<std::string, double> other; // any other GPU-like extended resource (amd.com/gpu, nvidia.com/a100, ...)

  bool Empty() const;
  // Adds another container's requests (per-pod totals).
  void Add(const GpuRequest& o);
  bool operator==(const GpuRequest&) const = default;
};

// What a HAMi or KAI request (a continuous fraction) asks of each device it gets: the number of devices and the
// share of each (0 < share <= 1): HAMi the largest of gpumem / the GPU's memory, gpumem-percentage and gpucores;
// KAI gpu-fraction, else gpu-memory / the GPU's memory. A share that cannot be known (no memory size for a
// memory-only request) or is out of range is 1. nullopt when the request is not a fraction.
struct FractionAsk {
  int devices = 1;
  double share = 1;
};
std::optional<FractionAsk> FractionOf(const GpuRequest& request, double gpu_memory_mib);

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command, args;
  std::map<std::string, std::string> env;   // literal values only (valueFrom is not resolved)
  std::vector<int> ports;                   // containerPort values
  GpuRequest gpu;
  double cpu_request = 0;                   // cores
  double memory_request_bytes = 0;
  // Status (empty when the pod has not started).
  bool ready = false, running = false;
  int restarts = 0;
  std::string waiting_reason;               // CrashLoopBackOff, ContainerCreating, ...
  std::string terminated_reason;            // of the current state (Completed, Error, OOMKilled)
  int last_exit_code = 0;                   // lastState.terminated.exitCode
  std::string last_reason;                  // lastState.terminated.reason
};

// A model-serving engine found in a pod, from image, command and arguments. Engines other than vLLM are named
// so the report can say which ones gpuwise cannot read the memory model of.
struct ServingEngine {
  std::string name;          // "vllm", "sglang", "tgi", "triton", "tensorrt-llm", "lmdeploy", "ollama", "llama.cpp",
                             // "ray-serve", "torchserve", "kserve-huggingface", ... ; "" = none found
  std::string container;     // the container running it
  std::string evidence;      // how it was found: "image vllm/vllm-openai:v0.6.3", "command 'vllm serve'"
  std::string model;         // served model (vLLM: first positional argument of `vllm serve`, or --model)
  double gpu_memory_utilization = NAN;  // vLLM --gpu-memory-utilization (NaN when not given: the engine default)
  int tensor_parallel = 1;   // --tensor-parallel-size / --tp / --num-shard
  int metrics_port = 0;      // the port its /metrics is served on, when known
  std::map<std::string, std::string> flags;  // every --flag[=value] seen ("" for a bare flag)
  bool Found() const { return !name.empty(); }
  // Engines that take their memory budget at start (vLLM gpu_memory_utilization, SGLang mem_fraction_static, TGI,
  // TensorRT-LLM, LMDeploy cache fractions): their framebuffer use says nothing about demand.
  bool ReservesMemory() const;
};

struct OwnerRef {
  std::string api_version, kind, name, uid;
  bool operator==(const OwnerRef&) const = default;
};

// How a pod's attribution was established (the report states the cost share of each).
enum class AttributionSource {
  kApi,         // the pod exists in the API (or did at read time)
  kKubeState,   // the pod is gone; kube-state-metrics series named its owner and labels
  kInferred,    // the pod is gone; owner inferred from its name (ReplicaSet hash, Job/CronJob suffixes)
  kPodGone,     // the pod is gone and nothing names its owner: "unattributed: pod gone"
};
std::string_view AttributionSourceName(AttributionSource s);  // "api", "kube-state-metrics", "inferred", "pod-gone"

// Required pod anti-affinity (spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution), as far
// as placing pods on nodes needs it: the matchLabels of each term whose topologyKey is kubernetes.io/hostname (no two
// pods a term selects, in the pod's namespace, on one node). `other` says a term was not read that way (another
// topology key, matchExpressions, namespaces or a namespaceSelector): gpuwise then leaves the pod where it is.
struct PodAntiAffinity {
  std::vector<Labels> hostname;
  bool other = false;
  bool Empty() const { return hostname.empty() && !other; }
  // A term selects `labels` (every matchLabels pair present).
  bool Selects(const Labels& labels) const;
  bool operator==(const PodAntiAffinity&) const = default;
};

struct Pod {
  std::string namespace_name, name, uid;
  std::string node;                     // spec.nodeName ("" while unscheduled)
  std::string phase;                    // Pending | Running | Succeeded | Failed | Unknown
  std::string ip;
  Labels labels, annotations;
  std::vector<Container> containers;    // app containers
  std::string scheduler_name;
  std::vector<Taint> tolerations;       // key/value/effect; operator Exists is value "*"
  std::map<std::string, std::string> node_selector;
  PodAntiAffinity anti_affinity;
  std::string unschedulable_message;    // PodScheduled=False (reason Unschedulable): the scheduler's message
  std::int64_t created_unix_s = 0;
  std::int64_t start_unix_s = 0;        // status.startTime
  std::int64_t end_unix_s = 0;          // finished or deleted (0 = alive when read)
  // ownerReferences walked to the top controller: direct owner first, top last. Empty for a bare pod.
  std::vector<OwnerRef> owners;
  ServingEngine engine;
  AttributionSource source = AttributionSource::kApi;

  GpuRequest GpuTotal() const;          // sum over containers
  bool RequestsGpu() const { return !GpuTotal().Empty(); }
  int Restarts() const;                 // sum over containers
  // The workload: the top controller, or the pod itself when it has no owner.
  OwnerRef Top() const;
};

struct Namespace {
  std::string name;
  Labels labels, annotations;
};

// A workload is identified by its top controller: namespace + kind + name (+ apiVersion group for custom
// resources, kept for display). Bare pods are their own workload (kind "Pod").
struct WorkloadKey {
  std::string namespace_name, kind, name;
  std::string str() const { return namespace_name + "/" + kind + "/" + name; }
  bool operator<(const WorkloadKey& o) const {
    return std::tie(namespace_name, kind, name) < std::tie(o.namespace_name, o.kind, o.name);
  }
  bool operator==(const WorkloadKey&) const = default;
};
WorkloadKey WorkloadOf(const Pod& pod);

// Everything read from the API at one moment.
struct ClusterState {
  std::vector<Node> nodes;               // sorted by name
  std::vector<Pod> pods;                 // sorted by namespace, name
  std::vector<Namespace> namespaces;     // sorted by name
  // ConfigMaps read by name ("gpu-operator/default-mig-parted-config" -> data key -> text): the GPU Operator's
  // configs a plan extends. Absent when not read (the reader says why in warnings).
  std::map<std::string, std::map<std::string, std::string>> config_maps;
  std::int64_t read_unix_s = 0;
  std::string source;                    // "https://... (context prod)" or "fake"
  std::vector<std::string> warnings;     // objects skipped or half-read, each naming the object and why

  const Node* FindNode(std::string_view name) const;
  const Pod* FindPod(std::string_view namespace_name, std::string_view name) const;
  const Namespace* FindNamespace(std::string_view name) const;
};

}  // namespace gpuwise::model
