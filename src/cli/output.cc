#include "cli/output.h"

#include <ctime>

#include <cstdio>

#include <cmath>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

namespace gpuwise::cli {
namespace {

// Display width of UTF-8 text: code points, not bytes (good enough for names and numbers).
std::size_t Width(std::string_view s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

void EmitYaml(YAML::Emitter& y, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      y << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        y << YAML::Key << it.key() << YAML::Value;
        EmitYaml(y, it.value());
      }
      y << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      y << YAML::BeginSeq;
      for (const auto& v : j) EmitYaml(y, v);
      y << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: y << YAML::DoubleQuoted << j.get<std::string>(); break;
    case nlohmann::json::value_t::boolean: y << j.get<bool>(); break;
    case nlohmann::json::value_t::number_integer: y << j.get<std::int64_t>(); break;
    case nlohmann::json::value_t::number_unsigned: y << j.get<std::uint64_t>(); break;
    case nlohmann::json::value_t::number_float: y << j.get<double>(); break;
    default: y << YAML::Null; break;
  }
}

}  // namespace

base::Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml") return OutputFormat::kYaml;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "html") return OutputFormat::kHtml;
  return base::InvalidArgument("unknown --output '" + std::string(text) + "' (table, json, yaml or csv)");
}

bool UseColor(bool no_color_flag) {
  if (no_color_flag) return false;
  const char* nc = std::getenv("NO_COLOR");
  if (nc != nullptr && nc[0] != '\0') return false;
  return isatty(STDOUT_FILENO) == 1;
}

std::string RenderTable(const Table& table, bool color) {
  std::vector<std::size_t> widths(table.columns.size(), 0);
  for (std::size_t i = 0; i < table.columns.size(); ++i) widths[i] = Width(table.columns[i]);
  for (const auto& row : table.rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string l;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string& c = i < cells.size() ? cells[i] : std::string();
      const bool unknown = !header && c == "unknown";
      if (color && header) l += "\033[1m";
      if (color && unknown) l += "\033[2m";
      l += c;
      if (color && (header || unknown)) l += "\033[0m";
      if (i + 1 < widths.size()) l += std::string(widths[i] - Width(c) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  if (!table.columns.empty()) line(table.columns, true);
  for (const auto& row : table.rows) line(row, false);
  for (const auto& n : table.notes) out += n + "\n";
  return out;
}

std::string RenderCsv(const Table& table) {
  std::string out;
  auto cell = [&](const std::string& c) {
    if (c.find_first_of(",\"\n\r") == std::string::npos) {
      out += c;
      return;
    }
    out += '"';
    for (char ch : c) {
      if (ch == '"') out += '"';
      out += ch;
    }
    out += '"';
  };
  auto row = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += ',';
      cell(cells[i]);
    }
    out += "\r\n";
  };
  row(table.columns);
  for (const auto& r : table.rows) row(r);
  return out;
}

std::string RenderYaml(const nlohmann::json& doc) {
  YAML::Emitter y;
  EmitYaml(y, doc);
  return std::string(y.c_str()) + "\n";
}

base::Status Emit(OutputFormat format, std::string_view kind, const nlohmann::json& doc, const Table& table,
                  bool color, std::ostream& out) {
  nlohmann::json full = nlohmann::json::object();
  full["apiVersion"] = kApiVersion;
  full["kind"] = kind;
  for (auto it = doc.begin(); it != doc.end(); ++it) full[it.key()] = it.value();
  switch (format) {
    case OutputFormat::kJson: out << full.dump(2) << "\n"; break;
    case OutputFormat::kYaml: out << RenderYaml(full); break;
    case OutputFormat::kCsv:
      if (table.columns.empty()) return base::InvalidArgument("this command's output is not a table: no csv");
      out << RenderCsv(table);
      break;
    case OutputFormat::kHtml: return base::InvalidArgument("--output html is only for `gpuwise report`");
    case OutputFormat::kTable: out << RenderTable(table, color); break;
  }
  return base::Status::Ok();
}

std::string Pct(double r) {
  if (std::isnan(r)) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", r * 100.0);
  return buf;
}

std::string Fixed(double v, int digits) {
  if (std::isnan(v)) return "unknown";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Utc(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace gpuwise::cli
