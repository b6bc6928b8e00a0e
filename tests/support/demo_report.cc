#include "demo_report.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sim/scenario.h"

namespace gpuwise::testing {

base::Result<std::unique_ptr<DemoReport>> DemoReport::Run(int samples, bool via_api_proxy, double speed) {
  ASSIGN_OR_RETURN(sim::Scenario scenario, sim::BuiltinScenario("demo"));
  return Run(scenario, samples, via_api_proxy, speed);
}

base::Result<std::unique_ptr<DemoReport>> DemoReport::Run(const sim::Scenario& scenario, int samples, bool via_api_proxy,
                                                          double speed) {
  sim::WorldOptions wo;
  wo.address_block = 40 + static_cast<int>(::getpid() % 40) * 4;
  ASSIGN_OR_RETURN(sim::World world, sim::BuildWorld(scenario, wo));
  sim::ClusterServerOptions co;
  co.speed = speed;
  co.kube_api = true;
  std::unique_ptr<DemoReport> d(new DemoReport());
  d->server_ = std::make_unique<sim::ClusterServer>(std::move(world), co);
  RETURN_IF_ERROR(d->server_->Start());
  ASSIGN_OR_RETURN(std::string text, d->server_->KubeApi()->Kubeconfig("report-test", {"system:masters"}, ""));
  d->kubeconfig_ = std::filesystem::temp_directory_path() / ("demo-report-" + std::to_string(::getpid()) + ".kubeconfig");
  std::ofstream(d->kubeconfig_) << text;
  d->via_api_proxy_ = via_api_proxy;
  ASSIGN_OR_RETURN(d->run_, d->Rerun(samples));
  return d;
}

base::Result<app::ReportRun> DemoReport::Rerun(int samples) const {
  app::ReportConfig c;
  c.source = app::TelemetrySource::kScrape;
  c.kubeconfig.path = kubeconfig_;
  c.scrape_samples = samples;
  c.via_api_proxy = via_api_proxy_;
  sim::ClusterServer* server = server_.get();
  const double epoch = server->world().options.epoch_unix_s;
  c.scrape_time = [server, epoch] { return static_cast<std::int64_t>((epoch + server->SimulatedNow()) * 1000.0); };
  c.scrape_sleep = [](std::chrono::milliseconds) {};
  return app::RunReport(c, base::SystemClock::Get());
}

DemoReport::~DemoReport() {
  if (server_) server_->Stop();
  if (!kubeconfig_.empty()) std::remove(kubeconfig_.c_str());
}

}  // namespace gpuwise::testing
