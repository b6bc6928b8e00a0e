#include "app/plan_render.h"

#include "observe/nvidia_config.h"

namespace gpuwise::app {
namespace {

namespace fractional = optimize::fractional;

// One config: the layout on every GPU, or on the first k of g GPUs with MIG off on the others (k, g > 0).
fractional::MigPartedConfig ConfigOf(const std::string& name, const std::map<std::string, int>& layout, int k, int g) {
  fractional::MigPartedConfig c;
  c.name = name;
  fractional::MigPartedEntry e;
  e.all_devices = k <= 0;
  for (int i = 0; i < k; ++i) e.devices.push_back(i);
  e.mig_enabled = !layout.empty();
  for (const auto& [profile, n] : layout) e.mig_devices[profile] = n;
  c.entries.push_back(std::move(e));
  if (k > 0 && k < g) {
    fractional::MigPartedEntry rest;
    rest.all_devices = false;
    for (int i = k; i < g; ++i) rest.devices.push_back(i);
    rest.mig_enabled = false;
    c.entries.push_back(std::move(rest));
  }
  return c;
}

}  // namespace

void RenderConfigMapTexts(const model::ClusterState& cluster, model::Plan& plan) {
  for (model::Action& a : plan.actions) {
    if (a.kind != model::ActionKind::kSetConfigMapKey) continue;
    auto* after = std::get_if<model::ConfigMapValue>(&a.after);
    auto* before = std::get_if<model::ConfigMapValue>(&a.before);
    if (after == nullptr || after->text) continue;
    if (after->format == "device-plugin") {
      auto it = after->sharing.find(after->key);
      if (it == after->sharing.end()) continue;
      fractional::DevicePluginConfig c;
      fractional::ReplicatedResources shares;
      auto rename = after->sharing_rename.find(after->key);
      shares.rename_by_default = rename != after->sharing_rename.end() && rename->second;
      shares.fail_requests_greater_than_one = true;
      shares.resources.push_back({"nvidia.com/gpu", it->second.second});
      if (it->second.first == "mps") c.mps = shares; else c.time_slicing = shares;
      after->text = observe::RenderDevicePluginConfig(c);
      continue;
    }
    if (after->format != "mig-parted") continue;
    const std::string ref = a.target.namespace_name + "/" + a.target.name;
    fractional::MigPartedSpec spec;
    bool merged = false, parse_failed = false;
    if (auto cm = cluster.config_maps.find(ref); cm != cluster.config_maps.end()) {
      if (auto text = cm->second.find(after->key); text != cm->second.end()) {
        auto parsed = observe::ParseMigPartedConfig(text->second, ref + " " + after->key);
        if (parsed.ok()) {
          spec = std::move(*parsed);
          merged = true;
          if (before != nullptr) before->text = text->second;
        } else {
          parse_failed = true;
          plan.risks.push_back("action " + a.id + ": " + parsed.status().message() +
                               "; the plan's MIG configs are written alone: merge them into the file by hand");
        }
      }
    }
    if (!merged && !parse_failed) {
      plan.risks.push_back("action " + a.id + ": configmap " + ref + " was not read, so its text holds only the plan's "
                           "MIG configs: merge them into the existing " + after->key + " by hand, or grant gpuwise the "
                           "get-gpu-operator-configs rule");
    }
    for (const auto& [name, layout] : after->mig_layouts) {
      auto d = after->mig_devices.find(name);
      fractional::MigPartedConfig c =
          d == after->mig_devices.end() ? ConfigOf(name, layout, 0, 0) : ConfigOf(name, layout, d->second.first, d->second.second);
      bool replaced = false;
      for (fractional::MigPartedConfig& existing : spec.configs) {
        if (existing.name == name) {
          existing = c;
          replaced = true;
        }
      }
      if (!replaced) spec.configs.push_back(std::move(c));
    }
    after->text = observe::RenderMigPartedConfig(spec);
  }
}

}  // namespace gpuwise::app
