// Cost and attribution: every GPU dollar of a snapshot in exactly one of three disjoint buckets, in integer
// micro-dollars, per device and interval, then summed per workload, node, team and day.
//
//   unallocated     the part of a GPU no pod holds (no pod at all, the uncovered slices of a MIG layout, the
//                   unreserved part of a shared GPU)
//   allocated-idle  held by a pod and not used
//   used            held and used, where "usage" of a device in an interval is
//                   u = max(mean compute activity, mean framebuffer used / the unit's framebuffer)
//                   (compute relative to the unit: a MIG instance's own SMs; framebuffer of what the pod holds; for
//                   engines that reserve memory up front, their demand when known, else compute alone)
//
// Per device and interval, with C its cost, holds with weights w_p = share x fraction of the interval, W = sum w_p
// (scaled to 1 when a device is oversubscribed):
//   allocated_p = C x w_p (largest-remainder rounding so the parts sum to round(C x W)),  unallocated = C - sum,
//   used_p = round(allocated_p x min(u, W) / W),  idle_p = allocated_p - used_p.
// So per GPU-hour and in total: sum(allocated) + unallocated = GPU cost, and allocated = used + idle, exactly.
// Shared GPUs (time-slicing, MPS, HAMi, KAI): policy "reserved fraction": each sharer's weight is its reserved
// share, and the device's measured usage is split in proportion to it (no per-process data is read).
// Worked number: an H100 at $4.00/GPU-hour (4,000,000 micro) held by one pod all hour at 25% SM and 60% of its
// framebuffer: u = 0.60, used = 2,400,000, idle = 1,600,000, unallocated = 0.
// Cost of an interval: price x seconds / 3600, rounded down per GPU with the remainder carried to the next interval,
// so a GPU's total over the window is floor(price x seconds / 3600) whatever the grid. A price that changes inside
// the window (SnapshotNode::price_from) applies from the first interval starting at or after the change. A MIG GPU's interval cost is split into
// its instances by compute slices / total slices (7, A30: 4) with largest-remainder rounding; uncovered slices are
// unallocated. Usage unknown (no sample in the interval) counts as idle and is reported as "unmeasured".
// Pure: snapshot in, ledger out.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace gpuwise::analyze {

inline constexpr const char* kSharedGpuPolicy =
    "shared GPUs (time-slicing, MPS, HAMi, KAI) are attributed by reserved fraction: each pod pays its reserved share "
    "of the GPU, and the GPU's measured usage is split in proportion to those shares (no per-process data read)";
inline constexpr const char* kUsageDefinition =
    "usage per interval = max(compute activity, framebuffer used / framebuffer of what the pod holds; for serving "
    "engines that reserve memory up front (vLLM, SGLang, TGI, TensorRT-LLM, LMDeploy) their memory demand when "
    "known, else compute alone); used $ = held $ x usage; idle $ = held $ - used $";

struct Money {
  std::int64_t used = 0, idle = 0;       // micro-USD
  std::int64_t unmeasured = 0;           // part of idle: intervals with no usage sample
  std::int64_t allocated() const { return used + idle; }
  void Add(const Money& o) {
    used += o.used;
    idle += o.idle;
    unmeasured += o.unmeasured;
  }
};

struct WorkloadCost {
  Money money;
  double gpu_hours = 0;        // GPU-equivalents held x hours (MIG: slices/total; shares: reserved fraction)
  double used_gpu_hours = 0;   // gpu_hours x usage
  double assumed_gpu_hours = 0;  // held by assumption (no exporter label): stated in the report
};

struct NodeCost {
  std::int64_t cost = 0;          // the node's GPU cost over the window
  std::int64_t unallocated = 0;
  Money allocated;
  double gpu_hours = 0;           // priced GPU-hours (physical GPUs x hours)
  double idle_gpu_hours = 0;      // whole GPUs held by nobody x hours
};

// One line of the ledger at day granularity: what a workload (or nobody) cost on a node that day.
struct CostRow {
  std::int64_t day_start_unix_s = 0;  // UTC midnight
  int node = -1;
  int workload = -1;                  // -1: unallocated
  std::int64_t cost = 0;              // allocated (used + idle) or unallocated
  std::int64_t used = 0, idle = 0;
  double gpu_hours = 0;
};

struct CostLedger {
  std::int64_t gpu_cost = 0;          // sum over priced GPUs of price x hours in the window
  std::int64_t unallocated = 0;
  Money allocated;
  std::int64_t unpriced_gpu_hours_x1000 = 0;  // GPU-hours (x1000) on unpriced or unknown nodes: not in any $ figure
  double gpu_hours = 0;               // priced GPU-hours
  std::vector<WorkloadCost> workloads;  // by Snapshot::workloads index
  std::vector<NodeCost> nodes;          // by Snapshot::nodes index
  std::vector<CostRow> rows;            // sorted by day, node, workload
  std::vector<CostRow> interval_rows;   // per interval instead of per day (CostOptions::interval_rows), same order
  double window_hours = 0;              // length of the window (live: 1, costs are per hour)
  std::string policy = kSharedGpuPolicy;
  std::string usage_definition = kUsageDefinition;
};

// One hold's money in one interval, with every figure of the arithmetic above (for `explain`'s worked line).
struct HoldCost {
  int device = -1, interval = -1, hold = -1, pod = -1;
  std::int64_t seconds = 0;        // of the interval inside the window
  std::int64_t price = 0;          // the node's micro-USD per GPU-hour (0: unpriced)
  std::int64_t gpu_cost = 0;       // the physical GPU's cost in the interval
  std::int64_t device_cost = 0;    // C: the device's (a MIG instance's part of gpu_cost)
  int slices = 0, total_slices = 0;  // MIG instance: g of total; 0 for a whole GPU
  double weight = 0, total_weight = 0, held = 0;  // w_p, W (unscaled), min(W, 1)
  double usage = NAN;              // u
  std::int64_t part = 0;           // allocated_p
  Money money;
  double gpu_hours = 0;
};

struct CostOptions {
  bool interval_rows = false;  // also fill CostLedger::interval_rows (day_start_unix_s then holds the interval start)
  std::function<void(const HoldCost&)> on_hold = nullptr;  // called for every hold of every interval, when set
};
CostLedger ComputeCosts(const model::Snapshot& snapshot, const CostOptions& options = {});

// Splits `total` (>= 0) in proportion to `weights` (>= 0) by largest remainder: the parts sum to `total` exactly.
// Equal remainders go to the lower index. All-zero weights: everything in part 0 (empty: nothing).
std::vector<std::int64_t> SplitExact(std::int64_t total, const std::vector<double>& weights);

// Usage of a device in an interval, 0..1, or NaN when no signal was sampled.
double DeviceUsage(const model::Device& device, const model::DeviceInterval& interval);

// Annualised cost of a window's idle spend: idle x (365 x 24 h / window hours).
std::int64_t Annualize(std::int64_t micro, double window_hours);

}  // namespace gpuwise::analyze
