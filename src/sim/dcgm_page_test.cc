// Tests for the simulated dcgm-exporter page: parsed back with gpuwise's own exposition parser.
#include "sim/dcgm_page.h"
#include "sim/parsed_page_for_test.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::sim {
namespace {

using observe::prom::Entry;
using observe::prom::EntryKind;
using observe::prom::ExpositionParser;
using observe::prom::ParserOptions;

using ParsedSample = PageSample;
// The entity: a GPU or a MIG instance.
std::string Entity(const PageSample& s) {
  return s.Label("Hostname") + s.Label("hostname") + "/" + s.Label("UUID") + "/" + s.Label("GPU_I_ID");
}
ParsedPage Parse(const std::string& page) { return ParsePage(page); }

const std::set<std::string> kGpuOnly = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL",
                                        "DCGM_FI_DEV_DEC_UTIL"};

TEST(DcgmPage, ParsesWithZeroErrors) {
  const auto fleet = MakeFleet(64, 2, 7);
  ASSERT_EQ(fleet.size(), 8u);
  for (bool sm : {false, true}) {
    for (bool lower : {false, true}) {
      PageOptions o;
      o.include_sm_active = sm;
      o.lowercase_hostname_label = lower;
      o.time_s = 12 * 3600;
      for (const NodeSpec& node : fleet) {
        ParsedPage p = Parse(RenderPage(node, o));
        EXPECT_EQ(p.errors, 0) << p.first_error;
        EXPECT_EQ(p.families.size(), sm ? 26u : 25u);
        EXPECT_FALSE(p.samples.empty());
      }
      ParsedPage all = Parse(RenderFleetPage(fleet, o));
      EXPECT_EQ(all.errors, 0) << all.first_error;
      EXPECT_EQ(all.families.size(), sm ? 26u : 25u);  // HELP once per family on a fleet page
    }
  }
}

TEST(DcgmPage, ExactLabelOrder) {
  const auto fleet = MakeFleet(16, 1, 3);
  PageOptions o;
  ParsedPage p = Parse(RenderFleetPage(fleet, o));
  ASSERT_EQ(p.errors, 0) << p.first_error;
  bool saw_mig_pod = false, saw_gpu_pod = false, saw_unassigned = false;
  for (const ParsedSample& s : p.samples) {
    std::vector<std::string> names;
    for (const auto& kv : s.labels) names.push_back(kv.first);
    std::vector<std::string> want = {"gpu", "UUID", "pci_bus_id", "device", "modelName"};
    if (s.Has("GPU_I_ID")) {
      want.push_back("GPU_I_PROFILE");
      want.push_back("GPU_I_ID");
    }
    want.push_back("Hostname");
    want.push_back("DCGM_FI_DRIVER_VERSION");
    if (s.Has("pod")) {
      want.push_back("container");
      want.push_back("namespace");
      want.push_back("pod");
      (s.Has("GPU_I_ID") ? saw_mig_pod : saw_gpu_pod) = true;
    } else {
      saw_unassigned = true;
    }
    ASSERT_EQ(names, want) << s.name;
    EXPECT_EQ(s.Label("device"), "nvidia" + s.Label("gpu"));
  }
  EXPECT_TRUE(saw_mig_pod);
  EXPECT_TRUE(saw_gpu_pod);
  EXPECT_TRUE(saw_unassigned);
}

TEST(DcgmPage, LowercaseHostnameLabel) {
  const auto fleet = MakeFleet(8, 0, 3);
  PageOptions o;
  o.lowercase_hostname_label = true;
  const std::string page = RenderPage(fleet[0], o);
  EXPECT_EQ(page.find("Hostname="), std::string::npos);
  EXPECT_NE(page.find(",hostname=\"" + fleet[0].hostname + "\""), std::string::npos);
}

TEST(DcgmPage, ValueFormatting) {
  // INT64 fields print as %d, DOUBLE fields as %f (six decimals), as gpu_collector.go toString does.
  const auto fleet = MakeFleet(8, 1, 5);
  PageOptions o;
  o.include_sm_active = true;
  std::istringstream in(RenderPage(fleet[0], o));
  std::string line;
  const std::set<std::string> doubles = {"DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                                         "DCGM_FI_PROF_SM_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
                                         "DCGM_FI_PROF_DRAM_ACTIVE"};
  int lines = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++lines;
    const std::string name = line.substr(0, line.find('{'));
    const std::string value = line.substr(line.rfind(' ') + 1);
    if (doubles.count(name)) {
      const auto dot = value.find('.');
      ASSERT_NE(dot, std::string::npos) << line;
      EXPECT_EQ(value.size() - dot - 1, 6u) << line;
    } else {
      EXPECT_EQ(value.find_first_not_of("0123456789"), std::string::npos) << line;
    }
  }
  EXPECT_GT(lines, 100);
}

TEST(DcgmPage, OneUuidPerGpu) {
  const auto fleet = MakeFleet(100, 1, 11);
  ASSERT_EQ(fleet.size(), 13u);
  std::set<std::string> uuids;
  int gpus = 0;
  for (const NodeSpec& n : fleet) {
    for (const GpuSpec& g : n.gpus) {
      ++gpus;
      uuids.insert(g.uuid);
      EXPECT_EQ(g.uuid.size(), 40u) << g.uuid;
      EXPECT_EQ(g.uuid.rfind("GPU-", 0), 0u);
    }
  }
  EXPECT_EQ(gpus, 100);
  EXPECT_EQ(uuids.size(), 100u);
  // On the page: (host, gpu index) <-> UUID is one to one.
  ParsedPage p = Parse(RenderFleetPage(fleet, PageOptions{}));
  ASSERT_EQ(p.errors, 0) << p.first_error;
  std::map<std::string, std::set<std::string>> uuid_by_gpu, gpu_by_uuid;
  for (const ParsedSample& s : p.samples) {
    uuid_by_gpu[s.Label("Hostname") + "/" + s.Label("gpu")].insert(s.Label("UUID"));
    gpu_by_uuid[s.Label("UUID")].insert(s.Label("Hostname") + "/" + s.Label("gpu"));
  }
  EXPECT_EQ(uuid_by_gpu.size(), 100u);
  EXPECT_EQ(gpu_by_uuid.size(), 100u);
  for (const auto& [gpu, set] : uuid_by_gpu) EXPECT_EQ(set.size(), 1u) << gpu;
  for (const auto& [uuid, set] : gpu_by_uuid) EXPECT_EQ(set.size(), 1u) << uuid;
}

TEST(DcgmPage, FramebufferSumsToMemorySize) {
  const auto fleet = MakeFleet(48, 2, 13);
  std::map<std::string, std::int64_t> expected;  // entity -> MiB
  for (const NodeSpec& n : fleet) {
    for (const GpuSpec& g : n.gpus) {
      if (g.mig.empty()) {
        expected[n.hostname + "/" + g.uuid + "/"] = std::llround(g.memory_gib * 1024);
      } else {
        for (const MigInstanceSpec& m : g.mig) {
          expected[n.hostname + "/" + g.uuid + "/" + std::to_string(m.gi_id)] = std::llround(m.memory_gib * 1024);
        }
      }
    }
  }
  for (double t : {0.0, 3600.0 * 15, 3600.0 * 40}) {
    PageOptions o;
    o.time_s = t;
    ParsedPage p = Parse(RenderFleetPage(fleet, o));
    ASSERT_EQ(p.errors, 0) << p.first_error;
    std::map<std::string, std::int64_t> sum;
    std::map<std::string, int> parts;
    for (const ParsedSample& s : p.samples) {
      if (s.name == "DCGM_FI_DEV_FB_USED" || s.name == "DCGM_FI_DEV_FB_FREE" || s.name == "DCGM_FI_DEV_FB_RESERVED") {
        EXPECT_GE(s.value, 0) << s.name;
        sum[Entity(s)] += static_cast<std::int64_t>(s.value);
        ++parts[Entity(s)];
      }
      if (s.name == "DCGM_FI_DEV_FB_RESERVED" && !s.Has("GPU_I_ID")) {
        EXPECT_NEAR(s.value, 487, 4) << "~0.6% of an 80 GB card";
      }
    }
    ASSERT_EQ(sum.size(), expected.size());
    for (const auto& [entity, mib] : expected) {
      EXPECT_EQ(parts[entity], 3) << entity;
      EXPECT_EQ(sum[entity], mib) << entity;
    }
  }
}

TEST(DcgmPage, NoGpuLevelUtilOnMigInstances) {
  const auto fleet = MakeFleet(8, 3, 17);
  ParsedPage p = Parse(RenderPage(fleet[0], PageOptions{}));
  ASSERT_EQ(p.errors, 0) << p.first_error;
  int gpu_util = 0, mig_gr = 0;
  std::map<std::string, std::set<double>> power_per_uuid;
  for (const ParsedSample& s : p.samples) {
    if (s.Has("GPU_I_ID")) {
      EXPECT_EQ(kGpuOnly.count(s.name), 0u) << s.name << " on a MIG instance";
      if (s.name == "DCGM_FI_PROF_GR_ENGINE_ACTIVE") ++mig_gr;
      if (s.name == "DCGM_FI_DEV_POWER_USAGE") power_per_uuid[s.Label("UUID")].insert(s.value);
    }
    if (s.name == "DCGM_FI_DEV_GPU_UTIL") ++gpu_util;
  }
  EXPECT_EQ(gpu_util, 5);      // the 5 whole GPUs
  EXPECT_EQ(mig_gr, 3 * 7);    // one series per GPU instance
  ASSERT_EQ(power_per_uuid.size(), 3u);
  for (const auto& [uuid, values] : power_per_uuid) EXPECT_EQ(values.size(), 1u) << "device value repeated: " << uuid;
}

TEST(DcgmPage, DeterministicForSeed) {
  PageOptions o;
  o.time_s = 5000;
  o.include_sm_active = true;
  EXPECT_EQ(RenderFleetPage(MakeFleet(24, 1, 99), o), RenderFleetPage(MakeFleet(24, 1, 99), o));
  EXPECT_NE(RenderFleetPage(MakeFleet(24, 1, 99), o), RenderFleetPage(MakeFleet(24, 1, 98), o));
  PageOptions other = o;
  other.seed = 2;
  EXPECT_NE(RenderFleetPage(MakeFleet(24, 1, 99), o), RenderFleetPage(MakeFleet(24, 1, 99), other));
  // Within one 30 s collect interval the page does not change.
  PageOptions later = o;
  later.time_s = o.time_s + 5;
  EXPECT_EQ(RenderFleetPage(MakeFleet(24, 1, 99), o), RenderFleetPage(MakeFleet(24, 1, 99), later));
}

TEST(DcgmPage, EnergyMonotonicOverTime) {
  const auto fleet = MakeFleet(32, 1, 23);
  std::map<std::string, double> last_energy;
  for (double t = 0; t <= 2 * 86400; t += 1800) {
    PageOptions o;
    o.time_s = t;
    ParsedPage p = Parse(RenderFleetPage(fleet, o));
    ASSERT_EQ(p.errors, 0) << p.first_error;
    std::map<std::string, double> energy, power;
    for (const ParsedSample& s : p.samples) {
      if (s.name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION") energy[s.Label("UUID")] = s.value;
      if (s.name == "DCGM_FI_DEV_POWER_USAGE") power[s.Label("UUID")] = s.value;
    }
    ASSERT_EQ(energy.size(), 32u);
    for (const auto& [uuid, e] : energy) {
      if (last_energy.count(uuid)) {
        const double delta_j = (e - last_energy[uuid]) / 1000.0;
        EXPECT_GT(delta_j, 0) << uuid << " at t=" << t;
        // 1800 s between idle (~50 W) and TDP (700 W).
        EXPECT_GT(delta_j, 1800 * 45.0) << uuid;
        EXPECT_LT(delta_j, 1800 * 700.0) << uuid;
      }
      last_energy[uuid] = e;
    }
  }
}

TEST(DcgmPage, ValuesAreRealistic) {
  const auto fleet = MakeFleet(512, 1, 31);
  std::map<std::string, PatternKind> kind;  // entity -> workload
  std::map<std::string, std::string> model;
  int gpus = 0, assigned = 0;
  for (const NodeSpec& n : fleet) {
    for (const GpuSpec& g : n.gpus) {
      ++gpus;
      model[g.uuid] = g.model_name;
      if (g.mig.empty()) {
        kind[n.hostname + "/" + g.uuid + "/"] = g.workload;
        assigned += g.pod.empty() ? 0 : 1;
      } else {
        bool any = false;
        for (const MigInstanceSpec& m : g.mig) {
          kind[n.hostname + "/" + g.uuid + "/" + std::to_string(m.gi_id)] = m.workload;
          any |= !m.pod.empty();
        }
        assigned += any ? 1 : 0;
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(assigned) / gpus, 0.70, 0.08);
  bool saw_training = false, saw_inference = false, saw_idle = false;
  double inference_min = 1, inference_max = 0;
  for (double t : {3.0 * 3600, 14.0 * 3600}) {
    PageOptions o;
    o.time_s = t;
    o.include_sm_active = true;
    ParsedPage p = Parse(RenderFleetPage(fleet, o));
    ASSERT_EQ(p.errors, 0) << p.first_error;
    std::map<std::string, double> gr, sm;
    for (const ParsedSample& s : p.samples) {
      if (s.name == "DCGM_FI_PROF_GR_ENGINE_ACTIVE") gr[Entity(s)] = s.value;
      if (s.name == "DCGM_FI_PROF_SM_ACTIVE") sm[Entity(s)] = s.value;
      if (s.name == "DCGM_FI_DEV_POWER_USAGE") {
        const double tdp = model[s.Label("UUID")].find("H100") != std::string::npos ? 700 : 400;
        EXPECT_GE(s.value, 45) << s.Label("UUID");
        EXPECT_LE(s.value, tdp) << s.Label("UUID");
      }
      if (s.name == "DCGM_FI_DEV_GPU_TEMP") {
        EXPECT_GE(s.value, 25);
        EXPECT_LE(s.value, 90);
      }
      if (s.name == "DCGM_FI_DEV_SM_CLOCK") {
        EXPECT_GE(s.value, 200);
        EXPECT_LE(s.value, 1980);
      }
      if (s.name == "DCGM_FI_DEV_GPU_UTIL") {
        EXPECT_GE(s.value, 0);
        EXPECT_LE(s.value, 100);
      }
      if (s.name == "DCGM_FI_DEV_XID_ERRORS") {
        EXPECT_EQ(s.value, 0);
      }
    }
    for (const auto& [entity, g] : gr) {
      ASSERT_TRUE(kind.count(entity)) << entity;
      EXPECT_LE(sm[entity], g + 1e-6) << entity;
      switch (kind[entity]) {
        case PatternKind::kTraining:
          saw_training = true;
          EXPECT_GE(g, 0.85) << entity;
          EXPECT_LE(g, 0.99) << entity;
          break;
        case PatternKind::kInference:
          saw_inference = true;
          EXPECT_GE(g, 0.05) << entity;
          EXPECT_LE(g, 0.40) << entity;
          inference_min = std::min(inference_min, g);
          inference_max = std::max(inference_max, g);
          break;
        default:
          saw_idle = true;
          EXPECT_LE(g, 0.02) << entity;
      }
    }
  }
  EXPECT_TRUE(saw_training && saw_inference && saw_idle);
  EXPECT_LT(inference_min, 0.12);
  EXPECT_GT(inference_max, 0.30);
}

TEST(DcgmPage, DiurnalPatternPeaksInTheAfternoon) {
  NodeSpec node;
  node.hostname = "n1";
  node.driver_version = "535.129.03";
  for (int i = 0; i < 8; ++i) {
    GpuSpec g;
    g.index = i;
    g.uuid = "GPU-00000000-0000-0000-0000-00000000000" + std::to_string(i);
    g.model_name = "NVIDIA H100 80GB HBM3";
    g.memory_gib = 80;
    g.pod = "vllm-" + std::to_string(i);
    g.namespace_name = "serving";
    g.container = "vllm";
    node.gpus.push_back(g);  // kAuto + pod = inference
  }
  auto mean_gr = [&](double t) {
    PageOptions o;
    o.time_s = t;
    ParsedPage p = Parse(RenderPage(node, o));
    double sum = 0;
    int n = 0;
    for (const ParsedSample& s : p.samples) {
      if (s.name == "DCGM_FI_PROF_GR_ENGINE_ACTIVE") sum += s.value, ++n;
    }
    return sum / n;
  };
  EXPECT_GT(mean_gr(14 * 3600), mean_gr(2 * 3600) + 0.1);
}

TEST(DcgmPage, HelpAndTypeMatchTheDefaultCountersCsv) {
  const char* shared = std::getenv("GPUWISE_SHARED");
  if (shared == nullptr) GTEST_SKIP() << "GPUWISE_SHARED not set";
  std::ifstream csv(std::string(shared) + "/data/nvidia/dcgm-exporter/default-counters.csv");
  if (!csv) GTEST_SKIP() << "default-counters.csv not found";
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::string, std::string>> rows;  // name -> (type, help)
  std::string line;
  while (std::getline(csv, line)) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const std::string name = trim(line.substr(0, c1)), type = trim(line.substr(c1 + 1, c2 - c1 - 1));
    if (type == "label") continue;
    order.push_back(name);
    rows[name] = {type, trim(line.substr(c2 + 1))};
  }
  ParsedPage p = Parse(RenderPage(MakeFleet(8, 0, 1)[0], PageOptions{}));
  EXPECT_EQ(p.families, order);
  for (const auto& [name, th] : rows) {
    EXPECT_EQ(p.type[name], th.first) << name;
    EXPECT_EQ(p.help[name], th.second) << name;
  }
}

}  // namespace
}  // namespace gpuwise::sim
