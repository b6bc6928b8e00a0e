#include "optimize/fractional/right_size.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "optimize/fractional/mig_catalog.h"

namespace gpuwise::optimize::fractional {
namespace {

using std::chrono::milliseconds;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr const char* kA100 = "NVIDIA A100-SXM4-80GB";
constexpr const char* kH100 = "NVIDIA H100 80GB HBM3";

// A one-interval snapshot built by hand: nodes, devices (whole GPUs or MIG instances), pods holding them, one
// workload per Add() call.
struct Fixture {
  model::Snapshot s;
  Fixture() {
    s.start_unix_s = s.grid_start_unix_s = 1'794'787'200;
    s.end_unix_s = s.start_unix_s + 3600;
    s.intervals = 1;
  }
  int Node(const std::string& sharing = "", int replicas = 1) {
    model::SnapshotNode n;
    n.node.name = "node-" + std::to_string(s.nodes.size());
    n.node.sharing_strategy = sharing;
    n.node.gpu_replicas = replicas;
    n.replicas = replicas;
    n.gpus = 8;
    s.nodes.push_back(n);
    return static_cast<int>(s.nodes.size()) - 1;
  }
  int Device(int node, const std::string& model_name, double memory, const std::string& profile = "", int g = 0) {
    model::Device d;
    d.node = node;
    d.model_name = model_name;
    d.uuid = "GPU-" + std::to_string(s.devices.size());
    d.key = s.nodes[static_cast<std::size_t>(node)].node.name + "/" + d.uuid;
    d.memory_bytes = memory;
    d.compute_source = "sm_active";
    if (!profile.empty()) {
      d.gi_id = 1;
      d.mig_profile = profile;
      d.compute_slices = g;
      d.gpu_share = g / 7.0;
    }
    s.devices.push_back(d);
    model::DeviceInterval iv;
    iv.device = static_cast<int>(s.devices.size()) - 1;
    iv.interval = 0;
    iv.samples = 60;
    s.usage.push_back(iv);
    return iv.device;
  }
  // A pod of a new workload holding `devices` with `share` each.
  int Add(const std::string& name, const std::vector<int>& devices, model::GpuRequest req, double share = 1,
          const std::string& engine = "") {
    model::Pod p;
    p.namespace_name = "ml";
    p.name = name + "-0";
    p.node = s.nodes[static_cast<std::size_t>(s.devices[static_cast<std::size_t>(devices.front())].node)].node.name;
    p.phase = "Running";
    model::Container c;
    c.gpu = req;
    p.containers.push_back(c);
    p.engine.name = engine;
    s.pods.push_back(p);
    const int pod = static_cast<int>(s.pods.size()) - 1;
    model::Workload w;
    w.key = {"ml", "Deployment", name};
    w.pods = {pod};
    w.compute_source = "sm_active";
    s.workloads.push_back(w);
    s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
    for (int d : devices) {
      model::DeviceHold h;
      h.pod = pod;
      h.share = share;
      h.fraction = 1;
      h.how = model::HoldHow::kLabel;
      s.usage[static_cast<std::size_t>(d)].holds.push_back(h);
    }
    return static_cast<int>(s.workloads.size()) - 1;
  }
  // `n` compute samples at `compute` and framebuffer share samples peaking at `fb_peak`.
  void Usage(int w, double compute, double fb_peak, int n = 100) {
    auto& u = s.workloads[static_cast<std::size_t>(w)].usage;
    for (int i = 0; i < n; ++i) {
      u[static_cast<std::size_t>(model::UsageSignal::kCompute)].Insert(compute);
      u[static_cast<std::size_t>(model::UsageSignal::kFbShare)].Insert(fb_peak * (i + 1) / n);
    }
  }
};

model::GpuRequest Gpus(int n) {
  model::GpuRequest r;
  r.gpus = n;
  return r;
}

model::WorkloadPolicy Policy(std::optional<model::Isolation> iso = std::nullopt, std::optional<int> ttft_ms = std::nullopt,
                             std::optional<int> tpot_ms = std::nullopt) {
  model::WorkloadPolicy p;
  p.isolation.value = iso;
  if (iso) p.isolation.source = "pod annotation gpuwise.io/isolation";
  if (ttft_ms) p.slo_ttft_p99.value = milliseconds(*ttft_ms);
  if (tpot_ms) p.slo_tpot_p99.value = milliseconds(*tpot_ms);
  return p;
}

const UnitChoice* Find(const SizingDecision& d, UnitKind kind, const std::string& profile = "", int replicas = -1) {
  for (const UnitChoice& u : d.feasible) {
    if (u.kind == kind && (profile.empty() || u.mig_profile == profile) && (replicas < 0 || u.replicas == replicas)) {
      return &u;
    }
  }
  return nullptr;
}

bool AnyKind(const SizingDecision& d, UnitKind kind) { return Find(d, kind) != nullptr; }

bool EvidenceHas(const SizingDecision& d, const std::string& needle) {
  return std::any_of(d.evidence.begin(), d.evidence.end(),
                     [&](const std::string& e) { return e.find(needle) != std::string::npos; });
}

std::string Dump(const SizingDecision& d) {
  std::string out = std::string(SizingStatusName(d.status)) + ": " + d.reason + "\nfeasible:";
  for (const UnitChoice& u : d.feasible) out += " [" + UnitLabel(u) + " " + std::to_string(u.gpu_share) + "]";
  for (const std::string& e : d.evidence) out += "\n  " + e;
  return out;
}

// M/D/1 mean response time in service times, as docs/latency-model.md states it.
double Q(double rho) { return 1 + rho / (2 * (1 - rho)); }

// An idle-ish encoder on a whole A100-80GB: compute 0.05, framebuffer peak 0.10 of 80 GiB (need 8.8 GiB).
struct Encoder : Fixture {
  int w;
  explicit Encoder(const char* model_name = kA100) {
    const int n = Node();
    const int g = Device(n, model_name, 80 * kGiB);
    w = Add("encoder", {g}, Gpus(1), 1, "vllm-embed");
    Usage(w, 0.05, 0.10);
    s.workloads[static_cast<std::size_t>(w)].serving.ttft_p99_s = 0.020;
  }
};

TEST(RightSize, EncoderWithSloAndMeasuredLatencyMovesToAMigSlice) {
  Encoder f;
  const SizingDecision d = RightSize(f.s, f.w, Policy(std::nullopt, 300), model::WorkloadClass::kInteractive);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_EQ(d.current.kind, UnitKind::kWholeGpu);
  EXPECT_DOUBLE_EQ(d.current.gpu_share, 1.0);
  EXPECT_NEAR(d.current.memory_bytes, 0.10 * 80 * kGiB * 1.10, 1e-6 * kGiB);
  // 1g.10gb: 14 of 108 SMs, 1 of 8 memory slices. TTFT (prefill taken as compute-bound) x 108/14; load 0.05 x
  // max(108/14, 8) = 0.40, queueing Q(0.40)/Q(0.05); error bound 14% (activity 1 band).
  const UnitChoice& best = d.feasible.front();
  ASSERT_EQ(best.kind, UnitKind::kMig) << Dump(d);
  EXPECT_EQ(best.mig_profile, "1g.10gb");
  EXPECT_NEAR(best.gpu_share, 1.0 / 7, 1e-12);
  const double expected = 0.020 * (108.0 / 14) * Q(0.05 * 8) / Q(0.05);
  ASSERT_TRUE(best.predicted_ttft_p99_s.has_value());
  EXPECT_NEAR(*best.predicted_ttft_p99_s, expected, 0.01 * expected);  // the sketch's 1% on the activity
  EXPECT_DOUBLE_EQ(best.error_bound, 0.14);
  EXPECT_LE(*best.predicted_ttft_p99_s * 1.14, 0.300);
  EXPECT_TRUE(best.relies_on_inferred);  // A100-80GB placements are inferred rows
  EXPECT_FALSE(best.reasons.empty());
  EXPECT_NE(d.reason.find("MIG 1g.10gb"), std::string::npos) << d.reason;
  // Every slice listed fits the 8.8 GiB need, the current unit is among the feasible, and 3g.40gb takes half a GPU
  // (4 of 8 memory slices > 3 of 7 compute slices).
  ASSERT_NE(Find(d, UnitKind::kMig, "3g.40gb"), nullptr);
  EXPECT_DOUBLE_EQ(Find(d, UnitKind::kMig, "3g.40gb")->gpu_share, 0.5);
  EXPECT_NE(Find(d, UnitKind::kWholeGpu), nullptr);
  // Isolation mig (interactive default): no MPS, no time-slicing.
  EXPECT_FALSE(AnyKind(d, UnitKind::kMps));
  EXPECT_FALSE(AnyKind(d, UnitKind::kTimeSlice));
}

TEST(RightSize, ATighterSloRulesOutTheSmallestSliceWithTheFigures) {
  Encoder f;
  // 1g.10gb predicts 0.020 x 7.71 x 1.30 = 200 ms, +14% = 228 ms > 220 ms; 2g.20gb: x3.86 x Q(0.20)/Q(0.05) = 85 ms.
  const SizingDecision d = RightSize(f.s, f.w, Policy(std::nullopt, 220), model::WorkloadClass::kInteractive);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_EQ(Find(d, UnitKind::kMig, "1g.10gb"), nullptr);
  EXPECT_TRUE(EvidenceHas(d, "not MIG 1g.10gb: SLO would not hold")) << Dump(d);
  const UnitChoice* two = Find(d, UnitKind::kMig, "2g.20gb");
  ASSERT_NE(two, nullptr) << Dump(d);
  const double expected = 0.020 * (108.0 / 28) * Q(0.05 * 4) / Q(0.05);
  EXPECT_NEAR(*two->predicted_ttft_p99_s, expected, 0.01 * expected);
}

TEST(RightSize, WithoutSloTheEncoderKeepsItsSms) {
  Encoder f;
  const SizingDecision d = RightSize(f.s, f.w, Policy(), model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_NE(d.reason.find("no latency SLO"), std::string::npos) << d.reason;
  // Every A100 MIG profile has fewer SMs than the whole GPU (7g: 98 of 108): none is feasible.
  EXPECT_FALSE(AnyKind(d, UnitKind::kMig)) << Dump(d);
  EXPECT_TRUE(EvidenceHas(d, "not MIG 1g.10gb: 14 SMs, 1/8 memory slices vs 108, 8/8 now: no latency SLO")) << Dump(d);
  ASSERT_EQ(d.feasible.size(), 1u);
  EXPECT_EQ(d.feasible.front().kind, UnitKind::kWholeGpu);
}

TEST(RightSize, WithoutSloAnH100SevenSliceKeepsEverySm) {
  // H100 SXM5: 7g.80gb has all 132 SMs and 8 of 8 memory slices, so it keeps the workload's compute; smaller
  // profiles do not. It takes a whole GPU too: keep.
  Encoder f(kH100);
  const SizingDecision d = RightSize(f.s, f.w, Policy(), model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_NE(Find(d, UnitKind::kMig, "7g.80gb"), nullptr) << Dump(d);
  EXPECT_EQ(Find(d, UnitKind::kMig, "4g.40gb"), nullptr);
}

TEST(RightSize, NoMeasuredLatencyMeansTheSloCannotBeChecked) {
  Encoder f;
  f.s.workloads[0].serving.ttft_p99_s = NAN;
  const SizingDecision d = RightSize(f.s, f.w, Policy(std::nullopt, 300), model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_FALSE(AnyKind(d, UnitKind::kMig));
  EXPECT_TRUE(EvidenceHas(d, "the SLO cannot be checked"));
  EXPECT_NE(d.reason.find("no measured latency"), std::string::npos) << d.reason;
}

TEST(RightSize, ATensorParallelPodNeverGetsMigMpsOrShares) {
  Fixture f;
  const int n = f.Node();
  std::vector<int> gpus;
  for (int i = 0; i < 4; ++i) gpus.push_back(f.Device(n, kA100, 80 * kGiB));
  const int w = f.Add("llm", gpus, Gpus(4));
  f.Usage(w, 0.02, 0.05);
  f.s.workloads[0].serving.ttft_p99_s = 0.01;
  f.s.workloads[0].serving.tpot_p99_s = 0.005;
  const SizingDecision d =
      RightSize(f.s, w, Policy(model::Isolation::kTimeslice, 5000, 1000), model::WorkloadClass::kDev);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_EQ(d.current.gpus, 4);
  EXPECT_DOUBLE_EQ(d.current.gpu_share, 4.0);
  for (const UnitChoice& u : d.feasible) EXPECT_EQ(u.kind, UnitKind::kWholeGpu) << Dump(d);
  EXPECT_TRUE(EvidenceHas(d, "tensor parallelism"));
  EXPECT_NE(d.reason.find("tensor parallelism"), std::string::npos) << d.reason;
  // Memory need per GPU 0.05 x 80 GiB x 1.1 = 4.4 GiB, recorded for the pod's four GPUs.
  EXPECT_NEAR(d.current.memory_bytes, 4 * 0.05 * 80 * kGiB * 1.1, 1e-6 * kGiB);
}

TEST(RightSize, IsolationExclusiveNeverGetsMig) {
  Encoder f;
  const SizingDecision d =
      RightSize(f.s, f.w, Policy(model::Isolation::kExclusive, 300), model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_FALSE(AnyKind(d, UnitKind::kMig));
  EXPECT_FALSE(AnyKind(d, UnitKind::kMps));
  EXPECT_TRUE(EvidenceHas(d, "isolation exclusive (pod annotation gpuwise.io/isolation) forbids MIG"));
  // The training default is exclusive too.
  const SizingDecision t = RightSize(f.s, f.w, Policy(std::nullopt, 300), model::WorkloadClass::kTraining);
  EXPECT_FALSE(AnyKind(t, UnitKind::kMig));
}

TEST(RightSize, AVllmPodNeedsItsDemandNotItsReservation) {
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, kA100, 80 * kGiB);
  const int w = f.Add("chat", {g}, Gpus(1), 1, "vllm");
  f.Usage(w, 0.05, 0.90);  // gpu_memory_utilization 0.9: the framebuffer used is the reservation
  f.s.usage[0].fb_reserved = true;
  f.s.usage[0].fb_demand_bytes = 20 * kGiB;
  f.s.workloads[0].serving.ttft_p99_s = 0.050;
  f.s.workloads[0].serving.tpot_p99_s = 0.010;
  const SizingDecision d = RightSize(f.s, w, Policy(std::nullopt, 2000, 200), model::WorkloadClass::kInteractive);
  EXPECT_DOUBLE_EQ(d.current.memory_bytes, 20 * kGiB * 1.10);
  // 22 GiB: 3g.40gb (39.25 GiB) fits, 2g.20gb (19.5 GiB) does not, whatever the latency.
  EXPECT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_NE(Find(d, UnitKind::kMig, "3g.40gb"), nullptr) << Dump(d);
  EXPECT_EQ(Find(d, UnitKind::kMig, "2g.20gb"), nullptr);
  // vLLM takes gpu_memory_utilization (0.9) of the slice it runs on: the budget is 0.9 x 19.5 GiB.
  EXPECT_TRUE(EvidenceHas(d, "not MIG 2g.20gb: needs 22.0 GiB, its engine gets 0.90 of 19.5 GiB = 17.6 GiB")) << Dump(d);
  for (const UnitChoice& u : d.feasible) EXPECT_DOUBLE_EQ(u.memory_bytes, 22 * kGiB) << UnitLabel(u);

  // Demand not read: the need is unknown, and only units with the current unit's 80 GiB are feasible.
  f.s.usage[0].fb_demand_bytes = NAN;
  const SizingDecision u = RightSize(f.s, w, Policy(std::nullopt, 2000, 200), model::WorkloadClass::kInteractive);
  EXPECT_EQ(u.status, SizingStatus::kKeep) << Dump(u);
  ASSERT_EQ(u.feasible.size(), 1u) << Dump(u);
  EXPECT_TRUE(EvidenceHas(u, "memory need unknown: vllm reserves its memory up front")) << Dump(u);
  EXPECT_NE(u.reason.find("memory need unknown"), std::string::npos) << u.reason;
}

TEST(RightSize, TimeSlicingOnlyWithoutSlo) {
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, kA100, 80 * kGiB);
  const int w = f.Add("notebook", {g}, Gpus(1));
  f.Usage(w, 0.10, 0.25);
  f.s.workloads[0].serving.ttft_p99_s = 0.02;
  const SizingDecision d = RightSize(f.s, w, Policy(), model::WorkloadClass::kNotebook);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  const UnitChoice* ts = Find(d, UnitKind::kTimeSlice);
  ASSERT_NE(ts, nullptr) << Dump(d);
  // max(memory 0.25 x 1.1 = 0.275 of the GPU, compute 0.10 / 0.8 = 0.125).
  EXPECT_NEAR(ts->gpu_share, 0.275, 1e-9);
  EXPECT_NEAR(ts->memory_bytes, 0.275 * 80 * kGiB, 1e-6 * kGiB);
  EXPECT_NEAR(ts->compute_share, 0.10, 0.002);
  EXPECT_EQ(ts->replicas, 0);
  EXPECT_EQ(d.feasible.front().kind, UnitKind::kTimeSlice);
  // No MIG, no MPS below the whole GPU's SMs without an SLO.
  for (const UnitChoice& u : d.feasible) {
    EXPECT_TRUE(u.kind == UnitKind::kTimeSlice || u.kind == UnitKind::kWholeGpu) << UnitLabel(u);
  }

  const SizingDecision slo = RightSize(f.s, w, Policy(std::nullopt, 400), model::WorkloadClass::kNotebook);
  EXPECT_FALSE(AnyKind(slo, UnitKind::kTimeSlice)) << Dump(slo);
  EXPECT_TRUE(EvidenceHas(slo, "time-slicing gives no latency guarantee"));
}

TEST(RightSize, UnknownGpuModelListsNoMigButWholeAndTimeSlicing) {
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, "NVIDIA L4", 24 * kGiB);
  const int w = f.Add("dev", {g}, Gpus(1));
  f.Usage(w, 0.05, 0.20);
  const SizingDecision d = RightSize(f.s, w, Policy(), model::WorkloadClass::kDev);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_FALSE(AnyKind(d, UnitKind::kMig));
  EXPECT_TRUE(EvidenceHas(d, "not in the MIG catalog"));
  EXPECT_TRUE(AnyKind(d, UnitKind::kWholeGpu));
  const UnitChoice* ts = Find(d, UnitKind::kTimeSlice);
  ASSERT_NE(ts, nullptr);
  EXPECT_NEAR(ts->gpu_share, 0.22, 1e-9);  // memory 0.20 x 1.1 of 24 GiB
}

TEST(RightSize, MpsSharesWithSloUseTheLatencyModelAndWithoutSloKeepSms) {
  Encoder f;
  const SizingDecision d =
      RightSize(f.s, f.w, Policy(model::Isolation::kMps, 300), model::WorkloadClass::kInteractive);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  // MPS 1/N: 108/N SMs (rounded down), memory bandwidth taken as floor(8/N) of 8 slices. N = 7: 15 SMs, 1 of 8:
  // x108/15 = 7.2, load 0.05 x 8 = 0.4.
  const UnitChoice* seven = Find(d, UnitKind::kMps, "", 7);
  ASSERT_NE(seven, nullptr) << Dump(d);
  EXPECT_DOUBLE_EQ(seven->gpu_share, 1.0 / 7);
  const double expected = 0.020 * (108.0 / 15) * Q(0.05 * 8) / Q(0.05);
  EXPECT_NEAR(*seven->predicted_ttft_p99_s, expected, 0.01 * expected);
  // N = 8: 8.8 GiB <= 80/8 = 10 GiB; 13 SMs: x8.31, load 0.05 x 8.31 = 0.415; 219 ms, +14% = 250 ms <= 300 ms. It
  // is the smallest unit (1/8 < MIG 1g.10gb's 1/7). N = 9 and up are not tried (max_mps_replicas 8).
  const UnitChoice* eight = Find(d, UnitKind::kMps, "", 8);
  ASSERT_NE(eight, nullptr) << Dump(d);
  const double r8 = 108.0 / 13;
  EXPECT_NEAR(*eight->predicted_ttft_p99_s, 0.020 * r8 * Q(0.05 * r8) / Q(0.05), 0.01 * 0.020 * r8 * 1.32);
  EXPECT_EQ(&d.feasible.front(), eight);
  // A tighter SLO (240 ms) rules N = 8 out.
  const SizingDecision tight =
      RightSize(f.s, f.w, Policy(model::Isolation::kMps, 240), model::WorkloadClass::kInteractive);
  EXPECT_EQ(Find(tight, UnitKind::kMps, "", 8), nullptr) << Dump(tight);
  EXPECT_TRUE(EvidenceHas(tight, "not MPS 1/8: SLO would not hold"));

  const SizingDecision none = RightSize(f.s, f.w, Policy(model::Isolation::kMps), model::WorkloadClass::kInteractive);
  EXPECT_FALSE(AnyKind(none, UnitKind::kMps)) << Dump(none);
  EXPECT_EQ(none.status, SizingStatus::kKeep);
}

TEST(RightSize, MpsOnAGpuOutsideTheCatalogUsesTheExactSmRatio) {
  // An L4 (no MIG, SM count not in the catalog): MPS 1/N caps a client at 1/N of the SMs whatever their number, and
  // the latency model needs only that ratio. 1/2: TTFT x2, memory bandwidth taken as 4 of 8 slices (x2), load
  // 0.05 x 2.
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, "NVIDIA L4", 24 * kGiB);
  const int w = f.Add("small-encoder", {g}, Gpus(1));
  f.Usage(w, 0.05, 0.10);
  f.s.workloads[static_cast<std::size_t>(w)].serving.ttft_p99_s = 0.020;
  const SizingDecision d = RightSize(f.s, w, Policy(model::Isolation::kMps, 300), model::WorkloadClass::kInteractive);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_FALSE(AnyKind(d, UnitKind::kMig));
  const UnitChoice* two = Find(d, UnitKind::kMps, "", 2);
  ASSERT_NE(two, nullptr) << Dump(d);
  ASSERT_TRUE(two->predicted_ttft_p99_s.has_value());
  EXPECT_NEAR(*two->predicted_ttft_p99_s, 0.020 * 2 * Q(0.05 * 2) / Q(0.05), 1e-6);
  EXPECT_TRUE(std::any_of(two->reasons.begin(), two->reasons.end(),
                          [](const std::string& r) { return r.find("SM count is not in the catalog") != std::string::npos; }));
  // Memory: 2.64 GiB fits 24/8 = 3 GiB, so 1/8 is tried; the SLO decides.
  const UnitChoice* eight = Find(d, UnitKind::kMps, "", 8);
  ASSERT_NE(eight, nullptr) << Dump(d);
  EXPECT_NEAR(*eight->predicted_ttft_p99_s, 0.020 * 8 * Q(0.05 * 8) / Q(0.05), 1e-6);
  const SizingDecision tight = RightSize(f.s, w, Policy(model::Isolation::kMps, 60), model::WorkloadClass::kInteractive);
  EXPECT_EQ(Find(tight, UnitKind::kMps, "", 8), nullptr) << Dump(tight);
  EXPECT_NE(Find(tight, UnitKind::kMps, "", 2), nullptr) << Dump(tight);
}

TEST(RightSize, AMigPodWithoutSloMayOnlyGrowAndGetsNoMps) {
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, kA100, 39.25 * kGiB, "3g.40gb", 3);
  model::GpuRequest req;
  req.mig["3g.40gb"] = 1;
  const int w = f.Add("reranker", {g}, req);
  f.Usage(w, 0.30, 0.50);
  const SizingDecision d = RightSize(f.s, w, Policy(model::Isolation::kMps), model::WorkloadClass::kBatch);
  EXPECT_EQ(d.status, SizingStatus::kKeep) << Dump(d);
  EXPECT_EQ(d.current.kind, UnitKind::kMig);
  EXPECT_DOUBLE_EQ(d.current.gpu_share, 0.5);
  // Compute need: 0.30 x 42 / 108 of a GPU.
  EXPECT_NEAR(d.current.compute_share, 0.30 * 42 / 108, 0.01 * 0.30 * 42 / 108);
  std::vector<std::string> migs;
  for (const UnitChoice& u : d.feasible) {
    if (u.kind == UnitKind::kMig) migs.push_back(u.mig_profile);
    EXPECT_NE(u.kind, UnitKind::kMps);
  }
  EXPECT_EQ(migs, (std::vector<std::string>{"3g.40gb", "4g.40gb", "7g.80gb"}));
  EXPECT_TRUE(EvidenceHas(d, "not MPS: on a MIG instance"));
}

TEST(RightSize, FractionsOnlyForPodsAlreadyOnHamiOrKai) {
  Fixture f;
  const int n = f.Node();
  const int g = f.Device(n, kA100, 80 * kGiB);
  model::GpuRequest req;
  req.hami_gpumem_mib = 40 * 1024;
  req.gpus = 1;
  const int w = f.Add("hami", {g}, req, 0.5);
  f.Usage(w, 0.15, 0.20);
  const SizingDecision d = RightSize(f.s, w, Policy(model::Isolation::kTimeslice), model::WorkloadClass::kNotebook);
  EXPECT_EQ(d.current.kind, UnitKind::kFraction);
  EXPECT_DOUBLE_EQ(d.current.gpu_share, 0.5);
  ASSERT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  // max(memory 0.20 x 1.1 = 0.22, compute 0.15) = 0.22; time-slicing: max(0.22, 0.15 / 0.8 = 0.1875) = 0.22 too.
  const UnitChoice* fr = nullptr;
  for (const UnitChoice& u : d.feasible) {
    if (u.kind == UnitKind::kFraction && u.gpu_share < 0.4) fr = &u;
  }
  ASSERT_NE(fr, nullptr) << Dump(d);
  EXPECT_NEAR(fr->gpu_share, 0.22, 1e-9);
  // A whole-GPU pod never gets a fraction.
  Fixture h;
  const int hn = h.Node();
  const int hw = h.Add("plain", {h.Device(hn, kA100, 80 * kGiB)}, Gpus(1));
  h.Usage(hw, 0.15, 0.20);
  EXPECT_FALSE(AnyKind(RightSize(h.s, hw, Policy(model::Isolation::kTimeslice), model::WorkloadClass::kNotebook),
                       UnitKind::kFraction));
}

TEST(RightSize, UnknownWithReasons) {
  Encoder few;
  few.s.workloads[0].usage[0] = model::UsageSketch();
  for (int i = 0; i < 10; ++i) few.s.workloads[0].usage[0].Insert(0.1);
  SizingDecision d = RightSize(few.s, few.w, Policy(), model::WorkloadClass::kBatch);
  EXPECT_EQ(d.status, SizingStatus::kUnknown);
  EXPECT_NE(d.reason.find("10 compute samples"), std::string::npos) << d.reason;
  EXPECT_EQ(d.current.kind, UnitKind::kWholeGpu);

  Encoder nofb;
  nofb.s.workloads[0].usage[static_cast<std::size_t>(model::UsageSignal::kFbShare)] = model::UsageSketch();
  d = RightSize(nofb.s, nofb.w, Policy(), model::WorkloadClass::kBatch);
  EXPECT_EQ(d.status, SizingStatus::kUnknown);
  EXPECT_NE(d.reason.find("no framebuffer signal"), std::string::npos) << d.reason;

  Encoder gone;
  gone.s.pods[0].end_unix_s = gone.s.end_unix_s - 60;
  gone.s.pods[0].phase = "Succeeded";
  d = RightSize(gone.s, gone.w, Policy(), model::WorkloadClass::kBatch);
  EXPECT_EQ(d.status, SizingStatus::kUnknown);
  EXPECT_NE(d.reason.find("no live pod"), std::string::npos) << d.reason;

  // A window profile (aggregated reads) stands in for the sketches.
  Encoder window;
  window.s.workloads[0].usage = {};
  model::WindowProfile& wp = window.s.workloads[0].window;
  wp.set = true;
  wp.stats[static_cast<std::size_t>(model::UsageSignal::kCompute)] = {1000, 1, 0.01, 0.02, 0.05, 0.06, 0.1};
  wp.stats[static_cast<std::size_t>(model::UsageSignal::kFbShare)] = {1000, 1, 0.05, 0.05, 0.08, 0.09, 0.10};
  d = RightSize(window.s, window.w, Policy(std::nullopt, 300), model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kResize) << Dump(d);
  EXPECT_NEAR(d.current.memory_bytes, 0.10 * 80 * kGiB * 1.1, 1e-6 * kGiB);
  EXPECT_NEAR(d.current.compute_share, 0.06, 1e-12);  // p99 for interactive
}

TEST(RightSize, IgnoreAndAutomationOffKeep) {
  Encoder f;
  model::WorkloadPolicy p = Policy(std::nullopt, 300);
  p.ignore.value = true;
  SizingDecision d = RightSize(f.s, f.w, p, model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep);
  EXPECT_NE(d.reason.find("gpuwise.io/ignore"), std::string::npos);
  ASSERT_EQ(d.feasible.size(), 1u);
  p.ignore.value = false;
  p.automation.value = model::Automation::kOff;
  d = RightSize(f.s, f.w, p, model::WorkloadClass::kInteractive);
  EXPECT_EQ(d.status, SizingStatus::kKeep);
  EXPECT_NE(d.reason.find("automation is off"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Properties over random workloads and policies, checked against figures computed here from the catalog.

struct Gpu {
  const char* model;
  double memory_gib;
  int full_sms;  // 0: unknown
};
constexpr Gpu kGpus[] = {{kA100, 80, 108},
                         {"NVIDIA A100-SXM4-40GB", 40, 108},
                         {kH100, 79.6, 132},
                         {"NVIDIA A30", 24, 56},
                         {"NVIDIA L4", 24, 0}};

// A profile's memory as the catalog gives it (or a profile with the same memory slices).
double CatalogMemory(const MigGpu& g, const MigProfile& p) {
  if (std::isfinite(p.memory_gib)) return p.memory_gib * kGiB;
  for (const MigProfile& q : g.profiles) {
    if (q.memory_slices == p.memory_slices && std::isfinite(q.memory_gib)) return q.memory_gib * kGiB;
  }
  return NAN;
}

RC_GTEST_PROP(RightSizeProperty, FeasibleUnitsRespectMemorySmsTpIsolationAndOrder, ()) {
  const Gpu gpu = kGpus[*rc::gen::inRange<std::size_t>(0, std::size(kGpus))];
  const MigGpu* mig = FindMigGpu(gpu.model);
  const double gpu_memory = gpu.memory_gib * kGiB;
  Fixture f;
  // Current unit: 0 whole (1..4 GPUs), 1 MIG, 2 time-slicing, 3 MPS.
  int kind = *rc::gen::inRange(0, 4);
  if (kind == 1 && mig == nullptr) kind = 0;
  const int replicas = *rc::gen::inRange(2, 5);
  const int n = f.Node(kind == 3 ? "mps" : kind == 2 ? "time-slicing" : "", kind >= 2 ? replicas : 1);
  int w = -1;
  double unit_memory = gpu_memory;
  double cur_sm_share = 1;  // of the whole GPU's SMs
  int tp = 1;
  const MigProfile* cur_profile = nullptr;
  if (kind == 0) {
    tp = *rc::gen::element(1, 1, 1, 2, 4);
    std::vector<int> devs;
    for (int i = 0; i < tp; ++i) devs.push_back(f.Device(n, gpu.model, gpu_memory));
    w = f.Add("w", devs, Gpus(tp));
  } else if (kind == 1) {
    std::vector<const MigProfile*> ps;
    for (const MigProfile& p : mig->profiles) {
      if (!p.media_extensions() && p.sms > 0 && std::isfinite(CatalogMemory(*mig, p))) ps.push_back(&p);
    }
    cur_profile = ps[*rc::gen::inRange<std::size_t>(0, ps.size())];
    unit_memory = CatalogMemory(*mig, *cur_profile);
    cur_sm_share = static_cast<double>(cur_profile->sms) / mig->full_sms;
    model::GpuRequest req;
    req.mig[std::string(cur_profile->name)] = 1;
    w = f.Add("w", {f.Device(n, gpu.model, unit_memory, std::string(cur_profile->name), cur_profile->compute_slices)},
              req);
  } else {
    model::GpuRequest req;
    req.gpus = 1;
    w = f.Add("w", {f.Device(n, gpu.model, gpu_memory)}, req, 1.0 / replicas);
    if (kind == 3) cur_sm_share = 1.0 / replicas;
  }
  double fb_peak = std::pow(*rc::gen::inRange(0, 1001) / 1000.0, 2);
  if (*rc::gen::arbitrary<bool>()) {
    // A need within 15% of some unit's memory (a MIG profile, or 1/N of the GPU), where the memory rule decides.
    double edge = gpu_memory / *rc::gen::inRange(1, 9);
    if (mig != nullptr && *rc::gen::arbitrary<bool>()) {
      const MigProfile& p = mig->profiles[*rc::gen::inRange<std::size_t>(0, mig->profiles.size())];
      if (std::isfinite(CatalogMemory(*mig, p))) edge = CatalogMemory(*mig, p);
    }
    fb_peak = std::min(1.0, edge * (0.85 + *rc::gen::inRange(0, 31) / 100.0) / (unit_memory * 1.1));
  }
  // Compute activity, kept 2% away from the edges of the model's error bands (0.25, 0.50, 0.75) so that the
  // sketch's 1% cannot move it across one.
  // Mostly low activity and memory, where smaller units are in play.
  double compute = std::pow(*rc::gen::inRange(0, 1001) / 1000.0, 3);
  for (double edge : {0.25, 0.50, 0.75}) {
    if (std::abs(compute - edge) < 0.02 * edge) compute = edge * 1.03;
  }
  f.Usage(w, compute, fb_peak);
  model::Workload& wl = f.s.workloads[static_cast<std::size_t>(w)];
  double need = fb_peak * unit_memory * 1.1;
  if (*rc::gen::inRange(0, 4) == 0) {
    // A reserving engine: the need is its demand (the same on each of its devices), not the framebuffer used.
    f.s.pods[0].engine.name = "vllm";
    const double demand = *rc::gen::arbitrary<bool>() ? fb_peak * unit_memory : *rc::gen::inRange(0, 101) / 100.0 * unit_memory;
    for (model::DeviceInterval& iv : f.s.usage) {
      iv.fb_reserved = true;
      iv.fb_demand_bytes = demand;
    }
    need = demand * 1.1;
  }
  if (*rc::gen::inRange(0, 4) > 0) wl.serving.ttft_p99_s = *rc::gen::inRange(1, 200) / 1000.0;
  if (*rc::gen::inRange(0, 4) > 0) wl.serving.tpot_p99_s = *rc::gen::inRange(1, 50) / 1000.0;
  std::optional<model::Isolation> iso;
  if (*rc::gen::arbitrary<bool>()) iso = static_cast<model::Isolation>(*rc::gen::inRange(0, 4));
  std::optional<int> ttft, tpot;
  if (*rc::gen::arbitrary<bool>()) ttft = *rc::gen::inRange(10, 3000);
  if (*rc::gen::arbitrary<bool>()) tpot = *rc::gen::inRange(5, 500);
  const auto cls = static_cast<model::WorkloadClass>(*rc::gen::inRange(0, 6));
  const model::WorkloadPolicy policy = Policy(iso, ttft, tpot);
  const model::Isolation in_force = policy.IsolationFor(cls).value;

  const SizingDecision d = RightSize(f.s, w, policy, cls);
  RC_ASSERT(d.status != SizingStatus::kUnknown);
  RC_ASSERT(!d.feasible.empty());
  RC_ASSERT(std::find(d.feasible.begin(), d.feasible.end(), d.current) != d.feasible.end());
  for (std::size_t i = 1; i < d.feasible.size(); ++i) RC_ASSERT(d.feasible[i - 1].gpu_share <= d.feasible[i].gpu_share);
  for (const UnitChoice& u : d.feasible) {
    if (u == d.current) continue;
    RC_ASSERT(u.gpu_model == gpu.model);
    // Memory: the unit holds the need (one device of it).
    double memory = gpu_memory;
    double sm_share = 1;
    switch (u.kind) {
      case UnitKind::kWholeGpu: break;
      case UnitKind::kMig: {
        RC_ASSERT(mig != nullptr);
        const MigProfile* p = mig->FindProfile(u.mig_profile);
        RC_ASSERT(p != nullptr);
        RC_ASSERT(!p->media_extensions());
        memory = CatalogMemory(*mig, *p);
        sm_share = static_cast<double>(p->sms) / mig->full_sms;
        RC_ASSERT(std::abs(u.gpu_share - std::max(static_cast<double>(p->compute_slices) / mig->compute_slices,
                                                  static_cast<double>(p->memory_slices) / mig->memory_slices)) < 1e-12);
        RC_ASSERT(in_force == model::Isolation::kMig || in_force == model::Isolation::kMps ||
                  in_force == model::Isolation::kTimeslice);
        break;
      }
      case UnitKind::kMps:
        RC_ASSERT(u.replicas >= 2);
        memory = gpu_memory / u.replicas;
        sm_share = 1.0 / u.replicas;
        RC_ASSERT(std::abs(u.gpu_share - 1.0 / u.replicas) < 1e-12);
        RC_ASSERT(in_force == model::Isolation::kMps || in_force == model::Isolation::kTimeslice);
        RC_ASSERT(kind != 1);
        break;
      case UnitKind::kTimeSlice:
      case UnitKind::kFraction:
        RC_ASSERT(in_force == model::Isolation::kTimeslice);
        RC_ASSERT(!ttft && !tpot);
        break;
    }
    RC_ASSERT(need <= memory + 1);
    if (tp > 1) RC_ASSERT(u.kind == UnitKind::kWholeGpu);
    if (!ttft && !tpot) {
      RC_ASSERT(sm_share >= cur_sm_share - 1e-9);
    } else if (sm_share < cur_sm_share - 1e-9) {
      // Shrunk with an SLO: every SLO set has a prediction within it, its error bound included: TTFT (prefill taken
      // as compute-bound) always has the top band's 14%, TPOT the band of the workload's activity.
      const double tpot_bound = ComputeErrorBound(compute);
      double bound = 0;
      if (ttft) {
        RC_ASSERT(u.predicted_ttft_p99_s && *u.predicted_ttft_p99_s * 1.14 <= *ttft / 1000.0 + 1e-12);
        bound = 0.14;
      }
      if (tpot) {
        RC_ASSERT(u.predicted_tpot_p99_s && *u.predicted_tpot_p99_s * (1 + tpot_bound) <= *tpot / 1000.0 + 1e-12);
        bound = std::max(bound, tpot_bound);
      }
      RC_ASSERT(std::abs(u.error_bound - bound) < 1e-12);
    }
  }
  bool shrunk = false;
  for (const UnitChoice& u : d.feasible) shrunk = shrunk || u.predicted_ttft_p99_s || u.predicted_tpot_p99_s;
  RC_TAG(SizingStatusName(d.status), shrunk ? "shrunk under an SLO" : "not shrunk");
  if (d.status == SizingStatus::kResize) RC_ASSERT(d.feasible.front().gpu_share <= 0.9 * d.current.gpu_share + 1e-9);
  if (d.status == SizingStatus::kKeep) RC_ASSERT(d.feasible.front().gpu_share > 0.9 * d.current.gpu_share - 1e-9);
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
