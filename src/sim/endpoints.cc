#include "sim/endpoints.h"

#include "sim/dcgm_page.h"
#include "sim/ksm_page.h"
#include "sim/vllm_page.h"

namespace gpuwise::sim {

std::string_view EndpointJob(const SimPod& pod) {
  if (pod.port == 0) return "";
  switch (pod.role) {
    case PodRole::kDcgmExporter: return "dcgm-exporter";
    case PodRole::kKubeStateMetrics: return "kube-state-metrics";
    case PodRole::kWorkload: return "vllm";
  }
  return "";
}

std::string RenderEndpoint(const Simulator& sim, int i, bool* up) {
  const World& world = sim.world();
  const SimPod& pod = world.pods[static_cast<std::size_t>(i)];
  *up = false;
  const double t = sim.now();
  if (pod.port == 0 || pod.node.empty() || !pod.alive(t)) return "";
  switch (pod.role) {
    case PodRole::kDcgmExporter: {
      const int node = world.NodeIndex(pod.node);
      PageOptions page;
      page.include_sm_active = true;  // the GPU Operator's profiling fields (issue 3): SM_ACTIVE on
      page.lowercase_hostname_label = world.nodes[static_cast<std::size_t>(node)].lowercase_hostname;
      page.seed = world.scenario.seed;
      page.time_s = t;
      *up = true;
      return RenderPage(sim.DcgmNode(node), page);
    }
    case PodRole::kKubeStateMetrics: {
      // As commonly deployed for cost tools: every label of pods, namespaces and nodes
      // (--metric-labels-allowlist=pods=[*],namespaces=[*],nodes=[*]).
      KsmOptions options;
      options.pod_label_allowlist = {"*"};
      options.namespace_label_allowlist = {"*"};
      options.node_label_allowlist = {"*"};
      *up = true;
      return RenderKsmPage(sim, options);
    }
    case PodRole::kWorkload: {
      const PodRuntime& rt = sim.pod(i);
      if (!rt.serving) return "";  // loading or crash-looping: the server is not up
      const WorkloadSpec& w = world.scenario.workloads[static_cast<std::size_t>(pod.workload)];
      VllmPageOptions vo;
      if (auto v = ParseVllmVersion(w.engine_version); v.ok()) vo.version = *v;
      *up = true;
      return RenderVllmPage(rt.vllm, vo);
    }
  }
  return "";
}

}  // namespace gpuwise::sim
