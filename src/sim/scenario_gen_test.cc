#include "sim/scenario_gen.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace gpuwise::sim {
namespace {

namespace fs = std::filesystem;

long long TotalGpus(const Scenario& s) {
  long long n = 0;
  for (const NodePool& p : s.node_pools) n += static_cast<long long>(p.count) * p.gpus_per_node;
  return n;
}

const NodePool* PoolNamed(const Scenario& s, const std::string& name) {
  for (const NodePool& p : s.node_pools) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// GPUs one pod holds: whole GPUs; a MIG slice is <n>g of 7; a time-sliced share 1/replicas; a HAMi request the
// larger of its memory and core fractions.
double PodGpus(const WorkloadSpec& w, const NodePool& pool) {
  const GpuRequest& g = w.gpu;
  if (g.gpumem_mib > 0 || g.gpucores_percent > 0) {
    return std::max(g.gpumem_mib / (pool.gpu_memory_gib * 1024), g.gpucores_percent / 100.0);
  }
  if (g.resource.rfind("nvidia.com/mig-", 0) == 0) return (g.resource[15] - '0') / 7.0 * g.count;
  if (g.resource == "nvidia.com/gpu.shared") return static_cast<double>(g.count) / pool.sharing.replicas;
  return g.count;
}

double RequestedGpus(const Scenario& s) {
  double n = 0;
  for (const WorkloadSpec& w : s.workloads) {
    const NodePool* pool = PoolNamed(s, w.node_pool);
    EXPECT_NE(pool, nullptr) << w.name;
    if (pool != nullptr) n += w.replicas * PodGpus(w, *pool);
  }
  return n;
}

// The fields that make a scenario, one line each.
std::string Fingerprint(const Scenario& s) {
  std::ostringstream o;
  o.precision(17);
  o << s.name << " " << s.seed << "\n";
  for (const NodePool& p : s.node_pools) {
    o << p.name << " " << p.count << " " << p.gpu_model << " " << p.gpus_per_node << " " << p.gpu_memory_gib << " "
      << p.instance_type << " " << p.zone << " " << static_cast<int>(p.capacity) << " " << p.price_per_node_hour.value
      << " " << static_cast<int>(p.sharing.mode) << " " << p.sharing.replicas << " " << p.sharing.mig_gpus << "\n";
  }
  for (const WorkloadSpec& w : s.workloads) {
    o << w.namespace_name << "/" << w.name << " " << WorkloadKindName(w.kind) << " " << OwnerKindName(w.owner) << " "
      << w.replicas << " " << w.gpu.resource << " " << w.gpu.count << " " << w.gpu.gpumem_mib << " "
      << w.gpu.gpucores_percent << " " << w.node_pool << " " << w.model.name << " " << w.tensor_parallel << " "
      << w.traffic.peak_rps << " " << w.traffic.trough_rps << " " << w.traffic.peak_hour << " "
      << w.traffic.weekend_factor << " " << w.traffic.trace << " " << w.schedule << " " << w.usage.start_hour << " "
      << w.usage.run_hours;
    for (const auto& [k, v] : w.labels) o << " L" << k << "=" << v;
    for (const auto& [k, v] : w.annotations) o << " A" << k << "=" << v;
    o << "\n";
  }
  return o.str();
}

// ------------------------------------------------------------------------------------------------------------
// Synthetic.
// ------------------------------------------------------------------------------------------------------------

TEST(ScenarioGenSynthetic, GpuCountIsRoundedUpToWholeNodes) {
  for (int gpus : {1, 3, 4, 5, 8, 12, 17, 100, 1001, 4096, 10000, 99999}) {
    auto s = SyntheticScenario(gpus, 1);
    ASSERT_TRUE(s.ok()) << gpus << ": " << s.status().ToString();
    EXPECT_EQ(TotalGpus(*s), (gpus + 3) / 4 * 4) << gpus;
    EXPECT_TRUE(ValidateScenario(*s).ok()) << gpus;
    for (const NodePool& p : s->node_pools) EXPECT_GE(p.count, 1) << gpus << " " << p.name;
  }
}

TEST(ScenarioGenSynthetic, RequestsSeventyToEightyFivePercentOfGpus) {
  for (int gpus : {1000, 10000, 100000}) {
    for (std::uint64_t seed : {1, 2, 3}) {
      auto s = SyntheticScenario(gpus, seed);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      const double ratio = RequestedGpus(*s) / static_cast<double>(TotalGpus(*s));
      EXPECT_GE(ratio, 0.70) << gpus << " seed " << seed;
      EXPECT_LE(ratio, 0.85) << gpus << " seed " << seed;
    }
  }
}

TEST(ScenarioGenSynthetic, EveryKindSharingModeAndTeam) {
  auto s = SyntheticScenario(10000, 7);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::set<WorkloadKind> kinds;
  std::set<std::string> teams;
  for (const WorkloadSpec& w : s->workloads) {
    kinds.insert(w.kind);
    ASSERT_TRUE(w.labels.count("gpuwise.io/team")) << w.name;
    teams.insert(w.labels.at("gpuwise.io/team"));
    const NodePool* pool = PoolNamed(*s, w.node_pool);
    ASSERT_NE(pool, nullptr);
    // A pod fits on one node of its pool and asks for what the pool advertises.
    if (w.gpu.gpumem_mib == 0) {
      const auto adv = AdvertisedResources(*pool);
      EXPECT_TRUE(std::find(adv.begin(), adv.end(), w.gpu.resource) != adv.end()) << w.name;
      EXPECT_LE(w.gpu.count, pool->gpus_per_node * pool->sharing.replicas) << w.name;
    } else {
      EXPECT_EQ(pool->sharing.mode, SharingMode::kHami) << w.name;
      EXPECT_LE(w.gpu.gpumem_mib, pool->gpu_memory_gib * 1024) << w.name;
    }
  }
  EXPECT_EQ(kinds.size(), 6u);
  EXPECT_GE(teams.size(), 5u);
  std::set<SharingMode> modes;
  bool spot = false, renamed = false;
  std::set<std::string> models;
  for (const NodePool& p : s->node_pools) {
    modes.insert(p.sharing.mode);
    spot |= p.capacity == CapacityType::kSpot;
    renamed |= p.sharing.rename;
    models.insert(p.gpu_model);
    EXPECT_GT(p.count, 1) << p.name;
  }
  EXPECT_TRUE(modes.count(SharingMode::kMig) && modes.count(SharingMode::kHami) && modes.count(SharingMode::kTimeSlicing));
  EXPECT_TRUE(spot);
  EXPECT_TRUE(renamed);
  EXPECT_EQ(models, (std::set<std::string>{"NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-40GB",
                                           "NVIDIA L4"}));
  EXPECT_LE(s->node_pools.size(), 8u);
}

TEST(ScenarioGenSynthetic, SameSeedSameScenario) {
  auto a = SyntheticScenario(5000, 42);
  auto b = SyntheticScenario(5000, 42);
  auto c = SyntheticScenario(5000, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Fingerprint(*a), Fingerprint(*b));
  EXPECT_NE(Fingerprint(*a), Fingerprint(*c));
  EXPECT_EQ(TotalGpus(*a), TotalGpus(*c));  // the fleet depends on the size only
}

TEST(ScenarioGenSynthetic, TenAndHundredThousandGpusInWellUnderASecond) {
  for (int gpus : {10000, 100000}) {
    const auto start = std::chrono::steady_clock::now();
    auto s = SyntheticScenario(gpus, 1);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(TotalGpus(*s), gpus);
    EXPECT_LT(ms, 2000) << gpus;
    int pods = 0;
    for (const WorkloadSpec& w : s->workloads) pods += w.replicas;
    RecordProperty("gpus_" + std::to_string(gpus) + "_ms", std::to_string(ms));
    std::printf("synthetic %d GPUs: %.1f ms, %zu pools, %zu workloads, %d pods\n", gpus, ms, s->node_pools.size(),
                s->workloads.size(), pods);
  }
}

TEST(ScenarioGenSynthetic, RejectsCountsOutOfRange) {
  for (int gpus : {0, -8, kMaxSyntheticGpus + 1}) {
    auto s = SyntheticScenario(gpus, 1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), base::Code::kInvalidArgument);
  }
}

// ------------------------------------------------------------------------------------------------------------
// openb.
// ------------------------------------------------------------------------------------------------------------

std::string SharedData() {
  const char* shared = std::getenv("GPUWISE_SHARED");
  return shared == nullptr ? "" : std::string(shared) + "/data";
}

std::vector<std::vector<std::string>> ReadCsvRows(const std::string& path, bool header = true) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  if (header) std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> row;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) row.push_back(field);
    if (!line.empty() && line.back() == ',') row.push_back("");
    rows.push_back(row);
  }
  return rows;
}

class ScenarioGenOpenb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = SharedData() + "/openb";
    if (SharedData().empty() || !fs::exists(dir_ + "/openb_node_list_gpu_node.csv")) GTEST_SKIP() << "no openb data";
  }
  std::string dir_;
};

TEST_F(ScenarioGenOpenb, NodesAndGpusEqualTheCsv) {
  auto s = OpenbScenario(dir_, "default", 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  // sn,cpu_milli,memory_mib,gpu,model
  long long nodes = 0, gpus = 0;
  std::map<std::string, long long> gpus_by_model;
  for (const auto& row : ReadCsvRows(dir_ + "/openb_node_list_gpu_node.csv")) {
    ASSERT_EQ(row.size(), 5u);
    const int g = std::stoi(row[3]);
    if (g == 0) continue;
    ++nodes;
    gpus += g;
    gpus_by_model[std::string(FindOpenbGpuModel(row[4])->model_name)] += g;
  }
  long long got_nodes = 0;
  std::map<std::string, long long> got_by_model;
  for (const NodePool& p : s->node_pools) {
    got_nodes += p.count;
    got_by_model[p.gpu_model] += static_cast<long long>(p.count) * p.gpus_per_node;
    EXPECT_EQ(p.sharing.mode, SharingMode::kHami) << p.name;
  }
  EXPECT_EQ(got_nodes, nodes);
  EXPECT_EQ(TotalGpus(*s), gpus);
  EXPECT_EQ(got_by_model, gpus_by_model);
  EXPECT_EQ(nodes, 1213);  // SOURCE.txt: 1213 GPU nodes, 6212 GPUs
  EXPECT_EQ(gpus, 6212);
  EXPECT_LT(s->node_pools.size(), 20u);
}

TEST_F(ScenarioGenOpenb, PodsKeepTheirFractionMix) {
  for (const char* list : {"default", "gpushare20", "gpushare80", "multigpu20", "gpuspec10"}) {
    SCOPED_TRACE(list);
    auto s = OpenbScenario(dir_, list, 1);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(ValidateScenario(*s).ok());
    // name,cpu_milli,memory_mib,num_gpu,gpu_milli,...
    std::map<int, int> want_cores;      // gpucores -> pods (fractional)
    std::map<int, int> want_whole;      // num_gpu -> pods (whole GPUs)
    for (const auto& row : ReadCsvRows(dir_ + "/openb_pod_list_" + list + ".csv")) {
      const int num = std::stoi(row[3]), milli = std::stoi(row[4]);
      if (num == 0) continue;
      if (num == 1 && milli < 1000) {
        ++want_cores[milli / 10];
      } else {
        ++want_whole[num];
      }
    }
    std::map<int, int> got_cores, got_whole;
    for (const WorkloadSpec& w : s->workloads) {
      EXPECT_EQ(w.replicas, 1);
      if (w.gpu.gpumem_mib > 0) {
        EXPECT_EQ(w.gpu.count, 1);
        ++got_cores[w.gpu.gpucores_percent];
      } else {
        EXPECT_EQ(w.gpu.gpucores_percent, 0);
        ++got_whole[w.gpu.count];
      }
    }
    EXPECT_EQ(got_cores, want_cores);
    EXPECT_EQ(got_whole, want_whole);
  }
}

TEST_F(ScenarioGenOpenb, RequestsFitTheGpusTheyMayUse) {
  auto s = OpenbScenario(dir_, "gpuspec20", 3);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  double min_mib = 1e18;
  for (const NodePool& p : s->node_pools) min_mib = std::min(min_mib, p.gpu_memory_gib * 1024);
  int constrained = 0;
  for (const WorkloadSpec& w : s->workloads) {
    if (w.gpu.gpumem_mib == 0) continue;
    EXPECT_GE(w.gpu.gpucores_percent, 1);
    EXPECT_LE(w.gpu.gpucores_percent, 100);
    auto spec = w.annotations.find("sim.gpuwise.io/openb-gpu-spec");
    if (spec == w.annotations.end()) {
      EXPECT_LE(w.gpu.gpumem_mib, min_mib) << w.name;
      continue;
    }
    ++constrained;
    std::stringstream ss(spec->second);
    std::string code;
    while (std::getline(ss, code, '|')) {
      EXPECT_LE(w.gpu.gpumem_mib, FindOpenbGpuModel(code)->memory_mib) << w.name;
    }
  }
  EXPECT_GT(constrained, 100);
}

TEST_F(ScenarioGenOpenb, QosMapsToKindsAndBatchKeepsItsLifetime) {
  auto s = OpenbScenario(dir_, "default", 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::map<std::string, std::map<WorkloadKind, int>> by_qos;
  int timed = 0;
  for (const WorkloadSpec& w : s->workloads) {
    const std::string qos = w.annotations.at("sim.gpuwise.io/openb-qos");
    ++by_qos[qos][w.kind];
    EXPECT_EQ(w.labels.at("gpuwise.io/team"), "openb-" + std::string(qos == "LS" ? "ls" : qos == "BE" ? "be" : qos == "Burstable" ? "burstable" : "guaranteed"));
    if (w.kind == WorkloadKind::kInference) {
      EXPECT_GT(w.model.weights_gib, 0);
    }
    if (w.kind == WorkloadKind::kBatch) {
      const double created = std::stod(w.annotations.at("sim.gpuwise.io/openb-creation-s"));
      const double deleted = std::stod(w.annotations.at("sim.gpuwise.io/openb-deletion-s"));
      if (deleted > created) {
        ++timed;
        EXPECT_DOUBLE_EQ(w.usage.start_hour, created / 3600);
        EXPECT_DOUBLE_EQ(w.usage.run_hours, (deleted - created) / 3600);
      }
    }
  }
  EXPECT_EQ(by_qos["LS"].size(), 1u);
  EXPECT_GT(by_qos["LS"][WorkloadKind::kInference], 0);
  EXPECT_EQ(by_qos["BE"].size(), 1u);
  EXPECT_GT(by_qos["BE"][WorkloadKind::kBatch], 0);
  EXPECT_EQ(by_qos["Guaranteed"].size(), 1u);
  EXPECT_GT(by_qos["Guaranteed"][WorkloadKind::kTraining], 0);
  EXPECT_GT(by_qos["Burstable"][WorkloadKind::kNotebook], 0);
  EXPECT_GT(by_qos["Burstable"][WorkloadKind::kTraining], 0);  // its 2-, 4- and 8-GPU pods
  EXPECT_GT(timed, 1000);
  // Same seed, same scenario.
  auto again = OpenbScenario(dir_, "default", 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Fingerprint(*s), Fingerprint(*again));
}

// A scratch directory per test, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(::testing::TempDir()) / (std::string("gpuwise-") + info->test_suite_name() + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

constexpr char kNodes[] =
    "sn,cpu_milli,memory_mib,gpu,model\n"
    "openb-node-0000,64000,262144,2,P100\n"
    "openb-node-0001,96000,393216,8,G2\n"
    "openb-node-0002,32000,131072,0,\n";
constexpr char kPodsHeader[] =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

TEST(ScenarioGenOpenbFiles, SmallTraceByHand) {
  ScratchDir d;
  d.Write("openb_node_list_gpu_node.csv", kNodes);
  d.Write("openb_pod_list_small.csv", std::string(kPodsHeader) +
                                          "openb-pod-0000,12000,16384,1,460,,LS,Running,0,100,0\n"
                                          "openb-pod-0001,6000,12288,0,0,,BE,Running,10,20,10\n"
                                          "openb-pod-0002,6000,12288,1,500,G2,BE,Running,7200,10800,7200\n"
                                          "openb-pod-0003,88000,327680,8,1000,,Burstable,Succeeded,5,9,5\n");
  auto s = OpenbScenario(d.path(), "small", 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->node_pools.size(), 2u);  // the CPU-only node is skipped
  EXPECT_EQ(s->node_pools[0].name, "openb-p100-2g-64c-256gi");
  EXPECT_EQ(s->node_pools[0].gpu_model, "Tesla P100-PCIE-16GB");
  EXPECT_DOUBLE_EQ(s->node_pools[0].gpu_memory_gib * 1024, 16280);
  ASSERT_EQ(s->workloads.size(), 3u);  // the CPU-only pod is skipped
  const WorkloadSpec& ls = s->workloads[0];
  EXPECT_EQ(ls.kind, WorkloadKind::kInference);
  EXPECT_EQ(ls.gpu.gpucores_percent, 46);
  EXPECT_EQ(ls.gpu.gpumem_mib, 7488);  // floor(0.46 * 16280), P100 is the smallest GPU here
  const WorkloadSpec& be = s->workloads[1];
  EXPECT_EQ(be.kind, WorkloadKind::kBatch);
  EXPECT_EQ(be.gpu.gpumem_mib, 10000);  // 0.5 * 20000 (G2 only)
  EXPECT_DOUBLE_EQ(be.usage.start_hour, 2);
  EXPECT_DOUBLE_EQ(be.usage.run_hours, 1);
  const WorkloadSpec& big = s->workloads[2];
  EXPECT_EQ(big.kind, WorkloadKind::kTraining);
  EXPECT_EQ(big.gpu.count, 8);
  EXPECT_EQ(big.gpu.gpumem_mib, 0);
}

TEST(ScenarioGenOpenbFiles, MalformedLinesNameFileLineAndColumn) {
  ScratchDir d;
  d.Write("openb_node_list_gpu_node.csv", kNodes);
  d.Write("openb_pod_list_bad.csv", std::string(kPodsHeader) + "openb-pod-0000,12000,16384,1,460,,LS,Running,0,100,0\n" +
                                        "openb-pod-0001,12000,16384,two,460,,LS,Running,0,100,0\n");
  auto s = OpenbScenario(d.path(), "bad", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("openb_pod_list_bad.csv:3: column 'num_gpu'"), std::string::npos) << s.status().ToString();

  d.Write("openb_pod_list_short.csv", std::string(kPodsHeader) + "openb-pod-0000,12000,16384,1\n");
  s = OpenbScenario(d.path(), "short", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("openb_pod_list_short.csv:2: expected 11"), std::string::npos) << s.status().ToString();

  d.Write("openb_pod_list_spec.csv", std::string(kPodsHeader) + "openb-pod-0000,12000,16384,1,460,H200,LS,Running,0,1,0\n");
  s = OpenbScenario(d.path(), "spec", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(":2: column 'gpu_spec': unknown GPU model 'H200'"), std::string::npos)
      << s.status().ToString();

  d.Write("openb_node_list_gpu_node.csv", "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1024,4,B200\n");
  s = OpenbScenario(d.path(), "bad", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("openb_node_list_gpu_node.csv:2: column 'model'"), std::string::npos)
      << s.status().ToString();
}

TEST(ScenarioGenOpenbFiles, MissingDirectoryOrFileIsNotFound) {
  ScratchDir d;
  auto s = OpenbScenario(d.path() + "/nope", "default", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::Code::kNotFound);
  EXPECT_NE(s.status().message().find("/nope"), std::string::npos);
  d.Write("openb_node_list_gpu_node.csv", kNodes);
  s = OpenbScenario(d.path(), "missing", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::Code::kNotFound);
  EXPECT_NE(s.status().message().find("openb_pod_list_missing.csv"), std::string::npos) << s.status().ToString();
  s = OpenbScenario(d.path(), "../etc", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::Code::kInvalidArgument);
}

// ------------------------------------------------------------------------------------------------------------
// Arrival traces.
// ------------------------------------------------------------------------------------------------------------

class ScenarioGenTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = SharedData();
    if (data_.empty() || !fs::exists(data_ + "/azure-llm-2023")) GTEST_SKIP() << "no shared data";
  }
  std::string data_;
};

TEST_F(ScenarioGenTrace, AzureCountsAndMeans) {
  const std::string path = data_ + "/azure-llm-2023/AzureLLMInferenceTrace_conv.csv";
  auto t = LoadArrivalTrace(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format, TraceFormat::kAzureLlm);
  // Independently: count and sum with the standard library; "HH:MM:SS.f" of the first and last row.
  const auto rows = ReadCsvRows(path);
  double prompt = 0, output = 0;
  for (const auto& r : rows) {
    prompt += std::stod(r[1]);
    output += std::stod(r[2]);
  }
  auto seconds = [](const std::string& ts) {
    return std::stod(ts.substr(11, 2)) * 3600 + std::stod(ts.substr(14, 2)) * 60 + std::stod(ts.substr(17));
  };
  ASSERT_EQ(rows.size(), 19366u);  // SOURCE.txt
  ASSERT_EQ(t->arrival_s.size(), rows.size());
  ASSERT_EQ(t->prompt_tokens.size(), rows.size());
  EXPECT_NEAR(*t->mean_prompt_tokens, prompt / rows.size(), 1e-9);
  EXPECT_NEAR(*t->mean_output_tokens, output / rows.size(), 1e-9);
  EXPECT_EQ(t->arrival_s.front(), 0);
  EXPECT_TRUE(std::is_sorted(t->arrival_s.begin(), t->arrival_s.end()));
  EXPECT_NEAR(t->duration_s, seconds(rows.back()[0]) - seconds(rows.front()[0]), 1e-6);
  EXPECT_NEAR(t->mean_rps, rows.size() / t->duration_s, 1e-9);
  EXPECT_EQ(t->prompt_tokens[0], std::stoi(rows[0][1]));

  ArrivalTraceOptions first_minute;
  first_minute.max_duration_s = 60;
  auto m = LoadArrivalTrace(path, first_minute);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->duration_s, 60);
  EXPECT_LT(m->arrival_s.back(), 60);
  EXPECT_GT(m->arrival_s.size(), 100u);
  EXPECT_EQ(m->arrival_s.size(), m->output_tokens.size());
}

TEST_F(ScenarioGenTrace, MooncakeCountsAndMeans) {
  const std::string path = data_ + "/mooncake/conversation_trace.jsonl";
  auto t = LoadArrivalTrace(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format, TraceFormat::kMooncake);
  std::ifstream in(path);
  std::string line;
  std::size_t n = 0;
  double input = 0, output = 0, first_ms = -1, last_ms = 0;
  auto field = [&line](const std::string& key) {
    const std::size_t at = line.find("\"" + key + "\":");
    return std::stod(line.substr(at + key.size() + 3));
  };
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    input += field("input_length");
    output += field("output_length");
    if (first_ms < 0) first_ms = field("timestamp");
    last_ms = field("timestamp");
  }
  ASSERT_EQ(n, 12031u);  // SOURCE.txt
  ASSERT_EQ(t->arrival_s.size(), n);
  EXPECT_NEAR(*t->mean_prompt_tokens, input / n, 1e-9);
  EXPECT_NEAR(*t->mean_output_tokens, output / n, 1e-9);
  EXPECT_NEAR(t->duration_s, (last_ms - first_ms) / 1000, 1e-9);
  EXPECT_NEAR(t->mean_rps, n / t->duration_s, 1e-9);
}

TEST_F(ScenarioGenTrace, ServeGenClientFollowsItsRates) {
  const std::string path = data_ + "/servegen/language-m-large/chunk-0-trace.csv";
  auto t = LoadArrivalTrace(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format, TraceFormat::kServeGen);
  // Independently: ceil(rate * 600) - 1 arrivals in each window with a distribution.
  std::size_t want = 0, windows = 0;
  std::vector<std::size_t> per_window;
  for (const auto& r : ReadCsvRows(path, false)) {
    ++windows;
    const double rate = std::stod(r[1]);
    const std::size_t k = r[3].empty() || rate <= 0 ? 0 : static_cast<std::size_t>(std::max(0.0, std::ceil(rate * 600) - 1));
    per_window.push_back(k);
    want += k;
  }
  EXPECT_EQ(windows, 2016u);
  EXPECT_EQ(t->arrival_s.size(), want);
  EXPECT_TRUE(t->prompt_tokens.empty());
  EXPECT_FALSE(t->mean_prompt_tokens.has_value());
  EXPECT_DOUBLE_EQ(t->duration_s, windows * 600.0);
  EXPECT_TRUE(std::is_sorted(t->arrival_s.begin(), t->arrival_s.end()));
  std::vector<std::size_t> got(windows, 0);
  for (double a : t->arrival_s) ++got[std::min(windows - 1, static_cast<std::size_t>(a / 600))];
  EXPECT_EQ(got, per_window);

  auto again = LoadArrivalTrace(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->arrival_s, t->arrival_s);
  ArrivalTraceOptions other;
  other.seed = 2;
  auto other_seed = LoadArrivalTrace(path, other);
  ASSERT_TRUE(other_seed.ok());
  EXPECT_EQ(other_seed->arrival_s.size(), t->arrival_s.size());
  EXPECT_NE(other_seed->arrival_s, t->arrival_s);
}

TEST_F(ScenarioGenTrace, ServeGenDirectorySumsClientsWithinALimit) {
  const std::string dir = data_ + "/servegen/language-m-large";
  auto all = LoadArrivalTrace(dir);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), base::Code::kResourceExhausted);
  ArrivalTraceOptions hour;
  hour.max_duration_s = 3600;
  auto t = LoadArrivalTrace(dir, hour);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::size_t want = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto rows = ReadCsvRows(entry.path().string(), false);
    for (std::size_t i = 0; i < 6; ++i) {
      const double rate = std::stod(rows[i][1]);
      if (!rows[i][3].empty() && rate > 0) want += static_cast<std::size_t>(std::max(0.0, std::ceil(rate * 600) - 1));
    }
  }
  EXPECT_EQ(t->arrival_s.size(), want);
  EXPECT_EQ(t->duration_s, 3600);
  EXPECT_LT(t->arrival_s.back(), 3600);
  EXPECT_GT(t->mean_rps, 48);  // SOURCE.txt: m-large aggregate 48-583 req/s
  EXPECT_LT(t->mean_rps, 583);
}

TEST(ScenarioGenTraceFiles, BadLinesNameFileLineAndField) {
  ScratchDir d;
  std::string p = d.Write("AzureLLMInferenceTrace_conv.csv",
                          "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
                          "2023-11-16 18:15:50.9951690,lots,109\n");
  auto t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("AzureLLMInferenceTrace_conv.csv:3: column 'ContextTokens'"), std::string::npos)
      << t.status().ToString();

  p = d.Write("bad_time.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16T18:15,1,2\n");
  t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("bad_time.csv:2: column 'TIMESTAMP'"), std::string::npos) << t.status().ToString();

  p = d.Write("trace.jsonl", "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5}\n{\"timestamp\": 5, \"input_le\n");
  t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("trace.jsonl:2: not valid JSON"), std::string::npos) << t.status().ToString();

  p = d.Write("neg.jsonl", "{\"timestamp\": 0, \"input_length\": -10, \"output_length\": 5}\n");
  t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("neg.jsonl:1: field 'input_length'"), std::string::npos) << t.status().ToString();

  p = d.Write("chunk-7-trace.csv", "0,1.5,2.0,Gamma,0.5,2.0\n600,1.0,1.0,Poisson,1,1\n");
  t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("chunk-7-trace.csv:2: column 'distribution'"), std::string::npos)
      << t.status().ToString();

  t = LoadArrivalTrace(d.path() + "/absent.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), base::Code::kNotFound);

  p = d.Write("what.txt", "hello\n");
  t = LoadArrivalTrace(p);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), base::Code::kInvalidArgument);
}

TEST(ScenarioGenTraceFiles, SmallTracesByHand) {
  ScratchDir d;
  auto t = LoadArrivalTrace(d.Write("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                                             "2023-12-31 23:59:59.5,100,10\r\n2024-01-01 00:00:01.5,300,30\r\n"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->arrival_s, (std::vector<double>{0, 2}));  // across midnight and a year
  EXPECT_EQ(*t->mean_prompt_tokens, 200);
  EXPECT_EQ(t->mean_rps, 1);

  t = LoadArrivalTrace(d.Write("m.jsonl", "{\"timestamp\": 1000, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [1]}\n"
                                          "\n{\"timestamp\": 500, \"input_length\": 3, \"output_length\": 4}"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->arrival_s, (std::vector<double>{0, 0.5}));  // sorted by time
  EXPECT_EQ(t->prompt_tokens, (std::vector<int>{3, 1}));

  // Two windows of 600 s: ceil(1.0 * 600) - 1 = 599 arrivals in the first, none in the idle second.
  t = LoadArrivalTrace(d.Write("chunk-3-trace.csv", "0,1.0,1.0,Weibull,0.7,1.0\n600,0,0,,0,0\n"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->arrival_s.size(), 599u);
  EXPECT_LT(t->arrival_s.back(), 600);
  EXPECT_EQ(t->duration_s, 1200);
}

}  // namespace
}  // namespace gpuwise::sim
