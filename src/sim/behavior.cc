#include "sim/behavior.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "sim/mig_profiles.h"
#include "sim/scenario_gen.h"

namespace gpuwise::sim {
namespace {

constexpr double kDayS = 86400.0;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiBInMiB = 1024.0;

// ---------------------------------------------------------------------------------------------------------
// Calibration. "MIGProfiler" = ../shared/data/migprofiler-a100 (A100-80g/infer/nlp/integrated_result_bsz.csv,
// bert-base, seq 64); "datasheet" = NVIDIA H100 SXM5 / A100 SXM4 / L4 / L40S datasheets; "Azure" = the Azure LLM
// inference trace 2023, conversation (AzureLLMInferenceTrace_conv.csv, 19,366 requests); GUESS = not measured.
// ---------------------------------------------------------------------------------------------------------

// Azure: mean ContextTokens 1,154.7 and GeneratedTokens 211.1 over the 19,366 requests.
constexpr double kAzurePromptTokens = 1154.7;
constexpr double kAzureOutputTokens = 211.1;
// Encoder requests: MIGProfiler's sequence length.
constexpr double kEncoderTokens = 64;

struct GpuTraits {
  std::string_view match;
  double mem_bw_bytes_s;  // datasheet HBM/GDDR bandwidth
  double bf16_flops;      // datasheet dense BF16 tensor FLOPS
};
constexpr GpuTraits kTraits[] = {
    {"H100", 3.35e12, 989e12}, {"A100-SXM4-80GB", 2.039e12, 312e12}, {"A100", 1.555e12, 312e12},
    {"L40S", 0.864e12, 362e12},  // before "L4", which it contains
    {"L4", 0.300e12, 121e12},  {"", 0.9e12, 125e12},  // anything else: a mid-range part. GUESS.
};
const GpuTraits& TraitsOf(std::string_view model) {
  for (const GpuTraits& t : kTraits) {
    if (!t.match.empty() && model.find(t.match) != std::string_view::npos) return t;
  }
  return kTraits[std::size(kTraits) - 1];
}
// Achieved fractions of peak: decode reaches ~60% of memory bandwidth, prefill ~40% MFU. GUESS (typical of
// published vLLM benchmarks).
constexpr double kBandwidthEfficiency = 0.6;
constexpr double kMfu = 0.4;
// Per decode iteration: scheduling, sampling and (with TP) all-reduce latency, seconds. GUESS.
constexpr double kIterationOverheadS = 0.003;
// vLLM peak activations + non-torch memory (CUDA context, NCCL buffers, CUDA graphs) per GPU. GUESS: 1.5 GiB plus
// 2% of the per-GPU weights.
constexpr double kActivationBaseMib = 1536;
constexpr double kActivationWeightShare = 0.02;
constexpr int kBlockSize = 16;      // vLLM CacheConfig.DEFAULT_BLOCK_SIZE (facts 4.2)
constexpr double kMaxNumSeqs = 256; // vLLM max_num_seqs default
constexpr int kMaxModelLen = 8192;  // --max-model-len the simulated servers run with. GUESS.
// Encoder server memory: weights plus CUDA context and workspace. MIGProfiler: bert-base (0.22 GiB of fp16
// weights) holds 1,524-1,920 MiB at batch <= 8 on every profile, so ~1.3 GiB beyond its weights.
constexpr double kEncoderOverheadMib = 1300;
constexpr double kBertBaseWeightsGib = 0.22;

// MIGProfiler bert-base seq 64 on A100 80GB, per MIG profile (compute slices): latency at batch 1 (ms), per-sample
// time at batch 32 (latency / 32, ms), and GR activity at batch 1 and at batch 32.
struct EncoderPoint {
  double slices, latency1_ms, per_sample_ms, gr1, gr_sat;
};
constexpr EncoderPoint kEncoder[] = {
    {1, 7.53, 174.25 / 32, 0.775, 0.986},
    {2, 6.43, 87.77 / 32, 0.578, 0.962},
    {3, 6.29, 60.62 / 32, 0.472, 0.956},
    {7, 6.31, 26.34 / 32, 0.414, 0.900},
};
EncoderPoint EncoderAt(double slices) {
  slices = std::clamp(slices, 1.0, 7.0);
  for (std::size_t i = 1; i < std::size(kEncoder); ++i) {
    if (slices <= kEncoder[i].slices) {
      const EncoderPoint& a = kEncoder[i - 1];
      const EncoderPoint& b = kEncoder[i];
      const double f = (slices - a.slices) / (b.slices - a.slices);
      auto lerp = [f](double x, double y) { return x + (y - x) * f; };
      // Per-sample time scales as 1/slices between points (compute bound): interpolate its inverse.
      return {slices, lerp(a.latency1_ms, b.latency1_ms), 1.0 / lerp(1.0 / a.per_sample_ms, 1.0 / b.per_sample_ms),
              lerp(a.gr1, b.gr1), lerp(a.gr_sat, b.gr_sat)};
    }
  }
  return kEncoder[std::size(kEncoder) - 1];
}

// Daily traffic shape in [0, 1], 1 at peak_hour: ((1 + cos)/2)^3, a business-hours peak sharper than a sine.
// Exponent: GUESS, so that the daily median sits near trough + 1/8 of the swing, as in diurnal serving traces.
double DailyShape(double t, int peak_hour) {
  const double hours = std::fmod(t / 3600.0 - peak_hour + 240000.0, 24.0);
  const double c = 0.5 * (1 + std::cos(2 * std::numbers::pi * hours / 24.0));
  return c * c * c;
}

bool Weekend(double t) {
  const auto day = static_cast<long long>(std::floor(t / kDayS));
  const long long dow = ((day % 7) + 7) % 7;  // 0 = Monday
  return dow >= 5;
}

double Noise(std::uint64_t key, std::uint64_t step, std::uint64_t stream, double sd) {
  Rng r(Hash3(key, step, stream));
  return 1 + sd * std::clamp(r.Normal(), -3.0, 3.0);
}

double HoursOfDay(double t) { return std::fmod(t / 3600.0 + 240000.0, 24.0); }

// n observations of `value` at once (prometheus_client semantics, cumulative buckets).
void ObserveN(VllmHistogram* h, double value, std::uint64_t n) {
  if (n == 0) return;
  for (std::size_t k = 0; k < h->upper_bounds.size(); ++k) {
    if (value <= h->upper_bounds[k]) h->counts[k] += n;
  }
  h->count += n;
  h->sum += value * static_cast<double>(n);
}

// Crash loop timing: kubelet restarts after crash_backoff_s, doubling up to 300 s (kubelet's CrashLoopBackOff).
double Backoff(double base_s, int restarts) {
  return std::min(300.0, base_s * std::pow(2.0, std::min(restarts, 16)));
}

}  // namespace

double EngineStartSeconds(const Scenario& scenario, const WorkloadSpec& w) {
  const bool server = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
  const double set = scenario.delays.cold_start_s;
  if (set >= 0) return server ? set : set / 3;
  // Weights from object storage or a PVC at ~1 GiB/s, then CUDA graphs and the KV cache (~45 s for vLLM). GUESS.
  return server ? 45 + w.model.weights_gib / 1.0 : 20;
}

double ColdStartSeconds(const Scenario& scenario, const WorkloadSpec& w) {
  return std::max(0.0, scenario.delays.image_pull_s) + EngineStartSeconds(scenario, w);
}

namespace {

double FailAfter(Failure f, double cold_start_s) {
  switch (f) {
    case Failure::kEngineStartFailure: return std::min(cold_start_s, 60.0);  // fails once the weights load
    case Failure::kHostOomKilled: return 600;    // host memory grows to the limit in ~10 min. GUESS.
    case Failure::kCudaOomShared: return 20;     // CUDA context, then the first big allocation fails. GUESS.
    default: return kForever;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Pure model
// ---------------------------------------------------------------------------------------------------------

double ArrivalRate(const WorkloadSpec& w, double t) {
  if (w.kind != WorkloadKind::kInference) return 0;
  const TrafficSpec& tr = w.traffic;
  double rate = tr.trough_rps + (tr.peak_rps - tr.trough_rps) * DailyShape(t, tr.peak_hour);
  if (Weekend(t)) rate *= tr.weekend_factor;
  return rate;
}

double PromptTokens(const WorkloadSpec& w) {
  if (w.traffic.prompt_tokens > 0) return w.traffic.prompt_tokens;
  return w.engine == EngineKind::kEncoder ? kEncoderTokens : kAzurePromptTokens;
}
double OutputTokens(const WorkloadSpec& w) {
  if (w.engine == EngineKind::kEncoder) return 0;
  return w.traffic.output_tokens > 0 ? w.traffic.output_tokens : kAzureOutputTokens;
}

VllmMemoryPlan PlanVllmMemory(const WorkloadSpec& w, double device_mib) {
  VllmMemoryPlan p;
  const int tp = std::max(1, w.tensor_parallel);
  p.device_mib = device_mib;
  p.budget_mib = w.gpu_memory_utilization * device_mib;
  p.weights_mib = w.model.weights_gib * kGiBInMiB / tp;
  p.activation_mib = kActivationBaseMib + kActivationWeightShare * p.weights_mib;
  p.kv_mib = p.budget_mib - p.weights_mib - p.activation_mib;
  const int kv_heads = std::max(1, w.model.kv_heads / tp);  // replicated when tp > kv heads (facts 4.2)
  p.bytes_per_token = 2.0 * std::max(1, w.model.layers) * kv_heads * std::max(1, w.model.head_dim) * 2.0;
  if (p.weights_mib > p.budget_mib) {
    // Loading the weights overruns the budget: vLLM's profile run / loader raises.
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate %.2f GiB. GPU 0 has a total "
                  "capacity of %.2f GiB of which %.2f GiB is free. (model weights %.2f GiB per GPU exceed "
                  "gpu_memory_utilization=%.2f)",
                  std::min(p.weights_mib, 1024.0) / kGiBInMiB, device_mib / kGiBInMiB,
                  std::max(0.0, p.budget_mib - std::min(p.weights_mib, p.budget_mib)) / kGiBInMiB,
                  p.weights_mib / kGiBInMiB, w.gpu_memory_utilization);
    p.failure = buf;
  } else if (p.kv_mib <= 0) {
    p.failure =
        "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
        "initializing the engine.";
  }
  if (p.kv_mib > 0) {
    p.num_gpu_blocks = static_cast<std::int64_t>(p.kv_mib * kMiB / (p.bytes_per_token * kBlockSize));
    p.kv_tokens = static_cast<double>(p.num_gpu_blocks) * kBlockSize;
  }
  return p;
}

double TrueGpuMemoryNeedMib(const WorkloadSpec& w, double device_mib) {
  const bool serving = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
  if (serving && w.engine == EngineKind::kVllm) {
    const VllmMemoryPlan p = PlanVllmMemory(w, device_mib);
    // KV for p99 concurrency at peak: Little's law at peak rate with ~30 s of residence per request, x2 for the
    // p99 over the mean. GUESS beyond the formula of facts 4.2.
    const int replicas = std::max(1, w.replicas);
    const double concurrency = 2.0 * w.traffic.peak_rps / replicas * 30.0;
    const double kv_need = concurrency * (PromptTokens(w) + OutputTokens(w)) * p.bytes_per_token / kMiB;
    return p.weights_mib + p.activation_mib + kv_need;
  }
  if (serving) return w.model.weights_gib * kGiBInMiB + kEncoderOverheadMib;
  if (w.usage.gpu_memory_gib > 0) return w.usage.gpu_memory_gib * kGiBInMiB;
  switch (w.kind) {
    case WorkloadKind::kTraining: return 0.85 * device_mib;
    case WorkloadKind::kNotebook: return 0.65 * device_mib;
    default: return 0.7 * device_mib;
  }
}

EncoderPerformance EncoderOnSlices(double compute_slices) {
  const EncoderPoint e = EncoderAt(compute_slices);
  return {e.latency1_ms / 1000, e.per_sample_ms / 1000, e.gr1, e.gr_sat};
}

namespace {

double BindingShare(const World& world, const GpuBinding& b) {
  const SimNode& node = world.nodes[static_cast<std::size_t>(b.node)];
  const SimGpu& gpu = node.gpus[static_cast<std::size_t>(b.gpu)];
  const Sharing& sh = world.scenario.node_pools[static_cast<std::size_t>(node.pool)].sharing;
  if (b.mig >= 0) return gpu.mig[static_cast<std::size_t>(b.mig)].compute_slices / 7.0;
  if (b.replica >= 0) return 1.0 / std::max(1, sh.replicas);
  if (sh.mode == SharingMode::kHami || sh.mode == SharingMode::kKai) {
    return std::max(b.memory_limit_mib / gpu.memory_mib, b.compute_share);
  }
  return 1.0;
}

}  // namespace

WorkloadTruth TruthOf(const World& world, int workload, double t) {
  WorkloadTruth truth;
  const WorkloadSpec& w = world.scenario.workloads[static_cast<std::size_t>(workload)];
  for (const SimPod& pod : world.pods) {
    if (pod.workload != workload || !pod.alive(t) || pod.gpus.empty()) continue;
    ++truth.pods;
    for (const GpuBinding& b : pod.gpus) {
      const double share = BindingShare(world, b);
      truth.gpus_held += share;
      truth.cost_micro_usd_per_hour += std::llround(share * static_cast<double>(GpuHourPrice(world, b.node).value));
    }
    const double device = pod.gpus.front().memory_limit_mib;
    const bool vllm = (w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten) &&
                      w.engine == EngineKind::kVllm;
    truth.memory_held_mib += vllm ? PlanVllmMemory(w, device).budget_mib : TrueGpuMemoryNeedMib(w, device);
    truth.memory_need_mib += TrueGpuMemoryNeedMib(w, device);
  }
  return truth;
}

double GpuShareHeld(const World& world, int node, int gpu, double t) {
  double held = 0;
  for (const SimPod& pod : world.pods) {
    if (!pod.alive(t)) continue;
    for (const GpuBinding& b : pod.gpus) {
      if (b.node == node && b.gpu == gpu) held += BindingShare(world, b);
    }
  }
  return std::min(1.0, held);
}

std::string_view PodPhaseName(PodPhase phase) {
  switch (phase) {
    case PodPhase::kPending: return "Pending";
    case PodPhase::kRunning: return "Running";
    case PodPhase::kSucceeded: return "Succeeded";
    case PodPhase::kFailed: return "Failed";
  }
  return "Unknown";
}

std::string_view FailureName(Failure f) {
  switch (f) {
    case Failure::kNone: return "none";
    case Failure::kEngineStartFailure: return "engine-start-failure";
    case Failure::kKvPreemption: return "kv-preemption";
    case Failure::kCudaOomShared: return "cuda-oom-shared-gpu";
    case Failure::kNotebookKernelDeath: return "notebook-kernel-death";
    case Failure::kHostOomKilled: return "host-oom-killed";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------------------
// Simulator
// ---------------------------------------------------------------------------------------------------------

namespace {

struct PodStatic {
  const WorkloadSpec* spec = nullptr;
  VllmMemoryPlan plan;
  double device_mib = 0;      // memory the process sees (binding limit)
  double need_mib = 0;        // memory it holds when running normally
  double mem_bw = 0, flops = 0;
  double compute_slices = 7;  // encoder calibration axis
  double compute_share = 1;   // share of the unit's activity it can take (HAMi cores / MPS)
  Failure static_failure = Failure::kNone;  // decided by its configuration alone
  std::string failure_message;
  int exit_code = 0;
  std::string exit_reason;
  // Crash loop bookkeeping.
  double attempt_start = 0;
  double fail_at = kForever;
  double restart_at = kForever;
  bool started = false;
  double carry = 0;  // fractional served requests
  VllmVersion version;
};

}  // namespace

struct Simulator::State {
  std::vector<PodStatic> statics;
};

Simulator::~Simulator() = default;

Simulator::Simulator(const World& world, SimulatorOptions options)
    : world_(world), state_(std::make_unique<State>()), options_(options), now_(options.start_s) {
  BuildUnits();
  serving_replicas_.assign(world_.scenario.workloads.size(), 0);
  // Traces: per-minute arrival counts, normalised to mean 1, shape the daily curve (burstiness from a real
  // service, level and daily shape from the scenario).
  trace_factor_.resize(world_.scenario.workloads.size());
  trace_prompt_.assign(world_.scenario.workloads.size(), 0);
  trace_output_.assign(world_.scenario.workloads.size(), 0);
  for (std::size_t wi = 0; wi < world_.scenario.workloads.size(); ++wi) {
    const std::string& trace = world_.scenario.workloads[wi].traffic.trace;
    if (trace.empty()) continue;
    const std::string path = (options_.data_dir.empty() ? std::string("../shared/data") : options_.data_dir) + "/" + trace;
    ArrivalTraceOptions to;
    to.max_duration_s = 7 * 86400.0;
    base::Result<ArrivalTrace> loaded = LoadArrivalTrace(path, to);
    if (!loaded.ok() || loaded->arrival_s.empty() || loaded->duration_s < 60) {
      notes_.push_back("workload " + world_.scenario.workloads[wi].name + ": trace '" + path +
                       "' not used, the daily curve alone drives it (" +
                       (loaded.ok() ? std::string("fewer than 60 s of arrivals") : loaded.status().message()) + ")");
      continue;
    }
    const std::size_t minutes = static_cast<std::size_t>(std::ceil(loaded->duration_s / 60));
    std::vector<double> bins(minutes, 0);
    for (double a : loaded->arrival_s) bins[std::min(minutes - 1, static_cast<std::size_t>(a / 60))] += 1;
    const double mean = static_cast<double>(loaded->arrival_s.size()) / static_cast<double>(minutes);
    for (double& b : bins) b /= mean;
    trace_factor_[wi] = std::move(bins);
    trace_prompt_[wi] = loaded->mean_prompt_tokens.value_or(0);
    trace_output_[wi] = loaded->mean_output_tokens.value_or(0);
  }
  SyncWithWorld();
}

void Simulator::BuildUnits() {
  // Units: one per whole GPU, one per MIG instance.
  int next = 0;
  unit_offset_.clear();
  for (const SimNode& node : world_.nodes) {
    std::vector<int> offsets;
    for (const SimGpu& gpu : node.gpus) {
      offsets.push_back(next);
      next += gpu.mig.empty() ? 1 : static_cast<int>(gpu.mig.size());
    }
    unit_offset_.push_back(std::move(offsets));
  }
  units_.assign(static_cast<std::size_t>(next), UnitSample{});
}

void Simulator::SyncWithWorld() {
  // A MIG layout change renumbers the units (a repartitioned GPU starts its counters afresh, as after a reset).
  std::size_t units = 0;
  for (const SimNode& node : world_.nodes) {
    for (const SimGpu& gpu : node.gpus) units += gpu.mig.empty() ? 1 : gpu.mig.size();
  }
  if (units != units_.size()) BuildUnits();
  const std::size_t known = pods_.size();
  pods_.resize(world_.pods.size());
  state_->statics.resize(world_.pods.size());
  for (std::size_t i = known; i < world_.pods.size(); ++i) InitPod(i);
}

void Simulator::InitPod(std::size_t i) {
  const SimPod& pod = world_.pods[i];
  PodStatic& st = state_->statics[i];
  if (pod.workload < 0) return;
  st.spec = &world_.scenario.workloads[static_cast<std::size_t>(pod.workload)];
  const WorkloadSpec& w = *st.spec;
  if (!pod.gpus.empty()) {
    const GpuBinding& b = pod.gpus.front();
    const SimGpu& gpu = world_.nodes[static_cast<std::size_t>(b.node)].gpus[static_cast<std::size_t>(b.gpu)];
    const GpuTraits& tr = TraitsOf(gpu.model_name);
    st.device_mib = b.memory_limit_mib;
    double mem_share = 1, comp_share = b.compute_share;
    if (b.mig >= 0) {
      const MigSlice& m = gpu.mig[static_cast<std::size_t>(b.mig)];
      mem_share = m.memory_slices / 8.0;
      comp_share = m.compute_slices / 7.0;
      st.compute_slices = m.compute_slices;
    } else {
      st.compute_slices = 7 * b.compute_share;
      st.compute_share = b.compute_share;
    }
    st.mem_bw = tr.mem_bw_bytes_s * mem_share * kBandwidthEfficiency;
    st.flops = tr.bf16_flops * comp_share * kMfu * std::max(1, w.tensor_parallel);
    // Encoder calibration is on A100s: other parts scale per-sample time by their FLOPS.
    if (gpu.model_name.find("A100") == std::string::npos) st.compute_slices *= tr.bf16_flops / 312e12;
  }
  const bool serving = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
  if (serving && w.engine == EngineKind::kVllm) {
    st.plan = PlanVllmMemory(w, st.device_mib);
    const base::Result<VllmVersion> version = ParseVllmVersion(w.engine_version);
    if (version.ok()) st.version = *version;
    ResetEngine(i);
    st.need_mib = st.plan.budget_mib;
    if (!st.plan.failure.empty()) {
      st.static_failure = Failure::kEngineStartFailure;
      st.failure_message = st.plan.failure;
      st.exit_code = 1;
      st.exit_reason = "Error";
    }
  } else {
    st.need_mib = TrueGpuMemoryNeedMib(w, st.device_mib);
    if (w.kind == WorkloadKind::kNotebook && st.need_mib > st.device_mib) {
      st.static_failure = Failure::kNotebookKernelDeath;
    }
  }
  if (w.usage.host_memory_limit_gib > 0 && w.usage.host_memory_gib > w.usage.host_memory_limit_gib &&
      st.static_failure == Failure::kNone) {
    st.static_failure = Failure::kHostOomKilled;
    st.exit_code = 137;
    st.exit_reason = "OOMKilled";
    st.failure_message = "";  // the kernel's OOM killer writes nothing to the container log
  }
}

void Simulator::ResetEngine(std::size_t i) {
  const PodStatic& st = state_->statics[i];
  const SimPod& pod = world_.pods[i];
  PodRuntime& rt = pods_[i];
  // A fresh process: counters and histograms start at zero (Prometheus sees a counter reset).
  rt.vllm = MakeVllmState(st.spec->model.name, kMaxModelLen, st.version);
  rt.vllm.cache_config.gpu_memory_utilization = st.spec->gpu_memory_utilization;
  rt.vllm.cache_config.num_gpu_blocks = st.plan.num_gpu_blocks;
  rt.vllm.created_unix_s = world_.options.epoch_unix_s + std::max(pod.start_s, rt.container.started_s) + 30;
  rt.queue = 0;
}

double Simulator::TraceFactor(int workload, double t) const {
  const std::vector<double>& bins = trace_factor_[static_cast<std::size_t>(workload)];
  if (bins.empty()) return 1;
  const auto minute = static_cast<long long>(std::floor(t / 60));
  const long long n = static_cast<long long>(bins.size());
  return bins[static_cast<std::size_t>(((minute % n) + n) % n)];
}

double Simulator::MemoryOthersHold(int index, double t) const {
  // Pods earlier in order have this step's memory, later ones the last step's: a deterministic order of
  // allocation among processes that start together.
  const GpuBinding& b = world_.pods[static_cast<std::size_t>(index)].gpus.front();
  double others = 0;
  for (std::size_t j = 0; j < world_.pods.size(); ++j) {
    const SimPod& o = world_.pods[j];
    if (static_cast<int>(j) == index || !o.alive(t)) continue;
    for (const GpuBinding& ob : o.gpus) {
      if (ob.node == b.node && ob.gpu == b.gpu && ob.mig == b.mig) others += pods_[j].gpu_memory_mib;
    }
  }
  return others;
}

int Simulator::UnitIndex(int node, int gpu, int mig) const {
  return unit_offset_[static_cast<std::size_t>(node)][static_cast<std::size_t>(gpu)] + std::max(0, mig);
}

void Simulator::AdvanceTo(double t) {
  while (now_ < t) Step();
}

void Simulator::Step() {
  const double t = now_, dt = options_.step_s;
  // Ready replicas per workload, from the state at the start of the step (a Service routes to ready pods).
  std::fill(serving_replicas_.begin(), serving_replicas_.end(), 0);
  for (std::size_t i = 0; i < pods_.size(); ++i) {
    const int w = world_.pods[i].workload;
    if (w >= 0 && pods_[i].serving && world_.pods[i].alive(t)) ++serving_replicas_[static_cast<std::size_t>(w)];
  }
  for (UnitSample& u : units_) {
    u.gr = u.sm = u.tensor = u.dram = 0;
    u.fb_used_mib = 0;
    u.pcie_rx_bps = u.pcie_tx_bps = u.nvlink_share = 0;
  }
  for (std::size_t i = 0; i < pods_.size(); ++i) StepPod(static_cast<int>(i), t, dt);
  UpdateUnits(t, dt);
  now_ = t + dt;
  ++step_index_;
}

void Simulator::StepPod(int index, double t, double dt) {
  const SimPod& pod = world_.pods[static_cast<std::size_t>(index)];
  PodRuntime& rt = pods_[static_cast<std::size_t>(index)];
  PodStatic& st = state_->statics[static_cast<std::size_t>(index)];
  rt.arrivals = 0;
  rt.rps = 0;
  rt.gr = rt.sm = rt.tensor = rt.dram = 0;
  rt.gpu_memory_mib = 0;
  rt.serving = false;
  if (pod.workload < 0) {  // add-ons: always running
    rt.phase = pod.alive(t) ? PodPhase::kRunning : PodPhase::kPending;
    rt.container.running = rt.container.ready = pod.alive(t);
    return;
  }
  if (t < pod.start_s) return;  // not created yet
  ContainerState& c = rt.container;
  if (t >= pod.end_s) {
    if (pod.succeeds && rt.phase != PodPhase::kSucceeded) {
      rt.phase = PodPhase::kSucceeded;
      c.running = c.ready = false;
      c.waiting_reason.clear();
      c.last_exit_code = 0;
      c.last_reason = "Completed";
      c.last_finished_s = pod.end_s;
    }
    return;
  }
  if (pod.node.empty()) {
    rt.phase = PodPhase::kPending;
    c.waiting_reason.clear();
    return;
  }
  rt.phase = PodPhase::kRunning;
  const WorkloadSpec& w = *st.spec;
  const Delays& delays = world_.scenario.delays;
  const double cold = EngineStartSeconds(world_.scenario, w);
  const double pull = std::max(0.0, delays.image_pull_s);
  const std::uint64_t key = Hash3(world_.scenario.seed, HashString(pod.meta.uid), 3);

  // Starting and restarting. A pod alive when the simulator starts has been running since its start time
  // (warm), so its crash-loop history is replayed up to now.
  auto begin_attempt = [&](double at) {
    st.attempt_start = at;
    Failure f = st.static_failure;
    if (f == Failure::kNone && pod.gpus.size() == 1 && w.kind != WorkloadKind::kNotebook) {
      // Time-sliced GPU: the memory other processes hold must leave room for this one (no isolation).
      const GpuBinding& b = pod.gpus.front();
      const SimGpu& gpu = world_.nodes[static_cast<std::size_t>(b.node)].gpus[static_cast<std::size_t>(b.gpu)];
      if (b.replica >= 0) {
        const double others = MemoryOthersHold(index, at);
        const double free_mib = std::max(0.0, gpu.memory_mib * (1 - kFramebufferReservedFraction) - others);
        if (st.need_mib > free_mib) {
          f = Failure::kCudaOomShared;
          char buf[256];
          std::snprintf(buf, sizeof buf,
                        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate %.2f GiB. GPU 0 has a total "
                        "capacity of %.2f GiB of which %.2f GiB is free. Process has %.2f GiB memory in use.",
                        st.need_mib / kGiBInMiB, gpu.memory_mib / kGiBInMiB,
                        free_mib / kGiBInMiB, 0.5);
          st.failure_message = buf;
          st.exit_code = 1;
          st.exit_reason = "Error";
        }
      }
    }
    rt.failure = f;
    st.fail_at = at + FailAfter(f, cold);
    st.restart_at = kForever;
    c.started_s = at;
    c.running = true;
    c.waiting_reason.clear();
  };
  if (!st.started) {
    if (t < pod.start_s + pull) {
      // The kubelet pulls the image: the pod stays Pending with its container waiting.
      rt.phase = PodPhase::kPending;
      c.running = c.ready = false;
      c.waiting_reason = "ContainerCreating";
      return;
    }
    st.started = true;
    begin_attempt(pod.start_s + pull);
  }
  // Replay whole attempts that ended before t (for warm pods this covers the time before the simulator).
  for (int guard = 0; guard < 100000; ++guard) {
    if (st.fail_at <= t && st.restart_at == kForever) {
      c.running = c.ready = false;
      c.last_exit_code = st.exit_code;
      c.last_reason = st.exit_reason;
      c.last_finished_s = st.fail_at;
      c.waiting_reason = "CrashLoopBackOff";
      st.restart_at = st.fail_at + Backoff(delays.crash_backoff_s, c.restarts);
      if (!st.failure_message.empty() && (c.log.empty() || c.log.back() != st.failure_message)) {
        c.log.push_back(st.failure_message);
        if (c.log.size() > 20) c.log.erase(c.log.begin());
      }
      continue;
    }
    if (st.restart_at <= t) {
      ++c.restarts;
      begin_attempt(st.restart_at);
      if (st.plan.budget_mib > 0) ResetEngine(static_cast<std::size_t>(index));
      continue;
    }
    break;
  }
  if (!c.running) return;  // in back-off

  const double age = t - c.started_s;
  const bool serving_kind = w.kind == WorkloadKind::kInference || w.kind == WorkloadKind::kForgotten;
  const bool warm = pod.start_s < options_.start_s && c.restarts == 0;
  const bool loading = !warm && age < cold;
  c.ready = !loading;
  // Memory: held from the moment the engine initialises (vLLM reserves its budget up front).
  const bool failing = rt.failure == Failure::kEngineStartFailure || rt.failure == Failure::kCudaOomShared;
  if (failing) {
    rt.gpu_memory_mib = std::min(st.need_mib, st.plan.weights_mib > 0 ? std::min(st.plan.weights_mib, st.device_mib) : 512.0);
    rt.dram = loading ? 0.05 : 0;
    return;
  }
  std::uint64_t step = static_cast<std::uint64_t>(std::llround(t / options_.step_s));
  if (serving_kind) {
    rt.gpu_memory_mib = loading ? st.need_mib * std::clamp(age / std::max(cold, 1.0), 0.1, 1.0) : st.need_mib;
    if (loading) {
      rt.dram = 0.02;
      return;
    }
    rt.serving = true;
    const double replicas = std::max(1, serving_replicas_[static_cast<std::size_t>(pod.workload)]);
    const double lambda = ArrivalRate(w, t) * TraceFactor(pod.workload, t) / replicas;
    Rng rng(Hash3(key, step, 1));
    const double n = static_cast<double>(rng.Poisson(lambda * dt));
    rt.rps = lambda;
    rt.arrivals = n;
    const auto wi = static_cast<std::size_t>(pod.workload);
    // Token means: the scenario's, else the trace's, else the defaults.
    const double P = w.traffic.prompt_tokens == 0 && trace_prompt_[wi] > 0 ? trace_prompt_[wi] : PromptTokens(w);
    const double O = w.traffic.output_tokens == 0 && trace_output_[wi] > 0 && w.engine == EngineKind::kVllm
                         ? trace_output_[wi]
                         : OutputTokens(w);
    if (w.engine == EngineKind::kEncoder) {
      const EncoderPerformance perf = EncoderOnSlices(st.compute_slices);
      const EncoderPoint e{st.compute_slices, perf.latency1_s * 1000, perf.per_sample_s * 1000, perf.gr1, perf.gr_saturated};
      const double work = std::max(1.0, w.model.weights_gib / kBertBaseWeightsGib) * P / kEncoderTokens;
      const double ps = e.per_sample_ms * work / 1000, l1 = std::max(e.latency1_ms / 1000, ps);
      const double rate = n / dt;
      double busy = 0, gr = 0;
      if (rate * ps >= 1) {
        busy = 1;
        gr = e.gr_sat;
      } else if (rate * l1 <= 1) {
        busy = rate * l1;
        gr = busy * (ps >= l1 ? e.gr_sat : e.gr1 + (e.gr_sat - e.gr1) * ps / l1);
      } else {
        busy = 1;
        gr = e.gr1 + (e.gr_sat - e.gr1) * std::min(1.0, rate * ps);
      }
      rt.gr = gr * st.compute_share;
      rt.sm = 0.85 * rt.gr;      // GUESS: SM activity slightly below GR for encoder kernels
      rt.tensor = 0.35 * rt.gr;  // GUESS
      rt.dram = 0.30 * rt.gr;    // GUESS
      rt.gpu_memory_mib = st.need_mib + busy * 64;  // + activations of the batch in flight. GUESS.
      return;
    }
    // vLLM: continuous batching; decode bandwidth bound, prefill compute bound.
    const VllmMemoryPlan& plan = st.plan;
    const double ctx = P + O / 2;
    const double weight_bytes = plan.weights_mib * kMiB;
    const double a = weight_bytes / st.mem_bw + kIterationOverheadS;         // s per iteration, batch-independent
    const double cb = ctx * plan.bytes_per_token / st.mem_bw;                // s per iteration per sequence
    const double prefill = weight_bytes * P / st.flops;                      // 2 * params * P / flops, params = bytes/2
    const double kv_seqs = plan.kv_tokens / std::max(1.0, ctx);
    const double b_cap = std::max(1.0, std::min(kMaxNumSeqs, kv_seqs));
    const double arrive_rate = n / dt;
    const double denom = 1 - arrive_rate * O * cb;
    const double b_need = denom > 0 ? arrive_rate * (prefill + O * a) / denom : 1e9;
    VllmState& vs = rt.vllm;
    const double per_req_at_cap = prefill + O * (a + cb * b_cap);
    const double mu = b_cap / per_req_at_cap;  // max completions per second
    double batch = b_need, served = n;
    const bool kv_limited = kv_seqs < kMaxNumSeqs;
    if (b_need > b_cap || rt.queue > 0) {
      // Saturated (or draining a queue): the batch is full and the backlog moves at mu.
      const double backlog = rt.queue + n;
      served = std::floor(std::min(backlog, mu * dt + st.carry));
      st.carry = std::min(1.0, std::max(0.0, mu * dt + st.carry - served));
      batch = b_need > b_cap ? b_cap : std::min(b_cap, b_need + (served - n) * per_req_at_cap / dt);
      rt.queue = backlog - served;
      if (kv_limited && b_need > b_cap) {
        // KV cache full: the scheduler preempts running sequences to admit others (recompute). GUESS: the
        // overflow fraction of this step's admissions is preempted once.
        vs.num_preemptions += static_cast<std::uint64_t>(std::floor(n * std::min(1.0, b_need / b_cap - 1) + 0.5));
        rt.failure = Failure::kKvPreemption;
      }
    } else {
      rt.queue = 0;
    }
    vs.num_requests_running = std::floor(batch + 0.5);
    vs.num_requests_waiting = std::floor(rt.queue);
    vs.kv_cache_usage = std::min(1.0, batch * ctx / std::max(1.0, plan.kv_tokens));
    if (kv_limited && b_need > b_cap) vs.kv_cache_usage = std::min(1.0, 0.97 + 0.03 * Unit(Hash3(key, step, 2)));
    const double itl = a + cb * batch;
    const double queue_wait = rt.queue > 0 ? rt.queue / std::max(mu, 1e-9) : 0;
    const double pf_frac = std::min(1.0, served / dt * prefill);
    const double ttft_mean =
        prefill * (1 + pf_frac) + queue_wait + (rt.failure == Failure::kKvPreemption ? prefill * 2 : 0);
    rt.ttft_mean_s = ttft_mean;
    // Per-request observations (lognormal spread around the means). GUESS: sigma 0.5 for TTFT, 0.6 for lengths.
    std::uint64_t prompt_total = 0, output_total = 0, length_capped = 0;
    const auto count = static_cast<std::uint64_t>(served);
    for (std::uint64_t k = 0; k < count; ++k) {
      const double ttft = ttft_mean * std::exp(0.5 * std::clamp(rng.Normal(), -3.0, 3.0) - 0.125);
      const double prompt = std::max(1.0, std::round(P * std::exp(0.6 * std::clamp(rng.Normal(), -3.0, 3.0) - 0.18)));
      double out = std::max(1.0, std::round(O * std::exp(0.6 * std::clamp(rng.Normal(), -3.0, 3.0) - 0.18)));
      if (out >= 4 * O) {  // max_tokens reached: finished_reason "length"
        out = std::round(4 * O);
        ++length_capped;
      }
      prompt_total += static_cast<std::uint64_t>(prompt);
      output_total += static_cast<std::uint64_t>(out);
      AddObservation(&vs.time_to_first_token_s, ttft);
      AddObservation(&vs.e2e_request_latency_s, ttft + out * itl);
      AddObservation(&vs.request_queue_time_s, queue_wait);
      AddObservation(&vs.request_prefill_time_s, prefill);
      AddObservation(&vs.request_decode_time_s, out * itl);
      AddObservation(&vs.request_inference_time_s, prefill + out * itl);
      AddObservation(&vs.request_prompt_tokens, prompt);
      AddObservation(&vs.request_generation_tokens, out);
      AddObservation(&vs.request_params_n, 1);
      AddObservation(&vs.request_params_max_tokens, std::round(4 * O));
      AddObservation(&vs.request_max_num_generation_tokens, std::round(4 * O));
      ObserveN(&vs.inter_token_latency_s, itl, static_cast<std::uint64_t>(out) - 1);
    }
    vs.prompt_tokens += prompt_total;
    vs.generation_tokens += output_total;
    vs.request_success.length += length_capped;
    vs.request_success.stop += count - length_capped;
    // Prefix cache: a third of prompt tokens hit (shared system prompts). GUESS.
    vs.prefix_cache_queries += prompt_total;
    vs.prefix_cache_hits += prompt_total / 3;
    if (count > 0) {
      // Engine steps this interval: one per decode iteration while busy.
      const auto iterations = static_cast<std::uint64_t>(std::max(1.0, (1 - std::exp(-batch)) * dt / itl));
      ObserveN(&vs.iteration_tokens, std::max(1.0, batch), iterations);
    }
    // Activity. Busy fraction: P(at least one sequence running). While busy, GR and SM rise with the batch
    // (shape from MIGProfiler: bert-base on 7g.80gb, GR 0.41 at batch 1 to 0.90 at batch 32); prefill is compute
    // bound and fills the SMs. GUESS beyond those shapes.
    const double f = 1 - std::exp(-batch);
    const double dec = 1 - pf_frac;
    rt.gr = std::min(1.0, f * (0.30 + 0.65 * batch / (batch + 6)) * dec + pf_frac * 0.95);
    rt.sm = std::min(rt.gr, f * (0.15 + 0.75 * batch / (batch + 16)) * dec + pf_frac * 0.90);
    rt.tensor = std::min(rt.sm, f * (0.05 + 0.45 * batch / (batch + 32)) * dec + pf_frac * 0.70);
    rt.dram = std::min(1.0, f * (0.45 + 0.40 * batch / (batch + 16)) * dec + pf_frac * 0.30);
    const double jitter = Noise(key, step, 6, 0.03);
    rt.gr = std::min(1.0, rt.gr * jitter * st.compute_share);
    rt.sm = std::min(rt.gr, rt.sm * jitter * st.compute_share);
    rt.tensor *= st.compute_share;
    rt.dram *= st.compute_share;
    return;
  }
  // Non-serving workloads.
  const double hour = HoursOfDay(t);
  switch (w.kind) {
    case WorkloadKind::kTraining: {
      rt.gpu_memory_mib = loading ? 0 : st.need_mib;
      if (loading) return;
      const double target = w.usage.sm_active > 0 ? w.usage.sm_active : 0.9;
      // Hourly checkpoint: ~2 minutes of near-idle GPU while the state is written. GUESS.
      const bool checkpoint = std::fmod(t - c.started_s + Uniform(key, 0, 3600), 3600.0) < 120;
      rt.sm = std::clamp((checkpoint ? 0.05 : target) * Noise(key, step, 7, 0.02), 0.0, 1.0);
      rt.gr = std::min(1.0, rt.sm / 0.95);
      rt.tensor = rt.sm * 0.6;
      rt.dram = rt.sm * 0.45;
      return;
    }
    case WorkloadKind::kNotebook: {
      // The kernel starts a few minutes after the pod, then holds its memory; work comes in short bursts on
      // weekday office hours (~1 in 50 samples). GUESS, shaped to "near-zero SM most of the day".
      if (rt.kernel_dead || age < 300) return;
      const GpuBinding& b = pod.gpus.front();
      const double others = MemoryOthersHold(index, t);
      const SimGpu& gpu = world_.nodes[static_cast<std::size_t>(b.node)].gpus[static_cast<std::size_t>(b.gpu)];
      const double unit_mib = b.mig >= 0 ? gpu.mig[static_cast<std::size_t>(b.mig)].memory_mib : gpu.memory_mib;
      const double free_mib = std::max(0.0, unit_mib * (1 - kFramebufferReservedFraction) - others);
      if (st.static_failure == Failure::kNotebookKernelDeath || st.need_mib > free_mib) {
        rt.kernel_dead = true;
        rt.failure = Failure::kNotebookKernelDeath;
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate %.2f GiB. GPU 0 has a total "
                      "capacity of %.2f GiB of which %.2f GiB is free.",
                      st.need_mib / kGiBInMiB, std::min(unit_mib, st.device_mib) / kGiBInMiB,
                      std::min(free_mib, st.device_mib) / kGiBInMiB);
        c.log.push_back(buf);
        c.log.push_back("[I KernelRestarter] AsyncIOLoopKernelRestarter: restarting kernel (1/5), keep random ports");
        c.log.push_back("[W KernelRestarter] kernel died, the notebook's variables are lost");
        return;
      }
      rt.gpu_memory_mib = st.need_mib;
      const bool office = !Weekend(t) && hour >= 9 && hour < 18;
      const bool burst = office && Unit(Hash3(key, step, 8)) < 0.02;
      rt.sm = burst ? 0.3 * Noise(key, step, 9, 0.2) : 0.004 * Unit(Hash3(key, step, 10));
      rt.gr = std::min(1.0, rt.sm * 1.1);
      rt.tensor = rt.sm * 0.3;
      rt.dram = rt.sm * 0.4;
      return;
    }
    case WorkloadKind::kBatch:
    case WorkloadKind::kCronBatch:
    default: {
      rt.gpu_memory_mib = loading ? 0 : st.need_mib;
      if (loading) return;
      // Alternating compute and data-loading phases (~15% of samples near idle). GUESS.
      const double target = w.usage.sm_active > 0 ? w.usage.sm_active : 0.75;
      const bool io = Unit(Hash3(key, step / 4, 11)) < 0.15;
      rt.sm = std::clamp((io ? 0.08 : target) * Noise(key, step, 12, 0.04), 0.0, 1.0);
      rt.gr = std::min(1.0, rt.sm / 0.92);
      rt.tensor = rt.sm * 0.5;
      rt.dram = rt.sm * 0.5;
      return;
    }
  }
}

void Simulator::UpdateUnits(double /*t*/, double dt) {
  for (std::size_t i = 0; i < pods_.size(); ++i) {
    const SimPod& pod = world_.pods[i];
    const PodRuntime& rt = pods_[i];
    if (pod.gpus.empty() || !rt.container.running) continue;
    const bool multi = pod.gpus.size() > 1;
    for (const GpuBinding& b : pod.gpus) {
      UnitSample& u = units_[static_cast<std::size_t>(UnitIndex(b.node, b.gpu, b.mig))];
      u.gr += rt.gr;
      u.sm += rt.sm;
      u.tensor += rt.tensor;
      u.dram += rt.dram;
      u.fb_used_mib += std::llround(rt.gpu_memory_mib);
      // PCIe: requests and tokens in and out, plus weight loading while the process fills its memory. GUESS.
      u.pcie_rx_bps += 2e5 + rt.arrivals / dt * 2e4 + rt.gr * 4e8;
      u.pcie_tx_bps += 1e5 + rt.arrivals / dt * 1e4 + rt.gr * 1e8;
      if (multi) u.nvlink_share += 0.25 * rt.sm;  // tensor-parallel / data-parallel traffic. GUESS.
    }
  }
  for (UnitSample& u : units_) {
    u.gr = std::min(1.0, u.gr);
    u.sm = std::min(u.gr, u.sm);
    u.tensor = std::min(u.sm, u.tensor);
    u.dram = std::min(1.0, u.dram);
    u.nvlink_share = std::min(1.0, u.nvlink_share);
    u.activity_integral_s += u.gr * dt;
  }
}

NodeSpec Simulator::DcgmNode(int node_index) const {
  const SimNode& node = world_.nodes[static_cast<std::size_t>(node_index)];
  const NodePool& pool = world_.scenario.node_pools[static_cast<std::size_t>(node.pool)];
  NodeSpec spec;
  spec.hostname = node.meta.name;
  spec.driver_version = pool.driver_version;
  // The pod each unit is labelled with: dcgm-exporter maps a device to one pod; on a shared GPU the last one
  // listed wins (facts 1.4). Here: the last-started running pod.
  std::vector<const SimPod*> label(units_.size(), nullptr);
  for (std::size_t i = 0; i < world_.pods.size(); ++i) {
    const SimPod& pod = world_.pods[i];
    if (!pods_[i].container.running || !pod.alive(now_ - options_.step_s)) continue;
    for (const GpuBinding& b : pod.gpus) {
      if (b.node != node_index) continue;
      const auto u = static_cast<std::size_t>(UnitIndex(b.node, b.gpu, b.mig));
      if (label[u] == nullptr || label[u]->start_s <= pod.start_s) label[u] = &pod;
    }
  }
  // A unit's sample and the pod it is labelled with, on a GpuSpec or a MigInstanceSpec.
  auto fill = [&](auto& spec, int gpu, int mig) {
    const auto u = static_cast<std::size_t>(UnitIndex(node_index, gpu, mig));
    spec.sample = units_[u];
    if (const SimPod* p = label[u]) {
      spec.pod = p->meta.name;
      spec.namespace_name = p->meta.namespace_name;
      spec.container = p->container;
    }
  };
  for (std::size_t g = 0; g < node.gpus.size(); ++g) {
    const SimGpu& gpu = node.gpus[g];
    GpuSpec gs;
    gs.index = gpu.index;
    gs.uuid = gpu.uuid;
    gs.model_name = gpu.model_name;
    gs.memory_gib = gpu.memory_mib / kGiBInMiB;
    if (gpu.mig.empty()) {
      fill(gs, static_cast<int>(g), -1);
    } else {
      for (std::size_t m = 0; m < gpu.mig.size(); ++m) {
        const MigSlice& slice = gpu.mig[m];
        MigInstanceSpec ms;
        ms.profile = slice.profile;
        ms.gi_id = slice.gi_id;
        ms.compute_slices = slice.compute_slices;
        ms.memory_gib = slice.memory_mib / kGiBInMiB;
        fill(ms, static_cast<int>(g), static_cast<int>(m));
        gs.mig.push_back(std::move(ms));
      }
    }
    spec.gpus.push_back(std::move(gs));
  }
  return spec;
}

}  // namespace gpuwise::sim
