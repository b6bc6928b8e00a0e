// Tests for the simulated vLLM /metrics page: golden lines from real captures, per-version names, a parse with
// gpuwise's own exposition parser, histogram invariants, number formatting and determinism.
//
// Golden captures (public, quoted verbatim; values set in the state to reproduce them):
// - vllm-project/production-stack issue #617 ("vllm-router latest version incompatible with vllm 0.10.0"):
//   vLLM 0.10.0, one API server, model zai-org/GLM-4.5; shows *_created families and the "queriedtokens" help.
// - vllm-project/vllm PR #22227 ("Disable the statslogger if the api_server_count is greater than 1"): vLLM with
//   both time_per_output_token_seconds and inter_token_latency_seconds, engines 0 and 1. That server ran several
//   API servers (prometheus multiprocess mode: _sum printed before the buckets, no *_created), so only single
//   lines are compared, not their order.
// - vllm-project/vllm issue #8819 ("Later version have degradation based on time_to_first_token_seconds_sum"):
//   vLLM 0.6 (V0), model facebook/opt-125m: labels without engine.
// - QwenLM/Qwen3-VL issue #55: vLLM 0.6 (V0) page head with cache_config_info, model qwenvl.
#include "sim/vllm_page.h"
#include "sim/parsed_page_for_test.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::sim {
namespace {

using observe::prom::Entry;
using observe::prom::EntryKind;
using observe::prom::ExpositionParser;
using observe::prom::ParserOptions;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The line of `page` that starts with `head` (name and label block), or "".
std::string FindLine(const std::string& page, const std::string& head) {
  for (const std::string& line : Lines(page)) {
    if (line.rfind(head + " ", 0) == 0) return line;
  }
  return "";
}

// A *_created sample's value is a process start time; blocks are compared with it replaced.
std::string NormalizeCreated(const std::string& line) {
  if (line.empty() || line[0] == '#' || line.find("_created{") == std::string::npos) return line;
  return line.substr(0, line.rfind(' ')) + " <created>";
}

// True when `block` (lines) appears contiguously in `page`, comparing *_created values loosely.
bool ContainsBlock(const std::string& page, const std::string& block) {
  std::vector<std::string> want = Lines(block);
  std::vector<std::string> have = Lines(page);
  for (auto& l : want) l = NormalizeCreated(l);
  for (auto& l : have) l = NormalizeCreated(l);
  for (std::size_t i = 0; i + want.size() <= have.size(); ++i) {
    bool all = true;
    for (std::size_t j = 0; j < want.size() && all; ++j) all = have[i + j] == want[j];
    if (all) return true;
  }
  return false;
}

VllmPageOptions Version(int major, int minor, int patch) {
  VllmPageOptions o;
  o.version = {major, minor, patch};
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Golden lines.

TEST(VllmPageGoldenTest, Vllm0100MatchesProductionStackIssue617) {
  // Verbatim from the capture (two excerpts of the same page).
  const std::string kCacheBlock =
      "# HELP vllm:gpu_prefix_cache_queries_created GPU prefix cache queries, in terms of number of queriedtokens. "
      "DEPRECATED: Use vllm:prefix_cache_queries instead.\n"
      "# TYPE vllm:gpu_prefix_cache_queries_created gauge\n"
      "vllm:gpu_prefix_cache_queries_created{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 1.7537953269352946e+09\n"
      "# HELP vllm:gpu_prefix_cache_hits_total GPU prefix cache hits, in terms of number of cached tokens. "
      "DEPRECATED: Use vllm:prefix_cache_hits instead.\n"
      "# TYPE vllm:gpu_prefix_cache_hits_total counter\n"
      "vllm:gpu_prefix_cache_hits_total{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "# HELP vllm:gpu_prefix_cache_hits_created GPU prefix cache hits, in terms of number of cached tokens. "
      "DEPRECATED: Use vllm:prefix_cache_hits instead.\n"
      "# TYPE vllm:gpu_prefix_cache_hits_created gauge\n"
      "vllm:gpu_prefix_cache_hits_created{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 1.7537953269353123e+09\n"
      "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
      "# TYPE vllm:kv_cache_usage_perc gauge\n"
      "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 9.75010481363281e-06\n"
      "# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.\n"
      "# TYPE vllm:prefix_cache_queries_total counter\n"
      "vllm:prefix_cache_queries_total{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 32.0\n";
  const std::string kTokensBlock =
      "# TYPE vllm:request_prompt_tokens_created gauge\n"
      "vllm:request_prompt_tokens_created{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 1.7537953269354987e+09\n"
      "# HELP vllm:request_generation_tokens Number of generation tokens processed.\n"
      "# TYPE vllm:request_generation_tokens histogram\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"1.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"2.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"5.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"10.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"20.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"50.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"100.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"200.0\",model_name=\"zai-org/GLM-4.5\"} 0.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"500.0\",model_name=\"zai-org/GLM-4.5\"} 4.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"1000.0\",model_name=\"zai-org/GLM-4.5\"} 4.0\n"
      "vllm:request_generation_tokens_bucket{engine=\"0\",le=\"2000.0\",model_name=\"zai-org/GLM-4.5\"} 4.0\n";

  const VllmPageOptions options = Version(0, 10, 0);
  VllmState s = MakeVllmState("zai-org/GLM-4.5", 131072, options.version);
  s.kv_cache_usage = 9.75010481363281e-06;
  s.prefix_cache_queries = 32;
  s.prefix_cache_hits = 0;
  for (int i = 0; i < 4; ++i) AddObservation(&s.request_generation_tokens, 300);
  s.created_unix_s = 1753795326.9353123;
  const std::string page = RenderVllmPage(s, options);

  EXPECT_TRUE(ContainsBlock(page, kCacheBlock)) << page;
  EXPECT_TRUE(ContainsBlock(page, kTokensBlock)) << page;
  // One *_created value byte for byte (the others differ by the microseconds between their creations).
  EXPECT_EQ(FindLine(page, "vllm:gpu_prefix_cache_hits_created{engine=\"0\",model_name=\"zai-org/GLM-4.5\"}"),
            "vllm:gpu_prefix_cache_hits_created{engine=\"0\",model_name=\"zai-org/GLM-4.5\"} 1.7537953269353123e+09");
}

TEST(VllmPageGoldenTest, TpotAndItlMatchVllmPr22227) {
  const VllmPageOptions options = Version(0, 10, 2);
  VllmState e0 = MakeVllmState("/home/jovyan/qwen3-8b", 40960, options.version);
  e0.engine = 0;
  for (int i = 0; i < 229; ++i) AddObservation(&e0.inter_token_latency_s, 0.008);
  for (int i = 0; i < 725; ++i) AddObservation(&e0.inter_token_latency_s, 0.02);
  e0.inter_token_latency_s.sum = 13.223765562288463;
  VllmState e1 = MakeVllmState("/home/jovyan/qwen3-8b", 40960, options.version);
  e1.engine = 1;
  AddObservation(&e1.time_to_first_token_s, 0.09);
  for (int i = 0; i < 243; ++i) AddObservation(&e1.inter_token_latency_s, 0.0158);
  e1.inter_token_latency_s.sum = 3.8492672259453684;
  const std::string page0 = RenderVllmPage(e0, options);
  const std::string page1 = RenderVllmPage(e1, options);

  const std::vector<std::string> kPage0 = {
      "# HELP vllm:inter_token_latency_seconds Histogram of inter-token latency in seconds.",
      "# TYPE vllm:inter_token_latency_seconds histogram",
      "vllm:inter_token_latency_seconds_sum{engine=\"0\",model_name=\"/home/jovyan/qwen3-8b\"} 13.223765562288463",
      "vllm:inter_token_latency_seconds_bucket{engine=\"0\",le=\"0.01\",model_name=\"/home/jovyan/qwen3-8b\"} 229.0",
      "vllm:inter_token_latency_seconds_bucket{engine=\"0\",le=\"0.025\",model_name=\"/home/jovyan/qwen3-8b\"} 954.0",
  };
  const std::vector<std::string> kPage1 = {
      "vllm:time_to_first_token_seconds_bucket{engine=\"1\",le=\"0.1\",model_name=\"/home/jovyan/qwen3-8b\"} 1.0",
      "vllm:time_to_first_token_seconds_bucket{engine=\"1\",le=\"0.25\",model_name=\"/home/jovyan/qwen3-8b\"} 1.0",
      "vllm:time_to_first_token_seconds_bucket{engine=\"1\",le=\"160.0\",model_name=\"/home/jovyan/qwen3-8b\"} 1.0",
      "vllm:time_per_output_token_seconds_bucket{engine=\"1\",le=\"7.5\",model_name=\"/home/jovyan/qwen3-8b\"} 243.0",
      "vllm:time_per_output_token_seconds_bucket{engine=\"1\",le=\"80.0\",model_name=\"/home/jovyan/qwen3-8b\"} 243.0",
      "vllm:time_per_output_token_seconds_bucket{engine=\"1\",le=\"+Inf\",model_name=\"/home/jovyan/qwen3-8b\"} 243.0",
      "vllm:time_per_output_token_seconds_count{engine=\"1\",model_name=\"/home/jovyan/qwen3-8b\"} 243.0",
      "vllm:inter_token_latency_seconds_sum{engine=\"1\",model_name=\"/home/jovyan/qwen3-8b\"} 3.8492672259453684",
  };
  for (const std::string& want : kPage0) {
    const std::vector<std::string> all = Lines(page0);
    EXPECT_NE(std::find(all.begin(), all.end(), want), all.end()) << want;
  }
  for (const std::string& want : kPage1) {
    const std::vector<std::string> all = Lines(page1);
    EXPECT_NE(std::find(all.begin(), all.end(), want), all.end()) << want;
  }
}

TEST(VllmPageGoldenTest, V0TtftBucketsMatchVllmIssue8819) {
  const std::string kBlock =
      "vllm:time_to_first_token_seconds_bucket{le=\"0.001\",model_name=\"facebook/opt-125m\"} 0.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.005\",model_name=\"facebook/opt-125m\"} 0.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.01\",model_name=\"facebook/opt-125m\"} 0.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.02\",model_name=\"facebook/opt-125m\"} 0.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.04\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.06\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.08\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.1\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.25\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.5\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.75\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"1.0\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"2.5\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"5.0\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"7.5\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"10.0\",model_name=\"facebook/opt-125m\"} 1.0\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"facebook/opt-125m\"} 1.0\n";
  const VllmPageOptions options = Version(0, 6, 1);
  VllmState s = MakeVllmState("facebook/opt-125m", 2048, options.version);
  AddObservation(&s.time_to_first_token_s, 0.03);
  EXPECT_TRUE(ContainsBlock(RenderVllmPage(s, options), kBlock)) << RenderVllmPage(s, options);
}

TEST(VllmPageGoldenTest, V0PageHeadMatchesQwenVlIssue55) {
  const std::string kHead =
      "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n"
      "# TYPE vllm:cache_config_info gauge\n"
      "vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",cpu_offload_gb=\"0\",enable_prefix_caching="
      "\"False\",gpu_memory_utilization=\"0.9\",num_cpu_blocks=\"0\",num_gpu_blocks=\"2048\",num_gpu_blocks_override="
      "\"2048\",sliding_window=\"None\",swap_space_bytes=\"0.0\"} 1.0\n"
      "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
      "# TYPE vllm:num_requests_running gauge\n"
      "vllm:num_requests_running{model_name=\"qwenvl\"} 0.0\n";
  const std::string kKvBlock =
      "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{model_name=\"qwenvl\"} 0.0\n"
      "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n"
      "# TYPE vllm:gpu_cache_usage_perc gauge\n"
      "vllm:gpu_cache_usage_perc{model_name=\"qwenvl\"} 0.0\n";
  const VllmPageOptions options = Version(0, 6, 1);
  VllmState s = MakeVllmState("qwenvl", 32768, options.version);
  s.cache_config.block_size = 16;
  s.cache_config.cache_dtype = "auto";
  s.cache_config.enable_prefix_caching = false;
  s.cache_config.gpu_memory_utilization = 0.9;
  s.cache_config.num_gpu_blocks = 2048;
  s.cache_config.extra_labels = {{"cpu_offload_gb", "0"},
                                 {"num_cpu_blocks", "0"},
                                 {"num_gpu_blocks_override", "2048"},
                                 {"sliding_window", "None"},
                                 {"swap_space_bytes", "0.0"}};
  const std::string page = RenderVllmPage(s, options);
  EXPECT_EQ(page.substr(0, kHead.size()), kHead);
  EXPECT_TRUE(ContainsBlock(page, kKvBlock)) << page;
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers as Python prints them.

TEST(VllmFloatTest, PythonRepr) {
  EXPECT_EQ(PythonFloatRepr(0.0), "0.0");
  EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PythonFloatRepr(12.0), "12.0");
  EXPECT_EQ(PythonFloatRepr(0.1), "0.1");
  EXPECT_EQ(PythonFloatRepr(-1.5), "-1.5");
  EXPECT_EQ(PythonFloatRepr(2.5e-05), "2.5e-05");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(1e-05), "1e-05");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PythonFloatRepr(1.5e300), "1.5e+300");
  EXPECT_EQ(PythonFloatRepr(13.223765562288463), "13.223765562288463");
  EXPECT_EQ(PythonFloatRepr(0.1 + 0.2), "0.30000000000000004");
}

TEST(VllmFloatTest, FloatToGoString) {
  EXPECT_EQ(PrometheusFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusFloat(std::nan("")), "NaN");
  EXPECT_EQ(PrometheusFloat(0.0), "0.0");
  EXPECT_EQ(PrometheusFloat(1.0), "1.0");
  EXPECT_EQ(PrometheusFloat(2560.0), "2560.0");
  EXPECT_EQ(PrometheusFloat(100000.0), "100000.0");
  EXPECT_EQ(PrometheusFloat(1000000.0), "1e+06");
  EXPECT_EQ(PrometheusFloat(2000000.0), "2e+06");
  EXPECT_EQ(PrometheusFloat(1000000.5), "1.0000005e+06");
  EXPECT_EQ(PrometheusFloat(444810000.0), "4.4481e+08");
  EXPECT_EQ(PrometheusFloat(1753795326.9353123), "1.7537953269353123e+09");
  EXPECT_EQ(PrometheusFloat(1e10), "1e+10");
  EXPECT_EQ(PrometheusFloat(-5e6), "-5000000.0");  // Go-style exponent only for positive numbers
  EXPECT_EQ(PrometheusFloat(9.75010481363281e-06), "9.75010481363281e-06");
}

TEST(VllmVersionTest, Parses) {
  auto v = ParseVllmVersion("0.10.1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (VllmVersion{0, 10, 1}));
  EXPECT_EQ(*ParseVllmVersion("v0.11.0"), (VllmVersion{0, 11, 0}));
  EXPECT_EQ(*ParseVllmVersion("0.6.3.post1"), (VllmVersion{0, 6, 3}));
  EXPECT_EQ(*ParseVllmVersion("0.11.0rc2"), (VllmVersion{0, 11, 0}));
  EXPECT_EQ(*ParseVllmVersion("0.9"), (VllmVersion{0, 9, 0}));
  EXPECT_FALSE(ParseVllmVersion("").ok());
  EXPECT_FALSE(ParseVllmVersion("latest").ok());
  EXPECT_FALSE(ParseVllmVersion("0.").ok());
  EXPECT_LT((VllmVersion{0, 9, 1}), (VllmVersion{0, 9, 2}));
  EXPECT_LT((VllmVersion{0, 9, 9}), (VllmVersion{0, 10, 0}));
}

TEST(VllmHistogramTest, BucketsAndObservations) {
  EXPECT_EQ(Build125Buckets(100), (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(Build125Buckets(4096).back(), 2000);
  VllmHistogram h = MakeVllmHistogram({0.1, 1.0, 10.0});
  AddObservation(&h, 0.1);   // on a bound: counts in that bucket (le = "less or equal")
  AddObservation(&h, 5.0);
  AddObservation(&h, 50.0);  // only +Inf
  EXPECT_EQ(h.counts, (std::vector<std::uint64_t>{1, 1, 2}));
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, 55.1);
  AddObservation(&h, std::nan(""));  // prometheus_client: no bucket, no count, sum becomes NaN
  EXPECT_EQ(h.count, 3u);
  EXPECT_TRUE(std::isnan(h.sum));
}

// ---------------------------------------------------------------------------------------------------------------
// Whole pages.

// A busy engine: deterministic observations in every histogram.
VllmState BusyState(const VllmVersion& version) {
  VllmState s = MakeVllmState("meta-llama/Llama-3.1-8B-Instruct", 8192, version);
  s.num_requests_running = 12;
  s.num_requests_waiting = 3;
  s.kv_cache_usage = 0.8125;
  s.prefix_cache_queries = 120000;
  s.prefix_cache_hits = 45000;
  s.num_preemptions = 7;
  s.request_success = {480, 15, 5};
  s.cache_config.num_gpu_blocks = 27000;
  s.created_unix_s = 1760000000.25;
  for (int i = 0; i < 500; ++i) {
    const double x = (i % 97) / 97.0;  // 0..1, deterministic
    const int prompt = 50 + (i * 37) % 3000;
    const int output = 20 + (i * 53) % 900;
    s.prompt_tokens += static_cast<std::uint64_t>(prompt);
    s.generation_tokens += static_cast<std::uint64_t>(output);
    AddObservation(&s.request_prompt_tokens, prompt);
    AddObservation(&s.request_generation_tokens, output);
    AddObservation(&s.request_max_num_generation_tokens, 1024);
    AddObservation(&s.request_params_n, 1);
    AddObservation(&s.request_params_max_tokens, 1024);
    AddObservation(&s.iteration_tokens, 1 + (i * 131) % 8000);
    AddObservation(&s.time_to_first_token_s, 0.05 + 2 * x);
    AddObservation(&s.inter_token_latency_s, 0.01 + 0.05 * x);
    AddObservation(&s.e2e_request_latency_s, 1 + 30 * x);
    AddObservation(&s.request_queue_time_s, 0.5 * x);
    AddObservation(&s.request_inference_time_s, 1 + 29 * x);
    AddObservation(&s.request_prefill_time_s, 0.04 + x);
    AddObservation(&s.request_decode_time_s, 1 + 28 * x);
  }
  return s;
}

using Sample = PageSample;
ParsedPage Parse(const std::string& page) { return ParsePage(page); }

const std::vector<VllmVersion> kVersions = {{0, 6, 3},  {0, 7, 3},  {0, 8, 5},  {0, 9, 1}, {0, 9, 2},
                                            {0, 10, 1}, {0, 10, 2}, {0, 11, 0}, {0, 12, 0}, {0, 13, 0}};

TEST(VllmPageTest, ParsesWithZeroErrorsAndEverySampleHasAFamily) {
  for (const VllmVersion& v : kVersions) {
    for (bool hidden : {false, true}) {
      for (bool created : {false, true}) {
        VllmPageOptions o;
        o.version = v;
        o.show_hidden_metrics = hidden;
        o.created_series = created;
        const std::string page = RenderVllmPage(BusyState(v), o);
        ASSERT_FALSE(page.empty());
        EXPECT_EQ(page.back(), '\n');
        ParsedPage p = Parse(page);
        EXPECT_EQ(p.errors, 0) << p.first_error;
        EXPECT_EQ(p.help.size(), p.type.size());
        std::set<std::string> seen;
        for (const std::string& f : p.families) EXPECT_TRUE(seen.insert(f).second) << "HELP twice: " << f;
        for (const Sample& s : p.samples) {
          // The sample belongs to the family declared right before it: its name or name + a known suffix.
          bool found = p.Has(s.name);
          for (const char* suffix : {"_bucket", "_count", "_sum"}) {
            const std::string sfx = suffix;
            if (s.name.size() > sfx.size() && s.name.compare(s.name.size() - sfx.size(), sfx.size(), sfx) == 0) {
              found = found || p.type.count(s.name.substr(0, s.name.size() - sfx.size())) > 0;
            }
          }
          EXPECT_TRUE(found) << s.name;
        }
      }
    }
  }
}

TEST(VllmPageTest, PerVersionNames) {
  struct Row {
    VllmVersion version;
    bool hidden;
    bool gpu_cache, kv_cache, gpu_prefix, prefix, tpot, itl, engine_label, created;
  };
  const Row rows[] = {
      {{0, 6, 3}, false, true, false, false, false, true, false, false, false},
      {{0, 8, 5}, false, true, false, true, false, true, false, true, true},
      {{0, 9, 1}, false, true, false, true, false, true, false, true, true},
      {{0, 9, 2}, false, true, true, true, true, true, false, true, true},
      {{0, 10, 1}, false, true, true, true, true, true, false, true, true},
      {{0, 10, 2}, false, true, true, true, true, true, true, true, true},
      {{0, 11, 0}, false, false, true, false, true, true, true, true, true},
      {{0, 11, 0}, true, true, true, true, true, true, true, true, true},
      {{0, 12, 0}, false, false, true, false, true, false, true, true, true},
      {{0, 12, 0}, true, false, true, false, true, true, true, true, true},
      {{0, 13, 0}, true, false, true, false, true, false, true, true, true},
  };
  for (const Row& r : rows) {
    VllmPageOptions o;
    o.version = r.version;
    o.show_hidden_metrics = r.hidden;
    ParsedPage p = Parse(RenderVllmPage(BusyState(r.version), o));
    const std::string at = std::to_string(r.version.major) + "." + std::to_string(r.version.minor) + "." +
                           std::to_string(r.version.patch) + (r.hidden ? " hidden" : "");
    ASSERT_EQ(p.errors, 0) << at << ": " << p.first_error;
    EXPECT_EQ(p.Has("vllm:gpu_cache_usage_perc"), r.gpu_cache) << at;
    EXPECT_EQ(p.Has("vllm:kv_cache_usage_perc"), r.kv_cache) << at;
    EXPECT_EQ(p.Has("vllm:gpu_prefix_cache_queries_total"), r.gpu_prefix) << at;
    EXPECT_EQ(p.Has("vllm:gpu_prefix_cache_hits_total"), r.gpu_prefix) << at;
    EXPECT_EQ(p.Has("vllm:prefix_cache_queries_total"), r.prefix) << at;
    EXPECT_EQ(p.Has("vllm:prefix_cache_hits_total"), r.prefix) << at;
    EXPECT_EQ(p.Has("vllm:time_per_output_token_seconds"), r.tpot) << at;
    EXPECT_EQ(p.Has("vllm:inter_token_latency_seconds"), r.itl) << at;
    EXPECT_EQ(p.Has("vllm:prompt_tokens_created"), r.created) << at;
    EXPECT_EQ(p.type["vllm:prompt_tokens_total"], "counter") << at;
    EXPECT_EQ(p.type["vllm:time_to_first_token_seconds"], "histogram") << at;
    for (const Sample& s : p.samples) {
      if (s.name == "vllm:cache_config_info") continue;
      EXPECT_EQ(s.Label("engine") == "0", r.engine_label) << at << " " << s.name;
      EXPECT_EQ(s.Label("model_name"), "meta-llama/Llama-3.1-8B-Instruct") << at << " " << s.name;
    }
  }
}

TEST(VllmPageTest, KvCacheUsageIsTheSameValueUnderBothNames) {
  VllmPageOptions o = Version(0, 10, 1);
  const std::string page = RenderVllmPage(BusyState(o.version), o);
  const std::string labels = "{engine=\"0\",model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}";
  EXPECT_EQ(FindLine(page, "vllm:kv_cache_usage_perc" + labels),
            "vllm:kv_cache_usage_perc" + labels + " 0.8125");
  EXPECT_EQ(FindLine(page, "vllm:gpu_cache_usage_perc" + labels),
            "vllm:gpu_cache_usage_perc" + labels + " 0.8125");
  EXPECT_EQ(FindLine(page, "vllm:prefix_cache_hits_total" + labels),
            "vllm:prefix_cache_hits_total" + labels + " 45000.0");
  EXPECT_EQ(FindLine(page, "vllm:gpu_prefix_cache_hits_total" + labels),
            "vllm:gpu_prefix_cache_hits_total" + labels + " 45000.0");
}

TEST(VllmPageTest, TpotAndItlCarryTheSameObservations) {
  VllmPageOptions o = Version(0, 11, 0);
  ParsedPage p = Parse(RenderVllmPage(BusyState(o.version), o));
  std::vector<std::pair<std::string, double>> tpot, itl;
  for (const Sample& s : p.samples) {
    const std::string suffix = s.name.substr(s.name.rfind('_'));
    if (s.name.rfind("vllm:time_per_output_token_seconds_", 0) == 0) tpot.push_back({suffix + s.Label("le"), s.value});
    if (s.name.rfind("vllm:inter_token_latency_seconds_", 0) == 0) itl.push_back({suffix + s.Label("le"), s.value});
  }
  EXPECT_FALSE(tpot.empty());
  EXPECT_EQ(tpot, itl);
  EXPECT_NE(p.help["vllm:time_per_output_token_seconds"].find("DEPRECATED"), std::string::npos);
}

TEST(VllmPageTest, HistogramsAreCumulativeAndInfEqualsCount) {
  for (const VllmVersion& v : kVersions) {
    VllmPageOptions o;
    o.version = v;
    ParsedPage p = Parse(RenderVllmPage(BusyState(v), o));
    ASSERT_EQ(p.errors, 0) << p.first_error;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // family -> (le, count) in page order
    std::map<std::string, double> counts;
    int histograms = 0;
    for (const Sample& s : p.samples) {
      const auto ends = [&](const std::string& sfx) {
        return s.name.size() > sfx.size() && s.name.compare(s.name.size() - sfx.size(), sfx.size(), sfx) == 0;
      };
      if (ends("_bucket")) {
        const std::string family = s.name.substr(0, s.name.size() - 7);
        const std::string le = s.Label("le");
        ASSERT_FALSE(le.empty()) << s.name;
        buckets[family].push_back({le == "+Inf" ? INFINITY : std::stod(le), s.value});
      } else if (ends("_count") && p.type[s.name.substr(0, s.name.size() - 6)] == "histogram") {
        counts[s.name.substr(0, s.name.size() - 6)] = s.value;
        ++histograms;
      }
    }
    EXPECT_GE(histograms, (v < VllmVersion{0, 8, 0} ? 5 : 13));
    for (const auto& [family, bs] : buckets) {
      ASSERT_GE(bs.size(), 2u) << family;
      for (std::size_t i = 1; i < bs.size(); ++i) {
        EXPECT_LT(bs[i - 1].first, bs[i].first) << family << " bounds ascend";
        EXPECT_LE(bs[i - 1].second, bs[i].second) << family << " counts are cumulative";
      }
      EXPECT_TRUE(std::isinf(bs.back().first)) << family;
      EXPECT_EQ(bs.back().second, counts[family]) << family << ": +Inf bucket == _count";
      EXPECT_GT(counts[family], 0) << family;
    }
  }
}

TEST(VllmPageTest, CreatedFamiliesFollowTheirFamily) {
  VllmPageOptions o = Version(0, 10, 1);
  const std::string page = RenderVllmPage(BusyState(o.version), o);
  ParsedPage p = Parse(page);
  // Every counter and histogram is followed by its *_created gauge family, counters named without "_total".
  for (std::size_t i = 0; i < p.families.size(); ++i) {
    const std::string& f = p.families[i];
    const std::string& t = p.type[f];
    if (t != "counter" && t != "histogram") continue;
    const std::string base = t == "counter" ? f.substr(0, f.size() - 6) : f;
    ASSERT_LT(i + 1, p.families.size()) << f;
    EXPECT_EQ(p.families[i + 1], base + "_created");
    EXPECT_EQ(p.type[base + "_created"], "gauge");
    EXPECT_EQ(p.help[base + "_created"], p.help[f]);
  }
  EXPECT_TRUE(p.Has("vllm:iteration_tokens_total_created"));  // a histogram whose name ends in _total keeps it
  const std::string success = "vllm:request_success_created{engine=\"0\",finished_reason=\"abort\",model_name="
                              "\"meta-llama/Llama-3.1-8B-Instruct\"}";
  EXPECT_EQ(FindLine(page, success), success + " 1.76000000025e+09");

  o.created_series = false;
  EXPECT_EQ(RenderVllmPage(BusyState(o.version), o).find("_created"), std::string::npos);
  EXPECT_EQ(RenderVllmPage(BusyState({0, 6, 3}), Version(0, 6, 3)).find("_created"), std::string::npos);
}

TEST(VllmPageTest, RequestSuccessByFinishedReason) {
  VllmPageOptions o = Version(0, 10, 1);
  VllmState s = BusyState(o.version);
  s.request_success = {2, 199, 0};
  ParsedPage p = Parse(RenderVllmPage(s, o));
  std::vector<std::pair<std::string, double>> got;
  for (const Sample& x : p.samples) {
    if (x.name != "vllm:request_success_total") continue;
    std::vector<std::string> names;
    for (const auto& l : x.labels) names.push_back(l.first);
    EXPECT_EQ(names, (std::vector<std::string>{"engine", "finished_reason", "model_name"}));
    got.push_back({x.Label("finished_reason"), x.value});
  }
  // V1 creates every reason up front (zeros included), in FinishReason order.
  EXPECT_EQ(got, (std::vector<std::pair<std::string, double>>{{"stop", 2}, {"length", 199}, {"abort", 0}}));

  // V0 shows only the reasons seen so far.
  const VllmPageOptions v0 = Version(0, 6, 3);
  VllmState old = BusyState(v0.version);
  old.request_success = {2, 199, 0};
  const std::string page = RenderVllmPage(old, v0);
  EXPECT_NE(page.find("vllm:request_success_total{finished_reason=\"length\",model_name="), std::string::npos);
  EXPECT_EQ(page.find("finished_reason=\"abort\""), std::string::npos);
}

TEST(VllmPageTest, CacheConfigInfo) {
  VllmPageOptions o = Version(0, 10, 1);
  VllmState s = BusyState(o.version);
  s.cache_config.gpu_memory_utilization = 0.85;
  s.cache_config.extra_labels = {{"swap_space_bytes", "4294967296"}};
  const std::string page = RenderVllmPage(s, o);
  EXPECT_NE(page.find("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"True\","
                      "engine=\"0\",gpu_memory_utilization=\"0.85\",num_gpu_blocks=\"27000\",swap_space_bytes="
                      "\"4294967296\"} 1.0\n"),
            std::string::npos)
      << page;
  // Registered at engine start-up, after the stat logger's families: the last family of a V1 page.
  ParsedPage p = Parse(page);
  EXPECT_EQ(p.families.back(), "vllm:cache_config_info");
}

TEST(VllmPageTest, LabelValuesAreEscaped) {
  VllmPageOptions o = Version(0, 10, 1);
  VllmState s = BusyState(o.version);
  s.model_name = "a\"b\\c\nd";
  const std::string page = RenderVllmPage(s, o);
  EXPECT_NE(page.find("model_name=\"a\\\"b\\\\c\\nd\""), std::string::npos);
  ParsedPage p = Parse(page);
  ASSERT_EQ(p.errors, 0) << p.first_error;
  ASSERT_FALSE(p.samples.empty());
  EXPECT_EQ(p.samples.front().Label("model_name"), "a\"b\\c\nd");
}

TEST(VllmPageTest, Deterministic) {
  for (const VllmVersion& v : kVersions) {
    VllmPageOptions o;
    o.version = v;
    EXPECT_EQ(RenderVllmPage(BusyState(v), o), RenderVllmPage(BusyState(v), o));
  }
  // Same state, other engine: only the engine label changes.
  VllmPageOptions o = Version(0, 10, 1);
  VllmState a = BusyState(o.version);
  VllmState b = a;
  b.engine = 1;
  std::string pa = RenderVllmPage(a, o);
  std::string pb = RenderVllmPage(b, o);
  for (std::size_t at; (at = pb.find("engine=\"1\"")) != std::string::npos;) pb.replace(at, 10, "engine=\"0\"");
  EXPECT_EQ(pa, pb);
}

}  // namespace
}  // namespace gpuwise::sim
