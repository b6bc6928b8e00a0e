#include "base/csv.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace gpuwise::base {

Status ReadTextFile(const std::string& path, std::string* out) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return PermissionDenied(path + ": cannot be opened for reading");
  std::ostringstream text;
  text << in.rdbuf();
  *out = std::move(text).str();
  return Status::Ok();
}

bool Lines::Next(std::string_view text, std::string_view* line) {
  if (pos_ >= text.size()) return false;
  std::size_t end = text.find('\n', pos_);
  if (end == std::string_view::npos) end = text.size();
  *line = text.substr(pos_, end - pos_);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  pos_ = end + 1;
  ++number_;
  return true;
}

void SplitCsv(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields->push_back(line.substr(start));
      return;
    }
    fields->push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

bool ParseInt(std::string_view s, std::int64_t* out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(*out);
}

std::string QuoteForError(std::string_view s) {
  constexpr std::size_t kMax = 40;
  return "'" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...'" : "'");
}

Status ColumnError(const std::string& file, int line, std::string_view column, const std::string& what) {
  return InvalidArgument(file + ":" + std::to_string(line) + ": column '" + std::string(column) + "': " + what);
}

Status LineError(const std::string& file, int line, const std::string& what) {
  return InvalidArgument(file + ":" + std::to_string(line) + ": " + what);
}

Result<CsvFile> CsvFile::Open(const std::string& path, std::initializer_list<std::string_view> required) {
  std::string text;
  RETURN_IF_ERROR(ReadTextFile(path, &text));
  return FromText(path, std::move(text), required);
}

Result<CsvFile> CsvFile::FromText(std::string name, std::string text, std::initializer_list<std::string_view> required) {
  CsvFile f;
  f.path_ = std::move(name);
  f.text_ = std::move(text);
  std::string_view header;
  if (!f.lines_.Next(f.text_, &header)) return LineError(f.path_, 1, "empty file, expected a header row");
  std::vector<std::string_view> names;
  SplitCsv(header, &names);
  for (std::string_view n : names) f.header_.emplace_back(n);
  for (std::string_view want : required) {
    if (f.Index(want) < 0) return LineError(f.path_, 1, "missing column '" + std::string(want) + "' in the header");
  }
  return f;
}

int CsvFile::Index(std::string_view column) const {
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == column) return static_cast<int>(i);
  }
  return -1;
}

Result<bool> CsvFile::Next() {
  std::string_view line;
  while (lines_.Next(text_, &line)) {
    if (line.empty()) continue;
    SplitCsv(line, &fields_);
    if (fields_.size() != header_.size()) {
      return LineError(path_, lines_.number(), "expected " + std::to_string(header_.size()) + " comma-separated fields (" +
                                                   JoinedHeader() + "), got " + std::to_string(fields_.size()));
    }
    return true;
  }
  return false;
}

std::string_view CsvFile::Field(int index) const {
  return index < 0 || static_cast<std::size_t>(index) >= fields_.size() ? std::string_view() : fields_[static_cast<std::size_t>(index)];
}

Status CsvFile::Int(int index, std::int64_t lo, std::int64_t hi, std::int64_t* out, bool optional) const {
  const std::string_view text = Field(index);
  if (index < 0 || (optional && text.empty())) return Status::Ok();
  std::int64_t v = 0;
  const std::string& column = header_[static_cast<std::size_t>(index)];
  if (!ParseInt(text, &v)) return ColumnError(path_, line(), column, "expected an integer, got " + QuoteForError(text));
  if (v < lo || v > hi) {
    return ColumnError(path_, line(), column, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  *out = v;
  return Status::Ok();
}

Status CsvFile::Error(int index, const std::string& what) const {
  return ColumnError(path_, line(), index < 0 ? "?" : header_[static_cast<std::size_t>(index)], what);
}

std::string CsvFile::JoinedHeader() const {
  std::string s;
  for (const std::string& h : header_) s += (s.empty() ? "" : ",") + h;
  return s;
}

}  // namespace gpuwise::base
