#include "observe/prom/dcgm_telemetry.h"

#include <gtest/gtest.h>

namespace gpuwise::observe::prom {
namespace {

constexpr char kLabels[] =
    "gpu=\"0\",UUID=\"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77\",pci_bus_id=\"00000000:1A:00.0\",device=\"nvidia0\","
    "modelName=\"NVIDIA H100 80GB HBM3\"";

std::string Line(const std::string& metric, const std::string& extra, const std::string& value) {
  return metric + "{" + kLabels + extra + "} " + value + "\n";
}

TEST(DcgmTelemetryTest, WholeGpuNormalisedWithComputeFallbackToGrEngine) {
  std::string page = Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ",Hostname=\"n1\",container=\"c\",namespace=\"ns\",pod=\"p\"", "0.250000") +
                     Line("DCGM_FI_DEV_GPU_UTIL", ",Hostname=\"n1\"", "40") +
                     Line("DCGM_FI_DEV_FB_USED", ",Hostname=\"n1\"", "1024") +
                     Line("DCGM_FI_DEV_MEMORY_TEMP", ",Hostname=\"n1\"", "9223372036854775794") +
                     "node_load1 3\n" + "DCGM_FI_DEV_FB_FREE{broken\n";
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "http://n1:9400/metrics");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 1u);
  const GpuEntity& e = t.entities[0];
  EXPECT_EQ(e.hostname, "n1");
  EXPECT_FALSE(e.is_mig());
  EXPECT_DOUBLE_EQ(e.get(Signal::kFbUsed), 1024.0 * 1048576);
  EXPECT_FALSE(e.has(Signal::kMemoryTemp));  // sentinel: unknown, not a temperature
  EXPECT_FALSE(e.has(Signal::kFbFree));
  ComputeActivity a = ResolveCompute(e);
  EXPECT_EQ(a.source, Signal::kGrEngineActive);
  EXPECT_DOUBLE_EQ(a.ratio, 0.25);
  ASSERT_EQ(e.pods.size(), 1u);
  EXPECT_EQ(e.pods[0].pod, "p");
  EXPECT_EQ(t.stats.unknown_metrics, 1u);
  EXPECT_EQ(t.stats.missing_values, 1u);
  EXPECT_EQ(t.stats.bad_lines, 1u);
  ASSERT_EQ(t.stats.errors.size(), 1u);
  EXPECT_NE(t.stats.errors[0].find("http://n1:9400/metrics: line 6"), std::string::npos);
}

TEST(DcgmTelemetryTest, MigInstancesAreChildrenOfTheirParentAndNeverUseGpuUtil) {
  std::string page =
      Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ",GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"2\",hostname=\"n2\"", "0.5") +
      Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ",GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"9\",hostname=\"n2\"", "0.1") +
      Line("DCGM_FI_DEV_GPU_UTIL", ",GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"13\",hostname=\"n2\"", "50");
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 3u);
  EXPECT_EQ(t.entities[0].gi_id, 2);
  EXPECT_EQ(t.entities[0].gi_profile, "3g.40gb");
  EXPECT_EQ(t.entities[0].uuid, t.entities[1].uuid);
  EXPECT_EQ(MigComputeSlices("3g.40gb"), 3);
  EXPECT_EQ(MigComputeSlices("1g.10gb+me"), 1);
  EXPECT_EQ(MigComputeSlices("gpu"), 0);
  EXPECT_EQ(ResolveCompute(t.entities[2]).source, Signal::kCount);  // GPU_UTIL is not trusted on MIG
  auto health = SignalHealth(t);
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].mig_instances, 3u);
  EXPECT_EQ(health[0].compute_source, "none");
}

TEST(DcgmTelemetryTest, ExportedLabelsWinOverTheExporterPodsOwn) {
  std::string page = Line("DCGM_FI_DEV_FB_USED",
                          ",Hostname=\"n1\",pod=\"dcgm-exporter-abc\",namespace=\"gpu-operator\","
                          "exported_pod=\"llm-0\",exported_namespace=\"serving\",exported_container=\"vllm\",instance=\"10.0.0.1:9400\"",
                          "7") +
                     Line("DCGM_FI_DEV_FB_FREE", ",pod_name=\"old\",pod_namespace=\"legacy\",instance=\"10.0.0.2:9400\"", "1");
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 2u);
  const GpuEntity& legacy = t.entities[0].hostname == "10.0.0.2:9400" ? t.entities[0] : t.entities[1];
  const GpuEntity& modern = t.entities[0].hostname == "n1" ? t.entities[0] : t.entities[1];
  ASSERT_EQ(modern.pods.size(), 1u);
  EXPECT_EQ(modern.pods[0].pod, "llm-0");
  EXPECT_EQ(modern.pods[0].namespace_name, "serving");
  ASSERT_EQ(legacy.pods.size(), 1u);
  EXPECT_EQ(legacy.pods[0].namespace_name, "legacy");
}

TEST(DcgmTelemetryTest, SmActiveWinsAndInferredAliasesDoNotOverrideConfirmedNames) {
  std::string page = Line("DCGM_FI_PROF_SM_ACTIVE", "", "0.3") + Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "", "0.6") +
                     Line("DCGM_FI_DEV_FB_USED", "", "100") + Line("DCGM_FI_DEV_FB_USED_BYTES", "", "5");
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 1u);
  EXPECT_EQ(ResolveCompute(t.entities[0]).source, Signal::kSmActive);
  EXPECT_DOUBLE_EQ(t.entities[0].get(Signal::kFbUsed), 100.0 * 1048576);
}

TEST(DcgmTelemetryTest, FleetTotalsCountMigGpusOnceAndScaleInstanceActivity) {
  std::string page =
      Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ",GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"1\",Hostname=\"n\",pod=\"a\",namespace=\"x\"", "0.7") +
      Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ",GPU_I_PROFILE=\"4g.40gb\",GPU_I_ID=\"2\",Hostname=\"n\"", "0") +
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"1\",UUID=\"GPU-2\",Hostname=\"n\",pod=\"b\",namespace=\"x\"} 0.5\n"
      "DCGM_FI_DEV_FB_USED{gpu=\"1\",UUID=\"GPU-2\",Hostname=\"n\"} 1024\n"
      "DCGM_FI_DEV_FB_FREE{gpu=\"1\",UUID=\"GPU-2\",Hostname=\"n\"} 3072\n"
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"2\",UUID=\"GPU-3\",Hostname=\"n\"} 0\n";
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  FleetTotals t = Summarize(b.Finish());
  EXPECT_EQ(t.gpus, 3u);
  EXPECT_EQ(t.mig_gpus, 1u);
  EXPECT_EQ(t.mig_instances, 2u);
  EXPECT_EQ(t.idle_gpus, 1u);
  EXPECT_EQ(t.idle_instances, 1u);
  // 0.7 x 3/7 + 0 x 4/7 + 0.5 + 0 = 0.8 GPU-equivalents.
  EXPECT_NEAR(t.busy_gpu_equivalents, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(t.fb_used_bytes, 1024.0 * 1048576);
  EXPECT_DOUBLE_EQ(t.fb_total_bytes, 4096.0 * 1048576);
}

TEST(DcgmTelemetryTest, DraClaimsAndXidMessagesAreKept) {
  std::string page =
      Line("DCGM_FI_DEV_FB_USED", ",Hostname=\"n1\",dra_claim_name=\"gpu-claim\",dra_claim_namespace=\"ml\",dra_driver_name=\"gpu.nvidia.com\"", "7") +
      Line("DCGM_FI_DEV_XID_ERRORS", ",Hostname=\"n1\",err_code=\"79\",err_msg=\"GPU has fallen off the bus\"", "79");
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 1u);
  ASSERT_EQ(t.entities[0].pods.size(), 1u);
  EXPECT_EQ(t.entities[0].pods[0].dra_claim, "ml/gpu-claim");
  EXPECT_EQ(t.entities[0].xid_last, 79u);
  EXPECT_EQ(t.entities[0].xid_message, "GPU has fallen off the bus");
  // Found by the fuzzer: an XID value past 2^32 must not be converted (undefined behaviour); it reads as 0.
  DcgmTelemetryBuilder big;
  big.AddPage(Line("DCGM_FI_DEV_XID_ERRORS", ",Hostname=\"n1\"", "201999000000"), Format::kText, "p");
  EXPECT_EQ(big.Finish().entities[0].xid_last, 0u);
}

}  // namespace
}  // namespace gpuwise::observe::prom
