// --fail-on: thresholds on a report for CI gating ("fail the pipeline when idle GPU spend passes $500 a week").
// An expression is METRIC OP VALUE with OP one of > >= < <=, e.g. "idle-cost-per-week>500",
// "utilization<0.3", "forgotten-endpoints>0". Money is in dollars; "-per-week" metrics are the window's amount
// scaled to 7 days (a live view's hourly rate x 168). Metrics:
//   idle-cost-per-week, unallocated-cost-per-week, unused-cost-per-week (idle + unallocated), unused-annual,
//   spend-per-week, utilization (used / spend, 0..1), idle-workloads, forgotten-endpoints, unallocated-gpus (nodes'
//   findings count), pending-gpu-pods, unknown-node-gpus, unpriced-gpus.
// Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "analyze/report.h"
#include "base/status.h"

namespace gpuwise::analyze {

struct FailOn {
  std::string metric;
  std::string op;   // ">", ">=", "<", "<="
  double value = 0;
  std::string text; // as given
};

// InvalidArgument naming the expression and listing the metrics when it does not parse.
base::Result<FailOn> ParseFailOn(std::string_view expression);
// The metric's value on a report; InvalidArgument for an unknown metric.
base::Result<double> FailOnMetric(const Report& report, std::string_view metric);

struct FailOnResult {
  FailOn condition;
  double actual = 0;
  bool failed = false;
  std::string message;  // "idle-cost-per-week is 1234.56, above 500"
};
std::vector<FailOnResult> EvaluateFailOn(const Report& report, const std::vector<FailOn>& conditions);

}  // namespace gpuwise::analyze
