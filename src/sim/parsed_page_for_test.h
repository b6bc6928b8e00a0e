// Test helper: a Prometheus text page parsed with gpuwise's own parser into owned values (the parser's views live
// only until its next call), for the emitter and cluster tests. Test-only; header-only.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::sim {

struct PageSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // page order
  double value = 0;
  std::string Label(const std::string& key) const {
    for (const auto& [k, v] : labels) {
      if (k == key) return v;
    }
    return "";
  }
  bool Has(const std::string& key) const {
    for (const auto& kv : labels) {
      if (kv.first == key) return true;
    }
    return false;
  }
};

struct ParsedPage {
  std::vector<PageSample> samples;
  std::vector<std::string> families;  // HELP lines' families, in page order
  std::map<std::string, std::string> help, type;
  std::map<std::string, int> help_count, type_count;
  int errors = 0;
  std::string first_error;
  bool Has(const std::string& family) const { return type.count(family) > 0; }
  std::vector<PageSample> Of(const std::string& name) const {
    std::vector<PageSample> out;
    for (const PageSample& s : samples) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }
};

inline ParsedPage ParsePage(const std::string& page) {
  namespace prom = observe::prom;
  ParsedPage out;
  prom::ExpositionParser parser(page, prom::ParserOptions{});
  prom::Entry entry;
  while (true) {
    base::Status st = parser.Next(&entry);
    if (!st.ok()) {
      if (out.errors++ == 0) out.first_error = st.ToString();
      continue;
    }
    if (entry.kind == prom::EntryKind::kEof) break;
    if (entry.kind == prom::EntryKind::kHelp) {
      out.families.emplace_back(entry.family);
      out.help[std::string(entry.family)] = std::string(entry.text);
      ++out.help_count[std::string(entry.family)];
    } else if (entry.kind == prom::EntryKind::kType) {
      out.type[std::string(entry.family)] = std::string(entry.text);
      ++out.type_count[std::string(entry.family)];
    } else if (entry.kind == prom::EntryKind::kSample) {
      PageSample s;
      s.name = std::string(entry.sample.name);
      for (const auto& l : entry.sample.labels) s.labels.emplace_back(std::string(l.name), std::string(l.value));
      s.value = entry.sample.value;
      out.samples.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace gpuwise::sim
