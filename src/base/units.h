// Units in types: Bytes, Ratio, Watts, Joules, BytesPerSecond, MicroUsd, and the durations gpuwise uses.
// Canonical units everywhere inside gpuwise: ratio 0..1, bytes, watts, joules, bytes/s, micro-dollars.
// Conversions from outside units (MiB, percent, mJ, MHz) happen once, in observe/, through these helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gpuwise::base {

using Seconds = std::chrono::duration<double>;
using Milliseconds = std::chrono::milliseconds;
// Unix time in milliseconds, as Prometheus stores it.
using UnixMillis = std::int64_t;

inline constexpr double kMiB = 1024.0 * 1024.0;
inline constexpr double kGiB = 1024.0 * kMiB;

// A strongly typed double: Quantity<struct Tag>; arithmetic within a unit only.
template <typename Tag>
struct Quantity {
  double value = 0;
  constexpr Quantity() = default;
  constexpr explicit Quantity(double v) : value(v) {}
  constexpr Quantity operator+(Quantity o) const { return Quantity(value + o.value); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value - o.value); }
  constexpr Quantity operator*(double k) const { return Quantity(value * k); }
  constexpr auto operator<=>(const Quantity&) const = default;
};

using Bytes = Quantity<struct BytesTag>;
using Ratio = Quantity<struct RatioTag>;  // 0..1
using Watts = Quantity<struct WattsTag>;
using Joules = Quantity<struct JoulesTag>;
using BytesPerSecond = Quantity<struct BytesPerSecondTag>;
using Hertz = Quantity<struct HertzTag>;

constexpr Bytes FromMiB(double mib) { return Bytes(mib * kMiB); }
constexpr Ratio FromPercent(double pct) { return Ratio(pct / 100.0); }
constexpr Joules FromMillijoules(double mj) { return Joules(mj / 1000.0); }
constexpr Hertz FromMegahertz(double mhz) { return Hertz(mhz * 1e6); }
// DCGM's BW_MBPS is decimal megabytes per second.
constexpr BytesPerSecond FromMegabytesPerSecond(double mbps) { return BytesPerSecond(mbps * 1e6); }

// Money: integer micro-dollars (1 USD = 1,000,000). Never a double in a total.
struct MicroUsd {
  std::int64_t value = 0;
  constexpr auto operator<=>(const MicroUsd&) const = default;
  constexpr MicroUsd operator+(MicroUsd o) const { return {value + o.value}; }
  constexpr MicroUsd operator-(MicroUsd o) const { return {value - o.value}; }
};

// "1.50 GiB", "512 MiB", "0 B": for tables and messages.
std::string FormatBytes(double bytes);
// "12.3%" from a ratio.
std::string FormatPercent(double ratio);
// "$1.234567" from micro-dollars, exact.
std::string FormatUsd(MicroUsd m);
// "$1,234.57": rounded to cents (half away from zero), thousands separated; for reading, never for sums.
std::string FormatDollars(std::int64_t micro);

}  // namespace gpuwise::base
