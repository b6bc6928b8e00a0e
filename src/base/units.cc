#include "base/units.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gpuwise::base {

std::string FormatBytes(double bytes) {
  if (std::isnan(bytes)) return "unknown";
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double v = bytes;
  while (std::fabs(v) >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
  }
  return buf;
}

std::string FormatPercent(double ratio) {
  if (std::isnan(ratio)) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", ratio * 100.0);
  return buf;
}

std::string FormatUsd(MicroUsd m) {
  const bool neg = m.value < 0;
  const std::uint64_t a = neg ? 0 - static_cast<std::uint64_t>(m.value) : static_cast<std::uint64_t>(m.value);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s$%llu.%06llu", neg ? "-" : "", static_cast<unsigned long long>(a / 1000000),
                static_cast<unsigned long long>(a % 1000000));
  return buf;
}

std::string FormatDollars(std::int64_t micro) {
  const bool neg = micro < 0;
  const std::uint64_t cents = ((neg ? 0 - static_cast<std::uint64_t>(micro) : static_cast<std::uint64_t>(micro)) + 5000) / 10000;
  std::string whole = std::to_string(cents / 100);
  for (int i = static_cast<int>(whole.size()) - 3; i > 0; i -= 3) whole.insert(static_cast<std::size_t>(i), ",");
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%02llu", static_cast<unsigned long long>(cents % 100));
  return (neg ? "-$" : "$") + whole + frac;
}

}  // namespace gpuwise::base
