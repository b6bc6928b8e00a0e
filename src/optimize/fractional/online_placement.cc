#include "optimize/fractional/online_placement.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "base/format.h"

namespace gpuwise::optimize::fractional {
namespace {

// The reference's normalisers: the largest node has 128 cores and 8 GPUs.
constexpr double kMaxSpecCpu = 128000;
constexpr double kMaxSpecGpu = 8000;

// GPUs for a pod on a node: whole pods take the lowest-index free GPUs; sharing pods the best-fitting GPU (least left
// that fits, lowest index on ties). Empty when none fits.
std::vector<int> WholeGpus(const NodeState& n, int count) {
  std::vector<int> out;
  for (int g = 0; g < n.gpus && static_cast<int>(out.size()) < count; ++g) {
    if (n.gpu_left[static_cast<std::size_t>(g)] >= kGpuMilli) out.push_back(g);
  }
  if (static_cast<int>(out.size()) < count) out.clear();
  return out;
}

int BestFitGpu(const NodeState& n, int milli) {
  int best = -1;
  for (int g = 0; g < n.gpus; ++g) {
    const int left = n.gpu_left[static_cast<std::size_t>(g)];
    if (left >= milli && (best < 0 || left < n.gpu_left[static_cast<std::size_t>(best)])) best = g;
  }
  return best;
}

// GpuClustering's kind of a pod: 0 share, 1..4 for 1, 2, 4, 8 whole GPUs (other counts share the nearest slot);
// -1 for a CPU-only pod.
int Tag(const PodRequest& p) {
  if (p.num_gpu <= 0 || p.gpu_milli <= 0) return -1;
  if (p.Sharing()) return 0;
  if (p.num_gpu == 1) return 1;
  if (p.num_gpu == 2) return 2;
  if (p.num_gpu <= 4) return 3;
  return 4;
}

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// The node's GPUs by milli left, ascending; equal values keep index order.
std::array<int, kMaxGpusPerNode> ByLeft(const NodeState& n) {
  std::array<int, kMaxGpusPerNode> order{};
  for (int g = 0; g < n.gpus; ++g) order[static_cast<std::size_t>(g)] = g;
  std::stable_sort(order.begin(), order.begin() + n.gpus,
                   [&](int a, int b) { return n.gpu_left[static_cast<std::size_t>(a)] < n.gpu_left[static_cast<std::size_t>(b)]; });
  return order;
}

// The node after `pod` takes its cpu and, for a non-sharing pod, the GPUs the reference's hypothetical takes: walking
// the GPUs in ascending left order, the first num_gpu with enough left.
NodeState AfterWhole(const NodeState& n, const PodRequest& pod) {
  NodeState h = n;
  h.cpu_left -= pod.cpu_milli;
  if (pod.num_gpu <= 0 || pod.gpu_milli <= 0) return h;
  const std::array<int, kMaxGpusPerNode> order = ByLeft(n);
  int taken = 0;
  for (int k = 0; k < n.gpus && taken < pod.num_gpu; ++k) {
    const int g = order[static_cast<std::size_t>(k)];
    if (h.gpu_left[static_cast<std::size_t>(g)] >= pod.gpu_milli) {
      h.gpu_left[static_cast<std::size_t>(g)] -= pod.gpu_milli;
      ++taken;
    }
  }
  return h;
}

// Scored choice on one node: higher score wins; `gpus` the GPUs the policy would take there.
struct Scored {
  double score = -1e300;
  std::vector<int> gpus;
};

class PlacerBase : public Placer {
 public:
  PlacerBase(std::vector<TypicalPod> typical, std::vector<int> rank, std::uint64_t seed)
      : typical_(std::move(typical)), rank_(std::move(rank)), rng_(seed) {}

  Placement Choose(const ClusterState& state, const PodRequest& pod) override {
    const std::vector<int> allowed = state.AllowedModels(pod);
    if (pod.TotalGpuMilli() > 0 && !pod.gpu_models.empty() && allowed.empty()) return {};  // no node of its models
    BeginPod(state, pod);
    int best = -1, feasible = 0;
    Scored best_score;
    const auto nodes = state.nodes();
    for (int n = 0; n < static_cast<int>(nodes.size()); ++n) {
      if (!state.Fits(n, pod, allowed)) continue;
      ++feasible;
      Scored s = Score(state, n, pod);
      if (best < 0 || s.score > best_score.score ||
          (s.score == best_score.score && Rank(n) < Rank(best))) {
        best = n;
        best_score = std::move(s);
      }
    }
    if (best < 0) return {};
    Placement p;
    p.node = best;
    p.gpus = best_score.gpus;
    if (pod.num_gpu > 0 && pod.gpu_milli > 0 && p.gpus.empty()) p.gpus = DefaultGpus(nodes[static_cast<std::size_t>(best)], pod);
    return p;
  }

 protected:
  virtual void BeginPod(const ClusterState&, const PodRequest&) {}
  virtual Scored Score(const ClusterState& state, int node, const PodRequest& pod) = 0;
  int Rank(int n) const { return static_cast<std::size_t>(n) < rank_.size() ? rank_[static_cast<std::size_t>(n)] : n; }
  static std::vector<int> DefaultGpus(const NodeState& n, const PodRequest& pod) {
    if (pod.Sharing()) {
      const int g = BestFitGpu(n, pod.gpu_milli);
      return g < 0 ? std::vector<int>{} : std::vector<int>{g};
    }
    return WholeGpus(n, pod.num_gpu);
  }

  std::vector<TypicalPod> typical_;
  std::vector<int> rank_;
  std::mt19937_64 rng_;
};

// Random: a uniform feasible node (every node scores a fresh random number), a uniform fitting GPU.
class RandomPlacer : public PlacerBase {
 public:
  using PlacerBase::PlacerBase;

 protected:
  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    Scored s;
    s.score = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (pod.Sharing()) {
      const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
      std::vector<int> fit;
      for (int g = 0; g < n.gpus; ++g) {
        if (n.gpu_left[static_cast<std::size_t>(g)] >= pod.gpu_milli) fit.push_back(g);
      }
      if (!fit.empty()) s.gpus = {fit[std::uniform_int_distribution<std::size_t>(0, fit.size() - 1)(rng_)]};
    }
    return s;
  }
};

// DotProd: the smaller the dot product of the pod's and the node's remaining (cpu, GPU), the better.
class DotProdPlacer : public PlacerBase {
 public:
  using PlacerBase::PlacerBase;

 protected:
  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
    Scored s;
    if (n.cpu_left < pod.cpu_milli) {
      s.score = 0;
      return s;
    }
    const double d = (static_cast<double>(n.cpu_left) / kMaxSpecCpu * static_cast<double>(pod.cpu_milli) / kMaxSpecCpu +
                      n.GpuLeftSum() / kMaxSpecGpu * static_cast<double>(pod.TotalGpuMilli()) / kMaxSpecGpu) / 2;
    s.score = static_cast<double>(static_cast<std::int64_t>(100 * (1 - d)));
    return s;
  }
};

// GpuClustering: pods of one kind together.
class GpuClusteringPlacer : public PlacerBase {
 public:
  using PlacerBase::PlacerBase;

 protected:
  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    Scored s;
    const int tag = Tag(pod);
    if (tag < 0) {
      s.score = 0;
      return s;
    }
    const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
    const std::int64_t base = 25 * (8000 - static_cast<std::int64_t>(n.GpuLeftSum())) / 8000;
    int kinds = 0;
    for (int c : n.tags) kinds += c > 0 ? 1 : 0;
    const bool has = n.tags[static_cast<std::size_t>(tag)] > 0;
    std::int64_t score = base;
    if (has && kinds == 1) score += 75;
    else if (has) score += 50;
    else if (kinds == 0) score += 25;
    s.score = static_cast<double>(score);
    return s;
  }
};

// GpuPacking: partially used GPUs first, then nodes with some free GPUs, then empty nodes.
class GpuPackingPlacer : public PlacerBase {
 public:
  using PlacerBase::PlacerBase;

 protected:
  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    Scored s;
    if (pod.num_gpu <= 0 || pod.gpu_milli <= 0) {
      s.score = 0;
      return s;
    }
    const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
    int free = 0;
    for (int g = 0; g < n.gpus; ++g) free += n.gpu_left[static_cast<std::size_t>(g)] >= kGpuMilli ? 1 : 0;
    if (free == n.gpus) {
      s.score = std::max(33 - free, free);
      return s;
    }
    const std::array<int, kMaxGpusPerNode> order = ByLeft(n);
    int picked = 0, fully_free = 0;
    std::int64_t sum = 0;
    for (int k = 0; k < n.gpus && picked < pod.num_gpu; ++k) {
      const int left = n.gpu_left[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
      if (left < pod.gpu_milli) continue;
      ++picked;
      fully_free += left >= kGpuMilli ? 1 : 0;
      sum += left * 100 / 1000;
    }
    if (fully_free > 0) s.score = std::max(50 - fully_free, 33);
    else s.score = static_cast<double>(std::max<std::int64_t>(100 - sum / 10, 50));
    return s;
  }
};

// BestFit: the tightest node after placing, cpu and GPU weighed equally.
class BestFitPlacer : public PlacerBase {
 public:
  using PlacerBase::PlacerBase;

 protected:
  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
    const double raw = 0.5 * static_cast<double>(n.cpu_left - pod.cpu_milli) / kMaxSpecCpu +
                       0.5 * static_cast<double>(n.GpuLeftSum() - pod.TotalGpuMilli()) / kMaxSpecGpu;
    Scored s;
    s.score = static_cast<double>(static_cast<std::int64_t>(100 * (1 - raw)));
    return s;
  }
};

// FGD and gpuwise: the decrease of the node's fragmentation for the target workload, scored as the reference does,
// int(100 sigmoid(delta / 1000)): 0..100, so nodes tie often and the rank decides, which piles pods onto one node
// at a time (the exact delta does worse: 94.07% against 95.15% on `default`). gpuwise differs for CPU-only pods
// only: their ties go to the node with the least GPU left (docs/online-placement.md).
class FragmentationPlacer : public PlacerBase {
 public:
  FragmentationPlacer(std::vector<TypicalPod> typical, std::vector<int> rank, std::uint64_t seed, bool gpuwise)
      : PlacerBase(std::move(typical), std::move(rank), seed), gpuwise_(gpuwise) {}

 protected:
  void BeginPod(const ClusterState& state, const PodRequest& pod) override {
    if (allowed_.empty() && !typical_.empty()) {
      for (const TypicalPod& t : typical_) allowed_.push_back(state.AllowedModels(t.pod));
    }
    if (cache_.size() != state.nodes().size()) {
      cache_.assign(state.nodes().size(), {});
      f0_.assign(state.nodes().size(), {~0u, 0.0});
    }
    // The pod's type: the cache key (memory only decides feasibility).
    std::string models;
    for (const std::string& m : pod.gpu_models) models += m + "|";
    auto [it, fresh] = type_ids_.try_emplace(std::make_tuple(pod.cpu_milli, pod.gpu_milli, pod.num_gpu, models),
                                             static_cast<int>(type_ids_.size()));
    type_ = it->second;
  }

  Scored Score(const ClusterState& state, int node, const PodRequest& pod) override {
    const NodeState& n = state.nodes()[static_cast<std::size_t>(node)];
    auto& entries = cache_[static_cast<std::size_t>(node)];
    if (entries.size() <= static_cast<std::size_t>(type_)) entries.resize(static_cast<std::size_t>(type_) + 1);
    Entry& e = entries[static_cast<std::size_t>(type_)];
    if (e.version == n.version + 1) return e.scored;  // version + 1: 0 means empty
    const double f0 = F0(node, n);
    Scored s;
    auto value = [&](double delta, const NodeState& after) {
      const double fgd = static_cast<double>(static_cast<std::int64_t>(100 * Sigmoid(delta / 1000)));
      if (!gpuwise_ || pod.TotalGpuMilli() > 0) return fgd;
      // gpuwise, a CPU-only pod: among FGD's equal scores (most nodes: a CPU pod rarely moves fragmentation by
      // much), the node with the least GPU left, then the least cpu left. The pod takes cpu where the GPUs are
      // already used, not cpu that free GPUs will need.
      return fgd - 1e-3 * (after.GpuLeftSum() / kMaxSpecGpu) - 1e-6 * (static_cast<double>(after.cpu_left) / kMaxSpecCpu);
    };
    if (pod.Sharing()) {
      // Each GPU that fits, in index order; GPUs with equal left give equal scores, so each value is tried once.
      std::array<int, kMaxGpusPerNode> tried{};
      int tried_count = 0;
      for (int g = 0; g < n.gpus; ++g) {
        const int left = n.gpu_left[static_cast<std::size_t>(g)];
        if (left < pod.gpu_milli) continue;
        if (std::find(tried.begin(), tried.begin() + tried_count, left) != tried.begin() + tried_count) continue;
        tried[static_cast<std::size_t>(tried_count++)] = left;
        NodeState h = n;
        h.cpu_left -= pod.cpu_milli;
        h.gpu_left[static_cast<std::size_t>(g)] -= pod.gpu_milli;
        const double v = value(f0 - NodeFragmentation(h, typical_, allowed_), h);
        if (s.gpus.empty() || v > s.score) {
          s.score = v;
          s.gpus = {g};
        }
      }
    } else {
      const NodeState h = AfterWhole(n, pod);
      s.score = value(f0 - NodeFragmentation(h, typical_, allowed_), h);
    }
    e.version = n.version + 1;
    e.scored = s;
    return s;
  }

 private:
  struct Entry {
    std::uint32_t version = 0;
    Scored scored;
  };
  double F0(int node, const NodeState& n) {
    auto& [version, value] = f0_[static_cast<std::size_t>(node)];
    if (version != n.version) {
      value = NodeFragmentation(n, typical_, allowed_);
      version = n.version;
    }
    return value;
  }

  bool gpuwise_;
  std::vector<std::vector<int>> allowed_;  // per typical pod
  std::vector<std::vector<Entry>> cache_;  // node -> pod type -> score at a node version
  std::vector<std::pair<std::uint32_t, double>> f0_;
  std::map<std::tuple<std::int64_t, int, int, std::string>, int> type_ids_;
  int type_ = 0;
};

}  // namespace

int NodeState::GpuLeftSum() const {
  int s = 0;
  for (int g = 0; g < gpus; ++g) s += gpu_left[static_cast<std::size_t>(g)];
  return s;
}

std::vector<TypicalPod> TypicalPods(std::span<const PodRequest> pods, double coverage) {
  using Key = std::tuple<std::int64_t, int, int, std::string>;
  std::map<Key, std::pair<int, const PodRequest*>> count;
  for (const PodRequest& p : pods) {
    std::string models;
    for (const std::string& m : p.gpu_models) models += (models.empty() ? "" : "|") + m;
    auto& c = count[{p.cpu_milli, p.gpu_milli, p.num_gpu, models}];
    if (c.first++ == 0) c.second = &p;
  }
  std::vector<std::pair<Key, std::pair<int, const PodRequest*>>> sorted(count.begin(), count.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.second.first != b.second.first) return a.second.first > b.second.first;
    return a.first > b.first;  // cpu, gpu_milli, num_gpu, models: descending
  });
  std::vector<TypicalPod> out;
  const double total = static_cast<double>(pods.size());
  int kept = 0;
  for (const auto& [key, c] : sorted) {
    if (total <= 0 || kept >= coverage * total) break;
    TypicalPod t;
    t.pod = *c.second;
    t.probability = c.first;
    kept += c.first;
    out.push_back(std::move(t));
  }
  for (TypicalPod& t : out) t.probability /= kept;
  return out;
}

int ModelIndex::Add(const std::string& model) {
  if (model.empty()) return -1;
  auto it = std::find(names_.begin(), names_.end(), model);
  if (it != names_.end()) return static_cast<int>(it - names_.begin());
  names_.push_back(model);
  return static_cast<int>(names_.size()) - 1;
}

std::vector<int> ModelIndex::Allowed(const PodRequest& pod) const {
  std::vector<int> out;
  for (const std::string& m : pod.gpu_models) {
    auto it = std::find(names_.begin(), names_.end(), m);
    if (it != names_.end()) out.push_back(static_cast<int>(it - names_.begin()));
  }
  return out;
}

ClusterState::ClusterState(std::span<const PlacementNode> nodes) {
  for (const PlacementNode& pn : nodes) {
    NodeState n;
    n.cpu_left = pn.cpu_milli;
    n.memory_left = pn.memory_mib;
    n.gpus = std::clamp(pn.gpus, 0, kMaxGpusPerNode);
    for (int g = 0; g < n.gpus; ++g) n.gpu_left[static_cast<std::size_t>(g)] = kGpuMilli;
    n.model = models_.Add(pn.model);
    gpu_capacity_milli_ += static_cast<std::int64_t>(n.gpus) * kGpuMilli;
    nodes_.push_back(n);
  }
}

std::vector<int> ClusterState::AllowedModels(const PodRequest& pod) const { return models_.Allowed(pod); }

bool ClusterState::Fits(int node, const PodRequest& pod, std::span<const int> allowed) const {
  const NodeState& n = nodes_[static_cast<std::size_t>(node)];
  if (n.cpu_left < pod.cpu_milli || n.memory_left < pod.memory_mib) return false;
  if (pod.num_gpu <= 0 || pod.gpu_milli <= 0) return true;
  if (n.gpus <= 0 || !Serves(pod, allowed, n.model)) return false;
  int fit = 0;
  for (int g = 0; g < n.gpus; ++g) fit += n.gpu_left[static_cast<std::size_t>(g)] >= pod.gpu_milli ? 1 : 0;
  return fit >= pod.num_gpu;
}

void ClusterState::Place(int node, const PodRequest& pod, std::span<const int> gpus) {
  NodeState& n = nodes_[static_cast<std::size_t>(node)];
  n.cpu_left -= pod.cpu_milli;
  n.memory_left -= pod.memory_mib;
  if (pod.num_gpu > 0 && pod.gpu_milli > 0) {
    for (int g : gpus) {
      n.gpu_left[static_cast<std::size_t>(g)] -= pod.gpu_milli;
      allocated_gpu_milli_ += pod.gpu_milli;
    }
    ++n.tags[static_cast<std::size_t>(Tag(pod))];
  }
  ++n.version;
}

void ClusterState::SetLeft(int node, std::int64_t cpu_left, std::int64_t memory_left, std::span<const int> gpu_left) {
  NodeState& n = nodes_[static_cast<std::size_t>(node)];
  n.cpu_left = cpu_left;
  n.memory_left = memory_left;
  for (int g = 0; g < n.gpus && static_cast<std::size_t>(g) < gpu_left.size(); ++g) {
    const int left = std::clamp(gpu_left[static_cast<std::size_t>(g)], 0, kGpuMilli);
    allocated_gpu_milli_ += n.gpu_left[static_cast<std::size_t>(g)] - left;
    n.gpu_left[static_cast<std::size_t>(g)] = left;
  }
  ++n.version;
}

std::string_view PolicyName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kRandom: return "Random";
    case PolicyKind::kDotProd: return "DotProd";
    case PolicyKind::kGpuClustering: return "GpuClustering";
    case PolicyKind::kGpuPacking: return "GpuPacking";
    case PolicyKind::kBestFit: return "BestFit";
    case PolicyKind::kFgd: return "FGD";
    case PolicyKind::kGpuwise: return "gpuwise";
  }
  return "?";
}

bool ParsePolicy(std::string_view name, PolicyKind* out) {
  for (PolicyKind k : {PolicyKind::kRandom, PolicyKind::kDotProd, PolicyKind::kGpuClustering, PolicyKind::kGpuPacking,
                       PolicyKind::kBestFit, PolicyKind::kFgd, PolicyKind::kGpuwise}) {
    if (base::EqualsIgnoreCase(name, PolicyName(k))) {
      *out = k;
      return true;
    }
  }
  return false;
}

std::unique_ptr<Placer> NewPlacer(PolicyKind kind, std::vector<TypicalPod> typical, std::vector<int> rank, std::uint64_t seed) {
  switch (kind) {
    case PolicyKind::kRandom: return std::make_unique<RandomPlacer>(std::move(typical), std::move(rank), seed);
    case PolicyKind::kDotProd: return std::make_unique<DotProdPlacer>(std::move(typical), std::move(rank), seed);
    case PolicyKind::kGpuClustering: return std::make_unique<GpuClusteringPlacer>(std::move(typical), std::move(rank), seed);
    case PolicyKind::kGpuPacking: return std::make_unique<GpuPackingPlacer>(std::move(typical), std::move(rank), seed);
    case PolicyKind::kBestFit: return std::make_unique<BestFitPlacer>(std::move(typical), std::move(rank), seed);
    case PolicyKind::kFgd: return std::make_unique<FragmentationPlacer>(std::move(typical), std::move(rank), seed, false);
    case PolicyKind::kGpuwise: return std::make_unique<FragmentationPlacer>(std::move(typical), std::move(rank), seed, true);
  }
  return nullptr;
}

bool Serves(const PodRequest& pod, std::span<const int> allowed, int model) {
  return pod.gpu_models.empty() || (model >= 0 && std::find(allowed.begin(), allowed.end(), model) != allowed.end());
}

double NodeFragmentation(const NodeState& node, std::span<const TypicalPod> typical, std::span<const std::vector<int>> allowed) {
  const double s = node.GpuLeftSum();
  double f = 0;
  for (std::size_t t = 0; t < typical.size(); ++t) {
    const PodRequest& p = typical[t].pod;
    const double prob = typical[t].probability;
    if (p.gpu_milli <= 0 || p.num_gpu <= 0) {  // a CPU-only task: every idle GPU milli is fragment to it
      f += prob * s;
      continue;
    }
    const bool access = Serves(p, t < allowed.size() ? std::span<const int>(allowed[t]) : std::span<const int>(), node.model);
    if (!access) {
      f += prob * s;
      continue;
    }
    int fit = 0;
    double small = 0;
    for (int g = 0; g < node.gpus; ++g) {
      const int left = node.gpu_left[static_cast<std::size_t>(g)];
      if (left >= p.gpu_milli) ++fit;
      else small += left;
    }
    f += prob * (fit >= p.num_gpu && node.cpu_left >= p.cpu_milli ? small : s);
  }
  return f;
}

}  // namespace gpuwise::optimize::fractional
