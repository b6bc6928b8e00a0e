// libFuzzer target: the openb trace readers (sim/openb_replay.h) on arbitrary bytes. The first byte picks the node
// list or the pod list; a valid small pod list is then replayed with every policy on a fixed four-node cluster.
// Properties: no crash, no sanitizer report, every error names the file and line, and a replay never allocates more
// GPU than the cluster has nor fails a pod that some node could take (checked inside the placer by its tests; here
// the allocation bound).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/openb_replay.h"

using namespace gpuwise;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto nodes = sim::ParseOpenbNodeList("nodes.csv", text);
    if (!nodes.ok() && nodes.status().message().rfind("nodes.csv:", 0) != 0) std::abort();
    return 0;
  }
  auto pods = sim::ParseOpenbPodList("pods.csv", text);
  if (!pods.ok()) {
    if (pods.status().message().rfind("pods.csv:", 0) != 0) std::abort();
    return 0;
  }
  if (pods->empty() || pods->size() > 200) return 0;
  std::vector<optimize::fractional::PlacementNode> nodes = {{"a", 32000, 262144, 8, "G2"}, {"b", 16000, 65536, 2, "T4"},
                                                            {"c", 64000, 524288, 4, "V100M32"}, {"d", 8000, 16384, 0, ""}};
  for (optimize::fractional::PolicyKind k :
       {optimize::fractional::PolicyKind::kRandom, optimize::fractional::PolicyKind::kDotProd,
        optimize::fractional::PolicyKind::kGpuClustering, optimize::fractional::PolicyKind::kGpuPacking,
        optimize::fractional::PolicyKind::kBestFit, optimize::fractional::PolicyKind::kFgd,
        optimize::fractional::PolicyKind::kGpuwise}) {
    sim::ReplayOptions o;
    o.policy = k;
    o.tune = 0.5;  // small: the fuzzer's pods may be huge
    auto r = sim::Replay(nodes, *pods, o);
    if (r.ok() && (r->allocated_percent > 100 + 1e-9 || r->pods_failed > r->pods_offered)) std::abort();
  }
  return 0;
}
