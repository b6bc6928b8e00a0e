// Fake Prometheus server (cpp-httplib): a tiny selector evaluator plus Prometheus's limits and errors.
#include "fakes/fake_prometheus.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

namespace gpuwise::fakes {
namespace {

struct FakeSeries {
  FakeLabels labels;  // sorted by name
  std::vector<std::int64_t> ts;
  std::vector<double> values;
};

enum class MatchOp { kEq, kNe, kRe, kNre };

struct Matcher {
  std::string label;
  MatchOp op = MatchOp::kEq;
  std::string value;
  std::regex re;
  bool Matches(const FakeLabels& labels) const {
    std::string v;
    for (const auto& [k, val] : labels) {
      if (k == label) v = val;
    }
    switch (op) {
      case MatchOp::kEq: return v == value;
      case MatchOp::kNe: return v != value;
      case MatchOp::kRe: return std::regex_match(v, re);
      case MatchOp::kNre: return !std::regex_match(v, re);
    }
    return false;
  }
};

enum class Func { kNone, kMax, kAvg, kCount, kQuantile };

struct Expr {
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
    static const std::map<std::string, Func> kFuncs = {{"max_over_time", Func::kMax},
                                                       {"avg_over_time", Func::kAvg},
                                                       {"count_over_time", Func::kCount},
                                                       {"quantile_over_time", Func::kQuantile}};
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
    SkipWs();
    if (i_ != s_.size()) return Fail(err, "unexpected trailing characters (the fake evaluates selectors only)");
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
          try {
            m.re = std::regex(m.value, std::regex::ECMAScript);
          } catch (const std::regex_error&) {
            return Fail(err, "bad regex");
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

// One evaluated output series.
struct OutSeries {
  const FakeLabels* labels;
  bool drop_name;
  std::vector<std::pair<std::int64_t, double>> points;
};

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
  std::vector<FakeSeries> series;
  std::vector<RecordedRequest> requests;
  int failures_left = 0;
  int failure_status = 503;
  std::optional<int> failure_retry_after;
  int html_status = 0;
  std::chrono::milliseconds latency{0};
  int in_flight = 0;
  int max_in_flight = 0;

  // Sleeps d unless the server is stopping. True when the full time passed.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return !stop_cv.wait_for(lock, d, [&] { return stopping; });
  }

  std::vector<const FakeSeries*> Select(const Expr& e) {
    std::vector<const FakeSeries*> out;
    for (const FakeSeries& s : series) {
      bool ok = true;
      for (const Matcher& m : e.matchers) ok = ok && m.Matches(s.labels);
      if (ok) out.push_back(&s);
    }
    return out;
  }

  static bool EvalAt(const Expr& e, const FakeSeries& s, std::int64_t t, std::int64_t lookback, double* out) {
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
    std::size_t a = static_cast<std::size_t>(lo - s.ts.begin()), b = static_cast<std::size_t>(hi - s.ts.begin());
    std::vector<double> w(s.values.begin() + static_cast<std::ptrdiff_t>(a), s.values.begin() + static_cast<std::ptrdiff_t>(b));
    switch (e.func) {
      case Func::kMax: *out = *std::max_element(w.begin(), w.end()); break;
      case Func::kAvg: {
        double sum = 0;
        for (double x : w) sum += x;
        *out = sum / static_cast<double>(w.size());
        break;
      }
      case Func::kCount: *out = static_cast<double>(w.size()); break;
      case Func::kQuantile: {
        std::sort(w.begin(), w.end());
        double rank = e.q * static_cast<double>(w.size() - 1);
        std::size_t lo_i = static_cast<std::size_t>(std::floor(rank));
        std::size_t hi_i = std::min(w.size() - 1, lo_i + 1);
        double frac = rank - static_cast<double>(lo_i);
        *out = w[lo_i] * (1 - frac) + w[hi_i] * frac;
        break;
      }
      case Func::kNone: break;
    }
    return true;
  }

  void Reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
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
      std::lock_guard<std::mutex> lock(mu);
      std::vector<const FakeSeries*> sel = Select(e);
      if (static_cast<std::int64_t>(sel.size()) * static_cast<std::int64_t>(times.size()) > options.max_samples) {
        return Reply(res, 422, ErrorBody("execution", "query processing would load too many samples into memory in query execution"));
      }
      body = range ? "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                   : "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[";
      bool first_series = true;
      for (const FakeSeries* s : sel) {
        FakeLabels labels = s->labels;
        if (e.func != Func::kNone) {
          labels.erase(std::remove_if(labels.begin(), labels.end(), [](const auto& kv) { return kv.first == "__name__"; }),
                       labels.end());
        }
        std::string points;
        std::size_t n = 0;
        for (std::int64_t t : times) {
          double v = 0;
          if (!EvalAt(e, *s, t, options.lookback_ms, &v)) continue;
          if (n++ > 0) points.push_back(',');
          points.push_back('[');
          AppendTime(&points, t);
          points.push_back(',');
          AppendValue(&points, v);
          points.push_back(']');
        }
        if (n == 0) continue;
        if (!first_series) body.push_back(',');
        first_series = false;
        body += "{\"metric\":";
        AppendLabels(&body, labels);
        body += range ? ",\"values\":[" : ",\"value\":";
        body += points;
        if (range) body.push_back(']');
        body.push_back('}');
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
      if (!ExprParser(v).Parse(&e, &err) || e.func != Func::kNone) {
        return Reply(res, 400, ErrorBody("bad_data", "invalid parameter \"match[]\": " + err));
      }
      exprs.push_back(std::move(e));
    }
    if (exprs.empty()) return Reply(res, 400, ErrorBody("bad_data", "no match[] parameter provided"));
    std::int64_t start = INT64_MIN, end = INT64_MAX;
    if (!rq.Param("start").empty()) ParseTime(rq.Param("start"), &start);
    if (!rq.Param("end").empty()) ParseTime(rq.Param("end"), &end);
    std::string body = "{\"status\":\"success\",\"data\":[";
    std::lock_guard<std::mutex> lock(mu);
    bool first = true;
    for (const FakeSeries& s : series) {
      bool any = false;
      for (const Expr& e : exprs) {
        bool ok = true;
        for (const Matcher& m : e.matchers) ok = ok && m.Matches(s.labels);
        any = any || ok;
      }
      auto it = std::lower_bound(s.ts.begin(), s.ts.end(), start);
      if (!any || it == s.ts.end() || *it > end) continue;
      if (!first) body.push_back(',');
      first = false;
      AppendLabels(&body, s.labels);
    }
    body += "]}";
    Reply(res, 200, body);
  }

  void HandleLabels(httplib::Response& res) {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const FakeSeries& s : series) {
        for (const auto& kv : s.labels) names.push_back(kv.first);
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

  void Handle(const httplib::Request& req, httplib::Response& res) {
    RecordedRequest rq;
    rq.method = req.method;
    rq.path = req.path;
    for (const auto& [k, v] : req.params) rq.params.emplace_back(k, v);
    if (req.method == "POST" && req.get_header_value("Content-Type").find("application/x-www-form-urlencoded") == 0 &&
        rq.params.empty()) {
      std::string_view body = req.body;
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
  auto handler = [impl](const httplib::Request& req, httplib::Response& res) { impl->Handle(req, res); };
  for (const char* path : {"/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels"}) {
    impl->server.Get(path, handler);
    impl->server.Post(path, handler);
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
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->series.push_back(std::move(s));
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
}

int FakePrometheus::MaxInFlight() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->max_in_flight;
}

}  // namespace gpuwise::fakes
