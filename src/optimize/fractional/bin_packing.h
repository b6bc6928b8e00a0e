// Packing: 1-D bin packing of integer sizes into bins of one integer capacity (fractional GPU requests onto GPUs:
// capacity 1000 milli-GPU, or 100 units of 10 milli), with lower bounds, fast heuristics, an exact arc-flow model
// solved through MipSolver, and a generic pattern-covering IP (MIG layouts are patterns).
//
// Inputs: sizes are integers in [1, capacity]; capacity >= 1. Anything else is InvalidArgument (outside data).
// Outputs: every Packing says how it was made, the bins used, a proven lower bound on the optimum and the gap.
//   `optimal` is true only when the bins used equal a proven lower bound: the solver's proof, or a bound met.
// Complexity: L1 O(n); L2, FFD and BFD O(n log n) (10,000 items pack in about a millisecond).
//   The arc-flow model has at most (capacity + 1) nodes and (distinct sizes x reachable positions) arcs.
// Thread-safety: pure functions of their arguments; the MipSolver passed in decides its own.
// References: S. Martello, P. Toth, "Lower bounds and reduction procedures for the bin packing problem", Discrete
//   Applied Mathematics 28 (1990) (L2); J. M. Valerio de Carvalho, "Exact solution of bin-packing problems using
//   column generation and branch-and-bound", Annals of OR 86 (1999) (arc-flow); G. Dosa, "The tight bound of first
//   fit decreasing bin-packing algorithm is FFD(I) <= 11/9 OPT(I) + 6/9", ESCAPE 2007.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "optimize/solver.h"

namespace gpuwise::optimize::fractional {

enum class PackingMethod {
  kFirstFitDecreasing,  // items by size descending, each into the lowest-numbered bin it fits
  kBestFitDecreasing,   // items by size descending, each into the fullest bin it fits
  kArcFlow,             // exact: Valerio de Carvalho's arc-flow MIP, solved by a MipSolver
};
std::string_view PackingMethodName(PackingMethod method);  // "ffd", "bfd", "arcflow"

struct Packing {
  PackingMethod method = PackingMethod::kFirstFitDecreasing;
  int bins_used = 0;
  // bin_of_item[i] in [0, bins_used) is the bin of input item i; every bin holds at least one item.
  std::vector<int> bin_of_item;
  // A proven lower bound on the optimal number of bins: L2, raised by the solver's bound when there is one.
  int lower_bound = 0;
  // (bins_used - lower_bound) / lower_bound: 1,975 bins against a bound of 1,965 is a gap of 0.0051 (0.51%). 0 when
  // optimal or when there are no items.
  double gap = 0.0;
  bool optimal = false;  // bins_used is proven minimal (bins_used == lower_bound)
  std::string note;      // how the answer was reached, or why the exact path fell back to FFD
  double solver_seconds = 0.0;  // time spent in the MipSolver (0 for heuristics)
};

// InvalidArgument unless capacity >= 1 and every size is in [1, capacity].
base::Status ValidatePackingInput(std::span<const int> sizes, int capacity);

// L1 = ceil(sum of sizes / capacity). Sizes {7, 7, 7, 4, 4, 4}, capacity 10: ceil(33 / 10) = 4.
base::Result<int> LowerBoundL1(std::span<const int> sizes, int capacity);

// L2 (Martello & Toth 1990): max over K in [0, C/2] of
//   |N1| + |N2| + max(0, ceil((sum(N3) - (|N2| C - sum(N2))) / C))
// with N1 = {s > C - K}, N2 = {C/2 < s <= C - K}, N3 = {K <= s <= C/2}: items of N3 fit only in N2's leftover
// space or in new bins. Sizes {7, 7, 7, 4, 4, 4}, C = 10, K = 4: N1 = the three 7s (no 4 fits beside them),
// N3 = the 4s (12 units), so L2 = 3 + ceil(12 / 10) = 5 = OPT, where L1 says 4. L2 >= L1 always (K = 0).
base::Result<int> LowerBoundL2(std::span<const int> sizes, int capacity);

// First Fit Decreasing, O(n log n) with a max-segment tree over bins. Worst case 11/9 OPT + 6/9 (Dosa 2007).
// The lower bound reported is L2.
base::Result<Packing> FirstFitDecreasing(std::span<const int> sizes, int capacity);

// Best Fit Decreasing, O(n log n) with an ordered set of (free space, bin). Same worst case as FFD.
base::Result<Packing> BestFitDecreasing(std::span<const int> sizes, int capacity);

// The arc-flow graph (Valerio de Carvalho 1999). Nodes are fill levels 0..capacity; a path from 0 to the last node
// is one bin. An item arc (d, d + w) places an item of size w at level d; a loss arc joins consecutive nodes (empty
// space). Reductions: item types are taken in decreasing size and an arc of type t starts only at a level reached by
// larger types, followed by at most demand(t) arcs of type t in a row; only reachable levels are nodes.
// Sizes {5, 3} with demands {1, 2}, capacity 10: levels 0 -> 5 (the 5), then 3s from 0 and 5: 0 -> 3 -> 6, 5 -> 8,
// and 8 -> 11 is cut by capacity; nodes {0, 3, 5, 6, 8}, 4 item arcs and 4 loss arcs.
struct ArcFlowGraph {
  struct Arc {
    int tail = 0;  // level
    int head = 0;  // level
    int type = -1; // index into type_sizes, or -1 for a loss arc
  };
  int capacity = 0;
  std::vector<int> type_sizes;    // distinct sizes, decreasing
  std::vector<int> type_demands;  // items of each size
  std::vector<int> nodes;         // reachable levels, increasing; nodes.front() == 0, nodes.back() is the sink
  std::vector<Arc> arcs;
};
// Sizes must be valid (ValidatePackingInput). Returns InvalidArgument otherwise, ResourceExhausted when the graph
// would exceed max_arcs.
base::Result<ArcFlowGraph> BuildArcFlowGraph(std::span<const int> sizes, int capacity, std::int64_t max_arcs = 2'000'000);

struct ExactPackingOptions {
  // Time limit, gap, threads, log of the solve. The arc-flow LP is tight, so the solver may skip its cuts.
  MipOptions mip{.tight_relaxation = true};
  // Skip the solver when FFD already meets L2 (then FFD is optimal). Off lets tests exercise the arc-flow path.
  bool skip_solver_when_ffd_meets_bound = true;
  std::int64_t max_arcs = 2'000'000;  // a larger graph falls back to FFD (with the note saying so)
};

// Exact packing: the arc-flow MIP (minimise bins subject to flow conservation and demand cover), solved by `solver`,
// decoded into item -> bin by flow decomposition. method kArcFlow and optimal when the solver proved it; when it
// stopped at its limit, the better of its packing and FFD with the gap to the best bound; on any solver failure,
// FFD with the reason in `note`. Errors: InvalidArgument for bad sizes only.
base::Result<Packing> PackExact(std::span<const int> sizes, int capacity, MipSolver& solver,
                                const ExactPackingOptions& options = {});

// Pattern covering: choose how many times x_p to use each pattern p (a vector of counts per item type, with a cost)
// so that sum_p counts_p[k] x_p >= demand[k] for every type k, minimising sum_p cost_p x_p. Example: patterns
// {3, 0} cost 1 and {1, 2} cost 1 with demands {4, 4}: x = (1, 2) covers (5, 4) at cost 3, the optimum.
struct CoverPattern {
  std::vector<int> counts;  // one per item type, >= 0
  double cost = 1.0;        // finite, >= 0
};

struct CoverSolution {
  MipStatus status = MipStatus::kError;  // as the solver reported; kInfeasible when some demand has no pattern
  std::vector<int> uses;                 // x_p per pattern; empty unless status is kOptimal or kFeasible
  double cost = 0.0;                     // sum cost_p x_p of `uses`
  double lower_bound = 0.0;              // proven lower bound on the optimal cost
  std::string message;
  double solver_seconds = 0.0;
};

// InvalidArgument when a pattern's count vector is not demands.size() long, a count or demand is negative, or a cost
// is negative or not finite; a solver failure is returned as is.
base::Result<CoverSolution> SolvePatternCover(std::span<const CoverPattern> patterns, std::span<const int> demands,
                                              MipSolver& solver, const MipOptions& options = {});

}  // namespace gpuwise::optimize::fractional
