#include "schema_check.h"

#include <fstream>

namespace gpuwise::testing {
namespace {

bool HasType(const nlohmann::json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}

void Check(const nlohmann::json& s, const nlohmann::json& v, const std::string& path, std::vector<std::string>* out) {
  if (s.contains("type")) {
    bool ok = false;
    if (s["type"].is_array()) {
      for (const auto& t : s["type"]) ok |= HasType(v, t.get<std::string>());
    } else {
      ok = HasType(v, s["type"].get<std::string>());
    }
    if (!ok) {
      out->push_back(path + ": type is not " + s["type"].dump() + " (value " + v.dump().substr(0, 80) + ")");
      return;
    }
  }
  if (s.contains("const") && v != s["const"]) out->push_back(path + ": not " + s["const"].dump());
  if (s.contains("enum")) {
    bool found = false;
    for (const auto& e : s["enum"]) found |= e == v;
    if (!found) out->push_back(path + ": " + v.dump() + " not in " + s["enum"].dump());
  }
  if (v.is_object()) {
    if (s.contains("required")) {
      for (const auto& r : s["required"]) {
        if (!v.contains(r.get<std::string>())) out->push_back(path + ": missing required '" + r.get<std::string>() + "'");
      }
    }
    if (s.contains("properties")) {
      for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
        if (v.contains(it.key())) Check(it.value(), v[it.key()], path + "." + it.key(), out);
      }
    }
  }
  if (v.is_array() && s.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i) Check(s["items"], v[i], path + "[" + std::to_string(i) + "]", out);
  }
}

}  // namespace

std::vector<std::string> CheckSchema(const nlohmann::json& schema, const nlohmann::json& doc) {
  std::vector<std::string> out;
  Check(schema, doc, "$", &out);
  return out;
}

nlohmann::json LoadSchema(const std::string& kind) {
  std::ifstream in(std::string(GPUWISE_SOURCE_DIR) + "/docs/schema/" + kind + ".json");
  return nlohmann::json::parse(in, nullptr, false);
}

}  // namespace gpuwise::testing
