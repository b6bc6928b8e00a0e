// libcurl adapter for the Kubernetes REST API: transport (TLS, credentials, proxy), a token-bucket rate limiter,
// retries, LIST pagination, the WATCH stream decoder, and discovery.
#include "observe/kube/kube_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "base/log.h"
#include "observe/kube/credentials.h"

namespace gpuwise::observe::kube {
namespace {

using base::Code;
using base::Result;
using base::Status;
using nlohmann::json;

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

ResourceType MakeType(std::string resource, std::string kind, bool namespaced, std::vector<std::string> verbs) {
  ResourceType t;
  t.version = "v1";
  t.resource = std::move(resource);
  t.kind = std::move(kind);
  t.namespaced = namespaced;
  t.verbs = std::move(verbs);
  return t;
}

// HTTP status -> Status code (the map in base/status.h).
Code CodeForHttp(long status) {
  if (status == 401 || status == 403) return Code::kPermissionDenied;
  if (status == 404) return Code::kNotFound;
  if (status == 409) return Code::kAborted;
  if (status == 410) return Code::kOutOfRange;
  if (status == 429) return Code::kResourceExhausted;
  if (status >= 500) return Code::kUnavailable;
  if (status == 400 || status == 405 || status == 406 || status == 415 || status == 422) {
    return Code::kInvalidArgument;
  }
  return Code::kInternal;
}

const char* HttpReason(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Percent-encodes everything but RFC 3986 unreserved characters (query values and path segments).
std::string Escape(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class Query {
 public:
  Query& Add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? '?' : '&';
    text_ += Escape(key);
    text_ += '=';
    text_ += Escape(value);
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// "/api/v1/namespaces/ml/pods/x", "/apis/apps/v1/deployments".
std::string ResourcePath(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::string p = type.group.empty() ? "/api/" + type.version : "/apis/" + type.group + "/" + type.version;
  if (type.namespaced && !ns.empty()) p += "/namespaces/" + Escape(ns);
  p += "/" + type.resource;
  if (!name.empty()) p += "/" + Escape(name);
  return p;
}

// "FooList" -> "Foo".
std::string ItemKind(const json& list, const ResourceType& type) {
  const auto it = list.find("kind");
  if (it != list.end() && it->is_string()) {
    const std::string& k = it->get_ref<const std::string&>();
    if (k.size() > 4 && k.ends_with("List")) return k.substr(0, k.size() - 4);
  }
  return type.kind;
}

void FillTypeMeta(json& obj, const std::string& api_version, const std::string& kind) {
  if (!obj.is_object()) return;
  if (!obj.contains("apiVersion") && !api_version.empty()) obj["apiVersion"] = api_version;
  if (!obj.contains("kind") && !kind.empty()) obj["kind"] = kind;
}

std::string StringAt(const json& j, std::string_view key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string MetaResourceVersion(const json& obj) {
  if (!obj.is_object()) return "";
  const auto meta = obj.find("metadata");
  return meta == obj.end() ? "" : StringAt(*meta, "resourceVersion");
}

// A short, printable piece of a body that is not a Status object.
std::string Snippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  if (body.size() > 200) out += "...";
  return out;
}

// The server's Status message, else a snippet of the body.
std::string ServerMessage(std::string_view body) {
  json st = json::parse(body, nullptr, false);
  if (st.is_object()) {
    std::string m = StringAt(st, "message");
    if (!m.empty()) return m;
  }
  std::string s = Snippet(body);
  return s.empty() ? "(empty body)" : s;
}

std::string AfterRetries(int n) { return "after " + std::to_string(n) + (n == 1 ? " retry" : " retries"); }

// What a request is about, for error messages.
struct Target {
  std::string verb;      // "list"
  std::string resource;  // "pods", "deployments.apps", or the caller's words for a raw path
  std::string plural;    // RBAC resource ("deployments")
  std::string group;
  bool has_group = false;  // false for raw paths: the RBAC hint then names only the resource
  std::string ns;          // "" = cluster-wide
  std::string name;
  bool raw = false;
  std::string path;  // raw: the path (without query)

  std::string Describe() const {
    std::string d = verb + " " + resource;
    if (!name.empty()) d += " \"" + name + "\"";
    if (raw) return d + " (" + path + ")";
    return d + (ns.empty() ? " cluster-wide" : " in namespace " + ns);
  }
  // Where RBAC must allow it ("" for a raw path: its scope is the caller's business).
  std::string Scope() const {
    if (raw) return "";
    return ns.empty() ? " cluster-wide" : " in namespace " + ns;
  }
};

Target TargetFor(std::string verb, const ResourceType& type, std::string_view ns, std::string_view name) {
  Target t;
  t.verb = std::move(verb);
  t.resource = type.Key();
  t.plural = type.resource;
  t.group = type.group;
  t.has_group = true;
  t.ns = type.namespaced ? std::string(ns) : "";
  t.name = std::string(name);
  return t;
}

// Where the credentials came from, for a 401 ("bearer token from token file /var/run/...").
std::string CredentialSource(const RestConfig& c) {
  std::vector<std::string> parts;
  if (c.exec) {
    parts.push_back("exec plugin '" + c.exec->command + "'");
  } else if (!c.token_file.empty()) {
    parts.push_back("bearer token from token file " + c.token_file);
  } else if (!c.token.empty()) {
    parts.push_back("bearer token");
  }
  if (!c.client_cert_pem.empty()) parts.push_back("client certificate");
  if (parts.empty() && !c.username.empty()) parts.push_back("basic auth for user '" + c.username + "'");
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? " and " : "") + parts[i];
  if (out.empty()) out = "no credentials (anonymous)";
  if (!c.source.empty()) out += ", from " + c.source;
  return out;
}

// "https://user:pw@host:6443/prefix" -> its parts; the path prefix is kept (Rancher-style proxies serve under one).
struct ServerUrl {
  std::string scheme, host, port, prefix;
  bool ipv6 = false;
};

std::optional<ServerUrl> ParseServer(std::string_view url) {
  ServerUrl u;
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  u.scheme = std::string(url.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view rest = url.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.prefix = std::string(rest.substr(slash));
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    u.ipv6 = true;
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = std::string(authority.substr(close + 2));
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || (u.scheme != "https" && u.scheme != "http")) return std::nullopt;
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  return u;
}

// Token bucket as client-go's flowcontrol limiter: `burst` requests at once, then `qps` per second. A request that
// finds no token reserves the next one (the count goes negative) and sleeps until it is due, so concurrent callers
// queue in order. qps <= 0 disables it.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst, base::Clock& clock)
      : qps_(qps), burst_(std::max(1, burst)), tokens_(burst_), last_ns_(clock.MonotonicNanos()), clock_(clock) {}

  // Takes one token; returns the milliseconds slept for it.
  std::int64_t Take() {
    if (qps_ <= 0) return 0;
    double wait_s = 0;
    {
      std::lock_guard lock(mu_);
      const std::int64_t now = clock_.MonotonicNanos();
      tokens_ = std::min<double>(burst_, tokens_ + static_cast<double>(now - last_ns_) * 1e-9 * qps_);
      last_ns_ = now;
      tokens_ -= 1;
      if (tokens_ < 0) wait_s = -tokens_ / qps_;
    }
    if (wait_s <= 0) return 0;
    const auto wait = std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1e9)));
    clock_.SleepFor(wait);
    return std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  }

 private:
  const double qps_;
  const int burst_;
  std::mutex mu_;
  double tokens_;
  std::int64_t last_ns_;
  base::Clock& clock_;
};

// One easy handle with its own multi handle: the multi handle keeps the connection cache (keep-alive across
// requests) and lets a watch poll its stop flag every 50 ms instead of libcurl's once-a-second progress callback.
struct Handle {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
};

// Everything one exchange reads and writes inside libcurl's callbacks.
struct Exchange {
  CURL* easy = nullptr;
  long status = 0;
  std::string body;  // every non-streamed body, and the body of an error answer to a watch
  std::size_t max_body = 0;
  bool too_large = false;
  std::int64_t bytes = 0;
  // Streamed 2xx bodies (watches) go here instead; false aborts the transfer.
  const std::function<bool(std::string_view)>* sink = nullptr;
  bool sink_aborted = false;
  bool delivered = false;                     // some 2xx stream bytes reached the sink
  std::optional<std::int64_t> retry_after_s;  // the Retry-After header, in seconds
};

std::size_t WriteCallback(char* data, std::size_t size, std::size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::size_t len = size * n;
  if (x->status == 0) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  x->bytes += static_cast<std::int64_t>(len);
  if (x->sink != nullptr && x->status >= 200 && x->status < 300) {
    x->delivered = true;
    if (!(*x->sink)(std::string_view(data, len))) {
      x->sink_aborted = true;
      return 0;
    }
    return len;
  }
  if (x->body.size() + len > x->max_body) {
    x->too_large = true;
    return 0;
  }
  x->body.append(data, len);
  return len;
}

// A transport failure: its Status and whether another attempt may succeed.
struct TransportError {
  Status status;
  bool retryable = false;
};

}  // namespace

const ResourceType& PodsType() {
  static const ResourceType t = MakeType(
      "pods", "Pod", true, {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"});
  return t;
}
const ResourceType& NodesType() {
  static const ResourceType t = MakeType(
      "nodes", "Node", false, {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"});
  return t;
}
const ResourceType& ConfigMapsType() {
  static const ResourceType t =
      MakeType("configmaps", "ConfigMap", true, {"create", "delete", "get", "list", "patch", "update", "watch"});
  return t;
}
const ResourceType& NamespacesType() {
  static const ResourceType t =
      MakeType("namespaces", "Namespace", false, {"create", "delete", "get", "list", "patch", "update", "watch"});
  return t;
}

// ---- WatchStreamDecoder ----

WatchStreamDecoder::WatchStreamDecoder(ResourceType type, std::size_t max_event_bytes)
    : type_(std::move(type)), max_event_bytes_(std::max<std::size_t>(max_event_bytes, 2)) {}

Status WatchStreamDecoder::Feed(std::string_view bytes, const std::function<bool(const WatchEvent&)>& on_event) {
  std::size_t i = 0;
  while (i < bytes.size() && !stopped_) {
    if (buffer_.empty()) {
      // Between events: whitespace, then the '{' that opens the next one.
      const char c = bytes[i];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        ++i;
        continue;
      }
      if (c != '{') {
        return base::InvalidArgument("watch stream: expected a JSON object, got '" + Snippet(bytes.substr(i, 40)) +
                                     "'");
      }
    }
    // Scan for the '}' that closes the top-level object: strings may hold braces and escaped quotes.
    std::size_t j = i;
    bool complete = false;
    for (; j < bytes.size(); ++j) {
      const char c = bytes[j];
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
        } else if (c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
        continue;
      }
      if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        if (--depth_ == 0) {
          complete = true;
          ++j;
          break;
        }
      }
    }
    buffer_.append(bytes.data() + i, j - i);
    i = j;
    if (buffer_.size() > max_event_bytes_) {
      return base::ResourceExhausted("watch stream: an event exceeds " + std::to_string(max_event_bytes_) + " bytes");
    }
    if (!complete) break;
    Status s = Emit(on_event);
    buffer_.clear();
    depth_ = 0;
    in_string_ = escaped_ = false;
    RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

Status WatchStreamDecoder::Emit(const std::function<bool(const WatchEvent&)>& on_event) {
  json ev = json::parse(buffer_, nullptr, false);
  if (!ev.is_object()) return base::InvalidArgument("watch stream: an event is not valid JSON: " + Snippet(buffer_));
  const std::string type = StringAt(ev, "type");
  auto obj = ev.find("object");
  if (obj == ev.end() || !obj->is_object()) {
    return base::InvalidArgument("watch stream: a " + (type.empty() ? std::string("(typeless)") : type) +
                                 " event without an object");
  }
  if (type == "ERROR") {
    long code = 500;
    if (const auto c = obj->find("code"); c != obj->end() && c->is_number_integer()) code = c->get<long>();
    std::string msg = StringAt(*obj, "message");
    if (code == 410) {
      return Status(Code::kOutOfRange, "410 Gone: resourceVersion too old" + (msg.empty() ? "" : " (" + msg + ")"));
    }
    return Status(CodeForHttp(code), "watch error " + std::to_string(code) + (msg.empty() ? "" : ": " + msg));
  }
  WatchEvent out;
  if (type == "ADDED") {
    out.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    out.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    out.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    out.type = WatchEventType::kBookmark;
  } else {
    return base::InvalidArgument("watch stream: unknown event type '" + Snippet(type) + "'");
  }
  json object = std::move(*obj);
  FillTypeMeta(object, type_.ApiVersion(), type_.kind);
  const std::string rv = MetaResourceVersion(object);
  if (!rv.empty()) last_resource_version_ = rv;
  out.object = std::make_shared<const json>(std::move(object));
  ++events_;
  if (!on_event(out)) stopped_ = true;
  return Status::Ok();
}

// ---- KubeClient ----

struct KubeClient::Impl {
  Impl(const RestConfig& c, KubeClientOptions o, base::Clock& clk)
      : config(c),
        options(std::move(o)),
        clock(clk),
        credentials(c, clk),
        limiter(options.qps, options.burst, clk),
        rng(std::random_device{}()) {
    GlobalCurlInit();
    server = ParseServer(config.server);
    if (server) {
      // With tls_server_name the URL names that host (so SNI and verification use it) and CONNECT_TO sends the
      // connection to the real address; the Host header keeps the real authority, as client-go sends it.
      const std::string real = (server->ipv6 ? "[" + server->host + "]" : server->host);
      const bool rename = !config.tls_server_name.empty() && server->scheme == "https";
      const std::string url_host = rename ? config.tls_server_name : real;
      base_url = server->scheme + "://" + url_host + ":" + server->port + server->prefix;
      loopback = server->host == "localhost" || server->host.rfind("127.", 0) == 0 || server->host == "::1";
      safe_base_url = server->scheme + "://" + real + ":" + server->port + server->prefix;
      if (rename) {
        connect_to = config.tls_server_name + ":" + server->port + ":" + real + ":" + server->port;
        host_header = "Host: " + real + ":" + server->port;
      }
    }
  }
  ~Impl() {
    for (Handle& h : pool) {
      curl_multi_cleanup(h.multi);
      curl_easy_cleanup(h.easy);
    }
  }

  const RestConfig& config;
  KubeClientOptions options;
  base::Clock& clock;
  CredentialProvider credentials;
  TokenBucket limiter;
  std::optional<ServerUrl> server;
  std::string base_url, safe_base_url, connect_to, host_header;
  bool loopback = false;

  std::mutex mu;  // pool, rng
  std::vector<Handle> pool;
  std::mt19937_64 rng;

  std::atomic<std::int64_t> requests{0}, retries{0}, throttled_ms{0}, bytes{0};

  std::mutex discovery_mu;  // held across a discovery read: one reader fills the cache
  std::optional<std::vector<ResourceType>> discovery;
  std::int64_t discovery_ms = 0;

  Handle Acquire() {
    {
      std::lock_guard lock(mu);
      if (!pool.empty()) {
        Handle h = pool.back();
        pool.pop_back();
        curl_easy_reset(h.easy);
        return h;
      }
    }
    return Handle{curl_easy_init(), curl_multi_init()};
  }
  void Release(Handle h) {
    std::lock_guard lock(mu);
    pool.push_back(h);
  }

  std::chrono::milliseconds Backoff(int attempt) {
    double d = static_cast<double>(options.backoff_base.count());
    const double cap = static_cast<double>(options.backoff_cap.count());
    for (int i = 0; i < attempt && d < cap; ++i) d *= 2;
    d = std::min(d, cap);
    std::lock_guard lock(mu);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);  // spreads clients that failed together
    return std::chrono::milliseconds(static_cast<std::int64_t>(d * jitter(rng)));
  }

  // Secrets never reach a message, whatever a server or library put into it.
  std::string Scrub(std::string m, const std::string& token) const {
    for (const std::string* secret : {&token, &config.token, &config.password}) {
      if (secret->size() < 4) continue;
      const std::string red = base::RedactSecret(*secret);
      for (std::size_t p = m.find(*secret); p != std::string::npos; p = m.find(*secret, p + red.size())) {
        m.replace(p, secret->size(), red);
      }
    }
    return m;
  }

  // One HTTP exchange; transport failures are a TransportError, any HTTP status is an answer in *x.
  std::optional<TransportError> Perform(const std::string& path, const Credentials& creds, bool watch,
                                        std::chrono::milliseconds timeout, const std::atomic<bool>* stop, Exchange* x,
                                        bool* stopped) {
    Handle h = Acquire();
    if (h.easy == nullptr || h.multi == nullptr) return TransportError{base::Internal("curl_easy_init failed"), false};
    x->easy = h.easy;
    x->max_body = options.max_body_bytes;
    const std::string url = base_url + path;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!host_header.empty()) headers = curl_slist_append(headers, host_header.c_str());
    if (!creds.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + creds.token).c_str());
    curl_slist* connect = nullptr;
    if (!connect_to.empty()) connect = curl_slist_append(connect, connect_to.c_str());
    CURL* e = h.easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    if (connect != nullptr) curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    // gzip only, as client-go asks: kube-apiserver compresses with nothing else (and brotli is slow to encode).
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must not carry the token elsewhere
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    if (watch) {
      curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body_bytes));
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteCallback);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    // TLS: verified unless the kubeconfig says insecure-skip-tls-verify. A kubeconfig CA replaces the system roots,
    // as client-go does.
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, config.insecure_skip_tls_verify ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, config.insecure_skip_tls_verify ? 0L : 2L);
    if (!config.ca_pem.empty()) {
      curl_blob ca{const_cast<char*>(config.ca_pem.data()), config.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
      curl_easy_setopt(e, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
    }
    if (!creds.client_cert_pem.empty() && !creds.client_key_pem.empty()) {
      curl_blob cert{const_cast<char*>(creds.client_cert_pem.data()), creds.client_cert_pem.size(), CURL_BLOB_COPY};
      curl_blob key{const_cast<char*>(creds.client_key_pem.data()), creds.client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (creds.token.empty() && !config.username.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(e, CURLOPT_USERNAME, config.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, config.password.c_str());
    }
    // proxy-url from the kubeconfig; without one libcurl itself reads https_proxy / HTTPS_PROXY (http_proxy for
    // http://), ALL_PROXY and NO_PROXY from the environment, as client-go's ProxyFromEnvironment does, and like it
    // never proxies a loopback server ("" disables libcurl's proxy, environment included).
    if (!config.proxy_url.empty()) {
      curl_easy_setopt(e, CURLOPT_PROXY, config.proxy_url.c_str());
    } else if (loopback) {
      curl_easy_setopt(e, CURLOPT_PROXY, "");
    }

    curl_multi_add_handle(h.multi, e);
    CURLcode rc = CURLE_OK;
    bool aborted_by_stop = false;
    for (;;) {
      int running = 0;
      if (curl_multi_perform(h.multi, &running) != CURLM_OK) {
        rc = CURLE_RECV_ERROR;
        break;
      }
      if (running == 0) {
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(h.multi, &queued)) {
          if (m->msg == CURLMSG_DONE) rc = m->data.result;
        }
        break;
      }
      if (stop != nullptr && stop->load()) {
        aborted_by_stop = true;
        break;
      }
      curl_multi_poll(h.multi, nullptr, 0, stop != nullptr ? 50 : 1000, nullptr);
    }
    curl_multi_remove_handle(h.multi, e);
    if (x->status == 0) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->status);
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
      x->retry_after_s = static_cast<std::int64_t>(retry_after);
    }
    curl_slist_free_all(headers);
    curl_slist_free_all(connect);
    Release(h);
    bytes += x->bytes;
    *stopped = aborted_by_stop;
    if (aborted_by_stop || rc == CURLE_OK) return std::nullopt;
    if (rc == CURLE_WRITE_ERROR && x->sink_aborted) return std::nullopt;  // the stream's consumer ended it

    std::string detail = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    const std::string where = safe_base_url + ": ";
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return TransportError{base::DeadlineExceeded(where + "timed out after " + std::to_string(timeout.count()) +
                                                     " ms (" + detail + ")"),
                              false};
      case CURLE_WRITE_ERROR:
      case CURLE_FILESIZE_EXCEEDED:
        if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
          return TransportError{base::ResourceExhausted(where + "the response exceeds max_body_bytes=" +
                                                        std::to_string(options.max_body_bytes)),
                                false};
        }
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return TransportError{
            base::Unavailable(where + "TLS verification failed: " + detail +
                              " (the cluster's certificate-authority must sign the server certificate for " +
                              (config.tls_server_name.empty() ? (server ? server->host : std::string("the host"))
                                                              : config.tls_server_name) +
                              "; set certificate-authority-data or tls-server-name in the kubeconfig, or "
                              "insecure-skip-tls-verify to skip the check)"),
            false};
      case CURLE_SSL_CERTPROBLEM:
        return TransportError{base::InvalidArgument(where + "the client certificate or key is unusable: " + detail +
                                                    " (client-certificate-data / client-key-data)"),
                              false};
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return TransportError{base::Unavailable(where + "cannot reach the API server: " + detail), true};
      default:
        break;
    }
    return TransportError{base::Unavailable(where + detail), false};
  }

  // Sleeps on the clock; with a stop flag, in 50 ms slices that end early once it is set (true then).
  bool SleepUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>* stop) {
    if (stop == nullptr) {
      clock.SleepFor(d);
      return false;
    }
    constexpr std::chrono::milliseconds kSlice{50};
    while (d.count() > 0) {
      if (stop->load()) return true;
      const auto step = std::min(d, kSlice);
      clock.SleepFor(step);
      d -= step;
    }
    return stop->load();
  }
  static Exchange Stopped(bool* stopped) {
    if (stopped != nullptr) *stopped = true;
    return Exchange{};
  }

  // The Status for a non-2xx answer.
  Status HttpError(const Target& t, long status, const std::string& body, int attempts) const {
    std::string msg = "cannot " + t.Describe() + ": " + std::to_string(status);
    if (const char* r = HttpReason(status); *r != '\0') msg += std::string(" ") + r;
    if (attempts > 1) msg += " (" + AfterRetries(attempts - 1) + ")";
    if (status == 401) {
      msg += ": the API server rejected the credentials (" + CredentialSource(config) + ")";
      const std::string server_msg = ServerMessage(body);
      if (server_msg != "Unauthorized") msg += ": " + server_msg;
      return Status(CodeForHttp(status), msg);
    }
    msg += ": " + ServerMessage(body);
    if (status == 403) {
      msg += "; grant verb '" + t.verb + "' on '" + (t.raw ? t.resource : t.plural) + "'";
      if (t.has_group) msg += " (group \"" + t.group + "\")";
      msg += t.Scope() + ", see `gpuwise rbac --print`";
    }
    return Status(CodeForHttp(status), msg);
  }

  // GET with rate limiting, retries and the 401 re-authentication. Returns the exchange of a 2xx answer. With a
  // sink the 2xx body streams into it (watches: no retry once bytes were delivered).
  Result<Exchange> Do(const Target& t, const std::string& path, const std::function<bool(std::string_view)>* sink,
                      std::chrono::milliseconds timeout, const std::atomic<bool>* stop, bool* stopped) {
    bool reauthenticated = false;
    int attempts = 0;
    const int max_retries = std::max(0, options.max_retries);
    for (int retry = 0;;) {
      throttled_ms += limiter.Take();
      Result<Credentials> creds = credentials.Get();
      if (!creds.ok()) return creds.status().Annotate("cannot " + t.Describe() + ": getting credentials");
      Exchange x;
      x.sink = sink;
      ++requests;
      ++attempts;
      bool was_stopped = false;
      std::optional<TransportError> err = Perform(path, *creds, sink != nullptr, timeout, stop, &x, &was_stopped);
      if (stopped != nullptr) *stopped = was_stopped;
      std::optional<std::chrono::milliseconds> retry_after;
      if (x.retry_after_s) retry_after = std::chrono::seconds(*x.retry_after_s);
      if (was_stopped) return x;
      if (err) {
        if (err->retryable && !x.delivered && retry < max_retries) {
          ++retry;
          ++retries;
          const auto d = Backoff(retry - 1);
          LOG_DEBUG << "kube: " << t.Describe() << ": retry " << retry << " in " << d.count()
                    << " ms: " << Scrub(err->status.message(), creds->token);
          if (SleepUnlessStopped(d, stop)) return Stopped(stopped);
          continue;
        }
        std::string m = "cannot " + t.Describe() + ": " + err->status.message();
        if (attempts > 1) m += " (" + AfterRetries(attempts - 1) + ")";
        return Status(err->status.code(), Scrub(m, creds->token));
      }
      if (x.status >= 200 && x.status < 300) return x;
      if (x.status == 401 && !reauthenticated) {
        // Rotated tokens and expired exec credentials: fetch them anew, once.
        reauthenticated = true;
        credentials.Invalidate();
        ++retries;
        continue;
      }
      const bool retryable =
          x.status == 429 || x.status == 500 || x.status == 502 || x.status == 503 || x.status == 504;
      if (retryable && retry < max_retries) {
        ++retry;
        ++retries;
        std::chrono::milliseconds d = Backoff(retry - 1);
        if (retry_after) d = std::min<std::chrono::milliseconds>(*retry_after, options.backoff_cap);
        LOG_DEBUG << "kube: " << t.Describe() << ": HTTP " << x.status << ", retry " << retry << " in " << d.count()
                  << " ms";
        if (SleepUnlessStopped(d, stop)) return Stopped(stopped);
        continue;
      }
      Status s = HttpError(t, x.status, x.body, attempts);
      return Status(s.code(), Scrub(s.message(), creds->token));
    }
  }

  Result<json> GetJson(const Target& t, const std::string& path) {
    ASSIGN_OR_RETURN(Exchange x, Do(t, path, nullptr, options.timeout, nullptr, nullptr));
    json doc = json::parse(x.body, nullptr, false);
    if (doc.is_discarded()) {
      return base::DataLoss("cannot " + t.Describe() + ": the API server's answer is not JSON: " + Snippet(x.body));
    }
    return doc;
  }

  // Reads /api/v1 and each group's preferred version under /apis.
  Result<std::vector<ResourceType>> Discover() {
    auto parse = [](const json& list, const std::string& group, const std::string& version,
                    std::vector<ResourceType>* out) {
      const auto res = list.find("resources");
      if (res == list.end() || !res->is_array()) return;
      for (const json& r : *res) {
        ResourceType t;
        t.group = group;
        t.version = version;
        t.resource = StringAt(r, "name");
        t.kind = StringAt(r, "kind");
        // Subresources ("pods/log", "deployments/scale") are not collections.
        if (t.resource.empty() || t.kind.empty() || t.resource.find('/') != std::string::npos) continue;
        const auto ns = r.find("namespaced");
        t.namespaced = ns != r.end() && ns->is_boolean() && ns->get<bool>();
        if (const auto v = r.find("verbs"); v != r.end() && v->is_array()) {
          for (const json& verb : *v) {
            if (verb.is_string()) t.verbs.push_back(verb.get<std::string>());
          }
        }
        out->push_back(std::move(t));
      }
    };
    Target t;
    t.verb = "get";
    t.resource = "discovery";
    t.raw = true;
    std::vector<ResourceType> out;
    t.path = "/api";
    ASSIGN_OR_RETURN(json core, GetJson(t, "/api"));
    std::string core_version = "v1";
    if (const auto v = core.find("versions"); v != core.end() && v->is_array() && !v->empty() && (*v)[0].is_string()) {
      core_version = (*v)[0].get<std::string>();
    }
    t.path = "/api/" + core_version;
    ASSIGN_OR_RETURN(json core_list, GetJson(t, "/api/" + Escape(core_version)));
    parse(core_list, "", core_version, &out);
    t.path = "/apis";
    ASSIGN_OR_RETURN(json groups, GetJson(t, "/apis"));
    const auto gs = groups.find("groups");
    if (gs == groups.end() || !gs->is_array()) return out;
    for (const json& g : *gs) {
      const std::string name = StringAt(g, "name");
      std::string gv;
      if (const auto p = g.find("preferredVersion"); p != g.end()) gv = StringAt(*p, "groupVersion");
      if (gv.empty()) {
        if (const auto vs = g.find("versions"); vs != g.end() && vs->is_array() && !vs->empty()) {
          gv = StringAt((*vs)[0], "groupVersion");
        }
      }
      const std::size_t slash = gv.find('/');
      if (name.empty() || slash == std::string::npos) continue;
      t.path = "/apis/" + gv;
      Result<json> list = GetJson(t, "/apis/" + Escape(gv.substr(0, slash)) + "/" + Escape(gv.substr(slash + 1)));
      if (!list.ok()) {
        // An aggregated API that is down (metrics.k8s.io with no metrics-server) must not hide every other group.
        LOG_WARNING << "kube discovery: skipping " << gv << ": " << list.status().message();
        continue;
      }
      parse(*list, gv.substr(0, slash), gv.substr(slash + 1), &out);
    }
    return out;
  }
};

KubeClient::KubeClient(RestConfig config, KubeClientOptions options, base::Clock& clock)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_, std::move(options), clock)) {}

KubeClient::~KubeClient() = default;

namespace {
Status BadServer(const RestConfig& c) {
  return base::InvalidArgument("the API server address '" + c.server + "' is not an http(s) URL (cluster.server in " +
                               (c.source.empty() ? std::string("the configuration") : c.source) + ")");
}
}  // namespace

Result<ObjectList> KubeClient::List(const ResourceType& type, const ListOptions& options,
                                    const std::function<void(std::size_t items)>& progress) {
  if (!impl_->server) return BadServer(config_);
  const Target t = TargetFor("list", type, options.namespace_name, "");
  const std::string base = ResourcePath(type, options.namespace_name, "");
  ObjectList out;
  std::string cont;
  bool restarted = false;
  for (;;) {
    Query q;
    if (impl_->options.page_size > 0) q.Add("limit", std::to_string(impl_->options.page_size));
    q.Add("continue", cont).Add("labelSelector", options.label_selector).Add("fieldSelector", options.field_selector);
    if (cont.empty()) q.Add("resourceVersion", options.resource_version);
    Result<Exchange> x = impl_->Do(t, base + q.text(), nullptr, impl_->options.timeout, nullptr, nullptr);
    if (!x.ok()) {
      // An expired continue token: start over once, as client-go's pager falls back to a full list.
      if (x.status().code() == Code::kOutOfRange && !cont.empty() && !restarted) {
        restarted = true;
        ++out.relists;
        out.items.clear();
        out.resource_version.clear();
        cont.clear();
        LOG_INFO << "kube: " << t.Describe() << ": continue token expired, listing again from the start";
        continue;
      }
      return x.status();
    }
    json page = json::parse(x->body, nullptr, false);
    if (!page.is_object()) {
      return base::DataLoss("cannot " + t.Describe() +
                            ": the API server's answer is not a JSON object: " + Snippet(x->body));
    }
    const std::string api_version =
        StringAt(page, "apiVersion").empty() ? type.ApiVersion() : StringAt(page, "apiVersion");
    const std::string kind = ItemKind(page, type);
    auto items = page.find("items");
    if (items != page.end() && items->is_array()) {
      out.items.reserve(out.items.size() + items->size());
      for (json& item : *items) {
        FillTypeMeta(item, api_version, kind);
        out.items.push_back(std::make_shared<const json>(std::move(item)));
      }
    } else if (items != page.end() && !items->is_null()) {
      return base::DataLoss("cannot " + t.Describe() + ": the list's items are not an array");
    }
    ++out.pages;
    std::string next;
    if (const auto meta = page.find("metadata"); meta != page.end()) {
      // The first page's version: every later page continues that snapshot.
      if (out.resource_version.empty()) out.resource_version = StringAt(*meta, "resourceVersion");
      next = StringAt(*meta, "continue");
    }
    if (progress) progress(out.items.size());
    if (next.empty()) break;
    if (next == cont) return base::DataLoss("cannot " + t.Describe() + ": the server repeated a continue token");
    cont = std::move(next);
  }
  return out;
}

Result<ObjectPtr> KubeClient::Get(const ResourceType& type, std::string_view namespace_name, std::string_view name) {
  if (!impl_->server) return BadServer(config_);
  if (name.empty()) return base::InvalidArgument("KubeClient::Get: an empty name for " + type.Key());
  const Target t = TargetFor("get", type, namespace_name, name);
  ASSIGN_OR_RETURN(json obj, impl_->GetJson(t, ResourcePath(type, namespace_name, name)));
  if (!obj.is_object()) return base::DataLoss("cannot " + t.Describe() + ": the answer is not a JSON object");
  FillTypeMeta(obj, type.ApiVersion(), type.kind);
  return ObjectPtr(std::make_shared<const json>(std::move(obj)));
}

Status KubeClient::Watch(const ResourceType& type, const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& on_event, std::string* last_resource_version,
                         const std::atomic<bool>* stop) {
  if (!impl_->server) return BadServer(config_);
  if (last_resource_version != nullptr) *last_resource_version = options.list.resource_version;
  Target t = TargetFor("watch", type, options.list.namespace_name, "");
  Query q;
  q.Add("watch", "1");
  if (options.bookmarks) q.Add("allowWatchBookmarks", "true");
  q.Add("timeoutSeconds", std::to_string(std::max<std::int64_t>(1, options.timeout.count())))
      .Add("resourceVersion", options.list.resource_version)
      .Add("labelSelector", options.list.label_selector)
      .Add("fieldSelector", options.list.field_selector);
  WatchStreamDecoder decoder(type, impl_->options.max_body_bytes);
  Status stream_status;
  const std::function<bool(std::string_view)> sink = [&](std::string_view bytes) {
    stream_status = decoder.Feed(bytes, on_event);
    return stream_status.ok() && !decoder.stopped();
  };
  // The server ends the watch at timeoutSeconds; the client's own limit is a margin past it, so that a silent,
  // dead connection still ends.
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) +
                       std::max(impl_->options.timeout, std::chrono::milliseconds(30'000));
  bool stopped = false;
  Result<Exchange> x =
      impl_->Do(t, ResourcePath(type, options.list.namespace_name, "") + q.text(), &sink, timeout, stop, &stopped);
  if (last_resource_version != nullptr && !decoder.last_resource_version().empty()) {
    *last_resource_version = decoder.last_resource_version();
  }
  const std::string from =
      options.list.resource_version.empty() ? "" : " from resourceVersion " + options.list.resource_version;
  if (!stream_status.ok()) {
    return Status(stream_status.code(), "cannot " + t.Describe() + from + ": " + stream_status.message());
  }
  if (!x.ok()) return x.status();
  if (stopped || decoder.stopped()) return Status::Ok();
  if (decoder.partial()) {
    return base::Unavailable("cannot " + t.Describe() + from + ": the stream ended in the middle of an event");
  }
  return Status::Ok();
}

Result<std::vector<ResourceType>> KubeClient::Resources() {
  if (!impl_->server) return BadServer(config_);
  std::lock_guard lock(impl_->discovery_mu);
  if (!impl_->discovery) {
    ASSIGN_OR_RETURN(std::vector<ResourceType> found, impl_->Discover());
    impl_->discovery = std::move(found);
    impl_->discovery_ms = impl_->clock.NowUnixMillis();
  }
  return *impl_->discovery;
}

void KubeClient::RefreshDiscovery() {
  std::lock_guard lock(impl_->discovery_mu);
  impl_->discovery.reset();
}

Result<ResourceType> KubeClient::ResolveKind(std::string_view api_version, std::string_view kind) {
  const std::size_t slash = api_version.find('/');
  const std::string group = slash == std::string_view::npos ? "" : std::string(api_version.substr(0, slash));
  const std::string version =
      std::string(slash == std::string_view::npos ? api_version : api_version.substr(slash + 1));
  auto find = [&](const std::vector<ResourceType>& all) -> std::optional<ResourceType> {
    const ResourceType* same_group = nullptr;
    for (const ResourceType& t : all) {
      if (t.group != group || t.kind != kind) continue;
      if (t.version == version) return t;
      // An owner reference written under an older version of the group: the server serves the same object
      // under its preferred version.
      if (same_group == nullptr) same_group = &t;
    }
    if (same_group != nullptr) return *same_group;
    return std::nullopt;
  };
  ASSIGN_OR_RETURN(std::vector<ResourceType> all, Resources());
  if (std::optional<ResourceType> t = find(all)) return *t;
  // A custom resource installed after discovery was cached: read it again, at most once a minute.
  bool reread = false;
  {
    std::lock_guard lock(impl_->discovery_mu);
    if (impl_->clock.NowUnixMillis() - impl_->discovery_ms >= 60'000) {
      impl_->discovery.reset();
      reread = true;
    }
  }
  if (reread) {
    ASSIGN_OR_RETURN(all, Resources());
    if (std::optional<ResourceType> t = find(all)) return *t;
  }
  return base::NotFound("the API server at " + impl_->safe_base_url + " serves no resource of kind " +
                        std::string(kind) + " in " + std::string(api_version) +
                        " (is its CustomResourceDefinition installed?)");
}

Result<std::string> KubeClient::GetPath(std::string_view path, std::string_view verb_for_errors,
                                        std::string_view resource_for_errors) {
  if (!impl_->server) return BadServer(config_);
  if (path.empty() || path.front() != '/') return base::InvalidArgument("KubeClient::GetPath: path must start with /");
  Target t;
  t.verb = std::string(verb_for_errors);
  t.resource = std::string(resource_for_errors);
  t.raw = true;
  t.path = std::string(path.substr(0, path.find('?')));
  ASSIGN_OR_RETURN(Exchange x, impl_->Do(t, std::string(path), nullptr, impl_->options.timeout, nullptr, nullptr));
  return std::move(x.body);
}

KubeClient::Stats KubeClient::stats() const {
  Stats s;
  s.requests = impl_->requests.load();
  s.retries = impl_->retries.load();
  s.throttled_ms = impl_->throttled_ms.load();
  s.bytes = impl_->bytes.load();
  return s;
}

}  // namespace gpuwise::observe::kube
