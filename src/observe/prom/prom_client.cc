// libcurl adapter for the Prometheus HTTP API: retries, limits, chunking, sharding and stitching.
#include "observe/prom/prom_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "base/log.h"

namespace gpuwise::observe::prom {
namespace {

using base::Result;
using base::Status;

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "https://user:pw@host:9090/prefix" -> "https://host:9090/prefix": messages never carry credentials.
std::string RedactUrl(std::string_view url) {
  std::size_t scheme = url.find("://");
  std::size_t host_begin = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t path_begin = url.find('/', host_begin);
  std::string_view authority = url.substr(host_begin, path_begin == std::string_view::npos ? std::string_view::npos
                                                                                           : path_begin - host_begin);
  std::size_t at = authority.rfind('@');
  std::string out(url.substr(0, host_begin));
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  out += authority;
  if (path_begin != std::string_view::npos) {
    std::string_view rest = url.substr(path_begin);
    out += rest.substr(0, rest.find('?'));
  }
  return out;
}

void AppendFormValue(std::string* out, std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

class Form {
 public:
  Form& Add(std::string_view key, std::string_view value) {
    if (!body_.empty()) body_.push_back('&');
    AppendFormValue(&body_, key);
    body_.push_back('=');
    AppendFormValue(&body_, value);
    return *this;
  }
  const std::string& body() const { return body_; }

 private:
  std::string body_;
};

// The evaluation timeout sent with each query: the request timeout less a 5 s margin for the answer to
// arrive, at least 1 s ("105s" with the default 110 s).
std::string ServerTimeout(const PromClientOptions& o) {
  const auto ms = std::max<std::int64_t>(1000, o.request_timeout.count() - 5000);
  return FormatPromDuration(std::chrono::milliseconds(ms));
}

// Unix ms -> "1700000000.5" (exact decimal seconds, the form Prometheus accepts for time/start/end/step).
std::string FormatSeconds(std::int64_t ms) {
  std::string out;
  std::uint64_t abs_ms = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  if (ms < 0) out.push_back('-');
  out += std::to_string(abs_ms / 1000);
  std::uint64_t frac = abs_ms % 1000;
  if (frac != 0) {
    char buf[4] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                   static_cast<char>('0' + frac % 10), 0};
    std::string f(buf);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
  return out;
}

std::string FormatDouble(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string PromQuote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}


// A counting semaphore that bounds requests in flight.
class Gate {
 public:
  explicit Gate(int n) : free_(std::max(1, n)) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<std::int64_t> retry_after_ms;
};

struct WriteState {
  std::string* body;
  std::int64_t max_bytes;
  bool too_big = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* st = static_cast<WriteState*>(user);
  size_t n = size * nmemb;
  if (static_cast<std::int64_t>(st->body->size() + n) > st->max_bytes) {
    st->too_big = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  st->body->append(data, n);
  return n;
}

size_t ReadHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  size_t n = size * nmemb;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i) {
      char c = line[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != kName[i]) {
        match = false;
        break;
      }
    }
    if (match) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      std::int64_t seconds = 0;
      auto res = std::from_chars(v.data(), v.data() + v.size(), seconds);
      // Only delta-seconds; an HTTP-date falls back to our own backoff.
      if (res.ec == std::errc() && seconds >= 0) resp->retry_after_ms = seconds * 1000;
    }
  }
  if (line.rfind("HTTP/", 0) == 0) resp->retry_after_ms.reset();  // a new response (e.g. after 100)
  return n;
}

}  // namespace

struct PromClient::Impl {
  Impl(const PromClientOptions& o, base::Clock& c)
      : options(o), clock(c), gate(o.concurrency), rng(o.jitter_seed != 0 ? o.jitter_seed : std::random_device{}()) {
    base_url = o.base_url;
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    safe_base_url = RedactUrl(base_url);
  }
  ~Impl() {
    for (CURL* h : handles) curl_easy_cleanup(h);
  }

  const PromClientOptions& options;
  base::Clock& clock;
  std::string base_url;
  std::string safe_base_url;
  Gate gate;
  std::mutex mu;  // guards handles and rng
  std::vector<CURL*> handles;
  std::mt19937_64 rng;

  CURL* AcquireHandle() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!handles.empty()) {
        CURL* h = handles.back();
        handles.pop_back();
        curl_easy_reset(h);  // keeps the connection cache: keep-alive across requests
        return h;
      }
    }
    return curl_easy_init();
  }
  void ReleaseHandle(CURL* h) {
    std::lock_guard<std::mutex> lock(mu);
    handles.push_back(h);
  }

  std::chrono::milliseconds Backoff(int retry, std::optional<std::int64_t> retry_after_ms) {
    if (retry_after_ms) {
      return std::min(std::chrono::milliseconds(*retry_after_ms), options.max_retry_after);
    }
    double d = static_cast<double>(options.initial_backoff.count());
    for (int i = 0; i < retry && d < static_cast<double>(options.max_backoff.count()); ++i) d *= 2;
    d = std::min(d, static_cast<double>(options.max_backoff.count()));
    std::lock_guard<std::mutex> lock(mu);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(d * jitter(rng)));
  }

  // Never let a secret through, whatever a server or library put into a message.
  Status Scrub(Status s) const {
    if (s.ok()) return s;
    std::string m = s.message();
    for (const std::string* secret : {&options.bearer_token, &options.basic_auth_password}) {
      if (secret->empty()) continue;
      for (std::size_t p = m.find(*secret); p != std::string::npos; p = m.find(*secret, p)) {
        std::string red = base::RedactSecret(*secret);
        m.replace(p, secret->size(), red);
        p += red.size();
      }
    }
    return Status(s.code(), std::move(m));
  }

  // One HTTP exchange. Transport failures are a Status; any HTTP status is a response.
  Result<HttpResponse> Perform(const std::string& path, const std::string& form) {
    GlobalCurlInit();
    const std::string url = base_url + path;
    const std::string safe_url = safe_base_url + path;
    CURL* h = AcquireHandle();
    if (h == nullptr) return base::Internal("curl_easy_init failed");
    HttpResponse resp;
    WriteState ws{&resp.body, options.max_body_bytes};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!options.bearer_token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + options.bearer_token).c_str());
    }
    for (const auto& [k, v] : options.extra_headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());

    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    // Prometheus compresses with gzip; asking only for gzip keeps decoding cheap on our side.
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must not carry the token elsewhere
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ws);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &ReadHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.insecure_skip_verify ? 0L : 2L);
    if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
    if (!options.basic_auth_user.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(h, CURLOPT_USERNAME, options.basic_auth_user.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, options.basic_auth_password.c_str());
    }

    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_slist_free_all(headers);
    ReleaseHandle(h);
    if (rc == CURLE_OK) return resp;

    std::string detail = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    std::string where = "POST " + safe_url + ": ";
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return base::DeadlineExceeded(where + "timed out after " +
                                      std::to_string(options.request_timeout.count()) + " ms (" + detail + ")");
      case CURLE_WRITE_ERROR:
        if (ws.too_big) {
          return base::ResourceExhausted(where + "response body exceeds max_body_bytes=" +
                                         std::to_string(options.max_body_bytes) +
                                         "; narrow the query or shorten the range");
        }
        break;
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
        return Status(base::Code::kFailedPrecondition, where + "TLS error: " + detail);
      default:
        break;
    }
    return base::Unavailable(where + "cannot reach Prometheus: " + detail);
  }

  static bool Retryable(const Status& s, long http_status) {
    if (http_status == 429 || http_status >= 500) return true;
    return http_status == 0 && s.code() == base::Code::kUnavailable;  // connection-level failure
  }

  // Maps a non-2xx answer to a Status carrying Prometheus's own error text when it sent one.
  Status HttpError(const HttpResponse& r, const std::string& safe_url) {
    std::string where = "POST " + safe_url + ": HTTP " + std::to_string(r.status) + ": ";
    Status prom = DecodeErrorResponse(r.body);
    base::Code code;
    if (r.status == 401 || r.status == 403) code = base::Code::kPermissionDenied;
    else if (r.status == 404) code = base::Code::kNotFound;
    else if (r.status == 429) code = base::Code::kResourceExhausted;
    else if (r.status >= 500) code = base::Code::kUnavailable;
    else code = base::Code::kInvalidArgument;
    if (!prom.ok()) {
      // Prometheus's errorType refines the class (timeout, too many samples); HTTP auth codes win.
      if (r.status == 401 || r.status == 403 || r.status == 429 || r.status == 404 ||
          (r.status >= 500 && prom.code() == base::Code::kInvalidArgument)) {
        return Status(code, where + prom.message());
      }
      return Status(prom.code(), where + prom.message());
    }
    std::string snippet = SanitizeSnippet(r.body, 100);
    return Status(code, where + (snippet.empty() ? std::string("(empty body)") : "\"" + snippet + "\""));
  }

  // POST with retries; returns the body of a 2xx answer.
  Result<std::string> Call(const std::string& path, const std::string& form, std::atomic<int>* requests) {
    const std::string safe_url = safe_base_url + path;
    Status last;
    int attempts = 0;
    for (int attempt = 0; attempt <= std::max(0, options.max_retries); ++attempt) {
      gate.Acquire();
      Result<HttpResponse> r = Perform(path, form);
      gate.Release();
      ++attempts;
      if (requests != nullptr) ++*requests;
      std::optional<std::int64_t> retry_after;
      long http_status = 0;
      if (r.ok()) {
        if (r->status >= 200 && r->status < 300) return std::move(r->body);
        http_status = r->status;
        retry_after = r->retry_after_ms;
        last = HttpError(*r, safe_url);
      } else {
        last = r.status();
      }
      if (!Retryable(last, http_status) || attempt == options.max_retries) break;
      std::chrono::milliseconds delay = Backoff(attempt, retry_after);
      LOG_DEBUG << "prometheus: retrying after " << delay.count() << " ms: " << Scrub(last).message();
      clock.SleepFor(delay);
    }
    if (attempts > 1) last = last.Annotate("giving up after " + std::to_string(attempts) + " attempts");
    return Scrub(last);
  }
};

PromClient::PromClient(PromClientOptions options, base::Clock& clock)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_, clock)) {}

PromClient::~PromClient() = default;

namespace {
std::string QueryContext(std::string_view promql) { return "query `" + SanitizeSnippet(promql, 200) + "`"; }
}  // namespace

Result<QueryResponse> PromClient::Query(std::string_view promql, std::int64_t time_ms) {
  Form form;
  // The server stops at min(timeout, --query.timeout), so it answers "query timed out" before our client
  // gives up on the connection.
  form.Add("query", promql).Add("time", FormatSeconds(time_ms)).Add("timeout", ServerTimeout(options_));
  Result<std::string> body = impl_->Call("/api/v1/query", form.body(), nullptr);
  if (!body.ok()) return body.status().Annotate(QueryContext(promql));
  Result<QueryResponse> r = DecodeQueryResponse(*body);
  if (!r.ok()) return r.status().Annotate(QueryContext(promql));
  return r;
}

Result<MatrixResult> PromClient::QueryRange(std::string_view promql, std::int64_t start_ms, std::int64_t end_ms,
                                            std::chrono::milliseconds step) {
  RangeQuery q;
  q.promql = std::string(promql);
  q.start_ms = start_ms;
  q.end_ms = end_ms;
  q.step = step;
  return QueryRange(q);
}

Result<MatrixResult> PromClient::QueryRange(const RangeQuery& query) {
  const std::int64_t step_ms = query.step.count();
  const std::int64_t shard_count = std::max<std::int64_t>(1, static_cast<std::int64_t>(query.shards.size()));
  ASSIGN_OR_RETURN(RangePlan plan, PlanRange(query.start_ms, query.end_ms, step_ms, query.estimated_series,
                                             shard_count, options_.limits));
  // One promql per shard.
  std::vector<std::string> promqls;
  auto substitute = [&](std::string_view matcher) {
    std::string q = query.promql;
    for (std::size_t p = q.find(kShardPlaceholder); p != std::string::npos; p = q.find(kShardPlaceholder, p)) {
      q.replace(p, kShardPlaceholder.size(), matcher);
      p += matcher.size();
    }
    return q;
  };
  if (query.shards.empty()) {
    promqls.push_back(substitute(""));
  } else {
    for (const std::string& s : query.shards) promqls.push_back(substitute(s));
  }

  struct Task {
    std::size_t shard;
    RangeChunk chunk;
  };
  std::vector<Task> tasks;
  for (std::size_t s = 0; s < promqls.size(); ++s) {
    for (const RangeChunk& c : plan.chunks) tasks.push_back({s, c});
  }
  std::vector<Status> statuses(tasks.size());
  std::vector<Matrix> parts(tasks.size());
  std::vector<std::vector<std::string>> warnings(tasks.size());
  std::atomic<int> requests{0};

  // One chunk; on the server's "too many samples" the chunk is halved (our estimate was low).
  std::function<Status(const std::string&, RangeChunk, Matrix*, std::vector<std::string>*)> run_chunk =
      [&](const std::string& promql, RangeChunk c, Matrix* out, std::vector<std::string>* warns) -> Status {
    Form form;
    form.Add("query", promql)
        .Add("start", FormatSeconds(c.start_ms))
        .Add("end", FormatSeconds(c.end_ms))
        .Add("step", FormatSeconds(step_ms))
        .Add("timeout", ServerTimeout(options_));
    Result<std::string> body = impl_->Call("/api/v1/query_range", form.body(), &requests);
    if (!body.ok()) {
      std::int64_t points = (c.end_ms - c.start_ms) / step_ms + 1;
      if (IsTooManySamples(body.status()) && points > 1) {
        std::int64_t half = points / 2;
        RangeChunk first{c.start_ms, c.start_ms + (half - 1) * step_ms};
        RangeChunk second{c.start_ms + half * step_ms, c.end_ms};
        LOG_INFO << "prometheus: too many samples for " << points << " points; splitting the chunk";
        Matrix a, b;
        RETURN_IF_ERROR(run_chunk(promql, first, &a, warns));
        RETURN_IF_ERROR(run_chunk(promql, second, &b, warns));
        std::vector<Matrix> both;
        both.push_back(std::move(a));
        both.push_back(std::move(b));
        *out = StitchMatrices(std::move(both));
        return Status::Ok();
      }
      return body.status();
    }
    Result<QueryResponse> r = DecodeQueryResponse(*body);
    if (!r.ok()) return r.status();
    if (r->result_type != ResultType::kMatrix) {
      return base::InvalidArgument("query_range answered with a non-matrix result");
    }
    *out = std::move(r->matrix);
    for (auto& w : r->warnings) warns->push_back(std::move(w));
    return Status::Ok();
  };

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      std::size_t i = next++;
      if (i >= tasks.size() || failed.load()) return;
      statuses[i] = run_chunk(promqls[tasks[i].shard], tasks[i].chunk, &parts[i], &warnings[i]);
      if (!statuses[i].ok()) failed = true;
    }
  };
  std::size_t workers = std::min<std::size_t>(tasks.size(), static_cast<std::size_t>(std::max(1, options_.concurrency)));
  if (workers <= 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
  }
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (!statuses[i].ok()) {
      const Task& t = tasks[i];
      return statuses[i].Annotate(QueryContext(promqls[t.shard]) + " chunk [" + FormatSeconds(t.chunk.start_ms) +
                                  ", " + FormatSeconds(t.chunk.end_ms) + "]");
    }
  }
  MatrixResult out;
  out.matrix = StitchMatrices(std::move(parts));
  for (auto& ws : warnings) {
    for (auto& w : ws) {
      if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end()) out.warnings.push_back(std::move(w));
    }
  }
  out.requests = requests.load();
  return out;
}

Result<SeriesResponse> PromClient::Series(const std::vector<std::string>& matchers, std::int64_t start_ms,
                                          std::int64_t end_ms) {
  if (matchers.empty()) return base::InvalidArgument("series: at least one match[] selector is required");
  Form form;
  for (const std::string& m : matchers) form.Add("match[]", m);
  form.Add("start", FormatSeconds(start_ms)).Add("end", FormatSeconds(end_ms));
  ASSIGN_OR_RETURN(std::string body, impl_->Call("/api/v1/series", form.body(), nullptr));
  return DecodeSeriesResponse(body);
}

Result<LabelsResponse> PromClient::Labels(const std::vector<std::string>& matchers,
                                          std::optional<std::int64_t> start_ms, std::optional<std::int64_t> end_ms) {
  Form form;
  for (const std::string& m : matchers) form.Add("match[]", m);
  if (start_ms) form.Add("start", FormatSeconds(*start_ms));
  if (end_ms) form.Add("end", FormatSeconds(*end_ms));
  ASSIGN_OR_RETURN(std::string body, impl_->Call("/api/v1/labels", form.body(), nullptr));
  return DecodeLabelsResponse(body);
}

// ---- planning ----

Result<RangePlan> PlanRange(std::int64_t start_ms, std::int64_t end_ms, std::int64_t step_ms,
                            std::int64_t estimated_series, std::int64_t shards, const RangeLimits& limits) {
  if (step_ms <= 0) return base::InvalidArgument("query_range step must be positive, got " + std::to_string(step_ms) + " ms");
  if (end_ms < start_ms) return base::InvalidArgument("query_range end is before start");
  if (limits.max_points_per_series < 1 || limits.max_samples < 1) {
    return base::InvalidArgument("range limits must be positive");
  }
  shards = std::max<std::int64_t>(1, shards);
  RangePlan plan;
  if (estimated_series > limits.max_samples) {
    plan.min_shards = (estimated_series + limits.max_samples - 1) / limits.max_samples;
  }
  if (shards < plan.min_shards) {
    return base::ResourceExhausted("an estimated " + std::to_string(estimated_series) +
                                   " series at a single step exceed max_samples=" + std::to_string(limits.max_samples) +
                                   "; split the query into at least " + std::to_string(plan.min_shards) +
                                   " shards (label matchers, e.g. per hostname or gpu), got " + std::to_string(shards));
  }
  plan.points_per_chunk = limits.max_points_per_series;
  if (estimated_series > 0) {
    std::int64_t per_shard = (estimated_series + shards - 1) / shards;
    plan.points_per_chunk = std::min(plan.points_per_chunk, std::max<std::int64_t>(1, limits.max_samples / per_shard));
  }
  const std::int64_t total_points = (end_ms - start_ms) / step_ms + 1;
  const std::int64_t chunk_count = (total_points + plan.points_per_chunk - 1) / plan.points_per_chunk;
  constexpr std::int64_t kMaxChunks = 1'000'000;
  if (chunk_count > kMaxChunks) {
    return base::InvalidArgument("query_range would need " + std::to_string(chunk_count) +
                                 " requests; use a larger step or a shorter range");
  }
  plan.chunks.reserve(static_cast<std::size_t>(chunk_count));
  for (std::int64_t k = 0; k < chunk_count; ++k) {
    std::int64_t s = start_ms + k * plan.points_per_chunk * step_ms;
    std::int64_t e = std::min(end_ms, s + (plan.points_per_chunk - 1) * step_ms);
    plan.chunks.push_back({s, e});
  }
  return plan;
}

// ---- builders ----

std::string FormatPromDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  struct Unit {
    std::int64_t ms;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const Unit& u : kUnits) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

std::string EqualMatcher(std::string_view label, std::string_view value) {
  return std::string(label) + "=" + PromQuote(value);
}

std::string BuildSelector(std::string_view metric, const std::vector<std::string>& matchers) {
  std::string out(metric);
  if (matchers.empty() && !metric.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += matchers[i];
  }
  out += '}';
  return out;
}

std::vector<std::string> RegexShards(std::string_view label, const std::vector<std::string>& values,
                                     std::size_t shard_count) {
  std::vector<std::string> out;
  if (values.empty()) return out;
  shard_count = std::clamp<std::size_t>(shard_count, 1, values.size());
  std::size_t per = (values.size() + shard_count - 1) / shard_count;
  for (std::size_t i = 0; i < values.size(); i += per) {
    std::string re;
    for (std::size_t j = i; j < std::min(values.size(), i + per); ++j) {
      if (j > i) re += '|';
      for (char c : values[j]) {
        if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) re += '\\';
        re += c;
      }
    }
    out.push_back(std::string(label) + "=~" + PromQuote(re));
  }
  return out;
}

namespace {
std::string OverTime(std::string_view fn, std::string_view selector, std::chrono::milliseconds window) {
  return std::string(fn) + "(" + std::string(selector) + "[" + FormatPromDuration(window) + "])";
}
}  // namespace

std::string QuantileOverTime(double q, std::string_view selector, std::chrono::milliseconds window) {
  return "quantile_over_time(" + FormatDouble(q) + ", " + std::string(selector) + "[" + FormatPromDuration(window) + "])";
}
std::string MaxOverTime(std::string_view selector, std::chrono::milliseconds window) {
  return OverTime("max_over_time", selector, window);
}
std::string AvgOverTime(std::string_view selector, std::chrono::milliseconds window) {
  return OverTime("avg_over_time", selector, window);
}
std::string CountOverTime(std::string_view selector, std::chrono::milliseconds window) {
  return OverTime("count_over_time", selector, window);
}
std::string PresenceQuery(std::string_view selector, std::chrono::milliseconds scrape_interval) {
  return CountOverTime(selector, scrape_interval);
}

// ---- stitching and gaps ----

Matrix StitchMatrices(std::vector<Matrix> parts) {
  std::map<prom::Labels, Series> by_labels;
  for (Matrix& part : parts) {
    for (Series& s : part) {
      auto [it, inserted] = by_labels.try_emplace(s.labels);
      Series& dst = it->second;
      if (inserted) {
        dst = std::move(s);
        continue;
      }
      dst.timestamps_ms.insert(dst.timestamps_ms.end(), s.timestamps_ms.begin(), s.timestamps_ms.end());
      dst.values.insert(dst.values.end(), s.values.begin(), s.values.end());
    }
  }
  Matrix out;
  out.reserve(by_labels.size());
  for (auto& entry : by_labels) {
    Series& s = entry.second;  // a reference, not a structured binding: lambdas below capture it
    bool increasing = true;
    for (std::size_t i = 1; i < s.timestamps_ms.size() && increasing; ++i) {
      increasing = s.timestamps_ms[i] > s.timestamps_ms[i - 1];
    }
    if (!increasing) {
      // Overlapping pieces: order by time (stable, so the first piece wins a tie) and drop duplicates.
      std::vector<std::size_t> idx(s.timestamps_ms.size());
      for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        return s.timestamps_ms[a] < s.timestamps_ms[b];
      });
      Series sorted;
      sorted.labels = s.labels;
      for (std::size_t i : idx) {
        if (!sorted.timestamps_ms.empty() && sorted.timestamps_ms.back() == s.timestamps_ms[i]) continue;
        sorted.timestamps_ms.push_back(s.timestamps_ms[i]);
        sorted.values.push_back(s.values[i]);
      }
      s = std::move(sorted);
    }
    out.push_back(std::move(s));
  }
  return out;
}

namespace {
prom::Labels WithoutName(const prom::Labels& labels) {
  prom::Labels out;
  out.reserve(labels.size());
  for (const auto& kv : labels) {
    if (kv.first != "__name__") out.push_back(kv);
  }
  return out;
}
}  // namespace

Matrix DropStalePoints(const Matrix& raw, const Matrix& presence, std::int64_t* dropped) {
  std::map<prom::Labels, const Series*> present;
  for (const Series& p : presence) present.emplace(WithoutName(p.labels), &p);
  std::int64_t n_dropped = 0;
  Matrix out;
  for (const Series& s : raw) {
    auto it = present.find(WithoutName(s.labels));
    Series kept;
    kept.labels = s.labels;
    if (it != present.end()) {
      const Series& p = *it->second;
      std::size_t j = 0;
      for (std::size_t i = 0; i < s.timestamps_ms.size(); ++i) {
        const std::int64_t t = s.timestamps_ms[i];
        while (j < p.timestamps_ms.size() && p.timestamps_ms[j] < t) ++j;
        if (j < p.timestamps_ms.size() && p.timestamps_ms[j] == t && p.values[j] > 0) {
          kept.timestamps_ms.push_back(t);
          kept.values.push_back(s.values[i]);
        }
      }
    }
    n_dropped += static_cast<std::int64_t>(s.timestamps_ms.size() - kept.timestamps_ms.size());
    if (!kept.timestamps_ms.empty()) out.push_back(std::move(kept));
  }
  if (dropped != nullptr) *dropped = n_dropped;
  return out;
}

bool IsTooManySamples(const Status& s) {
  return s.code() == base::Code::kResourceExhausted && s.message().find("too many samples") != std::string::npos;
}

}  // namespace gpuwise::observe::prom
