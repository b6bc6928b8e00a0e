// Fills in what a plan's typed actions leave to an adapter: the text of SetConfigMapKey actions. A device-plugin
// sharing config is rendered from its typed form (one ConfigMap key each). A MIG manager config change is the ConfigMap's current config.yaml (read by the cluster reader) with the plan's layouts added or
// replaced, rendered back to YAML; when the ConfigMap was not read, the text holds the plan's layouts only and the
// plan gets a risk saying that applying it would replace the file (merge by hand).
#pragma once

#include "model/cluster.h"
#include "model/plan.h"

namespace gpuwise::app {

void RenderConfigMapTexts(const model::ClusterState& cluster, model::Plan& plan);

}  // namespace gpuwise::app
