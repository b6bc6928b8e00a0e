// Simulated kube-state-metrics /metrics page: the World's namespaces, nodes, controllers and pods alive at a
// simulated time, rendered byte for byte as kube-state-metrics v2.13 prints them (text format 0.0.4), so that
// gpuwise's Prometheus path reads owners, requests, phases and restarts of the simulated cluster as it would in
// a real one.
//
// Format (kubernetes/kube-state-metrics v2.13.0: pkg/metric/metric.go, pkg/metric_generator/generator.go,
// pkg/metrics_store/metrics_writer.go, internal/store/{pod,replicaset,job,cronjob,deployment,statefulset,
// daemonset,namespace,node,utils,builder}.go; checked against the v2.12.0 capture in elastic/beats
// metricbeat/module/kubernetes/_meta/test/KSM/ksm.v2.12.0.plain):
// - Resources in alphabetical order (the builder sorts them): cronjobs, daemonsets, deployments, jobs, namespaces,
//   nodes, pods, replicasets, statefulsets. Within a resource, families in ksm's generator order, each
//   "# HELP <name> [STABLE] <help>" (the prefix only for STABLE families) and "# TYPE <name> gauge|counter",
//   then one line per object. Headers of a family without series are still printed when the resource has at
//   least one object (v2.10+: a resource with no objects prints nothing).
// - Identifying labels first (pods: namespace, pod, uid), then the family's own. Values as Go's
//   strconv.FormatFloat(v, 'g', -1, 64) after ksm's shortcuts for 0, 1 and -1: "1.7947872e+09", "0.1", "110".
// - Resource names sanitised ("nvidia.com/gpu" -> "nvidia_com_gpu"); cpu in unit "core" (millicores / 1000),
//   memory, storage and hugepages in "byte", pods and extended resources in "integer".
// - kube_<resource>_labels: Kubernetes label keys on the allow-list (or all with "*") as label_<key>, keys
//   sanitised ([^a-zA-Z0-9_] -> '_') and snake-cased, sorted by original key; no series without an allow-list.
// - Ownerless objects: owner_kind="",owner_name="",owner_is_controller="".
// Real ksm walks Go maps, so its line order within a family varies from scrape to scrape; here objects come in
// World order and resources in name order, so the same arguments always give the same bytes.
//
// Only the families listed in ksm_page.cc are emitted: the page equals what ksm prints when started with
// --metric-allowlist naming them (annotations, init containers, tolerations, generations and the like are
// left out). Custom resources (InferenceService, LeaderWorkerSet) are not built-in ksm resources and do not
// appear; their Deployments and StatefulSets do.
//
// Pod status: from the World alone a scheduled pod is Running and ready since its start, an unplaced one
// Pending (PodScheduled=False, Unschedulable), a finished Job pod Succeeded (Completed, exit 0); with a
// PodRuntime per pod the container state, readiness, restarts and last termination come from it.
// Pure: the output depends only on the arguments. Thread-safety: free functions on values.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/behavior.h"
#include "sim/world.h"

namespace gpuwise::sim {

struct KsmOptions {
  // --metric-labels-allowlist, per resource: Kubernetes label keys exported as label_<key> on
  // kube_pod_labels, kube_namespace_labels and kube_node_labels; {"*"} exports all of them. Empty (the default,
  // as in ksm) = no series in those families (before v2.10, one series with only the identifying labels).
  std::vector<std::string> pod_label_allowlist;
  std::vector<std::string> namespace_label_allowlist;
  std::vector<std::string> node_label_allowlist;
  // The same for deployments, replicasets, statefulsets, daemonsets, jobs and cronjobs.
  std::vector<std::string> workload_label_allowlist;
  // kube-state-metrics 2.<minor_version>; 13 is the image the World deploys. Earlier minors change what the
  // page shows: < 12 no kube_pod_container_status_last_terminated_timestamp; < 11 no
  // kube_node_status_addresses; < 10 headers even for resources with no objects and a *_labels series per
  // object without an allow-list; < 8 "<none>" for missing owners and created_by, no kube_pod_status_qos_class.
  // Clamped to 7..13 (other differences of other versions are not modelled).
  int minor_version = 13;
};

// The runtime state of pod `pod` (an index into World::pods), or nullptr to derive its status from the World.
using PodRuntimeLookup = std::function<const PodRuntime*(int pod)>;

// The page at simulated time t (seconds since the World's epoch; timestamps are epoch_unix_s + t, whole
// seconds). Objects listed: namespaces, nodes and controllers with created_s <= t < deleted_s; pods alive at t
// (SimPod::alive) and, until their Job is deleted, finished pods of Jobs (succeeds). Ends with a newline.
std::string RenderKsmPage(const World& world, double t, const KsmOptions& options = {},
                          const PodRuntimeLookup& runtime = {});

// The page at simulator.now(), with the simulator's pod runtimes.
std::string RenderKsmPage(const Simulator& simulator, const KsmOptions& options = {});

// Whether pod `pod` is on the page at time t (alive, or a finished Job pod whose Job still exists).
bool KsmListsPod(const World& world, int pod, double t);

// ksm's label name for a Kubernetes key: "label" + "app.kubernetes.io/name" -> "label_app_kubernetes_io_name",
// "label" + "fooBar" -> "label_foo_bar" (internal/store/utils.go labelName).
std::string KsmLabelName(std::string_view prefix, std::string_view key);

// ksm's resource label: "nvidia.com/mig-1g.10gb" -> "nvidia_com_mig_1g_10gb" (SanitizeLabelName, no case change).
std::string KsmResourceName(std::string_view resource);

// A value as ksm's writeFloat prints it: "0", "1", "-1", "NaN", "+Inf", else Go's shortest %g
// ("1.713862198e+09", "0.25", "110", "1e+06").
std::string FormatKsmValue(double v);

// A Kubernetes quantity ("100m", "64Gi", "1.5", "2e3") in milli-units, rounded up as Quantity.MilliValue()
// does. Returns false for text that is not a quantity.
bool ParseKubeQuantityMilli(std::string_view text, double* milli);

}  // namespace gpuwise::sim
