// The FGD paper's experiment replayed (sim/openb_replay.h): one line of JSON per (trace, policy, seed) with the
// allocation ratio at 100% and 130% arrival and the replay's wall time. Usage:
//   openb_replay_bench <openb dir> <trace> <policy>[,<policy>...] <first seed> <seeds> [units]
// e.g. openb_replay_bench ../shared/data/openb default FGD,BestFit 42 10. With "units", the stock-cluster variant
// (ReplayUnits on StockConfigs, policies LeastAllocated, BestFit, gpuwise of unit_placement.h); its lines carry
// "units": true and the share of capacity the units took. bench/run summarises the lines.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "sim/openb_replay.h"

int main(int argc, char** argv) {
  using namespace gpuwise;
  const bool units = argc == 7 && std::string(argv[6]) == "units";
  if (argc != 6 && !units) {
    std::fprintf(stderr, "usage: %s <openb dir> <trace> <policy>[,<policy>...] <first seed> <seeds> [units]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], trace = argv[2];
  auto nodes = sim::ReadOpenbNodeList(dir + "/openb_node_list_gpu_node.csv");
  if (!nodes.ok()) {
    std::fprintf(stderr, "%s\n", nodes.status().ToString().c_str());
    return 1;
  }
  auto pods = sim::ReadOpenbPodList(dir + "/openb_pod_list_" + trace + ".csv");
  if (!pods.ok()) {
    std::fprintf(stderr, "%s\n", pods.status().ToString().c_str());
    return 1;
  }
  std::stringstream policies(argv[3]);
  std::string name;
  const long first = std::atol(argv[4]), seeds = std::atol(argv[5]);
  while (units && std::getline(policies, name, ',')) {
    optimize::fractional::UnitPolicyKind kind;
    if (!optimize::fractional::ParseUnitPolicy(name, &kind)) {
      std::fprintf(stderr, "unknown stock-cluster policy '%s' (LeastAllocated, BestFit, gpuwise)\n", name.c_str());
      return 2;
    }
    for (long s = first; s < first + seeds; ++s) {
      sim::UnitReplayOptions o;
      o.policy = kind;
      o.seed = static_cast<std::uint64_t>(s);
      auto r = sim::ReplayUnits(*nodes, sim::StockConfigs(*nodes, *pods, o.seed), *pods, o);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      std::printf("{\"trace\":\"%s\",\"policy\":\"%s\",\"units\":true,\"seed\":%ld,\"alloc100\":%.2f,\"alloc130\":%.2f,"
                  "\"units_percent\":%.2f,\"failed\":%d,\"offered\":%d,\"seconds\":%.3f}\n",
                  trace.c_str(), std::string(optimize::fractional::UnitPolicyName(kind)).c_str(), s,
                  r->replay.allocation_by_level[100], r->replay.allocation_by_level[130], r->units_percent,
                  r->replay.pods_failed, r->replay.pods_offered, r->replay.seconds);
      std::fflush(stdout);
    }
  }
  while (!units && std::getline(policies, name, ',')) {
    optimize::fractional::PolicyKind kind;
    if (!optimize::fractional::ParsePolicy(name, &kind)) {
      std::fprintf(stderr, "unknown policy '%s'\n", name.c_str());
      return 2;
    }
    for (long s = first; s < first + seeds; ++s) {
      sim::ReplayOptions o;
      o.policy = kind;
      o.seed = static_cast<std::uint64_t>(s);
      auto r = sim::Replay(*nodes, *pods, o);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      std::printf("{\"trace\":\"%s\",\"policy\":\"%s\",\"seed\":%ld,\"alloc100\":%.2f,\"alloc130\":%.2f,\"failed\":%d,"
                  "\"offered\":%d,\"seconds\":%.3f}\n",
                  trace.c_str(), std::string(optimize::fractional::PolicyName(kind)).c_str(), s,
                  r->allocation_by_level[100], r->allocation_by_level[130], r->pods_failed, r->pods_offered, r->seconds);
      std::fflush(stdout);
    }
  }
  return 0;
}
