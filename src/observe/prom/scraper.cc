#include "observe/prom/scraper.h"

#include <curl/curl.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/clock.h"

namespace gpuwise::observe::prom {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* body;
  std::size_t limit;
  bool overflow = false;
};

std::size_t Write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * n;
  if (sink->body->size() + bytes > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

}  // namespace

std::string NormalizeScrapeUrl(const std::string& url) {
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) return url;
  std::string u = "http://" + url;
  if (url.find('/') == std::string::npos) u += "/metrics";
  return u;
}

Scraper::Scraper(ScrapeOptions options) : options_(std::move(options)) { GlobalInitOnce(); }

ScrapeResult Scraper::ScrapeOne(const std::string& raw_url) const {
  ScrapeResult r;
  r.url = NormalizeScrapeUrl(raw_url);
  const std::int64_t t0 = base::SystemClock::Get().MonotonicNanos();
  CURL* curl = curl_easy_init();
  if (!curl) {
    r.status = base::Internal("curl_easy_init failed");
    return r;
  }
  Sink sink{&r.body, options_.max_body_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers,
                              "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1");
  std::string auth;
  if (!options_.bearer_token.empty()) {
    auth = "Authorization: Bearer " + options_.bearer_token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");  // as Prometheus asks; decompressed by curl
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.insecure_skip_verify ? 0L : 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_body_bytes));
  CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  char* content_type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type) r.format = FormatFromContentType(content_type);
  const std::string what = "scraping " + r.url + ": ";
  if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
    r.status = base::ResourceExhausted(what + "body is over the limit of " + std::to_string(options_.max_body_bytes) +
                                       " bytes (--max-body-bytes)");
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    r.status = base::DeadlineExceeded(what + "timed out after " + std::to_string(options_.timeout.count()) + " ms");
  } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    r.status = base::Unavailable(what + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  } else if (rc != CURLE_OK) {
    r.status = base::Unavailable(what + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  } else if (http == 401 || http == 403) {
    r.status = base::PermissionDenied(what + "HTTP " + std::to_string(http) + " (check --bearer-token)");
  } else if (http >= 400) {
    r.status = base::Unavailable(what + "HTTP " + std::to_string(http) + ": " + r.body.substr(0, 200));
  }
  if (!r.status.ok()) r.body.clear();
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  r.seconds = static_cast<double>(base::SystemClock::Get().MonotonicNanos() - t0) / 1e9;
  return r;
}

std::vector<ScrapeResult> Scraper::Scrape(const std::vector<std::string>& urls) const {
  std::vector<ScrapeResult> out(urls.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < urls.size(); i = next++) out[i] = ScrapeOne(urls[i]);
  };
  const std::size_t n = std::min<std::size_t>(urls.size(), static_cast<std::size_t>(std::max(1, options_.concurrency)));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace gpuwise::observe::prom
