// For kube_read_test only: the built-in demo world served by the simulated kube-apiserver over HTTPS on loopback,
// seeded at a chosen simulated time and reconciled once (so that Services have their EndpointSlices), with an
// admin token and optional extra users and RBAC bindings.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "observe/kube/kube_client.h"
#include "sim/behavior.h"
#include "sim/kube_api.h"
#include "sim/kube_cluster.h"
#include "sim/kube_store.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace gpuwise::observe::kube::testing {

inline constexpr char kAdminToken[] = "admin-token-7c2e91f0aa53";

class DemoApi {
 public:
  // start_s: simulated seconds since day 0 (Monday 00:00). Day 2 02:30 has the nightly CronJob's run going.
  static constexpr double kDefaultStart = 2 * 86400.0 + 2.5 * 3600;

  // Builds everything; check ok() after.
  explicit DemoApi(sim::KubeApiOptions options = {}, double start_s = kDefaultStart) {
    base::Result<sim::Scenario> scenario = sim::BuiltinScenario("demo");
    if (!scenario.ok()) {
      status_ = scenario.status();
      return;
    }
    base::Result<sim::World> world = sim::BuildWorld(*scenario);
    if (!world.ok()) {
      status_ = world.status();
      return;
    }
    world_ = std::make_unique<sim::World>(std::move(*world));
    sim_ = std::make_unique<sim::Simulator>(*world_,
                                            sim::SimulatorOptions{.step_s = 15, .start_s = start_s, .data_dir = ""});
    sim_->AdvanceTo(start_s + 1);
    const double epoch = world_->options.epoch_unix_s;
    sim::Simulator* sp = sim_.get();
    store_ = std::make_unique<sim::KubeStore>([sp, epoch] { return epoch + sp->now(); });
    cluster_ = std::make_unique<sim::KubeCluster>(*world_, *sim_, *store_);
    cluster_->Seed();
    sim_->AdvanceTo(sim_->now() + 15);
    cluster_->Reconcile();
    sim_->SyncWithWorld();
    options.tokens[kAdminToken] = {"admin", {"system:masters"}};
    if (options.threads > 16) options.threads = 16;
    server_ = std::make_unique<sim::KubeApiServer>(*store_, options, [sp, epoch] { return epoch + sp->now(); });
    status_ = server_->Start();
  }
  ~DemoApi() {
    if (server_) server_->Stop();
  }

  const base::Status& status() const { return status_; }
  RestConfig Config(const std::string& token = kAdminToken) const {
    RestConfig c;
    c.server = server_->url();
    c.ca_pem = server_->pki().ca.cert_pem;
    c.token = token;
    c.context = "sim";
    return c;
  }
  std::unique_ptr<KubeClient> Client(const std::string& token = kAdminToken) {
    KubeClientOptions o;
    o.page_size = 40;  // several pages per LIST
    o.max_retries = 1;
    return std::make_unique<KubeClient>(Config(token), o, clock_);
  }

  base::FakeClock& clock() { return clock_; }
  const sim::World& world() const { return *world_; }
  sim::KubeStore& store() { return *store_; }
  sim::KubeApiServer& server() { return *server_; }
  double now() const { return sim_->now(); }

 private:
  base::Status status_;
  base::FakeClock clock_;
  std::unique_ptr<sim::World> world_;
  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<sim::KubeStore> store_;
  std::unique_ptr<sim::KubeCluster> cluster_;
  std::unique_ptr<sim::KubeApiServer> server_;
};

}  // namespace gpuwise::observe::kube::testing
