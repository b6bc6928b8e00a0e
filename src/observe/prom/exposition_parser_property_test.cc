// Property: exposition text generated here (by this test's own writer, independent of anything gpuwise
// writes) parses back to exactly the samples it was generated from.
#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "observe/prom/exposition_parser.h"
#include "observe/prom/series_interner.h"

namespace gpuwise::observe::prom {
namespace {

struct GenSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  bool has_ts;
  std::int64_t ts;
};

rc::Gen<std::string> GenIdent(bool metric) {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange(0, 53), rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 64))),
                      [metric](const std::pair<int, std::vector<int>>& p) {
                        static const std::string kStart = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
                        static const std::string kRest = kStart + "0123456789" + ":";
                        std::string s(1, kStart[p.first % kStart.size()]);
                        for (int c : p.second) {
                          char ch = kRest[c % kRest.size()];
                          if (!metric && ch == ':') ch = '_';
                          s.push_back(ch);
                        }
                        return s;
                      });
}

// Label values: printable ASCII, the three escapable characters, and multi-byte UTF-8.
rc::Gen<std::string> GenValue() {
  return rc::gen::map(rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100)), [](const std::vector<int>& cs) {
    std::string s;
    for (int c : cs) {
      if (c < 80) s.push_back(static_cast<char>(' ' + c % 95));
      else if (c < 85) s += "\\";
      else if (c < 90) s += "\"";
      else if (c < 94) s += "\n";
      else if (c < 97) s += "\xC3\xA9";           // é
      else s += "\xF0\x9F\x9A\x80";                // rocket, 4 bytes
    }
    return s;
  });
}

rc::Gen<double> GenDouble() {
  return rc::gen::oneOf(rc::gen::arbitrary<double>(), rc::gen::element(0.0, -0.0, 1.0, 0.5, 1e-300, 1e300),
                        rc::gen::element(std::nan(""), INFINITY, -INFINITY),
                        rc::gen::map(rc::gen::inRange(0, 100000000), [](int x) { return x / 1000.0; }));
}

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string FormatDouble(double v, int style) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? (style % 2 ? "+Inf" : "Inf") : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, style % 2 ? "%.17g" : "%.17e", v);
  return buf;
}

TEST(ExpositionParserPropertyTest, GeneratedPagesParseBackExactly) {
  const bool ok = rc::check("text page round trip", [] {
    const auto n = *rc::gen::inRange(0, 20);
    std::vector<GenSample> samples;
    std::string page;
    for (int i = 0; i < n; ++i) {
      GenSample s;
      s.name = *GenIdent(true);
      const auto nl = *rc::gen::inRange(0, 12);
      for (int j = 0; j < nl; ++j) {
        // Unique names: suffix the index.
        s.labels.emplace_back(*GenIdent(false) + "_" + std::to_string(j), *GenValue());
      }
      s.value = *GenDouble();
      s.has_ts = *rc::gen::arbitrary<bool>();
      s.ts = *rc::gen::inRange<std::int64_t>(-1000000, 4000000000000);
      const int style = *rc::gen::inRange(0, 4);
      const std::string blank = style == 3 ? " \t " : " ";
      if (*rc::gen::arbitrary<bool>()) page += "# HELP " + s.name + " help " + std::to_string(i) + "\n";
      page += s.name;
      if (!s.labels.empty() || style == 2) {
        page += "{";
        for (std::size_t j = 0; j < s.labels.size(); ++j) {
          if (j) page += style == 1 ? ", " : ",";
          page += s.labels[j].first + "=\"" + Escape(s.labels[j].second) + "\"";
        }
        if (style == 2 && !s.labels.empty()) page += ",";
        page += "}";
      }
      page += blank + FormatDouble(s.value, style);
      if (s.has_ts) page += blank + std::to_string(s.ts);
      page += (i + 1 == n && style == 0) ? "" : (style == 1 ? "\r\n" : "\n");
      samples.push_back(std::move(s));
    }
    ExpositionParser parser(page, {});
    Entry e;
    std::size_t k = 0;
    while (true) {
      base::Status st = parser.Next(&e);
      RC_ASSERT(st.ok());
      if (e.kind == EntryKind::kEof) break;
      if (e.kind != EntryKind::kSample) continue;
      RC_ASSERT(k < samples.size());
      const GenSample& want = samples[k++];
      RC_ASSERT(e.sample.name == want.name);
      RC_ASSERT(e.sample.labels.size() == want.labels.size());
      for (std::size_t j = 0; j < want.labels.size(); ++j) {
        RC_ASSERT(e.sample.labels[j].name == want.labels[j].first);
        RC_ASSERT(e.sample.labels[j].value == want.labels[j].second);
      }
      if (std::isnan(want.value)) {
        RC_ASSERT(std::isnan(e.sample.value));
      } else {
        RC_ASSERT(e.sample.value == want.value);
        RC_ASSERT(std::signbit(e.sample.value) == std::signbit(want.value));
      }
      RC_ASSERT(e.sample.has_timestamp == want.has_ts);
      if (want.has_ts) RC_ASSERT(e.sample.timestamp_ms == want.ts);
    }
    RC_ASSERT(k == samples.size());
  });
  EXPECT_TRUE(ok);
}

// Property: the interner gives two samples the same id exactly when they have the same name and label set,
// whatever the label order and blanks, and even when every hash collides.
TEST(SeriesInternerPropertyTest, SameIdIffSameSeries) {
  const bool ok = rc::check("interner identity", [] {
    const bool collide = *rc::gen::arbitrary<bool>();
    const auto distinct = *rc::gen::inRange(1, 8);
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> series;
    for (int i = 0; i < distinct; ++i) {
      std::map<std::string, std::string> labels;
      const auto n = *rc::gen::inRange(0, 5);
      for (int j = 0; j < n; ++j) labels[*rc::gen::element<std::string>("gpu", "UUID", "pod", "a", "b")] = *GenValue();
      series.emplace_back(*rc::gen::element<std::string>("m", "n"), labels);
    }
    SeriesInterner interner;
    interner.ForceHashForTesting(collide);
    std::map<std::size_t, std::uint32_t> id_of;  // index of the first equal series -> id
    const auto writes = *rc::gen::inRange(1, 30);
    for (int w = 0; w < writes; ++w) {
      const auto k = static_cast<std::size_t>(*rc::gen::inRange(0, distinct));
      std::vector<std::pair<std::string, std::string>> order(series[k].second.begin(), series[k].second.end());
      // A random order: sort by generated keys.
      const auto keys = *rc::gen::container<std::vector<int>>(order.size(), rc::gen::arbitrary<int>());
      std::vector<std::size_t> perm(order.size());
      for (std::size_t j = 0; j < perm.size(); ++j) perm[j] = j;
      std::sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
      std::vector<std::pair<std::string, std::string>> shuffled;
      for (std::size_t j : perm) shuffled.push_back(order[j]);
      std::string line = series[k].first + "{";
      for (const auto& [name, value] : shuffled) {
        line += (*rc::gen::arbitrary<bool>() ? " " : "") + name + "=\"" + Escape(value) + "\",";
      }
      line += "} 1\n";
      ExpositionParser parser(line, {});
      Entry e;
      RC_ASSERT(parser.Next(&e).ok());
      RC_ASSERT(e.kind == EntryKind::kSample);
      const std::uint32_t id = interner.Intern(e.sample);
      // The first series equal to series[k] (generated series may coincide).
      std::size_t first = k;
      for (std::size_t j = 0; j < series.size(); ++j) {
        if (series[j] == series[k]) {
          first = j;
          break;
        }
      }
      auto it = id_of.find(first);
      if (it == id_of.end()) {
        for (const auto& [other, other_id] : id_of) RC_ASSERT(other_id != id);  // a new series gets a new id
        id_of[first] = id;
      } else {
        RC_ASSERT(it->second == id);
      }
    }
    RC_ASSERT(interner.size() == id_of.size());
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace gpuwise::observe::prom
