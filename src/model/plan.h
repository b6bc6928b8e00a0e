// The Plan: what gpuwise proposes to change in a cluster, as typed actions in dependency order. Optimizers only
// append actions to a plan through the one optimizer table (optimize/optimizer.h); `gpuwise recommend` renders
// plans; act/ consumes this type and nothing else. Savings are computed once per plan by re-evaluating the snapshot
// with every action applied (optimize/savings.h), never summed from optimizer claims. JSON: apiVersion
// gpuwise.io/v1alpha1, kind Plan (docs/schema/Plan.json, docs/recommend.md).
// Money is integer micro-dollars. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"

namespace gpuwise::model {

// The closed set of things an action may do.
enum class ActionKind {
  kSetResources,         // a container's requests/limits (GPU, MIG profile, shares, cpu, memory)
  kSetEngineArgs,        // a serving engine's arguments (vLLM --gpu-memory-utilization, ...)
  kSetReplicas,          // a controller's spec.replicas
  kSetAutoscalerBounds,  // an HPA's minReplicas/maxReplicas
  kSetNodeLabel,         // a node label (nvidia.com/mig.config, nvidia.com/device-plugin.config)
  kSetConfigMapKey,      // one key of a ConfigMap (the MIG manager's layouts, the device plugin's sharing configs)
  kCordon,               // spec.unschedulable = true
  kEvict,                // the eviction API (honours PodDisruptionBudgets)
  kUncordon,             // spec.unschedulable = false
  kWaitForNodeLabel,     // wait until a node label has a value (nvidia.com/mig.config.state=success)
  kSetCronSchedule,      // a CronJob's schedule / suspend
  kSetScheduling,        // a pod template's nodeSelector and tolerations
};
// "SetResources", "SetEngineArgs", ... (the names in the JSON).
std::string_view ActionKindName(ActionKind kind);
std::optional<ActionKind> ParseActionKind(std::string_view name);

// The object an action changes. container is set for SetResources/SetEngineArgs only.
struct ObjectRef {
  std::string api_version, kind, namespace_name, name, container;
  // "apps/v1 Deployment ml/chat", "v1 Node gpu-a-1".
  std::string str() const;
  bool operator==(const ObjectRef&) const = default;
};

// Typed before/after values, one struct per family of kinds. Quantities are written as Kubernetes writes them.
struct ResourceValues {  // SetResources: a resource in `before` and not in `after` is removed
  std::map<std::string, std::string> requests, limits;
  bool operator==(const ResourceValues&) const = default;
};
struct EngineArgs {  // SetEngineArgs: flag (without dashes) -> value ("" for a bare flag)
  std::map<std::string, std::string> args;
  bool operator==(const EngineArgs&) const = default;
};
struct ReplicaCount {  // SetReplicas
  int replicas = 0;
  bool operator==(const ReplicaCount&) const = default;
};
struct AutoscalerBounds {  // SetAutoscalerBounds
  int min_replicas = 0, max_replicas = 0;
  bool operator==(const AutoscalerBounds&) const = default;
};
struct LabelValue {  // SetNodeLabel, WaitForNodeLabel: nullopt = the label is absent
  std::string key;
  std::optional<std::string> value;
  bool operator==(const LabelValue&) const = default;
};
// SetConfigMapKey: the key's text as it is written to the ConfigMap. `format` says what the text is, so readers
// that cannot parse it (optimize/ reads no YAML) know what it holds: "mig-parted" (a mig-parted config) or
// "device-plugin" (a k8s-device-plugin config); the optimizer that wrote it also fills the typed summary.
struct ConfigMapValue {
  std::string key;
  std::optional<std::string> text;
  std::string format;
  // mig-parted: config name -> profile -> count per GPU (empty: MIG disabled), on every GPU of the node unless
  // mig_devices names the first k of its g GPUs (the others whole, MIG disabled): name -> (k, g).
  std::map<std::string, std::map<std::string, int>> mig_layouts;
  std::map<std::string, std::pair<int, int>> mig_devices;
  // device-plugin: config name -> (sharing "time-slicing" | "mps" | "none", replicas per GPU), and whether the shares
  // are advertised renamed (nvidia.com/gpu.shared, renameByDefault).
  std::map<std::string, std::pair<std::string, int>> sharing;
  std::map<std::string, bool> sharing_rename;
  bool operator==(const ConfigMapValue&) const = default;
};
struct Schedulability {  // Cordon, Uncordon
  bool unschedulable = false;
  bool operator==(const Schedulability&) const = default;
};
struct PodPlacement {  // Evict: before = where the pod runs; after = empty (its controller recreates it elsewhere)
  std::string node;
  bool operator==(const PodPlacement&) const = default;
};
struct CronSchedule {  // SetCronSchedule
  std::string schedule;
  bool suspend = false;
  bool operator==(const CronSchedule&) const = default;
};
struct SchedulingValues {  // SetScheduling
  std::map<std::string, std::string> node_selector;
  std::vector<Taint> tolerations;
  bool operator==(const SchedulingValues&) const = default;
};
using ActionValue = std::variant<std::monostate, ResourceValues, EngineArgs, ReplicaCount, AutoscalerBounds,
                                 LabelValue, ConfigMapValue, Schedulability, PodPlacement, CronSchedule,
                                 SchedulingValues>;

// What carrying an action out costs the workloads: which pods restart, for how long.
struct Disruption {
  std::vector<std::string> pods_restarted;  // "ml/chat-7d9f-abcde"
  double expected_seconds = 0;              // until they serve again (0: no restart)
  std::string text;                         // "2 pods restart, about 90 s each, one at a time"
};

enum class Risk { kLow, kMedium, kHigh };
std::string_view RiskName(Risk r);  // "low", "medium", "high"
std::optional<Risk> ParseRisk(std::string_view name);

// How to undo an action: the same target with before and after swapped (`kind` may differ: Cordon -> Uncordon),
// or by hand (manual, with instructions: an eviction cannot be undone, only the pod recreated).
struct Revert {
  bool manual = false;
  ActionKind kind = ActionKind::kSetResources;  // when !manual
  std::string instructions;                     // when manual
};

struct Action {
  std::string id;            // "a1", unique in the plan
  std::string optimizer;     // the optimizer table's name of the optimizer that wrote it
  ActionKind kind = ActionKind::kSetResources;
  ObjectRef target;
  ActionValue before, after;
  std::vector<std::string> depends_on;  // ids of earlier actions that must be done first
  Disruption disruption;
  std::string reason;                   // one sentence with the figures
  std::vector<std::string> evidence;    // the measurements it rests on
  Risk risk = Risk::kLow;
  Revert revert;
};

// What the plan frees: GPUs and nodes that end with no pod once every action is applied, times their price.
// A GPU counts when it ends with no pod and either a pod held it before the plan, or the plan releases its node
// (cordons it and leaves no GPU pod on it). Actions that free only memory or compute show $0 with "enables".
struct FreedGpu {
  std::string node;
  int gpus = 0;                      // physical GPUs of this node freed
  bool node_released = false;        // the whole node ends with no GPU pod and is cordoned: it can be removed
  std::int64_t micro_per_hour = 0;   // their effective price per hour
  std::vector<std::string> actions;  // the action ids that free them
};
struct PlanSavings {
  int gpus_freed = 0, nodes_released = 0;
  std::int64_t micro_per_hour = 0;
  std::int64_t annualized = 0;       // micro_per_hour x 24 x 365
  std::vector<FreedGpu> freed;       // per node, by name
  // Actions that free no GPU by themselves: action id -> what they enable ("a7, a8").
  std::map<std::string, std::string> enables;
  std::string method;                // how the savings were computed, in words
  std::vector<std::string> notes;    // pods the projection could not place, unpriced GPUs, ...
  int pods_left_pending = 0;         // GPU pods the plan displaces that find no node (the plan is then not safe)
};

// What one optimizer of the table did in a run.
struct OptimizerRun {
  std::string name;
  bool enabled = true;
  double seconds = 0;
  int actions = 0;
  std::vector<std::string> notes;    // "unknown, with a reason" answers and skipped workloads
};

struct Plan {
  std::string id;                    // "plan-<snapshot end>-<hash>"
  std::string snapshot_id;           // the window it was computed from
  std::int64_t created_unix_s = 0;
  std::vector<Action> actions;       // in dependency order
  PlanSavings savings;
  std::vector<std::string> risks;    // plan-wide risks ("changes the cluster's MIG strategy", ...)
  std::vector<OptimizerRun> optimizers;

  const Action* Find(std::string_view id) const;
};

// Whether a plan is well formed: ids unique and non-empty, every depends_on names an earlier action, each
// action's before/after hold the value type its kind takes, targets named. The first problem, naming the action.
base::Status ValidatePlan(const Plan& plan);

}  // namespace gpuwise::model
