// MIP solver interface: a minimisation model (bounded variables, sparse rows) that optimizers build and an outside
// solver solves. The CBC adapter lives in solve/cbc/ (NewCbcSolver); optimizers take a MipSolver& and never see CBC.
//
// Model: minimise objective_offset + sum_j cost_j * x_j
//        subject to   row.lower <= sum_{t in row.terms} t.coef * x_{t.var} <= row.upper   for every row
//                     var.lower <= x_j <= var.upper, x_j integer where var.integer.
// Infinite bounds are +-kMipInfinity. Example: a 0/1 knapsack "max 5a + 4b, 3a + 2b <= 4" is
//   variables {a: [0,1] cost -5 int, b: [0,1] cost -4 int}, row {3a + 2b <= 4}; optimum a=1 b=0, objective -5.
// Errors: Solve returns InvalidArgument for a malformed model (see Validate), Internal for a solver failure
//   (exceptions are caught in the adapter). Everything else, infeasible included, is an OK Result with a status.
// Thread-safety: MipModel, MipOptions and MipResult are values. A MipSolver may serialise concurrent Solve calls.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gpuwise::optimize {

inline constexpr double kMipInfinity = std::numeric_limits<double>::infinity();

struct MipVariable {
  double lower = 0.0;
  double upper = kMipInfinity;
  double cost = 0.0;  // objective coefficient (minimised)
  bool integer = false;
  std::string name;   // optional; for logs and messages
};

// One coefficient of a row: coef * x[var].
struct MipTerm {
  int var = 0;
  double coef = 0.0;
};

struct MipRow {
  std::vector<MipTerm> terms;  // sparse; a variable should appear at most once (duplicates are summed)
  double lower = -kMipInfinity;
  double upper = kMipInfinity;
  std::string name;
};

// A minimisation MIP. Build with AddVariable/AddRow (they return the new index), or fill the vectors directly.
struct MipModel {
  std::vector<MipVariable> variables;
  std::vector<MipRow> rows;
  double objective_offset = 0.0;

  int AddVariable(double lower, double upper, double cost, bool integer, std::string name = {}) {
    variables.push_back(MipVariable{lower, upper, cost, integer, std::move(name)});
    return static_cast<int>(variables.size()) - 1;
  }
  int AddRow(std::vector<MipTerm> terms, double lower, double upper, std::string name = {}) {
    rows.push_back(MipRow{std::move(terms), lower, upper, std::move(name)});
    return static_cast<int>(rows.size()) - 1;
  }

  // InvalidArgument when a term names a variable out of range, a number is NaN, a cost or coefficient is infinite,
  // or a lower bound is +inf / an upper bound -inf. Crossed bounds (lower > upper) are valid: that model is infeasible.
  base::Status Validate() const {
    const auto bad_bounds = [](double lo, double up) {
      return std::isnan(lo) || std::isnan(up) || lo == kMipInfinity || up == -kMipInfinity;
    };
    if (!std::isfinite(objective_offset)) return base::InvalidArgument("MIP objective offset is not finite");
    for (std::size_t j = 0; j < variables.size(); ++j) {
      const MipVariable& v = variables[j];
      if (bad_bounds(v.lower, v.upper))
        return base::InvalidArgument("MIP variable " + std::to_string(j) + " has a NaN or inverted-infinite bound");
      if (!std::isfinite(v.cost)) return base::InvalidArgument("MIP variable " + std::to_string(j) + " has a non-finite cost");
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const MipRow& r = rows[i];
      if (bad_bounds(r.lower, r.upper))
        return base::InvalidArgument("MIP row " + std::to_string(i) + " has a NaN or inverted-infinite bound");
      for (const MipTerm& t : r.terms) {
        if (t.var < 0 || static_cast<std::size_t>(t.var) >= variables.size())
          return base::InvalidArgument("MIP row " + std::to_string(i) + " names variable " + std::to_string(t.var) +
                                       " of " + std::to_string(variables.size()));
        if (!std::isfinite(t.coef))
          return base::InvalidArgument("MIP row " + std::to_string(i) + " has a non-finite coefficient");
      }
    }
    return base::Status::Ok();
  }

  // objective_offset + cost . values; values must have one entry per variable.
  double Objective(const std::vector<double>& values) const {
    double z = objective_offset;
    for (std::size_t j = 0; j < variables.size() && j < values.size(); ++j) z += variables[j].cost * values[j];
    return z;
  }

  // True when values (one per variable) meet every bound, row and integrality within an absolute tolerance.
  // Lets callers and tests check a solver's answer independently of the solver.
  bool IsFeasible(const std::vector<double>& values, double tolerance = 1e-6) const {
    if (values.size() != variables.size()) return false;
    for (std::size_t j = 0; j < variables.size(); ++j) {
      const MipVariable& v = variables[j];
      const double x = values[j];
      if (std::isnan(x) || x < v.lower - tolerance || x > v.upper + tolerance) return false;
      if (v.integer && std::abs(x - std::round(x)) > tolerance) return false;
    }
    for (const MipRow& r : rows) {
      double a = 0.0;
      for (const MipTerm& t : r.terms) a += t.coef * values[static_cast<std::size_t>(t.var)];
      if (a < r.lower - tolerance || a > r.upper + tolerance) return false;
    }
    return true;
  }
};

// Defaults suit the small exact models of optimize/: one thread (deterministic, 2-core budget), quiet, proof to
// the last unit of a relative gap of 0.
struct MipOptions {
  double time_limit_seconds = 10.0;  // wall clock for the whole solve; must be > 0
  double relative_gap = 0.0;         // stop when (objective - bound) / |objective| <= this; 0 = prove optimality
  int threads = 1;
  bool log = false;                  // solver progress to stdout; off in the product
  // The caller knows the LP relaxation is tight (arc-flow and pattern models: the LP bound rounds up to the optimum
  // on nearly every instance). The solver then skips preprocessing and cutting planes, which cost more than they
  // save there: the openb arc-flow model takes CBC about 17 ms with them and 4 ms without. Branching and primal
  // heuristics stay on, so the answer and its proof are the same; only the route differs.
  bool tight_relaxation = false;
};

enum class MipStatus {
  kOptimal,            // the solver proved this solution optimal (within relative_gap 0)
  kFeasible,           // a solution, stopped by the time limit or the requested gap: not proven optimal
  kInfeasible,         // proven: no solution exists
  kUnbounded,          // the objective decreases without limit (or the LP relaxation is unbounded)
  kNoSolutionAtLimit,  // stopped at the limit before any solution was found
  kError,              // the solver gave up (numerical trouble); message says why
};

inline std::string_view MipStatusName(MipStatus s) {
  switch (s) {
    case MipStatus::kOptimal: return "optimal";
    case MipStatus::kFeasible: return "feasible";
    case MipStatus::kInfeasible: return "infeasible";
    case MipStatus::kUnbounded: return "unbounded";
    case MipStatus::kNoSolutionAtLimit: return "no_solution_at_limit";
    case MipStatus::kError: return "error";
  }
  return "unknown";
}

struct MipResult {
  MipStatus status = MipStatus::kError;
  // Objective of `values`, offset included. NaN when there is no solution.
  double objective = std::numeric_limits<double>::quiet_NaN();
  // A proven lower bound on the optimum (minimisation): equals objective when optimal, -inf when none is known.
  double best_bound = -kMipInfinity;
  std::vector<double> values;  // one per variable when status is kOptimal or kFeasible, else empty
  double seconds = 0.0;        // wall time the solver spent
  std::string message;         // what the solver said, for explain output

  bool has_solution() const { return status == MipStatus::kOptimal || status == MipStatus::kFeasible; }
};

// An outside MIP solver. Implementations catch their library's exceptions and never print unless options.log.
class MipSolver {
 public:
  virtual ~MipSolver() = default;
  virtual base::Result<MipResult> Solve(const MipModel& model, const MipOptions& options) = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace gpuwise::optimize
