// Where gpuwise scrapes: the dcgm-exporter endpoints of the cluster, each with the node it runs on (so that the
// snapshot joins an exporter's GPUs to a node by scrape target, whatever its hostname label says), and the
// /metrics URLs of the serving engines found in the pods.
//
// dcgm-exporter, in order: Services labelled app=nvidia-dcgm-exporter (GPU Operator) or
// app.kubernetes.io/name=dcgm-exporter (the standalone Helm chart), then their EndpointSlices
// (kubernetes.io/service-name=<service>; the port named "metrics" or "gpu-metrics", else 9400, else the only one;
// node from each endpoint's nodeName, else its targetRef pod), falling back to the Endpoints object when slices
// cannot be read; when no Service is found, the pods so labelled (pod IP, the container port named "metrics", else
// 9400; node from spec.nodeName). Targets are deduplicated and sorted by node, then URL.
//
// Serving engines (pods of a ClusterState, engine detected by object_convert): Running pods with an IP. The pod's
// prometheus.io/port, prometheus.io/path and prometheus.io/scheme annotations win (prometheus.io/scrape "false"
// leaves the engine out); else the engine's metrics port (vLLM serves /metrics on its API port, default 8000) and
// /metrics over http. An engine with no known metrics port (Ollama) is left out.
//
// via_api_proxy (opt-in) gives API-server paths instead of pod URLs:
//   /api/v1/namespaces/<ns>/pods/<name>:<port>/proxy/metrics   (https: pods/https:<name>:<port>/proxy/...)
// for when gpuwise runs outside the cluster network. It needs `get` on pods/proxy, which is sensitive: it lets
// the holder send arbitrary HTTP GETs to any port of any pod through the API server (admin endpoints, debug
// handlers, sidecars that trust the pod network), so it is off by default and rbac.h grants it only on request.
// Thread-safety: the functions keep no state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"
#include "observe/kube/kube_client.h"

namespace gpuwise::observe::kube {

struct ExporterEndpoint {
  std::string url;                   // "http://10.0.3.7:9400/metrics"
  std::string target;                // "10.0.3.7:9400" (Prometheus' instance label)
  std::string node;                  // the node it runs on; "" = unknown
  std::string namespace_name, pod;   // the exporter pod, when known
  bool ready = true;                 // from the EndpointSlice conditions / Endpoints notReadyAddresses
  std::string source;                // "endpointslice gpu-operator/nvidia-dcgm-exporter-x8k2p", "pod ..."
};

struct EngineEndpoint {
  std::string namespace_name, pod, container, node;
  std::string engine;                // "vllm", ...
  std::string url;                   // "http://10.0.4.2:8000/metrics", or the API path with via_api_proxy
  bool via_api_proxy = false;
  std::string source;                // "annotation prometheus.io/port" or "engine vllm metrics port"
};

struct DiscoveryOptions {
  bool via_api_proxy = false;        // serving engines through pods/proxy (see above)
  std::string dcgm_namespace;        // where to look for dcgm-exporter; "" = every namespace
};

// dcgm-exporter endpoints. Warnings (a Service with no matching port, a slice that cannot be read) go to
// *warnings. Error only when neither Services nor pods can be listed.
base::Result<std::vector<ExporterEndpoint>> DiscoverDcgmExporters(KubeClient& client, const DiscoveryOptions& options,
                                                                  std::vector<std::string>* warnings);

// Serving engines' metrics endpoints, from pods already read. Pure.
std::vector<EngineEndpoint> EngineEndpoints(const model::ClusterState& state, const DiscoveryOptions& options);

// "/api/v1/namespaces/ml/pods/vllm-0:8000/proxy/metrics"; scheme "https" gives "pods/https:vllm-0:8000".
std::string PodProxyPath(std::string_view namespace_name, std::string_view pod, int port, std::string_view path,
                         std::string_view scheme = "http");

// target ("10.0.3.7:9400") -> node, for joining an exporter's series to its node.
std::map<std::string, std::string> NodeByTarget(const std::vector<ExporterEndpoint>& exporters);

}  // namespace gpuwise::observe::kube
