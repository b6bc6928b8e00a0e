#include "sim/kube_cluster.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "base/log.h"
#include "base/time_parse.h"
#include "sim/cron.h"
#include "sim/json_read.h"
#include "sim/ksm_page.h"
#include "sim/mig_profiles.h"
#include "sim/kube_objects.h"
#include "sim/kube_selectors.h"
#include "sim/random.h"
#include "optimize/fractional/online_placement.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

// Pods a controller creates in one pass at most.
constexpr int kBurst = 500;

const ResourceType& Type(std::string_view key) {
  const ResourceType* t = FindResourceByKey(key);
  if (t == nullptr) std::abort();  // gpuwise's own bug: a type the store does not serve
  return *t;
}

const json& Field(const json& obj, std::string_view a) { return JsonAt(obj, {a}); }
const json& Field(const json& obj, std::string_view a, std::string_view b) { return JsonAt(obj, {a, b}); }
std::string Str(const json& j) { return JsonString(j); }
long long Int(const json& j, long long fallback = 0) { return JsonInt(j, fallback); }

const json& Labels(const json& obj) { return Field(obj, "metadata", "labels"); }
std::string Name(const json& obj) { return Str(Field(obj, "metadata", "name")); }
std::string Namespace(const json& obj) { return Str(Field(obj, "metadata", "namespace")); }
std::string UidOf(const json& obj) { return Str(Field(obj, "metadata", "uid")); }
bool Terminating(const json& obj) { return Field(obj, "metadata").contains("deletionTimestamp"); }

// The controller owner's uid (ownerReferences[controller=true]).
std::string ControllerUid(const json& obj) {
  for (const json& o : Field(obj, "metadata", "ownerReferences")) {
    if (o.value("controller", false)) return o.value("uid", "");
  }
  return "";
}

json OwnerRefTo(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")}, {"kind", owner.value("kind", "")}, {"name", Name(owner)},
          {"uid", UidOf(owner)}, {"controller", true}, {"blockOwnerDeletion", true}};
}

double Milli(const json& q) {
  double m = 0;
  if (q.is_string()) {
    if (!ParseKubeQuantityMilli(q.get<std::string>(), &m)) return 0;
  } else if (q.is_number()) {
    m = q.get<double>() * 1000;
  }
  return m;
}

// Sums requests of a pod spec's containers (init containers take the max, as the scheduler does).
std::map<std::string, double> PodRequests(const json& pod) {
  std::map<std::string, double> sum;
  for (const json& c : Field(pod, "spec", "containers")) {
    for (const auto& [k, v] : Field(c, "resources", "requests").items()) sum[k] += Milli(v);
    // Extended resources given only as limits count as requests.
    for (const auto& [k, v] : Field(c, "resources", "limits").items()) {
      if (k.find('/') != std::string::npos && !Field(c, "resources", "requests").contains(k)) sum[k] += Milli(v);
    }
  }
  sum["pods"] += 1000;
  return sum;
}

bool PodFinished(const json& pod) {
  const std::string phase = Str(Field(pod, "status", "phase"));
  return phase == "Succeeded" || phase == "Failed";
}

bool PodReady(const json& pod) {
  for (const json& c : Field(pod, "status", "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool PodActive(const json& pod) { return !Terminating(pod) && !PodFinished(pod); }

// "25%" of total, rounded up or down; or an int.
int IntOrPercent(const json& v, int total, bool round_up, int fallback) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!s.empty() && s.back() == '%') {
      const double pct = std::atof(s.c_str());
      const double x = pct * total / 100.0;
      return static_cast<int>(round_up ? std::ceil(x) : std::floor(x));
    }
    return std::atoi(s.c_str());
  }
  return fallback;
}

std::string TemplateHash(const json& tmpl) {
  // Like the Deployment controller's pod-template-hash: a short safe-encoded hash of the template.
  return KubeSuffix(HashString(tmpl.dump()), 10);
}

json StripPodLabels(json labels) {
  for (const char* k : {"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                        "apps.kubernetes.io/pod-index", "job-name", "batch.kubernetes.io/job-name",
                        "controller-uid", "batch.kubernetes.io/controller-uid"}) {
    labels.erase(k);
  }
  return labels;
}

}  // namespace

struct KubeCluster::Impl {
  World& world;
  Simulator& sim;
  KubeStore& store;
  KubeClusterOptions options;
  std::unordered_map<std::string, int> world_pod;         // pod uid -> world pod index
  std::unordered_map<std::string, int> controller_workload;  // controller uid -> scenario workload
  std::unordered_map<std::string, std::uint64_t> status_hash;  // pod uid -> signature of the status last written
  std::unordered_map<std::string, std::string> unschedulable_message;  // pod uid -> last FailedScheduling message
  std::map<std::string, double> terminating_since;           // pod uid -> sim time the kubelet saw the deletion
  struct NodeConfigChange {
    std::string label;  // "nvidia.com/mig.config" or "nvidia.com/device-plugin.config"
    std::string value;
    double due_s = 0;
  };
  std::map<std::string, NodeConfigChange> node_changes;  // node -> pending change
  std::map<std::string, std::string> applied_device_plugin_config;  // node -> value in effect
  int next_ip[3] = {0, 0, 0};  // exporter, serving, other
  std::uint64_t event_seq = 0;

  Impl(World& w, Simulator& s, KubeStore& st, KubeClusterOptions o) : world(w), sim(s), store(st), options(o) {
    if (options.node_config_delay_s < 0) options.node_config_delay_s = world.scenario.delays.mig_reconfigure_s;
  }

  double unix_now() const { return world.options.epoch_unix_s + sim.now(); }
  std::string Now() const { return SimTimestamp(world, sim.now()); }

  // Seed writes: objects the cluster had before the simulation starts date from when the cluster was built.
  void Put(const ResourceType& t, json obj) {
    if (!obj["metadata"].contains("creationTimestamp")) obj["metadata"]["creationTimestamp"] = SimTimestamp(world, -30 * 86400.0);
    (void)store.Create(t, std::move(obj));
  }

  // Writes an object's status only when it differs (most passes change nothing: no copy, no compare of the
  // whole object).
  void SetStatus(const ResourceType& t, const json& obj, json status) {
    if (Field(obj, "status") == status) return;
    (void)store.Mutate(t, Namespace(obj), Name(obj), [&](json& o) {
      o["status"] = status;
      return base::Status::Ok();
    });
  }

  // ---- events ----
  void Event(const json& involved, std::string_view type, std::string_view reason, const std::string& message,
             std::string_view component) {
    const std::string ns = Namespace(involved).empty() ? "default" : Namespace(involved);
    json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata",
                {{"name", Name(involved) + "." + KubeSuffix(Hash3(++event_seq, HashString(UidOf(involved)), 9), 16)},
                 {"namespace", ns}}},
               {"involvedObject",
                {{"apiVersion", involved.value("apiVersion", "v1")},
                 {"kind", involved.value("kind", "")},
                 {"name", Name(involved)},
                 {"namespace", Namespace(involved)},
                 {"uid", UidOf(involved)},
                 {"resourceVersion", Str(Field(involved, "metadata", "resourceVersion"))}}},
               {"reason", reason},
               {"message", message},
               {"source", {{"component", component}}},
               {"firstTimestamp", Now()},
               {"lastTimestamp", Now()},
               {"count", 1},
               {"type", type},
               {"eventTime", nullptr},
               {"reportingComponent", component},
               {"reportingInstance", ""}};
    if (Namespace(involved).empty()) ev["involvedObject"].erase("namespace");
    (void)store.Create(Type("events"), std::move(ev));
  }

  // ---- seeding ----
  json ControllerObject(const Controller& c, int template_pod) {
    json meta = {{"name", c.meta.name}, {"namespace", c.meta.namespace_name}, {"uid", c.meta.uid},
                 {"creationTimestamp", SimTimestamp(world, c.meta.created_s)}};
    if (!c.meta.labels.empty()) meta["labels"] = c.meta.labels;
    if (!c.meta.annotations.empty()) meta["annotations"] = c.meta.annotations;
    if (!c.owners.empty()) {
      json owners = json::array();
      for (const OwnerRef& o : c.owners) {
        owners.push_back({{"apiVersion", o.api_version}, {"kind", o.kind}, {"name", o.name}, {"uid", o.uid},
                          {"controller", true}, {"blockOwnerDeletion", true}});
      }
      meta["ownerReferences"] = owners;
    }
    json obj = {{"apiVersion", c.api_version}, {"kind", c.kind}, {"metadata", meta}};
    // The pod template: from a pod of this controller now, else from the workload's most recent pod in the
    // laid-out world (a CronJob between runs).
    json tmpl;
    if (template_pod >= 0) {
      json pod = PodObject(sim, template_pod);
      json spec = pod["spec"];
      spec.erase("nodeName");
      tmpl = {{"metadata", {{"labels", StripPodLabels(pod["metadata"].value("labels", json::object()))}}},
              {"spec", spec}};
      if (pod["metadata"].contains("annotations")) tmpl["metadata"]["annotations"] = pod["metadata"]["annotations"];
    }
    if (tmpl.is_null()) tmpl = {{"metadata", {{"labels", c.meta.labels}}}, {"spec", {{"containers", json::array()}}}};
    json match = tmpl["metadata"]["labels"];
    if (c.kind == "Deployment") {
      obj["spec"] = {{"replicas", c.replicas},
                     {"selector", {{"matchLabels", match}}},
                     {"template", tmpl},
                     {"strategy", {{"type", "RollingUpdate"},
                                   {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}},
                     {"revisionHistoryLimit", 10},
                     {"progressDeadlineSeconds", 600}};
    } else if (c.kind == "ReplicaSet") {
      const std::string hash = c.meta.labels.count("pod-template-hash") ? c.meta.labels.at("pod-template-hash") : "";
      tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
      match["pod-template-hash"] = hash;
      // A ReplicaSet that came later came from a rollout (`kubectl rollout restart` stamps the template).
      if (c.meta.created_s > -30 * 86400.0) {
        tmpl["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = SimTimestamp(world, c.meta.created_s);
      }
      obj["spec"] = {{"replicas", 0}, {"selector", {{"matchLabels", match}}}, {"template", tmpl}};
    } else if (c.kind == "StatefulSet") {
      obj["spec"] = {{"replicas", c.replicas}, {"selector", {{"matchLabels", match}}}, {"template", tmpl},
                     {"serviceName", c.meta.name}, {"podManagementPolicy", "OrderedReady"},
                     {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}}}};
    } else if (c.kind == "DaemonSet") {
      obj["spec"] = {{"selector", {{"matchLabels", match}}}, {"template", tmpl},
                     {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 1}}}}}};
      obj["spec"]["template"]["spec"]["nodeSelector"] = {{"nvidia.com/gpu.present", "true"}};
    } else if (c.kind == "Job") {
      tmpl["spec"]["restartPolicy"] = "OnFailure";
      obj["spec"] = {{"completions", std::max(1, c.replicas)}, {"parallelism", std::max(1, c.replicas)},
                     {"backoffLimit", 6}, {"completionMode", "NonIndexed"}, {"suspend", false},
                     {"template", tmpl}};
    } else if (c.kind == "CronJob") {
      tmpl["spec"]["restartPolicy"] = "OnFailure";
      obj["spec"] = {{"schedule", c.schedule.empty() ? "0 2 * * *" : c.schedule},
                     {"concurrencyPolicy", "Forbid"},
                     {"suspend", false},
                     {"successfulJobsHistoryLimit", 3},
                     {"failedJobsHistoryLimit", 1},
                     {"jobTemplate",
                      {{"spec", {{"completions", std::max(1, c.replicas)}, {"parallelism", std::max(1, c.replicas)},
                                 {"backoffLimit", 6}, {"template", tmpl}}}}}};
    } else if (c.kind == "InferenceService") {
      const WorkloadSpec& w = world.scenario.workloads[static_cast<std::size_t>(c.workload)];
      obj["spec"] = {{"predictor",
                      {{"minReplicas", c.replicas},
                       {"model", {{"modelFormat", {{"name", "huggingface"}}}, {"storageUri", "hf://" + w.model.name}}}}}};
    } else if (c.kind == "LeaderWorkerSet") {
      obj["spec"] = {{"replicas", 1},
                     {"leaderWorkerTemplate", {{"size", std::max(1, c.replicas)}, {"workerTemplate", tmpl}}},
                     {"startupPolicy", "LeaderCreated"}};
    }
    return obj;
  }

  // A Job's status from its pods in the laid-out world: finished runs are Complete, running ones active.
  json SeedJobStatus(const Controller& c) const {
    const double now = sim.now();
    int active = 0, succeeded = 0;
    double start = kForever, done = -kForever;
    for (const SimPod& p : world.pods) {
      if (p.owner.uid != c.meta.uid) continue;
      start = std::min(start, p.start_s);
      if (p.succeeds && p.end_s <= now) {
        ++succeeded;
        done = std::max(done, p.end_s);
      } else if (p.start_s <= now) {
        ++active;
      }
    }
    json st = json::object();
    if (start < kForever) st["startTime"] = SimTimestamp(world, start);
    if (active > 0) st["active"] = active;
    if (succeeded > 0) st["succeeded"] = succeeded;
    if (active == 0 && succeeded > 0) {
      st["completionTime"] = SimTimestamp(world, done);
      st["conditions"] = json::array({{{"type", "Complete"}, {"status", "True"}, {"lastProbeTime", SimTimestamp(world, done)},
                                       {"lastTransitionTime", SimTimestamp(world, done)}, {"reason", "CompletionsReached"},
                                       {"message", "Reached expected number of succeeded pods"}}});
    }
    return st;
  }

  void SeedAll() {
    const double now = sim.now();
    // The laid-out future belongs to the controllers now: later pods never start, running ones run on.
    std::vector<int> pods_now;
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      SimPod& p = world.pods[i];
      if (p.start_s > now) {
        p.start_s = p.end_s = kForever;
        continue;
      }
      if (p.end_s <= now) continue;
      if (!p.succeeds) p.end_s = kForever;
      pods_now.push_back(static_cast<int>(i));
    }
    for (const SimPod& p : world.pods) {
      const std::string& ip = p.ip;
      if (ip.empty()) continue;
      const int second = std::atoi(ip.c_str() + 4) - world.options.address_block;
      const std::size_t dot2 = ip.find('.', 4), dot3 = ip.find('.', dot2 + 1);
      const int index = std::atoi(ip.c_str() + dot2 + 1) * 256 + std::atoi(ip.c_str() + dot3 + 1);
      if (second >= 0 && second < 3) next_ip[second] = std::max(next_ip[second], index + 1);
    }
    for (std::size_t i = 0; i < world.namespaces.size(); ++i) Put(Type("namespaces"), NamespaceObject(world, static_cast<int>(i)));
    for (const char* extra : {"kube-public", "kube-node-lease"}) {
      if (!store.Get(Type("namespaces"), "", extra).ok()) {
        Put(Type("namespaces"), {{"metadata", {{"name", extra}, {"labels", {{"kubernetes.io/metadata.name", extra}}}}},
                                 {"spec", {{"finalizers", json::array({"kubernetes"})}}},
                                 {"status", {{"phase", "Active"}}}});
      }
    }
    for (std::size_t n = 0; n < world.nodes.size(); ++n) {
      json node = NodeObject(sim, static_cast<int>(n));
      Put(Type("nodes"), node);
      Put(Type("leases.coordination.k8s.io"),
          {{"metadata", {{"name", Name(node)}, {"namespace", "kube-node-lease"},
                         {"ownerReferences", json::array({{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", Name(node)},
                                                           {"uid", UidOf(node)}}})}}},
           {"spec", {{"holderIdentity", Name(node)}, {"leaseDurationSeconds", 40}, {"renewTime", Now() }}}});
    }
    for (const char* holder : {"kube-controller-manager", "kube-scheduler"}) {
      Put(Type("leases.coordination.k8s.io"),
          {{"metadata", {{"name", holder}, {"namespace", "kube-system"}}},
           {"spec", {{"holderIdentity", std::string("control-plane-0_") + KubeSuffix(HashString(holder), 8)},
                     {"leaseDurationSeconds", 15}, {"leaseTransitions", 0}, {"acquireTime", Now()}, {"renewTime", Now()}}}});
    }
    // A template pod per controller (its last pod alive now) and per workload (its last pod in the world).
    std::unordered_map<std::string, int> pod_of_owner;
    std::unordered_map<int, int> pod_of_workload;
    for (int i : pods_now) pod_of_owner[world.pods[static_cast<std::size_t>(i)].owner.uid] = i;
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      // Started by now (the future ones were just dropped).
      if (world.pods[i].workload >= 0 && world.pods[i].start_s <= now) {
        pod_of_workload[world.pods[i].workload] = static_cast<int>(i);
      }
    }
    // Controllers alive now, top owners first (so that owner uids exist before their children).
    const std::vector<std::string> order = {"InferenceService", "LeaderWorkerSet", "Deployment", "StatefulSet",
                                            "DaemonSet", "CronJob", "ReplicaSet", "Job"};
    for (const std::string& kind : order) {
      for (const Controller& c : world.controllers) {
        if (c.kind != kind || c.meta.created_s > now || c.meta.deleted_s <= now) continue;
        if (c.workload >= 0) controller_workload[c.meta.uid] = c.workload;
        auto own = pod_of_owner.find(c.meta.uid);
        auto any = pod_of_workload.find(c.workload);
        json obj = ControllerObject(c, own != pod_of_owner.end() ? own->second
                                       : any != pod_of_workload.end() ? any->second : -1);
        const ResourceType* t = FindResourceByKind(c.api_version, c.kind);
        if (t == nullptr) continue;
        if (kind == "ReplicaSet") {
          // The newest ReplicaSet of a Deployment carries its replicas; older ones are scaled to 0.
          const Controller* newest = &c;
          for (const Controller& o : world.controllers) {
            if (o.kind == "ReplicaSet" && !o.owners.empty() && !c.owners.empty() && o.owners[0].uid == c.owners[0].uid &&
                o.meta.created_s <= now && o.meta.created_s > newest->meta.created_s) {
              newest = &o;
            }
          }
          obj["spec"]["replicas"] = newest == &c ? c.replicas : 0;
          // Revisions count the Deployment's ReplicaSets in creation order.
          int revision = 1;
          for (const Controller& o : world.controllers) {
            if (o.kind == "ReplicaSet" && !o.owners.empty() && !c.owners.empty() && o.owners[0].uid == c.owners[0].uid &&
                o.meta.created_s < c.meta.created_s) {
              ++revision;
            }
          }
          obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = std::to_string(revision);
          // The Deployment's template is its newest ReplicaSet's, so that the hashes agree.
          if (newest == &c && !c.owners.empty()) {
            const std::string hash = obj["spec"]["template"]["metadata"]["labels"].value("pod-template-hash", "");
            json dtmpl = obj["spec"]["template"];
            dtmpl["metadata"]["labels"].erase("pod-template-hash");
            (void)store.Mutate(Type("deployments.apps"), c.meta.namespace_name, c.owners[0].name, [&](json& d) {
              d["spec"]["template"] = dtmpl;
              d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = std::to_string(revision);
              return base::Status::Ok();
            });
          }
        }
        if (kind == "Job") obj["status"] = SeedJobStatus(c);
        if (kind == "CronJob") {
          // The last run the laid-out world started.
          double last = -kForever;
          for (const Controller& j : world.controllers) {
            if (j.kind == "Job" && !j.owners.empty() && j.owners[0].uid == c.meta.uid && j.meta.created_s <= now) {
              last = std::max(last, j.meta.created_s);
            }
          }
          if (last > -kForever) obj["status"] = {{"lastScheduleTime", SimTimestamp(world, last)}};
        }
        Put(*t, std::move(obj));
      }
    }
    for (int i : pods_now) {
      json pod = PodObject(sim, i);
      world_pod[UidOf(pod)] = i;
      Put(Type("pods"), std::move(pod));
    }
    SeedServices();
    SeedConfigMaps();
  }

  void SeedServices() {
    auto service = [&](const std::string& ns, const std::string& name, const json& selector, int port,
                       const std::string& port_name, const json& labels) {
      const std::uint64_t h = HashString(ns + "/" + name);
      json svc = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
                  {"spec", {{"type", "ClusterIP"},
                            {"clusterIP", "10.96." + std::to_string(h % 250 + 1) + "." + std::to_string((h >> 8) % 250 + 1)},
                            {"selector", selector},
                            {"ports", json::array({{{"name", port_name}, {"port", port}, {"protocol", "TCP"},
                                                    {"targetPort", port}}})}}}};
      svc["spec"]["clusterIPs"] = json::array({svc["spec"]["clusterIP"]});
      Put(Type("services"), svc);
    };
    service("gpu-operator", "nvidia-dcgm-exporter", {{"app", "nvidia-dcgm-exporter"}}, 9400, "gpu-metrics",
            {{"app", "nvidia-dcgm-exporter"}});
    service("kube-system", "kube-state-metrics", {{"app.kubernetes.io/name", "kube-state-metrics"}}, 8080, "http-metrics",
            {{"app.kubernetes.io/name", "kube-state-metrics"}});
    for (const WorkloadSpec& w : world.scenario.workloads) {
      const bool serving = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
      if (!serving) continue;
      service(w.namespace_name, w.name, {{"app.kubernetes.io/name", w.name}},
              w.engine == EngineKind::kVllm ? 8000 : 8000, "http", {{"app.kubernetes.io/name", w.name}});
    }
    // Budgets where a platform team would set them: serving Deployments with two or more replicas.
    for (const WorkloadSpec& w : world.scenario.workloads) {
      const bool serving = w.kind == WorkloadKind::kInference;
      if (!serving || w.replicas < 2) continue;
      Put(Type("poddisruptionbudgets.policy"),
          {{"metadata", {{"name", w.name}, {"namespace", w.namespace_name}}},
           {"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", {{"app.kubernetes.io/name", w.name}}}}}}}});
    }
  }

  void SeedConfigMaps() {
    // The MIG manager's configs (the GPU Operator's default-mig-parted-config layout): all-disabled, all-enabled
    // with each profile filled, and one custom config per MIG pool of the scenario.
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << "v1" << YAML::Key << "mig-configs"
        << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "all-disabled" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "devices"
        << YAML::Value << "all" << YAML::Key << "mig-enabled" << YAML::Value << false << YAML::EndMap << YAML::EndSeq;
    std::set<std::string> models;
    for (const NodePool& p : world.scenario.node_pools) models.insert(p.gpu_model);
    std::map<std::string, std::map<std::string, int>> all_profiles;  // "all-1g.10gb" -> {profile: count}
    for (const std::string& model : models) {
      const MigGpuTable* table = FindMigTable(model);
      if (table == nullptr) continue;
      for (const MigProfileInfo& p : table->profiles) {
        // As many instances as fit by memory slices and compute slices.
        const int n = std::min(8 / std::max(1, p.memory_slices), 7 / std::max(1, p.compute_slices));
        if (n > 0 && std::string_view(p.name).find('+') == std::string_view::npos) {
          all_profiles["all-" + std::string(p.name)][std::string(p.name)] = n;
        }
      }
    }
    for (const auto& [name, profiles] : all_profiles) {
      out << YAML::Key << name << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "devices"
          << YAML::Value << "all" << YAML::Key << "mig-enabled" << YAML::Value << true << YAML::Key << "mig-devices"
          << YAML::Value << YAML::BeginMap;
      for (const auto& [p, n] : profiles) out << YAML::Key << p << YAML::Value << n;
      out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
    }
    for (const NodePool& p : world.scenario.node_pools) {
      if (p.sharing.mode != SharingMode::kMig) continue;
      std::map<std::string, int> counts;
      for (const std::string& prof : p.sharing.mig_layout) ++counts[prof];
      out << YAML::Key << "custom-" + p.name << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
          << "devices" << YAML::Value;
      if (p.sharing.mig_gpus < 0) {
        out << "all";
      } else {
        out << YAML::Flow << YAML::BeginSeq;
        for (int g = 0; g < p.sharing.mig_gpus; ++g) out << g;
        out << YAML::EndSeq;
      }
      out << YAML::Key << "mig-enabled" << YAML::Value << true << YAML::Key << "mig-devices" << YAML::Value
          << YAML::BeginMap;
      for (const auto& [prof, n] : counts) out << YAML::Key << prof << YAML::Value << n;
      out << YAML::EndMap << YAML::EndMap;
      if (p.sharing.mig_gpus >= 0 && p.sharing.mig_gpus < p.gpus_per_node) {
        out << YAML::BeginMap << YAML::Key << "devices" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (int g = p.sharing.mig_gpus; g < p.gpus_per_node; ++g) out << g;
        out << YAML::EndSeq << YAML::Key << "mig-enabled" << YAML::Value << false << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    out << YAML::EndMap << YAML::EndMap;
    Put(Type("configmaps"), {{"metadata", {{"name", "default-mig-parted-config"}, {"namespace", "gpu-operator"}}},
                             {"data", {{"config.yaml", std::string(out.c_str()) + "\n"}}}});
    // The device plugin's sharing configs (ClusterPolicy devicePlugin.config.name = time-slicing-config).
    auto sharing_config = [](const char* mode, int replicas, bool rename) {
      return std::string("version: v1\nsharing:\n  ") + mode + ":\n    renameByDefault: " + (rename ? "true" : "false") +
             "\n    resources:\n    - name: nvidia.com/gpu\n      replicas: " + std::to_string(replicas) + "\n";
    };
    json data = {{"default", "version: v1\n"}};
    for (int r : {2, 4, 8}) {
      data["time-slicing-" + std::to_string(r)] = sharing_config("timeSlicing", r, false);
      data["mps-" + std::to_string(r)] = sharing_config("mps", r, false);
    }
    for (const NodePool& p : world.scenario.node_pools) {
      if (p.sharing.mode == SharingMode::kTimeSlicing || p.sharing.mode == SharingMode::kMps) {
        data[p.name] = sharing_config(p.sharing.mode == SharingMode::kMps ? "mps" : "timeSlicing", p.sharing.replicas,
                                      p.sharing.rename);
      }
    }
    Put(Type("configmaps"), {{"metadata", {{"name", "time-slicing-config"}, {"namespace", "gpu-operator"}}},
                             {"data", data}});
  }

  // ---- kubelet ----
  void Kubelet() {
    const double now = sim.now();
    KubeStore::ListResult pods = store.List(Type("pods"), "");
    // Pods removed without a graceful deletion (grace period 0, force): their processes end now.
    std::unordered_map<std::string, bool> in_store;
    for (const ObjectPtr& p : pods.items) in_store[UidOf(*p)] = true;
    for (auto it = world_pod.begin(); it != world_pod.end();) {
      if (in_store.count(it->first) != 0) {
        ++it;
        continue;
      }
      SimPod& gone = world.pods[static_cast<std::size_t>(it->second)];
      gone.end_s = std::min(gone.end_s, now);
      status_hash.erase(it->first);
      terminating_since.erase(it->first);
      it = world_pod.erase(it);
    }
    for (const ObjectPtr& p : pods.items) {
      const std::string uid = UidOf(*p);
      auto it = world_pod.find(uid);
      if (Terminating(*p)) {
        auto [t, fresh] = terminating_since.emplace(uid, now);
        if (fresh) {
          if (it != world_pod.end()) world.pods[static_cast<std::size_t>(it->second)].end_s = now;
          Event(*p, "Normal", "Killing", "Stopping container " + Str(Field(Field(*p, "spec", "containers")[0], "name")), "kubelet");
        }
        if (now - t->second >= options.termination_s) {
          (void)store.Delete(Type("pods"), Namespace(*p), Name(*p));
          Touched(Type("pods"));
          terminating_since.erase(t);
          status_hash.erase(uid);
          if (it != world_pod.end()) world_pod.erase(it);
        }
        continue;
      }
      if (it == world_pod.end()) continue;
      const int index = it->second;
      // What the status is made of (PodObject): rebuilt only when one of these changed.
      const PodRuntime& rt = sim.pod(index);
      const ContainerState& c = rt.container;
      std::uint64_t h = Hash3(static_cast<std::uint64_t>(rt.phase), (c.running ? 1u : 0u) | (c.ready ? 2u : 0u),
                              HashString(c.waiting_reason));
      h = Hash3(h, static_cast<std::uint64_t>(c.restarts) * 1000003u + static_cast<std::uint64_t>(c.last_exit_code + 1000),
                HashString(c.last_reason));
      auto ms = [](double t) { return static_cast<std::uint64_t>(std::isfinite(t) ? std::llround(t * 1000) : -1); };
      h = Hash3(h, ms(c.started_s), ms(c.last_finished_s));
      auto [sh, inserted] = status_hash.emplace(uid, 0);
      if (!inserted && sh->second == h) continue;
      sh->second = h;
      const json status = PodObject(sim, index)["status"];
      (void)store.Mutate(Type("pods"), Namespace(*p), Name(*p), [&](json& o) {
        o["status"] = status;
        return base::Status::Ok();
      });
    }
  }

  // ---- scheduler + device plugin ----
  static bool Tolerates(const json& pod, const json& taint) {
    const std::string effect = taint.value("effect", "");
    if (effect == "PreferNoSchedule") return true;
    for (const json& t : Field(pod, "spec", "tolerations")) {
      const std::string op = t.value("operator", "Equal");
      const std::string key = t.value("key", "");
      if (!t.value("effect", "").empty() && t.value("effect", "") != effect) continue;
      if (op == "Exists" && (key.empty() || key == taint.value("key", ""))) return true;
      if (op == "Equal" && key == taint.value("key", "") && t.value("value", "") == taint.value("value", "")) return true;
    }
    return false;
  }

  static bool NodeAffinityOk(const json& pod, const json& node_labels) {
    for (const auto& [k, v] : Field(pod, "spec", "nodeSelector").items()) {
      if (Str(Field(node_labels, k)) != Str(v) || !node_labels.contains(k)) return false;
    }
    const json& terms = Field(Field(Field(pod, "spec", "affinity"), "nodeAffinity"),
                              "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms");
    if (!terms.is_array() || terms.empty()) return true;
    for (const json& term : terms) {  // terms are ORed, expressions ANDed
      bool all = true;
      for (const json& e : Field(term, "matchExpressions")) {
        const std::string key = e.value("key", ""), op = e.value("operator", "");
        const bool has = node_labels.contains(key);
        const std::string val = has ? Str(node_labels[key]) : "";
        std::set<std::string> values;
        for (const json& v : Field(e, "values")) values.insert(Str(v));
        bool ok = true;
        if (op == "In") ok = has && values.count(val) != 0;
        else if (op == "NotIn") ok = !has || values.count(val) == 0;
        else if (op == "Exists") ok = has;
        else if (op == "DoesNotExist") ok = !has;
        else if (op == "Gt" || op == "Lt") {
          ok = has && !values.empty() &&
               (op == "Gt" ? std::atoll(val.c_str()) > std::atoll(values.begin()->c_str())
                           : std::atoll(val.c_str()) < std::atoll(values.begin()->c_str()));
        }
        all = all && ok;
      }
      if (all) return true;
    }
    return false;
  }

  // A label selector (matchLabels and matchExpressions, ANDed) against a pod's labels.
  static bool SelectorMatches(const json& selector, const json& labels) {
    if (!selector.is_object()) return false;  // a null selector selects nothing
    for (const auto& [k, v] : Field(selector, "matchLabels").items()) {
      if (!labels.contains(k) || Str(labels[k]) != Str(v)) return false;
    }
    for (const json& e : Field(selector, "matchExpressions")) {
      const std::string key = e.value("key", ""), op = e.value("operator", "");
      const bool has = labels.contains(key);
      std::set<std::string> values;
      for (const json& v : Field(e, "values")) values.insert(Str(v));
      const bool in = has && values.count(Str(labels[key])) != 0;
      if ((op == "In" && !in) || (op == "NotIn" && in) || (op == "Exists" && !has) || (op == "DoesNotExist" && has)) return false;
    }
    return true;
  }

  // Required pod anti-affinity by hostname, both ways, as kube-scheduler's InterPodAffinity filter: no term of `pod`
  // selects a pod already on the node, and no term of a pod on the node selects `pod`. Terms with another topology
  // key are not modelled (the simulated nodes carry no zone spread).
  static bool AntiAffinityOk(const json& pod, const std::vector<const json*>& on_node) {
    auto terms = [](const json& p) -> const json& {
      return Field(Field(Field(p, "spec", "affinity"), "podAntiAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
    };
    auto blocks = [&](const json& holder, const json& other) {
      for (const json& t : terms(holder)) {
        if (t.value("topologyKey", "") != "kubernetes.io/hostname") continue;
        if (Namespace(holder) == Namespace(other) && SelectorMatches(Field(t, "labelSelector"), Field(other, "metadata", "labels"))) return true;
      }
      return false;
    };
    for (const json* other : on_node) {
      if (blocks(pod, *other) || blocks(*other, pod)) return false;
    }
    return true;
  }

  // GPU state of node n from the World's pods alive now.
  struct GpuUse {
    bool whole = false;
    int sharers = 0;
    std::vector<bool> mig_used;
    double fraction_mem = 0;   // HAMi / KAI: memory (MiB) and cores (percent) the fractions on it hold
    int fraction_cores = 0;
  };

  std::vector<GpuUse> GpuUseOf(int n) const {
    const SimNode& node = world.nodes[static_cast<std::size_t>(n)];
    std::vector<GpuUse> use(node.gpus.size());
    for (std::size_t g = 0; g < node.gpus.size(); ++g) use[g].mig_used.assign(node.gpus[g].mig.size(), false);
    for (const SimPod& p : world.pods) {
      if (!p.alive(sim.now()) && !(p.start_s > sim.now() && p.start_s < kForever)) continue;
      for (const GpuBinding& b : p.gpus) {
        if (b.node != n) continue;
        GpuUse& u = use[static_cast<std::size_t>(b.gpu)];
        if (b.mig >= 0 && static_cast<std::size_t>(b.mig) < u.mig_used.size()) u.mig_used[static_cast<std::size_t>(b.mig)] = true;
        else if (b.replica >= 0) ++u.sharers;
        else if (FractionalBackend(node)) {
          u.fraction_mem += b.memory_limit_mib;
          u.fraction_cores += static_cast<int>(std::lround(b.compute_share * 100));
        } else {
          u.whole = true;
        }
      }
    }
    return use;
  }

  static bool FractionalBackend(const SimNode& node) {
    return node.sharing.mode == SharingMode::kHami || node.sharing.mode == SharingMode::kKai;
  }

  // What a pod asks of each GPU of a node that runs a fractional backend: memory (MiB) and cores (percent of the
  // SMs) on each of `devices` GPUs. nullopt when the backend does not place the pod's GPUs. HAMi places every
  // nvidia.com/gpu request on its nodes: nvidia.com/gpumem (else all the memory) and nvidia.com/gpucores (else 100).
  // KAI places pods of kai-scheduler with a gpu-fraction annotation: that share of the memory and of the time.
  struct FractionAsk {
    double mem_mib = 0;
    int cores = 100;
    int devices = 1;
  };
  static std::optional<FractionAsk> FractionFor(const json& pod, const std::map<std::string, double>& req, const SimNode& node) {
    const double gpu_mib = node.gpus.empty() ? 0 : node.gpus[0].memory_mib;
    auto count = [&](const char* r) {
      auto it = req.find(r);
      return it == req.end() ? 0 : static_cast<int>(std::ceil(it->second / 1000 - 1e-9));
    };
    if (node.sharing.mode == SharingMode::kHami &&
        (req.count("nvidia.com/gpumem") || req.count("nvidia.com/gpucores") || count("nvidia.com/gpu") > 0)) {
      return FractionAsk{req.count("nvidia.com/gpumem") ? count("nvidia.com/gpumem") : gpu_mib,
                         req.count("nvidia.com/gpucores") ? count("nvidia.com/gpucores") : 100,
                         std::max(1, count("nvidia.com/gpu"))};
    }
    if (node.sharing.mode == SharingMode::kKai) {
      if (const std::optional<double> f = KaiFraction(pod)) {
        return FractionAsk{*f * gpu_mib, static_cast<int>(std::lround(*f * 100)), 1};
      }
    }
    return std::nullopt;
  }
  // A pod of KAI's GPU sharing: scheduled by kai-scheduler, its gpu-fraction annotation in (0, 1].
  static std::optional<double> KaiFraction(const json& pod) {
    if (Str(Field(pod, "spec", "schedulerName")) != "kai-scheduler") return std::nullopt;
    const std::string text = Str(Field(Field(pod, "metadata", "annotations"), "gpu-fraction"));
    char* end = nullptr;
    const double f = std::strtod(text.c_str(), &end);
    if (text.empty() || end == text.c_str() || *end != '\0' || !(f > 0 && f <= 1)) return std::nullopt;
    return f;
  }

  // The device plugin's choice for the pod's GPU requests on node n; nullopt when the devices are not there. On a
  // node of a fractional backend, `fraction` is what the pod asks of each GPU (FractionFor): it takes GPU `prefer`
  // when it fits there (the scheduler's choice), else the first GPUs that fit.
  std::optional<std::vector<GpuBinding>> Allocate(int n, const std::map<std::string, double>& req,
                                                  const std::optional<FractionAsk>& fraction = std::nullopt,
                                                  int prefer = -1) const {
    const SimNode& node = world.nodes[static_cast<std::size_t>(n)];
    const Sharing& sh = node.sharing;
    std::vector<GpuUse> use = GpuUseOf(n);
    std::vector<GpuBinding> out;
    auto count = [&](const std::string& r) {
      auto it = req.find(r);
      return it == req.end() ? 0 : static_cast<int>(std::ceil(it->second / 1000 - 1e-9));
    };
    if (fraction) {
      const FractionAsk& f = *fraction;
      auto fits = [&](std::size_t g) {
        return use[g].fraction_mem + f.mem_mib <= node.gpus[g].memory_mib + 1e-6 && use[g].fraction_cores + f.cores <= 100 &&
               !use[g].whole;
      };
      if (f.devices == 1 && prefer >= 0 && static_cast<std::size_t>(prefer) < use.size() && fits(static_cast<std::size_t>(prefer))) {
        out.push_back({n, prefer, -1, -1, f.mem_mib, f.cores / 100.0});
      }
      for (std::size_t g = 0; g < use.size() && static_cast<int>(out.size()) < f.devices; ++g) {
        if (!fits(g)) continue;
        out.push_back({n, static_cast<int>(g), -1, -1, f.mem_mib, f.cores / 100.0});
      }
      if (static_cast<int>(out.size()) < f.devices) return std::nullopt;
      return out;
    }
    for (const auto& [r, milli] : req) {
      if (r.rfind("nvidia.com/mig-", 0) != 0) continue;
      const std::string profile = r.substr(15);
      int want = count(r);
      for (std::size_t g = 0; g < node.gpus.size() && want > 0; ++g) {
        for (std::size_t i = 0; i < node.gpus[g].mig.size() && want > 0; ++i) {
          if (node.gpus[g].mig[i].profile != profile || use[g].mig_used[i]) continue;
          use[g].mig_used[i] = true;
          out.push_back({n, static_cast<int>(g), static_cast<int>(i), -1, node.gpus[g].mig[i].memory_mib, 1.0});
          --want;
        }
      }
      if (want > 0) return std::nullopt;
    }
    const int shares = count(sh.rename ? "nvidia.com/gpu.shared" : "nvidia.com/gpu");
    if ((sh.mode == SharingMode::kTimeSlicing || sh.mode == SharingMode::kMps) && shares > 0) {
      // Spread: the GPU with the fewest shares handed out first (the NVIDIA plugin's preferred allocation).
      for (int k = 0; k < shares; ++k) {
        std::vector<int> handed_out;
        for (const GpuUse& u : use) handed_out.push_back(u.sharers);
        const int best = LeastSharedGpu(handed_out, sh.replicas);
        if (best < 0) return std::nullopt;
        GpuUse& u = use[static_cast<std::size_t>(best)];
        out.push_back(ShareBinding(n, best, u.sharers, node.gpus[static_cast<std::size_t>(best)], sh));
        ++u.sharers;
      }
      return out;
    }
    int whole = count("nvidia.com/gpu");
    if (sh.mode == SharingMode::kMig && sh.mig_strategy == MigStrategy::kSingle && whole > 0) {
      // Single strategy: nvidia.com/gpu is a MIG instance of the node's one layout.
      for (std::size_t g = 0; g < node.gpus.size() && whole > 0; ++g) {
        for (std::size_t i = 0; i < node.gpus[g].mig.size() && whole > 0; ++i) {
          if (use[g].mig_used[i]) continue;
          use[g].mig_used[i] = true;
          out.push_back({n, static_cast<int>(g), static_cast<int>(i), -1, node.gpus[g].mig[i].memory_mib, 1.0});
          --whole;
        }
      }
    }
    for (std::size_t g = 0; g < node.gpus.size() && whole > 0; ++g) {
      if (use[g].whole || use[g].sharers > 0 || use[g].fraction_cores > 0 || use[g].fraction_mem > 0 || !node.gpus[g].mig.empty()) continue;
      use[g].whole = true;
      out.push_back({n, static_cast<int>(g), -1, -1, node.gpus[g].memory_mib, 1.0});
      --whole;
    }
    if (whole > 0) return std::nullopt;
    return out;
  }

  // A one-GPU fraction as a share of the GPU in milli (the openb model): the larger of its cores x 10 and its
  // memory's share of the GPU's.
  static int FractionMilli(const FractionAsk& f, double gpu_mib) {
    const double by_mem = gpu_mib > 0 ? std::ceil(f.mem_mib / gpu_mib * 1000 - 1e-9) : 0;
    return static_cast<int>(std::clamp(std::max(f.cores * 10.0, by_mem), 1.0, 1000.0));
  }

  // A node of a fractional backend that can take the pod being scheduled, with what it has left.
  struct FractionCandidate {
    int node = -1;                 // world node index
    double cpu_left = 0;           // milli
    double memory_left_mib = 0;
  };
  // The target workload: every one-GPU fraction among `all_pods` that a node like `like` would place, sized
  // against its GPU.
  static std::vector<optimize::fractional::TypicalPod> FractionWorkload(const std::vector<ObjectPtr>& all_pods, const SimNode& like) {
    const double gpu_mib = like.gpus.empty() ? 0 : like.gpus[0].memory_mib;
    std::vector<optimize::fractional::PodRequest> seen;
    for (const ObjectPtr& p : all_pods) {
      const std::map<std::string, double> r = PodRequests(*p);
      const std::optional<FractionAsk> f = FractionFor(*p, r, like);
      if (!f || f->devices != 1 || (f->cores >= 100 && f->mem_mib >= gpu_mib)) continue;
      optimize::fractional::PodRequest q;
      q.cpu_milli = r.count("cpu") ? static_cast<std::int64_t>(r.at("cpu")) : 0;
      q.num_gpu = 1;
      q.gpu_milli = FractionMilli(*f, gpu_mib);
      seen.push_back(q);
    }
    return optimize::fractional::TypicalPods(seen);
  }

  // gpuwise's fragmentation-aware placement (optimize/fractional/online_placement.h) among the nodes of a
  // fractional backend that can take a one-GPU fraction `ask`, each GPU's room being the smaller of its cores and
  // memory left, in milli, for the target `workload`. Returns the index into `candidates` and the GPU; {-1, -1} when
  // the policy finds none.
  std::pair<int, int> ChooseFraction(const std::vector<optimize::fractional::TypicalPod>& workload,
                                     const std::vector<FractionCandidate>& candidates, const std::map<std::string, double>& req,
                                     const FractionAsk& ask) const {
    namespace fr = optimize::fractional;
    std::vector<fr::PlacementNode> nodes;
    for (const FractionCandidate& c : candidates) {
      const SimNode& n = world.nodes[static_cast<std::size_t>(c.node)];
      nodes.push_back({n.meta.name, 0, 0, static_cast<int>(n.gpus.size()), n.gpus.empty() ? "" : n.gpus[0].model_name});
    }
    fr::ClusterState state(nodes);
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      const SimNode& n = world.nodes[static_cast<std::size_t>(candidates[c].node)];
      const std::vector<GpuUse> use = GpuUseOf(candidates[c].node);
      std::vector<int> left;
      for (std::size_t g = 0; g < n.gpus.size(); ++g) {
        const double mem_left = n.gpus[g].memory_mib > 0 ? (n.gpus[g].memory_mib - use[g].fraction_mem) / n.gpus[g].memory_mib : 0;
        left.push_back(use[g].whole ? 0 : static_cast<int>(std::floor(std::min((100 - use[g].fraction_cores) * 10.0, mem_left * 1000))));
      }
      state.SetLeft(static_cast<int>(c), static_cast<std::int64_t>(candidates[c].cpu_left),
                    static_cast<std::int64_t>(candidates[c].memory_left_mib), left);
    }
    const SimNode& first = world.nodes[static_cast<std::size_t>(candidates.front().node)];
    fr::PodRequest pod;
    pod.cpu_milli = req.count("cpu") ? static_cast<std::int64_t>(req.at("cpu")) : 0;
    pod.num_gpu = 1;
    pod.gpu_milli = FractionMilli(ask, first.gpus.empty() ? 0 : first.gpus[0].memory_mib);
    std::vector<int> rank(candidates.size());
    for (std::size_t i = 0; i < rank.size(); ++i) rank[i] = static_cast<int>(i);
    auto placer = fr::NewPlacer(fr::PolicyKind::kGpuwise, workload, rank, 1);
    const fr::Placement choice = placer->Choose(state, pod);
    if (choice.node < 0 || choice.gpus.empty()) return {-1, -1};
    return {choice.node, choice.gpus.front()};
  }

  void Scheduler() {
    KubeStore::ListResult pods = store.List(Type("pods"), "");
    KubeStore::ListResult nodes = store.List(Type("nodes"), "");
    // Requested resources per node, from bound pods still holding them.
    std::map<std::string, std::map<std::string, double>> used;
    std::map<std::string, std::vector<const json*>> on_node;  // bound pods still running, per node
    std::map<int, std::optional<std::vector<optimize::fractional::TypicalPod>>> fraction_workload;  // per backend
    std::vector<ObjectPtr> pending;
    for (const ObjectPtr& p : pods.items) {
      const std::string node = Str(Field(*p, "spec", "nodeName"));
      if (node.empty()) {
        if (!Terminating(*p)) pending.push_back(p);
        continue;
      }
      if (PodFinished(*p)) continue;
      for (const auto& [k, v] : PodRequests(*p)) used[node][k] += v;
      on_node[node].push_back(p.get());
    }
    std::sort(pending.begin(), pending.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
      const std::string ta = Str(Field(*a, "metadata", "creationTimestamp")), tb = Str(Field(*b, "metadata", "creationTimestamp"));
      return ta != tb ? ta < tb : KubeStore::Key(Namespace(*a), Name(*a)) < KubeStore::Key(Namespace(*b), Name(*b));
    });
    for (const ObjectPtr& p : pending) {
      const std::map<std::string, double> req = PodRequests(*p);
      std::map<std::string, int> reasons;
      std::string best;
      double best_score = -1;
      std::vector<GpuBinding> best_gpus;
      // One-GPU fractions (HAMi's gpumem/gpucores, KAI's gpu-fraction) on the nodes of their backend go where
      // gpuwise's placement policy says (ChooseFraction), not by LeastAllocated; the loop below collects the nodes
      // that can take them. A KAI pod is kai-scheduler's: only KAI nodes take it.
      const std::optional<double> kai = KaiFraction(*p);
      const bool fraction_pod = kai || ((req.count("nvidia.com/gpumem") || req.count("nvidia.com/gpucores")) &&
                                        (!req.count("nvidia.com/gpu") || req.at("nvidia.com/gpu") <= 1000));
      std::vector<FractionCandidate> fraction_nodes;
      for (const ObjectPtr& n : nodes.items) {
        const std::string name = Name(*n);
        if (Field(*n, "spec").value("unschedulable", false)) {
          ++reasons["node(s) were unschedulable"];
          continue;
        }
        bool tainted = false;
        for (const json& t : Field(*n, "spec", "taints")) {
          if ((t.value("effect", "") == "NoSchedule" || t.value("effect", "") == "NoExecute") && !Tolerates(*p, t)) {
            ++reasons["node(s) had untolerated taint {" + t.value("key", "") + ": " + t.value("value", "") + "}"];
            tainted = true;
            break;
          }
        }
        if (tainted) continue;
        if (!NodeAffinityOk(*p, Labels(*n))) {
          ++reasons["node(s) didn't match Pod's node affinity/selector"];
          continue;
        }
        if (!AntiAffinityOk(*p, on_node[name])) {
          ++reasons["node(s) didn't match pod anti-affinity rules"];
          continue;
        }
        const json& alloc = Field(*n, "status", "allocatable");
        bool fits = true;
        for (const auto& [r, v] : req) {
          if (v <= 0) continue;
          const double have = alloc.contains(r) ? Milli(alloc[r]) : 0;
          if (used[name][r] + v > have + 1e-6) {
            ++reasons[r == "pods" ? "Too many pods" : "Insufficient " + r];
            fits = false;
          }
        }
        if (!fits) continue;
        const int ni = world.NodeIndex(name);
        const SimNode* sim_node = ni >= 0 ? &world.nodes[static_cast<std::size_t>(ni)] : nullptr;
        if (kai && (sim_node == nullptr || sim_node->sharing.mode != SharingMode::kKai)) {
          ++reasons["node(s) do not run KAI's GPU sharing"];
          continue;
        }
        const std::optional<FractionAsk> fraction = sim_node != nullptr ? FractionFor(*p, req, *sim_node) : std::nullopt;
        std::vector<GpuBinding> gpus;
        bool wants_gpu = fraction.has_value();
        for (const auto& [r, v] : req) wants_gpu = wants_gpu || (r.rfind("nvidia.com/", 0) == 0 && v > 0);
        if (wants_gpu) {
          std::optional<std::vector<GpuBinding>> a = ni >= 0 ? Allocate(ni, req, fraction) : std::nullopt;
          if (!a) {
            ++reasons[kai ? std::string("node(s) had no GPU with the fraction free")
                          : "Insufficient " + std::string(req.count("nvidia.com/gpumem") ? "nvidia.com/gpumem" : "nvidia.com/gpu")];
            continue;
          }
          gpus = std::move(*a);
          if (fraction_pod && fraction && fraction->devices == 1) {
            const double have_cpu = alloc.contains("cpu") ? Milli(alloc["cpu"]) : 0;
            const double have_mem = alloc.contains("memory") ? Milli(alloc["memory"]) : 0;
            fraction_nodes.push_back({ni, have_cpu - used[name]["cpu"], (have_mem - used[name]["memory"]) / 1000 / 1048576});
          }
        }
        // LeastAllocated on cpu and memory (the default scoring), ties by name.
        auto free_frac = [&](const std::string& r) {
          const double have = alloc.contains(r) ? Milli(alloc[r]) : 0;
          return have > 0 ? (have - used[name][r] - (req.count(r) ? req.at(r) : 0)) / have : 0;
        };
        const double score = (free_frac("cpu") + free_frac("memory")) / 2;
        if (score > best_score + 1e-12) {
          best_score = score;
          best = name;
          best_gpus = std::move(gpus);
        }
      }
      if (!fraction_nodes.empty()) {
        // The target workload: once per pass, every fraction of the first candidate's backend, sized against its GPU.
        const SimNode& first = world.nodes[static_cast<std::size_t>(fraction_nodes.front().node)];
        std::optional<std::vector<optimize::fractional::TypicalPod>>& workload =
            fraction_workload[static_cast<int>(first.sharing.mode)];
        if (!workload) workload = FractionWorkload(pods.items, first);
        const std::optional<FractionAsk> ask = FractionFor(*p, req, first);
        const auto [c, gpu] = ChooseFraction(*workload, fraction_nodes, req, *ask);
        if (c >= 0) {
          const int ni = fraction_nodes[static_cast<std::size_t>(c)].node;
          const SimNode& node = world.nodes[static_cast<std::size_t>(ni)];
          std::optional<std::vector<GpuBinding>> a = Allocate(ni, req, FractionFor(*p, req, node), gpu);
          if (a) {
            best = node.meta.name;
            best_gpus = std::move(*a);
          }
        }
      }
      if (best.empty()) {
        std::string msg = "0/" + std::to_string(nodes.items.size()) + " nodes are available: ";
        bool first = true;
        for (const auto& [reason, n] : reasons) {
          msg += (first ? "" : ", ") + std::to_string(n) + " " + reason;
          first = false;
        }
        msg += ". preemption: 0/" + std::to_string(nodes.items.size()) +
               " nodes are available: " + std::to_string(nodes.items.size()) + " Preemption is not helpful for scheduling.";
        std::string& last = unschedulable_message[UidOf(*p)];
        if (last == msg) continue;
        last = msg;
        (void)store.Mutate(Type("pods"), Namespace(*p), Name(*p), [&](json& o) {
          o["status"]["phase"] = "Pending";
          o["status"]["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "False"},
                                                    {"lastProbeTime", nullptr}, {"lastTransitionTime", Now()},
                                                    {"reason", "Unschedulable"}, {"message", msg}}});
          return base::Status::Ok();
        });
        Event(*p, "Warning", "FailedScheduling", msg, "default-scheduler");
        continue;
      }
      if (Bind(*p, best, best_gpus)) {
        for (const auto& [k, v] : req) used[best][k] += v;
        on_node[best].push_back(p.get());
      }
    }
  }

  int WorkloadOf(const json& pod) const {
    // Walk controller owners through the store to one the World knows.
    std::string uid = ControllerUid(pod);
    std::string ns = Namespace(pod);
    for (int depth = 0; depth < 6 && !uid.empty(); ++depth) {
      auto it = controller_workload.find(uid);
      if (it != controller_workload.end()) return it->second;
      std::string next;
      for (const char* key : {"replicasets.apps", "deployments.apps", "statefulsets.apps", "jobs.batch", "cronjobs.batch",
                              "daemonsets.apps"}) {
        KubeStore::ListResult l = store.List(Type(key), ns);
        for (const ObjectPtr& o : l.items) {
          if (UidOf(*o) == uid) next = ControllerUid(*o).empty() ? "-" : ControllerUid(*o);
        }
        if (!next.empty()) break;
      }
      if (next.empty() || next == "-") break;
      uid = next;
    }
    const std::string app = Str(Field(Labels(pod), "app.kubernetes.io/name"));
    for (std::size_t w = 0; w < world.scenario.workloads.size(); ++w) {
      if (world.scenario.workloads[w].name == app && world.scenario.workloads[w].namespace_name == ns) return static_cast<int>(w);
    }
    return -1;
  }

  // Binds a pod: the binding is written first (it fails if the pod is gone, or bound meanwhile), then the pod
  // joins the world. Returns false when the binding did not happen.
  bool Bind(const json& pod, const std::string& node, const std::vector<GpuBinding>& gpus) {
    const std::string uid = UidOf(pod);
    base::Result<ObjectPtr> bound = store.Mutate(Type("pods"), Namespace(pod), Name(pod), [&](json& o) -> base::Status {
      if (UidOf(o) != uid || !Str(Field(o, "spec", "nodeName")).empty() || Terminating(o)) {
        return base::FailedPrecondition("pod changed");
      }
      o["spec"]["nodeName"] = node;
      o["status"]["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "True"},
                                                {"lastProbeTime", nullptr}, {"lastTransitionTime", Now()}}});
      return base::Status::Ok();
    });
    if (!bound.ok()) return false;
    SimPod sp;
    sp.meta.name = Name(pod);
    sp.meta.namespace_name = Namespace(pod);
    sp.meta.uid = UidOf(pod);
    for (const auto& [k, v] : Labels(pod).items()) sp.meta.labels[k] = Str(v);
    for (const auto& [k, v] : Field(pod, "metadata", "annotations").items()) sp.meta.annotations[k] = Str(v);
    sp.meta.created_s = sim.now();
    for (const json& o : Field(pod, "metadata", "ownerReferences")) {
      if (o.value("controller", false)) sp.owner = {o.value("apiVersion", ""), o.value("kind", ""), o.value("name", ""), o.value("uid", "")};
    }
    sp.workload = WorkloadOf(pod);
    const json& c = Field(pod, "spec", "containers").is_array() && !Field(pod, "spec", "containers").empty()
                        ? Field(pod, "spec", "containers")[0]
                        : json::object();
    sp.container = c.value("name", "");
    sp.image = c.value("image", "");
    for (const char* key : {"command", "args"}) {
      std::vector<std::string>& out = std::string_view(key) == "command" ? sp.command : sp.args;
      for (const json& v : Field(c, key)) out.push_back(Str(v));
    }
    if (Field(c, "ports").is_array() && !Field(c, "ports").empty()) sp.port = static_cast<int>(Int(Field(c, "ports")[0]["containerPort"]));
    for (const auto& [k, v] : Field(c, "resources", "requests").items()) sp.requests[k] = v.is_string() ? Str(v) : v.dump();
    for (const auto& [k, v] : Field(c, "resources", "limits").items()) sp.limits[k] = v.is_string() ? Str(v) : v.dump();
    sp.gpus = gpus;
    sp.node = node;
    if (const std::string scheduler = Str(Field(Field(pod, "spec"), "schedulerName")); !scheduler.empty()) sp.scheduler = scheduler;
    if (Str(Field(Labels(pod), "app")) == "nvidia-dcgm-exporter") sp.role = PodRole::kDcgmExporter;
    if (sp.container == "kube-state-metrics") sp.role = PodRole::kKubeStateMetrics;
    bool serving = false;
    if (sp.workload >= 0) {
      const WorkloadSpec& w = world.scenario.workloads[static_cast<std::size_t>(sp.workload)];
      serving = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
      if (sp.port == 0 && serving && w.engine == EngineKind::kVllm) sp.port = 8000;
    }
    const int block = sp.role == PodRole::kDcgmExporter ? 0 : serving ? 1 : 2;
    sp.ip = LoopbackAddress(world.options.address_block + block, next_ip[block]++);
    sp.start_s = sim.now();
    if (sp.workload >= 0 && Str(Field(pod, "spec", "restartPolicy")) != "Always") {
      // Batch work finishes: its run time (as the world lays runs out) after the image pull.
      const WorkloadSpec& w = world.scenario.workloads[static_cast<std::size_t>(sp.workload)];
      if (w.kind == WorkloadKind::kBatch || w.kind == WorkloadKind::kCronBatch) {
        const double run_h = w.usage.run_hours > 0 ? w.usage.run_hours : (w.kind == WorkloadKind::kBatch ? 24 : 1.5);
        sp.succeeds = true;
        sp.end_s = sim.now() + std::max(0.0, world.scenario.delays.image_pull_s) + run_h * 3600;
      }
    }
    if (sp.role == PodRole::kDcgmExporter) {
      const int ni = world.NodeIndex(node);
      if (ni >= 0) world.nodes[static_cast<std::size_t>(ni)].exporter_pod = sp.meta.name;
    }
    world.pods.push_back(std::move(sp));
    world_pod[uid] = static_cast<int>(world.pods.size() - 1);
    sim.SyncWithWorld();
    unschedulable_message.erase(uid);
    Event(pod, "Normal", "Scheduled", "Successfully assigned " + Namespace(pod) + "/" + Name(pod) + " to " + node,
          "default-scheduler");
    return true;
  }

  // ---- workload controllers ----
  // Objects of a type by their controller's uid, rebuilt when the control plane changed that type (and at the
  // start of every pass, for what clients changed): one scan per change, not one per owner.
  struct OwnerIndex {
    bool dirty = true;
    std::unordered_map<std::string, std::vector<ObjectPtr>> by_owner;
  };
  std::map<std::string, OwnerIndex> owner_index;

  void Touched(const ResourceType& t) { owner_index[t.key()].dirty = true; }

  std::vector<ObjectPtr> Owned(const ResourceType& t, const json& owner) {
    OwnerIndex& ix = owner_index[t.key()];
    if (ix.dirty) {
      ix.by_owner.clear();
      for (const ObjectPtr& o : store.List(t, "").items) {
        const std::string uid = ControllerUid(*o);
        if (!uid.empty()) ix.by_owner[uid].push_back(o);
      }
      ix.dirty = false;
    }
    auto it = ix.by_owner.find(UidOf(owner));
    return it == ix.by_owner.end() ? std::vector<ObjectPtr>{} : it->second;
  }

  std::vector<ObjectPtr> OwnedPods(const json& owner) { return Owned(Type("pods"), owner); }

  // The owner's pods that are not finished nor terminating, and how many of them are ready.
  std::pair<int, int> ActiveAndReady(const json& owner) {
    int total = 0, ready = 0;
    for (const ObjectPtr& p : OwnedPods(owner)) {
      if (!PodActive(*p)) continue;
      ++total;
      ready += PodReady(*p) ? 1 : 0;
    }
    return {total, ready};
  }

  void CreatePod(const json& owner, const json& tmpl, const std::string& name, const json& extra_labels,
                 const std::string& node = "") {
    json pod = {{"metadata", tmpl.value("metadata", json::object())}, {"spec", tmpl.value("spec", json::object())}};
    pod["metadata"]["namespace"] = Namespace(owner);
    if (name.empty()) pod["metadata"]["generateName"] = Name(owner) + "-";
    else pod["metadata"]["name"] = name;
    for (const auto& [k, v] : extra_labels.items()) pod["metadata"]["labels"][k] = v;
    pod["metadata"]["ownerReferences"] = json::array({OwnerRefTo(owner)});
    if (!pod["spec"].contains("restartPolicy")) pod["spec"]["restartPolicy"] = "Always";
    if (!pod["spec"].contains("terminationGracePeriodSeconds")) pod["spec"]["terminationGracePeriodSeconds"] = 30;
    if (!pod["spec"].contains("schedulerName")) pod["spec"]["schedulerName"] = "default-scheduler";
    pod["status"] = {{"phase", "Pending"}, {"qosClass", "Burstable"}};
    base::Result<ObjectPtr> created = store.Create(Type("pods"), std::move(pod));
    if (!created.ok()) return;
    Touched(Type("pods"));
    Event(owner, "Normal", "SuccessfulCreate", "Created pod: " + Name(**created), Str(owner.value("kind", "")) == "Job" ? "job-controller" : "replicaset-controller");
    if (!node.empty()) {
      const int ni = world.NodeIndex(node);
      std::optional<std::vector<GpuBinding>> gpus;
      if (ni >= 0) {
        const std::map<std::string, double> r = PodRequests(**created);
        gpus = Allocate(ni, r, FractionFor(**created, r, world.nodes[static_cast<std::size_t>(ni)]));
      }
      Bind(**created, node, gpus.value_or(std::vector<GpuBinding>{}));
    }
  }

  void DeletePod(const json& pod) {
    Touched(Type("pods"));
    (void)store.Mutate(Type("pods"), Namespace(pod), Name(pod), [&](json& o) {
      if (!o["metadata"].contains("deletionTimestamp")) {
        o["metadata"]["deletionTimestamp"] = SimTimestamp(world, sim.now() + 30);
        o["metadata"]["deletionGracePeriodSeconds"] = 30;
      }
      return base::Status::Ok();
    });
  }

  void ReplicaSets() {
    for (const ObjectPtr& rs : store.List(Type("replicasets.apps"), "").items) {
      const int want = static_cast<int>(Int(Field(*rs, "spec", "replicas"), 1));
      std::vector<ObjectPtr> pods = OwnedPods(*rs);
      std::vector<ObjectPtr> active;
      for (const ObjectPtr& p : pods) {
        if (PodActive(*p)) active.push_back(p);
      }
      if (static_cast<int>(active.size()) < want) {
        // At most kBurst creations per pass, as the controller's slow start caps a burst.
        const int create = std::min(want - static_cast<int>(active.size()), kBurst);
        for (int k = 0; k < create; ++k) CreatePod(*rs, Field(*rs, "spec", "template"), "", json::object());
      } else if (static_cast<int>(active.size()) > want) {
        // Scale down: unscheduled, then not ready, then the newest first (the controller's ranking, simplified).
        std::sort(active.begin(), active.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
          const bool sa = !Str(Field(*a, "spec", "nodeName")).empty(), sb = !Str(Field(*b, "spec", "nodeName")).empty();
          if (sa != sb) return !sa;
          if (PodReady(*a) != PodReady(*b)) return !PodReady(*a);
          return Str(Field(*a, "metadata", "creationTimestamp")) > Str(Field(*b, "metadata", "creationTimestamp"));
        });
        for (int k = 0; k < static_cast<int>(active.size()) - want; ++k) DeletePod(*active[static_cast<std::size_t>(k)]);
      }
      const auto [total, ready] = ActiveAndReady(*rs);
      const long long gen = Int(Field(*rs, "metadata", "generation"), 1);
      json st = {{"replicas", total}, {"fullyLabeledReplicas", total}, {"observedGeneration", gen}};
      if (ready > 0) st["readyReplicas"] = ready, st["availableReplicas"] = ready;
      SetStatus(Type("replicasets.apps"), *rs, std::move(st));
    }
  }

  void Deployments() {
    for (const ObjectPtr& d : store.List(Type("deployments.apps"), "").items) {
      const json& spec = Field(*d, "spec");
      const int replicas = static_cast<int>(Int(Field(spec, "replicas"), 1));
      json tmpl = Field(spec, "template");
      std::vector<ObjectPtr> sets = Owned(Type("replicasets.apps"), *d);
      // The ReplicaSet whose template (without its hash label) equals the Deployment's is the new one.
      ObjectPtr current;
      for (const ObjectPtr& rs : sets) {
        json t = Field(*rs, "spec", "template");
        if (t.contains("metadata") && t["metadata"].contains("labels")) t["metadata"]["labels"].erase("pod-template-hash");
        if (t == tmpl) current = rs;
      }
      if (current == nullptr) {
        const std::string hash = TemplateHash(tmpl);
        json rs_tmpl = tmpl;
        rs_tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
        json selector = Field(spec, "selector");
        selector["matchLabels"]["pod-template-hash"] = hash;
        long long revision = 0;
        for (const ObjectPtr& rs : sets) {
          revision = std::max(revision, std::atoll(Str(Field(Field(*rs, "metadata", "annotations"), "deployment.kubernetes.io/revision")).c_str()));
        }
        json rs = {{"metadata", {{"name", Name(*d) + "-" + hash}, {"namespace", Namespace(*d)},
                                 {"labels", rs_tmpl["metadata"]["labels"]},
                                 {"annotations", {{"deployment.kubernetes.io/revision", std::to_string(revision + 1)},
                                                  {"deployment.kubernetes.io/desired-replicas", std::to_string(replicas)}}},
                                 {"ownerReferences", json::array({OwnerRefTo(*d)})}}},
                   {"spec", {{"replicas", 0}, {"selector", selector}, {"template", rs_tmpl}}}};
        base::Result<ObjectPtr> made = store.Create(Type("replicasets.apps"), rs);
        if (!made.ok()) continue;
        Touched(Type("replicasets.apps"));
        current = *made;
        Event(*d, "Normal", "ScalingReplicaSet", "Scaled up replica set " + Name(*current) + " from 0 to 0",
              "deployment-controller");
        sets.push_back(current);
        (void)store.Mutate(Type("deployments.apps"), Namespace(*d), Name(*d), [&](json& o) {
          o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = std::to_string(revision + 1);
          return base::Status::Ok();
        });
      }
      const bool recreate = Str(Field(spec, "strategy", "type")) == "Recreate";
      const json& ru = Field(Field(spec, "strategy"), "rollingUpdate");
      int surge = IntOrPercent(Field(ru, "maxSurge").is_null() ? json("25%") : Field(ru, "maxSurge"), replicas, true, 1);
      int unavailable = IntOrPercent(Field(ru, "maxUnavailable").is_null() ? json("25%") : Field(ru, "maxUnavailable"),
                                     replicas, false, 0);
      if (surge == 0 && unavailable == 0) unavailable = 1;
      int old_total = 0, old_ready = 0;
      for (const ObjectPtr& rs : sets) {
        if (rs == current) continue;
        old_total += static_cast<int>(Int(Field(*rs, "spec", "replicas")));
        old_ready += static_cast<int>(Int(Field(*rs, "status", "availableReplicas")));
      }
      const int cur_spec = static_cast<int>(Int(Field(*current, "spec", "replicas")));
      const int cur_ready = static_cast<int>(Int(Field(*current, "status", "availableReplicas")));
      auto scale = [&](const ObjectPtr& rs, int to) {
        const int from = static_cast<int>(Int(Field(*rs, "spec", "replicas")));
        if (from == to) return;
        (void)store.Mutate(Type("replicasets.apps"), Namespace(*rs), Name(*rs), [&](json& o) {
          o["spec"]["replicas"] = to;
          o["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = std::to_string(replicas);
          return base::Status::Ok();
        });
        Event(*d, "Normal", "ScalingReplicaSet",
              std::string(to > from ? "Scaled up" : "Scaled down") + " replica set " + Name(*rs) + " from " +
                  std::to_string(from) + " to " + std::to_string(to),
              "deployment-controller");
      };
      if (recreate) {
        if (old_total > 0) {
          for (const ObjectPtr& rs : sets) if (rs != current) scale(rs, 0);
        } else {
          bool old_pods = false;
          for (const ObjectPtr& rs : sets) if (rs != current && !OwnedPods(*rs).empty()) old_pods = true;
          if (!old_pods) scale(current, replicas);
        }
      } else if (old_total == 0) {
        scale(current, replicas);
      } else {
        // Scale the new set up within maxSurge, then the old ones down within maxUnavailable.
        const int max_total = replicas + surge;
        const int up_to = std::min(replicas, std::max(cur_spec, max_total - old_total));
        if (up_to > cur_spec) scale(current, up_to);
        const int min_available = replicas - unavailable;
        int can_remove = old_ready + cur_ready - min_available;
        // Unavailable old pods can always go.
        int old_unavailable = old_total - old_ready;
        for (const ObjectPtr& rs : sets) {
          if (rs == current) continue;
          const int n = static_cast<int>(Int(Field(*rs, "spec", "replicas")));
          if (n == 0) continue;
          const int ready = static_cast<int>(Int(Field(*rs, "status", "availableReplicas")));
          const int drop_unavailable = std::min(n - ready, old_unavailable);
          const int drop = std::min(n, drop_unavailable + std::max(0, can_remove));
          if (drop > 0) {
            scale(rs, n - drop);
            can_remove -= drop - drop_unavailable;
            old_unavailable -= drop_unavailable;
          }
        }
      }
      // Status.
      int total = 0, ready = 0, updated = 0;
      for (const ObjectPtr& rs : Owned(Type("replicasets.apps"), *d)) {
        total += static_cast<int>(Int(Field(*rs, "status", "replicas")));
        ready += static_cast<int>(Int(Field(*rs, "status", "availableReplicas")));
        if (Name(*rs) == Name(*current)) updated = static_cast<int>(Int(Field(*rs, "status", "replicas")));
      }
      const long long gen = Int(Field(*d, "metadata", "generation"), 1);
      const bool available = ready >= replicas - unavailable;
      (void)store.Mutate(Type("deployments.apps"), Namespace(*d), Name(*d), [&](json& o) {
        json st = {{"observedGeneration", gen}, {"replicas", total}, {"updatedReplicas", updated}};
        if (ready > 0) st["readyReplicas"] = ready, st["availableReplicas"] = ready;
        if (total - ready > 0) st["unavailableReplicas"] = total - ready;
        json old_conditions = Field(o, "status", "conditions");
        auto cond = [&](const char* type, bool ok, const char* reason, const std::string& message) {
          std::string since = Now();
          for (const json& c : old_conditions) {
            if (c.value("type", "") == type && c.value("status", "") == (ok ? "True" : "False")) since = c.value("lastTransitionTime", since);
          }
          return json{{"type", type}, {"status", ok ? "True" : "False"}, {"lastUpdateTime", since},
                      {"lastTransitionTime", since}, {"reason", reason}, {"message", message}};
        };
        st["conditions"] = json::array(
            {cond("Available", available, available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                  available ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
             cond("Progressing", true, updated == replicas && total == replicas ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                  "ReplicaSet \"" + Name(*current) + "\" " +
                      (updated == replicas && total == replicas ? "has successfully progressed." : "is progressing."))});
        o["status"] = st;
        return base::Status::Ok();
      });
    }
  }

  void StatefulSets() {
    for (const ObjectPtr& s : store.List(Type("statefulsets.apps"), "").items) {
      const int want = static_cast<int>(Int(Field(*s, "spec", "replicas"), 1));
      const bool parallel = Str(Field(*s, "spec", "podManagementPolicy")) == "Parallel";
      std::map<int, ObjectPtr> by_ordinal;
      for (const ObjectPtr& p : OwnedPods(*s)) {
        const std::string name = Name(*p);
        by_ordinal[std::atoi(name.c_str() + name.rfind('-') + 1)] = p;
      }
      for (int i = 0; i < want; ++i) {
        auto it = by_ordinal.find(i);
        if (it != by_ordinal.end()) {
          if (!PodReady(*it->second) && !parallel) break;  // OrderedReady: one at a time
          continue;
        }
        const std::string name = Name(*s) + "-" + std::to_string(i);
        CreatePod(*s, Field(*s, "spec", "template"), name,
                  {{"statefulset.kubernetes.io/pod-name", name}, {"apps.kubernetes.io/pod-index", std::to_string(i)}});
        if (!parallel) break;
      }
      for (auto it = by_ordinal.rbegin(); it != by_ordinal.rend(); ++it) {
        if (it->first < want) break;
        // OrderedReady: one at a time, the highest ordinal first, waiting for it to be gone.
        if (!PodActive(*it->second)) {
          if (!parallel) break;
          continue;
        }
        DeletePod(*it->second);
        if (!parallel) break;
      }
      const auto [total, ready] = ActiveAndReady(*s);
      const long long gen = Int(Field(*s, "metadata", "generation"), 1);
      SetStatus(Type("statefulsets.apps"), *s,
                {{"observedGeneration", gen}, {"replicas", total}, {"readyReplicas", ready}, {"currentReplicas", total},
                 {"updatedReplicas", total}, {"availableReplicas", ready}});
    }
  }

  void DaemonSets() {
    KubeStore::ListResult nodes = store.List(Type("nodes"), "");
    for (const ObjectPtr& ds : store.List(Type("daemonsets.apps"), "").items) {
      const json& tmpl = Field(*ds, "spec", "template");
      std::map<std::string, ObjectPtr> on_node;
      for (const ObjectPtr& p : OwnedPods(*ds)) {
        if (PodActive(*p)) on_node[Str(Field(*p, "spec", "nodeName"))] = p;
      }
      int desired = 0, ready = 0, current = 0;
      for (const ObjectPtr& n : nodes.items) {
        json probe = {{"spec", tmpl.value("spec", json::object())}};
        bool eligible = NodeAffinityOk(probe, Labels(*n));
        for (const json& t : Field(*n, "spec", "taints")) {
          if ((t.value("effect", "") == "NoSchedule" || t.value("effect", "") == "NoExecute") && !Tolerates(probe, t)) eligible = false;
        }
        auto it = on_node.find(Name(*n));
        if (!eligible) {
          if (it != on_node.end()) DeletePod(*it->second);
          continue;
        }
        ++desired;
        if (it == on_node.end()) {
          CreatePod(*ds, tmpl, "", json::object(), Name(*n));
        } else {
          ++current;
          ready += PodReady(*it->second) ? 1 : 0;
        }
      }
      const long long gen = Int(Field(*ds, "metadata", "generation"), 1);
      SetStatus(Type("daemonsets.apps"), *ds,
                {{"currentNumberScheduled", current}, {"desiredNumberScheduled", desired}, {"numberMisscheduled", 0},
                 {"numberReady", ready}, {"numberAvailable", ready}, {"updatedNumberScheduled", current},
                 {"observedGeneration", gen}});
    }
  }

  void Jobs() {
    for (const ObjectPtr& j : store.List(Type("jobs.batch"), "").items) {
      const json& spec = Field(*j, "spec");
      const json& status = Field(*j, "status");
      bool done = false;
      for (const json& c : Field(status, "conditions")) {
        if ((c.value("type", "") == "Complete" || c.value("type", "") == "Failed") && c.value("status", "") == "True") done = true;
      }
      if (done) continue;  // a finished Job keeps its status
      // Succeeded and failed pods stay counted after the pods are gone.
      int active = 0, succeeded = 0, failed = 0, ready = 0;
      for (const ObjectPtr& p : OwnedPods(*j)) {
        const std::string phase = Str(Field(*p, "status", "phase"));
        if (phase == "Succeeded") ++succeeded;
        else if (phase == "Failed") ++failed;
        else if (!Terminating(*p)) {
          ++active;
          ready += PodReady(*p) ? 1 : 0;
        }
      }
      succeeded = std::max(succeeded, static_cast<int>(Int(Field(status, "succeeded"))));
      failed = std::max(failed, static_cast<int>(Int(Field(status, "failed"))));
      const int completions = static_cast<int>(Int(Field(spec, "completions"), 1));
      const int parallelism = static_cast<int>(Int(Field(spec, "parallelism"), 1));
      const bool suspended = Field(spec, "suspend").is_boolean() && spec["suspend"].get<bool>();
      if (!suspended) {
        const int want = std::min({parallelism, completions - succeeded, active + kBurst});
        for (int k = active; k < want; ++k) {
          CreatePod(*j, Field(spec, "template"), "",
                    {{"batch.kubernetes.io/job-name", Name(*j)}, {"job-name", Name(*j)},
                     {"batch.kubernetes.io/controller-uid", UidOf(*j)}, {"controller-uid", UidOf(*j)}});
          ++active;
        }
      }
      const bool complete = succeeded >= completions;
      const bool failed_now = failed > Int(Field(spec, "backoffLimit"), 6);
      (void)store.Mutate(Type("jobs.batch"), Namespace(*j), Name(*j), [&](json& o) {
        json& st = o["status"];
        if (!st.contains("startTime")) st["startTime"] = Now();
        st["active"] = active;
        if (active == 0) st.erase("active");
        st["succeeded"] = succeeded;
        if (succeeded == 0) st.erase("succeeded");
        st["failed"] = failed;
        if (failed == 0) st.erase("failed");
        st["ready"] = ready;
        st["terminating"] = 0;
        st["uncountedTerminatedPods"] = json::object();
        if (complete || failed_now) {
          const char* type = complete ? "Complete" : "Failed";
          st["conditions"] = json::array(
              {{{"type", complete ? "SuccessCriteriaMet" : "FailureTarget"}, {"status", "True"}, {"lastProbeTime", Now()},
                {"lastTransitionTime", Now()}, {"reason", complete ? "CompletionsReached" : "BackoffLimitExceeded"},
                {"message", complete ? "Reached expected number of succeeded pods" : "Job has reached the specified backoff limit"}},
               {{"type", type}, {"status", "True"}, {"lastProbeTime", Now()}, {"lastTransitionTime", Now()},
                {"reason", complete ? "CompletionsReached" : "BackoffLimitExceeded"},
                {"message", complete ? "Reached expected number of succeeded pods" : "Job has reached the specified backoff limit"}}});
          if (complete) st["completionTime"] = Now();
        }
        return base::Status::Ok();
      });
      if (complete || failed_now) {
        // A finished Job stops what still runs.
        for (const ObjectPtr& p : OwnedPods(*j)) {
          if (PodActive(*p)) DeletePod(*p);
        }
        Event(*j, complete ? "Normal" : "Warning", complete ? "Completed" : "BackoffLimitExceeded",
              complete ? "Job completed" : "Job has reached the specified backoff limit", "job-controller");
      }
    }
  }

  void CronJobs() {
    const auto now = static_cast<std::int64_t>(std::floor(unix_now()));
    for (const ObjectPtr& cj : store.List(Type("cronjobs.batch"), "").items) {
      const json& spec = Field(*cj, "spec");
      std::vector<ObjectPtr> jobs = Owned(Type("jobs.batch"), *cj);
      json active = json::array();
      std::vector<ObjectPtr> succeeded, failed;  // finished runs, for the history limits
      for (const ObjectPtr& j : jobs) {
        bool done = false;
        for (const json& c : Field(*j, "status", "conditions")) {
          if (c.value("status", "") != "True") continue;
          if (c.value("type", "") == "Complete") done = true, succeeded.push_back(j);
          if (c.value("type", "") == "Failed") done = true, failed.push_back(j);
        }
        if (!done) {
          active.push_back({{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", Name(*j)}, {"namespace", Namespace(*j)},
                            {"uid", UidOf(*j)}, {"resourceVersion", Str(Field(*j, "metadata", "resourceVersion"))}});
        }
      }
      base::Result<CronSchedule> schedule = CronSchedule::Parse(Str(Field(spec, "schedule")), Str(Field(spec, "timeZone")));
      const bool suspended = Field(spec, "suspend").is_boolean() && spec["suspend"].get<bool>();
      std::string last = Str(Field(*cj, "status", "lastScheduleTime"));
      if (schedule.ok() && !suspended) {
        // The most recent scheduled time since the last run (or since creation), within startingDeadlineSeconds
        // (the controller's mostRecentScheduleTime).
        std::int64_t since = now - 60;
        base::Result<std::int64_t> ms = base::ParseTime(last.empty() ? Str(Field(*cj, "metadata", "creationTimestamp")) : last);
        if (ms.ok()) since = *ms / 1000;
        if (Field(spec, "startingDeadlineSeconds").is_number()) {
          since = std::max(since, now - spec["startingDeadlineSeconds"].get<std::int64_t>());
        }
        std::optional<std::int64_t> due;
        base::Result<CronSchedule::Recent> recent = schedule->MostRecent(since, now);
        if (recent.ok()) due = recent->time;
        const bool forbid = Str(Field(spec, "concurrencyPolicy")) == "Forbid";
        if (due && !(forbid && !active.empty())) {
          if (recent->missed == CronSchedule::Missed::kMany) {
            Event(*cj, "Warning", "TooManyMissedTimes",
                  "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                  "cronjob-controller");
          }
          const std::string name = Name(*cj) + "-" + std::to_string(*due / 60);
          json job = {{"metadata", {{"name", name}, {"namespace", Namespace(*cj)},
                                    {"labels", Field(Field(spec, "jobTemplate", "metadata"), "labels")},
                                    {"annotations", {{"batch.kubernetes.io/cronjob-scheduled-timestamp", base::FormatTime(*due * 1000)}}},
                                    {"ownerReferences", json::array({OwnerRefTo(*cj)})}}},
                      {"spec", Field(spec, "jobTemplate", "spec")}};
          if (!job["metadata"]["labels"].is_object() || job["metadata"]["labels"].empty()) job["metadata"].erase("labels");
          base::Result<ObjectPtr> made = store.Create(Type("jobs.batch"), job);
          Touched(Type("jobs.batch"));
          if (made.ok()) {
            Event(*cj, "Normal", "SuccessfulCreate", "Created job " + name, "cronjob-controller");
            active.push_back({{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", name}, {"namespace", Namespace(*cj)},
                              {"uid", UidOf(**made)}, {"resourceVersion", Str(Field(**made, "metadata", "resourceVersion"))}});
          }
          last = base::FormatTime(*due * 1000);
        }
      }
      // History limits: the oldest finished runs beyond successfulJobsHistoryLimit (3) and failedJobsHistoryLimit
      // (1) go, their pods with them.
      auto trim = [&](std::vector<ObjectPtr>& runs, long long keep) {
        std::sort(runs.begin(), runs.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
          return Str(Field(*a, "metadata", "creationTimestamp")) < Str(Field(*b, "metadata", "creationTimestamp"));
        });
        for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(0LL, keep)) < runs.size(); ++i) {
          (void)store.Delete(Type("jobs.batch"), Namespace(*runs[i]), Name(*runs[i]));
          Touched(Type("jobs.batch"));
        }
      };
      trim(succeeded, Int(Field(spec, "successfulJobsHistoryLimit"), 3));
      trim(failed, Int(Field(spec, "failedJobsHistoryLimit"), 1));
      json st = json::object();
      if (!active.empty()) st["active"] = active;
      if (!last.empty()) st["lastScheduleTime"] = last;
      SetStatus(Type("cronjobs.batch"), *cj, std::move(st));
    }
  }

  void CollectGarbage() {
    // Background propagation: an object whose controller owner is gone goes too.
    std::set<std::string> uids;
    std::vector<std::pair<const ResourceType*, ObjectPtr>> dependents;
    for (const ResourceType& t : KubeResources()) {
      if (t.kind == "Event" || t.kind == "SelfSubjectAccessReview") continue;
      for (const ObjectPtr& o : store.List(t, "").items) {
        uids.insert(UidOf(*o));
        if (Field(*o, "metadata", "ownerReferences").is_array()) dependents.emplace_back(&t, o);
      }
    }
    for (const auto& [t, o] : dependents) {
      bool orphan = true;
      for (const json& ref : Field(*o, "metadata", "ownerReferences")) orphan = orphan && uids.count(ref.value("uid", "")) == 0;
      if (!orphan) continue;
      if (t->kind == "Pod") {
        DeletePod(*o);
      } else {
        (void)store.Delete(*t, Namespace(*o), Name(*o));
        Touched(*t);
      }
    }
  }

  // Pods that may match `sel` in `ns`: through one exact requirement of the selector when it has one (an index
  // of "namespace/key=value", built per call site), else every pod of the namespace.
  struct LabelIndex {
    std::unordered_map<std::string, std::vector<ObjectPtr>> by_label;
    std::unordered_map<std::string, std::vector<ObjectPtr>> by_namespace;
  };
  LabelIndex IndexPodLabels() const {
    LabelIndex ix;
    for (const ObjectPtr& p : store.List(Type("pods"), "").items) {
      const std::string ns = Namespace(*p);
      ix.by_namespace[ns].push_back(p);
      for (const auto& [k, v] : Labels(*p).items()) ix.by_label[ns + "/" + k + "=" + Str(v)].push_back(p);
    }
    return ix;
  }
  static const std::vector<ObjectPtr>& Candidates(const LabelIndex& ix, const std::string& ns, const LabelSelector& sel) {
    static const std::vector<ObjectPtr> kNone;
    for (const LabelSelector::Requirement& r : sel.requirements()) {
      const bool exact = r.op == LabelSelector::Op::kEquals || r.op == LabelSelector::Op::kDoubleEquals ||
                         (r.op == LabelSelector::Op::kIn && r.values.size() == 1);
      if (!exact || r.values.size() != 1) continue;
      auto it = ix.by_label.find(ns + "/" + r.key + "=" + r.values[0]);
      return it == ix.by_label.end() ? kNone : it->second;
    }
    auto it = ix.by_namespace.find(ns);
    return it == ix.by_namespace.end() ? kNone : it->second;
  }

  void Budgets() {
    const LabelIndex ix = IndexPodLabels();
    for (const ObjectPtr& b : store.List(Type("poddisruptionbudgets.policy"), "").items) {
      const json& spec = Field(*b, "spec");
      base::Result<LabelSelector> sel = LabelSelector::FromJson(Field(spec, "selector"));
      if (!sel.ok()) continue;
      int expected = 0, healthy = 0;
      for (const ObjectPtr& p : Candidates(ix, Namespace(*b), *sel)) {
        if (!PodActive(*p) || !sel->Matches(Labels(*p))) continue;
        ++expected;
        healthy += PodReady(*p) ? 1 : 0;
      }
      int desired = 0;
      if (!Field(spec, "minAvailable").is_null()) desired = IntOrPercent(spec["minAvailable"], expected, true, 0);
      else if (!Field(spec, "maxUnavailable").is_null()) desired = expected - IntOrPercent(spec["maxUnavailable"], expected, true, 0);
      const int allowed = std::max(0, healthy - desired);
      const long long gen = Int(Field(*b, "metadata", "generation"), 1);
      (void)store.Mutate(Type("poddisruptionbudgets.policy"), Namespace(*b), Name(*b), [&](json& o) {
        json st = {{"observedGeneration", gen}, {"expectedPods", expected}, {"currentHealthy", healthy},
                   {"desiredHealthy", desired}, {"disruptionsAllowed", allowed}};
        // Evictions the API server counted stay until the pods are gone.
        if (Field(o, "status", "disruptedPods").is_object()) {
          json kept = json::object();
          for (const auto& [pod, t] : o["status"]["disruptedPods"].items()) {
            if (store.Get(Type("pods"), Namespace(*b), pod).ok()) kept[pod] = t;
          }
          if (!kept.empty()) {
            st["disruptedPods"] = kept;
            st["disruptionsAllowed"] = std::max(0, allowed - static_cast<int>(kept.size()));
          }
        }
        const bool ok = st["disruptionsAllowed"].get<int>() > 0;
        st["conditions"] = json::array({{{"type", "DisruptionAllowed"}, {"status", ok ? "True" : "False"},
                                         {"reason", ok ? "SufficientPods" : "InsufficientPods"}, {"message", ""},
                                         {"observedGeneration", gen}, {"lastTransitionTime", Now()}}});
        if (o.contains("status") && o["status"].contains("conditions") && o["status"]["conditions"].size() == 1 &&
            o["status"]["conditions"][0].value("status", "") == st["conditions"][0]["status"]) {
          st["conditions"][0]["lastTransitionTime"] = o["status"]["conditions"][0]["lastTransitionTime"];
        }
        o["status"] = st;
        return base::Status::Ok();
      });
    }
  }

  void ServiceEndpoints() {
    const LabelIndex ix = IndexPodLabels();
    for (const ObjectPtr& svc : store.List(Type("services"), "").items) {
      const json& selector = Field(*svc, "spec", "selector");
      if (!selector.is_object() || selector.empty()) continue;
      const LabelSelector sel = LabelSelector::FromSet(selector);
      json ready_addrs = json::array(), not_ready = json::array(), slice_eps = json::array();
      for (const ObjectPtr& p : Candidates(ix, Namespace(*svc), sel)) {
        const std::string ip = Str(Field(*p, "status", "podIP"));
        if (ip.empty() || Terminating(*p) || !sel.Matches(Labels(*p))) continue;
        const bool ready = PodReady(*p);
        json addr = {{"ip", ip}, {"nodeName", Str(Field(*p, "spec", "nodeName"))},
                     {"targetRef", {{"kind", "Pod"}, {"namespace", Namespace(*p)}, {"name", Name(*p)}, {"uid", UidOf(*p)}}}};
        (ready ? ready_addrs : not_ready).push_back(addr);
        slice_eps.push_back({{"addresses", json::array({ip})},
                             {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", false}}},
                             {"nodeName", Str(Field(*p, "spec", "nodeName"))},
                             {"targetRef", addr["targetRef"]}});
      }
      json ports = json::array(), slice_ports = json::array();
      for (const json& port : Field(*svc, "spec", "ports")) {
        const int target = static_cast<int>(Int(Field(port, "targetPort"), Int(Field(port, "port"))));
        ports.push_back({{"name", port.value("name", "")}, {"port", target}, {"protocol", port.value("protocol", "TCP")}});
        slice_ports.push_back({{"name", port.value("name", "")}, {"port", target}, {"protocol", port.value("protocol", "TCP")}});
      }
      json subset = json::object();
      if (!ready_addrs.empty()) subset["addresses"] = ready_addrs;
      if (!not_ready.empty()) subset["notReadyAddresses"] = not_ready;
      subset["ports"] = ports;
      json subsets = ready_addrs.empty() && not_ready.empty() ? json::array() : json::array({subset});
      const json labels = Field(*svc, "metadata").value("labels", json::object());
      json ep = {{"metadata", {{"name", Name(*svc)}, {"namespace", Namespace(*svc)}, {"labels", labels}}}, {"subsets", subsets}};
      if (subsets.empty()) ep.erase("subsets");
      Upsert(Type("endpoints"), ep, [&](json& o) {
        if (subsets.empty()) o.erase("subsets");
        else o["subsets"] = subsets;
      });
      json slice_labels = labels;
      slice_labels["kubernetes.io/service-name"] = Name(*svc);
      slice_labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io";
      json slice = {{"metadata", {{"name", Name(*svc) + "-" + KubeSuffix(HashString(UidOf(*svc)), 5)},
                                  {"namespace", Namespace(*svc)},
                                  {"labels", slice_labels},
                                  {"ownerReferences", json::array({OwnerRefTo(*svc)})}}},
                    {"addressType", "IPv4"},
                    {"endpoints", slice_eps},
                    {"ports", slice_ports}};
      slice["metadata"]["ownerReferences"][0]["apiVersion"] = "v1";
      slice["metadata"]["ownerReferences"][0]["kind"] = "Service";
      Upsert(Type("endpointslices.discovery.k8s.io"), slice, [&](json& o) {
        o["endpoints"] = slice_eps;
        o["ports"] = slice_ports;
      });
    }
  }

  void Upsert(const ResourceType& t, const json& obj, const std::function<void(json&)>& edit) {
    base::Result<ObjectPtr> r = store.Mutate(t, Namespace(obj), Name(obj), [&](json& o) {
      edit(o);
      return base::Status::Ok();
    });
    if (r.status().code() == base::Code::kNotFound) (void)store.Create(t, obj);
  }

  // ---- MIG manager and device-plugin config ----
  std::optional<Sharing> ResolveMigConfig(const SimNode& node, const NodePool& pool, const std::string& name,
                                          std::string* why) {
    base::Result<ObjectPtr> cm = store.Get(Type("configmaps"), "gpu-operator", "default-mig-parted-config");
    if (!cm.ok()) {
      *why = "configmap gpu-operator/default-mig-parted-config not found";
      return std::nullopt;
    }
    YAML::Node root;
    try {
      root = YAML::Load(Str(Field(**cm, "data", "config.yaml")));
    } catch (const std::exception& e) {
      *why = std::string("config.yaml does not parse: ") + e.what();
      return std::nullopt;
    }
    const YAML::Node configs = root["mig-configs"];
    if (!configs || !configs[name]) {
      *why = "unknown MIG config \"" + name + "\"";
      return std::nullopt;
    }
    Sharing sh = node.sharing;
    sh.mode = SharingMode::kNone;
    sh.mig_layout.clear();
    sh.mig_gpus = -1;
    if (sh.mig_strategy != MigStrategy::kSingle) sh.mig_strategy = MigStrategy::kMixed;
    const MigGpuTable* table = FindMigTable(pool.gpu_model);
    int mig_enabled_gpus = 0;
    for (const YAML::Node& entry : configs[name]) {
      if (!entry["mig-enabled"] || !entry["mig-enabled"].as<bool>()) continue;
      if (table == nullptr) {
        *why = pool.gpu_model + " is not MIG capable";
        return std::nullopt;
      }
      std::vector<std::string> layout;
      for (const auto& kv : entry["mig-devices"]) {
        const std::string profile = kv.first.as<std::string>();
        if (table->Find(profile) == nullptr) {
          *why = "profile " + profile + " does not exist on " + pool.gpu_model;
          return std::nullopt;
        }
        for (int k = 0; k < kv.second.as<int>(); ++k) layout.push_back(profile);
      }
      // Largest first, as mig-parted creates instances.
      std::stable_sort(layout.begin(), layout.end(), [&](const std::string& a, const std::string& b) {
        return table->Find(a)->memory_slices > table->Find(b)->memory_slices;
      });
      int slices = 0, compute = 0;
      for (const std::string& p : layout) slices += table->Find(p)->memory_slices, compute += table->Find(p)->compute_slices;
      if (slices > 8 || compute > 7) {
        *why = "MIG config \"" + name + "\" does not fit on one GPU (" + std::to_string(compute) + "/7 compute, " +
               std::to_string(slices) + "/8 memory slices)";
        return std::nullopt;
      }
      sh.mode = SharingMode::kMig;
      sh.mig_layout = layout;
      const YAML::Node devices = entry["devices"];
      if (devices.IsSequence()) {
        mig_enabled_gpus = static_cast<int>(devices.size());
        sh.mig_gpus = mig_enabled_gpus;
      }
    }
    return sh;
  }

  std::optional<Sharing> ResolveDevicePluginConfig(const SimNode& node, const std::string& name, std::string* why) {
    base::Result<ObjectPtr> cm = store.Get(Type("configmaps"), "gpu-operator", "time-slicing-config");
    if (!cm.ok() || !Field(**cm, "data").contains(name)) {
      *why = "device-plugin config \"" + name + "\" not found in gpu-operator/time-slicing-config";
      return std::nullopt;
    }
    YAML::Node root;
    try {
      root = YAML::Load(Str(Field(**cm, "data", name)));
    } catch (const std::exception& e) {
      *why = std::string("device-plugin config does not parse: ") + e.what();
      return std::nullopt;
    }
    Sharing sh = node.sharing;
    if (sh.mode == SharingMode::kTimeSlicing || sh.mode == SharingMode::kMps) sh.mode = SharingMode::kNone;
    sh.replicas = 1;
    sh.rename = false;
    for (const char* mode : {"timeSlicing", "mps"}) {
      const YAML::Node s = root["sharing"][mode];
      if (!s) continue;
      if (std::string(mode) == "mps" && node.sharing.mode == SharingMode::kMig) {
        *why = "MPS is not supported on MIG-enabled GPUs";
        return std::nullopt;
      }
      if (node.sharing.mode == SharingMode::kMig) continue;  // time-slicing of MIG devices is not modelled
      sh.mode = std::string(mode) == "mps" ? SharingMode::kMps : SharingMode::kTimeSlicing;
      sh.rename = s["renameByDefault"] && s["renameByDefault"].as<bool>();
      for (const YAML::Node& r : s["resources"]) sh.replicas = std::max(1, r["replicas"].as<int>());
    }
    return sh;
  }

  void NodeConfigs() {
    const double now = sim.now();
    for (const ObjectPtr& n : store.List(Type("nodes"), "").items) {
      const std::string name = Name(*n);
      const int ni = world.NodeIndex(name);
      if (ni < 0) continue;
      SimNode& node = world.nodes[static_cast<std::size_t>(ni)];
      const json& labels = Labels(*n);
      const std::string mig = Str(Field(labels, "nvidia.com/mig.config"));
      const std::string dp = Str(Field(labels, "nvidia.com/device-plugin.config"));
      const std::string world_mig = node.meta.labels.count("nvidia.com/mig.config") ? node.meta.labels.at("nvidia.com/mig.config") : "";
      auto pending = node_changes.find(name);
      if (pending == node_changes.end()) {
        if (!mig.empty() && mig != world_mig) {
          node_changes[name] = {"nvidia.com/mig.config", mig, now + options.node_config_delay_s};
          SetNodeLabel(name, "nvidia.com/mig.config.state", "pending");
        } else if (dp != applied_device_plugin_config[name]) {
          node_changes[name] = {"nvidia.com/device-plugin.config", dp, now + options.node_config_delay_s};
        }
        continue;
      }
      if (now < pending->second.due_s) continue;
      const NodeConfigChange change = pending->second;
      node_changes.erase(pending);
      const NodePool& pool = world.scenario.node_pools[static_cast<std::size_t>(node.pool)];
      std::string why;
      std::optional<Sharing> sh;
      try {
        if (change.label == "nvidia.com/mig.config") {
          sh = ResolveMigConfig(node, pool, change.value, &why);
        } else if (!change.value.empty()) {
          sh = ResolveDevicePluginConfig(node, change.value, &why);
        }
      } catch (const std::exception& e) {  // a ConfigMap edited into a shape the managers do not read
        why = std::string("the config does not parse: ") + e.what();
        sh.reset();
      }
      if (change.label == "nvidia.com/mig.config") {
        if (sh) {
          // A GPU being repartitioned must have no processes on it.
          for (const SimPod& p : world.pods) {
            if (!p.alive(now)) continue;
            for (const GpuBinding& b : p.gpus) {
              if (b.node == ni) why = "GPU " + std::to_string(b.gpu) + " is in use by pod " + p.meta.namespace_name + "/" + p.meta.name;
            }
          }
          if (!why.empty()) sh.reset();
        }
        node.meta.labels["nvidia.com/mig.config"] = change.value;  // tried, whatever the outcome
      } else {
        applied_device_plugin_config[name] = change.value;
        if (change.value.empty()) {
          // The label removed: back to the pool's own setup.
          sh = node.sharing;
          if (sh->mode == SharingMode::kTimeSlicing || sh->mode == SharingMode::kMps) sh = pool.sharing;
        }
      }
      if (!sh) {
        if (change.label == "nvidia.com/mig.config") SetNodeLabel(name, "nvidia.com/mig.config.state", "failed");
        Event(*n, "Warning", change.label == "nvidia.com/mig.config" ? "MigConfigFailed" : "DevicePluginConfigFailed",
              "applying " + change.label + "=" + change.value + ": " + why, "gpu-operator");
        continue;
      }
      ApplyNodeSharing(node, pool, *sh);
      sim.SyncWithWorld();
      const json capacity = node.capacity;
      json gpu_labels = json::object();
      for (const auto& [k, v] : node.meta.labels) {
        if (k.rfind("nvidia.com/", 0) == 0) gpu_labels[k] = v;
      }
      (void)store.Mutate(Type("nodes"), "", name, [&](json& o) {
        json& l = o["metadata"]["labels"];
        for (auto it = l.begin(); it != l.end();) {
          const std::string k = it.key();
          const bool managed = (k.rfind("nvidia.com/mig-", 0) == 0 && k.ends_with(".count")) || k == "nvidia.com/mig.strategy";
          if (managed && !gpu_labels.contains(k)) it = l.erase(it);
          else ++it;
        }
        for (const auto& [k, v] : gpu_labels.items()) {
          if (k == "nvidia.com/mig.config" || k == "nvidia.com/device-plugin.config") continue;
          l[k] = v;
        }
        if (change.label == "nvidia.com/mig.config") l["nvidia.com/mig.config.state"] = "success";
        for (const char* field : {"capacity", "allocatable"}) {
          json& c = o["status"][field];
          for (auto it = c.begin(); it != c.end();) {
            if (it.key().rfind("nvidia.com/", 0) == 0) it = c.erase(it);
            else ++it;
          }
          for (const auto& [k, v] : capacity.items()) c[k] = v;
        }
        return base::Status::Ok();
      });
      Event(*n, "Normal", change.label == "nvidia.com/mig.config" ? "MigConfigApplied" : "DevicePluginConfigApplied",
            "applied " + change.label + "=" + change.value, "gpu-operator");
    }
  }

  void Pass();

  void SetNodeLabel(const std::string& node, const std::string& key, const std::string& value) {
    (void)store.Mutate(Type("nodes"), "", node, [&](json& o) {
      o["metadata"]["labels"][key] = value;
      return base::Status::Ok();
    });
  }

  // Events expire an hour after they were last seen, as kube-apiserver's --event-ttl does.
  void ExpireEvents() {
    const double cutoff_ms = (unix_now() - 3600) * 1000;
    for (const ObjectPtr& e : store.List(Type("events"), "").items) {
      base::Result<std::int64_t> last = base::ParseTime(Str(Field(*e, "lastTimestamp")));
      if (last.ok() && static_cast<double>(*last) < cutoff_ms) (void)store.Delete(Type("events"), Namespace(*e), Name(*e));
    }
  }

  void NodeLeases() {
    const std::string now = Now();
    for (const ObjectPtr& l : store.List(Type("leases.coordination.k8s.io"), "kube-node-lease").items) {
      // Renewed every 10 s of simulated time, as the kubelet does.
      base::Result<std::int64_t> last = base::ParseTime(Str(Field(*l, "spec", "renewTime")));
      if (last.ok() && unix_now() * 1000 - static_cast<double>(*last) < 10000) continue;
      (void)store.Mutate(Type("leases.coordination.k8s.io"), "kube-node-lease", Name(*l), [&](json& o) {
        o["spec"]["renewTime"] = now;
        return base::Status::Ok();
      });
    }
  }
};

KubeCluster::KubeCluster(World& world, Simulator& sim, KubeStore& store, KubeClusterOptions options)
    : impl_(std::make_unique<Impl>(world, sim, store, options)) {}

KubeCluster::~KubeCluster() = default;

void KubeCluster::Seed() { impl_->SeedAll(); }

void KubeCluster::Reconcile() {
  try {
    impl_->Pass();
  } catch (const std::exception& e) {
    // Stored objects are shape-checked on write, so this is gpuwise's own bug; the next pass tries again.
    LOG_WARNING << "control plane pass failed: " << e.what();
  }
}

void KubeCluster::Impl::Pass() {
  Impl& m = *this;
  for (auto& [type, index] : m.owner_index) index.dirty = true;  // clients may have changed anything
  // One pass in dependency order: what the kubelet reports feeds the workload controllers, whose pods the
  // scheduler places, whose status the kubelet then reports (ReplicaSets run on both sides of Deployments so a
  // Deployment acts on fresh counts and its scaling takes effect in the same pass).
  m.NodeConfigs();
  m.Kubelet();
  m.CronJobs();
  m.Jobs();
  m.ReplicaSets();
  m.Deployments();
  m.ReplicaSets();
  m.StatefulSets();
  m.DaemonSets();
  m.Scheduler();
  m.Kubelet();
  m.CollectGarbage();
  m.Budgets();
  m.ServiceEndpoints();
  m.NodeLeases();
  m.ExpireEvents();
}

base::Result<std::string> KubeCluster::PodLog(std::string_view ns, std::string_view name) const {
  base::Result<ObjectPtr> pod = impl_->store.Get(Type("pods"), ns, name);
  if (!pod.ok()) return pod.status();
  auto it = impl_->world_pod.find(UidOf(**pod));
  if (it == impl_->world_pod.end()) return base::NotFound("pod " + std::string(name) + " has not started");
  std::string out;
  for (const std::string& line : impl_->sim.pod(it->second).container.log) out += line + "\n";
  return out;
}

}  // namespace gpuwise::sim
