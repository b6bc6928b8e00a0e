#include "sim/cluster_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "sim/behavior.h"
#include "sim/endpoints.h"
#include "sim/kube_api.h"
#include "sim/kube_cluster.h"
#include "sim/kube_store.h"

namespace gpuwise::sim {
namespace {

constexpr std::string_view kTextFormat = "text/plain; version=0.0.4; charset=utf-8";

struct Listener {
  Endpoint endpoint;
  int pod = -1;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
};

}  // namespace

struct ClusterServer::Impl {
  World world;
  ClusterServerOptions options;
  base::Clock* clock = nullptr;
  std::unique_ptr<Simulator> sim;
  mutable std::mutex mu;  // guards world, sim, the control plane and page rendering
  // The Kubernetes API (options.kube_api): the store, the controllers that act on the world, the HTTP server.
  std::unique_ptr<KubeStore> store;
  std::unique_ptr<KubeCluster> control;
  std::unique_ptr<KubeApiServer> api;
  std::int64_t wall_start_ms = 0;

  mutable std::mutex listeners_mu;
  std::map<int, Listener> listeners;  // by pod index
  std::thread reconciler;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;

  double Now() const {
    return options.start_s +
           options.speed * static_cast<double>(clock->NowUnixMillis() - wall_start_ms) / 1000.0;
  }

  std::optional<Endpoint> EndpointOf(int i) const {
    const SimPod& pod = world.pods[static_cast<std::size_t>(i)];
    if (pod.port == 0 || pod.ip.empty()) return std::nullopt;
    Endpoint e;
    e.kind = std::string(EndpointJob(pod));
    e.namespace_name = pod.meta.namespace_name;
    e.pod = pod.meta.name;
    e.node = pod.node;
    e.address = pod.ip;
    e.port = options.ephemeral_ports ? 0 : pod.port;
    return e;
  }

  // Renders pod i's page at the current simulated time. Caller holds mu.
  std::string Render(int i, int* status) {
    sim->AdvanceTo(Now());
    bool up = false;
    std::string page = RenderEndpoint(*sim, i, &up);
    *status = up ? 200 : 503;
    return page;
  }

  base::Status Open(int i, const Endpoint& endpoint) {
    const Endpoint* e = &endpoint;
    Listener l;
    l.pod = i;
    l.endpoint = *e;
    l.server = std::make_unique<httplib::Server>();
    const int threads = options.threads_per_endpoint;
    l.server->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    l.server->Get("/metrics", [this, i](const httplib::Request&, httplib::Response& res) {
      int status = 200;
      std::string body;
      {
        std::lock_guard<std::mutex> lock(mu);
        body = Render(i, &status);
      }
      res.status = status;
      if (status == 200) res.set_content(body, std::string(kTextFormat));
    });
    int port = e->port;
    if (port == 0) {
      port = l.server->bind_to_any_port(e->address);
      if (port <= 0) return base::Unavailable("cannot bind a port on " + e->address + " for pod " + e->pod);
    } else if (!l.server->bind_to_port(e->address, port)) {
      return base::Unavailable("cannot bind " + e->address + ":" + std::to_string(port) + " for pod " +
                               e->namespace_name + "/" + e->pod +
                               " (in use? another simulated cluster may be running; use --ephemeral-ports)");
    }
    l.endpoint.port = port;
    httplib::Server* srv = l.server.get();
    l.thread = std::thread([srv] { srv->listen_after_bind(); });
    for (int waited = 0; !srv->is_running(); ++waited) {
      if (waited == 5000) {  // listen_after_bind failed: it never runs
        srv->stop();
        l.thread.join();
        return base::Unavailable("the listener for pod " + e->namespace_name + "/" + e->pod + " on " + e->address +
                                 " did not start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    listeners.emplace(i, std::move(l));
    return base::Status::Ok();
  }

  void Close(int i) {
    auto it = listeners.find(i);
    if (it == listeners.end()) return;
    it->second.server->stop();
    if (it->second.thread.joinable()) it->second.thread.join();
    listeners.erase(it);
  }

  // Runs the control plane to now, then opens listeners of pods alive now and closes those of pods that ended.
  base::Status Reconcile() {
    const double t = Now();
    std::vector<std::pair<int, std::optional<Endpoint>>> alive;  // pods that should listen
    {
      std::lock_guard<std::mutex> lock(mu);
      if (control) {
        sim->AdvanceTo(t);
        control->Reconcile();
        sim->SyncWithWorld();
      }
      for (std::size_t i = 0; i < world.pods.size(); ++i) {
        if (world.pods[i].alive(t) && !world.pods[i].node.empty()) {
          std::optional<Endpoint> e = EndpointOf(static_cast<int>(i));
          if (e) alive.emplace_back(static_cast<int>(i), std::move(e));
        }
      }
    }
    std::lock_guard<std::mutex> lock(listeners_mu);
    std::map<int, bool> keep;
    for (const auto& [i, e] : alive) {
      keep[i] = true;
      if (listeners.count(i) == 0) RETURN_IF_ERROR(Open(i, *e));
    }
    std::vector<int> ended;
    for (const auto& [i, l] : listeners) {
      if (keep.count(i) == 0) ended.push_back(i);
    }
    for (int i : ended) Close(i);
    return base::Status::Ok();
  }
};

ClusterServer::ClusterServer(World world, ClusterServerOptions options, base::Clock& clock)
    : impl_(std::make_unique<Impl>()) {
  impl_->world = std::move(world);
  impl_->options = options;
  impl_->clock = &clock;
}

ClusterServer::~ClusterServer() { Stop(); }

base::Status ClusterServer::Start() {
  Impl& s = *impl_;
  s.wall_start_ms = s.clock->NowUnixMillis();
  s.sim = std::make_unique<Simulator>(s.world, SimulatorOptions{.step_s = 15, .start_s = s.options.start_s, .data_dir = s.options.data_dir});
  s.sim->AdvanceTo(s.options.start_s + 1);  // one step: pages show the last completed step
  s.stopping = false;
  if (s.options.kube_api) {
    const double epoch = s.world.options.epoch_unix_s;
    Impl* impl = &s;
    s.store = std::make_unique<KubeStore>([impl, epoch] { return epoch + impl->Now(); });
    s.control = std::make_unique<KubeCluster>(s.world, *s.sim, *s.store);
    s.control->Seed();
    s.control->Reconcile();
    s.sim->SyncWithWorld();
    KubeApiOptions api = s.options.kube_api_options;
    s.api = std::make_unique<KubeApiServer>(*s.store, api, [impl, epoch] { return epoch + impl->Now(); });
    s.api->SetPodLog([impl](std::string_view ns, std::string_view name, std::string_view) {
      std::lock_guard<std::mutex> lock(impl->mu);
      return impl->control->PodLog(ns, name);
    });
    if (base::Status st = s.api->Start(); !st.ok()) {
      Stop();
      return st;
    }
  }
  base::Status st = s.Reconcile();
  if (!st.ok()) {
    Stop();
    return st;
  }
  s.reconciler = std::thread([&s] {
    std::unique_lock<std::mutex> lock(s.stop_mu);
    // Every 200 ms, or less often when a pass is long (a large cluster): the control plane takes at most a
    // fifth of a core.
    std::chrono::milliseconds wait(200);
    while (!s.stop_cv.wait_for(lock, wait, [&s] { return s.stopping; })) {
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      (void)s.Reconcile();  // a bind failure for a pod that starts later leaves it without an endpoint
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      wait = std::max(std::chrono::milliseconds(200), 4 * took);
      lock.lock();
    }
  });
  return base::Status::Ok();
}

void ClusterServer::Stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.stop_mu);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
  if (s.reconciler.joinable()) s.reconciler.join();
  if (s.api) s.api->Stop();
  std::lock_guard<std::mutex> lock(s.listeners_mu);
  std::vector<int> open;
  for (const auto& [i, l] : s.listeners) open.push_back(i);
  for (int i : open) s.Close(i);
}

std::vector<Endpoint> ClusterServer::Endpoints() const {
  std::lock_guard<std::mutex> lock(impl_->listeners_mu);
  std::vector<Endpoint> out;
  for (const auto& [i, l] : impl_->listeners) out.push_back(l.endpoint);
  return out;
}

double ClusterServer::SimulatedNow() const { return impl_->Now(); }

KubeApiServer* ClusterServer::KubeApi() { return impl_->api.get(); }

KubeStore* ClusterServer::Store() { return impl_->store.get(); }

void ClusterServer::ReconcileNow() { (void)impl_->Reconcile(); }

std::vector<std::string> ClusterServer::Notes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->sim ? impl_->sim->notes() : std::vector<std::string>{};
}
const World& ClusterServer::world() const { return impl_->world; }

std::size_t ClusterServer::PodCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->world.pods.size();
}

std::string ClusterServer::RenderFor(const Endpoint& endpoint) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (std::size_t i = 0; i < impl_->world.pods.size(); ++i) {
    const SimPod& pod = impl_->world.pods[i];
    if (pod.meta.name == endpoint.pod && pod.meta.namespace_name == endpoint.namespace_name) {
      int status = 0;
      return impl_->Render(static_cast<int>(i), &status);
    }
  }
  return "";
}

}  // namespace gpuwise::sim
