#include "sim/exporter_server.h"

#include <httplib.h>

#include <thread>

#include "sim/dcgm_page.h"

namespace gpuwise::sim {

struct ExporterServer::Impl {
  ExporterOptions options;
  base::Clock* clock;
  std::vector<NodeSpec> fleet;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::int64_t start_ms = 0;
};

ExporterServer::ExporterServer(ExporterOptions options, base::Clock& clock) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->clock = &clock;
}

ExporterServer::~ExporterServer() { Stop(); }

base::Status ExporterServer::Start() {
  Impl& s = *impl_;
  s.fleet = MakeFleet(s.options.num_gpus, s.options.mig_gpus_per_node, s.options.seed);
  s.start_ms = s.clock->NowUnixMillis();
  s.server.Get(R"(/nodes/([^/]+)/metrics)", [&s](const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.matches[1];
    for (const NodeSpec& node : s.fleet) {
      if (node.hostname != host) continue;
      PageOptions page;
      page.include_sm_active = s.options.include_sm_active;
      page.seed = s.options.seed;
      page.time_s = s.options.start_time_s + static_cast<double>(s.clock->NowUnixMillis() - s.start_ms) / 1000.0;
      res.set_content(RenderPage(node, page), "text/plain; version=0.0.4; charset=utf-8");
      return;
    }
    res.status = 404;
    res.set_content("no such simulated node: " + host + "\n", "text/plain");
  });
  s.port = s.server.bind_to_any_port(s.options.bind_address);
  if (s.port <= 0) return base::Unavailable("cannot bind a port on " + s.options.bind_address);
  s.thread = std::thread([&s] { s.server.listen_after_bind(); });
  while (!s.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  urls_.clear();
  for (const NodeSpec& node : s.fleet) urls_.push_back(base_url() + "/nodes/" + node.hostname + "/metrics");
  return base::Status::Ok();
}

void ExporterServer::Stop() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string ExporterServer::base_url() const {
  return "http://" + impl_->options.bind_address + ":" + std::to_string(impl_->port);
}

}  // namespace gpuwise::sim
