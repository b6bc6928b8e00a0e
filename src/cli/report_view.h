// Renders an analyze::Report: the terminal report (fleet summary, top wasters with state and action, team showback,
// attribution classes, findings, signal health), the JSON document (kind Report, docs/schema/Report.json; YAML is
// the same document), and the CSV (one row per workload). HTML is report_html.h.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "analyze/report.h"
#include "cli/output.h"

namespace gpuwise::cli {

std::string ReportText(const analyze::Report& report, bool color);
nlohmann::json ReportJson(const analyze::Report& report);
Table ReportWorkloadTable(const analyze::Report& report);
// "$1,234.56" (cents, thousands separators) for a terminal; JSON keeps exact micro-dollars.
std::string Dollars(std::int64_t micro);

}  // namespace gpuwise::cli
