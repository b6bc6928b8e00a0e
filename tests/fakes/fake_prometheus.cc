// Fake Prometheus server (cpp-httplib): a tiny selector evaluator plus Prometheus's limits and errors.
#include "fakes/fake_prometheus.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <optional>
#include <regex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace gpuwise::fakes {
namespace {

struct FakeSeries {
  FakeLabels labels;  // sorted by name
  std::vector<std::int64_t> ts;
  std::vector<double> values;
};

enum class MatchOp { kEq, kNe, kRe, kNre };

// A regex that is only literals joined by '|' ("A|B|C", metacharacters escaped, as sharding by UUID and selecting
// by several metric names write them): its alternatives, so that matching is a set lookup instead of std::regex
// (which is far too slow for a 1,000-way alternation over 100,000 series).
bool LiteralAlternatives(std::string_view re, std::vector<std::string>* out) {
  constexpr std::string_view kMeta = ".+*?()|[]{}^$";
  std::string cur;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) return false;
      const char n = re[i + 1];
      if (kMeta.find(n) == std::string_view::npos && n != '\\' && n != '-' && n != '/') return false;
      cur.push_back(n);
      ++i;
    } else if (c == '|') {
      out->push_back(std::move(cur));
      cur.clear();
    } else if (kMeta.find(c) != std::string_view::npos) {
      return false;
    } else {
      cur.push_back(c);
    }
  }
  out->push_back(std::move(cur));
  return true;
}

struct Matcher {
  std::string label;
  MatchOp op = MatchOp::kEq;
  std::string value;
  std::regex re;
  std::optional<std::unordered_set<std::string>> alternatives;  // set when the regex is a literal alternation
  bool Matches(const FakeLabels& labels) const {
    static const std::string kEmpty;
    const std::string* v = &kEmpty;
    for (const auto& [k, val] : labels) {
      if (k == label) v = &val;
    }
    switch (op) {
      case MatchOp::kEq: return *v == value;
      case MatchOp::kNe: return *v != value;
      case MatchOp::kRe: return alternatives ? alternatives->count(*v) > 0 : std::regex_match(*v, re);
      case MatchOp::kNre: return alternatives ? alternatives->count(*v) == 0 : !std::regex_match(*v, re);
    }
    return false;
  }
};

enum class Func { kNone, kMax, kMin, kAvg, kSum, kCount, kLast, kQuantile, kIncrease, kRate };
enum class Agg { kNone, kCount, kSum, kMin, kMax, kAvg };

struct Expr {
  Agg agg = Agg::kNone;
  std::vector<std::string> group;  // by (...) labels, or without (...) labels when `without`
  bool without = false;
  Func func = Func::kNone;
  double q = 0;
  std::int64_t window_ms = 0;
  std::vector<Matcher> matchers;
};

class ExprParser {
 public:
  explicit ExprParser(std::string_view s) : s_(s) {}

  bool Parse(Expr* e, std::string* err) {
    SkipWs();
    std::string ident = Ident();
    SkipWs();
    static const std::map<std::string, Agg> kAggs = {
        {"count", Agg::kCount}, {"sum", Agg::kSum}, {"min", Agg::kMin}, {"max", Agg::kMax}, {"avg", Agg::kAvg}};
    if (auto a = kAggs.find(ident); a != kAggs.end() && (Peek() == '(' || Peek() == 'b' || Peek() == 'w')) {
      e->agg = a->second;
      if (Peek() != '(' && !Grouping(e, err)) return false;  // sum by (a, b) (...)
      SkipWs();
      if (!Eat('(')) return Fail(err, "expected '(' after the aggregation");
      SkipWs();
      std::string inner = Ident();
      SkipWs();
      if (!Inner(inner, e, err)) return false;
      SkipWs();
      if (!Eat(')')) return Fail(err, "expected ')' closing the aggregation");
      SkipWs();
      if ((Peek() == 'b' || Peek() == 'w') && !Grouping(e, err)) return false;  // sum (...) by (a, b)
    } else if (!Inner(ident, e, err)) {
      return false;
    }
    SkipWs();
    if (i_ != s_.size()) return Fail(err, "unexpected trailing characters (the fake evaluates selectors only)");
    return true;
  }

  // `by (a, b)` or `without (a, b)`.
  bool Grouping(Expr* e, std::string* err) {
    const std::string word = Ident();
    if (word != "by" && word != "without") return Fail(err, "expected by or without");
    e->without = word == "without";
    SkipWs();
    if (!Eat('(')) return Fail(err, "expected '(' after " + word);
    for (;;) {
      SkipWs();
      if (Eat(')')) break;
      std::string label = Ident();
      if (label.empty()) return Fail(err, "expected a label name in " + word + " (...)");
      e->group.push_back(std::move(label));
      SkipWs();
      if (Eat(',')) continue;
      if (!Eat(')')) return Fail(err, "expected ',' or ')'");
      break;
    }
    return true;
  }

  // A selector or a function of a range selector, starting after its first identifier.
  bool Inner(const std::string& ident, Expr* e, std::string* err) {
    static const std::map<std::string, Func> kFuncs = {
        {"max_over_time", Func::kMax},     {"min_over_time", Func::kMin},   {"avg_over_time", Func::kAvg},
        {"sum_over_time", Func::kSum},     {"count_over_time", Func::kCount}, {"last_over_time", Func::kLast},
        {"quantile_over_time", Func::kQuantile}, {"increase", Func::kIncrease}, {"rate", Func::kRate}};
    auto f = kFuncs.find(ident);
    if (f != kFuncs.end() && Peek() == '(') {
      e->func = f->second;
      ++i_;
      SkipWs();
      if (e->func == Func::kQuantile) {
        std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] != ',') ++i_;
        std::string num(s_.substr(start, i_ - start));
        char* end = nullptr;
        e->q = std::strtod(num.c_str(), &end);
        if (!Eat(',')) return Fail(err, "expected ',' after quantile");
        SkipWs();
      }
      std::string name = Ident();
      if (!Selector(name, e, err)) return false;
      SkipWs();
      if (!Eat('[')) return Fail(err, "range vector expected");
      std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] != ']') ++i_;
      if (!ParseDuration(s_.substr(start, i_ - start), &e->window_ms)) return Fail(err, "bad duration");
      if (!Eat(']')) return Fail(err, "expected ']'");
      SkipWs();
      if (!Eat(')')) return Fail(err, "expected ')'");
    } else {
      if (!Selector(ident, e, err)) return false;
    }
    return true;
  }

  static bool ParseDuration(std::string_view d, std::int64_t* ms) {
    *ms = 0;
    std::size_t i = 0;
    if (d.empty()) return false;
    while (i < d.size()) {
      std::int64_t n = 0;
      std::size_t start = i;
      while (i < d.size() && d[i] >= '0' && d[i] <= '9') n = n * 10 + (d[i++] - '0');
      if (i == start) return false;
      std::size_t ustart = i;
      while (i < d.size() && d[i] >= 'a' && d[i] <= 'z') ++i;
      std::string_view unit = d.substr(ustart, i - ustart);
      std::int64_t mult = 0;
      if (unit == "ms") mult = 1;
      else if (unit == "s") mult = 1000;
      else if (unit == "m") mult = 60'000;
      else if (unit == "h") mult = 3'600'000;
      else if (unit == "d") mult = 86'400'000;
      else return false;
      *ms += n * mult;
    }
    return true;
  }

 private:
  bool Fail(std::string* err, const std::string& m) {
    *err = "parse error at char " + std::to_string(i_) + ": " + m;
    return false;
  }
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }
  void SkipWs() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  std::string Ident() {
    std::size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == ':')) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  bool String(std::string* out, std::string* err) {
    if (!Eat('"')) return Fail(err, "expected string");
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        ++i_;
        out->push_back(s_[i_] == 'n' ? '\n' : s_[i_]);
      } else {
        out->push_back(s_[i_]);
      }
      ++i_;
    }
    if (!Eat('"')) return Fail(err, "unterminated string");
    return true;
  }
  bool Selector(const std::string& name, Expr* e, std::string* err) {
    SkipWs();
    if (!name.empty()) {
      Matcher m;
      m.label = "__name__";
      m.value = name;
      e->matchers.push_back(std::move(m));
    }
    if (Eat('{')) {
      for (;;) {
        SkipWs();
        if (Eat('}')) break;
        Matcher m;
        m.label = Ident();
        if (m.label.empty()) return Fail(err, "expected label name");
        SkipWs();
        if (Eat('=')) {
          m.op = Eat('~') ? MatchOp::kRe : MatchOp::kEq;
        } else if (Eat('!')) {
          if (Eat('=')) m.op = MatchOp::kNe;
          else if (Eat('~')) m.op = MatchOp::kNre;
          else return Fail(err, "bad matcher operator");
        } else {
          return Fail(err, "expected matcher operator");
        }
        SkipWs();
        if (!String(&m.value, err)) return false;
        if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
          std::vector<std::string> alts;
          if (LiteralAlternatives(m.value, &alts)) {
            m.alternatives.emplace(alts.begin(), alts.end());
          } else {
            try {
              m.re = std::regex(m.value, std::regex::ECMAScript);
            } catch (const std::regex_error&) {
              return Fail(err, "bad regex");
            }
          }
        }
        e->matchers.push_back(std::move(m));
        SkipWs();
        if (Eat(',')) continue;
        if (Eat('}')) break;
        return Fail(err, "expected ',' or '}'");
      }
    }
    if (e->matchers.empty()) return Fail(err, "vector selector must contain at least one non-empty matcher");
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Time as Prometheus accepts it: float seconds (RFC 3339 is not needed by our client).
bool ParseTime(const std::string& s, std::int64_t* ms) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *ms = std::llround(v * 1000.0);
  return true;
}

bool ParseStep(const std::string& s, std::int64_t* ms) {
  if (ParseTime(s, ms)) return true;
  return ExprParser::ParseDuration(s, ms);
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      *out += buf;
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendTime(std::string* out, std::int64_t ms) {
  if (ms < 0) {
    out->push_back('-');
    ms = -ms;
  }
  *out += std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03d", static_cast<int>(ms % 1000));
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    *out += f;
  }
}

void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "\"NaN\"";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "\"+Inf\"" : "\"-Inf\"";
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->push_back('"');
    out->append(buf, r.ptr);
    out->push_back('"');
  }
}

void AppendLabels(std::string* out, const FakeLabels& labels) {
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, k);
    out->push_back(':');
    AppendJsonString(out, v);
  }
  out->push_back('}');
}

std::string ErrorBody(std::string_view type, std::string_view msg) {
  std::string out = "{\"status\":\"error\",\"errorType\":";
  AppendJsonString(&out, type);
  out += ",\"error\":";
  AppendJsonString(&out, msg);
  out += "}";
  return out;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- procedural series ----

constexpr std::int64_t kPeriod = FakePrometheus::kWavePeriod;
constexpr int kMaxLevel = 1000;

// The wave's tables: levels, prefix sums, and for each level L the number of positions before i whose level is
// <= L (so a cyclic range's count of levels <= L is two lookups). 1,001 x 2,881 x 2 bytes = 5.8 MB, built once.
struct WaveTables {
  std::vector<std::int16_t> level;
  std::vector<std::int64_t> prefix;
  std::vector<std::uint16_t> count_le;  // [L * (kPeriod + 1) + i]

  WaveTables() : level(kPeriod), prefix(kPeriod + 1, 0), count_le(static_cast<std::size_t>(kMaxLevel + 1) * (kPeriod + 1), 0) {
    for (std::int64_t i = 0; i < kPeriod; ++i) {
      // splitmix64 of i: deterministic noise in [0, 1).
      std::uint64_t z = static_cast<std::uint64_t>(i) + 0x9e3779b97f4a7c15ULL;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
      const double x = 0.5 + 0.35 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / kPeriod) + 0.15 * (2 * u - 1);
      level[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(std::clamp<long long>(std::llround(kMaxLevel * x), 0, kMaxLevel));
      prefix[static_cast<std::size_t>(i) + 1] = prefix[static_cast<std::size_t>(i)] + level[static_cast<std::size_t>(i)];
    }
    for (int l = 0; l <= kMaxLevel; ++l) {
      std::uint16_t* row = &count_le[static_cast<std::size_t>(l) * (kPeriod + 1)];
      for (std::int64_t i = 0; i < kPeriod; ++i) row[i + 1] = static_cast<std::uint16_t>(row[i] + (level[static_cast<std::size_t>(i)] <= l ? 1 : 0));
    }
  }
  // Levels <= l in the cyclic range of r positions from s (0 <= s < kPeriod, 0 <= r <= kPeriod).
  std::int64_t RangeCount(int l, std::int64_t s, std::int64_t r) const {
    if (r == 0) return 0;
    const std::uint16_t* row = &count_le[static_cast<std::size_t>(l) * (kPeriod + 1)];
    if (s + r <= kPeriod) return row[s + r] - row[s];
    return (row[kPeriod] - row[s]) + row[s + r - kPeriod];
  }
  std::int64_t RangeSum(std::int64_t s, std::int64_t r) const {
    if (r == 0) return 0;
    if (s + r <= kPeriod) return prefix[static_cast<std::size_t>(s + r)] - prefix[static_cast<std::size_t>(s)];
    return (prefix[kPeriod] - prefix[static_cast<std::size_t>(s)]) + prefix[static_cast<std::size_t>(s + r - kPeriod)];
  }
};

const WaveTables& Wave() {
  static const WaveTables tables;
  return tables;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return -FloorDiv(-a, b); }
std::int64_t Mod(std::int64_t a, std::int64_t b) { return a - FloorDiv(a, b) * b; }

struct ProcSeries {
  FakeLabels labels;  // sorted by name
  std::int64_t interval_ms = 30'000;
  std::vector<std::pair<std::int64_t, std::int64_t>> present;  // sorted, merged
  double offset = 0, scale = 1;
  std::int64_t phase = 0;
  std::function<double(std::int64_t)> value;
};

// A run of consecutive samples k_first .. k_first + n - 1 (sample k is at k * interval_ms).
struct Piece {
  std::int64_t k_first = 0, n = 0;
};

// The samples of s in the window (lo_ms, hi_ms], in time order.
void WindowPieces(const ProcSeries& s, std::int64_t lo_ms, std::int64_t hi_ms, std::vector<Piece>* out) {
  out->clear();
  const std::int64_t iv = s.interval_ms;
  for (const auto& [from, to] : s.present) {
    if (to <= lo_ms || from > hi_ms) continue;
    const std::int64_t a = std::max(FloorDiv(lo_ms, iv) + 1, CeilDiv(from, iv));
    const std::int64_t b = std::min(FloorDiv(hi_ms, iv), CeilDiv(to, iv) - 1);
    if (a <= b) out->push_back({a, b - a + 1});
  }
}

// Window statistics of a wave series over its pieces, exact, without visiting the samples.
class WaveWindow {
 public:
  WaveWindow(const ProcSeries& s, const std::vector<Piece>& pieces) : s_(s), tables_(Wave()) {
    for (const Piece& p : pieces) {
      n_ += p.n;
      cycles_ += p.n / kPeriod;
      if (p.n % kPeriod != 0) partial_.push_back({Mod(p.k_first + s.phase, kPeriod), p.n % kPeriod});
    }
    if (!pieces.empty()) last_k_ = pieces.back().k_first + pieces.back().n - 1;
  }
  std::int64_t n() const { return n_; }
  double Value(int level) const { return s_.offset + s_.scale * level; }
  double Last() const { return Value(tables_.level[static_cast<std::size_t>(Mod(last_k_ + s_.phase, kPeriod))]); }
  double Sum() const {
    std::int64_t levels = cycles_ * tables_.prefix[kPeriod];
    for (const auto& [s, r] : partial_) levels += tables_.RangeSum(s, r);
    return s_.offset * static_cast<double>(n_) + s_.scale * static_cast<double>(levels);
  }
  // The k-th smallest value (0-based) of the window's samples.
  double Kth(std::int64_t k) const {
    if (s_.scale < 0) k = n_ - 1 - k;  // a decreasing map: the k-th smallest value has the (n-1-k)-th level
    int lo = 0, hi = kMaxLevel;
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      std::int64_t c = cycles_ * tables_.RangeCount(mid, 0, kPeriod);
      for (const auto& [s, r] : partial_) c += tables_.RangeCount(mid, s, r);
      if (c >= k + 1) hi = mid;
      else lo = mid + 1;
    }
    return Value(lo);
  }

 private:
  const ProcSeries& s_;
  const WaveTables& tables_;
  std::int64_t n_ = 0, cycles_ = 0, last_k_ = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> partial_;
};

// Prometheus's quantile over sorted-or-not values: rank q * (n - 1), linear between the neighbouring ranks.
template <typename KthFn>
double Quantile(double q, std::int64_t n, const KthFn& kth) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  const double rank = q * static_cast<double>(n - 1);
  const auto lo = static_cast<std::int64_t>(std::floor(rank));
  const std::int64_t hi = std::min(n - 1, lo + 1);
  const double w = rank - std::floor(rank);
  return kth(lo) * (1 - w) + kth(hi) * w;
}

// Prometheus's extrapolated increase (and rate) over the samples of a window (lo_ms, hi_ms]: the change between
// the first and last sample, counter resets added back, extrapolated towards the window's edges by at most half
// a sample interval (further only when the samples reach within 1.1 intervals of the edge), and for a counter
// not below zero. Worked number: 0, 10, 20 at 0 s, 30 s, 60 s in a 90 s window ending at 75 s -> 20 over 60 s,
// extended by 15 s at each end -> 30. NaN when fewer than two samples.
double ExtrapolatedIncrease(const std::vector<std::int64_t>& ts, const std::vector<double>& v, std::int64_t lo_ms,
                            std::int64_t hi_ms, bool rate) {
  if (v.size() < 2) return NAN;
  double result = v.back() - v.front();
  double last = 0;
  for (double x : v) {
    if (x < last) result += last;  // a counter reset
    last = x;
  }
  double to_start = static_cast<double>(ts.front() - lo_ms) / 1000;
  const double to_end = static_cast<double>(hi_ms - ts.back()) / 1000;
  const double sampled = static_cast<double>(ts.back() - ts.front()) / 1000;
  const double average = sampled / static_cast<double>(v.size() - 1);
  if (result > 0 && v.front() >= 0) to_start = std::min(to_start, sampled * (v.front() / result));
  const double threshold = average * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average / 2;
  interval += to_end < threshold ? to_end : average / 2;
  result *= interval / sampled;
  return rate ? result / (static_cast<double>(hi_ms - lo_ms) / 1000) : result;
}

// A window function over the samples of (lo_ms, hi_ms] in time order (non-empty). NaN: no result.
double Reduce(Func f, double q, const std::vector<std::int64_t>& ts, std::vector<double>& w, std::int64_t lo_ms,
              std::int64_t hi_ms) {
  switch (f) {
    case Func::kNone:
    case Func::kLast: return w.back();
    case Func::kMax: return *std::max_element(w.begin(), w.end());
    case Func::kMin: return *std::min_element(w.begin(), w.end());
    case Func::kCount: return static_cast<double>(w.size());
    case Func::kSum:
    case Func::kAvg: {
      double sum = 0;
      for (double x : w) sum += x;
      return f == Func::kSum ? sum : sum / static_cast<double>(w.size());
    }
    case Func::kQuantile: {
      std::sort(w.begin(), w.end());
      return Quantile(q, static_cast<std::int64_t>(w.size()), [&](std::int64_t k) { return w[static_cast<std::size_t>(k)]; });
    }
    case Func::kIncrease:
    case Func::kRate: return ExtrapolatedIncrease(ts, w, lo_ms, hi_ms, f == Func::kRate);
  }
  return NAN;
}

void AppendPoint(std::string* out, std::int64_t t, double v) {
  out->push_back('[');
  AppendTime(out, t);
  out->push_back(',');
  AppendValue(out, v);
  out->push_back(']');
}

// Served-bytes accounting: the handler's start, per server thread (a request is handled and written on one
// thread), read by the logger that httplib calls after writing the response.
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local bool t_request_started = false;

}  // namespace

std::string RecordedRequest::Param(const std::string& name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

std::string RecordedRequest::Header(const std::string& name) const {
  std::string n = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == n) return v;
  }
  return "";
}

struct FakePrometheus::Impl {
  Options options;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::vector<RecordedRequest> requests;
  int failures_left = 0;
  int failure_status = 503;
  std::optional<int> failure_retry_after;
  int html_status = 0;
  std::chrono::milliseconds latency{0};
  int in_flight = 0;
  int max_in_flight = 0;

  // The series, read concurrently by queries.
  mutable std::shared_mutex data_mu;
  std::vector<FakeSeries> series;
  std::vector<ProcSeries> procs;
  std::unordered_map<std::string, std::vector<std::uint32_t>> procs_by_name;

  std::atomic<std::int64_t> served_requests{0}, served_body{0}, served_wire{0}, served_busy_ns{0};
  std::atomic<std::int64_t> handled{0};  // handler returned; served_requests catches up once httplib has written

  // Sleeps d unless the server is stopping. True when the full time passed.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return !stop_cv.wait_for(lock, d, [&] { return stopping; });
  }

  static bool MatchesAll(const Expr& e, const FakeLabels& labels) {
    for (const Matcher& m : e.matchers) {
      if (!m.Matches(labels)) return false;
    }
    return true;
  }

  // Callers hold data_mu (shared).
  std::vector<const FakeSeries*> Select(const Expr& e) const {
    std::vector<const FakeSeries*> out;
    for (const FakeSeries& s : series) {
      if (MatchesAll(e, s.labels)) out.push_back(&s);
    }
    return out;
  }

  // Procedural series matching e, in the order they were added; candidates come from the name index when a
  // __name__ matcher is an equality or a literal alternation.
  std::vector<const ProcSeries*> SelectProc(const Expr& e) const {
    std::vector<const ProcSeries*> out;
    if (procs.empty()) return out;
    const Matcher* by_name = nullptr;
    for (const Matcher& m : e.matchers) {
      if (m.label == "__name__" && (m.op == MatchOp::kEq || (m.op == MatchOp::kRe && m.alternatives))) by_name = &m;
    }
    if (by_name == nullptr) {
      for (const ProcSeries& s : procs) {
        if (MatchesAll(e, s.labels)) out.push_back(&s);
      }
      return out;
    }
    std::vector<std::uint32_t> ids;
    auto add = [&](const std::string& name) {
      auto it = procs_by_name.find(name);
      if (it != procs_by_name.end()) ids.insert(ids.end(), it->second.begin(), it->second.end());
    };
    if (by_name->op == MatchOp::kEq) {
      add(by_name->value);
    } else {
      for (const std::string& name : *by_name->alternatives) add(name);
    }
    std::sort(ids.begin(), ids.end());
    for (std::uint32_t id : ids) {
      if (MatchesAll(e, procs[id].labels)) out.push_back(&procs[id]);
    }
    return out;
  }

  // *loaded: the samples the evaluation read (a window's, or 1).
  static bool EvalAt(const Expr& e, const FakeSeries& s, std::int64_t t, std::int64_t lookback, double* out,
                     std::int64_t* loaded) {
    *loaded = 1;
    if (e.func == Func::kNone) {
      auto it = std::upper_bound(s.ts.begin(), s.ts.end(), t);
      if (it == s.ts.begin()) return false;
      std::size_t i = static_cast<std::size_t>(it - s.ts.begin()) - 1;
      if (s.ts[i] <= t - lookback) return false;
      *out = s.values[i];
      return true;
    }
    auto lo = std::upper_bound(s.ts.begin(), s.ts.end(), t - e.window_ms);
    auto hi = std::upper_bound(s.ts.begin(), s.ts.end(), t);
    if (lo >= hi) return false;
    const std::vector<std::int64_t> ts(lo, hi);
    *loaded = static_cast<std::int64_t>(ts.size());
    std::vector<double> w(s.values.begin() + (lo - s.ts.begin()), s.values.begin() + (hi - s.ts.begin()));
    *out = Reduce(e.func, e.q, ts, w, t - e.window_ms, t);
    return !std::isnan(*out) || (e.func != Func::kIncrease && e.func != Func::kRate);
  }

  // A plain selector is the last sample within the lookback, like last_over_time(sel[lookback]).
  static bool EvalAt(const Expr& e, const ProcSeries& s, std::int64_t t, std::int64_t lookback, double* out,
                     std::int64_t* loaded, std::vector<Piece>* scratch) {
    *loaded = 1;
    const Func f = e.func == Func::kNone ? Func::kLast : e.func;
    WindowPieces(s, t - (e.func == Func::kNone ? lookback : e.window_ms), t, scratch);
    if (scratch->empty()) return false;
    const std::int64_t lo = t - (e.func == Func::kNone ? lookback : e.window_ms);
    if (s.value || f == Func::kIncrease || f == Func::kRate) {
      // Sample by sample: a generic function, or a counter function over the wave (which needs every reset).
      std::vector<std::int64_t> ts;
      std::vector<double> w;
      for (const Piece& p : *scratch) {
        for (std::int64_t k = p.k_first; k < p.k_first + p.n; ++k) {
          const std::int64_t at = k * s.interval_ms;
          const double v = s.value ? s.value(at) : s.offset + s.scale * FakePrometheus::WaveLevel(k + s.phase);
          if (std::isnan(v)) continue;
          ts.push_back(at);
          w.push_back(v);
        }
      }
      if (w.empty()) return false;
      if (e.func != Func::kNone) *loaded = static_cast<std::int64_t>(w.size());
      *out = Reduce(f, e.q, ts, w, lo, t);
      return !std::isnan(*out) || (f != Func::kIncrease && f != Func::kRate);
    }
    const WaveWindow w(s, *scratch);
    if (e.func != Func::kNone) *loaded = w.n();
    switch (f) {
      case Func::kNone:
      case Func::kLast: *out = w.Last(); break;
      case Func::kMax: *out = w.Kth(w.n() - 1); break;
      case Func::kMin: *out = w.Kth(0); break;
      case Func::kCount: *out = static_cast<double>(w.n()); break;
      case Func::kSum: *out = w.Sum(); break;
      case Func::kAvg: *out = w.Sum() / static_cast<double>(w.n()); break;
      case Func::kQuantile: *out = Quantile(e.q, w.n(), [&](std::int64_t k) { return w.Kth(k); }); break;
      case Func::kIncrease:
      case Func::kRate: break;  // handled sample by sample above
    }
    return true;
  }

  void Reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    served_body += static_cast<std::int64_t>(body.size());
    res.set_content(body, "application/json");
  }

  void HandleQuery(const RecordedRequest& rq, httplib::Response& res, bool range) {
    Expr e;
    std::string err;
    if (!ExprParser(rq.Param("query")).Parse(&e, &err)) return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"query\": " + err));
    std::vector<std::int64_t> times;
    if (range) {
      std::int64_t start = 0, end = 0, step = 0;
      if (!ParseTime(rq.Param("start"), &start)) return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"start\""));
      if (!ParseTime(rq.Param("end"), &end)) return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"end\""));
      if (!ParseStep(rq.Param("step"), &step) || step <= 0) {
        return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"));
      }
      if (end < start) return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"end\": end timestamp must not be before start time"));
      if ((end - start) / step + 1 > options.max_points_per_series) {
        return Reply(res, 400, ErrorBody("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"));
      }
      for (std::int64_t t = start; t <= end; t += step) times.push_back(t);
    } else {
      std::int64_t t = 0;
      std::string ts = rq.Param("time");
      if (ts.empty()) t = 1'700'000'000'000;
      else if (!ParseTime(ts, &t)) return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"time\""));
      times.push_back(t);
    }
    std::string body;
    {
      std::shared_lock<std::shared_mutex> lock(data_mu);
      const std::vector<const FakeSeries*> sel = Select(e);
      const std::vector<const ProcSeries*> psel = SelectProc(e);
      const auto matched = static_cast<std::int64_t>(sel.size() + psel.size());
      if (matched * static_cast<std::int64_t>(times.size()) > options.max_samples) {
        return Reply(res, 422, ErrorBody("execution", "query processing would load too many samples into memory in query execution"));
      }
      body = range ? "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                   : "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[";
      // Functions drop the metric name, except last_over_time (Prometheus keeps it there, as for an offset).
      const bool drop_name = e.func != Func::kNone && e.func != Func::kLast;
      // A series a function gives no value (increase of a single sample) is left out, as Prometheus does.
      bool first_series = true;
      std::string points;
      auto emit = [&](const FakeLabels& labels, bool drop) {
        if (!first_series) body.push_back(',');
        first_series = false;
        body += "{\"metric\":";
        if (drop) {
          FakeLabels l = labels;
          l.erase(std::remove_if(l.begin(), l.end(), [](const auto& kv) { return kv.first == "__name__"; }), l.end());
          AppendLabels(&body, l);
        } else {
          AppendLabels(&body, labels);
        }
        body += range ? ",\"values\":[" : ",\"value\":";
        body += points;
        if (range) body.push_back(']');
        body.push_back('}');
      };
      // Aggregation: per group and time, how many series had a point and their sum / min / max.
      struct Acc {
        std::int64_t n = 0;
        double sum = 0, min = 0, max = 0;
      };
      std::map<FakeLabels, std::vector<Acc>> groups;
      auto group_of = [&](const FakeLabels& labels) {
        FakeLabels g;
        for (const auto& kv : labels) {
          const bool listed = std::find(e.group.begin(), e.group.end(), kv.first) != e.group.end();
          if (e.without ? (!listed && kv.first != "__name__") : listed) g.push_back(kv);
        }
        return g;
      };
      std::vector<Piece> scratch;
      // Prometheus evaluates a function of a range selector series by series: the limit bounds one series'
      // window (plus the output so far), not series x window (checked against Prometheus 2.42).
      std::int64_t loaded = 0, peak_window = 0;
      auto visit = [&](const FakeLabels& labels, auto eval) {
        points.clear();
        std::size_t n = 0;
        std::vector<Acc>* acc = nullptr;
        if (e.agg != Agg::kNone) {
          acc = &groups[group_of(labels)];
          if (acc->empty()) acc->resize(times.size());
        }
        for (std::size_t i = 0; i < times.size(); ++i) {
          double v = 0;
          const bool got = eval(times[i], &v);
          peak_window = options.sum_function_windows ? peak_window + loaded : std::max(peak_window, loaded);
          if (!got) continue;
          if (acc != nullptr) {
            Acc& a = (*acc)[i];
            a.min = a.n == 0 ? v : std::min(a.min, v);
            a.max = a.n == 0 ? v : std::max(a.max, v);
            a.sum += v;
            ++a.n;
            continue;
          }
          if (n++ > 0) points.push_back(',');
          AppendPoint(&points, times[i], v);
        }
        if (n > 0) emit(labels, drop_name);
      };
      for (const FakeSeries* s : sel) {
        visit(s->labels, [&](std::int64_t t, double* v) { return EvalAt(e, *s, t, options.lookback_ms, v, &loaded); });
      }
      for (const ProcSeries* s : psel) {
        visit(s->labels, [&](std::int64_t t, double* v) { return EvalAt(e, *s, t, options.lookback_ms, v, &loaded, &scratch); });
      }
      if (e.func != Func::kNone && peak_window > options.max_samples) {
        return Reply(res, 422, ErrorBody("execution", "query processing would load too many samples into memory in query execution"));
      }
      for (const auto& [group, acc] : groups) {
        points.clear();
        std::size_t n = 0;
        for (std::size_t i = 0; i < times.size(); ++i) {
          const Acc& a = acc[i];
          if (a.n == 0) continue;
          double v = 0;
          switch (e.agg) {
            case Agg::kCount: v = static_cast<double>(a.n); break;
            case Agg::kSum: v = a.sum; break;
            case Agg::kMin: v = a.min; break;
            case Agg::kMax: v = a.max; break;
            case Agg::kAvg: v = a.sum / static_cast<double>(a.n); break;
            case Agg::kNone: break;
          }
          if (n++ > 0) points.push_back(',');
          AppendPoint(&points, times[i], v);
        }
        if (n > 0) emit(group, false);
      }
      body += "]}}";
    }
    Reply(res, 200, body);
  }

  void HandleSeries(const RecordedRequest& rq, httplib::Response& res) {
    std::vector<Expr> exprs;
    for (const auto& [k, v] : rq.params) {
      if (k != "match[]") continue;
      Expr e;
      std::string err;
      if (!ExprParser(v).Parse(&e, &err) || e.func != Func::kNone || e.agg != Agg::kNone) {
        return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"match[]\": " + err));
      }
      exprs.push_back(std::move(e));
    }
    if (exprs.empty()) return Reply(res, 400, ErrorBody("bad_data", "no match[] parameter provided"));
    std::int64_t start = INT64_MIN, end = INT64_MAX;
    if (!rq.Param("start").empty()) ParseTime(rq.Param("start"), &start);
    if (!rq.Param("end").empty()) ParseTime(rq.Param("end"), &end);
    std::string body = "{\"status\":\"success\",\"data\":[";
    {
      std::shared_lock<std::shared_mutex> lock(data_mu);
      bool first = true;
      for (const FakeSeries& s : series) {
        bool any = false;
        for (const Expr& e : exprs) any = any || MatchesAll(e, s.labels);
        auto it = std::lower_bound(s.ts.begin(), s.ts.end(), start);
        if (!any || it == s.ts.end() || *it > end) continue;
        if (!first) body.push_back(',');
        first = false;
        AppendLabels(&body, s.labels);
      }
      std::vector<const ProcSeries*> matched;
      for (const Expr& e : exprs) {
        std::vector<const ProcSeries*> m = SelectProc(e);
        matched.insert(matched.end(), m.begin(), m.end());
      }
      std::sort(matched.begin(), matched.end());
      matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
      std::vector<Piece> pieces;
      for (const ProcSeries* s : matched) {
        WindowPieces(*s, start == INT64_MIN ? start : start - 1, end, &pieces);
        if (pieces.empty()) continue;
        if (!first) body.push_back(',');
        first = false;
        AppendLabels(&body, s->labels);
      }
    }
    body += "]}";
    Reply(res, 200, body);
  }

  void HandleLabels(httplib::Response& res) {
    std::vector<std::string> names;
    {
      std::shared_lock<std::shared_mutex> lock(data_mu);
      for (const FakeSeries& s : series) {
        for (const auto& kv : s.labels) names.push_back(kv.first);
      }
      std::unordered_set<std::string> seen;
      for (const ProcSeries& s : procs) {
        for (const auto& kv : s.labels) {
          if (seen.insert(kv.first).second) names.push_back(kv.first);
        }
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string body = "{\"status\":\"success\",\"data\":[";
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) body.push_back(',');
      AppendJsonString(&body, names[i]);
    }
    body += "]}";
    Reply(res, 200, body);
  }

  // `body`: the request's body (POST bodies are read by the caller; see Start).
  void Handle(const httplib::Request& req, httplib::Response& res, const std::string& body_text) {
    t_request_start = std::chrono::steady_clock::now();
    t_request_started = true;
    RecordedRequest rq;
    rq.method = req.method;
    rq.path = req.path;
    for (const auto& [k, v] : req.params) rq.params.emplace_back(k, v);
    if (req.method == "POST" && req.get_header_value("Content-Type").find("application/x-www-form-urlencoded") == 0 &&
        rq.params.empty()) {
      std::string_view body = body_text;
      while (!body.empty()) {
        std::size_t amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        std::size_t eq = pair.find('=');
        rq.params.emplace_back(UrlDecode(pair.substr(0, eq)),
                               eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1)));
        if (amp == std::string_view::npos) break;
        body.remove_prefix(amp + 1);
      }
    }
    for (const auto& [k, v] : req.headers) rq.headers.emplace_back(Lower(k), v);

    int html = 0;
    bool fail = false;
    int fail_status = 0;
    std::optional<int> retry_after;
    bool over_limit = false;
    std::chrono::milliseconds lat{0};
    std::size_t record_index = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++in_flight;
      max_in_flight = std::max(max_in_flight, in_flight);
      html = html_status;
      if (failures_left > 0) {
        --failures_left;
        fail = true;
        fail_status = failure_status;
        retry_after = failure_retry_after;
      }
      over_limit = options.max_concurrency > 0 && in_flight > options.max_concurrency;
      lat = latency;
      record_index = requests.size();
      requests.push_back(rq);
    }
    Dispatch(rq, res, html, fail, fail_status, retry_after, over_limit, lat);
    ++handled;
    std::lock_guard<std::mutex> lock(mu);
    --in_flight;
    if (record_index < requests.size()) requests[record_index].response_status = res.status;
  }

  void Dispatch(const RecordedRequest& rq, httplib::Response& res, int html, bool fail, int fail_status,
                std::optional<int> retry_after, bool over_limit, std::chrono::milliseconds lat) {
    if (html != 0) {
      res.status = html;
      res.set_content("<html>\r\n<head><title>" + std::to_string(html) +
                          " Bad Gateway</title></head>\r\n<body>\r\n<center><h1>" + std::to_string(html) +
                          " Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n",
                      "text/html");
      return;
    }
    if (fail) {
      if (retry_after) res.set_header("Retry-After", std::to_string(*retry_after));
      return Reply(res, fail_status, ErrorBody(fail_status == 429 ? "too_many_requests" : "unavailable", "injected failure " + std::to_string(fail_status)));
    }
    if (over_limit) {
      res.set_header("Retry-After", "1");
      return Reply(res, 429, ErrorBody("too_many_requests", "too many concurrent queries"));
    }
    if (lat.count() > 0) {
      if (options.query_timeout.count() > 0 && lat > options.query_timeout) {
        Sleep(options.query_timeout);
        return Reply(res, 503, ErrorBody("timeout", "query timed out in expression evaluation"));
      }
      if (!Sleep(lat)) return Reply(res, 503, ErrorBody("unavailable", "server shutting down"));
    }
    if (rq.path == "/api/v1/query_range") return HandleQuery(rq, res, true);
    if (rq.path == "/api/v1/query") return HandleQuery(rq, res, false);
    if (rq.path == "/api/v1/series") return HandleSeries(rq, res);
    if (rq.path == "/api/v1/labels") return HandleLabels(res);
    Reply(res, 404, ErrorBody("not_found", "no such endpoint"));
  }
};

FakePrometheus::FakePrometheus() : impl_(std::make_unique<Impl>()) {}

FakePrometheus::~FakePrometheus() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

base::Result<std::unique_ptr<FakePrometheus>> FakePrometheus::Start(Options options) {
  std::unique_ptr<FakePrometheus> fake(new FakePrometheus());
  Impl* impl = fake->impl_.get();
  impl->options = options;
  impl->latency = options.latency;
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(24); };
  impl->server.set_keep_alive_timeout(1);
  // Called once the response is written (its body then as sent: compressed when the client accepted gzip).
  impl->server.set_logger([impl](const httplib::Request&, const httplib::Response& res) {
    std::int64_t wire = 17 + static_cast<std::int64_t>(res.body.size()) + 2;  // "HTTP/1.1 200 OK\r\n", body, blank line
    for (const auto& [k, v] : res.headers) wire += static_cast<std::int64_t>(k.size() + v.size() + 4);
    ++impl->served_requests;
    impl->served_wire += wire;
    if (t_request_started) {
      t_request_started = false;
      impl->served_busy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t_request_start).count();
    }
  });
  auto handler = [impl](const httplib::Request& req, httplib::Response& res) { impl->Handle(req, res, req.body); };
  // POST bodies through a content reader: httplib itself refuses url-encoded forms over 8 KiB (413), while
  // Prometheus takes up to 10 MB, and a query sharded by UUID is tens of kilobytes.
  auto post = [impl](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string body;
    reader([&body](const char* data, std::size_t n) {
      body.append(data, n);
      return body.size() <= (std::size_t{10} << 20);
    });
    impl->Handle(req, res, body);
  };
  for (const char* path : {"/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels"}) {
    impl->server.Get(path, handler);
    impl->server.Post(path, post);
  }
  impl->port = impl->server.bind_to_any_port("127.0.0.1");
  if (impl->port <= 0) return base::Unavailable("fake prometheus: cannot bind 127.0.0.1:0");
  impl->thread = std::thread([impl] { impl->server.listen_after_bind(); });
  for (int i = 0; i < 2000 && !impl->server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return fake;
}

int FakePrometheus::port() const { return impl_->port; }
std::string FakePrometheus::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void FakePrometheus::AddSeries(FakeLabels labels, std::vector<std::int64_t> timestamps_ms, std::vector<double> values) {
  FakeSeries s;
  std::sort(labels.begin(), labels.end());
  s.labels = std::move(labels);
  std::vector<std::size_t> idx(std::min(timestamps_ms.size(), values.size()));
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return timestamps_ms[a] < timestamps_ms[b]; });
  for (std::size_t i : idx) {
    s.ts.push_back(timestamps_ms[i]);
    s.values.push_back(values[i]);
  }
  std::unique_lock<std::shared_mutex> lock(impl_->data_mu);
  impl_->series.push_back(std::move(s));
}

void FakePrometheus::AddProceduralSeries(ProceduralSeries series) {
  std::vector<ProceduralSeries> one;
  one.push_back(std::move(series));
  AddProceduralSeries(std::move(one));
}

void FakePrometheus::AddProceduralSeries(std::vector<ProceduralSeries> many) {
  std::vector<ProcSeries> converted;
  converted.reserve(many.size());
  for (ProceduralSeries& in : many) {
    ProcSeries s;
    s.labels = std::move(in.labels);
    std::sort(s.labels.begin(), s.labels.end());
    s.interval_ms = std::max<std::int64_t>(1, in.interval_ms);
    std::sort(in.present.begin(), in.present.end());
    for (const auto& [from, to] : in.present) {
      if (to <= from) continue;
      if (!s.present.empty() && from <= s.present.back().second) {
        s.present.back().second = std::max(s.present.back().second, to);
      } else {
        s.present.emplace_back(from, to);
      }
    }
    s.offset = in.offset;
    s.scale = in.scale;
    s.phase = in.phase;
    s.value = std::move(in.value);
    converted.push_back(std::move(s));
  }
  if (!converted.empty()) (void)Wave();  // build the tables before the first query needs them
  std::unique_lock<std::shared_mutex> lock(impl_->data_mu);
  for (ProcSeries& s : converted) {
    const auto id = static_cast<std::uint32_t>(impl_->procs.size());
    for (const auto& [k, v] : s.labels) {
      if (k == "__name__") impl_->procs_by_name[v].push_back(id);
    }
    impl_->procs.push_back(std::move(s));
  }
}

std::size_t FakePrometheus::ProceduralSeriesCount() const {
  std::shared_lock<std::shared_mutex> lock(impl_->data_mu);
  return impl_->procs.size();
}

int FakePrometheus::WaveLevel(std::int64_t k) { return Wave().level[static_cast<std::size_t>(Mod(k, kWavePeriod))]; }

FakePrometheus::ServedStats FakePrometheus::Served() const {
  // A client has its answer a moment before httplib calls the logger that counts it: wait for that (briefly).
  for (int i = 0; i < 1000 && impl_->served_requests.load() < impl_->handled.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ServedStats out;
  out.requests = impl_->served_requests.load();
  out.body_bytes = impl_->served_body.load();
  out.wire_bytes = impl_->served_wire.load();
  out.busy_seconds = static_cast<double>(impl_->served_busy_ns.load()) / 1e9;
  return out;
}

void FakePrometheus::InjectFailures(int n, int http_status, std::optional<int> retry_after_seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->failures_left = n;
  impl_->failure_status = http_status;
  impl_->failure_retry_after = retry_after_seconds;
}

void FakePrometheus::ServeHtml(int http_status) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->html_status = http_status;
}

void FakePrometheus::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->latency = latency;
}

std::vector<RecordedRequest> FakePrometheus::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

void FakePrometheus::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->requests.clear();
  impl_->max_in_flight = 0;
  impl_->served_requests = 0;
  impl_->handled = 0;
  impl_->served_body = 0;
  impl_->served_wire = 0;
  impl_->served_busy_ns = 0;
}

int FakePrometheus::MaxInFlight() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->max_in_flight;
}

}  // namespace gpuwise::fakes
