#include "model/plan.h"

#include <array>
#include <set>
#include <utility>

namespace gpuwise::model {
namespace {

constexpr std::array<std::pair<ActionKind, std::string_view>, 12> kKindNames = {{
    {ActionKind::kSetResources, "SetResources"},
    {ActionKind::kSetEngineArgs, "SetEngineArgs"},
    {ActionKind::kSetReplicas, "SetReplicas"},
    {ActionKind::kSetAutoscalerBounds, "SetAutoscalerBounds"},
    {ActionKind::kSetNodeLabel, "SetNodeLabel"},
    {ActionKind::kSetConfigMapKey, "SetConfigMapKey"},
    {ActionKind::kCordon, "Cordon"},
    {ActionKind::kEvict, "Evict"},
    {ActionKind::kUncordon, "Uncordon"},
    {ActionKind::kWaitForNodeLabel, "WaitForNodeLabel"},
    {ActionKind::kSetCronSchedule, "SetCronSchedule"},
    {ActionKind::kSetScheduling, "SetScheduling"},
}};

// The variant index each kind's after value takes (before: the same, except where noted in ValueFits).
template <typename T>
std::size_t IndexOf() {
  return ActionValue(T{}).index();
}

std::size_t ValueIndexFor(ActionKind kind) {
  switch (kind) {
    case ActionKind::kSetResources: return IndexOf<ResourceValues>();
    case ActionKind::kSetEngineArgs: return IndexOf<EngineArgs>();
    case ActionKind::kSetReplicas: return IndexOf<ReplicaCount>();
    case ActionKind::kSetAutoscalerBounds: return IndexOf<AutoscalerBounds>();
    case ActionKind::kSetNodeLabel:
    case ActionKind::kWaitForNodeLabel: return IndexOf<LabelValue>();
    case ActionKind::kSetConfigMapKey: return IndexOf<ConfigMapValue>();
    case ActionKind::kCordon:
    case ActionKind::kUncordon: return IndexOf<Schedulability>();
    case ActionKind::kEvict: return IndexOf<PodPlacement>();
    case ActionKind::kSetCronSchedule: return IndexOf<CronSchedule>();
    case ActionKind::kSetScheduling: return IndexOf<SchedulingValues>();
  }
  return 0;
}

}  // namespace

std::string_view ActionKindName(ActionKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<ActionKind> ParseActionKind(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string ObjectRef::str() const {
  std::string s = api_version + " " + kind + " ";
  if (!namespace_name.empty()) s += namespace_name + "/";
  s += name;
  if (!container.empty()) s += " container " + container;
  return s;
}

std::string_view RiskName(Risk r) {
  switch (r) {
    case Risk::kLow: return "low";
    case Risk::kMedium: return "medium";
    case Risk::kHigh: return "high";
  }
  return "?";
}

std::optional<Risk> ParseRisk(std::string_view name) {
  for (Risk r : {Risk::kLow, Risk::kMedium, Risk::kHigh}) {
    if (RiskName(r) == name) return r;
  }
  return std::nullopt;
}

const Action* Plan::Find(std::string_view id) const {
  for (const Action& a : actions) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

base::Status ValidatePlan(const Plan& plan) {
  std::set<std::string, std::less<>> seen;
  for (const Action& a : plan.actions) {
    const std::string who = "action " + (a.id.empty() ? std::string("(no id)") : a.id) + " (" +
                            std::string(ActionKindName(a.kind)) + " " + a.target.str() + ")";
    if (a.id.empty()) return base::InvalidArgument(who + ": empty id");
    if (seen.count(a.id) != 0) return base::InvalidArgument(who + ": id used twice");
    if (a.target.kind.empty() || a.target.name.empty()) return base::InvalidArgument(who + ": target has no kind or name");
    for (const std::string& d : a.depends_on) {
      if (seen.count(d) == 0) {
        return base::InvalidArgument(who + ": depends on " + d + ", which is not an earlier action of the plan");
      }
    }
    const std::size_t want = ValueIndexFor(a.kind);
    // Evict has nothing after it (the pod is gone); WaitForNodeLabel has nothing before it.
    const bool before_ok = a.kind == ActionKind::kWaitForNodeLabel ? a.before.index() == 0 || a.before.index() == want
                                                                   : a.before.index() == want;
    const bool after_ok = a.kind == ActionKind::kEvict ? a.after.index() == 0 : a.after.index() == want;
    if (!before_ok || !after_ok) {
      return base::InvalidArgument(who + ": its before/after values are not of the type its kind takes");
    }
    if (!a.revert.manual && ValueIndexFor(a.revert.kind) != want) {
      return base::InvalidArgument(who + ": its revert kind " + std::string(ActionKindName(a.revert.kind)) +
                                   " does not take the same values");
    }
    if (a.revert.manual && a.revert.instructions.empty()) {
      return base::InvalidArgument(who + ": a manual revert needs instructions");
    }
    seen.insert(a.id);
  }
  return base::Status::Ok();
}

}  // namespace gpuwise::model
