// Online placement on stock nodes, the discrete counterpart of online_placement.h. With the NVIDIA device plugin a
// node's GPUs give units of one kind: whole GPUs, 1/N shares (time-slicing or MPS with N replicas per GPU), or the
// instances of one MIG layout; a pod takes whole units, so a pod of 0.3 of a GPU takes a 1/3 share, a 3g instance
// of 7 slices, or a whole GPU, and the rest of that unit is lost to it. The pods are the same PodRequests (cpu,
// memory, num_gpu, gpu_milli) and the target workload the same TypicalPods.
//
// A pod of one GPU may take any free unit of at least its gpu_milli; a pod of several GPUs (or of a whole one) takes
// num_gpu units of a whole GPU (whole GPUs, or full-GPU MIG instances). Units of one size on a node are fungible
// (which GPU a share comes from is the device plugin's business), so a node is its free units by size.
//
// Policies (which node, and which unit there):
// - LeastAllocated: kube-scheduler's default scoring, the node with the most cpu and memory free (mean of the two
//   shares), and there the smallest unit that holds the pod.
// - BestFit: the tightest unit that holds the pod anywhere, and among nodes that have it the one with the least GPU
//   capacity left after the pod (bin packing, as MostAllocated on the GPU resource).
// - gpuwise: FGD's rule carried over to units. A node's fragmentation for the target workload is the expected free
//   GPU capacity (milli) a typical pod could not use: all of it when the pod does not fit the node, else the free
//   units too small for it (a CPU-only pod: all of it). Each (node, unit size) that holds the pod is scored by the
//   change in its node's fragmentation plus the capacity the pod leaves unused in the unit (unit - gpu_milli, lost
//   until the pod leaves); the lowest wins, ties to the smaller unit, then the node of lower rank.
// Pure; a UnitPlacer is not thread-safe, one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "optimize/fractional/online_placement.h"

namespace gpuwise::optimize::fractional {

struct UnitConfig {
  enum class Kind { kWhole, kShares, kMig };
  Kind kind = Kind::kWhole;
  int replicas = 1;             // kShares: units per GPU (2..)
  std::vector<int> mig_slices;  // kMig: each instance's compute slices, the same layout on every GPU
  int total_slices = 7;         // kMig: the GPU's slices (7; A30 4)
  // "whole", "shares-4", "mig-3+2+1+1/7".
  std::string Name() const;
  // Units of one GPU, as (capacity milli, count), largest first.
  std::vector<std::pair<int, int>> UnitsPerGpu() const;
};

struct UnitNode {
  PlacementNode node;
  UnitConfig config;
};

class UnitClusterState {
 public:
  explicit UnitClusterState(std::span<const UnitNode> nodes);

  struct Node {
    std::int64_t cpu_left = 0, memory_left = 0, cpu = 0, memory = 0;
    int model = -1;                            // index into models(); -1 when the node names none
    std::vector<std::pair<int, int>> free;     // (unit milli, free count), largest first
    std::uint32_t version = 0;                 // bumped on every change
    std::int64_t FreeMilli() const;
  };
  std::span<const Node> nodes() const { return nodes_; }
  const std::vector<std::string>& models() const { return models_.names(); }
  std::vector<int> AllowedModels(const PodRequest& pod) const { return models_.Allowed(pod); }
  // The unit sizes on `node` that hold `pod` (smallest first; {1000} for a pod of whole GPUs), given cpu and memory
  // fit; empty when it does not fit there.
  std::vector<int> Holding(int node, const PodRequest& pod, std::span<const int> allowed) const;
  // Takes the pod's cpu and memory and num_gpu units of `unit_milli` (one unit for a pod of one GPU).
  void Place(int node, const PodRequest& pod, int unit_milli);

  std::int64_t capacity_milli() const { return capacity_milli_; }
  std::int64_t demand_placed_milli() const { return demand_placed_milli_; }  // the placed pods' gpu_milli x num_gpu
  std::int64_t units_placed_milli() const { return units_placed_milli_; }    // the units they took

 private:
  std::vector<Node> nodes_;
  ModelIndex models_;
  std::int64_t capacity_milli_ = 0, demand_placed_milli_ = 0, units_placed_milli_ = 0;
};

enum class UnitPolicyKind { kLeastAllocated, kBestFit, kGpuwise };
std::string_view UnitPolicyName(UnitPolicyKind kind);  // "LeastAllocated", "BestFit", "gpuwise"
bool ParseUnitPolicy(std::string_view name, UnitPolicyKind* out);

struct UnitPlacement {
  int node = -1;       // -1: no node holds the pod
  int unit_milli = 0;  // the size of the unit(s) it takes
};

class UnitPlacer {
 public:
  virtual ~UnitPlacer() = default;
  virtual UnitPlacement Choose(const UnitClusterState& state, const PodRequest& pod) = 0;
};
std::unique_ptr<UnitPlacer> NewUnitPlacer(UnitPolicyKind kind, std::vector<TypicalPod> typical, std::vector<int> rank);

// gpuwise's fragmentation of a node for the target workload (milli). Exposed for tests.
double UnitFragmentation(const UnitClusterState::Node& node, std::span<const TypicalPod> typical,
                         std::span<const std::vector<int>> allowed);

}  // namespace gpuwise::optimize::fractional
