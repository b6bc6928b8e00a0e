// kube_api_bench: the simulated API server's LIST of 10,000 pods (JSON and Table) and its WATCH fan-out latency to
// 10 watchers, each against the limit of the same HTTP stack (cpp-httplib on loopback): the same LIST bytes served
// as a static string, and the same event line pushed to 10 chunked streams. Prints one JSON line per measurement
// (bench/run's format); ratio = anchor / value (a cost: above 1 would beat the limit, which cannot happen).
// Environment: BENCH_KUBE_PODS (default 10000), BENCH_KUBE_ROUNDS (LIST repetitions, default 15; watch events 60).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sim/behavior.h"
#include "sim/kube_api.h"
#include "sim/kube_objects.h"
#include "sim/kube_store.h"
#include "sim/scenario_gen.h"
#include "sim/world.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void Emit(const std::string& name, double value, const std::string& unit, const std::string& anchor, double anchor_value) {
  std::printf("{\"name\": \"%s\", \"value\": %.4g, \"unit\": \"%s\", \"anchor\": \"%s\", \"anchor_value\": %.4g, "
              "\"ratio\": %.3g}\n",
              name.c_str(), value, unit.c_str(), anchor.c_str(), anchor_value, anchor_value / value);
  std::fflush(stdout);
}

// Fills the store with `want` pods as the simulated cluster renders them (a synthetic fleet, repeated across
// namespaces when it has fewer pods).
void FillPods(gpuwise::sim::KubeStore& store, int want) {
  using namespace gpuwise::sim;
  auto scenario = SyntheticScenario(std::max(64, want), 1);
  auto world = BuildWorld(*scenario);
  const double t = 7 * 86400.0 + 14 * 3600;
  Simulator sim(*world, {.step_s = 15, .start_s = t, .data_dir = ""});
  sim.AdvanceTo(t + 1);
  std::vector<json> pods;
  for (std::size_t i = 0; i < world->pods.size(); ++i) {
    if (world->pods[i].alive(sim.now())) pods.push_back(PodObject(sim, static_cast<int>(i)));
  }
  const ResourceType& type = *FindResourceByKey("pods");
  for (int n = 0, copy = 0; n < want; ++copy) {
    for (const json& p : pods) {
      if (n == want) break;
      json o = p;
      if (copy > 0) {
        o["metadata"]["namespace"] = o["metadata"]["namespace"].get<std::string>() + "-" + std::to_string(copy);
        o["metadata"].erase("uid");
      }
      if (store.Create(type, std::move(o)).ok()) ++n;
    }
  }
}

struct Timed {
  std::vector<double> ms;
  std::size_t bytes = 0;
};

Timed TimeGets(int port, const std::string& path, const httplib::Headers& headers, int rounds) {
  Timed t;
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  for (int i = 0; i < rounds + 1; ++i) {
    const auto t0 = Clock::now();
    auto res = client.Get(path, headers);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!res || res->status != 200) {
      std::fprintf(stderr, "kube_api_bench: GET %s failed\n", path.c_str());
      std::exit(1);
    }
    t.bytes = res->body.size();
    if (i > 0) t.ms.push_back(ms);  // the first request warms up
  }
  return t;
}

// 10 watchers on `path`; returns, per event, the time until every watcher had it (ms).
std::vector<double> FanOut(int port, const std::string& path, const httplib::Headers& headers, int watchers,
                           int events, const std::function<void(int)>& publish) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> seen(static_cast<std::size_t>(watchers), 0);
  std::vector<std::thread> threads;
  std::atomic<bool> done{false};
  for (int w = 0; w < watchers; ++w) {
    threads.emplace_back([&, w] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(300, 0);
      std::string buf;
      auto res = client.Get(path, headers, [&](const char* data, std::size_t len) {
        buf.append(data, len);
        std::size_t nl;
        int lines = 0;
        while ((nl = buf.find('\n')) != std::string::npos) {
          buf.erase(0, nl + 1);
          ++lines;
        }
        if (lines > 0) {
          std::lock_guard lock(mu);
          seen[static_cast<std::size_t>(w)] += lines;
          cv.notify_all();
        }
        return !done.load();
      });
      if (!done.load()) {
        std::fprintf(stderr, "kube_api_bench: watch %s ended early (%s)\n", path.c_str(),
                     res ? std::to_string(res->status).c_str() : httplib::to_string(res.error()).c_str());
        std::exit(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // every watcher connected
  std::vector<double> out;
  for (int e = 1; e <= events; ++e) {
    const auto t0 = Clock::now();
    publish(e);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return *std::min_element(seen.begin(), seen.end()) >= e; });
    out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  done = true;
  publish(events + 1);  // wakes the streams so they notice
  for (std::thread& t : threads) t.join();
  return out;
}

}  // namespace

int main() {
  using namespace gpuwise::sim;
  const int pods = std::getenv("BENCH_KUBE_PODS") ? std::atoi(std::getenv("BENCH_KUBE_PODS")) : 10000;
  const int rounds = std::getenv("BENCH_KUBE_ROUNDS") ? std::atoi(std::getenv("BENCH_KUBE_ROUNDS")) : 15;
  KubeStore store([] { return 1795000000.0; });
  FillPods(store, pods);
  KubeApiOptions options;
  options.tls = false;
  options.tokens["bench"] = {"bench", {"system:masters"}};
  KubeApiServer api(store, options, [] { return 1795000000.0; });
  if (!api.Start().ok()) return 1;
  const int port = std::stoi(api.url().substr(api.url().rfind(':') + 1));
  const httplib::Headers auth = {{"Authorization", "Bearer bench"}};
  httplib::Headers table = auth;
  table.emplace("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");

  // The limit: the same bytes from a string, on the same HTTP stack.
  httplib::Client fetch("127.0.0.1", port);
  fetch.set_read_timeout(120, 0);
  const std::string json_body = fetch.Get("/api/v1/pods", auth)->body;
  const std::string table_body = fetch.Get("/api/v1/pods", table)->body;
  httplib::Server limit;
  limit.Get("/json", [&](const httplib::Request&, httplib::Response& r) { r.set_content(json_body, "application/json"); });
  limit.Get("/table", [&](const httplib::Request&, httplib::Response& r) { r.set_content(table_body, "application/json"); });
  // The watch limit: one event line, pushed to every stream when published.
  std::mutex mu;
  std::condition_variable cv;
  int published = 0;
  std::string event_line;
  limit.Get("/watch", [&](const httplib::Request&, httplib::Response& r) {
    r.set_chunked_content_provider("application/json;stream=watch", [&](std::size_t, httplib::DataSink& sink) {
      int sent = 0;
      for (;;) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return published > sent; });
        const int upto = published;
        lock.unlock();
        for (; sent < upto; ++sent) {
          if (!sink.write(event_line.data(), event_line.size())) return false;
        }
      }
    });
  });
  limit.new_task_queue = [] { return new httplib::ThreadPool(16); };
  const int limit_port = limit.bind_to_any_port("127.0.0.1");
  std::thread limit_thread([&] { limit.listen_after_bind(); });
  while (!limit.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  const std::string n = std::to_string(pods);
  const std::string anchor = "same bytes as a static string, same HTTP stack (cpp-httplib, loopback)";
  Timed api_json = TimeGets(port, "/api/v1/pods", auth, rounds);
  Timed static_json = TimeGets(limit_port, "/json", {}, rounds);
  Emit("kube_list_" + n + "_pods_json", Median(api_json.ms), "ms", anchor, Median(static_json.ms));
  Timed api_table = TimeGets(port, "/api/v1/pods", table, rounds);
  Timed static_table = TimeGets(limit_port, "/table", {}, rounds);
  Emit("kube_list_" + n + "_pods_table", Median(api_table.ms), "ms", anchor, Median(static_table.ms));
  std::fprintf(stderr, "kube_api_bench: LIST bodies %zu bytes (JSON), %zu bytes (Table)\n", api_json.bytes, api_table.bytes);

  // WATCH fan-out: a label change on one pod reaches 10 watchers of all pods.
  const std::string rv = std::to_string(store.resource_version());
  const ResourceType& type = *FindResourceByKey("pods");
  const ObjectPtr first = store.List(type, "", "", 1).items.at(0);
  const std::string ns = (*first)["metadata"]["namespace"], name = (*first)["metadata"]["name"];
  const int events = rounds * 4;
  std::vector<double> api_fan = FanOut(port, "/api/v1/pods?watch=1&resourceVersion=" + rv, auth, 10, events, [&](int e) {
    (void)store.Mutate(type, ns, name, [e](json& o) {
      o["metadata"]["labels"]["bench-round"] = std::to_string(e);
      return gpuwise::base::Status::Ok();
    });
  });
  event_line = json{{"type", "MODIFIED"}, {"object", **store.Get(type, ns, name)}}.dump() + "\n";
  std::vector<double> limit_fan = FanOut(limit_port, "/watch", {}, 10, events, [&](int) {
    std::lock_guard lock(mu);
    ++published;
    cv.notify_all();
  });
  Emit("kube_watch_fanout_10_watchers", Median(api_fan), "ms",
       "the same event line pushed to 10 chunked streams, same HTTP stack", Median(limit_fan));
  api.Stop();
  limit.stop();
  limit_thread.join();
  return 0;
}
