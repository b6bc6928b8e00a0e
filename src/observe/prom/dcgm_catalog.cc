#include "observe/prom/dcgm_catalog.h"

#include <charconv>
#include <cmath>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe::prom {
namespace {

constexpr std::string_view kSignalNames[kSignalCount] = {
    "sm_active",   "gr_engine_active", "gpu_util",    "dram_active",   "tensor_active",   "sm_occupancy",
    "fp64_active", "fp32_active",      "fp16_active", "fb_used",       "fb_free",         "fb_reserved",
    "fb_total",    "fb_used_ratio",    "power",       "energy",        "sm_clock",        "mem_clock",
    "gpu_temp",    "memory_temp",      "pcie_tx",     "pcie_rx",       "pcie_replay",     "nvlink_total",
    "nvlink_tx",   "nvlink_rx",        "mem_copy_util", "enc_util",    "dec_util",        "xid",
    "vgpu_license", "remap_correctable", "remap_uncorrectable", "remap_failed",
};

struct UnitName {
  std::string_view input;
  InputUnit unit;
  std::string_view canonical;
};
constexpr UnitName kUnits[] = {
    {"ratio", InputUnit::kRatio, "ratio"},          {"percent", InputUnit::kPercent, "ratio"},
    {"mib", InputUnit::kMiB, "bytes"},              {"bytes", InputUnit::kBytes, "bytes"},
    {"watts", InputUnit::kWatts, "watts"},          {"mj", InputUnit::kMillijoules, "joules"},
    {"joules", InputUnit::kJoules, "joules"},       {"mhz", InputUnit::kMegahertz, "hertz"},
    {"hz", InputUnit::kHertz, "hertz"},             {"celsius", InputUnit::kCelsius, "celsius"},
    {"bytes_per_s", InputUnit::kBytesPerSecond, "bytes_per_second"},
    {"mbps", InputUnit::kMegabytesPerSecond, "bytes_per_second"},
    {"count", InputUnit::kCount, "count"},          {"code", InputUnit::kCode, "code"},
    {"enum", InputUnit::kEnum, "enum"},
};

std::vector<std::string_view> SplitCsv(std::string_view line, std::size_t max_fields) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_fields) {
    std::size_t comma = line.find(',');
    if (comma == std::string_view::npos) break;
    out.push_back(line.substr(0, comma));
    line.remove_prefix(comma + 1);
  }
  out.push_back(line);  // the last field (source) may contain commas
  return out;
}

}  // namespace

extern const char kDcgmCatalogCsvText[];

std::string_view DcgmCatalogCsv() { return kDcgmCatalogCsvText; }

std::string_view SignalName(Signal s) {
  const auto i = static_cast<std::size_t>(s);
  return i < kSignalCount ? kSignalNames[i] : "unknown";
}

bool SignalFromName(std::string_view name, Signal* out) {
  for (std::size_t i = 0; i < kSignalCount; ++i) {
    if (kSignalNames[i] == name) {
      *out = static_cast<Signal>(i);
      return true;
    }
  }
  return false;
}

std::string_view CanonicalUnitName(InputUnit unit) {
  for (const UnitName& u : kUnits) {
    if (u.unit == unit) return u.canonical;
  }
  return "unknown";
}

base::Result<DcgmCatalog> DcgmCatalog::Parse(std::string_view csv) {
  DcgmCatalog catalog;
  std::size_t line_no = 0;
  bool header_seen = false;
  while (!csv.empty()) {
    std::size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv.remove_prefix(nl == std::string_view::npos ? csv.size() : nl + 1);
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {
      header_seen = true;
      if (line.substr(0, 14) != "name,field_id,") return base::InvalidArgument("catalog: missing header line");
      continue;
    }
    auto f = SplitCsv(line, 9);
    auto err = [&](const std::string& what) {
      return base::InvalidArgument("catalog line " + std::to_string(line_no) + ": " + what);
    };
    if (f.size() != 9) return err("expected 9 fields, got " + std::to_string(f.size()));
    CatalogRow row;
    row.name = std::string(f[0]);
    auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), row.field_id);
    if (ec != std::errc() || p != f[1].data() + f[1].size()) return err("bad field_id");
    if (!SignalFromName(f[2], &row.signal)) return err("unknown signal '" + std::string(f[2]) + "'");
    bool unit_ok = false;
    for (const UnitName& u : kUnits) {
      if (u.input == f[3]) {
        row.input_unit = u.unit;
        unit_ok = true;
      }
    }
    if (!unit_ok) return err("unknown unit '" + std::string(f[3]) + "'");
    if (f[4] == "int64") row.dcgm_type = DcgmType::kInt64;
    else if (f[4] == "double") row.dcgm_type = DcgmType::kDouble;
    else return err("unknown dcgm_type");
    if (f[5] == "gpu") row.entity = EntityLevel::kGpu;
    else if (f[5] == "gpu_i") row.entity = EntityLevel::kGpuInstance;
    else if (f[5] == "gpu_ci") row.entity = EntityLevel::kComputeInstance;
    else if (f[5] == "vgpu") row.entity = EntityLevel::kVgpu;
    else return err("unknown entity level");
    if (f[6] == "counter") row.counter = true;
    else if (f[6] != "gauge") return err("kind must be gauge or counter");
    if (f[7] == "confirmed") row.confirmed = true;
    else if (f[7] != "inferred") return err("status must be confirmed or inferred");
    row.source = std::string(f[8]);
    if (catalog.Find(row.name) != nullptr) return err("duplicate name " + row.name);
    catalog.rows_.push_back(std::move(row));
    // Rebuild the index as rows arrive (the catalog is small: ~80 rows).
    std::size_t size = 256;
    while (size < catalog.rows_.size() * 4) size *= 2;
    catalog.index_.assign(size, -1);
    for (std::size_t i = 0; i < catalog.rows_.size(); ++i) {
      std::size_t h = HashBytes(catalog.rows_[i].name, 7) & (size - 1);
      while (catalog.index_[h] >= 0) h = (h + 1) & (size - 1);
      catalog.index_[h] = static_cast<std::int32_t>(i);
    }
  }
  if (catalog.rows_.empty()) return base::InvalidArgument("catalog: no rows");
  return catalog;
}

const DcgmCatalog& DcgmCatalog::Default() {
  static const DcgmCatalog* catalog = [] {
    auto parsed = Parse(DcgmCatalogCsv());
    CHECK(parsed.ok()) << "compiled-in dcgm catalog is invalid: " << parsed.status().ToString();
    return new DcgmCatalog(std::move(parsed).value());
  }();
  return *catalog;
}

const CatalogRow* DcgmCatalog::Find(std::string_view metric_name) const {
  if (index_.empty()) return nullptr;
  const std::size_t mask = index_.size() - 1;
  std::size_t h = HashBytes(metric_name, 7) & mask;
  while (index_[h] >= 0) {
    const CatalogRow& row = rows_[static_cast<std::size_t>(index_[h])];
    if (row.name == metric_name) return &row;
    h = (h + 1) & mask;
  }
  return nullptr;
}

const CatalogRow* DcgmCatalog::Primary(Signal s) const {
  const CatalogRow* fallback = nullptr;
  for (const CatalogRow& row : rows_) {
    if (row.signal != s) continue;
    if (row.confirmed && row.name.rfind("DCGM_FI_", 0) == 0) return &row;
    if (!fallback) fallback = &row;
  }
  return fallback;
}

bool NormalizeValue(const CatalogRow& row, double raw, double* canonical) {
  if (std::isnan(raw)) return false;
  // DCGM blank sentinels: dcgm_structs.h DCGM_INT64_BLANK 0x7ffffffffffffff0, DCGM_FP64_BLANK 140737488355328.0.
  if (row.dcgm_type == DcgmType::kInt64 && raw >= 9223372036854775792.0) return false;
  if (row.dcgm_type == DcgmType::kDouble && raw >= 140737488355328.0) return false;
  if (raw < 0 && row.input_unit != InputUnit::kCelsius) return false;
  switch (row.input_unit) {
    case InputUnit::kPercent: *canonical = raw / 100.0; break;
    case InputUnit::kMiB: *canonical = raw * 1048576.0; break;
    case InputUnit::kMillijoules: *canonical = raw / 1000.0; break;
    case InputUnit::kMegahertz: *canonical = raw * 1e6; break;
    case InputUnit::kMegabytesPerSecond: *canonical = raw * 1e6; break;
    default: *canonical = raw; break;
  }
  return true;
}

}  // namespace gpuwise::observe::prom
