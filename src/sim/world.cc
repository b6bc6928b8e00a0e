#include "sim/world.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "sim/mig_profiles.h"

namespace gpuwise::sim {
namespace {

constexpr double kDayS = 86400.0;
constexpr int kExporterPort = 9400;     // dcgm-exporter default (facts 1.2)
constexpr int kVllmPort = 8000;         // vLLM OpenAI server default
constexpr int kKsmPort = 8080;          // kube-state-metrics default http-metrics port
constexpr double kLongAgoS = -30 * kDayS;  // "running since before the window"

std::string Uid(std::uint64_t key) { return UuidText(Hash3(key, 1, 91), Hash3(key, 2, 91)); }

std::string GpuUuid(std::uint64_t seed, std::string_view node, int index) {
  const std::uint64_t key = Hash3(seed, HashString(node), static_cast<std::uint64_t>(index));
  const std::uint64_t a = Hash3(key, 51, 0), b = Hash3(key, 52, 0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "GPU-%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

// GFD's nvidia.com/gpu.product: characters outside [A-Za-z0-9-_. ] removed, spaces to '-' (facts 3.2).
std::string GfdProduct(std::string_view model) {
  std::string out;
  for (char c : model) {
    if (c == ' ') out.push_back('-');
    else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') out.push_back(c);
  }
  return out;
}

std::string Quantity(double gib) {  // "64Gi"
  char buf[32];
  if (std::fabs(gib - std::round(gib)) < 1e-9) std::snprintf(buf, sizeof buf, "%.0fGi", gib);
  else std::snprintf(buf, sizeof buf, "%.0fMi", gib * 1024);
  return buf;
}

struct Family {
  std::string_view match, family;
  int major, minor;
};
constexpr Family kFamilies[] = {{"H100", "hopper", 9, 0}, {"A100", "ampere", 8, 0}, {"L4", "ada-lovelace", 8, 9},
                                {"", "ampere", 8, 6}};

const Family& FamilyOf(std::string_view model) {
  for (const Family& f : kFamilies) {
    if (!f.match.empty() && model.find(f.match) != std::string_view::npos) return f;
  }
  return kFamilies[std::size(kFamilies) - 1];
}

// Compares dotted versions numerically: "4.6.0-..." >= "4.6.0".
bool VersionAtLeast(std::string_view version, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(std::string(version).c_str(), "%d.%d", &a, &b) < 1) return false;
  return a > major || (a == major && b >= minor);
}

// A share as KAI's annotation writes it: "0.5", "0.25" (%g).
std::string ShareText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Per-GPU bookkeeping for placement.
struct GpuFree {
  bool whole_free = true;           // no pod holds the whole device
  int sharers = 0;                  // time-slicing / MPS replicas handed out
  std::vector<bool> mig_free;       // per instance
  double hami_mem_mib = 0;          // HAMi: free memory
  int hami_cores = 100;             // HAMi: free cores percent
};

struct Placer {
  const Scenario& s;
  World& w;
  std::vector<std::vector<GpuFree>> free;  // [node][gpu]

  // Tries to bind `spec`'s request on node n. Returns the bindings, or empty.
  std::vector<GpuBinding> TryNode(const WorkloadSpec& spec, int n) {
    const SimNode& node = w.nodes[static_cast<std::size_t>(n)];
    const NodePool& pool = s.node_pools[static_cast<std::size_t>(node.pool)];
    std::vector<GpuFree>& gf = free[static_cast<std::size_t>(n)];
    std::vector<GpuBinding> out;
    const GpuRequest& req = spec.gpu;
    if (req.Hami() || req.Kai()) {
      if (pool.sharing.mode != (req.Hami() ? SharingMode::kHami : SharingMode::kKai)) return {};
      // KAI: the fraction of the GPU's memory and of its time (KAI's GPU_PORTION).
      const double mem = req.Kai() ? req.fraction * (node.gpus.empty() ? 0 : node.gpus.front().memory_mib) : req.gpumem_mib;
      const int cores = req.Kai() ? static_cast<int>(std::lround(req.fraction * 100)) : std::max(0, req.gpucores_percent);
      for (std::size_t g = 0; g < gf.size() && static_cast<int>(out.size()) < std::max(1, req.count); ++g) {
        if (!gf[g].whole_free || gf[g].hami_mem_mib < mem - 1e-6 || gf[g].hami_cores < cores) continue;
        GpuBinding b{n, static_cast<int>(g), -1, -1, mem, cores > 0 ? cores / 100.0 : 1.0};
        out.push_back(b);
      }
      if (static_cast<int>(out.size()) < std::max(1, req.count)) return {};
      for (const GpuBinding& b : out) {
        gf[static_cast<std::size_t>(b.gpu)].hami_mem_mib -= mem;
        gf[static_cast<std::size_t>(b.gpu)].hami_cores -= cores;
      }
      return out;
    }
    bool offered = false;
    for (const std::string& r : AdvertisedResources(pool)) offered |= r == req.resource;
    if (!offered) return {};
    const Sharing& sh = pool.sharing;
    const bool mig_request = req.resource.rfind("nvidia.com/mig-", 0) == 0 ||
                             (sh.mode == SharingMode::kMig && sh.mig_strategy == MigStrategy::kSingle);
    if (mig_request) {
      const std::string profile =
          sh.mig_strategy == MigStrategy::kSingle ? sh.mig_layout.front() : req.resource.substr(15);
      for (std::size_t g = 0; g < gf.size() && static_cast<int>(out.size()) < req.count; ++g) {
        const SimGpu& gpu = node.gpus[g];
        for (std::size_t i = 0; i < gpu.mig.size() && static_cast<int>(out.size()) < req.count; ++i) {
          if (gpu.mig[i].profile != profile || !gf[g].mig_free[i]) continue;
          out.push_back({n, static_cast<int>(g), static_cast<int>(i), -1, gpu.mig[i].memory_mib, 1.0});
          gf[g].mig_free[i] = false;  // tentatively; undone below on failure
        }
      }
      if (static_cast<int>(out.size()) < req.count) {
        for (const GpuBinding& b : out) gf[static_cast<std::size_t>(b.gpu)].mig_free[static_cast<std::size_t>(b.mig)] = true;
        return {};
      }
      return out;
    }
    if (sh.mode == SharingMode::kTimeSlicing || sh.mode == SharingMode::kMps) {
      // A share of a device; the device plugin may hand several shares of one GPU to one pod. Spread: the GPU
      // with the fewest sharers first (lowest index on ties).
      for (int k = 0; k < req.count; ++k) {
        std::vector<int> handed_out;
        for (const GpuFree& f : gf) handed_out.push_back(f.sharers);
        const int best = LeastSharedGpu(handed_out, sh.replicas);
        if (best < 0) {
          for (const GpuBinding& b : out) --gf[static_cast<std::size_t>(b.gpu)].sharers;
          return {};
        }
        GpuFree& f = gf[static_cast<std::size_t>(best)];
        out.push_back(ShareBinding(n, best, f.sharers, node.gpus[static_cast<std::size_t>(best)], sh));
        ++f.sharers;
      }
      return out;
    }
    // Whole GPUs (MIG-disabled GPUs of a mixed node included).
    for (std::size_t g = 0; g < gf.size() && static_cast<int>(out.size()) < req.count; ++g) {
      if (!gf[g].whole_free || !node.gpus[g].mig.empty()) continue;
      out.push_back({n, static_cast<int>(g), -1, -1, node.gpus[g].memory_mib, 1.0});
    }
    if (static_cast<int>(out.size()) < req.count) return {};
    for (const GpuBinding& b : out) gf[static_cast<std::size_t>(b.gpu)].whole_free = false;
    return out;
  }

  // First fit over the allowed pools' nodes. Empty + reason when nothing fits.
  std::vector<GpuBinding> Place(const WorkloadSpec& spec, std::string* reason) {
    if (spec.gpu.count == 0 && spec.gpu.gpumem_mib == 0) {
      *reason = "";
      return {};
    }
    for (std::size_t n = 0; n < w.nodes.size(); ++n) {
      const NodePool& pool = s.node_pools[static_cast<std::size_t>(w.nodes[n].pool)];
      if (!spec.node_pool.empty() && pool.name != spec.node_pool) continue;
      std::vector<GpuBinding> b = TryNode(spec, static_cast<int>(n));
      if (!b.empty()) return b;
    }
    *reason = "0/" + std::to_string(w.nodes.size()) + " nodes are available: " +
              (spec.gpu.Hami()  ? "insufficient nvidia.com/gpumem or nvidia.com/gpucores"
               : spec.gpu.Kai() ? "no GPU with " + ShareText(spec.gpu.fraction) + " of it free"
                                : "insufficient " + spec.gpu.resource);
    return {};
  }
};

// Minute and hour of a daily cron schedule "M H * * *"; other schedules run daily at 02:00 (said in docs).
std::pair<int, int> DailyCron(std::string_view schedule) {
  int minute = 0, hour = 2;
  char rest[64] = {0};
  if (std::sscanf(std::string(schedule).c_str(), "%d %d %63[^\n]", &minute, &hour, rest) >= 2 && minute >= 0 &&
      minute < 60 && hour >= 0 && hour < 24) {
    return {minute, hour};
  }
  return {0, 2};
}

}  // namespace

std::string LoopbackAddress(int second_octet, int index) {
  // 250 hosts per third octet, .1 to .250: no .0 network or .255 broadcast look-alikes.
  return "127." + std::to_string(second_octet) + "." + std::to_string(index / 250) + "." +
         std::to_string(index % 250 + 1);
}

int World::NodeIndex(std::string_view name) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].meta.name == name) return static_cast<int>(i);
  }
  return -1;
}

base::MicroUsd GpuHourPrice(const World& world, int node) {
  const NodePool& pool = world.scenario.node_pools[static_cast<std::size_t>(world.nodes[static_cast<std::size_t>(node)].pool)];
  if (pool.gpus_per_node <= 0) return {0};
  return {pool.price_per_node_hour.value / pool.gpus_per_node};
}

int LeastSharedGpu(const std::vector<int>& handed_out, int replicas) {
  int best = -1;
  for (std::size_t g = 0; g < handed_out.size(); ++g) {
    if (handed_out[g] >= replicas) continue;
    if (best < 0 || handed_out[g] < handed_out[static_cast<std::size_t>(best)]) best = static_cast<int>(g);
  }
  return best;
}

GpuBinding ShareBinding(int node, int gpu, int replica, const SimGpu& device, const Sharing& sh) {
  // MPS caps each client at 1/replicas of memory and compute; time-slicing caps nothing (facts 3.1).
  const bool mps = sh.mode == SharingMode::kMps;
  return {node, gpu, -1, replica, mps ? device.memory_mib / sh.replicas : device.memory_mib, mps ? 1.0 / sh.replicas : 1.0};
}

void ApplyNodeSharing(SimNode& node, const NodePool& pool, const Sharing& sh) {
  node.sharing = sh;
  auto& l = node.meta.labels;
  const MigGpuTable* table = FindMigTable(pool.gpu_model);
  for (auto it = node.capacity.begin(); it != node.capacity.end();) {
    it = it->first.rfind("nvidia.com/", 0) == 0 ? node.capacity.erase(it) : std::next(it);
  }
  for (auto it = l.begin(); it != l.end();) {
    const bool mig_count = it->first.rfind("nvidia.com/mig-", 0) == 0 && it->first.ends_with(".count");
    it = mig_count || it->first == "nvidia.com/mig.strategy" ? l.erase(it) : std::next(it);
  }
  int mig_gpus = 0;
  for (SimGpu& gpu : node.gpus) {
    gpu.mig.clear();
    if (sh.mode != SharingMode::kMig || (sh.mig_gpus >= 0 && gpu.index >= sh.mig_gpus)) continue;
    ++mig_gpus;
    int next_start = 0;
    int gi_id = 1;  // NVML hands out GI ids in creation order from 1. GUESS (captures show 1..14).
    for (const std::string& profile : sh.mig_layout) {
      const MigProfileInfo* info = table != nullptr ? table->Find(profile) : nullptr;
      MigSlice slice;
      slice.profile = profile;
      slice.gi_id = gi_id++;
      slice.compute_slices = info != nullptr ? info->compute_slices : 1;
      slice.memory_slices = info != nullptr ? info->memory_slices : 1;
      slice.sms = info != nullptr ? info->sms : 0;
      slice.memory_mib = info != nullptr ? info->memory_gib * 1024 : gpu.memory_mib / 7;
      // First valid placement at or after the next free memory slice (placements are aligned to size).
      const int size = slice.memory_slices;
      slice.start = (next_start + size - 1) / size * size;
      next_start = slice.start + size;
      gpu.mig.push_back(slice);
    }
  }
  const int gpus = static_cast<int>(node.gpus.size());
  std::string product = GfdProduct(pool.gpu_model);
  std::string strategy = "none";
  int replicas = 1;
  switch (sh.mode) {
    case SharingMode::kTimeSlicing:
    case SharingMode::kMps:
      strategy = sh.mode == SharingMode::kMps ? "mps" : "time-slicing";
      replicas = sh.replicas;
      if (!sh.rename) product += "-SHARED";
      break;
    case SharingMode::kMig:
      l["nvidia.com/mig.strategy"] = sh.mig_strategy == MigStrategy::kSingle ? "single" : "mixed";
      if (sh.mig_strategy == MigStrategy::kSingle && !sh.mig_layout.empty()) product += "-MIG-" + sh.mig_layout.front();
      break;
    default: break;
  }
  l["nvidia.com/gpu.product"] = product;
  l["nvidia.com/gpu.sharing-strategy"] = strategy;
  l["nvidia.com/gpu.replicas"] = std::to_string(replicas);
  // Capacity the device plugin advertises.
  if (sh.mode == SharingMode::kMig) {
    std::map<std::string, int> per_profile;
    for (const SimGpu& gpu : node.gpus) {
      for (const MigSlice& m : gpu.mig) ++per_profile[m.profile];
    }
    if (sh.mig_strategy == MigStrategy::kSingle) {
      int n = 0;
      for (const auto& [k, v] : per_profile) n += v;
      node.capacity["nvidia.com/gpu"] = std::to_string(n + gpus - mig_gpus);
    } else {
      for (const auto& [k, v] : per_profile) {
        node.capacity["nvidia.com/mig-" + k] = std::to_string(v);
        l["nvidia.com/mig-" + k + ".count"] = std::to_string(v);
      }
      if (gpus > mig_gpus) node.capacity["nvidia.com/gpu"] = std::to_string(gpus - mig_gpus);
    }
  } else if (sh.mode == SharingMode::kTimeSlicing || sh.mode == SharingMode::kMps) {
    node.capacity[sh.rename ? "nvidia.com/gpu.shared" : "nvidia.com/gpu"] = std::to_string(gpus * sh.replicas);
  } else {
    // HAMi's device plugin advertises deviceSplitCount (default 10) vGPU slots per GPU (HAMi chart values).
    node.capacity["nvidia.com/gpu"] = std::to_string(sh.mode == SharingMode::kHami ? 10 * gpus : gpus);
    if (sh.mode == SharingMode::kHami) {
      const long long total = node.gpus.empty() ? 0 : static_cast<long long>(std::llround(node.gpus.front().memory_mib));
      node.capacity["nvidia.com/gpumem"] = std::to_string(total * gpus);
      node.capacity["nvidia.com/gpucores"] = std::to_string(100 * gpus);
      l["gpu"] = "on";  // HAMi schedules onto nodes labelled gpu=on (HAMi README)
    }
    if (sh.mode == SharingMode::kKai) l["kai.scheduler/node-pool"] = "default";  // KAI's node-pool label
  }
}

base::Result<World> BuildWorld(const Scenario& scenario, const WorldOptions& options) {
  RETURN_IF_ERROR(ValidateScenario(scenario));
  if (options.address_block < 1 || options.address_block > 251) {
    return base::InvalidArgument("address block must be in 1..251 (127.<block>.x.y to 127.<block+3>.x.y)");
  }
  World w;
  w.scenario = scenario;
  w.options = options;
  const std::uint64_t seed = scenario.seed;
  auto uid = [&](std::string_view kind, std::string_view ns, std::string_view name, double t) {
    return Uid(Hash3(seed, HashString(std::string(kind) + "/" + std::string(ns) + "/" + std::string(name)),
                     static_cast<std::uint64_t>(std::llround(t))));
  };

  // Nodes and their GPUs.
  for (std::size_t p = 0; p < scenario.node_pools.size(); ++p) {
    const NodePool& pool = scenario.node_pools[p];
    const Family& fam = FamilyOf(pool.gpu_model);
    for (int i = 0; i < pool.count; ++i) {
      SimNode node;
      node.pool = static_cast<int>(p);
      node.meta.name = pool.name + "-" + std::to_string(i);
      node.meta.uid = uid("Node", "", node.meta.name, 0);
      node.meta.created_s = kLongAgoS;
      node.lowercase_hostname = VersionAtLeast(pool.dcgm_exporter_version, 4, 6);
      auto& l = node.meta.labels;
      l["kubernetes.io/hostname"] = node.meta.name;
      l["kubernetes.io/os"] = "linux";
      l["kubernetes.io/arch"] = "amd64";
      l["node.kubernetes.io/instance-type"] = pool.instance_type;
      l["topology.kubernetes.io/zone"] = pool.zone;
      if (pool.zone.size() > 1) l["topology.kubernetes.io/region"] = pool.zone.substr(0, pool.zone.size() - 1);
      l["karpenter.sh/capacity-type"] = pool.capacity == CapacityType::kSpot ? "spot" : "on-demand";
      l["gpuwise.io/node-pool"] = pool.name;
      node.capacity["cpu"] = std::to_string(pool.cpu);
      node.capacity["memory"] = Quantity(pool.memory_gib);
      node.capacity["pods"] = "110";
      if (pool.gpus_per_node > 0) {
        const MigGpuTable* table = FindMigTable(pool.gpu_model);
        const double total_mib = DeviceMemoryMib(pool.gpu_model, pool.gpu_memory_gib);
        for (int g = 0; g < pool.gpus_per_node; ++g) {
          SimGpu gpu;
          gpu.index = g;
          gpu.uuid = GpuUuid(seed, node.meta.name, g);
          gpu.model_name = pool.gpu_model;
          gpu.memory_mib = total_mib;
          gpu.sms = table != nullptr ? table->full_sms : 0;
          node.gpus.push_back(std::move(gpu));
        }
        l["nvidia.com/gpu.present"] = "true";
        l["nvidia.com/gpu.family"] = std::string(fam.family);
        l["nvidia.com/gpu.compute.major"] = std::to_string(fam.major);
        l["nvidia.com/gpu.compute.minor"] = std::to_string(fam.minor);
        l["nvidia.com/gpu.machine"] = pool.instance_type;
        l["nvidia.com/gpu.memory"] = std::to_string(static_cast<long long>(std::llround(total_mib)));
        l["nvidia.com/gpu.count"] = std::to_string(pool.gpus_per_node);
        l["nvidia.com/mig.capable"] = table != nullptr ? "true" : "false";
        if (!pool.driver_version.empty()) {
          l["nvidia.com/cuda.driver-version.full"] = pool.driver_version;
          l["nvidia.com/cuda.driver-version.major"] = pool.driver_version.substr(0, pool.driver_version.find('.'));
        }
        if (pool.sharing.mode == SharingMode::kMig) {
          l["nvidia.com/mig.config"] = "custom-" + pool.name;
          l["nvidia.com/mig.config.state"] = "success";
        }
        ApplyNodeSharing(node, pool, pool.sharing);
        node.exporter_pod = "nvidia-dcgm-exporter-" + KubeSuffix(Hash3(seed, HashString(node.meta.name), 5), 5);
      }
      w.nodes.push_back(std::move(node));
    }
  }

  // Namespaces: every workload's, plus the add-ons'.
  std::set<std::string> ns_names = {"default", "kube-system", "gpu-operator"};
  for (const WorkloadSpec& spec : scenario.workloads) ns_names.insert(spec.namespace_name);
  for (const std::string& ns : ns_names) {
    SimNamespace n;
    n.meta.name = ns;
    n.meta.uid = uid("Namespace", "", ns, 0);
    n.meta.created_s = kLongAgoS;
    n.meta.labels["kubernetes.io/metadata.name"] = ns;
    // A namespace-level team label for namespaces whose workloads all name the same team.
    std::set<std::string> teams;
    for (const WorkloadSpec& spec : scenario.workloads) {
      if (spec.namespace_name != ns) continue;
      auto it = spec.labels.find("gpuwise.io/team");
      teams.insert(it == spec.labels.end() ? "" : it->second);
    }
    if (teams.size() == 1 && !teams.begin()->empty()) n.meta.labels["team"] = *teams.begin();
    w.namespaces.push_back(std::move(n));
  }

  int serving_ip = 0, other_ip = 0, exporter_ip = 0;
  const int b = options.address_block;

  // Cluster add-ons: the dcgm-exporter DaemonSet and kube-state-metrics.
  {
    Controller ds;
    ds.api_version = "apps/v1";
    ds.kind = "DaemonSet";
    ds.meta.name = "nvidia-dcgm-exporter";
    ds.meta.namespace_name = "gpu-operator";
    ds.meta.uid = uid("DaemonSet", "gpu-operator", ds.meta.name, 0);
    ds.meta.created_s = kLongAgoS;
    ds.meta.labels["app"] = "nvidia-dcgm-exporter";
    w.controllers.push_back(ds);
    for (const SimNode& node : w.nodes) {
      if (node.gpus.empty()) continue;
      const NodePool& pool = scenario.node_pools[static_cast<std::size_t>(node.pool)];
      SimPod pod;
      pod.role = PodRole::kDcgmExporter;
      pod.meta.name = node.exporter_pod;
      pod.meta.namespace_name = "gpu-operator";
      pod.meta.uid = uid("Pod", "gpu-operator", pod.meta.name, 0);
      pod.meta.created_s = kLongAgoS;
      pod.meta.labels["app"] = "nvidia-dcgm-exporter";
      pod.owner = {"apps/v1", "DaemonSet", ds.meta.name, ds.meta.uid};
      pod.node = node.meta.name;
      pod.ip = LoopbackAddress(b, exporter_ip++);
      pod.port = kExporterPort;
      pod.container = "nvidia-dcgm-exporter";
      pod.image = "nvcr.io/nvidia/k8s/dcgm-exporter:" + pool.dcgm_exporter_version;
      pod.requests = {{"cpu", "100m"}, {"memory", "128Mi"}};
      pod.start_s = kLongAgoS;
      w.pods.push_back(std::move(pod));
    }
    Controller dep;
    dep.api_version = "apps/v1";
    dep.kind = "Deployment";
    dep.meta.name = "kube-state-metrics";
    dep.meta.namespace_name = "kube-system";
    dep.meta.uid = uid("Deployment", "kube-system", dep.meta.name, 0);
    dep.meta.created_s = kLongAgoS;
    dep.meta.labels["app.kubernetes.io/name"] = "kube-state-metrics";
    dep.replicas = 1;
    Controller rs = dep;
    rs.kind = "ReplicaSet";
    const std::string hash = KubeSuffix(Hash3(seed, 7, 7), 10);
    rs.meta.name = dep.meta.name + "-" + hash;
    rs.meta.uid = uid("ReplicaSet", "kube-system", rs.meta.name, 0);
    rs.meta.labels["pod-template-hash"] = hash;
    rs.owners.push_back({"apps/v1", "Deployment", dep.meta.name, dep.meta.uid});
    w.controllers.push_back(dep);
    w.controllers.push_back(rs);
    SimPod pod;
    pod.role = PodRole::kKubeStateMetrics;
    pod.meta.name = rs.meta.name + "-" + KubeSuffix(Hash3(seed, 7, 8), 5);
    pod.meta.namespace_name = "kube-system";
    pod.meta.uid = uid("Pod", "kube-system", pod.meta.name, 0);
    pod.meta.created_s = kLongAgoS;
    pod.meta.labels = rs.meta.labels;
    pod.owner = {"apps/v1", "ReplicaSet", rs.meta.name, rs.meta.uid};
    pod.node = w.nodes.empty() ? "" : w.nodes.front().meta.name;
    pod.ip = LoopbackAddress(b + 3, 0);
    pod.port = kKsmPort;
    pod.container = "kube-state-metrics";
    pod.image = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0";
    pod.requests = {{"cpu", "100m"}, {"memory", "190Mi"}};
    pod.start_s = kLongAgoS;
    w.pods.push_back(std::move(pod));
  }

  // Workloads: controllers, then one placement "slot" per replica; every incarnation of a slot (rollout, Job
  // run) reuses its devices.
  Placer placer{scenario, w, {}};
  for (const SimNode& node : w.nodes) {
    std::vector<GpuFree> gf(node.gpus.size());
    for (std::size_t g = 0; g < node.gpus.size(); ++g) {
      gf[g].mig_free.assign(node.gpus[g].mig.size(), true);
      gf[g].hami_mem_mib = node.gpus[g].memory_mib;
    }
    placer.free.push_back(std::move(gf));
  }
  const double horizon = options.horizon_s;
  for (std::size_t wi = 0; wi < scenario.workloads.size(); ++wi) {
    const WorkloadSpec& spec = scenario.workloads[wi];
    const std::string& ns = spec.namespace_name;
    const std::uint64_t key = Hash3(seed, HashString(ns + "/" + spec.name), 11);
    std::map<std::string, std::string> labels = spec.labels;
    labels["app.kubernetes.io/name"] = spec.name;

    // The owner chain: [custom resource ->] Deployment -> ReplicaSet, StatefulSet, Job, CronJob -> Job.
    auto add_controller = [&](std::string api, std::string kind, std::string name, std::vector<OwnerRef> owners,
                              double created) -> OwnerRef {
      Controller c;
      c.api_version = api;
      c.kind = kind;
      c.meta.name = name;
      c.meta.namespace_name = ns;
      c.meta.uid = uid(kind, ns, name, created);
      c.meta.labels = labels;
      c.meta.annotations = spec.annotations;
      c.meta.created_s = created;
      c.owners = std::move(owners);
      c.replicas = spec.replicas;
      c.workload = static_cast<int>(wi);
      c.schedule = spec.schedule;
      w.controllers.push_back(c);
      return {api, kind, name, c.meta.uid};
    };
    std::vector<OwnerRef> top;
    std::string base_name = spec.name;
    switch (spec.owner) {
      case OwnerKind::kInferenceService:
        top.push_back(add_controller("serving.kserve.io/v1beta1", "InferenceService", spec.name, {}, kLongAgoS));
        base_name = spec.name + "-predictor";  // KServe raw-deployment mode names its Deployment so
        break;
      case OwnerKind::kLeaderWorkerSet:
        top.push_back(add_controller("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", spec.name, {}, kLongAgoS));
        break;
      default: break;
    }

    const bool serving = spec.kind == WorkloadKind::kInference || spec.kind == WorkloadKind::kForgotten;
    const bool has_metrics = serving && spec.engine == EngineKind::kVllm;
    // Slots: one per replica (plus, for a multi-replica Deployment, one replica scaled in during day 1).
    const bool deployment_like = spec.owner == OwnerKind::kDeployment || spec.owner == OwnerKind::kInferenceService;
    const int slots = spec.replicas + (deployment_like && spec.replicas >= 2 && serving ? 1 : 0);
    std::vector<std::vector<GpuBinding>> slot_gpus;
    std::vector<std::string> slot_reason;
    for (int r = 0; r < slots; ++r) {
      std::string reason;
      slot_gpus.push_back(placer.Place(spec, &reason));
      slot_reason.push_back(reason);
    }

    auto make_pod = [&](const std::string& name, const OwnerRef& owner, int replica, double start, double end,
                        bool succeeds, const std::map<std::string, std::string>& extra_labels) {
      SimPod pod;
      pod.meta.name = name;
      pod.meta.namespace_name = ns;
      pod.meta.uid = uid("Pod", ns, name, start);
      pod.meta.labels = labels;
      for (const auto& [k, v] : extra_labels) pod.meta.labels[k] = v;
      pod.meta.annotations = spec.annotations;
      pod.meta.created_s = start;
      pod.meta.deleted_s = end;
      pod.owner = owner;
      pod.workload = static_cast<int>(wi);
      pod.replica = replica;
      pod.gpus = slot_gpus[static_cast<std::size_t>(replica)];
      pod.pending_reason = slot_reason[static_cast<std::size_t>(replica)];
      if (!pod.gpus.empty()) {
        pod.node = w.nodes[static_cast<std::size_t>(pod.gpus.front().node)].meta.name;
      } else if (pod.pending_reason.empty() && !w.nodes.empty()) {
        pod.node = w.nodes.front().meta.name;  // no GPU request: any node does
      }
      pod.port = has_metrics ? kVllmPort : 0;
      pod.ip = pod.node.empty() ? "" : (serving ? LoopbackAddress(b + 1, serving_ip++) : LoopbackAddress(b + 2, other_ip++));
      switch (spec.kind) {
        case WorkloadKind::kInference:
        case WorkloadKind::kForgotten:
          pod.container = spec.engine == EngineKind::kVllm ? "vllm" : "triton-server";
          pod.image = spec.engine == EngineKind::kVllm ? "vllm/vllm-openai:v" + spec.engine_version
                                                       : "nvcr.io/nvidia/tritonserver:24.08-py3";
          if (spec.engine == EngineKind::kVllm) {
            // The vllm-openai image's entrypoint is the API server: a manifest passes its flags as args.
            char util[16];
            std::snprintf(util, sizeof util, "%.2f", spec.gpu_memory_utilization);
            pod.args = {"--model", spec.model.name, "--port", std::to_string(kVllmPort), "--gpu-memory-utilization", util};
            if (spec.tensor_parallel > 1) {
              pod.args.insert(pod.args.end(), {"--tensor-parallel-size", std::to_string(spec.tensor_parallel)});
            }
          } else {
            pod.command = {"tritonserver", "--model-repository=/models"};
          }
          break;
        case WorkloadKind::kTraining:
          pod.container = "pytorch";
          pod.image = "nvcr.io/nvidia/pytorch:24.08-py3";
          pod.command = {"torchrun", "--nproc_per_node=" + std::to_string(std::max(1, spec.gpu.count)), "train.py"};
          break;
        case WorkloadKind::kNotebook:
          pod.container = "notebook";
          pod.image = "quay.io/jupyter/pytorch-notebook:cuda12-2024-10-07";
          pod.command = {"start-notebook.py"};
          break;
        default:
          pod.container = "worker";
          pod.image = "nvcr.io/nvidia/pytorch:24.08-py3";
          pod.command = {"python", "run_batch.py"};
          break;
      }
      // Requests: a GPU pod's CPU and memory, scaled to what it holds. GUESS (typical manifests).
      const int gpus = std::max(1, spec.gpu.count);
      const double host_mem = spec.usage.host_memory_limit_gib > 0 ? spec.usage.host_memory_limit_gib : 16.0 * gpus;
      pod.requests["cpu"] = std::to_string(4 * gpus);
      pod.requests["memory"] = Quantity(host_mem);
      pod.limits["memory"] = Quantity(host_mem);
      if (spec.gpu.Kai()) {
        // KAI GPU sharing: no GPU resource; the annotation, KAI's scheduler and a queue (KAI's docs).
        pod.meta.annotations["gpu-fraction"] = ShareText(spec.gpu.fraction);
        pod.meta.labels["kai.scheduler/queue"] = "default-queue";
        pod.scheduler = "kai-scheduler";
      } else if (spec.gpu.Hami()) {
        pod.requests["nvidia.com/gpu"] = std::to_string(gpus);
        if (spec.gpu.gpumem_mib > 0) pod.requests["nvidia.com/gpumem"] = std::to_string(spec.gpu.gpumem_mib);
        if (spec.gpu.gpucores_percent > 0) pod.requests["nvidia.com/gpucores"] = std::to_string(spec.gpu.gpucores_percent);
      } else if (spec.gpu.count > 0) {
        pod.requests[spec.gpu.resource] = std::to_string(spec.gpu.count);
      }
      for (const auto& [k, v] : pod.requests) {
        if (k.rfind("nvidia.com/", 0) == 0) pod.limits[k] = v;  // extended resources: limit = request
      }
      pod.start_s = start;
      pod.end_s = end;
      pod.succeeds = succeeds;
      w.pods.push_back(std::move(pod));
    };

    switch (spec.owner) {
      case OwnerKind::kDeployment:
      case OwnerKind::kInferenceService: {
        const OwnerRef dep = add_controller("apps/v1", "Deployment", base_name, top, kLongAgoS);
        // A rollout at a per-workload moment between day 1 and day 5, 10:00-16:00 (a new pod-template-hash).
        const double rollout = (1 + static_cast<double>(key % 5)) * kDayS + (10 + static_cast<double>(key >> 8) / 0x1p56 * 6) * 3600;
        const double scale_in = 1 * kDayS + 2 * 3600;  // the extra replica goes at day 1 02:00
        const std::string h1 = KubeSuffix(Hash3(key, 1, 0), 10), h2 = KubeSuffix(Hash3(key, 2, 0), 10);
        const OwnerRef rs1 = add_controller("apps/v1", "ReplicaSet", base_name + "-" + h1, {dep}, kLongAgoS);
        w.controllers.back().meta.labels["pod-template-hash"] = h1;
        OwnerRef rs2;
        if (rollout < horizon) {
          rs2 = add_controller("apps/v1", "ReplicaSet", base_name + "-" + h2, {dep}, rollout);
          w.controllers.back().meta.labels["pod-template-hash"] = h2;
        }
        for (int r = 0; r < slots; ++r) {
          const bool extra = r >= spec.replicas;
          if (extra && !slot_reason[static_cast<std::size_t>(r)].empty()) continue;  // no room: never scaled out
          const double end1 = extra ? scale_in : (rollout < horizon ? rollout : kForever);
          make_pod(rs1.name + "-" + KubeSuffix(Hash3(key, 10, static_cast<std::uint64_t>(r)), 5), rs1, r, kLongAgoS,
                   end1, false, {{"pod-template-hash", h1}});
          if (!extra && rollout < horizon) {
            make_pod(rs2.name + "-" + KubeSuffix(Hash3(key, 20, static_cast<std::uint64_t>(r)), 5), rs2, r, rollout,
                     kForever, false, {{"pod-template-hash", h2}});
          }
        }
        break;
      }
      case OwnerKind::kStatefulSet:
      case OwnerKind::kLeaderWorkerSet: {
        const OwnerRef sts = add_controller("apps/v1", "StatefulSet", spec.name, top, kLongAgoS);
        for (int r = 0; r < slots; ++r) {
          std::map<std::string, std::string> extra = {{"statefulset.kubernetes.io/pod-name", spec.name + "-" + std::to_string(r)},
                                                      {"apps.kubernetes.io/pod-index", std::to_string(r)}};
          if (spec.owner == OwnerKind::kLeaderWorkerSet) extra["leaderworkerset.sigs.k8s.io/name"] = spec.name;
          make_pod(spec.name + "-" + std::to_string(r), sts, r, -10 * kDayS, kForever, false, extra);
        }
        break;
      }
      case OwnerKind::kJob: {
        double start = -2 * kDayS, end = kForever;
        bool succeeds = false;
        if (spec.kind == WorkloadKind::kBatch) {
          start = spec.usage.start_hour * 3600;
          end = start + (spec.usage.run_hours > 0 ? spec.usage.run_hours : 24) * 3600;
          succeeds = true;
        }
        const OwnerRef job = add_controller("batch/v1", "Job", spec.name, top, start);
        for (int r = 0; r < slots; ++r) {
          make_pod(spec.name + "-" + KubeSuffix(Hash3(key, 30, static_cast<std::uint64_t>(r)), 5), job, r, start, end,
                   succeeds, {{"job-name", spec.name}, {"batch.kubernetes.io/job-name", spec.name}});
        }
        break;
      }
      case OwnerKind::kCronJob: {
        const OwnerRef cron = add_controller("batch/v1", "CronJob", spec.name, top, kLongAgoS);
        const auto [minute, hour] = DailyCron(spec.schedule);
        const double run_s = (spec.usage.run_hours > 0 ? spec.usage.run_hours : 1.5) * 3600;
        for (double day = -1; day * kDayS < horizon; ++day) {
          const double start = day * kDayS + hour * 3600 + minute * 60;
          if (start + run_s < 0 && day < -0.5) continue;
          // CronJob controller names a run's Job "<cronjob>-<scheduled time in unix minutes>".
          const long long minutes = std::llround((options.epoch_unix_s + start) / 60);
          const std::string job_name = spec.name + "-" + std::to_string(minutes);
          const OwnerRef job = add_controller("batch/v1", "Job", job_name, {cron}, start);
          w.controllers.back().meta.deleted_s = start + run_s + 3 * kDayS;  // history limit. GUESS.
          for (int r = 0; r < slots; ++r) {
            make_pod(job_name + "-" + KubeSuffix(Hash3(key, 40 + static_cast<std::uint64_t>(day + 2), static_cast<std::uint64_t>(r)), 5),
                     job, r, start, start + run_s, true, {{"job-name", job_name}, {"batch.kubernetes.io/job-name", job_name}});
          }
        }
        break;
      }
    }
  }
  return w;
}

}  // namespace gpuwise::sim
