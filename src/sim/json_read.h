// Reading Kubernetes objects (nlohmann::json) without asserting or throwing: a missing key, or a non-object on the
// way, reads as null, and a mistyped leaf as its zero value, as Go's decoding of an absent field does. For the
// .cc files of the simulated API server and its control plane (it includes the full nlohmann header).
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gpuwise::sim {

// The value at `path` (object keys), or null.
inline const nlohmann::json& JsonAt(const nlohmann::json& j, std::initializer_list<std::string_view> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* cur = &j;
  for (std::string_view key : path) {
    if (!cur->is_object()) return kNull;
    auto it = cur->find(key);
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}

inline std::string JsonString(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : std::string(); }

inline long long JsonInt(const nlohmann::json& j, long long fallback = 0) {
  return j.is_number() ? j.get<long long>() : fallback;
}

}  // namespace gpuwise::sim
