#include "observe/prom/dcgm_catalog.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace gpuwise::observe::prom {
namespace {

TEST(DcgmCatalogTest, CompiledInCatalogParsesAndNamesOfAFieldAgree) {
  const DcgmCatalog& c = DcgmCatalog::Default();
  EXPECT_GT(c.rows().size(), 60u);
  // Every name of one field ID maps to one signal.
  for (const CatalogRow& a : c.rows()) {
    for (const CatalogRow& b : c.rows()) {
      if (a.field_id == b.field_id) {
        EXPECT_EQ(a.signal, b.signal) << a.name << " vs " << b.name;
      }
    }
  }
  const CatalogRow* fb = c.Find("DCGM_FI_DEV_FB_USED");
  ASSERT_NE(fb, nullptr);
  EXPECT_EQ(fb->field_id, 252);
  EXPECT_TRUE(fb->confirmed);
  EXPECT_EQ(CanonicalUnitName(fb->input_unit), "bytes");
  EXPECT_EQ(c.Find("DCGM_FI_PROF_SM_UTIL_RATIO")->signal, Signal::kSmActive);
  EXPECT_FALSE(c.Find("DCGM_FI_DEV_FB_USED_BYTES")->confirmed);
  EXPECT_EQ(c.Find("node_cpu_seconds_total"), nullptr);
  EXPECT_EQ(c.Primary(Signal::kSmActive)->name, "DCGM_FI_PROF_SM_ACTIVE");
}

// Every active row of NVIDIA's counter CSVs (the exporter's defaults) is in the catalog with the same
// Prometheus type: the catalog was built from those files and must not drift from them.
TEST(DcgmCatalogTest, CoversEveryDefaultCounterOfTheRealExporter) {
  const char* shared = std::getenv("GPUWISE_SHARED");
  std::string path = std::string(shared ? shared : "../shared") + "/data/nvidia/dcgm-exporter/default-counters.csv";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "no " << path;
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::string name = line.substr(0, line.find(','));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    std::string type = line.substr(line.find(',') + 1);
    type = type.substr(type.find_first_not_of(' '));
    type = type.substr(0, type.find(','));
    if (type == "label") continue;  // DCGM_FI_DRIVER_VERSION becomes a label
    const CatalogRow* row = DcgmCatalog::Default().Find(name);
    ASSERT_NE(row, nullptr) << name;
    EXPECT_TRUE(row->confirmed) << name;
    EXPECT_EQ(row->counter, type == "counter") << name;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(DcgmCatalogTest, NormalisesUnitsAndTreatsSentinelsAsMissing) {
  const DcgmCatalog& c = DcgmCatalog::Default();
  double v;
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_FB_USED"), 1024, &v));
  EXPECT_DOUBLE_EQ(v, 1024.0 * 1048576);
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_GPU_UTIL"), 37, &v));
  EXPECT_DOUBLE_EQ(v, 0.37);
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"), 123456, &v));
  EXPECT_DOUBLE_EQ(v, 123.456);
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_SM_CLOCK"), 1980, &v));
  EXPECT_DOUBLE_EQ(v, 1.98e9);
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL"), 3, &v));
  EXPECT_DOUBLE_EQ(v, 3e6);
  ASSERT_TRUE(NormalizeValue(*c.Find("DCGM_FI_DEV_FB_USED_BYTES"), 1024, &v));
  EXPECT_DOUBLE_EQ(v, 1024);
  // DCGM_INT64_NOT_SUPPORTED as printed by old exporters, and the FP64 blank.
  EXPECT_FALSE(NormalizeValue(*c.Find("DCGM_FI_DEV_MEMORY_TEMP"), 9223372036854775794.0, &v));
  EXPECT_FALSE(NormalizeValue(*c.Find("DCGM_FI_PROF_SM_ACTIVE"), 140737488355328.0, &v));
  EXPECT_FALSE(NormalizeValue(*c.Find("DCGM_FI_PROF_SM_ACTIVE"), NAN, &v));
  EXPECT_FALSE(NormalizeValue(*c.Find("DCGM_FI_DEV_FB_USED"), -1, &v));
}

TEST(DcgmCatalogTest, BadCatalogTextIsAClearError) {
  auto r = DcgmCatalog::Parse("name,field_id,signal,input_unit,dcgm_type,entity,kind,status,source\nX,1,nope,ratio,int64,gpu,gauge,confirmed,s\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2: unknown signal 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace gpuwise::observe::prom
