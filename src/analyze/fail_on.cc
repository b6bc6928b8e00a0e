#include "analyze/fail_on.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gpuwise::analyze {
namespace {

constexpr std::string_view kMetrics =
    "idle-cost-per-week, unallocated-cost-per-week, unused-cost-per-week, unused-annual, spend-per-week, "
    "utilization, idle-workloads, forgotten-endpoints, unallocated-gpus, pending-gpu-pods, unknown-node-gpus, "
    "unpriced-gpus";

double PerWeek(std::int64_t micro, double window_hours) {
  if (!(window_hours > 0)) return 0;
  return static_cast<double>(micro) / 1e6 * (7.0 * 24.0 / window_hours);
}

double CountFindings(const Report& r, std::string_view kind) {
  double n = 0;
  for (const Finding& f : r.findings) n += f.kind == kind ? 1 : 0;
  return n;
}

}  // namespace

base::Result<FailOn> ParseFailOn(std::string_view e) {
  FailOn f;
  f.text = std::string(e);
  std::size_t pos = e.find_first_of("<>");
  if (pos == std::string_view::npos || pos == 0) {
    return base::InvalidArgument("--fail-on '" + f.text + "': expected METRIC>VALUE (or >=, <, <=); metrics: " + std::string(kMetrics));
  }
  f.metric = std::string(e.substr(0, pos));
  while (!f.metric.empty() && f.metric.back() == ' ') f.metric.pop_back();
  std::size_t vpos = pos + 1;
  f.op = std::string(1, e[pos]);
  if (vpos < e.size() && e[vpos] == '=') {
    f.op += '=';
    ++vpos;
  }
  std::string_view v = e.substr(vpos);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (!v.empty() && v.front() == '$') v.remove_prefix(1);
  double value = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(value)) {
    return base::InvalidArgument("--fail-on '" + f.text + "': '" + std::string(v) + "' is not a number");
  }
  f.value = value;
  Report empty;
  if (!FailOnMetric(empty, f.metric).ok()) {
    return base::InvalidArgument("--fail-on '" + f.text + "': unknown metric '" + f.metric + "'; metrics: " + std::string(kMetrics));
  }
  return f;
}

base::Result<double> FailOnMetric(const Report& r, std::string_view m) {
  const Fleet& f = r.fleet;
  if (m == "idle-cost-per-week") return PerWeek(f.idle, f.window_hours);
  if (m == "unallocated-cost-per-week") return PerWeek(f.unallocated, f.window_hours);
  if (m == "unused-cost-per-week") return PerWeek(f.idle + f.unallocated, f.window_hours);
  if (m == "unused-annual") return static_cast<double>(f.unused_annualized) / 1e6;
  if (m == "spend-per-week") return PerWeek(f.cost, f.window_hours);
  if (m == "utilization") return f.utilization;
  if (m == "idle-workloads") return CountFindings(r, "idle-workload") + CountFindings(r, "forgotten-endpoint");
  if (m == "forgotten-endpoints") return CountFindings(r, "forgotten-endpoint");
  if (m == "unallocated-gpus") return CountFindings(r, "unallocated-gpu");
  if (m == "pending-gpu-pods") {
    double n = 0;
    for (const Finding& fd : r.findings) {
      if (fd.kind == "pending-gpu") n += std::atof(fd.text.c_str());
    }
    return n;
  }
  if (m == "unknown-node-gpus") return f.unknown_node_gpus;
  if (m == "unpriced-gpus") return f.unpriced_gpus;
  return base::InvalidArgument("unknown --fail-on metric '" + std::string(m) + "'");
}

std::vector<FailOnResult> EvaluateFailOn(const Report& r, const std::vector<FailOn>& conditions) {
  std::vector<FailOnResult> out;
  for (const FailOn& c : conditions) {
    FailOnResult res;
    res.condition = c;
    base::Result<double> v = FailOnMetric(r, c.metric);
    res.actual = v.ok() ? *v : NAN;
    if (c.op == ">") res.failed = res.actual > c.value;
    else if (c.op == ">=") res.failed = res.actual >= c.value;
    else if (c.op == "<") res.failed = res.actual < c.value;
    else res.failed = res.actual <= c.value;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s is %.2f (threshold %s %.2f)%s", c.metric.c_str(), res.actual, c.op.c_str(), c.value,
                  res.failed ? ": FAILED" : "");
    res.message = buf;
    out.push_back(std::move(res));
  }
  return out;
}

}  // namespace gpuwise::analyze
