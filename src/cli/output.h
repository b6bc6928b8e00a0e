// Output formatters shared by every command: table (aligned, colour only on a tty and never with NO_COLOR),
// json, yaml (both carry apiVersion gpuwise.io/v1alpha1 and a kind), csv (RFC 4180) where the data is a table.
// Data goes to stdout; diagnostics to stderr.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace gpuwise::cli {

inline constexpr std::string_view kApiVersion = "gpuwise.io/v1alpha1";

enum class OutputFormat { kTable, kJson, kYaml, kCsv, kHtml };

base::Result<OutputFormat> ParseOutputFormat(std::string_view text);

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // printed under the table (table format only)
};

// Whether to colour stdout: a tty, NO_COLOR unset, and not disabled by --no-color.
bool UseColor(bool no_color_flag);

// Writes `doc` (json/yaml; apiVersion and kind are added) or `table` (table/csv) in the chosen format.
// A table-less document asked for as csv is a usage error.
base::Status Emit(OutputFormat format, std::string_view kind, const nlohmann::json& doc, const Table& table,
                  bool color, std::ostream& out);

// Numbers for reading (tables, reports): "12.3%" and "0.25" with "unknown" for NaN; "2026-11-24 10:00 UTC".
std::string Pct(double ratio);
std::string Fixed(double value, int digits);
std::string Utc(std::int64_t unix_s);

std::string RenderTable(const Table& table, bool color);
std::string RenderCsv(const Table& table);
std::string RenderYaml(const nlohmann::json& doc);

}  // namespace gpuwise::cli
