// Table conversion as kube-apiserver v1.31 does it. Each <Kind>Row function below follows print<Kind> in
// kubernetes/kubernetes pkg/printers/internalversion/printers.go; the objects here are v1 JSON rather than internal
// Go types, so where the v1 -> internal conversion fills a field (podIPs from podIP, clusterIPs from clusterIP) or
// v1 defaulting sets one (replicas 1, service type ClusterIP, port protocol TCP) the same value is read here.
#include "sim/kube_tables.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/time_parse.h"
#include "sim/json_read.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

// --- Reading API JSON leniently: a missing or mistyped field reads as Go's zero value. ---

const json& At(const json& j, std::initializer_list<std::string_view> path) { return JsonAt(j, path); }

std::string Str(const json& j) { return JsonString(j); }

std::int64_t Int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number()) return static_cast<std::int64_t>(j.get<double>());
  return 0;
}

bool Bool(const json& j) { return j.is_boolean() && j.get<bool>(); }

// A non-null object field, as Go's `x != nil` on a pointer member.
bool Has(const json& j) { return j.is_object(); }

std::size_t Size(const json& j) { return j.is_array() || j.is_object() ? j.size() : 0; }

const json& Array(const json& j) {
  static const json kEmpty = json::array();
  return j.is_array() ? j : kEmpty;
}

// Go's zero time.Time sorts before every real time.
constexpr std::int64_t kZeroTime = std::numeric_limits<std::int64_t>::min();

// Unix microseconds of an RFC 3339 timestamp (metav1.Time, or MicroTime as events carry), kZeroTime when absent.
std::int64_t TimeUs(const json& j) {
  if (!j.is_string() || j.get_ref<const std::string&>().empty()) return kZeroTime;
  const std::string& text = j.get_ref<const std::string&>();
  auto ms = base::ParseTime(text);
  if (!ms.ok()) return kZeroTime;
  // ParseTime keeps milliseconds; add the fraction's 4th to 6th digits.
  std::int64_t us = *ms * 1000;
  const std::size_t dot = text.find('.');
  if (dot != std::string::npos) {
    std::int64_t scale = 100;
    for (std::size_t i = dot + 4; i < text.size() && i < dot + 7 && std::isdigit(static_cast<unsigned char>(text[i]));
         ++i, scale /= 10) {
      us += (text[i] - '0') * scale;
    }
  }
  return us;
}

// translateTimestampSince: "<unknown>" for a zero time.
std::string Since(const json& timestamp, std::int64_t now_us) {
  const std::int64_t t = TimeUs(timestamp);
  if (t == kZeroTime) return "<unknown>";
  return HumanDuration(std::chrono::microseconds(now_us - t));
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A resource.Quantity or IntOrString as its String(): JSON strings as is, numbers in decimal; a nil *Quantity
// prints "<nil>".
std::string QuantityString(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  return "<nil>";
}

// labels.FormatLabels: "k=v" pairs sorted as strings, "<none>" when empty.
std::string FormatLabels(const json& labels) {
  std::vector<std::string> pairs;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) pairs.push_back(k + "=" + Str(v));
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs.empty() ? "<none>" : Join(pairs, ",");
}

// metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key; nullopt for an invalid selector. A nil
// selector (labels.Nothing) and an empty one (labels.Everything) both print "".
std::optional<std::string> SelectorString(const json& selector) {
  std::vector<std::pair<std::string, std::string>> reqs;  // key, rendered requirement
  if (selector.is_object()) {
    const json& match_labels = At(selector, {"matchLabels"});
    if (match_labels.is_object()) {
      for (const auto& [k, v] : match_labels.items()) reqs.emplace_back(k, k + "=" + Str(v));
    }
    for (const json& expr : Array(At(selector, {"matchExpressions"}))) {
      const std::string key = Str(At(expr, {"key"}));
      const std::string op = Str(At(expr, {"operator"}));
      std::vector<std::string> values;
      for (const json& v : Array(At(expr, {"values"}))) values.push_back(Str(v));
      std::sort(values.begin(), values.end());
      if (op == "In" || op == "NotIn") {
        if (values.empty()) return std::nullopt;
        reqs.emplace_back(key, key + (op == "In" ? " in (" : " notin (") + Join(values, ",") + ")");
      } else if (op == "Exists" || op == "DoesNotExist") {
        if (!values.empty()) return std::nullopt;
        reqs.emplace_back(key, (op == "Exists" ? "" : "!") + key);
      } else {
        return std::nullopt;
      }
    }
  }
  std::stable_sort(reqs.begin(), reqs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> parts;
  for (auto& r : reqs) parts.push_back(std::move(r.second));
  return Join(parts, ",");
}

// metav1.FormatLabelSelector.
std::string FormatLabelSelector(const json& selector) {
  const std::optional<std::string> s = SelectorString(selector);
  if (!s) return "<error>";
  return s->empty() ? "<none>" : *s;
}

// layoutContainerCells: names and images, comma-separated.
std::pair<std::string, std::string> ContainerCells(const json& pod_spec) {
  std::vector<std::string> names, images;
  for (const json& c : Array(At(pod_spec, {"containers"}))) {
    names.push_back(Str(At(c, {"name"})));
    images.push_back(Str(At(c, {"image"})));
  }
  return {Join(names, ","), Join(images, ",")};
}

// printBoolPtr.
std::string BoolPtr(const json& j) {
  if (!j.is_boolean()) return "<unset>";
  return j.get<bool>() ? "True" : "False";
}

// `replicas` of a workload spec: v1 defaulting makes an absent value 1.
std::int64_t Replicas(const json& spec) {
  const json& r = At(spec, {"replicas"});
  return r.is_number() ? Int(r) : 1;
}

std::string Fraction(std::int64_t a, std::int64_t b) { return std::to_string(a) + "/" + std::to_string(b); }

// --- Column definitions: names, types and priorities as in printers.go AddHandlers; descriptions are the
// SwaggerDoc() strings of the k8s.io/api v0.31 fields they name. ---

struct Column {
  std::string_view name;
  std::string_view type;
  std::string_view format;
  std::string_view description;
  int priority;
};

constexpr std::string_view kDocName =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr std::string_view kDocCreated =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It "
    "is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
constexpr std::string_view kDocContainers = "Names of each container in the template.";
constexpr std::string_view kDocImages = "Images referenced by each container in the template.";
constexpr std::string_view kDocSelectorLabelQuery =
    "A label query over pods that should match the pod count. Normally, the system sets this field for you. More "
    "info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr std::string_view kDocDaemonSetSelector =
    "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, "
    "defaulted to labels on Pod template. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr std::string_view kDocReplicaSetSelector =
    "Selector is a label query over pods that should match the replica count. If the selector is empty, it is "
    "defaulted to the labels present on the pod template. Label keys and values that must match in order to be "
    "controlled by this replica set. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr std::string_view kDocAddresses =
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: "
    "https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as mergeable, but the "
    "merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should "
    "instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume "
    "that addresses can change during the lifetime of a Node. However, there are some exceptions where this may "
    "not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward "
    "API (status.hostIP).";

constexpr Column kName{"Name", "string", "name", kDocName, 0};
constexpr Column kAge{"Age", "string", "", kDocCreated, 0};
constexpr Column kContainers{"Containers", "string", "", kDocContainers, 1};
constexpr Column kImages{"Images", "string", "", kDocImages, 1};

const std::vector<Column> kPodColumns = {
    kName,
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last container in this pod "
     "has restarted.",
     0},
    kAge,
    {"IP", "string", "",
     "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1},
    {"Node", "string", "",
     "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by "
     "the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible "
     "for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled "
     "on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
     1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right "
     "away as preemption victims receive their graceful termination periods. This field does not guarantee that "
     "the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become "
     "available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that "
     "is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is "
     "scheduled.",
     1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers "
     "are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: "
     "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
     1},
};

const std::vector<Column> kNodeColumns = {
    kName,
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    kAge,
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "", kDocAddresses, 1},
    {"External-IP", "string", "", kDocAddresses, 1},
    {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
     1},
    {"Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
     1},
    {"Container-Runtime", "string", "",
     "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1},
};

const std::vector<Column> kNamespaceColumns = {kName, {"Status", "string", "", "The status of the namespace", 0}, kAge};

const std::vector<Column> kEventColumns = {
    {"Last Seen", "string", "", "The time at which the most recent occurrence of this event was recorded.", 0},
    {"Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future", 0},
    {"Reason", "string", "",
     "This should be a short, machine understandable string that gives the reason for the transition into the "
     "object's current status.",
     0},
    {"Object", "string", "", "The object that this event is about.", 0},
    {"Subobject", "string", "",
     "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go "
     "field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is "
     "to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" "
     "refers to the name of the container that triggered the event) or if no container name is specified "
     "\"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some "
     "well-defined way of referencing a part of an object.",
     1},
    {"Source", "string", "", "The component reporting this event. Should be a short machine understandable string.", 1},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "",
     "The time at which the event was first recorded. (Time of server receipt is in "
     "TypeMeta.)",
     1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", kDocName, 1},
};

const std::vector<Column> kServiceColumns = {
    kName,
    {"Type", "string", "",
     "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, "
     "NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to "
     "endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an "
     "Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the "
     "endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and "
     "allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds "
     "on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the "
     "same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several "
     "other fields do not apply to ExternalName services. More info: "
     "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
     0},
    {"Cluster-IP", "string", "",
     "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified "
     "manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; "
     "otherwise creation of the service will fail. This field may not be changed through updates unless the type "
     "field is also being changed to ExternalName (which requires this field to be blank) or the type field is "
     "being changed from ExternalName (in which case this field may optionally be specified, as describe above).  "
     "Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a "
     "\"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and "
     "proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is "
     "specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when "
     "updating a Service to type ExternalName. More info: "
     "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
     0},
    {"External-IP", "string", "",
     "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this "
     "service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives "
     "at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes "
     "system.",
     0},
    {"Port(s)", "string", "",
     "The list of ports that are exposed by this service. More info: "
     "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
     0},
    kAge,
    {"Selector", "string", "",
     "Route service traffic to pods with label keys and values matching this selector. If empty or not present, "
     "the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. "
     "Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: "
     "https://kubernetes.io/docs/concepts/services-networking/service/",
     1},
};

const std::vector<Column> kEndpointsColumns = {
    kName,
    {"Endpoints", "string", "",
     "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs "
     "they share. A single address with multiple ports, some of which are ready and some of which are not (because "
     "they come from different containers) will result in the address being displayed in different subsets for the "
     "different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of "
     "addresses and ports that comprise a service.",
     0},
    kAge,
};

const std::vector<Column> kConfigMapColumns = {
    kName,
    {"Data", "string", "",
     "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. "
     "Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap "
     "with the keys in the BinaryData field, this is enforced during validation process.",
     0},
    kAge,
};

const std::vector<Column> kEndpointSliceColumns = {
    kName,
    {"AddressType", "string", "",
     "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be "
     "the same type. This field is immutable after creation. The following address types are currently supported: "
     "* IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified "
     "Domain Name.",
     0},
    {"Ports", "string", "",
     "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a "
     "unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a "
     "nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
     0},
    {"Endpoints", "string", "",
     "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.", 0},
    kAge,
};

const std::vector<Column> kDeploymentColumns = {
    kName,
    {"Ready", "string", "", "Number of the pod with ready state", 0},
    {"Up-to-date", "string", "",
     "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0},
    {"Available", "string", "",
     "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0},
    kAge,
    kContainers,
    kImages,
    {"Selector", "string", "",
     "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by "
     "this deployment.",
     1},
};

const std::vector<Column> kStatefulSetColumns = {
    kName, {"Ready", "string", "", "Number of the pod with ready state", 0}, kAge, kContainers, kImages};

const std::vector<Column> kReplicaSetColumns = {
    kName,
    {"Desired", "integer", "",
     "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and "
     "unspecified. Defaults to 1. More info: "
     "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
     0},
    {"Current", "integer", "",
     "Replicas is the most recently observed number of replicas. More info: "
     "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
     0},
    {"Ready", "integer", "", "The number of ready replicas for this replica set.", 0},
    kAge,
    kContainers,
    kImages,
    {"Selector", "string", "", kDocReplicaSetSelector, 1},
};

const std::vector<Column> kDaemonSetColumns = {
    kName,
    {"Desired", "integer", "",
     "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon "
     "pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0},
    {"Current", "integer", "",
     "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: "
     "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0},
    {"Ready", "integer", "",
     "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and "
     "ready.",
     0},
    {"Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod", 0},
    {"Available", "integer", "",
     "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and "
     "available (ready for at least spec.minReadySeconds)",
     0},
    {"Node Selector", "string", "",
     "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a "
     "node's labels for the pod to be scheduled on that node. More info: "
     "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
     0},
    kAge,
    kContainers,
    kImages,
    {"Selector", "string", "", kDocDaemonSetSelector, 1},
};

const std::vector<Column> kJobColumns = {
    kName,
    {"Status", "string", "", "Status of the job.", 0},
    {"Completions", "string", "",
     "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. "
     "However, it may decrease in reaction to scale down of elastic indexed jobs.",
     0},
    {"Duration", "string", "", "Time required to complete the job.", 0},
    kAge,
    kContainers,
    kImages,
    {"Selector", "string", "", kDocSelectorLabelQuery, 1},
};

const std::vector<Column> kCronJobColumns = {
    kName,
    {"Schedule", "string", "", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", 0},
    {"Timezone", "string", "",
     "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. "
     "If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid "
     "time zone names and the time zone offset is loaded from the system-wide time zone database by the API server "
     "during CronJob validation and the controller manager during execution. If no system-wide time zone database "
     "can be found a bundled version of the database is used instead. If the time zone name becomes invalid during "
     "the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new "
     "Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in "
     "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
     0},
    {"Suspend", "boolean", "",
     "This flag tells the controller to suspend subsequent executions, it does not apply to already started "
     "executions.  Defaults to false.",
     0},
    {"Active", "integer", "", "A list of pointers to currently running jobs.", 0},
    {"Last Schedule", "string", "", "Information when was the last time the job was successfully scheduled.", 0},
    kAge,
    kContainers,
    kImages,
    {"Selector", "string", "", kDocSelectorLabelQuery, 1},
};

const std::vector<Column> kHpaColumns = {
    kName,
    {"Reference", "string", "",
     "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be "
     "collected, as well as to actually change the replica count.",
     0},
    {"Targets", "string", "",
     "metrics contains the specifications for which to use to calculate the desired replica count (the maximum "
     "replica count across all metrics will be used).  The desired replica count is calculated multiplying the "
     "ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must "
     "decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more "
     "information about how each type of metric must respond.",
     0},
    {"MinPods", "string", "",
     "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It "
     "defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at "
     "least one Object or External metric is configured.  Scaling is active as long as at least one metric value is "
     "available.",
     0},
    {"MaxPods", "string", "",
     "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be "
     "less that minReplicas.",
     0},
    {"Replicas", "string", "",
     "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the "
     "autoscaler.",
     0},
    kAge,
};

const std::vector<Column> kPdbColumns = {
    kName,
    {"Min Available", "string", "", "The minimum number of pods that must be available.", 0},
    {"Max Unavailable", "string", "", "The maximum number of pods that may be unavailable.", 0},
    {"Allowed Disruptions", "integer", "", "Calculated number of pods that may be disrupted at this time.", 0},
    kAge,
};

const std::vector<Column> kLeaseColumns = {
    kName,
    {"Holder", "string", "",
     "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is "
     "used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
     0},
    kAge,
};

// apiserver pkg/registry/rest/table.go defaultTableConvertor.
const std::vector<Column> kDefaultColumns = {kName, {"Created At", "date", "", kDocCreated, 0}};

// --- Rows. Each returns {"cells": [...]} (plus "conditions" for finished pods); now is Unix microseconds. ---

std::string Name(const json& obj) { return Str(At(obj, {"metadata", "name"})); }
std::string Age(const json& obj, std::int64_t now_us) {
  return Since(At(obj, {"metadata", "creationTimestamp"}), now_us);
}
bool Deleting(const json& obj) { return !At(obj, {"metadata", "deletionTimestamp"}).is_null(); }

json PodRow(const json& pod, std::int64_t now_us) {
  const json& spec = At(pod, {"spec"});
  const json& status = At(pod, {"status"});
  std::int64_t restarts = 0;
  std::int64_t sidecar_restarts = 0;
  std::int64_t total = static_cast<std::int64_t>(Size(At(spec, {"containers"})));
  std::int64_t ready = 0;
  std::int64_t last_restart = kZeroTime;
  std::int64_t last_sidecar_restart = kZeroTime;

  const std::string phase = Str(At(status, {"phase"}));
  std::string reason = phase;
  if (!Str(At(status, {"reason"})).empty()) reason = Str(At(status, {"reason"}));
  for (const json& c : Array(At(status, {"conditions"}))) {
    if (Str(At(c, {"type"})) == "PodScheduled" && Str(At(c, {"reason"})) == "SchedulingGated") {
      reason = "SchedulingGated";
    }
  }
  json row = {{"cells", json::array()}};
  if (phase == "Succeeded" || phase == "Failed") {
    row["conditions"] =
        json::array({{{"type", "Completed"},
                      {"status", "True"},
                      {"reason", phase},
                      {"message", phase == "Succeeded" ? "The pod has completed successfully." : "The pod failed."}}});
  }

  // Sidecars: init containers with restartPolicy Always count as containers of the pod.
  std::set<std::string> sidecars;
  const json& init_specs = Array(At(spec, {"initContainers"}));
  for (const json& c : init_specs) {
    if (Str(At(c, {"restartPolicy"})) == "Always") {
      sidecars.insert(Str(At(c, {"name"})));
      ++total;
    }
  }

  bool initializing = false;
  const json& init_statuses = Array(At(status, {"initContainerStatuses"}));
  for (std::size_t i = 0; i < init_statuses.size(); ++i) {
    const json& c = init_statuses[i];
    const bool sidecar = sidecars.count(Str(At(c, {"name"}))) > 0;
    restarts += Int(At(c, {"restartCount"}));
    const json& last_terminated = At(c, {"lastState", "terminated"});
    if (Has(last_terminated)) {
      last_restart = std::max(last_restart, TimeUs(At(last_terminated, {"finishedAt"})));
      if (sidecar) last_sidecar_restart = std::max(last_sidecar_restart, TimeUs(At(last_terminated, {"finishedAt"})));
    }
    if (sidecar) sidecar_restarts += Int(At(c, {"restartCount"}));
    const json& terminated = At(c, {"state", "terminated"});
    const json& waiting = At(c, {"state", "waiting"});
    if (Has(terminated) && Int(At(terminated, {"exitCode"})) == 0) continue;
    if (sidecar && Bool(At(c, {"started"}))) {
      if (Bool(At(c, {"ready"}))) ++ready;
      continue;
    }
    if (Has(terminated)) {
      const std::string r = Str(At(terminated, {"reason"}));
      if (!r.empty()) {
        reason = "Init:" + r;
      } else if (Int(At(terminated, {"signal"})) != 0) {
        reason = "Init:Signal:" + std::to_string(Int(At(terminated, {"signal"})));
      } else {
        reason = "Init:ExitCode:" + std::to_string(Int(At(terminated, {"exitCode"})));
      }
    } else if (Has(waiting) && !Str(At(waiting, {"reason"})).empty() &&
               Str(At(waiting, {"reason"})) != "PodInitializing") {
      reason = "Init:" + Str(At(waiting, {"reason"}));
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_specs.size());
    }
    initializing = true;
    break;
  }

  bool initialized = false;  // isPodInitializedConditionTrue: the first Initialized condition decides.
  for (const json& c : Array(At(status, {"conditions"}))) {
    if (Str(At(c, {"type"})) == "Initialized") {
      initialized = Str(At(c, {"status"})) == "True";
      break;
    }
  }
  if (!initializing || initialized) {
    restarts = sidecar_restarts;
    last_restart = last_sidecar_restart;
    bool has_running = false;
    const json& statuses = Array(At(status, {"containerStatuses"}));
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const json& c = *it;
      restarts += Int(At(c, {"restartCount"}));
      const json& last_terminated = At(c, {"lastState", "terminated"});
      if (Has(last_terminated)) last_restart = std::max(last_restart, TimeUs(At(last_terminated, {"finishedAt"})));
      const json& waiting = At(c, {"state", "waiting"});
      const json& terminated = At(c, {"state", "terminated"});
      if (Has(waiting) && !Str(At(waiting, {"reason"})).empty()) {
        reason = Str(At(waiting, {"reason"}));
      } else if (Has(terminated) && !Str(At(terminated, {"reason"})).empty()) {
        reason = Str(At(terminated, {"reason"}));
      } else if (Has(terminated)) {
        reason = Int(At(terminated, {"signal"})) != 0 ? "Signal:" + std::to_string(Int(At(terminated, {"signal"})))
                                                      : "ExitCode:" + std::to_string(Int(At(terminated, {"exitCode"})));
      } else if (Bool(At(c, {"ready"})) && Has(At(c, {"state", "running"}))) {
        has_running = true;
        ++ready;
      }
    }
    // A pod whose last container completed while another still runs is shown by its readiness.
    if (reason == "Completed" && has_running) {
      bool pod_ready = false;
      for (const json& c : Array(At(status, {"conditions"}))) {
        if (Str(At(c, {"type"})) == "Ready" && Str(At(c, {"status"})) == "True") pod_ready = true;
      }
      reason = pod_ready ? "Running" : "NotReady";
    }
  }

  if (Deleting(pod) && Str(At(status, {"reason"})) == "NodeLost") {
    reason = "Unknown";
  } else if (Deleting(pod) && phase != "Succeeded" && phase != "Failed") {
    reason = "Terminating";
  }

  std::string restarts_cell = std::to_string(restarts);
  if (restarts != 0 && last_restart != kZeroTime) {
    restarts_cell += " (" + HumanDuration(std::chrono::microseconds(now_us - last_restart)) + " ago)";
  }

  // The v1 -> internal conversion puts status.podIP first in podIPs when it is set.
  std::string ip = Str(At(status, {"podIP"}));
  const json& pod_ips = Array(At(status, {"podIPs"}));
  if (ip.empty() && !pod_ips.empty()) ip = Str(At(pod_ips[0], {"ip"}));
  std::string node = Str(At(spec, {"nodeName"}));
  std::string nominated = Str(At(status, {"nominatedNodeName"}));
  std::string gates = "<none>";
  const json& readiness_gates = Array(At(spec, {"readinessGates"}));
  if (!readiness_gates.empty()) {
    int true_conditions = 0;
    for (const json& gate : readiness_gates) {
      for (const json& c : Array(At(status, {"conditions"}))) {
        if (Str(At(c, {"type"})) == Str(At(gate, {"conditionType"}))) {
          if (Str(At(c, {"status"})) == "True") ++true_conditions;
          break;
        }
      }
    }
    gates = Fraction(true_conditions, static_cast<std::int64_t>(readiness_gates.size()));
  }
  row["cells"] = {Name(pod),
                  Fraction(ready, total),
                  reason,
                  restarts_cell,
                  Age(pod, now_us),
                  ip.empty() ? "<none>" : ip,
                  node.empty() ? "<none>" : node,
                  nominated.empty() ? "<none>" : nominated,
                  gates};
  return row;
}

json NodeRow(const json& node, std::int64_t now_us) {
  // Only the Ready condition shows; the last one of that type wins, as in printNode's condition map.
  std::vector<std::string> status;
  const json* ready = nullptr;
  for (const json& c : Array(At(node, {"status", "conditions"}))) {
    if (Str(At(c, {"type"})) == "Ready") ready = &c;
  }
  if (ready != nullptr) status.push_back(Str(At(*ready, {"status"})) == "True" ? "Ready" : "NotReady");
  if (status.empty()) status.push_back("Unknown");
  if (Bool(At(node, {"spec", "unschedulable"}))) status.push_back("SchedulingDisabled");

  std::set<std::string> roles;  // findNodeRoles: sorted, deduplicated.
  const json& labels = At(node, {"metadata", "labels"});
  if (labels.is_object()) {
    constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
    for (const auto& [k, v] : labels.items()) {
      if (k.rfind(kRolePrefix, 0) == 0) {
        if (k.size() > kRolePrefix.size()) roles.insert(k.substr(kRolePrefix.size()));
      } else if (k == "kubernetes.io/role" && !Str(v).empty()) {
        roles.insert(Str(v));
      }
    }
  }
  const std::string role_list = Join(std::vector<std::string>(roles.begin(), roles.end()), ",");

  auto address = [&](std::string_view type) -> std::string {
    for (const json& a : Array(At(node, {"status", "addresses"}))) {
      if (Str(At(a, {"type"})) == type) return Str(At(a, {"address"}));
    }
    return "<none>";
  };
  auto info = [&](std::string_view field) {
    std::string v = Str(At(At(node, {"status", "nodeInfo"}), {field}));
    return v.empty() ? std::string("<unknown>") : v;
  };
  return {{"cells",
           {Name(node), Join(status, ","), role_list.empty() ? "<none>" : role_list, Age(node, now_us),
            Str(At(node, {"status", "nodeInfo", "kubeletVersion"})), address("InternalIP"), address("ExternalIP"),
            info("osImage"), info("kernelVersion"), info("containerRuntimeVersion")}}};
}

json NamespaceRow(const json& ns, std::int64_t now_us) {
  return {{"cells", {Name(ns), Str(At(ns, {"status", "phase"})), Age(ns, now_us)}}};
}

// formatEventSource: component (or reportingComponent), then ", host" (or reportingInstance) when set.
std::string EventSource(const json& event) {
  std::string component = Str(At(event, {"source", "component"}));
  if (component.empty()) component = Str(At(event, {"reportingComponent"}));
  std::string host = Str(At(event, {"source", "host"}));
  if (host.empty()) host = Str(At(event, {"reportingInstance"}));
  return host.empty() ? component : component + ", " + host;
}

std::string TrimSpace(const std::string& s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

json EventRow(const json& event, std::int64_t now_us) {
  std::string first_seen = Since(At(event, {"firstTimestamp"}), now_us);
  if (TimeUs(At(event, {"firstTimestamp"})) == kZeroTime) first_seen = Since(At(event, {"eventTime"}), now_us);
  std::string last_seen = Since(At(event, {"lastTimestamp"}), now_us);
  if (TimeUs(At(event, {"lastTimestamp"})) == kZeroTime) last_seen = first_seen;
  std::int64_t count = Int(At(event, {"count"}));
  if (Has(At(event, {"series"}))) {
    last_seen = Since(At(event, {"series", "lastObservedTime"}), now_us);
    count = Int(At(event, {"series", "count"}));
  } else if (count == 0) {
    count = 1;  // Singleton events of the events.k8s.io API have no count.
  }
  const std::string kind = Lower(Str(At(event, {"involvedObject", "kind"})));
  const std::string target_name = Str(At(event, {"involvedObject", "name"}));
  const std::string target = target_name.empty() ? kind : kind + "/" + target_name;
  return {{"cells",
           {last_seen, Str(At(event, {"type"})), Str(At(event, {"reason"})), target,
            Str(At(event, {"involvedObject", "fieldPath"})), EventSource(event), TrimSpace(Str(At(event, {"message"}))),
            first_seen, count, Name(event)}}};
}

// getServiceExternalIP with wide=true (the server always generates the wide form, so load-balancer addresses are
// not clipped).
std::string ServiceExternalIp(const json& svc, const std::string& type) {
  std::vector<std::string> external_ips;
  for (const json& ip : Array(At(svc, {"spec", "externalIPs"}))) external_ips.push_back(Str(ip));
  if (type == "ClusterIP" || type == "NodePort") return external_ips.empty() ? "<none>" : Join(external_ips, ",");
  if (type == "LoadBalancer") {
    std::set<std::string> lb;  // sets.NewString().List(): sorted and unique.
    for (const json& ing : Array(At(svc, {"status", "loadBalancer", "ingress"}))) {
      if (!Str(At(ing, {"ip"})).empty()) {
        lb.insert(Str(At(ing, {"ip"})));
      } else if (!Str(At(ing, {"hostname"})).empty()) {
        lb.insert(Str(At(ing, {"hostname"})));
      }
    }
    std::vector<std::string> all(lb.begin(), lb.end());
    all.insert(all.end(), external_ips.begin(), external_ips.end());
    return all.empty() ? "<pending>" : Join(all, ",");
  }
  if (type == "ExternalName") return Str(At(svc, {"spec", "externalName"}));
  return "<unknown>";
}

json ServiceRow(const json& svc, std::int64_t now_us) {
  const json& spec = At(svc, {"spec"});
  std::string type = Str(At(spec, {"type"}));
  if (type.empty()) type = "ClusterIP";
  std::string cluster_ip = Str(At(spec, {"clusterIP"}));
  if (cluster_ip.empty() && !Array(At(spec, {"clusterIPs"})).empty()) cluster_ip = Str(At(spec, {"clusterIPs"})[0]);
  std::vector<std::string> ports;
  for (const json& p : Array(At(spec, {"ports"}))) {
    std::string protocol = Str(At(p, {"protocol"}));
    if (protocol.empty()) protocol = "TCP";
    const std::int64_t node_port = Int(At(p, {"nodePort"}));
    ports.push_back(std::to_string(Int(At(p, {"port"}))) + (node_port > 0 ? ":" + std::to_string(node_port) : "") +
                    "/" + protocol);
  }
  return {{"cells",
           {Name(svc), type, cluster_ip.empty() ? "<none>" : cluster_ip, ServiceExternalIp(svc, type),
            ports.empty() ? "<none>" : Join(ports, ","), Age(svc, now_us), FormatLabels(At(spec, {"selector"}))}}};
}

std::string JoinHostPort(const std::string& host, std::int64_t port) {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

// formatEndpoints with ports=nil: up to 3 addresses (host:port per port), then " + N more...".
std::string FormatEndpoints(const json& endpoints) {
  const json& subsets = Array(At(endpoints, {"subsets"}));
  if (subsets.empty()) return "<none>";
  constexpr std::size_t kMax = 3;
  std::vector<std::string> list;
  bool more = false;
  std::size_t count = 0;
  for (const json& ss : subsets) {
    const json& addresses = Array(At(ss, {"addresses"}));
    const json& ports = Array(At(ss, {"ports"}));
    if (ports.empty()) {  // Headless services with no ports.
      count += addresses.size();
      for (const json& a : addresses) {
        if (list.size() == kMax) {
          more = true;
          break;
        }
        list.push_back(Str(At(a, {"ip"})));
      }
      continue;
    }
    for (const json& port : ports) {
      count += addresses.size();
      for (const json& a : addresses) {
        if (list.size() == kMax) {
          more = true;
          break;
        }
        list.push_back(JoinHostPort(Str(At(a, {"ip"})), Int(At(port, {"port"}))));
      }
    }
  }
  std::string ret = Join(list, ",");
  if (more) ret += " + " + std::to_string(count - kMax) + " more...";
  return ret;
}

json EndpointsRow(const json& ep, std::int64_t now_us) {
  return {{"cells", {Name(ep), FormatEndpoints(ep), Age(ep, now_us)}}};
}

// listWithMoreString: at most 3 entries, "<unset>" when there are none.
std::string ListWithMore(const std::vector<std::string>& all) {
  constexpr std::size_t kMax = 3;
  if (all.empty()) return "<unset>";
  std::vector<std::string> shown(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(kMax, all.size())));
  std::string ret = Join(shown, ",");
  if (all.size() > kMax) ret += " + " + std::to_string(all.size() - kMax) + " more...";
  return ret;
}

json EndpointSliceRow(const json& slice, std::int64_t now_us) {
  std::vector<std::string> ports;
  for (const json& p : Array(At(slice, {"ports"}))) {
    if (At(p, {"port"}).is_number()) {
      ports.push_back(std::to_string(Int(At(p, {"port"}))));
    } else if (At(p, {"name"}).is_string()) {
      ports.push_back(Str(At(p, {"name"})));
    } else {
      ports.push_back("*");
    }
  }
  std::vector<std::string> addresses;
  for (const json& e : Array(At(slice, {"endpoints"}))) {
    for (const json& a : Array(At(e, {"addresses"}))) addresses.push_back(Str(a));
  }
  return {{"cells",
           {Name(slice), Str(At(slice, {"addressType"})), ListWithMore(ports), ListWithMore(addresses),
            Age(slice, now_us)}}};
}

json ConfigMapRow(const json& cm, std::int64_t now_us) {
  const auto n = static_cast<std::int64_t>(Size(At(cm, {"data"})) + Size(At(cm, {"binaryData"})));
  return {{"cells", {Name(cm), n, Age(cm, now_us)}}};
}

json DeploymentRow(const json& d, std::int64_t now_us) {
  const json& status = At(d, {"status"});
  const auto [names, images] = ContainerCells(At(d, {"spec", "template", "spec"}));
  const std::optional<std::string> selector = SelectorString(At(d, {"spec", "selector"}));
  return {{"cells",
           {Name(d), Fraction(Int(At(status, {"readyReplicas"})), Replicas(At(d, {"spec"}))),
            Int(At(status, {"updatedReplicas"})), Int(At(status, {"availableReplicas"})), Age(d, now_us), names, images,
            selector ? *selector : "<invalid>"}}};
}

json StatefulSetRow(const json& s, std::int64_t now_us) {
  const auto [names, images] = ContainerCells(At(s, {"spec", "template", "spec"}));
  return {{"cells",
           {Name(s), Fraction(Int(At(s, {"status", "readyReplicas"})), Replicas(At(s, {"spec"}))), Age(s, now_us),
            names, images}}};
}

json ReplicaSetRow(const json& rs, std::int64_t now_us) {
  const auto [names, images] = ContainerCells(At(rs, {"spec", "template", "spec"}));
  return {{"cells",
           {Name(rs), Replicas(At(rs, {"spec"})), Int(At(rs, {"status", "replicas"})),
            Int(At(rs, {"status", "readyReplicas"})), Age(rs, now_us), names, images,
            FormatLabelSelector(At(rs, {"spec", "selector"}))}}};
}

json DaemonSetRow(const json& ds, std::int64_t now_us) {
  const json& status = At(ds, {"status"});
  const auto [names, images] = ContainerCells(At(ds, {"spec", "template", "spec"}));
  return {{"cells",
           {Name(ds), Int(At(status, {"desiredNumberScheduled"})), Int(At(status, {"currentNumberScheduled"})),
            Int(At(status, {"numberReady"})), Int(At(status, {"updatedNumberScheduled"})),
            Int(At(status, {"numberAvailable"})), FormatLabels(At(ds, {"spec", "template", "spec", "nodeSelector"})),
            Age(ds, now_us), names, images, FormatLabelSelector(At(ds, {"spec", "selector"}))}}};
}

// hasJobCondition: the first condition of the type decides.
bool JobCondition(const json& job, std::string_view type) {
  for (const json& c : Array(At(job, {"status", "conditions"}))) {
    if (Str(At(c, {"type"})) == type) return Str(At(c, {"status"})) == "True";
  }
  return false;
}

json JobRow(const json& job, std::int64_t now_us) {
  const json& spec = At(job, {"spec"});
  const json& status = At(job, {"status"});
  const std::int64_t succeeded = Int(At(status, {"succeeded"}));
  std::string completions;
  if (At(spec, {"completions"}).is_number()) {
    completions = Fraction(succeeded, Int(At(spec, {"completions"})));
  } else {
    const std::int64_t parallelism = Int(At(spec, {"parallelism"}));
    completions = std::to_string(succeeded) + "/1" + (parallelism > 1 ? " of " + std::to_string(parallelism) : "");
  }
  std::string duration;
  const std::int64_t start = TimeUs(At(status, {"startTime"}));
  const std::int64_t completion = TimeUs(At(status, {"completionTime"}));
  if (start != kZeroTime) {
    duration = HumanDuration(std::chrono::microseconds((completion == kZeroTime ? now_us : completion) - start));
  }
  std::string state = "Running";
  if (JobCondition(job, "Complete")) {
    state = "Complete";
  } else if (JobCondition(job, "Failed")) {
    state = "Failed";
  } else if (Deleting(job)) {
    state = "Terminating";
  } else if (JobCondition(job, "Suspended")) {
    state = "Suspended";
  } else if (JobCondition(job, "FailureTarget")) {
    state = "FailureTarget";
  }
  const auto [names, images] = ContainerCells(At(spec, {"template", "spec"}));
  return {{"cells",
           {Name(job), state, completions, duration, Age(job, now_us), names, images,
            FormatLabelSelector(At(spec, {"selector"}))}}};
}

json CronJobRow(const json& cj, std::int64_t now_us) {
  const json& spec = At(cj, {"spec"});
  const json& last = At(cj, {"status", "lastScheduleTime"});
  const std::string time_zone = Str(At(spec, {"timeZone"}));
  const auto [names, images] = ContainerCells(At(spec, {"jobTemplate", "spec", "template", "spec"}));
  return {{"cells",
           {Name(cj), Str(At(spec, {"schedule"})), At(spec, {"timeZone"}).is_string() ? time_zone : "<none>",
            BoolPtr(At(spec, {"suspend"})), static_cast<std::int64_t>(Size(At(cj, {"status", "active"}))),
            last.is_null() ? "<none>" : Since(last, now_us), Age(cj, now_us), names, images,
            FormatLabelSelector(At(spec, {"jobTemplate", "spec", "selector"}))}}};
}

// One metric of formatHPAMetrics. `current` is the matching entry of status.currentMetrics (or null).
std::string HpaMetric(const json& spec, const json& current) {
  const std::string type = Str(At(spec, {"type"}));
  auto utilization = [](const json& j) { return j.is_number() ? std::to_string(Int(j)) + "%" : std::string(); };
  if (type == "External" || type == "Object") {
    const std::string source = type == "External" ? "external" : "object";
    const json& target = At(spec, {source, "target"});
    const json& cur = At(current, {source});
    if (!At(target, {"averageValue"}).is_null()) {
      const json& v = At(cur, {"current", "averageValue"});
      return (v.is_null() ? "<unknown>" : QuantityString(v)) + "/" + QuantityString(At(target, {"averageValue"})) +
             " (avg)";
    }
    return (Has(cur) ? QuantityString(At(cur, {"current", "value"})) : "<unknown>") + "/" +
           QuantityString(At(target, {"value"}));
  }
  if (type == "Pods") {
    const json& cur = At(current, {"pods"});
    return (Has(cur) ? QuantityString(At(cur, {"current", "averageValue"})) : "<unknown>") + "/" +
           QuantityString(At(spec, {"pods", "target", "averageValue"}));
  }
  if (type == "Resource" || type == "ContainerResource") {
    const std::string source = type == "Resource" ? "resource" : "containerResource";
    const json& target = At(spec, {source, "target"});
    const json& cur = At(current, {source});
    const std::string name = Str(At(spec, {source, "name"}));
    if (!At(target, {"averageValue"}).is_null()) {
      return name + ": " + (Has(cur) ? QuantityString(At(cur, {"current", "averageValue"})) : "<unknown>") + "/" +
             QuantityString(At(target, {"averageValue"}));
    }
    std::string cur_text = utilization(At(cur, {"current", "averageUtilization"}));
    std::string target_text = utilization(At(target, {"averageUtilization"}));
    return name + ": " + (cur_text.empty() ? "<unknown>" : cur_text) + "/" +
           (target_text.empty() ? "<auto>" : target_text);
  }
  return "<unknown type>";
}

json HpaRow(const json& hpa, std::int64_t now_us) {
  const json& spec = At(hpa, {"spec"});
  const json& status = At(hpa, {"status"});
  json metrics = Array(At(spec, {"metrics"}));
  json current = Array(At(status, {"currentMetrics"}));
  // An autoscaling/v1 object converts its CPU target into one Resource metric.
  if (At(spec, {"targetCPUUtilizationPercentage"}).is_number()) {
    metrics = json::array(
        {{{"type", "Resource"},
          {"resource",
           {{"name", "cpu"},
            {"target",
             {{"type", "Utilization"}, {"averageUtilization", At(spec, {"targetCPUUtilizationPercentage"})}}}}}}});
    if (At(status, {"currentCPUUtilizationPercentage"}).is_number()) {
      current =
          json::array({{{"type", "Resource"},
                        {"resource",
                         {{"name", "cpu"},
                          {"current", {{"averageUtilization", At(status, {"currentCPUUtilizationPercentage"})}}}}}}});
    }
  }
  std::string targets = "<none>";
  if (!metrics.empty()) {
    constexpr std::size_t kMax = 2;
    std::vector<std::string> list;
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      list.push_back(HpaMetric(metrics[i], i < current.size() ? current[i] : json()));
    }
    const std::size_t count = list.size();
    if (count > kMax) list.resize(kMax);
    targets = Join(list, ", ");
    if (count > kMax) targets += " + " + std::to_string(count - kMax) + " more...";
  }
  const json& min = At(spec, {"minReplicas"});
  return {{"cells",
           {Name(hpa), Str(At(spec, {"scaleTargetRef", "kind"})) + "/" + Str(At(spec, {"scaleTargetRef", "name"})),
            targets, min.is_number() ? std::to_string(Int(min)) : "<unset>", Int(At(spec, {"maxReplicas"})),
            Int(At(status, {"currentReplicas"})), Age(hpa, now_us)}}};
}

json PdbRow(const json& pdb, std::int64_t now_us) {
  const json& min = At(pdb, {"spec", "minAvailable"});
  const json& max = At(pdb, {"spec", "maxUnavailable"});
  return {{"cells",
           {Name(pdb), min.is_null() ? "N/A" : QuantityString(min), max.is_null() ? "N/A" : QuantityString(max),
            Int(At(pdb, {"status", "disruptionsAllowed"})), Age(pdb, now_us)}}};
}

json LeaseRow(const json& lease, std::int64_t now_us) {
  return {{"cells", {Name(lease), Str(At(lease, {"spec", "holderIdentity"})), Age(lease, now_us)}}};
}

// Created At: the creation time in UTC, RFC 3339 at second precision (Go's zero time when unset).
json DefaultRow(const json& obj, std::int64_t /*now_us*/) {
  const std::int64_t t = TimeUs(At(obj, {"metadata", "creationTimestamp"}));
  const std::int64_t secs = t == kZeroTime ? 0 : (t >= 0 ? t : t - 999'999) / 1'000'000;  // Floor.
  return {{"cells", {Name(obj), t == kZeroTime ? "0001-01-01T00:00:00Z" : base::FormatTime(secs * 1000)}}};
}

struct Printer {
  std::string_view resource;
  const std::vector<Column>* columns;
  json (*row)(const json&, std::int64_t);
};

const Printer kPrinters[] = {
    {"pods", &kPodColumns, PodRow},
    {"nodes", &kNodeColumns, NodeRow},
    {"namespaces", &kNamespaceColumns, NamespaceRow},
    {"events", &kEventColumns, EventRow},
    {"services", &kServiceColumns, ServiceRow},
    {"endpoints", &kEndpointsColumns, EndpointsRow},
    {"configmaps", &kConfigMapColumns, ConfigMapRow},
    {"endpointslices", &kEndpointSliceColumns, EndpointSliceRow},
    {"deployments", &kDeploymentColumns, DeploymentRow},
    {"statefulsets", &kStatefulSetColumns, StatefulSetRow},
    {"replicasets", &kReplicaSetColumns, ReplicaSetRow},
    {"daemonsets", &kDaemonSetColumns, DaemonSetRow},
    {"jobs", &kJobColumns, JobRow},
    {"cronjobs", &kCronJobColumns, CronJobRow},
    {"horizontalpodautoscalers", &kHpaColumns, HpaRow},
    {"poddisruptionbudgets", &kPdbColumns, PdbRow},
    {"leases", &kLeaseColumns, LeaseRow},
};

}  // namespace

base::Result<IncludeObject> ParseIncludeObject(std::string_view value) {
  if (value.empty() || value == "Metadata") return IncludeObject::kMetadata;
  if (value == "None") return IncludeObject::kNone;
  if (value == "Object") return IncludeObject::kObject;
  return base::InvalidArgument("unrecognized includeObject value: \"" + std::string(value) + "\"");
}

std::string HumanDuration(std::chrono::microseconds d) {
  // Integer division truncates toward zero as Go's int(d.Seconds()) and d / time.Minute do.
  const std::int64_t us = d.count();
  const std::int64_t seconds = us / 1'000'000;
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const std::int64_t minutes = us / 60'000'000;
  if (minutes < 10) {
    const std::int64_t s = seconds % 60;
    return std::to_string(minutes) + "m" + (s == 0 ? "" : std::to_string(s) + "s");
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const std::int64_t hours = minutes / 60;
  if (hours < 8) {
    const std::int64_t m = minutes % 60;
    return std::to_string(hours) + "h" + (m == 0 ? "" : std::to_string(m) + "m");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const std::int64_t h = hours % 24;
    return std::to_string(hours / 24) + "d" + (h == 0 ? "" : std::to_string(h) + "h");
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const std::int64_t dy = (hours / 24) % 365;
    return std::to_string(hours / 24 / 365) + "y" + (dy == 0 ? "" : std::to_string(dy) + "d");
  }
  return std::to_string(hours / 24 / 365) + "y";
}

json KubeTable(std::string_view resource, const std::vector<const json*>& objects, IncludeObject include,
               bool with_headers, std::int64_t now_unix_s) {
  const Printer* printer = nullptr;
  for (const Printer& p : kPrinters) {
    if (p.resource == resource) printer = &p;
  }
  const std::vector<Column>& columns = printer != nullptr ? *printer->columns : kDefaultColumns;
  auto row_fn = printer != nullptr ? printer->row : DefaultRow;

  json table = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", json::object()}};
  json& defs = table["columnDefinitions"];  // null without headers, as the Go nil slice encodes.
  if (with_headers) {
    defs = json::array();
    for (const Column& c : columns) {
      defs.push_back({{"name", c.name},
                      {"type", c.type},
                      {"format", c.format},
                      {"description", c.description},
                      {"priority", c.priority}});
    }
  }
  // The printers build their rows with make([]TableRow, 0, n); the default convertor appends to a nil slice.
  json& rows = table["rows"];
  if (printer != nullptr || !objects.empty()) rows = json::array();
  const std::int64_t now_us = now_unix_s * 1'000'000;
  for (const json* obj : objects) {
    json row = row_fn(*obj, now_us);
    switch (include) {
      case IncludeObject::kNone:
        row["object"] = nullptr;
        break;
      case IncludeObject::kMetadata:
        row["object"] = {{"kind", "PartialObjectMetadata"},
                         {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", At(*obj, {"metadata"}).is_object() ? At(*obj, {"metadata"}) : json::object()}};
        break;
      case IncludeObject::kObject:
        row["object"] = *obj;
        break;
    }
    rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace gpuwise::sim
