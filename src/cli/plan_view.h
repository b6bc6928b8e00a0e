// Renders a Plan (model/plan.h): the JSON/YAML document (kind Plan, docs/schema/Plan.json), the table of actions,
// the text summary `recommend` prints, and the files --out-dir writes: one patch or manifest per action, an
// ordered apply.sh of kubectl commands, and plan.json.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "cli/output.h"
#include "model/plan.h"

namespace gpuwise::cli {

nlohmann::json PlanJson(const model::Plan& plan);
Table PlanTable(const model::Plan& plan);
std::string PlanText(const model::Plan& plan, bool color);
// The one-line summary the report and demo print beside the unused waste.
std::string RecoverableLine(const model::PlanSavings& savings);

// Writes the plan's files into `dir` (created if missing): NN-<id>-<kind>-<target>.{yaml,json} (a merge patch, an
// Eviction, a ConfigMap key) and apply.sh, which applies them in order with kubectl and waits where the plan waits.
// Returns the number of files written. Action files an earlier plan wrote there (NN-aN-*.json), apply.sh and
// plan.json are replaced; nothing else is touched.
base::Result<int> WritePlanFiles(const model::Plan& plan, const std::string& dir);

}  // namespace gpuwise::cli
