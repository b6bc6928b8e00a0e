// Runs the real gpuwise binary (demo against its simulated endpoints, version) and holds every JSON document
// to its schema in docs/schema/; YAML and CSV outputs must carry the same data.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

#include "schema_check.h"
#include "sim/exporter_server.h"

namespace gpuwise {
namespace {

struct Output {
  int code;
  std::string out;
};

Output RunGpuwise(const std::string& args) {
  std::string cmd = std::string(GPUWISE_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  Output o{-1, ""};
  if (!p) return o;
  char buf[65536];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int st = pclose(p);
  o.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

void ExpectConforms(const std::string& kind, const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << text.substr(0, 400);
  auto schema = testing::LoadSchema(kind);
  ASSERT_FALSE(schema.is_discarded()) << "docs/schema/" << kind << ".json";
  EXPECT_EQ(doc["kind"], kind);
  for (const auto& v : testing::CheckSchema(schema, doc)) ADD_FAILURE() << kind << " " << v;
}

TEST(CliSchemaTest, DemoJsonIsAReportOfTheWholeFleet) {
  Output o = RunGpuwise("--output json demo --samples 2");
  ASSERT_EQ(o.code, 0);
  ExpectConforms("Report", o.out);
  auto doc = nlohmann::json::parse(o.out);
  // The demo cluster: 64 GPUs on 10 nodes, 16 MIG instances, every node priced by the built-in book.
  EXPECT_EQ(doc["fleet"]["gpus"], 64);
  EXPECT_EQ(doc["fleet"]["nodes"], 10);
  EXPECT_EQ(doc["fleet"]["migInstances"], 16);
  EXPECT_EQ(doc["fleet"]["unpricedGpus"], 0);
  const std::int64_t cost = doc["fleet"]["costMicroUsd"];
  const std::int64_t parts = doc["fleet"]["usedMicroUsd"].get<std::int64_t>() + doc["fleet"]["idleMicroUsd"].get<std::int64_t>() +
                             doc["fleet"]["unallocatedMicroUsd"].get<std::int64_t>();
  EXPECT_EQ(parts, cost);
  for (const auto& n : doc["nodes"]) EXPECT_EQ(n["computeSource"], "sm_active");
}

// scrape, doctor and explain against simulated endpoints served in this process.
TEST(CliSchemaTest, ScrapeDoctorExplainAgainstSimulatedExporters) {
  sim::ExporterOptions options;
  options.num_gpus = 16;
  sim::ExporterServer server(options);
  ASSERT_TRUE(server.Start().ok());
  const std::string urls = server.urls()[0] + " " + server.urls()[1];
  Output scrape = RunGpuwise("-o json scrape " + urls);
  ASSERT_EQ(scrape.code, 0);
  ExpectConforms("ScrapeReport", scrape.out);
  Output doctor = RunGpuwise("-o json doctor " + urls);
  ASSERT_EQ(doctor.code, 0);
  ExpectConforms("DoctorReport", doctor.out);
  // SM_ACTIVE is off in the simulated exporter, as in the real one: doctor says which line to add.
  EXPECT_NE(doctor.out.find("DCGM_FI_PROF_SM_ACTIVE, gauge, The ratio of cycles an SM has at least 1 warp assigned."),
            std::string::npos);
  Output explain = RunGpuwise("-o json explain " + urls);
  ASSERT_EQ(explain.code, 0);
  ExpectConforms("Explanation", explain.out);
  auto doc = nlohmann::json::parse(explain.out);
  EXPECT_EQ(doc["gpus"].size(), 28u);  // 14 whole GPUs + 2 x 7 MIG instances
  // One endpoint down: partial success, exit 3, the rest still reported.
  Output partial = RunGpuwise("-o json scrape " + server.urls()[0] + " http://127.0.0.1:1/metrics");
  EXPECT_EQ(partial.code, 3);
  ExpectConforms("ScrapeReport", partial.out);
}

TEST(CliSchemaTest, SimListsItsEndpointsAndWritesHistory) {
  Output sim = RunGpuwise("-o json sim --scenario demo --ephemeral-ports --for 1s");
  ASSERT_EQ(sim.code, 0);
  ExpectConforms("SimEndpoints", sim.out);
  auto doc = nlohmann::json::parse(sim.out);
  std::map<std::string, int> kinds;
  for (const auto& e : doc["endpoints"]) ++kinds[e["kind"].get<std::string>()];
  EXPECT_EQ(kinds["dcgm-exporter"], 10);
  EXPECT_EQ(kinds["kube-state-metrics"], 1);
  EXPECT_GE(kinds["vllm"], 6);
  const std::string dir = ::testing::TempDir() + "gpuwise-cli-history-" + std::to_string(getpid());
  Output history = RunGpuwise("-o json sim --scenario demo --history " + dir + " --days 10m --scrape-interval 60s");
  ASSERT_EQ(history.code, 0) << history.out;
  ExpectConforms("SimHistory", history.out);
  auto h = nlohmann::json::parse(history.out);
  EXPECT_GE(h["windows"].get<int>(), 1);
  EXPECT_GT(h["samples"].get<long long>(), 10000);
  EXPECT_EQ(h["failedScrapes"], 0);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(RunGpuwise("sim --scenario nosuch").code, 2);
  EXPECT_EQ(RunGpuwise("sim --history /tmp/x --days forever").code, 2);
}

TEST(CliSchemaTest, VersionAndUsageErrors) {
  Output o = RunGpuwise("-o json version");
  ASSERT_EQ(o.code, 0);
  ExpectConforms("Version", o.out);
  EXPECT_EQ(RunGpuwise("--output xml version").code, 2);
  EXPECT_EQ(RunGpuwise("query --prometheus ftp://x").code, 2);
  EXPECT_EQ(RunGpuwise("query --prometheus http://127.0.0.1:1 --window 7days").code, 2);
  EXPECT_EQ(RunGpuwise("nonsense").code, 2);
  // Nothing listens on port 1: a clear failure, not a crash.
  EXPECT_EQ(RunGpuwise("query --prometheus http://127.0.0.1:1 --window 1h").code, 1);
  EXPECT_EQ(RunGpuwise("scrape 127.0.0.1:1").code, 1);
  EXPECT_EQ(RunGpuwise("scrape 127.0.0.1:1 --timeout soon").code, 2);
  EXPECT_EQ(RunGpuwise("doctor").code, 2);
}

TEST(CliSchemaTest, CsvAndYamlOutputs) {
  Output csv = RunGpuwise("-o csv demo --samples 2");
  ASSERT_EQ(csv.code, 0);
  EXPECT_EQ(csv.out.rfind("NAMESPACE,KIND,WORKLOAD,TEAM,CLASS,GPUS,COST_USD,USED_USD,IDLE_USD,IDLE_USD_PER_YEAR,STATE,SOURCE\r\n", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("research,Job,ranker-finetune,research,training,"), std::string::npos) << csv.out;
  Output yaml = RunGpuwise("demo -o yaml --samples 2");  // global flags may follow the command
  ASSERT_EQ(yaml.code, 0);
  EXPECT_NE(yaml.out.find("apiVersion: \"gpuwise.io/v1alpha1\""), std::string::npos);
  EXPECT_NE(yaml.out.find("kind: \"Report\""), std::string::npos);
  Output html = RunGpuwise("demo -o html --samples 2");
  ASSERT_EQ(html.code, 0);
  EXPECT_EQ(html.out.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.out.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace gpuwise
