#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>

#include "sim/vllm_page.h"

namespace gpuwise::sim {
namespace {

// Errors carry "<source> line L column C: ..." (yaml-cpp marks are 0-based).
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  base::Status Error(const YAML::Node& n, const std::string& what) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return base::InvalidArgument(source_ + ": " + what);
    return base::InvalidArgument(source_ + " line " + std::to_string(m.line + 1) + " column " +
                                 std::to_string(m.column + 1) + ": " + what);
  }

  // Every key of `map` must be one of `known`.
  base::Status CheckKeys(const YAML::Node& map, const std::string& where, std::initializer_list<const char*> known) const {
    if (!map.IsMap()) return Error(map, where + " must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool ok = false;
      for (const char* k : known) ok |= key == k;
      if (!ok) {
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Error(it->first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
    return base::Status::Ok();
  }

  template <typename T>
  base::Status Get(const YAML::Node& map, const char* key, const std::string& where, T* out) const {
    const YAML::Node n = map[key];
    if (!n) return base::Status::Ok();  // optional: keep the default
    try {
      *out = n.as<T>();
    } catch (const YAML::Exception&) {
      return Error(n, where + "." + key + ": expected " + TypeName<T>() + ", got '" + (n.IsScalar() ? n.Scalar() : "a collection") + "'");
    }
    return base::Status::Ok();
  }

  base::Status GetStringMap(const YAML::Node& map, const char* key, const std::string& where,
                            std::map<std::string, std::string>* out) const {
    const YAML::Node n = map[key];
    if (!n) return base::Status::Ok();
    if (!n.IsMap()) return Error(n, where + "." + key + " must be a mapping of strings");
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->second.IsScalar()) return Error(it->second, where + "." + key + "." + it->first.Scalar() + " must be a string");
      (*out)[it->first.Scalar()] = it->second.Scalar();
    }
    return base::Status::Ok();
  }

 private:
  template <typename T>
  static std::string TypeName() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a list of strings";
    else return "a number";
  }
  std::string source_;
};

template <typename E>
struct EnumName {
  const char* name;
  E value;
};

template <typename E, std::size_t N>
base::Status GetEnum(const Reader& r, const YAML::Node& map, const char* key, const std::string& where,
                     const EnumName<E> (&names)[N], E* out) {
  std::string text;
  RETURN_IF_ERROR(r.Get(map, key, where, &text));
  if (text.empty()) return base::Status::Ok();
  std::string list;
  for (const auto& n : names) {
    if (text == n.name) {
      *out = n.value;
      return base::Status::Ok();
    }
    list += (list.empty() ? "" : ", ") + std::string(n.name);
  }
  return r.Error(map[key], where + "." + key + ": unknown value '" + text + "' (one of: " + list + ")");
}

constexpr EnumName<SharingMode> kSharingModes[] = {{"none", SharingMode::kNone},
                                                   {"mig", SharingMode::kMig},
                                                   {"timeslicing", SharingMode::kTimeSlicing},
                                                   {"mps", SharingMode::kMps},
                                                   {"hami", SharingMode::kHami},
                                                   {"kai", SharingMode::kKai}};
constexpr EnumName<MigStrategy> kMigStrategies[] = {{"single", MigStrategy::kSingle}, {"mixed", MigStrategy::kMixed}};
constexpr EnumName<CapacityType> kCapacityTypes[] = {{"on-demand", CapacityType::kOnDemand}, {"spot", CapacityType::kSpot}};
constexpr EnumName<WorkloadKind> kWorkloadKinds[] = {
    {"inference", WorkloadKind::kInference}, {"training", WorkloadKind::kTraining},
    {"notebook", WorkloadKind::kNotebook},   {"batch", WorkloadKind::kBatch},
    {"cronbatch", WorkloadKind::kCronBatch}, {"forgotten", WorkloadKind::kForgotten}};
constexpr EnumName<OwnerKind> kOwnerKinds[] = {{"Deployment", OwnerKind::kDeployment},
                                               {"StatefulSet", OwnerKind::kStatefulSet},
                                               {"Job", OwnerKind::kJob},
                                               {"CronJob", OwnerKind::kCronJob},
                                               {"InferenceService", OwnerKind::kInferenceService},
                                               {"LeaderWorkerSet", OwnerKind::kLeaderWorkerSet}};

constexpr EnumName<EngineKind> kEngineKinds[] = {{"vllm", EngineKind::kVllm}, {"encoder", EngineKind::kEncoder}};

template <typename E, std::size_t N>
std::string_view NameOf(const EnumName<E> (&names)[N], E value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return "unknown";
}

base::Status ReadPool(const Reader& r, const YAML::Node& n, std::size_t index, NodePool* pool) {
  const std::string where = "nodePools[" + std::to_string(index) + "]";
  RETURN_IF_ERROR(r.CheckKeys(n, where,
                              {"name", "count", "gpuModel", "gpusPerNode", "gpuMemoryGiB", "instanceType", "zone",
                               "capacityType", "pricePerHour", "cpu", "memoryGiB", "sharing", "dcgmExporterVersion",
                               "driverVersion"}));
  RETURN_IF_ERROR(r.Get(n, "dcgmExporterVersion", where, &pool->dcgm_exporter_version));
  RETURN_IF_ERROR(r.Get(n, "driverVersion", where, &pool->driver_version));
  RETURN_IF_ERROR(r.Get(n, "name", where, &pool->name));
  RETURN_IF_ERROR(r.Get(n, "count", where, &pool->count));
  RETURN_IF_ERROR(r.Get(n, "gpuModel", where, &pool->gpu_model));
  RETURN_IF_ERROR(r.Get(n, "gpusPerNode", where, &pool->gpus_per_node));
  RETURN_IF_ERROR(r.Get(n, "gpuMemoryGiB", where, &pool->gpu_memory_gib));
  RETURN_IF_ERROR(r.Get(n, "instanceType", where, &pool->instance_type));
  RETURN_IF_ERROR(r.Get(n, "zone", where, &pool->zone));
  RETURN_IF_ERROR(GetEnum(r, n, "capacityType", where, kCapacityTypes, &pool->capacity));
  double price = 0;
  RETURN_IF_ERROR(r.Get(n, "pricePerHour", where, &price));
  if (!(price >= 0 && price < 1e6)) return r.Error(n["pricePerHour"], where + ".pricePerHour must be in [0, 1e6) USD");
  pool->price_per_node_hour = {static_cast<std::int64_t>(std::llround(price * 1e6))};
  RETURN_IF_ERROR(r.Get(n, "cpu", where, &pool->cpu));
  RETURN_IF_ERROR(r.Get(n, "memoryGiB", where, &pool->memory_gib));
  if (const YAML::Node s = n["sharing"]) {
    const std::string sw = where + ".sharing";
    RETURN_IF_ERROR(r.CheckKeys(s, sw, {"mode", "migStrategy", "migLayout", "migGpus", "replicas", "rename"}));
    RETURN_IF_ERROR(GetEnum(r, s, "mode", sw, kSharingModes, &pool->sharing.mode));
    RETURN_IF_ERROR(GetEnum(r, s, "migStrategy", sw, kMigStrategies, &pool->sharing.mig_strategy));
    RETURN_IF_ERROR(r.Get(s, "migLayout", sw, &pool->sharing.mig_layout));
    RETURN_IF_ERROR(r.Get(s, "migGpus", sw, &pool->sharing.mig_gpus));
    RETURN_IF_ERROR(r.Get(s, "replicas", sw, &pool->sharing.replicas));
    RETURN_IF_ERROR(r.Get(s, "rename", sw, &pool->sharing.rename));
  }
  return base::Status::Ok();
}

base::Status ReadWorkload(const Reader& r, const YAML::Node& n, std::size_t index, WorkloadSpec* w) {
  const std::string where = "workloads[" + std::to_string(index) + "]";
  RETURN_IF_ERROR(r.CheckKeys(n, where,
                              {"name", "namespace", "kind", "owner", "replicas", "labels", "annotations", "gpu",
                               "nodePool", "model", "engine", "traffic", "schedule", "usage"}));
  RETURN_IF_ERROR(r.Get(n, "name", where, &w->name));
  RETURN_IF_ERROR(r.Get(n, "namespace", where, &w->namespace_name));
  RETURN_IF_ERROR(GetEnum(r, n, "kind", where, kWorkloadKinds, &w->kind));
  // Owner defaults follow the kind: what such a workload is in a real cluster.
  switch (w->kind) {
    case WorkloadKind::kNotebook: w->owner = OwnerKind::kStatefulSet; break;
    case WorkloadKind::kTraining:
    case WorkloadKind::kBatch: w->owner = OwnerKind::kJob; break;
    case WorkloadKind::kCronBatch: w->owner = OwnerKind::kCronJob; break;
    default: w->owner = OwnerKind::kDeployment; break;
  }
  RETURN_IF_ERROR(GetEnum(r, n, "owner", where, kOwnerKinds, &w->owner));
  RETURN_IF_ERROR(r.Get(n, "replicas", where, &w->replicas));
  RETURN_IF_ERROR(r.GetStringMap(n, "labels", where, &w->labels));
  RETURN_IF_ERROR(r.GetStringMap(n, "annotations", where, &w->annotations));
  RETURN_IF_ERROR(r.Get(n, "nodePool", where, &w->node_pool));
  RETURN_IF_ERROR(r.Get(n, "schedule", where, &w->schedule));
  if (const YAML::Node g = n["gpu"]) {
    const std::string gw = where + ".gpu";
    RETURN_IF_ERROR(r.CheckKeys(g, gw, {"resource", "count", "gpumem", "gpucores", "fraction"}));
    RETURN_IF_ERROR(r.Get(g, "resource", gw, &w->gpu.resource));
    RETURN_IF_ERROR(r.Get(g, "count", gw, &w->gpu.count));
    RETURN_IF_ERROR(r.Get(g, "gpumem", gw, &w->gpu.gpumem_mib));
    RETURN_IF_ERROR(r.Get(g, "gpucores", gw, &w->gpu.gpucores_percent));
    RETURN_IF_ERROR(r.Get(g, "fraction", gw, &w->gpu.fraction));
  }
  if (const YAML::Node m = n["model"]) {
    const std::string mw = where + ".model";
    RETURN_IF_ERROR(r.CheckKeys(m, mw, {"name", "weightsGiB", "layers", "kvHeads", "headDim"}));
    RETURN_IF_ERROR(r.Get(m, "name", mw, &w->model.name));
    RETURN_IF_ERROR(r.Get(m, "weightsGiB", mw, &w->model.weights_gib));
    RETURN_IF_ERROR(r.Get(m, "layers", mw, &w->model.layers));
    RETURN_IF_ERROR(r.Get(m, "kvHeads", mw, &w->model.kv_heads));
    RETURN_IF_ERROR(r.Get(m, "headDim", mw, &w->model.head_dim));
  }
  if (const YAML::Node e = n["engine"]) {
    const std::string ew = where + ".engine";
    RETURN_IF_ERROR(r.CheckKeys(e, ew, {"name", "version", "gpuMemoryUtilization", "tensorParallel"}));
    RETURN_IF_ERROR(GetEnum(r, e, "name", ew, kEngineKinds, &w->engine));
    RETURN_IF_ERROR(r.Get(e, "version", ew, &w->engine_version));
    RETURN_IF_ERROR(r.Get(e, "gpuMemoryUtilization", ew, &w->gpu_memory_utilization));
    RETURN_IF_ERROR(r.Get(e, "tensorParallel", ew, &w->tensor_parallel));
  }
  if (const YAML::Node t = n["traffic"]) {
    const std::string tw = where + ".traffic";
    RETURN_IF_ERROR(r.CheckKeys(t, tw, {"peakRps", "troughRps", "peakHour", "weekendFactor", "trace", "promptTokens",
                                        "outputTokens"}));
    RETURN_IF_ERROR(r.Get(t, "promptTokens", tw, &w->traffic.prompt_tokens));
    RETURN_IF_ERROR(r.Get(t, "outputTokens", tw, &w->traffic.output_tokens));
    RETURN_IF_ERROR(r.Get(t, "peakRps", tw, &w->traffic.peak_rps));
    RETURN_IF_ERROR(r.Get(t, "troughRps", tw, &w->traffic.trough_rps));
    RETURN_IF_ERROR(r.Get(t, "peakHour", tw, &w->traffic.peak_hour));
    RETURN_IF_ERROR(r.Get(t, "weekendFactor", tw, &w->traffic.weekend_factor));
    RETURN_IF_ERROR(r.Get(t, "trace", tw, &w->traffic.trace));
  }
  if (const YAML::Node u = n["usage"]) {
    const std::string uw = where + ".usage";
    RETURN_IF_ERROR(r.CheckKeys(u, uw, {"gpuMemoryGiB", "smActive", "runHours", "startHour", "hostMemoryGiB",
                                        "hostMemoryLimitGiB"}));
    RETURN_IF_ERROR(r.Get(u, "gpuMemoryGiB", uw, &w->usage.gpu_memory_gib));
    RETURN_IF_ERROR(r.Get(u, "smActive", uw, &w->usage.sm_active));
    RETURN_IF_ERROR(r.Get(u, "runHours", uw, &w->usage.run_hours));
    RETURN_IF_ERROR(r.Get(u, "startHour", uw, &w->usage.start_hour));
    RETURN_IF_ERROR(r.Get(u, "hostMemoryGiB", uw, &w->usage.host_memory_gib));
    RETURN_IF_ERROR(r.Get(u, "hostMemoryLimitGiB", uw, &w->usage.host_memory_limit_gib));
  }
  return base::Status::Ok();
}

base::Status Invalid(const std::string& what) { return base::InvalidArgument("scenario: " + what); }

}  // namespace

std::string_view SharingModeName(SharingMode mode) { return NameOf(kSharingModes, mode); }
std::string_view WorkloadKindName(WorkloadKind kind) { return NameOf(kWorkloadKinds, kind); }
std::string_view OwnerKindName(OwnerKind kind) { return NameOf(kOwnerKinds, kind); }

base::Result<Scenario> ParseScenario(std::string_view yaml, std::string_view source) {
  Reader r(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return base::InvalidArgument(std::string(source) + " line " + std::to_string(e.mark.line + 1) + " column " +
                                 std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) return base::InvalidArgument(std::string(source) + ": a scenario is a YAML mapping");
  RETURN_IF_ERROR(
      r.CheckKeys(root, "the scenario", {"apiVersion", "kind", "name", "seed", "delays", "nodePools", "workloads"}));
  std::string api_version, kind;
  RETURN_IF_ERROR(r.Get(root, "apiVersion", "scenario", &api_version));
  RETURN_IF_ERROR(r.Get(root, "kind", "scenario", &kind));
  if (api_version != "gpuwise.io/v1alpha1" || kind != "Scenario") {
    return r.Error(root, "expected apiVersion: gpuwise.io/v1alpha1 and kind: Scenario");
  }
  Scenario s;
  RETURN_IF_ERROR(r.Get(root, "name", "scenario", &s.name));
  RETURN_IF_ERROR(r.Get(root, "seed", "scenario", &s.seed));
  if (const YAML::Node d = root["delays"]) {
    RETURN_IF_ERROR(r.CheckKeys(d, "delays", {"imagePullSeconds", "coldStartSeconds", "migReconfigureSeconds", "crashBackoffSeconds"}));
    RETURN_IF_ERROR(r.Get(d, "imagePullSeconds", "delays", &s.delays.image_pull_s));
    RETURN_IF_ERROR(r.Get(d, "coldStartSeconds", "delays", &s.delays.cold_start_s));
    RETURN_IF_ERROR(r.Get(d, "migReconfigureSeconds", "delays", &s.delays.mig_reconfigure_s));
    RETURN_IF_ERROR(r.Get(d, "crashBackoffSeconds", "delays", &s.delays.crash_backoff_s));
  }
  if (const YAML::Node pools = root["nodePools"]) {
    if (!pools.IsSequence()) return r.Error(pools, "nodePools must be a list");
    for (std::size_t i = 0; i < pools.size(); ++i) {
      NodePool pool;
      RETURN_IF_ERROR(ReadPool(r, pools[i], i, &pool));
      s.node_pools.push_back(std::move(pool));
    }
  }
  if (const YAML::Node workloads = root["workloads"]) {
    if (!workloads.IsSequence()) return r.Error(workloads, "workloads must be a list");
    for (std::size_t i = 0; i < workloads.size(); ++i) {
      WorkloadSpec w;
      RETURN_IF_ERROR(ReadWorkload(r, workloads[i], i, &w));
      s.workloads.push_back(std::move(w));
    }
  }
  base::Status valid = ValidateScenario(s);
  if (!valid.ok()) return valid.Annotate(source);
  return s;
}

extern const char kDemoScenarioYaml[];

base::Result<Scenario> BuiltinScenario(std::string_view name) {
  if (name == "demo") return ParseScenario(kDemoScenarioYaml, "built-in scenario demo");
  return base::NotFound("no built-in scenario '" + std::string(name) + "' (built in: demo)");
}

std::vector<std::string> AdvertisedResources(const NodePool& pool) {
  const Sharing& sh = pool.sharing;
  std::set<std::string> out;
  switch (sh.mode) {
    case SharingMode::kNone:
    case SharingMode::kHami:
    case SharingMode::kKai: out.insert("nvidia.com/gpu"); break;
    case SharingMode::kTimeSlicing:
    case SharingMode::kMps: out.insert(sh.rename ? "nvidia.com/gpu.shared" : "nvidia.com/gpu"); break;
    case SharingMode::kMig:
      if (sh.mig_strategy == MigStrategy::kSingle) {
        out.insert("nvidia.com/gpu");
      } else {
        for (const std::string& p : sh.mig_layout) out.insert("nvidia.com/mig-" + p);
        if (sh.mig_gpus >= 0 && sh.mig_gpus < pool.gpus_per_node) out.insert("nvidia.com/gpu");
      }
      break;
  }
  return {out.begin(), out.end()};
}

base::Status ValidateScenario(const Scenario& s) {
  if (s.name.empty()) return Invalid("name is empty");
  std::set<std::string> pool_names;
  for (const NodePool& p : s.node_pools) {
    const std::string where = "node pool '" + p.name + "'";
    if (p.name.empty()) return Invalid("a node pool has no name");
    if (!pool_names.insert(p.name).second) return Invalid("two node pools are named '" + p.name + "'");
    if (p.count < 1 || p.count > 100000) return Invalid(where + ": count must be in 1..100000");
    if (p.gpus_per_node < 0 || p.gpus_per_node > 16) return Invalid(where + ": gpusPerNode must be in 0..16");
    if (p.gpus_per_node > 0 && p.gpu_model.empty()) return Invalid(where + ": gpuModel is required with GPUs");
    if (!(p.gpu_memory_gib > 0 && p.gpu_memory_gib <= 1024)) return Invalid(where + ": gpuMemoryGiB must be in (0, 1024]");
    const Sharing& sh = p.sharing;
    switch (sh.mode) {
      case SharingMode::kMig:
        if (sh.mig_layout.empty()) return Invalid(where + ": sharing mode mig needs a migLayout");
        if (sh.mig_strategy == MigStrategy::kSingle) {
          for (const std::string& q : sh.mig_layout) {
            if (q != sh.mig_layout.front()) {
              return Invalid(where + ": migStrategy single needs identical partitions (got " + sh.mig_layout.front() +
                             " and " + q + "); use mixed");
            }
          }
        }
        if (sh.mig_gpus > p.gpus_per_node) return Invalid(where + ": migGpus is more than gpusPerNode");
        break;
      case SharingMode::kTimeSlicing:
      case SharingMode::kMps:
        if (sh.replicas < 2 || sh.replicas > 64) {
          return Invalid(where + ": " + std::string(SharingModeName(sh.mode)) + " needs replicas in 2..64");
        }
        break;
      default: break;
    }
    if (sh.mode != SharingMode::kMig && !sh.mig_layout.empty()) {
      return Invalid(where + ": migLayout is set but sharing mode is " + std::string(SharingModeName(sh.mode)));
    }
  }
  std::set<std::string> workload_names;
  for (const WorkloadSpec& w : s.workloads) {
    const std::string id = w.namespace_name + "/" + w.name;
    const std::string where = "workload '" + id + "'";
    if (w.name.empty() || w.namespace_name.empty()) return Invalid("a workload needs a name and a namespace");
    if (!workload_names.insert(id).second) return Invalid("two workloads are named '" + id + "'");
    if (w.replicas < 0 || w.replicas > 10000) return Invalid(where + ": replicas must be in 0..10000");
    if (w.gpu.count < 0 || w.gpu.count > 16) return Invalid(where + ": gpu.count must be in 0..16");
    if (w.gpu.gpucores_percent < 0 || w.gpu.gpucores_percent > 100) return Invalid(where + ": gpu.gpucores must be in 0..100");
    if (!(w.gpu.fraction >= 0 && w.gpu.fraction <= 1)) return Invalid(where + ": gpu.fraction must be in 0..1");
    if (w.gpu.Kai() && (w.gpu.Hami() || w.gpu.count != 1)) {
      return Invalid(where + ": gpu.fraction (KAI) is one GPU's share: no gpumem/gpucores, count 1");
    }
    if (w.kind == WorkloadKind::kInference) {
      if (w.model.weights_gib <= 0) return Invalid(where + ": an inference workload needs model.weightsGiB");
      if (w.traffic.peak_rps < w.traffic.trough_rps || w.traffic.trough_rps < 0) {
        return Invalid(where + ": traffic needs 0 <= troughRps <= peakRps");
      }
      if (!(w.gpu_memory_utilization > 0 && w.gpu_memory_utilization <= 1)) {
        return Invalid(where + ": engine.gpuMemoryUtilization must be in (0, 1]");
      }
    }
    if (w.kind == WorkloadKind::kCronBatch && w.schedule.empty()) return Invalid(where + ": cronbatch needs a schedule");
    if (w.tensor_parallel < 1 || w.tensor_parallel > 16) return Invalid(where + ": engine.tensorParallel must be in 1..16");
    if (w.kind == WorkloadKind::kInference && w.engine == EngineKind::kVllm && w.tensor_parallel > w.gpu.count &&
        w.gpu.gpumem_mib == 0) {
      return Invalid(where + ": tensorParallel " + std::to_string(w.tensor_parallel) + " needs gpu.count >= it");
    }
    if (!ParseVllmVersion(w.engine_version).ok()) {
      return Invalid(where + ": engine.version '" + w.engine_version + "' is not a vLLM version such as 0.10.1");
    }
    const UsageSpec& u = w.usage;
    for (double v : {u.gpu_memory_gib, u.run_hours, u.host_memory_gib, u.host_memory_limit_gib, w.traffic.prompt_tokens,
                     w.traffic.output_tokens}) {
      if (!(v >= 0 && v < 1e7)) return Invalid(where + ": usage, token and memory figures must be >= 0");
    }
    if (!(u.sm_active >= 0 && u.sm_active <= 1)) return Invalid(where + ": usage.smActive must be in [0, 1]");
    if (!(u.start_hour >= 0 && u.start_hour < 24 * 366)) return Invalid(where + ": usage.startHour must be >= 0");
    if (w.gpu.count == 0 && w.gpu.gpumem_mib == 0) continue;
    // Some pool (the pinned one, if any) must advertise the requested resource.
    const bool hami = w.gpu.Hami(), kai = w.gpu.Kai();
    bool offered = false;
    for (const NodePool& p : s.node_pools) {
      if (!w.node_pool.empty() && p.name != w.node_pool) continue;
      if (hami || kai) {
        offered |= p.sharing.mode == (hami ? SharingMode::kHami : SharingMode::kKai);
        continue;
      }
      for (const std::string& res : AdvertisedResources(p)) offered |= res == w.gpu.resource;
    }
    if (!w.node_pool.empty() && !pool_names.count(w.node_pool)) {
      return Invalid(where + ": nodePool '" + w.node_pool + "' does not exist");
    }
    if (!offered) {
      return Invalid(where + ": no node pool" + (w.node_pool.empty() ? "" : " '" + w.node_pool + "'") +
                     " advertises " + (hami ? "nvidia.com/gpumem (needs sharing mode hami)"
                                       : kai ? std::string("KAI fractions (needs sharing mode kai)") : w.gpu.resource));
    }
  }
  return base::Status::Ok();
}

}  // namespace gpuwise::sim
