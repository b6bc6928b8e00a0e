#include "sim/scenario_gen.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <utility>

#include "base/csv.h"
#include "sim/random.h"

namespace gpuwise::sim {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Text helpers: base/csv.h (whole-file reads, lines with numbers, plain CSV).
// ---------------------------------------------------------------------------------------------------------

using base::ColumnError;
using base::CsvFile;
using base::LineError;
using base::Lines;
using base::ParseDouble;
using base::ParseInt;
using base::SplitCsv;

using base::QuoteForError;
using base::ReadTextFile;

double Round2(double x) { return std::round(x * 100) / 100; }

// ---------------------------------------------------------------------------------------------------------
// Served models. weights_gib is bf16 (fp32 for the encoders) weights in GiB.
// ---------------------------------------------------------------------------------------------------------
struct ModelEntry {
  std::string_view name;
  double weights_gib;
  int layers, kv_heads, head_dim;
  bool encoder;  // a Triton-like encoder server, not vLLM
};
// From scenarios/demo.yaml.
constexpr ModelEntry kLlama70b{"llama-3-70b-instruct", 131.4, 80, 8, 128, false};
constexpr ModelEntry kQwen72b{"qwen2.5-72b-instruct", 135.4, 80, 8, 128, false};
constexpr ModelEntry kMistral7b{"mistral-7b-instruct", 13.5, 32, 8, 128, false};
constexpr ModelEntry kBgeReranker{"bge-reranker-large", 1.1, 24, 16, 64, true};
constexpr ModelEntry kDeberta{"deberta-v3-base", 0.7, 12, 12, 64, true};
// Llama 3.1 8B: 8.03e9 parameters x 2 bytes = 14.96 GiB; 32 layers, 8 KV heads, head dim 4096/32 = 128
// (meta-llama/Llama-3.1-8B-Instruct config.json).
constexpr ModelEntry kLlama8b{"llama-3.1-8b-instruct", 14.96, 32, 8, 128, false};
// all-MiniLM-L6-v2: 22.7e6 parameters x 4 bytes = 0.085 GiB; 6 layers, 12 heads of 32 (hidden 384). From memory of
// the sentence-transformers model card; one of MIGProfiler's calibration models.
constexpr ModelEntry kMiniLm{"all-minilm-l6-v2", 0.085, 6, 12, 32, true};

ModelSpec ToSpec(const ModelEntry& m) {
  ModelSpec s;
  s.name = std::string(m.name);
  s.weights_gib = m.weights_gib;
  s.layers = m.layers;
  s.kv_heads = m.kv_heads;
  s.head_dim = m.head_dim;
  return s;
}

void SetTraffic(Rng& rng, double peak_lo, double peak_hi, TrafficSpec* t) {
  t->peak_rps = Round2(rng.Uniform(peak_lo, peak_hi));
  t->trough_rps = Round2(t->peak_rps * rng.Uniform(0.05, 0.25));
  t->peak_hour = rng.Int(9, 21);
  t->weekend_factor = Round2(rng.Uniform(0.4, 1.0));
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic fleet.
// ---------------------------------------------------------------------------------------------------------

enum class Flavor { kNone, kChatSlo, kApiSlo, kInteractive, kNotebook, kBatch, kTraining, kCron };

struct Template {
  std::string_view base;  // workload name stem
  WorkloadKind kind;
  OwnerKind owner;
  std::string_view resource;
  int count;            // per pod
  int gpumem_mib;       // HAMi
  int gpucores;         // HAMi
  int units;            // budget units per replica (GPUs, MIG slices, quarter GPUs or time-sliced shares)
  int max_replicas;
  int weight;
  const ModelEntry* model;
  int tensor_parallel;
  double peak_lo, peak_hi;  // rps
  Flavor flavor;
};

constexpr std::string_view kGpu = "nvidia.com/gpu";
constexpr std::string_view kShared = "nvidia.com/gpu.shared";
constexpr std::string_view kMig3g = "nvidia.com/mig-3g.40gb";
constexpr std::string_view kMig2g = "nvidia.com/mig-2g.20gb";
constexpr std::string_view kMig1g = "nvidia.com/mig-1g.10gb";

using WK = WorkloadKind;
using OK = OwnerKind;
constexpr Template kH100[] = {
    {"chat-llama-70b", WK::kInference, OK::kInferenceService, kGpu, 4, 0, 0, 4, 8, 4, &kLlama70b, 4, 2, 12, Flavor::kChatSlo},
    {"chat-qwen-72b", WK::kInference, OK::kLeaderWorkerSet, kGpu, 8, 0, 0, 8, 2, 1, &kQwen72b, 8, 1, 6, Flavor::kChatSlo},
    {"pretrain", WK::kTraining, OK::kJob, kGpu, 8, 0, 0, 8, 4, 3, nullptr, 1, 0, 0, Flavor::kTraining},
    {"eval-harness", WK::kBatch, OK::kJob, kGpu, 1, 0, 0, 1, 8, 1, nullptr, 1, 0, 0, Flavor::kBatch},
    {"legacy-endpoint", WK::kForgotten, OK::kDeployment, kGpu, 1, 0, 0, 1, 1, 1, nullptr, 1, 0, 0, Flavor::kNone},
};
constexpr Template kH100Mig[] = {
    {"chat-llama-8b-mig", WK::kInference, OK::kDeployment, kMig3g, 1, 0, 0, 1, 8, 3, &kLlama8b, 1, 2, 10, Flavor::kChatSlo},
    {"staging-chat", WK::kForgotten, OK::kDeployment, kMig3g, 1, 0, 0, 1, 1, 1, nullptr, 1, 0, 0, Flavor::kNone},
    {"rerank", WK::kInference, OK::kDeployment, kMig2g, 1, 0, 0, 1, 4, 2, &kBgeReranker, 1, 10, 60, Flavor::kInteractive},
    {"embed", WK::kInference, OK::kDeployment, kMig1g, 1, 0, 0, 1, 8, 2, &kMiniLm, 1, 20, 120, Flavor::kInteractive},
    {"notebook-mig", WK::kNotebook, OK::kStatefulSet, kMig1g, 1, 0, 0, 1, 8, 1, nullptr, 1, 0, 0, Flavor::kNotebook},
    {"chat-mistral", WK::kInference, OK::kDeployment, kGpu, 1, 0, 0, 1, 6, 2, &kMistral7b, 1, 3, 15, Flavor::kApiSlo},
};
constexpr Template kA100x80[] = {
    {"api-mistral", WK::kInference, OK::kDeployment, kGpu, 1, 0, 0, 1, 12, 3, &kMistral7b, 1, 5, 30, Flavor::kApiSlo},
    {"chat-qwen-72b-a100", WK::kInference, OK::kLeaderWorkerSet, kGpu, 4, 0, 0, 4, 2, 1, &kQwen72b, 4, 0.5, 4, Flavor::kChatSlo},
    {"finetune", WK::kTraining, OK::kJob, kGpu, 8, 0, 0, 8, 2, 2, nullptr, 1, 0, 0, Flavor::kTraining},
    {"embed-backfill", WK::kBatch, OK::kJob, kGpu, 1, 0, 0, 1, 16, 2, nullptr, 1, 0, 0, Flavor::kBatch},
};
// HAMi units are quarter GPUs: 10240 MiB / 25% (a quarter of an A100 40GB, 40960 MiB) or twice that.
constexpr Template kA100x40Hami[] = {
    {"intent", WK::kInference, OK::kDeployment, kGpu, 1, 10240, 25, 1, 16, 3, &kDeberta, 1, 10, 60, Flavor::kInteractive},
    {"summarize", WK::kInference, OK::kDeployment, kGpu, 1, 20480, 50, 2, 8, 2, &kMistral7b, 1, 1, 8, Flavor::kApiSlo},
    {"feature-batch", WK::kBatch, OK::kJob, kGpu, 1, 20480, 50, 2, 8, 1, nullptr, 1, 0, 0, Flavor::kBatch},
    {"notebook-hami", WK::kNotebook, OK::kStatefulSet, kGpu, 1, 10240, 25, 1, 12, 2, nullptr, 1, 0, 0, Flavor::kNotebook},
};
constexpr Template kA100x40Spot[] = {
    {"spot-train", WK::kTraining, OK::kJob, kGpu, 8, 0, 0, 8, 2, 2, nullptr, 1, 0, 0, Flavor::kTraining},
    {"batch-infer", WK::kBatch, OK::kJob, kGpu, 1, 0, 0, 1, 32, 2, nullptr, 1, 0, 0, Flavor::kBatch},
    {"nightly-eval", WK::kCronBatch, OK::kCronJob, kGpu, 4, 0, 0, 4, 2, 1, nullptr, 1, 0, 0, Flavor::kCron},
};
constexpr Template kL4Shared[] = {
    {"notebooks", WK::kNotebook, OK::kStatefulSet, kShared, 1, 0, 0, 1, 24, 4, nullptr, 1, 0, 0, Flavor::kNotebook},
    {"dev-classifier", WK::kInference, OK::kDeployment, kShared, 1, 0, 0, 1, 2, 1, &kDeberta, 1, 0.5, 5, Flavor::kNone},
};
constexpr Template kL4[] = {
    {"chat-llama-8b", WK::kInference, OK::kDeployment, kGpu, 1, 0, 0, 1, 16, 3, &kLlama8b, 1, 2, 10, Flavor::kChatSlo},
    {"chat-mistral-tp2", WK::kInference, OK::kDeployment, kGpu, 2, 0, 0, 2, 8, 1, &kMistral7b, 2, 2, 12, Flavor::kApiSlo},
    {"report-gen", WK::kCronBatch, OK::kCronJob, kGpu, 1, 0, 0, 1, 4, 1, nullptr, 1, 0, 0, Flavor::kCron},
};
constexpr Template kL4Spot[] = {
    {"ocr-batch", WK::kBatch, OK::kJob, kGpu, 1, 0, 0, 1, 32, 3, nullptr, 1, 0, 0, Flavor::kBatch},
    {"nightly-embed", WK::kCronBatch, OK::kCronJob, kGpu, 1, 0, 0, 1, 8, 1, nullptr, 1, 0, 0, Flavor::kCron},
};

enum class PoolSharing { kWhole, kMig, kHami, kTimeSliced };
constexpr int kMigGpusPerNode = 2;
constexpr int kTimeSliceReplicas = 4;
constexpr std::string_view kMigLayout[] = {"3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"};

// Instance types and prices as scenarios/demo.yaml: AWS us-east-1 on-demand list prices per instance-hour; spot a
// GUESS at ~40% of on-demand.
struct PoolPlan {
  std::string_view name, gpu_model;
  int gpus_per_node;
  double gpu_memory_gib;
  std::string_view instance_type, zone;
  CapacityType capacity;
  double price;
  int cpu;
  double memory_gib;
  PoolSharing sharing;
  double share;  // of the fleet's GPUs
  std::span<const Template> templates;
};

constexpr std::string_view kH100Model = "NVIDIA H100 80GB HBM3";
constexpr std::string_view kA100x80Model = "NVIDIA A100-SXM4-80GB";
constexpr std::string_view kA100x40Model = "NVIDIA A100-SXM4-40GB";
constexpr std::string_view kL4Model = "NVIDIA L4";
using CT = CapacityType;
using PS = PoolSharing;
constexpr PoolPlan kPools[] = {
    {"h100", kH100Model, 8, 80, "p5.48xlarge", "us-east-1a", CT::kOnDemand, 98.32, 192, 2048, PS::kWhole, 0.28, kH100},
    {"h100-mig", kH100Model, 8, 80, "p5.48xlarge", "us-east-1a", CT::kOnDemand, 98.32, 192, 2048, PS::kMig, 0.06, kH100Mig},
    {"a100-80", kA100x80Model, 8, 80, "p4de.24xlarge", "us-east-1a", CT::kOnDemand, 40.97, 96, 1152, PS::kWhole, 0.20, kA100x80},
    {"a100-40-hami", kA100x40Model, 8, 40, "p4d.24xlarge", "us-east-1b", CT::kOnDemand, 32.77, 96, 1152, PS::kHami, 0.10, kA100x40Hami},
    {"a100-40-spot", kA100x40Model, 8, 40, "p4d.24xlarge", "us-east-1c", CT::kSpot, 13.11, 96, 1152, PS::kWhole, 0.10, kA100x40Spot},
    {"l4-shared", kL4Model, 4, 24, "g6.12xlarge", "us-east-1b", CT::kOnDemand, 4.60, 48, 192, PS::kTimeSliced, 0.08, kL4Shared},
    {"l4", kL4Model, 4, 24, "g6.12xlarge", "us-east-1b", CT::kOnDemand, 4.60, 48, 192, PS::kWhole, 0.12, kL4},
    {"l4-spot", kL4Model, 4, 24, "g6.12xlarge", "us-east-1c", CT::kSpot, 1.84, 48, 192, PS::kWhole, 0.06, kL4Spot},
};
constexpr std::size_t kPoolCount = std::size(kPools);

constexpr std::string_view kTeams[] = {"search", "ads", "platform", "research", "support", "recsys", "vision", "speech"};
constexpr std::string_view kTraces[] = {"azure-llm-2023/AzureLLMInferenceTrace_conv.csv",
                                        "mooncake/conversation_trace.jsonl"};

// Nodes per pool: floor(share * gpus / gpus_per_node), then the rest (gpus rounded up to a multiple of 4) to the
// pools furthest below their share: 8-GPU nodes while 8 or more remain, then one 4-GPU node.
std::vector<long long> NodesPerPool(int gpus) {
  const long long total = (static_cast<long long>(gpus) + 3) / 4 * 4;
  std::vector<long long> nodes(kPoolCount, 0);
  long long placed = 0;
  for (std::size_t i = 0; i < kPoolCount; ++i) {
    nodes[i] = static_cast<long long>(std::floor(kPools[i].share * gpus / kPools[i].gpus_per_node));
    placed += nodes[i] * kPools[i].gpus_per_node;
  }
  long long rest = total - placed;  // a multiple of 4
  while (rest > 0) {
    const int size = rest >= 8 ? 8 : 4;
    std::size_t best = kPoolCount;
    double best_deficit = 0;
    for (std::size_t i = 0; i < kPoolCount; ++i) {
      if (kPools[i].gpus_per_node != size) continue;
      const double deficit = kPools[i].share * gpus - static_cast<double>(nodes[i] * size);
      if (best == kPoolCount || deficit > best_deficit) {
        best = i;
        best_deficit = deficit;
      }
    }
    ++nodes[best];
    rest -= size;
  }
  return nodes;
}

// Budget units a pool offers for `resource`.
long long Capacity(const PoolPlan& p, std::string_view resource, long long nodes) {
  const long long gpus = nodes * p.gpus_per_node;
  switch (p.sharing) {
    case PS::kWhole: return gpus;
    case PS::kHami: return gpus * 4;
    case PS::kTimeSliced: return gpus * kTimeSliceReplicas;
    case PS::kMig: {
      if (resource == kGpu) return nodes * (p.gpus_per_node - kMigGpusPerNode);
      long long per_gpu = 0;
      for (std::string_view profile : kMigLayout) per_gpu += resource.substr(std::string_view("nvidia.com/mig-").size()) == profile;
      return per_gpu * kMigGpusPerNode * nodes;
    }
  }
  return 0;
}

NodePool MakePool(const PoolPlan& p, long long nodes) {
  NodePool pool;
  pool.name = std::string(p.name);
  pool.count = static_cast<int>(nodes);
  pool.gpu_model = std::string(p.gpu_model);
  pool.gpus_per_node = p.gpus_per_node;
  pool.gpu_memory_gib = p.gpu_memory_gib;
  pool.instance_type = std::string(p.instance_type);
  pool.zone = std::string(p.zone);
  pool.capacity = p.capacity;
  pool.price_per_node_hour = {static_cast<std::int64_t>(std::llround(p.price * 1e6))};
  pool.cpu = p.cpu;
  pool.memory_gib = p.memory_gib;
  switch (p.sharing) {
    case PS::kWhole: break;
    case PS::kHami: pool.sharing.mode = SharingMode::kHami; break;
    case PS::kTimeSliced:
      pool.sharing.mode = SharingMode::kTimeSlicing;
      pool.sharing.replicas = kTimeSliceReplicas;
      pool.sharing.rename = true;
      break;
    case PS::kMig:
      pool.sharing.mode = SharingMode::kMig;
      pool.sharing.mig_strategy = MigStrategy::kMixed;
      for (std::string_view profile : kMigLayout) pool.sharing.mig_layout.emplace_back(profile);
      pool.sharing.mig_gpus = kMigGpusPerNode;
      break;
  }
  return pool;
}

void Annotate(Flavor flavor, Rng& rng, std::map<std::string, std::string>* a) {
  switch (flavor) {
    case Flavor::kNone: break;
    case Flavor::kChatSlo:
      (*a)["gpuwise.io/slo-ttft-p99"] = "800ms";
      (*a)["gpuwise.io/slo-tpot-p99"] = "60ms";
      break;
    case Flavor::kApiSlo: (*a)["gpuwise.io/slo-ttft-p99"] = "500ms"; break;
    case Flavor::kInteractive: (*a)["gpuwise.io/class"] = "interactive"; break;
    case Flavor::kNotebook: (*a)["gpuwise.io/class"] = "notebook"; break;
    case Flavor::kBatch:
      (*a)["gpuwise.io/class"] = "batch";
      if (rng.Chance(0.3)) (*a)["gpuwise.io/deadline"] = "8h";
      break;
    case Flavor::kTraining:
      (*a)["gpuwise.io/isolation"] = "exclusive";
      if (rng.Chance(0.2)) (*a)["gpuwise.io/automation"] = "off";
      break;
    case Flavor::kCron: (*a)["gpuwise.io/class"] = "batch"; break;
  }
  if (flavor != Flavor::kNone && flavor != Flavor::kTraining && rng.Chance(0.1)) (*a)["gpuwise.io/automation"] = "dry-run";
}

WorkloadSpec MakeWorkload(const Template& t, const PoolPlan& pool, int replicas, int seq, Rng& rng) {
  WorkloadSpec w;
  const std::string team(kTeams[static_cast<std::size_t>(rng.Int(0, static_cast<int>(std::size(kTeams)) - 1))]);
  w.name = std::string(t.base) + "-" + std::to_string(seq);
  w.namespace_name = t.kind == WK::kForgotten ? team + "-staging" : team;
  w.kind = t.kind;
  w.owner = t.owner;
  w.replicas = replicas;
  w.labels["gpuwise.io/team"] = team;
  w.labels["app"] = std::string(t.base);
  Annotate(t.flavor, rng, &w.annotations);
  w.gpu.resource = std::string(t.resource);
  w.gpu.count = t.count;
  w.gpu.gpumem_mib = t.gpumem_mib;
  w.gpu.gpucores_percent = t.gpucores;
  w.node_pool = std::string(pool.name);
  if (t.model != nullptr) {
    w.model = ToSpec(*t.model);
    w.engine = t.model->encoder ? EngineKind::kEncoder : EngineKind::kVllm;
  }
  w.tensor_parallel = t.tensor_parallel;
  if (t.kind == WK::kInference) {
    SetTraffic(rng, t.peak_lo, t.peak_hi, &w.traffic);
    if (t.flavor == Flavor::kChatSlo && rng.Chance(0.25)) w.traffic.trace = std::string(kTraces[seq % std::size(kTraces)]);
  }
  if (t.kind == WK::kCronBatch) {
    w.schedule = std::to_string(rng.Int(0, 59)) + " " + std::to_string(rng.Int(0, 5)) + " * * *";
  }
  return w;
}

// Fills `target` units of one resource of a pool: one replica of each template first (so every kind shows up),
// then templates drawn by weight with 1..max_replicas replicas, never past the target.
void FillBudget(const PoolPlan& pool, std::string_view resource, long long target, Rng& rng, int* seq,
                std::vector<WorkloadSpec>* out) {
  std::vector<const Template*> ts;
  for (const Template& t : pool.templates) {
    if (t.resource == resource && (t.gpumem_mib > 0) == (pool.sharing == PS::kHami)) ts.push_back(&t);
  }
  long long used = 0;
  for (const Template* t : ts) {
    if (used + t->units > target) continue;
    out->push_back(MakeWorkload(*t, pool, 1, (*seq)++, rng));
    used += t->units;
  }
  for (;;) {
    const long long left = target - used;
    int total_weight = 0;
    for (const Template* t : ts) total_weight += t->units <= left ? t->weight : 0;
    if (total_weight == 0) return;
    int pick = rng.Int(0, total_weight - 1);
    const Template* chosen = nullptr;
    for (const Template* t : ts) {
      if (t->units > left) continue;
      pick -= t->weight;
      if (pick < 0) {
        chosen = t;
        break;
      }
    }
    const int most = static_cast<int>(std::min<long long>(chosen->max_replicas, left / chosen->units));
    const int replicas = rng.Int(1, most);
    out->push_back(MakeWorkload(*chosen, pool, replicas, (*seq)++, rng));
    used += static_cast<long long>(replicas) * chosen->units;
  }
}

// ---------------------------------------------------------------------------------------------------------
// openb.
// ---------------------------------------------------------------------------------------------------------

// modelName: the nvidia-smi / DCGM device name; memory: framebuffer MiB. Source: the FGD authors' simulator,
// hkust-adsl/kubernetes-scheduler-simulator pkg/type/open-gpu-share/utils/const.go MapGpuTypeMemoryMiB (commit
// 8f3d641), whose comments give the product label of each code (e.g. "Tesla-V100-SXM2-16GB"; DCGM reports it
// with spaces). G1-G3 are "undisclosed internal GPU codes" (alibaba/clusterdata cluster-trace-gpu-v2023
// README); their memory (10000/20000/30000 MiB) is that simulator's assumption and their names are ours.
// V100M32 could also be a V100S-PCIE-32GB (same const.go comment); SXM2 is a GUESS.
// Prices: GUESS, from memory of list prices per GPU-hour: AWS us-east-1 p3.2xlarge (V100 16GB) 3.06,
// p3dn.24xlarge / 8 (V100 32GB) 3.90, g4dn.xlarge (T4) 0.526, g5.xlarge (A10G, for A10) 1.006; GCP P100 1.46;
// G1-G3 invented.
constexpr OpenbGpuModel kOpenbModels[] = {
    {"P100", "Tesla P100-PCIE-16GB", 16280, 1.46},
    {"T4", "Tesla T4", 15109, 0.526},
    {"V100M16", "Tesla V100-SXM2-16GB", 16160, 3.06},
    {"V100M32", "Tesla V100-SXM2-32GB", 32510, 3.90},
    {"A10", "NVIDIA A10", 22731, 1.006},
    {"G1", "openb G1 (undisclosed)", 10000, 1.0},
    {"G2", "openb G2 (undisclosed)", 20000, 2.0},
    {"G3", "openb G3 (undisclosed)", 30000, 3.0},
};

std::string KnownOpenbCodes() {
  std::string s;
  for (const OpenbGpuModel& m : kOpenbModels) s += (s.empty() ? "" : ", ") + std::string(m.code);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct OpenbPoolKey {
  std::string code;
  std::int64_t gpus, cpu_milli, memory_mib;
  auto operator<=>(const OpenbPoolKey&) const = default;
};

std::string OpenbPoolName(const OpenbPoolKey& k) {
  std::string name = "openb-" + Lower(k.code) + "-" + std::to_string(k.gpus) + "g-";
  name += k.cpu_milli % 1000 == 0 ? std::to_string(k.cpu_milli / 1000) + "c-" : std::to_string(k.cpu_milli) + "m-";
  name += k.memory_mib % 1024 == 0 ? std::to_string(k.memory_mib / 1024) + "gi" : std::to_string(k.memory_mib) + "mi";
  return name;
}

// Models an LS pod may serve, smallest first; one whose weights take at most half the request's memory is drawn.
constexpr const ModelEntry* kOpenbServed[] = {&kMiniLm, &kDeberta, &kBgeReranker, &kMistral7b, &kLlama8b, &kLlama70b};

base::Status LoadOpenbNodes(const std::string& path, Scenario* s, std::set<std::string>* models_present) {
  ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(path, {"cpu_milli", "memory_mib", "gpu", "model"}));
  const int c_cpu = csv.Index("cpu_milli"), c_mem = csv.Index("memory_mib"), c_gpu = csv.Index("gpu"),
            c_model = csv.Index("model");
  std::map<OpenbPoolKey, std::size_t> pool_index;
  for (;;) {
    ASSIGN_OR_RETURN(const bool more, csv.Next());
    if (!more) break;
    OpenbPoolKey key;
    RETURN_IF_ERROR(csv.Int(c_gpu, 0, 16, &key.gpus));
    RETURN_IF_ERROR(csv.Int(c_cpu, 0, 100'000'000, &key.cpu_milli));
    RETURN_IF_ERROR(csv.Int(c_mem, 0, 1LL << 40, &key.memory_mib));
    key.code = std::string(csv.Field(c_model));
    if (key.gpus == 0 || key.code.empty() || key.code == "nan") continue;  // CPU-only node
    const OpenbGpuModel* model = FindOpenbGpuModel(key.code);
    if (model == nullptr) return csv.Error(c_model, "unknown GPU model " + QuoteForError(key.code) + " (known: " + KnownOpenbCodes() + ")");
    models_present->insert(key.code);
    auto [it, inserted] = pool_index.emplace(key, s->node_pools.size());
    if (inserted) {
      NodePool pool;
      pool.name = OpenbPoolName(key);
      pool.count = 0;
      pool.gpu_model = std::string(model->model_name);
      pool.gpus_per_node = static_cast<int>(key.gpus);
      pool.gpu_memory_gib = model->memory_mib / 1024;
      pool.instance_type = "openb/" + key.code;
      pool.zone = "openb";
      pool.price_per_node_hour = {static_cast<std::int64_t>(std::llround(model->price_per_gpu_hour * 1e6)) * key.gpus};
      pool.cpu = static_cast<int>(key.cpu_milli / 1000);
      pool.memory_gib = static_cast<double>(key.memory_mib) / 1024;
      pool.sharing.mode = SharingMode::kHami;
      s->node_pools.push_back(std::move(pool));
    }
    ++s->node_pools[it->second].count;
  }
  if (s->node_pools.empty()) return base::InvalidArgument(path + ": no GPU nodes");
  return base::Status::Ok();
}

base::Status LoadOpenbPods(const std::string& path, const std::set<std::string>& models_present, std::uint64_t seed,
                           Scenario* s) {
  ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(path, {"name", "num_gpu", "gpu_milli"}));
  const int c_name = csv.Index("name"), c_num = csv.Index("num_gpu"), c_milli = csv.Index("gpu_milli"),
            c_spec = csv.Index("gpu_spec"), c_qos = csv.Index("qos"), c_phase = csv.Index("pod_phase"),
            c_cpu = csv.Index("cpu_milli"), c_mem = csv.Index("memory_mib"), c_created = csv.Index("creation_time"),
            c_deleted = csv.Index("deletion_time"), c_scheduled = csv.Index("scheduled_time");
  double min_present_mib = 0;
  for (const std::string& code : models_present) {
    const double mib = FindOpenbGpuModel(code)->memory_mib;
    if (min_present_mib == 0 || mib < min_present_mib) min_present_mib = mib;
  }
  std::set<std::string> names;
  constexpr std::string_view kPrefix = "sim.gpuwise.io/openb-";
  for (;;) {
    ASSIGN_OR_RETURN(const bool more, csv.Next());
    if (!more) break;
    const std::string name = Lower(csv.Field(c_name));
    if (name.empty()) return csv.Error(c_name, "empty pod name");
    if (!names.insert(name).second) return csv.Error(c_name, "duplicate pod name " + QuoteForError(name));
    std::int64_t num_gpu = 0, milli = 0, cpu = -1, mem = -1, created = -1, deleted = -1, scheduled = -1;
    RETURN_IF_ERROR(csv.Int(c_num, 0, 16, &num_gpu));
    RETURN_IF_ERROR(csv.Int(c_milli, 0, 1000, &milli));
    RETURN_IF_ERROR(csv.Int(c_cpu, 0, 100'000'000, &cpu, true));
    RETURN_IF_ERROR(csv.Int(c_mem, 0, 1LL << 40, &mem, true));
    constexpr std::int64_t kMaxTime = 1LL << 40;
    RETURN_IF_ERROR(csv.Int(c_created, 0, kMaxTime, &created, true));
    RETURN_IF_ERROR(csv.Int(c_deleted, 0, kMaxTime, &deleted, true));
    RETURN_IF_ERROR(csv.Int(c_scheduled, 0, kMaxTime, &scheduled, true));
    const std::string_view qos = csv.Field(c_qos);
    if (!(qos.empty() || qos == "LS" || qos == "BE" || qos == "Burstable" || qos == "Guaranteed")) {
      return csv.Error(c_qos, "unknown qos " + QuoteForError(qos) + " (known: LS, BE, Burstable, Guaranteed, or empty)");
    }
    // Smallest GPU memory the pod may land on.
    double min_mib = min_present_mib;
    const std::string_view spec = csv.Field(c_spec);
    if (!spec.empty() && spec != "nan") {
      min_mib = 0;
      std::size_t start = 0;
      for (;;) {
        const std::size_t bar = spec.find('|', start);
        const std::string_view code = spec.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
        const OpenbGpuModel* m = FindOpenbGpuModel(code);
        if (m == nullptr) return csv.Error(c_spec, "unknown GPU model " + QuoteForError(code) + " (known: " + KnownOpenbCodes() + ")");
        if (min_mib == 0 || m->memory_mib < min_mib) min_mib = m->memory_mib;
        if (bar == std::string_view::npos) break;
        start = bar + 1;
      }
    }
    if (num_gpu == 0) continue;  // CPU-only pod
    const bool fractional = num_gpu == 1 && milli < 1000;
    if (fractional && milli == 0) return csv.Error(c_milli, "0 with num_gpu 1: expected 1..1000");

    WorkloadSpec w;
    w.name = name;
    w.namespace_name = "openb";
    w.labels["gpuwise.io/team"] = qos.empty() ? "openb" : "openb-" + Lower(qos);
    w.labels["app"] = name;
    if (fractional) {
      w.gpu.count = 1;
      w.gpu.gpucores_percent = std::max(1, static_cast<int>(std::lround(static_cast<double>(milli) / 10)));
      w.gpu.gpumem_mib = std::max(1, static_cast<int>(std::floor(static_cast<double>(milli) * min_mib / 1000)));
    } else {
      w.gpu.count = static_cast<int>(num_gpu);
    }
    if (qos == "LS") {
      w.kind = WK::kInference;
      w.owner = OK::kDeployment;
    } else if (qos == "BE" || (qos.empty() && num_gpu <= 1)) {
      w.kind = WK::kBatch;
      w.owner = OK::kJob;
    } else if (qos == "Burstable" && num_gpu <= 1) {
      w.kind = WK::kNotebook;
      w.owner = OK::kStatefulSet;
    } else {
      w.kind = WK::kTraining;
      w.owner = OK::kJob;
    }
    Rng rng(Hash3(seed, HashString(name), 0x0b));
    if (w.kind == WK::kInference) {
      const double mem_gib = (fractional ? w.gpu.gpumem_mib : static_cast<double>(num_gpu) * min_mib) / 1024;
      std::vector<const ModelEntry*> fit;
      for (const ModelEntry* m : kOpenbServed) {
        if (m->weights_gib <= 0.5 * mem_gib) fit.push_back(m);
      }
      const ModelEntry& m = fit.empty() ? kMiniLm : *fit[static_cast<std::size_t>(rng.Int(0, static_cast<int>(fit.size()) - 1))];
      w.model = ToSpec(m);
      w.engine = m.encoder ? EngineKind::kEncoder : EngineKind::kVllm;
      const bool pow2 = (num_gpu & (num_gpu - 1)) == 0;
      w.tensor_parallel = !m.encoder && !fractional && pow2 ? static_cast<int>(num_gpu) : 1;
      SetTraffic(rng, 0.5, 20, &w.traffic);
    }
    // Lifetimes: only a batch Job has a start and a run time in the Scenario.
    if (w.kind == WK::kBatch && created >= 0 && deleted > created) {
      const double start_hour = static_cast<double>(created) / 3600;
      if (start_hour < 24 * 366) {
        w.usage.start_hour = start_hour;
        w.usage.run_hours = static_cast<double>(deleted - created) / 3600;
      }
    }
    auto& a = w.annotations;
    const std::string p(kPrefix);
    if (!qos.empty()) a[p + "qos"] = std::string(qos);
    if (!csv.Field(c_phase).empty()) a[p + "phase"] = std::string(csv.Field(c_phase));
    if (created >= 0) a[p + "creation-s"] = std::to_string(created);
    if (deleted >= 0) a[p + "deletion-s"] = std::to_string(deleted);
    if (scheduled >= 0) a[p + "scheduled-s"] = std::to_string(scheduled);
    if (!spec.empty() && spec != "nan") a[p + "gpu-spec"] = std::string(spec);
    if (cpu >= 0) a[p + "cpu-milli"] = std::to_string(cpu);
    if (mem >= 0) a[p + "memory-mib"] = std::to_string(mem);
    a[p + "gpu-milli"] = std::to_string(milli);
    s->workloads.push_back(std::move(w));
  }
  return base::Status::Ok();
}

// ---------------------------------------------------------------------------------------------------------
// Arrival traces.
// ---------------------------------------------------------------------------------------------------------

struct Request {
  double t;
  int prompt;
  int output;
};

// Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "2023-11-16 18:15:46.6805900" -> days since the epoch and seconds into the day.
bool ParseAzureTime(std::string_view s, std::int64_t* day, double* second) {
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') return false;
  if (!ParseInt(s.substr(0, 4), &y) || !ParseInt(s.substr(5, 2), &mo) || !ParseInt(s.substr(8, 2), &d) ||
      !ParseInt(s.substr(11, 2), &h) || !ParseInt(s.substr(14, 2), &mi) || !ParseDouble(s.substr(17), &sec)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61 || s[17] == '-' || s[17] == '+') return false;
  *day = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *second = static_cast<double>(h * 3600 + mi * 60) + sec;
  return true;
}

base::Status ParseTokens(const std::string& file, int line, std::string_view column, std::string_view text, int* out) {
  std::int64_t v = 0;
  if (!ParseInt(text, &v) || v < 0 || v > INT_MAX) {
    return ColumnError(file, line, column, "expected a non-negative integer, got " + QuoteForError(text));
  }
  *out = static_cast<int>(v);
  return base::Status::Ok();
}

base::Status LoadAzure(const std::string& path, std::vector<Request>* out) {
  ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(path, {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}));
  const int c_t = csv.Index("TIMESTAMP"), c_in = csv.Index("ContextTokens"), c_out = csv.Index("GeneratedTokens");
  std::int64_t day0 = 0;
  bool first = true;
  for (;;) {
    ASSIGN_OR_RETURN(const bool more, csv.Next());
    if (!more) break;
    std::int64_t day = 0;
    double second = 0;
    if (!ParseAzureTime(csv.Field(c_t), &day, &second)) {
      return csv.Error(c_t, "expected a time like 2023-11-16 18:15:46.6805900, got " + QuoteForError(csv.Field(c_t)));
    }
    if (first) day0 = day;
    first = false;
    Request r{static_cast<double>(day - day0) * 86400 + second, 0, 0};
    RETURN_IF_ERROR(ParseTokens(path, csv.line(), "ContextTokens", csv.Field(c_in), &r.prompt));
    RETURN_IF_ERROR(ParseTokens(path, csv.line(), "GeneratedTokens", csv.Field(c_out), &r.output));
    out->push_back(r);
  }
  return base::Status::Ok();
}

base::Status LoadMooncake(const std::string& path, std::vector<Request>* out) {
  std::string text;
  RETURN_IF_ERROR(ReadTextFile(path, &text));
  Lines lines;
  simdjson::dom::parser parser;
  std::string_view line;
  while (lines.Next(text, &line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const int n = lines.number();
    simdjson::dom::element doc;
    if (const auto error = parser.parse(line.data(), line.size()).get(doc); error) {
      return LineError(path, n, std::string("not valid JSON: ") + simdjson::error_message(error));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return LineError(path, n, "expected a JSON object");
    double ms = 0;
    if (obj["timestamp"].get_double().get(ms) || !std::isfinite(ms)) {
      return LineError(path, n, "field 'timestamp': expected a number of milliseconds");
    }
    Request r{ms / 1000, 0, 0};
    for (auto [field, dest] : {std::pair<const char*, int*>{"input_length", &r.prompt}, {"output_length", &r.output}}) {
      std::int64_t v = 0;
      if (obj[field].get_int64().get(v) || v < 0 || v > INT_MAX) {
        return LineError(path, n, std::string("field '") + field + "': expected a non-negative integer");
      }
      *dest = static_cast<int>(v);
    }
    out->push_back(r);
  }
  return base::Status::Ok();
}

struct ServeGenWindow {
  double start_s = 0, size_s = 0, rate = 0, shape = 0;
  bool weibull = false, active = false;
};

base::Status ParseServeGen(const std::string& path, const std::string& text, std::vector<ServeGenWindow>* out) {
  Lines lines;
  std::string_view line;
  std::vector<std::string_view> f;
  constexpr std::string_view kColumns[] = {"window_start_s", "rate", "cv", "distribution", "shape", "scale"};
  while (lines.Next(text, &line)) {
    if (line.empty()) continue;
    const int n = lines.number();
    SplitCsv(line, &f);
    if (f.size() != 6) {
      return LineError(path, n, "expected 6 fields (window_start_s,rate,cv,Gamma|Weibull|empty,shape,scale), got " +
                                    std::to_string(f.size()));
    }
    ServeGenWindow w;
    std::int64_t start = 0;
    if (!ParseInt(f[0], &start) || start < 0) return ColumnError(path, n, kColumns[0], "expected a non-negative integer, got " + QuoteForError(f[0]));
    w.start_s = static_cast<double>(start);
    if (!out->empty() && !(w.start_s > out->back().start_s)) return ColumnError(path, n, kColumns[0], "windows must be in increasing order");
    double values[5] = {0, 0, 0, 0, 0};
    for (int i : {1, 2, 4, 5}) {
      if (!ParseDouble(f[static_cast<std::size_t>(i)], &values[i - 1]) || values[i - 1] < 0) {
        return ColumnError(path, n, kColumns[i], "expected a non-negative number, got " + QuoteForError(f[static_cast<std::size_t>(i)]));
      }
    }
    w.rate = values[0];
    w.shape = values[3];
    if (f[3] == "Weibull") {
      w.weibull = true;
    } else if (f[3] != "Gamma" && !f[3].empty()) {
      return ColumnError(path, n, kColumns[3], "expected Gamma, Weibull or empty, got " + QuoteForError(f[3]));
    }
    w.active = !f[3].empty() && w.rate > 0;
    if (w.active && !(w.shape > 0 && values[4] > 0)) return ColumnError(path, n, kColumns[4], "shape and scale must be > 0");
    if (!out->empty()) out->back().size_s = w.start_s - out->back().start_s;
    out->push_back(w);
  }
  if (out->empty()) return LineError(path, 1, "no windows");
  out->back().size_s = out->size() > 1 ? (*out)[out->size() - 2].size_s : 600;  // ServeGen windows are 600 s
  return base::Status::Ok();
}

// Gamma(shape, 1): Marsaglia and Tsang (2000), with the shape < 1 boost Gamma(a) = Gamma(a + 1) * U^(1/a).
double SampleGamma(Rng& rng, double shape) {
  if (shape < 1) return SampleGamma(rng, shape + 1) * std::pow(Unit(rng.Next()), 1 / shape);
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double x = rng.Normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = Unit(rng.Next());
    if (u < 1 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

// Requests a window yields: ceil(rate * size) gaps, the arrival on the window's end dropped.
std::int64_t WindowRequests(const ServeGenWindow& w) {
  if (!w.active) return 0;
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(w.rate * w.size_s)) - 1);
}

// Arrivals of one client. The gaps are scaled to fill the window, so the distribution's scale drops out.
void GenerateServeGen(const std::vector<ServeGenWindow>& windows, std::uint64_t client_key, std::uint64_t seed,
                      double max_s, std::vector<Request>* out) {
  std::vector<double> gaps;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const ServeGenWindow& w = windows[i];
    if (max_s > 0 && w.start_s >= max_s) break;
    const std::int64_t kept = WindowRequests(w);
    if (kept == 0) continue;
    Rng rng(Hash3(seed, client_key, i));
    gaps.resize(static_cast<std::size_t>(kept + 1));
    double sum = 0;
    for (double& g : gaps) {
      g = w.weibull ? std::pow(-std::log1p(-Unit(rng.Next())), 1 / w.shape) : SampleGamma(rng, w.shape);
      sum += g;
    }
    double at = 0;
    for (std::int64_t k = 0; k < kept; ++k) {
      at += gaps[static_cast<std::size_t>(k)];
      // All-zero gaps (tiny shapes) degenerate to even spacing.
      double t = w.start_s + (sum > 0 ? at / sum : static_cast<double>(k + 1) / static_cast<double>(kept + 1)) * w.size_s;
      // Gaps far below the window's length (Gamma shapes near 0.06) can round onto its end: keep them inside.
      t = std::min(t, std::nextafter(w.start_s + w.size_s, w.start_s));
      if (max_s > 0 && t >= max_s) break;
      out->push_back({t, 0, 0});
    }
  }
}

base::Status LoadServeGen(const std::string& path, const ArrivalTraceOptions& options, std::vector<Request>* out,
                          double* span_start, double* span_end) {
  std::vector<std::pair<std::int64_t, std::string>> files;  // (client id, path)
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      constexpr std::string_view kHead = "chunk-", kTail = "-trace.csv";
      if (name.size() <= kHead.size() + kTail.size() || !name.starts_with(kHead) || !name.ends_with(kTail)) continue;
      std::int64_t id = 0;
      if (!ParseInt(std::string_view(name).substr(kHead.size(), name.size() - kHead.size() - kTail.size()), &id)) continue;
      files.emplace_back(id, entry.path().string());
    }
    if (ec) return base::NotFound(path + ": cannot list the directory: " + ec.message());
    if (files.empty()) return base::NotFound(path + ": no ServeGen chunk-<client>-trace.csv files in the directory");
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(-1, path);
  }
  std::vector<std::vector<ServeGenWindow>> clients(files.size());
  std::size_t total = 0;
  *span_start = INFINITY;
  *span_end = 0;
  for (std::size_t c = 0; c < files.size(); ++c) {
    std::string text;
    RETURN_IF_ERROR(ReadTextFile(files[c].second, &text));
    RETURN_IF_ERROR(ParseServeGen(files[c].second, text, &clients[c]));
    for (const ServeGenWindow& w : clients[c]) {
      if (options.max_duration_s > 0 && w.start_s >= options.max_duration_s) break;
      total += static_cast<std::size_t>(WindowRequests(w));
    }
    *span_start = std::min(*span_start, clients[c].front().start_s);
    *span_end = std::max(*span_end, clients[c].back().start_s + clients[c].back().size_s);
  }
  if (total > options.max_requests) {
    return base::ResourceExhausted(path + ": would generate " + std::to_string(total) + " requests, more than max_requests " +
                                   std::to_string(options.max_requests) + "; set max_duration_s or max_requests");
  }
  out->reserve(total);
  for (std::size_t c = 0; c < files.size(); ++c) {
    const std::string name = std::filesystem::path(files[c].second).filename().string();
    GenerateServeGen(clients[c], HashString(name), options.seed, options.max_duration_s, out);
  }
  std::sort(out->begin(), out->end(), [](const Request& a, const Request& b) { return a.t < b.t; });
  return base::Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------

base::Result<Scenario> SyntheticScenario(int gpus, std::uint64_t seed) {
  if (gpus < 1 || gpus > kMaxSyntheticGpus) {
    return base::InvalidArgument("synthetic scenario: --gpus must be in 1.." + std::to_string(kMaxSyntheticGpus) + ", got " +
                                 std::to_string(gpus));
  }
  Scenario s;
  s.name = "synthetic-" + std::to_string(gpus);
  s.seed = seed;
  const std::vector<long long> nodes = NodesPerPool(gpus);
  Rng rng(Hash3(seed, 0x5e7e7a11cULL, static_cast<std::uint64_t>(gpus)));
  int seq = 0;
  for (std::size_t i = 0; i < kPoolCount; ++i) {
    if (nodes[i] == 0) continue;
    const PoolPlan& plan = kPools[i];
    s.node_pools.push_back(MakePool(plan, nodes[i]));
    std::vector<std::string_view> resources;
    for (const Template& t : plan.templates) {
      if (std::find(resources.begin(), resources.end(), t.resource) == resources.end()) resources.push_back(t.resource);
    }
    for (std::string_view resource : resources) {
      const double fill = rng.Uniform(0.74, 0.82);
      const long long target = static_cast<long long>(std::floor(fill * static_cast<double>(Capacity(plan, resource, nodes[i]))));
      FillBudget(plan, resource, target, rng, &seq, &s.workloads);
    }
  }
  RETURN_IF_ERROR(ValidateScenario(s));
  return s;
}

const OpenbGpuModel* FindOpenbGpuModel(std::string_view code) {
  for (const OpenbGpuModel& m : kOpenbModels) {
    if (m.code == code) return &m;
  }
  return nullptr;
}

base::Result<Scenario> OpenbScenario(const std::string& openb_dir, std::string_view pod_list, std::uint64_t seed) {
  if (pod_list.empty() || pod_list.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                              std::string_view::npos) {
    return base::InvalidArgument("openb: pod list name " + QuoteForError(pod_list) +
                                 " must be letters, digits and '_' (e.g. default, gpushare20)");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(openb_dir, ec)) return base::NotFound(openb_dir + ": no such directory (the openb trace)");
  const std::string dir = openb_dir.ends_with('/') ? openb_dir : openb_dir + "/";
  Scenario s;
  s.name = "openb-" + std::string(pod_list);
  s.seed = seed;
  std::set<std::string> models_present;
  RETURN_IF_ERROR(LoadOpenbNodes(dir + "openb_node_list_gpu_node.csv", &s, &models_present));
  RETURN_IF_ERROR(LoadOpenbPods(dir + "openb_pod_list_" + std::string(pod_list) + ".csv", models_present, seed, &s));
  base::Status valid = ValidateScenario(s);
  if (!valid.ok()) return valid.Annotate("openb " + dir);
  return s;
}

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kAzureLlm: return "azure-llm-2023";
    case TraceFormat::kMooncake: return "mooncake";
    case TraceFormat::kServeGen: return "servegen";
  }
  return "unknown";
}

base::Result<ArrivalTrace> LoadArrivalTrace(const std::string& path) { return LoadArrivalTrace(path, ArrivalTraceOptions()); }

base::Result<ArrivalTrace> LoadArrivalTrace(const std::string& path, const ArrivalTraceOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return base::NotFound(path + ": no such file or directory");
  ArrivalTrace trace;
  trace.source = path;
  std::vector<Request> reqs;
  double span_start = 0, span_end = 0;
  bool has_tokens = true;
  if (std::filesystem::is_directory(path, ec)) {
    trace.format = TraceFormat::kServeGen;
  } else {
    // Sniff the first line: a JSON object, the Azure header, or six ServeGen fields.
    std::ifstream in(path, std::ios::binary);
    std::string first;
    std::getline(in, first);
    if (!first.empty() && first.back() == '\r') first.pop_back();
    const std::size_t brace = first.find_first_not_of(" \t");
    if (path.ends_with(".jsonl") || (brace != std::string::npos && first[brace] == '{')) {
      trace.format = TraceFormat::kMooncake;
    } else if (first.starts_with("TIMESTAMP,")) {
      trace.format = TraceFormat::kAzureLlm;
    } else if (std::count(first.begin(), first.end(), ',') == 5) {
      trace.format = TraceFormat::kServeGen;
    } else {
      return base::InvalidArgument(path + ":1: not a known trace format (Azure LLM CSV with a TIMESTAMP header, Mooncake "
                                          "JSONL, or a ServeGen chunk-*-trace.csv)");
    }
  }
  switch (trace.format) {
    case TraceFormat::kAzureLlm: RETURN_IF_ERROR(LoadAzure(path, &reqs)); break;
    case TraceFormat::kMooncake: RETURN_IF_ERROR(LoadMooncake(path, &reqs)); break;
    case TraceFormat::kServeGen:
      RETURN_IF_ERROR(LoadServeGen(path, options, &reqs, &span_start, &span_end));
      has_tokens = false;
      break;
  }
  if (trace.format != TraceFormat::kServeGen) {
    if (reqs.empty()) return base::InvalidArgument(path + ": no requests");
    std::stable_sort(reqs.begin(), reqs.end(), [](const Request& a, const Request& b) { return a.t < b.t; });
    span_start = reqs.front().t;
    span_end = reqs.back().t;
  }
  double duration = span_end - span_start;
  if (options.max_duration_s > 0 && duration > options.max_duration_s) duration = options.max_duration_s;
  trace.duration_s = duration;
  trace.arrival_s.reserve(reqs.size());
  std::int64_t prompt_sum = 0, output_sum = 0;
  for (const Request& r : reqs) {
    const double t = r.t - span_start;
    if (options.max_duration_s > 0 && t >= options.max_duration_s) break;
    trace.arrival_s.push_back(t);
    if (has_tokens) {
      trace.prompt_tokens.push_back(r.prompt);
      trace.output_tokens.push_back(r.output);
      prompt_sum += r.prompt;
      output_sum += r.output;
    }
  }
  const std::size_t n = trace.arrival_s.size();
  if (has_tokens && n > 0) {
    trace.mean_prompt_tokens = static_cast<double>(prompt_sum) / static_cast<double>(n);
    trace.mean_output_tokens = static_cast<double>(output_sum) / static_cast<double>(n);
  }
  trace.mean_rps = trace.duration_s > 0 ? static_cast<double>(n) / trace.duration_s : 0;
  return trace;
}

}  // namespace gpuwise::sim
