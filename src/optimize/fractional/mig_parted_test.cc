#include "optimize/fractional/mig_parted.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "optimize/fractional/device_plugin_config.h"

namespace gpuwise::optimize::fractional {
namespace {

using ::testing::HasSubstr;

MigPartedEntry Entry(std::vector<std::string> filter, MigCounts devices, bool enabled = true) {
  MigPartedEntry e;
  e.device_filter = std::move(filter);
  e.mig_enabled = enabled;
  e.mig_devices = std::move(devices);
  return e;
}

TEST(MigParted, EntryPath) { EXPECT_EQ(EntryPath("custom-config", 1), "mig-configs.custom-config[1]"); }

TEST(MigParted, FilterNamesCatalogGpus) {
  // mig-parted's 80GB-class filter (config-default.yaml all-1g.10gb): H100 SXM5 and PCIe, H800 (not in the
  // catalog), A100/A800 80GB.
  const MigPartedEntry e = Entry({"0x233010DE", "0x233110DE", "0x232210DE", "0x20B210DE", "0x20B510DE", "0x20F310DE",
                                  "0x20F510DE", "0x232410DE"},
                                 {{"1g.10gb", 7}});
  std::vector<std::string> names;
  for (const MigGpu* g : FilterGpus(e)) names.emplace_back(g->name);
  EXPECT_EQ(names, (std::vector<std::string>{"A100-80GB", "H100-80GB", "H100-80GB-PCIe"}));
  EXPECT_EQ(UnknownFilterIds(e), (std::vector<std::string>{"0x232210DE", "0x232410DE"}));
  EXPECT_EQ(FilterGpus(Entry({}, {})).size(), MigCatalog().size());  // no filter: every GPU
  EXPECT_TRUE(EntryAppliesTo(Entry({"0x20b710de"}, {}), *FindMigGpu("NVIDIA A30")));  // ids compare without case
}

TEST(MigParted, EntryLayoutErrorsNameConfigEntryAndKey) {
  const MigGpu& a40 = *FindMigGpu("NVIDIA A100-SXM4-40GB");
  const std::string path = EntryPath("custom-config", 1);
  base::Result<MigLayout> bad = EntryLayout(a40, Entry({}, {{"9g.10gb", 1}}), path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "mig-configs.custom-config[1].mig-devices: \"9g.10gb\" is not a profile of A100-40GB");
  EXPECT_THAT(EntryLayout(a40, Entry({}, {{"3g.20gb", 3}}), path).status().message(),
              HasSubstr("mig-configs.custom-config[1].mig-devices: 3 x 3g.20gb: at most 2 per GPU"));
  EXPECT_THAT(EntryLayout(a40, Entry({"0x20B210DE"}, {{"1g.10gb", 7}}), path).status().message(),
              HasSubstr("mig-configs.custom-config[1].device-filter: does not name A100-40GB"));
  EXPECT_THAT(EntryLayout(a40, Entry({}, {{"1g.5gb", 1}}, /*enabled=*/false), path).status().message(),
              HasSubstr(".mig-devices: MIG devices included when mig-enabled is false"));
  // MIG off, or on with no devices: an empty layout.
  EXPECT_TRUE(EntryLayout(a40, Entry({}, {}, false), path)->instances.empty());
  EXPECT_TRUE(EntryLayout(a40, Entry({}, {}, true), path)->instances.empty());
}

TEST(MigParted, SameCountsMeanDifferentThingsOnDifferentGpus) {
  // "1g.10gb": 7 is the whole 80GB GPU but impossible on A100-40GB (where 1g.10gb takes two slices).
  const MigPartedEntry e = Entry({}, {{"1g.10gb", 7}});
  EXPECT_TRUE(EntryLayout(*FindMigGpu("NVIDIA H100 80GB HBM3"), e, "x").ok());
  EXPECT_FALSE(EntryLayout(*FindMigGpu("NVIDIA A100-SXM4-40GB"), e, "x").ok());
}

TEST(MigParted, LayoutToEntryAndBack) {
  const MigGpu& h100 = *FindMigGpu("NVIDIA H100 80GB HBM3");
  const MigLayout layout{{{"3g.40gb", 4}, {"2g.20gb", 0}, {"1g.10gb", 2}, {"1g.10gb", 3}}};
  ASSERT_TRUE(Validate(h100, layout).ok());
  const MigPartedEntry e = LayoutEntry(h100, layout);
  EXPECT_EQ(e.device_filter, (std::vector<std::string>{"0x233010DE"}));
  EXPECT_TRUE(e.all_devices);
  EXPECT_TRUE(e.mig_enabled);
  EXPECT_EQ(e.mig_devices, (MigCounts{{"1g.10gb", 2}, {"2g.20gb", 1}, {"3g.40gb", 1}}));
  base::Result<MigLayout> back = EntryLayout(h100, e, "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(CountsOf(*back), CountsOf(layout));
  const MigPartedEntry on_two = LayoutEntry(h100, layout, {0, 3});
  EXPECT_FALSE(on_two.all_devices);
  EXPECT_EQ(on_two.devices, (std::vector<int>{0, 3}));
}

TEST(MigParted, CheckFilteredEntriesSkipsUnfilteredAndUnknownIds) {
  MigPartedSpec spec;
  spec.configs.push_back({"all-balanced",
                          {Entry({"0x294110DE"}, {{"1g.23gb", 2}}),  // GB200: not in the catalog
                           Entry({"0x20B010DE", "0x20B110DE"}, {{"1g.5gb", 2}, {"2g.10gb", 1}, {"3g.20gb", 1}}),
                           Entry({"0x20B710DE"}, {{"1g.6gb", 2}, {"2g.12gb", 2}})}});  // too much for an A30
  spec.configs.push_back({"all-1g.5gb", {Entry({}, {{"1g.5gb", 7}})}});
  const std::vector<MigPartedCheck> checks = CheckFilteredEntries(spec);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].path, "mig-configs.all-balanced[1]");
  EXPECT_EQ(checks[0].gpu->name, "A100-40GB");
  EXPECT_TRUE(checks[0].status.ok());
  EXPECT_FALSE(checks[0].relies_on_inferred);
  EXPECT_EQ(checks[1].path, "mig-configs.all-balanced[2]");
  EXPECT_THAT(checks[1].status.message(), HasSubstr("mig-configs.all-balanced[2].mig-devices: "));
  EXPECT_NE(spec.Find("all-1g.5gb"), nullptr);
  EXPECT_EQ(spec.Find("nope"), nullptr);
}

TEST(DevicePluginConfig, ActiveSharingFollowsThePlugin) {
  DevicePluginConfig c;
  EXPECT_EQ(c.ActiveSharing(), SharingStrategy::kNone);
  c.time_slicing = ReplicatedResources{{}, {}, {{"nvidia.com/gpu", 1}}};
  EXPECT_EQ(c.ActiveSharing(), SharingStrategy::kNone);  // one replica shares nothing
  c.time_slicing->resources[0].replicas = 4;
  EXPECT_EQ(c.ActiveSharing(), SharingStrategy::kTimeSlicing);
  c.mps = ReplicatedResources{{}, {}, {{"nvidia.com/gpu", 2}}};
  EXPECT_EQ(c.ActiveSharing(), SharingStrategy::kMps);  // sharing.go: MPS first
  EXPECT_EQ(SharingStrategyName(c.ActiveSharing()), "mps");
  EXPECT_EQ(MigStrategyName(MigStrategy::kMixed), "mixed");
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
