// What gpuwise reads from the Kubernetes API, as one table (group, resources, verbs, why), and the least-privilege
// ClusterRole that grants exactly that. The cluster reader and endpoint discovery name the table entry of every
// request they make (Rule(Need::...)), so the table is the single source of truth: a request the table does not
// cover is a gpuwise bug, caught by CHECK and by the test that runs both against an API server enforcing the
// ClusterRole this file prints.
//
// Owners of pods that are custom resources (KServe InferenceService, LeaderWorkerSet, RayService, Notebook, ...)
// need `get` on kinds gpuwise cannot list in advance. RBAC offers two ways, and gpuwise takes the middle one:
//  - a wildcard on everything (apiGroups ["*"], resources ["*"], verbs ["get"]) would work for any owner, but "*"
//    groups include the core group, so it grants get on every Secret in the cluster: not acceptable;
//  - listing each known kind (inferenceservices.serving.kserve.io, ...) grants the least, but breaks each time an
//    operator adds a kind (KServe's InferenceGraph, Ray's RayJob) and the walk stops at a 403;
//  - so: resources ["*"], verb get, in a list of named workload-operator groups (OwnerGroups(): serving.kserve.io,
//    ray.io, kubeflow.org, ...). New kinds of a listed group work; core, apps, batch, rbac and every group not
//    listed stay out; no list or watch, so nothing can be enumerated. A group gpuwise does not know is added with
//    RbacOptions::extra_owner_groups; until then the walk stops at that owner with a warning naming the grant.
//
// `pods/proxy` is off by default and sensitive: `get` on pods/proxy lets the holder send arbitrary HTTP GETs to
// any port of any pod through the API server (admin endpoints, debug handlers, unauthenticated sidecars), with the
// API server's network position. Enable it (RbacOptions::pod_proxy) only when gpuwise runs outside the cluster
// network and must scrape vLLM /metrics through the API server.
// Thread-safety: the table is immutable; every function is pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gpuwise::observe::kube {

// One grant gpuwise needs.
struct AccessRule {
  std::string_view id;                   // "list-pods": stable, used in docs and messages
  std::vector<std::string> api_groups;   // "" = core
  std::vector<std::string> resources;    // plural names, "pods/proxy" for a subresource, "*" = every resource
  std::vector<std::string> non_resource_urls;  // "/api", "/apis/*" (discovery)
  std::vector<std::string> verbs;
  std::string why;
  bool pod_proxy_only = false;           // granted only with RbacOptions::pod_proxy
  std::vector<std::string> resource_names = {};  // non-empty: only these objects (resourceNames)
};

// What the reader and discovery code ask for; each names one row of the table.
enum class Need {
  kDiscovery,        // GET /api, /apis: resolving owner kinds to resources
  kListNodes,
  kListNamespaces,   // all namespaces
  kGetNamespaces,    // the namespaces a filter names (a namespace-scoped reader may not list them all)
  kListPods,
  kGetBuiltinOwners, // ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, ReplicationControllers
  kListBuiltinOwners,// the same kinds, one LIST each when many pods name owners of that kind
  kGetCustomOwners,  // any resource in OwnerGroups()
  kListServices,     // dcgm-exporter Services
  kListEndpointSlices,
  kGetEndpoints,     // fallback when EndpointSlices are not readable
  kPodProxy,         // optional: metrics through the API server
  kGetGpuOperatorConfigs,  // optional: the MIG manager's and device plugin's ConfigMaps (by name), for plans
};

struct RbacOptions {
  bool pod_proxy = false;
  std::vector<std::string> extra_owner_groups;  // added to OwnerGroups()
  std::string role_name = "gpuwise-reader";
  std::string service_account = "gpuwise";
  std::string namespace_name = "gpuwise";
};

// The whole table, in the order the ClusterRole prints it.
const std::vector<AccessRule>& AccessRules();
const AccessRule& Rule(Need need);
// The workload-operator groups whose resources may own pods (get on "*" in each).
const std::vector<std::string>& OwnerGroups();
// The groups of the built-in controllers the kGetBuiltinOwners rule covers ("apps", "batch", core).
bool IsBuiltinOwnerGroup(std::string_view group);

// Whether the ClusterRole for `options` grants `verb` on group/resource ("pods", "pods/proxy").
// Rules limited to named objects (resourceNames) do not grant the resource.
bool Grants(const RbacOptions& options, std::string_view verb, std::string_view group, std::string_view resource);
// Whether one table row covers the request.
bool Covers(const AccessRule& rule, std::string_view verb, std::string_view group, std::string_view resource);
// The row for `need`, CHECKing that it covers verb on group/resource. The reader and discovery call this for each
// request they make, so a request the table does not list fails in tests rather than as a 403 in a user's cluster.
const AccessRule& RuleFor(Need need, std::string_view verb, std::string_view group, std::string_view resource);

// The ClusterRole and its ClusterRoleBinding to ServiceAccount <namespace>/<service_account>, as YAML with a
// comment per rule saying why. The ServiceAccount itself comes with the deployment manifests.
std::string ClusterRoleYaml(const RbacOptions& options = {});

}  // namespace gpuwise::observe::kube
