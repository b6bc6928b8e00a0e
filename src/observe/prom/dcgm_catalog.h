// The dcgm-exporter field catalog: metric name <-> DCGM field ID <-> signal <-> unit <-> entity level.
// The data is one file, dcgm_catalog.csv beside this header (compiled in), each row confirmed or inferred
// with its source. Every name of a field (pre-4.6, DCGM 4.6 aliases, 4.9 renames, 1.x names) maps to the
// same Signal and converts to one canonical unit: ratio 0..1, bytes, watts, joules, hertz, bytes/s.
// Thread-safety: the catalog is immutable after construction; DcgmCatalog::Default() is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::observe::prom {

// What gpuwise reasons about. One Signal per DCGM field ID.
enum class Signal : std::uint8_t {
  kSmActive,
  kGrEngineActive,
  kGpuUtil,
  kDramActive,
  kTensorActive,
  kSmOccupancy,
  kFp64Active,
  kFp32Active,
  kFp16Active,
  kFbUsed,
  kFbFree,
  kFbReserved,
  kFbTotal,
  kFbUsedRatio,
  kPower,
  kEnergy,
  kSmClock,
  kMemClock,
  kGpuTemp,
  kMemoryTemp,
  kPcieTx,
  kPcieRx,
  kPcieReplay,
  kNvlinkTotal,
  kNvlinkTx,
  kNvlinkRx,
  kMemCopyUtil,
  kEncUtil,
  kDecUtil,
  kXid,
  kVgpuLicense,
  kRemapCorrectable,
  kRemapUncorrectable,
  kRemapFailed,
  kCount,
};
inline constexpr std::size_t kSignalCount = static_cast<std::size_t>(Signal::kCount);

std::string_view SignalName(Signal s);  // "sm_active", as in the catalog's signal column
bool SignalFromName(std::string_view name, Signal* out);

enum class InputUnit : std::uint8_t {
  kRatio, kPercent, kMiB, kBytes, kWatts, kMillijoules, kJoules, kMegahertz, kHertz, kCelsius,
  kBytesPerSecond, kMegabytesPerSecond, kCount, kCode, kEnum,
};
std::string_view CanonicalUnitName(InputUnit unit);  // unit after normalisation: "ratio", "bytes", ...

enum class EntityLevel : std::uint8_t { kGpu, kGpuInstance, kComputeInstance, kVgpu };
enum class DcgmType : std::uint8_t { kInt64, kDouble };

struct CatalogRow {
  std::string name;
  int field_id = 0;
  Signal signal = Signal::kCount;
  InputUnit input_unit = InputUnit::kCount;
  DcgmType dcgm_type = DcgmType::kInt64;
  EntityLevel entity = EntityLevel::kGpu;
  bool counter = false;
  bool confirmed = false;
  std::string source;
};

class DcgmCatalog {
 public:
  // Parses catalog CSV text (the format of dcgm_catalog.csv). Errors name the line.
  static base::Result<DcgmCatalog> Parse(std::string_view csv);
  // The compiled-in catalog.
  static const DcgmCatalog& Default();

  // nullptr when the name is not a dcgm-exporter field gpuwise knows.
  const CatalogRow* Find(std::string_view metric_name) const;
  const std::vector<CatalogRow>& rows() const { return rows_; }
  // The confirmed, pre-4.9 default name of a signal's field (what a counters CSV line names).
  const CatalogRow* Primary(Signal s) const;

 private:
  std::vector<CatalogRow> rows_;
  // Open-addressing index from name hash to row; sized to a power of two.
  std::vector<std::int32_t> index_;
};

// Converts an exported value to the canonical unit. Returns false for DCGM "blank" sentinels
// (INT64 >= 0x7ffffffffffffff0, DOUBLE >= 140737488355328.0: not found / not supported / no permission),
// NaN, and negative values where the unit cannot be negative: such a value is missing, never zero.
bool NormalizeValue(const CatalogRow& row, double raw, double* canonical);

// The compiled-in CSV text.
std::string_view DcgmCatalogCsv();

}  // namespace gpuwise::observe::prom
