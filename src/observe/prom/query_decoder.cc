// Prometheus API JSON -> columnar arrays, with simdjson's on-demand API (one forward pass, no DOM).
#include "observe/prom/query_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>

namespace gpuwise::observe::prom {
namespace {

namespace od = simdjson::ondemand;
using base::Result;
using base::Status;

constexpr std::size_t kSnippetChars = 100;

Status Malformed(std::string_view where, std::string_view what) {
  std::string m = "malformed Prometheus API response";
  if (!where.empty()) {
    m += " at ";
    m += where;
  }
  m += ": ";
  m += what;
  return base::InvalidArgument(std::move(m));
}

Status FromSimdjson(std::string_view where, simdjson::error_code e) {
  return Malformed(where, simdjson::error_message(e));
}

std::string_view JsonTypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "unknown";
}

// Reports the JSON type found where another was expected: "expected array, got string".
Status WrongType(std::string_view where, std::string_view expected, od::value& v) {
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return Malformed(where, "expected " + std::string(expected));
  return Malformed(where, "expected " + std::string(expected) + ", got " + std::string(JsonTypeName(t)));
}

// A body that is not a JSON object is usually an HTML error page from a proxy or a load balancer.
Status CheckLooksLikeJsonObject(std::string_view body) {
  std::size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
  if (i == body.size()) return base::InvalidArgument("empty response body where Prometheus API JSON was expected");
  if (body[i] != '{') {
    return base::InvalidArgument("expected a Prometheus API JSON response, got: \"" +
                                 SanitizeSnippet(body.substr(i), kSnippetChars) + "\"");
  }
  return Status::Ok();
}

// Trims a raw number token (simdjson may include trailing whitespace) to its number characters.
std::string_view NumberToken(std::string_view raw) {
  std::size_t n = 0;
  while (n < raw.size()) {
    char c = raw[n];
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
      ++n;
    } else {
      break;
    }
  }
  return raw.substr(0, n);
}

std::string Where(std::string_view prefix, std::size_t index) {
  std::string s(prefix);
  s += '[';
  s += std::to_string(index);
  s += ']';
  return s;
}

// Clinger's fast path: "123.456" -> 123456 / 10^3 is correctly rounded when the digits fit in 2^53 and the
// power of ten is exact (<= 10^22), which is every value Prometheus prints with %g-style 17 digits or fewer
// that is not in exponent form. Returns false to defer to from_chars.
bool FastDecimal(std::string_view t, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  std::size_t i = 0;
  const bool negative = !t.empty() && t[0] == '-';
  if (negative) ++i;
  std::uint64_t mantissa = 0;
  int digits = 0, frac = 0;
  bool dot = false, any = false;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    if (c >= '0' && c <= '9') {
      if (++digits > 18) return false;
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(c - '0');
      frac += dot ? 1 : 0;
      any = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;  // exponent, NaN, Inf, junk: the slow path decides
    }
  }
  if (!any || mantissa > (1ULL << 53) || frac > 22) return false;
  const double v = static_cast<double>(mantissa) / kPow10[frac];
  *out = negative ? -v : v;
  return true;
}

// The usual Prometheus timestamp, "1435781451" or "1435781451.781" (at most 3 decimals, no sign, no exponent),
// straight from the raw token in one pass. Anything else returns false for ParseTimestampMillis to handle.
bool FastTimestamp(std::string_view raw, std::int64_t* ms_out) {
  const char* p = raw.data();
  const char* e = p + raw.size();
  std::int64_t sec = 0;
  int n = 0;
  while (p < e && *p >= '0' && *p <= '9') {
    sec = sec * 10 + (*p++ - '0');
    if (++n > 15) return false;
  }
  if (n == 0) return false;
  std::int64_t ms = 0;
  int fd = 0;
  if (p < e && *p == '.') {
    ++p;
    while (p < e && *p >= '0' && *p <= '9' && fd < 3) {
      ms = ms * 10 + (*p++ - '0');
      ++fd;
    }
    if (fd == 0) return false;
  }
  if (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')) return false;
  for (; fd < 3; ++fd) ms *= 10;
  *ms_out = sec * 1000 + ms;
  return true;
}

// Reads the raw text of a "values" array, [[<unix seconds>,"<value>"],...] with any JSON whitespace, into the
// columns. Strict: anything else is an error naming the pair, e.g. "data.result[0].values[7]: ...".
Status ScanValues(std::string_view raw, Series* series, const std::string& where) {
  const char* p = raw.data();
  const char* const e = p + raw.size();
  auto ws = [&] {
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  };
  auto is_num = [](char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; };
  ws();
  if (p == e || *p != '[') return Malformed(where, "expected an array");
  ++p;
  ws();
  if (p < e && *p == ']') return Status::Ok();
  for (std::size_t i = 0;; ++i) {
    auto bad = [&](const std::string& what) { return Malformed(Where(where, i), what); };
    ws();
    if (p == e || *p != '[') return bad("expected [timestamp, \"value\"]");
    ++p;
    ws();
    const char* ts = p;
    while (p < e && is_num(*p)) ++p;
    const std::string_view tok(ts, static_cast<std::size_t>(p - ts));
    if (tok.empty()) return bad(p < e && *p == '"' ? "timestamp is a string, expected a number" : "expected a timestamp number");
    std::int64_t t;
    if (!FastTimestamp(tok, &t) && !ParseTimestampMillis(tok, &t)) {
      return bad("bad timestamp \"" + SanitizeSnippet(tok, 40) + "\"");
    }
    ws();
    if (p == e || *p != ',') return bad("expected [timestamp, \"value\"], got 1 element");
    ++p;
    ws();
    if (p == e || *p != '"') return bad("sample value must be a string");
    const char* vs = ++p;
    while (p < e && *p != '"' && *p != '\\') ++p;
    const std::string_view v(vs, static_cast<std::size_t>(p - vs));
    double x;
    if (p == e || *p != '"' || !(FastDecimal(v, &x) || ParseSampleValue(v, &x))) {
      return bad("bad sample value \"" + SanitizeSnippet(v, 40) + "\"");
    }
    ++p;
    ws();
    if (p == e || *p != ']') return bad("expected [timestamp, \"value\"], got more than 2 elements");
    ++p;
    if (!series->timestamps_ms.empty() && t <= series->timestamps_ms.back()) {
      return bad("timestamps are not strictly increasing");
    }
    series->timestamps_ms.push_back(t);
    series->values.push_back(x);
    ws();
    if (p < e && *p == ',') {
      ++p;
      continue;
    }
    if (p < e && *p == ']') {
      ++p;
      break;
    }
    return bad("expected ',' or ']' after a pair");
  }
  ws();
  if (p != e) return Malformed(where, "unexpected text after the array");
  return Status::Ok();
}

// Reads one [<unix seconds>, "<value>"] pair. `where` is only turned into text on an error.
Status ReadSamplePair(od::value pair_value, std::int64_t* ts_ms, double* value, std::string_view where) {
  od::array pair;
  if (pair_value.get_array().get(pair) != simdjson::SUCCESS) {
    return WrongType(where, "[timestamp, \"value\"] array", pair_value);
  }
  int idx = 0;
  for (auto elem_result : pair) {
    od::value elem;
    if (auto e = elem_result.get(elem)) return FromSimdjson(where, e);
    if (idx == 0) {
      std::string_view raw = elem.raw_json_token();
      if (FastTimestamp(raw, ts_ms)) {
        ++idx;
        continue;
      }
      std::string_view tok = NumberToken(raw);
      if (tok.empty()) {
        od::json_type t;
        if (auto e = elem.type().get(t)) return FromSimdjson(where, e);
        return Malformed(where, "timestamp is a " + std::string(JsonTypeName(t)) + ", expected a number");
      }
      if (!ParseTimestampMillis(tok, ts_ms)) {
        return Malformed(where, "bad timestamp \"" + SanitizeSnippet(tok, 40) + "\"");
      }
    } else if (idx == 1) {
      // Sample values are plain ASCII numbers or NaN/Inf: read the raw string in place (no unescaping copy);
      // a backslash cannot be part of a valid value, so it is rejected like any other bad value.
      simdjson::ondemand::raw_json_string raw;
      if (elem.get_raw_json_string().get(raw) != simdjson::SUCCESS) return WrongType(where, "sample value as a string", elem);
      const char* begin = raw.raw();
      const char* end = begin;
      while (*end != '"' && *end != '\\' && *end != '\0') ++end;  // the padded buffer always holds the closing quote
      std::string_view s(begin, static_cast<std::size_t>(end - begin));
      if (*end != '"' || !(FastDecimal(s, value) || ParseSampleValue(s, value))) {
        return Malformed(where, "bad sample value \"" + SanitizeSnippet(s, 40) + "\"");
      }
    }
    ++idx;
  }
  if (idx != 2) return Malformed(where, "expected [timestamp, \"value\"], got " + std::to_string(idx) + " elements");
  return Status::Ok();
}

Status ReadLabels(od::value v, Labels* labels, const std::string& where) {
  od::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return WrongType(where, "label object", v);
  labels->clear();
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return FromSimdjson(where, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return FromSimdjson(where, e);
    std::string_view val;
    if (field.value().get_string().get(val) != simdjson::SUCCESS) {
      return Malformed(where, "label \"" + SanitizeSnippet(key, 40) + "\" does not have a string value");
    }
    labels->emplace_back(std::string(key), std::string(val));
  }
  if (!std::is_sorted(labels->begin(), labels->end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; })) {
    std::sort(labels->begin(), labels->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (std::size_t i = 1; i < labels->size(); ++i) {
    if ((*labels)[i].first == (*labels)[i - 1].first) {
      return Malformed(where, "duplicate label \"" + SanitizeSnippet((*labels)[i].first, 40) + "\"");
    }
  }
  return Status::Ok();
}

// The fields of the top-level envelope that every endpoint shares.
struct Envelope {
  std::string status;
  std::string error_type;
  std::string error;
  std::vector<std::string> warnings;
  bool saw_data = false;
};

Status ReadStringArray(od::value v, std::vector<std::string>* out, const std::string& where) {
  od::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return WrongType(where, "array of strings", v);
  std::size_t i = 0;
  for (auto elem_result : arr) {
    od::value elem;
    if (auto e = elem_result.get(elem)) return FromSimdjson(where, e);
    std::string_view s;
    if (elem.get_string().get(s) != simdjson::SUCCESS) return WrongType(Where(where, i), "string", elem);
    out->emplace_back(s);
    ++i;
  }
  return Status::Ok();
}

Status ReadStringField(od::value v, std::string* out, const std::string& where) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return WrongType(where, "string", v);
  out->assign(s);
  return Status::Ok();
}

// Walks the envelope; `read_data` is called on the "data" value. Handles status/error/warnings/infos.
template <typename ReadData>
Status WalkEnvelope(std::string_view body, Envelope* env, ReadData&& read_data) {
  RETURN_IF_ERROR(CheckLooksLikeJsonObject(body));
  // On-demand needs SIMDJSON_PADDING readable bytes after the input; copying is cheaper than the parse.
  simdjson::padded_string padded(body);
  thread_local od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return FromSimdjson("", e);
  od::object root;
  if (auto e = doc.get_object().get(root)) return FromSimdjson("top level", e);
  for (auto field_result : root) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return FromSimdjson("top level", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return FromSimdjson("top level", e);
    if (key == "status") {
      RETURN_IF_ERROR(ReadStringField(field.value(), &env->status, "status"));
    } else if (key == "errorType") {
      RETURN_IF_ERROR(ReadStringField(field.value(), &env->error_type, "errorType"));
    } else if (key == "error") {
      RETURN_IF_ERROR(ReadStringField(field.value(), &env->error, "error"));
    } else if (key == "warnings" || key == "infos") {
      RETURN_IF_ERROR(ReadStringArray(field.value(), &env->warnings, std::string(key)));
    } else if (key == "data") {
      od::value data = field.value();
      bool is_null = false;
      if (auto e = data.is_null().get(is_null)) return FromSimdjson("data", e);
      if (is_null) continue;
      env->saw_data = true;
      RETURN_IF_ERROR(read_data(data));
    }
  }
  // Anything after the closing brace means the body is not one JSON document.
  const char* loc = nullptr;
  if (doc.current_location().get(loc) == simdjson::SUCCESS) {
    return Malformed("end", "trailing content after the JSON object");
  }
  if (env->status == "error") return ErrorFromPrometheus(env->error_type, env->error);
  if (env->status != "success") {
    if (env->status.empty()) return Malformed("", "no \"status\" field; not a Prometheus API response");
    return Malformed("status", "unknown status \"" + SanitizeSnippet(env->status, 40) + "\"");
  }
  if (!env->saw_data) return Malformed("", "status is success but there is no \"data\"");
  return Status::Ok();
}

// One element of data.result for a vector or matrix: {"metric": {...}, "value"|"values": ...}.
Status ReadResultElement(od::value v, std::size_t index, QueryResponse* out, bool* is_matrix_elem,
                         bool* skipped_histogram) {
  const std::string where = Where("data.result", index);
  od::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return WrongType(where, "series object", v);
  Labels labels;
  bool has_value = false, has_values = false, has_histogram = false;
  std::int64_t ts = 0;
  double val = 0;
  Series series;
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return FromSimdjson(where, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return FromSimdjson(where, e);
    if (key == "metric") {
      RETURN_IF_ERROR(ReadLabels(field.value(), &labels, where + ".metric"));
    } else if (key == "value") {
      RETURN_IF_ERROR(ReadSamplePair(field.value(), &ts, &val, where + ".value"));
      has_value = true;
    } else if (key == "values") {
      od::value vals_value = field.value();
      od::array vals;
      if (vals_value.get_array().get(vals) != simdjson::SUCCESS) return WrongType(where + ".values", "array", vals_value);
      // simdjson skips the array by its structural index; the pairs are then read by a tight scan of the raw
      // text (ScanValues), which is where query_range spends its time.
      std::string_view raw;
      if (auto e = vals.raw_json().get(raw)) return FromSimdjson(where + ".values", e);
      // Series of one matrix usually have the same length: size the columns like the previous one.
      const std::size_t size_hint = out->matrix.empty() ? 0 : out->matrix.back().values.size();
      series.timestamps_ms.reserve(size_hint);
      series.values.reserve(size_hint);
      RETURN_IF_ERROR(ScanValues(raw, &series, where + ".values"));
      has_values = true;
    } else if (key == "histogram" || key == "histograms") {
      has_histogram = true;
    }
  }
  if (has_value && has_values) return Malformed(where, "has both \"value\" and \"values\"");
  if (!has_value && !has_values && !has_histogram) return Malformed(where, "has neither \"value\" nor \"values\"");
  if (has_histogram) *skipped_histogram = true;
  if (has_values || (!has_value && out->result_type == ResultType::kMatrix)) {
    *is_matrix_elem = true;
    series.labels = std::move(labels);
    out->matrix.push_back(std::move(series));
  } else if (has_value) {
    *is_matrix_elem = false;
    out->vector.push_back(Sample{std::move(labels), ts, val});
  } else {
    *is_matrix_elem = false;  // a histogram-only instant sample: skipped
  }
  return Status::Ok();
}

// data.result: an array of series (matrix/vector) or a [ts, "v"] pair (scalar/string). The shape is
// read from the value itself so that "result" arriving before "resultType" still decodes.
Status ReadResult(od::value v, QueryResponse* out, bool* result_seen_matrix, bool* result_seen_vector,
                  bool* skipped_histogram) {
  od::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return WrongType("data.result", "array", v);
  std::size_t i = 0;
  for (auto elem_result : arr) {
    od::value elem;
    if (auto e = elem_result.get(elem)) return FromSimdjson(Where("data.result", i), e);
    od::json_type t;
    if (auto e = elem.type().get(t)) return FromSimdjson(Where("data.result", i), e);
    if (t != od::json_type::object) {
      // scalar or string: [<unix_time>, "<value>"]; this element is the timestamp.
      if (i != 0 || out->result_type == ResultType::kMatrix || out->result_type == ResultType::kVector) {
        return Malformed(Where("data.result", i), "expected a series object, got " + std::string(JsonTypeName(t)));
      }
      // Re-read the whole pair: handled by the caller through ReadScalarOrString.
      return Status(base::Code::kFailedPrecondition, "scalar");
    }
    bool is_matrix = false;
    RETURN_IF_ERROR(ReadResultElement(elem, i, out, &is_matrix, skipped_histogram));
    (is_matrix ? *result_seen_matrix : *result_seen_vector) = true;
    ++i;
  }
  return Status::Ok();
}

Status ReadQueryData(od::value v, QueryResponse* out) {
  od::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return WrongType("data", "object", v);
  std::string result_type;
  bool seen_result = false, seen_matrix = false, seen_vector = false, skipped_histogram = false;
  bool scalar_shape = false;
  std::int64_t scalar_ts = 0;
  std::string scalar_text;
  out->result_type = ResultType::kVector;
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return FromSimdjson("data", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return FromSimdjson("data", e);
    if (key == "resultType") {
      RETURN_IF_ERROR(ReadStringField(field.value(), &result_type, "data.resultType"));
      if (result_type == "matrix") out->result_type = ResultType::kMatrix;
      else if (result_type == "vector") out->result_type = ResultType::kVector;
      else if (result_type == "scalar") out->result_type = ResultType::kScalar;
      else if (result_type == "string") out->result_type = ResultType::kString;
      else return Malformed("data.resultType", "unknown result type \"" + SanitizeSnippet(result_type, 40) + "\"");
    } else if (key == "result") {
      seen_result = true;
      od::value res = field.value();
      od::json_type t;
      if (auto e = res.type().get(t)) return FromSimdjson("data.result", e);
      if (t != od::json_type::array) return WrongType("data.result", "array", res);
      // Scalar/string results are a bare pair whose first element is a number.
      if (out->result_type == ResultType::kScalar || out->result_type == ResultType::kString) {
        od::array pair;
        if (auto e = res.get_array().get(pair)) return FromSimdjson("data.result", e);
        int idx = 0;
        for (auto elem_result : pair) {
          od::value elem;
          if (auto e = elem_result.get(elem)) return FromSimdjson("data.result", e);
          if (idx == 0) {
            std::string_view raw;
            od::json_type et;
            if (auto e = elem.type().get(et)) return FromSimdjson("data.result", e);
            if (et != od::json_type::number) return WrongType("data.result[0]", "number", elem);
            raw = elem.raw_json_token();
            if (!ParseTimestampMillis(NumberToken(raw), &scalar_ts)) return Malformed("data.result[0]", "bad timestamp");
          } else if (idx == 1) {
            RETURN_IF_ERROR(ReadStringField(elem, &scalar_text, "data.result[1]"));
          }
          ++idx;
        }
        if (idx != 2) return Malformed("data.result", "expected [timestamp, \"value\"]");
        scalar_shape = true;
        continue;
      }
      Status st = ReadResult(res, out, &seen_matrix, &seen_vector, &skipped_histogram);
      if (st.code() == base::Code::kFailedPrecondition) {
        return Malformed("data.result", "a [timestamp, value] pair needs resultType scalar or string before it");
      }
      RETURN_IF_ERROR(st);
    }
  }
  if (result_type.empty()) {
    if (!seen_result) return Malformed("data", "no \"resultType\" and no \"result\"");
    // Missing resultType: infer from the elements (matrix if any had "values").
    out->result_type = seen_matrix ? ResultType::kMatrix : ResultType::kVector;
  }
  if (!seen_result) return Malformed("data", "no \"result\"");
  if (seen_matrix && seen_vector) return Malformed("data.result", "mixes \"value\" and \"values\" series");
  if (out->result_type == ResultType::kMatrix && seen_vector) {
    return Malformed("data.result", "resultType is matrix but series carry a single \"value\"");
  }
  if (out->result_type == ResultType::kVector && seen_matrix) {
    return Malformed("data.result", "resultType is vector but series carry \"values\"");
  }
  if (out->result_type == ResultType::kScalar || out->result_type == ResultType::kString) {
    if (!scalar_shape) return Malformed("data.result", "expected [timestamp, \"value\"] for " + result_type);
    double x = std::numeric_limits<double>::quiet_NaN();
    if (out->result_type == ResultType::kScalar) {
      if (!ParseSampleValue(scalar_text, &x)) return Malformed("data.result[1]", "bad scalar value \"" + SanitizeSnippet(scalar_text, 40) + "\"");
    } else {
      out->string_value = scalar_text;
    }
    out->vector.push_back(Sample{{}, scalar_ts, x});
  }
  if (skipped_histogram) {
    out->warnings.push_back("gpuwise: native histogram samples were skipped (no single float value)");
  }
  return Status::Ok();
}

}  // namespace

std::string SanitizeSnippet(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 3);
  bool last_space = false;
  std::size_t i = 0;
  for (; i < text.size() && out.size() < max_chars; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!last_space) out.push_back(' ');
      last_space = true;
      continue;
    }
    last_space = false;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (i < text.size()) out += "...";
  return out;
}

bool ParseTimestampMillis(std::string_view text, std::int64_t* out_ms) {
  if (text.empty()) return false;
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    ++i;
  }
  // Fast exact path: digits [ '.' digits ] with no exponent.
  std::size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::size_t int_end = i;
  std::size_t frac_begin = i, frac_end = i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    frac_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
  }
  if (i == text.size() && (int_end > int_begin || frac_end > frac_begin)) {
    // Seconds must fit: |ms| < 9.2e18 -> seconds below ~9.2e15, i.e. at most 15 digits is always safe.
    std::size_t int_digits = int_end - int_begin;
    while (int_digits > 1 && text[int_begin] == '0') {
      ++int_begin;
      --int_digits;
    }
    if (int_digits > 15) return false;
    std::int64_t seconds = 0;
    for (std::size_t k = int_begin; k < int_end; ++k) seconds = seconds * 10 + (text[k] - '0');
    std::int64_t millis = 0;
    int digits = 0;
    std::size_t k = frac_begin;
    for (; k < frac_end && digits < 3; ++k, ++digits) millis = millis * 10 + (text[k] - '0');
    for (; digits < 3; ++digits) millis *= 10;
    // Round half away from zero on the first dropped digit.
    if (k < frac_end && text[k] >= '5') ++millis;
    std::int64_t ms = seconds * 1000 + millis;
    *out_ms = negative ? -ms : ms;
    return true;
  }
  // Exponent form ("1.4e9"): rare from Prometheus; go through double, still rounded to the millisecond.
  double seconds = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(seconds)) return false;
  double ms = seconds * 1000.0;
  if (!(std::fabs(ms) < 9.0e18)) return false;
  *out_ms = static_cast<std::int64_t>(std::llround(ms));
  return true;
}

bool ParseSampleValue(std::string_view text, double* out) {
  if (text.empty()) return false;
  // from_chars accepts "nan", "inf", "infinity" in any case and a leading '-', but not a leading '+'.
  std::string_view t = text;
  if (t[0] == '+') {
    t.remove_prefix(1);
    if (t.empty() || t[0] == '-' || t[0] == '+') return false;
  }
  double v = 0;
  auto res = std::from_chars(t.data(), t.data() + t.size(), v);
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow/underflow: follow strconv.ParseFloat (±Inf / 0) rather than rejecting the sample.
    bool neg = !t.empty() && t[0] == '-';
    std::size_t e = t.find_first_of("eE");
    bool tiny = e != std::string_view::npos && e + 1 < t.size() && t[e + 1] == '-';
    v = tiny ? (neg ? -0.0 : 0.0) : (neg ? -HUGE_VAL : HUGE_VAL);
  } else if (res.ec != std::errc()) {
    return false;
  }
  if (res.ptr != t.data() + t.size()) return false;
  *out = v;
  return true;
}

Status ErrorFromPrometheus(std::string_view error_type, std::string_view error) {
  std::string msg = "prometheus error (" + SanitizeSnippet(error_type.empty() ? "unknown" : error_type, 40) +
                    "): " + SanitizeSnippet(error, 1000);
  base::Code code = base::Code::kInvalidArgument;
  if (error_type == "bad_data") {
    code = base::Code::kInvalidArgument;
  } else if (error_type == "execution") {
    code = error.find("too many samples") != std::string_view::npos ? base::Code::kResourceExhausted
                                                                    : base::Code::kInvalidArgument;
  } else if (error_type == "timeout") {
    code = base::Code::kDeadlineExceeded;
  } else if (error_type == "canceled" || error_type == "unavailable") {
    code = base::Code::kUnavailable;
  } else if (error_type == "not_found") {
    code = base::Code::kNotFound;
  } else if (error_type == "internal") {
    code = base::Code::kInternal;
  } else if (error_type == "too_many_requests") {
    code = base::Code::kResourceExhausted;
  }
  return Status(code, std::move(msg));
}

Status DecodeErrorResponse(std::string_view body) {
  Envelope env;
  Status st = WalkEnvelope(body, &env, [](od::value) { return Status::Ok(); });
  if (env.status != "error") return Status::Ok();
  // Prefer Prometheus's own words even if something after them was malformed.
  if (!env.error.empty() || !env.error_type.empty()) return ErrorFromPrometheus(env.error_type, env.error);
  return st.ok() ? ErrorFromPrometheus("", "") : st;
}

Result<QueryResponse> DecodeQueryResponse(std::string_view body) {
  QueryResponse out;
  Envelope env;
  RETURN_IF_ERROR(WalkEnvelope(body, &env, [&](od::value v) { return ReadQueryData(v, &out); }));
  for (auto& w : env.warnings) out.warnings.push_back(std::move(w));
  return out;
}

Result<SeriesResponse> DecodeSeriesResponse(std::string_view body) {
  SeriesResponse out;
  Envelope env;
  RETURN_IF_ERROR(WalkEnvelope(body, &env, [&](od::value v) -> Status {
    od::array arr;
    if (v.get_array().get(arr) != simdjson::SUCCESS) return WrongType("data", "array of label sets", v);
    std::size_t i = 0;
    for (auto elem_result : arr) {
      od::value elem;
      if (auto e = elem_result.get(elem)) return FromSimdjson(Where("data", i), e);
      Labels labels;
      RETURN_IF_ERROR(ReadLabels(elem, &labels, Where("data", i)));
      out.series.push_back(std::move(labels));
      ++i;
    }
    return Status::Ok();
  }));
  out.warnings = std::move(env.warnings);
  return out;
}

Result<LabelsResponse> DecodeLabelsResponse(std::string_view body) {
  LabelsResponse out;
  Envelope env;
  RETURN_IF_ERROR(WalkEnvelope(body, &env, [&](od::value v) { return ReadStringArray(v, &out.names, "data"); }));
  out.warnings = std::move(env.warnings);
  return out;
}

}  // namespace gpuwise::observe::prom
