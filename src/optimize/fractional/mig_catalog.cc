#include "optimize/fractional/mig_catalog.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>

namespace gpuwise::optimize::fractional {
namespace {

constexpr double kUnknownGib = std::numeric_limits<double>::quiet_NaN();
constexpr Confidence kCap = Confidence::kCaptured;
constexpr Confidence kDoc = Confidence::kDoc;
constexpr Confidence kInf = Confidence::kInferred;

// Placement starts, "{starts}:size" of `nvidia-smi mig -lgipp` (facts 2.2).
constexpr int kStarts1of8[] = {0, 1, 2, 3, 4, 5, 6};  // size 1 on an 8-slice GPU: slice 7 holds no 1-slice instance
constexpr int kStarts2of8[] = {0, 2, 4, 6};           // 1g.<2 slices>
constexpr int kStarts2gOf8[] = {0, 2, 4};             // 2g
constexpr int kStarts4of8[] = {0, 4};                 // 3g
constexpr int kStart0[] = {0};                        // 4g, 7g; A30 4g
constexpr int kStarts1of4[] = {0, 1, 2, 3};           // A30 1g
constexpr int kStarts2of4[] = {0, 2};                 // A30 2g

// A100-40GB: MIG UG v580 table 6 + its -lgip/-lgipp example on A100-SXM4-40GB (captured).
constexpr MigProfile kA100_40[] = {
    {"1g.5gb", 19, 1, 1, 4.75, 14, 7, kStarts1of8, kDoc, kCap, kCap},
    {"1g.5gb+me", 20, 1, 1, 4.75, 14, 1, kStarts1of8, kDoc, kCap, kCap},
    {"1g.10gb", 15, 1, 2, 9.62, 14, 4, kStarts2of8, kDoc, kCap, kCap},
    {"2g.10gb", 14, 2, 2, 9.62, 28, 3, kStarts2gOf8, kDoc, kCap, kCap},
    {"3g.20gb", 9, 3, 4, 19.50, 42, 2, kStarts4of8, kDoc, kCap, kCap},
    {"4g.20gb", 5, 4, 4, 19.50, 56, 1, kStart0, kDoc, kCap, kCap},
    {"7g.40gb", 0, 7, 8, 39.25, 98, 1, kStart0, kDoc, kCap, kCap},
};

// A100-80GB: names per MIG UG; GiB/SMs captured with -lgip on A100 80GB PCIe (driver 515.86.01, which did not list
// 1g.20gb: its GiB is unknown and its id 15 inferred); placements taken from the A100-40GB table, which go-nvml's
// NVML mock shares between both (inferred: no real 80GB -lgipp seen).
constexpr MigProfile kA100_80[] = {
    {"1g.10gb", 19, 1, 1, 9.50, 14, 7, kStarts1of8, kDoc, kInf, kCap},
    {"1g.10gb+me", 20, 1, 1, 9.50, 14, 1, kStarts1of8, kDoc, kInf, kCap},
    {"1g.20gb", 15, 1, 2, kUnknownGib, 14, 4, kStarts2of8, kDoc, kInf, kInf},
    {"2g.20gb", 14, 2, 2, 19.50, 28, 3, kStarts2gOf8, kDoc, kInf, kCap},
    {"3g.40gb", 9, 3, 4, 39.25, 42, 2, kStarts4of8, kDoc, kInf, kCap},
    {"4g.40gb", 5, 4, 4, 39.25, 56, 1, kStart0, kDoc, kInf, kCap},
    {"7g.80gb", 0, 7, 8, 79.00, 98, 1, kStart0, kDoc, kInf, kCap},
};

// H100 80GB HBM3 (SXM5): MIG UG table 7 + real -lgip and -lgipp captures (index file 8225626544; jbarrow.ai notes).
constexpr MigProfile kH100_80[] = {
    {"1g.10gb", 19, 1, 1, 9.75, 16, 7, kStarts1of8, kDoc, kCap, kCap},
    {"1g.10gb+me", 20, 1, 1, 9.75, 16, 1, kStarts1of8, kDoc, kCap, kCap},
    {"1g.20gb", 15, 1, 2, 19.62, 26, 4, kStarts2of8, kDoc, kCap, kCap},
    {"2g.20gb", 14, 2, 2, 19.62, 32, 3, kStarts2gOf8, kDoc, kCap, kCap},
    {"3g.40gb", 9, 3, 4, 39.50, 60, 2, kStarts4of8, kDoc, kCap, kCap},
    {"4g.40gb", 5, 4, 4, 39.50, 64, 1, kStart0, kDoc, kCap, kCap},
    {"7g.80gb", 0, 7, 8, 79.25, 132, 1, kStart0, kDoc, kCap, kCap},
};

// H100 PCIe (114-SM part): the facts file puts it under the H100-80GB table (MIG UG table 7 covers "H100"), but
// the captures were made on SXM5, so placements and GiB are inferred here and per-profile SMs unknown.
constexpr MigProfile kH100_80_PCIe[] = {
    {"1g.10gb", 19, 1, 1, 9.75, 0, 7, kStarts1of8, kDoc, kInf, kInf},
    {"1g.10gb+me", 20, 1, 1, 9.75, 0, 1, kStarts1of8, kDoc, kInf, kInf},
    {"1g.20gb", 15, 1, 2, 19.62, 0, 4, kStarts2of8, kDoc, kInf, kInf},
    {"2g.20gb", 14, 2, 2, 19.62, 0, 3, kStarts2gOf8, kDoc, kInf, kInf},
    {"3g.40gb", 9, 3, 4, 39.50, 0, 2, kStarts4of8, kDoc, kInf, kInf},
    {"4g.40gb", 5, 4, 4, 39.50, 0, 1, kStart0, kDoc, kInf, kInf},
    {"7g.80gb", 0, 7, 8, 79.25, 0, 1, kStart0, kDoc, kInf, kInf},
};

// H100 NVL 94GB: real -lgip/-lgipp on Azure NC40ads_H100_v5, driver 560.35.03 (index file 6230417598).
constexpr MigProfile kH100_94[] = {
    {"1g.12gb", 19, 1, 1, 10.75, 16, 7, kStarts1of8, kCap, kCap, kCap},
    {"1g.12gb+me", 20, 1, 1, 10.75, 16, 1, kStarts1of8, kCap, kCap, kCap},
    {"1g.24gb", 15, 1, 2, 21.62, 26, 4, kStarts2of8, kCap, kCap, kCap},
    {"2g.24gb", 14, 2, 2, 21.62, 32, 3, kStarts2gOf8, kCap, kCap, kCap},
    {"3g.47gb", 9, 3, 4, 46.38, 60, 2, kStarts4of8, kCap, kCap, kCap},
    {"4g.47gb", 5, 4, 4, 46.38, 64, 1, kStart0, kCap, kCap, kCap},
    {"7g.94gb", 0, 7, 8, 93.12, 132, 1, kStart0, kCap, kCap, kCap},
};

// H200-141GB: names, fractions and max from MIG UG table 8; ids 19/20/14/0 and SMs 16/32/132 from a third-party
// fixture, 60 SMs for 3g.71gb from benchmark notes, ids 15/9/5 and all placements inferred from H100 geometry.
// GiB left unknown (the fixture's values are unconfirmed).
constexpr MigProfile kH200[] = {
    {"1g.18gb", 19, 1, 1, kUnknownGib, 16, 7, kStarts1of8, kDoc, kInf, kInf},
    {"1g.18gb+me", 20, 1, 1, kUnknownGib, 16, 1, kStarts1of8, kDoc, kInf, kInf},
    {"1g.35gb", 15, 1, 2, kUnknownGib, 0, 4, kStarts2of8, kDoc, kInf, kInf},
    {"2g.35gb", 14, 2, 2, kUnknownGib, 32, 3, kStarts2gOf8, kDoc, kInf, kInf},
    {"3g.71gb", 9, 3, 4, kUnknownGib, 60, 2, kStarts4of8, kDoc, kInf, kInf},
    {"4g.71gb", 5, 4, 4, kUnknownGib, 0, 1, kStart0, kDoc, kInf, kInf},
    {"7g.141gb", 0, 7, 8, kUnknownGib, 132, 1, kStart0, kDoc, kInf, kInf},
};

// A30-24GB: MIG UG A30 table + real -lgip/-lgipp/-lgi capture (driver 535.183.01, index file 25510043945).
constexpr MigProfile kA30[] = {
    {"1g.6gb", 14, 1, 1, 5.81, 14, 4, kStarts1of4, kDoc, kCap, kCap},
    {"1g.6gb+me", 21, 1, 1, 5.81, 14, 1, kStarts1of4, kDoc, kCap, kCap},
    {"2g.12gb", 5, 2, 2, 11.69, 28, 2, kStarts2of4, kDoc, kCap, kCap},
    {"2g.12gb+me", 6, 2, 2, 11.69, 28, 1, kStarts2of4, kDoc, kCap, kCap},
    {"4g.24gb", 0, 4, 4, 23.44, 56, 1, kStart0, kDoc, kCap, kCap},
};

// PCI "device id + vendor id" as mig-parted's device-filter spells them (config-default.yaml comments).
constexpr std::string_view kIdsA100_40[] = {"0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE"};
constexpr std::string_view kIdsA100_80[] = {"0x20B210DE", "0x20B510DE", "0x20F310DE", "0x20F510DE"};
constexpr std::string_view kIdsH100_80[] = {"0x233010DE"};
constexpr std::string_view kIdsH100_80_PCIe[] = {"0x233110DE"};
constexpr std::string_view kIdsH100_94[] = {"0x232110DE", "0x233A10DE"};  // H100 NVL, H800 NVL
constexpr std::string_view kIdsH200[] = {"0x233510DE", "0x233B10DE"};     // H200, H200 NVL
constexpr std::string_view kIdsA30[] = {"0x20B710DE"};

// Full-GPU SMs: facts 2.2 (A100 108-SM GA100; H100 SXM5 132, PCIe 114; H100 NVL and H200 7g = 132; A30 4g = 56).
// Memory: nvidia-smi totals where captured (A100 80GB PCIe GFD gpu.memory 81920; H100 80GB HBM3 81559 MiB, the
// dcgm-exporter issue #512 capture; H100 NVL 95830; A30 24576).
const MigGpu kCatalog[] = {
    {"A100-40GB", kIdsA100_40, 8, 7, 108, 0, kA100_40, "MIG UG v580 table 6 + -lgip/-lgipp on A100-SXM4-40GB"},
    {"A100-80GB", kIdsA100_80, 8, 7, 108, 81920, kA100_80,
     "MIG UG names; -lgip on A100 80GB PCIe (driver 515.86.01); placements from A100-40GB (inferred)"},
    {"H100-80GB", kIdsH100_80, 8, 7, 132, 81559, kH100_80, "MIG UG table 7 + -lgip/-lgipp on H100 80GB HBM3"},
    {"H100-80GB-PCIe", kIdsH100_80_PCIe, 8, 7, 114, 0, kH100_80_PCIe,
     "MIG UG table 7; SXM5 captures reused (inferred), per-profile SMs unknown"},
    {"H100-94GB-NVL", kIdsH100_94, 8, 7, 132, 95830, kH100_94, "-lgip/-lgipp on H100 NVL (driver 560.35.03)"},
    {"H200-141GB", kIdsH200, 8, 7, 132, 0, kH200, "MIG UG table 8; ids/SMs from a fixture; placements inferred"},
    {"A30-24GB", kIdsA30, 4, 4, 56, 24576, kA30, "MIG UG A30 table + -lgip/-lgipp/-lgi on A30 (driver 535.183.01)"},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

const MigGpu* ByName(std::string_view name) {
  for (const MigGpu& g : kCatalog) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

// "0x20B210DE" or "0x20B2" (vendor 10DE implied).
const MigGpu* ByPciId(std::string_view id) {
  std::string hex = Upper(id.substr(2));
  if (hex.size() == 4) hex += "10DE";
  if (hex.size() != 8 || !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(c) != 0; })) {
    return nullptr;
  }
  for (const MigGpu& g : kCatalog) {
    for (std::string_view known : g.pci_device_ids) {
      if (Upper(known.substr(2)) == hex) return &g;
    }
  }
  return nullptr;
}

bool Has(const std::vector<std::string>& tokens, std::string_view t) {
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

std::string Range(int start, int size) {
  return "[" + std::to_string(start) + "," + std::to_string(start + size) + ")";
}

std::string InstanceName(const MigInstance& i) { return i.profile + "@" + std::to_string(i.start); }

std::string StartsText(const MigProfile& p) {
  std::string s = "{";
  for (std::size_t i = 0; i < p.placement_starts.size(); ++i) {
    s += (i ? "," : "") + std::to_string(p.placement_starts[i]);
  }
  return s + "}:" + std::to_string(p.memory_slices);
}

bool Overlaps(int a, int a_size, int b, int b_size) { return a < b + b_size && b < a + a_size; }

// Memory slices as a bit mask (at most 8 slices).
using SliceMask = std::uint32_t;
SliceMask MaskOf(int start, int size) { return ((SliceMask{1} << size) - 1) << start; }

bool Fits(const MigGpu& gpu, int start, int size, SliceMask used) {
  return start >= 0 && start + size <= gpu.memory_slices && (used & MaskOf(start, size)) == 0;
}

// The inferred driver choice (header): the free valid start blocking the fewest free placements, lowest on a tie.
int DriverStart(const MigGpu& gpu, const MigProfile& p, SliceMask used) {
  int best = -1;
  int best_blocked = INT_MAX;
  for (int s : p.placement_starts) {
    if (!Fits(gpu, s, p.memory_slices, used)) continue;
    int blocked = 0;
    for (const MigProfile& q : gpu.profiles) {
      for (int t : q.placement_starts) {
        if (Fits(gpu, t, q.memory_slices, used) && Overlaps(s, p.memory_slices, t, q.memory_slices)) ++blocked;
      }
    }
    if (blocked < best_blocked) {
      best = s;
      best_blocked = blocked;
    }
  }
  return best;
}

// Largest first: memory slices, then compute slices, descending; then name for a stable order.
bool LargerFirst(const MigProfile* a, const MigProfile* b) {
  if (a->memory_slices != b->memory_slices) return a->memory_slices > b->memory_slices;
  if (a->compute_slices != b->compute_slices) return a->compute_slices > b->compute_slices;
  return a->name < b->name;
}

std::string CgiIds(const MigGpu& gpu, const std::vector<std::string>& profiles) {
  std::string out;
  for (const std::string& p : profiles) {
    const MigProfile* prof = gpu.FindProfile(p);
    out += (out.empty() ? "" : ",") + std::to_string(prof ? prof->gi_profile_id : -1);
  }
  return out;
}

std::multiset<std::pair<std::string, int>> PlacementSet(const MigLayout& l) {
  std::multiset<std::pair<std::string, int>> s;
  for (const MigInstance& i : l.instances) s.emplace(i.profile, i.start);
  return s;
}

// Explicit placement by backtracking: `order` placed in turn at ascending starts; equal consecutive profiles take
// increasing starts so that swapped twins are not retried.
bool PlaceExplicit(const MigGpu& gpu, const std::vector<const MigProfile*>& order, std::size_t i, SliceMask used,
                   std::vector<int>* starts) {
  if (i == order.size()) return true;
  const MigProfile& p = *order[i];
  const int floor = (i > 0 && order[i - 1] == order[i]) ? (*starts)[i - 1] + 1 : 0;
  for (int s : p.placement_starts) {
    if (s < floor || !Fits(gpu, s, p.memory_slices, used)) continue;
    (*starts)[i] = s;
    if (PlaceExplicit(gpu, order, i + 1, used | MaskOf(s, p.memory_slices), starts)) return true;
  }
  return false;
}

// Checks on counts alone, before any placement: unknown profile, negative count, per-profile max, totals.
base::Status CheckCounts(const MigGpu& gpu, const MigCounts& counts) {
  int compute = 0;
  int memory = 0;
  for (const auto& [name, n] : counts) {
    const MigProfile* p = gpu.FindProfile(name);
    if (p == nullptr) {
      return base::InvalidArgument("\"" + name + "\" is not a profile of " + std::string(gpu.name));
    }
    if (n < 0) return base::InvalidArgument(name + ": negative count " + std::to_string(n));
    if (n > p->max_instances) {
      return base::InvalidArgument(std::to_string(n) + " x " + name + ": at most " +
                                   std::to_string(p->max_instances) + " per GPU on " + std::string(gpu.name));
    }
    compute += n * p->compute_slices;
    memory += n * p->memory_slices;
  }
  if (compute > gpu.compute_slices) {
    return base::InvalidArgument("compute slices " + std::to_string(compute) + " > " +
                                 std::to_string(gpu.compute_slices) + " on " + std::string(gpu.name));
  }
  if (memory > gpu.memory_slices) {
    return base::InvalidArgument("memory slices " + std::to_string(memory) + " > " +
                                 std::to_string(gpu.memory_slices) + " on " + std::string(gpu.name));
  }
  return base::Status::Ok();
}

std::vector<const MigProfile*> Expand(const MigGpu& gpu, const MigCounts& counts) {
  std::vector<const MigProfile*> out;
  for (const auto& [name, n] : counts) {
    const MigProfile* p = gpu.FindProfile(name);
    for (int k = 0; k < n; ++k) out.push_back(p);
  }
  std::sort(out.begin(), out.end(), LargerFirst);
  return out;
}

std::vector<std::string> Names(const std::vector<const MigProfile*>& ps) {
  std::vector<std::string> out;
  for (const MigProfile* p : ps) out.emplace_back(p->name);
  return out;
}

// Visits every distinct order of `items` (a multiset), largest-first order first; stops when `visit` returns true.
template <typename Visit>
bool ForEachOrder(std::vector<const MigProfile*> items, Visit visit) {
  std::sort(items.begin(), items.end(), LargerFirst);
  const std::vector<const MigProfile*> first = items;
  if (visit(first)) return true;
  std::sort(items.begin(), items.end());
  do {
    if (items != first && visit(items)) return true;
  } while (std::next_permutation(items.begin(), items.end()));
  return false;
}

}  // namespace

std::string_view ConfidenceName(Confidence c) {
  switch (c) {
    case Confidence::kCaptured: return "captured";
    case Confidence::kDoc: return "doc";
    case Confidence::kInferred: return "inferred";
  }
  return "?";
}

bool MigProfile::ValidStart(int start) const {
  return std::find(placement_starts.begin(), placement_starts.end(), start) != placement_starts.end();
}

bool MigProfile::AnyInferred() const {
  return profile_confidence == Confidence::kInferred || placement_confidence == Confidence::kInferred ||
         size_confidence == Confidence::kInferred;
}

const MigProfile* MigGpu::FindProfile(std::string_view profile) const {
  for (const MigProfile& p : profiles) {
    if (p.name == profile) return &p;
  }
  return nullptr;
}

bool MigGpu::AnyInferred() const {
  return std::any_of(profiles.begin(), profiles.end(), [](const MigProfile& p) { return p.AnyInferred(); });
}

std::span<const MigGpu> MigCatalog() { return kCatalog; }

const MigGpu* FindMigGpu(std::string_view name_or_pci_id) {
  const std::string_view in = Trim(name_or_pci_id);
  if (in.size() > 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) return ByPciId(in);
  std::string s = Upper(in);
  // GFD suffixes (internal/lm/resource.go productLabel): "-SHARED" last, "-MIG-<profile>" before it.
  if (s.ends_with("-SHARED")) s.resize(s.size() - 7);
  if (const std::size_t mig = s.find("-MIG-"); mig != std::string::npos) s.resize(mig);
  if (const std::size_t mig = s.find(" MIG "); mig != std::string::npos) s.resize(mig);
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '_') {
      if (!cur.empty()) tokens.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(cur);
  if (!tokens.empty() && (tokens[0] == "NVIDIA" || tokens[0] == "TESLA")) tokens.erase(tokens.begin());
  if (tokens.empty()) return nullptr;
  const std::string& model = tokens[0];
  // Whole tokens only: "H20" and "GH200" are not "H200", "H800" is not "H100".
  if (model == "A30") return ByName("A30-24GB");
  if (model == "A100" || model == "A800") {  // A800 ids share the A100 rows in mig-parted's filters
    if (Has(tokens, "80GB")) return ByName("A100-80GB");
    if (Has(tokens, "40GB")) return ByName("A100-40GB");
    return nullptr;  // "A100" alone: 40 or 80 GB
  }
  if (model == "H100") {
    if (Has(tokens, "NVL")) return ByName("H100-94GB-NVL");
    if (Has(tokens, "PCIE")) return ByName("H100-80GB-PCIe");
    if (Has(tokens, "HBM3") || Has(tokens, "SXM5") || Has(tokens, "80GB")) return ByName("H100-80GB");
    return nullptr;  // e.g. H100 96GB (GH200): not in the catalog
  }
  if (model == "H200") return ByName("H200-141GB");
  return nullptr;
}

MigCounts CountsOf(const MigLayout& layout) {
  MigCounts c;
  for (const MigInstance& i : layout.instances) ++c[i.profile];
  return c;
}

base::Status Validate(const MigGpu& gpu, const MigLayout& layout, MigCreation creation) {
  std::map<std::string, int, std::less<>> seen;
  int compute = 0;
  SliceMask used = 0;
  const auto& in = layout.instances;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::string where = "instance " + std::to_string(k + 1) + " (" + InstanceName(in[k]) + ")";
    const MigProfile* p = gpu.FindProfile(in[k].profile);
    if (p == nullptr) {
      return base::InvalidArgument(where + ": \"" + in[k].profile + "\" is not a profile of " + std::string(gpu.name));
    }
    if (!p->ValidStart(in[k].start)) {
      return base::InvalidArgument(where + ": start " + std::to_string(in[k].start) + " is not a valid placement (" +
                                   std::string(p->name) + " " + StartsText(*p) + ")");
    }
    for (std::size_t j = 0; j < k; ++j) {
      const MigProfile* q = gpu.FindProfile(in[j].profile);
      if (Overlaps(in[k].start, p->memory_slices, in[j].start, q->memory_slices)) {
        return base::InvalidArgument(where + ": memory slices " + Range(in[k].start, p->memory_slices) +
                                     " overlap instance " + std::to_string(j + 1) + " (" + InstanceName(in[j]) + ", " +
                                     Range(in[j].start, q->memory_slices) + ")");
      }
    }
    compute += p->compute_slices;
    if (compute > gpu.compute_slices) {
      return base::InvalidArgument(where + ": compute slices " + std::to_string(compute) + " > " +
                                   std::to_string(gpu.compute_slices) + " on " + std::string(gpu.name));
    }
    if (++seen[in[k].profile] > p->max_instances) {
      return base::InvalidArgument(where + ": more than " + std::to_string(p->max_instances) + " x " +
                                   in[k].profile + " on " + std::string(gpu.name));
    }
    if (creation == MigCreation::kImplicitPlacement) {
      const int driver = DriverStart(gpu, *p, used);
      if (driver != in[k].start) {
        return base::InvalidArgument(
            where + ": created in this order without a placement, the driver would " +
            (driver < 0 ? std::string("find no free start") : "place it at " + std::to_string(driver)) +
            " (inferred driver model; create it with -cgi " + std::to_string(p->gi_profile_id) + ":" +
            std::to_string(in[k].start) + ")");
      }
    }
    used |= MaskOf(in[k].start, p->memory_slices);
  }
  return base::Status::Ok();
}

MigCreationResult SimulateCreation(const MigGpu& gpu, std::span<const std::string> profiles) {
  MigCreationResult r;
  std::map<std::string, int, std::less<>> seen;
  int compute = 0;
  SliceMask used = 0;
  for (std::size_t k = 0; k < profiles.size(); ++k) {
    const std::string step = "step " + std::to_string(k + 1) + " (" + profiles[k] + ")";
    const MigProfile* p = gpu.FindProfile(profiles[k]);
    if (p == nullptr) {
      r.status = base::InvalidArgument(step + ": \"" + profiles[k] + "\" is not a profile of " + std::string(gpu.name));
      return r;
    }
    if (seen[profiles[k]] + 1 > p->max_instances) {
      r.status = base::ResourceExhausted(step + ": Insufficient Resources: at most " +
                                         std::to_string(p->max_instances) + " per GPU");
      return r;
    }
    if (compute + p->compute_slices > gpu.compute_slices) {
      r.status = base::ResourceExhausted(step + ": Insufficient Resources: compute slices " +
                                         std::to_string(compute + p->compute_slices) + " > " +
                                         std::to_string(gpu.compute_slices));
      return r;
    }
    const int start = DriverStart(gpu, *p, used);
    if (start < 0) {
      std::string occupied;
      for (const MigInstance& i : r.created.instances) {
        occupied += " " + InstanceName(i) + Range(i.start, gpu.FindProfile(i.profile)->memory_slices);
      }
      r.status = base::ResourceExhausted(step + ": Insufficient Resources: no free placement in " + StartsText(*p) +
                                         "; occupied:" + occupied);
      return r;
    }
    ++seen[profiles[k]];
    compute += p->compute_slices;
    used |= MaskOf(start, p->memory_slices);
    r.created.instances.push_back({profiles[k], start});
  }
  return r;
}

base::Result<MigCreationPlan> CreationOrder(const MigGpu& gpu, const MigLayout& layout) {
  RETURN_IF_ERROR(Validate(gpu, layout));
  MigCreationPlan plan;
  std::vector<std::string> explicit_parts;
  std::vector<const MigProfile*> items;
  for (const MigInstance& i : layout.instances) {
    const MigProfile* p = gpu.FindProfile(i.profile);
    items.push_back(p);
    plan.explicit_cgi += (plan.explicit_cgi.empty() ? "" : ",") + std::to_string(p->gi_profile_id) + ":" +
                         std::to_string(i.start);
  }
  const auto want = PlacementSet(layout);
  ForEachOrder(items, [&](const std::vector<const MigProfile*>& order) {
    const std::vector<std::string> names = Names(order);
    MigCreationResult r = SimulateCreation(gpu, names);
    if (!r.status.ok()) return false;
    const bool lands = PlacementSet(r.created) == want;
    if (!plan.implicit_ok || lands) {
      plan.implicit_ok = true;
      plan.implicit_order = names;
      plan.implicit_lands = r.created;
      plan.implicit_lands_on_layout = lands;
      plan.implicit_cgi = CgiIds(gpu, names);
    }
    return lands;  // keep looking for an order that lands exactly on the layout
  });
  return plan;
}

base::Result<MigLayout> PlaceCounts(const MigGpu& gpu, const MigCounts& counts) {
  RETURN_IF_ERROR(CheckCounts(gpu, counts));
  const std::vector<const MigProfile*> items = Expand(gpu, counts);
  MigLayout out;
  if (ForEachOrder(items, [&](const std::vector<const MigProfile*>& order) {
        MigCreationResult r = SimulateCreation(gpu, Names(order));
        if (!r.status.ok()) return false;
        out = std::move(r.created);
        return true;
      })) {
    return out;
  }
  std::vector<int> starts(items.size(), 0);
  if (PlaceExplicit(gpu, items, 0, 0, &starts)) {
    for (std::size_t i = 0; i < items.size(); ++i) out.instances.push_back({std::string(items[i]->name), starts[i]});
    return out;
  }
  std::string detail;
  for (const auto& [name, n] : counts) {
    if (n <= 0) continue;
    detail += (detail.empty() ? "" : ", ") + std::to_string(n) + " x " + name + " at " +
              StartsText(*gpu.FindProfile(name));
  }
  return base::InvalidArgument("no placement without overlap on " + std::string(gpu.name) + ": " + detail);
}

std::vector<MigLayoutOption> EnumerateLayouts(const MigGpu& gpu, const EnumerateOptions& options) {
  struct Placement {
    const MigProfile* profile;
    int start;
  };
  std::vector<const MigProfile*> considered;
  std::vector<Placement> placements;
  for (const MigProfile& p : gpu.profiles) {
    if (p.media_extensions() && !options.include_media_extensions) continue;
    considered.push_back(&p);
    for (int s : p.placement_starts) placements.push_back({&p, s});
  }
  // Every set of pairwise disjoint placements within the compute and per-profile limits, by increasing index.
  std::set<MigCounts> found;
  MigCounts counts;
  auto dfs = [&](auto&& self, std::size_t from, SliceMask used, int compute) -> void {
    for (std::size_t i = from; i < placements.size(); ++i) {
      const Placement& pl = placements[i];
      const std::string name(pl.profile->name);
      if (!Fits(gpu, pl.start, pl.profile->memory_slices, used)) continue;
      if (compute + pl.profile->compute_slices > gpu.compute_slices) continue;
      if (counts[name] + 1 > pl.profile->max_instances) continue;
      ++counts[name];
      found.insert(counts);
      self(self, i + 1, used | MaskOf(pl.start, pl.profile->memory_slices), compute + pl.profile->compute_slices);
      if (--counts[name] == 0) counts.erase(name);
    }
  };
  dfs(dfs, 0, 0, 0);

  std::vector<MigLayoutOption> out;
  for (const MigCounts& c : found) {
    MigLayoutOption o;
    o.counts = c;
    base::Result<MigLayout> placed = PlaceCounts(gpu, c);
    CHECK(placed.ok()) << "an enumerated multiset did not place: " << placed.status().ToString();
    o.layout = std::move(placed).value();
    o.maximal = true;
    for (const MigProfile* p : considered) {
      MigCounts more = c;
      ++more[std::string(p->name)];
      if (found.count(more)) o.maximal = false;
    }
    o.relies_on_inferred = AnyInferred(gpu, c);
    for (const auto& [name, n] : c) {
      const MigProfile* p = gpu.FindProfile(name);
      o.compute_slices += n * p->compute_slices;
      o.memory_slices += n * p->memory_slices;
    }
    out.push_back(std::move(o));
  }
  return out;
}

bool AnyInferred(const MigGpu& gpu, const MigLayout& layout) { return AnyInferred(gpu, CountsOf(layout)); }

bool AnyInferred(const MigGpu& gpu, const MigCounts& counts) { return !InferredFacts(gpu, counts).empty(); }

std::vector<std::string> InferredFacts(const MigGpu& gpu, const MigCounts& counts) {
  std::vector<std::string> out;
  for (const auto& [name, n] : counts) {
    const MigProfile* p = gpu.FindProfile(name);
    if (n <= 0 || p == nullptr || !p->AnyInferred()) continue;
    std::string what;
    auto add = [&](Confidence c, const char* field) {
      if (c == Confidence::kInferred) what += (what.empty() ? "" : ", ") + std::string(field) + " inferred";
    };
    add(p->profile_confidence, "profile");
    add(p->placement_confidence, "placements");
    add(p->size_confidence, "memory/SMs");
    out.push_back(std::string(gpu.name) + " " + name + ": " + what);
  }
  return out;
}

std::string MixedStrategyResource(std::string_view profile) {
  std::string out = "nvidia.com/mig-";
  for (char c : profile) out += c == '+' ? '.' : c;
  return out;
}

base::Result<MixedResource> ProfileFromMixedStrategyResource(std::string_view resource) {
  constexpr std::string_view kPrefix = "nvidia.com/mig-";
  const auto bad = [&](const std::string& why) {
    return base::InvalidArgument("\"" + std::string(resource) + "\" is not a MIG resource name: " + why);
  };
  if (!resource.starts_with(kPrefix)) return bad("expected nvidia.com/mig-<profile>");
  std::string_view rest = resource.substr(kPrefix.size());
  MixedResource out;
  if (rest.ends_with(".shared")) {
    out.shared = true;
    rest.remove_suffix(7);
  }
  // "<digits>g.<digits>gb" then an optional suffix (".me" for "+me", ".me.all", "-me").
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    return i > from;
  };
  if (!digits() || rest.substr(i, 2) != "g.") return bad("expected <n>g.<m>gb");
  i += 2;
  if (!digits() || rest.substr(i, 2) != "gb") return bad("expected <n>g.<m>gb");
  i += 2;
  out.profile = std::string(rest.substr(0, i));
  std::string_view tail = rest.substr(i);
  if (!tail.empty()) {
    if (tail.size() < 2 || (tail[0] != '.' && tail[0] != '-')) return bad("unexpected \"" + std::string(tail) + "\"");
    out.profile += tail[0] == '.' ? '+' : '-';
    out.profile += tail.substr(1);
  }
  return out;
}

std::string SingleStrategyProductSuffix(std::string_view profile) { return "-MIG-" + std::string(profile); }

std::string GfdProductLabel(std::string_view model_name, std::string_view profile, bool shared) {
  std::string raw(model_name);
  if (!profile.empty()) raw += SingleStrategyProductSuffix(profile);
  if (shared) raw += "-SHARED";
  std::string out;
  for (char c : raw) {
    if (c == ' ') {
      out += '-';
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    }
  }
  return out;
}

}  // namespace gpuwise::optimize::fractional
