// Renders an analyze::Report: the terminal report (fleet summary, top wasters with state and action, team showback,
// attribution classes, findings, signal health), the JSON document (kind Report, docs/schema/Report.json; YAML is
// the same document), and the CSV (one row per workload). HTML is report_html.h.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "analyze/report.h"
#include "cli/output.h"
#include "model/plan.h"

namespace gpuwise::cli {

// plan: the plan computed with the report (app::ReportRun::plan), for the recoverable waste; null: not computed.
std::string ReportText(const analyze::Report& report, bool color, const model::Plan* plan = nullptr);
nlohmann::json ReportJson(const analyze::Report& report, const model::Plan* plan = nullptr);
Table ReportWorkloadTable(const analyze::Report& report);
// "$1,234.56" (cents, thousands separators) for a terminal; JSON keeps exact micro-dollars.
std::string Dollars(std::int64_t micro);

}  // namespace gpuwise::cli
