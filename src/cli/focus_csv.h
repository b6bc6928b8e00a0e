// Renders showback/chargeback rows (table, CSV, JSON) and FOCUS 1.0 rows as a FOCUS CSV: every column of the FOCUS
// 1.0 specification under its Column ID, in the specification's (alphabetical) order, nulls as empty cells, Tags as
// a JSON object, numbers as exact decimals. docs/focus.md lists the columns and what gpuwise puts in each.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analyze/focus.h"
#include "cli/output.h"

namespace gpuwise::cli {

enum class FocusFeatureLevel { kMandatory, kRecommended, kConditional };
std::string_view FocusFeatureLevelName(FocusFeatureLevel l);  // "Mandatory", "Recommended", "Conditional"

// A FOCUS 1.0 column as the specification defines it (specification/columns/*.md at tag v1.0).
struct FocusColumn {
  std::string_view id;         // the Column ID: "BilledCost"
  FocusFeatureLevel level;
  std::string_view type;       // "Decimal", "String", "Date/Time", "JSON" (Key-Value Format)
  bool nullable;               // the spec's "Allows nulls"
};
// All 43 columns of FOCUS 1.0, in the specification's order.
const std::vector<FocusColumn>& FocusColumns();

// One CSV row per FocusRow; the columns are FocusColumns() ids.
Table FocusTable(const std::vector<analyze::FocusRow>& rows);

// {"rows": [{key, unallocated, periodStart, periodEnd, costMicroUsd, usedMicroUsd, idleMicroUsd,
// unallocatedMicroUsd, gpuHours, workloads}], "totalMicroUsd": n}; Emit adds apiVersion and kind.
nlohmann::json ChargebackJson(const std::vector<analyze::ChargebackRow>& rows);
// period_start, period_end, <key_column>, cost, used, idle, unallocated (exact decimal dollars), gpu_hours, workloads.
Table ChargebackTable(const std::vector<analyze::ChargebackRow>& rows, std::string_view key_column = "key");

}  // namespace gpuwise::cli
