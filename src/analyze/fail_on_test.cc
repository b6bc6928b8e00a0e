#include "analyze/fail_on.h"

#include <gtest/gtest.h>

namespace gpuwise::analyze {
namespace {

Report Weekly(std::int64_t idle_micro, double hours) {
  Report r;
  r.fleet.idle = idle_micro;
  r.fleet.window_hours = hours;
  r.fleet.cost = 4 * idle_micro;
  r.fleet.used = idle_micro;
  r.fleet.utilization = 0.25;
  return r;
}

TEST(FailOn, ParsesOperatorsAndDollarValues) {
  auto f = ParseFailOn("idle-cost-per-week>=$500");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->metric, "idle-cost-per-week");
  EXPECT_EQ(f->op, ">=");
  EXPECT_DOUBLE_EQ(f->value, 500);
  EXPECT_FALSE(ParseFailOn("idle>5").ok());
  EXPECT_NE(ParseFailOn("idle>5").status().message().find("unknown metric 'idle'"), std::string::npos);
  EXPECT_FALSE(ParseFailOn("utilization<abc").ok());
  EXPECT_FALSE(ParseFailOn("utilization").ok());
}

TEST(FailOn, PerWeekScalesTheWindowToSevenDays) {
  // $100 idle over one day = $700 a week.
  const Report r = Weekly(100'000'000, 24);
  auto over = EvaluateFailOn(r, {*ParseFailOn("idle-cost-per-week>699")});
  auto under = EvaluateFailOn(r, {*ParseFailOn("idle-cost-per-week>701")});
  EXPECT_TRUE(over[0].failed) << over[0].message;
  EXPECT_FALSE(under[0].failed) << under[0].message;
  EXPECT_TRUE(EvaluateFailOn(r, {*ParseFailOn("utilization<0.3")})[0].failed);
  EXPECT_FALSE(EvaluateFailOn(r, {*ParseFailOn("utilization<0.2")})[0].failed);
}

TEST(FailOn, CountsFindings) {
  Report r;
  r.findings.push_back({"forgotten-endpoint", "a", "", "", 0});
  r.findings.push_back({"idle-workload", "b", "", "", 0});
  r.findings.push_back({"pending-gpu", "nvidia.com/gpu", "3 pod(s) wait for nvidia.com/gpu", "", 0});
  EXPECT_DOUBLE_EQ(*FailOnMetric(r, "forgotten-endpoints"), 1);
  EXPECT_DOUBLE_EQ(*FailOnMetric(r, "idle-workloads"), 2);
  EXPECT_DOUBLE_EQ(*FailOnMetric(r, "pending-gpu-pods"), 3);
}

}  // namespace
}  // namespace gpuwise::analyze
