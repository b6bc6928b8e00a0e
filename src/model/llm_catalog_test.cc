#include "model/llm_catalog.h"

#include <gtest/gtest.h>

namespace gpuwise::model {
namespace {

TEST(LlmCatalogTest, ServedNamesFindTheirArchitecture) {
  for (const char* name : {"meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b-instruct", "Llama3-8B", "llama-3.1-8b"}) {
    const LlmArchitecture* a = FindLlmArchitecture(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->layers, 32) << name;
  }
  EXPECT_EQ(FindLlmArchitecture("meta-llama/Llama-3.1-70B-Instruct")->layers, 80);
  EXPECT_EQ(FindLlmArchitecture("Qwen/Qwen2.5-7B-Instruct")->kv_heads, 4);
  EXPECT_EQ(FindLlmArchitecture("mistralai/Mistral-7B-Instruct-v0.3")->kv_heads, 8);
  EXPECT_EQ(FindLlmArchitecture("qwen2.5-72b-instruct"), nullptr);  // not Qwen2.5-7B
  EXPECT_EQ(FindLlmArchitecture("gpt2"), nullptr);
}

TEST(LlmCatalogTest, KvBytesPerTokenMatchTheFactsTable) {
  // Facts 4.2: Llama-3-8B 131,072 B (fp8 65,536), Llama-3-70B 327,680 B (TP4 81,920 per GPU), Qwen2.5-7B 57,344 B.
  EXPECT_EQ(FindLlmArchitecture("llama-3-8b")->KvBytesPerToken(), 131072);
  EXPECT_EQ(FindLlmArchitecture("llama-3-8b")->KvBytesPerToken(1), 65536);
  EXPECT_EQ(FindLlmArchitecture("llama-3-70b")->KvBytesPerToken(), 327680);
  EXPECT_EQ(FindLlmArchitecture("llama-3-70b")->KvBytesPerToken(2, 4), 81920);
  EXPECT_EQ(FindLlmArchitecture("qwen2.5-7b")->KvBytesPerToken(), 57344);
  // More GPUs than KV heads: the heads are replicated, one per GPU.
  EXPECT_EQ(FindLlmArchitecture("qwen2.5-7b")->KvBytesPerToken(2, 8), 2.0 * 28 * 1 * 128 * 2);
}

}  // namespace
}  // namespace gpuwise::model
