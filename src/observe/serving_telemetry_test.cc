#include "observe/serving_telemetry.h"

#include <gtest/gtest.h>

namespace gpuwise::observe {
namespace {

constexpr const char* kV1Page = R"(# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",gpu_memory_utilization="0.9",num_gpu_blocks="1000"} 1.0
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="1",gpu_memory_utilization="0.9",num_gpu_blocks="3000"} 1.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.8
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.4
vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.99
# TYPE vllm:request_success counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 90
vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} 10
vllm:prompt_tokens_total{engine="0",model_name="m"} 5000
vllm:generation_tokens_total{engine="0",model_name="m"} 2000
vllm:num_preemptions_total{engine="0",model_name="m"} 3
this line is broken
)";

TEST(ParseVllmPage, WeighsEnginesByCapacityAndPrefersTheCurrentName) {
  const ServingSample s = ParseVllmPage(kV1Page, 1000);
  // (0.8 x 16,000 + 0.4 x 48,000) / 64,000 = 0.5; the deprecated gpu_cache_usage_perc is ignored.
  EXPECT_DOUBLE_EQ(s.kv_usage, 0.5);
  EXPECT_DOUBLE_EQ(s.kv_capacity_tokens, 64000);
  EXPECT_DOUBLE_EQ(s.gpu_memory_utilization, 0.9);
  EXPECT_DOUBLE_EQ(s.requests, 100);
  EXPECT_DOUBLE_EQ(s.prompt_tokens, 5000);
  EXPECT_DOUBLE_EQ(s.generation_tokens, 2000);
  EXPECT_DOUBLE_EQ(s.preemptions, 3);
  EXPECT_EQ(s.bad_lines, 1);
}

TEST(ParseVllmPage, OldEnginesGpuCacheUsageAndAnEmptyPage) {
  const ServingSample old = ParseVllmPage("vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.25\n", 0);
  EXPECT_DOUBLE_EQ(old.kv_usage, 0.25);
  EXPECT_TRUE(std::isnan(old.kv_capacity_tokens));
  const ServingSample none = ParseVllmPage("", 0);
  EXPECT_TRUE(std::isnan(none.kv_usage));
  EXPECT_TRUE(std::isnan(none.requests));
  const ServingSample nan = ParseVllmPage("vllm:kv_cache_usage_perc NaN\nvllm:request_success_total -5\n", 0);
  EXPECT_TRUE(std::isnan(nan.kv_usage));
  EXPECT_TRUE(std::isnan(nan.requests));
}

TEST(AccumulateServing, CounterIncreasesSurviveARestart) {
  std::vector<ServingSample> samples(4);
  const double requests[] = {100, 130, 5, 25};  // the engine restarted between the 2nd and 3rd scrape
  for (int i = 0; i < 4; ++i) {
    samples[static_cast<std::size_t>(i)].t_ms = i * 30'000;
    samples[static_cast<std::size_t>(i)].requests = requests[i];
    samples[static_cast<std::size_t>(i)].kv_usage = 0.1 * (i + 1);
  }
  model::ServingUsage u;
  AccumulateServing(samples, &u);
  EXPECT_DOUBLE_EQ(u.requests, 30 + 5 + 20);
  EXPECT_DOUBLE_EQ(u.seconds, 90);
  EXPECT_EQ(u.kv_usage.count(), 4u);
  EXPECT_EQ(u.pods, 1);
  // A second replica over the same span adds its requests, not its time.
  AccumulateServing(samples, &u);
  EXPECT_DOUBLE_EQ(u.requests, 110);
  EXPECT_DOUBLE_EQ(u.seconds, 90);
  EXPECT_EQ(u.pods, 2);
}

}  // namespace
}  // namespace gpuwise::observe
