#include "model/llm_catalog.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace gpuwise::model {
namespace {

// Name patterns (lower case, '_' and '.' as '-' removed differences below) -> architecture. Facts 4.2.
struct Entry {
  std::string_view pattern;
  LlmArchitecture arch;
};
constexpr std::string_view kLlama = "meta-llama/llama-models models/sku_list.py (facts 4.2)";
const Entry kEntries[] = {
    {"llama-3-70b", {"Llama-3-70B", 80, 8, 128, kLlama}},
    {"llama-3-1-70b", {"Llama-3.1-70B", 80, 8, 128, kLlama}},
    {"llama-3-8b", {"Llama-3-8B", 32, 8, 128, kLlama}},
    {"llama-3-1-8b", {"Llama-3.1-8B", 32, 8, 128, kLlama}},
    {"mistral-7b", {"Mistral-7B", 32, 8, 128, "Mistral 7B params table (facts 4.2)"}},
    {"qwen2-5-7b", {"Qwen2.5-7B", 28, 4, 128, "Qwen2-7B config and Qwen2.5-7B fixtures (facts 4.2, unconfirmed)"}},
};

std::string Normalise(std::string_view s) {
  std::string out;
  for (char c : s) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (l == '_' || l == '.' || l == ' ') ? '-' : l;
  }
  // "meta-llama-3-8b" and "llama3-8b" spell the same model.
  for (std::size_t p; (p = out.find("llama3")) != std::string::npos;) out.replace(p, 6, "llama-3");
  return out;
}

}  // namespace

double LlmArchitecture::KvBytesPerToken(int dtype_bytes, int tp) const {
  const int heads = std::max(1, kv_heads / std::max(1, tp));
  return 2.0 * layers * heads * head_dim * dtype_bytes;
}

const LlmArchitecture* FindLlmArchitecture(std::string_view served_model) {
  const std::string n = Normalise(served_model);
  for (const Entry& e : kEntries) {
    if (n.find(e.pattern) != std::string::npos) return &e.arch;
  }
  return nullptr;
}

}  // namespace gpuwise::model
