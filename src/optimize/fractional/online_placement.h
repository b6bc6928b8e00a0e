// Online placement of GPU pods with continuous fractions (the openb trace's gpu_milli model, which is what HAMi and
// KAI carry out): pods arrive one at a time and each is placed at once on a node and GPUs, or fails. The cluster
// state and the policies of the FGD paper's experiment (Weng et al., "Beware of Fragmentation", USENIX ATC 2023):
// Random, DotProd, GpuClustering, GpuPacking, BestFit and FGD, as the authors' simulator scores them
// (hkust-adsl/kubernetes-scheduler-simulator; the rules restated in docs/online-placement.md), and gpuwise's own:
// FGD for GPU pods, and for CPU-only pods, among FGD's equal scores, the node with the least GPU left (then the
// least cpu left), so that cpu goes where the GPUs are already taken.
//
// Resource model: a node has cpu milli, memory MiB and G GPUs of 1000 milli each, of one model. A pod asks for cpu,
// memory, num_gpu and gpu_milli: num_gpu 0 is CPU-only; num_gpu 1 with gpu_milli < 1000 shares one GPU; otherwise it
// takes num_gpu whole free GPUs. An optional list of GPU models restricts the nodes (exact names).
// Ties between equally scored nodes go to the node of lowest rank, a permutation fixed per run (as the reference).
// Pure; a Placer is not thread-safe (it caches), one per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpuwise::optimize::fractional {

inline constexpr int kMaxGpusPerNode = 8;
inline constexpr int kGpuMilli = 1000;

struct PlacementNode {
  std::string name;
  std::int64_t cpu_milli = 0;
  std::int64_t memory_mib = 0;
  int gpus = 0;  // 0..kMaxGpusPerNode
  std::string model;
};

struct PodRequest {
  std::int64_t cpu_milli = 0;
  std::int64_t memory_mib = 0;
  int num_gpu = 0;
  int gpu_milli = 0;                    // per GPU; 1000 when num_gpu > 1
  std::vector<std::string> gpu_models;  // allowed models; empty: any
  std::int64_t TotalGpuMilli() const { return static_cast<std::int64_t>(num_gpu) * gpu_milli; }
  bool Sharing() const { return num_gpu == 1 && gpu_milli < kGpuMilli; }
};

// A pod type for FGD's target workload: the pods of the trace grouped by (cpu, gpu_milli, num_gpu, gpu models),
// each with its share of the pods.
struct TypicalPod {
  PodRequest pod;
  double probability = 0;
};
// The FGD paper's target workload: group `pods`, sort by count (ties by cpu, gpu_milli, num_gpu, models, all
// descending), keep types until they cover `coverage` of the pods, renormalise.
std::vector<TypicalPod> TypicalPods(std::span<const PodRequest> pods, double coverage = 0.95);

// GPU model names numbered in order of first appearance, as the cluster states number them.
class ModelIndex {
 public:
  int Add(const std::string& model);  // its index; -1 for "" (a node that names no model)
  // The indices of a pod's allowed models; empty = any when it names none. Unknown names match no node.
  std::vector<int> Allowed(const PodRequest& pod) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

struct NodeState {
  std::int64_t cpu_left = 0, memory_left = 0;
  std::array<int, kMaxGpusPerNode> gpu_left{};  // milli, per GPU
  int gpus = 0;
  int model = -1;                                // index into ClusterState::models()
  std::array<int, 5> tags{};                     // GpuClustering: pods placed per kind (share, 1, 2, 4, 8 GPUs)
  std::uint32_t version = 0;                     // bumped on every change
  int GpuLeftSum() const;
};

class ClusterState {
 public:
  explicit ClusterState(std::span<const PlacementNode> nodes);
  std::span<const NodeState> nodes() const { return nodes_; }
  const std::vector<std::string>& models() const { return models_.names(); }
  // Model indices a pod may use; empty = any. Unknown names match no node.
  std::vector<int> AllowedModels(const PodRequest& pod) const;
  bool Fits(int node, const PodRequest& pod, std::span<const int> allowed) const;
  // Takes the pod's cpu, memory and GPU milli from `gpus` (one GPU for a sharing pod, num_gpu whole GPUs else).
  void Place(int node, const PodRequest& pod, std::span<const int> gpus);
  // Sets what a node has left, for a cluster already in use (its GpuClustering tags stay empty).
  void SetLeft(int node, std::int64_t cpu_left, std::int64_t memory_left, std::span<const int> gpu_left);
  std::int64_t allocated_gpu_milli() const { return allocated_gpu_milli_; }
  std::int64_t gpu_capacity_milli() const { return gpu_capacity_milli_; }

 private:
  std::vector<NodeState> nodes_;
  ModelIndex models_;
  std::int64_t allocated_gpu_milli_ = 0, gpu_capacity_milli_ = 0;
};

enum class PolicyKind { kRandom, kDotProd, kGpuClustering, kGpuPacking, kBestFit, kFgd, kGpuwise };
std::string_view PolicyName(PolicyKind kind);  // "Random", "DotProd", ..., "FGD", "gpuwise"
// Parses a name as PolicyName prints it (case-insensitive); false when unknown.
bool ParsePolicy(std::string_view name, PolicyKind* out);

struct Placement {
  int node = -1;  // -1: no node fits, the pod fails
  std::vector<int> gpus;
};

// Chooses a node and GPUs for each arriving pod. `typical` is the target workload (FGD and gpuwise use it), `rank`
// the tie-break order of the nodes (lower first), `seed` the random source (Random).
class Placer {
 public:
  virtual ~Placer() = default;
  virtual Placement Choose(const ClusterState& state, const PodRequest& pod) = 0;
};
std::unique_ptr<Placer> NewPlacer(PolicyKind kind, std::vector<TypicalPod> typical, std::vector<int> rank, std::uint64_t seed);

// Whether a node of GPU model `model` (an index; -1: not named) serves `pod`: any node when the pod names no model,
// else one of `allowed` (the pod's models as indices; empty when none exists in the cluster).
bool Serves(const PodRequest& pod, std::span<const int> allowed, int model);

// FGD's fragmentation of a node for the target workload (milli-GPU): the expected GPU milli a typical pod could not
// use. Exposed for tests.
double NodeFragmentation(const NodeState& node, std::span<const TypicalPod> typical, std::span<const std::vector<int>> allowed);

}  // namespace gpuwise::optimize::fractional
