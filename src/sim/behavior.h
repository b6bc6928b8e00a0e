// Behaviour model of the simulated cluster: how much traffic each workload gets, how that load turns into GPU
// activity and framebuffer use, what a serving engine reports, and how GPU memory failures happen. Pure
// functions of the scenario, plus the Simulator, which steps a World through time (fixed 15 s steps) and keeps
// the per-pod state that only accumulates (counters, restarts, queues).
//
// Calibration (constants in behavior.cc name their sources): encoder servers on MIG slices follow the
// MIGProfiler A100 BERT runs (latency and GR activity per profile and batch); decode is memory-bandwidth bound
// and prefill compute bound (datasheet bandwidth and FLOPS, scaled by the slice's memory and compute slices);
// vLLM reserves gpu_memory_utilization of what it sees up front (nvidia-gpu-facts.md 4.1) and its KV cache
// holds 2 x layers x kv_heads x head_dim x 2 bytes per token (4.2). What no public trace calibrates is marked
// GUESS and listed in docs/simulator.md.
// Thread-safety: free functions are pure; a Simulator is used from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/dcgm_page.h"
#include "sim/vllm_page.h"
#include "sim/world.h"

namespace gpuwise::sim {

// Requests per second the workload receives at simulated time t, over all replicas (the ground truth the
// arrivals are drawn from). A daily curve between trough and peak, sharpest around peak_hour, scaled by
// weekend_factor on Saturday and Sunday (day 0 is a Monday).
double ArrivalRate(const WorkloadSpec& w, double t);

// Mean prompt and output tokens per request (the workload's, else the Azure 2023 conversation trace means).
double PromptTokens(const WorkloadSpec& w);
double OutputTokens(const WorkloadSpec& w);

// vLLM's memory plan on one GPU (or MIG instance, or HAMi memory limit) of `device_mib`.
struct VllmMemoryPlan {
  double device_mib = 0;      // what torch.cuda.mem_get_info reports as total
  double budget_mib = 0;      // gpu_memory_utilization x device
  double weights_mib = 0;     // per GPU: weights / tensor_parallel
  double activation_mib = 0;  // peak activations + non-torch memory (CUDA context, NCCL)
  double kv_mib = 0;          // budget - weights - activations; <= 0 means the engine cannot start
  double bytes_per_token = 0; // KV bytes per token on one GPU
  double kv_tokens = 0;       // KV capacity in tokens (whole 16-token blocks)
  std::int64_t num_gpu_blocks = 0;
  std::string failure;        // empty, or the engine's start-up error as its log prints it
};
VllmMemoryPlan PlanVllmMemory(const WorkloadSpec& w, double device_mib);

// GPU memory a workload's process truly needs on each device (weights + activations + the KV cache its p99
// concurrency uses, for vLLM; the configured use for others), MiB: the ground truth for right-sizing tests.
double TrueGpuMemoryNeedMib(const WorkloadSpec& w, double device_mib);

// An encoder server (one forward pass per request) on `compute_slices` of 7 (a MIG profile's g, or 7 x a
// share): latency at batch 1, per-sample time when batching (both for a bert-base request of 64 tokens), and GR
// activity at batch 1 and saturated. Interpolated from MIGProfiler's A100 BERT runs (behavior.cc).
struct EncoderPerformance {
  double latency1_s = 0, per_sample_s = 0, gr1 = 0, gr_saturated = 0;
};
EncoderPerformance EncoderOnSlices(double compute_slices);

// Ground truth of one workload at simulated time t, for tests that check gpuwise's conclusions. A device share
// counts as a fraction of the GPU: a MIG instance compute_slices/7, a time-slicing or MPS share 1/replicas, a
// HAMi request max(gpumem/device memory, gpucores/100); a whole GPU 1.
struct WorkloadTruth {
  int pods = 0;                          // alive and placed
  double gpus_held = 0;                  // GPU equivalents
  std::int64_t cost_micro_usd_per_hour = 0;  // sum over its devices of share x the GPU's hourly price
  double memory_held_mib = 0;            // per pod and device: what the process reserves (vLLM: its budget)
  double memory_need_mib = 0;            // per pod and device: what it truly needs
};
WorkloadTruth TruthOf(const World& world, int workload, double t);

// The share of GPU `gpu` of `node` that pods alive at t hold (0..1), computed per device from the bindings.
double GpuShareHeld(const World& world, int node, int gpu, double t);

// Scheduled -> serving: image pull (the pod Pending, ContainerCreating) then engine start (Running, not Ready;
// delays.cold_start_s, or 45 s + the weights at 1 GiB/s for model servers and 20 s for other pods when unset).
double EngineStartSeconds(const Scenario& scenario, const WorkloadSpec& w);
double ColdStartSeconds(const Scenario& scenario, const WorkloadSpec& w);

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed };
std::string_view PodPhaseName(PodPhase phase);

// How a pod's container is doing, as the kubelet would report it.
struct ContainerState {
  bool running = false;
  bool ready = false;
  std::string waiting_reason;   // "ContainerCreating", "CrashLoopBackOff", or empty
  int restarts = 0;
  int last_exit_code = 0;       // of the last terminated run
  std::string last_reason;      // "Error", "OOMKilled", "Completed"
  double last_finished_s = 0;
  double started_s = 0;         // current run's start
  std::vector<std::string> log; // the container's last log lines (newest last)
};

// The GPU memory failure a pod is in, if any (DESIGN.md: GPU memory failures are not OOMKilled).
enum class Failure {
  kNone,
  kEngineStartFailure,  // vLLM budget below weights (or no room for KV): exit 1 at start, CrashLoopBackOff
  kKvPreemption,        // KV cache too small for the traffic: stays up, preempts, TTFT grows
  kCudaOomShared,       // time-sliced: the device's memory is taken by other processes: CUDA OOM, exit 1
  kNotebookKernelDeath, // a notebook's CUDA OOM kills its kernel; the pod stays Running
  kHostOomKilled,       // host memory above the container limit: OOMKilled, exit 137
};
std::string_view FailureName(Failure f);

struct PodRuntime {
  PodPhase phase = PodPhase::kPending;
  ContainerState container;
  Failure failure = Failure::kNone;  // shown since the process started (kKvPreemption stays once it happened)
  bool serving = false;         // ready and taking traffic
  bool kernel_dead = false;     // notebook
  double rps = 0;               // true arrival rate to this pod (requests/s) over the last step
  double arrivals = 0;          // requests that arrived in the last step
  double gpu_memory_mib = 0;    // process memory on each bound device
  double gr = 0, sm = 0, tensor = 0, dram = 0;  // the pod's activity on its unit (unit-relative)
  double ttft_mean_s = 0;       // mean TTFT over the last step
  double queue = 0;             // requests waiting (fractional backlog behind num_requests_waiting)
  VllmState vllm;               // what the pod's vLLM /metrics reports (reset when the process restarts)
};

struct SimulatorOptions {
  double step_s = 15;           // one step; DCGM's 30 s collect interval spans two
  double start_s = 0;           // simulated time the simulator starts at (pods alive then are warm)
  // Where traffic.trace paths are read from (../shared/data). A trace that cannot be read leaves the daily curve
  // alone, with a note in Simulator::notes().
  std::string data_dir;
};

class Simulator {
 public:
  Simulator(const World& world, SimulatorOptions options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Takes in what changed in the world since the last call: pods appended (controllers started them) and MIG
  // layouts changed (units renumbered). Pods are never removed: a deleted pod's end_s is set.
  void SyncWithWorld();
  // Steps until now() >= t (never backwards).
  void AdvanceTo(double t);
  double now() const { return now_; }
  const World& world() const { return world_; }
  // What the simulator could not do as asked (a trace file missing), for the user to see.
  const std::vector<std::string>& notes() const { return notes_; }
  // The rate multiplier a workload's trace applies at t (1 without a trace): the trace's per-minute arrival
  // count over its mean, repeated over the trace's length.
  double TraceFactor(int workload, double t) const;

  const PodRuntime& pod(int i) const { return pods_[static_cast<std::size_t>(i)]; }
  // The node's GPUs as dcgm-exporter sees them now: unit samples, pod labels (one pod per shared GPU, the last
  // started, as dcgm-exporter's pod mapping does without virtual-GPU mode).
  NodeSpec DcgmNode(int node) const;

 private:
  void Step();
  void StepPod(int i, double t, double dt);
  void UpdateUnits(double t, double dt);
  void ResetEngine(std::size_t pod);
  void BuildUnits();
  void InitPod(std::size_t i);
  // GPU memory the other processes on pod `index`'s device (or MIG instance) hold at t, MiB.
  double MemoryOthersHold(int index, double t) const;
  int UnitIndex(int node, int gpu, int mig) const;

  struct State;
  const World& world_;
  std::unique_ptr<State> state_;
  SimulatorOptions options_;
  double now_ = 0;
  std::uint64_t step_index_ = 0;
  std::vector<PodRuntime> pods_;
  std::vector<UnitSample> units_;
  std::vector<std::vector<int>> unit_offset_;  // [node][gpu] -> first unit index (whole GPU or instance 0)
  std::vector<int> serving_replicas_;          // per workload, ready pods this step
  std::vector<std::vector<double>> trace_factor_;  // per workload: per-minute multipliers (empty = none)
  std::vector<double> trace_prompt_, trace_output_;  // per workload: the trace's mean tokens (0 = none)
  std::vector<std::string> notes_;
};

}  // namespace gpuwise::sim
