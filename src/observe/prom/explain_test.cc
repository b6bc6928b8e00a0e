#include "observe/prom/explain.h"

#include <gtest/gtest.h>

namespace gpuwise::observe::prom {
namespace {

std::string All(const EntityExplanation& x, const std::string& topic) {
  std::string out;
  for (const auto& f : x.facts) {
    if (f.topic == topic) out += f.text + "\n";
  }
  return out;
}

TEST(ExplainTest, MigInstanceOnGrEngineWithBlankTemperature) {
  std::string labels =
      "{gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA H100 80GB HBM3\",GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"2\","
      "Hostname=\"n1\",pod=\"p\",namespace=\"ml\",container=\"vllm\"}";
  std::string page = "DCGM_FI_PROF_GR_ENGINE_ACTIVE" + labels + " 0.700000\n" + "DCGM_FI_DEV_FB_USED" + labels +
                     " 10240\n" + "DCGM_FI_DEV_FB_FREE" + labels + " 30720\n" + "DCGM_FI_DEV_POWER_USAGE" + labels +
                     " 300.5\n" + "DCGM_FI_DEV_GPU_TEMP" + labels + " 9223372036854775794\n";
  DcgmTelemetryBuilder b;
  b.AddPage(page, Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 1u);
  EntityExplanation x = Explain(t.entities[0]);
  EXPECT_EQ(x.subject, "n1 gpu 0 (GPU-a, NVIDIA H100 80GB HBM3), MIG 3g.40gb GI 2");
  EXPECT_NE(All(x, "compute").find("70.0% from DCGM_FI_PROF_GR_ENGINE_ACTIVE"), std::string::npos);
  EXPECT_NE(All(x, "compute").find("upper bound"), std::string::npos);
  EXPECT_NE(All(x, "mig").find("whole-GPU share = 70.0% x 3/7 = 30.0%"), std::string::npos);
  EXPECT_NE(All(x, "framebuffer").find("10.00 GiB used of 40.00 GiB"), std::string::npos);
  EXPECT_NE(All(x, "power").find("never summed"), std::string::npos);
  const std::string unknown = All(x, "unknown");
  EXPECT_NE(unknown.find("gpu_temp: exported as a DCGM blank"), std::string::npos);
  EXPECT_NE(unknown.find("gpu_util: GPU-level only"), std::string::npos);
  EXPECT_NE(unknown.find("sm_active: not exported"), std::string::npos);
  EXPECT_NE(All(x, "attribution").find("ml/p container vllm"), std::string::npos);
}

TEST(ExplainTest, NoComputeSignalSaysSoAndNamesInferredNames) {
  DcgmTelemetryBuilder b;
  b.AddPage("DCGM_FI_DEV_FB_USED_BYTES{gpu=\"1\",UUID=\"GPU-b\",Hostname=\"n2\"} 1073741824\n", Format::kText, "p");
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 1u);
  EntityExplanation x = Explain(t.entities[0]);
  EXPECT_NE(All(x, "compute").find("unknown"), std::string::npos);
  EXPECT_NE(All(x, "catalog").find("fb_used came from DCGM_FI_DEV_FB_USED_BYTES"), std::string::npos);
  EXPECT_NE(All(x, "attribution").find("no pod labels"), std::string::npos);
}

}  // namespace
}  // namespace gpuwise::observe::prom
