// Simulated dcgm-exporter endpoints on loopback: one /metrics page per simulated node, in dcgm-exporter's
// exact text format (dcgm_page.h), served over real HTTP so gpuwise reads them with its real scraper.
// Thread-safety: Start/Stop from one thread; pages are rendered per request on the server's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace gpuwise::sim {

struct ExporterOptions {
  int num_gpus = 16;
  int mig_gpus_per_node = 1;
  std::uint64_t seed = 1;
  bool include_sm_active = false;  // as the real exporter: SM_ACTIVE is off by default
  // Simulated time at start, seconds since local midnight of day 0 (14:00: the afternoon peak).
  double start_time_s = 14 * 3600;
  std::string bind_address = "127.0.0.1";
};

class ExporterServer {
 public:
  explicit ExporterServer(ExporterOptions options, base::Clock& clock = base::SystemClock::Get());
  ~ExporterServer();
  ExporterServer(const ExporterServer&) = delete;
  ExporterServer& operator=(const ExporterServer&) = delete;

  // Binds a free port on the loopback address and starts serving.
  base::Status Start();
  void Stop();
  std::string base_url() const;
  // One URL per simulated node: <base>/nodes/<hostname>/metrics.
  const std::vector<std::string>& urls() const { return urls_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> urls_;
};

}  // namespace gpuwise::sim
