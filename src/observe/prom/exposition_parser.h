// Pull parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
//
// Input: one page of bytes (the caller keeps it alive). Output: one Entry per Next() call: a sample, a
// HELP/TYPE/UNIT line, or the end. Views in an Entry stay valid until the next call to Next().
// Errors: a malformed line yields a Status naming line and column ("line 12 column 40: unclosed quote");
// the parser has then moved past that line, so a caller may count it and go on (what a scrape does).
// It never reads past the input and never crashes on any byte sequence (fuzzed).
// Speed: no heap allocation per sample in steady state; buffers grow only for a longer line than before.
// Semantics of metrics never come from HELP/TYPE text: the dcgm catalog decides (dcgm_catalog.h).
// Thread-safety: one parser per thread; distinct parsers share nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::observe::prom {

enum class Format {
  kText,         // text/plain; version=0.0.4 (timestamps are integer milliseconds)
  kOpenMetrics,  // application/openmetrics-text; version=1.0.0 (timestamps are float seconds, # EOF required)
};

// From a Content-Type header value; text 0.0.4 when absent or unknown (what Prometheus does).
Format FormatFromContentType(std::string_view content_type);

enum class MetricType : std::uint8_t {
  kUnknown,  // no TYPE line, "untyped" (text) or "unknown" (OpenMetrics)
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateSet,
};
std::string_view MetricTypeName(MetricType type);

struct Label {
  std::string_view name;
  std::string_view value;  // unescaped
};

struct TextSample {
  std::string_view name;
  std::span<const Label> labels;  // in page order
  // The label block exactly as written, from '{' to '}' inclusive ("" without labels). Equal bytes mean equal
  // labels, so SeriesInterner compares this first.
  std::string_view raw_labels;
  double value = 0;
  bool has_timestamp = false;
  std::int64_t timestamp_ms = 0;  // both formats normalised to Unix milliseconds
  // Hash of name + label set, independent of label order. Equal series always hash equal; unequal series
  // may collide, so SeriesInterner checks equality before merging.
  std::uint64_t series_hash = 0;
  // The TYPE of the family this sample belongs to (name, or name minus _total/_bucket/_sum/_count/_created/
  // _gcount/_gsum/_info), kUnknown when the last TYPE line names another family.
  MetricType family_type = MetricType::kUnknown;
  // OpenMetrics exemplar ("# {trace_id="x"} 0.5 1700000000.1"), if any.
  bool has_exemplar = false;
  std::span<const Label> exemplar_labels;
  double exemplar_value = 0;
  bool exemplar_has_timestamp = false;
  std::int64_t exemplar_timestamp_ms = 0;
};

enum class EntryKind : std::uint8_t { kSample, kHelp, kType, kUnit, kEof };

struct Entry {
  EntryKind kind = EntryKind::kEof;
  std::size_t line = 0;  // 1-based line number in the page
  TextSample sample;         // kSample
  // kHelp / kType / kUnit: the family name and the rest of the line (HELP unescaped).
  std::string_view family;
  std::string_view text;
  MetricType type = MetricType::kUnknown;  // kType
};

struct ParserOptions {
  Format format = Format::kText;
  // A label value longer than this is an error on its line (a 1 MiB value is a broken exporter, not data).
  std::size_t max_label_value_bytes = std::size_t{16} * 1024;
  // More labels than this on one sample is an error on its line (cardinality bombs).
  std::size_t max_labels = 128;
};

class ExpositionParser {
 public:
  ExpositionParser(std::string_view page, ParserOptions options);

  // Fills *entry with the next entry. Returns OK with entry->kind == kEof at the end of the page.
  // On a malformed line returns InvalidArgument "line L column C: ..."; the next call resumes at the
  // following line. After kEof, keeps returning kEof.
  base::Status Next(Entry* entry);

  // Starts over on a new page, keeping buffers (so a scraper reuses one parser without allocating).
  void Reset(std::string_view page);

 private:
  // *produced is false for a plain comment and for "# EOF".
  base::Status ParseComment(std::string_view line, Entry* entry, bool* produced);
  base::Status ParseSample(std::string_view line, Entry* entry);
  base::Status ParseLabels(std::string_view line, std::size_t* pos, std::vector<Label>* out, std::uint64_t* hash);
  base::Status Error(std::size_t column, std::string_view what) const;
  MetricType FamilyTypeOf(std::string_view sample_name) const;

  std::string_view page_;
  ParserOptions options_;
  std::size_t pos_ = 0;
  std::size_t line_no_ = 0;
  bool saw_eof_marker_ = false;
  bool done_ = false;
  std::string_view line_;  // current line, for error columns
  std::vector<Label> labels_;
  std::vector<Label> exemplar_labels_;
  std::string scratch_;  // unescaped label values; reserved to the line length before use, never reallocated mid-line
  std::string current_family_;
  MetricType current_type_ = MetricType::kUnknown;
};

// Parses a sample value: decimal or exponent floats, NaN, +Inf, -Inf, Inf (any case, as Go's ParseFloat).
bool ParseValue(std::string_view text, double* out);

// Fast 64-bit hash of bytes, seeded. Not cryptographic.
std::uint64_t HashBytes(std::string_view bytes, std::uint64_t seed);

}  // namespace gpuwise::observe::prom
