// The simulated demo cluster served with its Kubernetes API, and one run of the report pipeline on it through the
// real clients (kubeconfig file, API, dcgm-exporter and vLLM endpoints): the fixture of the tests that check the
// report against the simulator's truth. Time stands still (speed 1e-6), so the truth at Now() is the truth of
// every read.
#pragma once

#include <memory>
#include <string>

#include "app/report_pipeline.h"
#include "base/status.h"
#include "sim/cluster_server.h"
#include "sim/scenario.h"

namespace gpuwise::testing {

class DemoReport {
 public:
  // Starts the demo cluster on a loopback block picked from the pid, writes a kubeconfig, and runs the pipeline with
  // `samples` scrapes (no wait between them), directly or through the API server's pods/proxy. `speed`: simulated
  // seconds per wall second (the default keeps time still; tests that change the cluster need it to move).
  static base::Result<std::unique_ptr<DemoReport>> Run(int samples, bool via_api_proxy = false, double speed = 1e-6);
  // The same with another scenario (a file under tests/scenarios/, read with ScenarioPath).
  static base::Result<std::unique_ptr<DemoReport>> Run(const sim::Scenario& scenario, int samples, bool via_api_proxy,
                                                       double speed);
  // Runs the report pipeline again on the running cluster (after the test changed it), `samples` scrapes.
  base::Result<app::ReportRun> Rerun(int samples) const;
  ~DemoReport();

  sim::ClusterServer& server() { return *server_; }
  const sim::World& world() const { return server_->world(); }
  double Now() const { return server_->SimulatedNow(); }
  const app::ReportRun& run() const { return run_; }
  const std::string& kubeconfig() const { return kubeconfig_; }

 private:
  DemoReport() = default;
  std::unique_ptr<sim::ClusterServer> server_;
  std::string kubeconfig_;
  bool via_api_proxy_ = false;
  app::ReportRun run_;
};

}  // namespace gpuwise::testing
