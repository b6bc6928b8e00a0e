#include "optimize/fractional/mig_parted.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace gpuwise::optimize::fractional {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool SameId(std::string_view a, std::string_view b) { return Upper(a) == Upper(b); }

}  // namespace

const MigPartedConfig* MigPartedSpec::Find(std::string_view name) const {
  for (const MigPartedConfig& c : configs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string EntryPath(std::string_view config, std::size_t index) {
  return "mig-configs." + std::string(config) + "[" + std::to_string(index) + "]";
}

bool EntryAppliesTo(const MigPartedEntry& entry, const MigGpu& gpu) {
  if (entry.device_filter.empty()) return true;
  for (const std::string& id : entry.device_filter) {
    for (std::string_view known : gpu.pci_device_ids) {
      if (SameId(id, known)) return true;
    }
  }
  return false;
}

std::vector<const MigGpu*> FilterGpus(const MigPartedEntry& entry) {
  std::vector<const MigGpu*> out;
  for (const MigGpu& g : MigCatalog()) {
    if (EntryAppliesTo(entry, g)) out.push_back(&g);
  }
  return out;
}

std::vector<std::string> UnknownFilterIds(const MigPartedEntry& entry) {
  std::vector<std::string> out;
  for (const std::string& id : entry.device_filter) {
    bool known = false;
    for (const MigGpu& g : MigCatalog()) {
      for (std::string_view k : g.pci_device_ids) known = known || SameId(id, k);
    }
    if (!known) out.push_back(id);
  }
  return out;
}

base::Result<MigLayout> EntryLayout(const MigGpu& gpu, const MigPartedEntry& entry, std::string_view path) {
  const std::string at(path);
  if (!EntryAppliesTo(entry, gpu)) {
    return base::InvalidArgument(at + ".device-filter: does not name " + std::string(gpu.name));
  }
  if (!entry.mig_enabled) {
    // mig-parted spec.go: "MIG devices included when 'mig-enabled' is false".
    for (const auto& [name, n] : entry.mig_devices) {
      if (n != 0) return base::InvalidArgument(at + ".mig-devices: MIG devices included when mig-enabled is false");
    }
    return MigLayout{};
  }
  base::Result<MigLayout> placed = PlaceCounts(gpu, entry.mig_devices);
  if (!placed.ok()) return placed.status().Annotate(at + ".mig-devices");
  return placed;
}

MigPartedEntry LayoutEntry(const MigGpu& gpu, const MigLayout& layout, std::vector<int> devices) {
  MigPartedEntry e;
  for (std::string_view id : gpu.pci_device_ids) e.device_filter.emplace_back(id);
  e.device_filter_is_list = true;
  e.all_devices = devices.empty();
  e.devices = std::move(devices);
  e.mig_enabled = true;
  e.mig_devices = CountsOf(layout);
  return e;
}

std::vector<MigPartedCheck> CheckFilteredEntries(const MigPartedSpec& spec) {
  std::vector<MigPartedCheck> out;
  for (const MigPartedConfig& c : spec.configs) {
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      const MigPartedEntry& e = c.entries[i];
      if (e.device_filter.empty()) continue;
      for (const MigGpu* g : FilterGpus(e)) {
        MigPartedCheck check;
        check.path = EntryPath(c.name, i);
        check.gpu = g;
        base::Result<MigLayout> l = EntryLayout(*g, e, check.path);
        if (l.ok()) {
          check.layout = std::move(l).value();
          check.relies_on_inferred = AnyInferred(*g, check.layout);
        } else {
          check.status = l.status();
        }
        out.push_back(std::move(check));
      }
    }
  }
  return out;
}

}  // namespace gpuwise::optimize::fractional
