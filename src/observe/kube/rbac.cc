#include "observe/kube/rbac.h"

#include <algorithm>

#include "base/check.h"

namespace gpuwise::observe::kube {
namespace {

bool Has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end() ||
         std::find(list.begin(), list.end(), "*") != list.end();
}

std::vector<AccessRule> BuildRules() {
  std::vector<AccessRule> r;
  // Order = the Need enum's order (Rule() indexes by it).
  r.push_back({"discovery", {}, {}, {"/api", "/api/*", "/apis", "/apis/*"}, {"get"},
               "API discovery: which resource serves an owner's kind (every authenticated user has this through "
               "system:discovery; listed so that nothing is implicit)"});
  r.push_back({"list-nodes", {""}, {"nodes"}, {}, {"get", "list", "watch"},
               "GPU nodes: GPU model and count (GPU feature discovery labels), MIG and sharing setup, allocatable "
               "GPUs, instance type, zone and spot/on-demand labels for prices, taints, cordon, readiness"});
  r.push_back({"list-namespaces", {""}, {"namespaces"}, {}, {"list", "watch"},
               "namespace labels and gpuwise.io/ annotations: team defaults and policy"});
  r.push_back({"get-namespaces", {""}, {"namespaces"}, {}, {"get"},
               "the namespaces a --namespace filter names, when listing all namespaces is not allowed"});
  r.push_back({"list-pods", {""}, {"pods"}, {}, {"get", "list", "watch"},
               "pods: GPU requests, node, owner, status, restarts, images and arguments of serving engines, pod "
               "IPs of metrics endpoints; also dcgm-exporter pods when no Service exposes them"});
  const std::vector<std::string> builtin_owner_groups = {"", "apps", "batch"};
  const std::vector<std::string> builtin_owners = {"replicationcontrollers", "replicasets", "deployments",
                                                   "statefulsets", "daemonsets", "jobs", "cronjobs"};
  r.push_back({"get-builtin-owners", builtin_owner_groups, builtin_owners, {}, {"get"},
               "walking a pod's ownerReferences to its workload (ReplicaSet -> Deployment, Job -> CronJob), one "
               "owner at a time"});
  r.push_back({"list-builtin-owners", builtin_owner_groups, builtin_owners, {}, {"list"},
               "the same owners, one LIST per kind when many pods name owners of that kind: 2,000 ReplicaSets read "
               "in a few pages instead of 2,000 GETs (40 s at the client's 50 requests/s). Optional: without it "
               "the walk reads each owner with get, slower, same result"});
  r.push_back({"get-custom-owners", OwnerGroups(), {"*"}, {}, {"get"},
               "owners that are custom resources (InferenceService, LeaderWorkerSet, RayService, Notebook, ...): "
               "get on every resource of these named operator groups, never of core, apps, batch or rbac, never "
               "list; see the header comment for why not a wildcard group and not a list of kinds"});
  r.push_back({"list-services", {""}, {"services"}, {}, {"list"},
               "finding dcgm-exporter by its Service (app=nvidia-dcgm-exporter or "
               "app.kubernetes.io/name=dcgm-exporter)"});
  r.push_back({"list-endpointslices", {"discovery.k8s.io"}, {"endpointslices"}, {}, {"list"},
               "the dcgm-exporter Service's endpoints: pod IP, port and node of each exporter, so that an "
               "exporter's GPUs join their node by scrape target"});
  r.push_back({"get-endpoints", {""}, {"endpoints"}, {}, {"get"},
               "the same from the older Endpoints object, when EndpointSlices are not readable"});
  r.push_back({"pod-proxy", {""}, {"pods/proxy"}, {}, {"get"},
               "OPTIONAL (--via-api-proxy): scraping serving engines' /metrics through the API server when gpuwise "
               "cannot reach pod IPs. Sensitive: it lets the holder send any HTTP GET to any port of any pod",
               true});
  r.push_back({"get-gpu-operator-configs", {""}, {"configmaps"}, {}, {"get"},
               "OPTIONAL: the GPU Operator's MIG manager config (default-mig-parted-config) and device-plugin sharing "
               "config (time-slicing-config), by name only, so that a plan adds its MIG layouts to the existing "
               "configs instead of replacing them. Without it `recommend` says the ConfigMap must be merged by hand",
               false, {"default-mig-parted-config", "time-slicing-config"}});
  return r;
}

std::string Quoted(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ", ";
    out += "\"" + v[i] + "\"";
  }
  return out + "]";
}

// A comment wrapped at ~110 columns, each line prefixed.
std::string Comment(std::string_view text, std::string_view indent) {
  std::string out, line;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    const std::string_view word = text.substr(i, j - i);
    if (!line.empty() && line.size() + 1 + word.size() > 108 - indent.size()) {
      out += std::string(indent) + "# " + line + "\n";
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    i = j + 1;
  }
  if (!line.empty()) out += std::string(indent) + "# " + line + "\n";
  return out;
}

std::vector<std::string> OwnerGroupsFor(const RbacOptions& options) {
  std::vector<std::string> groups = OwnerGroups();
  for (const std::string& g : options.extra_owner_groups) {
    if (!g.empty() && std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  return groups;
}

}  // namespace

const std::vector<std::string>& OwnerGroups() {
  static const std::vector<std::string> kGroups = {
      "serving.kserve.io",         // InferenceService, ServingRuntime, InferenceGraph
      "serving.knative.dev",       // KServe serverless mode: Revision -> Configuration -> Service
      "leaderworkerset.x-k8s.io",  // LeaderWorkerSet (multi-host serving)
      "jobset.x-k8s.io",           // JobSet
      "ray.io",                    // RayCluster, RayJob, RayService
      "kubeflow.org",              // Notebook, PyTorchJob, MPIJob, TFJob, ...
      "trainer.kubeflow.org",      // TrainJob
      "batch.volcano.sh",          // Volcano Job
      "workload.codeflare.dev",    // AppWrapper
      "apps.kruise.io",            // OpenKruise CloneSet, Advanced StatefulSet
      "argoproj.io",               // Argo Rollouts (own ReplicaSets), Workflows
      "apps.nvidia.com",           // NVIDIA NIM operator NIMService
  };
  return kGroups;
}

bool IsBuiltinOwnerGroup(std::string_view group) { return group.empty() || group == "apps" || group == "batch"; }

const std::vector<AccessRule>& AccessRules() {
  static const std::vector<AccessRule> kRules = BuildRules();
  return kRules;
}

const AccessRule& Rule(Need need) {
  const auto i = static_cast<std::size_t>(need);
  CHECK(i < AccessRules().size()) << "no table row for need " << i;
  return AccessRules()[i];
}

bool Covers(const AccessRule& rule, std::string_view verb, std::string_view group, std::string_view resource) {
  if (!Has(rule.verbs, verb)) return false;
  if (resource.starts_with("/")) return Has(rule.non_resource_urls, resource);
  return Has(rule.api_groups, group) && Has(rule.resources, resource);
}

const AccessRule& RuleFor(Need need, std::string_view verb, std::string_view group, std::string_view resource) {
  const AccessRule& rule = Rule(need);
  CHECK(Covers(rule, verb, group, resource))
      << "rbac table row " << rule.id << " does not cover " << verb << " " << resource << " in group \"" << group
      << "\"";
  return rule;
}

bool Grants(const RbacOptions& options, std::string_view verb, std::string_view group, std::string_view resource) {
  for (const AccessRule& rule : AccessRules()) {
    if (rule.pod_proxy_only && !options.pod_proxy) continue;
    if (!rule.resource_names.empty()) continue;  // named objects only: not the resource
    if (rule.id == "get-custom-owners") {
      AccessRule r = rule;
      r.api_groups = OwnerGroupsFor(options);
      if (Covers(r, verb, group, resource)) return true;
      continue;
    }
    if (Covers(rule, verb, group, resource)) return true;
  }
  return false;
}

std::string ClusterRoleYaml(const RbacOptions& options) {
  std::string y;
  y += "# gpuwise: read-only access to what it needs to find idle GPUs (generated by `gpuwise rbac --print`).\n";
  y += Comment(
      "Every rule below says what gpuwise reads and why. Nothing is written: gpuwise's apply step uses a "
      "separate, opt-in role.",
      "");
  y += Comment(
      "Owners that are custom resources: get on every resource of a list of named operator groups. A wildcard "
      "group (apiGroups [\"*\"]) would include the core group and so every Secret; a list of exact kinds would "
      "break whenever an operator adds a kind. Named groups with resources [\"*\"] and verb get only is the middle: "
      "new kinds of a listed group work, core, apps, batch and rbac stay out, nothing can be listed. Add a group "
      "with --owner-group; until then gpuwise stops walking at that owner and says which grant is missing.",
      "");
  if (options.pod_proxy) {
    y += Comment(
        "pods/proxy is ENABLED (--via-api-proxy): it lets the holder send any HTTP GET to any port of any pod "
        "through the API server. Grant it only if gpuwise cannot reach pod IPs directly.",
        "");
  }
  y += "apiVersion: rbac.authorization.k8s.io/v1\n";
  y += "kind: ClusterRole\n";
  y += "metadata:\n";
  y += "  name: " + options.role_name + "\n";
  y += "  labels:\n";
  y += "    app.kubernetes.io/name: gpuwise\n";
  y += "rules:\n";
  for (const AccessRule& rule : AccessRules()) {
    if (rule.pod_proxy_only && !options.pod_proxy) continue;
    y += Comment(std::string(rule.id) + ": " + rule.why, "  ");
    if (!rule.non_resource_urls.empty()) {
      y += "  - nonResourceURLs: " + Quoted(rule.non_resource_urls) + "\n";
    } else {
      const std::vector<std::string> groups =
          rule.id == "get-custom-owners" ? OwnerGroupsFor(options) : rule.api_groups;
      y += "  - apiGroups: " + Quoted(groups) + "\n";
      y += "    resources: " + Quoted(rule.resources) + "\n";
      if (!rule.resource_names.empty()) y += "    resourceNames: " + Quoted(rule.resource_names) + "\n";
    }
    y += "    verbs: " + Quoted(rule.verbs) + "\n";
  }
  y += "---\n";
  y += "apiVersion: rbac.authorization.k8s.io/v1\n";
  y += "kind: ClusterRoleBinding\n";
  y += "metadata:\n";
  y += "  name: " + options.role_name + "\n";
  y += "  labels:\n";
  y += "    app.kubernetes.io/name: gpuwise\n";
  y += "roleRef:\n";
  y += "  apiGroup: rbac.authorization.k8s.io\n";
  y += "  kind: ClusterRole\n";
  y += "  name: " + options.role_name + "\n";
  y += "subjects:\n";
  y += "  - kind: ServiceAccount\n";
  y += "    name: " + options.service_account + "\n";
  y += "    namespace: " + options.namespace_name + "\n";
  return y;
}

}  // namespace gpuwise::observe::kube
