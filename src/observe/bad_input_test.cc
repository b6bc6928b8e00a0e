// Bad input at the snapshot level (issue 5): pods on nodes the API does not list, telemetry for GPUs no node reports,
// NaN / negative / +Inf / DCGM blank values, pod labels naming pods the API does not have, a MIG instance with an
// unknown profile, a node with no GPU count label, one GPU reported under two hostname spellings, 10,000 pods on one
// node, and an interval with no samples. Each case checks the exact warning or counter, that nothing is dropped
// silently, and that analyze::ComputeCosts keeps its identities (workloads + unallocated = GPU cost, per node and per
// workload used + idle = allocated, the ledger rows sum to the GPU cost).
//
// Covered elsewhere, not repeated here: a kubeconfig naming a missing context (observe/kube/kubeconfig_test.cc,
// Kubeconfig.ContextErrorsNameTheContextAndListTheOthers), an expired or rejected token (credentials_test.cc,
// Credentials.ExecCachedUntilExpiryAndAfterInvalidate; kube_client_test.cc,
// KubeClientTest.UnauthorizedRereadsCredentialsOnceAndNamesTheirSource), API objects that do not convert
// (cluster_reader_test.cc, ClusterReaderTest.ObjectsThatDoNotConvertAreSkippedWithAWarning), malformed exposition
// lines (observe/prom/dcgm_telemetry_test.cc), and the libFuzzer targets in tests/fuzz/.
//
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "analyze/cost.h"
#include "observe/scrape_window.h"
#include "observe/snapshot_builder.h"

namespace gpuwise::observe {
namespace {

constexpr std::int64_t kNow = 1'794'787'200;  // 2026-11-15T00:00:00Z, on the hour grid
constexpr std::int64_t kPrice = 4'000'000;    // micro-USD per GPU-hour
constexpr double kFbMiB = 81559;

model::Node GpuNode(const std::string& name, int gpus, int replicas = 1) {
  model::Node n;
  n.name = name;
  n.gpu_count = gpus;
  n.gpu_replicas = replicas;
  n.gpu_memory_mib = kFbMiB;
  n.capacity["nvidia.com/gpu"] = gpus * replicas;
  n.allocatable = n.capacity;
  return n;
}

model::Pod GpuPod(const std::string& ns, const std::string& name, const std::string& node, int gpus,
                  const std::string& resource = "nvidia.com/gpu") {
  model::Pod p;
  p.namespace_name = ns;
  p.name = name;
  p.node = node;
  p.phase = "Running";
  p.start_unix_s = kNow - 3 * 3600;
  model::Container c;
  c.name = "main";
  if (resource == "nvidia.com/gpu") c.gpu.gpus = gpus;
  else if (resource == "nvidia.com/gpu.shared") c.gpu.shared = gpus;
  else c.gpu.mig[resource.substr(std::string("nvidia.com/mig-").size())] = gpus;
  p.containers.push_back(c);
  p.owners.push_back({"apps/v1", "Deployment", name + "-deploy", "uid-" + name});
  return p;
}

std::string Labels(const std::string& host, int index, const std::string& uuid, const std::string& extra = "") {
  std::string l = "gpu=\"" + std::to_string(index) + "\",UUID=\"" + uuid + "\",device=\"nvidia" + std::to_string(index) +
                  "\",modelName=\"NVIDIA H100 80GB HBM3\"";
  if (!host.empty()) l += ",Hostname=\"" + host + "\"";
  if (!extra.empty()) l += "," + extra;
  return l;
}
std::string PodLabel(const std::string& ns, const std::string& pod) {
  return "container=\"main\",namespace=\"" + ns + "\",pod=\"" + pod + "\"";
}
// SM activity (ratio) and framebuffer used / free (MiB) of one GPU; values as text so NaN, +Inf and sentinels pass.
std::string Gpu(const std::string& labels, const std::string& sm, const std::string& fb_used_mib,
                const std::string& fb_free_mib) {
  return "DCGM_FI_PROF_SM_ACTIVE{" + labels + "} " + sm + "\nDCGM_FI_DEV_FB_USED{" + labels + "} " + fb_used_mib +
         "\nDCGM_FI_DEV_FB_FREE{" + labels + "} " + fb_free_mib + "\n";
}
std::string Gpu(const std::string& labels, double sm, double fb_used_mib) {
  return Gpu(labels, std::to_string(sm), std::to_string(fb_used_mib), std::to_string(kFbMiB - fb_used_mib));
}

prom::Telemetry Parse(const std::string& page, const std::string& url = "http://10.0.0.9:9400/metrics") {
  prom::DcgmTelemetryBuilder b;
  b.AddPage(page, prom::Format::kText, url);
  return b.Finish();
}

SnapshotOptions Priced() {
  SnapshotOptions o;
  o.pricer = [](const model::Node&, std::int64_t) {
    NodePriceQuote q;
    q.effective_micro_per_gpu_hour = q.list_micro_per_gpu_hour = kPrice;
    q.rule = "test";
    return q;
  };
  return o;
}


bool HasWarning(const model::Snapshot& s, const std::string& exact) {
  for (const auto& w : s.warnings) {
    if (w == exact) return true;
  }
  return false;
}
int WarningsContaining(const model::Snapshot& s, const std::string& part) {
  int n = 0;
  for (const auto& w : s.warnings) n += w.find(part) != std::string::npos ? 1 : 0;
  return n;
}
std::string AllWarnings(const model::Snapshot& s) {
  std::string out;
  for (const auto& w : s.warnings) out += "\n  " + w;
  return out;
}

const model::Device* FindDevice(const model::Snapshot& s, const std::string& uuid, int gi = -1) {
  for (const auto& d : s.devices) {
    if (d.uuid == uuid && d.gi_id == gi) return &d;
  }
  return nullptr;
}
const model::DeviceInterval& UsageOf(const model::Snapshot& s, const model::Device* d, int interval = 0) {
  return s.usage[static_cast<std::size_t>(d - s.devices.data()) * static_cast<std::size_t>(s.intervals) +
                 static_cast<std::size_t>(interval)];
}
int PodIndex(const model::Snapshot& s, const std::string& ns, const std::string& name) {
  for (std::size_t i = 0; i < s.pods.size(); ++i) {
    if (s.pods[i].namespace_name == ns && s.pods[i].name == name) return static_cast<int>(i);
  }
  return -1;
}
const analyze::WorkloadCost& CostOfPod(const model::Snapshot& s, const analyze::CostLedger& l, int pod) {
  return l.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(pod)])];
}

// The ledger's identities, each side summed independently.
void ExpectCostIdentities(const model::Snapshot& s, const analyze::CostLedger& l) {
  std::int64_t workloads = 0, used = 0, idle = 0;
  for (const analyze::WorkloadCost& w : l.workloads) {
    EXPECT_EQ(w.money.used + w.money.idle, w.money.allocated());
    EXPECT_GE(w.money.used, 0);
    EXPECT_GE(w.money.idle, 0);
    EXPECT_LE(w.money.unmeasured, w.money.idle);
    workloads += w.money.allocated();
    used += w.money.used;
    idle += w.money.idle;
  }
  EXPECT_EQ(workloads + l.unallocated, l.gpu_cost) << "sum of workloads + unallocated == GPU cost";
  EXPECT_EQ(used, l.allocated.used);
  EXPECT_EQ(idle, l.allocated.idle);
  std::int64_t nodes = 0;
  for (const analyze::NodeCost& n : l.nodes) {
    EXPECT_EQ(n.unallocated + n.allocated.allocated(), n.cost);
    nodes += n.cost;
  }
  EXPECT_EQ(nodes, l.gpu_cost) << "GPUs on unknown nodes are not priced, so nodes carry all of the cost";
  std::int64_t rows = 0;
  for (const analyze::CostRow& r : l.rows) rows += r.cost;
  EXPECT_EQ(rows, l.gpu_cost);
  EXPECT_EQ(l.workloads.size(), s.workloads.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Pods whose node the API does not list.

TEST(BadInputPodOnUnknownNode, ALabelledPodIsStillAttributedThroughItsDevice) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 2)};
  // spec.nodeName names a node that is gone from the API (deleted, or the node list was filtered).
  cluster.pods = {GpuPod("ml", "orphan", "node-gone", 1)};
  const std::string page = Gpu(Labels("node-a", 0, "GPU-a0", PodLabel("ml", "orphan")), 0.5, 20000) +
                           Gpu(Labels("node-a", 1, "GPU-a1"), 0.0, 0);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const model::Snapshot& s = *snap;
  const int pod = PodIndex(s, "ml", "orphan");
  ASSERT_GE(pod, 0) << "a GPU pod is kept even when its node is unknown";
  const auto& holds = UsageOf(s, FindDevice(s, "GPU-a0")).holds;
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].pod, pod);
  EXPECT_EQ(holds[0].how, model::HoldHow::kLabel);
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 2 * kPrice);
  EXPECT_EQ(CostOfPod(s, l, pod).money.allocated(), kPrice);
  EXPECT_EQ(CostOfPod(s, l, pod).money.used, kPrice / 2);  // max(0.5 SM, 20000/81559 fb)
  EXPECT_EQ(l.unallocated, kPrice);
  ExpectCostIdentities(s, l);
}

TEST(BadInputPodOnUnknownNode, AnUnlabelledPodIsWarnedAboutNotDroppedSilently) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  cluster.pods = {GpuPod("ml", "orphan", "node-gone", 1)};
  auto snap = BuildLiveSnapshot(cluster, Parse(Gpu(Labels("node-a", 0, "GPU-a0"), 0.1, 100)), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_GE(PodIndex(*snap, "ml", "orphan"), 0);
  EXPECT_EQ(WarningsContaining(*snap, "ml/orphan"), 1) << AllWarnings(*snap);
  EXPECT_EQ(WarningsContaining(*snap, "node-gone"), 1) << AllWarnings(*snap);
  ExpectCostIdentities(*snap, analyze::ComputeCosts(*snap));
}

// ---------------------------------------------------------------------------------------------------------------
// Telemetry for GPUs no node reports.

TEST(BadInputUnknownNodeGpu, CountedWarnedNotPricedAndItsLabelStillAttributes) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  cluster.pods = {GpuPod("ml", "train", "node-a", 1)};
  // A GPU on a Hostname no node has, scraped from a target endpoint discovery does not map: unknown node.
  const std::string page = Gpu(Labels("node-a", 0, "GPU-a0", PodLabel("ml", "train")), 0.9, 70000) +
                           Gpu(Labels("ghost-7", 0, "GPU-g0", PodLabel("ml", "stray-0")), 0.3, 1000) +
                           Gpu(Labels("ghost-7", 1, "GPU-g1"), 0.0, 0);
  auto snap = BuildLiveSnapshot(cluster, Parse(page, "http://10.9.9.9:9400/metrics"), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.devices.size(), 3u) << "every GPU the telemetry names is a device";
  for (const char* uuid : {"GPU-g0", "GPU-g1"}) {
    const model::Device* d = FindDevice(s, uuid);
    ASSERT_NE(d, nullptr) << uuid;
    EXPECT_EQ(d->node, -1);
    EXPECT_EQ(d->join, model::NodeJoin::kUnknown);
    EXPECT_EQ(d->hostname, "ghost-7");
    EXPECT_EQ(d->key, std::string("?ghost-7/") + uuid);
  }
  EXPECT_TRUE(HasWarning(s, "2 GPU device(s) on unknown nodes (no node named by their Hostname label or exporter): "
                            "counted, not priced"))
      << AllWarnings(s);
  // The pod the unknown GPU's label names is kept (as "gone": the API does not have it) and holds that GPU.
  const int stray = PodIndex(s, "ml", "stray-0");
  ASSERT_GE(stray, 0);
  const auto& holds = UsageOf(s, FindDevice(s, "GPU-g0")).holds;
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].pod, stray);
  EXPECT_TRUE(HasWarning(s, "1 pod(s) named by telemetry are not in the Kubernetes API: attributed from their names "
                            "where possible, else as \"pod gone\""))
      << AllWarnings(s);
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, kPrice) << "only node-a's GPU is priced";
  EXPECT_EQ(l.unpriced_gpu_hours_x1000, 2000) << "the two unknown GPUs, one hour each";
  EXPECT_EQ(CostOfPod(s, l, stray).money.allocated(), 0);
  EXPECT_DOUBLE_EQ(CostOfPod(s, l, stray).gpu_hours, 1.0) << "its GPU-hour is counted, without a price";
  EXPECT_EQ(CostOfPod(s, l, PodIndex(s, "ml", "train")).money.allocated(), kPrice);
  ExpectCostIdentities(s, l);
}

TEST(BadInputUnknownNodeGpu, MoreGpusThanTheNodeReportsAreWarnedAbout) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 2)};
  std::string page;
  for (int i = 0; i < 4; ++i) page += Gpu(Labels("node-a", i, "GPU-a" + std::to_string(i)), 0.1, 100);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->devices.size(), 4u);
  EXPECT_EQ(WarningsContaining(*snap, "node-a"), 1) << AllWarnings(*snap);
  ExpectCostIdentities(*snap, analyze::ComputeCosts(*snap));
}

// ---------------------------------------------------------------------------------------------------------------
// NaN, negative, +Inf and DCGM blank values.

TEST(BadInputValues, NanNegativeInfAndBlanksAreUnknownNeverZero) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 4)};
  cluster.pods = {GpuPod("ml", "p0", "node-a", 1), GpuPod("ml", "p1", "node-a", 1), GpuPod("ml", "p2", "node-a", 1),
                  GpuPod("ml", "p3", "node-a", 1)};
  // GPU 0: SM NaN, framebuffer fine. GPU 1: SM negative, FB_USED +Inf. GPU 2: the DCGM blank sentinels (FP64 blank
  // for the double field, INT64 blank for the integer ones). GPU 3: every value fine, as a control.
  const std::string page =
      Gpu(Labels("node-a", 0, "GPU-0", PodLabel("ml", "p0")), "NaN", "40000", "41559") +
      Gpu(Labels("node-a", 1, "GPU-1", PodLabel("ml", "p1")), "-0.25", "+Inf", "81559") +
      Gpu(Labels("node-a", 2, "GPU-2", PodLabel("ml", "p2")), "140737488355328", "9223372036854775792",
          "9223372036854775792") +
      Gpu(Labels("node-a", 3, "GPU-3", PodLabel("ml", "p3")), 0.25, 8155.9);
  const prom::Telemetry t = Parse(page);
  EXPECT_EQ(t.stats.missing_values, 6u) << "NaN, -0.25, +Inf and the three sentinels: each counted";
  EXPECT_EQ(t.stats.bad_lines, 0u);
  auto snap = BuildLiveSnapshot(cluster, t, kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.devices.size(), 4u);
  const model::DeviceInterval& g0 = UsageOf(s, FindDevice(s, "GPU-0"));
  EXPECT_TRUE(std::isnan(g0.compute)) << "NaN is unknown, not zero";
  EXPECT_DOUBLE_EQ(g0.fb_used_bytes, 40000.0 * 1048576);
  const model::DeviceInterval& g1 = UsageOf(s, FindDevice(s, "GPU-1"));
  EXPECT_TRUE(std::isnan(g1.compute)) << "a negative ratio is unknown, not zero";
  EXPECT_TRUE(std::isnan(g1.fb_used_bytes)) << "+Inf is unknown";
  const model::DeviceInterval& g3 = UsageOf(s, FindDevice(s, "GPU-3"));
  EXPECT_DOUBLE_EQ(g3.compute, 0.25);
  // Costs: GPU 0 is measured by its framebuffer (40000 / 81559), GPU 1 by nothing (all of it unmeasured idle).
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 4 * kPrice);
  EXPECT_EQ(l.unallocated, 0);
  const analyze::Money p0 = CostOfPod(s, l, PodIndex(s, "ml", "p0")).money;
  EXPECT_EQ(p0.used, std::llround(kPrice * 40000.0 / kFbMiB));
  EXPECT_EQ(p0.unmeasured, 0);
  const analyze::Money p1 = CostOfPod(s, l, PodIndex(s, "ml", "p1")).money;
  EXPECT_EQ(p1.used, 0);
  EXPECT_EQ(p1.unmeasured, kPrice) << "no usable sample: unmeasured, reported as such, not 'idle at 0%'";
  EXPECT_EQ(CostOfPod(s, l, PodIndex(s, "ml", "p3")).money.used, kPrice / 4);
  ExpectCostIdentities(s, l);
}

TEST(BadInputValues, ADeviceWhoseEveryValueIsBlankKeepsItsPodLabel) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 2)};
  cluster.pods = {GpuPod("ml", "api-pod", "node-a", 1)};
  const std::string blank = "9223372036854775792";
  const std::string page = Gpu(Labels("node-a", 0, "GPU-0", PodLabel("ml", "api-pod")), "140737488355328", blank, blank) +
                           Gpu(Labels("node-a", 1, "GPU-1", PodLabel("ml", "gone-x")), "140737488355328", blank, blank);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const auto& h0 = UsageOf(*snap, FindDevice(*snap, "GPU-0")).holds;
  ASSERT_EQ(h0.size(), 1u);
  EXPECT_EQ(h0[0].how, model::HoldHow::kLabel);
  EXPECT_GE(PodIndex(*snap, "ml", "gone-x"), 0);
  EXPECT_TRUE(HasWarning(*snap, "1 pod(s) named by telemetry are not in the Kubernetes API: attributed from their "
                                "names where possible, else as \"pod gone\""))
      << AllWarnings(*snap);
  ExpectCostIdentities(*snap, analyze::ComputeCosts(*snap));
}

TEST(BadInputValues, TheSnapshotSaysHowManyValuesWereUnknown) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  const std::string page = Gpu(Labels("node-a", 0, "GPU-0"), "NaN", "-1", "+Inf");
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(WarningsContaining(*snap, "3 DCGM value"), 1) << AllWarnings(*snap);
}

// ---------------------------------------------------------------------------------------------------------------
// Pod labels naming pods the API does not have.

TEST(BadInputGonePods, LabelsNamingUnknownPodsAreKeptAttributedAndCounted) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 3)};
  const std::string page =
      Gpu(Labels("node-a", 0, "GPU-0", PodLabel("search", "chat-7d9f8b6c5d-x2k4p")), 0.6, 100) +   // a Deployment's
      Gpu(Labels("node-a", 1, "GPU-1", PodLabel("batch", "nightly-29412360-bq7xz")), 0.2, 100) +  // a CronJob's
      Gpu(Labels("node-a", 2, "GPU-2", PodLabel("dev", "scratch")), 0.0, 100);                    // nothing to infer
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.pods.size(), 3u);
  EXPECT_TRUE(HasWarning(s, "3 pod(s) named by telemetry are not in the Kubernetes API: attributed from their names "
                            "where possible, else as \"pod gone\""))
      << AllWarnings(s);
  const int chat = PodIndex(s, "search", "chat-7d9f8b6c5d-x2k4p");
  const int nightly = PodIndex(s, "batch", "nightly-29412360-bq7xz");
  const int scratch = PodIndex(s, "dev", "scratch");
  ASSERT_GE(chat, 0);
  ASSERT_GE(nightly, 0);
  ASSERT_GE(scratch, 0);
  EXPECT_EQ(s.pods[static_cast<std::size_t>(chat)].source, model::AttributionSource::kInferred);
  EXPECT_EQ(s.pods[static_cast<std::size_t>(scratch)].source, model::AttributionSource::kPodGone);
  auto key = [&](int pod) { return s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(pod)])].key.str(); };
  EXPECT_EQ(key(chat), "search/Deployment/chat");
  EXPECT_EQ(key(nightly), "batch/CronJob/nightly");
  EXPECT_EQ(key(scratch), "dev/Pod/scratch");
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.unallocated, 0) << "each GPU is held by the pod its label names";
  for (int p : {chat, nightly, scratch}) EXPECT_EQ(CostOfPod(s, l, p).money.allocated(), kPrice);
  EXPECT_EQ(CostOfPod(s, l, chat).money.used, std::llround(kPrice * 0.6));
  ExpectCostIdentities(s, l);
}

// ---------------------------------------------------------------------------------------------------------------
// MIG.

std::string Mig(int gi, const std::string& profile, const std::string& pod_labels, double gr) {
  std::string labels = "gpu=\"0\",UUID=\"GPU-m\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
                       "Hostname=\"node-m\",GPU_I_PROFILE=\"" + profile + "\",GPU_I_ID=\"" + std::to_string(gi) + "\"";
  if (!pod_labels.empty()) labels += "," + pod_labels;
  return "DCGM_FI_PROF_GR_ENGINE_ACTIVE{" + labels + "} " + std::to_string(gr) + "\n";
}

model::ClusterState MigCluster() {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-m", 1)};
  cluster.nodes[0].mig_strategy = "mixed";
  return cluster;
}

TEST(BadInputMig, MoreSlicesThanTheGpuHasAreWarnedAndScaled) {
  model::ClusterState cluster = MigCluster();
  const std::string page = Mig(1, "4g.40gb", PodLabel("a", "big"), 0.5) + Mig(2, "4g.40gb", PodLabel("a", "big2"), 0.5);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(HasWarning(*snap, "MIG GPU GPU-m reports instances of 8 compute slices, more than 7: instance shares "
                                "scaled down"))
      << AllWarnings(*snap);
  const analyze::CostLedger l = analyze::ComputeCosts(*snap);
  EXPECT_EQ(l.gpu_cost, kPrice);
  EXPECT_EQ(l.unallocated, 0);
  ExpectCostIdentities(*snap, l);
}

TEST(BadInputMig, AnInstanceWithAnUnknownProfileIsCountedAndTheGpuStaysPriced) {
  model::ClusterState cluster = MigCluster();
  cluster.pods = {GpuPod("a", "small", "node-m", 1, "nvidia.com/mig-1g.10gb")};
  // GI 3 carries a profile string gpuwise cannot read (no "<n>g." prefix); GI 9 a normal 1g instance.
  const std::string page = Mig(3, "weird-profile", PodLabel("a", "mystery"), 0.8) + Mig(9, "1g.10gb", "", 0.0);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  const model::Device* odd = FindDevice(s, "GPU-m", 3);
  ASSERT_NE(odd, nullptr) << "the instance is kept";
  EXPECT_EQ(odd->mig_profile, "weird-profile");
  EXPECT_EQ(odd->compute_slices, 0);
  ASSERT_EQ(s.mig_parents.size(), 1u);
  EXPECT_EQ(s.mig_parents[0].instances.size(), 2u);
  // The mystery pod still holds its instance (by label); the 1g pod takes the free 1g instance.
  ASSERT_EQ(UsageOf(s, odd).holds.size(), 1u);
  EXPECT_EQ(UsageOf(s, odd).holds[0].pod, PodIndex(s, "a", "mystery"));
  EXPECT_EQ(UsageOf(s, FindDevice(s, "GPU-m", 9)).holds.at(0).pod, PodIndex(s, "a", "small"));
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, kPrice) << "the physical GPU is priced whatever its instances say";
  EXPECT_EQ(CostOfPod(s, l, PodIndex(s, "a", "small")).money.allocated(), std::llround(kPrice / 7.0));
  ExpectCostIdentities(s, l);
}

TEST(BadInputMig, AnUnknownProfileIsWarnedAbout) {
  model::ClusterState cluster = MigCluster();
  const std::string page = Mig(3, "weird-profile", PodLabel("a", "mystery"), 0.8);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(WarningsContaining(*snap, "weird-profile"), 1) << AllWarnings(*snap);
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes without a GPU count label.

TEST(BadInputNodes, NoGpuCountLabelFallsBackToTheAdvertisedResource) {
  model::ClusterState cluster;
  model::Node plain;  // no GFD labels (GKE's driver installer, or GFD not deployed): gpu_count 0
  plain.name = "node-plain";
  plain.capacity["nvidia.com/gpu"] = 4;
  plain.allocatable["nvidia.com/gpu"] = 4;
  model::Node sliced = plain;  // time-slicing with 4 replicas and no GFD: 8 advertised = 2 physical
  sliced.name = "node-sliced";
  sliced.gpu_replicas = 4;
  sliced.capacity["nvidia.com/gpu"] = 8;
  sliced.allocatable["nvidia.com/gpu"] = 8;
  cluster.nodes = {plain, sliced};
  cluster.pods = {GpuPod("ml", "a", "node-plain", 2)};
  auto snap = BuildLiveSnapshot(cluster, prom::Telemetry{}, kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.nodes.size(), 2u);
  EXPECT_EQ(s.nodes[0].gpus, 4);
  EXPECT_EQ(s.nodes[1].gpus, 2);
  EXPECT_EQ(s.devices.size(), 6u);
  for (const auto& d : s.devices) {
    EXPECT_FALSE(d.seen);
    EXPECT_EQ(d.join, model::NodeJoin::kApiOnly);
  }
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 6 * kPrice);
  const analyze::Money a = CostOfPod(s, l, PodIndex(s, "ml", "a")).money;
  EXPECT_EQ(a.allocated(), 2 * kPrice);
  EXPECT_EQ(a.unmeasured, 2 * kPrice) << "no telemetry at all: held, unmeasured";
  ExpectCostIdentities(s, l);
}

TEST(BadInputNodes, AllocatableGpusWithoutCapacityStillMakeAGpuNode) {
  model::ClusterState cluster;
  model::Node n;
  n.name = "node-alloc";
  n.allocatable["nvidia.com/gpu"] = 4;
  cluster.nodes = {n};
  cluster.pods = {GpuPod("ml", "a", "node-alloc", 1)};
  auto snap = BuildLiveSnapshot(cluster, prom::Telemetry{}, kNow, Priced());
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->nodes.size(), 1u);
  EXPECT_EQ(snap->nodes[0].gpus, 4);
  ExpectCostIdentities(*snap, analyze::ComputeCosts(*snap));
}

// ---------------------------------------------------------------------------------------------------------------
// One GPU under two hostname spellings.

TEST(BadInputDuplicates, TheSameGpuThroughTwoJoinsToOneNodeIsOneDevice) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  cluster.pods = {GpuPod("ml", "p", "node-a", 1)};
  // Scraped twice: once with Hostname=node-a, once by a job whose Hostname is the exporter pod's own hostname (no
  // node has it) but whose target endpoint discovery maps to node-a.
  prom::DcgmTelemetryBuilder b;
  b.AddPage(Gpu(Labels("node-a", 0, "GPU-dup", PodLabel("ml", "p")), 0.4, 100), prom::Format::kText,
            "http://10.0.0.9:9400/metrics");
  b.AddPage(Gpu(Labels("nvidia-dcgm-exporter-x7k2p", 0, "GPU-dup", PodLabel("ml", "p")), 0.4, 100),
            prom::Format::kText, "http://10.0.0.10:9400/metrics");
  const prom::Telemetry t = b.Finish();
  ASSERT_EQ(t.entities.size(), 2u);
  SnapshotOptions o = Priced();
  o.target_node["10.0.0.10:9400"] = "node-a";
  auto snap = BuildLiveSnapshot(cluster, t, kNow, o);
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_EQ(s.devices[0].key, "node-a/GPU-dup");
  EXPECT_EQ(WarningsContaining(s, "unknown nodes"), 0) << AllWarnings(s);
  EXPECT_DOUBLE_EQ(UsageOf(s, &s.devices[0]).compute, 0.4);
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, kPrice);
  EXPECT_EQ(CostOfPod(s, l, PodIndex(s, "ml", "p")).money.allocated(), kPrice);
  ExpectCostIdentities(s, l);
}

TEST(BadInputDuplicates, OneUuidUnderAHostnameNoNodeHasIsNotASecondGpu) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  cluster.pods = {GpuPod("ml", "p", "node-a", 1)};
  const std::string page = Gpu(Labels("node-a", 0, "GPU-dup", PodLabel("ml", "p")), 0.4, 100) +
                           Gpu(Labels("node-a.ec2.internal", 0, "GPU-dup", PodLabel("ml", "p")), 0.4, 100);
  auto snap = BuildLiveSnapshot(cluster, Parse(page, "http://10.9.9.9:9400/metrics"), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->devices.size(), 1u);
  EXPECT_EQ(WarningsContaining(*snap, "unknown nodes"), 0) << AllWarnings(*snap);
  const analyze::CostLedger l = analyze::ComputeCosts(*snap);
  EXPECT_EQ(l.unpriced_gpu_hours_x1000, 0);
  ExpectCostIdentities(*snap, l);
}

// ---------------------------------------------------------------------------------------------------------------
// 10,000 pods on one node.

constexpr int kScaleGpus = 8, kScaleReplicas = 1250, kScalePods = kScaleGpus * kScaleReplicas;

// 10,000 pods time-slicing the 8 GPUs of one node (gpu.replicas 1250: 10,000 nvidia.com/gpu advertised).
model::ClusterState ScaleCluster() {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-big", kScaleGpus, kScaleReplicas)};
  cluster.pods.reserve(kScalePods);
  for (int i = 0; i < kScalePods; ++i) cluster.pods.push_back(GpuPod("load", "w-" + std::to_string(i), "node-big", 1));
  return cluster;
}
std::string ScaleSeries(int gpu, const std::string& pod_labels) {
  return "DCGM_FI_PROF_SM_ACTIVE{" + Labels("node-big", gpu, "GPU-b" + std::to_string(gpu), pod_labels) + "} 0.5\n";
}

// Every pod holds its share, the shares fill the GPUs exactly, nothing is oversubscribed or unplaced.
void ExpectEverySharerHolds(const model::Snapshot& s, const analyze::CostLedger& l) {
  ASSERT_EQ(s.devices.size(), static_cast<std::size_t>(kScaleGpus));
  std::size_t holds = 0;
  double weight = 0;
  for (const auto& d : s.devices) {
    for (const auto& h : UsageOf(s, &d).holds) {
      ++holds;
      weight += h.weight();
      EXPECT_DOUBLE_EQ(h.share, 1.0 / kScaleReplicas);
    }
  }
  EXPECT_EQ(holds, static_cast<std::size_t>(kScalePods)) << "every pod holds its share, none dropped";
  EXPECT_NEAR(weight, kScaleGpus, 1e-6);
  EXPECT_EQ(WarningsContaining(s, "held more than once"), 0) << "1250 shares of 1/1250 are not oversubscription";
  EXPECT_EQ(WarningsContaining(s, "requests more GPU"), 0);
  EXPECT_EQ(l.gpu_cost, kScaleGpus * kPrice);
  EXPECT_LE(l.unallocated, kScaleGpus) << "at most rounding: every share is held";
  for (int p = 0; p < kScalePods; p += 997) {
    // Each pod pays 1/1250 of a $4 GPU-hour = 3200 micro-USD, used at 50%, and its profile has the scrape's sample.
    EXPECT_NEAR(static_cast<double>(CostOfPod(s, l, p).money.allocated()), static_cast<double>(kPrice) / kScaleReplicas,
                1.0);
    EXPECT_NEAR(static_cast<double>(CostOfPod(s, l, p).money.used), static_cast<double>(kPrice) / kScaleReplicas / 2,
                1.0);
    const model::Workload& w = s.workloads[static_cast<std::size_t>(s.pod_workload[static_cast<std::size_t>(p)])];
    EXPECT_EQ(w.usage[static_cast<std::size_t>(model::UsageSignal::kCompute)].count(), 1u) << "one scrape, one sample";
  }
  ExpectCostIdentities(s, l);
}

TEST(BadInputScale, TenThousandPodsOnOneNodeAreAllAttributed) {
  const model::ClusterState cluster = ScaleCluster();
  // dcgm-exporter's default: a time-sliced GPU carries the label of one of its pods.
  std::string page;
  for (int g = 0; g < kScaleGpus; ++g) page += ScaleSeries(g, PodLabel("load", "w-" + std::to_string(g)));
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const analyze::CostLedger l = analyze::ComputeCosts(*snap);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 5.0);
  ExpectEverySharerHolds(*snap, l);
}

TEST(BadInputScale, TenThousandPodLabelsOnOneNodeAreAllAttributedQuickly) {
  const model::ClusterState cluster = ScaleCluster();
  std::string page;
  for (int i = 0; i < kScalePods; ++i) page += ScaleSeries(i % kScaleGpus, PodLabel("load", "w-" + std::to_string(i)));
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const analyze::CostLedger l = analyze::ComputeCosts(*snap);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 5.0) << "not quadratic in pods x series";
  ExpectEverySharerHolds(*snap, l);
}

// ---------------------------------------------------------------------------------------------------------------
// Intervals with no samples.

TEST(BadInputGaps, AnIntervalWithNoSamplesIsUnmeasuredNotIdleAtZero) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  cluster.pods = {GpuPod("ml", "p", "node-a", 1)};
  const std::int64_t start = kNow - 3 * 3600;
  // Scrapes in hours 0 and 2 only: hour 1 has no sample (an exporter restart, a Prometheus gap).
  ScrapeWindow w;
  const std::string page = Gpu(Labels("node-a", 0, "GPU-0", PodLabel("ml", "p")), 0.5, 100);
  w.Add(Parse(page), (start + 600) * 1000);
  w.Add(Parse(page), (start + 2 * 3600 + 600) * 1000);
  auto snap = BuildRangeSnapshot(cluster, {}, w.Take(), start, kNow, Priced());
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.intervals, 3);
  const model::Device* d = FindDevice(s, "GPU-0");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(UsageOf(s, d, 0).samples, 1u);
  EXPECT_EQ(UsageOf(s, d, 1).samples, 0u);
  EXPECT_TRUE(std::isnan(UsageOf(s, d, 1).compute)) << "no sample: unknown, not zero";
  EXPECT_EQ(UsageOf(s, d, 1).holds.size(), 1u) << "the pod was alive, so it held the GPU in the gap too";
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 3 * kPrice);
  const analyze::Money m = CostOfPod(s, l, PodIndex(s, "ml", "p")).money;
  EXPECT_EQ(m.allocated(), 3 * kPrice);
  EXPECT_EQ(m.used, kPrice) << "hours 0 and 2 at 50%";
  EXPECT_EQ(m.unmeasured, kPrice) << "hour 1: unmeasured";
  ExpectCostIdentities(s, l);
}

TEST(BadInputGaps, NoTelemetryAtAllStillPricesAndHoldsEveryGpu) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 2)};
  cluster.pods = {GpuPod("ml", "p", "node-a", 1)};
  auto snap = BuildRangeSnapshot(cluster, {}, RangeTelemetry{}, kNow - 2 * 3600, kNow, Priced());
  ASSERT_TRUE(snap.ok());
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.devices.size(), 2u);
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 4 * kPrice);
  EXPECT_EQ(l.unallocated, 2 * kPrice);
  const analyze::Money m = CostOfPod(s, l, PodIndex(s, "ml", "p")).money;
  EXPECT_EQ(m.allocated(), 2 * kPrice);
  EXPECT_EQ(m.unmeasured, 2 * kPrice);
  EXPECT_DOUBLE_EQ(CostOfPod(s, l, PodIndex(s, "ml", "p")).assumed_gpu_hours, 2.0) << "held by assumption: stated";
  ExpectCostIdentities(s, l);
}

TEST(BadInputGaps, AnEmptyWindowIsAnErrorNotACrash) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  auto snap = BuildRangeSnapshot(cluster, {}, RangeTelemetry{}, kNow, kNow, Priced());
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(snap.status().message(), "the window is empty (end <= start)");
  SnapshotOptions zero = Priced();
  zero.interval_s = 0;
  auto bad = BuildLiveSnapshot(cluster, prom::Telemetry{}, kNow, zero);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "the interval must be positive");
}

}  // namespace
}  // namespace gpuwise::observe
