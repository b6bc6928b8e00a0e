// Parsing durations ("800ms", "30s", "1h30m", "7d", "2w") and times (RFC 3339 or Unix seconds) from flags
// and annotations, with errors a user can act on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gpuwise::base {

// Units: ms, s, m, h, d (24 h), w (7 d), y (365 d); several may follow each other ("1h30m"), each once, largest
// first, as Prometheus durations. A bare "0" is zero.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// "7d", "90s", "1h30m": the shortest exact text.
std::string FormatDuration(std::chrono::milliseconds d);
// "2026-11-24T10:00:00Z", "2026-11-24T10:00:00.5+01:00" or "1700000000[.123]" -> Unix milliseconds.
Result<std::int64_t> ParseTime(std::string_view text);
// Unix milliseconds -> "2026-11-24T10:00:00Z" (UTC; milliseconds shown when not zero).
std::string FormatTime(std::int64_t unix_ms);

}  // namespace gpuwise::base
