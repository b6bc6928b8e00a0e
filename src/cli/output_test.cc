#include "cli/output.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <yaml-cpp/yaml.h>

#include <gtest/gtest.h>

namespace gpuwise::cli {
namespace {

TEST(OutputTest, JsonAndYamlCarryApiVersionAndKind) {
  nlohmann::json doc = {{"gpus", {{{"uuid", "GPU-1"}, {"p95", nullptr}}}}};
  std::ostringstream js, ys;
  ASSERT_TRUE(Emit(OutputFormat::kJson, "UsageReport", doc, {}, false, js).ok());
  auto parsed = nlohmann::json::parse(js.str());
  EXPECT_EQ(parsed["apiVersion"], "gpuwise.io/v1alpha1");
  EXPECT_EQ(parsed["kind"], "UsageReport");
  EXPECT_TRUE(parsed["gpus"][0]["p95"].is_null());
  ASSERT_TRUE(Emit(OutputFormat::kYaml, "UsageReport", doc, {}, false, ys).ok());
  YAML::Node y = YAML::Load(ys.str());
  EXPECT_EQ(y["kind"].as<std::string>(), "UsageReport");
  EXPECT_EQ(y["gpus"][0]["uuid"].as<std::string>(), "GPU-1");
  EXPECT_TRUE(y["gpus"][0]["p95"].IsNull());
}

TEST(OutputTest, CsvQuotesPerRfc4180AndTablesAlign) {
  Table t{{"NODE", "POD"}, {{"n1", "ns/a,b"}, {"n2", "say \"x\""}}, {"note"}};
  EXPECT_EQ(RenderCsv(t), "NODE,POD\r\nn1,\"ns/a,b\"\r\nn2,\"say \"\"x\"\"\"\r\n");
  EXPECT_EQ(RenderTable(t, false), "NODE  POD\nn1    ns/a,b\nn2    say \"x\"\nnote\n");
  std::ostringstream out;
  EXPECT_FALSE(Emit(OutputFormat::kCsv, "X", nlohmann::json::object(), Table{}, false, out).ok());
}

TEST(OutputTest, ColourNeverWithNoColor) {
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(UseColor(false));
  unsetenv("NO_COLOR");
  EXPECT_FALSE(UseColor(true));
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

}  // namespace
}  // namespace gpuwise::cli
