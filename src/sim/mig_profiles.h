// MIG geometry the simulated cluster needs: per GPU model, each profile's compute and memory slices, SMs and
// memory as `nvidia-smi mig -lgip` reports it, and the device's total memory as nvidia-smi reports it. From
// reference/nvidia-gpu-facts.md section 2.2 (MIG user guide tables and captured -lgip output). The sim keeps its
// own copy on purpose: it stands for the hardware, and must not share gpuwise's parser-side catalog.
// Thread-safety: immutable tables.
#pragma once

#include <span>
#include <string_view>

namespace gpuwise::sim {

struct MigProfileInfo {
  std::string_view name;  // "3g.40gb"
  int compute_slices;     // of 7
  int memory_slices;      // of 8
  double memory_gib;      // -lgip
  int sms;
};

struct MigGpuTable {
  std::string_view model_match;  // substring of modelName
  int full_sms;
  std::span<const MigProfileInfo> profiles;
  const MigProfileInfo* Find(std::string_view profile) const {
    for (const MigProfileInfo& p : profiles) {
      if (p.name == profile) return &p;
    }
    return nullptr;
  }
};

// nullptr for GPUs without MIG (L4, T4, ...).
const MigGpuTable* FindMigTable(std::string_view model_name);

// Framebuffer total in MiB as nvidia-smi reports it for known models (H100 80GB HBM3: 81559 MiB, the issue #512
// capture); otherwise gib * 1024.
double DeviceMemoryMib(std::string_view model_name, double gib);

}  // namespace gpuwise::sim
