#include "analyze/cost.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

namespace gpuwise::analyze {

std::vector<std::int64_t> SplitExact(std::int64_t total, const std::vector<double>& weights) {
  std::vector<std::int64_t> parts(weights.size(), 0);
  if (weights.empty() || total == 0) return parts;
  double sum = 0;
  for (double w : weights) sum += (w > 0 && std::isfinite(w)) ? w : 0;
  if (!(sum > 0)) {
    parts[0] = total;
    return parts;
  }
  std::vector<std::pair<double, std::size_t>> remainders;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double w = (weights[i] > 0 && std::isfinite(weights[i])) ? weights[i] : 0;
    const long double exact = static_cast<long double>(total) * w / sum;
    const auto floor_part = static_cast<std::int64_t>(std::floor(exact));
    parts[i] = floor_part;
    given += floor_part;
    remainders.emplace_back(static_cast<double>(exact - floor_part), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < total && k < remainders.size(); ++k, ++given) ++parts[remainders[k].second];
  return parts;
}

double DeviceUsage(const model::Device& device, const model::DeviceInterval& iv) {
  double u = NAN;
  if (!std::isnan(iv.compute)) u = std::clamp(iv.compute, 0.0, 1.0);
  const double fb_bytes = iv.fb_reserved ? iv.fb_demand_bytes : iv.fb_used_bytes;
  if (!std::isnan(fb_bytes) && device.memory_bytes > 0) {
    const double fb = std::clamp(fb_bytes / device.memory_bytes, 0.0, 1.0);
    u = std::isnan(u) ? fb : std::max(u, fb);
  }
  return u;
}

std::int64_t Annualize(std::int64_t micro, double window_hours) {
  if (!(window_hours > 0)) return 0;
  return static_cast<std::int64_t>(std::llround(static_cast<long double>(micro) * (365.0L * 24.0L) / window_hours));
}

namespace {

constexpr std::int64_t kDay = 86400;

std::int64_t DayOf(std::int64_t t) { return (t >= 0 ? t / kDay : (t - kDay + 1) / kDay) * kDay; }

struct Ledger {
  const model::Snapshot& s;
  const CostOptions& opt;
  CostLedger out;
  std::map<std::tuple<std::int64_t, int, int>, CostRow> rows, interval_rows;

  Ledger(const model::Snapshot& snap, const CostOptions& options) : s(snap), opt(options) {
    out.workloads.resize(s.workloads.size());
    out.nodes.resize(s.nodes.size());
  }

  bool Priced(int node) const {
    return node >= 0 && s.nodes[static_cast<std::size_t>(node)].unpriced_reason.empty() &&
           s.nodes[static_cast<std::size_t>(node)].price_micro_per_gpu_hour > 0;
  }

  // Adds to the day row (and the interval row when asked).
  void AddRow(int interval, int node, int workload, std::int64_t cost, std::int64_t used, std::int64_t idle, double gpu_hours) {
    const std::int64_t start = std::max(s.IntervalStart(interval), s.start_unix_s);
    auto add = [&](std::map<std::tuple<std::int64_t, int, int>, CostRow>& m, std::int64_t key) {
      CostRow& r = m[{key, node, workload}];
      r.day_start_unix_s = key;
      r.node = node;
      r.workload = workload;
      r.cost += cost;
      r.used += used;
      r.idle += idle;
      r.gpu_hours += gpu_hours;
    };
    add(rows, DayOf(start));
    if (opt.interval_rows) add(interval_rows, start);
  }

  const model::DeviceInterval& Usage(std::size_t device, int interval) const {
    return s.usage[device * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(interval)];
  }

  // One device in one interval, costing `cost` micro-USD (of `gpu_cost` for its GPU; slices of total for MIG).
  void Device(std::size_t d, int i, std::int64_t cost, double hours, std::int64_t secs, std::int64_t price,
              std::int64_t gpu_cost, int slices, int total_slices) {
    const model::Device& dev = s.devices[d];
    const model::DeviceInterval& iv = Usage(d, i);
    std::vector<double> w;
    double total_w = 0;
    for (const model::DeviceHold& h : iv.holds) {
      w.push_back(std::max(0.0, h.weight()));
      total_w += w.back();
    }
    const double held = std::min(total_w, 1.0);
    const double scale = total_w > 1.0 ? 1.0 / total_w : 1.0;
    const std::int64_t allocated = std::llround(static_cast<long double>(cost) * held);
    const std::vector<std::int64_t> parts = SplitExact(allocated, w);
    const std::int64_t unallocated = cost - allocated;
    const double u = DeviceUsage(dev, iv);
    const double ratio = std::isnan(u) || held <= 0 ? 0.0 : std::min(u, held) / held;
    const double used_share = std::isnan(u) ? 0.0 : std::min(u, held);
    if (dev.node >= 0) {
      NodeCost& nc = out.nodes[static_cast<std::size_t>(dev.node)];
      nc.unallocated += unallocated;
      if (iv.holds.empty() && !dev.is_mig()) nc.idle_gpu_hours += hours;
    }
    out.unallocated += unallocated;
    if (unallocated > 0) AddRow(i, dev.node, -1, unallocated, 0, 0, dev.gpu_share * hours * (1.0 - held));
    for (std::size_t k = 0; k < iv.holds.size(); ++k) {
      const model::DeviceHold& h = iv.holds[k];
      const int wl = s.pod_workload[static_cast<std::size_t>(h.pod)];
      Money m;
      m.used = std::llround(static_cast<long double>(parts[k]) * ratio);
      m.idle = parts[k] - m.used;
      if (std::isnan(u)) m.unmeasured = m.idle;
      const double gh = w[k] * scale * dev.gpu_share * hours;
      WorkloadCost& wc = out.workloads[static_cast<std::size_t>(wl)];
      wc.money.Add(m);
      wc.gpu_hours += gh;
      wc.used_gpu_hours += held > 0 ? gh * used_share / held : 0;
      if (h.how == model::HoldHow::kAssumed) wc.assumed_gpu_hours += gh;
      out.allocated.Add(m);
      if (dev.node >= 0) out.nodes[static_cast<std::size_t>(dev.node)].allocated.Add(m);
      AddRow(i, dev.node, wl, parts[k], m.used, m.idle, gh);
      if (opt.on_hold) {
        HoldCost hc;
        hc.device = static_cast<int>(d);
        hc.interval = i;
        hc.hold = static_cast<int>(k);
        hc.pod = h.pod;
        hc.seconds = secs;
        hc.price = price;
        hc.gpu_cost = gpu_cost;
        hc.device_cost = cost;
        hc.slices = slices;
        hc.total_slices = total_slices;
        hc.weight = w[k];
        hc.total_weight = total_w;
        hc.held = held;
        hc.usage = u;
        hc.part = parts[k];
        hc.money = m;
        hc.gpu_hours = gh;
        opt.on_hold(hc);
      }
    }
  }

  void Run() {
    const double live_hours = static_cast<double>(s.interval_s) / 3600.0;
    out.window_hours = s.live ? live_hours : static_cast<double>(s.end_unix_s - s.start_unix_s) / 3600.0;
    // Whole GPUs and MIG parents are the priced units.
    std::vector<int> parent_of(s.devices.size(), -1);
    for (std::size_t p = 0; p < s.mig_parents.size(); ++p) {
      for (int d : s.mig_parents[p].instances) parent_of[static_cast<std::size_t>(d)] = static_cast<int>(p);
    }
    auto seconds = [&](int i) { return s.live ? s.interval_s : s.IntervalSeconds(i); };
    auto gpu = [&](int node, const std::vector<int>& instances, int total_slices, std::size_t whole) {
      const bool priced = Priced(node);
      std::int64_t carry = 0;  // price x interval seconds stays far below 2^63 ($1,000/h x a 1-year interval: 3e16)
      for (int i = 0; i < s.intervals; ++i) {
        const std::int64_t price =
            priced ? s.nodes[static_cast<std::size_t>(node)].PriceAt(std::max(s.IntervalStart(i), s.start_unix_s)) : 0;
        const std::int64_t secs = seconds(i);
        const double hours = static_cast<double>(secs) / 3600.0;
        const std::int64_t num = price * secs + carry;
        const auto cost = static_cast<std::int64_t>(num / 3600);
        carry = num % 3600;
        if (!priced) out.unpriced_gpu_hours_x1000 += std::llround(hours * 1000.0);
        else {
          out.gpu_cost += cost;
          out.gpu_hours += hours;
        }
        if (node >= 0) {
          out.nodes[static_cast<std::size_t>(node)].cost += cost;
          if (priced) out.nodes[static_cast<std::size_t>(node)].gpu_hours += hours;
        }
        if (instances.empty()) {
          Device(whole, i, cost, hours, secs, price, cost, 0, 0);
          continue;
        }
        std::vector<double> w;
        int covered = 0;
        for (int d : instances) {
          const int g = s.devices[static_cast<std::size_t>(d)].compute_slices;
          w.push_back(g);
          covered += g;
        }
        w.push_back(std::max(0, total_slices - covered));
        const std::vector<std::int64_t> parts = SplitExact(cost, w);
        for (std::size_t k = 0; k < instances.size(); ++k) {
          Device(static_cast<std::size_t>(instances[k]), i, parts[k], hours, secs, price, cost,
                 s.devices[static_cast<std::size_t>(instances[k])].compute_slices, total_slices);
        }
        const std::int64_t uncovered = parts.back();
        out.unallocated += uncovered;
        if (node >= 0) out.nodes[static_cast<std::size_t>(node)].unallocated += uncovered;
        if (uncovered > 0) AddRow(i, node, -1, uncovered, 0, 0, hours * w.back() / std::max(1, total_slices));
      }
    };
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      if (s.devices[d].is_mig()) continue;
      gpu(s.devices[d].node, {}, 7, d);
    }
    for (const model::MigParent& p : s.mig_parents) gpu(p.node, p.instances, p.total_slices, 0);
    for (auto& [key, row] : rows) out.rows.push_back(row);
    for (auto& [key, row] : interval_rows) out.interval_rows.push_back(row);
  }
};

}  // namespace

CostLedger ComputeCosts(const model::Snapshot& snapshot, const CostOptions& options) {
  Ledger l(snapshot, options);
  l.Run();
  return std::move(l.out);
}

}  // namespace gpuwise::analyze
