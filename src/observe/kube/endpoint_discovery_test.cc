// Endpoint discovery against the simulated API server seeded from the demo world: the GPU Operator's dcgm-exporter
// Service in gpu-operator gives one target per GPU node with that node (from its EndpointSlice), falling back to
// the Endpoints object when slices cannot be read and to the labelled pods when there is no Service; a standalone
// chart's slice without nodeName gets the node from its targetRef pod; serving engines' metrics URLs are the vLLM
// pods' IPs and ports (Triton's on 8002), prometheus.io annotations win, and via_api_proxy gives pods/proxy paths.
#include "observe/kube/endpoint_discovery.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "observe/kube/cluster_reader.h"
#include "observe/kube/demo_api_for_test.h"
#include "observe/kube/object_convert.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using testing::DemoApi;

const sim::ResourceType& SimType(const char* key) { return *sim::FindResourceByKey(key); }

// The world's dcgm-exporter pods: target "ip:port" -> node.
std::map<std::string, std::string> WorldExporters(const sim::World& w) {
  std::map<std::string, std::string> out;
  for (const sim::SimPod& p : w.pods) {
    if (p.role == sim::PodRole::kDcgmExporter) out[p.ip + ":" + std::to_string(p.port)] = p.node;
  }
  return out;
}

TEST(EndpointDiscoveryTest, DcgmExportersFromTheGpuOperatorServiceWithTheirNodes) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  std::unique_ptr<KubeClient> client = api.Client();
  std::vector<std::string> warnings;
  base::Result<std::vector<ExporterEndpoint>> found = DiscoverDcgmExporters(*client, {}, &warnings);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  const std::map<std::string, std::string> want = WorldExporters(api.world());
  ASSERT_EQ(found->size(), want.size());
  int gpu_nodes = 0;
  for (const sim::SimNode& n : api.world().nodes) gpu_nodes += n.gpus.empty() ? 0 : 1;
  EXPECT_EQ(static_cast<int>(found->size()), gpu_nodes) << "one exporter per GPU node";
  for (const ExporterEndpoint& e : *found) {
    EXPECT_EQ(e.url, "http://" + e.target + "/metrics");
    ASSERT_TRUE(want.count(e.target)) << e.target;
    EXPECT_EQ(e.node, want.at(e.target));
    EXPECT_EQ(e.namespace_name, "gpu-operator");
    EXPECT_EQ(e.pod.rfind("nvidia-dcgm-exporter-", 0), 0u) << e.pod;
    EXPECT_TRUE(e.ready);
    EXPECT_EQ(e.source.rfind("endpointslice gpu-operator/nvidia-dcgm-exporter-", 0), 0u) << e.source;
  }
  EXPECT_EQ(NodeByTarget(*found), want);
}

TEST(EndpointDiscoveryTest, FallsBackToEndpointsThenToPods) {
  // A reader that may list Services and get Endpoints and pods, but not EndpointSlices.
  sim::KubeApiOptions o;
  o.tokens["old-rbac"] = {"old-rbac", {}};
  o.rbac.push_back({"old-rbac", false, "", {{{"list"}, {""}, {"services"}, {}, {}},
                                           {{"get"}, {""}, {"endpoints"}, {}, {}},
                                           {{"get", "list"}, {""}, {"pods"}, {}, {}}}});
  DemoApi api(o);
  ASSERT_TRUE(api.status().ok());
  const std::map<std::string, std::string> want = WorldExporters(api.world());
  {
    std::unique_ptr<KubeClient> client = api.Client("old-rbac");
    std::vector<std::string> warnings;
    base::Result<std::vector<ExporterEndpoint>> found = DiscoverDcgmExporters(*client, {}, &warnings);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(NodeByTarget(*found), want);
    for (const ExporterEndpoint& e : *found) EXPECT_EQ(e.source, "endpoints gpu-operator/nvidia-dcgm-exporter");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("EndpointSlices of Service gpu-operator/nvidia-dcgm-exporter not listed "
                               "(list-endpointslices)"),
              std::string::npos)
        << warnings[0];
  }
  // No Service at all: the labelled pods.
  ASSERT_TRUE(api.store().Delete(SimType("services"), "gpu-operator", "nvidia-dcgm-exporter").ok());
  std::unique_ptr<KubeClient> client = api.Client();
  std::vector<std::string> warnings;
  base::Result<std::vector<ExporterEndpoint>> found = DiscoverDcgmExporters(*client, {}, &warnings);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(NodeByTarget(*found), want);
  for (const ExporterEndpoint& e : *found) EXPECT_EQ(e.source, "pod gpu-operator/" + e.pod);

  // Nothing listable: an error that says so.
  sim::KubeApiOptions none;
  none.tokens["nobody"] = {"nobody", {}};
  DemoApi locked(none);
  ASSERT_TRUE(locked.status().ok());
  std::unique_ptr<KubeClient> nobody = locked.Client("nobody");
  warnings.clear();
  found = DiscoverDcgmExporters(*nobody, {}, &warnings);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(found.status().message().find("cannot find dcgm-exporter"), std::string::npos);
}

TEST(EndpointDiscoveryTest, StandaloneChartSliceWithoutNodeNameGetsItFromTheTargetPod) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  const sim::SimPod* exporter = nullptr;
  for (const sim::SimPod& p : api.world().pods) {
    if (p.role == sim::PodRole::kDcgmExporter) exporter = &p;
  }
  ASSERT_NE(exporter, nullptr);
  ASSERT_TRUE(api.store().Create(SimType("namespaces"), {{"metadata", {{"name", "monitoring"}}}}).ok());
  ASSERT_TRUE(api.store()
                  .Create(SimType("services"),
                          {{"metadata", {{"name", "dcgm-exporter"}, {"namespace", "monitoring"},
                                         {"labels", {{"app.kubernetes.io/name", "dcgm-exporter"}}}}},
                           {"spec", {{"ports", json::array({{{"name", "metrics"}, {"port", 9400}}})}}}})
                  .ok());
  json slice = {{"metadata", {{"name", "dcgm-exporter-abcde"}, {"namespace", "monitoring"},
                              {"labels", {{"kubernetes.io/service-name", "dcgm-exporter"}}}}},
                {"addressType", "IPv4"},
                {"ports", json::array({{{"name", "http"}, {"port", 8080}}, {{"name", "metrics"}, {"port", 9400}}})},
                {"endpoints", json::array({{{"addresses", json::array({exporter->ip})},
                                            {"conditions", {{"ready", false}}},
                                            {"targetRef", {{"kind", "Pod"}, {"namespace", "gpu-operator"},
                                                           {"name", exporter->meta.name}}}}})}};
  ASSERT_TRUE(api.store().Create(SimType("endpointslices.discovery.k8s.io"), slice).ok());
  std::unique_ptr<KubeClient> client = api.Client();
  DiscoveryOptions o;
  o.dcgm_namespace = "monitoring";
  std::vector<std::string> warnings;
  base::Result<std::vector<ExporterEndpoint>> found = DiscoverDcgmExporters(*client, o, &warnings);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  const ExporterEndpoint& e = found->front();
  EXPECT_EQ(e.target, exporter->ip + ":9400");  // the port named metrics, not the first
  EXPECT_EQ(e.node, exporter->node);
  EXPECT_EQ(e.pod, exporter->meta.name);
  EXPECT_FALSE(e.ready);
  EXPECT_EQ(e.source, "endpointslice monitoring/dcgm-exporter-abcde");
}

TEST(EndpointDiscoveryTest, VllmPodsOfTheDemoServeMetricsOnTheirIpAndPort) {
  DemoApi api;
  ASSERT_TRUE(api.status().ok());
  std::unique_ptr<KubeClient> client = api.Client();
  ReadOptions ro;
  ro.resolve_owners = false;
  base::Result<model::ClusterState> state = ReadCluster(*client, ro);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const std::vector<EngineEndpoint> direct = EngineEndpoints(*state, {});
  std::map<std::string, std::string> url_of;  // ns/pod -> url
  for (const EngineEndpoint& e : direct) {
    EXPECT_FALSE(e.via_api_proxy);
    EXPECT_EQ(e.source, "engine " + e.engine + " metrics port");
    url_of[e.namespace_name + "/" + e.pod] = e.url;
  }
  // vLLM pods where the world serves their metrics; the demo's encoders run Triton, whose metrics port is 8002.
  int expected = 0;
  for (const sim::SimPod& p : api.world().pods) {
    if (!p.alive(api.now()) || p.node.empty()) continue;
    const bool vllm = p.image.rfind("vllm/vllm-openai", 0) == 0;
    const bool triton = p.image.rfind("nvcr.io/nvidia/tritonserver", 0) == 0;
    if (!vllm && !triton) continue;
    const model::Pod* read = state->FindPod(p.meta.namespace_name, p.meta.name);
    ASSERT_NE(read, nullptr);
    if (read->phase != "Running") continue;
    ++expected;
    EXPECT_EQ(url_of[p.meta.namespace_name + "/" + p.meta.name],
              "http://" + p.ip + ":" + std::to_string(vllm ? p.port : 8002) + "/metrics");
  }
  EXPECT_GT(expected, 3);
  EXPECT_EQ(static_cast<int>(direct.size()), expected);

  DiscoveryOptions proxy;
  proxy.via_api_proxy = true;
  const std::vector<EngineEndpoint> proxied = EngineEndpoints(*state, proxy);
  ASSERT_EQ(proxied.size(), direct.size());
  for (const EngineEndpoint& e : proxied) {
    EXPECT_TRUE(e.via_api_proxy);
    const int port = e.engine == "vllm" ? 8000 : 8002;
    EXPECT_EQ(e.url, "/api/v1/namespaces/" + e.namespace_name + "/pods/" + e.pod + ":" + std::to_string(port) +
                         "/proxy/metrics");
  }
}

TEST(EndpointDiscoveryTest, PrometheusAnnotationsWinAndEnginesWithoutMetricsAreLeftOut) {
  auto pod = [](std::string name, std::string image, std::map<std::string, std::string> annotations) {
    model::Pod p;
    p.namespace_name = "ml";
    p.name = std::move(name);
    p.phase = "Running";
    p.ip = "10.1.2.3";
    p.node = "n1";
    p.annotations = std::move(annotations);
    model::Container c;
    c.name = "main";
    c.image = std::move(image);
    p.containers.push_back(c);
    p.engine = DetectServingEngine(p);
    return p;
  };
  model::ClusterState s;
  s.pods.push_back(pod("annotated", "vllm/vllm-openai:v0.6.3",
                       {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9090"},
                        {"prometheus.io/path", "stats/prometheus"}, {"prometheus.io/scheme", "https"}}));
  s.pods.push_back(pod("opted-out", "vllm/vllm-openai:v0.6.3", {{"prometheus.io/scrape", "false"}}));
  s.pods.push_back(pod("ollama", "ollama/ollama:0.4.1", {}));
  s.pods.push_back(pod("bad-port", "vllm/vllm-openai:v0.6.3", {{"prometheus.io/port", "http"}}));
  s.pods.push_back(pod("pending", "vllm/vllm-openai:v0.6.3", {}));
  s.pods.back().phase = "Pending";
  s.pods.back().ip.clear();
  s.pods.push_back(pod("v6", "vllm/vllm-openai:v0.6.3", {}));
  s.pods.back().ip = "fd00::12";
  s.pods.push_back(pod("web", "nginx:1.27", {{"prometheus.io/scrape", "true"}}));
  const std::vector<EngineEndpoint> got = EngineEndpoints(s, {});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].pod, "annotated");
  EXPECT_EQ(got[0].url, "https://10.1.2.3:9090/stats/prometheus");
  EXPECT_EQ(got[0].source, "annotation prometheus.io/port");
  EXPECT_EQ(got[1].pod, "bad-port");
  EXPECT_EQ(got[1].url, "http://10.1.2.3:8000/metrics");  // an unusable annotation leaves the engine's port
  EXPECT_EQ(got[2].url, "http://[fd00::12]:8000/metrics");
  DiscoveryOptions proxy;
  proxy.via_api_proxy = true;
  EXPECT_EQ(EngineEndpoints(s, proxy)[0].url, "/api/v1/namespaces/ml/pods/https:annotated:9090/proxy/stats/prometheus");
  EXPECT_EQ(PodProxyPath("ns", "p", 8000, "/metrics"), "/api/v1/namespaces/ns/pods/p:8000/proxy/metrics");
}

}  // namespace
}  // namespace gpuwise::observe::kube
