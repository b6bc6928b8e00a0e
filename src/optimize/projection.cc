#include "optimize/projection.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <utility>

#include "optimize/fractional/online_placement.h"

namespace gpuwise::optimize {
namespace {

constexpr std::string_view kGpu = "nvidia.com/gpu";
constexpr std::string_view kMigConfigLabel = "nvidia.com/mig.config";
constexpr std::string_view kPluginConfigLabel = "nvidia.com/device-plugin.config";

bool AliveAtEnd(const model::Pod& p, std::int64_t end) {
  if (p.source != model::AttributionSource::kApi) return false;
  if (p.end_unix_s > 0 && p.end_unix_s < end) return false;
  return p.phase == "Running" || p.phase == "Pending";
}

// Whether the node's nvidia.com/gpu stands for MIG instances (single strategy with MIG on): GFD then appends
// "-MIG-<profile>" to the product.
bool GpuResourceIsMig(const ProjectedNode& n) {
  auto s = n.labels.find("nvidia.com/mig.strategy");
  auto p = n.labels.find("nvidia.com/gpu.product");
  return s != n.labels.end() && s->second == "single" && p != n.labels.end() &&
         p->second.find("-MIG-") != std::string::npos;
}

// What a pod takes of its node's GPUs: whole GPUs it holds exclusively, and units the device plugin spreads over
// the GPUs (time-slicing and MPS shares, MIG instances, HAMi/KAI fractions), by resource name.
void Units(const ProjectedPod& p, const ProjectedNode& n, double& whole, std::map<std::string, double>& spread) {
  for (const auto& [name, value] : p.extended) {
    if (name == "nvidia.com/gpumem" || name == "nvidia.com/gpumem-percentage" || name == "nvidia.com/gpucores") {
      continue;  // HAMi: these size the fraction; the device count is nvidia.com/gpu
    }
    if (name == kGpu && n.replicas <= 1 && !GpuResourceIsMig(n) && !p.fractional) {
      whole += value;
    } else {
      spread[name] += value;
    }
  }
}

// A HAMi or KAI pod's ask on a node: devices and the milli of one GPU it reserves on each (the larger of memory
// and compute); nullopt when the pod is not a fraction.
struct MilliAsk {
  int devices = 1;
  int milli = fractional::kGpuMilli;
};
std::optional<MilliAsk> FractionMilli(const ProjectedPod& p, const ProjectedNode& n) {
  if (!p.fractional) return std::nullopt;
  auto at = [&](const char* k) {
    auto it = p.extended.find(k);
    return it == p.extended.end() ? 0.0 : it->second;
  };
  model::GpuRequest g;
  g.gpus = static_cast<int>(at("nvidia.com/gpu"));
  g.hami_gpumem_mib = at("nvidia.com/gpumem");
  g.hami_gpumem_percent = at("nvidia.com/gpumem-percentage");
  g.hami_gpucores_percent = at("nvidia.com/gpucores");
  g.kai_fraction = p.kai_fraction;
  g.kai_memory_mib = p.kai_memory_mib;
  const std::optional<model::FractionAsk> f = model::FractionOf(g, n.gpu_memory_mib);
  if (!f) return std::nullopt;
  return MilliAsk{f->devices, static_cast<int>(std::clamp(std::ceil(f->share * fractional::kGpuMilli - 1e-9), 1.0,
                                                          static_cast<double>(fractional::kGpuMilli)))};
}

// Milli used on each GPU of a node with a fractional backend, from the pods on it (FractionalGpuUse): pods on the
// devices telemetry named; then the others in creation order, which is the order the projection placed them in: on
// the GPU it chose, else best-fit (a fraction on the GPU with the least left that holds it, else the one with the
// most left; a whole-GPU pod on free GPUs first).
std::vector<int> FractionalUse(std::span<const ProjectedPod* const> on_node, const ProjectedNode& n) {
  std::vector<int> use(n.gpu_keys.size(), 0);
  auto known = [&](const ProjectedPod& p) {
    std::vector<std::size_t> out;
    for (const std::string& d : p.devices) {
      auto it = std::find(n.gpu_keys.begin(), n.gpu_keys.end(), d);
      if (it != n.gpu_keys.end()) out.push_back(static_cast<std::size_t>(it - n.gpu_keys.begin()));
    }
    return out;
  };
  std::vector<const ProjectedPod*> rest;
  for (const ProjectedPod* q : on_node) {
    const ProjectedPod& p = *q;
    if (!p.gpu()) continue;
    const std::vector<std::size_t> at = known(p);
    if (at.empty() || p.devices_placed) {
      rest.push_back(&p);
      continue;
    }
    const std::optional<MilliAsk> f = FractionMilli(p, n);
    for (std::size_t g : at) use[g] += f ? f->milli : fractional::kGpuMilli;
  }
  std::stable_sort(rest.begin(), rest.end(), [](const ProjectedPod* a, const ProjectedPod* b) {
    return std::tie(a->created_unix_s, a->namespace_name, a->name) < std::tie(b->created_unix_s, b->namespace_name, b->name);
  });
  for (const ProjectedPod* p : rest) {
    const std::optional<MilliAsk> f = FractionMilli(*p, n);
    const int milli = f ? f->milli : fractional::kGpuMilli;
    if (const std::vector<std::size_t> at = known(*p); !at.empty()) {
      for (std::size_t g : at) use[g] += milli;
      continue;
    }
    auto whole = p->extended.find(std::string(kGpu));
    const int devices = f ? f->devices : (whole == p->extended.end() ? 0 : static_cast<int>(whole->second));
    std::vector<bool> taken(use.size(), false);
    for (int k = 0; k < devices; ++k) {
      int best = -1;
      for (std::size_t g = 0; g < use.size(); ++g) {
        if (taken[g]) continue;
        const int left = fractional::kGpuMilli - use[g];
        const int best_left = best < 0 ? 0 : fractional::kGpuMilli - use[static_cast<std::size_t>(best)];
        const bool fits = left >= milli, best_fits = best >= 0 && best_left >= milli;
        if (best < 0 || (fits && (!best_fits || left < best_left)) || (!fits && !best_fits && left > best_left)) {
          best = static_cast<int>(g);
        }
      }
      if (best < 0) break;
      taken[static_cast<std::size_t>(best)] = true;
      use[static_cast<std::size_t>(best)] += milli;
    }
  }
  return use;
}

// Occupied GPUs per node. Pods whose devices telemetry named occupy those. The rest: whole GPUs one each; shares,
// MIG instances and fractions are placed by the device plugin, which we do not see: `tight` packs them (n units
// fill ceil(n / units per GPU) GPUs, which may be the GPUs telemetry named), otherwise they spread (n units occupy
// min(n, free GPUs)). Savings compare a
// tight "before" with a spread "after", so an unknown placement can only make them smaller.
void Occupancy(Projection& pr, bool tight) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < pr.nodes.size(); ++i) {
    pr.nodes[i].occupied_gpus = 0;
    pr.nodes[i].gpu_pods = 0;
    index[pr.nodes[i].name] = i;
  }
  std::map<std::string, std::set<std::string>> known;
  std::map<std::string, std::vector<const ProjectedPod*>> fractional_pods;  // node of a fractional backend -> pods
  std::map<std::string, double> whole;                         // node -> exclusive GPUs
  std::map<std::string, std::map<std::string, double>> spread;  // node -> resource -> units
  for (const ProjectedPod& p : pr.pods) {
    auto it = index.find(p.node);
    if (it == index.end() || !p.gpu()) continue;
    ProjectedNode& n = pr.nodes[it->second];
    ++n.gpu_pods;
    if (n.fractional()) {  // below, per GPU
      fractional_pods[n.name].push_back(&p);
      continue;
    }
    if (!p.devices.empty()) {
      known[n.name].insert(p.devices.begin(), p.devices.end());
    } else {
      Units(p, n, whole[n.name], spread[n.name]);
    }
  }
  for (ProjectedNode& n : pr.nodes) {
    if (n.gpus <= 0) continue;
    if (n.fractional()) {
      const std::vector<int> use = FractionalUse(fractional_pods[n.name], n);
      n.occupied_gpus = static_cast<int>(std::count_if(use.begin(), use.end(), [](int u) { return u > 0; }));
      continue;
    }
    const double k = static_cast<double>(known[n.name].size());
    const double w = whole[n.name];
    if (tight) {
      // Unseen units may share the GPUs telemetry named: they need only what those cannot hold. Units of a
      // resource fill ceil(units / (allocatable / GPUs)) GPUs.
      double packed = 0;
      for (const auto& [name, units] : spread[n.name]) {
        auto a = n.allocatable.find(name);
        const double per_gpu = a == n.allocatable.end() ? 1 : std::max(1.0, a->second / n.gpus);
        packed = std::max(packed, std::ceil(units / per_gpu - 1e-9));
      }
      n.occupied_gpus = static_cast<int>(std::min<double>(n.gpus, w + std::max(k, packed)));
    } else {
      double units = 0;
      for (const auto& [name, u] : spread[n.name]) units += u;
      const double occupied = std::min<double>(n.gpus, k + w);
      n.occupied_gpus = static_cast<int>(std::min<double>(n.gpus, occupied + std::min<double>(n.gpus - occupied, units)));
    }
  }
}

bool SelectorMatches(const std::map<std::string, std::string>& selector, const model::Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string Describe(const std::map<std::string, double>& r) {
  std::string s;
  for (const auto& [k, v] : r) s += (s.empty() ? "" : ", ") + k + "=" + std::to_string(static_cast<long long>(v));
  return s.empty() ? "no GPU" : s;
}

// A required anti-affinity term of `holder` keeps `other` off holder's node.
bool Repels(const ProjectedPod& holder, const ProjectedPod& other) {
  return holder.namespace_name == other.namespace_name && holder.anti_affinity.Selects(other.labels);
}

// gpuwise's placement policy over the nodes with a fractional backend that passed the scheduler's filters for a
// one-device fraction `p`: the node (index into pr.nodes) and GPU, or {-1, -1} when no GPU there holds it.
// `use` caches each node's milli per GPU; `typical` is the target workload, every one-device fraction of the
// projection.
class FractionPlacer {
 public:
  explicit FractionPlacer(const Projection& pr) : pr_(pr) {}

  std::pair<int, int> Choose(const ProjectedPod& p, const std::vector<std::size_t>& candidates,
                             const std::map<std::string, std::pair<double, double>>& used_cpu_mem) {
    namespace fr = fractional;
    std::vector<fr::PlacementNode> nodes;
    for (std::size_t c : candidates) {
      const ProjectedNode& n = pr_.nodes[c];
      nodes.push_back({n.name, 0, 0, static_cast<int>(std::min<std::size_t>(n.gpu_keys.size(), fr::kMaxGpusPerNode)),
                       n.gpu_model});
    }
    fr::ClusterState state(nodes);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const ProjectedNode& n = pr_.nodes[candidates[i]];
      const std::vector<int>& use = Use(n);
      std::vector<int> left;
      for (std::size_t g = 0; g < static_cast<std::size_t>(nodes[i].gpus); ++g) left.push_back(std::max(0, fr::kGpuMilli - use[g]));
      auto cm = used_cpu_mem.find(n.name);
      const double cpu_used = cm == used_cpu_mem.end() ? 0 : cm->second.first;
      const double mem_used = cm == used_cpu_mem.end() ? 0 : cm->second.second;
      // cpu/memory allocatable 0 = not read: not a limit.
      const auto cpu_left = n.cpu > 0 ? static_cast<std::int64_t>((n.cpu - cpu_used) * 1000) : kUnlimited;
      const auto mem_left = n.memory_bytes > 0 ? static_cast<std::int64_t>((n.memory_bytes - mem_used) / kMiB) : kUnlimited;
      state.SetLeft(static_cast<int>(i), cpu_left, mem_left, left);
    }
    const ProjectedNode& first = pr_.nodes[candidates.front()];
    if (!typical_) {
      std::vector<fr::PodRequest> seen;
      for (const ProjectedPod& q : pr_.pods) {
        const std::optional<MilliAsk> f = FractionMilli(q, first);
        if (f && f->devices == 1) seen.push_back(Request(q, f->milli));
      }
      typical_ = fr::TypicalPods(seen);
    }
    const std::optional<MilliAsk> f = FractionMilli(p, first);
    std::vector<int> rank(candidates.size());
    for (std::size_t i = 0; i < rank.size(); ++i) rank[i] = static_cast<int>(i);
    auto placer = fr::NewPlacer(fr::PolicyKind::kGpuwise, *typical_, rank, 1);
    const fr::Placement choice = placer->Choose(state, Request(p, f ? f->milli : fr::kGpuMilli));
    if (choice.node < 0 || choice.gpus.empty()) return {-1, -1};
    const std::size_t n = candidates[static_cast<std::size_t>(choice.node)];
    const int g = choice.gpus.front();
    // The pod's own size on that node (memory-sized fractions depend on the GPU's memory).
    const std::optional<MilliAsk> here = FractionMilli(p, pr_.nodes[n]);
    use_[pr_.nodes[n].name][static_cast<std::size_t>(g)] += here ? here->milli : fr::kGpuMilli;
    return {static_cast<int>(n), g};
  }

 private:
  static constexpr std::int64_t kUnlimited = std::int64_t{1} << 50;
  static constexpr double kMiB = 1048576.0;

  static fractional::PodRequest Request(const ProjectedPod& p, int milli) {
    fractional::PodRequest r;
    r.cpu_milli = static_cast<std::int64_t>(std::llround(p.cpu * 1000));
    r.memory_mib = static_cast<std::int64_t>(p.memory_bytes / kMiB);
    r.num_gpu = 1;
    r.gpu_milli = milli;
    return r;
  }
  const std::vector<int>& Use(const ProjectedNode& n) {
    auto it = use_.find(n.name);
    if (it == use_.end()) it = use_.emplace(n.name, FractionalGpuUse(pr_, n)).first;
    return it->second;
  }

  const Projection& pr_;
  std::map<std::string, std::vector<int>> use_;
  std::optional<std::vector<fractional::TypicalPod>> typical_;
};

// Places every unscheduled pod, oldest first, on the fitting schedulable node with the most free GPU capacity, never
// beside a pod that required anti-affinity by hostname keeps it from (either way round). A one-device fraction goes
// where FractionPlacer says among the fitting nodes with a fractional backend, when there are any.
void Place(Projection& pr) {
  std::map<std::string, std::map<std::string, double>> used;
  std::map<std::string, std::pair<double, double>> used_cpu_mem;
  std::map<std::string, std::vector<const ProjectedPod*>> on_node;
  for (const ProjectedPod& p : pr.pods) {
    if (p.node.empty()) continue;
    on_node[p.node].push_back(&p);
    for (const auto& [k, v] : p.extended) used[p.node][k] += v;
    used_cpu_mem[p.node].first += p.cpu;
    used_cpu_mem[p.node].second += p.memory_bytes;
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < pr.pods.size(); ++i) {
    if (pr.pods[i].node.empty()) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(pr.pods[a].created_unix_s, pr.pods[a].namespace_name, pr.pods[a].name) <
           std::tie(pr.pods[b].created_unix_s, pr.pods[b].namespace_name, pr.pods[b].name);
  });
  FractionPlacer fraction_placer(pr);
  for (std::size_t i : order) {
    ProjectedPod& p = pr.pods[i];
    const ProjectedNode* best = nullptr;
    double best_free = -1;
    std::vector<std::size_t> fraction_nodes;  // fitting nodes with a fractional backend, for a one-device fraction
    for (std::size_t ni = 0; ni < pr.nodes.size(); ++ni) {
      const ProjectedNode& n = pr.nodes[ni];
      if (n.unschedulable || !SelectorMatches(p.node_selector, n.labels)) continue;
      if (p.kai() && n.backend != model::FractionalBackend::kKai) continue;  // kai-scheduler's pod
      const auto& here = on_node[n.name];
      if (std::any_of(here.begin(), here.end(), [&](const ProjectedPod* q) { return Repels(p, *q) || Repels(*q, p); })) continue;
      bool fits = true;
      double free_share = 0;
      for (const auto& [k, v] : p.extended) {
        auto a = n.allocatable.find(k);
        const double alloc = a == n.allocatable.end() ? 0 : a->second;
        const double left = alloc - used[n.name][k];
        if (left + 1e-9 < v) { fits = false; break; }
        free_share += alloc > 0 ? left / alloc : 0;
      }
      // cpu/memory allocatable 0 = not read: not checked.
      const auto& cm = used_cpu_mem[n.name];
      if (n.cpu > 0 && cm.first + p.cpu > n.cpu + 1e-9) fits = false;
      if (n.memory_bytes > 0 && cm.second + p.memory_bytes > n.memory_bytes + 1) fits = false;
      if (!fits) continue;
      if (n.fractional() && !n.gpu_keys.empty()) {
        const std::optional<MilliAsk> f = FractionMilli(p, n);
        if (f && f->devices == 1) fraction_nodes.push_back(ni);
      }
      if (free_share > best_free + 1e-12) {
        best = &n;
        best_free = free_share;
      }
    }
    std::string device;
    if (!fraction_nodes.empty()) {
      const auto [ni, g] = fraction_placer.Choose(p, fraction_nodes, used_cpu_mem);
      best = ni < 0 ? nullptr : &pr.nodes[static_cast<std::size_t>(ni)];
      if (best != nullptr) device = best->gpu_keys[static_cast<std::size_t>(g)];
    }
    if (best == nullptr) {
      if (p.gpu()) ++pr.unplaced_gpu_pods;
      pr.notes.push_back("pod " + p.namespace_name + "/" + p.name + " (" + Describe(p.extended) +
                         ") finds no schedulable GPU node with room that its pod anti-affinity allows: it would stay Pending");
      continue;
    }
    p.node = best->name;
    if (!device.empty()) {
      p.devices = {device};
      p.devices_placed = true;
    }
    on_node[p.node].push_back(&p);
    for (const auto& [k, v] : p.extended) used[p.node][k] += v;
    used_cpu_mem[p.node].first += p.cpu;
    used_cpu_mem[p.node].second += p.memory_bytes;
  }
}

bool IsGpuResource(const std::string& name) {
  return name.starts_with("nvidia.com/") || name.find("gpu") != std::string::npos;
}

std::optional<double> Number(const std::string& text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// The workload's live pods (by its top controller), or the bare pod itself.
std::vector<std::size_t> PodsOf(const Projection& pr, const model::ObjectRef& t) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < pr.pods.size(); ++i) {
    const ProjectedPod& p = pr.pods[i];
    if (p.workload.namespace_name != t.namespace_name) continue;
    if ((p.workload.kind == t.kind && p.workload.name == t.name) || (t.kind == "Pod" && p.name == t.name)) out.push_back(i);
  }
  return out;
}

// A new pod of the same template, created at `created`: the scheduler takes pods in creation order, so a pod
// recreated by a later action is placed after those of earlier ones.
void Recreate(ProjectedPod& p, std::int64_t created) {
  p.node.clear();
  p.devices.clear();
  p.devices_placed = false;
  p.created_unix_s = created;
  if (!p.name.ends_with("~")) p.name += "~";
}

// Cordon / Uncordon.
void SetSchedulable(ProjectedNode& n, const model::Action& a) {
  n.unschedulable = a.kind == model::ActionKind::kCordon;
  n.cordoned_by_plan = n.unschedulable;
}

// Evict: a bare pod is gone, a controller's comes back unscheduled, created at `created`.
void ApplyEvict(Projection& pr, const model::Action& a, std::int64_t created) {
  const model::ObjectRef& t = a.target;
  for (std::size_t i = 0; i < pr.pods.size(); ++i) {
    ProjectedPod& p = pr.pods[i];
    if (p.namespace_name != t.namespace_name || p.name != t.name) continue;
    if (p.owner_kind.empty()) {
      pr.pods.erase(pr.pods.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      Recreate(p, created);
    }
    return;
  }
  pr.notes.push_back("action " + a.id + ": pod " + t.namespace_name + "/" + t.name + " is not running");
}

struct Configs {
  std::map<std::string, std::map<std::string, int>> mig;
  std::map<std::string, std::pair<int, int>> mig_devices;
  std::map<std::string, std::pair<std::string, int>> sharing;
  std::map<std::string, bool> sharing_rename;
};

base::Status ApplyNodeLabel(Projection& pr, ProjectedNode& n, const model::Action& a, const model::LabelValue& v,
                            const Configs& configs, bool assume_mixed) {
  const std::string value = v.value.value_or("");
  if (v.value) n.labels[v.key] = value; else n.labels.erase(v.key);
  if (v.key == kMigConfigLabel) {
    auto c = configs.mig.find(value);
    if (c == configs.mig.end()) {
      pr.notes.push_back("action " + a.id + ": MIG config '" + value + "' is not defined by this plan: node " + n.name +
                         " is left out of the projection");
      n.unschedulable = true;
      return base::Status::Ok();
    }
    for (const ProjectedPod& p : pr.pods) {
      if (p.node == n.name && p.gpu()) {
        return base::InvalidArgument("action " + a.id + " changes node " + n.name + "'s MIG layout while pod " +
                                     p.namespace_name + "/" + p.name + " still holds a GPU there (evict it first)");
      }
    }
    for (auto it = n.allocatable.begin(); it != n.allocatable.end();) {
      it = it->first == kGpu || it->first.starts_with("nvidia.com/mig-") ? n.allocatable.erase(it) : std::next(it);
    }
    n.mig_config = value;
    const std::map<std::string, int>& layout = c->second;
    int instances = 0;
    for (const auto& [profile, count] : layout) instances += profile.empty() ? 0 : count;
    auto strategy = n.labels.find("nvidia.com/mig.strategy");
    const bool single = !assume_mixed && (strategy == n.labels.end() || strategy->second != "mixed");
    if (instances == 0) {
      n.allocatable[std::string(kGpu)] = n.gpus;
      if (auto p = n.labels.find("nvidia.com/gpu.product"); p != n.labels.end()) {
        if (auto m = p->second.find("-MIG-"); m != std::string::npos) p->second.resize(m);
      }
    } else if (single) {
      if (layout.size() != 1) {
        return base::InvalidArgument("action " + a.id + ": node " + n.name +
                                     " runs the single MIG strategy, which advertises one profile; config '" + value +
                                     "' mixes profiles");
      }
      n.allocatable[std::string(kGpu)] = static_cast<double>(instances) * n.gpus;
      std::string& product = n.labels["nvidia.com/gpu.product"];
      if (auto m = product.find("-MIG-"); m != std::string::npos) product.resize(m);
      product += "-MIG-" + layout.begin()->first;
    } else {
      int mig = n.gpus;
      if (auto d = configs.mig_devices.find(value); d != configs.mig_devices.end()) mig = std::min(d->second.first, n.gpus);
      for (const auto& [profile, count] : layout) n.allocatable[MigResourceName(profile)] = static_cast<double>(count) * mig;
      if (mig < n.gpus) n.allocatable[std::string(kGpu)] = n.gpus - mig;
    }
  } else if (v.key == kPluginConfigLabel) {
    auto c = configs.sharing.find(value);
    if (c == configs.sharing.end()) {
      pr.notes.push_back("action " + a.id + ": device-plugin config '" + value + "' is not defined by this plan: node " +
                         n.name + " keeps what it advertises in the projection");
      return base::Status::Ok();
    }
    n.replicas = std::max(1, c->second.second);
    if (!GpuResourceIsMig(n)) {
      auto rename = configs.sharing_rename.find(value);
      const bool renamed = rename != configs.sharing_rename.end() && rename->second && n.replicas > 1;
      n.allocatable.erase(std::string(kGpu));
      n.allocatable.erase("nvidia.com/gpu.shared");
      n.allocatable[renamed ? "nvidia.com/gpu.shared" : std::string(kGpu)] = static_cast<double>(n.gpus) * n.replicas;
    }
  }
  return base::Status::Ok();
}

}  // namespace

std::vector<int> FractionalGpuUse(const Projection& projection, const ProjectedNode& node) {
  std::vector<const ProjectedPod*> on_node;
  for (const ProjectedPod& p : projection.pods) {
    if (p.node == node.name) on_node.push_back(&p);
  }
  return FractionalUse(on_node, node);
}

std::string MigResourceName(const std::string& profile) {
  std::string name = "nvidia.com/mig-" + profile;
  std::replace(name.begin(), name.end(), '+', '.');
  return name;
}

std::map<std::string, double> ExtendedRequests(const model::GpuRequest& r) {
  std::map<std::string, double> out;
  if (r.gpus > 0) out[std::string(kGpu)] = r.gpus;
  if (r.shared > 0) out["nvidia.com/gpu.shared"] = r.shared;
  for (const auto& [profile, n] : r.mig) {
    if (n > 0) out[MigResourceName(profile)] = n;
  }
  if (r.hami_gpumem_mib > 0) out["nvidia.com/gpumem"] = r.hami_gpumem_mib;
  if (r.hami_gpumem_percent > 0) out["nvidia.com/gpumem-percentage"] = r.hami_gpumem_percent;
  if (r.hami_gpucores_percent > 0) out["nvidia.com/gpucores"] = r.hami_gpucores_percent;
  for (const auto& [name, v] : r.other) {
    if (v > 0) out[name] = v;
  }
  return out;
}

Projection ProjectNow(const model::Snapshot& s) {
  Projection pr;
  std::map<std::string, int> node_index;
  for (const model::SnapshotNode& sn : s.nodes) {
    ProjectedNode n;
    n.name = sn.node.name;
    n.gpus = sn.gpus;
    n.unschedulable = sn.node.unschedulable;
    n.replicas = std::max(1, sn.replicas);
    n.allocatable = sn.node.allocatable;
    n.cpu = sn.node.cpu_allocatable;
    n.memory_bytes = sn.node.memory_allocatable_bytes;
    n.labels = sn.node.labels;
    n.price_micro_per_gpu_hour = sn.price_micro_per_gpu_hour;
    n.backend = sn.node.backend;
    n.gpu_memory_mib = sn.node.gpu_memory_mib;
    n.gpu_model = sn.node.gpu_product;
    const int index = static_cast<int>(pr.nodes.size());
    for (const model::Device& d : s.devices) {
      if (d.node != index || d.is_mig() || static_cast<int>(n.gpu_keys.size()) >= n.gpus) continue;
      n.gpu_keys.push_back(d.key);
      if (!d.model_name.empty()) n.gpu_model = d.model_name;
    }
    while (static_cast<int>(n.gpu_keys.size()) < n.gpus) n.gpu_keys.push_back(n.name + "/#" + std::to_string(n.gpu_keys.size()));
    node_index[n.name] = index;
    pr.nodes.push_back(std::move(n));
  }
  // The physical GPUs each pod held in the last interval that has samples, from the exporter's labels.
  std::map<int, std::set<std::string>> held;
  if (s.intervals > 0) {
    for (const model::DeviceInterval& u : s.usage) {
      if (u.interval != s.intervals - 1) continue;
      const model::Device& d = s.devices[static_cast<std::size_t>(u.device)];
      for (const model::DeviceHold& h : u.holds) {
        if (h.how != model::HoldHow::kAssumed && d.node >= 0) held[h.pod].insert(s.nodes[static_cast<std::size_t>(d.node)].node.name + "/" + d.uuid);
      }
    }
  }
  int unscheduled_before = 0;
  for (std::size_t i = 0; i < s.pods.size(); ++i) {
    const model::Pod& p = s.pods[i];
    if (!AliveAtEnd(p, s.end_unix_s)) continue;
    if (p.node.empty()) {
      unscheduled_before += p.RequestsGpu() ? 1 : 0;
      continue;
    }
    if (node_index.count(p.node) == 0) continue;
    ProjectedPod pp;
    pp.namespace_name = p.namespace_name;
    pp.name = p.name;
    pp.workload = model::WorkloadOf(p);
    pp.owner_kind = p.owners.empty() ? "" : p.owners.front().kind;
    pp.node = p.node;
    const model::GpuRequest request = p.GpuTotal();
    pp.extended = ExtendedRequests(request);
    pp.fractional = model::FractionOf(request, 0).has_value();
    pp.kai_fraction = request.kai_fraction;
    pp.kai_memory_mib = request.kai_memory_mib;
    for (const model::Container& c : p.containers) {
      pp.cpu += c.cpu_request;
      pp.memory_bytes += c.memory_request_bytes;
    }
    pp.node_selector = p.node_selector;
    pp.labels = p.labels;
    pp.anti_affinity = p.anti_affinity;
    pp.created_unix_s = p.created_unix_s;
    if (auto h = held.find(static_cast<int>(i)); h != held.end() && pp.gpu()) pp.devices.assign(h->second.begin(), h->second.end());
    pr.pods.push_back(std::move(pp));
  }
  if (unscheduled_before > 0) {
    pr.notes.push_back(std::to_string(unscheduled_before) +
                       " GPU pod(s) were Pending at the end of the window; the projection leaves them Pending");
  }
  Occupancy(pr, /*tight=*/true);
  return pr;
}

base::Result<Projection> ProjectPlan(const model::Snapshot& s, const model::Plan& plan, bool assume_mixed_strategy) {
  Projection pr = ProjectNow(s);
  pr.notes.clear();
  Configs configs;
  auto find_node = [&](const std::string& name) -> ProjectedNode* {
    for (ProjectedNode& n : pr.nodes) {
      if (n.name == name) return &n;
    }
    return nullptr;
  };
  std::int64_t created = s.end_unix_s;
  for (const model::Action& a : plan.actions) {
    const model::ObjectRef& t = a.target;
    ++created;  // each action at its own moment after the window
    switch (a.kind) {
      case model::ActionKind::kCordon:
      case model::ActionKind::kUncordon:
      case model::ActionKind::kSetNodeLabel: {
        ProjectedNode* n = find_node(t.name);
        if (n == nullptr) {
          pr.notes.push_back("action " + a.id + ": node " + t.name + " is not a GPU node of the snapshot");
          break;
        }
        if (a.kind == model::ActionKind::kSetNodeLabel) {
          if (const auto* v = std::get_if<model::LabelValue>(&a.after)) {
            RETURN_IF_ERROR(ApplyNodeLabel(pr, *n, a, *v, configs, assume_mixed_strategy));
          }
        } else {
          SetSchedulable(*n, a);
        }
        break;
      }
      case model::ActionKind::kEvict: ApplyEvict(pr, a, created); break;
      case model::ActionKind::kSetReplicas: {
        const auto* v = std::get_if<model::ReplicaCount>(&a.after);
        if (v == nullptr) break;
        std::vector<std::size_t> pods = PodsOf(pr, t);
        const int have = static_cast<int>(pods.size());
        if (v->replicas < have) {
          // A ReplicaSet deletes unscheduled pods first, then pods on the node crowded with the most of its
          // replicas, then the newest.
          std::map<std::string, int> per_node;
          for (std::size_t i : pods) ++per_node[pr.pods[i].node];
          std::sort(pods.begin(), pods.end(), [&](std::size_t x, std::size_t y) {
            const ProjectedPod& a1 = pr.pods[x];
            const ProjectedPod& b1 = pr.pods[y];
            if (a1.node.empty() != b1.node.empty()) return a1.node.empty();
            if (per_node[a1.node] != per_node[b1.node]) return per_node[a1.node] > per_node[b1.node];
            return a1.created_unix_s > b1.created_unix_s;
          });
          std::vector<std::size_t> drop(pods.begin(), pods.begin() + (have - v->replicas));
          std::sort(drop.rbegin(), drop.rend());
          for (std::size_t i : drop) pr.pods.erase(pr.pods.begin() + static_cast<std::ptrdiff_t>(i));
        } else if (v->replicas > have) {
          if (pods.empty()) {
            pr.notes.push_back("action " + a.id + ": " + t.str() + " has no pod to copy; its new replicas are not projected");
            break;
          }
          ProjectedPod copy = pr.pods[pods.back()];
          Recreate(copy, created);
          for (int k = have; k < v->replicas; ++k) {
            copy.name = t.name + "-new-" + std::to_string(k) + "~";
            pr.pods.push_back(copy);
          }
        }
        break;
      }
      case model::ActionKind::kSetResources: {
        const auto* before = std::get_if<model::ResourceValues>(&a.before);
        const auto* after = std::get_if<model::ResourceValues>(&a.after);
        if (before == nullptr || after == nullptr) break;
        std::vector<std::size_t> pods = PodsOf(pr, t);
        if (pods.empty()) pr.notes.push_back("action " + a.id + ": " + t.str() + " has no running pod");
        for (std::size_t i : pods) {
          ProjectedPod& p = pr.pods[i];
          // GPU resources: the container's are replaced by `after`'s. cpu/memory changes are not projected.
          for (const auto& [k, q] : before->requests) {
            if (IsGpuResource(k)) p.extended.erase(k);
          }
          for (const auto& [k, q] : before->limits) {
            if (IsGpuResource(k)) p.extended.erase(k);
          }
          auto add = [&](const std::map<std::string, std::string>& m) {
            for (const auto& [k, q] : m) {
              if (!IsGpuResource(k)) continue;
              if (auto n = Number(q)) p.extended[k] = std::max(p.extended[k], *n);
            }
          };
          add(after->requests);
          add(after->limits);
          Recreate(p, created);
        }
        break;
      }
      case model::ActionKind::kSetScheduling: {
        const auto* after = std::get_if<model::SchedulingValues>(&a.after);
        if (after == nullptr) break;
        for (std::size_t i : PodsOf(pr, t)) {
          pr.pods[i].node_selector = after->node_selector;
          Recreate(pr.pods[i], created);
        }
        break;
      }
      case model::ActionKind::kSetConfigMapKey: {
        if (const auto* v = std::get_if<model::ConfigMapValue>(&a.after)) {
          for (const auto& [name, layout] : v->mig_layouts) configs.mig[name] = layout;
          for (const auto& [name, devices] : v->mig_devices) configs.mig_devices[name] = devices;
          for (const auto& [name, sharing] : v->sharing) configs.sharing[name] = sharing;
          for (const auto& [name, rename] : v->sharing_rename) configs.sharing_rename[name] = rename;
        }
        break;
      }
      case model::ActionKind::kSetEngineArgs:
      case model::ActionKind::kSetAutoscalerBounds:
      case model::ActionKind::kWaitForNodeLabel:
      case model::ActionKind::kSetCronSchedule:
        break;  // no effect on where pods run or what nodes advertise
    }
  }
  Place(pr);
  Occupancy(pr, /*tight=*/false);
  return pr;
}

base::Status ProjectMore(Projection& pr, std::span<const model::Action> more) {
  for (const model::Action& a : more) {
    if (a.kind != model::ActionKind::kEvict && a.kind != model::ActionKind::kCordon && a.kind != model::ActionKind::kUncordon) {
      return base::InvalidArgument("action " + a.id + " (" + std::string(model::ActionKindName(a.kind)) +
                                   "): only Cordon, Uncordon and Evict are applied on top of a projection");
    }
  }
  pr.notes.clear();
  std::int64_t created = 0;
  for (const ProjectedPod& p : pr.pods) created = std::max(created, p.created_unix_s);
  for (const model::Action& a : more) {
    ++created;
    if (a.kind == model::ActionKind::kEvict) {
      ApplyEvict(pr, a, created);
      continue;
    }
    auto n = std::find_if(pr.nodes.begin(), pr.nodes.end(), [&](const ProjectedNode& x) { return x.name == a.target.name; });
    if (n == pr.nodes.end()) {
      pr.notes.push_back("action " + a.id + ": node " + a.target.name + " is not a GPU node of the snapshot");
      continue;
    }
    SetSchedulable(*n, a);
  }
  pr.unplaced_gpu_pods = 0;
  Place(pr);
  Occupancy(pr, /*tight=*/false);
  return base::Status::Ok();
}

}  // namespace gpuwise::optimize
