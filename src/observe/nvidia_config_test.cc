#include "observe/nvidia_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace gpuwise::observe {
namespace {

namespace fr = optimize::fractional;
using ::testing::HasSubstr;

// The shared reference folder (CTest sets GPUWISE_SHARED); empty when absent.
std::string SharedFile(const std::string& rel) {
  const char* root = std::getenv("GPUWISE_SHARED");
  if (root == nullptr) return "";
  std::ifstream in(std::string(root) + "/" + rel, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

#define READ_SHARED_OR_SKIP(var, rel)                                   \
  const std::string var = SharedFile(rel);                              \
  if (var.empty()) GTEST_SKIP() << "GPUWISE_SHARED/" << rel << " not readable"

std::string Message(const base::Result<fr::MigPartedSpec>& r) { return r.ok() ? "OK" : r.status().message(); }

const fr::MigPartedSpec& CheckRoundTrip(const fr::MigPartedSpec& spec) {
  const std::string text = RenderMigPartedConfig(spec);
  base::Result<fr::MigPartedSpec> again = ParseMigPartedConfig(text, "rendered.yaml");
  EXPECT_TRUE(again.ok()) << again.status().ToString() << "\n" << text;
  if (again.ok()) {
    EXPECT_EQ(*again, spec) << text;
  }
  return spec;
}

// Every filtered entry places on every catalog GPU its filter names; returns GPU name -> entries checked.
std::map<std::string, int> CheckFiltered(const fr::MigPartedSpec& spec) {
  std::map<std::string, int> per_gpu;
  for (const fr::MigPartedCheck& c : fr::CheckFilteredEntries(spec)) {
    EXPECT_TRUE(c.status.ok()) << c.path << " on " << c.gpu->name << ": " << c.status.ToString();
    EXPECT_TRUE(fr::Validate(*c.gpu, c.layout).ok()) << c.path;
    EXPECT_EQ(c.relies_on_inferred, c.gpu->AnyInferred() && !c.layout.instances.empty()) << c.path;
    ++per_gpu[std::string(c.gpu->name)];
  }
  return per_gpu;
}

// Unfiltered entries: on every catalog GPU that has all the profiles they name, they place (mig-parted applies
// them to any GPU; the config's comments say which models each is for).
int CheckUnfiltered(const fr::MigPartedSpec& spec) {
  int checked = 0;
  for (const fr::MigPartedConfig& c : spec.configs) {
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      const fr::MigPartedEntry& e = c.entries[i];
      if (!e.device_filter.empty() || e.mig_devices.empty()) continue;
      for (const fr::MigGpu& g : fr::MigCatalog()) {
        bool all_known = true;
        for (const auto& [profile, n] : e.mig_devices) all_known = all_known && g.FindProfile(profile) != nullptr;
        if (!all_known) continue;
        base::Result<fr::MigLayout> l = fr::EntryLayout(g, e, fr::EntryPath(c.name, i));
        EXPECT_TRUE(l.ok()) << g.name << ": " << l.status().ToString();
        ++checked;
      }
    }
  }
  return checked;
}

TEST(MigPartedConfig, ParsesUpstreamDefaultConfig) {
  READ_SHARED_OR_SKIP(text, "data/nvidia/mig-parted/config-default.yaml");
  base::Result<fr::MigPartedSpec> spec = ParseMigPartedConfig(text, "config-default.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->version, "v1");
  EXPECT_GT(spec->configs.size(), 60u);
  EXPECT_EQ(spec->configs.front().name, "all-disabled");  // file order kept
  const fr::MigPartedConfig* balanced = spec->Find("all-balanced");
  ASSERT_NE(balanced, nullptr);
  ASSERT_EQ(balanced->entries.size(), 12u);
  // The A30 entry writes its filter as one string, the others as lists.
  const fr::MigPartedEntry& a30 = balanced->entries[10];
  EXPECT_EQ(a30.device_filter, (std::vector<std::string>{"0x20B710DE"}));
  EXPECT_FALSE(a30.device_filter_is_list);
  EXPECT_EQ(a30.mig_devices, (fr::MigCounts{{"1g.6gb", 2}, {"2g.12gb", 1}}));
  EXPECT_TRUE(balanced->entries[0].device_filter_is_list);
  const fr::MigPartedConfig* disabled = spec->Find("all-disabled");
  ASSERT_NE(disabled, nullptr);
  EXPECT_FALSE(disabled->entries[0].mig_enabled);
  EXPECT_TRUE(disabled->entries[0].all_devices);
  const fr::MigPartedConfig* enabled = spec->Find("all-enabled");
  ASSERT_NE(enabled, nullptr);
  EXPECT_TRUE(enabled->entries[0].mig_enabled);
  EXPECT_TRUE(enabled->entries[0].mig_devices.empty());

  const std::map<std::string, int> per_gpu = CheckFiltered(*spec);
  // all-balanced names every catalog GPU; all-1g.10gb the 40 and 80 GB classes; all-1g.35gb the H200.
  for (const fr::MigGpu& g : fr::MigCatalog()) EXPECT_GE(per_gpu.count(std::string(g.name)), 1u) << g.name;
  EXPECT_EQ(per_gpu.at("A100-40GB"), 2);
  EXPECT_EQ(per_gpu.at("H200-141GB"), 2);
  EXPECT_GT(CheckUnfiltered(*spec), 30);
  CheckRoundTrip(*spec);
}

TEST(MigPartedConfig, ParsesUpstreamExamples) {
  READ_SHARED_OR_SKIP(text, "data/nvidia/mig-parted/examples-config.yaml");
  base::Result<fr::MigPartedSpec> spec = ParseMigPartedConfig(text, "examples-config.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const fr::MigPartedConfig* custom = spec->Find("custom-config");
  ASSERT_NE(custom, nullptr);
  ASSERT_EQ(custom->entries.size(), 5u);
  EXPECT_FALSE(custom->entries[0].all_devices);
  EXPECT_EQ(custom->entries[0].devices, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_FALSE(custom->entries[0].mig_enabled);
  EXPECT_EQ(custom->entries[4].devices, (std::vector<int>{7}));
  EXPECT_EQ(custom->entries[4].mig_devices, (fr::MigCounts{{"1g.5gb", 2}, {"2g.10gb", 1}, {"3g.20gb", 1}}));
  // The examples are for an A100-40GB: every entry places there.
  const fr::MigGpu& a40 = *fr::FindMigGpu("NVIDIA A100-SXM4-40GB");
  for (const fr::MigPartedConfig& c : spec->configs) {
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      base::Result<fr::MigLayout> l = fr::EntryLayout(a40, c.entries[i], fr::EntryPath(c.name, i));
      EXPECT_TRUE(l.ok()) << l.status().ToString();
    }
  }
  EXPECT_GT(CheckUnfiltered(*spec), 5);
  CheckRoundTrip(*spec);
}

TEST(MigPartedConfig, ParsesGpuOperatorConfigMap) {
  READ_SHARED_OR_SKIP(text, "data/nvidia/gpu-operator/default-mig-parted-config.configmap.yaml");
  base::Result<fr::MigPartedSpec> spec = ParseMigPartedConfigMap(text, "default-mig-parted-config");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_NE(spec->Find("all-1g.24gb.me"), nullptr);  // only in the operator's copy (SOURCE.txt)
  EXPECT_NE(spec->Find("all-balanced"), nullptr);
  const std::map<std::string, int> per_gpu = CheckFiltered(*spec);
  EXPECT_EQ(per_gpu.size(), fr::MigCatalog().size());
  EXPECT_GT(CheckUnfiltered(*spec), 30);
  CheckRoundTrip(*spec);
  // The bare file is not a ConfigMap and the ConfigMap is not a bare file.
  EXPECT_FALSE(ParseMigPartedConfig(text, "cm").ok());
}

TEST(DevicePluginConfigYaml, ParsesGpuOperatorTimeSlicingConfig) {
  READ_SHARED_OR_SKIP(text, "data/nvidia/gpu-operator/time-slicing-plugin-config.yaml");
  base::Result<fr::DevicePluginConfig> c = ParseDevicePluginConfig(text, "plugin-config.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->time_slicing.has_value());
  EXPECT_EQ(c->time_slicing->rename_by_default, false);
  EXPECT_FALSE(c->time_slicing->fail_requests_greater_than_one.has_value());
  EXPECT_EQ(c->time_slicing->resources, (std::vector<fr::ReplicatedResource>{{"nvidia.com/gpu", 10}}));
  EXPECT_FALSE(c->mps.has_value());
  EXPECT_FALSE(c->mig_strategy.has_value());
  EXPECT_EQ(c->ActiveSharing(), fr::SharingStrategy::kTimeSlicing);
  base::Result<fr::DevicePluginConfig> again = ParseDevicePluginConfig(RenderDevicePluginConfig(*c), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *c);
}

// ---- inline inputs ----

constexpr const char* kCustom = R"(version: v1
mig-configs:
  custom-config:
    - devices: [0,1,2,3]
      mig-enabled: false
    - device-filter: "0x20B010DE"
      devices: [7]
      mig-enabled: true
      mig-devices:
        "9g.10gb": 1
)";

TEST(MigPartedConfig, CatalogErrorsNameConfigEntryAndKey) {
  base::Result<fr::MigPartedSpec> spec = ParseMigPartedConfig(kCustom, "custom.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();  // "9g.10gb" is shaped like a profile
  const std::vector<fr::MigPartedCheck> checks = fr::CheckFilteredEntries(*spec);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].status.message(),
            "mig-configs.custom-config[1].mig-devices: \"9g.10gb\" is not a profile of A100-40GB");
}

TEST(MigPartedConfig, ParseErrors) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"", "a mig-parted config is a mapping"},
      {"version: v2\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n", "version: unknown version 'v2'"},
      {"mig-configs: {a: [{devices: all, mig-enabled: false}]}\n", "missing 'version' field"},
      {"version: v1\nextra: 1\n", "unexpected field 'extra'"},
      {"version: v1\nmig-configs: {}\n", "mig-configs: at least one named config is required"},
      {"version: v1\nmig-configs:\n  a: []\n", "line 3: mig-configs.a: at least one entry is required"},
      {"version: v1\nmig-configs:\n  a:\n    - mig-enabled: false\n",
       "line 4: mig-configs.a[0]: missing required field 'devices'"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n", "mig-configs.a[0]: missing required field 'mig-enabled'"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: some\n      mig-enabled: false\n",
       "line 4: mig-configs.a[0].devices: expected all or a list of GPU indices, not 'some'"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: [0, -1]\n      mig-enabled: false\n",
       "mig-configs.a[0].devices[1]: expected a whole number"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: maybe\n",
       "mig-configs.a[0].mig-enabled: expected true or false"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n",
       "missing required field 'mig-devices' when 'mig-enabled' is true"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: false\n      mig-devices: {1g.5gb: 1}\n",
       "line 6: mig-configs.a[0].mig-devices: MIG devices included when 'mig-enabled' is false"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {big: 1}\n",
       "mig-configs.a[0].mig-devices: \"big\" is not a MIG profile name"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {1g.5gb: -1}\n",
       "mig-configs.a[0].mig-devices.\"1g.5gb\": expected a whole number"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {1g.5gb: 2.5}\n",
       "expected a whole number"},
      {"version: v1\nmig-configs:\n  a:\n    - device-filter: {x: 1}\n      devices: all\n      mig-enabled: false\n",
       "mig-configs.a[0].device-filter: expected a PCI id string or a list of them"},
      {"version: v1\nmig-configs:\n  a:\n    - device-filter: []\n      devices: all\n      mig-enabled: false\n",
       "mig-configs.a[0].device-filter: an empty list selects no GPU"},
      {"version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: false\n      colour: red\n",
       "mig-configs.a[0]: unexpected field 'colour'"},
      {"version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n  a: [{devices: all, mig-enabled: false}]\n",
       "duplicate"},
      {"version: v1\nmig-configs:\n  \"bad name\": [{devices: all, mig-enabled: false}]\n",
       "config name 'bad name' cannot be the value of node label nvidia.com/mig.config"},
      {"version: v1\nmig-configs:\n  a:\n    devices: all\n", "mig-configs.a: at least one entry is required"},
      {"version: v1\nmig-configs: [\n", "not valid YAML"},
  };
  for (const Case& c : cases) {
    base::Result<fr::MigPartedSpec> r = ParseMigPartedConfig(c.yaml, "in.yaml");
    EXPECT_FALSE(r.ok()) << c.yaml;
    EXPECT_THAT(Message(r), HasSubstr(c.want)) << c.yaml;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
      EXPECT_TRUE(r.status().message().starts_with("in.yaml")) << r.status().message();
    }
  }
}

TEST(MigPartedConfig, ConfigMapErrorsNameTheEmbeddedFile) {
  const char* cm = "apiVersion: v1\nkind: ConfigMap\ndata:\n  config.yaml: |\n    version: v1\n    mig-configs:\n"
                   "      a:\n        - devices: all\n";
  EXPECT_THAT(Message(ParseMigPartedConfigMap(cm, "cm.yaml")),
              HasSubstr("cm.yaml data[config.yaml] line 4: mig-configs.a[0]: missing required field 'mig-enabled'"));
  EXPECT_THAT(Message(ParseMigPartedConfigMap("kind: Secret\n", "cm.yaml")), HasSubstr("expected ConfigMap"));
  EXPECT_THAT(Message(ParseMigPartedConfigMap("kind: ConfigMap\ndata: {other: x}\n", "cm.yaml")),
              HasSubstr("missing key config.yaml"));
}

TEST(MigPartedConfig, RendersTheUpstreamLayout) {
  fr::MigPartedSpec spec;
  fr::MigPartedEntry off;
  off.all_devices = false;
  off.devices = {0, 1};
  fr::MigPartedEntry a30;
  a30.device_filter = {"0x20B710DE"};
  a30.device_filter_is_list = false;
  a30.mig_enabled = true;
  a30.mig_devices = {{"1g.6gb", 2}, {"2g.12gb", 1}};
  fr::MigPartedEntry on;
  on.device_filter = {"0x233010DE", "0x20B210DE"};
  on.mig_enabled = true;
  spec.configs.push_back({"custom", {off, a30}});
  spec.configs.push_back({"all-enabled", {on}});
  const std::string want = R"(version: v1
mig-configs:
  custom:
    - devices: [0, 1]
      mig-enabled: false
    - device-filter: "0x20B710DE"
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.6gb": 2
        "2g.12gb": 1
  all-enabled:
    - device-filter: ["0x233010DE", "0x20B210DE"]
      devices: all
      mig-enabled: true
      mig-devices: {}
)";
  EXPECT_EQ(RenderMigPartedConfig(spec), want);
  CheckRoundTrip(spec);
  // A layout from the catalog, as a config MIG Manager can apply.
  const fr::MigGpu& h100 = *fr::FindMigGpu("NVIDIA H100 80GB HBM3");
  base::Result<fr::MigLayout> l = fr::PlaceCounts(h100, {{"3g.40gb", 1}, {"2g.20gb", 1}, {"1g.10gb", 2}});
  ASSERT_TRUE(l.ok());
  fr::MigPartedSpec out;
  out.configs.push_back({"gpuwise-h100", {fr::LayoutEntry(h100, *l)}});
  base::Result<fr::MigPartedSpec> parsed = ParseMigPartedConfig(RenderMigPartedConfig(out), "out.yaml");
  ASSERT_TRUE(parsed.ok());
  base::Result<fr::MigLayout> back = fr::EntryLayout(h100, parsed->configs[0].entries[0], "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(fr::CountsOf(*back), fr::CountsOf(*l));
}

TEST(DevicePluginConfigYaml, MpsMixedStrategyAndIgnoredFields) {
  const char* yaml = R"(version: v1
flags:
  migStrategy: mixed
  failOnInitError: true
  plugin:
    deviceListStrategy: envvar
sharing:
  mps:
    renameByDefault: true
    resources:
    - name: nvidia.com/gpu
      replicas: 4
      devices: all
)";
  base::Result<fr::DevicePluginConfig> c = ParseDevicePluginConfig(yaml, "mps.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mig_strategy, fr::MigStrategy::kMixed);
  ASSERT_TRUE(c->mps.has_value());
  EXPECT_EQ(c->mps->rename_by_default, true);
  EXPECT_FALSE(c->mps->fail_requests_greater_than_one.has_value());  // the plugin then defaults it to true
  EXPECT_EQ(c->mps->resources, (std::vector<fr::ReplicatedResource>{{"nvidia.com/gpu", 4}}));
  EXPECT_EQ(c->ActiveSharing(), fr::SharingStrategy::kMps);
  const std::string rendered = RenderDevicePluginConfig(*c);
  EXPECT_EQ(rendered, R"(version: v1
flags:
  migStrategy: mixed
sharing:
  mps:
    renameByDefault: true
    resources:
      - name: nvidia.com/gpu
        replicas: 4
)");
  base::Result<fr::DevicePluginConfig> again = ParseDevicePluginConfig(rendered, "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *c);
  // A MIG resource time-sliced under the mixed strategy, and no version at all (config.go: empty means v1).
  base::Result<fr::DevicePluginConfig> ts = ParseDevicePluginConfig(
      "sharing:\n  timeSlicing:\n    failRequestsGreaterThanOne: true\n    resources:\n"
      "    - {name: nvidia.com/mig-1g.10gb, replicas: 2}\n",
      "ts.yaml");
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->time_slicing->resources[0].name, "nvidia.com/mig-1g.10gb");
  EXPECT_EQ(ts->time_slicing->fail_requests_greater_than_one, true);
}

TEST(DevicePluginConfigYaml, ParseErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"version: v2\n", "version: unknown version"},
      {"sharing:\n  timeSlicing:\n    resources: []\n", "sharing.timeSlicing.resources: no resources specified"},
      {"sharing:\n  timeSlicing: {}\n", "sharing.timeSlicing.resources: no resources specified"},
      {"sharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 0\n",
       "line 5: sharing.timeSlicing.resources[0].replicas: must be at least 1"},
      {"sharing:\n  timeSlicing:\n    resources:\n    - replicas: 2\n", "no resource name specified"},
      {"sharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n", "no replicas specified"},
      {"sharing:\n  timeslicing: {}\n", "sharing: unknown key 'timeslicing'"},
      {"sharing:\n  mps:\n    renameByDefault: perhaps\n    resources: [{name: nvidia.com/gpu, replicas: 2}]\n",
       "sharing.mps.renameByDefault: expected true or false"},
      {"sharing:\n  timeSlicing:\n    strategy: packed\n    resources: [{name: nvidia.com/gpu, replicas: 2}]\n",
       "unknown time-slicing strategy"},
      {"flags:\n  migStrategy: some\n", "flags.migStrategy: expected none, single or mixed"},
      {"shareing: {}\n", "unknown key 'shareing'"},
      {"- a\n", "a device-plugin config is a mapping"},
  };
  for (const auto& [yaml, want] : cases) {
    base::Result<fr::DevicePluginConfig> r = ParseDevicePluginConfig(yaml, "dp.yaml");
    EXPECT_FALSE(r.ok()) << yaml;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr(want)) << yaml;
      EXPECT_TRUE(r.status().message().starts_with("dp.yaml")) << r.status().message();
    }
  }
}

}  // namespace
}  // namespace gpuwise::observe
