#include "sim/openb_replay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "base/csv.h"

namespace gpuwise::sim {
namespace {

using optimize::fractional::ClusterState;
using optimize::fractional::PlacementNode;
using optimize::fractional::PodRequest;

constexpr std::int64_t kMaxMilli = 1'000'000'000;

base::Result<std::vector<PlacementNode>> NodesFrom(base::CsvFile csv) {
  const int c_sn = csv.Index("sn"), c_cpu = csv.Index("cpu_milli"), c_mem = csv.Index("memory_mib"), c_gpu = csv.Index("gpu"),
            c_model = csv.Index("model");
  std::vector<PlacementNode> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, csv.Next());
    if (!more) break;
    PlacementNode n;
    n.name = std::string(csv.Field(c_sn));
    std::int64_t gpus = 0;
    RETURN_IF_ERROR(csv.Int(c_cpu, 0, kMaxMilli, &n.cpu_milli));
    RETURN_IF_ERROR(csv.Int(c_mem, 0, kMaxMilli, &n.memory_mib));
    RETURN_IF_ERROR(csv.Int(c_gpu, 0, optimize::fractional::kMaxGpusPerNode, &gpus));
    n.gpus = static_cast<int>(gpus);
    n.model = std::string(csv.Field(c_model));
    if (n.gpus > 0 && n.model.empty()) return csv.Error(c_model, "a node with GPUs needs a model");
    out.push_back(std::move(n));
  }
  return out;
}

base::Result<std::vector<PodRequest>> PodsFrom(base::CsvFile csv) {
  const int c_cpu = csv.Index("cpu_milli"), c_mem = csv.Index("memory_mib"), c_num = csv.Index("num_gpu"),
            c_milli = csv.Index("gpu_milli"), c_spec = csv.Index("gpu_spec");
  std::vector<PodRequest> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, csv.Next());
    if (!more) break;
    PodRequest p;
    std::int64_t num = 0, milli = 0;
    RETURN_IF_ERROR(csv.Int(c_cpu, 0, kMaxMilli, &p.cpu_milli));
    RETURN_IF_ERROR(csv.Int(c_mem, 0, kMaxMilli, &p.memory_mib));
    RETURN_IF_ERROR(csv.Int(c_num, 0, optimize::fractional::kMaxGpusPerNode, &num));
    RETURN_IF_ERROR(csv.Int(c_milli, 0, optimize::fractional::kGpuMilli, &milli));
    p.num_gpu = static_cast<int>(num);
    p.gpu_milli = p.num_gpu == 0 ? 0 : static_cast<int>(milli);
    if (p.num_gpu > 1 && p.gpu_milli != optimize::fractional::kGpuMilli) {
      return csv.Error(c_milli, "a pod of " + std::to_string(p.num_gpu) + " GPUs takes them whole (gpu_milli 1000), got " +
                                    std::to_string(p.gpu_milli));
    }
    if (p.num_gpu > 0 && p.gpu_milli == 0) return csv.Error(c_milli, "a GPU pod with gpu_milli 0");
    std::string_view spec = csv.Field(c_spec);
    while (!spec.empty()) {
      const std::size_t bar = spec.find('|');
      const std::string_view part = spec.substr(0, bar);
      if (!part.empty() && std::find(p.gpu_models.begin(), p.gpu_models.end(), part) == p.gpu_models.end()) {
        p.gpu_models.emplace_back(part);
      }
      if (bar == std::string_view::npos) break;
      spec.remove_prefix(bar + 1);
    }
    out.push_back(std::move(p));
  }
  return out;
}

// The authors' binning: after each pod, the arrival % rounded half-to-even to an integer level and the allocation %
// to 2 decimals; the ratio at a level is the mean over its pods (a level without pods takes its neighbours').
class AllocationBins {
 public:
  AllocationBins(double capacity_milli, double tune)
      : capacity_(capacity_milli), levels_(static_cast<int>(std::lround(tune * 100))),
        sum_(static_cast<std::size_t>(levels_) + 2, 0), count_(static_cast<std::size_t>(levels_) + 2, 0) {}
  void Add(std::int64_t arrived, std::int64_t allocated) {
    const double level = std::nearbyint(100.0 * static_cast<double>(arrived) / capacity_);
    const double alloc = std::nearbyint(10000.0 * static_cast<double>(allocated) / capacity_) / 100;
    if (level >= 0 && level <= levels_ + 1) {
      sum_[static_cast<std::size_t>(level)] += alloc;
      ++count_[static_cast<std::size_t>(level)];
    }
  }
  void Finish(std::int64_t arrived, std::int64_t allocated, ReplayResult& r) const {
    r.arrived_percent = 100.0 * static_cast<double>(arrived) / capacity_;
    r.allocated_percent = 100.0 * static_cast<double>(allocated) / capacity_;
    r.allocation_by_level.assign(static_cast<std::size_t>(levels_) + 1, NAN);
    for (int l = 0; l <= levels_; ++l) {
      double s = sum_[static_cast<std::size_t>(l)];
      int c = count_[static_cast<std::size_t>(l)];
      if (c == 0) {  // the neighbours, as the reference's script does
        s = 0;
        for (int k = std::max(0, l - 1); k <= l + 1 && k < static_cast<int>(sum_.size()); ++k) {
          s += sum_[static_cast<std::size_t>(k)];
          c += count_[static_cast<std::size_t>(k)];
        }
      }
      if (c > 0) r.allocation_by_level[static_cast<std::size_t>(l)] = std::nearbyint(100 * s / c) / 100;
    }
  }

 private:
  double capacity_;
  int levels_;
  std::vector<double> sum_;
  std::vector<int> count_;
};

// Offers the pods of `order` one at a time: `place(pod)` places one (false: it fails for good), `allocated()` is the
// allocation to bin after it. Counts, times and bins the run.
template <typename Place, typename Allocated>
ReplayResult Offer(const std::vector<int>& order, const std::vector<PodRequest>& pods, double capacity_milli, double tune,
                   Place place, Allocated allocated) {
  AllocationBins bins(capacity_milli, tune);
  ReplayResult r;
  std::int64_t arrived = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i : order) {
    const PodRequest& pod = pods[static_cast<std::size_t>(i)];
    arrived += pod.TotalGpuMilli();
    ++r.pods_offered;
    if (!place(pod)) ++r.pods_failed;
    bins.Add(arrived, allocated());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bins.Finish(arrived, allocated(), r);
  return r;
}

// Node ranks for ties: a seeded permutation, fixed for the run (the reference prefixes node names with it).
std::vector<int> NodeRank(std::size_t nodes, std::uint64_t seed) {
  std::vector<int> rank(nodes);
  std::iota(rank.begin(), rank.end(), 0);
  std::mt19937_64 rank_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::shuffle(rank.begin(), rank.end(), rank_rng);
  return rank;
}

}  // namespace

base::Result<std::vector<PlacementNode>> ReadOpenbNodeList(const std::string& path) {
  auto csv = base::CsvFile::Open(path, {"sn", "cpu_milli", "memory_mib", "gpu", "model"});
  if (!csv.ok()) return csv.status();
  return NodesFrom(std::move(*csv));
}
base::Result<std::vector<PlacementNode>> ParseOpenbNodeList(std::string name, std::string text) {
  auto csv = base::CsvFile::FromText(std::move(name), std::move(text), {"sn", "cpu_milli", "memory_mib", "gpu", "model"});
  if (!csv.ok()) return csv.status();
  return NodesFrom(std::move(*csv));
}
base::Result<std::vector<PodRequest>> ReadOpenbPodList(const std::string& path) {
  auto csv = base::CsvFile::Open(path, {"cpu_milli", "memory_mib", "num_gpu", "gpu_milli"});
  if (!csv.ok()) return csv.status();
  return PodsFrom(std::move(*csv));
}
base::Result<std::vector<PodRequest>> ParseOpenbPodList(std::string name, std::string text) {
  auto csv = base::CsvFile::FromText(std::move(name), std::move(text), {"cpu_milli", "memory_mib", "num_gpu", "gpu_milli"});
  if (!csv.ok()) return csv.status();
  return PodsFrom(std::move(*csv));
}

std::vector<int> ArrivalOrder(const std::vector<PodRequest>& pods, std::int64_t gpu_capacity_milli, double tune,
                              std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> order(pods.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  if (pods.empty()) return order;
  std::int64_t total = 0;
  for (const PodRequest& p : pods) total += p.TotalGpuMilli();
  if (total == 0) return order;  // no GPU pod: resampling would never reach the target
  const double target = tune * static_cast<double>(gpu_capacity_milli);
  std::uniform_int_distribution<std::size_t> any(0, pods.size() - 1);
  if (static_cast<double>(total) < target) {
    // As the reference: stop before a sample whose per-GPU milli would pass the target; CPU-only samples never stop it.
    for (;;) {
      const int i = static_cast<int>(any(rng));
      if (static_cast<double>(total + pods[static_cast<std::size_t>(i)].gpu_milli) > target) break;
      total += pods[static_cast<std::size_t>(i)].TotalGpuMilli();
      order.push_back(i);
    }
  } else {
    while (static_cast<double>(total) > target && !order.empty()) {
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, order.size() - 1)(rng);
      total -= pods[static_cast<std::size_t>(order[k])].TotalGpuMilli();
      order.erase(order.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  return order;
}

base::Result<ReplayResult> Replay(const std::vector<PlacementNode>& nodes, const std::vector<PodRequest>& pods,
                                  const ReplayOptions& options) {
  ClusterState state(nodes);
  if (state.gpu_capacity_milli() <= 0) return base::InvalidArgument("the replay needs at least one GPU node");
  if (pods.empty()) return base::InvalidArgument("the replay needs at least one pod");
  if (!(options.tune > 0 && options.tune <= 10)) return base::InvalidArgument("tune must be in (0, 10]");
  const std::vector<int> order = ArrivalOrder(pods, state.gpu_capacity_milli(), options.tune, options.seed);
  const std::vector<int> rank = NodeRank(nodes.size(), options.seed);
  auto placer = optimize::fractional::NewPlacer(options.policy, optimize::fractional::TypicalPods(pods), rank,
                                                options.seed + 0x5851f42d4c957f2dULL);

  return Offer(order, pods, static_cast<double>(state.gpu_capacity_milli()), options.tune,
               [&](const PodRequest& pod) {
                 const optimize::fractional::Placement p = placer->Choose(state, pod);
                 if (p.node >= 0) state.Place(p.node, pod, p.gpus);
                 return p.node >= 0;
               },
               [&] { return state.allocated_gpu_milli(); });
}

std::vector<optimize::fractional::UnitConfig> StockConfigs(const std::vector<PlacementNode>& nodes,
                                                           const std::vector<PodRequest>& pods, std::uint64_t seed) {
  using optimize::fractional::UnitConfig;
  // Demand per config (index = shares per GPU, 1 = whole), in units' GPU milli.
  constexpr int kMaxShares = 4;
  std::vector<double> demand(kMaxShares + 1, 0);
  for (const PodRequest& p : pods) {
    if (p.num_gpu <= 0 || p.gpu_milli <= 0) continue;
    int shares = 1;
    if (p.num_gpu == 1) {
      for (int n = kMaxShares; n >= 2; --n) {
        if (p.gpu_milli <= optimize::fractional::kGpuMilli / n) {
          shares = n;
          break;
        }
      }
    }
    demand[static_cast<std::size_t>(shares)] += shares == 1 ? p.num_gpu * 1000.0 : 1000.0 / shares;
  }
  std::vector<int> order;
  int gpus = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].gpus > 0) {
      order.push_back(static_cast<int>(i));
      gpus += nodes[i].gpus;
    }
  }
  std::mt19937_64 rng(seed ^ 0x2545f4914f6cdd1dULL);
  std::shuffle(order.begin(), order.end(), rng);
  const double total = std::accumulate(demand.begin(), demand.end(), 0.0);
  // GPUs per config by largest remainder, then nodes filled in the shuffled order until each config's GPUs are met.
  std::vector<double> want(demand.size(), 0);
  for (std::size_t k = 1; k < demand.size(); ++k) want[k] = total > 0 ? demand[k] / total * gpus : (k == 1 ? gpus : 0);
  std::vector<UnitConfig> out(nodes.size());
  std::vector<double> got(demand.size(), 0);
  for (int i : order) {
    std::size_t best = 1;
    double gap = -1e300;
    for (std::size_t k = 1; k < demand.size(); ++k) {
      if (want[k] - got[k] > gap) {
        gap = want[k] - got[k];
        best = k;
      }
    }
    got[best] += nodes[static_cast<std::size_t>(i)].gpus;
    if (best > 1) {
      out[static_cast<std::size_t>(i)].kind = UnitConfig::Kind::kShares;
      out[static_cast<std::size_t>(i)].replicas = static_cast<int>(best);
    }
  }
  return out;
}

base::Result<UnitReplayResult> ReplayUnits(const std::vector<PlacementNode>& nodes,
                                           const std::vector<optimize::fractional::UnitConfig>& configs,
                                           const std::vector<PodRequest>& pods, const UnitReplayOptions& options) {
  namespace fr = optimize::fractional;
  if (configs.size() != nodes.size()) {
    return base::InvalidArgument("the stock replay needs one config per node (" + std::to_string(configs.size()) +
                                 " configs for " + std::to_string(nodes.size()) + " nodes)");
  }
  std::vector<fr::UnitNode> units;
  for (std::size_t i = 0; i < nodes.size(); ++i) units.push_back({nodes[i], configs[i]});
  fr::UnitClusterState state(units);
  if (state.capacity_milli() <= 0) return base::InvalidArgument("the replay needs at least one GPU node");
  if (pods.empty()) return base::InvalidArgument("the replay needs at least one pod");
  if (!(options.tune > 0 && options.tune <= 10)) return base::InvalidArgument("tune must be in (0, 10]");
  const std::vector<int> order = ArrivalOrder(pods, state.capacity_milli(), options.tune, options.seed);
  auto placer = fr::NewUnitPlacer(options.policy, fr::TypicalPods(pods), NodeRank(nodes.size(), options.seed));
  UnitReplayResult out;
  out.replay = Offer(order, pods, static_cast<double>(state.capacity_milli()), options.tune,
                     [&](const PodRequest& pod) {
                       const fr::UnitPlacement p = placer->Choose(state, pod);
                       if (p.node >= 0) state.Place(p.node, pod, p.unit_milli);
                       return p.node >= 0;
                     },
                     [&] { return state.demand_placed_milli(); });
  out.units_percent = 100.0 * static_cast<double>(state.units_placed_milli()) / static_cast<double>(state.capacity_milli());
  return out;
}

}  // namespace gpuwise::sim
