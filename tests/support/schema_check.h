// A small JSON Schema checker for gpuwise's own schemas in docs/schema/: type (incl. lists), required,
// properties, items, enum, const. Enough to hold every emitted document to its published contract.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gpuwise::testing {

// Every violation, as "path: what"; empty when the document conforms.
std::vector<std::string> CheckSchema(const nlohmann::json& schema, const nlohmann::json& doc);
// Loads docs/schema/<kind>.json from the source tree.
nlohmann::json LoadSchema(const std::string& kind);

}  // namespace gpuwise::testing
