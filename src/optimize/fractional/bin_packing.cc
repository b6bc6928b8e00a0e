// Packing: bounds, FFD/BFD and the exact arc-flow and pattern-cover models (see bin_packing.h).
#include "optimize/fractional/bin_packing.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <set>
#include <utility>

namespace gpuwise::optimize::fractional {
namespace {

std::int64_t Sum(std::span<const int> sizes) {
  std::int64_t s = 0;
  for (int x : sizes) s += x;
  return s;
}

std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Item indices by size descending, ties by index: every heuristic sees the same deterministic order.
std::vector<int> OrderBySizeDescending(std::span<const int> sizes) {
  std::vector<int> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sizes[a] > sizes[b]; });
  return order;
}

// L2 on already-validated sizes.
int L2Unchecked(std::span<const int> sizes, int capacity) {
  if (sizes.empty()) return 0;
  std::vector<int> a(sizes.begin(), sizes.end());
  std::sort(a.begin(), a.end());
  std::vector<std::int64_t> prefix(a.size() + 1, 0);  // prefix[i] = sum of the i smallest
  for (std::size_t i = 0; i < a.size(); ++i) prefix[i + 1] = prefix[i] + a[i];
  const auto count_le = [&a](std::int64_t v) {  // items with size <= v
    return static_cast<std::int64_t>(std::upper_bound(a.begin(), a.end(), v) - a.begin());
  };
  const std::int64_t n = static_cast<std::int64_t>(a.size());
  const std::int64_t c = capacity;
  const std::int64_t half_count = count_le(c / 2);  // sizes s with 2s <= C (integer: s <= floor(C/2))
  // L(K) is nondecreasing in K while N3 stays the same (raising K moves items from N2 to N1, which only removes
  // free space), so the maximum is at K = 0 or at a distinct size <= C/2.
  std::int64_t best = 0;
  std::vector<int> ks = {0};
  for (std::int64_t i = 0; i < half_count; ++i) {
    if (ks.back() != a[static_cast<std::size_t>(i)]) ks.push_back(a[static_cast<std::size_t>(i)]);
  }
  for (int k : ks) {
    const std::int64_t le_c_minus_k = count_le(c - k);
    const std::int64_t n1 = n - le_c_minus_k;                  // s > C - K
    const std::int64_t n2 = le_c_minus_k - half_count;         // C/2 < s <= C - K
    const std::int64_t sum_n2 = prefix[static_cast<std::size_t>(le_c_minus_k)] - prefix[static_cast<std::size_t>(half_count)];
    const std::int64_t below_k = k == 0 ? 0 : count_le(k - 1);  // s < K
    const std::int64_t sum_n3 = prefix[static_cast<std::size_t>(half_count)] - prefix[static_cast<std::size_t>(below_k)];
    const std::int64_t free_in_n2 = n2 * c - sum_n2;
    best = std::max(best, n1 + n2 + CeilDiv(sum_n3 - free_in_n2, c));
  }
  return static_cast<int>(best);
}

double Gap(int bins, int lower_bound) {
  return lower_bound > 0 ? static_cast<double>(bins - lower_bound) / lower_bound : 0.0;
}

void SetBound(Packing* p, int lower_bound) {
  p->lower_bound = lower_bound;
  p->optimal = p->bins_used == lower_bound;
  p->gap = Gap(p->bins_used, lower_bound);
}

// FFD on validated sizes. The segment tree's leaves are bins 0..n-1, all starting empty (free = capacity); the
// leftmost leaf with free >= s is the first bin that fits, found by one root-to-leaf descent.
Packing FfdUnchecked(std::span<const int> sizes, int capacity) {
  Packing p;
  p.method = PackingMethod::kFirstFitDecreasing;
  p.bin_of_item.assign(sizes.size(), -1);
  if (sizes.empty()) return p;
  std::size_t leaves = 1;
  while (leaves < sizes.size()) leaves <<= 1;
  std::vector<int> tree(2 * leaves, capacity);  // tree[v] = max free space below v
  int used = 0;
  for (int item : OrderBySizeDescending(sizes)) {
    const int s = sizes[static_cast<std::size_t>(item)];
    std::size_t v = 1;
    while (v < leaves) v = tree[2 * v] >= s ? 2 * v : 2 * v + 1;
    const int bin = static_cast<int>(v - leaves);
    tree[v] -= s;
    for (v >>= 1; v >= 1; v >>= 1) tree[v] = std::max(tree[2 * v], tree[2 * v + 1]);
    p.bin_of_item[static_cast<std::size_t>(item)] = bin;
    used = std::max(used, bin + 1);
  }
  p.bins_used = used;
  return p;
}

// BFD on validated sizes: open bins keyed by (free space, bin); the first key >= (s, 0) is the fullest bin that
// fits, lowest index among equals. Full bins leave the set.
Packing BfdUnchecked(std::span<const int> sizes, int capacity) {
  Packing p;
  p.method = PackingMethod::kBestFitDecreasing;
  p.bin_of_item.assign(sizes.size(), -1);
  std::set<std::pair<int, int>> open;
  int used = 0;
  for (int item : OrderBySizeDescending(sizes)) {
    const int s = sizes[static_cast<std::size_t>(item)];
    auto it = open.lower_bound({s, 0});
    int bin, free_space;
    if (it == open.end()) {
      bin = used++;
      free_space = capacity - s;
    } else {
      bin = it->second;
      free_space = it->first - s;
      open.erase(it);
    }
    if (free_space > 0) open.emplace(free_space, bin);
    p.bin_of_item[static_cast<std::size_t>(item)] = bin;
  }
  p.bins_used = used;
  return p;
}

// Flow decomposition of an integer arc flow into bins, then items of each type handed out to the bins' item arcs.
// Returns false when the flow is not a valid 0 -> sink flow of `paths` units (a solver answer we cannot trust).
bool DecodeArcFlow(const ArcFlowGraph& g, const std::vector<long long>& flow, long long paths,
                   std::span<const int> sizes, Packing* out) {
  const int levels = g.capacity + 1;
  std::vector<std::vector<int>> out_arcs(static_cast<std::size_t>(levels));
  for (std::size_t a = 0; a < g.arcs.size(); ++a) {
    if (flow[a] > 0) out_arcs[static_cast<std::size_t>(g.arcs[a].tail)].push_back(static_cast<int>(a));
  }
  std::vector<long long> left = flow;
  std::vector<std::size_t> cursor(static_cast<std::size_t>(levels), 0);
  // Items of each type waiting for a bin, in input order.
  std::vector<std::vector<int>> waiting(g.type_sizes.size());
  {
    std::vector<int> type_of_size(static_cast<std::size_t>(g.capacity) + 1, -1);
    for (std::size_t t = 0; t < g.type_sizes.size(); ++t) type_of_size[static_cast<std::size_t>(g.type_sizes[t])] = static_cast<int>(t);
    for (std::size_t i = sizes.size(); i-- > 0;) {  // reversed, so pop_back yields input order
      waiting[static_cast<std::size_t>(type_of_size[static_cast<std::size_t>(sizes[i])])].push_back(static_cast<int>(i));
    }
  }
  const int sink = g.nodes.back();
  out->bin_of_item.assign(sizes.size(), -1);
  int bins = 0;
  for (long long p = 0; p < paths; ++p) {
    int level = 0;
    bool placed_any = false;
    while (level != sink) {
      auto& arcs = out_arcs[static_cast<std::size_t>(level)];
      std::size_t& c = cursor[static_cast<std::size_t>(level)];
      while (c < arcs.size() && left[static_cast<std::size_t>(arcs[c])] == 0) ++c;
      if (c == arcs.size()) return false;  // conservation broken
      const std::size_t a = static_cast<std::size_t>(arcs[c]);
      --left[a];
      const ArcFlowGraph::Arc& arc = g.arcs[a];
      if (arc.type >= 0) {
        auto& queue = waiting[static_cast<std::size_t>(arc.type)];
        if (!queue.empty()) {  // an arc beyond the demand is empty space
          out->bin_of_item[static_cast<std::size_t>(queue.back())] = bins;
          queue.pop_back();
          placed_any = true;
        }
      }
      level = arc.head;
    }
    if (placed_any) ++bins;
  }
  for (const auto& q : waiting) {
    if (!q.empty()) return false;  // demand not covered
  }
  out->bins_used = bins;
  return true;
}

}  // namespace

std::string_view PackingMethodName(PackingMethod method) {
  switch (method) {
    case PackingMethod::kFirstFitDecreasing: return "ffd";
    case PackingMethod::kBestFitDecreasing: return "bfd";
    case PackingMethod::kArcFlow: return "arcflow";
  }
  return "unknown";
}

base::Status ValidatePackingInput(std::span<const int> sizes, int capacity) {
  if (capacity < 1) return base::InvalidArgument("bin capacity must be >= 1, got " + std::to_string(capacity));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 1 || sizes[i] > capacity) {
      return base::InvalidArgument("item " + std::to_string(i) + " has size " + std::to_string(sizes[i]) +
                                   ", outside [1, " + std::to_string(capacity) + "]");
    }
  }
  return base::Status::Ok();
}

base::Result<int> LowerBoundL1(std::span<const int> sizes, int capacity) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  return static_cast<int>(CeilDiv(Sum(sizes), capacity));
}

base::Result<int> LowerBoundL2(std::span<const int> sizes, int capacity) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  return L2Unchecked(sizes, capacity);
}

base::Result<Packing> FirstFitDecreasing(std::span<const int> sizes, int capacity) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  Packing p = FfdUnchecked(sizes, capacity);
  SetBound(&p, L2Unchecked(sizes, capacity));
  p.note = p.optimal ? "FFD meets the L2 bound" : "FFD heuristic; lower bound is L2";
  return p;
}

base::Result<Packing> BestFitDecreasing(std::span<const int> sizes, int capacity) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  Packing p = BfdUnchecked(sizes, capacity);
  SetBound(&p, L2Unchecked(sizes, capacity));
  p.note = p.optimal ? "BFD meets the L2 bound" : "BFD heuristic; lower bound is L2";
  return p;
}

base::Result<ArcFlowGraph> BuildArcFlowGraph(std::span<const int> sizes, int capacity, std::int64_t max_arcs) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  ArcFlowGraph g;
  g.capacity = capacity;
  {
    std::vector<int> sorted(sizes.begin(), sizes.end());
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    for (int s : sorted) {
      if (g.type_sizes.empty() || g.type_sizes.back() != s) {
        g.type_sizes.push_back(s);
        g.type_demands.push_back(0);
      }
      ++g.type_demands.back();
    }
  }
  const std::size_t levels = static_cast<std::size_t>(capacity) + 1;
  std::vector<char> reached(levels, 0);
  reached[0] = 1;
  std::vector<int> run(levels);  // arcs of the current type in a row that end at this level; -1 = not reached
  for (std::size_t t = 0; t < g.type_sizes.size(); ++t) {
    const int w = g.type_sizes[t];
    const int b = g.type_demands[t];
    for (std::size_t d = 0; d < levels; ++d) {
      if (reached[d]) {
        run[d] = 0;  // a level reached by larger items: a run of this type may start here
      } else if (d >= static_cast<std::size_t>(w) && run[d - static_cast<std::size_t>(w)] >= 0 &&
                 run[d - static_cast<std::size_t>(w)] < b) {
        run[d] = run[d - static_cast<std::size_t>(w)] + 1;
      } else {
        run[d] = -1;
      }
    }
    for (std::size_t d = 0; d + static_cast<std::size_t>(w) < levels; ++d) {
      if (run[d] >= 0 && run[d] < b) {
        g.arcs.push_back({static_cast<int>(d), static_cast<int>(d) + w, static_cast<int>(t)});
        if (static_cast<std::int64_t>(g.arcs.size()) > max_arcs) {
          return base::ResourceExhausted("arc-flow graph exceeds " + std::to_string(max_arcs) + " arcs");
        }
      }
    }
    for (std::size_t d = 0; d < levels; ++d) {
      if (run[d] > 0) reached[d] = 1;
    }
  }
  for (std::size_t d = 0; d < levels; ++d) {
    if (reached[d]) g.nodes.push_back(static_cast<int>(d));
  }
  for (std::size_t i = 0; i + 1 < g.nodes.size(); ++i) g.arcs.push_back({g.nodes[i], g.nodes[i + 1], -1});
  return g;
}

base::Result<Packing> PackExact(std::span<const int> sizes, int capacity, MipSolver& solver,
                                const ExactPackingOptions& options) {
  RETURN_IF_ERROR(ValidatePackingInput(sizes, capacity));
  const int l2 = L2Unchecked(sizes, capacity);
  Packing ffd = FfdUnchecked(sizes, capacity);
  SetBound(&ffd, l2);
  if (sizes.empty()) {
    ffd.note = "no items";
    return ffd;
  }
  if (ffd.optimal && options.skip_solver_when_ffd_meets_bound) {
    ffd.note = "FFD meets the L2 bound; no solver needed";
    return ffd;
  }
  const auto fall_back = [&ffd, l2](std::string why, int bound, double seconds) {
    Packing p = ffd;
    SetBound(&p, std::min(std::max(l2, bound), ffd.bins_used));  // a bound above a known packing is not one
    p.solver_seconds = seconds;
    p.note = "FFD (exact path fell back: " + why + ")";
    return p;
  };

  base::Result<ArcFlowGraph> graph = BuildArcFlowGraph(sizes, capacity, options.max_arcs);
  if (!graph.ok()) return fall_back(graph.status().message(), l2, 0.0);
  const ArcFlowGraph& g = *graph;

  // Variables: one flow per arc, then z (bins) = flow out of level 0, bounded by L2 below and FFD above.
  MipModel model;
  for (const ArcFlowGraph::Arc& arc : g.arcs) {
    const double upper = arc.type >= 0 ? g.type_demands[static_cast<std::size_t>(arc.type)] : ffd.bins_used;
    model.AddVariable(0, upper, 0, true);
  }
  const int z = model.AddVariable(l2, ffd.bins_used, 1, true, "bins");
  // Flow conservation: out - in = z at level 0, = 0 inside; the sink's row is implied by the others.
  std::vector<std::vector<MipTerm>> node_terms(static_cast<std::size_t>(capacity) + 1);
  std::vector<std::vector<MipTerm>> demand_terms(g.type_sizes.size());
  for (std::size_t a = 0; a < g.arcs.size(); ++a) {
    const ArcFlowGraph::Arc& arc = g.arcs[a];
    node_terms[static_cast<std::size_t>(arc.tail)].push_back({static_cast<int>(a), 1.0});
    node_terms[static_cast<std::size_t>(arc.head)].push_back({static_cast<int>(a), -1.0});
    if (arc.type >= 0) demand_terms[static_cast<std::size_t>(arc.type)].push_back({static_cast<int>(a), 1.0});
  }
  for (std::size_t i = 0; i + 1 < g.nodes.size(); ++i) {
    auto& terms = node_terms[static_cast<std::size_t>(g.nodes[i])];
    if (i == 0) terms.push_back({z, -1.0});
    model.AddRow(std::move(terms), 0, 0);
  }
  for (std::size_t t = 0; t < g.type_sizes.size(); ++t) {
    model.AddRow(std::move(demand_terms[t]), g.type_demands[t], kMipInfinity);
  }

  base::Result<MipResult> solved = solver.Solve(model, options.mip);
  if (!solved.ok()) return fall_back(std::string(solver.name()) + ": " + solved.status().ToString(), l2, 0.0);
  const MipResult& r = *solved;
  const int solver_bound =
      std::isfinite(r.best_bound) ? static_cast<int>(std::ceil(r.best_bound - 1e-6)) : 0;
  const std::string graph_size = std::to_string(g.nodes.size()) + " nodes, " + std::to_string(g.arcs.size()) + " arcs";
  if (!r.has_solution()) {
    return fall_back(std::string(solver.name()) + " " + std::string(MipStatusName(r.status)) + ": " + r.message,
                     solver_bound, r.seconds);
  }
  // A solver that breaks its own model (wrong length, bins outside [L2, FFD]) is not believed.
  const long long bins_var = r.values.size() == model.variables.size() ? std::llround(r.values[static_cast<std::size_t>(z)]) : -1;
  if (bins_var < l2 || bins_var > ffd.bins_used) {
    return fall_back("the solver's answer does not fit the model", l2, r.seconds);
  }
  std::vector<long long> flow(g.arcs.size());
  for (std::size_t a = 0; a < g.arcs.size(); ++a) flow[a] = std::llround(r.values[a]);
  Packing exact;
  exact.method = PackingMethod::kArcFlow;
  exact.solver_seconds = r.seconds;
  if (!DecodeArcFlow(g, flow, bins_var, sizes, &exact)) {
    return fall_back("the solver's flow did not decompose into bins", l2, r.seconds);
  }
  if (r.status == MipStatus::kOptimal) {
    if (exact.bins_used < l2) return fall_back("decoded packing beats the L2 bound, a bug", l2, r.seconds);
    SetBound(&exact, exact.bins_used);  // the solver's proof
    exact.note = "arc-flow MIP (" + graph_size + ") proven optimal by " + std::string(solver.name());
    return exact;
  }
  // Stopped at a limit with a solution: keep the better packing, bounded by the best proven bound.
  Packing best = exact.bins_used <= ffd.bins_used ? exact : ffd;
  SetBound(&best, std::min(std::max(l2, solver_bound), best.bins_used));
  best.solver_seconds = r.seconds;
  best.note = std::string(best.method == PackingMethod::kArcFlow ? "arc-flow MIP" : "FFD") + " (" + graph_size +
              "; " + std::string(solver.name()) + " " + std::string(MipStatusName(r.status)) + ": " + r.message + ")";
  return best;
}

base::Result<CoverSolution> SolvePatternCover(std::span<const CoverPattern> patterns, std::span<const int> demands,
                                              MipSolver& solver, const MipOptions& options) {
  for (std::size_t k = 0; k < demands.size(); ++k) {
    if (demands[k] < 0) return base::InvalidArgument("demand of type " + std::to_string(k) + " is negative");
  }
  for (std::size_t p = 0; p < patterns.size(); ++p) {
    const CoverPattern& pat = patterns[p];
    if (pat.counts.size() != demands.size()) {
      return base::InvalidArgument("pattern " + std::to_string(p) + " has " + std::to_string(pat.counts.size()) +
                                   " counts for " + std::to_string(demands.size()) + " item types");
    }
    if (!std::isfinite(pat.cost) || pat.cost < 0) {
      return base::InvalidArgument("pattern " + std::to_string(p) + " has a negative or non-finite cost");
    }
    for (int c : pat.counts) {
      if (c < 0) return base::InvalidArgument("pattern " + std::to_string(p) + " has a negative count");
    }
  }
  CoverSolution out;
  for (std::size_t k = 0; k < demands.size(); ++k) {
    if (demands[k] == 0) continue;
    const bool covered =
        std::any_of(patterns.begin(), patterns.end(), [k](const CoverPattern& p) { return p.counts[k] > 0; });
    if (!covered) {
      out.status = MipStatus::kInfeasible;
      out.message = "no pattern holds an item of type " + std::to_string(k);
      return out;
    }
  }
  // x_p <= max over covered types of ceil(d_k / a_pk): with costs >= 0, more copies of p cannot help, since at that
  // many copies p alone covers every type it holds. Demands {4, 4}, pattern {3, 0}: x <= ceil(4 / 3) = 2.
  MipModel model;
  std::vector<std::vector<MipTerm>> rows(demands.size());
  for (std::size_t p = 0; p < patterns.size(); ++p) {
    std::int64_t upper = 0;
    for (std::size_t k = 0; k < demands.size(); ++k) {
      const int a = patterns[p].counts[k];
      if (a > 0 && demands[k] > 0) upper = std::max(upper, CeilDiv(demands[k], a));
    }
    const int var = model.AddVariable(0, static_cast<double>(upper), patterns[p].cost, true);
    for (std::size_t k = 0; k < demands.size(); ++k) {
      if (patterns[p].counts[k] > 0) rows[k].push_back({var, static_cast<double>(patterns[p].counts[k])});
    }
  }
  for (std::size_t k = 0; k < demands.size(); ++k) {
    if (demands[k] > 0) model.AddRow(std::move(rows[k]), demands[k], kMipInfinity);
  }
  ASSIGN_OR_RETURN(MipResult r, solver.Solve(model, options));
  out.status = r.status;
  out.message = std::string(solver.name()) + ": " + r.message;
  out.solver_seconds = r.seconds;
  out.lower_bound = std::isfinite(r.best_bound) ? std::max(0.0, r.best_bound) : 0.0;
  if (r.has_solution()) {
    out.uses.resize(patterns.size());
    out.cost = 0;
    for (std::size_t p = 0; p < patterns.size(); ++p) {
      out.uses[p] = static_cast<int>(std::llround(r.values[p]));
      out.cost += patterns[p].cost * out.uses[p];
    }
    if (r.status == MipStatus::kOptimal) out.lower_bound = out.cost;
  }
  return out;
}

}  // namespace gpuwise::optimize::fractional
