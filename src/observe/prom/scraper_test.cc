#include "observe/prom/scraper.h"

#include <httplib.h>
#include <zlib.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace gpuwise::observe::prom {
namespace {

constexpr char kPage[] =
    "# TYPE DCGM_FI_DEV_FB_USED gauge\n"
    "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 2048\n"
    "DCGM_FI_DEV_FB_USED{gpu=\"1\",UUID=\"GPU-b\",Hostname=\"n1\"} 0\n";

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class ScraperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kPage, "text/plain; version=0.0.4");
    });
    server_.Get("/gz", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Encoding", "gzip");
      res.set_content(Gzip(kPage), "text/plain; version=0.0.4");
    });
    server_.Get("/om", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(kPage) + "# EOF\n", "application/openmetrics-text; version=1.0.0");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(3 << 20, '#'), "text/plain");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.set_content(kPage, "text/plain");
    });
    server_.Get("/secret", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer s3cr3t-token-value") {
        res.status = 401;
        return;
      }
      res.set_content(kPage, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ScraperTest, ScrapesPlainGzipAndOpenMetricsPagesConcurrently) {
  Scraper scraper({});
  auto results = scraper.Scrape({Url("/metrics"), Url("/gz"), Url("/om")});
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) ASSERT_TRUE(r.status.ok()) << r.url << ": " << r.status.ToString();
  EXPECT_EQ(results[0].body, kPage);
  EXPECT_EQ(results[1].body, kPage);  // decompressed
  EXPECT_EQ(results[2].format, Format::kOpenMetrics);
  DcgmTelemetryBuilder b;
  b.AddPage(results[2].body, results[2].format, results[2].url);
  Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 2u);
  EXPECT_EQ(t.stats.bad_lines, 0u);
}

TEST_F(ScraperTest, EachFailureIsItsOwnClearErrorAndOthersStillArrive) {
  ScrapeOptions o;
  o.max_body_bytes = 1 << 20;
  o.timeout = std::chrono::milliseconds(300);
  Scraper scraper(o);
  // Port 1 on loopback: nothing listens there.
  auto r = scraper.Scrape({Url("/big"), Url("/slow"), "http://127.0.0.1:1/metrics", Url("/nope"), Url("/metrics")});
  EXPECT_EQ(r[0].status.code(), base::Code::kResourceExhausted);
  EXPECT_NE(r[0].status.message().find("over the limit"), std::string::npos);
  EXPECT_EQ(r[1].status.code(), base::Code::kDeadlineExceeded);
  EXPECT_EQ(r[2].status.code(), base::Code::kUnavailable);
  EXPECT_NE(r[2].status.message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_NE(r[3].status.message().find("HTTP 404"), std::string::npos);
  EXPECT_TRUE(r[4].status.ok());
}

TEST_F(ScraperTest, BearerTokenIsSentAndNeverAppearsInErrors) {
  ScrapeOptions o;
  o.bearer_token = "s3cr3t-token-value";
  EXPECT_TRUE(Scraper(o).Scrape({Url("/secret")})[0].status.ok());
  o.bearer_token = "wrong-token-value";
  auto r = Scraper(o).Scrape({Url("/secret")});
  EXPECT_EQ(r[0].status.code(), base::Code::kPermissionDenied);
  EXPECT_EQ(r[0].status.message().find("wrong-token-value"), std::string::npos);
}

TEST(ScrapeUrlTest, BareHostPortGetsSchemeAndPath) {
  EXPECT_EQ(NormalizeScrapeUrl("node1:9400"), "http://node1:9400/metrics");
  EXPECT_EQ(NormalizeScrapeUrl("https://x/y"), "https://x/y");
}

}  // namespace
}  // namespace gpuwise::observe::prom
