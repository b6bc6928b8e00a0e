#include "cli/report_view.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/units.h"
#include "cli/plan_view.h"

namespace gpuwise::cli {
namespace {

using analyze::Report;

std::string Share(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? Pct(static_cast<double>(part) / static_cast<double>(whole)) : "-";
}
nlohmann::json Num(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

nlohmann::json MoneyJson(const analyze::Money& m) {
  return {{"usedMicroUsd", m.used}, {"idleMicroUsd", m.idle}, {"unmeasuredMicroUsd", m.unmeasured},
          {"allocatedMicroUsd", m.allocated()}};
}

std::string Bold(const std::string& s, bool color) { return color ? "\033[1m" + s + "\033[0m" : s; }

}  // namespace

std::string Dollars(std::int64_t micro) { return base::FormatDollars(micro); }

Table ReportWorkloadTable(const Report& r) {
  Table t;
  // Machine-readable: exact decimal dollars (6 places, from micro-dollars), no currency sign or separators.
  auto usd = [](std::int64_t micro) {
    std::string s = base::FormatUsd({micro});
    s.erase(s.find('$'), 1);
    return s;
  };
  t.columns = {"NAMESPACE", "KIND", "WORKLOAD", "TEAM", "CLASS", "GPUS", "COST_USD", "USED_USD", "IDLE_USD", "IDLE_USD_PER_YEAR", "STATE", "SOURCE"};
  for (const auto& w : r.workloads) {
    t.rows.push_back({w.namespace_name, w.kind, w.name, w.team, w.workload_class, Fixed(w.gpus, 4), usd(w.money.allocated()),
                      usd(w.money.used), usd(w.money.idle), usd(w.idle_annualized),
                      std::string(analyze::GpuStateName(w.diagnosis.state)), w.source});
  }
  return t;
}

std::string ReportText(const Report& r, bool color, const model::Plan* plan) {
  std::ostringstream out;
  const analyze::Fleet& f = r.fleet;
  const std::string per = r.live ? " per hour" : "";
  out << Bold("gpuwise report", color) << "  ";
  if (r.live) out << "live view at " << Utc(r.start_unix_s) << " (costs per hour at the current state)";
  else out << Utc(r.start_unix_s) << " to " << Utc(r.end_unix_s) << " (" << Fixed(f.window_hours, 1) << " h)";
  out << "\n  telemetry: " << r.telemetry_source << "   cluster: " << r.cluster_source << "\n\n";

  out << Bold("FLEET", color) << "\n";
  out << "  " << f.nodes << " GPU nodes, " << f.gpus << " GPUs (" << f.mig_instances << " MIG instances)";
  if (f.unknown_node_gpus > 0) out << ", " << f.unknown_node_gpus << " on unknown nodes (not priced)";
  if (f.unpriced_gpus > 0) out << ", " << f.unpriced_gpus << " unpriced";
  out << "\n  spend " << Dollars(f.cost) << per << ", utilization " << Pct(f.utilization) << " (used / spend)\n";
  out << "  used " << Dollars(f.used) << " (" << Share(f.used, f.cost) << ")   allocated-idle " << Dollars(f.idle) << " ("
      << Share(f.idle, f.cost) << ")   unallocated " << Dollars(f.unallocated) << " (" << Share(f.unallocated, f.cost) << ")\n";
  if (f.unmeasured > 0) out << "  of allocated-idle, " << Dollars(f.unmeasured) << " had no usage sample (counted idle)\n";
  out << "  unused waste " << Dollars(f.unused_annualized) << " a year (allocated-idle + unallocated, annualised)\n";
  if (plan != nullptr) {
    out << "  " << RecoverableLine(plan->savings) << "\n";
  } else {
    out << "  recoverable waste: not computed (the plan was not built)\n";
  }
  if (!std::isnan(f.h100_equivalent_gpu_hours)) {
    out << "  " << Fixed(f.h100_equivalent_gpu_hours, 1) << " H100-equivalent GPU-hours" << per << " (by " << f.equivalence_method
        << "; table below)\n";
  }
  out << "\n";

  out << Bold("TOP WASTERS", color) << " (by idle spend)\n";
  Table top;
  top.columns = {"WORKLOAD", "TEAM", "GPUS", "COST" + std::string(r.live ? "/H" : ""), "USED", "IDLE", "IDLE/YEAR", "STATE", "ACTION"};
  std::size_t shown = 0;
  for (const auto& w : r.workloads) {
    if (shown++ >= 10) break;
    std::string action(analyze::GpuStateAction(w.diagnosis.state));
    if (action.size() > 60) action = action.substr(0, action.find(':') == std::string::npos ? 60 : action.find(':'));
    top.rows.push_back({w.namespace_name + "/" + w.name, w.team, Fixed(w.gpus, 2), Dollars(w.money.allocated()),
                        Pct(w.usage), Dollars(w.money.idle), Dollars(w.idle_annualized),
                        std::string(analyze::GpuStateName(w.diagnosis.state)), action});
  }
  out << RenderTable(top, color) << "\n";

  Table serving;
  serving.columns = {"SERVING WORKLOAD", "ENGINE", "REQ/H", "TOKENS/H", "$/1K REQ", "$/1M TOKENS", "KV P95", "KV TOKENS",
                     "TTFT P99", "TPOT P99"};
  // Latency in milliseconds; "-" when the window saw no request (unknown, not zero).
  const auto ms = [](double s) { return std::isnan(s) ? std::string("-") : Fixed(s * 1000.0, s < 0.1 ? 1 : 0) + " ms"; };
  std::set<std::string> bases;
  for (const auto& w : r.workloads) {
    if (!w.serving) continue;
    serving.rows.push_back({w.namespace_name + "/" + w.name, w.engine, Fixed(w.requests_per_hour, 0),
                            Fixed(w.tokens_per_hour, 0), w.micro_per_1k_requests >= 0 ? Dollars(w.micro_per_1k_requests) : "no requests",
                            w.micro_per_million_tokens >= 0 ? Dollars(w.micro_per_million_tokens) : "no tokens",
                            Pct(w.kv_p95), Fixed(w.kv_capacity_tokens, 0), ms(w.ttft_p99_s), ms(w.tpot_p99_s)});
    if (!w.latency_basis.empty()) bases.insert(w.latency_basis);
  }
  if (!serving.rows.empty()) {
    out << Bold("SERVING", color) << " (from the engines' own metrics; the framebuffer of a vLLM pod is its reservation)\n"
        << RenderTable(serving, color);
    if (!bases.empty()) {
      std::string basis;
      for (const std::string& b : bases) basis += (basis.empty() ? "" : ", ") + b;
      out << "  latency: vLLM's histograms, " << basis << "; p99 interpolated in its bucket as histogram_quantile does; "
          << "- = no request\n";
    }
    out << "\n";
  }

  out << Bold("SHOWBACK BY TEAM", color) << "\n";
  Table teams;
  teams.columns = {"TEAM", "COST", "USED", "IDLE", "GPU-HOURS", "WORKLOADS"};
  for (const auto& t : r.teams) {
    teams.rows.push_back({t.key, Dollars(t.cost), Dollars(t.used), Dollars(t.idle), Fixed(t.gpu_hours, 1), std::to_string(t.workloads)});
  }
  teams.rows.push_back({"(unallocated)", Dollars(f.unallocated), "-", "-", "-", "-"});
  out << RenderTable(teams, color) << "\n";

  out << Bold("ATTRIBUTION", color) << "  ";
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    out << (i ? ", " : "") << r.classes[i].source << " " << Pct(r.classes[i].share);
  }
  out << " of allocated cost\n  " << r.policy << "\n  " << r.usage_definition << "\n\n";

  if (!r.findings.empty()) {
    out << Bold("FINDINGS", color) << "\n";
    for (const auto& fd : r.findings) {
      out << "  [" << fd.kind << "] " << fd.subject << ": " << fd.text << "\n      -> " << fd.action << "\n";
    }
    out << "\n";
  }
  if (!r.equivalence.empty()) {
    out << Bold("H100 EQUIVALENCE", color) << " (1 H100 SXM GPU-hour = 1)\n";
    Table eq;
    eq.columns = {"GPU MODEL", "GPU-HOURS", "FACTOR", "BASIS"};
    for (const auto& e : r.equivalence) eq.rows.push_back({e.model, Fixed(e.gpu_hours, 1), Fixed(e.factor, 3), e.basis});
    out << RenderTable(eq, color) << "\n";
  }
  out << Bold("SIGNAL HEALTH", color) << "\n";
  Table nodes;
  nodes.columns = {"NODE", "INSTANCE", "GPUS", "MIG", "$/GPU-H", "COMPUTE SIGNAL", "NO SAMPLES", "PRICE RULE"};
  for (const auto& n : r.nodes) {
    nodes.rows.push_back({n.name, n.instance_type.empty() ? "-" : n.instance_type, std::to_string(n.gpus),
                          std::to_string(n.mig_instances),
                          n.unpriced_reason.empty() ? Dollars(n.price_micro_per_gpu_hour) : "unpriced",
                          n.compute_source, std::to_string(n.devices_without_samples),
                          n.unpriced_reason.empty() ? n.price_rule : n.unpriced_reason});
  }
  out << RenderTable(nodes, color);
  if (!r.warnings.empty()) {
    out << "\n" << Bold("WARNINGS", color) << "\n";
    for (const auto& w : r.warnings) out << "  " << w << "\n";
  }
  return out.str();
}

nlohmann::json ReportJson(const Report& r, const model::Plan* plan) {
  using nlohmann::json;
  const analyze::Fleet& f = r.fleet;
  json doc;
  doc["window"] = {{"start", r.start_unix_s}, {"end", r.end_unix_s}, {"hours", f.window_hours}, {"live", r.live}};
  doc["sources"] = {{"telemetry", r.telemetry_source}, {"cluster", r.cluster_source}};
  doc["policy"] = {{"sharedGpus", r.policy}, {"usage", r.usage_definition}};
  doc["thresholds"] = {{"computeHigh", r.thresholds.compute_high}, {"fbHigh", r.thresholds.fb_high},
                       {"dramHigh", r.thresholds.dram_high}, {"idleCompute", r.thresholds.idle_compute},
                       {"idleShare", r.thresholds.idle_share}};
  doc["fleet"] = {{"nodes", f.nodes}, {"gpus", f.gpus}, {"migInstances", f.mig_instances},
                  {"unknownNodeGpus", f.unknown_node_gpus}, {"unpricedGpus", f.unpriced_gpus},
                  {"costMicroUsd", f.cost}, {"usedMicroUsd", f.used}, {"idleMicroUsd", f.idle},
                  {"unallocatedMicroUsd", f.unallocated}, {"unmeasuredMicroUsd", f.unmeasured},
                  {"utilization", f.utilization}, {"unusedAnnualizedMicroUsd", f.unused_annualized},
                  {"gpuHours", f.gpu_hours}, {"usedGpuHours", f.used_gpu_hours}, {"recoverableMicroUsd", nullptr},
                  {"h100EquivalentGpuHours", Num(f.h100_equivalent_gpu_hours)}, {"equivalenceMethod", f.equivalence_method}};
  json equivalence = json::array();
  for (const auto& e : r.equivalence) {
    equivalence.push_back({{"model", e.model}, {"gpuHours", e.gpu_hours}, {"factor", Num(e.factor)}, {"basis", e.basis}});
  }
  doc["equivalence"] = equivalence;
  json workloads = json::array();
  for (const auto& w : r.workloads) {
    json signals = json::object();
    for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) {
      const auto& s = w.diagnosis.signals[k];
      signals[std::string(model::UsageSignalName(static_cast<model::UsageSignal>(k)))] = {
          {"count", s.count}, {"p50", Num(s.p50)}, {"p95", Num(s.p95)}, {"p99", Num(s.p99)}, {"max", Num(s.max)}};
    }
    workloads.push_back({{"namespace", w.namespace_name}, {"kind", w.kind}, {"name", w.name}, {"team", w.team},
                         {"teamRule", w.team_rule}, {"engine", w.engine}, {"class", w.workload_class},
                         {"classReason", w.class_reason}, {"attribution", w.source}, {"pods", w.pods},
                         {"gpus", w.gpus}, {"gpuHours", w.gpu_hours}, {"usage", Num(w.usage)},
                         {"assumedShare", w.assumed_share}, {"money", MoneyJson(w.money)},
                         {"idleAnnualizedMicroUsd", w.idle_annualized},
                         {"state", analyze::GpuStateName(w.diagnosis.state)}, {"action", w.diagnosis.action},
                         {"evidence", w.diagnosis.evidence}, {"signals", signals},
                         {"serving", w.serving ? json{{"requestsPerHour", Num(w.requests_per_hour)},
                                                      {"tokensPerHour", Num(w.tokens_per_hour)},
                                                      {"microUsdPer1kRequests", w.micro_per_1k_requests >= 0 ? json(w.micro_per_1k_requests) : json(nullptr)},
                                                      {"microUsdPerMillionTokens", w.micro_per_million_tokens >= 0 ? json(w.micro_per_million_tokens) : json(nullptr)},
                                                      {"kvCacheP95", Num(w.kv_p95)}, {"kvCacheMax", Num(w.kv_max)},
                                                      {"kvCapacityTokens", Num(w.kv_capacity_tokens)},
                                                      {"preemptions", w.preemptions},
                                                      {"latency", {{"ttftP50Seconds", Num(w.ttft_p50_s)},
                                                                   {"ttftP99Seconds", Num(w.ttft_p99_s)},
                                                                   {"tpotP50Seconds", Num(w.tpot_p50_s)},
                                                                   {"tpotP99Seconds", Num(w.tpot_p99_s)},
                                                                   {"e2eP50Seconds", Num(w.e2e_p50_s)},
                                                                   {"e2eP99Seconds", Num(w.e2e_p99_s)},
                                                                   {"requests", w.latency_requests},
                                                                   {"basis", w.latency_basis.empty() ? json(nullptr) : json(w.latency_basis)}}}}
                                               : json(nullptr)}});
  }
  doc["workloads"] = workloads;
  auto showback = [](const std::vector<analyze::ShowbackRow>& rows) {
    json a = json::array();
    for (const auto& s : rows) {
      a.push_back({{"key", s.key}, {"costMicroUsd", s.cost}, {"usedMicroUsd", s.used}, {"idleMicroUsd", s.idle},
                   {"gpuHours", s.gpu_hours}, {"workloads", s.workloads}});
    }
    return a;
  };
  doc["teams"] = showback(r.teams);
  doc["namespaces"] = showback(r.namespaces);
  json classes = json::array();
  for (const auto& c : r.classes) {
    classes.push_back({{"source", c.source}, {"costMicroUsd", c.cost}, {"share", c.share}, {"workloads", c.workloads}});
  }
  doc["attribution"] = classes;
  json nodes = json::array();
  for (const auto& n : r.nodes) {
    nodes.push_back({{"name", n.name}, {"instanceType", n.instance_type}, {"gpuModel", n.gpu_model},
                     {"capacityType", n.capacity_type}, {"gpus", n.gpus}, {"migInstances", n.mig_instances},
                     {"unseenGpus", n.unseen_gpus}, {"priceMicroUsdPerGpuHour", n.price_micro_per_gpu_hour},
                     {"priceRule", n.price_rule}, {"unpricedReason", n.unpriced_reason}, {"costMicroUsd", n.cost},
                     {"unallocatedMicroUsd", n.unallocated}, {"usedMicroUsd", n.used}, {"idleMicroUsd", n.idle},
                     {"computeSource", n.compute_source}, {"devicesWithoutSamples", n.devices_without_samples}});
  }
  doc["nodes"] = nodes;
  json findings = json::array();
  for (const auto& fd : r.findings) {
    findings.push_back({{"kind", fd.kind}, {"subject", fd.subject}, {"text", fd.text}, {"action", fd.action},
                        {"costMicroUsd", fd.cost}});
  }
  doc["findings"] = findings;
  doc["warnings"] = r.warnings;
  if (plan != nullptr) {
    doc["recoverable"] = {{"planId", plan->id}, {"actions", plan->actions.size()}, {"gpusFreed", plan->savings.gpus_freed},
                          {"nodesReleased", plan->savings.nodes_released}, {"microUsdPerHour", plan->savings.micro_per_hour},
                          {"annualizedMicroUsd", plan->savings.annualized}};
  }
  return doc;
}

}  // namespace gpuwise::cli
