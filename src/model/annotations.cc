#include "model/annotations.h"

#include <algorithm>
#include <array>
#include <utility>

#include "base/time_parse.h"

namespace gpuwise::model {
namespace {

constexpr std::array<std::string_view, 8> kKnownKeys = {kTeamKey,      kSloTtftP99Key, kSloTpotP99Key, kClassKey,
                                                        kIsolationKey, kDeadlineKey,   kAutomationKey, kIgnoreKey};
// Warnings quote the value; a pasted blob should not flood the log.
constexpr std::size_t kMaxQuotedValue = 80;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Printable ASCII kept, anything else '?', long values cut: the value goes into a log line.
std::string Quotable(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, kMaxQuotedValue)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > kMaxQuotedValue) out += "...";
  return out;
}

const std::string* Find(const Labels& m, std::string_view key) {
  auto it = m.find(std::string(key));
  return it == m.end() ? nullptr : &it->second;
}

bool IsKnownKey(std::string_view key) {
  return std::find(kKnownKeys.begin(), kKnownKeys.end(), key) != kKnownKeys.end();
}

// What one object (a pod or a namespace) says; nullopt = not set or invalid (warned).
struct ObjectValues {
  std::optional<std::chrono::milliseconds> slo_ttft_p99, slo_tpot_p99;
  std::optional<WorkloadClass> workload_class;
  std::optional<Isolation> isolation;
  std::optional<Deadline> deadline;
  std::optional<Automation> automation;
  std::optional<bool> ignore;
};

class ObjectParser {
 public:
  ObjectParser(std::string object, std::vector<AnnotationWarning>* warnings)
      : object_(std::move(object)), warnings_(warnings) {}

  ObjectValues Parse(const Labels& labels, const Labels& annotations) {
    for (const auto& kv : labels) CheckLabelKey(kv.first, kv.second);
    for (const auto& kv : annotations) CheckAnnotationKey(kv.first, kv.second);
    if (const std::string* v = Find(labels, kTeamKey)) CheckTeam(*v);
    if (const std::string* v = Find(annotations, kTeamKey)) CheckTeam(*v);

    ObjectValues out;
    out.slo_ttft_p99 = Slo(annotations, kSloTtftP99Key);
    out.slo_tpot_p99 = Slo(annotations, kSloTpotP99Key);
    out.workload_class = Enum<WorkloadClass>(annotations, kClassKey, ParseWorkloadClass,
                                             "interactive|batch|training|notebook|dev");
    out.isolation = Enum<Isolation>(annotations, kIsolationKey, ParseIsolation, "exclusive|mig|mps|timeslice");
    out.automation =
        Enum<Automation>(annotations, kAutomationKey, ParseAutomation, "off|recommend|dry-run|auto");
    if (const std::string* v = Find(annotations, kDeadlineKey)) {
      base::Result<Deadline> d = ParseDeadline(*v);
      if (d.ok()) {
        out.deadline = *d;
      } else {
        Warn(kDeadlineKey, *v, d.status().message() + "; ignored");
      }
    }
    if (const std::string* v = Find(annotations, kIgnoreKey)) {
      const std::string t = Lower(Trim(*v));
      if (t == "true") {
        out.ignore = true;
      } else if (t == "false") {
        out.ignore = false;
      } else {
        Warn(kIgnoreKey, *v, "not \"true\" or \"false\"; ignored");
      }
    }
    return out;
  }

 private:
  void Warn(std::string_view key, std::string_view value, std::string problem) {
    warnings_->push_back({object_, std::string(key), Quotable(value), std::move(problem)});
  }

  void CheckLabelKey(const std::string& key, const std::string& value) {
    if (!key.starts_with(kGpuwisePrefix) || key == kTeamKey) return;
    if (IsKnownKey(key)) {
      Warn(key, value, "is read from annotations, not labels; ignored (set it as an annotation)");
    } else {
      Warn(key, value, "unknown gpuwise.io key; ignored");
    }
  }

  void CheckAnnotationKey(const std::string& key, const std::string& value) {
    if (key.starts_with(kGpuwisePrefix) && !IsKnownKey(key)) Warn(key, value, "unknown gpuwise.io key; ignored");
  }

  void CheckTeam(const std::string& value) {
    if (Trim(value).empty()) Warn(kTeamKey, value, "empty team name; ignored");
  }

  std::optional<std::chrono::milliseconds> Slo(const Labels& annotations, std::string_view key) {
    const std::string* v = Find(annotations, key);
    if (v == nullptr) return std::nullopt;
    base::Result<std::chrono::milliseconds> d = base::ParseDuration(Trim(*v));
    if (!d.ok()) {
      Warn(key, *v, d.status().message() + "; ignored");
      return std::nullopt;
    }
    if (d->count() <= 0) {
      Warn(key, *v, "a latency objective must be longer than 0; ignored");
      return std::nullopt;
    }
    return *d;
  }

  template <typename E>
  std::optional<E> Enum(const Labels& annotations, std::string_view key, std::optional<E> (*parse)(std::string_view),
                        std::string_view allowed) {
    const std::string* v = Find(annotations, key);
    if (v == nullptr) return std::nullopt;
    std::optional<E> e = parse(*v);
    if (!e) Warn(key, *v, "not one of " + std::string(allowed) + "; ignored");
    return e;
  }

  std::string object_;
  std::vector<AnnotationWarning>* warnings_;
};

template <typename T>
void Merge(Sourced<T>* out, const std::optional<T>& pod_value, const std::optional<T>& ns_value, std::string_view key,
           const std::string& ns_name) {
  if (pod_value) {
    out->value = *pod_value;
    out->source = "pod annotation " + std::string(key);
  } else if (ns_value) {
    out->value = *ns_value;
    out->source = "namespace " + ns_name + " annotation " + std::string(key);
  }
}

template <typename T>
void Merge(Sourced<std::optional<T>>* out, const std::optional<T>& pod_value, const std::optional<T>& ns_value,
           std::string_view key, const std::string& ns_name) {
  if (pod_value) {
    out->value = pod_value;
    out->source = "pod annotation " + std::string(key);
  } else if (ns_value) {
    out->value = ns_value;
    out->source = "namespace " + ns_name + " annotation " + std::string(key);
  }
}

// A non-empty (after trimming) value of key in m.
std::optional<std::string> NonEmpty(const Labels& m, std::string_view key) {
  const std::string* v = Find(m, key);
  if (v == nullptr) return std::nullopt;
  std::string_view t = Trim(*v);
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

TeamResolution ResolveTeam(const Pod& pod, const Namespace* ns, const TeamOptions& options) {
  if (auto t = NonEmpty(pod.labels, kTeamKey)) {
    return {*t, TeamRule::kPodTeamLabel, "pod label " + std::string(kTeamKey)};
  }
  if (auto t = NonEmpty(pod.annotations, kTeamKey)) {
    return {*t, TeamRule::kPodTeamAnnotation, "pod annotation " + std::string(kTeamKey)};
  }
  for (const std::string& key : options.label_keys) {
    if (auto t = NonEmpty(pod.labels, key)) return {*t, TeamRule::kPodLabelKey, "pod label " + key};
  }
  if (ns != nullptr) {
    if (auto t = NonEmpty(ns->labels, kTeamKey)) {
      return {*t, TeamRule::kNamespaceTeamLabel, "namespace " + ns->name + " label " + std::string(kTeamKey)};
    }
    if (auto t = NonEmpty(ns->annotations, kTeamKey)) {
      return {*t, TeamRule::kNamespaceTeamAnnotation,
              "namespace " + ns->name + " annotation " + std::string(kTeamKey)};
    }
    for (const std::string& key : options.label_keys) {
      if (auto t = NonEmpty(ns->labels, key)) {
        return {*t, TeamRule::kNamespaceLabelKey, "namespace " + ns->name + " label " + key};
      }
    }
  }
  const std::string& name = pod.namespace_name.empty() && ns != nullptr ? ns->name : pod.namespace_name;
  return {name, TeamRule::kNamespaceName, "namespace name"};
}

}  // namespace

std::string_view WorkloadClassName(WorkloadClass c) {
  switch (c) {
    case WorkloadClass::kInteractive: return "interactive";
    case WorkloadClass::kBatch: return "batch";
    case WorkloadClass::kTraining: return "training";
    case WorkloadClass::kNotebook: return "notebook";
    case WorkloadClass::kDev: return "dev";
    case WorkloadClass::kUnknown: break;
  }
  return "unknown";
}

std::optional<WorkloadClass> ParseWorkloadClass(std::string_view text) {
  const std::string t = Lower(Trim(text));
  for (WorkloadClass c : {WorkloadClass::kInteractive, WorkloadClass::kBatch, WorkloadClass::kTraining,
                          WorkloadClass::kNotebook, WorkloadClass::kDev}) {
    if (t == WorkloadClassName(c)) return c;
  }
  return std::nullopt;
}

std::string_view IsolationName(Isolation i) {
  switch (i) {
    case Isolation::kMig: return "mig";
    case Isolation::kMps: return "mps";
    case Isolation::kTimeslice: return "timeslice";
    case Isolation::kExclusive: break;
  }
  return "exclusive";
}

std::optional<Isolation> ParseIsolation(std::string_view text) {
  const std::string t = Lower(Trim(text));
  for (Isolation i : {Isolation::kExclusive, Isolation::kMig, Isolation::kMps, Isolation::kTimeslice}) {
    if (t == IsolationName(i)) return i;
  }
  return std::nullopt;
}

Isolation DefaultIsolation(WorkloadClass c) {
  switch (c) {
    // Serving has a latency SLO: a MIG slice gives it its own memory and SMs, so a neighbour cannot slow it.
    case WorkloadClass::kInteractive: return Isolation::kMig;
    // Latency-tolerant, but a run lost to a neighbour's memory growth is paid again in full: MIG isolates
    // memory and faults while still letting a small job use a slice.
    case WorkloadClass::kBatch: return Isolation::kMig;
    // Multi-GPU collectives run at the pace of the slowest rank: any sharing slows the whole job.
    case WorkloadClass::kTraining: return Isolation::kExclusive;
    // Mostly idle between bursts: time-slicing is where most of the saving is.
    case WorkloadClass::kNotebook:
    case WorkloadClass::kDev: return Isolation::kTimeslice;
    case WorkloadClass::kUnknown: break;
  }
  return Isolation::kExclusive;
}

std::string_view AutomationName(Automation a) {
  switch (a) {
    case Automation::kOff: return "off";
    case Automation::kDryRun: return "dry-run";
    case Automation::kAuto: return "auto";
    case Automation::kRecommend: break;
  }
  return "recommend";
}

std::optional<Automation> ParseAutomation(std::string_view text) {
  const std::string t = Lower(Trim(text));
  for (Automation a : {Automation::kOff, Automation::kRecommend, Automation::kDryRun, Automation::kAuto}) {
    if (t == AutomationName(a)) return a;
  }
  return std::nullopt;
}

std::int64_t Deadline::AbsoluteMs(std::int64_t start_unix_ms) const {
  return relative ? start_unix_ms + after_start.count() : at_unix_ms;
}

std::string Deadline::ToString() const {
  return relative ? base::FormatDuration(after_start) + " after start" : base::FormatTime(at_unix_ms);
}

base::Result<Deadline> ParseDeadline(std::string_view text) {
  const std::string_view t = Trim(text);
  Deadline d;
  base::Result<std::chrono::milliseconds> duration = base::ParseDuration(t);
  if (duration.ok()) {
    if (duration->count() <= 0) return base::InvalidArgument("a deadline duration must be longer than 0");
    d.relative = true;
    d.after_start = *duration;
    return d;
  }
  // RFC 3339 only: base::ParseTime also takes Unix seconds, and a bare "1.5" read as 1970 would hide a typo.
  const bool rfc3339_shape = t.find('-') != std::string_view::npos && t.find('T') != std::string_view::npos;
  base::Result<std::int64_t> at = base::InvalidArgument("not RFC 3339");
  if (rfc3339_shape) at = base::ParseTime(t);
  if (!at.ok()) {
    return base::InvalidArgument("'" + Quotable(t) +
                                 "' is neither an RFC 3339 time (2026-11-24T10:00:00Z) nor a duration (6h, 1h30m)");
  }
  if (*at <= 0) return base::InvalidArgument("a deadline time must be after 1970-01-01T00:00:00Z");
  d.at_unix_ms = *at;
  return d;
}

std::string AnnotationWarning::str() const {
  return object + ": " + key + "=\"" + value + "\": " + problem;
}

std::string_view TeamRuleName(TeamRule r) {
  switch (r) {
    case TeamRule::kPodTeamLabel: return "pod-team-label";
    case TeamRule::kPodTeamAnnotation: return "pod-team-annotation";
    case TeamRule::kPodLabelKey: return "pod-label-key";
    case TeamRule::kNamespaceTeamLabel: return "namespace-team-label";
    case TeamRule::kNamespaceTeamAnnotation: return "namespace-team-annotation";
    case TeamRule::kNamespaceLabelKey: return "namespace-label-key";
    case TeamRule::kNamespaceName: break;
  }
  return "namespace-name";
}

Sourced<Isolation> WorkloadPolicy::IsolationFor(WorkloadClass effective) const {
  if (isolation.value) return {*isolation.value, isolation.source};
  return {DefaultIsolation(effective), "default for class " + std::string(WorkloadClassName(effective))};
}

WorkloadPolicy ResolvePolicy(const Pod& pod, const Namespace* ns, const TeamOptions& team_options) {
  WorkloadPolicy p;
  p.object = "pod " + pod.namespace_name + "/" + pod.name;
  const ObjectValues own = ObjectParser(p.object, &p.warnings).Parse(pod.labels, pod.annotations);
  ObjectValues inherited;
  std::string ns_name = pod.namespace_name;
  if (ns != nullptr) {
    ns_name = ns->name;
    inherited = ObjectParser("namespace " + ns->name, &p.warnings).Parse(ns->labels, ns->annotations);
  }
  p.team = ResolveTeam(pod, ns, team_options);
  Merge(&p.slo_ttft_p99, own.slo_ttft_p99, inherited.slo_ttft_p99, kSloTtftP99Key, ns_name);
  Merge(&p.slo_tpot_p99, own.slo_tpot_p99, inherited.slo_tpot_p99, kSloTpotP99Key, ns_name);
  Merge(&p.workload_class, own.workload_class, inherited.workload_class, kClassKey, ns_name);
  Merge(&p.isolation, own.isolation, inherited.isolation, kIsolationKey, ns_name);
  Merge(&p.deadline, own.deadline, inherited.deadline, kDeadlineKey, ns_name);
  Merge(&p.automation, own.automation, inherited.automation, kAutomationKey, ns_name);
  Merge(&p.ignore, own.ignore, inherited.ignore, kIgnoreKey, ns_name);
  return p;
}

}  // namespace gpuwise::model
