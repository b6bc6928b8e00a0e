// The simulated cluster, served: every pod that has a metrics endpoint listens on its own loopback address, as
// in a cluster where each pod has an IP (dcgm-exporter pods on 127.1.x.y:9400, vLLM pods on 127.2.x.y:8000,
// kube-state-metrics on 127.4.0.1:8080). Pages are rendered at request time from the Simulator, advanced to
// the current simulated time (start + speed x wall time elapsed). A reconciler thread opens listeners for pods
// that start and closes those of pods that end, so a pod's endpoint exists exactly while the pod does.
// Thread-safety: Start/Stop from one thread; requests are served on the servers' threads under one lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "sim/kube_api.h"
#include "sim/world.h"

namespace gpuwise::sim {

class KubeStore;

struct ClusterServerOptions {
  double start_s = 7 * 86400.0 + 14 * 3600.0;  // simulated time at start: day 7 (a Monday), 14:00
  double speed = 1.0;                           // simulated seconds per wall second
  // Bind port 0 on each address (the OS picks); the endpoint list and the API server publish the real ports.
  // Off: the well-known ports (9400, 8000, 8080), as in a cluster; two sims on one block then collide.
  bool ephemeral_ports = false;
  int threads_per_endpoint = 2;
  std::string data_dir;  // where traffic traces are read from (SimulatorOptions::data_dir)
  // Serve the Kubernetes API (kube_api.h) with the controllers and scheduler acting on the world (kube_cluster.h).
  bool kube_api = false;
  KubeApiOptions kube_api_options;
};

struct Endpoint {
  std::string kind;       // "dcgm-exporter", "vllm", "kube-state-metrics"
  std::string namespace_name, pod, node;
  std::string address;    // "127.1.0.1"
  int port = 0;
  std::string url() const { return "http://" + address + ":" + std::to_string(port) + "/metrics"; }
};

class ClusterServer {
 public:
  ClusterServer(World world, ClusterServerOptions options, base::Clock& clock = base::SystemClock::Get());
  ~ClusterServer();
  ClusterServer(const ClusterServer&) = delete;
  ClusterServer& operator=(const ClusterServer&) = delete;

  // Opens the endpoints of the pods alive at the start time. Errors name the address that could not be bound
  // (an address outside 127.0.0.0/8 routing, or a port in use).
  base::Status Start();
  void Stop();

  // Endpoints listening now, in pod order.
  std::vector<Endpoint> Endpoints() const;
  double SimulatedNow() const;
  // The simulator's notes (a trace that could not be read), after Start.
  std::vector<std::string> Notes() const;
  // The world. While the server runs, its control plane appends pods and re-lays MIG instances: read the scenario
  // and the node list here, and the pod count through PodCount().
  const World& world() const;
  std::size_t PodCount() const;

  // The API server (nullptr unless options.kube_api), its store, and one control-plane pass now (tests: the
  // reconciler runs every 200 ms of wall time on its own).
  KubeApiServer* KubeApi();
  KubeStore* Store();
  void ReconcileNow();
  // The page an endpoint serves at the current simulated time (also used by tests without HTTP).
  std::string RenderFor(const Endpoint& endpoint);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuwise::sim
