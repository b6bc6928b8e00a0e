// A real Prometheus scrapes every endpoint of the simulated cluster (dcgm-exporter per node, vLLM per serving
// pod, kube-state-metrics) from a generated scrape config: every target is up, and the series it holds per job
// equal the series on the pages, counted independently here.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "observe/prom/exposition_parser.h"
#include "prometheus_process.h"
#include "sim/cluster_server.h"

namespace gpuwise {
namespace {

namespace fs = std::filesystem;

std::map<std::string, double> ByJob(const nlohmann::json& doc) {
  std::map<std::string, double> out;
  if (doc.is_discarded() || doc.value("status", "") != "success") return out;
  for (const auto& r : doc["data"]["result"]) {
    out[r["metric"].value("job", "")] = std::stod(r["value"][1].get<std::string>());
  }
  return out;
}

TEST(SimScrape, PrometheusScrapesEveryEndpointAndSeesEverySeries) {
  if (testing::Which("prometheus").empty()) GTEST_SKIP() << "prometheus is not installed";
  auto scenario = sim::BuiltinScenario("demo");
  ASSERT_TRUE(scenario.ok());
  auto world = sim::BuildWorld(*scenario);
  ASSERT_TRUE(world.ok());
  sim::ClusterServerOptions options;
  options.ephemeral_ports = true;
  sim::ClusterServer cluster(std::move(*world), options);
  ASSERT_TRUE(cluster.Start().ok());
  const std::vector<sim::Endpoint> endpoints = cluster.Endpoints();

  // Expected series per job, from the pages themselves.
  std::map<std::string, double> expected;
  std::map<std::string, std::vector<std::string>> targets;
  for (const sim::Endpoint& e : endpoints) {
    targets[e.kind].push_back(e.address + ":" + std::to_string(e.port));
    const std::string page = cluster.RenderFor(e);
    observe::prom::ExpositionParser parser(page, {});
    observe::prom::Entry entry;
    std::set<std::string> series;
    while (parser.Next(&entry).ok() && entry.kind != observe::prom::EntryKind::kEof) {
      if (entry.kind == observe::prom::EntryKind::kSample) {
        series.insert(std::string(entry.sample.name) + std::string(entry.sample.raw_labels));
      }
    }
    expected[e.kind] += static_cast<double>(series.size());
  }
  std::string config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n";
  for (const auto& [job, list] : targets) {
    config += "  - job_name: " + job + "\n    static_configs:\n      - targets:\n";
    for (const std::string& t : list) config += "          - \"" + t + "\"\n";
  }
  const fs::path dir = fs::temp_directory_path() / ("gpuwise-sim-scrape-" + std::to_string(getpid()));
  fs::remove_all(dir);
  testing::PrometheusProcess prometheus;
  const std::string started = prometheus.Start(dir, config);
  ASSERT_TRUE(started.empty()) << started;

  std::map<std::string, double> up, seen;
  double targets_up = 0;
  for (int i = 0; i < 120; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const nlohmann::json u = prometheus.Query("sum(up)");
    if (!u.is_discarded() && !u["data"]["result"].empty()) {
      targets_up = std::stod(u["data"]["result"][0]["value"][1].get<std::string>());
    }
    seen = ByJob(prometheus.Query("count by (job) ({job=~\".+\",__name__!~\"up|scrape_.+\"})"));
    bool all = targets_up == static_cast<double>(endpoints.size());
    for (const auto& [job, n] : expected) all = all && seen[job] == n;
    if (all) break;
  }
  EXPECT_EQ(targets_up, static_cast<double>(endpoints.size())) << "every target up";
  for (const auto& [job, n] : expected) EXPECT_EQ(seen[job], n) << job;
  EXPECT_GE(expected["dcgm-exporter"], 1000);
  EXPECT_GE(expected["vllm"], 100);
  EXPECT_GE(expected["kube-state-metrics"], 500);
  prometheus.Stop();
  cluster.Stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gpuwise
