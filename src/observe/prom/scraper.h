// Direct scraper for dcgm-exporter (or any Prometheus exposition) endpoints over HTTP(S).
// Timeouts, gzip, a bounded body size, TLS verified by default, several endpoints scraped concurrently.
// Errors are per endpoint: one unreachable exporter never hides the others.
// Thread-safety: Scrape() may be called from one thread at a time per Scraper; it runs its own workers.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "observe/prom/dcgm_telemetry.h"

namespace gpuwise::observe::prom {

struct ScrapeOptions {
  std::chrono::milliseconds timeout{10000};  // whole request, per endpoint
  std::chrono::milliseconds connect_timeout{3000};
  std::size_t max_body_bytes = 64u << 20;  // a 4,096-GPU page is ~36 MB
  int concurrency = 8;                     // endpoints in flight at once
  bool insecure_skip_verify = false;       // TLS verification is on unless asked
  std::string ca_file;                     // custom CA bundle (PEM)
  std::string bearer_token;                // sent as Authorization: Bearer; never logged
};

struct ScrapeResult {
  std::string url;
  base::Status status;       // transport / HTTP / size errors; parse errors are counted in telemetry stats
  std::string body;          // the page as received (decompressed)
  Format format = Format::kText;
  double seconds = 0;        // wall time of the request
};

class Scraper {
 public:
  explicit Scraper(ScrapeOptions options);
  // Fetches every URL (http:// or https://; a bare host:port gets http:// and /metrics).
  std::vector<ScrapeResult> Scrape(const std::vector<std::string>& urls) const;

 private:
  ScrapeResult ScrapeOne(const std::string& url) const;
  ScrapeOptions options_;
};

// Normalises "host:9400" to "http://host:9400/metrics"; full URLs are kept.
std::string NormalizeScrapeUrl(const std::string& url);

}  // namespace gpuwise::observe::prom
