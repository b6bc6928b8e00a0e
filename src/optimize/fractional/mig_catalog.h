// The MIG catalog: which GPU instance profiles each MIG-capable NVIDIA GPU offers, where they may be placed, and the
// rules a set of instances must satisfy (placements, overlap, compute slices, per-profile limits, creation order).
// Facts are compiled in from reference/nvidia-gpu-facts.md sections 2.1-2.2 (and data/nvidia/mig-profiles.csv, which
// is never read at run time); every row carries how sure we are of it, so that any result resting on an inferred row
// can say so (AnyInferred, InferredFacts).
//
// Vocabulary (MIG user guide "Concepts"; NVML nvmlGpuInstancePlacement_t): a GPU has 8 memory slices and 7 compute
// slices (A30: 4 and 4). A profile occupies `memory_slices` consecutive memory slices starting at one of its valid
// placement starts, i.e. the range [start, start + memory_slices). Two instances may not overlap; the compute slices
// of all instances add up to at most the GPU's total. (With the catalog's tables the placements alone already keep
// compute within the total; the check stays for tables where they would not.)
//
// Creation without an explicit placement (`nvidia-smi mig -cgi 19,14,5`, or NVML's nvmlDeviceCreateGpuInstance)
// lets the driver choose the start. INFERENCE (not documented by NVIDIA): the driver takes the free valid start that
// blocks the fewest still-free placements of all the GPU's profiles (every profile, every valid start, counted once
// each), the lowest start on a tie. This reproduces every placement we have seen the driver choose:
//   - MIG UG (A100-SXM4-40GB) `-cgi 19,14,5` -> 1g@6, 2g@4, 4g@0;
//   - MIG UG `-cgi 19,19,14,9` -> 1g@6, 1g@4 (GI ids 13, 11), 2g@0 (GI 3), then 3g fails "Insufficient Resources";
//   - MIG UG `-cgi 9,19,14,19` -> 3g@4, 1g@0, 2g@2, 1g@1 (its -lgi output);
//   - MIG UG `-cgi 14,19,19,19,19,19` -> 2g@4, 1g@6, then 1g@0, 1, 2, 3;
//   - a real A30 capture (driver 535.183.01, index file 25510043945): `-cgi 14` twice -> 0:1 then 1:1, then 5 -> 2:2.
// The simpler rule "highest free valid start" also explains which of the first two sequences fails, but puts the
// 1g instances of the last three at 3, 2, ... instead of 0, 1, ...; mig_catalog_test.cc checks both claims.
// Creating with explicit placements (`-cgi 9:4,19:0`, "a profile tuple ... and an optional placement specifier,
// which consists of a colon and a placement start index", nvidia-smi mig help) avoids the question entirely.
//
// Thread-safety: the catalog is immutable static data; every function is pure and safe to call concurrently.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::optimize::fractional {

// How a fact was established (the confidence columns of data/nvidia/mig-profiles.csv).
enum class Confidence {
  kCaptured,  // seen in real nvidia-smi output
  kDoc,       // NVIDIA MIG user guide table
  kInferred,  // not captured, derived by analogy: treat as unconfirmed
};
std::string_view ConfidenceName(Confidence c);  // "captured" | "doc" | "inferred"

struct MigProfile {
  std::string_view name;  // "1g.10gb", "1g.10gb+me" (as nvidia-smi, mig-parted and the device plugin spell it)
  int gi_profile_id = 0;  // `nvidia-smi mig -lgip` ID, used by `-cgi`
  int compute_slices = 0;
  int memory_slices = 0;           // also the placement size
  double memory_gib = 0;           // as -lgip reports it; NaN when unknown
  int sms = 0;                     // 0 when unknown
  int max_instances = 0;
  std::span<const int> placement_starts;  // valid starts, ascending
  Confidence profile_confidence = Confidence::kDoc;    // name, id, slices, max instances
  Confidence placement_confidence = Confidence::kDoc;  // placement starts
  Confidence size_confidence = Confidence::kDoc;       // memory GiB and SMs

  bool media_extensions() const { return name.ends_with("+me"); }
  bool ValidStart(int start) const;
  bool AnyInferred() const;
};

struct MigGpu {
  std::string_view name;                             // catalog name: "A100-40GB", "H100-94GB-NVL"
  std::span<const std::string_view> pci_device_ids;  // device id + vendor id as mig-parted filters: "0x20B210DE"
  int memory_slices = 8;
  int compute_slices = 7;
  int full_sms = 0;             // SMs of the whole GPU with MIG off; 0 when unknown
  int full_memory_mib = 0;      // nvidia-smi total; 0 when unknown
  std::span<const MigProfile> profiles;  // ascending by size; "+me" variants follow their base profile
  std::string_view source;      // where the rows come from

  const MigProfile* FindProfile(std::string_view profile) const;  // exact name; nullptr when absent
  bool AnyInferred() const;  // any row of this GPU has an inferred column
};

// Every GPU in the catalog: A100-40GB, A100-80GB, H100-80GB (SXM5), H100-80GB-PCIe, H100-94GB-NVL, H200-141GB,
// A30-24GB. H800 and GH200/H100-96GB are left out (no table for them in the facts).
std::span<const MigGpu> MigCatalog();

// The catalog GPU for what gpuwise sees of a device: a dcgm-exporter `modelName` ("NVIDIA A100-SXM4-80GB",
// "NVIDIA H100 80GB HBM3", "NVIDIA H100 NVL", "NVIDIA H200", "NVIDIA A30"), a GFD `nvidia.com/gpu.product` label
// ("NVIDIA-A100-80GB-PCIe", also with "-MIG-1g.10gb" or "-SHARED" suffixes), or a PCI id ("0x20B210DE" or
// "0x20B2"). Case-insensitive. nullptr for GPUs without MIG (L4, T4, A10G), for names that do not say which variant
// (a bare "A100" could be 40 or 80 GB) and for MIG GPUs outside the catalog (H800, GH200, B200).
const MigGpu* FindMigGpu(std::string_view name_or_pci_id);

// One GPU instance: a profile placed at a memory-slice start.
struct MigInstance {
  std::string profile;  // profile name
  int start = 0;        // first memory slice

  bool operator==(const MigInstance&) const = default;
};

// Instances in creation order.
struct MigLayout {
  std::vector<MigInstance> instances;

  bool operator==(const MigLayout&) const = default;
};

// Profile name -> instance count: what mig-parted's `mig-devices` and Kubernetes resources speak.
using MigCounts = std::map<std::string, int, std::less<>>;

MigCounts CountsOf(const MigLayout& layout);

// How the layout is meant to be created.
enum class MigCreation {
  kExplicitPlacement,  // every instance created at its start (`-cgi <id>:<start>`): order does not matter
  kImplicitPlacement,  // created in layout order without placements: the driver (model above) must land each
                       // instance on the layout's start
};

// OK when the layout can exist on `gpu`; otherwise an InvalidArgument naming the first broken rule, checked
// instance by instance in creation order: unknown profile, start not a valid placement, memory range overlapping an
// earlier instance, compute slices over the GPU's total, more instances of a profile than its max_instances, and
// (kImplicitPlacement only) the driver placing the instance elsewhere or failing. Example message:
//   "instance 2 (3g.20gb@0): memory slices [0,4) overlap instance 1 (2g.10gb@2, [2,4))".
base::Status Validate(const MigGpu& gpu, const MigLayout& layout,
                      MigCreation creation = MigCreation::kExplicitPlacement);

// Creating `profiles` in order without explicit placements, under the inferred driver model above.
struct MigCreationResult {
  MigLayout created;     // every instance created before the first failure (all of them when ok)
  base::Status status;   // OK, or the failing step: "step 4 (3g.20gb): Insufficient Resources: ..."
};
MigCreationResult SimulateCreation(const MigGpu& gpu, std::span<const std::string> profiles);

// How to create a valid layout with nvidia-smi.
struct MigCreationPlan {
  // Plain creates (no placements) that succeed under the inferred driver model; empty with implicit_ok false when
  // no order does. Largest first (memory slices, then compute slices) is tried first; it works for every layout
  // EnumerateLayouts returns (mig_catalog_test.cc).
  bool implicit_ok = false;
  std::vector<std::string> implicit_order;
  MigLayout implicit_lands;           // where the model puts them
  bool implicit_lands_on_layout = false;  // the same (profile, start) pairs as the layout asked for
  std::string implicit_cgi;           // GI profile ids for `nvidia-smi mig -cgi`: "9,19,14,19"
  std::string explicit_cgi;           // the layout itself, in its order: "9:4,19:0,14:2,19:1"
};
// Error when Validate(gpu, layout) fails.
base::Result<MigCreationPlan> CreationOrder(const MigGpu& gpu, const MigLayout& layout);

// A valid placed layout for counts (zero counts ignored): one the driver reaches by plain creates in its order when
// such an order exists (for every valid multiset of the catalog one does: mig_catalog_test.cc), else any
// non-overlapping placement (then create it with explicit placements). Errors (InvalidArgument) say why nothing fits:
// "\"9g.10gb\" is not a profile of A100-40GB", "3 x 3g.20gb: at most 2 per GPU on A100-40GB", "compute slices 8 > 7
// on A100-40GB", "memory slices 9 > 8 on A100-40GB", or "no placement without overlap on <gpu>: 2 x 2g.2gb at {0}:2"
// (the last never happens with the catalog's tables, but the rules allow it).
base::Result<MigLayout> PlaceCounts(const MigGpu& gpu, const MigCounts& counts);

struct EnumerateOptions {
  bool include_media_extensions = false;  // also "+me" profiles
};

struct MigLayoutOption {
  MigCounts counts;     // non-empty
  MigLayout layout;     // PlaceCounts(counts)
  bool maximal = false; // no further instance of any considered profile can be added to counts (in any placement)
  bool relies_on_inferred = false;  // some profile used has an inferred row
  int compute_slices = 0;
  int memory_slices = 0;
};

// Every distinct non-empty multiset of profiles that fits on `gpu`, ordered by counts.
std::vector<MigLayoutOption> EnumerateLayouts(const MigGpu& gpu, const EnumerateOptions& options = {});

// True when some instance's profile row has an inferred column (unknown profiles count as not inferred).
bool AnyInferred(const MigGpu& gpu, const MigLayout& layout);
bool AnyInferred(const MigGpu& gpu, const MigCounts& counts);
// One line per inferred fact a result rests on: "A100-80GB 1g.20gb: placements inferred, memory/SMs inferred".
std::vector<std::string> InferredFacts(const MigGpu& gpu, const MigCounts& counts);

// Mixed-strategy resource names (k8s-device-plugin internal/rm/rm.go: "mig-" + profile with '+' replaced by '.'):
// "1g.10gb+me" -> "nvidia.com/mig-1g.10gb.me".
std::string MixedStrategyResource(std::string_view profile);

struct MixedResource {
  std::string profile;  // "1g.10gb+me"
  bool shared = false;  // the ".shared" suffix time-slicing adds with renameByDefault (facts 3.1)
};
// The inverse: "nvidia.com/mig-1g.10gb.me" -> {"1g.10gb+me"}; "nvidia.com/mig-1g.10gb.shared" -> {"1g.10gb", true}.
// Error for names that are not nvidia.com/mig-<n>g.<m>gb[...].
base::Result<MixedResource> ProfileFromMixedStrategyResource(std::string_view resource);

// Single strategy: GFD's product label gets "-MIG-<profile>" (internal/lm/resource.go productLabel).
std::string SingleStrategyProductSuffix(std::string_view profile);  // "-MIG-1g.10gb"
// GFD `nvidia.com/gpu.product`: model name with spaces as '-', then "-MIG-<profile>" when profile is not empty, then
// "-SHARED" when shared; characters a label value cannot hold ('+') dropped (facts 3.2).
// ("NVIDIA A100 80GB PCIe", "1g.10gb", false) -> "NVIDIA-A100-80GB-PCIe-MIG-1g.10gb".
std::string GfdProductLabel(std::string_view model_name, std::string_view profile, bool shared);

}  // namespace gpuwise::optimize::fractional
