#include "observe/prom/exposition_parser.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace gpuwise::observe::prom {
namespace {

__extension__ typedef unsigned __int128 U128;

constexpr std::uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr std::uint64_t kP3 = 0x589965cc75374cc3ULL;

inline std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  U128 r = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t Load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Loads 1..7 bytes without reading past the end.
inline std::uint64_t LoadTail(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

inline bool IsNameStart(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// Label-name characters [a-zA-Z0-9_] as a table: one load per byte in the hot loop.
struct NameCharTable {
  bool v[256] = {};
  constexpr NameCharTable() {
    for (int c = 0; c < 256; ++c) v[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
  }
};
constexpr NameCharTable kNameChar;
inline bool IsNameChar(unsigned char c) { return kNameChar.v[c]; }

// SWAR: a byte of w equal to b (https://graphics.stanford.edu/~seander/bithacks.html#ValueInWord, the
// "haszero" trick): nonzero iff some byte of w is b.
inline std::uint64_t HasByte(std::uint64_t w, std::uint64_t b) {
  const std::uint64_t x = w ^ (0x0101010101010101ULL * b);
  return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

// Absorbs bytes into a running hash state (one multiply per 16 bytes, one for the tail).
inline std::uint64_t Absorb(std::uint64_t h, const char* p, std::size_t n);
inline bool IsMetricStart(unsigned char c) { return IsNameStart(c) || c == ':'; }
inline bool IsMetricChar(unsigned char c) { return IsNameChar(c) || c == ':'; }
inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

inline void SkipBlanks(std::string_view s, std::size_t* pos) {
  while (*pos < s.size() && IsBlank(s[*pos])) ++*pos;
}

// Validates UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Only called when a byte >= 0x80 was seen.
bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ParseType(std::string_view text, Format format, MetricType* out) {
  if (text == "counter") *out = MetricType::kCounter;
  else if (text == "gauge") *out = MetricType::kGauge;
  else if (text == "histogram") *out = MetricType::kHistogram;
  else if (text == "summary") *out = MetricType::kSummary;
  // "untyped" in the text format, "unknown" in OpenMetrics.
  else if (text == (format == Format::kText ? "untyped" : "unknown")) *out = MetricType::kUnknown;
  else if (text == "gaugehistogram" && format == Format::kOpenMetrics) *out = MetricType::kGaugeHistogram;
  else if (text == "info" && format == Format::kOpenMetrics) *out = MetricType::kInfo;
  else if (text == "stateset" && format == Format::kOpenMetrics) *out = MetricType::kStateSet;
  else return false;
  return true;
}

// Text-format timestamps: an integer number of milliseconds.
bool ParseMillis(std::string_view text, std::int64_t* out) {
  if (text.empty()) return false;
  const char* b = text.data();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

// OpenMetrics timestamps: float seconds -> milliseconds, rounded to nearest.
bool ParseSecondsAsMillis(std::string_view text, std::int64_t* out) {
  double s;
  if (!ParseValue(text, &s) || !std::isfinite(s)) return false;
  const double ms = std::round(s * 1000.0);
  if (!(ms > -9.2e18 && ms < 9.2e18)) return false;
  *out = static_cast<std::int64_t>(ms);
  return true;
}

inline std::uint64_t Absorb(std::uint64_t h, const char* p, std::size_t n) {
  const std::uint64_t len = n;
  while (n >= 16) {
    h = Mix(Load64(p) ^ kP1 ^ h, Load64(p + 8) ^ kP2);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = Mix(Load64(p) ^ kP1 ^ h, Load64(p + n - 8) ^ kP3 ^ len);
  } else {
    h = Mix(LoadTail(p, n) ^ kP2 ^ h, kP3 ^ len);
  }
  return h;
}

// A label's contribution to the series hash: name and value absorbed in one pass, no finaliser (the series
// hash is finalised once). Labels combine by addition, so label order does not matter.
inline std::uint64_t HashLabel(std::string_view name, std::string_view value) {
  return Absorb(Absorb(kP0, name.data(), name.size()), value.data(), value.size());
}

}  // namespace

std::uint64_t HashBytes(std::string_view bytes, std::uint64_t seed) {
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t h = seed ^ Mix(n ^ kP0, kP1);
  while (n >= 16) {
    h = Mix(Load64(p) ^ kP1 ^ h, Load64(p + 8) ^ kP2);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = Mix(Load64(p) ^ kP1 ^ h, kP3);
    p += 8;
    n -= 8;
  }
  if (n > 0) h = Mix(LoadTail(p, n) ^ kP2 ^ h, kP3 ^ n);
  return Mix(h ^ kP0, kP3);
}

Format FormatFromContentType(std::string_view content_type) {
  return content_type.find("application/openmetrics-text") != std::string_view::npos ? Format::kOpenMetrics
                                                                                      : Format::kText;
}

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kUnknown: return "unknown";
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kGaugeHistogram: return "gaugehistogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kInfo: return "info";
    case MetricType::kStateSet: return "stateset";
  }
  return "unknown";
}

bool ParseValue(std::string_view text, double* out) {
  if (text.empty()) return false;
  std::string_view body = text;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
    if (body.empty()) return false;
  }
  const unsigned char c0 = static_cast<unsigned char>(body[0]);
  if ((c0 >= '0' && c0 <= '9') || c0 == '.') {
    const char* end = body.data() + body.size();
    auto [p, ec] = std::from_chars(body.data(), end, *out);
    if (p != end) return false;
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves the value unset on overflow/underflow; Go's ParseFloat gives +-Inf or 0.
      bool has_negative_exp = body.find("e-") != std::string_view::npos || body.find("E-") != std::string_view::npos;
      *out = has_negative_exp ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (ec != std::errc()) {
      return false;
    }
    if (negative) *out = -*out;
    return true;
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(body, "nan") && text.size() == body.size()) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

ExpositionParser::ExpositionParser(std::string_view page, ParserOptions options) : page_(page), options_(options) {
  labels_.reserve(16);
  exemplar_labels_.reserve(4);
}

void ExpositionParser::Reset(std::string_view page) {
  page_ = page;
  pos_ = 0;
  line_no_ = 0;
  saw_eof_marker_ = false;
  done_ = false;
  current_family_.clear();
  current_type_ = MetricType::kUnknown;
}

base::Status ExpositionParser::Error(std::size_t column, std::string_view what) const {
  std::string m = "line " + std::to_string(line_no_) + " column " + std::to_string(column + 1) + ": ";
  m += what;
  return base::InvalidArgument(std::move(m));
}

base::Status ExpositionParser::Next(Entry* entry) {
  while (true) {
    if (done_ || pos_ >= page_.size()) {
      const bool first_time = !done_;
      done_ = true;
      entry->kind = EntryKind::kEof;
      entry->line = line_no_;
      if (first_time && options_.format == Format::kOpenMetrics && !saw_eof_marker_) {
        line_ = {};
        return base::InvalidArgument("line " + std::to_string(line_no_) +
                                     ": OpenMetrics page ends without '# EOF' (truncated body?)");
      }
      return base::Status::Ok();
    }
    const char* begin = page_.data() + pos_;
    const std::size_t remaining = page_.size() - pos_;
    const void* nl = std::memchr(begin, '\n', remaining);
    std::size_t len = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin) : remaining;
    pos_ += nl ? len + 1 : len;  // a last line with no newline is accepted
    ++line_no_;
    std::string_view line(begin, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line_ = line;
    if (saw_eof_marker_) {
      if (line.empty() && pos_ >= page_.size()) continue;
      return Error(0, "content after '# EOF'");
    }
    std::size_t p = 0;
    SkipBlanks(line, &p);
    if (p == line.size()) continue;  // empty line
    entry->line = line_no_;
    if (line[p] == '#') {
      bool produced = false;
      RETURN_IF_ERROR(ParseComment(line, entry, &produced));
      if (!produced) continue;  // a plain comment or "# EOF"
      return base::Status::Ok();
    }
    return ParseSample(line, entry);
  }
}

base::Status ExpositionParser::ParseComment(std::string_view line, Entry* entry, bool* produced) {
  std::size_t p = 0;
  SkipBlanks(line, &p);
  ++p;  // '#'
  const bool om = options_.format == Format::kOpenMetrics;
  if (om && line.substr(p) == " EOF") {
    saw_eof_marker_ = true;
    return base::Status::Ok();
  }
  if (p >= line.size() || !IsBlank(line[p])) {
    if (om) return Error(p, "a comment must be '# HELP', '# TYPE', '# UNIT' or '# EOF' in OpenMetrics");
    return base::Status::Ok();  // "#foo": a plain comment in the text format
  }
  SkipBlanks(line, &p);
  std::size_t kw_start = p;
  while (p < line.size() && !IsBlank(line[p])) ++p;
  std::string_view keyword = line.substr(kw_start, p - kw_start);
  EntryKind kind;
  if (keyword == "HELP") kind = EntryKind::kHelp;
  else if (keyword == "TYPE") kind = EntryKind::kType;
  else if (keyword == "UNIT" && om) kind = EntryKind::kUnit;
  else {
    if (om) return Error(kw_start, "unknown comment keyword '" + std::string(keyword.substr(0, 32)) + "'");
    return base::Status::Ok();
  }
  SkipBlanks(line, &p);
  std::size_t name_start = p;
  if (p >= line.size() || !IsMetricStart(static_cast<unsigned char>(line[p]))) {
    return Error(p, "expected a metric name after # " + std::string(keyword));
  }
  while (p < line.size() && IsMetricChar(static_cast<unsigned char>(line[p]))) ++p;
  entry->family = line.substr(name_start, p - name_start);
  if (p < line.size() && !IsBlank(line[p])) return Error(p, "invalid character in metric name");
  if (p < line.size()) ++p;  // exactly one separator; HELP text keeps further blanks
  std::string_view rest = line.substr(p);
  entry->kind = kind;
  *produced = true;
  if (kind == EntryKind::kType) {
    while (!rest.empty() && IsBlank(rest.back())) rest.remove_suffix(1);
    while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
    if (!ParseType(rest, options_.format, &entry->type)) {
      return Error(p, "unknown metric type '" + std::string(rest.substr(0, 32)) + "'");
    }
    entry->text = rest;
    current_family_.assign(entry->family);
    current_type_ = entry->type;
    return base::Status::Ok();
  }
  if (kind == EntryKind::kHelp && rest.find('\\') != std::string_view::npos) {
    scratch_.clear();
    scratch_.reserve(rest.size());
    for (std::size_t i = 0; i < rest.size(); ++i) {
      char c = rest[i];
      if (c == '\\' && i + 1 < rest.size()) {
        char e = rest[i + 1];
        if (e == 'n') c = '\n', ++i;
        else if (e == '\\') c = '\\', ++i;
        else if (e == '"' && om) c = '"', ++i;
      }
      scratch_.push_back(c);
    }
    rest = scratch_;
  }
  entry->text = rest;
  return base::Status::Ok();
}

MetricType ExpositionParser::FamilyTypeOf(std::string_view name) const {
  if (current_family_.empty()) return MetricType::kUnknown;
  std::string_view family = current_family_;
  if (name == family) return current_type_;
  if (name.size() <= family.size() || name.substr(0, family.size()) != family) return MetricType::kUnknown;
  std::string_view suffix = name.substr(family.size());
  static constexpr std::string_view kSuffixes[] = {"_total", "_bucket", "_sum",  "_count",
                                                  "_created", "_gcount", "_gsum", "_info"};
  for (std::string_view s : kSuffixes) {
    if (suffix == s) return current_type_;
  }
  return MetricType::kUnknown;
}

base::Status ExpositionParser::ParseLabels(std::string_view line, std::size_t* pos, std::vector<Label>* out,
                                           std::uint64_t* hash) {
  std::size_t p = *pos + 1;  // past '{'
  std::uint64_t sum = 0;
  while (true) {
    SkipBlanks(line, &p);
    if (p >= line.size()) return Error(p, "unclosed '{' (missing '}')");
    if (line[p] == '}') {
      ++p;
      break;
    }
    const std::size_t name_start = p;
    if (!IsNameStart(static_cast<unsigned char>(line[p]))) {
      return Error(p, "expected a label name");
    }
    ++p;
    while (p < line.size() && IsNameChar(static_cast<unsigned char>(line[p]))) ++p;
    std::string_view name = line.substr(name_start, p - name_start);
    SkipBlanks(line, &p);
    if (p >= line.size() || line[p] != '=') return Error(p, "expected '=' after label name '" + std::string(name) + "'");
    ++p;
    SkipBlanks(line, &p);
    if (p >= line.size() || line[p] != '"') return Error(p, "expected '\"' to open the value of label '" + std::string(name) + "'");
    ++p;
    const std::size_t value_start = p;
    bool escaped = false;
    bool high = false;
    // Scan for the closing quote 8 bytes at a time while no quote, backslash or non-ASCII byte is in the word;
    // the byte loop below finds which one it was.
    while (p + 8 <= line.size()) {
      const std::uint64_t w = Load64(line.data() + p);
      if (HasByte(w, '"') | HasByte(w, '\\') | (w & 0x8080808080808080ULL)) break;
      p += 8;
    }
    while (p < line.size()) {
      const unsigned char c = static_cast<unsigned char>(line[p]);
      if (c == '"') break;
      if (c == '\\') {
        escaped = true;
        p += 2;
        continue;
      }
      high |= c >= 0x80;
      ++p;
    }
    if (p >= line.size()) return Error(value_start - 1, "unclosed quote in the value of label '" + std::string(name) + "'");
    std::string_view raw = line.substr(value_start, p - value_start);
    ++p;  // closing quote
    if (raw.size() > options_.max_label_value_bytes) {
      return Error(value_start, "value of label '" + std::string(name) + "' is " + std::to_string(raw.size()) +
                                    " bytes, over the limit of " + std::to_string(options_.max_label_value_bytes));
    }
    if (high && !ValidUtf8(raw)) {
      return Error(value_start, "value of label '" + std::string(name) + "' is not valid UTF-8");
    }
    std::string_view value = raw;
    if (escaped) {
      // scratch_ was reserved to the line's length, so appending never reallocates and earlier views stay valid.
      const std::size_t start = scratch_.size();
      for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\\') {
          if (i + 1 >= raw.size()) return Error(value_start + i, "dangling backslash in label value");
          const char e = raw[++i];
          if (e == 'n') c = '\n';
          else if (e == '\\') c = '\\';
          else if (e == '"') c = '"';
          else return Error(value_start + i - 1, std::string("invalid escape '\\") + e + "' in label value");
        }
        scratch_.push_back(c);
      }
      value = std::string_view(scratch_).substr(start);
    }
    if (out->size() >= options_.max_labels) {
      return Error(name_start, "more than " + std::to_string(options_.max_labels) + " labels on one sample");
    }
    for (const Label& l : *out) {
      if (l.name == name) return Error(name_start, "duplicate label '" + std::string(name) + "'");
    }
    out->push_back({name, value});
    if (hash) sum += HashLabel(name, value);
    SkipBlanks(line, &p);
    if (p < line.size() && line[p] == ',') {
      ++p;
      continue;
    }
    if (p < line.size() && line[p] == '}') {
      ++p;
      break;
    }
    return Error(p, "expected ',' or '}' after a label");
  }
  if (hash) *hash = sum;
  *pos = p;
  return base::Status::Ok();
}

base::Status ExpositionParser::ParseSample(std::string_view line, Entry* entry) {
  std::size_t p = 0;
  SkipBlanks(line, &p);
  const std::size_t name_start = p;
  if (!IsMetricStart(static_cast<unsigned char>(line[p]))) return Error(p, "expected a metric name");
  ++p;
  while (p < line.size() && IsMetricChar(static_cast<unsigned char>(line[p]))) ++p;
  TextSample& s = entry->sample;
  s.name = line.substr(name_start, p - name_start);
  labels_.clear();
  // All unescaped label values of this line (sample and exemplar) fit in line.size() bytes, so after this
  // reserve appending to scratch_ never reallocates and views into it stay valid.
  if (scratch_.capacity() < line.size()) scratch_.reserve(line.size());
  scratch_.clear();
  std::uint64_t label_hash = 0;
  if (p < line.size() && !IsBlank(line[p]) && line[p] != '{') {
    return Error(p, "invalid character in metric name");
  }
  SkipBlanks(line, &p);
  s.raw_labels = {};
  if (p < line.size() && line[p] == '{') {
    const std::size_t open = p;
    RETURN_IF_ERROR(ParseLabels(line, &p, &labels_, &label_hash));
    s.raw_labels = line.substr(open, p - open);
  }
  s.labels = labels_;
  s.series_hash = Mix(HashBytes(s.name, kP0) ^ label_hash, kP2);
  SkipBlanks(line, &p);
  if (p >= line.size()) return Error(p, "missing value");
  std::size_t v_start = p;
  while (p < line.size() && !IsBlank(line[p])) ++p;
  std::string_view value_text = line.substr(v_start, p - v_start);
  if (!ParseValue(value_text, &s.value)) {
    return Error(v_start, "invalid value '" + std::string(value_text.substr(0, 40)) + "'");
  }
  SkipBlanks(line, &p);
  s.has_timestamp = false;
  s.has_exemplar = false;
  const bool om = options_.format == Format::kOpenMetrics;
  if (p < line.size() && line[p] != '#') {
    std::size_t t_start = p;
    while (p < line.size() && !IsBlank(line[p])) ++p;
    std::string_view ts = line.substr(t_start, p - t_start);
    bool ok = om ? ParseSecondsAsMillis(ts, &s.timestamp_ms) : ParseMillis(ts, &s.timestamp_ms);
    if (!ok) {
      return Error(t_start, std::string("invalid timestamp '") + std::string(ts.substr(0, 40)) +
                                (om ? "' (OpenMetrics wants seconds)" : "' (text format wants integer milliseconds)"));
    }
    s.has_timestamp = true;
    SkipBlanks(line, &p);
  }
  if (p < line.size()) {
    if (!om || line[p] != '#') return Error(p, "unexpected text after the value");
    // Exemplar: " # {labels} value [timestamp]".
    ++p;
    SkipBlanks(line, &p);
    if (p >= line.size() || line[p] != '{') return Error(p, "expected '{' to open the exemplar's labels");
    exemplar_labels_.clear();
    RETURN_IF_ERROR(ParseLabels(line, &p, &exemplar_labels_, nullptr));
    SkipBlanks(line, &p);
    std::size_t ev_start = p;
    while (p < line.size() && !IsBlank(line[p])) ++p;
    if (!ParseValue(line.substr(ev_start, p - ev_start), &s.exemplar_value)) {
      return Error(ev_start, "invalid exemplar value");
    }
    SkipBlanks(line, &p);
    s.exemplar_has_timestamp = false;
    if (p < line.size()) {
      std::size_t et_start = p;
      while (p < line.size() && !IsBlank(line[p])) ++p;
      if (!ParseSecondsAsMillis(line.substr(et_start, p - et_start), &s.exemplar_timestamp_ms)) {
        return Error(et_start, "invalid exemplar timestamp");
      }
      s.exemplar_has_timestamp = true;
      SkipBlanks(line, &p);
      if (p < line.size()) return Error(p, "unexpected text after the exemplar");
    }
    s.has_exemplar = true;
    s.exemplar_labels = exemplar_labels_;
  }
  s.family_type = FamilyTypeOf(s.name);
  entry->kind = EntryKind::kSample;
  return base::Status::Ok();
}

}  // namespace gpuwise::observe::prom
