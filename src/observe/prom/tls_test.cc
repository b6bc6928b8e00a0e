// TLS is verified by default: against an HTTPS server on loopback with a self-signed certificate (made here
// with the openssl command), the scraper and the Prometheus client refuse to talk until given the CA file,
// and talk with it (or when told to skip verification).
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "observe/prom/prom_client.h"
#include "observe/prom/scraper.h"

namespace gpuwise::observe::prom {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gpuwise-tls-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key_ + "' -out '" + cert_ +
                            "' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "needs the openssl command (Debian package openssl)";
    server_ = std::make_unique<httplib::SSLServer>(cert_.c_str(), key_.c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\"} 1\n", "text/plain");
    });
    server_->Post("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})", "application/json");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    fs::remove_all(dir_);
  }
  std::string Url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port_) + path; }

  fs::path dir_;
  std::string cert_, key_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(TlsTest, ScraperVerifiesByDefault) {
  auto refused = Scraper({}).Scrape({Url("/metrics")});
  EXPECT_EQ(refused[0].status.code(), base::Code::kUnavailable);
  EXPECT_NE(refused[0].status.message().find("certificate"), std::string::npos) << refused[0].status.message();
  ScrapeOptions with_ca;
  with_ca.ca_file = cert_;
  EXPECT_TRUE(Scraper(with_ca).Scrape({Url("/metrics")})[0].status.ok());
  ScrapeOptions insecure;
  insecure.insecure_skip_verify = true;
  EXPECT_TRUE(Scraper(insecure).Scrape({Url("/metrics")})[0].status.ok());
}

TEST_F(TlsTest, PrometheusClientVerifiesByDefault) {
  base::FakeClock clock;
  PromClientOptions o;
  o.base_url = Url("");
  o.max_retries = 0;
  auto refused = PromClient(o, clock).Query("up", 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("certificate"), std::string::npos) << refused.status().message();
  o.ca_file = cert_;
  auto ok = PromClient(o, clock).Query("up", 0);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

}  // namespace
}  // namespace gpuwise::observe::prom
