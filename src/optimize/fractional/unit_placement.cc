#include "optimize/fractional/unit_placement.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "base/format.h"

namespace gpuwise::optimize::fractional {
namespace {

// A pod that takes units of a whole GPU: several GPUs, or all of one.
bool WholeGpuPod(const PodRequest& p) { return p.num_gpu > 1 || (p.num_gpu == 1 && p.gpu_milli >= kGpuMilli); }

// UnitFragmentation of `node` after `count` units of `unit` milli and `cpu` milli are taken from it (0, 0, 0: as it
// is), without copying the node.
double FragmentationAfter(const UnitClusterState::Node& node, std::span<const TypicalPod> typical,
                          std::span<const std::vector<int>> allowed, int unit, int count, std::int64_t cpu) {
  const double all = static_cast<double>(node.FreeMilli() - static_cast<std::int64_t>(unit) * count);
  const std::int64_t cpu_left = node.cpu_left - cpu;
  double f = 0;
  for (std::size_t t = 0; t < typical.size(); ++t) {
    const PodRequest& p = typical[t].pod;
    const double prob = typical[t].probability;
    if (p.gpu_milli <= 0 || p.num_gpu <= 0 ||
        !Serves(p, t < allowed.size() ? std::span<const int>(allowed[t]) : std::span<const int>(), node.model) ||
        cpu_left < p.cpu_milli) {
      f += prob * all;
      continue;
    }
    const int need = WholeGpuPod(p) ? kGpuMilli : p.gpu_milli;
    int holding = 0;
    double small = 0;
    for (const auto& [size, free] : node.free) {
      const int left = size == unit ? free - count : free;
      if (size >= need) holding += left;
      else small += static_cast<double>(size) * left;
    }
    f += prob * (holding >= (WholeGpuPod(p) ? std::max(1, p.num_gpu) : 1) ? small : all);
  }
  return f;
}

class UnitPlacerBase : public UnitPlacer {
 public:
  UnitPlacerBase(std::vector<TypicalPod> typical, std::vector<int> rank) : typical_(std::move(typical)), rank_(std::move(rank)) {}

  UnitPlacement Choose(const UnitClusterState& state, const PodRequest& pod) override {
    const std::vector<int> allowed = state.AllowedModels(pod);
    if (pod.TotalGpuMilli() > 0 && !pod.gpu_models.empty() && allowed.empty()) return {};
    Begin(state, pod);
    UnitPlacement best;
    double best_score = 0;
    const auto nodes = state.nodes();
    for (int n = 0; n < static_cast<int>(nodes.size()); ++n) {
      const std::vector<int> sizes = state.Holding(n, pod, allowed);
      if (sizes.empty()) continue;
      for (int unit : Candidates(sizes)) {
        const double s = Score(state, n, pod, unit);
        const bool better = best.node < 0 || s < best_score - 1e-9 ||
                            (s <= best_score + 1e-9 && (unit < best.unit_milli || (unit == best.unit_milli && Rank(n) < Rank(best.node))));
        if (better) {
          best = {n, unit};
          best_score = s;
        }
      }
    }
    return best;
  }

 protected:
  virtual void Begin(const UnitClusterState&, const PodRequest&) {}
  // Unit sizes scored on a node: the baselines take the smallest that holds the pod.
  virtual std::vector<int> Candidates(const std::vector<int>& sizes) const { return {sizes.front()}; }
  // Lower is better.
  virtual double Score(const UnitClusterState& state, int node, const PodRequest& pod, int unit) = 0;
  int Rank(int n) const { return static_cast<std::size_t>(n) < rank_.size() ? rank_[static_cast<std::size_t>(n)] : n; }

  std::vector<TypicalPod> typical_;
  std::vector<int> rank_;
};

class LeastAllocatedPlacer : public UnitPlacerBase {
 public:
  using UnitPlacerBase::UnitPlacerBase;

 protected:
  double Score(const UnitClusterState& state, int node, const PodRequest& pod, int) override {
    const UnitClusterState::Node& n = state.nodes()[static_cast<std::size_t>(node)];
    auto share = [](std::int64_t left, std::int64_t ask, std::int64_t all) {
      return all > 0 ? static_cast<double>(left - ask) / static_cast<double>(all) : 0.0;
    };
    return -(share(n.cpu_left, pod.cpu_milli, n.cpu) + share(n.memory_left, pod.memory_mib, n.memory)) / 2;
  }
};

class BestFitUnitPlacer : public UnitPlacerBase {
 public:
  using UnitPlacerBase::UnitPlacerBase;

 protected:
  std::vector<int> Candidates(const std::vector<int>& sizes) const override { return sizes; }
  // The tightest unit first, then the node with the least GPU capacity left after the pod.
  double Score(const UnitClusterState& state, int node, const PodRequest& pod, int unit) override {
    const UnitClusterState::Node& n = state.nodes()[static_cast<std::size_t>(node)];
    const double left = static_cast<double>(n.FreeMilli() - static_cast<std::int64_t>(unit) * std::max(1, pod.num_gpu));
    return static_cast<double>(unit) * 1e9 + left;
  }
};

class GpuwiseUnitPlacer : public UnitPlacerBase {
 public:
  using UnitPlacerBase::UnitPlacerBase;

 protected:
  std::vector<int> Candidates(const std::vector<int>& sizes) const override { return sizes; }
  // The node's fragmentation as it is, cached until the node changes.
  double Before(int node, const UnitClusterState::Node& n) {
    if (before_.size() <= static_cast<std::size_t>(node)) before_.resize(static_cast<std::size_t>(node) + 1, {~0u, 0});
    auto& [version, frag] = before_[static_cast<std::size_t>(node)];
    if (version != n.version) {
      version = n.version;
      frag = UnitFragmentation(n, typical_, allowed_);
    }
    return frag;
  }
  // Scores depend on the pod only through its request: cached per (request, node version, unit), as pods of one
  // type arrive again and again and most nodes do not change in between.
  void Begin(const UnitClusterState& state, const PodRequest& pod) override {
    if (allowed_.size() != typical_.size()) {
      for (const TypicalPod& t : typical_) allowed_.push_back(state.AllowedModels(t.pod));
    }
    std::string key = std::to_string(pod.cpu_milli) + "/" + std::to_string(pod.memory_mib) + "/" +
                      std::to_string(pod.num_gpu) + "/" + std::to_string(pod.gpu_milli);
    for (const std::string& m : pod.gpu_models) key += "/" + m;
    cache_ = &cache_by_request_[key];
    if (cache_->size() < state.nodes().size()) cache_->resize(state.nodes().size());
  }
  double Score(const UnitClusterState& state, int node, const PodRequest& pod, int unit) override {
    const UnitClusterState::Node& n = state.nodes()[static_cast<std::size_t>(node)];
    std::vector<Cached>& here = (*cache_)[static_cast<std::size_t>(node)];
    for (const Cached& c : here) {
      if (c.version == n.version && c.unit == unit) return c.score;
    }
    const int count = pod.num_gpu > 0 && pod.gpu_milli > 0 ? std::max(1, pod.num_gpu) : 0;
    const double waste = count > 0 && !WholeGpuPod(pod) ? unit - pod.gpu_milli : 0;
    const double score = FragmentationAfter(n, typical_, allowed_, unit, count, pod.cpu_milli) - Before(node, n) + waste;
    std::erase_if(here, [&](const Cached& c) { return c.version != n.version; });
    here.push_back({n.version, unit, score});
    return score;
  }

 private:
  std::vector<std::vector<int>> allowed_;
  std::vector<std::pair<std::uint32_t, double>> before_;  // per node: (version, fragmentation)
  struct Cached {
    std::uint32_t version = 0;
    int unit = 0;
    double score = 0;
  };
  std::map<std::string, std::vector<std::vector<Cached>>> cache_by_request_;  // request -> per node
  std::vector<std::vector<Cached>>* cache_ = nullptr;
};

}  // namespace

std::string UnitConfig::Name() const {
  switch (kind) {
    case Kind::kWhole: return "whole";
    case Kind::kShares: return "shares-" + std::to_string(replicas);
    case Kind::kMig: {
      std::string s = "mig-";
      for (std::size_t i = 0; i < mig_slices.size(); ++i) s += (i ? "+" : "") + std::to_string(mig_slices[i]);
      return s + "/" + std::to_string(total_slices);
    }
  }
  return "?";
}

std::vector<std::pair<int, int>> UnitConfig::UnitsPerGpu() const {
  std::map<int, int, std::greater<>> by_size;
  switch (kind) {
    case Kind::kWhole: by_size[kGpuMilli] = 1; break;
    case Kind::kShares: by_size[kGpuMilli / std::max(1, replicas)] = std::max(1, replicas); break;
    case Kind::kMig:
      for (int slices : mig_slices) {
        if (slices > 0 && total_slices > 0) ++by_size[slices >= total_slices ? kGpuMilli : slices * kGpuMilli / total_slices];
      }
      break;
  }
  return {by_size.begin(), by_size.end()};
}

std::int64_t UnitClusterState::Node::FreeMilli() const {
  std::int64_t s = 0;
  for (const auto& [size, count] : free) s += static_cast<std::int64_t>(size) * count;
  return s;
}

UnitClusterState::UnitClusterState(std::span<const UnitNode> nodes) {
  for (const UnitNode& un : nodes) {
    Node n;
    n.cpu = n.cpu_left = un.node.cpu_milli;
    n.memory = n.memory_left = un.node.memory_mib;
    n.model = models_.Add(un.node.model);
    const int gpus = std::max(0, un.node.gpus);
    if (gpus > 0) {
      for (const auto& [size, count] : un.config.UnitsPerGpu()) n.free.emplace_back(size, count * gpus);
    }
    capacity_milli_ += static_cast<std::int64_t>(gpus) * kGpuMilli;
    nodes_.push_back(std::move(n));
  }
}

std::vector<int> UnitClusterState::Holding(int node, const PodRequest& pod, std::span<const int> allowed) const {
  const Node& n = nodes_[static_cast<std::size_t>(node)];
  if (n.cpu_left < pod.cpu_milli || n.memory_left < pod.memory_mib) return {};
  if (pod.num_gpu <= 0 || pod.gpu_milli <= 0) return {0};  // CPU-only: no unit
  if (!Serves(pod, allowed, n.model)) return {};
  std::vector<int> out;
  for (auto it = n.free.rbegin(); it != n.free.rend(); ++it) {  // smallest first
    const auto [size, count] = *it;
    if (WholeGpuPod(pod) ? (size >= kGpuMilli && count >= pod.num_gpu) : (size >= pod.gpu_milli && count > 0)) out.push_back(size);
  }
  return out;
}

void UnitClusterState::Place(int node, const PodRequest& pod, int unit_milli) {
  Node& n = nodes_[static_cast<std::size_t>(node)];
  ++n.version;
  n.cpu_left -= pod.cpu_milli;
  n.memory_left -= pod.memory_mib;
  if (pod.num_gpu <= 0 || pod.gpu_milli <= 0) return;
  const int count = std::max(1, pod.num_gpu);
  for (auto& [size, free] : n.free) {
    if (size == unit_milli) free -= count;
  }
  demand_placed_milli_ += pod.TotalGpuMilli();
  units_placed_milli_ += static_cast<std::int64_t>(unit_milli) * count;
}

std::string_view UnitPolicyName(UnitPolicyKind kind) {
  switch (kind) {
    case UnitPolicyKind::kLeastAllocated: return "LeastAllocated";
    case UnitPolicyKind::kBestFit: return "BestFit";
    case UnitPolicyKind::kGpuwise: return "gpuwise";
  }
  return "?";
}

bool ParseUnitPolicy(std::string_view name, UnitPolicyKind* out) {
  for (UnitPolicyKind k : {UnitPolicyKind::kLeastAllocated, UnitPolicyKind::kBestFit, UnitPolicyKind::kGpuwise}) {
    if (base::EqualsIgnoreCase(name, UnitPolicyName(k))) {
      *out = k;
      return true;
    }
  }
  return false;
}

std::unique_ptr<UnitPlacer> NewUnitPlacer(UnitPolicyKind kind, std::vector<TypicalPod> typical, std::vector<int> rank) {
  switch (kind) {
    case UnitPolicyKind::kLeastAllocated: return std::make_unique<LeastAllocatedPlacer>(std::move(typical), std::move(rank));
    case UnitPolicyKind::kBestFit: return std::make_unique<BestFitUnitPlacer>(std::move(typical), std::move(rank));
    case UnitPolicyKind::kGpuwise: return std::make_unique<GpuwiseUnitPlacer>(std::move(typical), std::move(rank));
  }
  return nullptr;
}

double UnitFragmentation(const UnitClusterState::Node& node, std::span<const TypicalPod> typical,
                         std::span<const std::vector<int>> allowed) {
  return FragmentationAfter(node, typical, allowed, 0, 0, 0);
}

}  // namespace gpuwise::optimize::fractional
