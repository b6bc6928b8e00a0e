// The plan on the simulated demo cluster, end to end: computed from what gpuwise's real clients read, held to its
// schema, written as files, applied with the real kubectl through the simulated API server, and checked against the
// simulator's own telemetry afterwards: every GPU the plan promised to free must be free, counted as GPUs whose
// dcgm-exporter series name no pod once the displaced pods run again.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/plan_view.h"
#include "demo_report.h"
#include "schema_check.h"

namespace gpuwise {
namespace {

// Label value of `key` in one exposition line ("" when absent).
std::string Label(const std::string& line, const std::string& key) {
  const std::string k = key + "=\"";
  auto p = line.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  return line.substr(p, line.find('"', p) - p);
}

// Per node: the physical GPUs (UUIDs) and those of them no pod holds, from the simulator's dcgm-exporter pages (a
// MIG GPU is held when any of its instances is).
struct GpuUse {
  std::map<std::string, std::set<std::string>> all, held;
  int Free(const std::string& node) const {
    auto a = all.find(node);
    if (a == all.end()) return 0;
    auto h = held.find(node);
    return static_cast<int>(a->second.size() - (h == held.end() ? 0 : h->second.size()));
  }
};

GpuUse ReadGpuUse(sim::ClusterServer& server) {
  GpuUse u;
  for (const sim::Endpoint& e : server.Endpoints()) {
    if (e.kind != "dcgm-exporter") continue;
    const std::string page = server.RenderFor(e);
    std::size_t start = 0;
    while (start < page.size()) {
      std::size_t end = page.find('\n', start);
      if (end == std::string::npos) end = page.size();
      const std::string line = page.substr(start, end - start);
      start = end + 1;
      if (!line.starts_with("DCGM_FI_DEV_FB_USED{")) continue;
      const std::string uuid = Label(line, "UUID");
      u.all[e.node].insert(uuid);
      if (!Label(line, "pod").empty()) u.held[e.node].insert(uuid);
    }
  }
  return u;
}

bool HaveKubectl() { return std::system("kubectl version --client >/dev/null 2>&1") == 0; }

TEST(RecommendDemoTest, ThePlanIsWellFormedAndConformsToItsSchema) {
  auto demo = testing::DemoReport::Run(3);
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  const model::Plan& plan = (*demo)->run().plan;
  EXPECT_TRUE(model::ValidatePlan(plan).ok()) << model::ValidatePlan(plan).ToString();
  EXPECT_TRUE(plan.risks.empty());
  ASSERT_FALSE(plan.actions.empty());
  nlohmann::json doc = cli::PlanJson(plan);
  doc["apiVersion"] = std::string(cli::kApiVersion);
  doc["kind"] = "Plan";
  for (const std::string& v : testing::CheckSchema(testing::LoadSchema("Plan"), doc)) ADD_FAILURE() << v;
  // The report's recoverable waste is the plan's savings, which never exceed the fleet's spend rate.
  EXPECT_GT(plan.savings.micro_per_hour, 0);
  EXPECT_LE(plan.savings.micro_per_hour, (*demo)->run().report.fleet.cost);
}

TEST(RecommendDemoTest, ApplyingThePlanWithKubectlFreesTheGpusItPromised) {
  if (!HaveKubectl()) GTEST_SKIP() << "kubectl is not installed";
  // Time moves (200 simulated seconds per wall second) so deletions, restarts and reschedules happen.
  auto demo = testing::DemoReport::Run(3, false, 200);
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  sim::ClusterServer& server = (*demo)->server();
  const model::Plan& plan = (*demo)->run().plan;
  ASSERT_GT(plan.savings.gpus_freed, 0);
  const GpuUse before = ReadGpuUse(server);

  const std::string dir = ::testing::TempDir() + "gpuwise-plan-" + std::to_string(::getpid());
  auto files = cli::WritePlanFiles(plan, dir);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  const std::string cmd = "KUBECONFIG='" + (*demo)->kubeconfig() + "' sh '" + dir + "/apply.sh' > '" + dir + "/apply.log' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "apply.sh failed; see " << dir << "/apply.log";

  // Let the control plane delete, recreate and schedule: 60 simulated seconds at least.
  const double t0 = server.SimulatedNow();
  while (server.SimulatedNow() < t0 + 60) {
    server.ReconcileNow();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const GpuUse after = ReadGpuUse(server);
  int promised = 0, realised = 0;
  for (const model::FreedGpu& f : plan.savings.freed) {
    std::printf("freed %s %d released %d before-free %d after-free %d\n", f.node.c_str(), f.gpus, f.node_released, before.Free(f.node), after.Free(f.node));
    promised += f.gpus;
    const int now_free = after.Free(f.node);
    const int was_free = before.Free(f.node);
    if (f.node_released) {
      EXPECT_EQ(now_free, static_cast<int>(after.all.at(f.node).size())) << f.node << ": released, yet a pod holds a GPU";
      realised += now_free;
    } else {
      EXPECT_GE(now_free - was_free, f.gpus) << f.node << ": the plan promised " << f.gpus << " more free GPUs";
      realised += now_free - was_free;
    }
  }
  EXPECT_GE(realised, promised);
  std::printf("plan: %zu actions, promised %d GPUs freed, realised %d\n", plan.actions.size(), promised, realised);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuwise
