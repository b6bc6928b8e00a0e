// libFuzzer target: NVIDIA config parsers (observe/nvidia_config.h) on arbitrary bytes. Byte 0 picks the input: a
// mig-parted config, a ConfigMap holding one, or a k8s-device-plugin config; the rest is the text.
// Properties: no crash, no sanitizer report, no exception; an error names the input ("fuzz.yaml"); a config that
// parses renders to text that parses back to the same value; every entry of a parsed mig-parted config, placed on
// every catalog GPU (fractional::EntryLayout), either fails with a message naming the entry or gives a layout that
// Validate accepts (explicitly, and in its own creation order without placements), with the entry's counts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "observe/nvidia_config.h"
#include "optimize/fractional/mig_catalog.h"
#include "optimize/fractional/mig_parted.h"

namespace fr = gpuwise::optimize::fractional;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckSpec(const fr::MigPartedSpec& spec) {
  gpuwise::base::Result<fr::MigPartedSpec> again =
      gpuwise::observe::ParseMigPartedConfig(gpuwise::observe::RenderMigPartedConfig(spec), "again.yaml");
  Check(again.ok() && *again == spec);
  for (const fr::MigPartedConfig& c : spec.configs) {
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      const std::string path = fr::EntryPath(c.name, i);
      for (const fr::MigGpu& g : fr::MigCatalog()) {
        gpuwise::base::Result<fr::MigLayout> l = fr::EntryLayout(g, c.entries[i], path);
        if (!l.ok()) {
          Check(l.status().message().starts_with(path + "."));
          continue;
        }
        Check(fr::Validate(g, *l).ok());
        Check(fr::Validate(g, *l, fr::MigCreation::kImplicitPlacement).ok());
        fr::MigCounts want;
        if (c.entries[i].mig_enabled) {
          for (const auto& [profile, n] : c.entries[i].mig_devices) {
            if (n > 0) want[profile] = n;
          }
        }
        Check(fr::CountsOf(*l) == want);
      }
    }
  }
  for (const fr::MigPartedCheck& check : fr::CheckFilteredEntries(spec)) {
    Check(check.gpu != nullptr);
    if (check.status.ok()) Check(fr::Validate(*check.gpu, check.layout).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
    case 1: {
      gpuwise::base::Result<fr::MigPartedSpec> spec = data[0] % 3 == 0
                                                          ? gpuwise::observe::ParseMigPartedConfig(text, "fuzz.yaml")
                                                          : gpuwise::observe::ParseMigPartedConfigMap(text, "fuzz.yaml");
      if (!spec.ok()) {
        Check(spec.status().message().starts_with("fuzz.yaml"));
        return 0;
      }
      CheckSpec(*spec);
      return 0;
    }
    default: {
      gpuwise::base::Result<fr::DevicePluginConfig> c = gpuwise::observe::ParseDevicePluginConfig(text, "fuzz.yaml");
      if (!c.ok()) {
        Check(c.status().message().starts_with("fuzz.yaml"));
        return 0;
      }
      gpuwise::base::Result<fr::DevicePluginConfig> again =
          gpuwise::observe::ParseDevicePluginConfig(gpuwise::observe::RenderDevicePluginConfig(*c), "again.yaml");
      Check(again.ok() && *again == *c);
      (void)c->ActiveSharing();
      return 0;
    }
  }
}
