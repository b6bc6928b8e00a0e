#include "base/time_parse.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace gpuwise::base {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};
constexpr Unit kUnits[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
                           {"m", 60000},             {"s", 1000},            {"ms", 1}};

bool ParseInt(std::string_view s, std::int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return InvalidArgument("empty duration (examples: 800ms, 30s, 1h30m, 7d)");
  std::int64_t total = 0;
  int last_unit = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t d = i;
    while (d < text.size() && text[d] >= '0' && text[d] <= '9') ++d;
    if (d == i) return InvalidArgument("invalid duration " + quoted + ": expected a number at position " + std::to_string(i + 1) + " (examples: 800ms, 30s, 1h30m, 7d)");
    std::int64_t n;
    if (!ParseInt(text.substr(i, d - i), &n)) return InvalidArgument("invalid duration " + quoted + ": number too large");
    std::size_t u = d;
    while (u < text.size() && !(text[u] >= '0' && text[u] <= '9')) ++u;
    std::string_view unit = text.substr(d, u - d);
    int idx = -1;
    for (int k = 0; k < static_cast<int>(std::size(kUnits)); ++k) {
      if (kUnits[k].name == unit) idx = k;
    }
    if (idx < 0) return InvalidArgument("invalid duration " + quoted + ": unknown unit '" + std::string(unit) + "' (ms, s, m, h, d, w, y)");
    if (idx <= last_unit) return InvalidArgument("invalid duration " + quoted + ": units must go from largest to smallest, each once");
    last_unit = idx;
    if (n > (INT64_MAX - total) / kUnits[idx].ms) return InvalidArgument("invalid duration " + quoted + ": too long");
    total += n * kUnits[idx].ms;
    i = u;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    if (u.name == "y" || u.name == "w") continue;
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

Result<std::int64_t> ParseTime(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return InvalidArgument("empty time (examples: 2026-11-24T10:00:00Z, 1700000000)");
  if (text.find('-') == std::string_view::npos || text.find('T') == std::string_view::npos) {
    double secs;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(secs)) {
      return InvalidArgument("invalid time " + quoted + " (RFC 3339 such as 2026-11-24T10:00:00Z, or Unix seconds)");
    }
    // Milliseconds must fit an int64 (llround of a larger value has no defined result): +-9e15 s is +-285 million years.
    if (std::fabs(secs) > 9e15) return InvalidArgument("time " + quoted + " is out of range (Unix seconds up to 9e15)");
    return static_cast<std::int64_t>(std::llround(secs * 1000.0));
  }
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19) {
    return InvalidArgument("invalid time " + quoted + " (RFC 3339 such as 2026-11-24T10:00:00Z)");
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return InvalidArgument("invalid time " + quoted + ": a field is out of range");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    std::size_t j = ++i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i) return InvalidArgument("invalid time " + quoted + ": empty fraction");
    std::string frac = s.substr(i, std::min<std::size_t>(3, j - i));
    while (frac.size() < 3) frac += '0';
    ms += std::stoi(frac);
    i = j;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return ms;
  int oh = 0, om = 0;
  if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) == 2) {
    const std::int64_t offset = (oh * 60 + om) * 60000LL;
    return s[i] == '+' ? ms - offset : ms + offset;
  }
  return InvalidArgument("invalid time " + quoted + ": expected 'Z' or an offset such as +01:00 after the seconds");
}

std::string FormatTime(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  const std::int64_t frac = ((unix_ms % 1000) + 1000) % 1000;
  if (frac) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03lld", static_cast<long long>(frac));
    out += f;
  }
  return out + "Z";
}

}  // namespace gpuwise::base
