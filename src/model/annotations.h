// The gpuwise.io/ annotation and label contract, parsed in this one place: team, SLOs, class, isolation,
// deadline, automation, ignore. A pod's own (pod-template) annotations override its namespace's (defaults).
// Invalid values never fail: each gives a warning naming the object, the key and the value, and is treated as
// unset. Every resolved field says where it came from, for `explain`. Documented in docs/annotations.md.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"

namespace gpuwise::model {

inline constexpr std::string_view kGpuwisePrefix = "gpuwise.io/";
inline constexpr std::string_view kTeamKey = "gpuwise.io/team";              // label (annotation accepted)
inline constexpr std::string_view kSloTtftP99Key = "gpuwise.io/slo-ttft-p99";  // duration, e.g. 800ms
inline constexpr std::string_view kSloTpotP99Key = "gpuwise.io/slo-tpot-p99";  // duration, e.g. 50ms
inline constexpr std::string_view kClassKey = "gpuwise.io/class";
inline constexpr std::string_view kIsolationKey = "gpuwise.io/isolation";
inline constexpr std::string_view kDeadlineKey = "gpuwise.io/deadline";
inline constexpr std::string_view kAutomationKey = "gpuwise.io/automation";
inline constexpr std::string_view kIgnoreKey = "gpuwise.io/ignore";

// What a workload is for; decides what gpuwise may change and the default isolation. kUnknown is never written
// in an annotation: it is the classifier's answer when no rule matched (analyze/workload_class.h).
enum class WorkloadClass { kUnknown, kInteractive, kBatch, kTraining, kNotebook, kDev };
std::string_view WorkloadClassName(WorkloadClass c);  // "unknown", "interactive", "batch", "training", ...
// The annotation values interactive|batch|training|notebook|dev (ASCII case and surrounding spaces ignored).
// "unknown" and anything else: nullopt.
std::optional<WorkloadClass> ParseWorkloadClass(std::string_view text);

// The weakest GPU sharing a workload accepts, strongest first: a whole GPU; a MIG slice (hardware memory and
// fault isolation); MPS (partitioned compute, per-client memory limits); time-slicing (no memory or fault
// isolation). The optimizer may place a workload with its level or a stronger one, never a weaker one.
enum class Isolation { kExclusive, kMig, kMps, kTimeslice };
std::string_view IsolationName(Isolation i);  // "exclusive", "mig", "mps", "timeslice"
std::optional<Isolation> ParseIsolation(std::string_view text);
// The default when gpuwise.io/isolation is not set: interactive -> mig, batch -> mig, training -> exclusive,
// notebook and dev -> timeslice, unknown -> exclusive (nothing known, share nothing).
Isolation DefaultIsolation(WorkloadClass c);

// How far gpuwise may act on a workload. Default kRecommend.
enum class Automation { kOff, kRecommend, kDryRun, kAuto };
std::string_view AutomationName(Automation a);  // "off", "recommend", "dry-run", "auto"
std::optional<Automation> ParseAutomation(std::string_view text);

// gpuwise.io/deadline: an absolute time, or a duration after the workload's scheduled start.
struct Deadline {
  bool relative = false;
  std::int64_t at_unix_ms = 0;                   // when !relative
  std::chrono::milliseconds after_start{0};      // when relative; > 0
  // The deadline as Unix milliseconds, given the scheduled start (ignored when absolute).
  std::int64_t AbsoluteMs(std::int64_t start_unix_ms) const;
  std::string ToString() const;                  // "2026-11-24T10:00:00Z" or "6h after start"
  bool operator==(const Deadline&) const = default;
};
// "2026-11-24T10:00:00Z" (RFC 3339) or a positive duration ("6h", "1h30m"). A bare number is neither.
base::Result<Deadline> ParseDeadline(std::string_view text);

// A value with where it came from: "pod annotation gpuwise.io/class", "namespace ml annotation
// gpuwise.io/class", "default".
template <typename T>
struct Sourced {
  T value{};
  std::string source = "default";
};

// One rejected or suspicious value. str(): `pod ml/trainer-0: gpuwise.io/class="trainig": not one of
// interactive|batch|training|notebook|dev; ignored`.
struct AnnotationWarning {
  std::string object;   // "pod ml/trainer-0" or "namespace ml"
  std::string key;
  std::string value;
  std::string problem;  // what is wrong and what happens instead
  std::string str() const;
  bool operator==(const AnnotationWarning&) const = default;
};

// Team resolution (first match wins):
//   1. gpuwise.io/team label on the pod (its pod template), then the same key as a pod annotation;
//   2. the configured label keys, in order, on the pod;
//   3. the gpuwise.io/team label on the namespace, then as a namespace annotation;
//   4. the configured label keys, in order, on the namespace;
//   5. the namespace name.
// Empty (or all-space) values do not count; an empty gpuwise.io/team is also a warning.
struct TeamOptions {
  // Label keys read after gpuwise.io/team. Default: {"team"}; app/ config may add e.g.
  // "app.kubernetes.io/part-of".
  std::vector<std::string> label_keys = {"team"};
};
enum class TeamRule {
  kPodTeamLabel,
  kPodTeamAnnotation,
  kPodLabelKey,
  kNamespaceTeamLabel,
  kNamespaceTeamAnnotation,
  kNamespaceLabelKey,
  kNamespaceName,
};
std::string_view TeamRuleName(TeamRule r);  // "pod-team-label", ..., "namespace-name"
struct TeamResolution {
  std::string team;
  TeamRule rule = TeamRule::kNamespaceName;
  std::string source;  // "pod label gpuwise.io/team", "namespace ml label team", "namespace name"
};

// Everything the annotations say about one workload, pod over namespace over default.
struct WorkloadPolicy {
  std::string object;  // "pod ml/trainer-0"
  TeamResolution team;
  // No SLO (nullopt) means gpuwise never shrinks compute, only memory and idle capacity.
  Sourced<std::optional<std::chrono::milliseconds>> slo_ttft_p99, slo_tpot_p99;
  Sourced<std::optional<WorkloadClass>> workload_class;  // set only by gpuwise.io/class
  Sourced<std::optional<Isolation>> isolation;           // set only by gpuwise.io/isolation; see IsolationFor
  Sourced<std::optional<Deadline>> deadline;
  Sourced<Automation> automation{Automation::kRecommend};
  Sourced<bool> ignore{false};
  // The pod's and then the namespace's warnings. Namespace warnings repeat, word for word, for every pod in
  // that namespace: callers show distinct strings.
  std::vector<AnnotationWarning> warnings;

  bool HasSlo() const { return slo_ttft_p99.value.has_value() || slo_tpot_p99.value.has_value(); }
  // The isolation in force for a workload of class `effective` (the annotated or detected class): the
  // annotation, else DefaultIsolation(effective) with source "default for class <name>".
  Sourced<Isolation> IsolationFor(WorkloadClass effective) const;
};

// Reads the pod's labels/annotations over its namespace's (ns may be null: namespace not read; the team then
// falls back to pod.namespace_name). Never fails.
WorkloadPolicy ResolvePolicy(const Pod& pod, const Namespace* ns, const TeamOptions& team_options);

}  // namespace gpuwise::model
