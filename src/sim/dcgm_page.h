// Simulated dcgm-exporter /metrics pages: byte-for-byte the format of dcgm-exporter (default counters), with
// realistic, internally consistent, deterministic values, for the demo, tests and parser benchmarks.
//
// Format (reference/nvidia-gpu-facts.md 1.1-1.3): for each metric family of default-counters.csv, in CSV order,
// "# HELP <name> <help>" and "# TYPE <name> <type>", then one line per entity. Labels, in this order:
// gpu, UUID, pci_bus_id, device, modelName, [GPU_I_PROFILE, GPU_I_ID], Hostname (or hostname),
// DCGM_FI_DRIVER_VERSION, then container, namespace, pod only when a pod is assigned. INT64 fields are printed
// as %d, DOUBLE fields as %f ("0.250000"). A MIG-enabled GPU appears only through its GPU instances (the
// exporter's default "-d f"): instance-level fields carry the instance's own value, device-level fields
// (power, temperature, clocks, energy, PCIe, NVLink, ...) repeat the parent GPU's value on every instance,
// and GPU-only fields (GPU_UTIL, MEM_COPY_UTIL, ENC_UTIL, DEC_UTIL) are absent.
//
// Values: a pure function of (spec, options.seed, options.time_s); no clock, no globals. Samples change only
// every 30 s (the exporter's default collect interval); the energy counter is the exact integral of the
// modelled power, so it never decreases as time_s grows. Every calibration constant in dcgm_page.cc names its
// source or says GUESS.
// Thread-safety: free functions on values; safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpuwise::sim {

// What a GPU (or MIG instance) is doing; drives GR/SM/tensor/DRAM activity, power, clocks and memory use.
enum class PatternKind {
  kAuto,       // kIdle when no pod is assigned, else kInference
  kIdle,       // no work: activity 0-2% (an unassigned GPU, or a notebook/dev pod that sits idle)
  kInference,  // online serving: 5-40% activity following a diurnal sine, plus noise
  kTraining,   // 85-99% activity, high power, NVLink traffic
};

// FB_RESERVED / total: 487 MiB of the 81559 MiB an H100 80GB HBM3 reports (nvidia-gpu-facts.md 1.2 capture).
// Applied to every model and MIG instance (GUESS beyond the H100 anchor); processes share what is left.
inline constexpr double kFramebufferReservedFraction = 487.0 / 81559.0;

// Activity the simulator computed for a GPU or MIG instance over the current collect interval. When set, it
// replaces the built-in pattern (the values are printed as given, no noise is added).
struct UnitSample {
  double gr = 0, sm = 0, tensor = 0, dram = 0;  // ratios of the unit (instance-relative on MIG)
  std::int64_t fb_used_mib = 0;                 // process memory on the unit; clamped to its size
  double pcie_rx_bps = 0, pcie_tx_bps = 0;      // the unit's share of PCIe traffic
  double nvlink_share = 0;                      // of the device's NVLink bandwidth
  double activity_integral_s = 0;               // integral of gr over simulated time (for the energy counter)
  std::int64_t xid = 0;                         // last XID error (0 = none)
};

struct MigInstanceSpec {
  std::string profile;      // "1g.10gb" (GPU_I_PROFILE)
  int gi_id = 0;            // NVML GPU-instance id (GPU_I_ID), e.g. 7..13 for 7x1g.10gb
  int compute_slices = 1;   // of 7 on A100/H100; weights the instance's share of device power
  double memory_gib = 0;    // instance memory; FB_USED + FB_FREE + FB_RESERVED = round(memory_gib * 1024) MiB
  std::string pod, namespace_name, container;  // empty pod = unassigned (no k8s labels)
  PatternKind workload = PatternKind::kAuto;
  std::optional<UnitSample> sample;
};

struct GpuSpec {
  int index = 0;            // "gpu" label and device="nvidia<index>"
  std::string uuid;         // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::string pci_bus_id;   // "00000000:1A:00.0"; empty = derived from index (HGX-style bus numbers)
  std::string model_name;   // "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"; selects TDP, clocks
  double memory_gib = 0;    // total framebuffer; FB_USED + FB_FREE + FB_RESERVED = round(memory_gib * 1024) MiB
  std::vector<MigInstanceSpec> mig;  // empty = whole GPU (MIG disabled)
  std::string pod, namespace_name, container;  // whole-GPU assignment; ignored when mig is non-empty
  PatternKind workload = PatternKind::kAuto;
  std::optional<UnitSample> sample;
};

struct NodeSpec {
  std::string hostname;        // value of the Hostname label (Kubernetes node name)
  std::string driver_version;  // value of DCGM_FI_DRIVER_VERSION, e.g. "535.129.03"; empty = no such label
  std::vector<GpuSpec> gpus;
};

struct PageOptions {
  // DCGM_FI_PROF_SM_ACTIVE is commented out in the real default-counters.csv; on = one more family.
  bool include_sm_active = false;
  // dcgm-exporter >= 4.6.0-4.8.3 writes "hostname"; older versions "Hostname" (facts 1.2).
  bool lowercase_hostname_label = false;
  std::uint64_t seed = 1;  // noise stream; the same seed and time_s give the same bytes
  double time_s = 0;       // seconds since the simulation epoch (local midnight of day 0); drives the pattern
};

// A deterministic fleet: num_gpus GPUs over nodes of 8 (the last node may be smaller), each node all H100 80GB
// HBM3 or all A100-SXM4-80GB (about 60/40), one random-looking UUID per GPU, and pods with realistic names on
// about 70% of the GPUs (inference Deployments; on ~8% of nodes one training pod holding all whole GPUs; idle
// notebooks). The first
// mig_gpus_per_node GPUs of every node are partitioned 7x1g.10gb (GI ids 7..13), each instance assigned to a
// pod with the same ~70% probability. Same arguments, same fleet.
std::vector<NodeSpec> MakeFleet(int num_gpus, int mig_gpus_per_node, std::uint64_t seed);

// One node's dcgm-exporter /metrics page (text format 0.0.4), ending with a newline.
std::string RenderPage(const NodeSpec& node, const PageOptions& options);

// One page for many nodes, as a Prometheus federation endpoint would serve it: each family's HELP/TYPE once,
// then the lines of every node in order (concatenating per-node pages instead would repeat HELP/TYPE lines,
// which strict parsers such as Go's expfmt reject).
std::string RenderFleetPage(const std::vector<NodeSpec>& nodes, const PageOptions& options);

}  // namespace gpuwise::sim
