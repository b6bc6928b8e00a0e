// The simulated cluster's objects in the Kubernetes API's JSON shape: what a client (kubectl, gpuwise's own) reads
// from pods, nodes and namespaces, checked against the World and the Simulator's state.
#include "sim/kube_objects.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

TEST(KubeObjects, PodsCarryTheirAddressOwnerRequestsAndStatus) {
  auto scenario = BuiltinScenario("demo");
  ASSERT_TRUE(scenario.ok());
  auto world = BuildWorld(*scenario);
  ASSERT_TRUE(world.ok());
  const double t = 7 * 86400.0 + 14 * 3600;
  Simulator sim(*world, {.step_s = 15, .start_s = t, .data_dir = ""});
  sim.AdvanceTo(t + 1);
  const json list = json::parse(ListJson(sim, "PodList"));
  EXPECT_EQ(list["kind"], "PodList");
  std::size_t alive = 0;
  for (const SimPod& p : world->pods) alive += p.alive(sim.now()) ? 1 : 0;
  ASSERT_EQ(list["items"].size(), alive);
  int gpu_pods = 0;
  for (const json& pod : list["items"]) {
    const std::string name = pod["metadata"]["name"];
    const SimPod* sp = nullptr;
    for (const SimPod& p : world->pods) {
      if (p.meta.name == name && p.alive(sim.now())) sp = &p;
    }
    ASSERT_NE(sp, nullptr) << name;
    EXPECT_EQ(pod["status"]["podIP"], sp->ip) << name;
    EXPECT_EQ(pod["spec"]["nodeName"], sp->node) << name;
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], sp->owner.kind) << name;
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], sp->owner.uid) << name;
    EXPECT_EQ(pod["status"]["phase"], "Running") << name;
    const json& requests = pod["spec"]["containers"][0]["resources"]["requests"];
    for (const auto& [k, v] : sp->requests) EXPECT_EQ(requests[k], v) << name << " " << k;
    if (sp->port != 0) {
      EXPECT_EQ(pod["spec"]["containers"][0]["ports"][0]["containerPort"], sp->port);
    }
    for (const auto& [k, v] : requests.items()) gpu_pods += k.rfind("nvidia.com/", 0) == 0 ? 1 : 0;
  }
  EXPECT_GT(gpu_pods, 10);
  const json nodes = json::parse(ListJson(sim, "NodeList"));
  ASSERT_EQ(nodes["items"].size(), world->nodes.size());
  EXPECT_EQ(nodes["items"][0]["metadata"]["labels"]["nvidia.com/gpu.product"], "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(nodes["items"][0]["status"]["capacity"]["nvidia.com/mig-3g.40gb"], "2");
  const json namespaces = json::parse(ListJson(sim, "NamespaceList"));
  EXPECT_EQ(namespaces["items"].size(), world->namespaces.size());
}

TEST(KubeObjects, ACrashLoopShowsAsKubectlWouldSeeIt) {
  constexpr char kYaml[] = R"(
apiVersion: gpuwise.io/v1alpha1
kind: Scenario
name: crash
delays: {coldStartSeconds: 30, crashBackoffSeconds: 10}
nodePools:
  - {name: a100, count: 1, gpuModel: NVIDIA A100-SXM4-80GB, gpusPerNode: 2, gpuMemoryGiB: 80}
workloads:
  - {name: tiny-budget, namespace: t, kind: inference, gpu: {count: 1},
     model: {name: m7b, weightsGiB: 13.5, layers: 32, kvHeads: 8, headDim: 128},
     engine: {gpuMemoryUtilization: 0.1}, traffic: {peakRps: 1, troughRps: 1}}
)";
  auto scenario = ParseScenario(kYaml, "crash");
  ASSERT_TRUE(scenario.ok());
  auto world = BuildWorld(*scenario);
  ASSERT_TRUE(world.ok());
  Simulator sim(*world, {.step_s = 15, .start_s = 3600, .data_dir = ""});
  sim.AdvanceTo(2 * 3600);
  int pod = -1;
  for (std::size_t i = 0; i < world->pods.size(); ++i) {
    if (world->pods[i].workload == 0 && world->pods[i].alive(sim.now())) pod = static_cast<int>(i);
  }
  ASSERT_GE(pod, 0);
  const json p = json::parse(PodJson(sim, pod));
  const json& cs = p["status"]["containerStatuses"][0];
  EXPECT_EQ(p["status"]["phase"], "Running");
  EXPECT_GT(cs["restartCount"].get<int>(), 3);
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(cs["lastState"]["terminated"]["reason"], "Error");
  EXPECT_FALSE(cs["ready"].get<bool>());
}

}  // namespace
}  // namespace gpuwise::sim
