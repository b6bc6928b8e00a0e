#include "sim/ksm_page.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <span>

#include "sim/random.h"

namespace gpuwise::sim {
namespace {

constexpr int kMinMinor = 7;
constexpr int kMaxMinor = 13;

// HELP texts, verbatim from kube-state-metrics v2.13.0 internal/store/*.go.
constexpr std::string_view kLabelsHelp = "Kubernetes labels converted to Prometheus labels.";
constexpr std::string_view kCreatedHelp = "Unix creation timestamp";

// Node facts kube_node_info reports; a typical EKS GPU node (Amazon Linux 2 accelerated AMI). GUESS.
constexpr std::string_view kKernelVersion = "5.10.226-214.880.amzn2.x86_64";
constexpr std::string_view kOsImage = "Amazon Linux 2";
constexpr std::string_view kContainerRuntime = "containerd://1.7.22";
constexpr std::string_view kKubeletVersion = "v1.30.4-eks-a737599";

struct L {
  std::string_view name;
  std::string_view value;
};

// ksm's escapeString (pkg/metric/metric.go): backslash, newline and double quote.
void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '"': *out += "\\\""; break;
      default: out->push_back(c);
    }
  }
}

// One page: families in order, headers once, then lines (pkg/metrics_store/metrics_writer.go WriteAll).
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  // generator.go generateHeader: "[STABLE] " before the help of STABLE families.
  void Family(std::string_view name, bool stable, std::string_view help, std::string_view type = "gauge") {
    name_ = name;
    *out_ += "# HELP ";
    *out_ += name;
    *out_ += stable ? " [STABLE] " : " ";
    *out_ += help;
    *out_ += "\n# TYPE ";
    *out_ += name;
    out_->push_back(' ');
    *out_ += type;
    out_->push_back('\n');
  }

  void Line(std::span<const L> base, std::span<const L> extra, double value) {
    *out_ += name_;
    char sep = '{';
    for (std::span<const L> part : {base, extra}) {
      for (const L& l : part) {
        out_->push_back(sep);
        *out_ += l.name;
        *out_ += "=\"";
        AppendEscaped(out_, l.value);
        out_->push_back('"');
        sep = ',';
      }
    }
    if (sep == ',') out_->push_back('}');
    out_->push_back(' ');
    *out_ += FormatKsmValue(value);
    out_->push_back('\n');
  }
  void Line(std::span<const L> base, std::initializer_list<L> extra, double value) {
    Line(base, std::span<const L>(extra.begin(), extra.size()), value);
  }

 private:
  std::string* out_;
  std::string name_;
};

double UnixS(double epoch, double s) { return std::floor(epoch + s); }  // Go's Time.Unix()

std::string Hex64(std::uint64_t a, std::uint64_t b) {  // 64 hex digits from two keys
  std::string out;
  char buf[20];
  for (std::uint64_t i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(Hash3(a, b, i)));
    out += buf;
  }
  return out;
}

// ---- resources and quantities (internal/store/utils.go) ----

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(s.front()) && alnum(s.back());
}

// k8s.io/apimachinery validation.IsQualifiedName.
bool IsQualifiedName(std::string_view s) {
  std::string_view name = s;
  const std::size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    if (s.find('/', slash + 1) != std::string_view::npos) return false;
    if (!IsDnsSubdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (char c : name) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return alnum(name.front()) && alnum(name.back());
}

// isExtendedResourceName: not native (has a '/' and no "kubernetes.io/"), not "requests.*", and a qualified
// name once prefixed with "requests.".
bool IsExtendedResource(std::string_view r) {
  if (r.find('/') == std::string_view::npos || r.find("kubernetes.io/") != std::string_view::npos) return false;
  if (r.rfind("requests.", 0) == 0) return false;
  return IsQualifiedName("requests." + std::string(r));
}

// The unit ksm gives a resource, or "" when ksm drops it. Pods: cpu, memory/storage/ephemeral-storage,
// hugepages-*, attachable-volumes-*, extended resources (pod.go createPodContainerResourceRequests...). Nodes add
// "pods" (node.go createNodeStatusCapacity...).
std::string_view ResourceUnit(std::string_view r, bool node) {
  if (r == "cpu") return "core";
  if (r == "memory" || r == "storage" || r == "ephemeral-storage") return "byte";
  if (node && r == "pods") return "integer";
  if (r.rfind("hugepages-", 0) == 0 || r.rfind("attachable-volumes-", 0) == 0) return "byte";
  if (IsExtendedResource(r)) return "integer";
  return "";
}

// ---- pod status ----

struct ContainerView {
  bool present = false;  // the pod has a status for its container (it was placed on a node)
  bool running = false, ready = false, terminated = false;
  std::string waiting_reason;  // non-empty: waiting
  std::string terminated_reason;
  int terminated_exit = 0;
  double finished_s = 0;       // terminated: when
  double started_s = 0;        // running or terminated: start of that run
  int restarts = 0;
  bool has_last = false;       // lastState.terminated
  std::string last_reason;
  int last_exit = 0;
  double last_finished_s = 0;
};

struct PodView {
  std::string_view phase;  // Pending, Running, Succeeded, Failed
  bool scheduled = false;
  bool has_ready_condition = false;
  bool ready = false;
  bool has_start_time = false;
  ContainerView c;
};

PodView MakePodView(const SimPod& p, int index, double t, const PodRuntimeLookup& runtime) {
  PodView v;
  v.scheduled = !p.node.empty();
  if (p.succeeds && t >= p.end_s) {
    v.phase = "Succeeded";
    v.has_ready_condition = v.has_start_time = v.c.present = v.scheduled;
    v.c.terminated = true;
    v.c.terminated_reason = "Completed";
    v.c.started_s = p.start_s;
    v.c.finished_s = p.end_s;
    return v;
  }
  if (!v.scheduled) {  // the scheduler's PodScheduled=False, Unschedulable; no container status yet
    v.phase = "Pending";
    return v;
  }
  v.phase = "Running";
  v.has_ready_condition = v.has_start_time = v.c.present = true;
  v.c.running = v.c.ready = v.ready = true;
  v.c.started_s = p.start_s;
  const PodRuntime* rt = runtime && p.workload >= 0 ? runtime(index) : nullptr;
  if (rt == nullptr) return v;
  const ContainerState& c = rt->container;
  switch (rt->phase) {
    case PodPhase::kPending:  // placed, container not started yet
      v.phase = "Pending";
      v.c.running = v.c.ready = v.ready = false;
      v.c.waiting_reason = "ContainerCreating";
      return v;
    case PodPhase::kSucceeded:
    case PodPhase::kFailed:
      v.phase = rt->phase == PodPhase::kSucceeded ? "Succeeded" : "Failed";
      v.c.running = v.c.ready = v.ready = false;
      v.c.terminated = true;
      v.c.terminated_reason = c.last_reason.empty() ? (rt->phase == PodPhase::kSucceeded ? "Completed" : "Error")
                                                     : c.last_reason;
      v.c.terminated_exit = c.last_exit_code;
      v.c.finished_s = c.last_finished_s;
      return v;
    case PodPhase::kRunning: break;
  }
  v.c.restarts = c.restarts;
  v.c.running = c.running;
  v.c.ready = v.ready = c.running && c.ready;
  v.c.started_s = std::max(c.started_s, p.start_s);
  if (!c.running) {
    v.c.waiting_reason = !c.waiting_reason.empty() ? c.waiting_reason
                                                   : (c.restarts > 0 ? "CrashLoopBackOff" : "ContainerCreating");
  }
  if (!c.last_reason.empty()) {
    v.c.has_last = true;
    v.c.last_reason = c.last_reason;
    v.c.last_exit = c.last_exit_code;
    v.c.last_finished_s = c.last_finished_s;
  }
  return v;
}

// QoS class from the container's cpu and memory requests and limits (k8s GetPodQOS, one container).
std::string_view QosClass(const SimPod& p) {
  auto milli = [](const std::map<std::string, std::string>& m, const char* r, double* out) {
    auto it = m.find(r);
    return it != m.end() && ParseKubeQuantityMilli(it->second, out);
  };
  double rc = 0, rm = 0, lc = 0, lm = 0;
  const bool has_rc = milli(p.requests, "cpu", &rc), has_rm = milli(p.requests, "memory", &rm);
  const bool has_lc = milli(p.limits, "cpu", &lc), has_lm = milli(p.limits, "memory", &lm);
  if (!has_rc && !has_rm && !has_lc && !has_lm) return "BestEffort";
  // Requests default to limits when unset.
  if (has_lc && has_lm && (!has_rc || rc == lc) && (!has_rm || rm == lm)) return "Guaranteed";
  return "Burstable";
}

// containerd's normalised image reference (docker/distribution reference.ParseNormalizedNamed): docker.io
// for names without a registry, library/ for single docker.io names, :latest without a tag or digest. The
// v2.12.0 capture shows image_spec="busybox" -> image="docker.io/library/busybox:latest" and
// "docker.io/nginx:1.24.0-alpine-slim" -> "docker.io/library/nginx:1.24.0-alpine-slim". `repo` gets the name
// without tag (for image_id).
std::string NormalizedImage(std::string_view spec, std::string* repo) {
  std::string domain = "docker.io", rest(spec);
  const std::size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string first = rest.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
      domain = first == "index.docker.io" ? "docker.io" : first;
      rest = rest.substr(slash + 1);
    }
  }
  if (domain == "docker.io" && rest.find('/') == std::string::npos) rest = "library/" + rest;
  const std::size_t last_slash = rest.rfind('/');
  const std::size_t tag = rest.find_first_of(":@", last_slash == std::string::npos ? 0 : last_slash);
  *repo = domain + "/" + rest.substr(0, tag);
  if (tag == std::string::npos) rest += ":latest";
  return domain + "/" + rest;
}

// A node's InternalIP: 10.0.<i / 250>.<i % 250 + 10>. GUESS (any VPC address; nothing dials it).
std::string NodeInternalIp(int index) {
  return "10.0." + std::to_string(index / 250) + "." + std::to_string(index % 250 + 10);
}

// ---- the page ----

class KsmRenderer {
 public:
  KsmRenderer(const World& world, double t, const KsmOptions& options, const PodRuntimeLookup& runtime)
      : world_(world), t_(t), options_(options), minor_(std::clamp(options.minor_version, kMinMinor, kMaxMinor)),
        epoch_(world.options.epoch_unix_s), w_(&out_) {
    for (std::size_t i = 0; i < world.controllers.size(); ++i) {
      if (Alive(world.controllers[i].meta)) alive_[world.controllers[i].kind].push_back(static_cast<int>(i));
    }
    views_.resize(world.pods.size());
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      if (!KsmListsPod(world, static_cast<int>(i), t)) continue;
      listed_.push_back(static_cast<int>(i));
      views_[i] = MakePodView(world.pods[i], static_cast<int>(i), t, runtime);
      owned_pods_[world.pods[i].owner.uid].push_back(static_cast<int>(i));
    }
    for (std::size_t i = 0; i < world.nodes.size(); ++i) node_ip_[world.nodes[i].meta.name] = NodeInternalIp(static_cast<int>(i));
  }

  std::string Render() {
    // The builder sorts the enabled resources by name (internal/store/builder.go WithEnabledResources).
    CronJobs();
    Workloads("DaemonSet");
    Workloads("Deployment");
    Jobs();
    Namespaces();
    Nodes();
    Pods();
    Workloads("ReplicaSet");
    Workloads("StatefulSet");
    return std::move(out_);
  }

 private:
  bool Alive(const ObjectMeta& m) const { return m.created_s <= t_ && t_ < m.deleted_s; }
  // v2.10+ writes a resource's headers only when it has objects; earlier versions always.
  bool Headers(bool any) const { return any || minor_ < 10; }
  std::string_view NoOwner() const { return minor_ < 8 ? "<none>" : ""; }
  const std::vector<int>& AliveOf(const std::string& kind) const {
    static const std::vector<int> kNone;
    auto it = alive_.find(kind);
    return it == alive_.end() ? kNone : it->second;
  }
  const std::vector<int>& PodsOf(const std::string& uid) const {
    static const std::vector<int> kNone;
    auto it = owned_pods_.find(uid);
    return it == owned_pods_.end() ? kNone : it->second;
  }
  bool PodActive(int i) const {  // listed and not finished
    const std::string_view ph = views_[static_cast<std::size_t>(i)].phase;
    return ph != "Succeeded" && ph != "Failed";
  }
  int ReadyCount(const std::vector<int>& pods) const {
    int n = 0;
    for (int i : pods) n += views_[static_cast<std::size_t>(i)].ready ? 1 : 0;
    return n;
  }
  int ActiveCount(const std::vector<int>& pods) const {
    int n = 0;
    for (int i : pods) n += PodActive(i) ? 1 : 0;
    return n;
  }

  // kube_<resource>_labels for one object: identifying labels, then label_<key> for allowed keys
  // (createPrometheusLabelKeysValues + mapToPrometheusLabels: sorted keys, "_conflictN" on clashes).
  void LabelsLine(std::span<const L> base, const std::map<std::string, std::string>& labels,
                  const std::vector<std::string>& allow) {
    if (allow.empty()) {
      if (minor_ < 10) w_.Line(base, {}, 1);
      return;
    }
    std::vector<std::pair<std::string, std::string_view>> kv;
    const bool all = allow.front() == "*";
    std::map<std::string, std::pair<int, std::size_t>> conflicts;  // name -> (count, index of first)
    for (const auto& [key, value] : labels) {
      if (!all && std::find(allow.begin(), allow.end(), key) == allow.end()) continue;
      std::string name = KsmLabelName("label", key);
      auto it = conflicts.find(name);
      if (it == conflicts.end()) {
        conflicts[name] = {1, kv.size()};
      } else {
        if (it->second.first == 1) kv[it->second.second].first += "_conflict1";
        name += "_conflict" + std::to_string(++it->second.first);
      }
      kv.emplace_back(std::move(name), value);
    }
    std::vector<L> extra;
    extra.reserve(kv.size());
    for (const auto& [k, v] : kv) extra.push_back({k, v});
    w_.Line(base, extra, 1);
  }

  // kube_*_owner: one line per owner reference, or one with empty values (v2.8+; "<none>" before).
  void OwnerLines(std::span<const L> base, const std::vector<OwnerRef>& owners) {
    if (owners.empty()) {
      w_.Line(base, {{"owner_kind", NoOwner()}, {"owner_name", NoOwner()}, {"owner_is_controller", NoOwner()}}, 1);
    }
    for (const OwnerRef& o : owners) {
      w_.Line(base, {{"owner_kind", o.kind}, {"owner_name", o.name}, {"owner_is_controller", "true"}}, 1);
    }
  }

  // Job state at t from its pods (all of the World's, not only listed ones).
  struct JobState {
    int active = 0, succeeded = 0, completions = 1;
    bool complete = false;
    double completion_s = 0;
  };
  JobState JobAt(const Controller& job) const {
    JobState s;
    s.completions = std::max(1, job.replicas);
    for (const SimPod& p : world_.pods) {
      if (p.owner.uid != job.meta.uid) continue;
      if (p.succeeds && t_ >= p.end_s) {
        ++s.succeeded;
        s.completion_s = std::max(s.completion_s, p.end_s);
      } else if (p.alive(t_)) {
        ++s.active;
      }
    }
    s.complete = s.succeeded >= s.completions;
    return s;
  }

  void CronJobs() {
    const std::vector<int>& crons = AliveOf("CronJob");
    if (!Headers(!crons.empty())) return;
    auto base = [&](const Controller& c) {
      return std::array<L, 2>{L{"namespace", c.meta.namespace_name}, L{"cronjob", c.meta.name}};
    };
    // Runs of each CronJob: its Jobs created so far (LastScheduleTime and LastSuccessfulTime outlive them).
    struct Runs {
      int active = 0;
      double last_schedule_s = -1e300, last_success_s = -1e300;
    };
    std::vector<Runs> runs;
    for (int ci : crons) {
      const Controller& cron = world_.controllers[static_cast<std::size_t>(ci)];
      Runs r;
      for (const Controller& job : world_.controllers) {
        if (job.kind != "Job" || job.owners.empty() || job.owners.front().uid != cron.meta.uid) continue;
        if (job.meta.created_s > t_) continue;
        r.last_schedule_s = std::max(r.last_schedule_s, job.meta.created_s);
        const JobState s = JobAt(job);
        if (s.complete && s.completion_s <= t_) r.last_success_s = std::max(r.last_success_s, s.completion_s);
        if (Alive(job.meta) && !s.complete) ++r.active;
      }
      runs.push_back(r);
    }
    w_.Family("kube_cronjob_labels", true, kLabelsHelp);
    for (int ci : crons) {
      const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
      LabelsLine(base(c), c.meta.labels, options_.workload_label_allowlist);
    }
    w_.Family("kube_cronjob_info", true, "Info about cronjob.");
    for (int ci : crons) {
      const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
      w_.Line(base(c), {{"schedule", c.schedule}, {"concurrency_policy", "Allow"}}, 1);
    }
    w_.Family("kube_cronjob_created", true, kCreatedHelp);
    for (int ci : crons) {
      const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
      w_.Line(base(c), {}, UnixS(epoch_, c.meta.created_s));
    }
    w_.Family("kube_cronjob_status_active", true, "Active holds pointers to currently running jobs.");
    for (std::size_t k = 0; k < crons.size(); ++k) {
      w_.Line(base(world_.controllers[static_cast<std::size_t>(crons[k])]), {}, runs[k].active);
    }
    w_.Family("kube_cronjob_status_last_schedule_time", true,
              "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.");
    for (std::size_t k = 0; k < crons.size(); ++k) {
      if (runs[k].last_schedule_s < -1e299) continue;
      w_.Line(base(world_.controllers[static_cast<std::size_t>(crons[k])]), {}, UnixS(epoch_, runs[k].last_schedule_s));
    }
    w_.Family("kube_cronjob_status_last_successful_time", false,
              "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.");
    for (std::size_t k = 0; k < crons.size(); ++k) {
      if (runs[k].last_success_s < -1e299) continue;
      w_.Line(base(world_.controllers[static_cast<std::size_t>(crons[k])]), {}, UnixS(epoch_, runs[k].last_success_s));
    }
    w_.Family("kube_cronjob_spec_suspend", true, "Suspend flag tells the controller to suspend subsequent executions.");
    for (int ci : crons) w_.Line(base(world_.controllers[static_cast<std::size_t>(ci)]), {}, 0);
  }

  // DaemonSets, Deployments, ReplicaSets and StatefulSets: counts from the pods they own.
  void Workloads(const std::string& kind) {
    const std::vector<int>& objs = AliveOf(kind);
    if (!Headers(!objs.empty())) return;
    std::string key = kind;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string prefix = "kube_" + key + "_";
    auto base = [&](const Controller& c) {
      return std::array<L, 2>{L{"namespace", c.meta.namespace_name}, L{key, c.meta.name}};
    };
    struct Counts {
      int spec = 0, pods = 0, ready = 0, updated = 0, scheduled = 0;
    };
    std::vector<Counts> counts;
    for (int ci : objs) {
      const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
      Counts n;
      if (kind == "Deployment") {
        // Its ReplicaSets' pods; "updated" = the newest ReplicaSet's.
        double newest = -1e300;
        std::string newest_uid;
        std::vector<int> pods;
        for (int ri : AliveOf("ReplicaSet")) {
          const Controller& rs = world_.controllers[static_cast<std::size_t>(ri)];
          if (rs.owners.empty() || rs.owners.front().uid != c.meta.uid) continue;
          for (int p : PodsOf(rs.meta.uid)) pods.push_back(p);
          if (rs.meta.created_s >= newest) {
            newest = rs.meta.created_s;
            newest_uid = rs.meta.uid;
          }
        }
        n.pods = n.spec = ActiveCount(pods);
        n.ready = ReadyCount(pods);
        n.updated = ActiveCount(PodsOf(newest_uid));
      } else {
        const std::vector<int>& pods = PodsOf(c.meta.uid);
        n.pods = ActiveCount(pods);
        n.ready = ReadyCount(pods);
        n.updated = n.pods;
        n.spec = kind == "StatefulSet" ? c.replicas : n.pods;
        for (int p : pods) n.scheduled += PodActive(p) && views_[static_cast<std::size_t>(p)].scheduled ? 1 : 0;
      }
      counts.push_back(n);
    }
    auto each = [&](std::string_view family, bool stable, std::string_view help, auto value) {
      w_.Family(prefix + std::string(family), stable, help);
      for (std::size_t k = 0; k < objs.size(); ++k) {
        w_.Line(base(world_.controllers[static_cast<std::size_t>(objs[k])]), {}, value(counts[k]));
      }
    };
    auto created = [&] {
      w_.Family(prefix + "created", true, kCreatedHelp);
      for (int ci : objs) {
        const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
        w_.Line(base(c), {}, UnixS(epoch_, c.meta.created_s));
      }
    };
    auto labels = [&] {
      w_.Family(prefix + "labels", true, kLabelsHelp);
      for (int ci : objs) {
        const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
        LabelsLine(base(c), c.meta.labels, options_.workload_label_allowlist);
      }
    };
    if (kind == "DaemonSet") {  // internal/store/daemonset.go
      created();
      each("status_current_number_scheduled", true,
           "The number of nodes running at least one daemon pod and are supposed to.", [](const Counts& n) { return n.scheduled; });
      each("status_desired_number_scheduled", true, "The number of nodes that should be running the daemon pod.",
           [](const Counts& n) { return n.pods; });
      each("status_number_available", true,
           "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running "
           "and available",
           [](const Counts& n) { return n.ready; });
      each("status_number_misscheduled", true, "The number of nodes running a daemon pod but are not supposed to.",
           [](const Counts&) { return 0; });
      each("status_number_ready", true,
           "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running "
           "and ready.",
           [](const Counts& n) { return n.ready; });
      each("status_number_unavailable", true,
           "The number of nodes that should be running the daemon pod and have none of the daemon pod running and "
           "available",
           [](const Counts& n) { return std::max(0, n.pods - n.ready); });
      each("status_updated_number_scheduled", true, "The total number of nodes that are running updated daemon pod",
           [](const Counts& n) { return n.pods; });
      labels();
    } else if (kind == "Deployment") {  // internal/store/deployment.go
      created();
      each("status_replicas", true, "The number of replicas per deployment.", [](const Counts& n) { return n.pods; });
      each("status_replicas_ready", true, "The number of ready replicas per deployment.",
           [](const Counts& n) { return n.ready; });
      each("status_replicas_available", true, "The number of available replicas per deployment.",
           [](const Counts& n) { return n.ready; });
      each("status_replicas_unavailable", true, "The number of unavailable replicas per deployment.",
           [](const Counts& n) { return std::max(0, n.spec - n.ready); });
      each("status_replicas_updated", true, "The number of updated replicas per deployment.",
           [](const Counts& n) { return n.updated; });
      // Available (MinimumReplicasAvailable: available >= replicas - maxUnavailable, 25% rounded down) and
      // Progressing (NewReplicaSetAvailable), in the order the deployment controller writes them.
      w_.Family("kube_deployment_status_condition", true, "The current status conditions of a deployment.");
      for (std::size_t k = 0; k < objs.size(); ++k) {
        const auto b = base(world_.controllers[static_cast<std::size_t>(objs[k])]);
        const Counts& n = counts[k];
        const bool available = n.ready >= n.spec - n.spec / 4;
        for (const auto& [cond, value] : {std::pair<std::string_view, bool>{"Available", available}, {"Progressing", true}}) {
          w_.Line(b, {{"condition", cond}, {"status", "true"}}, value ? 1 : 0);
          w_.Line(b, {{"condition", cond}, {"status", "false"}}, value ? 0 : 1);
          w_.Line(b, {{"condition", cond}, {"status", "unknown"}}, 0);
        }
      }
      each("spec_replicas", true, "Number of desired pods for a deployment.", [](const Counts& n) { return n.spec; });
      each("spec_paused", true, "Whether the deployment is paused and will not be processed by the deployment controller.",
           [](const Counts&) { return 0; });
      labels();
    } else if (kind == "ReplicaSet") {  // internal/store/replicaset.go
      created();
      each("status_replicas", true, "The number of replicas per ReplicaSet.", [](const Counts& n) { return n.pods; });
      each("status_fully_labeled_replicas", true, "The number of fully labeled replicas per ReplicaSet.",
           [](const Counts& n) { return n.pods; });
      each("status_ready_replicas", true, "The number of ready replicas per ReplicaSet.",
           [](const Counts& n) { return n.ready; });
      each("spec_replicas", true, "Number of desired pods for a ReplicaSet.", [](const Counts& n) { return n.spec; });
      w_.Family("kube_replicaset_owner", true, "Information about the ReplicaSet's owner.");
      for (int ci : objs) {
        const Controller& c = world_.controllers[static_cast<std::size_t>(ci)];
        OwnerLines(base(c), c.owners);
      }
      labels();
    } else {  // StatefulSet, internal/store/statefulset.go
      created();
      each("status_replicas", true, "The number of replicas per StatefulSet.", [](const Counts& n) { return n.pods; });
      each("status_replicas_available", false, "The number of available replicas per StatefulSet.",
           [](const Counts& n) { return n.ready; });
      each("status_replicas_current", true, "The number of current replicas per StatefulSet.",
           [](const Counts& n) { return n.pods; });
      each("status_replicas_ready", true, "The number of ready replicas per StatefulSet.",
           [](const Counts& n) { return n.ready; });
      each("status_replicas_updated", true, "The number of updated replicas per StatefulSet.",
           [](const Counts& n) { return n.updated; });
      each("replicas", true, "Number of desired pods for a StatefulSet.", [](const Counts& n) { return n.spec; });
      labels();
    }
  }

  void Jobs() {  // internal/store/job.go
    const std::vector<int>& jobs = AliveOf("Job");
    if (!Headers(!jobs.empty())) return;
    auto base = [&](const Controller& c) {
      return std::array<L, 2>{L{"namespace", c.meta.namespace_name}, L{"job_name", c.meta.name}};
    };
    std::vector<JobState> st;
    for (int ji : jobs) st.push_back(JobAt(world_.controllers[static_cast<std::size_t>(ji)]));
    const auto job = [&](std::size_t k) -> const Controller& { return world_.controllers[static_cast<std::size_t>(jobs[k])]; };
    w_.Family("kube_job_labels", true, kLabelsHelp);
    for (std::size_t k = 0; k < jobs.size(); ++k) LabelsLine(base(job(k)), job(k).meta.labels, options_.workload_label_allowlist);
    w_.Family("kube_job_info", true, "Information about job.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, 1);
    w_.Family("kube_job_created", true, kCreatedHelp);
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, UnixS(epoch_, job(k).meta.created_s));
    w_.Family("kube_job_spec_parallelism", true, "The maximum desired number of pods the job should run at any given time.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, st[k].completions);
    w_.Family("kube_job_spec_completions", true, "The desired number of successfully finished pods the job should be run with.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, st[k].completions);
    w_.Family("kube_job_status_succeeded", true, "The number of pods which reached Phase Succeeded.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, st[k].succeeded);
    w_.Family("kube_job_status_failed", true, "The number of pods which reached Phase Failed and the reason for failure.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, 0);
    w_.Family("kube_job_status_active", true, "The number of actively running pods.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, st[k].active);
    w_.Family("kube_job_complete", true, "The job has completed its execution.");
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      if (!st[k].complete) continue;
      const auto b = base(job(k));
      w_.Line(b, {{"condition", "true"}}, 1);
      w_.Line(b, {{"condition", "false"}}, 0);
      w_.Line(b, {{"condition", "unknown"}}, 0);
    }
    w_.Family("kube_job_status_start_time", true, "StartTime represents time when the job was acknowledged by the Job Manager.");
    for (std::size_t k = 0; k < jobs.size(); ++k) w_.Line(base(job(k)), {}, UnixS(epoch_, job(k).meta.created_s));
    w_.Family("kube_job_status_completion_time", true, "CompletionTime represents time when the job was completed.");
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      if (st[k].complete) w_.Line(base(job(k)), {}, UnixS(epoch_, st[k].completion_s));
    }
    w_.Family("kube_job_owner", true, "Information about the Job's owner.");
    for (std::size_t k = 0; k < jobs.size(); ++k) OwnerLines(base(job(k)), job(k).owners);
  }

  void Namespaces() {  // internal/store/namespace.go
    std::vector<const SimNamespace*> ns;
    for (const SimNamespace& n : world_.namespaces) {
      if (Alive(n.meta)) ns.push_back(&n);
    }
    if (!Headers(!ns.empty())) return;
    auto base = [](const SimNamespace* n) { return std::array<L, 1>{L{"namespace", n->meta.name}}; };
    w_.Family("kube_namespace_created", true, kCreatedHelp);
    for (const SimNamespace* n : ns) w_.Line(base(n), {}, UnixS(epoch_, n->meta.created_s));
    w_.Family("kube_namespace_labels", true, kLabelsHelp);
    for (const SimNamespace* n : ns) LabelsLine(base(n), n->meta.labels, options_.namespace_label_allowlist);
    w_.Family("kube_namespace_status_phase", true, "kubernetes namespace status phase.");
    for (const SimNamespace* n : ns) {
      w_.Line(base(n), {{"phase", "Active"}}, 1);
      w_.Line(base(n), {{"phase", "Terminating"}}, 0);
    }
  }

  void Nodes() {  // internal/store/node.go
    std::vector<int> nodes;
    for (std::size_t i = 0; i < world_.nodes.size(); ++i) {
      if (Alive(world_.nodes[i].meta)) nodes.push_back(static_cast<int>(i));
    }
    if (!Headers(!nodes.empty())) return;
    const auto node = [&](int i) -> const SimNode& { return world_.nodes[static_cast<std::size_t>(i)]; };
    auto base = [&](int i) { return std::array<L, 1>{L{"node", node(i).meta.name}}; };
    w_.Family("kube_node_created", true, kCreatedHelp);
    for (int i : nodes) w_.Line(base(i), {}, UnixS(epoch_, node(i).meta.created_s));
    w_.Family("kube_node_info", true, "Information about a cluster node.");
    for (int i : nodes) {
      const SimNode& n = node(i);
      const auto& pools = world_.scenario.node_pools;
      const std::string zone =
          n.pool >= 0 && static_cast<std::size_t>(n.pool) < pools.size() ? pools[static_cast<std::size_t>(n.pool)].zone : "";
      const std::uint64_t key = HashString(n.meta.uid);
      char instance[32], uuid[48];
      std::snprintf(instance, sizeof instance, "i-0%016llx", static_cast<unsigned long long>(Hash3(key, 1, 0)));
      const std::uint64_t a = Hash3(key, 2, 0), b = Hash3(key, 3, 0);
      // EC2 SMBIOS UUIDs start with "ec2".
      std::snprintf(uuid, sizeof uuid, "ec2%05llx-%04llx-%04llx-%04llx-%012llx",
                    static_cast<unsigned long long>(a >> 44), static_cast<unsigned long long>((a >> 28) & 0xFFFF),
                    static_cast<unsigned long long>((a >> 12) & 0xFFFF), static_cast<unsigned long long>(b >> 48),
                    static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
      const std::string provider = "aws:///" + zone + "/" + instance;
      w_.Line(base(i),
              {{"kernel_version", kKernelVersion},
               {"os_image", kOsImage},
               {"container_runtime_version", kContainerRuntime},
               {"kubelet_version", kKubeletVersion},
               {"kubeproxy_version", kKubeletVersion},
               {"provider_id", provider},
               {"pod_cidr", ""},
               {"system_uuid", uuid},
               {"internal_ip", node_ip_[n.meta.name]}},
              1);
    }
    w_.Family("kube_node_labels", true, kLabelsHelp);
    for (int i : nodes) LabelsLine(base(i), node(i).meta.labels, options_.node_label_allowlist);
    w_.Family("kube_node_spec_unschedulable", true, "Whether a node can schedule new pods.");
    for (int i : nodes) w_.Line(base(i), {}, 0);
    // Allocatable = capacity: no kube/system reservations are modelled. Values are MilliValue()/1000.
    for (const bool alloc : {true, false}) {
      if (alloc) {
        w_.Family("kube_node_status_allocatable", true,
                  "The allocatable for different resources of a node that are available for scheduling.");
      } else {
        w_.Family("kube_node_status_capacity", true, "The capacity for different resources of a node.");
      }
      for (int i : nodes) {
        for (const auto& [resource, quantity] : node(i).capacity) {
          const std::string_view unit = ResourceUnit(resource, /*node=*/true);
          double milli = 0;
          if (unit.empty() || !ParseKubeQuantityMilli(quantity, &milli)) continue;
          w_.Line(base(i), {{"resource", KsmResourceName(resource)}, {"unit", unit}}, milli / 1000);
        }
      }
    }
    w_.Family("kube_node_status_condition", true, "The condition of a cluster node.");
    for (int i : nodes) {
      for (const auto& [cond, value] : {std::pair<std::string_view, bool>{"MemoryPressure", false},
                                        {"DiskPressure", false}, {"PIDPressure", false}, {"Ready", true}}) {
        w_.Line(base(i), {{"condition", cond}, {"status", "true"}}, value ? 1 : 0);
        w_.Line(base(i), {{"condition", cond}, {"status", "false"}}, value ? 0 : 1);
        w_.Line(base(i), {{"condition", cond}, {"status", "unknown"}}, 0);
      }
    }
    if (minor_ >= 11) {
      w_.Family("kube_node_status_addresses", false, "Node address information.");
      for (int i : nodes) {
        w_.Line(base(i), {{"type", "InternalIP"}, {"address", node_ip_[node(i).meta.name]}}, 1);
        w_.Line(base(i), {{"type", "Hostname"}, {"address", node(i).meta.name}}, 1);
      }
    }
  }

  void Pods() {  // internal/store/pod.go
    if (!Headers(!listed_.empty())) return;
    const auto pod = [&](int i) -> const SimPod& { return world_.pods[static_cast<std::size_t>(i)]; };
    const auto view = [&](int i) -> const PodView& { return views_[static_cast<std::size_t>(i)]; };
    auto base = [&](int i) {
      const SimPod& p = pod(i);
      return std::array<L, 3>{L{"namespace", p.meta.namespace_name}, L{"pod", p.meta.name}, L{"uid", p.meta.uid}};
    };
    auto per_container = [&](std::string_view name, bool stable, std::string_view help, auto has, auto value,
                             std::string_view type = "gauge") {
      w_.Family(name, stable, help, type);
      for (int i : listed_) {
        const ContainerView& c = view(i).c;
        if (c.present && has(c)) w_.Line(base(i), {{"container", pod(i).container}}, value(c));
      }
    };
    auto any = [](const ContainerView&) { return true; };

    w_.Family("kube_pod_completion_time", true, "Completion time in unix timestamp for a pod.");
    for (int i : listed_) {
      const ContainerView& c = view(i).c;
      if (c.present && c.terminated) w_.Line(base(i), {}, UnixS(epoch_, c.finished_s));
    }
    w_.Family("kube_pod_container_info", true, "Information about a container in a pod.");
    for (int i : listed_) {
      const SimPod& p = pod(i);
      if (!view(i).c.present) continue;
      std::string repo;
      const std::string image = NormalizedImage(p.image, &repo);
      const std::uint64_t key = HashString(p.meta.uid);
      const std::string image_id = repo + "@sha256:" + Hex64(HashString(p.image), 7);
      const std::string container_id = "containerd://" + Hex64(key, static_cast<std::uint64_t>(view(i).c.restarts));
      w_.Line(base(i),
              {{"container", p.container}, {"image_spec", p.image}, {"image", image}, {"image_id", image_id},
               {"container_id", container_id}},
              1);
    }
    for (const bool limits : {true, false}) {
      if (limits) {
        w_.Family("kube_pod_container_resource_limits", false,
                  "The number of requested limit resource by a container. It is recommended to use the "
                  "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.");
      } else {
        w_.Family("kube_pod_container_resource_requests", false,
                  "The number of requested request resource by a container. It is recommended to use the "
                  "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.");
      }
      for (int i : listed_) {
        const SimPod& p = pod(i);
        for (const auto& [resource, quantity] : limits ? p.limits : p.requests) {
          const std::string_view unit = ResourceUnit(resource, /*node=*/false);
          double milli = 0;
          if (unit.empty() || !ParseKubeQuantityMilli(quantity, &milli)) continue;
          // cpu: MilliValue()/1000; everything else Value() (whole units, rounded up).
          const double value = resource == "cpu" ? milli / 1000 : std::ceil(milli / 1000);
          w_.Line(base(i),
                  {{"container", p.container}, {"node", p.node}, {"resource", KsmResourceName(resource)}, {"unit", unit}},
                  value);
        }
      }
    }
    w_.Family("kube_pod_container_state_started", true, "Start time in unix timestamp for a pod container.");
    for (int i : listed_) {
      const ContainerView& c = view(i).c;
      if (c.present && (c.running || c.terminated)) {
        w_.Line(base(i), {{"container", pod(i).container}}, UnixS(epoch_, c.started_s));
      }
    }
    w_.Family("kube_pod_container_status_last_terminated_reason", false,
              "Describes the last reason the container was in terminated state.");
    for (int i : listed_) {
      const ContainerView& c = view(i).c;
      if (c.present && c.has_last) w_.Line(base(i), {{"container", pod(i).container}, {"reason", c.last_reason}}, 1);
    }
    per_container("kube_pod_container_status_last_terminated_exitcode", false,
                  "Describes the exit code for the last container in terminated state.",
                  [](const ContainerView& c) { return c.has_last; },
                  [](const ContainerView& c) { return static_cast<double>(c.last_exit); });
    if (minor_ >= 12) {
      per_container("kube_pod_container_status_last_terminated_timestamp", false,
                    "Last terminated time for a pod container in unix timestamp.",
                    [](const ContainerView& c) { return c.has_last; },
                    [&](const ContainerView& c) { return UnixS(epoch_, c.last_finished_s); });
    }
    per_container("kube_pod_container_status_ready", true, "Describes whether the containers readiness check succeeded.",
                  any, [](const ContainerView& c) { return c.ready ? 1.0 : 0.0; });
    per_container("kube_pod_container_status_restarts_total", true, "The number of container restarts per container.",
                  any, [](const ContainerView& c) { return static_cast<double>(c.restarts); }, "counter");
    per_container("kube_pod_container_status_running", true,
                  "Describes whether the container is currently in running state.", any,
                  [](const ContainerView& c) { return c.running ? 1.0 : 0.0; });
    per_container("kube_pod_container_status_terminated", true,
                  "Describes whether the container is currently in terminated state.", any,
                  [](const ContainerView& c) { return c.terminated ? 1.0 : 0.0; });
    w_.Family("kube_pod_container_status_terminated_reason", false,
              "Describes the reason the container is currently in terminated state.");
    for (int i : listed_) {
      const ContainerView& c = view(i).c;
      if (c.present && c.terminated) {
        w_.Line(base(i), {{"container", pod(i).container}, {"reason", c.terminated_reason}}, 1);
      }
    }
    per_container("kube_pod_container_status_waiting", true,
                  "Describes whether the container is currently in waiting state.", any,
                  [](const ContainerView& c) { return c.waiting_reason.empty() ? 0.0 : 1.0; });
    w_.Family("kube_pod_container_status_waiting_reason", true,
              "Describes the reason the container is currently in waiting state.");
    for (int i : listed_) {
      const ContainerView& c = view(i).c;
      if (c.present && !c.waiting_reason.empty()) {
        w_.Line(base(i), {{"container", pod(i).container}, {"reason", c.waiting_reason}}, 1);
      }
    }
    w_.Family("kube_pod_created", true, kCreatedHelp);
    for (int i : listed_) w_.Line(base(i), {}, UnixS(epoch_, pod(i).meta.created_s));
    w_.Family("kube_pod_info", true, "Information about pod.");
    for (int i : listed_) {
      const SimPod& p = pod(i);
      const bool owned = !p.owner.kind.empty();
      auto ip = node_ip_.find(p.node);
      w_.Line(base(i),
              {{"host_ip", ip == node_ip_.end() ? std::string_view() : std::string_view(ip->second)},
               {"pod_ip", p.ip},
               {"node", p.node},
               {"created_by_kind", owned ? std::string_view(p.owner.kind) : NoOwner()},
               {"created_by_name", owned ? std::string_view(p.owner.name) : NoOwner()},
               {"priority_class", ""},
               {"host_network", "false"}},
              1);
    }
    w_.Family("kube_pod_ips", false, "Pod IP addresses");
    for (int i : listed_) {
      if (!pod(i).ip.empty()) w_.Line(base(i), {{"ip", pod(i).ip}, {"ip_family", "4"}}, 1);
    }
    w_.Family("kube_pod_labels", true, kLabelsHelp);
    for (int i : listed_) LabelsLine(base(i), pod(i).meta.labels, options_.pod_label_allowlist);
    w_.Family("kube_pod_owner", true, "Information about the Pod's owner.");
    for (int i : listed_) {
      const SimPod& p = pod(i);
      OwnerLines(base(i), p.owner.kind.empty() ? std::vector<OwnerRef>{} : std::vector<OwnerRef>{p.owner});
    }
    // Job pods restart OnFailure (the v2.12.0 capture's CronJob pods do); everything else Always.
    w_.Family("kube_pod_restart_policy", true, "Describes the restart policy in use by this pod.");
    for (int i : listed_) {
      w_.Line(base(i), {{"type", pod(i).owner.kind == "Job" ? "OnFailure" : "Always"}}, 1);
    }
    w_.Family("kube_pod_start_time", true, "Start time in unix timestamp for a pod.");
    for (int i : listed_) {
      if (view(i).has_start_time) w_.Line(base(i), {}, UnixS(epoch_, pod(i).start_s));
    }
    w_.Family("kube_pod_status_phase", true, "The pods current phase.");
    for (int i : listed_) {
      const std::string_view ph = view(i).phase;
      for (std::string_view name : {"Pending", "Succeeded", "Failed", "Unknown", "Running"}) {
        w_.Line(base(i), {{"phase", name}}, ph == name ? 1 : 0);
      }
    }
    if (minor_ >= 8) {
      w_.Family("kube_pod_status_qos_class", false, "The pods current qosClass.");
      for (int i : listed_) {
        const std::string_view q = QosClass(pod(i));
        for (std::string_view name : {"BestEffort", "Burstable", "Guaranteed"}) {
          w_.Line(base(i), {{"qos_class", name}}, q == name ? 1 : 0);
        }
      }
    }
    auto condition = [&](int i, bool value) {
      w_.Line(base(i), {{"condition", "true"}}, value ? 1 : 0);
      w_.Line(base(i), {{"condition", "false"}}, value ? 0 : 1);
      w_.Line(base(i), {{"condition", "unknown"}}, 0);
    };
    w_.Family("kube_pod_status_ready", true, "Describes whether the pod is ready to serve requests.");
    for (int i : listed_) {
      if (view(i).has_ready_condition) condition(i, view(i).ready);
    }
    w_.Family("kube_pod_status_scheduled", true, "Describes the status of the scheduling process for the pod.");
    for (int i : listed_) condition(i, view(i).scheduled);
    w_.Family("kube_pod_status_scheduled_time", true, "Unix timestamp when pod moved into scheduled status");
    for (int i : listed_) {
      if (view(i).scheduled) w_.Line(base(i), {}, UnixS(epoch_, pod(i).meta.created_s));
    }
    w_.Family("kube_pod_status_unschedulable", true, "Describes the unschedulable status for the pod.");
    for (int i : listed_) {
      if (!view(i).scheduled) w_.Line(base(i), {}, 1);
    }
  }

  const World& world_;
  double t_;
  const KsmOptions& options_;
  int minor_;
  double epoch_;
  std::string out_;
  Writer w_;
  std::map<std::string, std::vector<int>> alive_;           // kind -> alive controllers, World order
  std::map<std::string, std::vector<int>> owned_pods_;      // owner uid -> listed pods
  std::map<std::string, std::string> node_ip_;              // node name -> InternalIP
  std::vector<int> listed_;
  std::vector<PodView> views_;
};

}  // namespace

bool KsmListsPod(const World& world, int index, double t) {
  const SimPod& p = world.pods[static_cast<std::size_t>(index)];
  if (p.alive(t)) return true;
  if (!p.succeeds || t < p.end_s || t < p.start_s) return false;
  for (const Controller& c : world.controllers) {  // a finished Job pod stays until its Job is deleted
    if (c.meta.uid == p.owner.uid) return c.meta.created_s <= t && t < c.meta.deleted_s;
  }
  return false;
}

std::string RenderKsmPage(const World& world, double t, const KsmOptions& options, const PodRuntimeLookup& runtime) {
  return KsmRenderer(world, t, options, runtime).Render();
}

std::string RenderKsmPage(const Simulator& simulator, const KsmOptions& options) {
  return RenderKsmPage(simulator.world(), simulator.now(), options,
                       [&simulator](int i) { return &simulator.pod(i); });
}

std::string KsmLabelName(std::string_view prefix, std::string_view key) {
  // SanitizeLabelName, then toSnakeCase: "([a-z0-9])([A-Z])" -> "${1}_${2}", lower case.
  const std::string s = KsmResourceName(key);
  std::string out(prefix);
  out.push_back('_');
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (lower_or_digit(s[i]) && i + 1 < s.size() && s[i + 1] >= 'A' && s[i + 1] <= 'Z') {
      out.push_back(s[i]);
      out.push_back('_');
      out.push_back(static_cast<char>(s[i + 1] - 'A' + 'a'));
      ++i;
    } else {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
    }
  }
  return out;
}

std::string KsmResourceName(std::string_view resource) {
  std::string out(resource);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return out;
}

std::string FormatKsmValue(double v) {
  // pkg/metric/metric.go writeFloat: shortcuts, then strconv.AppendFloat(f, 'g', -1, 64): the shortest digits
  // that round-trip, in exponent form when the decimal exponent is < -4 or >= 6 (Go's strconv/ftoa.go uses
  // precision 6 for that choice in shortest mode), so 123456 but 1e+06, 0.0001 but 1e-05.
  if (v == 1) return "1";
  if (v == 0) return "0";
  if (v == -1) return "-1";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));  // shortest round-trip: "-1.7947872e+09"
  std::string out;
  if (s.front() == '-') {
    out.push_back('-');
    s.remove_prefix(1);
  }
  const std::size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  const int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out.push_back(digits[0]);
    if (nd > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  if (nd <= exp + 1) {
    out += digits;
    out.append(static_cast<std::size_t>(exp + 1 - nd), '0');
  } else {
    out.append(digits, 0, static_cast<std::size_t>(exp + 1));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(exp + 1));
  }
  return out;
}

bool ParseKubeQuantityMilli(std::string_view text, double* milli) {
  // k8s.io/apimachinery resource.Quantity: <signed decimal><suffix>, suffix one of the binary SI (Ki..Ei),
  // decimal SI (n u m "" k M G T P E) or an exponent (e3, E-2).
  if (text.empty()) return false;
  std::size_t i = 0;
  bool neg = false;
  if (text[i] == '+' || text[i] == '-') neg = text[i++] == '-';
  std::int64_t mantissa = 0;
  int frac_digits = 0, digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    if (mantissa > (INT64_MAX - 9) / 10) return false;
    mantissa = mantissa * 10 + (c - '0');
    ++digits;
    if (dot) ++frac_digits;
  }
  if (digits == 0) return false;
  const std::string_view suffix = text.substr(i);
  double binary = 1;  // 1024^k for Ki..Ei
  int pow10 = 0;      // decimal SI suffix or exponent
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    const std::size_t k = std::string_view("KMGTPE").find(suffix[0]);
    if (k == std::string_view::npos) return false;
    binary = std::ldexp(1.0, 10 * static_cast<int>(k + 1));
  } else if (suffix.size() == 1 && std::string_view("numkMGTPE").find(suffix[0]) != std::string_view::npos) {
    constexpr int kPow[] = {-9, -6, -3, 3, 6, 9, 12, 15, 18};
    pow10 = kPow[std::string_view("numkMGTPE").find(suffix[0])];
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    const char* first = suffix.data() + 1 + (suffix.size() > 1 && suffix[1] == '+' ? 1 : 0);
    const auto r = std::from_chars(first, suffix.data() + suffix.size(), pow10);
    if (r.ec != std::errc() || r.ptr != suffix.data() + suffix.size() || pow10 > 30 || pow10 < -30) return false;
  } else {
    return false;
  }
  // milli = mantissa * binary * 10^(pow10 + 3 - fraction digits), rounded up as MilliValue() does. Integer
  // operands keep this exact: a quotient that is a whole number comes out whole.
  const double num = static_cast<double>(mantissa) * binary;
  const int p = pow10 + 3 - frac_digits;
  const double m = p >= 0 ? num * std::pow(10.0, p) : std::ceil(num / std::pow(10.0, -p));
  *milli = neg ? -m : m;
  return true;
}

}  // namespace gpuwise::sim
