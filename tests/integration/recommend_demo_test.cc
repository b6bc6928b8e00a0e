// The plan on the simulated demo cluster, end to end: computed from what gpuwise's real clients read, held to its
// schema, written as files, applied with the real kubectl through the simulated API server, and checked against the
// simulator's own telemetry afterwards: every GPU the plan promised to free must be free, counted as GPUs whose
// dcgm-exporter series name no pod once the displaced pods run again.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/plan_view.h"
#include "demo_report.h"
#include "optimize/fractional/right_size.h"
#include "schema_check.h"
#include "sim/scenario.h"

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

// Writes the plan's files and runs its apply.sh with kubectl against the simulated API server.
void ApplyWithKubectl(const model::Plan& plan, const testing::DemoReport& demo, const std::string& dir) {
  auto files = cli::WritePlanFiles(plan, dir);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  const std::string cmd = "KUBECONFIG='" + demo.kubeconfig() + "' sh '" + dir + "/apply.sh' > '" + dir + "/apply.log' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "apply.sh failed; see " << dir << "/apply.log";
}

// A scenario of tests/scenarios/ served with its API, and the report and plan read from it (40 scrapes, time moving
// 200x so that what the plan starts happens within the test).
base::Result<std::unique_ptr<testing::DemoReport>> RunScenario(const std::string& file) {
  const std::string path = GPUWISE_SOURCE_DIR "/tests/scenarios/" + file;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(sim::Scenario scenario, sim::ParseScenario(text.str(), path));
  return testing::DemoReport::Run(scenario, 40, false, 200);
}

// Lets the simulated control plane run for `seconds` of simulated time.
void RunFor(sim::ClusterServer& server, double seconds) {
  const double t0 = server.SimulatedNow();
  while (server.SimulatedNow() < t0 + seconds) {
    server.ReconcileNow();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Every GPU the plan promised is free once the displaced pods run again.
void ExpectPromisedGpusFree(const model::Plan& plan, const GpuUse& before, const GpuUse& after) {
  int promised = 0, realised = 0;
  for (const model::FreedGpu& f : plan.savings.freed) {
    promised += f.gpus;
    const int now_free = after.Free(f.node);
    const int was_free = before.Free(f.node);
    std::printf("freed %s: promised %d GPUs%s; free before %d, after %d\n", f.node.c_str(), f.gpus,
                f.node_released ? " (the whole node)" : "", was_free, now_free);
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
}

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
  ApplyWithKubectl(plan, **demo, dir);
  RunFor(server, 60);  // deletions, recreations, scheduling
  ExpectPromisedGpusFree(plan, before, ReadGpuUse(server));
  std::filesystem::remove_all(dir);
}

// Twelve small LLM endpoints on whole-GPU MIG instances (7g.80gb) over two of three A100 nodes, each with TTFT and
// TPOT SLOs (tests/scenarios/rightsize.yaml). The plan right-sizes them to smaller MIG profiles, re-partitions one
// node with the safe rollout and releases the others; applied with kubectl, it frees what it promised, and every
// moved endpoint's latency, as the simulator serves it afterwards (its own serving model, not gpuwise's), stays
// within its SLO. The predicted and realised latencies are printed.
// What the slice model predicted for a workload the plan moves, and its SLOs.
struct MovedWorkload {
  std::string unit;  // "3g.40gb" (a MIG profile) or "mps-2"
  double predicted_ttft = NAN, predicted_tpot = NAN, slo_ttft = NAN, slo_tpot = NAN;
};

bool IsUnit(const optimize::fractional::UnitChoice& u, const std::string& unit) {
  using optimize::fractional::UnitKind;
  if (unit.starts_with("mps-")) return u.kind == UnitKind::kMps && u.replicas == std::stoi(unit.substr(4));
  return u.kind == UnitKind::kMig && u.mig_profile == unit;
}

// moved: workload "ns/name" -> its new unit. The predictions come from right-sizing the snapshot the plan was made from.
std::map<std::string, MovedWorkload> Predictions(const app::ReportRun& run, const std::map<std::string, std::string>& moved) {
  std::map<std::string, MovedWorkload> out;
  const auto policies = optimize::ResolvePolicies(run.snapshot);
  const auto rows = optimize::RowsByWorkload(run.snapshot, run.report);
  for (std::size_t w = 0; w < run.snapshot.workloads.size(); ++w) {
    const model::Workload& wl = run.snapshot.workloads[w];
    const std::string key = wl.key.namespace_name + "/" + wl.key.name;
    auto m = moved.find(key);
    if (m == moved.end()) continue;
    MovedWorkload& e = out[key];
    e.unit = m->second;
    const model::WorkloadClass cls = rows[w] != nullptr ? model::ParseWorkloadClass(rows[w]->workload_class).value_or(model::WorkloadClass::kUnknown)
                                                        : model::WorkloadClass::kUnknown;
    const auto d = optimize::fractional::RightSize(run.snapshot, static_cast<int>(w), policies[w], cls);
    for (const auto& u : d.feasible) {
      if (!IsUnit(u, e.unit)) continue;
      e.predicted_ttft = u.predicted_ttft_p99_s.value_or(NAN);
      e.predicted_tpot = u.predicted_tpot_p99_s.value_or(NAN);
    }
    if (policies[w].slo_ttft_p99.value) e.slo_ttft = static_cast<double>(policies[w].slo_ttft_p99.value->count()) / 1000;
    if (policies[w].slo_tpot_p99.value) e.slo_tpot = static_cast<double>(policies[w].slo_tpot_p99.value->count()) / 1000;
  }
  return out;
}

// Realised latency after the move, read the way gpuwise reads it (the engines' own histograms, over a fresh window of
// `after`), printed beside the prediction; none may break its SLO.
void ExpectSlosKept(const app::ReportRun& after, const std::map<std::string, MovedWorkload>& moved) {
  for (const auto& [key, e] : moved) {
    const model::Workload* wl = nullptr;
    for (const model::Workload& w : after.snapshot.workloads) {
      if (w.key.namespace_name + "/" + w.key.name == key) wl = &w;
    }
    ASSERT_NE(wl, nullptr) << key;
    const double ttft = wl->serving.ttft_p99_s, tpot = wl->serving.tpot_p99_s;
    std::printf("%-26s %-8s TTFT p99 predicted %7.1f ms, realised %7.1f ms (SLO %5.0f ms); TPOT p99 predicted %6.1f ms, "
                "realised %6.1f ms (SLO %4.0f ms)\n",
                key.c_str(), e.unit.c_str(), e.predicted_ttft * 1000, ttft * 1000, e.slo_ttft * 1000, e.predicted_tpot * 1000,
                tpot * 1000, e.slo_tpot * 1000);
    if (std::isfinite(e.slo_ttft)) {
      ASSERT_TRUE(std::isfinite(ttft)) << key << ": no TTFT measured after the move";
      EXPECT_LE(ttft, e.slo_ttft) << key;
    }
    if (std::isfinite(e.slo_tpot)) {
      ASSERT_TRUE(std::isfinite(tpot)) << key << ": no TPOT measured after the move";
      EXPECT_LE(tpot, e.slo_tpot) << key;
    }
  }
}

void PrintClusterOnFailure(const testing::DemoReport& demo, const std::string& dir) {
  if (!::testing::Test::HasFailure()) return;
  const std::string kc = "KUBECONFIG='" + demo.kubeconfig() + "' ";
  std::system((kc + "kubectl get pods -A -o wide; " + kc +
               "kubectl get nodes -L nvidia.com/mig.config,nvidia.com/mig.config.state,nvidia.com/device-plugin.config; " + kc +
               "kubectl get events -A | tail -20; cat '" + dir + "/apply.log' | tail -20").c_str());
}

TEST(RecommendSimTest, RightSizingToMigFreesNodesAndKeepsEverySlo) {
  if (!HaveKubectl()) GTEST_SKIP() << "kubectl is not installed";
  auto demo = RunScenario("rightsize.yaml");
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  sim::ClusterServer& server = (*demo)->server();
  const app::ReportRun& run = (*demo)->run();
  const model::Plan& plan = run.plan;
  ASSERT_TRUE(plan.risks.empty()) << plan.risks.front();
  std::map<std::string, std::string> moved;  // workload "ns/name" -> new MIG profile
  bool relabel = false;
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kSetResources) {
      for (const auto& [res, q] : std::get<model::ResourceValues>(a.after).requests) {
        if (res.starts_with("nvidia.com/mig-")) moved[a.target.namespace_name + "/" + a.target.name] = res.substr(15);
      }
    }
    relabel |= a.kind == model::ActionKind::kSetNodeLabel;
  }
  ASSERT_FALSE(moved.empty()) << cli::PlanText(plan, false);
  ASSERT_TRUE(relabel);
  ASSERT_GT(plan.savings.nodes_released, 0) << cli::PlanText(plan, false);
  const auto expect = Predictions(run, moved);

  const GpuUse before = ReadGpuUse(server);
  const std::string dir = ::testing::TempDir() + "gpuwise-rightsize-" + std::to_string(::getpid());
  ApplyWithKubectl(plan, **demo, dir);
  RunFor(server, 900);  // MIG re-partition, rolling updates, cold starts, then traffic on the new slices
  ExpectPromisedGpusFree(plan, before, ReadGpuUse(server));
  PrintClusterOnFailure(**demo, dir);
  auto after = (*demo)->Rerun(40);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ExpectSlosKept(*after, expect);
  std::filesystem::remove_all(dir);
}

// Six small LLM endpoints with latency SLOs that allow MPS but not time-slicing (tests/scenarios/mps.yaml), one whole
// L40S GPU each over two nodes (the L40S has no MIG). The plan gives one node two MPS shares per GPU (the device
// plugin's MPS config, the node label, the wait for the replica count) and moves every endpoint onto a share; applied
// with kubectl, it frees the node it promised, and every endpoint, served by the simulator on half a GPU's SMs and
// memory, keeps its SLOs.
TEST(RecommendSimTest, MpsSharesForSloBoundEndpointsFreeANodeAndKeepEverySlo) {
  if (!HaveKubectl()) GTEST_SKIP() << "kubectl is not installed";
  auto demo = RunScenario("mps.yaml");
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  sim::ClusterServer& server = (*demo)->server();
  const app::ReportRun& run = (*demo)->run();
  const model::Plan& plan = run.plan;
  ASSERT_TRUE(plan.risks.empty()) << plan.risks.front();
  std::string config;
  std::set<std::string> shared;
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kSetResources && std::get<model::ResourceValues>(a.after).requests.count("nvidia.com/gpu.shared")) {
      shared.insert(a.target.namespace_name + "/" + a.target.name);
    }
    if (a.kind == model::ActionKind::kSetNodeLabel && std::get<model::LabelValue>(a.after).key == "nvidia.com/device-plugin.config") {
      config = std::get<model::LabelValue>(a.after).value.value_or("");
    }
  }
  ASSERT_EQ(config, "gpuwise-mps-2") << cli::PlanText(plan, false);
  ASSERT_EQ(shared.size(), 6u) << cli::PlanText(plan, false);
  ASSERT_EQ(plan.savings.nodes_released, 1);
  std::map<std::string, std::string> moved;
  for (const std::string& key : shared) moved[key] = "mps-2";
  const auto expect = Predictions(run, moved);

  const GpuUse before = ReadGpuUse(server);
  const std::string dir = ::testing::TempDir() + "gpuwise-mps-" + std::to_string(::getpid());
  ApplyWithKubectl(plan, **demo, dir);
  RunFor(server, 900);
  ExpectPromisedGpusFree(plan, before, ReadGpuUse(server));
  PrintClusterOnFailure(**demo, dir);
  auto after = (*demo)->Rerun(40);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  std::set<std::string> namespaces;  // one endpoint per namespace
  for (const auto& [key, unit] : moved) namespaces.insert(key.substr(0, key.find('/')));
  int on_shares = 0;
  for (const model::Pod& p : after->cluster.pods) {
    if (p.phase == "Running" && namespaces.count(p.namespace_name)) on_shares += p.GpuTotal().shared;
  }
  EXPECT_EQ(on_shares, 6);
  ExpectSlosKept(*after, expect);
  std::filesystem::remove_all(dir);
}

// Six small encoder servers without a latency SLO that allow time-slicing (tests/scenarios/timeslice.yaml), one whole L4
// GPU each over two nodes. The plan time-slices one node two ways (the device plugin's config, the node label, the
// wait for GPU feature discovery's replica count) and moves the servers onto shares; applied with kubectl, it frees
// the node it promised, and every server runs again, on a share.
TEST(RecommendSimTest, TimeSlicingSmallServersFreesANode) {
  if (!HaveKubectl()) GTEST_SKIP() << "kubectl is not installed";
  auto demo = RunScenario("timeslice.yaml");
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  sim::ClusterServer& server = (*demo)->server();
  const model::Plan& plan = (*demo)->run().plan;
  ASSERT_TRUE(plan.risks.empty()) << plan.risks.front();
  int shared = 0;
  bool sharing_config = false;
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kSetResources) shared += std::get<model::ResourceValues>(a.after).requests.count("nvidia.com/gpu.shared");
    if (a.kind == model::ActionKind::kSetNodeLabel) sharing_config |= std::get<model::LabelValue>(a.after).key == "nvidia.com/device-plugin.config";
  }
  ASSERT_EQ(shared, 6) << cli::PlanText(plan, false);
  ASSERT_TRUE(sharing_config);
  ASSERT_EQ(plan.savings.nodes_released, 1);

  const GpuUse before = ReadGpuUse(server);
  const std::string dir = ::testing::TempDir() + "gpuwise-timeslice-" + std::to_string(::getpid());
  ApplyWithKubectl(plan, **demo, dir);
  RunFor(server, 600);
  ExpectPromisedGpusFree(plan, before, ReadGpuUse(server));
  // Every server runs again, each on a share of the time-sliced node.
  auto after = (*demo)->Rerun(3);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  int running_on_shares = 0;
  for (const model::Pod& p : after->cluster.pods) {
    if (p.namespace_name != "search" || p.phase != "Running") continue;
    running_on_shares += p.GpuTotal().shared;
  }
  EXPECT_EQ(running_on_shares, 6);
  std::filesystem::remove_all(dir);
}

// Fractions left scattered on two nodes of a fractional backend (tests/scenarios/hami.yaml, and kai.yaml with KAI's
// gpu-fraction annotations): node 0 has half a GPU free, and node 1 holds one half-GPU pod. The defragment optimizer
// drains node 1; applied with kubectl, the evicted pod comes back (placed by the simulator's scheduler, which runs
// gpuwise's policy for both backends) on node 0's half-free GPU, and node 1 is released as promised.
class DefragmentSimTest : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Backends, DefragmentSimTest, ::testing::Values("hami.yaml", "kai.yaml"));

TEST_P(DefragmentSimTest, DefragmentingFractionsReleasesANode) {
  if (!HaveKubectl()) GTEST_SKIP() << "kubectl is not installed";
  auto demo = RunScenario(GetParam());
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  sim::ClusterServer& server = (*demo)->server();
  const model::Plan& plan = (*demo)->run().plan;
  std::set<std::string> drained;
  for (const model::Action& a : plan.actions) {
    if (a.optimizer == "defragment" && a.kind == model::ActionKind::kCordon) drained.insert(a.target.name);
  }
  std::printf("%s\n", cli::PlanText(plan, false).c_str());
  ASSERT_EQ(drained.size(), 1u);
  ASSERT_EQ(plan.savings.nodes_released, 1);
  EXPECT_EQ(plan.savings.pods_left_pending, 0);

  const GpuUse before = ReadGpuUse(server);
  const std::string dir = ::testing::TempDir() + "gpuwise-defrag-" + std::to_string(::getpid());
  ApplyWithKubectl(plan, **demo, dir);
  RunFor(server, 300);
  ExpectPromisedGpusFree(plan, before, ReadGpuUse(server));
  PrintClusterOnFailure(**demo, dir);
  // Every pod runs again, on node 0, whose GPUs are full.
  auto after = (*demo)->Rerun(3);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  std::set<std::string> nodes;
  int running = 0;
  for (const model::Pod& p : after->cluster.pods) {
    if (p.namespace_name != "support" || p.phase != "Running") continue;
    ++running;
    nodes.insert(p.node);
  }
  EXPECT_EQ(running, 4);
  EXPECT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes.count(*drained.begin()), 0u);
  EXPECT_EQ(ReadGpuUse(server).Free(*nodes.begin()), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuwise
