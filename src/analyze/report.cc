#include "analyze/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "analyze/workload_class.h"
#include "base/units.h"

namespace gpuwise::analyze {
namespace {

std::string Fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
std::string Usd(std::int64_t micro) { return base::FormatDollars(micro); }

void AddTo(ShowbackRow& r, const WorkloadCost& c) {
  r.cost += c.money.allocated();
  r.used += c.money.used;
  r.idle += c.money.idle;
  r.gpu_hours += c.gpu_hours;
  ++r.workloads;
}

std::vector<ShowbackRow> Sorted(std::map<std::string, ShowbackRow> m) {
  std::vector<ShowbackRow> out;
  for (auto& [k, r] : m) {
    r.key = k;
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const ShowbackRow& a, const ShowbackRow& b) { return a.cost > b.cost; });
  return out;
}

bool AliveAt(const model::Pod& p, std::int64_t t) {
  const std::int64_t from = p.start_unix_s > 0 ? p.start_unix_s : p.created_unix_s;
  if (from > t) return false;
  if (p.end_unix_s > 0 && p.end_unix_s <= t) return false;
  return p.phase != "Succeeded" && p.phase != "Failed";
}

std::string ResourceNames(const model::GpuRequest& g) {
  std::vector<std::string> r;
  if (g.gpus > 0) r.push_back("nvidia.com/gpu");
  if (g.shared > 0) r.push_back("nvidia.com/gpu.shared");
  for (const auto& [profile, n] : g.mig) r.push_back("nvidia.com/mig-" + profile);
  if (g.hami_gpumem_mib > 0 || g.hami_gpucores_percent > 0 || g.hami_gpumem_percent > 0) r.push_back("HAMi gpumem/gpucores");
  if (g.kai_fraction > 0 || g.kai_memory_mib > 0) r.push_back("KAI gpu-fraction");
  for (const auto& [name, v] : g.other) r.push_back(name);
  std::string out;
  for (const auto& s : r) out += (out.empty() ? "" : " + ") + s;
  return out.empty() ? "gpu" : out;
}

// Unit costs and KV demand from a serving engine's counters. A live view's counters cover a few scrapes: scaled to
// an hour, as its costs are. A window's counters cover the window.
void AddServing(const model::ServingUsage& sv, double window_hours, bool live, WorkloadRow* row) {
  row->serving = true;
  double per_hour = NAN;
  if (live) per_hour = sv.seconds > 0 ? 3600.0 / sv.seconds : NAN;
  else if (window_hours > 0) per_hour = 1.0 / window_hours;
  row->requests_per_hour = sv.requests * per_hour;
  row->tokens_per_hour = (sv.prompt_tokens + sv.generation_tokens) * per_hour;
  const double held_per_hour = static_cast<double>(row->money.allocated()) / (live ? 1.0 : std::max(window_hours, 1e-9));
  if (row->requests_per_hour > 0) row->micro_per_1k_requests = std::llround(held_per_hour / row->requests_per_hour * 1000.0);
  if (row->tokens_per_hour > 0) row->micro_per_million_tokens = std::llround(held_per_hour / row->tokens_per_hour * 1e6);
  if (sv.kv_usage.count() > 0) {
    row->kv_p95 = sv.kv_usage.Quantile(0.95);
    row->kv_max = sv.kv_usage.max();
  } else {
    row->kv_p95 = sv.kv_p95;
    row->kv_max = sv.kv_max;
  }
  row->kv_capacity_tokens = sv.kv_capacity_tokens;
  row->preemptions = sv.preemptions;
  row->ttft_p50_s = sv.ttft_p50_s;
  row->ttft_p99_s = sv.ttft_p99_s;
  row->tpot_p50_s = sv.tpot_p50_s;
  row->tpot_p99_s = sv.tpot_p99_s;
  row->e2e_p50_s = sv.e2e_p50_s;
  row->e2e_p99_s = sv.e2e_p99_s;
  row->latency_requests = sv.latency_requests;
  row->latency_basis = sv.latency_basis;
  // Beside the framebuffer (which a vLLM reservation fills): the KV cache actually in use.
  if (!std::isnan(row->kv_p95)) {
    std::string text = "KV cache in use p95 " + Fixed(row->kv_p95 * 100, 1) + "% (max " + Fixed(row->kv_max * 100, 1) + "%)";
    if (!std::isnan(sv.kv_capacity_tokens)) text += " of " + Fixed(sv.kv_capacity_tokens, 0) + " tokens per replica";
    if (!std::isnan(sv.gpu_memory_utilization)) {
      text += "; the engine reserves " + Fixed(sv.gpu_memory_utilization * 100, 0) + "% of the GPU (gpu_memory_utilization)";
    }
    row->diagnosis.evidence.push_back(text);
  }
  if (sv.preemptions > 0) {
    row->diagnosis.evidence.push_back(Fixed(sv.preemptions, 0) + " KV-cache preemptions: the cache is too small for the "
                                      "traffic (do not shrink its memory)");
  }
}

}  // namespace

base::Result<bool> MatchesSelector(const model::Labels& labels, std::string_view selector) {
  bool all = true;
  while (!selector.empty()) {
    const std::size_t comma = selector.find(',');
    std::string_view term = selector.substr(0, comma);
    selector = comma == std::string_view::npos ? std::string_view() : selector.substr(comma + 1);
    while (!term.empty() && term.front() == ' ') term.remove_prefix(1);
    while (!term.empty() && term.back() == ' ') term.remove_suffix(1);
    if (term.empty()) return base::InvalidArgument("label selector: empty term");
    if (term.find(" in ") != std::string_view::npos || term.find(" notin ") != std::string_view::npos ||
        term.find('(') != std::string_view::npos) {
      return base::InvalidArgument("label selector '" + std::string(term) + "': only k=v, k!=v, k and !k are supported");
    }
    bool negate = false;
    std::string key, value;
    bool has_value = false;
    if (auto ne = term.find("!="); ne != std::string_view::npos) {
      key = term.substr(0, ne);
      value = term.substr(ne + 2);
      has_value = negate = true;
    } else if (auto eq = term.find('='); eq != std::string_view::npos) {
      key = term.substr(0, eq);
      value = term.substr(term.substr(eq + 1).starts_with("=") ? eq + 2 : eq + 1);
      has_value = true;
    } else if (term.front() == '!') {
      key = term.substr(1);
      negate = true;
    } else {
      key = term;
    }
    if (key.empty()) return base::InvalidArgument("label selector '" + std::string(term) + "': no key");
    auto it = labels.find(key);
    bool match = has_value ? (it != labels.end() && it->second == value) : it != labels.end();
    if (negate) match = !match;
    all = all && match;
  }
  return all;
}

Report BuildReport(const model::Snapshot& s, const CostLedger& l, const ReportOptions& o) {
  Report r;
  r.start_unix_s = s.start_unix_s;
  r.end_unix_s = s.end_unix_s;
  r.live = s.live;
  r.telemetry_source = s.telemetry_source;
  r.cluster_source = s.cluster_source;
  r.policy = l.policy;
  r.usage_definition = l.usage_definition;
  r.thresholds = o.diagnosis;
  r.warnings = s.warnings;

  Fleet& f = r.fleet;
  f.window_hours = l.window_hours;
  f.cost = l.gpu_cost;
  f.used = l.allocated.used;
  f.idle = l.allocated.idle;
  f.unmeasured = l.allocated.unmeasured;
  f.unallocated = l.unallocated;
  f.utilization = l.gpu_cost > 0 ? static_cast<double>(l.allocated.used) / static_cast<double>(l.gpu_cost) : 0;
  f.unused_annualized = Annualize(l.allocated.idle + l.unallocated, l.window_hours);
  f.gpu_hours = l.gpu_hours;
  std::set<std::string> physical;
  for (const model::Device& d : s.devices) {
    if (d.node < 0) {
      if (physical.insert("?" + d.uuid).second) ++f.unknown_node_gpus;
      continue;
    }
    if (d.is_mig()) ++f.mig_instances;
    if (physical.insert(d.uuid.empty() ? d.key : d.uuid).second) {
      const auto& n = s.nodes[static_cast<std::size_t>(d.node)];
      if (!n.unpriced_reason.empty()) ++f.unpriced_gpus;
    }
  }
  f.gpus = static_cast<int>(physical.size()) - f.unknown_node_gpus;
  f.nodes = static_cast<int>(s.nodes.size());

  // Workloads.
  std::map<std::string, ShowbackRow> teams, namespaces;
  std::map<model::AttributionSource, ClassRow> classes;
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::Workload& wl = s.workloads[w];
    const WorkloadCost& c = l.workloads[w];
    f.used_gpu_hours += c.used_gpu_hours;
    ClassRow& cr = classes[wl.source];
    cr.source = std::string(model::AttributionSourceName(wl.source));
    cr.cost += c.money.allocated();
    ++cr.workloads;
    if (c.gpu_hours <= 0 && c.money.allocated() == 0) continue;  // pods on GPU nodes that hold no GPU
    if (!o.namespaces.empty() &&
        std::find(o.namespaces.begin(), o.namespaces.end(), wl.key.namespace_name) == o.namespaces.end()) {
      continue;
    }
    if (!o.label_selector.empty()) {
      const model::Labels empty;
      const model::Labels& labels = wl.pods.empty() ? empty : s.pods[static_cast<std::size_t>(wl.pods.front())].labels;
      base::Result<bool> m = MatchesSelector(labels, o.label_selector);
      if (!m.ok() || !*m) continue;
    }
    WorkloadRow row;
    row.workload = static_cast<int>(w);
    row.namespace_name = wl.key.namespace_name;
    row.kind = wl.key.kind;
    row.name = wl.key.name;
    row.team = wl.team;
    row.team_rule = wl.team_rule;
    row.source = std::string(model::AttributionSourceName(wl.source));
    row.pods = static_cast<int>(wl.pods.size());
    for (int p : wl.pods) {
      if (!s.pods[static_cast<std::size_t>(p)].engine.name.empty()) row.engine = s.pods[static_cast<std::size_t>(p)].engine.name;
    }
    if (!wl.pods.empty()) {
      const model::Pod& first = s.pods[static_cast<std::size_t>(wl.pods.front())];
      const model::Namespace* ns = nullptr;
      for (const model::Namespace& n : s.namespaces) {
        if (n.name == first.namespace_name) ns = &n;
      }
      const WorkloadClassification cls = ClassifyWorkload({first, ns});
      row.workload_class = std::string(model::WorkloadClassName(cls.workload_class));
      row.class_reason = cls.reason;
    }
    row.gpu_hours = c.gpu_hours;
    row.gpus = l.window_hours > 0 ? c.gpu_hours / l.window_hours : 0;
    row.money = c.money;
    row.usage = c.money.allocated() > 0 ? static_cast<double>(c.money.used) / static_cast<double>(c.money.allocated())
                                        : (c.gpu_hours > 0 ? c.used_gpu_hours / c.gpu_hours : NAN);
    row.assumed_share = c.gpu_hours > 0 ? c.assumed_gpu_hours / c.gpu_hours : 0;
    row.idle_annualized = Annualize(c.money.idle, l.window_hours);
    row.diagnosis = Diagnose(wl, o.diagnosis);
    if (wl.serving.Any()) AddServing(wl.serving, l.window_hours, s.live, &row);
    AddTo(teams[wl.team], c);
    AddTo(namespaces[wl.key.namespace_name], c);
    r.workloads.push_back(std::move(row));
  }
  std::stable_sort(r.workloads.begin(), r.workloads.end(), [](const WorkloadRow& a, const WorkloadRow& b) {
    if (a.money.idle != b.money.idle) return a.money.idle > b.money.idle;
    return std::tie(a.namespace_name, a.kind, a.name) < std::tie(b.namespace_name, b.kind, b.name);
  });
  r.teams = Sorted(std::move(teams));
  r.namespaces = Sorted(std::move(namespaces));
  const std::int64_t allocated = l.allocated.allocated();
  for (auto& [src, cr] : classes) {
    cr.share = allocated > 0 ? static_cast<double>(cr.cost) / static_cast<double>(allocated) : 0;
    r.classes.push_back(cr);
  }

  // Nodes.
  for (std::size_t n = 0; n < s.nodes.size(); ++n) {
    const model::SnapshotNode& sn = s.nodes[n];
    NodeRow row;
    row.node = static_cast<int>(n);
    row.name = sn.node.name;
    row.instance_type = sn.node.instance_type;
    row.gpu_model = sn.node.gpu_product;
    row.capacity_type = std::string(model::CapacityTypeName(sn.node.capacity_type));
    row.price_rule = sn.price_rule;
    row.unpriced_reason = sn.unpriced_reason;
    row.gpus = sn.gpus;
    row.price_micro_per_gpu_hour = sn.price_micro_per_gpu_hour;
    const NodeCost& nc = l.nodes[n];
    row.cost = nc.cost;
    row.unallocated = nc.unallocated;
    row.used = nc.allocated.used;
    row.idle = nc.allocated.idle;
    row.idle_gpu_hours = nc.idle_gpu_hours;
    std::set<std::string> sources;
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      const model::Device& dev = s.devices[d];
      if (dev.node != static_cast<int>(n)) continue;
      if (dev.is_mig()) ++row.mig_instances;
      if (!dev.seen) ++row.unseen_gpus;
      sources.insert(dev.compute_source.empty() ? "none" : dev.compute_source);
      std::uint32_t samples = 0;
      for (int i = 0; i < s.intervals; ++i) samples += s.usage[d * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(i)].samples;
      if (samples == 0) ++row.devices_without_samples;
    }
    row.compute_source = sources.empty() ? "none" : sources.size() == 1 ? *sources.begin() : "mixed";
    r.nodes.push_back(std::move(row));
  }

  // Findings: idle workloads and forgotten endpoints.
  for (const WorkloadRow& w : r.workloads) {
    if (w.diagnosis.state != GpuState::kIdle) continue;
    Finding fd;
    fd.kind = w.engine.empty() ? "idle-workload" : "forgotten-endpoint";
    fd.subject = w.namespace_name + "/" + w.kind + "/" + w.name;
    fd.text = (w.engine.empty() ? "" : "a " + w.engine + " endpoint: ") + "held " + Fixed(w.gpus, 2) +
              " GPU-equivalents, compute below " + Fixed(o.diagnosis.idle_compute * 100, 0) + "% in " +
              Fixed(w.diagnosis.idle_sample_share * 100, 0) + "% of samples; it holds " + Usd(w.money.allocated()) +
              (r.live ? " per hour" : " in the window") + " (" + Usd(Annualize(w.money.allocated(), l.window_hours)) + " a year)";
    fd.action = std::string(GpuStateAction(GpuState::kIdle));
    fd.cost = w.money.allocated();
    r.findings.push_back(std::move(fd));
  }
  // Unallocated GPUs per node.
  for (std::size_t n = 0; n < s.nodes.size(); ++n) {
    int idle_gpus = 0, whole = 0;
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      const model::Device& dev = s.devices[d];
      if (dev.node != static_cast<int>(n) || dev.is_mig()) continue;
      ++whole;
      int empty = 0;
      for (int i = 0; i < s.intervals; ++i) {
        empty += s.usage[d * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(i)].holds.empty() ? 1 : 0;
      }
      if (s.intervals > 0 && empty >= o.unallocated_share * s.intervals) ++idle_gpus;
    }
    if (idle_gpus == 0) continue;
    Finding fd;
    fd.kind = "unallocated-gpu";
    fd.subject = s.nodes[n].node.name;
    fd.text = std::to_string(idle_gpus) + " of " + std::to_string(whole) + " whole GPUs held by no pod for at least " +
              Fixed(o.unallocated_share * 100, 0) + "% of the window; the node's unallocated GPU cost is " + Usd(l.nodes[n].unallocated);
    fd.action = "scale the node group down, or schedule pending GPU work here";
    fd.cost = l.nodes[n].unallocated;
    r.findings.push_back(std::move(fd));
  }
  // GPU nodes kept up by CPU-only pods (at the end of the window): every GPU free, yet non-DaemonSet pods run.
  for (std::size_t n = 0; n < s.nodes.size(); ++n) {
    const std::string& name = s.nodes[n].node.name;
    bool any_gpu_pod = false;
    std::vector<std::string> cpu_pods;
    for (const model::Pod& p : s.pods) {
      if (p.node != name || !AliveAt(p, s.end_unix_s - 1)) continue;
      if (p.RequestsGpu()) any_gpu_pod = true;
      else if (p.Top().kind != "DaemonSet" && p.Top().kind != "Node") cpu_pods.push_back(p.namespace_name + "/" + p.name);
    }
    if (any_gpu_pod || cpu_pods.empty()) continue;
    bool tainted = false;
    for (const model::Taint& t : s.nodes[n].node.taints) tainted |= t.key == "nvidia.com/gpu" && t.effect == "NoSchedule";
    Finding fd;
    fd.kind = "cpu-only-node";
    fd.subject = name;
    fd.text = "no pod holds a GPU, but " + std::to_string(cpu_pods.size()) + " CPU-only pod(s) keep the node up (" + cpu_pods.front() +
              (cpu_pods.size() > 1 ? ", ..." : "") + ")";
    fd.action = tainted ? "the node is tainted; the pods tolerate nvidia.com/gpu: remove that toleration"
                        : "taint GPU nodes nvidia.com/gpu=present:NoSchedule (GPU pods get the toleration from the GPU "
                          "Operator / an admission default) so CPU-only pods go elsewhere and the autoscaler can remove the node";
    fd.cost = l.nodes[n].cost;
    r.findings.push_back(std::move(fd));
  }
  // Pending GPU demand, by resource.
  std::map<std::string, std::pair<int, std::string>> pending;
  for (const model::Pod& p : s.pods) {
    if (!p.node.empty() || p.phase != "Pending" || !p.RequestsGpu() || !AliveAt(p, s.end_unix_s - 1)) continue;
    auto& e = pending[ResourceNames(p.GpuTotal())];
    ++e.first;
    if (e.second.empty()) e.second = p.unschedulable_message;
  }
  for (const auto& [res, e] : pending) {
    Finding fd;
    fd.kind = "pending-gpu";
    fd.subject = res;
    fd.text = std::to_string(e.first) + " pod(s) wait for " + res + (e.second.empty() ? "" : " (" + e.second + ")");
    fd.action = "free capacity elsewhere (idle holders above) or add nodes of that kind";
    r.findings.push_back(std::move(fd));
  }
  // Signal health.
  for (const NodeRow& n : r.nodes) {
    if (n.compute_source == "sm_active" && n.devices_without_samples == 0) continue;
    Finding fd;
    fd.kind = "signal-gap";
    fd.subject = n.name;
    if (n.devices_without_samples > 0) {
      fd.text = std::to_string(n.devices_without_samples) + " device(s) without any exporter sample" +
                (n.unseen_gpus > 0 ? " (" + std::to_string(n.unseen_gpus) + " GPUs the node has that no exporter reports)" : "");
      fd.action = "check the dcgm-exporter pod on this node (gpuwise doctor)";
    } else {
      fd.text = "compute activity comes from " + n.compute_source + ", not DCGM_FI_PROF_SM_ACTIVE";
      fd.action = "enable the DCGM profiling counters (gpuwise doctor prints the counters-CSV lines)";
    }
    r.findings.push_back(std::move(fd));
  }
  // H100-equivalent GPU-hours per GPU model (the node's GFD product, else the exporter's model name).
  if (o.prices != nullptr) {
    std::map<std::string, EquivalenceRow> rows;
    for (std::size_t n = 0; n < s.nodes.size(); ++n) {
      std::string gpu_model = s.nodes[n].node.gpu_product;
      if (gpu_model.empty()) {
        for (const model::Device& d : s.devices) {
          if (d.node == static_cast<int>(n) && !d.model_name.empty()) gpu_model = d.model_name;
        }
      }
      const std::string key = model::NormalizeGpuModel(gpu_model);
      EquivalenceRow& row = rows[key];
      row.model = key;
      row.gpu_hours += l.nodes[n].gpu_hours;
    }
    f.h100_equivalent_gpu_hours = 0;
    f.equivalence_method = std::string(model::EquivalenceMethodName(o.equivalence));
    for (auto& [key, row] : rows) {
      const model::H100Equivalence e = o.prices->H100Equivalent(key, o.equivalence, s.end_unix_s - 1);
      row.basis = e.known() ? e.basis : e.unknown_reason;
      if (e.known()) {
        row.factor = e.factor;
        f.h100_equivalent_gpu_hours += row.gpu_hours * e.factor;
      }
      r.equivalence.push_back(row);
    }
  }

  // Heatmap: per node and interval.
  Heatmap& h = r.heatmap;
  for (int i = 0; i < s.intervals; ++i) h.column_starts.push_back(std::max(s.IntervalStart(i), s.start_unix_s));
  const std::size_t cols = static_cast<std::size_t>(s.intervals);
  h.usage.assign(s.nodes.size() * cols, NAN);
  h.held.assign(s.nodes.size() * cols, 0.0);
  std::vector<double> weight(s.nodes.size() * cols, 0.0), capacity(s.nodes.size(), 0.0);
  for (const model::SnapshotNode& n : s.nodes) h.rows.push_back(n.node.name);
  for (std::size_t d = 0; d < s.devices.size(); ++d) {
    const model::Device& dev = s.devices[d];
    if (dev.node < 0) continue;
    const auto row = static_cast<std::size_t>(dev.node);
    capacity[row] += dev.gpu_share;
    for (std::size_t i = 0; i < cols; ++i) {
      const model::DeviceInterval& iv = s.usage[d * cols + i];
      double held = 0;
      for (const model::DeviceHold& hd : iv.holds) held += hd.weight();
      h.held[row * cols + i] += std::min(1.0, held) * dev.gpu_share;
      const double u = DeviceUsage(dev, iv);
      if (std::isnan(u)) continue;
      double& cell = h.usage[row * cols + i];
      cell = (std::isnan(cell) ? 0.0 : cell) + u * dev.gpu_share;
      weight[row * cols + i] += dev.gpu_share;
    }
  }
  for (std::size_t k = 0; k < h.usage.size(); ++k) {
    if (weight[k] > 0) h.usage[k] /= weight[k];
    const double cap = capacity[k / std::max<std::size_t>(1, cols)];
    h.held[k] = cap > 0 ? h.held[k] / cap : 0;
  }

  if (f.unknown_node_gpus > 0) {
    Finding fd;
    fd.kind = "unknown-node";
    fd.subject = std::to_string(f.unknown_node_gpus) + " GPUs";
    fd.text = std::to_string(f.unknown_node_gpus) + " GPU(s) report telemetry but no node is known for them: counted, not priced";
    fd.action = "run the exporter with its Hostname label, or give gpuwise access to the exporter pods";
    r.findings.push_back(std::move(fd));
  }
  return r;
}

std::vector<ShowbackRow> ShowbackBy(const model::Snapshot& s, const CostLedger& l, std::string_view key) {
  std::map<std::string, ShowbackRow> rows;
  const bool annotation = key.starts_with("annotation:");
  std::string k(key.substr(key.find(':') == std::string_view::npos ? 0 : key.find(':') + 1));
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::Workload& wl = s.workloads[w];
    std::string value = "(none)";
    if (!wl.pods.empty()) {
      const model::Pod& p = s.pods[static_cast<std::size_t>(wl.pods.front())];
      const auto& m = annotation ? p.annotations : p.labels;
      if (auto it = m.find(k); it != m.end()) value = it->second;
    }
    if (l.workloads[w].gpu_hours <= 0 && l.workloads[w].money.allocated() == 0) continue;
    AddTo(rows[value], l.workloads[w]);
  }
  return Sorted(std::move(rows));
}

}  // namespace gpuwise::analyze
