// Decodes Prometheus HTTP API JSON responses (query, query_range, series, labels) into columnar arrays.
//
// Input: the raw response body, any size. The decoder never crashes and never throws: malformed JSON,
// wrong types, non-JSON bodies (an HTML page from a proxy) and `"status":"error"` responses all come
// back as a Status whose message a user can act on.
// Units: timestamps are Unix milliseconds (Prometheus sends float seconds such as 1435781451.781; the
// conversion is exact from the decimal text, rounded half away from zero to the millisecond).
// Values are doubles; "NaN", "+Inf", "-Inf" are decoded as such.
// Thread-safety: the functions are re-entrant; each thread uses its own parser internally.
// Speed: ~17 M samples/s (~400 MB/s) on one core for a dcgm-like query_range body (bench/
// query_decode_bench.cc). simdjson 3.0's on-demand API picks its SIMD kernel at compile time; the
// per-sample number parsing, not structural indexing, dominates, so -march makes little difference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gpuwise::observe::prom {

// One label set, sorted by name, names unique. `__name__` is kept when Prometheus sends it.
using Labels = std::vector<std::pair<std::string, std::string>>;

// One series of a range result, columnar: timestamps_ms[i] goes with values[i], strictly increasing.
struct Series {
  Labels labels;
  std::vector<std::int64_t> timestamps_ms;
  std::vector<double> values;
};
using Matrix = std::vector<Series>;

// One sample of an instant-query result.
struct Sample {
  Labels labels;
  std::int64_t timestamp_ms = 0;
  double value = 0;
};
using Vector = std::vector<Sample>;

enum class ResultType { kMatrix, kVector, kScalar, kString };

// A decoded /api/v1/query or /api/v1/query_range response. Only the member matching result_type is
// filled: kMatrix -> matrix; kVector -> vector; kScalar -> vector with one unlabelled sample;
// kString -> string_value (and its timestamp in vector[0] with a NaN value).
struct QueryResponse {
  ResultType result_type = ResultType::kVector;
  Matrix matrix;
  Vector vector;
  std::string string_value;
  // Prometheus's `warnings` and `infos`, verbatim, plus notes from the decoder (e.g. skipped native
  // histogram samples, which have no single float value).
  std::vector<std::string> warnings;
};

// A decoded /api/v1/series response: one label set per series.
struct SeriesResponse {
  std::vector<Labels> series;
  std::vector<std::string> warnings;
};

// A decoded /api/v1/labels (or /api/v1/label/<name>/values) response.
struct LabelsResponse {
  std::vector<std::string> names;
  std::vector<std::string> warnings;
};

// `"status":"error"` responses become a Status whose code follows errorType (bad_data ->
// InvalidArgument, execution -> InvalidArgument or ResourceExhausted for "too many samples",
// timeout -> DeadlineExceeded, canceled and unavailable -> Unavailable, not_found -> NotFound,
// internal -> Internal) and whose message is
// "prometheus error (<errorType>): <error>".
// Anything that is not a JSON object -> InvalidArgument naming the first ~100 characters received.
base::Result<QueryResponse> DecodeQueryResponse(std::string_view body);
base::Result<SeriesResponse> DecodeSeriesResponse(std::string_view body);
base::Result<LabelsResponse> DecodeLabelsResponse(std::string_view body);

// The Status of an error envelope ({"status":"error","errorType":...,"error":...}); OK when the body is
// anything else (success, not JSON, malformed). Used on HTTP error answers to surface Prometheus's text.
base::Status DecodeErrorResponse(std::string_view body);

// The Status that a Prometheus `errorType`/`error` pair maps to (see above). Exposed for the client.
base::Status ErrorFromPrometheus(std::string_view error_type, std::string_view error);

// Exact decimal seconds ("1435781451.781", "12", "1e3") -> milliseconds, rounded half away from zero.
// False on text that is not a finite number or does not fit in int64 milliseconds.
bool ParseTimestampMillis(std::string_view text, std::int64_t* out_ms);
// A Prometheus sample value ("0.5", "1e-3", "NaN", "+Inf", "-Inf") -> double. False on anything else.
bool ParseSampleValue(std::string_view text, double* out);

// Up to max_chars of text with control and non-ASCII bytes replaced by '?', whitespace runs collapsed
// and "..." appended when cut: safe to put in a message or a log line.
std::string SanitizeSnippet(std::string_view text, std::size_t max_chars = 100);

}  // namespace gpuwise::observe::prom
