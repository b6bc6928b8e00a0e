#include "optimize/fractional/packing.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace gpuwise::optimize::fractional {
namespace {

// A unit type: what a pod takes of a node. "gpu:4" (an exclusive pod of 4 GPUs), "mig:3g.40gb", "mps:4".
std::string UnitKey(const UnitChoice& u) {
  switch (u.kind) {
    case UnitKind::kWholeGpu: return "gpu:" + std::to_string(u.gpus);
    case UnitKind::kMig: return "mig:" + u.mig_profile;
    case UnitKind::kMps: return "mps:" + std::to_string(u.replicas);
    case UnitKind::kTimeSlice: return "ts";
    case UnitKind::kFraction: return "fraction";
  }
  return "?";
}

// Units whose replicas must sit on different nodes (the device plugin chooses the GPU inside a node, so only
// different nodes guarantee different GPUs).
bool Spread(const std::string& key) { return key.starts_with("mig:") || key.starts_with("mps:"); }

struct Pattern {
  NodeConfig config;
  std::map<std::string, int> capacity;  // unit key -> how many
};

// Exclusive splits of `gpus` GPUs into the demanded pod sizes: every maximal multiset (no further size fits).
void ExclusivePatterns(int gpus, const std::vector<int>& sizes, std::vector<Pattern>& out) {
  std::vector<int> counts(sizes.size(), 0);
  std::function<void(std::size_t, int)> rec = [&](std::size_t i, int left) {
    if (i == sizes.size()) {
      bool maximal = true;
      for (int s : sizes) maximal &= s > left;
      if (!maximal) return;
      Pattern p;
      p.config.kind = UnitKind::kWholeGpu;
      for (std::size_t k = 0; k < sizes.size(); ++k) {
        if (counts[k] > 0) p.capacity["gpu:" + std::to_string(sizes[k])] = counts[k];
      }
      if (!p.capacity.empty()) out.push_back(std::move(p));
      return;
    }
    for (int c = left / sizes[i]; c >= 0; --c) {
      counts[i] = c;
      rec(i + 1, left - c * sizes[i]);
    }
    counts[i] = 0;
  };
  rec(0, gpus);
}

// The capacity a config gives a node, per unit key.
std::map<std::string, int> Capacity(const NodeConfig& c, int gpus) {
  std::map<std::string, int> cap;
  switch (c.kind) {
    case UnitKind::kWholeGpu: cap["gpu:1"] = gpus; break;  // residual splits are built separately
    case UnitKind::kMig: {
      const int mig = c.mig_gpus > 0 ? std::min(c.mig_gpus, gpus) : gpus;
      for (const auto& [p, n] : c.layout) cap["mig:" + p] = n * mig;
      if (mig < gpus) cap["gpu:1"] = gpus - mig;  // MIG off on the rest: whole GPUs (mixed strategy)
      break;
    }
    case UnitKind::kMps: cap["mps:" + std::to_string(c.replicas)] = c.replicas * gpus; break;
    case UnitKind::kTimeSlice:
    case UnitKind::kFraction: break;
  }
  return cap;
}

bool MigAllowed(const PackNode& n, const PackOptions& o) {
  if (n.mig == nullptr) return false;
  // Under the single strategy a re-laid node would advertise its slices as nvidia.com/gpu: pods could not ask for a
  // profile by name. MIG plans need the mixed strategy, or the change to it.
  return n.mig_strategy == "mixed" || o.allow_strategy_change;
}

// MPS shares: never on MIG-enabled GPUs (the device plugin refuses), so only on a node that gives whole GPUs now,
// and only where MIG is not allowed: where it is, a MIG slice of the same size isolates memory bandwidth, L2 and
// faults too, and offering both would only slow the MIP down.
bool MpsAllowed(const PackNode& n, const PackOptions& o) {
  return n.current.kind == UnitKind::kWholeGpu && !MigAllowed(n, o);
}

// Nodes that can be configured freely and are interchangeable: same model, GPUs, price, MIG catalog and strategy.
struct NodeType {
  std::vector<int> nodes;
  std::vector<Pattern> patterns;
  bool pinned = false;  // one node hosting pinned pods: its config is kept, its leftover capacity offered
};

}  // namespace

std::string NodeConfig::Describe() const {
  switch (kind) {
    case UnitKind::kWholeGpu: return "exclusive GPUs";
    case UnitKind::kMig: {
      std::string s = "MIG ";
      for (const auto& [p, n] : layout) s += (s.size() > 4 ? " + " : "") + p + " x" + std::to_string(n);
      if (mig_gpus > 0) return s + " per GPU on " + std::to_string(mig_gpus) + " GPUs, the others whole";
      return s + " per GPU";
    }
    case UnitKind::kMps: return "MPS x" + std::to_string(replicas);
    case UnitKind::kTimeSlice: return "time-slicing x" + std::to_string(replicas);
    case UnitKind::kFraction: return "fractional backend";
  }
  return "?";
}

base::Result<PackResult> PackCluster(std::span<const PackNode> nodes, std::span<const PackItem> items, MipSolver& solver,
                                     const PackOptions& options) {
  PackResult r;
  r.nodes.resize(nodes.size());
  r.item_node.assign(items.size(), -1);
  r.item_unit.resize(items.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) r.nodes[n].config = nodes[n].current;

  // Each movable pod's unit: its first option some node of its model can provide. A pod with none is pinned.
  auto provides = [&](const PackNode& n, const UnitChoice& u) {
    if (!n.available || n.gpu_model != u.gpu_model) return false;
    switch (u.kind) {
      case UnitKind::kWholeGpu: return u.gpus <= n.gpus;
      case UnitKind::kMig: return MigAllowed(n, options) && n.mig->FindProfile(u.mig_profile) != nullptr;
      case UnitKind::kMps: return MpsAllowed(n, options);
      case UnitKind::kTimeSlice:  // a node that gives whole GPUs or shares can be switched to time-slicing
        return n.current.kind == UnitKind::kWholeGpu || n.current.kind == UnitKind::kTimeSlice;
      case UnitKind::kFraction: return false;  // HAMi/KAI: placed by those schedulers
    }
    return false;
  };
  std::vector<bool> pinned(items.size(), false);
  std::map<std::string, std::vector<int>> by_model;  // GPU model -> movable item indices
  for (std::size_t i = 0; i < items.size(); ++i) {
    const PackItem& it = items[i];
    const UnitChoice* pick = nullptr;
    if (it.movable) {
      for (const UnitChoice& u : it.options) {
        for (const PackNode& n : nodes) {
          if (provides(n, u)) { pick = &u; break; }
        }
        if (pick != nullptr) break;
      }
      if (pick == nullptr) r.notes.push_back("pod " + it.pod + ": no node can provide any of its units; it stays where it is");
      if (pick != nullptr && it.node >= 0 && static_cast<std::size_t>(it.node) < nodes.size() &&
          nodes[static_cast<std::size_t>(it.node)].gpu_model != pick->gpu_model) {
        r.notes.push_back("pod " + it.pod + ": its units are of " + pick->gpu_model + ", its node's GPUs are " +
                          nodes[static_cast<std::size_t>(it.node)].gpu_model + "; it stays where it is");
        pick = nullptr;
      }
    }
    if (pick == nullptr) {
      pinned[i] = true;
      continue;
    }
    r.item_unit[i] = *pick;
    by_model[pick->gpu_model].push_back(static_cast<int>(i));
  }

  // Which nodes host pinned pods, and what the pinned pods take there.
  std::vector<std::map<std::string, int>> pinned_use(nodes.size());
  std::vector<bool> has_pinned(nodes.size(), false), hosts_gpu(nodes.size(), false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const PackItem& it = items[i];
    if (it.node < 0 || static_cast<std::size_t>(it.node) >= nodes.size()) {
      if (pinned[i]) r.notes.push_back("pod " + it.pod + " has no node and no unit a node can provide: left out");
      continue;
    }
    hosts_gpu[static_cast<std::size_t>(it.node)] = true;
    if (pinned[i]) {
      has_pinned[static_cast<std::size_t>(it.node)] = true;
      ++pinned_use[static_cast<std::size_t>(it.node)][UnitKey(it.current)];
      r.item_node[i] = it.node;
      r.item_unit[i] = it.current;
      r.nodes[static_cast<std::size_t>(it.node)].items.push_back(static_cast<int>(i));
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (hosts_gpu[n]) r.current_micro_per_hour += nodes[n].micro_per_hour;
  }

  bool all_optimal = true;
  std::int64_t lower_bound = 0;
  std::set<int> in_mip;
  for (auto& [model_name, model_items] : by_model) {
    // Single-replica workloads with several units the model's nodes can give choose in the MIP (a binary per unit,
    // a tiny cost for leaving the current one: fewer changes at equal price). Multi-replica workloads take their
    // first unit; if that makes the model infeasible, a second attempt gives them their current unit.
    // Time-slicing takes whole nodes before the MIP sees them; if what is left cannot hold the rest, the model is
    // packed again without time-slicing (the time-sliced pods keep their units).
    std::set<int> ts_nodes;
    std::vector<NodeType> types;
    std::vector<std::vector<int>> var;
    std::map<int, std::vector<std::pair<int, UnitChoice>>> flex_var;  // item -> (variable, unit)
    std::int64_t pinned_cost = 0;
    MipResult mr;
    MipModel solved;  // the model mr solves
    const std::vector<int> items_before_ts = model_items;
    const std::int64_t bound_before_ts = lower_bound;
    for (int ts_pass = 0; ts_pass < 2; ++ts_pass) {
      if (ts_pass == 1) {
        bool any = false;
        for (int n : ts_nodes) {
          for (int i : r.nodes[static_cast<std::size_t>(n)].items) {
            r.item_node[static_cast<std::size_t>(i)] = -1;
            any = true;
          }
          r.nodes[static_cast<std::size_t>(n)] = NodeOutcome{nodes[static_cast<std::size_t>(n)].current, false, false, {}};
        }
        ts_nodes.clear();
        model_items = items_before_ts;
        for (int i : model_items) {
          if (r.item_unit[static_cast<std::size_t>(i)].kind == UnitKind::kTimeSlice) {
            r.item_unit[static_cast<std::size_t>(i)] = items[static_cast<std::size_t>(i)].current;
            any = true;
          }
        }
        lower_bound = bound_before_ts;
        if (!any) break;
        r.notes.push_back(model_name + ": time-slicing left too little for the other pods; packed again without it");
      }
      // Time-sliced pods first: first-fit decreasing by memory, onto nodes that time-slice already, then those hosting
      // most of them, then the cheapest. A node with N replicas per GPU may see any N of its pods on one GPU: the N
      // largest memory needs must fit the GPU, the N largest compute needs the budget.
      {
        std::vector<int> ts;
        for (int i : model_items) {
          if (r.item_unit[static_cast<std::size_t>(i)].kind == UnitKind::kTimeSlice) ts.push_back(i);
        }
        if (!ts.empty()) {
          model_items.erase(std::remove_if(model_items.begin(), model_items.end(), [&](int i) {
                              return r.item_unit[static_cast<std::size_t>(i)].kind == UnitKind::kTimeSlice;
                            }), model_items.end());
          std::stable_sort(ts.begin(), ts.end(), [&](int a, int b) {
            return r.item_unit[static_cast<std::size_t>(a)].memory_bytes > r.item_unit[static_cast<std::size_t>(b)].memory_bytes;
          });
          std::vector<int> candidates;
          std::map<int, int> ts_here;
          for (int i : ts) ++ts_here[items[static_cast<std::size_t>(i)].node];
          for (std::size_t n = 0; n < nodes.size(); ++n) {
            const PackNode& node = nodes[n];
            if (node.available && node.gpu_model == model_name && !has_pinned[n] && node.gpus > 0 &&
                (node.current.kind == UnitKind::kWholeGpu || node.current.kind == UnitKind::kTimeSlice)) {
              candidates.push_back(static_cast<int>(n));
            }
          }
          std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
            const bool ta = nodes[static_cast<std::size_t>(a)].current.kind == UnitKind::kTimeSlice;
            const bool tb = nodes[static_cast<std::size_t>(b)].current.kind == UnitKind::kTimeSlice;
            if (ta != tb) return ta;
            if (ts_here[a] != ts_here[b]) return ts_here[a] > ts_here[b];
            return nodes[static_cast<std::size_t>(a)].micro_per_hour < nodes[static_cast<std::size_t>(b)].micro_per_hour;
          });
          std::vector<int> left = ts, shared_nodes;
          std::int64_t cheapest = 0;
          for (int n : candidates) {
            if (left.empty()) break;
            const PackNode& node = nodes[static_cast<std::size_t>(n)];
            if (cheapest == 0 || node.micro_per_hour < cheapest) cheapest = node.micro_per_hour;
            std::vector<int> here, rest;
            double cpu = 0, mem = 0;
            for (int i : left) {
              std::vector<int> cand = here;
              cand.push_back(i);
              const int replicas = static_cast<int>((cand.size() + static_cast<std::size_t>(node.gpus) - 1) / static_cast<std::size_t>(node.gpus));
              bool ok = replicas <= options.max_timeslice_replicas;
              for (int j : here) ok &= items[static_cast<std::size_t>(j)].workload != items[static_cast<std::size_t>(i)].workload;
              std::vector<double> memories, computes;
              for (int j : cand) {
                memories.push_back(r.item_unit[static_cast<std::size_t>(j)].memory_bytes);
                computes.push_back(r.item_unit[static_cast<std::size_t>(j)].compute_share);
              }
              std::sort(memories.rbegin(), memories.rend());
              std::sort(computes.rbegin(), computes.rend());
              double top_memory = 0, top_compute = 0;
              for (int k = 0; k < replicas && k < static_cast<int>(cand.size()); ++k) {
                top_memory += memories[static_cast<std::size_t>(k)];
                top_compute += computes[static_cast<std::size_t>(k)];
              }
              ok &= node.gpu_memory_bytes <= 0 || top_memory <= node.gpu_memory_bytes;
              ok &= top_compute <= options.timeslice_compute_budget;
              const PackItem& it = items[static_cast<std::size_t>(i)];
              ok &= node.cpu_free <= 0 || cpu + it.cpu <= node.cpu_free + 1e-9;
              ok &= node.memory_free <= 0 || mem + it.memory_bytes <= node.memory_free + 1;
              if (ok) {
                here.push_back(i);
                cpu += it.cpu;
                mem += it.memory_bytes;
              } else {
                rest.push_back(i);
              }
            }
            if (here.empty()) continue;
            NodeOutcome& out = r.nodes[static_cast<std::size_t>(n)];
            out.kept = true;
            out.config.kind = UnitKind::kTimeSlice;
            out.config.replicas = std::max(2, static_cast<int>((here.size() + static_cast<std::size_t>(node.gpus) - 1) / static_cast<std::size_t>(node.gpus)));
            out.config.layout.clear();
            out.config.mig_gpus = 0;
            out.config_changed = !(out.config == node.current);
            for (int i : here) {
              r.item_node[static_cast<std::size_t>(i)] = n;
              r.item_unit[static_cast<std::size_t>(i)].replicas = out.config.replicas;
              out.items.push_back(i);
            }
            ts_nodes.insert(n);
            in_mip.insert(n);
            shared_nodes.push_back(n);
            left = std::move(rest);
          }
          // A node time-sliced for no more pods than it has GPUs shares nothing: its pods keep their units, and the
          // node and they go to the MIP.
          std::vector<int> unshared;
          double memory = 0;
          for (int n : shared_nodes) {
            NodeOutcome& out = r.nodes[static_cast<std::size_t>(n)];
            if (out.items.size() > static_cast<std::size_t>(nodes[static_cast<std::size_t>(n)].gpus)) {
              for (int i : out.items) memory += r.item_unit[static_cast<std::size_t>(i)].memory_bytes;
              continue;
            }
            for (int i : out.items) {
              r.item_node[static_cast<std::size_t>(i)] = -1;
              r.item_unit[static_cast<std::size_t>(i)] = items[static_cast<std::size_t>(i)].current;
              unshared.push_back(i);
            }
            out = NodeOutcome{nodes[static_cast<std::size_t>(n)].current, false, false, {}};
            ts_nodes.erase(n);
          }
          model_items.insert(model_items.end(), unshared.begin(), unshared.end());
          // Nodes bounded below by memory: no packing of the shared pods uses fewer than their memory / node memory.
          const PackNode* first = candidates.empty() ? nullptr : &nodes[static_cast<std::size_t>(candidates.front())];
          if (first != nullptr && first->gpu_memory_bytes > 0) {
            lower_bound += static_cast<std::int64_t>(std::ceil(memory / (first->gpu_memory_bytes * first->gpus) - 1e-9)) * cheapest;
          }
          for (int i : left) {  // no node could take them shared: they keep their unit and join the MIP
            r.notes.push_back("pod " + items[static_cast<std::size_t>(i)].pod + ": no node can time-slice it within the memory "
                              "and compute rules; it keeps its unit");
            r.item_unit[static_cast<std::size_t>(i)] = items[static_cast<std::size_t>(i)].current;
            model_items.push_back(i);
          }
        }
      }
      std::map<int, int> replicas_of;
      for (int i : model_items) ++replicas_of[items[static_cast<std::size_t>(i)].workload];
      std::map<int, std::vector<UnitChoice>> flexible;  // item -> units it may take
      for (int i : model_items) {
        const PackItem& it = items[static_cast<std::size_t>(i)];
        if (replicas_of[it.workload] != 1) continue;
        std::vector<UnitChoice> units;
        for (const UnitChoice& u : it.options) {
          if (u.gpu_model != model_name) continue;
          bool any = false;
          for (const PackNode& n : nodes) any |= provides(n, u);
          if (any && std::none_of(units.begin(), units.end(), [&](const UnitChoice& x) { return UnitKey(x) == UnitKey(u); })) {
            units.push_back(u);
          }
        }
        if (units.size() >= 2) flexible[i] = std::move(units);
      }
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (attempt == 1) {
          bool changed = false;
          for (int i : model_items) {
            const PackItem& it = items[static_cast<std::size_t>(i)];
            if (flexible.count(i) || r.item_unit[static_cast<std::size_t>(i)] == it.current) continue;
            bool any = false;
            for (const PackNode& n : nodes) any |= provides(n, it.current);
            if (!any) continue;
            r.item_unit[static_cast<std::size_t>(i)] = it.current;
            changed = true;
          }
          if (!changed) break;
          r.notes.push_back(model_name + ": the multi-replica workloads' smaller units do not pack; tried again with their "
                            "current units");
        }
        // Demand per unit key from the fixed pods, the keys the flexible ones may take, the most replicas of one
        // workload per spread key.
        std::map<std::string, int> demand;
        std::set<std::string> keys;
        std::map<std::string, std::map<int, int>> replicas;
        std::set<int> exclusive_sizes;
        for (int i : model_items) {
          if (flexible.count(i)) {
            for (const UnitChoice& u : flexible[i]) {
              keys.insert(UnitKey(u));
              if (u.kind == UnitKind::kWholeGpu) exclusive_sizes.insert(u.gpus);
            }
            continue;
          }
          const std::string key = UnitKey(r.item_unit[static_cast<std::size_t>(i)]);
          ++demand[key];
          keys.insert(key);
          if (Spread(key) || items[static_cast<std::size_t>(i)].spread_nodes) ++replicas[key][items[static_cast<std::size_t>(i)].workload];
          if (r.item_unit[static_cast<std::size_t>(i)].kind == UnitKind::kWholeGpu) exclusive_sizes.insert(r.item_unit[static_cast<std::size_t>(i)].gpus);
        }
        const std::vector<int> sizes(exclusive_sizes.rbegin(), exclusive_sizes.rend());

        // Node types: each pinned node alone; the free nodes of this model grouped.
        types.clear();
        std::map<std::tuple<int, std::int64_t, const MigGpu*, std::string, bool>, std::size_t> type_of;
        for (std::size_t n = 0; n < nodes.size(); ++n) {
          const PackNode& node = nodes[n];
          if (!node.available || node.gpu_model != model_name || ts_nodes.count(static_cast<int>(n))) continue;
          in_mip.insert(static_cast<int>(n));
          if (has_pinned[n]) {
            NodeType t;
            t.pinned = true;
            t.nodes = {static_cast<int>(n)};
            // Leftover of the kept config.
            if (node.current.kind == UnitKind::kWholeGpu) {
              int used = 0;
              for (const auto& [k, c] : pinned_use[n]) {
                if (k.starts_with("gpu:")) used += c * std::stoi(k.substr(4));
              }
              ExclusivePatterns(std::max(0, node.gpus - used), sizes, t.patterns);
            } else if (node.current.kind == UnitKind::kMig || node.current.kind == UnitKind::kMps) {
              Pattern p;
              p.config = node.current;
              for (const auto& [k, c] : Capacity(node.current, node.gpus)) {
                auto u = pinned_use[n].find(k);
                const int left = c - (u == pinned_use[n].end() ? 0 : u->second);
                if (left > 0) p.capacity[k] = left;
              }
              t.patterns.push_back(std::move(p));
            }
            if (t.patterns.empty()) t.patterns.push_back(Pattern{node.current, {}});
            types.push_back(std::move(t));
            continue;
          }
          auto key = std::make_tuple(node.gpus, node.micro_per_hour, MigAllowed(node, options) ? node.mig : nullptr,
                                     node.mig_strategy, MpsAllowed(node, options));
          auto [it, fresh] = type_of.try_emplace(key, types.size());
          if (fresh) {
            NodeType t;
            ExclusivePatterns(node.gpus, sizes, t.patterns);
            if (MigAllowed(node, options)) {
              for (const MigLayoutOption& l : EnumerateLayouts(*node.mig)) {
                if (!l.maximal) continue;
                Pattern p;
                p.config.kind = UnitKind::kMig;
                p.config.layout = l.counts;
                bool useful = false;
                for (const auto& [prof, c] : l.counts) {
                  p.capacity["mig:" + prof] = c * node.gpus;
                  useful |= keys.count("mig:" + prof) != 0;
                }
                if (!useful) continue;
                // Under the mixed strategy the layout may cover only the first k GPUs, the others staying whole
                // (one mig-parted config, two device entries): single-GPU pods and slices share a node.
                if (keys.count("gpu:1")) {
                  for (int k = 1; k < node.gpus; ++k) {
                    Pattern q;
                    q.config = p.config;
                    q.config.mig_gpus = k;
                    q.capacity = Capacity(q.config, node.gpus);
                    t.patterns.push_back(std::move(q));
                  }
                }
                t.patterns.push_back(std::move(p));
              }
            }
            for (const std::string& k : keys) {
              if (!k.starts_with("mps:") || !MpsAllowed(node, options)) continue;
              Pattern p;
              p.config.kind = UnitKind::kMps;
              p.config.replicas = std::stoi(k.substr(4));
              p.capacity[k] = p.config.replicas * node.gpus;
              t.patterns.push_back(std::move(p));
            }
            types.push_back(std::move(t));
          }
          types[it->second].nodes.push_back(static_cast<int>(n));
        }

        // The pattern MIP: z[t][p] = nodes of type t configured as pattern p; b = a flexible pod's unit.
        MipModel m;
        var.assign(types.size(), {});
        pinned_cost = 0;
        for (std::size_t t = 0; t < types.size(); ++t) {
          const PackNode& first = nodes[static_cast<std::size_t>(types[t].nodes.front())];
          const double price = types[t].pinned ? 0.0 : static_cast<double>(first.micro_per_hour) / 1e6;
          std::vector<MipTerm> count;
          for (std::size_t p = 0; p < types[t].patterns.size(); ++p) {
            const int v = m.AddVariable(0, static_cast<double>(types[t].nodes.size()), price, true);
            var[t].push_back(v);
            count.push_back({v, 1});
          }
          if (types[t].pinned) {
            m.AddRow(count, 1, 1, "pinned " + first.name);
            pinned_cost += first.micro_per_hour;
          } else {
            m.AddRow(count, 0, static_cast<double>(types[t].nodes.size()), "nodes of " + first.name + "'s type");
          }
        }
        flex_var.clear();
        std::map<std::string, std::vector<int>> flex_of_key;  // key -> the b variables that ask for it
        for (const auto& [i, units] : flexible) {
          std::vector<MipTerm> one;
          for (const UnitChoice& u : units) {
            const bool current = u == items[static_cast<std::size_t>(i)].current;
            const int v = m.AddVariable(0, 1, current ? 0.0 : 1e-4, true);
            flex_var[i].emplace_back(v, u);
            flex_of_key[UnitKey(u)].push_back(v);
            one.push_back({v, 1});
          }
          m.AddRow(one, 1, 1, "one unit for " + items[static_cast<std::size_t>(i)].pod);
        }
        for (const std::string& k : keys) {
          std::vector<MipTerm> cover;
          for (std::size_t t = 0; t < types.size(); ++t) {
            for (std::size_t p = 0; p < types[t].patterns.size(); ++p) {
              auto c = types[t].patterns[p].capacity.find(k);
              if (c != types[t].patterns[p].capacity.end() && c->second > 0) cover.push_back({var[t][p], static_cast<double>(c->second)});
            }
          }
          for (int v : flex_of_key[k]) cover.push_back({v, -1});
          const double d = demand.count(k) ? demand[k] : 0;
          m.AddRow(cover, d, kMipInfinity, "demand " + k);
          // Replicas of one workload on different nodes (units the device plugin places, or a required pod
          // anti-affinity): workloads with r_1 >= r_2 >= ... replicas fit nodes with c_n
          // slots, at most one replica of a workload per node, iff for every j: sum_n min(c_n, j) >= r_1 + ... + r_j
          // (Gale-Ryser), over the workloads with more than one replica; the demand row above holds the single
          // replicas too (they need a slot anywhere). Linear in the pattern counts, so the MIP is exact.
          std::vector<int> r_sorted;
          for (const auto& [w, c] : replicas[k]) {
            if (c > 1) r_sorted.push_back(c);
          }
          std::sort(r_sorted.rbegin(), r_sorted.rend());
          int prefix = 0;
          for (std::size_t j = 1; j <= r_sorted.size(); ++j) {
            prefix += r_sorted[j - 1];
            std::vector<MipTerm> row;
            for (std::size_t t = 0; t < types.size(); ++t) {
              for (std::size_t p = 0; p < types[t].patterns.size(); ++p) {
                auto c = types[t].patterns[p].capacity.find(k);
                if (c == types[t].patterns[p].capacity.end() || c->second <= 0) continue;
                row.push_back({var[t][p], static_cast<double>(std::min<std::size_t>(static_cast<std::size_t>(c->second), j))});
              }
            }
            m.AddRow(row, prefix, kMipInfinity, "replicas of the " + std::to_string(j) + " largest workloads of " + k + " on different nodes");
          }
        }
        ASSIGN_OR_RETURN(mr, solver.Solve(m, options.mip));
        if (mr.has_solution()) {
          solved = std::move(m);
          break;
        }
      }
      if (mr.has_solution()) break;
    }
    if (!mr.has_solution()) {
      r.notes.push_back(model_name + ": no packing within the deployment model (" + std::string(MipStatusName(mr.status)) +
                        (mr.message.empty() ? "" : ": " + mr.message) + "); its pods stay where they are");
      for (int i : model_items) r.item_unit[static_cast<std::size_t>(i)] = UnitChoice{};
      for (int n : ts_nodes) {  // the time-sliced part goes too: nothing of this model changes
        for (int i : r.nodes[static_cast<std::size_t>(n)].items) {
          r.item_node[static_cast<std::size_t>(i)] = -1;
          r.item_unit[static_cast<std::size_t>(i)] = UnitChoice{};
        }
        r.nodes[static_cast<std::size_t>(n)] = NodeOutcome{nodes[static_cast<std::size_t>(n)].current, false, false, {}};
      }
      all_optimal = false;
      continue;
    }
    all_optimal &= mr.status == MipStatus::kOptimal;
    // The bound includes the flexible pods' change costs (1e-4 each), tie-breakers below any price difference.
    const double bound = std::isfinite(mr.best_bound) ? mr.best_bound : mr.objective;
    lower_bound += static_cast<std::int64_t>(std::ceil(bound * 1e6 - 1e-3)) + pinned_cost;
    // GPUs break ties between packings of one price: a second solve, fewest GPUs at no more than the price found,
    // only when this model's node types differ in GPU count.
    {
      std::set<int> gpu_counts;
      for (const NodeType& t : types) {
        if (!t.pinned) gpu_counts.insert(nodes[static_cast<std::size_t>(t.nodes.front())].gpus);
      }
      if (gpu_counts.size() > 1) {
        double price = 0;
        std::vector<MipTerm> price_row;
        for (std::size_t t = 0; t < types.size(); ++t) {
          if (types[t].pinned) continue;
          const PackNode& first = nodes[static_cast<std::size_t>(types[t].nodes.front())];
          for (int v : var[t]) {
            const double c = solved.variables[static_cast<std::size_t>(v)].cost;
            price += c * std::round(mr.values[static_cast<std::size_t>(v)]);
            price_row.push_back({v, c});
            solved.variables[static_cast<std::size_t>(v)].cost = first.gpus;
          }
        }
        solved.AddRow(std::move(price_row), -kMipInfinity, price + 1e-7, "no dearer than the cheapest packing");
        ASSIGN_OR_RETURN(MipResult fewer, solver.Solve(solved, options.mip));
        if (fewer.has_solution()) mr.values = std::move(fewer.values);
      }
    }
    for (const auto& [i, vars] : flex_var) {
      for (const auto& [v, u] : vars) {
        if (mr.values[static_cast<std::size_t>(v)] > 0.5) r.item_unit[static_cast<std::size_t>(i)] = u;
      }
    }

    // Patterns to nodes: nodes that already have the config, then those hosting most of the pods it serves.
    std::map<int, std::map<std::string, int>> left;  // kept node -> unit key -> slots left (its pattern's capacity)
    std::map<int, std::map<std::string, int>> hosted;  // node -> unit key -> movable pods on it now wanting that unit
    for (int it : model_items) ++hosted[items[static_cast<std::size_t>(it)].node][UnitKey(r.item_unit[static_cast<std::size_t>(it)])];
    for (std::size_t t = 0; t < types.size(); ++t) {
      std::map<int, int> chosen;  // pattern index -> nodes still to configure with it
      for (std::size_t p = 0; p < types[t].patterns.size(); ++p) {
        const int n = static_cast<int>(std::lround(mr.values[static_cast<std::size_t>(var[t][p])]));
        if (n > 0) chosen[static_cast<int>(p)] = n;
      }
      std::vector<int> free_nodes = types[t].nodes;
      // Greedy: the (pattern, node) pair with the best score, where a node scores for already having the config,
      // then for the pods it hosts that the pattern serves. O(distinct patterns x nodes) per pick.
      while (!chosen.empty() && !free_nodes.empty()) {
        int best_p = -1;
        std::size_t best_j = 0;
        long best = -1;
        for (const auto& [p, count] : chosen) {
          const Pattern& pat = types[t].patterns[static_cast<std::size_t>(p)];
          for (std::size_t j = 0; j < free_nodes.size(); ++j) {
            const int n = free_nodes[j];
            long score = nodes[static_cast<std::size_t>(n)].current == pat.config ? 1'000'000 : 0;
            if (auto h = hosted.find(n); h != hosted.end()) {
              for (const auto& [key, c] : h->second) score += pat.capacity.count(key) ? c : 0;
            }
            if (score > best) {
              best = score;
              best_p = p;
              best_j = j;
            }
          }
        }
        const int n = free_nodes[best_j];
        const Pattern& pat = types[t].patterns[static_cast<std::size_t>(best_p)];
        NodeOutcome& out = r.nodes[static_cast<std::size_t>(n)];
        out.kept = true;
        if (!types[t].pinned) out.config = pat.config;
        out.config_changed = !(out.config == nodes[static_cast<std::size_t>(n)].current);
        left[n] = pat.capacity;
        if (--chosen[best_p] == 0) chosen.erase(best_p);
        free_nodes.erase(free_nodes.begin() + static_cast<std::ptrdiff_t>(best_j));
      }
    }

    // Pods to the slots of the kept nodes' patterns, one unit key at a time. Keys whose replicas must be on
    // different nodes: workloads with the most replicas first, each onto the nodes with the most slots left (the
    // greedy that realises a bipartite degree sequence whenever one exists, Gale-Ryser), a pod's current node first
    // among equals. Other keys: a pod keeps its node when it has a slot, else the first node with one.
    std::map<int, std::pair<double, double>> cpu_mem_left;
    for (const auto& [n, cap] : left) cpu_mem_left[n] = {nodes[static_cast<std::size_t>(n)].cpu_free, nodes[static_cast<std::size_t>(n)].memory_free};
    auto fits = [&](int i, int n) {
      const PackItem& it = items[static_cast<std::size_t>(i)];
      const PackNode& node = nodes[static_cast<std::size_t>(n)];
      const auto& cm = cpu_mem_left[n];
      return !((node.cpu_free > 0 && cm.first + 1e-9 < it.cpu) || (node.memory_free > 0 && cm.second + 1 < it.memory_bytes));
    };
    std::map<std::pair<int, int>, int> placed_of;  // (node, workload) -> pods placed there
    auto place = [&](int i, int n, const std::string& key) {
      --left[n][key];
      ++placed_of[{n, items[static_cast<std::size_t>(i)].workload}];
      cpu_mem_left[n].first -= items[static_cast<std::size_t>(i)].cpu;
      cpu_mem_left[n].second -= items[static_cast<std::size_t>(i)].memory_bytes;
      r.item_node[static_cast<std::size_t>(i)] = n;
      r.nodes[static_cast<std::size_t>(n)].items.push_back(i);
    };
    std::map<std::string, std::vector<int>> by_key;
    for (int i : model_items) by_key[UnitKey(r.item_unit[static_cast<std::size_t>(i)])].push_back(i);
    bool unplaced = false;
    for (const auto& [key_name, key_items] : by_key) {
      const std::string key = key_name;  // a copy: lambdas below capture it (clang 14 cannot capture a binding)
      std::map<int, std::vector<int>> by_workload;  // replicas that must be on different nodes
      std::vector<int> others;
      for (int i : key_items) {
        if (Spread(key) || items[static_cast<std::size_t>(i)].spread_nodes) by_workload[items[static_cast<std::size_t>(i)].workload].push_back(i);
        else others.push_back(i);
      }
      {
        std::vector<std::vector<int>*> order;
        for (auto& [w, v] : by_workload) order.push_back(&v);
        std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->size() > b->size(); });
        for (std::vector<int>* pods : order) {
          // The nodes with the most slots left; a node one of its pods is on wins a tie.
          std::set<int> here;
          for (int i : *pods) here.insert(items[static_cast<std::size_t>(i)].node);
          std::vector<int> candidates;
          for (auto& [n, cap] : left) {
            if (cap[key] > 0) candidates.push_back(n);
          }
          std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
            if (left[a][key] != left[b][key]) return left[a][key] > left[b][key];
            return here.count(a) > here.count(b);
          });
          std::vector<int> waiting;
          std::vector<int> chosen(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(std::min(candidates.size(), pods->size())));
          for (int i : *pods) {  // pods already on a chosen node stay
            auto c = std::find(chosen.begin(), chosen.end(), items[static_cast<std::size_t>(i)].node);
            if (c != chosen.end() && fits(i, *c)) {
              place(i, *c, key);
              chosen.erase(c);
            } else {
              waiting.push_back(i);
            }
          }
          for (int i : waiting) {
            auto c = std::find_if(chosen.begin(), chosen.end(), [&](int n) { return fits(i, n); });
            if (c == chosen.end()) {
              unplaced = true;
              r.notes.push_back("pod " + items[static_cast<std::size_t>(i)].pod + " (" + key + ") fits no kept node of " +
                                model_name + " (cpu or memory of the nodes, or replica spread)");
              continue;
            }
            place(i, *c, key);
            chosen.erase(c);
          }
        }
      }
      {
        // The others keep their node when it keeps a slot; else they go where fewest pods of their workload are
        // (replicas apart across nodes where the packing leaves room: soft, as the deployment model says).
        std::vector<int> waiting;
        for (int i : others) {
          const int here = items[static_cast<std::size_t>(i)].node;
          if (left.count(here) && left[here][key] > 0 && fits(i, here)) place(i, here, key);
          else waiting.push_back(i);
        }
        for (int i : waiting) {
          int best = -1;
          for (auto& [n, cap] : left) {
            if (cap[key] <= 0 || !fits(i, n)) continue;
            const int w = items[static_cast<std::size_t>(i)].workload;
            if (best < 0 || placed_of[{n, w}] < placed_of[{best, w}]) best = n;
          }
          const bool ok = best >= 0;
          if (ok) place(i, best, key);
          if (!ok) {
            unplaced = true;
            r.notes.push_back("pod " + items[static_cast<std::size_t>(i)].pod + " (" + key + ") fits no kept node of " +
                              model_name + " (cpu or memory of the nodes)");
          }
        }
      }
    }
    if (unplaced) {
      // Half a packing is worse than none: this model's pods and nodes stay as they are.
      r.notes.push_back(model_name + ": the packing could not place every pod, so nothing of this model changes");
      for (std::size_t n = 0; n < nodes.size(); ++n) {
        if (nodes[n].gpu_model != model_name) continue;
        NodeOutcome keep;
        keep.config = nodes[n].current;
        keep.kept = hosts_gpu[n];
        for (std::size_t i = 0; i < items.size(); ++i) {
          if (items[i].node == static_cast<int>(n)) keep.items.push_back(static_cast<int>(i));
        }
        r.nodes[n] = std::move(keep);
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].movable || items[i].node < 0 || nodes[static_cast<std::size_t>(items[i].node)].gpu_model != model_name) continue;
        r.item_node[i] = items[i].node;
        r.item_unit[i] = items[i].current;
      }
      all_optimal = false;
    }
  }
  // Pods no packing moved stay, and so do their nodes (pinned pods' nodes outside every MIP included).
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (r.item_node[i] < 0 && items[i].node >= 0) {
      r.item_node[i] = items[i].node;
      r.item_unit[i] = items[i].current;
    }
    if (r.item_node[i] >= 0) r.nodes[static_cast<std::size_t>(r.item_node[i])].kept = true;
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (!r.nodes[n].kept) continue;
    r.micro_per_hour += nodes[n].micro_per_hour;
    if (!in_mip.count(static_cast<int>(n))) lower_bound += nodes[n].micro_per_hour;  // no MIP bounded it: as is
  }
  r.lower_bound_micro_per_hour = std::min(lower_bound, r.micro_per_hour);
  r.gap = r.micro_per_hour > 0 ? static_cast<double>(r.micro_per_hour - r.lower_bound_micro_per_hour) / static_cast<double>(r.micro_per_hour) : 0;
  r.optimal = all_optimal && r.gap < 1e-9;
  return r;
}

}  // namespace gpuwise::optimize::fractional
