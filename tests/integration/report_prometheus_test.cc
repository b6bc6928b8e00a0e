// `gpuwise report` through a real Prometheus (Debian's `prometheus` package), checked against the same data scraped:
// three hours of the demo cluster's past (a nightly CronJob run that starts and ends inside the window) are written
// as OpenMetrics (dcgm-exporter, vLLM and kube-state-metrics pages, sim/history.h), backfilled with promtool and
// served by Prometheus; the simulated API server is started at the window's end, so the finished CronJob pod is not
// in the API and only kube-state-metrics knows it. The report read through Prometheus (raw read) must give, for
// every device and hour, the same holders and sample counts as the very same pages fed through the scrape path
// (DcgmTelemetryBuilder + ScrapeWindow + BuildRangeSnapshot), the same ledger to the micro-dollar, the same usage
// quantiles, quantiles that agree with Prometheus's own quantile_over_time within the stated bound, and money
// identities against the scenario's prices. An aggregated read (hourly means and counts) must give the same holds
// and ledger, and quantile bounds above the raw ones. A rollout (two hours days earlier, same Prometheus) must hand
// each GPU from the old pod (kube-state-metrics) to the new one (API), both by label. Also: a Prometheus that is
// down is an error naming its URL, and a Prometheus without kube-state-metrics attributes the gone pod from its
// name, with the report's attribution classes carrying its cost.
// Skips when promtool or prometheus is not installed. About 80 s on 2 busy cores (most of it history + promtool).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "analyze/cost.h"
#include "app/report_pipeline.h"
#include "observe/ksm_history.h"
#include "observe/prom/dcgm_catalog.h"
#include "observe/prom/dcgm_telemetry.h"
#include "observe/prom/prom_client.h"
#include "observe/prometheus_source.h"
#include "observe/scrape_window.h"
#include "observe/snapshot_builder.h"
#include "prometheus_process.h"
#include "sim/behavior.h"
#include "sim/cluster_server.h"
#include "sim/endpoints.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace gpuwise {
namespace {

namespace fs = std::filesystem;
namespace prom = observe::prom;

constexpr double kHour = 3600;
constexpr double kDay = 86400;
// Day 7 (a Monday) 01:00-04:00: the nightly-summaries CronJob runs 02:00-03:30 on the spot L4 node, so one GPU pod
// starts and ends inside the window; the API server, started at 04:00, no longer has it.
constexpr double kStartS = 7 * kDay + 1 * kHour;
constexpr double kEndS = 7 * kDay + 4 * kHour;
// The simulator's step, and the scrape interval of the history: every Prometheus step then lands on a sample.
constexpr double kScrapeS = 15;
// The rollout's two hours are kept at 30 s (half the backfill): a raw read at a 30 s step reads each sample once.
constexpr double kRolloutScrapeS = 30;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// History of [start_s, end_s) scraped every interval_s -> OpenMetrics files -> promtool blocks in dir/tsdb (added to
// what is there). "" on success, else why.
std::string Backfill(const sim::World& world, double start_s, double end_s, double interval_s, const fs::path& dir) {
  sim::HistoryOptions options;
  options.start_s = start_s;
  options.end_s = end_s;
  options.scrape_interval_s = interval_s;
  auto stats = sim::WriteHistoryToDir(world, options, (dir / "om").string());
  if (!stats.ok()) return "history: " + stats.status().ToString();
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir / "om")) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  fs::create_directories(dir / "tsdb");
  const std::string promtool = testing::Which("promtool");
  for (const auto& f : files) {
    if (testing::RunCommand({promtool, "tsdb", "create-blocks-from", "openmetrics", f.string(), (dir / "tsdb").string()},
                            dir / "promtool.log") != 0) {
      return "promtool failed on " + f.string() + ":\n" + ReadFile(dir / "promtool.log").substr(0, 4000);
    }
  }
  fs::remove_all(dir / "om");
  return "";
}

// The first rollout of a Deployment on whole, unshared GPUs: the old pod and the new one in its slot, which takes
// the same GPUs when the old one is deleted. {nullptr, nullptr} when the world has none.
std::pair<const sim::SimPod*, const sim::SimPod*> FirstRollout(const sim::World& world) {
  const sim::SimPod *old_pod = nullptr, *new_pod = nullptr;
  for (const sim::SimPod& a : world.pods) {
    if (a.workload < 0 || a.gpus.empty() || a.end_s == sim::kForever || a.succeeds || a.owner.kind != "ReplicaSet") continue;
    const sim::WorkloadSpec& spec = world.scenario.workloads[static_cast<std::size_t>(a.workload)];
    if (spec.owner != sim::OwnerKind::kDeployment) continue;
    bool whole = true;
    for (const sim::GpuBinding& b : a.gpus) {
      whole = whole && b.mig < 0 && b.replica < 0 &&
              world.nodes[static_cast<std::size_t>(b.node)].sharing.mode != sim::SharingMode::kHami;
    }
    if (!whole) continue;
    for (const sim::SimPod& b : world.pods) {
      if (b.workload == a.workload && b.replica == a.replica && b.start_s == a.end_s &&
          (old_pod == nullptr || a.end_s < old_pod->end_s)) {
        old_pod = &a;
        new_pod = &b;
      }
    }
  }
  return {old_pod, new_pod};
}

std::int64_t UnixS(const sim::World& world, double t) {
  return static_cast<std::int64_t>(std::llround(world.options.epoch_unix_s + t));
}

// The scrape side: every dcgm-exporter page of the world at each scrape time of [start_s, end_s), rendered by the
// Simulator as the history writer renders them (sim/endpoints.h, one Simulator stepped in 15 s steps from one step
// before the first scrape, pods scraped while alive), fed through the scrape path's own builder, one
// Telemetry per scrape time, into a ScrapeWindow.
observe::RangeTelemetry ScrapeHistory(const sim::World& world, double start_s, double end_s, int* pages) {
  sim::SimulatorOptions so;
  so.step_s = 15;
  so.start_s = start_s - 15;
  sim::Simulator sim(world, so);
  observe::ScrapeWindow window;
  for (std::int64_t k = 0;; ++k) {
    const double t = start_s + static_cast<double>(k) * kScrapeS;
    if (!(t < end_s)) break;
    sim.AdvanceTo(t);
    prom::DcgmTelemetryBuilder builder;
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      const sim::SimPod& pod = world.pods[i];
      if (sim::EndpointJob(pod) != "dcgm-exporter" || pod.port == 0 || pod.ip.empty() || !pod.alive(t)) continue;
      bool up = false;
      const std::string page = sim::RenderEndpoint(sim, static_cast<int>(i), &up);
      if (!up) continue;
      builder.AddPage(page, prom::Format::kText, "http://" + pod.ip + ":" + std::to_string(pod.port) + "/metrics");
      ++*pages;
    }
    window.Add(builder.Finish(), std::llround((world.options.epoch_unix_s + t) * 1000));
  }
  return window.Take();
}

// A holder as both snapshots can name it.
struct Holder {
  std::string pod;
  model::HoldHow how;
  double share, fraction;
  bool operator<(const Holder& o) const { return std::tie(pod, how) < std::tie(o.pod, o.how); }
};
std::vector<Holder> HoldersOf(const model::Snapshot& s, const model::DeviceInterval& u) {
  std::vector<Holder> out;
  for (const model::DeviceHold& h : u.holds) {
    const model::Pod& p = s.pods[static_cast<std::size_t>(h.pod)];
    out.push_back({p.namespace_name + "/" + p.name, h.how, h.share, h.fraction});
  }
  std::sort(out.begin(), out.end());
  return out;
}

int DeviceByKey(const model::Snapshot& s, const std::string& key) {
  for (std::size_t d = 0; d < s.devices.size(); ++d) {
    if (s.devices[d].key == key) return static_cast<int>(d);
  }
  return -1;
}

int WorkloadByKey(const model::Snapshot& s, const model::WorkloadKey& key) {
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    if (s.workloads[w].key == key) return static_cast<int>(w);
  }
  return -1;
}

int PodByName(const model::Snapshot& s, const std::string& ns, const std::string& name) {
  for (std::size_t p = 0; p < s.pods.size(); ++p) {
    if (s.pods[p].namespace_name == ns && s.pods[p].name == name) return static_cast<int>(p);
  }
  return -1;
}

// GPU cost of the window, independently of gpuwise: every node's GPUs at the scenario's price per GPU-hour, times
// the window's hours (whole hours, so no rounding).
std::int64_t ScenarioGpuCost(const sim::World& world, double hours) {
  std::int64_t per_hour = 0;
  for (std::size_t n = 0; n < world.nodes.size(); ++n) {
    per_hour += sim::GpuHourPrice(world, static_cast<int>(n)).value * static_cast<std::int64_t>(world.nodes[n].gpus.size());
  }
  return per_hour * static_cast<std::int64_t>(std::llround(hours));
}

void ExpectMoneyIdentities(const analyze::CostLedger& l, std::int64_t expected_gpu_cost, const char* which) {
  EXPECT_EQ(l.gpu_cost, expected_gpu_cost) << which;
  std::int64_t workloads = 0;
  for (const auto& w : l.workloads) {
    EXPECT_EQ(w.money.allocated(), w.money.used + w.money.idle) << which;
    EXPECT_GE(w.money.used, 0) << which;
    EXPECT_GE(w.money.idle, 0) << which;
    workloads += w.money.allocated();
  }
  EXPECT_EQ(workloads + l.unallocated, expected_gpu_cost) << which;
  for (const auto& n : l.nodes) EXPECT_EQ(n.allocated.allocated() + n.unallocated, n.cost) << which;
}

// World pods holding a GPU whose life ends inside [start_s, end_s) after starting before end_s.
std::vector<const sim::SimPod*> GpuPodsEndingInside(const sim::World& world, double start_s, double end_s) {
  std::vector<const sim::SimPod*> out;
  for (const sim::SimPod& p : world.pods) {
    if (p.gpus.empty() || p.node.empty() || p.start_s >= end_s) continue;
    if (p.end_s > start_s && p.end_s < end_s) out.push_back(&p);
  }
  return out;
}

// Differences between two snapshots of the same window and their ledgers, by kind, with the first few examples:
// a failure says what differs and where without a line per device.
struct Differences {
  std::map<std::string, int> count;
  std::map<std::string, std::vector<std::string>> examples;
  std::map<std::string, std::pair<double, std::string>> worst;  // by `size`, when given
  void Add(const std::string& kind, const std::string& example, double size = 0) {
    if (++count[kind] <= 4) examples[kind].push_back(example);
    auto& w = worst[kind];
    if (size > w.first) w = {size, example};
  }
  int Of(const std::string& kind) const {
    auto it = count.find(kind);
    return it == count.end() ? 0 : it->second;
  }
  std::string Describe(const std::string& kind) const {
    std::string out = kind + ": " + std::to_string(Of(kind)) + " differences";
    if (auto w = worst.find(kind); w != worst.end() && w->second.first > 0) out += "\n  largest: " + w->second.second;
    auto it = examples.find(kind);
    if (it != examples.end()) {
      for (const std::string& e : it->second) out += "\n  " + e;
    }
    return out;
  }
};

// Per device and interval: sample counts, usage means (relative tolerance `mean_tolerance`), holders (pod, how,
// weight within 1e-9); per workload: the ledger to the micro-dollar and GPU-hours within 1e-9.
Differences Compare(const model::Snapshot& a, const analyze::CostLedger& la, const model::Snapshot& b,
                    const analyze::CostLedger& lb, double mean_tolerance, int* compared, int* held) {
  Differences diff;
  std::set<std::string> keys_a, keys_b;
  for (const auto& d : a.devices) keys_a.insert(d.key);
  for (const auto& d : b.devices) keys_b.insert(d.key);
  for (const std::string& k : keys_a) {
    if (!keys_b.count(k)) diff.Add("devices", k + " only in the first");
  }
  for (const std::string& k : keys_b) {
    if (!keys_a.count(k)) diff.Add("devices", k + " only in the second");
  }
  if (a.intervals != b.intervals) diff.Add("intervals", std::to_string(a.intervals) + " vs " + std::to_string(b.intervals));
  const int intervals = std::min(a.intervals, b.intervals);
  for (std::size_t da = 0; da < a.devices.size(); ++da) {
    const int db = DeviceByKey(b, a.devices[da].key);
    if (db < 0) continue;
    if (a.devices[da].compute_source != b.devices[static_cast<std::size_t>(db)].compute_source) {
      diff.Add("compute source", a.devices[da].key);
    }
    for (int i = 0; i < intervals; ++i) {
      const model::DeviceInterval& ua = a.usage[da * static_cast<std::size_t>(a.intervals) + static_cast<std::size_t>(i)];
      const model::DeviceInterval& ub = b.usage[static_cast<std::size_t>(db) * static_cast<std::size_t>(b.intervals) + static_cast<std::size_t>(i)];
      const std::string where = a.devices[da].key + " interval " + std::to_string(i);
      ++*compared;
      if (ua.samples != ub.samples) {
        diff.Add("samples", where + ": " + std::to_string(ua.samples) + " vs " + std::to_string(ub.samples));
      }
      for (const auto& [name, m] : {std::pair{"compute", &model::DeviceInterval::compute},
                                    std::pair{"fb_used", &model::DeviceInterval::fb_used_bytes},
                                    std::pair{"dram", &model::DeviceInterval::dram},
                                    std::pair{"power", &model::DeviceInterval::power_watts}}) {
        const double x = ua.*m, y = ub.*m;
        if (std::isnan(x) != std::isnan(y) ||
            (!std::isnan(x) && std::fabs(x - y) > mean_tolerance * std::max(1.0, std::fabs(x)))) {
          diff.Add(std::string("mean ") + name, where + ": " + std::to_string(x) + " vs " + std::to_string(y),
                   std::isnan(x) || std::isnan(y) ? 1 : std::fabs(x - y) / std::max(std::fabs(x), std::fabs(y)));
        }
      }
      const std::vector<Holder> ha = HoldersOf(a, ua), hb = HoldersOf(b, ub);
      *held += static_cast<int>(ha.size());
      bool same = ha.size() == hb.size();
      for (std::size_t k = 0; same && k < ha.size(); ++k) {
        same = ha[k].pod == hb[k].pod && ha[k].how == hb[k].how &&
               std::fabs(ha[k].share * ha[k].fraction - hb[k].share * hb[k].fraction) <= 1e-9;
      }
      if (!same) {
        std::string text = where + ":";
        for (const auto* side : {&ha, &hb}) {
          text += side == &ha ? " {" : " } vs {";
          for (const Holder& h : *side) {
            text += " " + h.pod + " " + std::string(model::HoldHowName(h.how)) + " " + std::to_string(h.share * h.fraction);
          }
        }
        diff.Add("holders", text + " }");
      }
    }
  }
  if (a.workloads.size() != b.workloads.size()) {
    diff.Add("workloads", std::to_string(a.workloads.size()) + " vs " + std::to_string(b.workloads.size()));
  }
  for (std::size_t wa = 0; wa < a.workloads.size(); ++wa) {
    const int wb = WorkloadByKey(b, a.workloads[wa].key);
    if (wb < 0) {
      diff.Add("workloads", a.workloads[wa].key.str() + " only in the first");
      continue;
    }
    const analyze::WorkloadCost& ca = la.workloads[wa];
    const analyze::WorkloadCost& cb = lb.workloads[static_cast<std::size_t>(wb)];
    if (ca.money.used != cb.money.used || ca.money.idle != cb.money.idle || ca.money.unmeasured != cb.money.unmeasured ||
        std::fabs(ca.gpu_hours - cb.gpu_hours) > 1e-9) {
      diff.Add("ledger", a.workloads[wa].key.str() + ": used " + std::to_string(ca.money.used) + " vs " +
                             std::to_string(cb.money.used) + ", idle " + std::to_string(ca.money.idle) + " vs " +
                             std::to_string(cb.money.idle) + ", GPU-hours " + std::to_string(ca.gpu_hours) + " vs " +
                             std::to_string(cb.gpu_hours),
               static_cast<double>(std::llabs(ca.money.used - cb.money.used) + std::llabs(ca.money.idle - cb.money.idle)) + 1);
    }
  }
  if (la.gpu_cost != lb.gpu_cost || la.unallocated != lb.unallocated) {
    diff.Add("ledger", "GPU cost " + std::to_string(la.gpu_cost) + " vs " + std::to_string(lb.gpu_cost) + ", unallocated " +
                           std::to_string(la.unallocated) + " vs " + std::to_string(lb.unallocated));
  }
  return diff;
}

const char* const kKinds[] = {"devices",      "intervals",  "compute source", "samples",   "mean compute", "mean fb_used",
                              "mean dram",    "mean power", "holders",        "workloads", "ledger"};

class ReportPrometheusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::Which("promtool").empty() || testing::Which("prometheus").empty()) return;  // each test skips
    auto scenario = sim::BuiltinScenario("demo");
    ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
    sim::WorldOptions wo;
    wo.address_block = 120 + static_cast<int>(::getpid() % 30) * 4;
    auto world = sim::BuildWorld(*scenario, wo);
    ASSERT_TRUE(world.ok()) << world.status().ToString();
    world_ = new sim::World(*world);
    dir_ = new fs::path(fs::temp_directory_path() / ("gpuwise-report-prom-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);

    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(Backfill(*world_, kStartS, kEndS, kScrapeS, *dir_ / "full"), "");
    // Days earlier, in the same TSDB: the hour of the first rollout and the next (ARolloutHandsEachGpu...).
    const auto [old_pod, new_pod] = FirstRollout(*world_);
    if (old_pod != nullptr) {
      const double from = std::floor(old_pod->end_s / kHour) * kHour;
      ASSERT_EQ(Backfill(*world_, from, from + 2 * kHour, kRolloutScrapeS, *dir_ / "full"), "");
    }
    const auto t1 = std::chrono::steady_clock::now();
    prometheus_ = new testing::PrometheusProcess();
    ASSERT_EQ(prometheus_->Start(*dir_ / "full", "global:\n  scrape_interval: 15s\nscrape_configs: []\n"), "");

    // "Now" is the window's end: the API server has the pods alive then, not the finished CronJob run.
    sim::ClusterServerOptions co;
    co.start_s = kEndS;
    co.speed = 1e-6;  // time stands still
    co.kube_api = true;
    co.ephemeral_ports = true;
    server_ = new sim::ClusterServer(*world, co);
    ASSERT_TRUE(server_->Start().ok());
    auto text = server_->KubeApi()->Kubeconfig("report-prometheus-test", {"system:masters"}, "");
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    kubeconfig_ = new std::string((*dir_ / "kubeconfig").string());
    std::ofstream(*kubeconfig_) << *text;

    auto run = app::RunReport(Config(prometheus_->url(), kStartS, kEndS), base::SystemClock::Get());
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    run_ = new app::ReportRun(std::move(*run));
    const auto t2 = std::chrono::steady_clock::now();

    // The scrape side, over the same pages, the same cluster and the same past pods, priced the same way.
    prom::PromClientOptions po;
    po.base_url = prometheus_->url();
    prom::PromClient client(po, base::SystemClock::Get());
    auto ksm = observe::ReadKsmHistory(client, UnixS(*world_, kStartS), UnixS(*world_, kEndS));
    ASSERT_TRUE(ksm.ok()) << ksm.status().ToString();
    ksm_ = new observe::KsmHistory(std::move(*ksm));
    int pages = 0;
    const observe::RangeTelemetry range = ScrapeHistory(*world_, kStartS, kEndS, &pages);
    EXPECT_GT(pages, 0);
    prices_ = new std::map<std::string, model::NodePrice>();
    const std::vector<model::NodePrice> priced = run_->prices.PriceNodes(run_->cluster.nodes, UnixS(*world_, kEndS) - 1);
    for (std::size_t i = 0; i < priced.size(); ++i) (*prices_)[run_->cluster.nodes[i].name] = priced[i];
    observe::SnapshotOptions so;
    so.interval_s = 3600;
    so.pricer = [](const model::Node& node, std::int64_t) {
      auto it = prices_->find(node.name);
      if (it == prices_->end()) {
        observe::NodePriceQuote q;
        q.unpriced_reason = "not in the fleet";
        return q;
      }
      return observe::NodePriceQuote::From(it->second);
    };
    auto scraped = observe::BuildRangeSnapshot(run_->cluster, ksm_->pods, range, UnixS(*world_, kStartS),
                                               UnixS(*world_, kEndS), so);
    ASSERT_TRUE(scraped.ok()) << scraped.status().ToString();
    scraped_ = new model::Snapshot(std::move(*scraped));
    scraped_ledger_ = new analyze::CostLedger(analyze::ComputeCosts(*scraped_));
    const auto t3 = std::chrono::steady_clock::now();
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    std::printf("history + promtool %.1f s, report through Prometheus %.1f s (%lld points, %d requests), scrape side "
                "%.1f s (%d pages)\n",
                secs(t0, t1), secs(t1, t2), static_cast<long long>(run_->telemetry_points), run_->telemetry_requests,
                secs(t2, t3), pages);
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Stop();
    delete server_;
    server_ = nullptr;
    if (prometheus_ != nullptr) prometheus_->Stop();
    delete prometheus_;
    prometheus_ = nullptr;
    delete run_;
    delete ksm_;
    delete scraped_;
    delete scraped_ledger_;
    delete prices_;
    delete world_;
    delete kubeconfig_;
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    if (testing::Which("promtool").empty() || testing::Which("prometheus").empty()) {
      GTEST_SKIP() << "needs Debian's prometheus package (promtool + prometheus); scripts/install-deps test installs it";
    }
    ASSERT_NE(run_, nullptr);
    ASSERT_NE(scraped_, nullptr);
  }

  static app::ReportConfig Config(const std::string& url, double start_s, double end_s, double step_s = kScrapeS) {
    app::ReportConfig c;
    c.source = app::TelemetrySource::kPrometheus;
    c.kubeconfig.path = *kubeconfig_;
    c.prometheus.base_url = url;
    c.start_unix_s = UnixS(*world_, start_s);
    c.end_unix_s = UnixS(*world_, end_s);
    c.step = std::chrono::milliseconds(static_cast<std::int64_t>(step_s * 1000));
    c.read_mode = app::ReportConfig::ReadMode::kRaw;  // every sample, as a scrape sees them
    return c;
  }

  static sim::World* world_;
  static fs::path* dir_;
  static testing::PrometheusProcess* prometheus_;
  static sim::ClusterServer* server_;
  static std::string* kubeconfig_;
  static app::ReportRun* run_;
  static observe::KsmHistory* ksm_;
  static std::map<std::string, model::NodePrice>* prices_;
  static model::Snapshot* scraped_;
  static analyze::CostLedger* scraped_ledger_;
};
sim::World* ReportPrometheusTest::world_ = nullptr;
fs::path* ReportPrometheusTest::dir_ = nullptr;
testing::PrometheusProcess* ReportPrometheusTest::prometheus_ = nullptr;
sim::ClusterServer* ReportPrometheusTest::server_ = nullptr;
std::string* ReportPrometheusTest::kubeconfig_ = nullptr;
app::ReportRun* ReportPrometheusTest::run_ = nullptr;
observe::KsmHistory* ReportPrometheusTest::ksm_ = nullptr;
std::map<std::string, model::NodePrice>* ReportPrometheusTest::prices_ = nullptr;
model::Snapshot* ReportPrometheusTest::scraped_ = nullptr;
analyze::CostLedger* ReportPrometheusTest::scraped_ledger_ = nullptr;

TEST_F(ReportPrometheusTest, GonePodsComeFromKubeStateMetricsWithTheirWorkloadAndTeam) {
  const model::Snapshot& s = run_->snapshot;
  const std::vector<const sim::SimPod*> gone = GpuPodsEndingInside(*world_, kStartS, kEndS);
  ASSERT_FALSE(gone.empty()) << "the window holds no GPU pod that ends inside it: the test would prove nothing";
  ASSERT_TRUE(ksm_->found);
  // The team rule an API pod with the same gpuwise.io/team label gets, for comparison.
  std::string api_team_rule;
  for (const model::Workload& w : s.workloads) {
    if (w.source == model::AttributionSource::kApi && w.key.name == "llama-3-70b-chat") api_team_rule = w.team_rule;
  }
  ASSERT_FALSE(api_team_rule.empty());
  for (const sim::SimPod* p : gone) {
    SCOPED_TRACE(p->meta.name);
    EXPECT_EQ(run_->cluster.FindPod(p->meta.namespace_name, p->meta.name), nullptr) << "still in the API at the window's end";
    const int sp = PodByName(s, p->meta.namespace_name, p->meta.name);
    ASSERT_GE(sp, 0);
    const model::Pod& pod = s.pods[static_cast<std::size_t>(sp)];
    EXPECT_EQ(pod.source, model::AttributionSource::kKubeState);
    EXPECT_EQ(pod.node, p->node);
    EXPECT_TRUE(pod.RequestsGpu());
    EXPECT_EQ(pod.start_unix_s, UnixS(*world_, p->start_s));
    EXPECT_EQ(pod.end_unix_s, UnixS(*world_, p->end_s));
    const sim::WorkloadSpec& spec = world_->scenario.workloads[static_cast<std::size_t>(p->workload)];
    const model::Workload& w = s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])];
    EXPECT_EQ(w.key.namespace_name, spec.namespace_name);
    EXPECT_EQ(w.key.name, spec.name);
    EXPECT_EQ(w.key.kind, "CronJob");
    // Its pods are the runs that lived in the window; kube-state-metrics still lists earlier finished runs (until
    // their Job is deleted), which are not.
    std::size_t runs = 0;
    for (const sim::SimPod& q : world_->pods) runs += q.workload == p->workload && q.start_s < kEndS && q.end_s > kStartS;
    EXPECT_EQ(w.pods.size(), runs);
    EXPECT_EQ(w.team, spec.labels.at("gpuwise.io/team"));
    // Its own gpuwise.io/team label (exported by kube-state-metrics as label_gpuwise_io_team), not a fallback.
    EXPECT_EQ(w.team_rule, api_team_rule);
    // Its GPU: held by label (dcgm-exporter's pod label, the pod known from kube-state-metrics) for its life inside
    // each hour, as far as the label goes: the simulated exporter labels a device from the container's start (after
    // the image pull) until one simulator step after the pod ends, and the builder takes an exclusive device's
    // labelled share of the samples as the hold. So the hold misses up to the cold start and adds up to two scrapes.
    const sim::WorkloadSpec& wspec = world_->scenario.workloads[static_cast<std::size_t>(p->workload)];
    const double lag_s = sim::ColdStartSeconds(world_->scenario, wspec) + kScrapeS, linger_s = 2 * kScrapeS;
    const std::int64_t start = UnixS(*world_, p->start_s), end = UnixS(*world_, p->end_s);
    double held_s = 0;
    for (const model::DeviceInterval& u : s.usage) {
      for (const model::DeviceHold& h : u.holds) {
        if (h.pod != sp) continue;
        EXPECT_EQ(h.how, model::HoldHow::kLabel);
        const std::int64_t a = std::max(s.IntervalStart(u.interval), s.start_unix_s);
        const std::int64_t b = std::min(s.IntervalStart(u.interval) + s.interval_s, s.end_unix_s);
        const double alive = static_cast<double>(std::max<std::int64_t>(0, std::min(b, end) - std::max(a, start))) / (b - a);
        EXPECT_LE(h.fraction, alive + linger_s / (b - a) + 1e-9) << "interval " << u.interval;
        EXPECT_GE(h.fraction, alive - lag_s / (b - a) - 1e-9) << "interval " << u.interval;
        held_s += h.weight() * static_cast<double>(b - a);
      }
    }
    const double life_s = static_cast<double>(p->gpus.size()) * (std::min<double>(p->end_s, kEndS) - std::max<double>(p->start_s, kStartS));
    EXPECT_GE(held_s, life_s - static_cast<double>(p->gpus.size()) * lag_s);
    EXPECT_LE(held_s, life_s + static_cast<double>(p->gpus.size()) * linger_s);
    std::printf("%s: alive %.0f GPU-s in the window, held by label %.0f GPU-s\n", p->meta.name.c_str(), life_s, held_s);
    const analyze::WorkloadCost& c = run_->ledger.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])];
    EXPECT_GT(c.money.allocated(), 0);
    EXPECT_EQ(w.source, model::AttributionSource::kKubeState);
  }
  // The report's attribution classes carry that cost.
  std::int64_t ksm_cost = 0;
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    if (s.workloads[w].source == model::AttributionSource::kKubeState) ksm_cost += run_->ledger.workloads[w].money.allocated();
  }
  bool found = false;
  for (const analyze::ClassRow& c : run_->report.classes) {
    if (c.source != "kube-state-metrics") continue;
    found = true;
    EXPECT_EQ(c.cost, ksm_cost);
    EXPECT_GT(c.cost, 0);
    EXPECT_NEAR(c.share, static_cast<double>(ksm_cost) / static_cast<double>(run_->ledger.allocated.allocated()), 1e-12);
  }
  EXPECT_TRUE(found);
}

TEST_F(ReportPrometheusTest, PrometheusAndScrapingGiveTheSameHoldersSampleCountsAndLedger) {
  // Through Prometheus (raw read at the scrape interval, repeated values across gaps dropped) and through the scrape
  // path, the same samples: the same holders per device and hour, the same sample counts, the same means (summed in
  // a possibly different order: equal to rounding), and so the same micro-dollars. A used figure is
  // round(allocated x usage), so only a mean within ~1e-16 of a rounding edge could move it by one micro-dollar.
  ASSERT_EQ(run_->snapshot.intervals, 3);
  int compared = 0, held = 0;
  const Differences diff = Compare(run_->snapshot, run_->ledger, *scraped_, *scraped_ledger_, 1e-12, &compared, &held);
  for (const char* kind : kKinds) EXPECT_EQ(diff.Of(kind), 0) << diff.Describe(kind);
  EXPECT_GT(compared, 3 * 60);  // not vacuous: every device of the fleet, every hour
  EXPECT_GT(held, 3 * 30);
  EXPECT_EQ(run_->snapshot.pods.size(), scraped_->pods.size());
}

TEST_F(ReportPrometheusTest, PrometheusAndScrapingGiveTheSameQuantiles) {
  const model::Snapshot& a = run_->snapshot;
  const model::Snapshot& b = *scraped_;
  int with_samples = 0;
  for (std::size_t wa = 0; wa < a.workloads.size(); ++wa) {
    const int wb = WorkloadByKey(b, a.workloads[wa].key);
    ASSERT_GE(wb, 0) << a.workloads[wa].key.str();
    SCOPED_TRACE(a.workloads[wa].key.str());
    const model::UsageSketch& sa = a.workloads[wa].usage[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    const model::UsageSketch& sb = b.workloads[static_cast<std::size_t>(wb)].usage[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    EXPECT_EQ(sa.count(), sb.count());
    if (sa.count() == 0) continue;
    ++with_samples;
    for (double q : {0.5, 0.95, 0.99}) {
      // Both sketch the same raw samples, each answer within 1% of the true sample at its rank: within 2% of each
      // other at worst (and, as the buckets are the same, equal in fact).
      const double qa = sa.Quantile(q), qb = sb.Quantile(q);
      EXPECT_NEAR(qa, qb, 0.02 * std::max(qa, qb)) << "p" << q * 100;
    }
  }
  EXPECT_GT(with_samples, 10);
}

TEST_F(ReportPrometheusTest, WorkloadQuantilesAgreeWithPrometheusQuantileOverTime) {
  // A single-replica workload on one device all window long: bge-reranker on its MIG slice.
  const model::Snapshot& s = run_->snapshot;
  const sim::SimPod* pod = nullptr;
  for (const sim::SimPod& p : world_->pods) {
    if (p.workload < 0 || world_->scenario.workloads[static_cast<std::size_t>(p.workload)].name != "bge-reranker") continue;
    if (p.alive(kStartS) && p.alive(kEndS - 1)) pod = &p;
  }
  ASSERT_NE(pod, nullptr);
  ASSERT_EQ(pod->gpus.size(), 1u);
  const int sp = PodByName(s, pod->meta.namespace_name, pod->meta.name);
  ASSERT_GE(sp, 0);
  const model::Workload& w = s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])];
  ASSERT_EQ(w.pods.size(), 1u);
  const model::UsageSketch& sketch = w.usage[static_cast<std::size_t>(model::UsageSignal::kCompute)];
  // Its compute samples as Prometheus holds them: every exported name of its compute signal, for its pod.
  prom::Signal signal = prom::Signal::kCount;
  for (std::size_t k = 0; k < prom::kSignalCount; ++k) {
    if (prom::SignalName(static_cast<prom::Signal>(k)) == w.compute_source) signal = static_cast<prom::Signal>(k);
  }
  ASSERT_NE(signal, prom::Signal::kCount) << w.compute_source;
  // Evaluated at the last scrape, over a range reaching half a scrape before the first: every sample of the window
  // once, whether the range's ends are inclusive or not.
  const std::int64_t last_ms = std::llround((world_->options.epoch_unix_s + kEndS - kScrapeS) * 1000);
  const std::string range = "[" + std::to_string(static_cast<std::int64_t>(kEndS - kStartS - kScrapeS / 2)) + "s]";
  prom::PromClientOptions po;
  po.base_url = prometheus_->url();
  prom::PromClient client(po, base::SystemClock::Get());
  const std::vector<std::string> matchers = {"namespace=\"" + pod->meta.namespace_name + "\"", "pod=\"" + pod->meta.name + "\""};
  auto raw = client.Query(observe::SignalSelector(signal, matchers) + range, last_ms);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  ASSERT_EQ(raw->matrix.size(), 1u) << observe::SignalSelector(signal, matchers);
  std::string name;
  for (const auto& [k, v] : raw->matrix[0].labels) {
    if (k == "__name__") name = v;
  }
  const prom::CatalogRow* row = prom::DcgmCatalog::Default().Find(name);
  ASSERT_NE(row, nullptr) << name;
  const std::string selector = name + "{" + matchers[0] + "," + matchers[1] + "}";
  std::vector<double> values;
  for (double v : raw->matrix[0].values) {
    double n = NAN;
    if (prom::NormalizeValue(*row, v, &n)) values.push_back(n);
  }
  std::sort(values.begin(), values.end());
  ASSERT_EQ(sketch.count(), values.size()) << "the sketch holds every sample Prometheus has for the pod, once";
  for (double q : {0.5, 0.95, 0.99}) {
    SCOPED_TRACE("p" + std::to_string(static_cast<int>(q * 100)));
    auto r = client.Query("quantile_over_time(" + std::to_string(q) + ", " + selector + range + ")", last_ms);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->vector.size(), 1u);
    double prom_q = NAN;
    ASSERT_TRUE(prom::NormalizeValue(*row, r->vector[0].value, &prom_q));
    // Prometheus interpolates between the samples at ranks floor(q(n-1)) and the next; the sketch answers the
    // sample at rank floor(q(n-1)) within 1%. So |sketch - prometheus| <= 1% x x_lo + (x_hi - x_lo).
    const double rank = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const double x_lo = values[lo], x_hi = values[std::min(lo + 1, values.size() - 1)];
    EXPECT_GE(prom_q, x_lo - 1e-12);
    EXPECT_LE(prom_q, x_hi + 1e-12);
    const double mine = sketch.Quantile(q);
    // (Samples under the sketch's 1e-9 floor read back as 0: an absolute 1e-9 on top.)
    EXPECT_NEAR(mine, x_lo, 0.01 * x_lo + 1e-9);
    EXPECT_LE(std::fabs(mine - prom_q), 0.01 * x_lo + (x_hi - x_lo) + 1e-9)
        << "sketch " << mine << ", quantile_over_time " << prom_q << ", samples " << x_lo << ".." << x_hi;
  }
}

TEST_F(ReportPrometheusTest, AnAggregatedReadGivesTheSameLedgerAndBoundsTheQuantiles) {
  // Hourly means and sample counts per series instead of every sample (ReportConfig::ReadMode::kAggregated): the
  // same holds, counts and micro-dollars as the raw read; workload profiles from Prometheus's per-series window
  // quantiles, the largest over a workload's series, which bounds the pooled quantile from above (each series has
  // at most 1 - q of its samples above its own q-quantile).
  app::ReportConfig c = Config(prometheus_->url(), kStartS, kEndS);
  c.read_mode = app::ReportConfig::ReadMode::kAggregated;
  auto run = app::RunReport(c, base::SystemClock::Get());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_TRUE(run->aggregated);
  int compared = 0, held = 0;
  // Means of hourly means weighted by counts: equal to the raw means to rounding.
  const Differences diff = Compare(run_->snapshot, run_->ledger, run->snapshot, run->ledger, 1e-9, &compared, &held);
  for (const char* kind : kKinds) {
    // Only the compute and framebuffer signals are read aggregated.
    if (std::string_view(kind) == "mean dram" || std::string_view(kind) == "mean power") continue;
    EXPECT_EQ(diff.Of(kind), 0) << diff.Describe(kind);
  }
  const model::Snapshot& a = run_->snapshot;  // raw
  const model::Snapshot& g = run->snapshot;   // aggregated
  int bounded = 0;
  Differences profiles;
  for (std::size_t w = 0; w < a.workloads.size(); ++w) {
    const int wg = WorkloadByKey(g, a.workloads[w].key);
    if (wg < 0) continue;
    const std::string name = a.workloads[w].key.str();
    const model::UsageSketch& sketch = a.workloads[w].usage[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    const model::WindowProfile& wp = g.workloads[static_cast<std::size_t>(wg)].window;
    if (sketch.count() == 0 || !wp.set) continue;
    const model::WindowStat& st = wp.stats[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    // Every raw sample is in some series folded in. (More may be: a series without a pod label is folded, whole
    // window, into every workload that held its device in any hour, while a raw read gives its samples only to the
    // hours' holders: the nightly CronJob's GPU shows 720 samples aggregated, 480 raw.)
    if (st.count < sketch.count()) {
      profiles.Add("compute samples", name + ": " + std::to_string(st.count) + " aggregated vs " + std::to_string(sketch.count()) + " raw");
    }
    // The sketch is within 1% (plus its 1e-9 floor) of the pooled sample at rank floor(q(n-1)), which is at most
    // the largest per-series quantile.
    for (const auto& [q, bound] : {std::pair{0.5, st.p50}, std::pair{0.95, st.p95}, std::pair{0.99, st.p99}}) {
      if (!(sketch.Quantile(q) <= bound * 1.01 + 1e-9)) {
        profiles.Add("quantile bound", name + " p" + std::to_string(static_cast<int>(q * 100)) + ": raw " +
                                           std::to_string(sketch.Quantile(q)) + " above the bound " + std::to_string(bound));
      }
    }
    if (!(std::fabs(st.max - sketch.max()) <= 1e-12)) {
      profiles.Add("max", name + ": " + std::to_string(st.max) + " vs " + std::to_string(sketch.max()));
    }
    ++bounded;
  }
  for (const char* kind : {"compute samples", "quantile bound", "max"}) EXPECT_EQ(profiles.Of(kind), 0) << profiles.Describe(kind);
  EXPECT_GT(bounded, 10);
  ExpectMoneyIdentities(run->ledger, ScenarioGpuCost(*world_, (kEndS - kStartS) / kHour), "aggregated");
}

TEST_F(ReportPrometheusTest, MoneyIdentitiesHoldAgainstTheScenarioPrices) {
  const std::int64_t expected = ScenarioGpuCost(*world_, (kEndS - kStartS) / kHour);
  ExpectMoneyIdentities(run_->ledger, expected, "prometheus");
  ExpectMoneyIdentities(*scraped_ledger_, expected, "scrape");
  EXPECT_EQ(run_->report.fleet.gpus, 64);
  EXPECT_EQ(run_->report.fleet.unknown_node_gpus, 0);
  EXPECT_EQ(run_->report.fleet.unpriced_gpus, 0);
  EXPECT_EQ(run_->report.fleet.cost, expected);
}

TEST_F(ReportPrometheusTest, ARolloutHandsEachGpuFromTheOldPodToTheNewOne) {
  // The first rollout of a Deployment on whole, unshared GPUs: the old pod (gone: known from kube-state-metrics)
  // and the new one (in the API) hold the same GPUs one after the other within one hour. Window: that hour and the
  // next, so kube-state-metrics last lists the old pod at the first of its two hourly evaluations.
  const auto [old_pod, new_pod] = FirstRollout(*world_);
  ASSERT_NE(old_pod, nullptr) << "the demo has no rollout on whole GPUs";
  const double from = std::floor(old_pod->end_s / kHour) * kHour, to = from + 2 * kHour;
  ASSERT_LT(to, kStartS);  // the API server (at kEndS) has the new pod and not the old one
  auto run = app::RunReport(Config(prometheus_->url(), from, to, kRolloutScrapeS), base::SystemClock::Get());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const model::Snapshot& s = run->snapshot;
  ASSERT_EQ(s.intervals, 2);
  const int a = PodByName(s, old_pod->meta.namespace_name, old_pod->meta.name);
  const int b = PodByName(s, new_pod->meta.namespace_name, new_pod->meta.name);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const model::Pod& pa = s.pods[static_cast<std::size_t>(a)];
  EXPECT_EQ(pa.source, model::AttributionSource::kKubeState);
  EXPECT_EQ(s.pods[static_cast<std::size_t>(b)].source, model::AttributionSource::kApi);
  // A deleted pod has no completion time: its end is known to kube-state-metrics' hourly step.
  EXPECT_GE(pa.end_unix_s, UnixS(*world_, old_pod->end_s));
  EXPECT_LE(pa.end_unix_s, UnixS(*world_, old_pod->end_s) + 3600);
  EXPECT_EQ(s.pod_workload[static_cast<std::size_t>(a)], s.pod_workload[static_cast<std::size_t>(b)]);
  EXPECT_EQ(s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(a)])].key.name,
            world_->scenario.workloads[static_cast<std::size_t>(old_pod->workload)].name);
  // Each of its GPUs, in the rollout hour: the old pod by label until the rollout, the new one by label after its
  // cold start, nobody else; the next hour: the new pod alone.
  const double alive_old = (old_pod->end_s - from) / kHour;
  const double lag = (sim::ColdStartSeconds(world_->scenario, world_->scenario.workloads[static_cast<std::size_t>(new_pod->workload)]) + kRolloutScrapeS) / kHour;
  prom::PromClientOptions po;
  po.base_url = prometheus_->url();
  prom::PromClient client(po, base::SystemClock::Get());
  std::set<std::string> their_devices;
  for (const sim::GpuBinding& g : old_pod->gpus) {
    const sim::SimGpu& gpu = world_->nodes[static_cast<std::size_t>(g.node)].gpus[static_cast<std::size_t>(g.gpu)];
    SCOPED_TRACE(gpu.uuid);
    int d = -1;
    for (std::size_t k = 0; k < s.devices.size(); ++k) {
      if (s.devices[k].uuid == gpu.uuid && !s.devices[k].is_mig()) d = static_cast<int>(k);
    }
    ASSERT_GE(d, 0);
    their_devices.insert(s.devices[static_cast<std::size_t>(d)].key);
    const model::DeviceInterval& u0 = s.usage[static_cast<std::size_t>(d) * 2];
    const model::DeviceInterval& u1 = s.usage[static_cast<std::size_t>(d) * 2 + 1];
    // What the data says: dcgm-exporter names the old pod on this GPU until the rollout (every scrape of the hour,
    // counted at the hour's last scrape over a range reaching half a scrape before its first).
    auto labelled = client.Query("count_over_time(DCGM_FI_DEV_FB_USED{UUID=\"" + gpu.uuid + "\",pod=\"" + old_pod->meta.name +
                                     "\"}[" + std::to_string(static_cast<int>(kHour - kRolloutScrapeS / 2)) + "s])",
                                 (UnixS(*world_, from + kHour - kRolloutScrapeS)) * 1000);
    ASSERT_TRUE(labelled.ok()) << labelled.status().ToString();
    ASSERT_EQ(labelled->vector.size(), 1u);
    EXPECT_NEAR(labelled->vector[0].value / (kHour / kRolloutScrapeS), alive_old, 2 * kRolloutScrapeS / kHour);
    double wa = 0, wb = 0, other = 0;
    for (const model::DeviceHold& h : u0.holds) {
      (h.pod == a ? wa : h.pod == b ? wb : other) += h.weight();
      if (h.pod == a || h.pod == b) {
        EXPECT_EQ(h.how, model::HoldHow::kLabel);
      }
    }
    EXPECT_NEAR(wa, alive_old, 2 * kRolloutScrapeS / kHour);
    EXPECT_GE(wb, 1 - alive_old - lag);
    EXPECT_EQ(other, 0);
    EXPECT_LE(wa + wb, 1 + 1e-9);
    ASSERT_EQ(u1.holds.size(), 1u);
    EXPECT_EQ(u1.holds[0].pod, b);
    EXPECT_NEAR(u1.holds[0].weight(), 1, 1e-9);
  }
  // Neither pod holds any other device, by label or by assumption.
  for (std::size_t k = 0; k < s.usage.size(); ++k) {
    const model::DeviceInterval& u = s.usage[k];
    if (their_devices.count(s.devices[static_cast<std::size_t>(u.device)].key)) continue;
    for (const model::DeviceHold& h : u.holds) {
      EXPECT_TRUE(h.pod != a && h.pod != b) << s.pods[static_cast<std::size_t>(h.pod)].name << " holds "
                                            << s.devices[static_cast<std::size_t>(u.device)].key << " in interval "
                                            << u.interval << " (" << model::HoldHowName(h.how) << ", " << h.weight() << ")";
    }
  }
  ExpectMoneyIdentities(run->ledger, ScenarioGpuCost(*world_, 2), "rollout");
}

TEST_F(ReportPrometheusTest, APrometheusThatIsDownIsAnErrorNamingItsUrl) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  app::ReportConfig c = Config(url, kStartS, kEndS);
  c.use_cluster = false;
  c.prometheus.max_retries = 1;
  c.prometheus.initial_backoff = std::chrono::milliseconds(10);
  auto run = app::RunReport(c, base::SystemClock::Get());
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find(url), std::string::npos) << run.status().ToString();
}

TEST_F(ReportPrometheusTest, WithoutKubeStateMetricsGonePodsAreInferredFromTheirNamesAndTheClassesCarryTheirCost) {
  // The same cluster without kube-state-metrics: its pod has no metrics endpoint, so Prometheus has no kube_* series.
  // An hour is enough: the nightly run ends at 03:30.
  constexpr double kFrom = kEndS - kHour;
  const std::vector<const sim::SimPod*> gone = GpuPodsEndingInside(*world_, kFrom, kEndS);
  ASSERT_FALSE(gone.empty());
  sim::World world = *world_;
  int removed = 0;
  for (sim::SimPod& p : world.pods) {
    if (sim::EndpointJob(p) == "kube-state-metrics") {
      p.port = 0;
      ++removed;
    }
  }
  ASSERT_GT(removed, 0);
  ASSERT_EQ(Backfill(world, kFrom, kEndS, kScrapeS, *dir_ / "no-ksm"), "");
  testing::PrometheusProcess prometheus;
  ASSERT_EQ(prometheus.Start(*dir_ / "no-ksm", "global:\n  scrape_interval: 15s\nscrape_configs: []\n"), "");
  auto run = app::RunReport(Config(prometheus.url(), kFrom, kEndS), base::SystemClock::Get());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const model::Snapshot& s = run->snapshot;
  EXPECT_NE(std::find_if(s.warnings.begin(), s.warnings.end(),
                         [](const std::string& w) { return w.find("kube_pod_info") != std::string::npos; }),
            s.warnings.end());
  std::map<model::AttributionSource, std::int64_t> cost;
  for (std::size_t w = 0; w < s.workloads.size(); ++w) cost[s.workloads[w].source] += run->ledger.workloads[w].money.allocated();
  for (const sim::SimPod* p : gone) {
    SCOPED_TRACE(p->meta.name);
    const int sp = PodByName(s, p->meta.namespace_name, p->meta.name);
    ASSERT_GE(sp, 0);
    const sim::WorkloadSpec& spec = world_->scenario.workloads[static_cast<std::size_t>(p->workload)];
    const model::Workload& w = s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])];
    EXPECT_EQ(s.pods[static_cast<std::size_t>(sp)].source, model::AttributionSource::kInferred);
    EXPECT_EQ(w.source, model::AttributionSource::kInferred);
    EXPECT_EQ(w.key.kind, "CronJob");  // "<cronjob>-<unix minutes>-<5>" names its CronJob
    EXPECT_EQ(w.key.name, spec.name);
    EXPECT_EQ(w.team, spec.labels.at("gpuwise.io/team"));  // from its namespace's team label
    EXPECT_GT(run->ledger.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])].money.allocated(), 0);
  }
  EXPECT_EQ(cost.count(model::AttributionSource::kKubeState), 0u);
  const std::int64_t allocated = run->ledger.allocated.allocated();
  std::int64_t classes = 0;
  bool inferred = false;
  for (const analyze::ClassRow& c : run->report.classes) {
    classes += c.cost;
    if (c.source == "inferred") {
      inferred = true;
      EXPECT_EQ(c.cost, cost[model::AttributionSource::kInferred]);
      EXPECT_GT(c.cost, 0);
      EXPECT_NEAR(c.share, static_cast<double>(c.cost) / static_cast<double>(allocated), 1e-12);
    }
  }
  EXPECT_TRUE(inferred);
  EXPECT_EQ(classes, allocated);  // every allocated dollar is in one class
  ExpectMoneyIdentities(run->ledger, ScenarioGpuCost(*world_, 1), "no kube-state-metrics");
  prometheus.Stop();
}

}  // namespace
}  // namespace gpuwise
