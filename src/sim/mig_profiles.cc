#include "sim/mig_profiles.h"

#include <cmath>

namespace gpuwise::sim {
namespace {

// reference/nvidia-gpu-facts.md 2.2 (H100 80GB: MIG UG table 7 and captured -lgip; A100: MIG UG table 6 and
// -lgip captures; A100 80GB 1g.20gb memory UNCONFIRMED, taken as 2g.20gb's).
constexpr MigProfileInfo kH100_80[] = {{"1g.10gb", 1, 1, 9.75, 16},  {"1g.20gb", 1, 2, 19.62, 26},
                                       {"2g.20gb", 2, 2, 19.62, 32}, {"3g.40gb", 3, 4, 39.50, 60},
                                       {"4g.40gb", 4, 4, 39.50, 64}, {"7g.80gb", 7, 8, 79.25, 132}};
constexpr MigProfileInfo kA100_80[] = {{"1g.10gb", 1, 1, 9.50, 14},  {"1g.20gb", 1, 2, 19.50, 14},
                                       {"2g.20gb", 2, 2, 19.50, 28}, {"3g.40gb", 3, 4, 39.25, 42},
                                       {"4g.40gb", 4, 4, 39.25, 56}, {"7g.80gb", 7, 8, 79.00, 98}};
constexpr MigProfileInfo kA100_40[] = {{"1g.5gb", 1, 1, 4.75, 14},   {"1g.10gb", 1, 2, 9.62, 14},
                                       {"2g.10gb", 2, 2, 9.62, 28},  {"3g.20gb", 3, 4, 19.50, 42},
                                       {"4g.20gb", 4, 4, 19.50, 56}, {"7g.40gb", 7, 8, 39.25, 98}};

// Order matters: the first match wins ("A100-SXM4-80GB" before "A100").
constexpr MigGpuTable kTables[] = {{"H100 80GB", 132, kH100_80}, {"A100-SXM4-80GB", 108, kA100_80},
                                   {"A100 80GB", 108, kA100_80},  {"A100-PCIE-80GB", 108, kA100_80},
                                   {"A100", 108, kA100_40}};

}  // namespace

const MigGpuTable* FindMigTable(std::string_view model_name) {
  for (const MigGpuTable& t : kTables) {
    if (model_name.find(t.model_match) != std::string_view::npos) return &t;
  }
  return nullptr;
}

double DeviceMemoryMib(std::string_view model_name, double gib) {
  // nvidia-smi totals: H100 80GB HBM3 81559 MiB (issue #512 capture); A100-SXM4-80GB 81920 MiB, A100-SXM4-40GB
  // 40960 MiB, L4 23034 MiB (commonly published nvidia-smi output; GUESS from memory).
  if (model_name.find("H100 80GB") != std::string_view::npos) return 81559;
  if (model_name.find("A100-SXM4-80GB") != std::string_view::npos) return 81920;
  if (model_name.find("A100-SXM4-40GB") != std::string_view::npos) return 40960;
  if (model_name == "NVIDIA L4") return 23034;
  return std::round(gib * 1024);
}

}  // namespace gpuwise::sim
