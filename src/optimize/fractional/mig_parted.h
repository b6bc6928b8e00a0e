// Plain forms of NVIDIA mig-parted configs (the `version: v1` / `mig-configs:` files MIG Manager applies), and their
// conversion to and from catalog layouts, so that optimizers can read and write them without YAML. Parsing and
// rendering the YAML lives in observe/nvidia_config.h.
// Format: mig-parted api/spec/v1/spec.go and deployments/systemd/config-default.yaml (facts 2.4): a config is a
// list of entries; an entry selects GPUs by index (`devices: all` or a list) and optionally by PCI id
// (`device-filter`), says `mig-enabled`, and (when enabled) `mig-devices`: profile -> count.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "optimize/fractional/mig_catalog.h"

namespace gpuwise::optimize::fractional {

struct MigPartedEntry {
  std::vector<std::string> device_filter;  // PCI "device id + vendor id" ("0x20B210DE"); empty = every GPU
  bool device_filter_is_list = true;       // written as a list rather than one string (kept for rendering)
  bool all_devices = true;                 // `devices: all`
  std::vector<int> devices;                // GPU indices when !all_devices
  bool mig_enabled = false;
  MigCounts mig_devices;                   // empty with mig_enabled: MIG on, no instances (`mig-devices: {}`)

  bool operator==(const MigPartedEntry&) const = default;
};

struct MigPartedConfig {
  std::string name;  // the key under mig-configs, the value of the node label nvidia.com/mig.config
  std::vector<MigPartedEntry> entries;

  bool operator==(const MigPartedConfig&) const = default;
};

struct MigPartedSpec {
  std::string version = "v1";
  std::vector<MigPartedConfig> configs;  // in file order

  const MigPartedConfig* Find(std::string_view name) const;
  bool operator==(const MigPartedSpec&) const = default;
};

// "mig-configs.custom-config[1]": the prefix of every error about that entry.
std::string EntryPath(std::string_view config, std::size_t index);

// The catalog GPUs an entry's device-filter names; every catalog GPU when it has no filter.
std::vector<const MigGpu*> FilterGpus(const MigPartedEntry& entry);
// Filter ids that name no catalog GPU (GB200, H800, ...): nothing can be checked for them.
std::vector<std::string> UnknownFilterIds(const MigPartedEntry& entry);
bool EntryAppliesTo(const MigPartedEntry& entry, const MigGpu& gpu);

// The entry as a placed layout on `gpu` (PlaceCounts); an empty layout when MIG is off. Errors are InvalidArgument
// with `path` and the key: `mig-configs.custom-config[1].mig-devices: "9g.10gb" is not a profile of A100-40GB`.
base::Result<MigLayout> EntryLayout(const MigGpu& gpu, const MigPartedEntry& entry, std::string_view path);

// A layout as an entry for `gpu`: its device-filter, MIG on, the layout's counts; `devices: all` when `devices` is
// empty. The placement itself is not expressible in mig-parted (it creates by counts).
MigPartedEntry LayoutEntry(const MigGpu& gpu, const MigLayout& layout, std::vector<int> devices = {});

// Each (entry, GPU) pair where the entry's device-filter names a catalog GPU, placed with EntryLayout.
struct MigPartedCheck {
  std::string path;   // "mig-configs.all-balanced[8]"
  const MigGpu* gpu = nullptr;
  base::Status status;
  MigLayout layout;   // when status is OK
  bool relies_on_inferred = false;
};
std::vector<MigPartedCheck> CheckFilteredEntries(const MigPartedSpec& spec);

}  // namespace gpuwise::optimize::fractional
