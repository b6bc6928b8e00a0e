// A real Prometheus server for integration tests: finds Debian's `prometheus`/`promtool`, writes the config,
// starts it on a free loopback port with its own TSDB directory, waits until ready, queries it, and stops it.
// Thread-safety: one test thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gpuwise::testing {

// The path of an installed tool in /usr/bin, /usr/local/bin or /bin; "" when absent.
std::string Which(const std::string& tool);

// A TCP port free on 127.0.0.1 right now.
int FreePort();

// Runs a command (arguments quoted), output to `log`; returns its exit status.
int RunCommand(const std::vector<std::string>& args, const std::filesystem::path& log);

class PrometheusProcess {
 public:
  PrometheusProcess() = default;
  ~PrometheusProcess() { Stop(); }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  // Starts prometheus with `config_yaml` and the TSDB in `dir`/tsdb. Returns "" on success, else the reason
  // (with the head of prometheus's log).
  std::string Start(const std::filesystem::path& dir, const std::string& config_yaml);
  void Stop();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // GET /api/v1/query?query=...(&time=...); the parsed body, or a discarded json on transport errors.
  nlohmann::json Query(const std::string& promql, const std::string& time = "") const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
};

}  // namespace gpuwise::testing
