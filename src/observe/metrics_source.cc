#include "observe/metrics_source.h"

namespace gpuwise::observe {

ScrapeSource::ScrapeSource(std::vector<std::string> urls, prom::ScrapeOptions options)
    : urls_(std::move(urls)), scraper_(std::move(options)) {}

std::string ScrapeSource::Describe() const {
  return "scrape of " + std::to_string(urls_.size()) + (urls_.size() == 1 ? " endpoint" : " endpoints");
}

base::Result<prom::Telemetry> ScrapeSource::Current() {
  last_ = scraper_.Scrape(urls_);
  prom::DcgmTelemetryBuilder builder;
  std::size_t ok = 0;
  std::string first_error;
  for (const prom::ScrapeResult& r : last_) {
    if (!r.status.ok()) {
      if (first_error.empty()) first_error = r.status.message();
      continue;
    }
    ++ok;
    builder.AddPage(r.body, r.format, r.url);
  }
  if (ok == 0 && !last_.empty()) {
    return base::Unavailable("every endpoint failed; first: " + first_error);
  }
  return builder.Finish();
}

base::Result<RangeTelemetry> ScrapeSource::Range(const RangeRequest&) {
  return base::Status(base::Code::kUnimplemented,
                      "a direct scrape has no history: read windows from Prometheus with --prometheus URL");
}

base::Result<RangeTelemetry> FakeMetricsSource::Range(const RangeRequest& request) {
  requests.push_back(request);
  if (!error.ok()) return error;
  return range;
}

}  // namespace gpuwise::observe
