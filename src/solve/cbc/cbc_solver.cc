// The CBC adapter (see cbc_solver.h). CBC headers stay in this file.
#include "solve/cbc/cbc_solver.h"

#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinError.hpp>
#include <CoinMessageHandler.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gpuwise::solve::cbc {
namespace {

using optimize::MipModel;
using optimize::MipOptions;
using optimize::MipResult;
using optimize::MipStatus;

// CbcMain1 reads its options from argv-style strings and keeps parser state in globals (CbcOrClpParam.cpp).
std::mutex& CbcMutex() {
  static std::mutex m;
  return m;
}

// Integer values within this of an integer are snapped to it before they are returned (CBC's default integer
// tolerance is 1e-7; the slack covers preprocessing round-off).
constexpr double kSnap = 1e-6;
// Absolute tolerance of the independent feasibility check of a returned solution.
constexpr double kCheckTolerance = 1e-5;

// Cases CBC need not see (and that some CBC versions handle badly): no variables, crossed bounds, empty rows
// whose bounds exclude 0. Returns true and fills *out when the model is decided here.
bool DecideTrivially(const MipModel& model, MipResult* out) {
  for (std::size_t j = 0; j < model.variables.size(); ++j) {
    const auto& v = model.variables[j];
    const bool no_integer = v.integer && std::ceil(v.lower - kSnap) > std::floor(v.upper + kSnap);
    if (v.lower > v.upper || no_integer) {
      out->status = MipStatus::kInfeasible;
      out->message = "variable " + std::to_string(j) + (v.name.empty() ? "" : " (" + v.name + ")") +
                     " has no value within its bounds";
      return true;
    }
  }
  for (std::size_t i = 0; i < model.rows.size(); ++i) {
    const auto& r = model.rows[i];
    if (r.lower > r.upper || (r.terms.empty() && (r.lower > 0.0 || r.upper < 0.0))) {
      out->status = MipStatus::kInfeasible;
      out->message = "row " + std::to_string(i) + (r.name.empty() ? "" : " (" + r.name + ")") + " cannot be met";
      return true;
    }
  }
  if (model.variables.empty()) {
    out->status = MipStatus::kOptimal;
    out->objective = model.objective_offset;
    out->best_bound = model.objective_offset;
    out->message = "empty model";
    return true;
  }
  return false;
}

std::string FormatDouble(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

base::Result<MipResult> SolveLocked(const MipModel& model, const MipOptions& options) {
  OsiClpSolverInterface solver;
  const double inf = solver.getInfinity();
  const auto clamp = [inf](double x) { return x >= inf ? inf : (x <= -inf ? -inf : x); };

  const int n = static_cast<int>(model.variables.size());
  const int m = static_cast<int>(model.rows.size());
  std::vector<double> col_lb(n), col_ub(n), obj(n), row_lb(m), row_ub(m);
  for (int j = 0; j < n; ++j) {
    const auto& v = model.variables[static_cast<std::size_t>(j)];
    col_lb[j] = clamp(v.lower);
    col_ub[j] = clamp(v.upper);
    obj[j] = v.cost;
  }
  // Triplets, duplicates within a row summed (CoinPackedMatrix does not promise to merge them).
  std::vector<int> trip_row, trip_col;
  std::vector<double> trip_val;
  std::vector<std::pair<int, double>> row_terms;
  for (int i = 0; i < m; ++i) {
    const auto& r = model.rows[static_cast<std::size_t>(i)];
    row_lb[i] = clamp(r.lower);
    row_ub[i] = clamp(r.upper);
    row_terms.clear();
    for (const auto& t : r.terms) row_terms.emplace_back(t.var, t.coef);
    std::sort(row_terms.begin(), row_terms.end());
    for (std::size_t k = 0; k < row_terms.size();) {
      const int var = row_terms[k].first;
      double sum = 0.0;
      for (; k < row_terms.size() && row_terms[k].first == var; ++k) sum += row_terms[k].second;
      if (sum != 0.0) {
        trip_row.push_back(i);
        trip_col.push_back(var);
        trip_val.push_back(sum);
      }
    }
  }
  CoinPackedMatrix matrix(/*colordered=*/true, trip_row.data(), trip_col.data(), trip_val.data(),
                          static_cast<CoinBigIndex>(trip_val.size()));
  // The triplet constructor sizes the matrix by the largest index seen; trailing empty rows/columns still count.
  matrix.setDimensions(m, n);
  solver.loadProblem(matrix, col_lb.data(), col_ub.data(), obj.data(), row_lb.data(), row_ub.data());
  for (int j = 0; j < n; ++j) {
    if (model.variables[static_cast<std::size_t>(j)].integer) solver.setInteger(j);
  }
  solver.setObjSense(1.0);
  if (!options.log) {
    solver.messageHandler()->setLogLevel(0);
    solver.getModelPtr()->messageHandler()->setLogLevel(0);
  }

  CbcModel cbc(solver);
  CbcSolverUsefulData data;
  data.noPrinting_ = !options.log;
  data.useSignalHandler_ = false;
  CbcMain0(cbc, data);
  data.noPrinting_ = !options.log;
  if (!options.log) {
    cbc.setLogLevel(0);
    cbc.messageHandler()->setLogLevel(0);
  }

  const std::string seconds = FormatDouble(options.time_limit_seconds);
  const std::string gap = FormatDouble(options.relative_gap);
  const std::string threads = std::to_string(options.threads);
  const std::string log_level = options.log ? "1" : "0";
  std::vector<const char*> argv = {"gpuwise", "-timeMode", "elapsed", "-seconds", seconds.c_str(),
                                   "-ratioGap", gap.c_str(), "-log", log_level.c_str(), "-slog", log_level.c_str()};
  // CBC's threads parameter 0 means "no threads"; 1 would start its deterministic parallel mode with one worker.
  if (options.threads > 1) {
    argv.push_back("-threads");
    argv.push_back(threads.c_str());
  }
  if (options.tight_relaxation) {
    for (const char* a : {"-preprocess", "off", "-cuts", "off"}) argv.push_back(a);
  }
  argv.push_back("-solve");
  argv.push_back("-quit");
  CbcMain1(static_cast<int>(argv.size()), argv.data(), cbc, [](CbcModel*, int) { return 0; }, data);

  MipResult out;
  // getSolutionCount() stays 0 when preprocessing or the root solves the model, so the incumbent pointer decides.
  // When CBC proved optimality without keeping an incumbent, the solver's column solution is it (checked below).
  const double* best = cbc.bestSolution();
  if (best == nullptr && cbc.isProvenOptimal() && cbc.solver() != nullptr &&
      cbc.solver()->getNumCols() == n) {
    best = cbc.solver()->getColSolution();
  }
  const bool have_solution = best != nullptr;
  if (have_solution) {
    out.values.assign(best, best + n);
    for (int j = 0; j < n; ++j) {
      double& x = out.values[static_cast<std::size_t>(j)];
      if (model.variables[static_cast<std::size_t>(j)].integer && std::abs(x - std::round(x)) <= kSnap) {
        x = std::round(x);
      }
    }
    out.objective = model.Objective(out.values);
  }
  const double bound = cbc.getBestPossibleObjValue();
  out.best_bound = std::isfinite(bound) && std::abs(bound) < 1e49 ? bound + model.objective_offset : -optimize::kMipInfinity;

  const int status = cbc.status();
  const int secondary = cbc.secondaryStatus();
  const std::string codes = "CBC status " + std::to_string(status) + ", secondary " + std::to_string(secondary);
  if (cbc.isProvenInfeasible()) {
    out.status = MipStatus::kInfeasible;
    out.message = "proven infeasible (" + codes + ")";
  } else if (cbc.isContinuousUnbounded() || cbc.isProvenDualInfeasible() || secondary == 7) {
    out.status = MipStatus::kUnbounded;
    out.message = "unbounded (" + codes + ")";
  } else if (status == 0 && cbc.isProvenOptimal() && have_solution && secondary != 2) {
    out.status = MipStatus::kOptimal;
    out.message = "proven optimal (" + codes + ")";
  } else if (status == 2) {
    out.status = MipStatus::kError;
    out.message = "CBC abandoned the search, numerical difficulties (" + codes + ")";
  } else if (have_solution) {
    out.status = MipStatus::kFeasible;
    out.message = std::string(secondary == 2 ? "stopped at the requested relative gap" : "stopped at the time limit") +
                  ", not proven optimal (" + codes + ")";
  } else if (status == 1) {
    out.status = MipStatus::kNoSolutionAtLimit;
    out.message = "stopped at the time limit before any solution (" + codes + ")";
  } else {
    out.status = MipStatus::kError;
    out.message = "CBC ended without a solution or a proof (" + codes + ")";
  }
  if (!out.has_solution()) {
    out.values.clear();
    out.objective = std::numeric_limits<double>::quiet_NaN();
  } else if (!model.IsFeasible(out.values, kCheckTolerance)) {
    out.status = MipStatus::kError;
    out.message = "CBC returned a solution that violates the model (" + codes + ")";
    out.values.clear();
    out.objective = std::numeric_limits<double>::quiet_NaN();
  }
  if (out.status == MipStatus::kOptimal) out.best_bound = std::max(out.best_bound, out.objective);
  // A bound above the incumbent is round-off in the bound (a proven lower bound cannot exceed a feasible value).
  if (out.has_solution() && out.best_bound > out.objective) out.best_bound = out.objective;
  return out;
}

class CbcMipSolver final : public optimize::MipSolver {
 public:
  base::Result<MipResult> Solve(const MipModel& model, const MipOptions& options) override {
    RETURN_IF_ERROR(model.Validate());
    if (!(options.time_limit_seconds > 0.0)) {
      return base::InvalidArgument("MipOptions.time_limit_seconds must be > 0, got " +
                                   FormatDouble(options.time_limit_seconds));
    }
    if (!(options.relative_gap >= 0.0)) {
      return base::InvalidArgument("MipOptions.relative_gap must be >= 0, got " + FormatDouble(options.relative_gap));
    }
    if (options.threads < 1) {
      return base::InvalidArgument("MipOptions.threads must be >= 1, got " + std::to_string(options.threads));
    }
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&start] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    MipResult trivial;
    if (DecideTrivially(model, &trivial)) {
      trivial.seconds = elapsed();
      return trivial;
    }
    std::lock_guard<std::mutex> lock(CbcMutex());
    try {
      base::Result<MipResult> r = SolveLocked(model, options);
      if (r.ok()) r->seconds = elapsed();
      return r;
    } catch (const CoinError& e) {
      return base::Internal("CBC failed in " + e.className() + "::" + e.methodName() + ": " + e.message());
    } catch (const std::exception& e) {
      return base::Internal(std::string("CBC failed: ") + e.what());
    } catch (...) {
      return base::Internal("CBC failed with an unknown exception");
    }
  }

  std::string_view name() const override { return "cbc"; }
};

}  // namespace

std::unique_ptr<optimize::MipSolver> NewCbcSolver() { return std::make_unique<CbcMipSolver>(); }

}  // namespace gpuwise::solve::cbc
