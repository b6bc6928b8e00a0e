// Plain form of the NVIDIA k8s-device-plugin config file's MIG strategy and sharing sections (`version: v1`,
// `flags.migStrategy`, `sharing.timeSlicing` / `sharing.mps`), so that optimizers can build one without YAML.
// Parsing and rendering live in observe/nvidia_config.h. Source: k8s-device-plugin README and api/config/v1
// (config.go, sharing.go, replicas.go), facts 3.1.
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpuwise::optimize::fractional {

enum class MigStrategy { kNone, kSingle, kMixed };  // "none" | "single" | "mixed"
enum class SharingStrategy { kNone, kTimeSlicing, kMps };  // GFD nvidia.com/gpu.sharing-strategy values

struct ReplicatedResource {
  std::string name;  // "nvidia.com/gpu" or a mixed-strategy "nvidia.com/mig-1g.10gb"
  int replicas = 1;  // >= 1 (replicas.go rejects <= 0)

  bool operator==(const ReplicatedResource&) const = default;
};

struct ReplicatedResources {
  std::optional<bool> rename_by_default;               // true: advertise "<name>.shared"
  std::optional<bool> fail_requests_greater_than_one;  // absent: false for time-slicing, true for MPS (config.go)
  std::vector<ReplicatedResource> resources;           // at least one

  // Any resource with more than one replica (sharing.go isReplicated).
  bool Replicated() const {
    for (const ReplicatedResource& r : resources) {
      if (r.replicas > 1) return true;
    }
    return false;
  }
  bool operator==(const ReplicatedResources&) const = default;
};

struct DevicePluginConfig {
  std::string version = "v1";
  std::optional<MigStrategy> mig_strategy;          // flags.migStrategy; absent: the plugin's flag/env ("none")
  std::optional<ReplicatedResources> time_slicing;  // sharing.timeSlicing
  std::optional<ReplicatedResources> mps;           // sharing.mps

  // The strategy the plugin applies (sharing.go SharingStrategy): MPS when it replicates, else time-slicing when it
  // replicates, else none. The README calls the two mutually exclusive; the plugin lets MPS win.
  SharingStrategy ActiveSharing() const {
    if (mps && mps->Replicated()) return SharingStrategy::kMps;
    if (time_slicing && time_slicing->Replicated()) return SharingStrategy::kTimeSlicing;
    return SharingStrategy::kNone;
  }
  bool operator==(const DevicePluginConfig&) const = default;
};

inline std::string_view MigStrategyName(MigStrategy s) {
  switch (s) {
    case MigStrategy::kNone: return "none";
    case MigStrategy::kSingle: return "single";
    case MigStrategy::kMixed: return "mixed";
  }
  return "none";
}

inline std::string_view SharingStrategyName(SharingStrategy s) {
  switch (s) {
    case SharingStrategy::kNone: return "none";
    case SharingStrategy::kTimeSlicing: return "time-slicing";
    case SharingStrategy::kMps: return "mps";
  }
  return "none";
}

}  // namespace gpuwise::optimize::fractional
