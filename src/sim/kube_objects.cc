#include "sim/kube_objects.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/time_parse.h"

namespace gpuwise::sim {
using nlohmann::json;

std::string SimTimestamp(const World& world, double t) {
  const double unix_s = world.options.epoch_unix_s + std::floor(t);
  return base::FormatTime(static_cast<std::int64_t>(unix_s) * 1000);
}

namespace {


json Meta(const World& world, const ObjectMeta& m) {
  json meta = {{"name", m.name}, {"uid", m.uid}, {"creationTimestamp", SimTimestamp(world, m.created_s)}};
  if (!m.namespace_name.empty()) meta["namespace"] = m.namespace_name;
  if (!m.labels.empty()) meta["labels"] = m.labels;
  if (!m.annotations.empty()) meta["annotations"] = m.annotations;
  // One resourceVersion per object, stable for its life: the uid's hash (the API server's store versions
  // changes).
  meta["resourceVersion"] = std::to_string(HashString(m.uid) % 1000000000ULL + 1);
  return meta;
}

}  // namespace

json NodeObject(const Simulator& sim, int index) {
  const World& world = sim.world();
  const SimNode& node = world.nodes[static_cast<std::size_t>(index)];
  json status = {{"capacity", node.capacity}, {"allocatable", node.capacity},
                 {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"},
                                              {"message", "kubelet is posting ready status"}}})},
                 {"nodeInfo", {{"kubeletVersion", "v1.31.2"}, {"containerRuntimeVersion", "containerd://1.7.22"},
                               {"operatingSystem", "linux"}, {"architecture", "amd64"}}}};
  return {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", Meta(world, node.meta)}, {"spec", json::object()},
          {"status", status}};
}

json PodObject(const Simulator& sim, int index) {
  const World& world = sim.world();
  const SimPod& pod = world.pods[static_cast<std::size_t>(index)];
  const PodRuntime& rt = sim.pod(index);
  json meta = Meta(world, pod.meta);
  meta["ownerReferences"] = json::array({{{"apiVersion", pod.owner.api_version},
                                          {"kind", pod.owner.kind},
                                          {"name", pod.owner.name},
                                          {"uid", pod.owner.uid},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}});
  json container = {{"name", pod.container}, {"image", pod.image},
                    {"resources", {{"requests", pod.requests}, {"limits", pod.limits}}}};
  if (!pod.command.empty()) container["command"] = pod.command;
  if (!pod.args.empty()) container["args"] = pod.args;
  if (pod.port != 0) {
    container["ports"] = json::array({{{"name", "metrics"}, {"containerPort", pod.port}, {"protocol", "TCP"}}});
  }
  json spec = {{"containers", json::array({container})}};
  if (!pod.node.empty()) spec["nodeName"] = pod.node;
  spec["restartPolicy"] = pod.owner.kind == "Job" ? "OnFailure" : "Always";
  spec["terminationGracePeriodSeconds"] = 30;
  spec["schedulerName"] = pod.scheduler;
  if (pod.workload >= 0) {
    // A workload pinned to a node pool selects it by the pool label, as its manifest would.
    const std::string& pool = world.scenario.workloads[static_cast<std::size_t>(pod.workload)].node_pool;
    if (!pool.empty()) spec["nodeSelector"] = {{"gpuwise.io/node-pool", pool}};
  }

  const ContainerState& c = rt.container;
  json cs = {{"name", pod.container}, {"image", pod.image}, {"ready", c.ready}, {"restartCount", c.restarts},
             {"started", c.running}};
  if (c.running) {
    cs["state"] = {{"running", {{"startedAt", SimTimestamp(world, c.started_s)}}}};
  } else if (!c.waiting_reason.empty()) {
    cs["state"] = {{"waiting", {{"reason", c.waiting_reason}}}};
  } else if (rt.phase == PodPhase::kSucceeded || rt.phase == PodPhase::kFailed) {
    cs["state"] = {{"terminated", {{"exitCode", c.last_exit_code}, {"reason", c.last_reason},
                                   {"finishedAt", SimTimestamp(world, c.last_finished_s)}}}};
  }
  if (!c.last_reason.empty() && (c.running || !c.waiting_reason.empty())) {
    cs["lastState"] = {{"terminated", {{"exitCode", c.last_exit_code}, {"reason", c.last_reason},
                                       {"finishedAt", SimTimestamp(world, c.last_finished_s)}}}};
  }
  json status = {{"phase", std::string(PodPhaseName(rt.phase))}};
  if (!pod.node.empty()) {
    status["podIP"] = pod.ip;
    status["podIPs"] = json::array({{{"ip", pod.ip}}});
    status["startTime"] = SimTimestamp(world, pod.start_s);
    status["containerStatuses"] = json::array({cs});
    status["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                        {{"type", "Ready"}, {"status", c.ready ? "True" : "False"}}});
  } else {
    status["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"},
                                         {"message", pod.pending_reason}}});
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}, {"status", status}};
}

json NamespaceObject(const World& world, int ns) {
  const SimNamespace& n = world.namespaces[static_cast<std::size_t>(ns)];
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", Meta(world, n.meta)},
          {"spec", {{"finalizers", json::array({"kubernetes"})}}}, {"status", {{"phase", "Active"}}}};
}

std::string NamespaceJson(const World& world, int ns) { return NamespaceObject(world, ns).dump(); }

std::string NodeJson(const Simulator& sim, int node) { return NodeObject(sim, node).dump(); }
std::string PodJson(const Simulator& sim, int pod) { return PodObject(sim, pod).dump(); }

std::string ListJson(const Simulator& sim, std::string_view kind) {
  const World& world = sim.world();
  json items = json::array();
  if (kind == "PodList") {
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      if (world.pods[i].alive(sim.now())) items.push_back(PodObject(sim, static_cast<int>(i)));
    }
  } else if (kind == "NodeList") {
    for (std::size_t i = 0; i < world.nodes.size(); ++i) items.push_back(NodeObject(sim, static_cast<int>(i)));
  } else if (kind == "NamespaceList") {
    for (std::size_t i = 0; i < world.namespaces.size(); ++i) {
      items.push_back(NamespaceObject(world, static_cast<int>(i)));
    }
  }
  return json({{"apiVersion", "v1"}, {"kind", std::string(kind)},
               {"metadata", {{"resourceVersion", std::to_string(static_cast<long long>(sim.now()))}}},
               {"items", items}})
      .dump();
}

}  // namespace gpuwise::sim
