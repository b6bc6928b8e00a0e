// Kubernetes API objects (JSON as the API server serves them) -> gpuwise's cluster model (model/cluster.h):
// nodes with their GPU feature-discovery labels, extended resources, capacity type and fractional-GPU backend;
// pods with per-container GPU requests (whole, shared, MIG, HAMi, KAI), container status and serving engine;
// namespaces. Also Kubernetes quantities, parsed exactly, and serving-engine detection from image, command and
// arguments. Pure functions: no I/O, no clock, thread-safe.
//
// Every field is shape-checked, so any JSON gives a value or an error, never a crash or an exception. A required
// field that is missing (metadata.name; for pods metadata.namespace and spec.containers), or any field of the wrong
// JSON type, is an error naming the object and the path:
//   pod ml/train-0: spec.containers[1].resources.limits["nvidia.com/gpu"]: quantity "x": expected a number ...
// Values people write by hand and the API server does not validate (GFD label values, KAI annotations) are
// warnings instead: the object is still read, the bad value is ignored, the warning names the object and key.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"

namespace gpuwise::observe::kube {

// A Kubernetes resource quantity ("1", "500m", "16Gi", "1.5e3", "100Ki", "2k"), held exactly at nano precision
// as the API server holds it (digits finer than 1n round up, away from zero). Grammar (apimachinery quantity.go):
// [+-] digits [. digits] then one of: a binary suffix Ki Mi Gi Ti Pi Ei, a decimal suffix n u m "" k M G T P E,
// or an exponent e<int> / E<int>. Magnitudes up to 1e26 are accepted (16Ei is about 1.8e19).
class Quantity {
 public:
  __extension__ typedef __int128 Nanos;  // value x 1e9; __int128 because 16Ei in nanos exceeds int64
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;
  static base::Result<Quantity> Parse(std::string_view text);
  static Quantity FromNanos(Nanos nanos, Format format = Format::kDecimalSI) { return Quantity(nanos, format); }

  Nanos nanos() const { return nanos_; }
  Format format() const { return format_; }
  double ToDouble() const;
  bool IsInteger() const;
  // The value rounded up to a whole number (as apimachinery's Value()), saturating at the int64 range.
  std::int64_t Value() const;
  // Canonical text, as the API server writes it back: the largest suffix (or exponent, for exponent input) of the
  // input's family that leaves an integer mantissa, e.g. "1.5Gi" -> "1536Mi", "0.5" -> "500m", "2000" -> "2k",
  // "1.5e3" -> "1500". Parse(ToString()) gives back the same value.
  std::string ToString() const;

  bool operator==(const Quantity& o) const { return nanos_ == o.nanos_; }
  bool operator<(const Quantity& o) const { return nanos_ < o.nanos_; }

 private:
  Quantity(Nanos nanos, Format format) : nanos_(nanos), format_(format) {}
  Nanos nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

base::Result<Quantity> ParseQuantity(std::string_view text);

// Node: name, uid, labels, annotations, spec.providerID, spec.unschedulable, spec.taints, status.capacity and
// status.allocatable (cpu in cores, memory in bytes, every extended resource, i.e. every name with a '/'),
// condition Ready, creationTimestamp; instance type, region and zone from the GA labels, else the beta ones;
// capacity type (CapacityTypeFromLabels); GFD labels (nvidia.com/gpu.product, .count, .memory, .replicas,
// .sharing-strategy, mig.strategy, mig.config, mig.config.state, device-plugin.config; a gpu.replicas of "0", which
// GFD writes when no sharing config applies, reads as 1); fractional backend (DetectNodeBackend).
base::Result<model::Node> NodeFromJson(const nlohmann::json& object, std::vector<std::string>* warnings = nullptr);

// Pod: metadata (name, namespace, uid, labels, annotations, creationTimestamp, deletionTimestamp, the controller
// owner reference as owners[0]; the reader walks the rest), spec (nodeName, schedulerName, nodeSelector,
// tolerations, app containers: image, command, args, literal env values, container ports, cpu/memory requests,
// GPU requests), status (phase, podIP, startTime, PodScheduled=False's message, container statuses), the end time
// (deletionTimestamp, else for Succeeded/Failed pods the latest container finishedAt) and the serving engine.
// GPU requests per container: a limit alone counts as the request for extended resources (Kubernetes defaults
// requests to limits for them); nvidia.com/gpu -> gpus, nvidia.com/gpu.shared -> shared,
// nvidia.com/mig-<profile> -> mig[profile] ("mig-1g.10gb.me" is profile "1g.10gb+me"), HAMi nvidia.com/gpumem,
// gpumem-percentage, gpucores; any other GPU-like extended resource (IsGpuLikeResource) -> other. KAI's pod
// annotations gpu-fraction and gpu-memory (MiB) go to the container gpu-fraction-container-name names, else the
// first; kai_fraction is gpu-fraction x gpu-fraction-num-devices (device-equivalents over all devices).
base::Result<model::Pod> PodFromJson(const nlohmann::json& object, std::vector<std::string>* warnings = nullptr);

base::Result<model::Namespace> NamespaceFromJson(const nlohmann::json& object);

// An object's controlling owner from metadata.ownerReferences: the one with controller=true, else the first;
// nullopt when there is none. Error when ownerReferences is malformed. `what` names the object in errors.
base::Result<std::optional<model::OwnerRef>> ControllerOwnerFromJson(const nlohmann::json& object,
                                                                     std::string_view what);

// How a node is bought, and the label that said so. Checked in this order (first label present and understood
// wins): karpenter.sh/capacity-type (spot | on-demand | reserved), eks.amazonaws.com/capacityType (SPOT |
// ON_DEMAND | CAPACITY_BLOCK -> reserved), cloud.google.com/gke-spot = "true", cloud.google.com/gke-preemptible =
// "true", cloud.google.com/gke-provisioning (spot | preemptible | standard), kubernetes.azure.com/scalesetpriority
// (spot | regular), node.kubernetes.io/lifecycle (spot | normal | on-demand).
std::pair<model::CapacityType, std::string> CapacityTypeFromLabels(const model::Labels& labels);

// The fractional-GPU backend a node's own object shows. HAMi: the node advertises nvidia.com/gpumem or
// nvidia.com/gpucores, or carries a hami.io/ annotation (its device plugin registers devices in
// hami.io/node-nvidia-register). KAI: a kai.scheduler/ label (kai.scheduler/node-pool). KAI puts nothing else on
// nodes (GPU sharing is pod annotations plus reservation pods), so the cluster reader also marks the nodes its
// fractional pods and reservation pods run on.
model::FractionalBackend DetectNodeBackend(const model::Node& node);

// "nvidia.com/mig-1g.10gb" -> "1g.10gb", "nvidia.com/mig-1g.10gb.me" -> "1g.10gb+me"; "" for other names.
std::string MigProfileOfResource(std::string_view resource);
// Extended resources gpuwise treats as GPUs of some vendor: any name with "gpu" in it (amd.com/gpu,
// gpu.intel.com/i915, volcano.sh/vgpu-number, ...), NVIDIA names of GPU models (nvidia.com/a100), and known
// accelerators (habana.ai/gaudi, aws.amazon.com/neuron*, google.com/tpu, huawei.com/Ascend*).
bool IsGpuLikeResource(std::string_view resource);

// The serving engine a pod runs, from its containers in order (the first that matches). Per container, the command
// line wins over the image: `vllm serve <model>`, `python -m vllm.entrypoints.openai.api_server`,
// `python -m sglang.launch_server`, `text-generation-launcher`, `tritonserver`, `trtllm-serve`,
// `lmdeploy serve api_server`, `ollama serve`, `llama-server`, `serve run|deploy` (Ray Serve), `torchserve`,
// `python -m huggingfaceserver` (KServe); a `sh -c "..."` script is split into words and searched too. Else the
// image repository: vllm*, *sglang*, text-generation-inference, tritonserver, tensorrt-llm, lmdeploy, ollama,
// llama.cpp with a server tag, torchserve, huggingfaceserver, nvcr.io/nim/*; the arguments are then the
// entrypoint's flags. Flags are read as --name=value, --name value, -x value (a known boolean flag takes no value);
// names are kept without dashes, '_' written as '-'. The metrics port: vLLM serves /metrics on its API port
// (--port, default 8000); SGLang --port (default 30000); Triton --metrics-port (default 8002); LMDeploy
// --server-port (default 23333); TorchServe 8082; KServe huggingfaceserver --http-port (default 8080); llama.cpp
// --port (default 8080) only with --metrics; TGI --port, else env PORT, else the first container port;
// TensorRT-LLM, Ray Serve, NIM --port, else the first container port; Ollama has none (0).
model::ServingEngine DetectServingEngine(const model::Pod& pod);
model::ServingEngine DetectEngineInContainer(const model::Container& container);

}  // namespace gpuwise::observe::kube
