#include "observe/prom/doctor.h"

#include <gtest/gtest.h>

namespace gpuwise::observe::prom {
namespace {

TEST(DoctorTest, MissingSmActiveOnOneNodeGivesTheCsvLineToAdd) {
  std::string page =
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 0.1\n"
      "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 1\n"
      "DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 1\n"
      "DCGM_FI_PROF_DRAM_ACTIVE{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 0.1\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 100\n"
      "DCGM_FI_PROF_SM_ACTIVE{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\",pod=\"p\",namespace=\"x\"} 0.1\n"
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\"} 0.1\n"
      "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\"} 1\n"
      "DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\"} 1\n"
      "DCGM_FI_PROF_DRAM_ACTIVE{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\"} 0.1\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-b\",Hostname=\"n2\"} 100\n";
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  DoctorReport r = Diagnose(b.Finish());
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[0].compute_source, "gr_engine_active");
  EXPECT_EQ(r.nodes[1].compute_source, "sm_active");
  int sm_findings = 0;
  for (const auto& f : r.findings) {
    if (f.signal == "sm_active") {
      ++sm_findings;
      EXPECT_EQ(f.hostname, "n1");
      EXPECT_EQ(f.csv_line, "DCGM_FI_PROF_SM_ACTIVE, gauge, The ratio of cycles an SM has at least 1 warp assigned.");
      EXPECT_NE(f.fix.find("spec.dcgmExporter.config.name"), std::string::npos);
    }
  }
  EXPECT_EQ(sm_findings, 1);
  // n1 has no pod labels: a kubernetes finding for n1 only.
  int kube = 0;
  for (const auto& f : r.findings) kube += f.signal == "kubernetes" ? 1 : 0;
  EXPECT_EQ(kube, 1);
}

}  // namespace
}  // namespace gpuwise::observe::prom
