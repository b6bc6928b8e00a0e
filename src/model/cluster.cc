#include "model/cluster.h"

#include <algorithm>

namespace gpuwise::model {

std::string_view CapacityTypeName(CapacityType c) {
  switch (c) {
    case CapacityType::kOnDemand: return "on-demand";
    case CapacityType::kSpot: return "spot";
    case CapacityType::kReserved: return "reserved";
    case CapacityType::kUnknown: break;
  }
  return "unknown";
}

std::string_view FractionalBackendName(FractionalBackend b) {
  switch (b) {
    case FractionalBackend::kHami: return "hami";
    case FractionalBackend::kKai: return "kai";
    case FractionalBackend::kNone: break;
  }
  return "none";
}

std::string_view AttributionSourceName(AttributionSource s) {
  switch (s) {
    case AttributionSource::kKubeState: return "kube-state-metrics";
    case AttributionSource::kInferred: return "inferred";
    case AttributionSource::kPodGone: return "pod-gone";
    case AttributionSource::kApi: break;
  }
  return "api";
}

bool Node::HasGpus() const {
  if (gpu_count > 0) return true;
  for (const auto* resources : {&capacity, &allocatable}) {
    for (const auto& [name, value] : *resources) {
      if (value > 0 && name.starts_with("nvidia.com/")) return true;
    }
  }
  return false;
}

bool ServingEngine::ReservesMemory() const {
  return name == "vllm" || name == "sglang" || name == "tgi" || name == "tensorrt-llm" || name == "lmdeploy";
}

bool GpuRequest::Empty() const {
  return gpus == 0 && shared == 0 && mig.empty() && hami_gpumem_mib == 0 && hami_gpumem_percent == 0 &&
         hami_gpucores_percent == 0 && kai_fraction == 0 && kai_memory_mib == 0 && other.empty();
}

void GpuRequest::Add(const GpuRequest& o) {
  gpus += o.gpus;
  shared += o.shared;
  for (const auto& [profile, n] : o.mig) mig[profile] += n;
  hami_gpumem_mib += o.hami_gpumem_mib;
  hami_gpumem_percent += o.hami_gpumem_percent;
  hami_gpucores_percent += o.hami_gpucores_percent;
  kai_fraction += o.kai_fraction;
  kai_memory_mib += o.kai_memory_mib;
  for (const auto& [name, v] : o.other) other[name] += v;
}

std::optional<FractionAsk> FractionOf(const GpuRequest& g, double gpu_memory_mib) {
  const bool hami = g.hami_gpumem_mib > 0 || g.hami_gpumem_percent > 0 || g.hami_gpucores_percent > 0;
  const bool kai = g.kai_fraction > 0 || g.kai_memory_mib > 0;
  if (!hami && !kai) return std::nullopt;
  FractionAsk a;
  a.devices = std::max(1, g.gpus);
  double share = 0;
  if (hami) {
    if (g.hami_gpumem_mib > 0 && gpu_memory_mib > 0) share = std::max(share, g.hami_gpumem_mib / gpu_memory_mib);
    share = std::max({share, g.hami_gpumem_percent / 100.0, g.hami_gpucores_percent / 100.0});
  } else {
    share = g.kai_fraction;
    if (share <= 0 && g.kai_memory_mib > 0 && gpu_memory_mib > 0) share = g.kai_memory_mib / gpu_memory_mib;
  }
  a.share = share > 0 && share <= 1 ? share : 1;
  return a;
}

GpuRequest Pod::GpuTotal() const {
  GpuRequest total;
  for (const auto& c : containers) total.Add(c.gpu);
  return total;
}

int Pod::Restarts() const {
  int n = 0;
  for (const auto& c : containers) n += c.restarts;
  return n;
}

bool PodAntiAffinity::Selects(const Labels& labels) const {
  for (const Labels& term : hostname) {
    bool all = true;
    for (const auto& [k, v] : term) {
      auto it = labels.find(k);
      all = all && it != labels.end() && it->second == v;
    }
    if (all) return true;
  }
  return false;
}

OwnerRef Pod::Top() const {
  if (!owners.empty()) return owners.back();
  return {"v1", "Pod", name, uid};
}

WorkloadKey WorkloadOf(const Pod& pod) {
  OwnerRef top = pod.Top();
  return {pod.namespace_name, top.kind, top.name};
}

namespace {
template <typename T, typename Key>
const T* FindSorted(const std::vector<T>& v, const Key& key, auto key_of) {
  auto it = std::lower_bound(v.begin(), v.end(), key, [&](const T& x, const Key& k) { return key_of(x) < k; });
  if (it != v.end() && !(key < key_of(*it))) return &*it;
  // Not sorted (a caller built the state by hand): fall back to a scan.
  for (const auto& x : v) {
    if (!(key_of(x) < key) && !(key < key_of(x))) return &x;
  }
  return nullptr;
}
}  // namespace

const Node* ClusterState::FindNode(std::string_view name) const {
  return FindSorted(nodes, name, [](const Node& n) { return std::string_view(n.name); });
}

const Pod* ClusterState::FindPod(std::string_view namespace_name, std::string_view name) const {
  auto key = std::make_pair(namespace_name, name);
  return FindSorted(pods, key, [](const Pod& p) {
    return std::make_pair(std::string_view(p.namespace_name), std::string_view(p.name));
  });
}

const Namespace* ClusterState::FindNamespace(std::string_view name) const {
  return FindSorted(namespaces, name, [](const Namespace& n) { return std::string_view(n.name); });
}

}  // namespace gpuwise::model
