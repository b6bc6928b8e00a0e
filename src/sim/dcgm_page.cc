#include "sim/dcgm_page.h"

#include "sim/random.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <numbers>
#include <string_view>

namespace gpuwise::sim {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Calibration. Sources: "facts" = /work/shared/reference/nvidia-gpu-facts.md; "datasheet" = NVIDIA product
// datasheets (H100 SXM5, A100 SXM4 80GB); GUESS = chosen to look plausible, not measured.
// ---------------------------------------------------------------------------------------------------------

// dcgm-exporter default --collect-interval is 30000 ms (facts 1.2): a page changes at most every 30 s.
constexpr double kCollectIntervalS = 30.0;
constexpr double kDayS = 86400.0;
// Inference traffic peaks mid-afternoon local time. GUESS (typical diurnal serving load).
constexpr double kPeakHourOfDay = 14.0;
// Power = idle + (TDP - idle) * kPowerSlope * load, load = GR-engine activity (instance-weighted on MIG).
// 0.95: a ~93%-busy training GPU draws ~90% of TDP. GUESS.
constexpr double kPowerSlope = 0.95;
// Instantaneous power reading scatter around the modelled power, watts (uniform +-). GUESS.
constexpr double kPowerJitterW = 4.0;
// Uptime before the simulation epoch, for the "since boot" energy counter: 2..20 days. GUESS.
constexpr double kMinUptimeS = 2 * kDayS;
constexpr double kMaxUptimeS = 20 * kDayS;
// Clocks move in 15 MHz bins on recent NVIDIA GPUs (nvidia-smi -q "Supported Clocks"). GUESS (from memory).
constexpr int kClockStepMhz = 15;
// A100/H100 have 7 compute slices (facts 2.1).
constexpr int kMigComputeSlices = 7;

struct ModelTraits {
  std::string_view match;  // substring of modelName
  double tdp_w;            // datasheet max TDP
  double idle_w;           // GUESS: nvidia-smi on idle SXM parts shows ~60-90 W
  int max_sm_clock_mhz;    // datasheet max boost
  int idle_sm_clock_mhz;   // GUESS (idle P0 with persistence mode)
  int mem_clock_mhz;       // nvidia-smi max memory clock (GUESS, from memory); constant in P0
  double nvlink_max_mbps;  // datasheet NVLink bandwidth, MB/s (H100 900 GB/s, A100 600 GB/s)
  std::array<std::string_view, 8> bus_ids;  // DGX-style PCI bus numbers (GUESS, from memory of nvidia-smi)
};

constexpr ModelTraits kModels[] = {
    {"H100", 700.0, 72.0, 1980, 345, 2619, 900000.0, {"18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"}},
    {"A100", 400.0, 58.0, 1410, 210, 1593, 600000.0, {"07", "0F", "47", "4E", "87", "90", "B7", "BD"}},
    // Anything else: a generic 300 W datacenter GPU. GUESS.
    {"", 300.0, 35.0, 1700, 300, 1500, 0.0, {"17", "31", "4B", "65", "98", "B1", "CA", "E3"}},
};

const ModelTraits& TraitsFor(std::string_view model_name) {
  for (const ModelTraits& m : kModels) {
    if (!m.match.empty() && model_name.find(m.match) != std::string_view::npos) return m;
  }
  return kModels[std::size(kModels) - 1];
}

// Per-workload activity pattern: a = base + amp*sin(day phase) + amp2*sin(2 pi t/period2 + phase2), sampled
// with uniform noise of +-noise and clamped to [lo, hi]. The smooth part stays > 0 so power integrates exactly.
struct Pattern {
  double base = 0, amp = 0, day_phase = 0, amp2 = 0, period2_s = 3600, phase2 = 0, noise = 0, lo = 0, hi = 0;
  double sm_ratio = 0, tensor_ratio = 0, dram_ratio = 0;      // of GR activity
  double pcie_rx_bps = 0, pcie_tx_bps = 0, nvlink_share = 0;  // at GR activity 1.0
  bool active = false;
};

PatternKind Resolve(PatternKind kind, const std::string& pod) {
  if (kind != PatternKind::kAuto) return kind;
  return pod.empty() ? PatternKind::kIdle : PatternKind::kInference;
}

Pattern MakePattern(PatternKind kind, bool has_pod, std::uint64_t key) {
  Pattern p;
  constexpr double kTwoPi = 2 * std::numbers::pi;
  switch (kind) {
    case PatternKind::kAuto:
    case PatternKind::kIdle:
      if (!has_pod) return p;  // an unassigned GPU: no context, every activity exactly 0
      // A notebook / dev pod holding a GPU: 0-2% (brief; CAST AI-style fleet surveys). GUESS.
      p.base = Uniform(Hash3(key, 1, 0), 0.003, 0.008);
      p.amp2 = 0.003;
      p.period2_s = Uniform(Hash3(key, 2, 0), 1200, 5400);
      p.noise = 0.004;
      p.lo = 0.0;
      p.hi = 0.02;
      p.sm_ratio = 0.7;
      p.tensor_ratio = 0.05;
      p.dram_ratio = 0.3;
      p.pcie_rx_bps = 2e7;
      p.pcie_tx_bps = 5e6;
      break;
    case PatternKind::kInference: {
      // Online serving, 5-40% GR activity: a diurnal sine around a per-pod base. GUESS, shaped to the brief.
      p.base = Uniform(Hash3(key, 1, 0), 0.13, 0.24);
      p.amp = std::min(p.base - 0.06, 0.14) * Uniform(Hash3(key, 3, 0), 0.7, 1.0);
      p.amp2 = 0.02;
      p.period2_s = Uniform(Hash3(key, 2, 0), 1800, 7200);
      p.noise = 0.03;
      p.lo = 0.05;
      p.hi = 0.40;
      p.sm_ratio = 0.80;     // SM active < GR active: small decode kernels leave SMs idle. GUESS.
      p.tensor_ratio = 0.35; // GUESS
      p.dram_ratio = 0.55;   // decode is memory-bound. GUESS.
      p.pcie_rx_bps = 4e8;   // request tensors in, tokens out; GUESS.
      p.pcie_tx_bps = 1e8;
      break;
    }
    case PatternKind::kTraining:
      // Data-parallel training, 85-99%: dips at checkpoint/eval cycles. GUESS, shaped to the brief.
      p.base = Uniform(Hash3(key, 1, 0), 0.91, 0.95);
      p.amp2 = 0.025;
      p.period2_s = Uniform(Hash3(key, 2, 0), 900, 3600);
      p.noise = 0.02;
      p.lo = 0.85;
      p.hi = 0.99;
      p.sm_ratio = 0.95;
      p.tensor_ratio = 0.55;
      p.dram_ratio = 0.40;
      p.pcie_rx_bps = 1.5e9;  // data loading. GUESS.
      p.pcie_tx_bps = 2e8;
      p.nvlink_share = 0.25;  // all-reduce keeps NVLink ~25% busy on average. GUESS.
      break;
  }
  // Peak at kPeakHourOfDay, +-1 h per workload: sin(2 pi t/day + phase) = 1 at t = peak.
  const double peak_s = (kPeakHourOfDay + Uniform(Hash3(key, 4, 0), -1, 1)) * 3600.0;
  p.day_phase = std::numbers::pi / 2 - kTwoPi * peak_s / kDayS;
  p.phase2 = Uniform(Hash3(key, 5, 0), 0, kTwoPi);
  p.active = true;
  return p;
}

double Smooth(const Pattern& p, double t) {
  if (!p.active) return 0;
  constexpr double kTwoPi = 2 * std::numbers::pi;
  return p.base + p.amp * std::sin(kTwoPi * t / kDayS + p.day_phase) +
         p.amp2 * std::sin(kTwoPi * t / p.period2_s + p.phase2);
}

// Exact integral of Smooth over [0, t] (activity-seconds).
double SmoothIntegral(const Pattern& p, double t) {
  if (!p.active) return 0;
  constexpr double kTwoPi = 2 * std::numbers::pi;
  const double w1 = kTwoPi / kDayS, w2 = kTwoPi / p.period2_s;
  return p.base * t - p.amp / w1 * (std::cos(w1 * t + p.day_phase) - std::cos(p.day_phase)) -
         p.amp2 / w2 * (std::cos(w2 * t + p.phase2) - std::cos(p.phase2));
}

// One GPU or MIG instance: the unit that owns activity and framebuffer.
struct UnitState {
  double gr = 0, sm = 0, tensor = 0, dram = 0;  // sampled ratios 0..1
  double weight = 1;                            // share of the device: slices / 7, or 1 for a whole GPU
  double load_integral = 0;                     // weight * integral of Smooth() over [0, t] (for energy)
  double load = 0;                              // weight * sampled GR activity (for power, clocks, temps)
  double pcie_rx = 0, pcie_tx = 0, nvlink = 0;
  std::int64_t fb_used = 0, fb_free = 0, fb_reserved = 0;
  std::int64_t xid = 0;
};

struct DeviceState {
  std::int64_t sm_clock = 0, mem_clock = 0, mem_temp = 0, gpu_temp = 0;
  double power_w = 0;
  std::int64_t energy_mj = 0;
  std::int64_t gpu_util = 0, mem_copy_util = 0;
  std::int64_t pcie_tx = 0, pcie_rx = 0, nvlink = 0;
};

std::int64_t MiB(double gib) { return std::llround(gib * 1024.0); }

// Framebuffer in MiB: reserved by the driver, used by the workload (clamped to what is left), free = the rest.
void SetFramebuffer(double memory_gib, double used_mib_or_fraction, bool is_fraction, UnitState* u) {
  const std::int64_t total = MiB(memory_gib);
  u->fb_reserved = std::llround(static_cast<double>(total) * kFramebufferReservedFraction);
  const std::int64_t usable = total - u->fb_reserved;
  const double used = is_fraction ? static_cast<double>(usable) * used_mib_or_fraction : used_mib_or_fraction;
  u->fb_used = std::clamp<std::int64_t>(std::llround(used), 0, usable);
  u->fb_free = usable - u->fb_used;
}

// The simulator's own values for a unit, printed as given.
UnitState FromSample(const UnitSample& s, double memory_gib, double weight) {
  UnitState u;
  u.weight = weight;
  u.gr = std::clamp(s.gr, 0.0, 1.0);
  u.sm = std::clamp(s.sm, 0.0, 1.0);
  u.tensor = std::clamp(s.tensor, 0.0, 1.0);
  u.dram = std::clamp(s.dram, 0.0, 1.0);
  u.pcie_rx = s.pcie_rx_bps;
  u.pcie_tx = s.pcie_tx_bps;
  u.nvlink = s.nvlink_share;
  u.load = weight * u.gr;
  u.load_integral = weight * s.activity_integral_s;
  u.xid = s.xid;
  SetFramebuffer(memory_gib, static_cast<double>(s.fb_used_mib), false, &u);
  return u;
}

UnitState SimulateUnit(PatternKind kind, bool has_pod, std::string_view identity, double memory_gib,
                       double weight, const PageOptions& options, double t) {
  const std::uint64_t key = HashString(identity);  // pattern depends on the unit, not on the page seed
  const Pattern p = MakePattern(kind, has_pod, key);
  const auto bucket = static_cast<std::uint64_t>(t / kCollectIntervalS);
  UnitState u;
  u.weight = weight;
  if (p.active) {
    const double noise = p.noise * (2 * Unit(Hash3(key ^ options.seed, bucket, 11)) - 1);
    u.gr = std::clamp(Smooth(p, t) + noise, p.lo, p.hi);
    auto jitter = [&](int stream) { return 1 + 0.04 * (2 * Unit(Hash3(key ^ options.seed, bucket, stream)) - 1); };
    u.sm = std::min(u.gr, u.gr * p.sm_ratio * jitter(12));
    u.tensor = std::min(u.sm, u.gr * p.tensor_ratio * jitter(13));
    u.dram = std::min(1.0, u.gr * p.dram_ratio * jitter(14));
    u.pcie_rx = p.pcie_rx_bps * u.gr * jitter(15);
    u.pcie_tx = p.pcie_tx_bps * u.gr * jitter(16);
    u.nvlink = p.nvlink_share * u.gr * jitter(17);
  }
  u.load = weight * u.gr;
  u.load_integral = weight * SmoothIntegral(p, t);

  double used_fraction = 0;
  switch (kind) {
    case PatternKind::kAuto:
    case PatternKind::kIdle:
      // A notebook holds 0.3-15% (a model loaded once); an unassigned GPU holds nothing. GUESS.
      used_fraction = has_pod ? Uniform(Hash3(key, 21, 0), 0.003, 0.15) : 0.0;
      break;
    case PatternKind::kInference:
      // vLLM preallocates gpu_memory_utilization (default 0.9) of the GPU; other servers hold less (facts 4.1).
      used_fraction = Uniform(Hash3(key, 21, 0), 0.35, 0.92);
      break;
    case PatternKind::kTraining:
      used_fraction = Uniform(Hash3(key, 21, 0), 0.70, 0.96) + 0.005 * (2 * Unit(Hash3(key, bucket, 22)) - 1);
      break;
  }
  SetFramebuffer(memory_gib, used_fraction, true, &u);
  return u;
}

DeviceState SimulateDevice(const GpuSpec& gpu, const std::vector<UnitState>& units, const PageOptions& options,
                           double t) {
  const ModelTraits& m = TraitsFor(gpu.model_name);
  const std::uint64_t key = HashString(gpu.uuid);
  const auto bucket = static_cast<std::uint64_t>(t / kCollectIntervalS);
  double load = 0, load_integral = 0, rx = 0, tx = 0, nvlink = 0, dram = 0;
  for (const UnitState& u : units) {
    load += u.load;
    load_integral += u.load_integral;
    rx += u.weight * u.pcie_rx;
    tx += u.weight * u.pcie_tx;
    nvlink += u.weight * u.nvlink;
    dram += u.weight * u.dram;
  }
  load = std::min(load, 1.0);
  DeviceState d;
  const double span_w = (m.tdp_w - m.idle_w) * kPowerSlope;
  const double idle_w = m.idle_w * Uniform(Hash3(key, 31, 0), 0.92, 1.08);  // part-to-part spread, GUESS
  d.power_w = std::max(0.9 * idle_w, idle_w + span_w * load +
                                         kPowerJitterW * (2 * Unit(Hash3(key ^ options.seed, bucket, 32)) - 1));
  d.power_w = std::round(d.power_w * 1000) / 1000;  // DCGM reports milliwatt resolution ("167.362000", facts 1.1)
  // Energy since boot: uptime before the epoch at a light average load, plus the exact integral since.
  const double uptime_s = Uniform(Hash3(key, 33, 0), kMinUptimeS, kMaxUptimeS);
  const double before_j = uptime_s * (idle_w + 0.2 * span_w);
  const double since_j = idle_w * t + span_w * load_integral;
  d.energy_mj = static_cast<std::int64_t>((before_j + since_j) * 1000.0);
  // Temperatures: ~28-33 C idle to ~75-80 C at TDP (air-cooled SXM). GUESS.
  const double heat = (d.power_w - idle_w) / (m.tdp_w - idle_w);
  const double offset_c = Uniform(Hash3(key, 34, 0), 0, 5);
  d.gpu_temp = std::llround(28 + offset_c + 47 * std::max(0.0, heat));
  d.mem_temp = d.gpu_temp + std::llround(4 + 6 * std::max(0.0, heat));  // HBM runs hotter. GUESS.
  // SM clock: idle clock with no work, max boost under load, up to 10% power-capping droop near TDP. GUESS.
  if (load < 0.01) {
    d.sm_clock = m.idle_sm_clock_mhz;
  } else {
    const double droop = 0.10 * std::clamp((load - 0.8) / 0.2, 0.0, 1.0);
    d.sm_clock = static_cast<std::int64_t>(m.max_sm_clock_mhz * (1 - droop)) / kClockStepMhz * kClockStepMhz;
  }
  d.mem_clock = m.mem_clock_mhz;
  // GPU_UTIL: % of time a kernel ran; runs a bit above GR activity for many small kernels. GUESS.
  d.gpu_util = std::llround(100 * std::min(1.0, load * 1.15));
  d.mem_copy_util = std::llround(100 * std::min(1.0, dram));
  // PCIe: ~20-60 kB/s of driver/telemetry chatter even when idle. GUESS.
  const double chatter = Uniform(Hash3(key ^ options.seed, bucket, 35), 2e4, 6e4);
  d.pcie_rx = std::llround(rx + chatter);
  d.pcie_tx = std::llround(tx + chatter * 0.7);
  d.nvlink = std::llround(nvlink * m.nvlink_max_mbps);
  return d;
}

// ---------------------------------------------------------------------------------------------------------
// Metric families: default-counters.csv order, help and type verbatim (data/nvidia/dcgm-exporter), plus
// DCGM_FI_PROF_SM_ACTIVE from the commented-out row. Level from DCGM entity levels (facts 1.1, 1.3).
// ---------------------------------------------------------------------------------------------------------
enum class Level {
  kDevice,    // GPU-level field: repeated with the parent's value on each MIG instance
  kGpuOnly,   // not reported for MIG instances (GPU_UTIL, MEM_COPY_UTIL, ENC_UTIL, DEC_UTIL)
  kInstance,  // GPU_I / GPU_CI field: the instance's own value
};
enum class Field {
  kSmClock, kMemClock, kMemoryTemp, kGpuTemp, kPower, kEnergy, kPcieReplay, kGpuUtil, kMemCopyUtil, kEncUtil,
  kDecUtil, kXid, kFbFree, kFbUsed, kFbReserved, kNvlink, kVgpuLicense, kUncorrRows, kCorrRows, kRemapFailure,
  kGrActive, kSmActive, kTensorActive, kDramActive, kPcieTx, kPcieRx,
};
struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  Level level;
  bool is_double;
  Field field;
};

constexpr Family kFamilies[] = {
    {"DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", Level::kDevice, false, Field::kSmClock},
    {"DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", Level::kDevice, false, Field::kMemClock},
    {"DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", Level::kDevice, false, Field::kMemoryTemp},
    {"DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", Level::kDevice, false, Field::kGpuTemp},
    {"DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", Level::kDevice, true, Field::kPower},
    {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).",
     Level::kDevice, false, Field::kEnergy},
    {"DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", Level::kDevice, false,
     Field::kPcieReplay},
    {"DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", Level::kGpuOnly, false, Field::kGpuUtil},
    {"DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", Level::kGpuOnly, false,
     Field::kMemCopyUtil},
    {"DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", Level::kGpuOnly, false, Field::kEncUtil},
    {"DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", Level::kGpuOnly, false, Field::kDecUtil},
    {"DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", Level::kInstance, false,
     Field::kXid},
    {"DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", Level::kInstance, false, Field::kFbFree},
    {"DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", Level::kInstance, false, Field::kFbUsed},
    {"DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", Level::kInstance, false,
     Field::kFbReserved},
    {"DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "Total number of NVLink bandwidth counters for all lanes.",
     Level::kDevice, false, Field::kNvlink},
    {"DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status", Level::kDevice, false,
     Field::kVgpuLicense},
    {"DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors",
     Level::kDevice, false, Field::kUncorrRows},
    {"DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors",
     Level::kDevice, false, Field::kCorrRows},
    {"DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed", Level::kDevice, false,
     Field::kRemapFailure},
    {"DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", Level::kInstance,
     true, Field::kGrActive},
    {"DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned.",
     Level::kInstance, true, Field::kSmActive},
    {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active.",
     Level::kInstance, true, Field::kTensorActive},
    {"DCGM_FI_PROF_DRAM_ACTIVE", "gauge",
     "Ratio of cycles the device memory interface is active sending or receiving data.", Level::kInstance, true,
     Field::kDramActive},
    {"DCGM_FI_PROF_PCIE_TX_BYTES", "gauge",
     "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in "
     "bytes per second.",
     Level::kDevice, false, Field::kPcieTx},
    {"DCGM_FI_PROF_PCIE_RX_BYTES", "gauge",
     "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in "
     "bytes per second.",
     Level::kDevice, false, Field::kPcieRx},
};

// One line-producing entity: a whole GPU or one MIG instance.
struct Entity {
  std::string labels;  // everything between '{' and '}'
  bool is_mig = false;
  UnitState unit;
  const DeviceState* device = nullptr;
};

void AppendEscaped(std::string_view value, std::string* out) {
  for (char c : value) {
    if (c == '\\') out->append("\\\\");
    else if (c == '"') out->append("\\\"");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

void AppendLabel(std::string_view name, std::string_view value, std::string* out) {
  if (!out->empty()) out->push_back(',');
  out->append(name);
  out->append("=\"");
  AppendEscaped(value, out);
  out->push_back('"');
}

std::string BusId(const GpuSpec& gpu) {
  if (!gpu.pci_bus_id.empty()) return gpu.pci_bus_id;
  const ModelTraits& m = TraitsFor(gpu.model_name);
  const int i = gpu.index >= 0 ? gpu.index : 0;
  std::string bus(m.bus_ids[static_cast<std::size_t>(i) % m.bus_ids.size()]);
  if (i >= 8) {  // more than 8 GPUs on a node: keep bus ids distinct
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02X", (0x10 + i * 7) & 0xFF);
    bus = buf;
  }
  return "00000000:" + bus + ":00.0";
}

std::string EntityLabels(const NodeSpec& node, const GpuSpec& gpu, const std::string& bus_id,
                         const MigInstanceSpec* mig, const std::string& pod, const std::string& ns,
                         const std::string& container, const PageOptions& options) {
  std::string s;
  s.reserve(320);
  AppendLabel("gpu", std::to_string(gpu.index), &s);
  AppendLabel("UUID", gpu.uuid, &s);
  AppendLabel("pci_bus_id", bus_id, &s);
  AppendLabel("device", "nvidia" + std::to_string(gpu.index), &s);
  AppendLabel("modelName", gpu.model_name, &s);
  if (mig != nullptr) {
    AppendLabel("GPU_I_PROFILE", mig->profile, &s);
    AppendLabel("GPU_I_ID", std::to_string(mig->gi_id), &s);
  }
  AppendLabel(options.lowercase_hostname_label ? "hostname" : "Hostname", node.hostname, &s);
  // A counters CSV without the DCGM_FI_DRIVER_VERSION "label" row exports no driver label (the PR 736 capture).
  if (!node.driver_version.empty()) AppendLabel("DCGM_FI_DRIVER_VERSION", node.driver_version, &s);
  if (!pod.empty()) {
    AppendLabel("container", container, &s);
    AppendLabel("namespace", ns, &s);
    AppendLabel("pod", pod, &s);
  }
  return s;
}

// Builds the entities of one node; devices must outlive the entities (stable addresses: reserved up front).
void BuildEntities(const NodeSpec& node, const PageOptions& options, std::vector<DeviceState>* devices,
                   std::vector<Entity>* entities) {
  const double t = std::floor(std::max(0.0, options.time_s) / kCollectIntervalS) * kCollectIntervalS;
  for (const GpuSpec& gpu : node.gpus) {
    const std::string bus_id = BusId(gpu);
    std::vector<UnitState> units;
    std::vector<Entity> gpu_entities;
    if (gpu.mig.empty()) {
      const PatternKind kind = Resolve(gpu.workload, gpu.pod);
      units.push_back(gpu.sample ? FromSample(*gpu.sample, gpu.memory_gib, 1.0)
                                 : SimulateUnit(kind, !gpu.pod.empty(), gpu.uuid, gpu.memory_gib, 1.0, options, t));
      Entity e;
      e.labels = EntityLabels(node, gpu, bus_id, nullptr, gpu.pod, gpu.namespace_name, gpu.container, options);
      gpu_entities.push_back(std::move(e));
    } else {
      for (const MigInstanceSpec& mig : gpu.mig) {
        const PatternKind kind = Resolve(mig.workload, mig.pod);
        const double weight = static_cast<double>(mig.compute_slices) / kMigComputeSlices;
        units.push_back(mig.sample ? FromSample(*mig.sample, mig.memory_gib, weight)
                                   : SimulateUnit(kind, !mig.pod.empty(), gpu.uuid + "/" + std::to_string(mig.gi_id),
                                                  mig.memory_gib, weight, options, t));
        Entity e;
        e.is_mig = true;
        e.labels = EntityLabels(node, gpu, bus_id, &mig, mig.pod, mig.namespace_name, mig.container, options);
        gpu_entities.push_back(std::move(e));
      }
    }
    devices->push_back(SimulateDevice(gpu, units, options, t));
    for (std::size_t i = 0; i < gpu_entities.size(); ++i) {
      gpu_entities[i].unit = units[i];
      gpu_entities[i].device = &devices->back();
      entities->push_back(std::move(gpu_entities[i]));
    }
  }
}

// Both format in place at the end of *out (no temporary buffer; sizes are bounded: 20 digits + sign, and
// every double here is < 1e15, so "%f" fits in 40 bytes).
void AppendInt(std::int64_t v, std::string* out) {
  const std::size_t old = out->size();
  out->resize(old + 24);
  char* begin = out->data() + old;
  const auto result = std::to_chars(begin, begin + 24, v);
  out->resize(old + static_cast<std::size_t>(result.ptr - begin));
}

void AppendFixed6(double v, std::string* out) {  // Go's %f
  if (!(v > 0)) v = 0;  // no "-0.000000"; every DOUBLE field here is >= 0
  const std::size_t old = out->size();
  out->resize(old + 48);
  char* begin = out->data() + old;
  const auto result = std::to_chars(begin, begin + 48, v, std::chars_format::fixed, 6);
  out->resize(old + static_cast<std::size_t>(result.ptr - begin));
}

void AppendValue(const Family& f, const Entity& e, std::string* out) {
  const DeviceState& d = *e.device;
  const UnitState& u = e.unit;
  switch (f.field) {
    case Field::kSmClock: return AppendInt(d.sm_clock, out);
    case Field::kMemClock: return AppendInt(d.mem_clock, out);
    case Field::kMemoryTemp: return AppendInt(d.mem_temp, out);
    case Field::kGpuTemp: return AppendInt(d.gpu_temp, out);
    case Field::kPower: return AppendFixed6(d.power_w, out);
    case Field::kEnergy: return AppendInt(d.energy_mj, out);
    case Field::kGpuUtil: return AppendInt(d.gpu_util, out);
    case Field::kMemCopyUtil: return AppendInt(d.mem_copy_util, out);
    // Healthy fleet: no encoder/decoder use, no PCIe replays, no XID, no remapped rows, no vGPU (GUESS).
    case Field::kXid: return AppendInt(u.xid, out);
    case Field::kPcieReplay:
    case Field::kEncUtil:
    case Field::kDecUtil:
    case Field::kVgpuLicense:
    case Field::kUncorrRows:
    case Field::kCorrRows:
    case Field::kRemapFailure: return AppendInt(0, out);
    case Field::kFbFree: return AppendInt(u.fb_free, out);
    case Field::kFbUsed: return AppendInt(u.fb_used, out);
    case Field::kFbReserved: return AppendInt(u.fb_reserved, out);
    case Field::kNvlink: return AppendInt(d.nvlink, out);
    case Field::kGrActive: return AppendFixed6(u.gr, out);
    case Field::kSmActive: return AppendFixed6(u.sm, out);
    case Field::kTensorActive: return AppendFixed6(u.tensor, out);
    case Field::kDramActive: return AppendFixed6(u.dram, out);
    case Field::kPcieTx: return AppendInt(d.pcie_tx, out);
    case Field::kPcieRx: return AppendInt(d.pcie_rx, out);
  }
}

std::string Render(const std::vector<const NodeSpec*>& nodes, const PageOptions& options) {
  std::vector<DeviceState> devices;
  std::vector<Entity> entities;
  std::size_t gpus = 0, units = 0;
  for (const NodeSpec* n : nodes) {
    gpus += n->gpus.size();
    for (const GpuSpec& g : n->gpus) units += g.mig.empty() ? 1 : g.mig.size();
  }
  devices.reserve(gpus);  // Entity::device points into it
  entities.reserve(units);
  for (const NodeSpec* n : nodes) BuildEntities(*n, options, &devices, &entities);

  std::size_t label_bytes = 0;
  for (const Entity& e : entities) label_bytes += e.labels.size();
  std::string out;
  out.reserve((label_bytes + 64 * entities.size()) * std::size(kFamilies) + 8192);
  for (const Family& f : kFamilies) {
    if (f.field == Field::kSmActive && !options.include_sm_active) continue;
    out.append("# HELP ").append(f.name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
    for (const Entity& e : entities) {
      if (e.is_mig && f.level == Level::kGpuOnly) continue;
      out.append(f.name);
      out.push_back('{');
      out.append(e.labels);
      out.append("} ");
      AppendValue(f, e, &out);
      out.push_back('\n');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Fleet
// ---------------------------------------------------------------------------------------------------------

// Kubernetes random suffix drawn from the fleet's generator (one draw per character).
std::string KubeSuffix(Rng& rng, int n) {
  constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(kAlphabet[rng.Next() % kAlphabet.size()]);
  return s;
}

struct ServingApp {
  std::string_view name, ns, container;
};
// Whole-GPU inference Deployments. Names are made up; container names follow common images (vLLM, Triton,
// KServe, TGI).
constexpr ServingApp kGpuApps[] = {
    {"llama-3-8b-instruct-vllm", "ml-serving", "vllm"},
    {"mistral-7b-chat", "ml-serving", "vllm"},
    {"qwen2-72b-vllm-tp1", "llm-platform", "vllm"},
    {"triton-recsys-ranker", "recsys", "triton-server"},
    {"whisper-large-v3-asr", "speech", "triton-server"},
    {"sdxl-image-gen", "creative", "inference"},
    {"codellama-34b-tgi", "dev-tools", "text-generation-inference"},
    {"fraud-scoring-predictor-00012-deployment", "risk", "kserve-container"},
};
// Small models that fit a 1g.10gb instance.
constexpr ServingApp kMigApps[] = {
    {"text-embedding-predictor-00008-deployment", "model-playground-stg", "kserve-container"},
    {"bge-reranker-base", "search", "triton-server"},
    {"whisper-small-asr", "speech", "triton-server"},
    {"intent-classifier", "support-bots", "inference"},
};
constexpr std::string_view kTrainingJobs[] = {"llm-pretrain-7b", "bert-large-finetune", "vit-h14-train",
                                              "recsys-dlrm-train", "llama-3-8b-sft"};
constexpr std::string_view kUsers[] = {"alice", "bob", "chen", "dmitri", "esra", "farah", "gopal", "hana"};

// Stable per-app ReplicaSet hash (pod-template-hash, 10 characters) so replicas share a prefix.
std::string DeploymentPod(const ServingApp& app, std::uint64_t seed, Rng& rng) {
  Rng rs(Hash3(seed, HashString(app.name), 41));
  return std::string(app.name) + "-" + KubeSuffix(rs, 10) + "-" + KubeSuffix(rng, 5);
}

std::string MakeUuid(std::uint64_t seed, std::uint64_t index) {
  const std::uint64_t a = Hash3(seed, index, 51), b = Hash3(seed, index, 52);
  char buf[48];
  std::snprintf(buf, sizeof buf, "GPU-%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

}  // namespace

std::string RenderPage(const NodeSpec& node, const PageOptions& options) { return Render({&node}, options); }

std::string RenderFleetPage(const std::vector<NodeSpec>& nodes, const PageOptions& options) {
  std::vector<const NodeSpec*> ptrs;
  ptrs.reserve(nodes.size());
  for (const NodeSpec& n : nodes) ptrs.push_back(&n);
  return Render(ptrs, options);
}

std::vector<NodeSpec> MakeFleet(int num_gpus, int mig_gpus_per_node, std::uint64_t seed) {
  constexpr int kGpusPerNode = 8;           // HGX/DGX boards
  constexpr double kH100NodeShare = 0.6;    // GUESS
  constexpr double kTrainingNodeShare = 0.08;  // nodes whose whole GPUs one training pod holds. GUESS.
  // Whole-GPU assignment rate outside training nodes, so that ~70% of all GPUs have a pod (MIG instances use
  // kMigAssignRate): 0.08 + 0.92 * 0.674 = 0.70.
  constexpr double kAssignRate = 0.674;
  constexpr double kNotebookShare = 0.15;   // of assigned non-training GPUs: idle notebooks. GUESS.
  constexpr double kMigAssignRate = 0.70;
  // MIG 1g.10gb instance memory (facts 2.2, nvidia-smi -lgip): H100 80GB 9.75 GiB, A100 80GB 9.50 GiB.
  constexpr double kH100Mig1gGib = 9.75;
  constexpr double kA100Mig1gGib = 9.50;
  // nvidia-smi totals: H100 80GB HBM3 81559 MiB, A100-SXM4-80GB 81920 MiB. GUESS (commonly published output).
  constexpr double kH100Gib = 81559.0 / 1024.0;
  constexpr double kA100Gib = 81920.0 / 1024.0;
  // Driver from the captured page in dcgm-exporter issue #512 (facts 1.2).
  constexpr std::string_view kDriver = "535.129.03";

  std::vector<NodeSpec> fleet;
  if (num_gpus <= 0) return fleet;
  Rng rng(Mix64(seed));
  const int num_nodes = (num_gpus + kGpusPerNode - 1) / kGpusPerNode;
  int training_jobs = 0;
  for (int n = 0; n < num_nodes; ++n) {
    NodeSpec node;
    const bool h100 = rng.Chance(kH100NodeShare);
    // EKS-style node names, unique per node index.
    node.hostname = "ip-10-" + std::to_string(16 + ((n >> 8) & 0xFF)) + "-" + std::to_string(n & 0xFF) + "-" +
                    std::to_string(rng.Int(2, 254)) + ".ec2.internal";
    node.driver_version = std::string(kDriver);
    const int gpus_here = std::min(kGpusPerNode, num_gpus - n * kGpusPerNode);
    const int mig_here = std::clamp(mig_gpus_per_node, 0, gpus_here);
    // A training pod takes every whole (non-MIG) GPU of the node, if there are at least 4.
    const bool training_node = gpus_here - mig_here >= 4 && rng.Chance(kTrainingNodeShare);
    std::string training_pod;
    if (training_node) {
      const std::string_view job = kTrainingJobs[static_cast<std::size_t>(training_jobs) % std::size(kTrainingJobs)];
      training_pod = std::string(job) + "-" + KubeSuffix(rng, 5) + "-worker-0";  // PyTorchJob-style
      ++training_jobs;
    }
    for (int g = 0; g < gpus_here; ++g) {
      GpuSpec gpu;
      gpu.index = g;
      gpu.uuid = MakeUuid(seed, static_cast<std::uint64_t>(n * kGpusPerNode + g));
      gpu.model_name = h100 ? "NVIDIA H100 80GB HBM3" : "NVIDIA A100-SXM4-80GB";
      gpu.memory_gib = h100 ? kH100Gib : kA100Gib;
      if (g < mig_here) {
        for (int i = 0; i < 7; ++i) {
          MigInstanceSpec mig;
          mig.profile = "1g.10gb";
          mig.gi_id = 7 + i;  // 7 and 8 seen in issue #512 for 1g.10gb; 9..13 assumed contiguous. GUESS.
          mig.compute_slices = 1;
          mig.memory_gib = h100 ? kH100Mig1gGib : kA100Mig1gGib;
          if (rng.Chance(kMigAssignRate)) {
            const ServingApp& app = kMigApps[rng.Next() % std::size(kMigApps)];
            mig.pod = DeploymentPod(app, seed, rng);
            mig.namespace_name = std::string(app.ns);
            mig.container = std::string(app.container);
            mig.workload = PatternKind::kInference;
          } else {
            mig.workload = PatternKind::kIdle;
          }
          gpu.mig.push_back(std::move(mig));
        }
      } else if (training_node) {
        gpu.pod = training_pod;
        gpu.namespace_name = "research";
        gpu.container = "pytorch";
        gpu.workload = PatternKind::kTraining;
      } else if (rng.Chance(kAssignRate)) {
        if (rng.Chance(kNotebookShare)) {
          const std::string_view user = kUsers[rng.Next() % std::size(kUsers)];
          gpu.pod = "jupyter-" + std::string(user) + "-" + KubeSuffix(rng, 5);
          gpu.namespace_name = "notebooks";
          gpu.container = "notebook";
          gpu.workload = PatternKind::kIdle;
        } else {
          const ServingApp& app = kGpuApps[rng.Next() % std::size(kGpuApps)];
          gpu.pod = DeploymentPod(app, seed, rng);
          gpu.namespace_name = std::string(app.ns);
          gpu.container = std::string(app.container);
          gpu.workload = PatternKind::kInference;
        }
      } else {
        gpu.workload = PatternKind::kIdle;
      }
      node.gpus.push_back(std::move(gpu));
    }
    fleet.push_back(std::move(node));
  }
  return fleet;
}

}  // namespace gpuwise::sim
