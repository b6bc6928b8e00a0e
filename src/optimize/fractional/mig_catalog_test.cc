#include "optimize/fractional/mig_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace gpuwise::optimize::fractional {
namespace {

using ::testing::HasSubstr;

const MigGpu& Gpu(std::string_view name) {
  for (const MigGpu& g : MigCatalog()) {
    if (g.name == name) return g;
  }
  ADD_FAILURE() << "no catalog GPU " << name;
  return MigCatalog()[0];
}

MigLayout L(std::vector<MigInstance> v) { return MigLayout{std::move(v)}; }

std::vector<int> Starts(const MigLayout& l) {
  std::vector<int> s;
  for (const MigInstance& i : l.instances) s.push_back(i.start);
  return s;
}

// ---- independent reference code (written apart from mig_catalog.cc) ----

bool InList(std::span<const int> v, int x) {
  for (int y : v) {
    if (y == x) return true;
  }
  return false;
}

// Every multiset reachable by walking the memory slices left to right: at each slice either leave it empty or start
// an instance there (when that is one of the profile's starts). `check_compute` false drops the compute limit.
void Brute(const MigGpu& g, bool with_me, bool check_compute, int slice, std::vector<int>& n, int compute,
           std::set<MigCounts>* out) {
  if (slice >= g.memory_slices) {
    MigCounts c;
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (n[i] > 0) c[std::string(g.profiles[i].name)] = n[i];
    }
    if (!c.empty()) out->insert(c);
    return;
  }
  Brute(g, with_me, check_compute, slice + 1, n, compute, out);
  for (std::size_t i = 0; i < g.profiles.size(); ++i) {
    const MigProfile& p = g.profiles[i];
    if (!with_me && p.name.ends_with("+me")) continue;
    if (!InList(p.placement_starts, slice) || slice + p.memory_slices > g.memory_slices) continue;
    if (n[i] >= p.max_instances) continue;
    if (check_compute && compute + p.compute_slices > g.compute_slices) continue;
    ++n[i];
    Brute(g, with_me, check_compute, slice + p.memory_slices, n, compute + p.compute_slices, out);
    --n[i];
  }
}

std::set<MigCounts> BruteForce(const MigGpu& g, bool with_me, bool check_compute = true) {
  std::set<MigCounts> out;
  std::vector<int> n(g.profiles.size(), 0);
  Brute(g, with_me, check_compute, 0, n, 0, &out);
  return out;
}

// The rules re-stated: valid starts, pairwise disjoint memory ranges, compute total, per-profile maximum.
bool IndependentlyValid(const MigGpu& g, const MigLayout& l) {
  int compute = 0;
  std::map<std::string, int> n;
  for (std::size_t i = 0; i < l.instances.size(); ++i) {
    const MigProfile* p = g.FindProfile(l.instances[i].profile);
    if (p == nullptr || !InList(p->placement_starts, l.instances[i].start)) return false;
    const int a0 = l.instances[i].start, a1 = a0 + p->memory_slices;
    if (a1 > g.memory_slices) return false;
    for (std::size_t j = 0; j < i; ++j) {
      const MigProfile* q = g.FindProfile(l.instances[j].profile);
      const int b0 = l.instances[j].start, b1 = b0 + q->memory_slices;
      if (std::max(a0, b0) < std::min(a1, b1)) return false;
    }
    compute += p->compute_slices;
    if (++n[l.instances[i].profile] > p->max_instances) return false;
  }
  return compute <= g.compute_slices;
}

// The simpler creation rule the header rejects: each plain create takes the highest free valid start.
std::vector<int> HighestFree(const MigGpu& g, const std::vector<std::string>& seq, bool* ok) {
  std::vector<bool> used(static_cast<std::size_t>(g.memory_slices), false);
  std::vector<int> out;
  *ok = true;
  for (const std::string& name : seq) {
    const MigProfile* p = g.FindProfile(name);
    int chosen = -1;
    for (int s : p->placement_starts) {
      bool free = true;
      for (int k = s; k < s + p->memory_slices; ++k) free = free && !used[static_cast<std::size_t>(k)];
      if (free) chosen = std::max(chosen, s);
    }
    if (chosen < 0) {
      *ok = false;
      return out;
    }
    for (int k = chosen; k < chosen + p->memory_slices; ++k) used[static_cast<std::size_t>(k)] = true;
    out.push_back(chosen);
  }
  return out;
}

// Largest first, written independently: memory slices then compute slices, descending.
std::vector<std::string> LargestFirst(const MigGpu& g, const MigCounts& c) {
  std::vector<std::pair<std::pair<int, int>, std::string>> v;
  for (const auto& [name, n] : c) {
    const MigProfile* p = g.FindProfile(name);
    for (int k = 0; k < n; ++k) v.push_back({{-p->memory_slices, -p->compute_slices}, name});
  }
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (auto& e : v) out.push_back(e.second);
  return out;
}

// ---- FindMigGpu ----

TEST(FindMigGpu, DcgmModelNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"NVIDIA A100-SXM4-80GB", "A100-80GB"}, {"NVIDIA A100 80GB PCIe", "A100-80GB"},
      {"NVIDIA A100-SXM4-40GB", "A100-40GB"}, {"NVIDIA A100-PCIE-40GB", "A100-40GB"},
      {"NVIDIA H100 80GB HBM3", "H100-80GB"}, {"NVIDIA H100 PCIe", "H100-80GB-PCIe"},
      {"NVIDIA H100 NVL", "H100-94GB-NVL"},   {"NVIDIA H200", "H200-141GB"},
      {"NVIDIA H200 NVL", "H200-141GB"},      {"NVIDIA A30", "A30-24GB"},
      {"nvidia a100-sxm4-80gb", "A100-80GB"}, {"  NVIDIA A30 ", "A30-24GB"},
  };
  for (const auto& [in, want] : cases) {
    const MigGpu* g = FindMigGpu(in);
    ASSERT_NE(g, nullptr) << in;
    EXPECT_EQ(g->name, want) << in;
  }
}

TEST(FindMigGpu, GfdProductLabels) {
  const std::pair<const char*, const char*> cases[] = {
      {"NVIDIA-A100-80GB-PCIe", "A100-80GB"},
      {"NVIDIA-A100-SXM4-40GB", "A100-40GB"},
      {"NVIDIA-H100-80GB-HBM3", "H100-80GB"},
      {"NVIDIA-A100-80GB-PCIe-MIG-1g.10gb", "A100-80GB"},  // the captured single-strategy label (facts 2.3)
      {"NVIDIA-A100-80GB-PCIe-MIG-2g.20gb", "A100-80GB"},
      {"NVIDIA-A100-SXM4-40GB-SHARED", "A100-40GB"},
      {"NVIDIA-H100-80GB-HBM3-MIG-3g.40gb-SHARED", "H100-80GB"},
      {"NVIDIA-H100-NVL-MIG-1g.12gb", "H100-94GB-NVL"},
      {"NVIDIA-H200-MIG-1g.18gbme", "H200-141GB"},
      {"NVIDIA-A30-MIG-1g.6gb", "A30-24GB"},
      {"NVIDIA-H100-PCIe", "H100-80GB-PCIe"},
  };
  for (const auto& [in, want] : cases) {
    const MigGpu* g = FindMigGpu(in);
    ASSERT_NE(g, nullptr) << in;
    EXPECT_EQ(g->name, want) << in;
  }
}

TEST(FindMigGpu, PciIds) {
  EXPECT_EQ(FindMigGpu("0x20B210DE")->name, "A100-80GB");
  EXPECT_EQ(FindMigGpu("0x20b2")->name, "A100-80GB");
  EXPECT_EQ(FindMigGpu("0x20B010DE")->name, "A100-40GB");
  EXPECT_EQ(FindMigGpu("0x233010DE")->name, "H100-80GB");
  EXPECT_EQ(FindMigGpu("0x233110DE")->name, "H100-80GB-PCIe");
  EXPECT_EQ(FindMigGpu("0x232110DE")->name, "H100-94GB-NVL");
  EXPECT_EQ(FindMigGpu("0x233B10DE")->name, "H200-141GB");
  EXPECT_EQ(FindMigGpu("0x20B710DE")->name, "A30-24GB");
  // Every id in the catalog finds its own GPU, and no id is listed twice.
  std::set<std::string> seen;
  for (const MigGpu& g : MigCatalog()) {
    for (std::string_view id : g.pci_device_ids) {
      EXPECT_TRUE(seen.insert(std::string(id)).second) << id;
      const MigGpu* found = FindMigGpu(id);
      ASSERT_NE(found, nullptr) << id;
      EXPECT_EQ(found, &g) << id;
    }
  }
}

TEST(FindMigGpu, NullForGpusWithoutMigOrAmbiguousOrOutsideTheCatalog) {
  for (const char* in : {"NVIDIA L4", "Tesla T4", "NVIDIA A10G", "NVIDIA-L4", "Tesla-T4", "NVIDIA A100",
                         "NVIDIA H20", "NVIDIA GH200 480GB", "NVIDIA H800", "NVIDIA B200", "NVIDIA H100",
                         "0x27B810DE", "0x1EB810DE", "0x232210DE", "", "0x", "0xZZZZ", "NVIDIA"}) {
    EXPECT_EQ(FindMigGpu(in), nullptr) << in;
  }
}

// ---- the table against the facts and against itself ----

TEST(MigCatalogTable, GeometryIsConsistent) {
  for (const MigGpu& g : MigCatalog()) {
    EXPECT_TRUE((g.memory_slices == 8 && g.compute_slices == 7) || (g.memory_slices == 4 && g.compute_slices == 4))
        << g.name;
    for (const MigProfile& p : g.profiles) {
      SCOPED_TRACE(std::string(g.name) + " " + std::string(p.name));
      // "<compute>g.<memory>gb" names.
      EXPECT_EQ(std::to_string(p.compute_slices) + "g.", std::string(p.name.substr(0, 3)));
      EXPECT_TRUE(std::is_sorted(p.placement_starts.begin(), p.placement_starts.end()));
      for (int s : p.placement_starts) EXPECT_LE(s + p.memory_slices, g.memory_slices);
      // max instances never exceeds what disjoint placements allow
      int disjoint = 0, end = -1;
      for (int s : p.placement_starts) {
        if (s >= end) {
          ++disjoint;
          end = s + p.memory_slices;
        }
      }
      EXPECT_LE(p.max_instances, disjoint);
      if (p.media_extensions()) {
        EXPECT_EQ(p.max_instances, 1);
      }
      EXPECT_TRUE(std::isnan(p.memory_gib) || (p.memory_gib > 0 && p.memory_gib < 141));
    }
  }
}

TEST(MigCatalogTable, KnownFacts) {
  // MIG UG -lgip on A100-SXM4-40GB: profile 9 is 3g.20gb, 19 is 1g.5gb, 14 is 2g.10gb, 5 is 4g.20gb.
  const MigGpu& a = Gpu("A100-40GB");
  EXPECT_EQ(a.FindProfile("3g.20gb")->gi_profile_id, 9);
  EXPECT_EQ(a.FindProfile("1g.5gb")->gi_profile_id, 19);
  EXPECT_EQ(a.FindProfile("2g.10gb")->gi_profile_id, 14);
  EXPECT_EQ(a.FindProfile("4g.20gb")->gi_profile_id, 5);
  // Facts 2.1: the UG lists A100-40GB 1g.10gb as 1/8 of memory, but -lgipp says size 2; the catalog uses 2.
  EXPECT_EQ(a.FindProfile("1g.10gb")->memory_slices, 2);
  EXPECT_FALSE(a.AnyInferred());
  // A100-80GB rests on inferred placements; its 1g.20gb GiB is unknown.
  const MigGpu& a80 = Gpu("A100-80GB");
  EXPECT_TRUE(std::isnan(a80.FindProfile("1g.20gb")->memory_gib));
  EXPECT_TRUE(a80.FindProfile("7g.80gb")->AnyInferred());
  EXPECT_FALSE(Gpu("H100-80GB").AnyInferred());
  EXPECT_FALSE(Gpu("H100-94GB-NVL").AnyInferred());
  EXPECT_EQ(Gpu("H100-94GB-NVL").FindProfile("3g.47gb")->sms, 60);  // captured nvidia-smi with 3g.47gb: 60 SMs
  EXPECT_EQ(Gpu("H100-80GB-PCIe").FindProfile("1g.10gb")->sms, 0);   // unknown on the 114-SM part
  EXPECT_TRUE(Gpu("H200-141GB").AnyInferred());
  EXPECT_EQ(Gpu("H200-141GB").FindProfile("4g.71gb")->sms, 0);
  // A30: 4 memory slices, profile 14 is 1g.6gb, 5 is 2g.12gb (captured -lgip).
  const MigGpu& a30 = Gpu("A30-24GB");
  EXPECT_EQ(a30.memory_slices, 4);
  EXPECT_EQ(a30.FindProfile("1g.6gb")->gi_profile_id, 14);
  EXPECT_EQ(a30.FindProfile("2g.12gb")->gi_profile_id, 5);
  EXPECT_EQ(a30.full_memory_mib, 24576);
}

TEST(MigCatalogTable, InferredFactsNameTheRow) {
  const MigGpu& a80 = Gpu("A100-80GB");
  const std::vector<std::string> f = InferredFacts(a80, {{"1g.20gb", 1}, {"2g.20gb", 0}});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0], "A100-80GB 1g.20gb: placements inferred, memory/SMs inferred");
  EXPECT_TRUE(AnyInferred(a80, L({{"2g.20gb", 0}})));
  EXPECT_FALSE(AnyInferred(Gpu("H100-80GB"), L({{"2g.20gb", 0}})));
  EXPECT_FALSE(AnyInferred(Gpu("H100-80GB"), L({{"no-such", 0}})));
}

// ---- Validate ----

// Synthetic GPUs for rules the real tables never trip (see ComputeLimitIsImpliedByPlacements).
constexpr int kFakeStarts1[] = {0, 1, 2, 3};
constexpr int kFakeStart0[] = {0};
constexpr MigProfile kFakeProfiles[] = {
    {"1g.1gb", 1, 1, 1, 1.0, 1, 4, kFakeStarts1, Confidence::kDoc, Confidence::kDoc, Confidence::kDoc},
    {"2g.2gb", 2, 2, 2, 2.0, 2, 2, kFakeStart0, Confidence::kDoc, Confidence::kDoc, Confidence::kDoc},
};
constexpr std::string_view kFakeIds[] = {"0x000010DE"};
const MigGpu kFakeLowCompute{"Fake-3c", kFakeIds, 4, 3, 0, 0, kFakeProfiles, "test"};
const MigGpu kFakeOneStart{"Fake-4c", kFakeIds, 4, 4, 0, 0, kFakeProfiles, "test"};

TEST(Validate, AcceptsTheUserGuideLayouts) {
  const MigGpu& a = Gpu("A100-40GB");
  // -lgi of `-cgi 9,19,14,19`, `-cgi 19,14,5` and the 2-1-1-1-1-1 example.
  EXPECT_TRUE(Validate(a, L({{"3g.20gb", 4}, {"1g.5gb", 0}, {"2g.10gb", 2}, {"1g.5gb", 1}})).ok());
  EXPECT_TRUE(Validate(a, L({{"1g.5gb", 6}, {"2g.10gb", 4}, {"4g.20gb", 0}})).ok());
  EXPECT_TRUE(Validate(a, L({{"4g.20gb", 0}, {"3g.20gb", 4}})).ok());  // 4g+3g valid since R510 (facts 2.1)
  EXPECT_TRUE(Validate(a, L({})).ok());
}

TEST(Validate, NamesTheFirstBrokenRule) {
  const MigGpu& a = Gpu("A100-40GB");
  EXPECT_THAT(Validate(a, L({{"9g.10gb", 0}})).message(), HasSubstr("\"9g.10gb\" is not a profile of A100-40GB"));
  EXPECT_THAT(Validate(a, L({{"3g.20gb", 2}})).message(),
              HasSubstr("instance 1 (3g.20gb@2): start 2 is not a valid placement (3g.20gb {0,4}:4)"));
  EXPECT_THAT(Validate(a, L({{"2g.10gb", 2}, {"3g.20gb", 0}})).message(),
              HasSubstr("instance 2 (3g.20gb@0): memory slices [0,4) overlap instance 1 (2g.10gb@2, [2,4))"));
  EXPECT_THAT(Validate(a, L({{"4g.20gb", 0}, {"4g.20gb", 4}})).message(), HasSubstr("not a valid placement"));
  EXPECT_THAT(Validate(a, L({{"1g.5gb+me", 0}, {"1g.5gb+me", 1}})).message(),
              HasSubstr("instance 2 (1g.5gb+me@1): more than 1 x 1g.5gb+me"));
  EXPECT_THAT(Validate(kFakeLowCompute, L({{"1g.1gb", 0}, {"1g.1gb", 1}, {"1g.1gb", 2}, {"1g.1gb", 3}})).message(),
              HasSubstr("instance 4 (1g.1gb@3): compute slices 4 > 3"));
  // The first broken rule wins: instance 1 is fine, instance 2 breaks placement before anything else.
  EXPECT_THAT(Validate(a, L({{"7g.40gb", 0}, {"3g.20gb", 1}, {"nope", 0}})).message(), HasSubstr("instance 2"));
  EXPECT_EQ(Validate(a, L({{"9g.10gb", 0}})).code(), base::Code::kInvalidArgument);
}

TEST(Validate, ImplicitCreationOrder) {
  const MigGpu& a = Gpu("A100-40GB");
  // The UG's -lgi outputs, in their creation order, are what plain creates give.
  EXPECT_TRUE(Validate(a, L({{"3g.20gb", 4}, {"1g.5gb", 0}, {"2g.10gb", 2}, {"1g.5gb", 1}}),
                       MigCreation::kImplicitPlacement).ok());
  EXPECT_TRUE(Validate(a, L({{"1g.5gb", 6}, {"2g.10gb", 4}, {"4g.20gb", 0}}), MigCreation::kImplicitPlacement).ok());
  // The same placements created 3g last: the 1g would go to 6 first.
  const base::Status s = Validate(a, L({{"1g.5gb", 0}, {"1g.5gb", 1}, {"2g.10gb", 2}, {"3g.20gb", 4}}),
                                  MigCreation::kImplicitPlacement);
  EXPECT_THAT(s.message(), HasSubstr("instance 1 (1g.5gb@0): created in this order without a placement, the driver "
                                     "would place it at 6"));
  EXPECT_THAT(s.message(), HasSubstr("-cgi 19:0"));
  // Explicit creation accepts the same layout.
  EXPECT_TRUE(Validate(a, L({{"1g.5gb", 0}, {"1g.5gb", 1}, {"2g.10gb", 2}, {"3g.20gb", 4}})).ok());
}

// ---- SimulateCreation: the inferred driver model against every observation we have ----

TEST(SimulateCreation, ReproducesTheUserGuideAndTheA30Capture) {
  const MigGpu& a = Gpu("A100-40GB");
  {  // `-cgi 19,19,14,9`: GI ids 13, 11, 3 = starts 6, 4, 0; then "Insufficient Resources".
    const std::vector<std::string> seq = {"1g.5gb", "1g.5gb", "2g.10gb", "3g.20gb"};
    const MigCreationResult r = SimulateCreation(a, seq);
    EXPECT_FALSE(r.status.ok());
    EXPECT_THAT(r.status.message(), HasSubstr("step 4 (3g.20gb): Insufficient Resources"));
    EXPECT_EQ(Starts(r.created), (std::vector<int>{6, 4, 0}));
  }
  {  // `-cgi 9,19,14,19` -> -lgi 3g 4:4, 1g 0:1, 2g 2:2, 1g 1:1.
    const std::vector<std::string> seq = {"3g.20gb", "1g.5gb", "2g.10gb", "1g.5gb"};
    const MigCreationResult r = SimulateCreation(a, seq);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(Starts(r.created), (std::vector<int>{4, 0, 2, 1}));
  }
  {  // `-cgi 19,14,5` -> 6:1, 4:2, 0:4.
    const std::vector<std::string> seq = {"1g.5gb", "2g.10gb", "4g.20gb"};
    EXPECT_EQ(Starts(SimulateCreation(a, seq).created), (std::vector<int>{6, 4, 0}));
  }
  {  // `-cgi 14,19,19,19,19,19` -> 4:2, 6:1, 0:1, 1:1, 2:1, 3:1.
    const std::vector<std::string> seq = {"2g.10gb", "1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb"};
    EXPECT_EQ(Starts(SimulateCreation(a, seq).created), (std::vector<int>{4, 6, 0, 1, 2, 3}));
  }
  {  // A30 capture: -cgi 14, 14, 5 -> 0:1, 1:1, 2:2.
    const std::vector<std::string> seq = {"1g.6gb", "1g.6gb", "2g.12gb"};
    const MigCreationResult r = SimulateCreation(Gpu("A30-24GB"), seq);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(Starts(r.created), (std::vector<int>{0, 1, 2}));
  }
}

// Why the header does not use "highest free start": it explains which UG sequence fails, not where instances land.
TEST(SimulateCreation, HighestFreeStartExplainsOutcomesButNotPlacements) {
  const MigGpu& a = Gpu("A100-40GB");
  bool ok = true;
  HighestFree(a, {"1g.5gb", "1g.5gb", "2g.10gb", "3g.20gb"}, &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(HighestFree(a, {"3g.20gb", "1g.5gb", "2g.10gb", "1g.5gb"}, &ok), (std::vector<int>{4, 3, 0, 2}));
  EXPECT_TRUE(ok);  // succeeds, but the UG's -lgi shows 4, 0, 2, 1
  EXPECT_NE(HighestFree(a, {"2g.10gb", "1g.5gb", "1g.5gb"}, &ok), (std::vector<int>{4, 6, 0}));
  EXPECT_NE(HighestFree(Gpu("A30-24GB"), {"1g.6gb"}, &ok), (std::vector<int>{0}));
}

TEST(SimulateCreation, Errors) {
  const MigGpu& a = Gpu("A100-40GB");
  const std::vector<std::string> unknown = {"1g.5gb", "bogus"};
  EXPECT_THAT(SimulateCreation(a, unknown).status.message(), HasSubstr("step 2 (bogus): \"bogus\" is not a profile of A100-40GB"));
  const std::vector<std::string> twice = {"1g.5gb+me", "1g.5gb+me"};
  EXPECT_THAT(SimulateCreation(a, twice).status.message(), HasSubstr("at most 1 per GPU"));
  const std::vector<std::string> over = {"1g.1gb", "1g.1gb", "1g.1gb", "1g.1gb"};
  EXPECT_THAT(SimulateCreation(kFakeLowCompute, over).status.message(), HasSubstr("compute slices 4 > 3"));
}

// ---- PlaceCounts ----

TEST(PlaceCounts, KnownFacts) {
  const MigGpu& a = Gpu("A100-40GB");
  for (const MigCounts& ok : std::vector<MigCounts>{{{"1g.5gb", 2}, {"2g.10gb", 1}, {"3g.20gb", 1}},  // all-balanced
                                                    {{"1g.5gb", 7}},
                                                    {{"4g.20gb", 1}, {"3g.20gb", 1}},
                                                    {{"1g.10gb", 4}},
                                                    {{"2g.10gb", 3}, {"1g.10gb", 1}},
                                                    {{"4g.20gb", 1}, {"2g.10gb", 1}, {"1g.10gb", 1}},
                                                    {{"7g.40gb", 1}, {"1g.5gb", 0}}}) {
    base::Result<MigLayout> l = PlaceCounts(a, ok);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_TRUE(IndependentlyValid(a, *l));
    MigCounts want = ok;
    std::erase_if(want, [](const auto& kv) { return kv.second == 0; });
    EXPECT_EQ(CountsOf(*l), want);
  }
  EXPECT_THAT(PlaceCounts(a, {{"4g.20gb", 2}}).status().message(), HasSubstr("2 x 4g.20gb: at most 1 per GPU"));
  EXPECT_THAT(PlaceCounts(a, {{"3g.20gb", 2}, {"1g.5gb", 1}}).status().message(), HasSubstr("memory slices 9 > 8"));
  EXPECT_THAT(PlaceCounts(a, {{"4g.20gb", 1}, {"1g.5gb", 4}}).status().message(), HasSubstr("compute slices 8 > 7"));
  EXPECT_THAT(PlaceCounts(a, {{"9g.10gb", 1}}).status().message(),
              HasSubstr("\"9g.10gb\" is not a profile of A100-40GB"));
  // Passes every count check but has no placement: two 2g.2gb that can only start at 0.
  EXPECT_THAT(PlaceCounts(kFakeOneStart, {{"2g.2gb", 2}}).status().message(),
              HasSubstr("no placement without overlap on Fake-4c: 2 x 2g.2gb at {0}:2"));
  // The A30 balanced config (mig-parted all-balanced).
  EXPECT_TRUE(PlaceCounts(Gpu("A30-24GB"), {{"1g.6gb", 2}, {"2g.12gb", 1}}).ok());
  EXPECT_FALSE(PlaceCounts(Gpu("A30-24GB"), {{"2g.12gb", 2}, {"1g.6gb", 1}}).ok());
}

// PlaceCounts succeeds exactly on the multisets the brute force finds, for every count vector within the limits.
TEST(PlaceCounts, AgreesWithBruteForceOnEveryCountVector) {
  for (const MigGpu& g : MigCatalog()) {
    const std::set<MigCounts> valid = BruteForce(g, /*with_me=*/true);
    std::vector<int> n(g.profiles.size(), 0);
    int checked = 0;
    auto rec = [&](auto&& self, std::size_t i, int memory) -> void {
      if (i == g.profiles.size()) {
        MigCounts c;
        for (std::size_t k = 0; k < n.size(); ++k) {
          if (n[k] > 0) c[std::string(g.profiles[k].name)] = n[k];
        }
        if (c.empty()) return;
        ++checked;
        base::Result<MigLayout> l = PlaceCounts(g, c);
        EXPECT_EQ(l.ok(), valid.count(c) == 1) << g.name << " " << ::testing::PrintToString(c);
        if (l.ok()) {
          EXPECT_TRUE(IndependentlyValid(g, *l)) << g.name;
          EXPECT_EQ(CountsOf(*l), c);
        }
        return;
      }
      for (int k = 0; k <= g.profiles[i].max_instances && memory + k * g.profiles[i].memory_slices <= 16; ++k) {
        n[i] = k;
        self(self, i + 1, memory + k * g.profiles[i].memory_slices);
      }
      n[i] = 0;
    };
    rec(rec, 0, 0);
    EXPECT_GT(checked, 100) << g.name;
  }
}

// ---- EnumerateLayouts ----

TEST(EnumerateLayouts, MatchesBruteForceOverMemorySlices) {
  for (const MigGpu& g : MigCatalog()) {
    for (bool me : {false, true}) {
      SCOPED_TRACE(std::string(g.name) + (me ? " with +me" : ""));
      const std::vector<MigLayoutOption> got = EnumerateLayouts(g, {.include_media_extensions = me});
      const std::set<MigCounts> want = BruteForce(g, me);
      std::set<MigCounts> got_counts;
      for (const MigLayoutOption& o : got) {
        EXPECT_TRUE(got_counts.insert(o.counts).second) << "duplicate";
        EXPECT_EQ(CountsOf(o.layout), o.counts);
        EXPECT_TRUE(IndependentlyValid(g, o.layout));
        EXPECT_TRUE(Validate(g, o.layout).ok());
        // Maximal, checked against the brute-force set: nothing more of any considered profile fits.
        bool extendable = false;
        for (const MigProfile& p : g.profiles) {
          if (!me && p.media_extensions()) continue;
          MigCounts more = o.counts;
          ++more[std::string(p.name)];
          extendable = extendable || want.count(more) == 1;
        }
        EXPECT_EQ(o.maximal, !extendable) << ::testing::PrintToString(o.counts);
        EXPECT_EQ(o.relies_on_inferred, g.AnyInferred());  // every row of a GPU shares its confidence here
        int mem = 0;
        for (const MigInstance& i : o.layout.instances) mem += g.FindProfile(i.profile)->memory_slices;
        EXPECT_EQ(o.memory_slices, mem);
      }
      EXPECT_EQ(got_counts, want);
    }
  }
}

TEST(EnumerateLayouts, KnownA100Facts) {
  const MigGpu& a = Gpu("A100-40GB");
  const std::vector<MigLayoutOption> all = EnumerateLayouts(a);
  auto find = [&](const MigCounts& c) -> const MigLayoutOption* {
    for (const MigLayoutOption& o : all) {
      if (o.counts == c) return &o;
    }
    return nullptr;
  };
  ASSERT_NE(find({{"1g.5gb", 2}, {"2g.10gb", 1}, {"3g.20gb", 1}}), nullptr);
  EXPECT_TRUE(find({{"1g.5gb", 2}, {"2g.10gb", 1}, {"3g.20gb", 1}})->maximal);
  ASSERT_NE(find({{"1g.5gb", 7}}), nullptr);
  EXPECT_TRUE(find({{"1g.5gb", 7}})->maximal);
  ASSERT_NE(find({{"4g.20gb", 1}, {"3g.20gb", 1}}), nullptr);
  ASSERT_NE(find({{"3g.20gb", 1}}), nullptr);
  EXPECT_FALSE(find({{"3g.20gb", 1}})->maximal);
  EXPECT_EQ(find({{"3g.20gb", 2}, {"1g.5gb", 1}}), nullptr);
  EXPECT_EQ(find({{"4g.20gb", 2}}), nullptr);
  EXPECT_EQ(find({{"1g.5gb+me", 1}}), nullptr);  // excluded by default
  for (const MigLayoutOption& o : all) EXPECT_FALSE(o.relies_on_inferred);
}

// The compute limit never binds on the catalog GPUs: placements alone keep every layout within it.
TEST(EnumerateLayouts, ComputeLimitIsImpliedByPlacements) {
  for (const MigGpu& g : MigCatalog()) {
    for (const MigCounts& c : BruteForce(g, true, /*check_compute=*/false)) {
      int compute = 0;
      for (const auto& [name, n] : c) compute += n * g.FindProfile(name)->compute_slices;
      EXPECT_LE(compute, g.compute_slices) << g.name << " " << ::testing::PrintToString(c);
    }
  }
}

// ---- CreationOrder ----

// Largest-first plain creates succeed for every layout of every GPU; CreationOrder finds an order landing exactly on
// the layout PlaceCounts chose, and its explicit -cgi list spells that layout.
TEST(CreationOrder, LargestFirstWorksForEveryEnumeratedLayout) {
  for (const MigGpu& g : MigCatalog()) {
    for (const MigLayoutOption& o : EnumerateLayouts(g, {.include_media_extensions = true})) {
      const std::vector<std::string> order = LargestFirst(g, o.counts);
      const MigCreationResult r = SimulateCreation(g, order);
      EXPECT_TRUE(r.status.ok()) << g.name << " " << ::testing::PrintToString(o.counts) << ": "
                                 << r.status.ToString();
      base::Result<MigCreationPlan> plan = CreationOrder(g, o.layout);
      ASSERT_TRUE(plan.ok());
      EXPECT_TRUE(plan->implicit_ok);
      EXPECT_TRUE(plan->implicit_lands_on_layout);
      EXPECT_EQ(CountsOf(plan->implicit_lands), o.counts);
      // explicit_cgi: "<id>:<start>" per instance in layout order.
      std::string want;
      for (const MigInstance& i : o.layout.instances) {
        want += (want.empty() ? "" : ",") + std::to_string(g.FindProfile(i.profile)->gi_profile_id) + ":" +
                std::to_string(i.start);
      }
      EXPECT_EQ(plan->explicit_cgi, want);
    }
  }
}

TEST(CreationOrder, FindsAnOrderForTheUserGuideGeometry) {
  const MigGpu& a = Gpu("A100-40GB");
  // The UG 3-2-1-1 layout listed in slice order: plain creates in this order would fail.
  const MigLayout layout = L({{"1g.5gb", 0}, {"1g.5gb", 1}, {"2g.10gb", 2}, {"3g.20gb", 4}});
  base::Result<MigCreationPlan> plan = CreationOrder(a, layout);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->explicit_cgi, "19:0,19:1,14:2,9:4");
  ASSERT_TRUE(plan->implicit_ok);
  EXPECT_TRUE(plan->implicit_lands_on_layout);
  EXPECT_EQ(plan->implicit_order.front(), "3g.20gb");  // the UG's advice: 3g first
  const MigCreationResult again = SimulateCreation(a, plan->implicit_order);
  ASSERT_TRUE(again.status.ok());
  std::multiset<std::pair<std::string, int>> got, want;
  for (const MigInstance& i : again.created.instances) got.emplace(i.profile, i.start);
  for (const MigInstance& i : layout.instances) want.emplace(i.profile, i.start);
  EXPECT_EQ(got, want);
  // A lone 1g.5gb at 0 cannot be reached by a plain create (the driver picks 6): still creatable explicitly.
  base::Result<MigCreationPlan> lone = CreationOrder(a, L({{"1g.5gb", 0}}));
  ASSERT_TRUE(lone.ok());
  EXPECT_TRUE(lone->implicit_ok);
  EXPECT_FALSE(lone->implicit_lands_on_layout);
  EXPECT_EQ(lone->implicit_cgi, "19");
  EXPECT_EQ(lone->explicit_cgi, "19:0");
  EXPECT_FALSE(CreationOrder(a, L({{"3g.20gb", 1}})).ok());
}

// ---- names ----

TEST(ResourceNames, MixedStrategyBothWays) {
  EXPECT_EQ(MixedStrategyResource("1g.10gb+me"), "nvidia.com/mig-1g.10gb.me");
  EXPECT_EQ(MixedStrategyResource("3g.40gb"), "nvidia.com/mig-3g.40gb");
  EXPECT_EQ(ProfileFromMixedStrategyResource("nvidia.com/mig-1g.10gb.me")->profile, "1g.10gb+me");
  EXPECT_EQ(ProfileFromMixedStrategyResource("nvidia.com/mig-3g.40gb")->profile, "3g.40gb");
  EXPECT_FALSE(ProfileFromMixedStrategyResource("nvidia.com/mig-3g.40gb")->shared);
  const base::Result<MixedResource> shared = ProfileFromMixedStrategyResource("nvidia.com/mig-1g.10gb.shared");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->profile, "1g.10gb");
  EXPECT_TRUE(shared->shared);
  // Blackwell-style names in mig-parted's config ("1g.24gb+me.all", "1g.24gb-me").
  EXPECT_EQ(ProfileFromMixedStrategyResource("nvidia.com/mig-1g.24gb.me.all")->profile, "1g.24gb+me.all");
  EXPECT_EQ(ProfileFromMixedStrategyResource("nvidia.com/mig-1g.24gb-me")->profile, "1g.24gb-me");
  for (const char* bad : {"nvidia.com/gpu", "nvidia.com/mig-", "nvidia.com/mig-foo", "nvidia.com/mig-1g.10gb.",
                          "nvidia.com/mig-1g.10gbx", "nvidia.com/mig-g.10gb", "amd.com/mig-1g.10gb"}) {
    EXPECT_FALSE(ProfileFromMixedStrategyResource(bad).ok()) << bad;
  }
  for (const MigGpu& g : MigCatalog()) {
    for (const MigProfile& p : g.profiles) {
      const std::string r = MixedStrategyResource(p.name);
      EXPECT_EQ(r.find('+'), std::string::npos);
      EXPECT_EQ(ProfileFromMixedStrategyResource(r)->profile, p.name);
    }
  }
}

TEST(ResourceNames, GfdProductLabel) {
  // Captured labels (facts 2.3): single strategy on A100 80GB PCIe, and the mixed-strategy parent.
  EXPECT_EQ(GfdProductLabel("NVIDIA A100 80GB PCIe", "1g.10gb", false), "NVIDIA-A100-80GB-PCIe-MIG-1g.10gb");
  EXPECT_EQ(GfdProductLabel("NVIDIA A100 80GB PCIe", "", false), "NVIDIA-A100-80GB-PCIe");
  EXPECT_EQ(GfdProductLabel("NVIDIA A100-SXM4-40GB", "", true), "NVIDIA-A100-SXM4-40GB-SHARED");
  EXPECT_EQ(GfdProductLabel("NVIDIA H100 80GB HBM3", "1g.10gb+me", false), "NVIDIA-H100-80GB-HBM3-MIG-1g.10gbme");
  EXPECT_EQ(SingleStrategyProductSuffix("3g.40gb"), "-MIG-3g.40gb");
  for (const char* model : {"NVIDIA A100 80GB PCIe", "NVIDIA H100 NVL", "NVIDIA A30", "NVIDIA H200"}) {
    const MigGpu* g = FindMigGpu(model);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(FindMigGpu(GfdProductLabel(model, g->profiles[0].name, true)), g) << model;
  }
}

// ---- properties ----

RC_GTEST_PROP(MigCatalogProperty, PlaceCountsResultsValidate, ()) {
  const auto catalog = MigCatalog();
  const MigGpu& g = catalog[*rc::gen::inRange<std::size_t>(0, catalog.size())];
  MigCounts c;
  for (const MigProfile& p : g.profiles) {
    const int n = *rc::gen::inRange(0, p.max_instances + 1);
    if (n > 0 && *rc::gen::inRange(0, 3) == 0) c[std::string(p.name)] = n;
  }
  base::Result<MigLayout> l = PlaceCounts(g, c);
  if (!l.ok()) {
    RC_ASSERT(!l.status().message().empty());
    return;
  }
  RC_ASSERT(Validate(g, *l).ok());
  RC_ASSERT(Validate(g, *l, MigCreation::kImplicitPlacement).ok());  // PlaceCounts prefers driver-reachable layouts
  RC_ASSERT(IndependentlyValid(g, *l));
  RC_ASSERT(CountsOf(*l) == c);
}

RC_GTEST_PROP(MigCatalogProperty, ValidateAgreesWithIndependentRules, ()) {
  const auto catalog = MigCatalog();
  const MigGpu& g = catalog[*rc::gen::inRange<std::size_t>(0, catalog.size())];
  const int n = *rc::gen::inRange(0, 9);
  MigLayout l;
  for (int k = 0; k < n; ++k) {
    const MigProfile& p = g.profiles[*rc::gen::inRange<std::size_t>(0, g.profiles.size())];
    // Mostly valid starts, sometimes anything.
    const int start = *rc::gen::inRange(0, 4) == 0
                          ? *rc::gen::inRange(-1, 9)
                          : p.placement_starts[*rc::gen::inRange<std::size_t>(0, p.placement_starts.size())];
    l.instances.push_back({std::string(p.name), start});
  }
  const bool ok = Validate(g, l).ok();
  RC_ASSERT(ok == IndependentlyValid(g, l));
  if (ok) {
    // No two instances share a memory slice; compute within the total.
    std::vector<int> owner(static_cast<std::size_t>(g.memory_slices), -1);
    int compute = 0;
    for (std::size_t i = 0; i < l.instances.size(); ++i) {
      const MigProfile* p = g.FindProfile(l.instances[i].profile);
      compute += p->compute_slices;
      for (int s = l.instances[i].start; s < l.instances[i].start + p->memory_slices; ++s) {
        RC_ASSERT(owner[static_cast<std::size_t>(s)] == -1);
        owner[static_cast<std::size_t>(s)] = static_cast<int>(i);
      }
    }
    RC_ASSERT(compute <= g.compute_slices);
  }
}

RC_GTEST_PROP(MigCatalogProperty, SimulatedCreationValidates, ()) {
  const auto catalog = MigCatalog();
  const MigGpu& g = catalog[*rc::gen::inRange<std::size_t>(0, catalog.size())];
  const int n = *rc::gen::inRange(1, 9);
  std::vector<std::string> seq;
  for (int k = 0; k < n; ++k) seq.emplace_back(g.profiles[*rc::gen::inRange<std::size_t>(0, g.profiles.size())].name);
  const MigCreationResult r = SimulateCreation(g, seq);
  RC_ASSERT(r.created.instances.size() <= seq.size());
  RC_ASSERT(r.status.ok() == (r.created.instances.size() == seq.size()));
  RC_ASSERT(Validate(g, r.created, MigCreation::kImplicitPlacement).ok());
  RC_ASSERT(IndependentlyValid(g, r.created));
  for (std::size_t k = 0; k < r.created.instances.size(); ++k) RC_ASSERT(r.created.instances[k].profile == seq[k]);
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
