// The few LLM architectures gpuwise knows the KV-cache size of, from public model cards (reference/nvidia-gpu-facts.md
// section 4.2): per token, all layers, bytes = 2 (K and V) x layers x KV heads x head_dim x dtype bytes. With the
// engine's KV capacity (vllm:cache_config_info num_gpu_blocks x block_size) and its KV use, this turns a vLLM pod's
// framebuffer reservation into its demand: reservation - unused KV = weights + activations + KV in use.
// Worked number: Llama-3-8B, bf16: 2 x 32 x 8 x 128 x 2 = 131,072 B (128 KiB) per token.
// Thread-safety: immutable table.
#pragma once

#include <string_view>

namespace gpuwise::model {

struct LlmArchitecture {
  std::string_view name;     // "Llama-3-8B"
  int layers = 0, kv_heads = 0, head_dim = 0;
  std::string_view source;   // where the figures come from
  // KV bytes per token over all layers for a KV dtype of `dtype_bytes` (2: fp16/bf16, 1: fp8), per GPU under
  // tensor parallelism `tp` (KV heads are split, and replicated when tp exceeds them).
  double KvBytesPerToken(int dtype_bytes = 2, int tp = 1) const;
};

// The architecture a served model name denotes ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3.1-8b",
// "Qwen/Qwen2.5-7B-Instruct"); nullptr when unknown.
const LlmArchitecture* FindLlmArchitecture(std::string_view served_model);

}  // namespace gpuwise::model
