#include "observe/ksm_history.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <tuple>

namespace gpuwise::observe {
namespace {

using prom::Labels;

std::string Get(const Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return "";
}

struct PodKey {
  std::string ns, name;
  bool operator<(const PodKey& o) const { return std::tie(ns, name) < std::tie(o.ns, o.name); }
};

// Keeps KSM's label as it is ("label_app") and adds the Kubernetes key where the sanitised name can be read back:
// gpuwise's team label ("label_gpuwise_io_team" -> "gpuwise.io/team", so a gone pod's team comes from its own label
// as it does for a pod in the API) and keys of one lowercase word ("label_team" -> "team", "label_app" -> "app"),
// which sanitising leaves unchanged (the configured team label keys are usually such words).
void RestoreLabel(const std::string& ksm_key, const std::string& value, model::Labels* labels) {
  (*labels)[ksm_key] = value;
  const std::string_view key = std::string_view(ksm_key).substr(6);  // after "label_"
  if (key == "gpuwise_io_team") {
    (*labels)["gpuwise.io/team"] = value;
    return;
  }
  const bool word = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
  if (word) (*labels)[std::string(key)] = value;
}

}  // namespace

std::string GpuResourceFromKsm(std::string_view r) {
  if (r == "nvidia_com_gpu") return "nvidia.com/gpu";
  if (r == "nvidia_com_gpu_shared") return "nvidia.com/gpu.shared";
  if (r == "nvidia_com_gpumem") return "nvidia.com/gpumem";
  if (r == "nvidia_com_gpumem_percentage") return "nvidia.com/gpumem-percentage";
  if (r == "nvidia_com_gpucores") return "nvidia.com/gpucores";
  constexpr std::string_view kMig = "nvidia_com_mig_";
  if (r.starts_with(kMig)) {
    // KSM wrote every '.' of the resource name as '_': "1g_10gb" -> "1g.10gb", "1c_3g_40gb" -> "1c.3g.40gb". The
    // media-extension suffix reads as observe/kube's MigProfileOfResource reads it from the API: "1g_10gb_me" ->
    // "1g.10gb+me", "1g_10gb_me_all" -> "1g.10gb+me.all".
    std::string p(r.substr(kMig.size()));
    if (p.empty()) return "";
    std::replace(p.begin(), p.end(), '_', '.');
    if (p.ends_with(".me")) p.replace(p.size() - 3, 1, "+");
    else if (p.ends_with(".me.all")) p.replace(p.size() - 7, 1, "+");
    return "nvidia.com/mig-" + p;
  }
  if (r.find("gpu") != std::string_view::npos) {
    std::string s(r);
    auto u = s.find('_');
    if (u != std::string::npos) s[u] = '.';
    if (auto v = s.find('_', u + 1); v != std::string::npos) s[v] = '/';
    return s;
  }
  return "";
}

base::Result<KsmHistory> ReadKsmHistory(prom::PromClient& client, std::int64_t start, std::int64_t end,
                                        std::chrono::seconds step) {
  KsmHistory out;
  if (end <= start) return base::InvalidArgument("kube-state-metrics window is empty");
  const std::string w = prom::FormatPromDuration(std::chrono::duration_cast<std::chrono::milliseconds>(step));
  // Evaluate at the end of each step: the step's samples are inside [t - step, t].
  const std::int64_t first = start + step.count(), last = end + step.count() - 1;
  auto range = [&](const std::string& promql) -> base::Result<prom::Matrix> {
    ASSIGN_OR_RETURN(prom::MatrixResult r, client.QueryRange(promql, first * 1000, last * 1000,
                                                             std::chrono::duration_cast<std::chrono::milliseconds>(step)));
    out.requests += r.requests;
    for (auto& x : r.warnings) out.warnings.push_back(std::move(x));
    return std::move(r.matrix);
  };
  // The last evaluation: first + k x step <= last.
  const std::int64_t last_eval = first + (last - first) / step.count() * step.count();
  // Each series' last value in the window, with its labels: one instant query at the last evaluation over all that
  // the range evaluations see ([start, last_eval]), so one point per series instead of one per step (a week of
  // 10,000 GPUs' pods at 1 h: 125,000 series x 168 points of JSON otherwise).
  const std::string whole = prom::FormatPromDuration(std::chrono::milliseconds((last_eval - start) * 1000));
  auto latest = [&](const std::string& selector) -> base::Result<prom::Vector> {
    ASSIGN_OR_RETURN(prom::QueryResponse r, client.Query("last_over_time(" + selector + "[" + whole + "])",
                                                         last_eval * 1000));
    ++out.requests;
    for (auto& x : r.warnings) out.warnings.push_back(std::move(x));
    return std::move(r.vector);
  };
  std::map<PodKey, model::Pod> pods;
  std::map<PodKey, std::pair<std::int64_t, std::int64_t>> seen;  // first/last evaluation listing it
  {
    ASSIGN_OR_RETURN(prom::Matrix m, range("count_over_time(kube_pod_info[" + w + "])"));
    for (const prom::Series& s : m) {
      PodKey k{Get(s.labels, "namespace"), Get(s.labels, "pod")};
      if (k.ns.empty() || k.name.empty() || s.timestamps_ms.empty()) continue;
      model::Pod& p = pods[k];
      p.namespace_name = k.ns;
      p.name = k.name;
      p.uid = Get(s.labels, "uid");
      p.node = Get(s.labels, "node");
      p.ip = Get(s.labels, "pod_ip");
      p.source = model::AttributionSource::kKubeState;
      auto& [a, b] = seen[k];
      const std::int64_t lo = s.timestamps_ms.front() / 1000 - step.count(), hi = s.timestamps_ms.back() / 1000;
      a = a == 0 ? lo : std::min(a, lo);
      b = std::max(b, hi);
      const std::string kind = Get(s.labels, "created_by_kind");
      if (!kind.empty() && kind != "<none>") p.owners.push_back({"", kind, Get(s.labels, "created_by_name"), ""});
    }
  }
  out.found = !pods.empty();
  if (!out.found) {
    out.warnings.push_back("no kube_pod_info series in the window: pods that are gone are attributed from their names");
    return out;
  }
  // Owners of owners: ReplicaSet -> Deployment, Job -> CronJob.
  std::map<std::pair<std::string, std::string>, model::OwnerRef> parent;  // (ns, "Kind/name") -> owner
  for (const auto& [metric, kind, label] : {std::tuple{"kube_replicaset_owner", "ReplicaSet", "replicaset"},
                                            std::tuple{"kube_job_owner", "Job", "job_name"}}) {
    ASSIGN_OR_RETURN(prom::Vector m, latest(metric));
    for (const prom::Sample& s : m) {
      const std::string owner_kind = Get(s.labels, "owner_kind");
      if (owner_kind.empty() || owner_kind == "<none>") continue;
      parent[{Get(s.labels, "namespace"), std::string(kind) + "/" + Get(s.labels, label)}] = {
          "", owner_kind, Get(s.labels, "owner_name"), ""};
    }
  }
  {
    ASSIGN_OR_RETURN(prom::Vector m, latest("kube_pod_owner{owner_is_controller=\"true\"}"));
    for (const prom::Sample& s : m) {
      auto it = pods.find({Get(s.labels, "namespace"), Get(s.labels, "pod")});
      const std::string kind = Get(s.labels, "owner_kind");
      if (it == pods.end() || kind.empty() || kind == "<none>") continue;
      it->second.owners = {{"", kind, Get(s.labels, "owner_name"), ""}};
    }
  }
  for (auto& [k, p] : pods) {
    for (int depth = 0; depth < 4 && !p.owners.empty(); ++depth) {
      auto it = parent.find({k.ns, p.owners.back().kind + "/" + p.owners.back().name});
      if (it == parent.end()) break;
      p.owners.push_back(it->second);
    }
    for (auto& o : p.owners) {
      if (o.kind == "ReplicaSet" || o.kind == "Deployment" || o.kind == "StatefulSet" || o.kind == "DaemonSet") o.api_version = "apps/v1";
      else if (o.kind == "Job" || o.kind == "CronJob") o.api_version = "batch/v1";
    }
  }
  {
    ASSIGN_OR_RETURN(prom::Vector m, latest("kube_pod_container_resource_requests"));
    for (const prom::Sample& s : m) {
      auto it = pods.find({Get(s.labels, "namespace"), Get(s.labels, "pod")});
      if (it == pods.end()) continue;
      const std::string res = Get(s.labels, "resource");
      const double v = s.value;
      if (!(v >= 0)) continue;
      const std::string container = Get(s.labels, "container");
      model::Pod& p = it->second;
      auto c = std::find_if(p.containers.begin(), p.containers.end(), [&](const model::Container& x) { return x.name == container; });
      if (c == p.containers.end()) {
        p.containers.push_back({});
        c = p.containers.end() - 1;
        c->name = container;
      }
      if (res == "cpu") c->cpu_request = v;
      else if (res == "memory") c->memory_request_bytes = v;
      const std::string gpu = GpuResourceFromKsm(res);
      if (gpu.empty()) continue;
      if (gpu == "nvidia.com/gpu") c->gpu.gpus = static_cast<int>(std::llround(v));
      else if (gpu == "nvidia.com/gpu.shared") c->gpu.shared = static_cast<int>(std::llround(v));
      else if (gpu == "nvidia.com/gpumem") c->gpu.hami_gpumem_mib = v;
      else if (gpu == "nvidia.com/gpumem-percentage") c->gpu.hami_gpumem_percent = v;
      else if (gpu == "nvidia.com/gpucores") c->gpu.hami_gpucores_percent = v;
      else if (gpu.starts_with("nvidia.com/mig-")) c->gpu.mig[gpu.substr(15)] = static_cast<int>(std::llround(v));
      else c->gpu.other[gpu] = v;
    }
  }
  for (const char* metric : {"kube_pod_start_time", "kube_pod_completion_time"}) {
    ASSIGN_OR_RETURN(prom::Vector m, latest(metric));
    const bool is_start = std::string_view(metric) == "kube_pod_start_time";
    for (const prom::Sample& s : m) {
      auto it = pods.find({Get(s.labels, "namespace"), Get(s.labels, "pod")});
      const double v = s.value;
      if (it == pods.end() || !(v > 0 && v < 1e11)) continue;
      (is_start ? it->second.start_unix_s : it->second.end_unix_s) = static_cast<std::int64_t>(v);
    }
  }
  {
    ASSIGN_OR_RETURN(prom::Vector m, latest("kube_pod_labels"));
    for (const prom::Sample& s : m) {
      auto it = pods.find({Get(s.labels, "namespace"), Get(s.labels, "pod")});
      if (it == pods.end()) continue;
      for (const auto& [k, v] : s.labels) {
        if (k.starts_with("label_")) RestoreLabel(k, v, &it->second.labels);
      }
    }
  }
  for (auto& [k, p] : pods) {
    const auto [a, b] = seen[k];
    if (p.start_unix_s == 0) p.start_unix_s = std::max(a, start);
    // Listed until an evaluation before the last: its last sample was in the step before that evaluation, so it
    // ended by then (at the step's resolution). Listed at the last evaluation: alive at the window's end.
    if (p.end_unix_s == 0 && b < last_eval) p.end_unix_s = b;
    p.phase = p.end_unix_s > 0 ? "Succeeded" : "Running";
    // KSM lists a finished Job's pods until the Job is deleted (days, with a CronJob's history limit), and the
    // last step's evaluation reaches past the window's end: only pods that lived in the window are its pods.
    if (p.start_unix_s >= end || (p.end_unix_s > 0 && p.end_unix_s <= start)) {
      ++out.outside_window;
      continue;
    }
    out.pods.push_back(std::move(p));
  }
  return out;
}

}  // namespace gpuwise::observe
