// Property tests (rapidcheck) for the simulated cluster's parsers and its placement: generated scenarios parse
// back to what was written and always lay out without over-committing a device; generated traces, vLLM
// versions and Kubernetes quantities read back exactly.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "sim/ksm_page.h"
#include "sim/scenario.h"
#include "sim/scenario_gen.h"
#include "sim/vllm_page.h"
#include "sim/world.h"

namespace gpuwise::sim {
namespace {

struct PoolGen {
  std::string name, model, sharing;
  int count, gpus;
  double memory;
};

// A scenario as YAML text, with the values it should parse to.
struct Generated {
  std::string yaml;
  std::vector<PoolGen> pools;
  std::vector<std::pair<std::string, int>> workloads;  // name, replicas
};

rc::Gen<Generated> GenScenario() {
  return rc::gen::exec([] {
    Generated g;
    g.yaml = "apiVersion: gpuwise.io/v1alpha1\nkind: Scenario\nname: gen\nseed: " +
             std::to_string(*rc::gen::inRange(0, 1000)) + "\nnodePools:\n";
    const int pools = *rc::gen::inRange(1, 5);
    for (int p = 0; p < pools; ++p) {
      PoolGen pool;
      pool.name = "pool" + std::to_string(p);
      const int kind = *rc::gen::inRange(0, 5);
      pool.count = *rc::gen::inRange(1, 4);
      switch (kind) {
        case 0: pool.model = "NVIDIA H100 80GB HBM3"; pool.memory = 80; pool.gpus = 8; pool.sharing = "{mode: mig, migLayout: [3g.40gb, 2g.20gb, 1g.10gb, 1g.10gb], migGpus: 2}"; break;
        case 1: pool.model = "NVIDIA A100-SXM4-80GB"; pool.memory = 80; pool.gpus = 8; pool.sharing = "{mode: none}"; break;
        case 2: pool.model = "NVIDIA A100-SXM4-40GB"; pool.memory = 40; pool.gpus = 8; pool.sharing = "{mode: hami}"; break;
        case 3: pool.model = "NVIDIA L4"; pool.memory = 24; pool.gpus = 4; pool.sharing = "{mode: timeslicing, replicas: " + std::to_string(*rc::gen::inRange(2, 9)) + "}"; break;
        default: pool.model = "NVIDIA L4"; pool.memory = 24; pool.gpus = 4; pool.sharing = "{mode: mps, replicas: 2, rename: true}"; break;
      }
      g.yaml += "  - {name: " + pool.name + ", count: " + std::to_string(pool.count) + ", gpuModel: " + pool.model +
                ", gpusPerNode: " + std::to_string(pool.gpus) + ", gpuMemoryGiB: " + std::to_string(static_cast<int>(pool.memory)) +
                ", pricePerHour: 10, sharing: " + pool.sharing + "}\n";
      g.pools.push_back(pool);
    }
    g.yaml += "workloads:\n";
    const int workloads = *rc::gen::inRange(1, 12);
    for (int w = 0; w < workloads; ++w) {
      const PoolGen& pool = g.pools[static_cast<std::size_t>(*rc::gen::inRange(0, pools))];
      const int replicas = *rc::gen::inRange(1, 6);
      std::string gpu;
      if (pool.sharing.find("mig") != std::string::npos) {
        gpu = *rc::gen::element<std::string>("{resource: nvidia.com/mig-3g.40gb}", "{resource: nvidia.com/mig-1g.10gb}",
                                             "{resource: nvidia.com/gpu, count: 2}");
      } else if (pool.sharing.find("hami") != std::string::npos) {
        gpu = "{count: 1, gpumem: " + std::to_string(*rc::gen::inRange(1, 40) * 1024) + ", gpucores: " +
              std::to_string(*rc::gen::inRange(1, 101)) + "}";
      } else if (pool.sharing.find("mps") != std::string::npos) {
        gpu = "{resource: nvidia.com/gpu.shared}";
      } else {
        gpu = "{count: " + std::to_string(*rc::gen::inRange(1, 5)) + "}";
      }
      const std::string name = "w" + std::to_string(w);
      const int kind = *rc::gen::inRange(0, 4);
      std::string body;
      switch (kind) {
        case 0: body = "kind: inference, model: {name: m, weightsGiB: 2, layers: 24, kvHeads: 8, headDim: 64}, traffic: {peakRps: 3, troughRps: 1}"; break;
        case 1: body = "kind: notebook"; break;
        case 2: body = "kind: cronbatch, schedule: \"0 3 * * *\""; break;
        default: body = "kind: batch, usage: {startHour: 10, runHours: 30}"; break;
      }
      g.yaml += "  - {name: " + name + ", namespace: ns" + std::to_string(w % 3) + ", replicas: " + std::to_string(replicas) +
                ", nodePool: " + pool.name + ", gpu: " + gpu + ", " + body + "}\n";
      g.workloads.emplace_back(name, replicas);
    }
    return g;
  });
}

TEST(SimProperty, GeneratedScenariosParseBackAndNeverOvercommitADevice) {
  const bool ok = rc::check([] {
    const Generated g = *GenScenario();
    auto s = ParseScenario(g.yaml, "gen.yaml");
    RC_ASSERT(s.ok());
    RC_ASSERT(s->node_pools.size() == g.pools.size());
    for (std::size_t i = 0; i < g.pools.size(); ++i) {
      RC_ASSERT(s->node_pools[i].count == g.pools[i].count);
      RC_ASSERT(s->node_pools[i].gpus_per_node == g.pools[i].gpus);
      RC_ASSERT(s->node_pools[i].gpu_model == g.pools[i].model);
    }
    RC_ASSERT(s->workloads.size() == g.workloads.size());
    for (std::size_t i = 0; i < g.workloads.size(); ++i) RC_ASSERT(s->workloads[i].replicas == g.workloads[i].second);
    auto world = BuildWorld(*s);
    RC_ASSERT(world.ok());
    // At several moments, the pods alive hold each device within what it offers.
    std::set<std::string> ips;
    for (const SimPod& p : world->pods) {
      if (!p.ip.empty()) RC_ASSERT(ips.insert(p.ip).second);
    }
    for (double t : {0.0, 86400.0 + 3 * 3600, 3 * 86400.0 + 12 * 3600, 6 * 86400.0}) {
      std::map<std::tuple<int, int, int>, double> held;  // (node, gpu, mig) -> whole / shares / MiB
      std::map<std::pair<int, int>, int> cores;
      using Key = std::pair<int, int>;
      for (const SimPod& p : world->pods) {
        if (!p.alive(t)) continue;
        for (const GpuBinding& b : p.gpus) {
          const SimNode& node = world->nodes[static_cast<std::size_t>(b.node)];
          const Sharing& sh = s->node_pools[static_cast<std::size_t>(node.pool)].sharing;
          auto& h = held[{b.node, b.gpu, b.mig}];
          if (sh.mode == SharingMode::kHami) {
            h += b.memory_limit_mib;
            int& c = cores[Key(b.node, b.gpu)];
            c += static_cast<int>(std::lround(b.compute_share * 100));
            RC_ASSERT(h <= node.gpus[static_cast<std::size_t>(b.gpu)].memory_mib + 1e-6);
            RC_ASSERT(c <= 100);
          } else if (b.replica >= 0) {
            h += 1;
            RC_ASSERT(h <= sh.replicas);
          } else {
            h += 1;
            RC_ASSERT(h <= 1);  // a whole GPU or a MIG instance: one pod at a time
          }
        }
      }
    }
  });
  EXPECT_TRUE(ok);
}

TEST(SimProperty, AzureTracesReadBackExactly) {
  const auto dir = std::filesystem::temp_directory_path() / ("gpuwise-trace-prop-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const bool ok = rc::check([&dir] {
    const auto gaps = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 5000000));  // microseconds
    RC_PRE(!gaps.empty());
    const auto prompts = *rc::gen::container<std::vector<int>>(gaps.size(), rc::gen::inRange(1, 100000));
    const auto outputs = *rc::gen::container<std::vector<int>>(gaps.size(), rc::gen::inRange(0, 10000));
    std::string csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    long long us = 0;
    double sum_p = 0, sum_o = 0;
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      us += gaps[i];
      const long long s = us / 1000000, frac = us % 1000000;
      char line[96];
      std::snprintf(line, sizeof line, "2023-11-16 %02lld:%02lld:%02lld.%06lld0,%d,%d\n", 10 + s / 3600, (s / 60) % 60,
                    s % 60, frac, prompts[i], outputs[i]);
      csv += line;
      sum_p += prompts[i];
      sum_o += outputs[i];
    }
    const auto path = dir / "AzureLLMInferenceTrace_conv.csv";
    std::ofstream(path) << csv;
    auto trace = LoadArrivalTrace(path.string());
    RC_ASSERT(trace.ok());
    RC_ASSERT(trace->arrival_s.size() == gaps.size());
    long long acc = 0;
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      acc += gaps[i];
      RC_ASSERT(std::fabs(trace->arrival_s[i] - static_cast<double>(acc - gaps[0]) / 1e6) < 1e-6);
    }
    RC_ASSERT(trace->mean_prompt_tokens.has_value());
    RC_ASSERT(std::fabs(*trace->mean_prompt_tokens - sum_p / static_cast<double>(gaps.size())) < 1e-6);
    RC_ASSERT(std::fabs(*trace->mean_output_tokens - sum_o / static_cast<double>(gaps.size())) < 1e-6);
  });
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(ok);
}

TEST(SimProperty, VersionsAndQuantitiesReadBack) {
  EXPECT_TRUE(rc::check([] {
    const int major = *rc::gen::inRange(0, 100), minor = *rc::gen::inRange(0, 100), patch = *rc::gen::inRange(0, 100);
    const std::string suffix = *rc::gen::element<std::string>("", ".post1", "rc2", "+cu124");
    const std::string prefix = *rc::gen::element<std::string>("", "v");
    auto v = ParseVllmVersion(prefix + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + suffix);
    RC_ASSERT(v.ok());
    RC_ASSERT(v->major == major && v->minor == minor && v->patch == patch);
  }));
  EXPECT_TRUE(rc::check([] {
    const long long n = *rc::gen::inRange(0, 1000000);
    struct Unit {
      const char* suffix;
      double milli;
    };
    const Unit u = *rc::gen::element(Unit{"m", 1}, Unit{"", 1000}, Unit{"k", 1e6}, Unit{"Ki", 1024e3}, Unit{"Mi", 1048576e3},
                                     Unit{"Gi", 1073741824e3}, Unit{"M", 1e9});
    double milli = -1;
    RC_ASSERT(ParseKubeQuantityMilli(std::to_string(n) + u.suffix, &milli));
    RC_ASSERT(milli == static_cast<double>(n) * u.milli);
  }));
}

}  // namespace
}  // namespace gpuwise::sim
