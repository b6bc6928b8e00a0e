// Reads and writes NVIDIA's cluster-side GPU partitioning configs as the plain structs of optimize/fractional:
// mig-parted configs (MIG Manager's `version: v1` / `mig-configs:` file, bare or inside the GPU Operator's
// ConfigMap under data["config.yaml"]) and the k8s-device-plugin config's MIG strategy and sharing sections.
// Formats: mig-parted api/spec/v1/spec.go, k8s-device-plugin api/config/v1 (facts 2.4, 3.1).
//
// Parsing follows the upstream validation (unknown fields, missing `devices` / `mig-enabled`, `mig-devices` with
// MIG off, replicas < 1, unknown version are errors) and adds gpuwise's own: a config name must be usable as the
// node label value `nvidia.com/mig.config=<name>` and a `mig-devices` key must look like a MIG profile. Errors are
// InvalidArgument "<source> line <n>: mig-configs.<config>[<entry>].<key>: <what>". Whether an entry fits the GPUs
// its device-filter names is a separate question: fractional::CheckFilteredEntries.
// The device-plugin parser keeps only `flags.migStrategy` of the flags and drops `rename` / `devices` of a sharing
// resource (the plugin ignores both, config.go DisableResourceNamingInConfig); rendering writes what it kept.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "optimize/fractional/device_plugin_config.h"
#include "optimize/fractional/mig_parted.h"

namespace gpuwise::observe {

// `source` names the input in errors ("config.yaml").
base::Result<optimize::fractional::MigPartedSpec> ParseMigPartedConfig(std::string_view yaml, std::string_view source);
// A ConfigMap (`kind: ConfigMap`, `data: {config.yaml: "<mig-parted config>"}`), e.g. the GPU Operator's
// default-mig-parted-config. Errors inside the embedded file name "<source> data[config.yaml] line <n>".
base::Result<optimize::fractional::MigPartedSpec> ParseMigPartedConfigMap(std::string_view yaml,
                                                                         std::string_view source);
// Block-style YAML in the upstream layout (device filters and profiles quoted); parses back to the same spec.
std::string RenderMigPartedConfig(const optimize::fractional::MigPartedSpec& spec);

base::Result<optimize::fractional::DevicePluginConfig> ParseDevicePluginConfig(std::string_view yaml,
                                                                              std::string_view source);
std::string RenderDevicePluginConfig(const optimize::fractional::DevicePluginConfig& config);

}  // namespace gpuwise::observe
