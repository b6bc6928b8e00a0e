// `gpuwise explain WORKLOAD` on the simulated demo cluster, read through its real Kubernetes API and dcgm-exporter
// endpoints (the report pipeline, once per suite), checked against the simulator's own layout: a MIG workload names
// its profile and GI id and that the exporter's label said so; a time-sliced notebook states the shared-GPU policy
// and its 1/replicas share; a vLLM workload states that its framebuffer is a reservation; the diagnosis lists the 7
// rules with exactly the report's state matched; the money re-adds (cents in text, micro-dollars in JSON, per device
// against the ledger); the JSON holds to docs/schema/WorkloadExplanation.json. FindWorkload's errors on a small
// hand-made snapshot.
#include "cli/explain_workload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analyze/cost.h"
#include "analyze/diagnosis.h"
#include "analyze/report.h"
#include "app/report_pipeline.h"
#include "demo_report.h"
#include "schema_check.h"
#include "sim/cluster_server.h"
#include "sim/scenario.h"

namespace gpuwise::cli {
namespace {

class ExplainWorkloadTest : public ::testing::Test {
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
  static int Find(std::string_view designator) {
    base::Result<int> w = FindWorkload(run_->snapshot, designator);
    EXPECT_TRUE(w.ok()) << designator << ": " << w.status().message();
    return w.ok() ? *w : -1;
  }
  // The live world pods of a scenario workload that hold GPUs.
  static std::vector<const sim::SimPod*> WorldPods(std::string_view name) {
    std::vector<const sim::SimPod*> out;
    for (const sim::SimPod& p : World().pods) {
      if (p.workload < 0 || !p.alive(demo_->Now()) || p.gpus.empty()) continue;
      if (World().scenario.workloads[static_cast<std::size_t>(p.workload)].name == name) out.push_back(&p);
    }
    return out;
  }

  static testing::DemoReport* demo_;
  static const app::ReportRun* run_;
};
testing::DemoReport* ExplainWorkloadTest::demo_ = nullptr;
const app::ReportRun* ExplainWorkloadTest::run_ = nullptr;

// "$1,234.56" at the start of `s` -> cents; -1 when it is not there.
std::int64_t ParseCents(std::string_view s) {
  if (s.empty() || s.front() != '$') return -1;
  std::int64_t v = 0;
  int frac = -1;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == ',') continue;
    if (ch == '.') {
      frac = 0;
      continue;
    }
    if (ch < '0' || ch > '9') break;
    v = v * 10 + (ch - '0');
    if (frac >= 0) ++frac;
  }
  return frac == 2 ? v : -1;
}

// The figure after `prefix` on the first line of the MONEY section that starts with it.
std::int64_t MoneyLine(const std::string& text, const std::string& prefix) {
  const auto money = text.find("\nMONEY");
  if (money == std::string::npos) return -1;
  std::istringstream in(text.substr(money + 1));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return ParseCents(std::string_view(line).substr(prefix.size()));
  }
  return -1;
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(ExplainWorkloadTest, MigWorkloadNamesItsProfileGiIdAndThatTheExporterLabelSaidSo) {
  const int w = Find("search/bge-reranker");
  ASSERT_GE(w, 0);
  const std::string text = ExplainWorkloadText(*run_, w);
  const auto pods = WorldPods("bge-reranker");
  ASSERT_FALSE(pods.empty());
  for (const sim::SimPod* p : pods) {
    for (const sim::GpuBinding& b : p->gpus) {
      ASSERT_GE(b.mig, 0) << "the demo's reranker runs on a MIG slice";
      const sim::SimGpu& gpu = World().nodes[static_cast<std::size_t>(b.node)].gpus[static_cast<std::size_t>(b.gpu)];
      const sim::MigSlice& slice = gpu.mig[static_cast<std::size_t>(b.mig)];
      EXPECT_NE(text.find("MIG " + slice.profile + " GI " + std::to_string(slice.gi_id)), std::string::npos) << text;
      EXPECT_NE(text.find(gpu.uuid), std::string::npos);
      EXPECT_NE(text.find("node " + World().nodes[static_cast<std::size_t>(b.node)].meta.name), std::string::npos);
    }
    EXPECT_NE(text.find("pod " + p->meta.name), std::string::npos);
  }
  EXPECT_NE(text.find("known by label (dcgm-exporter labelled the device with this pod)"), std::string::npos) << text;
  EXPECT_EQ(text.find("shared GPU policy"), std::string::npos) << "a MIG slice is not a shared GPU";
  const nlohmann::json doc = ExplainWorkloadJson(*run_, w);
  ASSERT_FALSE(doc["holdings"]["devices"].empty());
  for (const auto& d : doc["holdings"]["devices"]) {
    EXPECT_FALSE(d["migProfile"].is_null());
    EXPECT_EQ(d["how"], nlohmann::json::array({"label"}));
    EXPECT_EQ(d["nodeJoin"], "hostname-label");
  }
  // The worked line splits the GPU's cost by compute slices.
  ASSERT_FALSE(doc["money"]["worked"].is_null());
  EXPECT_NE(doc["money"]["worked"]["text"].get<std::string>().find(" x slices"), std::string::npos);
}

TEST_F(ExplainWorkloadTest, TimeSlicedNotebookStatesTheSharedGpuPolicyAndItsShare) {
  const int w = Find("research/jupyter-alice");
  ASSERT_GE(w, 0);
  const std::string text = ExplainWorkloadText(*run_, w);
  const auto pods = WorldPods("jupyter-alice");
  ASSERT_FALSE(pods.empty());
  const sim::SimNode& node = World().nodes[static_cast<std::size_t>(pods.front()->gpus.front().node)];
  ASSERT_EQ(node.sharing.mode, sim::SharingMode::kTimeSlicing);
  ASSERT_GT(node.sharing.replicas, 1);
  EXPECT_NE(text.find("share 1/" + std::to_string(node.sharing.replicas) + " of the device"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string("shared GPU policy: ") + analyze::kSharedGpuPolicy), std::string::npos) << text;
  const nlohmann::json doc = ExplainWorkloadJson(*run_, w);
  EXPECT_EQ(doc["holdings"]["sharedGpuPolicy"], analyze::kSharedGpuPolicy);
  EXPECT_NEAR(doc["holdings"]["devices"][0]["share"].get<double>(), 1.0 / node.sharing.replicas, 1e-9);
  // A notebook has no SLO and time-slices by default: both said, with where they came from.
  EXPECT_NE(text.find("no SLO: compute is never shrunk"), std::string::npos);
  EXPECT_NE(text.find("isolation timeslice   [default for class notebook]"), std::string::npos) << text;
}

TEST_F(ExplainWorkloadTest, VllmWorkloadSaysItsFramebufferIsAReservationNotDemand) {
  const int vllm = Find("ads/mistral-7b-ads");
  ASSERT_GE(vllm, 0);
  const std::string text = ExplainWorkloadText(*run_, vllm);
  EXPECT_NE(text.find("reservation, not demand: vllm reserves its GPU memory at start (--gpu-memory-utilization 0.90)"),
            std::string::npos)
      << text;
  EXPECT_FALSE(ExplainWorkloadJson(*run_, vllm)["usage"]["reservation"].is_null());
  // An encoder does not reserve memory: no caveat.
  const int encoder = Find("search/bge-reranker");
  ASSERT_GE(encoder, 0);
  EXPECT_EQ(ExplainWorkloadText(*run_, encoder).find("reservation, not demand"), std::string::npos);
  EXPECT_TRUE(ExplainWorkloadJson(*run_, encoder)["usage"]["reservation"].is_null());
}

TEST_F(ExplainWorkloadTest, EveryExplanationSaysWhatItsPercentilesAreOf) {
  for (const analyze::WorkloadRow& row : run_->report.workloads) {
    const std::string text = ExplainWorkloadText(*run_, row.workload);
    EXPECT_NE(text.find("Percentiles are of exporter samples"), std::string::npos);
    EXPECT_NE(text.find("30 s by default"), std::string::npos);
    EXPECT_NE(text.find("1% relative error"), std::string::npos);
    const nlohmann::json doc = ExplainWorkloadJson(*run_, row.workload);
    EXPECT_EQ(doc["usage"]["samples"], row.diagnosis.signals[0].count);
  }
}

TEST_F(ExplainWorkloadTest, AWindowSaysTheSampleSpacingItMeasured) {
  // The demo is a live view (no spacing to measure). As a one-hour window with 360 samples per device-interval,
  // every workload that held a device was sampled every 10 s; with 120, every 30 s.
  for (const int per_hour : {360, 120}) {
    app::ReportRun window = *run_;
    model::Snapshot& s = window.snapshot;
    s.live = false;
    s.interval_s = 3600;
    s.intervals = 1;
    s.end_unix_s = s.start_unix_s + 3600;
    s.grid_start_unix_s = s.start_unix_s;
    for (model::DeviceInterval& u : s.usage) u.samples = static_cast<std::uint32_t>(per_hour);
    const std::string want = "here one every " + std::to_string(3600 / per_hour) + " s on average";
    int said = 0;
    for (const analyze::WorkloadRow& row : window.report.workloads) {
      if (row.gpu_hours <= 0) continue;
      const std::string text = ExplainWorkloadText(window, row.workload);
      EXPECT_NE(text.find(want), std::string::npos) << row.name << "\n" << text.substr(0, 2000);
      ++said;
    }
    EXPECT_GT(said, 5);
  }
  EXPECT_EQ(ExplainWorkloadText(*run_, run_->report.workloads.front().workload).find("here one every"),
            std::string::npos)
      << "a live view measures no spacing";
}

TEST_F(ExplainWorkloadTest, DiagnosisListsTheSevenRulesWithExactlyTheReportsStateMatched) {
  const std::vector<std::string> states = {"unknown", "idle", "busy", "compute-bound", "memory-bound", "memory-held",
                                           "over-provisioned"};
  std::set<std::string> seen_states;
  for (const analyze::WorkloadRow& row : run_->report.workloads) {
    const std::string state(analyze::GpuStateName(row.diagnosis.state));
    seen_states.insert(state);
    const nlohmann::json doc = ExplainWorkloadJson(*run_, row.workload);
    const auto& rules = doc["diagnosis"]["rules"];
    ASSERT_EQ(rules.size(), 7u);
    int matched = 0;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      EXPECT_EQ(rules[i]["number"], static_cast<int>(i) + 1);
      EXPECT_EQ(rules[i]["state"], states[i]);
      if (rules[i]["matched"].get<bool>()) {
        ++matched;
        EXPECT_EQ(rules[i]["state"], state) << row.namespace_name << "/" << row.name;
        EXPECT_TRUE(rules[i]["holds"].get<bool>());
      } else if (matched == 0) {
        EXPECT_FALSE(rules[i]["holds"].get<bool>()) << "an earlier rule holds but did not match";
      }
    }
    EXPECT_EQ(matched, 1) << row.namespace_name << "/" << row.name;
    EXPECT_EQ(doc["diagnosis"]["state"], state);
    EXPECT_EQ(doc["diagnosis"]["reportState"], state);
    // The thresholds in force are the report's.
    EXPECT_EQ(doc["diagnosis"]["thresholds"]["computeHigh"], run_->report.thresholds.compute_high);
    const std::string text = ExplainWorkloadText(*run_, row.workload);
    EXPECT_EQ(Count(text, "MATCHED"), 1u);
    EXPECT_NE(text.find("DIAGNOSIS  " + state), std::string::npos);
    EXPECT_NE(text.find("action: " + row.diagnosis.action), std::string::npos);
  }
  // Not vacuous: the demo plants several states.
  EXPECT_GE(seen_states.size(), 3u);
}

TEST_F(ExplainWorkloadTest, MoneyReAddsToTheCentInTextAndExactlyInJsonAndPerDeviceToTheLedger) {
  int checked = 0;
  for (const analyze::WorkloadRow& row : run_->report.workloads) {
    const analyze::Money& m = run_->ledger.workloads[static_cast<std::size_t>(row.workload)].money;
    const std::string text = ExplainWorkloadText(*run_, row.workload);
    const std::int64_t held = MoneyLine(text, "  held "), used = MoneyLine(text, "  used "), idle = MoneyLine(text, "  idle ");
    ASSERT_GE(held, 0) << text;
    ASSERT_GE(used, 0);
    ASSERT_GE(idle, 0);
    EXPECT_EQ(held, used + idle) << row.name;
    // Each within a cent of the exact figure.
    EXPECT_LE(std::abs(held * 10000 - m.allocated()), 5000);
    EXPECT_LE(std::abs(used * 10000 - m.used), 10000);
    EXPECT_LE(std::abs(idle * 10000 - m.idle), 10000);

    const nlohmann::json doc = ExplainWorkloadJson(*run_, row.workload);
    const auto& money = doc["money"];
    EXPECT_EQ(money["heldMicroUsd"].get<std::int64_t>(), money["usedMicroUsd"].get<std::int64_t>() + money["idleMicroUsd"].get<std::int64_t>());
    EXPECT_EQ(money["heldMicroUsd"].get<std::int64_t>(), m.allocated());
    EXPECT_EQ(money["usedMicroUsd"].get<std::int64_t>(), m.used);
    EXPECT_EQ(money["idleAnnualizedMicroUsd"].get<std::int64_t>(), analyze::Annualize(m.idle, run_->ledger.window_hours));
    // The per-device lines are the ledger's figures, recomputed device by device.
    std::int64_t dev_held = 0, dev_used = 0;
    for (const auto& d : doc["holdings"]["devices"]) {
      EXPECT_EQ(d["heldMicroUsd"].get<std::int64_t>(), d["usedMicroUsd"].get<std::int64_t>() + d["idleMicroUsd"].get<std::int64_t>());
      dev_held += d["heldMicroUsd"].get<std::int64_t>();
      dev_used += d["usedMicroUsd"].get<std::int64_t>();
    }
    EXPECT_EQ(dev_held, m.allocated()) << row.name;
    EXPECT_EQ(dev_used, m.used) << row.name;
    EXPECT_TRUE(money["byDeviceMatchesLedger"].get<bool>());
    // The worked line: used = C x min(u, W) / W, idle = C - used, on the live view's one hour.
    const auto& k = money["worked"];
    ASSERT_FALSE(k.is_null());
    const std::int64_t c = k["heldMicroUsd"];
    EXPECT_EQ(k["usedMicroUsd"].get<std::int64_t>() + k["idleMicroUsd"].get<std::int64_t>(), c);
    if (!k["usage"].is_null()) {
      const double big_w = std::min(1.0, k["holdsWeight"].get<double>());
      const double expect = static_cast<double>(c) * std::min(k["usage"].get<double>(), big_w) / big_w;
      EXPECT_LE(std::abs(static_cast<double>(k["usedMicroUsd"].get<std::int64_t>()) - expect), 1.0) << row.name;
    }
    EXPECT_EQ(k["seconds"], 3600);
    // Its price is the node's, with the price-book rule in the text.
    bool price_listed = false;
    for (const auto& p : money["prices"]) {
      if (p["priceMicroUsdPerGpuHour"] == k["priceMicroUsdPerGpuHour"]) price_listed = true;
      EXPECT_NE(text.find("[price book rule: " + p["rule"].get<std::string>() + "]"), std::string::npos);
    }
    EXPECT_TRUE(price_listed);
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST_F(ExplainWorkloadTest, IdentityTeamAndClassComeWithTheirRules) {
  const int w = Find("search/bge-reranker");
  ASSERT_GE(w, 0);
  const model::Workload& wl = run_->snapshot.workloads[static_cast<std::size_t>(w)];
  const std::string text = ExplainWorkloadText(*run_, w);
  // The demo labels every workload's pods with gpuwise.io/team: precedence step 1.
  std::string team;
  for (const sim::WorkloadSpec& spec : World().scenario.workloads) {
    if (spec.name == "bge-reranker") team = spec.labels.at("gpuwise.io/team");
  }
  EXPECT_NE(text.find("team " + team + ": rule \"pod label gpuwise.io/team\" (step 1 of 5)"), std::string::npos) << text;
  EXPECT_NE(text.find("attribution api: the pod is in the Kubernetes API"), std::string::npos);
  // Each pod's chain runs from the pod to the workload's own object.
  for (const sim::SimPod* p : WorldPods("bge-reranker")) {
    const auto at = text.find("Pod " + p->meta.name + " -> ");
    ASSERT_NE(at, std::string::npos) << text;
    const std::string line = text.substr(at, text.find('\n', at) - at);
    EXPECT_NE(line.find("-> " + wl.key.kind + " " + wl.key.name), std::string::npos) << line;
  }
  const nlohmann::json doc = ExplainWorkloadJson(*run_, w);
  EXPECT_EQ(doc["class"]["value"], "interactive");
  EXPECT_EQ(doc["team"]["step"], 1);
  EXPECT_EQ(doc["policy"]["isolation"]["source"], "default for class interactive");
}

TEST_F(ExplainWorkloadTest, JsonConformsToItsSchema) {
  const nlohmann::json schema = testing::LoadSchema("WorkloadExplanation");
  ASSERT_FALSE(schema.is_discarded());
  ASSERT_TRUE(schema.contains("properties"));
  int checked = 0;
  for (std::size_t w = 0; w < run_->snapshot.workloads.size(); ++w) {
    const nlohmann::json doc = ExplainWorkloadJson(*run_, static_cast<int>(w));
    EXPECT_EQ(doc["kind"], "WorkloadExplanation");
    for (const auto& v : testing::CheckSchema(schema, doc)) ADD_FAILURE() << run_->snapshot.workloads[w].key.str() << " " << v;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST_F(ExplainWorkloadTest, FindWorkloadAcceptsEveryFormOfTheDemosNames) {
  const int w = Find("search/bge-reranker");
  ASSERT_GE(w, 0);
  const model::WorkloadKey& k = run_->snapshot.workloads[static_cast<std::size_t>(w)].key;
  EXPECT_EQ(Find("bge-reranker"), w);
  EXPECT_EQ(Find(k.str()), w);
  std::string lower = k.kind;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(Find(k.namespace_name + "/" + lower + "/" + k.name), w);
  base::Result<int> typo = FindWorkload(run_->snapshot, "search/bge-rerankr");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().code(), base::Code::kNotFound);
  EXPECT_NE(typo.status().message().find(k.str()), std::string::npos) << typo.status().message();
}

// ---- the per-device money on random snapshots: partial intervals, MIG splits, shares, oversubscription, gaps

// A random snapshot: 3 nodes (one unpriced), whole GPUs and MIG GPUs, pods of 3 workloads holding devices with random
// shares and fractions per interval (sometimes oversubscribed), usage sometimes missing or a serving reservation.
app::ReportRun RandomRun(std::mt19937& rng) {
  auto uniform = [&rng](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  model::Snapshot s;
  s.interval_s = 3600;
  s.grid_start_unix_s = 1'794'787'200;
  s.start_unix_s = s.grid_start_unix_s + pick(3600);
  s.intervals = 1 + pick(4);
  s.end_unix_s = std::min<std::int64_t>(s.grid_start_unix_s + s.intervals * 3600, s.start_unix_s + (s.intervals - 1) * 3600 + 1 + pick(3600));
  s.live = false;
  const std::int64_t prices[] = {12'290'000, 3'333'333, 0};
  for (int n = 0; n < 3; ++n) {
    model::SnapshotNode sn;
    sn.node.name = "node-" + std::to_string(n);
    sn.price_micro_per_gpu_hour = prices[n];
    sn.list_micro_per_gpu_hour = prices[n];
    sn.price_rule = "rule " + std::to_string(n);
    if (prices[n] == 0) sn.unpriced_reason = "no rule prices it";
    s.nodes.push_back(sn);
  }
  for (int w = 0; w < 3; ++w) {
    model::Workload wl;
    wl.key = {"ns", "Deployment", "w" + std::to_string(w)};
    s.workloads.push_back(wl);
  }
  for (int p = 0; p < 6; ++p) {
    model::Pod pod;
    pod.namespace_name = "ns";
    pod.name = "pod-" + std::to_string(p);
    if (p == 0) pod.engine.name = "vllm";
    s.pods.push_back(pod);
    const int w = p % 3;
    s.pod_workload.push_back(w);
    s.workloads[static_cast<std::size_t>(w)].pods.push_back(p);
  }
  for (int n = 0; n < 3; ++n) {
    for (int g = 0; g < 2; ++g) {
      const std::string uuid = "GPU-" + std::to_string(n) + "-" + std::to_string(g);
      if (g == 1 && n < 2) {  // a MIG GPU: 3g + 2g (+ 1g sometimes), the rest uncovered
        model::MigParent mp;
        mp.node = n;
        mp.uuid = uuid;
        for (int slices : {3, 2, 1}) {
          if (slices == 1 && pick(2) == 0) continue;
          model::Device d;
          d.node = n;
          d.join = model::NodeJoin::kHostname;
          d.uuid = uuid;
          d.gi_id = static_cast<int>(mp.instances.size()) + 1;
          d.mig_profile = std::to_string(slices) + "g." + std::to_string(slices * 10) + "gb";
          d.compute_slices = slices;
          d.gpu_share = slices / 7.0;
          d.memory_bytes = slices * 10e9;
          d.key = "node-" + std::to_string(n) + "/" + uuid + "/gi" + std::to_string(d.gi_id);
          mp.instances.push_back(static_cast<int>(s.devices.size()));
          s.devices.push_back(d);
        }
        s.mig_parents.push_back(mp);
        continue;
      }
      model::Device d;
      d.node = n;
      d.join = model::NodeJoin::kHostname;
      d.uuid = uuid;
      d.gpu_index = std::to_string(g);
      d.memory_bytes = 80e9;
      d.key = "node-" + std::to_string(n) + "/" + uuid;
      s.devices.push_back(d);
    }
  }
  for (std::size_t d = 0; d < s.devices.size(); ++d) {
    for (int i = 0; i < s.intervals; ++i) {
      model::DeviceInterval iv;
      iv.device = static_cast<int>(d);
      iv.interval = i;
      iv.samples = 10;
      if (pick(5) > 0) iv.compute = uniform(0, 1);
      if (pick(3) > 0) iv.fb_used_bytes = uniform(0, 1) * s.devices[d].memory_bytes;
      const int holders = pick(4);  // 0..3 holds, shares up to 1 each: sometimes oversubscribed
      for (int h = 0; h < holders; ++h) {
        model::DeviceHold hold;
        hold.pod = pick(6);
        hold.share = s.devices[d].is_mig() ? 1.0 : (pick(2) == 0 ? 1.0 : 0.25 * (1 + pick(3)));
        hold.fraction = pick(3) == 0 ? uniform(0.1, 1) : 1.0;
        hold.how = static_cast<model::HoldHow>(pick(3));
        if (hold.pod == 0) iv.fb_reserved = true;
        iv.holds.push_back(hold);
      }
      s.usage.push_back(iv);
    }
  }
  app::ReportRun run;
  run.snapshot = std::move(s);
  run.ledger = analyze::ComputeCosts(run.snapshot);
  run.report = analyze::BuildReport(run.snapshot, run.ledger);
  return run;
}

TEST(ExplainWorkloadMoneyTest, PerDeviceFiguresAddUpToTheLedgerAndTheLinesReAddOnRandomSnapshots) {
  std::mt19937 rng(20261124);
  int workloads = 0, partial = 0, mig = 0;
  for (int round = 0; round < 150; ++round) {
    const app::ReportRun run = RandomRun(rng);
    for (std::size_t w = 0; w < run.snapshot.workloads.size(); ++w) {
      const analyze::Money& m = run.ledger.workloads[w].money;
      const nlohmann::json doc = ExplainWorkloadJson(run, static_cast<int>(w));
      std::int64_t held = 0, used = 0, unmeasured = 0;
      double gpu_hours = 0;
      for (const auto& d : doc["holdings"]["devices"]) {
        held += d["heldMicroUsd"].get<std::int64_t>();
        used += d["usedMicroUsd"].get<std::int64_t>();
        unmeasured += d["unmeasuredMicroUsd"].get<std::int64_t>();
        gpu_hours += d["gpuHours"].get<double>();
        if (!d["giId"].is_null()) ++mig;
        if (d["windowFraction"].get<double>() < 1) ++partial;
      }
      ASSERT_EQ(held, m.allocated()) << "round " << round << " workload " << w;
      ASSERT_EQ(used, m.used) << "round " << round << " workload " << w;
      ASSERT_EQ(unmeasured, m.unmeasured) << "round " << round << " workload " << w;
      EXPECT_NEAR(gpu_hours, run.ledger.workloads[w].gpu_hours, 1e-9);
      EXPECT_TRUE(doc["money"]["byDeviceMatchesLedger"].get<bool>());
      const std::string text = ExplainWorkloadText(run, static_cast<int>(w));
      const std::int64_t h = MoneyLine(text, "  held "), u = MoneyLine(text, "  used "), i = MoneyLine(text, "  idle ");
      ASSERT_GE(h, 0) << text;
      EXPECT_EQ(h, u + i) << text;
      EXPECT_EQ(text.find("a gpuwise bug"), std::string::npos);
      // The worked line's own arithmetic: used = round(C x min(u, W) / W), idle = C - used.
      const auto& k = doc["money"]["worked"];
      if (!k.is_null()) {
        const std::int64_t c = k["heldMicroUsd"];
        EXPECT_EQ(k["usedMicroUsd"].get<std::int64_t>() + k["idleMicroUsd"].get<std::int64_t>(), c);
        const double big_w = std::min(1.0, k["holdsWeight"].get<double>());
        const double expect = k["usage"].is_null() ? 0.0 : static_cast<double>(c) * std::min(k["usage"].get<double>(), big_w) / big_w;
        EXPECT_LE(std::abs(static_cast<double>(k["usedMicroUsd"].get<std::int64_t>()) - expect), 1.0);
      }
      ++workloads;
    }
  }
  // Not vacuous: the random snapshots have MIG instances and partial holds.
  EXPECT_GT(mig, 50);
  EXPECT_GT(partial, 50);
  EXPECT_EQ(workloads, 450);
}

// ---- FindWorkload on a hand-made snapshot

model::Snapshot Named(const std::vector<model::WorkloadKey>& keys) {
  model::Snapshot s;
  for (const model::WorkloadKey& k : keys) {
    model::Workload w;
    w.key = k;
    s.workloads.push_back(w);
  }
  return s;
}

TEST(FindWorkloadTest, BareNameNamingSeveralWorkloadsIsAmbiguousAndListsThem) {
  const model::Snapshot s = Named({{"a", "Deployment", "x"}, {"b", "StatefulSet", "x"}, {"a", "Deployment", "y"}});
  base::Result<int> r = FindWorkload(s, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("a/Deployment/x"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("b/StatefulSet/x"), std::string::npos);
  EXPECT_EQ(r.status().message().find("a/Deployment/y"), std::string::npos);
  // Qualified, it is one.
  ASSERT_TRUE(FindWorkload(s, "b/x").ok());
  EXPECT_EQ(*FindWorkload(s, "b/x"), 1);
  EXPECT_EQ(*FindWorkload(s, "y"), 2);
}

TEST(FindWorkloadTest, NamespaceAndNameNamingTwoKindsIsAmbiguous) {
  const model::Snapshot s = Named({{"a", "Deployment", "y"}, {"a", "Pod", "y"}});
  base::Result<int> r = FindWorkload(s, "a/y");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("a/Pod/y"), std::string::npos);
  EXPECT_EQ(*FindWorkload(s, "a/Pod/y"), 1);
  EXPECT_EQ(*FindWorkload(s, "a/deployment/y"), 0);
}

TEST(FindWorkloadTest, NotFoundListsAtMostFiveCloseMatchesClosestFirst) {
  std::vector<model::WorkloadKey> keys;
  for (int i = 0; i < 9; ++i) keys.push_back({"ml", "Deployment", "llama-" + std::to_string(i)});
  keys.push_back({"ml", "Deployment", "trainer"});
  const model::Snapshot s = Named(keys);
  base::Result<int> r = FindWorkload(s, "ml/trainr");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kNotFound);
  const std::string& msg = r.status().message();
  const auto list = msg.find("close matches: ");
  ASSERT_NE(list, std::string::npos) << msg;
  EXPECT_EQ(msg.find("ml/Deployment/trainer", list), list + 15) << msg;  // the closest first
  EXPECT_EQ(Count(msg.substr(list), "ml/Deployment/"), 5u) << msg;
  // In a namespace that does not exist too, something is suggested.
  base::Result<int> other = FindWorkload(s, "nope/Deployment/trainer");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("ml/Deployment/trainer"), std::string::npos);
}

TEST(FindWorkloadTest, MalformedDesignatorsAreInvalid) {
  const model::Snapshot s = Named({{"a", "Deployment", "x"}});
  for (const char* bad : {"", "  ", "a/b/c/d", "a//x", "/x", "a/"}) {
    base::Result<int> r = FindWorkload(s, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument) << bad;
  }
  base::Result<int> none = FindWorkload(Named({}), "x");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), base::Code::kNotFound);
}

}  // namespace
}  // namespace gpuwise::cli
