// Golden tests: the simulated exporter's lines against lines captured from real dcgm-exporters, quoted in
// ../shared/reference/nvidia-gpu-facts.md section 1.2 (dcgm-exporter issue 512 and PR 736). For the same
// entity (same labels), the emitted label block must equal the capture byte for byte, and the value must be
// printed the way the exporter prints that field (%f for DOUBLE fields, %d for INT64 ones).
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "sim/dcgm_page.h"

namespace gpuwise::sim {
namespace {

// The line of `metric` whose label block contains `needle`, or "".
std::string FindLine(const std::string& page, const std::string& metric, const std::string& needle) {
  std::size_t pos = 0;
  while ((pos = page.find(metric + "{", pos)) != std::string::npos) {
    const std::size_t end = page.find('\n', pos);
    std::string line = page.substr(pos, end - pos);
    if (line.find(needle) != std::string::npos) return line;
    pos = end;
  }
  return "";
}

// "name{labels}" of a line, without the value.
std::string Head(const std::string& line) { return line.substr(0, line.rfind('}') + 1); }
std::string Value(const std::string& line) { return line.substr(line.rfind('}') + 2); }

TEST(DcgmPageGoldenTest, H100MigInstancesMatchTheIssue512Capture) {
  // Captured (H100 80GB with MIG + pod mapping, exporter with the Hostname label, driver 535.129.03):
  const std::string kCaptured7 =
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77\","
      "pci_bus_id=\"00000000:1A:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
      "GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"7\",Hostname=\"gsrh100-074\",DCGM_FI_DRIVER_VERSION=\"535.129.03\","
      "container=\"kserve-container\",namespace=\"model-playground-stg\","
      "pod=\"text-embedding-predictor-00008-deployment-57946f6c67-vdtjl\"} 0.000000";
  const std::string kCaptured8 =
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77\","
      "pci_bus_id=\"00000000:1A:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
      "GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"8\",Hostname=\"gsrh100-074\",DCGM_FI_DRIVER_VERSION=\"535.129.03\"} "
      "0.000000";
  NodeSpec node;
  node.hostname = "gsrh100-074";
  node.driver_version = "535.129.03";
  GpuSpec gpu;
  gpu.index = 0;
  gpu.uuid = "GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77";
  gpu.pci_bus_id = "00000000:1A:00.0";
  gpu.model_name = "NVIDIA H100 80GB HBM3";
  gpu.memory_gib = 80;
  MigInstanceSpec a{"1g.10gb", 7, 1, 9.75, "text-embedding-predictor-00008-deployment-57946f6c67-vdtjl",
                    "model-playground-stg", "kserve-container", PatternKind::kIdle, std::nullopt};
  MigInstanceSpec b{"1g.10gb", 8, 1, 9.75, "", "", "", PatternKind::kIdle, std::nullopt};
  gpu.mig = {a, b};
  node.gpus = {gpu};
  const std::string page = RenderPage(node, {});
  const std::string line7 = FindLine(page, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "GPU_I_ID=\"7\"");
  const std::string line8 = FindLine(page, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "GPU_I_ID=\"8\"");
  EXPECT_EQ(Head(line7), Head(kCaptured7));
  EXPECT_EQ(Head(line8), Head(kCaptured8));
  // GR_ENGINE_ACTIVE is a DOUBLE field: "%f", six decimals.
  EXPECT_TRUE(std::regex_match(Value(line7), std::regex(R"(\d+\.\d{6})"))) << line7;
  // MIG instances never carry GPU_UTIL (GPU-level only).
  EXPECT_EQ(FindLine(page, "DCGM_FI_DEV_GPU_UTIL", "GPU_I_ID"), "");
}

TEST(DcgmPageGoldenTest, LowercaseHostnameAndNoDriverLabelMatchThePr736Capture) {
  // Captured (newer exporter: lowercase hostname = the exporter pod's name; no driver label in its CSV):
  const std::string kCapturedWhole =
      "DCGM_FI_DEV_FB_FREE{gpu=\"1\",UUID=\"GPU-fc60126e-514d-3522-2828-c5daa8e99d85\",pci_bus_id=\"00000000:B1:00.0\","
      "device=\"nvidia1\",modelName=\"NVIDIA RTX 2000 Ada Generation\",hostname=\"dcgm-exporter-wwwjh\"} 11275";
  const std::string kCapturedMig =
      "DCGM_FI_DEV_FB_FREE{gpu=\"2\",UUID=\"GPU-63bc0b91-2265-1b94-831c-15c41fe92675\",pci_bus_id=\"00000000:CA:00.0\","
      "device=\"nvidia2\",modelName=\"NVIDIA A30\",GPU_I_PROFILE=\"1g.6gb\",GPU_I_ID=\"3\",hostname=\"dcgm-exporter-wwwjh\","
      "container=\"triton-server\",namespace=\"default\",pod=\"triton-server-f7cb5d77-95xcf\"} 2207";
  NodeSpec node;
  node.hostname = "dcgm-exporter-wwwjh";
  GpuSpec ada;
  ada.index = 1;
  ada.uuid = "GPU-fc60126e-514d-3522-2828-c5daa8e99d85";
  ada.pci_bus_id = "00000000:B1:00.0";
  ada.model_name = "NVIDIA RTX 2000 Ada Generation";
  ada.memory_gib = 16;
  GpuSpec a30;
  a30.index = 2;
  a30.uuid = "GPU-63bc0b91-2265-1b94-831c-15c41fe92675";
  a30.pci_bus_id = "00000000:CA:00.0";
  a30.model_name = "NVIDIA A30";
  a30.memory_gib = 24;
  a30.mig = {MigInstanceSpec{"1g.6gb", 3, 1, 5.75, "triton-server-f7cb5d77-95xcf", "default", "triton-server",
                             PatternKind::kInference, std::nullopt}};
  node.gpus = {ada, a30};
  PageOptions options;
  options.lowercase_hostname_label = true;
  const std::string page = RenderPage(node, options);
  const std::string whole = FindLine(page, "DCGM_FI_DEV_FB_FREE", "gpu=\"1\"");
  const std::string mig = FindLine(page, "DCGM_FI_DEV_FB_FREE", "GPU_I_ID=\"3\"");
  EXPECT_EQ(Head(whole), Head(kCapturedWhole));
  EXPECT_EQ(Head(mig), Head(kCapturedMig));
  // FB_FREE is an INT64 field: "%d".
  EXPECT_TRUE(std::regex_match(Value(whole), std::regex(R"(\d+)"))) << whole;
  EXPECT_TRUE(std::regex_match(Value(mig), std::regex(R"(\d+)"))) << mig;
}

}  // namespace
}  // namespace gpuwise::sim
