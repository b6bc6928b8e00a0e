#include "observe/snapshot_builder.h"

#include <gtest/gtest.h>

#include <string>

#include "analyze/cost.h"

namespace gpuwise::observe {
namespace {

constexpr std::int64_t kNow = 1'794'787'200;

model::Node GpuNode(const std::string& name, int gpus, int replicas = 1) {
  model::Node n;
  n.name = name;
  n.gpu_count = gpus;
  n.gpu_replicas = replicas;
  n.gpu_memory_mib = 81559;
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
  p.start_unix_s = kNow - 3600;
  model::Container c;
  c.name = "main";
  if (resource == "nvidia.com/gpu") c.gpu.gpus = gpus;
  else if (resource == "nvidia.com/gpu.shared") c.gpu.shared = gpus;
  else c.gpu.mig[resource.substr(std::string("nvidia.com/mig-").size())] = gpus;
  p.containers.push_back(c);
  p.owners.push_back({"apps/v1", "Deployment", name + "-deploy", "uid"});
  return p;
}

// One dcgm-exporter line per (signal, GPU): SM activity and framebuffer used/free in MiB.
std::string Line(const std::string& metric, const std::string& labels, double v) {
  return metric + "{" + labels + "} " + std::to_string(v) + "\n";
}
std::string Gpu(const std::string& host, int index, const std::string& pod_labels, double sm, double fb_used_mib,
                const std::string& extra = "") {
  std::string labels = "gpu=\"" + std::to_string(index) + "\",UUID=\"GPU-" + host + "-" + std::to_string(index) +
                       "\",device=\"nvidia" + std::to_string(index) + "\",modelName=\"NVIDIA H100 80GB HBM3\"";
  if (!host.empty()) labels += ",Hostname=\"" + host + "\"";
  if (!extra.empty()) labels += "," + extra;
  if (!pod_labels.empty()) labels += "," + pod_labels;
  return Line("DCGM_FI_PROF_SM_ACTIVE", labels, sm) + Line("DCGM_FI_DEV_FB_USED", labels, fb_used_mib) +
         Line("DCGM_FI_DEV_FB_FREE", labels, 81559 - fb_used_mib);
}
std::string PodLabels(const std::string& ns, const std::string& pod) {
  return "container=\"main\",namespace=\"" + ns + "\",pod=\"" + pod + "\"";
}

prom::Telemetry Parse(const std::string& page, const std::string& url = "http://10.0.0.9:9400/metrics") {
  prom::DcgmTelemetryBuilder b;
  b.AddPage(page, prom::Format::kText, url);
  return b.Finish();
}

SnapshotOptions Priced(std::int64_t micro_per_gpu_hour) {
  SnapshotOptions o;
  o.pricer = [micro_per_gpu_hour](const model::Node&, std::int64_t) {
    NodePriceQuote q;
    q.effective_micro_per_gpu_hour = q.list_micro_per_gpu_hour = micro_per_gpu_hour;
    q.rule = "test";
    return q;
  };
  return o;
}

const model::Device* FindDevice(const model::Snapshot& s, const std::string& uuid, int gi = -1) {
  for (const auto& d : s.devices) {
    if (d.uuid == uuid && d.gi_id == gi) return &d;
  }
  return nullptr;
}
const model::DeviceInterval& UsageOf(const model::Snapshot& s, const model::Device* d) {
  return s.usage[static_cast<std::size_t>(d - s.devices.data()) * static_cast<std::size_t>(s.intervals)];
}
std::string HolderName(const model::Snapshot& s, const model::DeviceHold& h) {
  return s.pods[static_cast<std::size_t>(h.pod)].name;
}

TEST(BuildLiveSnapshot, LabelledAssumedUnallocatedAndUnseenGpus) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 4)};
  cluster.pods = {GpuPod("ml", "labelled", "node-a", 1), GpuPod("ml", "unlabelled", "node-a", 1)};
  const std::string page = Gpu("node-a", 0, PodLabels("ml", "labelled"), 0.5, 40000) + Gpu("node-a", 1, "", 0.0, 0) +
                           Gpu("node-a", 2, "", 0.0, 0);
  auto snap = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced(4'000'000));
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const model::Snapshot& s = *snap;
  ASSERT_EQ(s.devices.size(), 4u);  // three seen, one the node has that no exporter named
  EXPECT_EQ(s.nodes[0].gpus, 4);
  const auto& g0 = UsageOf(s, FindDevice(s, "GPU-node-a-0"));
  ASSERT_EQ(g0.holds.size(), 1u);
  EXPECT_EQ(HolderName(s, g0.holds[0]), "labelled");
  EXPECT_EQ(g0.holds[0].how, model::HoldHow::kLabel);
  EXPECT_EQ(FindDevice(s, "GPU-node-a-0")->join, model::NodeJoin::kHostname);
  // The unlabelled pod is placed on the first free GPU, marked assumed; GPU 2 and the unseen GPU are unallocated.
  const auto& g1 = UsageOf(s, FindDevice(s, "GPU-node-a-1"));
  ASSERT_EQ(g1.holds.size(), 1u);
  EXPECT_EQ(HolderName(s, g1.holds[0]), "unlabelled");
  EXPECT_EQ(g1.holds[0].how, model::HoldHow::kAssumed);
  EXPECT_TRUE(UsageOf(s, FindDevice(s, "GPU-node-a-2")).holds.empty());
  const analyze::CostLedger l = analyze::ComputeCosts(s);
  EXPECT_EQ(l.gpu_cost, 16'000'000);
  EXPECT_EQ(l.unallocated, 8'000'000);
  // Labelled: max(0.5 SM, 40000/81559 fb) = 0.5 used of $4.
  const int w = s.pod_workload[0];
  EXPECT_EQ(s.workloads[static_cast<std::size_t>(w)].key.name, "labelled-deploy");
  EXPECT_EQ(l.workloads[static_cast<std::size_t>(w)].money.used, 2'000'000);
}

TEST(BuildLiveSnapshot, NodeJoinOrderHostnameThenExporterThenUnknown) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("ip-10-0-0-9.ec2.internal", 1), GpuNode("node-b", 1)};
  // No Hostname label; the scrape target maps to a node through endpoint discovery.
  std::string page = Gpu("", 0, "", 0.1, 100);
  SnapshotOptions o = Priced(1'000'000);
  o.target_node["10.0.0.9:9400"] = "ip-10-0-0-9.ec2.internal";
  auto s = BuildLiveSnapshot(cluster, Parse(page), kNow, o);
  ASSERT_TRUE(s.ok());
  ASSERT_NE(FindDevice(*s, "GPU--0"), nullptr);
  EXPECT_EQ(FindDevice(*s, "GPU--0")->join, model::NodeJoin::kExporterPod);
  EXPECT_EQ(s->nodes[static_cast<std::size_t>(FindDevice(*s, "GPU--0")->node)].node.name, "ip-10-0-0-9.ec2.internal");
  // A Hostname no node has and no exporter mapping: unknown, counted, never priced.
  auto u = BuildLiveSnapshot(cluster, Parse(Gpu("ghost", 0, "", 0.1, 100), "http://10.9.9.9:9400/metrics"), kNow,
                             Priced(1'000'000));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(FindDevice(*u, "GPU-ghost-0")->join, model::NodeJoin::kUnknown);
  EXPECT_EQ(FindDevice(*u, "GPU-ghost-0")->node, -1);
  bool warned = false;
  for (const auto& w : u->warnings) warned |= w.find("unknown nodes") != std::string::npos;
  EXPECT_TRUE(warned);
  const analyze::CostLedger l = analyze::ComputeCosts(*u);
  EXPECT_EQ(l.gpu_cost, 2'000'000);  // the two API nodes' GPUs (unseen) only
  EXPECT_GT(l.unpriced_gpu_hours_x1000, 0);
}

TEST(BuildLiveSnapshot, MigInstancesJoinByParentUuidAndGpuInstanceId) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-m", 1)};
  cluster.nodes[0].mig_strategy = "mixed";
  cluster.pods = {GpuPod("search", "reranker", "node-m", 1, "nvidia.com/mig-3g.40gb"),
                  GpuPod("search", "small", "node-m", 1, "nvidia.com/mig-1g.10gb")};
  auto mig = [](int gi, const std::string& profile, const std::string& pod_labels, double gr) {
    std::string labels = "gpu=\"0\",UUID=\"GPU-m\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
                         "Hostname=\"node-m\",GPU_I_PROFILE=\"" + profile + "\",GPU_I_ID=\"" + std::to_string(gi) + "\"";
    if (!pod_labels.empty()) labels += "," + pod_labels;
    return Line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labels, gr);
  };
  const std::string page = mig(2, "3g.40gb", PodLabels("search", "reranker"), 0.7) + mig(9, "1g.10gb", "", 0.0) +
                           mig(10, "1g.10gb", "", 0.0);
  auto s = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced(7'000'000));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->mig_parents.size(), 1u);
  const model::Device* big = FindDevice(*s, "GPU-m", 2);
  ASSERT_NE(big, nullptr);
  EXPECT_NEAR(big->gpu_share, 3.0 / 7.0, 1e-12);
  EXPECT_EQ(HolderName(*s, UsageOf(*s, big).holds.at(0)), "reranker");
  // The unlabelled 1g pod takes the first free 1g instance.
  EXPECT_EQ(HolderName(*s, UsageOf(*s, FindDevice(*s, "GPU-m", 9)).holds.at(0)), "small");
  EXPECT_TRUE(UsageOf(*s, FindDevice(*s, "GPU-m", 10)).holds.empty());
  const analyze::CostLedger l = analyze::ComputeCosts(*s);
  EXPECT_EQ(l.gpu_cost, 7'000'000);
  // 3g at 70% of its own SMs: 0.7 x 3/7 of $7 = $2.10 used.
  EXPECT_EQ(l.workloads[static_cast<std::size_t>(s->pod_workload[0])].money.used, 2'100'000);
  // Unallocated: the free 1g and the two slices no instance covers.
  EXPECT_EQ(l.unallocated, 3'000'000);
}

TEST(BuildLiveSnapshot, TimeSlicedGpuSharesByReservedFraction) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-t", 2, 4)};
  cluster.pods = {GpuPod("r", "alice", "node-t", 1, "nvidia.com/gpu.shared"),
                  GpuPod("r", "bob", "node-t", 1, "nvidia.com/gpu.shared")};
  // The exporter labels only the last pod that started on a shared GPU.
  const std::string page = Gpu("node-t", 0, PodLabels("r", "bob"), 0.2, 20000) + Gpu("node-t", 1, "", 0.0, 0);
  auto s = BuildLiveSnapshot(cluster, Parse(page), kNow, Priced(4'000'000));
  ASSERT_TRUE(s.ok());
  double held = 0;
  for (const auto& d : s->devices) {
    for (const auto& h : UsageOf(*s, &d).holds) {
      EXPECT_DOUBLE_EQ(h.share, 0.25);
      held += h.weight();
    }
  }
  EXPECT_DOUBLE_EQ(held, 0.5);
  const auto& g0 = UsageOf(*s, FindDevice(*s, "GPU-node-t-0"));
  ASSERT_FALSE(g0.holds.empty());
  EXPECT_EQ(HolderName(*s, g0.holds[0]), "bob");
  EXPECT_EQ(g0.holds[0].how, model::HoldHow::kLabelShared);
  const analyze::CostLedger l = analyze::ComputeCosts(*s);
  EXPECT_EQ(l.gpu_cost, 8'000'000);
  EXPECT_EQ(l.unallocated, 6'000'000);  // 3/4 of each GPU's $4 (one sharer per GPU, fewest shares first)
}

TEST(BuildLiveSnapshot, TelemetryForAGonePodIsAttributedFromItsName) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 1)};
  // honor_labels: false: the exporter's own pod is in pod/namespace, the workload's in exported_*.
  const std::string labels = "exported_pod=\"chat-7d9f8b6c5d-x2k4p\",exported_namespace=\"search\","
                             "exported_container=\"vllm\",pod=\"nvidia-dcgm-exporter-abcde\",namespace=\"gpu-operator\"";
  auto s = BuildLiveSnapshot(cluster, Parse(Gpu("node-a", 0, labels, 0.3, 100)), kNow, Priced(1'000'000));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->pods.size(), 1u);
  EXPECT_EQ(s->pods[0].source, model::AttributionSource::kInferred);
  ASSERT_EQ(s->workloads.size(), 1u);
  EXPECT_EQ(s->workloads[0].key.str(), "search/Deployment/chat");
  EXPECT_EQ(s->devices[0].node, 0);
}

TEST(InferOwnerFromName, KubernetesNamingPatterns) {
  model::OwnerRef o;
  ASSERT_TRUE(InferOwnerFromName("chat-7d9f8b6c5d-x2k4p", &o));
  EXPECT_EQ(o.kind, "Deployment");
  EXPECT_EQ(o.name, "chat");
  ASSERT_TRUE(InferOwnerFromName("nightly-summaries-29412360-bq7xz", &o));
  EXPECT_EQ(o.kind, "CronJob");
  EXPECT_EQ(o.name, "nightly-summaries");
  ASSERT_TRUE(InferOwnerFromName("embed-backfill-zk2tq", &o));
  EXPECT_EQ(o.kind, "Job");
  EXPECT_EQ(o.name, "embed-backfill");
  ASSERT_TRUE(InferOwnerFromName("ranker-finetune-0", &o));
  EXPECT_EQ(o.kind, "StatefulSet");
  EXPECT_FALSE(InferOwnerFromName("standalone", &o));
  EXPECT_FALSE(InferOwnerFromName("-", &o));
}

}  // namespace
}  // namespace gpuwise::observe

namespace gpuwise::observe {
namespace {

// An aggregated read (per series and hour: the mean and the sample count) gives the same ledger as every sample.
TEST(BuildRangeSnapshot, HourlyMeansWeightedByCountsGiveTheSameLedgerAsRawSamples) {
  model::ClusterState cluster;
  cluster.nodes = {GpuNode("node-a", 2)};
  model::Pod early = GpuPod("ml", "early", "node-a", 1);
  early.start_unix_s = kNow;
  early.end_unix_s = kNow + 5400;  // ends in the middle of the second hour
  model::Pod late = GpuPod("ml", "late", "node-a", 1);
  late.start_unix_s = kNow + 5400;
  cluster.pods = {early, late};
  prom::DcgmTelemetryBuilder b;
  b.AddPage(Gpu("node-a", 0, PodLabels("ml", "early"), 0, 0) + Gpu("node-a", 0, PodLabels("ml", "late"), 0, 0) +
                Gpu("node-a", 1, "", 0, 0),
            prom::Format::kText, "http://10.0.0.9:9400/metrics");
  prom::Telemetry t = b.Finish();
  RangeTelemetry raw, agg;
  raw.entities = agg.entities = t.entities;
  // GPU 0: "early" labelled for 1.5 h, then "late"; GPU 1: no pod. 30 s samples over 3 h.
  const std::int64_t start_ms = kNow * 1000;
  for (std::size_t e = 0; e < t.entities.size(); ++e) {
    const bool gpu0 = t.entities[e].gpu_index == "0";
    for (int attribution : gpu0 ? std::vector<int>{0, 1} : std::vector<int>{-1}) {
      for (prom::Signal sig : {prom::Signal::kSmActive, prom::Signal::kFbUsed}) {
        SignalSeries r;
        r.entity = e;
        r.signal = sig;
        r.attribution = attribution;
        for (int k = 0; k < 360; ++k) {
          const std::int64_t ts = start_ms + k * 30'000;
          const bool mine = attribution < 0 || (attribution == 0) == (ts < start_ms + 5'400'000);
          if (!mine) continue;
          r.timestamps_ms.push_back(ts);
          r.values.push_back(sig == prom::Signal::kSmActive ? 0.1 + 0.8 * ((k * 37) % 100) / 100.0 : 1e9 * (k % 50));
        }
        // The same series aggregated per hour.
        SignalSeries a = r;
        a.timestamps_ms.clear();
        a.values.clear();
        for (int h = 0; h < 3; ++h) {
          double sum = 0;
          std::uint32_t n = 0;
          for (std::size_t j = 0; j < r.values.size(); ++j) {
            if ((r.timestamps_ms[j] - start_ms) / 3'600'000 != h) continue;
            sum += r.values[j];
            ++n;
          }
          if (n == 0) continue;
          a.timestamps_ms.push_back(start_ms + (h + 1) * 3'600'000 - 1);
          a.values.push_back(sum / n);
          a.weights.push_back(n);
        }
        raw.series.push_back(std::move(r));
        agg.series.push_back(std::move(a));
      }
    }
  }
  SnapshotOptions o = Priced(3'600'000);
  auto rs = BuildRangeSnapshot(cluster, {}, raw, kNow, kNow + 3 * 3600, o);
  auto as = BuildRangeSnapshot(cluster, {}, agg, kNow, kNow + 3 * 3600, o);
  ASSERT_TRUE(rs.ok() && as.ok());
  const analyze::CostLedger rl = analyze::ComputeCosts(*rs), al = analyze::ComputeCosts(*as);
  EXPECT_EQ(rl.gpu_cost, al.gpu_cost);
  EXPECT_EQ(rl.unallocated, al.unallocated);
  ASSERT_EQ(rl.workloads.size(), al.workloads.size());
  for (std::size_t w = 0; w < rl.workloads.size(); ++w) {
    // Means of means differ from means of samples only by floating point: at most a micro-dollar per interval.
    EXPECT_NEAR(static_cast<double>(rl.workloads[w].money.used), static_cast<double>(al.workloads[w].money.used), 3.0) << w;
    EXPECT_EQ(rl.workloads[w].money.allocated(), al.workloads[w].money.allocated()) << w;
  }
  // The same holders with the same weights in every interval.
  for (std::size_t i = 0; i < rs->usage.size(); ++i) {
    ASSERT_EQ(rs->usage[i].holds.size(), as->usage[i].holds.size()) << i;
    EXPECT_EQ(rs->usage[i].samples, as->usage[i].samples) << i;
    for (std::size_t h = 0; h < rs->usage[i].holds.size(); ++h) {
      EXPECT_EQ(rs->usage[i].holds[h].pod, as->usage[i].holds[h].pod);
      EXPECT_NEAR(rs->usage[i].holds[h].weight(), as->usage[i].holds[h].weight(), 1e-12);
    }
  }
  // The aggregated snapshot keeps no per-sample sketch (means are not samples).
  for (const auto& w : as->workloads) EXPECT_EQ(w.usage[0].count(), 0u);
}

}  // namespace
}  // namespace gpuwise::observe
