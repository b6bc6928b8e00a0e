// packing_bench: 1-D fractional GPU packing (optimize/fractional/bin_packing.h) on two instances:
//   openb3078: the 3,078 pods of openb_pod_list_default.csv with num_gpu == 1 and 0 < gpu_milli < 1000, capacity
//     1000 milli ($GPUWISE_SHARED/data/openb; skipped when absent);
//   synth10k: 10,000 pods drawn with a fixed seed from the size histogram of those same pods (embedded below, so the
//     instance is the same with or without the data).
// Timed: FFD, BFD, and the exact path (arc-flow MIP + CBC, decode included). Counters on every run: gpus (bins
// used), opt (the arc-flow optimum, computed once), opt_proven, l2, items. bench/run's packing section pairs them
// with their anchors: time against the goal of 10 ms for 10,000 pods, GPUs against CBC's optimum and L2.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "optimize/fractional/bin_packing.h"
#include "solve/cbc/cbc_solver.h"

namespace gpuwise::optimize::fractional {
namespace {

constexpr int kCapacity = 1000;

// (gpu_milli, pods) of the openb fractional pods: 3,078 in total, 20 distinct sizes.
constexpr std::pair<int, int> kOpenbHistogram[] = {
    {50, 7},    {110, 24},  {140, 1},   {160, 74},  {220, 62},  {230, 140},  {270, 4},  {290, 1},   {320, 328},
    {330, 7},   {350, 6},   {370, 47},  {440, 2},   {460, 128}, {470, 750},  {480, 19}, {550, 72},  {590, 75},
    {650, 253}, {810, 1078}};

std::vector<int> Synthetic(int n, unsigned seed) {
  std::vector<int> sizes, weights;
  for (const auto& [s, w] : kOpenbHistogram) {
    sizes.push_back(s);
    weights.push_back(w);
  }
  std::mt19937 rng(seed);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  std::vector<int> out(static_cast<std::size_t>(n));
  for (int& x : out) x = sizes[static_cast<std::size_t>(pick(rng))];
  return out;
}

std::vector<int> LoadOpenb() {
  const char* shared = std::getenv("GPUWISE_SHARED");
  if (shared == nullptr) return {};
  std::ifstream in(std::string(shared) + "/data/openb/openb_pod_list_default.csv");
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  const auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::size_t num_gpu = col("num_gpu"), gpu_milli = col("gpu_milli");
  std::vector<int> sizes;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() <= std::max(num_gpu, gpu_milli)) continue;
    const int g = std::atoi(f[num_gpu].c_str()), m = std::atoi(f[gpu_milli].c_str());
    if (g == 1 && m > 0 && m < kCapacity) sizes.push_back(m);
  }
  return sizes;
}

struct Instance {
  std::string name;
  std::vector<int> sizes;
  int opt = 0;
  bool opt_proven = false;
  int l2 = 0;
};

std::vector<Instance>& Instances() {
  static std::vector<Instance> all;
  return all;
}

void SetCounters(benchmark::State& state, const Instance& inst, int gpus) {
  state.counters["gpus"] = gpus;
  state.counters["opt"] = inst.opt;
  state.counters["opt_proven"] = inst.opt_proven ? 1 : 0;
  state.counters["l2"] = inst.l2;
  state.counters["items"] = static_cast<double>(inst.sizes.size());
}

ExactPackingOptions BenchExactOptions() {
  ExactPackingOptions o;
  o.mip.time_limit_seconds = 60;
  o.skip_solver_when_ffd_meets_bound = false;  // always time the solver
  return o;
}

void BM_Ffd(benchmark::State& state, const Instance* inst) {
  int gpus = 0;
  for (auto _ : state) {
    auto p = FirstFitDecreasing(inst->sizes, kCapacity);
    benchmark::DoNotOptimize(p);
    gpus = p->bins_used;
  }
  SetCounters(state, *inst, gpus);
}

void BM_Bfd(benchmark::State& state, const Instance* inst) {
  int gpus = 0;
  for (auto _ : state) {
    auto p = BestFitDecreasing(inst->sizes, kCapacity);
    benchmark::DoNotOptimize(p);
    gpus = p->bins_used;
  }
  SetCounters(state, *inst, gpus);
}

void BM_ArcFlowCbc(benchmark::State& state, const Instance* inst) {
  auto cbc = solve::cbc::NewCbcSolver();
  int gpus = 0;
  for (auto _ : state) {
    auto p = PackExact(inst->sizes, kCapacity, *cbc, BenchExactOptions());
    benchmark::DoNotOptimize(p);
    gpus = p->bins_used;
  }
  SetCounters(state, *inst, gpus);
}

}  // namespace
}  // namespace gpuwise::optimize::fractional

int main(int argc, char** argv) {
  using namespace gpuwise::optimize::fractional;
  benchmark::Initialize(&argc, argv);
  std::vector<Instance>& all = Instances();
  if (std::vector<int> openb = LoadOpenb(); !openb.empty()) {
    all.push_back({"openb3078", std::move(openb)});
  } else {
    std::fprintf(stderr, "packing_bench: openb data not found ($GPUWISE_SHARED/data/openb); synthetic only\n");
  }
  all.push_back({"synth10k", Synthetic(10'000, 20240601)});
  auto cbc = gpuwise::solve::cbc::NewCbcSolver();
  for (Instance& inst : all) {
    auto exact = PackExact(inst.sizes, kCapacity, *cbc, BenchExactOptions());
    if (!exact.ok()) {
      std::fprintf(stderr, "packing_bench: %s: %s\n", inst.name.c_str(), exact.status().ToString().c_str());
      return 1;
    }
    inst.opt = exact->optimal ? exact->bins_used : exact->lower_bound;
    inst.opt_proven = exact->optimal;
    inst.l2 = *LowerBoundL2(inst.sizes, kCapacity);
    std::fprintf(stderr, "packing_bench: %s: %zu pods, L2 %d, exact %d (%s)\n", inst.name.c_str(), inst.sizes.size(),
                 inst.l2, exact->bins_used, exact->note.c_str());
  }
  for (const Instance& inst : all) {
    benchmark::RegisterBenchmark(("BM_Ffd/" + inst.name).c_str(), BM_Ffd, &inst)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Bfd/" + inst.name).c_str(), BM_Bfd, &inst)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_ArcFlowCbc/" + inst.name).c_str(), BM_ArcFlowCbc, &inst)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
