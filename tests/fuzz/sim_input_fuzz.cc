// libFuzzer target: the simulated cluster's input parsers on arbitrary bytes. The first byte picks the parser:
// scenario YAML (then, when valid and small, the world is laid out and simulated for a minute), an Azure-style
// trace CSV, a Mooncake JSONL trace, a vLLM version string, a Kubernetes quantity. Properties: no crash, no
// sanitizer report, every scenario error names its source, a valid scenario always builds a world.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sim/behavior.h"
#include "sim/ksm_page.h"
#include "sim/scenario.h"
#include "sim/scenario_gen.h"
#include "sim/vllm_page.h"

using namespace gpuwise::sim;

namespace {

std::string WriteTemp(std::string_view body, const char* name) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/gpuwise-fuzz-XXXXXX";
    const char* d = mkdtemp(tmpl);
    return std::string(d == nullptr ? "/tmp" : d);
  }();
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  std::fwrite(body.data(), 1, body.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto s = ParseScenario(body, "fuzz.yaml");
      if (!s.ok()) {
        if (s.status().message().rfind("fuzz.yaml", 0) != 0) std::abort();  // errors name the input
        return 0;
      }
      long long gpus = 0;
      for (const NodePool& p : s->node_pools) gpus += static_cast<long long>(p.count) * p.gpus_per_node;
      long long replicas = 0;
      for (const WorkloadSpec& w : s->workloads) replicas += w.replicas;
      if (gpus > 256 || s->node_pools.size() > 64 || replicas > 256) return 0;  // keep each input fast
      auto world = BuildWorld(*s, {.horizon_s = 3 * 86400.0});
      if (!world.ok()) std::abort();  // a validated scenario always lays out
      Simulator sim(*world, {.step_s = 15, .start_s = 86400});
      sim.AdvanceTo(86400 + 60);
      return 0;
    }
    case 1: (void)LoadArrivalTrace(WriteTemp(body, "AzureLLMInferenceTrace_conv.csv")); return 0;
    case 2: (void)LoadArrivalTrace(WriteTemp(body, "conversation_trace.jsonl")); return 0;
    case 3: (void)ParseVllmVersion(body); return 0;
    default: {
      double milli = 0;
      (void)ParseKubeQuantityMilli(body, &milli);
      return 0;
    }
  }
}
