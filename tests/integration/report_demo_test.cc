// `gpuwise report` on the simulated demo cluster, read through its real Kubernetes API and dcgm-exporter endpoints,
// checked against the simulator's ground truth: every exclusive GPU and MIG slice attributed to the right pod,
// workload and team; shared GPUs exactly per the stated policy (reserved fraction); the money identities to the
// micro-dollar, with the GPU cost computed independently from the scenario's prices; the planted states found.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analyze/cost.h"
#include "app/report_pipeline.h"
#include "cli/explain_workload.h"
#include "cli/report_view.h"
#include "demo_report.h"
#include "schema_check.h"
#include "sim/behavior.h"

namespace gpuwise {
namespace {

class ReportDemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto demo = testing::DemoReport::Run(3);
    ASSERT_TRUE(demo.ok()) << demo.status().message();
    demo_ = demo->release();
    run_ = &demo_->run();
  }
  static void TearDownTestSuite() {
    delete demo_;
    demo_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(demo_, nullptr); }

  static const sim::World& World() { return demo_->world(); }
  static double Now() { return demo_->Now(); }
  // The snapshot pod for a world pod, or -1.
  static int SnapshotPod(const sim::SimPod& p) {
    const auto& pods = run_->snapshot.pods;
    for (std::size_t i = 0; i < pods.size(); ++i) {
      if (pods[i].namespace_name == p.meta.namespace_name && pods[i].name == p.meta.name) return static_cast<int>(i);
    }
    return -1;
  }

  static testing::DemoReport* demo_;
  static const app::ReportRun* run_;
};
testing::DemoReport* ReportDemoTest::demo_ = nullptr;
const app::ReportRun* ReportDemoTest::run_ = nullptr;

TEST_F(ReportDemoTest, EveryExclusiveGpuAndMigSliceIsAttributedToItsPodByLabel) {
  const model::Snapshot& s = run_->snapshot;
  int checked = 0;
  for (const sim::SimPod& p : World().pods) {
    if (!p.alive(Now()) || p.gpus.empty()) continue;
    for (const sim::GpuBinding& b : p.gpus) {
      if (b.replica >= 0) continue;  // shared: checked by policy below
      const sim::SimNode& node = World().nodes[static_cast<std::size_t>(b.node)];
      if (node.sharing.mode == sim::SharingMode::kHami) continue;
      const sim::SimGpu& gpu = node.gpus[static_cast<std::size_t>(b.gpu)];
      const int gi = b.mig >= 0 ? gpu.mig[static_cast<std::size_t>(b.mig)].gi_id : -1;
      int device = -1;
      for (std::size_t d = 0; d < s.devices.size(); ++d) {
        if (s.devices[d].uuid == gpu.uuid && s.devices[d].gi_id == gi) device = static_cast<int>(d);
      }
      ASSERT_GE(device, 0) << p.meta.name << " on " << gpu.uuid << " gi " << gi;
      EXPECT_EQ(s.nodes[static_cast<std::size_t>(s.devices[static_cast<std::size_t>(device)].node)].node.name, node.meta.name);
      const model::DeviceInterval& u = s.usage[static_cast<std::size_t>(device) * static_cast<std::size_t>(s.intervals)];
      ASSERT_EQ(u.holds.size(), 1u) << p.meta.name;
      const model::Pod& holder = s.pods[static_cast<std::size_t>(u.holds[0].pod)];
      EXPECT_EQ(holder.name, p.meta.name);
      EXPECT_EQ(u.holds[0].how, model::HoldHow::kLabel) << p.meta.name;
      EXPECT_DOUBLE_EQ(u.holds[0].weight(), 1.0);
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);  // not vacuous: the demo has 26 exclusive GPUs and MIG slices held
}

TEST_F(ReportDemoTest, WorkloadsAndTeamsFollowTheOwnerChainAndTheTeamLabel) {
  const model::Snapshot& s = run_->snapshot;
  int checked = 0;
  for (const sim::SimPod& p : World().pods) {
    if (!p.alive(Now()) || p.gpus.empty() || p.workload < 0) continue;
    const int sp = SnapshotPod(p);
    ASSERT_GE(sp, 0) << p.meta.name;
    const model::Workload& w = s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(sp)])];
    const sim::WorkloadSpec& spec = World().scenario.workloads[static_cast<std::size_t>(p.workload)];
    EXPECT_EQ(w.key.namespace_name, spec.namespace_name);
    // The top controller is the workload's own object, whatever its kind (Deployment, StatefulSet,
    // InferenceService, LeaderWorkerSet, CronJob, Job).
    EXPECT_EQ(w.key.name, spec.name) << p.meta.name << " -> " << w.key.str();
    EXPECT_EQ(w.team, spec.labels.at("gpuwise.io/team")) << w.key.str();
    EXPECT_EQ(w.source, model::AttributionSource::kApi);
    ++checked;
  }
  EXPECT_GT(checked, 10);  // not vacuous
}

TEST_F(ReportDemoTest, EachWorkloadHoldsAndPaysWhatTheSimulatorSaysSharedGpusByReservedFraction) {
  const model::Snapshot& s = run_->snapshot;
  const analyze::CostLedger& l = run_->ledger;
  for (std::size_t wi = 0; wi < World().scenario.workloads.size(); ++wi) {
    const sim::WorkloadTruth truth = sim::TruthOf(World(), static_cast<int>(wi), Now());
    // The snapshot workloads of this scenario workload's pods.
    std::set<int> mine;
    int devices = 0;
    for (const sim::SimPod& p : World().pods) {
      if (p.workload != static_cast<int>(wi) || !p.alive(Now()) || p.gpus.empty()) continue;
      const int sp = SnapshotPod(p);
      ASSERT_GE(sp, 0);
      mine.insert(s.pod_workload[static_cast<std::size_t>(sp)]);
      devices += static_cast<int>(p.gpus.size());
    }
    double held = 0;
    std::int64_t cost = 0;
    for (int w : mine) {
      held += l.workloads[static_cast<std::size_t>(w)].gpu_hours;  // a live view is one hour
      cost += l.workloads[static_cast<std::size_t>(w)].money.allocated();
    }
    const std::string name = World().scenario.workloads[wi].name;
    EXPECT_NEAR(held, truth.gpus_held, 1e-9) << name;
    // MIG instance costs are split from the GPU's cost with largest remainder, the truth rounds each share: at most
    // one micro-dollar apart per device.
    EXPECT_LE(std::abs(cost - truth.cost_micro_usd_per_hour), devices) << name << " " << cost << " vs " << truth.cost_micro_usd_per_hour;
  }
}

TEST_F(ReportDemoTest, MoneyIdentitiesHoldToTheMicroDollarAgainstTheScenarioPrices) {
  const analyze::CostLedger& l = run_->ledger;
  // Independent GPU cost: every node's GPUs at the scenario's price per GPU-hour.
  std::int64_t expected = 0;
  for (std::size_t n = 0; n < World().nodes.size(); ++n) {
    expected += sim::GpuHourPrice(World(), static_cast<int>(n)).value * static_cast<std::int64_t>(World().nodes[n].gpus.size());
  }
  EXPECT_EQ(l.gpu_cost, expected);
  std::int64_t workloads = 0;
  for (const auto& w : l.workloads) {
    EXPECT_EQ(w.money.allocated(), w.money.used + w.money.idle);
    EXPECT_GE(w.money.used, 0);
    EXPECT_GE(w.money.idle, 0);
    workloads += w.money.allocated();
  }
  EXPECT_EQ(workloads + l.unallocated, expected);
  // Per node too.
  for (const auto& n : l.nodes) EXPECT_EQ(n.allocated.allocated() + n.unallocated, n.cost);
  EXPECT_EQ(run_->report.fleet.gpus, 64);
  EXPECT_EQ(run_->report.fleet.unknown_node_gpus, 0);
  EXPECT_EQ(run_->report.fleet.unpriced_gpus, 0);
}

TEST_F(ReportDemoTest, PlantedStatesAreFound) {
  std::map<std::string, std::string> finding;  // workload name -> kind
  for (const auto& f : run_->report.findings) {
    const auto slash = f.subject.rfind('/');
    finding[slash == std::string::npos ? f.subject : f.subject.substr(slash + 1)] = f.kind;
  }
  // The two forgotten endpoints of the scenario (kind: forgotten) are found as forgotten endpoints.
  for (const sim::WorkloadSpec& w : World().scenario.workloads) {
    if (w.kind != sim::WorkloadKind::kForgotten) continue;
    EXPECT_EQ(finding[w.name], "forgotten-endpoint") << w.name;
  }
  // The training job keeps its GPUs busy.
  for (const auto& w : run_->report.workloads) {
    if (w.name == "ranker-finetune") {
      EXPECT_EQ(w.diagnosis.state, analyze::GpuState::kBusy);
    }
  }
}

// From outside the cluster network, through the API server's pods/proxy: the same pages, so the same attribution,
// samples and serving-engine figures as the direct scrape.
TEST_F(ReportDemoTest, ThroughThePodProxyEverythingIsTheSame) {
  auto proxied = testing::DemoReport::Run(3, true);
  ASSERT_TRUE(proxied.ok()) << proxied.status().message();
  const app::ReportRun& p = (*proxied)->run();
  EXPECT_NE(p.snapshot.telemetry_source.find("through the API server's pods/proxy"), std::string::npos)
      << p.snapshot.telemetry_source;
  EXPECT_EQ(p.scrape_failures, 0);
  int exporters = 0;
  for (const auto& e : p.exporters) exporters += e.ready ? 1 : 0;
  EXPECT_GT(exporters, 0);
  EXPECT_GT(p.proxied_pages, 3 * exporters) << "every exporter page, and the vLLM pages, through the proxy";
  EXPECT_EQ(run_->proxied_pages, 0);
  ASSERT_EQ(p.snapshot.devices.size(), run_->snapshot.devices.size());
  ASSERT_EQ(p.snapshot.usage.size(), run_->snapshot.usage.size());
  const auto holders = [](const app::ReportRun& r, const model::DeviceInterval& u) {
    std::set<std::pair<std::string, double>> out;
    for (const model::DeviceHold& h : u.holds) {
      const model::Pod& pod = r.snapshot.pods[static_cast<std::size_t>(h.pod)];
      out.insert({pod.namespace_name + "/" + pod.name, h.share});
    }
    return out;
  };
  for (std::size_t i = 0; i < p.snapshot.usage.size(); ++i) {
    EXPECT_EQ(p.snapshot.usage[i].samples, run_->snapshot.usage[i].samples) << i;
    EXPECT_EQ(holders(p, p.snapshot.usage[i]), holders(*run_, run_->snapshot.usage[i])) << i;
  }
  std::map<std::string, std::pair<std::uint64_t, bool>> direct;  // workload -> compute samples, serving figures
  for (const auto& w : run_->report.workloads) direct[w.namespace_name + "/" + w.name] = {w.diagnosis.signals[0].count, w.serving};
  int serving = 0;
  for (const auto& w : p.report.workloads) {
    const auto it = direct.find(w.namespace_name + "/" + w.name);
    ASSERT_NE(it, direct.end()) << w.name;
    EXPECT_EQ(w.diagnosis.signals[0].count, it->second.first) << w.name;
    EXPECT_EQ(w.serving, it->second.second) << w.name;
    serving += w.serving ? 1 : 0;
  }
  EXPECT_GT(serving, 0) << "vLLM pods reached through the proxy";
}

// PCIe is in every profile the exporter sends it for, per pod, and keeps its direction: the training job reads its
// data in (the simulator's rx rate is several times its tx rate), so its received bytes per second are higher.
TEST_F(ReportDemoTest, ProfilesCarryPcieBothWays) {
  const auto sig = [](const auto& w, model::UsageSignal s) { return w.diagnosis.signals[static_cast<std::size_t>(s)]; };
  int with_compute = 0;
  for (const auto& w : run_->report.workloads) {
    const auto compute = sig(w, model::UsageSignal::kCompute);
    if (compute.count == 0) continue;
    ++with_compute;
    EXPECT_GT(sig(w, model::UsageSignal::kPcieTx).count, 0u) << w.name;
    EXPECT_GT(sig(w, model::UsageSignal::kPcieRx).count, 0u) << w.name;
    if (w.name == "ranker-finetune") {
      EXPECT_GT(sig(w, model::UsageSignal::kPcieRx).p50, 2 * sig(w, model::UsageSignal::kPcieTx).p50);
    }
  }
  EXPECT_GT(with_compute, 5);
}


// ---- serving latency

// The TTFT histogram a vLLM page shows, read line by line here (independently of gpuwise's parser): le -> count,
// plus _count.
struct PageTtft {
  std::map<double, double> buckets;  // finite bounds
  double count = 0;
};
void ReadTtft(const std::string& page, PageTtft* out) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = "vllm:time_to_first_token_seconds";
    if (line.rfind(name, 0) != 0) continue;
    const double value = std::stod(line.substr(line.rfind(' ') + 1));
    const std::string rest = line.substr(name.size());
    if (rest.rfind("_count", 0) == 0) out->count += value;
    if (rest.rfind("_bucket", 0) != 0) continue;
    const std::size_t le = rest.find("le=\"");
    const std::string bound = rest.substr(le + 4, rest.find('"', le + 4) - le - 4);
    if (bound != "+Inf") out->buckets[std::stod(bound)] += value;
  }
}

// With time standing still, a window of several scrapes sees no request complete: its latency is unknown (NaN, null
// in JSON), never 0, and the basis says what was measured.
TEST_F(ReportDemoTest, AWindowInWhichNoRequestCompletedHasUnknownLatency) {
  int serving = 0;
  for (const auto& w : run_->report.workloads) {
    if (!w.serving) continue;
    ++serving;
    EXPECT_EQ(w.latency_basis, "increase over 3 scrapes") << w.name;
    EXPECT_EQ(w.latency_requests, 0) << w.name;
    EXPECT_TRUE(std::isnan(w.ttft_p99_s)) << w.name;
    EXPECT_TRUE(std::isnan(w.tpot_p99_s)) << w.name;
    EXPECT_TRUE(std::isnan(w.e2e_p50_s)) << w.name;
  }
  EXPECT_GT(serving, 0);
  const nlohmann::json doc = cli::ReportJson(run_->report);
  for (const auto& w : doc["workloads"]) {
    if (w["serving"].is_null()) continue;
    EXPECT_TRUE(w["serving"]["latency"]["ttftP99Seconds"].is_null());
    EXPECT_EQ(w["serving"]["latency"]["requests"], 0);
  }
}

// One scrape: the basis is every request since the engine started (the simulator's first step of traffic). Checked
// against the pages the simulator renders at that instant, read here with no gpuwise code: the requests counted are
// the pages' _count summed over the workload's pods, and the p99 lies in the bucket of the pods' summed histogram
// that holds rank 0.99 x count (the workload's quantile is over its merged buckets, not a pod's).
TEST_F(ReportDemoTest, OneScrapeReportsTheTtftP99OfTheHistogramTheSimulatorKeeps) {
  auto once = testing::DemoReport::Run(1);
  ASSERT_TRUE(once.ok()) << once.status().message();
  const app::ReportRun& r = (*once)->run();
  std::map<std::pair<std::string, std::string>, sim::Endpoint> vllm;
  for (const sim::Endpoint& e : (*once)->server().Endpoints()) {
    if (e.kind == "vllm") vllm[{e.namespace_name, e.pod}] = e;
  }
  ASSERT_FALSE(vllm.empty());
  int checked = 0;
  for (const analyze::WorkloadRow& row : r.report.workloads) {
    if (!row.serving) continue;
    EXPECT_EQ(row.latency_basis, "since start (one scrape)") << row.name;
    PageTtft truth;
    for (int p : r.snapshot.workloads[static_cast<std::size_t>(row.workload)].pods) {
      const model::Pod& pod = r.snapshot.pods[static_cast<std::size_t>(p)];
      const auto it = vllm.find({pod.namespace_name, pod.name});
      if (it != vllm.end()) ReadTtft((*once)->server().RenderFor(it->second), &truth);
    }
    EXPECT_DOUBLE_EQ(row.latency_requests, truth.count) << row.name;
    if (truth.count == 0) {
      EXPECT_TRUE(std::isnan(row.ttft_p99_s)) << row.name << ": no traffic, unknown";
      continue;
    }
    ++checked;
    ASSERT_FALSE(std::isnan(row.ttft_p99_s)) << row.name;
    const double rank = 0.99 * truth.count;
    double lower = 0, upper = NAN;
    for (const auto& [le, cum] : truth.buckets) {
      if (cum >= rank) {
        upper = le;
        break;
      }
      lower = le;
    }
    if (std::isnan(upper)) {
      EXPECT_DOUBLE_EQ(row.ttft_p99_s, truth.buckets.rbegin()->first) << row.name << ": +Inf bucket";
    } else {
      EXPECT_GE(row.ttft_p99_s, lower) << row.name;
      EXPECT_LE(row.ttft_p99_s, upper) << row.name;
    }
    EXPECT_LE(row.ttft_p50_s, row.ttft_p99_s) << row.name;
    std::printf("%s: %.0f requests, TTFT p50 %.4f s p99 %.4f s (bucket %.3f..%.3f), TPOT p99 %.4f s, e2e p99 %.3f s\n",
                row.name.c_str(), truth.count, row.ttft_p50_s, row.ttft_p99_s, lower, upper, row.tpot_p99_s, row.e2e_p99_s);
    EXPECT_FALSE(std::isnan(row.tpot_p99_s)) << row.name;
    EXPECT_FALSE(std::isnan(row.e2e_p99_s)) << row.name;
  }
  EXPECT_GT(checked, 0) << "some vLLM workload had traffic in the simulator's first step";

  // The same figures in the report JSON and in `explain`, each held to its schema.
  nlohmann::json doc = cli::ReportJson(r.report);
  doc["apiVersion"] = "gpuwise.io/v1alpha1";
  doc["kind"] = "Report";
  for (const std::string& v : testing::CheckSchema(testing::LoadSchema("Report"), doc)) ADD_FAILURE() << v;
  for (const analyze::WorkloadRow& row : r.report.workloads) {
    if (!row.serving || std::isnan(row.ttft_p99_s)) continue;
    for (const auto& w : doc["workloads"]) {
      if (w["name"] != row.name || w["namespace"] != row.namespace_name) continue;
      EXPECT_DOUBLE_EQ(w["serving"]["latency"]["ttftP99Seconds"].get<double>(), row.ttft_p99_s);
      EXPECT_EQ(w["serving"]["latency"]["basis"], "since start (one scrape)");
    }
    const nlohmann::json ex = cli::ExplainWorkloadJson(r, row.workload);
    for (const std::string& v : testing::CheckSchema(testing::LoadSchema("WorkloadExplanation"), ex)) ADD_FAILURE() << v;
    EXPECT_EQ(ex["usage"]["latency"]["basis"], "since start (one scrape)");
    EXPECT_DOUBLE_EQ(ex["usage"]["latency"]["ttft"]["p99Seconds"].get<double>(), row.ttft_p99_s);
    const std::string text = cli::ExplainWorkloadText(r, row.workload);
    EXPECT_NE(text.find("SERVING LATENCY"), std::string::npos);
    EXPECT_NE(text.find("basis since start (one scrape)"), std::string::npos) << text;
    break;  // one workload's explanation is enough
  }
}

}  // namespace
}  // namespace gpuwise
