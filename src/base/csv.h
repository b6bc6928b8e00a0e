// Plain CSV tables with a header row, read whole, for the public traces gpuwise reads (Alibaba openb, the Azure LLM
// inference traces, Mooncake, ServeGen). No quoting: none of those files quote a field, and a quoted field would
// arrive with its quotes. Columns are found by name, so extra or reordered columns are fine. Every error names the
// file, the 1-based line and the column: "openb_pod_list_default.csv:17: column 'gpu_milli': expected an integer,
// got 'x'". Nothing throws. Thread-safety: a CsvFile is a value; use one per thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::base {

// The whole file: NotFound for a missing path, InvalidArgument for a directory, PermissionDenied when unreadable.
Status ReadTextFile(const std::string& path, std::string* out);

// Walks the lines of a text; holds positions only, so the owner of the text may move.
class Lines {
 public:
  // The next line of `text` without its "\n" or "\r\n"; false at the end.
  bool Next(std::string_view text, std::string_view* line);
  int number() const { return number_; }  // 1-based number of the line Next() returned

 private:
  std::size_t pos_ = 0;
  int number_ = 0;
};

// Splits on every comma (no quoting).
void SplitCsv(std::string_view line, std::vector<std::string_view>* fields);
// The whole of `s` as a number; false for empty text, trailing characters, out of range, or (doubles) not finite.
bool ParseInt(std::string_view s, std::int64_t* out);
bool ParseDouble(std::string_view s, double* out);
// `s` in single quotes, cut at 40 characters, for error messages.
std::string QuoteForError(std::string_view s);
// "<file>:<line>: column '<column>': <what>" and "<file>:<line>: <what>", both InvalidArgument.
Status ColumnError(const std::string& file, int line, std::string_view column, const std::string& what);
Status LineError(const std::string& file, int line, const std::string& what);

// A CSV table with a header row; columns are found by name.
class CsvFile {
 public:
  // Reads `path`; InvalidArgument naming line 1 for an empty file or a missing required column.
  static Result<CsvFile> Open(const std::string& path, std::initializer_list<std::string_view> required);
  // The same over text already in memory; `name` stands for the file in errors.
  static Result<CsvFile> FromText(std::string name, std::string text, std::initializer_list<std::string_view> required);

  int Index(std::string_view column) const;  // -1 if absent
  // The next non-empty row, split; false at the end; InvalidArgument for a row with the wrong number of fields.
  Result<bool> Next();
  std::string_view Field(int index) const;  // "" for index -1
  int line() const { return lines_.number(); }
  const std::string& path() const { return path_; }
  // An integer in [lo, hi] in column `index` into *out; an empty optional column leaves *out as it is.
  Status Int(int index, std::int64_t lo, std::int64_t hi, std::int64_t* out, bool optional = false) const;
  // ColumnError at the current line.
  Status Error(int index, const std::string& what) const;

 private:
  std::string JoinedHeader() const;
  std::string path_;
  std::string text_;
  Lines lines_;
  std::vector<std::string> header_;
  std::vector<std::string_view> fields_;
};

}  // namespace gpuwise::base
