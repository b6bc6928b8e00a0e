// Tests of the CBC adapter against optima known by hand or by brute force, and of its status mapping.
#include "solve/cbc/cbc_solver.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

namespace gpuwise::solve::cbc {
namespace {

using optimize::MipModel;
using optimize::MipOptions;
using optimize::MipResult;
using optimize::MipStatus;
using optimize::kMipInfinity;

MipResult SolveOk(const MipModel& model, const MipOptions& options = {}) {
  auto solver = NewCbcSolver();
  auto r = solver->Solve(model, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : MipResult{};
}

TEST(CbcSolver, NameIsCbc) { EXPECT_EQ(NewCbcSolver()->name(), "cbc"); }

// max 5a + 4b + 3c s.t. 2a + 3b + c <= 5, 4a + b + 2c <= 11, 3a + 4b + 2c <= 8, binary. By hand: all three break
// the first row (6 > 5); {a, b} uses (5, 5, 7) and is worth 9, {a, c} 8, {b, c} 7. Optimum: a = b = 1, objective -9.
TEST(CbcSolver, SmallKnapsackMatchesHandOptimum) {
  MipModel m;
  const int a = m.AddVariable(0, 1, -5, true, "a");
  const int b = m.AddVariable(0, 1, -4, true, "b");
  const int c = m.AddVariable(0, 1, -3, true, "c");
  m.AddRow({{a, 2}, {b, 3}, {c, 1}}, -kMipInfinity, 5);
  m.AddRow({{a, 4}, {b, 1}, {c, 2}}, -kMipInfinity, 11);
  m.AddRow({{a, 3}, {b, 4}, {c, 2}}, -kMipInfinity, 8);
  const MipResult r = SolveOk(m);
  ASSERT_EQ(r.status, MipStatus::kOptimal) << r.message;
  EXPECT_DOUBLE_EQ(r.objective, -9.0);
  EXPECT_DOUBLE_EQ(r.best_bound, -9.0);
  ASSERT_EQ(r.values.size(), 3u);
  EXPECT_EQ(r.values[0], 1.0);
  EXPECT_EQ(r.values[1], 1.0);
  EXPECT_EQ(r.values[2], 0.0);
  EXPECT_GE(r.seconds, 0.0);
}

// min -x - y, 2x + 2y <= 3, x integer in [0, 10], y continuous >= 0: optimum -1.5 (x + y = 1.5 whatever x is).
TEST(CbcSolver, MixedIntegerContinuous) {
  MipModel m;
  const int x = m.AddVariable(0, 10, -1, true);
  const int y = m.AddVariable(0, kMipInfinity, -1, false);
  m.AddRow({{x, 2}, {y, 2}}, -kMipInfinity, 3);
  const MipResult r = SolveOk(m);
  ASSERT_EQ(r.status, MipStatus::kOptimal) << r.message;
  EXPECT_NEAR(r.objective, -1.5, 1e-9);
  EXPECT_TRUE(m.IsFeasible(r.values));
}

// The offset is added, duplicate terms are summed (x + x <= 3 is 2x <= 3, so x <= 1), ranged and equality rows hold.
TEST(CbcSolver, OffsetDuplicateTermsRangesAndEqualities) {
  MipModel m;
  m.objective_offset = 100;
  const int x = m.AddVariable(0, 5, -1, true);
  const int y = m.AddVariable(-3, 3, 1, true);
  const int z = m.AddVariable(0, 9, 0, true);
  m.AddRow({{x, 1}, {x, 1}}, -kMipInfinity, 3);
  m.AddRow({{y, 1}}, -1, 2);                // -1 <= y <= 2, minimised: y = -1
  m.AddRow({{z, 1}, {x, 1}}, 4, 4);         // z = 4 - x = 3
  const MipResult r = SolveOk(m);
  ASSERT_EQ(r.status, MipStatus::kOptimal) << r.message;
  EXPECT_DOUBLE_EQ(r.objective, 100 - 1 - 1);
  EXPECT_EQ(r.values[x], 1.0);
  EXPECT_EQ(r.values[y], -1.0);
  EXPECT_EQ(r.values[z], 3.0);
}

TEST(CbcSolver, InfeasibleIsProven) {
  MipModel m;
  const int x = m.AddVariable(0, 1, 1, true);
  const int y = m.AddVariable(0, 1, 1, true);
  m.AddRow({{x, 1}, {y, 1}}, 3, kMipInfinity);
  const MipResult r = SolveOk(m);
  EXPECT_EQ(r.status, MipStatus::kInfeasible) << r.message;
  EXPECT_FALSE(r.has_solution());
  EXPECT_TRUE(r.values.empty());
  EXPECT_TRUE(std::isnan(r.objective));
}

// LP-feasible but integer-infeasible: 2x = 1 has x = 0.5 only. CBC must branch to prove it.
TEST(CbcSolver, IntegerInfeasibleIsProven) {
  MipModel m;
  const int x = m.AddVariable(0, 10, 1, true);
  const int y = m.AddVariable(0, 10, 1, true);
  m.AddRow({{x, 2}, {y, 4}}, 1, 1);
  const MipResult r = SolveOk(m);
  EXPECT_EQ(r.status, MipStatus::kInfeasible) << r.message;
}

TEST(CbcSolver, UnboundedIsReported) {
  MipModel m;
  const int x = m.AddVariable(0, kMipInfinity, -1, true);
  const int y = m.AddVariable(0, kMipInfinity, 0, true);
  m.AddRow({{x, 1}, {y, -1}}, -kMipInfinity, 0);  // x <= y, both free above
  const MipResult r = SolveOk(m);
  EXPECT_EQ(r.status, MipStatus::kUnbounded) << r.message;
}

TEST(CbcSolver, EmptyModelIsOptimalAtTheOffset) {
  MipModel m;
  m.objective_offset = 7;
  const MipResult r = SolveOk(m);
  EXPECT_EQ(r.status, MipStatus::kOptimal);
  EXPECT_EQ(r.objective, 7.0);
  EXPECT_TRUE(r.values.empty());
}

TEST(CbcSolver, NoRowsUsesBounds) {
  MipModel m;
  m.AddVariable(1.5, 5, 1, true);   // integer: smallest is 2
  m.AddVariable(-2, 5, -1, false);  // continuous: 5
  const MipResult r = SolveOk(m);
  ASSERT_EQ(r.status, MipStatus::kOptimal) << r.message;
  EXPECT_DOUBLE_EQ(r.objective, 2 - 5);
}

TEST(CbcSolver, CrossedBoundsAndUnmeetableEmptyRowsAreInfeasible) {
  {
    MipModel m;
    m.AddVariable(3, 2, 1, false);
    EXPECT_EQ(SolveOk(m).status, MipStatus::kInfeasible);
  }
  {
    MipModel m;
    m.AddVariable(0.2, 0.8, 1, true);  // no integer inside
    EXPECT_EQ(SolveOk(m).status, MipStatus::kInfeasible);
  }
  {
    MipModel m;
    m.AddVariable(0, 1, 1, true);
    m.AddRow({}, 1, 2);  // 0 in [1, 2]: never
    EXPECT_EQ(SolveOk(m).status, MipStatus::kInfeasible);
  }
}

TEST(CbcSolver, MalformedModelsAndOptionsAreInvalidArgument) {
  auto solver = NewCbcSolver();
  {
    MipModel m;
    m.AddVariable(0, 1, 1, true);
    m.AddRow({{1, 1.0}}, 0, 1);  // variable 1 does not exist
    auto r = solver->Solve(m, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  }
  {
    MipModel m;
    m.AddVariable(0, 1, std::numeric_limits<double>::quiet_NaN(), true);
    EXPECT_EQ(solver->Solve(m, {}).status().code(), base::Code::kInvalidArgument);
  }
  {
    MipModel m;
    m.AddVariable(kMipInfinity, kMipInfinity, 1, false);
    EXPECT_EQ(solver->Solve(m, {}).status().code(), base::Code::kInvalidArgument);
  }
  {
    MipModel m;
    m.AddVariable(0, 1, 1, true);
    MipOptions o;
    o.time_limit_seconds = 0;
    EXPECT_EQ(solver->Solve(m, o).status().code(), base::Code::kInvalidArgument);
    o = {};
    o.relative_gap = -1;
    EXPECT_EQ(solver->Solve(m, o).status().code(), base::Code::kInvalidArgument);
    o = {};
    o.threads = 0;
    EXPECT_EQ(solver->Solve(m, o).status().code(), base::Code::kInvalidArgument);
  }
}

TEST(CbcSolver, SilentUnlessLogIsAsked) {
  MipModel m;
  const int a = m.AddVariable(0, 3, -5, true);
  const int b = m.AddVariable(0, 3, -4, true);
  m.AddRow({{a, 3}, {b, 2}}, -kMipInfinity, 7);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const MipResult r = SolveOk(m);
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.status, MipStatus::kOptimal);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

// Market split (Cornuejols & Dawande 1998): m equality rows sum_j a_ij x_j = floor(sum_j a_ij / 2) over n = 10(m-1)
// binaries, a_ij in [0, 99]. Notoriously beyond branch and bound, so a short limit always stops the search.
MipModel MarketSplit(int rows, bool with_slack, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> coef(0, 99);
  std::uniform_int_distribution<int> cost(1, 20);
  const int n = 10 * (rows - 1);
  MipModel m;
  for (int j = 0; j < n; ++j) m.AddVariable(0, 1, cost(rng), true);
  for (int i = 0; i < rows; ++i) {
    std::vector<optimize::MipTerm> terms;
    int total = 0;
    for (int j = 0; j < n; ++j) {
      const int a = coef(rng);
      total += a;
      terms.push_back({j, static_cast<double>(a)});
    }
    if (with_slack) {  // s+ - s- absorbs the miss at a cost of 1000 each, so x = 0 is feasible
      terms.push_back({m.AddVariable(0, kMipInfinity, 1000, true), 1.0});
      terms.push_back({m.AddVariable(0, kMipInfinity, 1000, true), -1.0});
    }
    m.AddRow(std::move(terms), total / 2, total / 2);
  }
  return m;
}

TEST(CbcSolver, TimeLimitWithoutSolutionIsReportedHonestly) {
  const MipModel m = MarketSplit(6, /*with_slack=*/false, 7);
  MipOptions o;
  o.time_limit_seconds = 0.3;
  const MipResult r = SolveOk(m, o);
  EXPECT_TRUE(r.status == MipStatus::kNoSolutionAtLimit || r.status == MipStatus::kFeasible)
      << MipStatusName(r.status) << ": " << r.message;
  if (r.has_solution()) {
    EXPECT_TRUE(m.IsFeasible(r.values));
  }
}

TEST(CbcSolver, TimeLimitWithSolutionIsFeasibleNotOptimal) {
  const MipModel m = MarketSplit(6, /*with_slack=*/true, 11);
  MipOptions o;
  o.time_limit_seconds = 0.3;
  const MipResult r = SolveOk(m, o);
  ASSERT_EQ(r.status, MipStatus::kFeasible) << MipStatusName(r.status) << ": " << r.message;
  EXPECT_TRUE(m.IsFeasible(r.values));
  EXPECT_NEAR(r.objective, m.Objective(r.values), 1e-6);
  EXPECT_LE(r.best_bound, r.objective);
}

// A relative gap of 100% is met by the first solution of a problem whose LP bound is positive: reported as feasible,
// never optimal, unless the bound happens to equal it.
TEST(CbcSolver, StopOnGapIsNotCalledOptimalUnlessTheBoundMeetsIt) {
  const MipModel m = MarketSplit(6, /*with_slack=*/true, 3);
  MipOptions o;
  o.time_limit_seconds = 5;
  o.relative_gap = 1.0;
  const MipResult r = SolveOk(m, o);
  ASSERT_TRUE(r.has_solution()) << r.message;
  if (r.status == MipStatus::kOptimal) {
    EXPECT_NEAR(r.best_bound, r.objective, 1e-6);
  } else {
    EXPECT_EQ(r.status, MipStatus::kFeasible);
  }
  EXPECT_TRUE(m.IsFeasible(r.values));
}

// Random small integer programs, brute-forced over every point of the box: CBC's optimum and status must agree.
RC_GTEST_PROP(CbcSolverProperty, SmallIntegerProgramsMatchBruteForce, ()) {
  const int n = *rc::gen::inRange(1, 4);
  const int rows = *rc::gen::inRange(0, 4);
  MipModel m;
  std::vector<int> lo(n), hi(n);
  for (int j = 0; j < n; ++j) {
    lo[j] = *rc::gen::inRange(-3, 2);
    hi[j] = lo[j] + *rc::gen::inRange(0, 5);
    m.AddVariable(lo[j], hi[j], *rc::gen::inRange(-9, 10), true);
  }
  for (int i = 0; i < rows; ++i) {
    std::vector<optimize::MipTerm> terms;
    for (int j = 0; j < n; ++j) terms.push_back({j, static_cast<double>(*rc::gen::inRange(-6, 7))});
    const int a = *rc::gen::inRange(-10, 11);
    const int kind = *rc::gen::inRange(0, 3);  // <=, >=, ranged
    m.AddRow(std::move(terms), kind == 0 ? -kMipInfinity : a, kind == 1 ? kMipInfinity : a + (kind == 2 ? 3 : 0));
  }
  // Brute force.
  std::optional<double> best;
  std::vector<double> x(n);
  std::vector<int> idx(lo);
  while (true) {
    for (int j = 0; j < n; ++j) x[j] = idx[j];
    if (m.IsFeasible(x)) {
      const double z = m.Objective(x);
      if (!best || z < *best) best = z;
    }
    int j = 0;
    while (j < n && idx[j] == hi[j]) idx[j] = lo[j], ++j;
    if (j == n) break;
    ++idx[j];
  }
  auto solver = NewCbcSolver();
  MipOptions o;
  o.tight_relaxation = *rc::gen::arbitrary<bool>();
  auto r = solver->Solve(m, o);
  RC_ASSERT(r.ok());
  if (!best) {
    RC_ASSERT(r->status == MipStatus::kInfeasible);
  } else {
    RC_ASSERT(r->status == MipStatus::kOptimal);
    RC_ASSERT(std::abs(r->objective - *best) < 1e-6);
    RC_ASSERT(m.IsFeasible(r->values));
  }
}

// 0/1 knapsacks up to 12 items against enumeration of all subsets.
RC_GTEST_PROP(CbcSolverProperty, KnapsackMatchesEnumeration, ()) {
  const int n = *rc::gen::inRange(1, 13);
  std::vector<int> w(n), v(n);
  MipModel m;
  std::vector<optimize::MipTerm> row;
  for (int j = 0; j < n; ++j) {
    w[j] = *rc::gen::inRange(1, 50);
    v[j] = *rc::gen::inRange(0, 60);
    m.AddVariable(0, 1, -v[j], true);
    row.push_back({j, static_cast<double>(w[j])});
  }
  const int cap = *rc::gen::inRange(0, 200);
  m.AddRow(row, -kMipInfinity, cap);
  int best = 0;
  for (int mask = 0; mask < (1 << n); ++mask) {
    int ww = 0, vv = 0;
    for (int j = 0; j < n; ++j) {
      if (mask >> j & 1) ww += w[j], vv += v[j];
    }
    if (ww <= cap && vv > best) best = vv;
  }
  MipOptions o;
  o.tight_relaxation = *rc::gen::arbitrary<bool>();
  auto r = NewCbcSolver()->Solve(m, o);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->status == MipStatus::kOptimal);
  RC_ASSERT(std::abs(r->objective + best) < 1e-6);
}

}  // namespace
}  // namespace gpuwise::solve::cbc
