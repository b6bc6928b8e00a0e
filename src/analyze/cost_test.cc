#include "analyze/cost.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <map>

namespace gpuwise::analyze {
namespace {

using model::Device;
using model::DeviceHold;
using model::DeviceInterval;
using model::Snapshot;

// A snapshot of `nodes` priced nodes, each interval 1 h, one workload per pod.
struct Fixture {
  Snapshot s;
  Fixture(int intervals, std::int64_t start = 1'794'787'200) {
    s.start_unix_s = s.grid_start_unix_s = start;
    s.interval_s = 3600;
    s.intervals = intervals;
    s.end_unix_s = start + intervals * 3600;
  }
  int Node(std::int64_t price_micro) {
    model::SnapshotNode n;
    n.node.name = "node-" + std::to_string(s.nodes.size());
    n.price_micro_per_gpu_hour = price_micro;
    if (price_micro == 0) n.unpriced_reason = "no rule";
    s.nodes.push_back(n);
    return static_cast<int>(s.nodes.size()) - 1;
  }
  int Pod(const std::string& name) {
    model::Pod p;
    p.namespace_name = "ns";
    p.name = name;
    s.pods.push_back(p);
    model::Workload w;
    w.key = {"ns", "Pod", name};
    w.pods = {static_cast<int>(s.pods.size()) - 1};
    s.workloads.push_back(w);
    s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
    return static_cast<int>(s.pods.size()) - 1;
  }
  int Gpu(int node, double memory = 80e9) {
    Device d;
    d.node = node;
    d.key = "gpu" + std::to_string(s.devices.size());
    d.uuid = d.key;
    d.memory_bytes = memory;
    return AddDevice(d);
  }
  int Mig(int node, const std::string& uuid, int slices) {
    Device d;
    d.node = node;
    d.uuid = uuid;
    d.gi_id = static_cast<int>(s.devices.size());
    d.compute_slices = slices;
    d.total_slices = 7;
    d.gpu_share = slices / 7.0;
    d.memory_bytes = slices * 10e9;
    d.key = uuid + "/gi" + std::to_string(d.gi_id);
    const int idx = AddDevice(d);
    for (auto& p : s.mig_parents) {
      if (p.uuid == uuid) {
        p.instances.push_back(idx);
        return idx;
      }
    }
    model::MigParent p;
    p.node = node;
    p.uuid = uuid;
    p.instances = {idx};
    s.mig_parents.push_back(p);
    return idx;
  }
  int AddDevice(const Device& d) {
    s.devices.push_back(d);
    const int idx = static_cast<int>(s.devices.size()) - 1;
    // usage is sorted by device then interval: rebuild.
    std::vector<DeviceInterval> u;
    for (std::size_t dev = 0; dev < s.devices.size(); ++dev) {
      for (int i = 0; i < s.intervals; ++i) {
        DeviceInterval di;
        di.device = static_cast<int>(dev);
        di.interval = i;
        if (dev < s.devices.size() - 1) di = s.usage[dev * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(i)];
        u.push_back(di);
      }
    }
    s.usage = u;
    return idx;
  }
  DeviceInterval& At(int device, int interval) {
    return s.usage[static_cast<std::size_t>(device) * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(interval)];
  }
  void Hold(int device, int interval, int pod, double share, double fraction) {
    DeviceHold h;
    h.pod = pod;
    h.share = share;
    h.fraction = fraction;
    h.how = model::HoldHow::kLabel;
    At(device, interval).holds.push_back(h);
  }
};

TEST(SplitExact, PartsSumToTotalAndFollowWeights) {
  EXPECT_EQ(SplitExact(10, {1, 1, 1}), (std::vector<std::int64_t>{4, 3, 3}));
  EXPECT_EQ(SplitExact(7, {3, 2, 1, 1}), (std::vector<std::int64_t>{3, 2, 1, 1}));
  EXPECT_EQ(SplitExact(5, {0, 0}), (std::vector<std::int64_t>{5, 0}));
  EXPECT_TRUE(SplitExact(5, {}).empty());
}

// The worked number in cost.h.
TEST(ComputeCosts, OneExclusiveHolderWorkedNumber) {
  Fixture f(1);
  const int n = f.Node(4'000'000);
  const int g = f.Gpu(n, 80e9);
  const int p = f.Pod("chat");
  f.Hold(g, 0, p, 1, 1);
  f.At(g, 0).compute = 0.25;
  f.At(g, 0).fb_used_bytes = 48e9;
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.gpu_cost, 4'000'000);
  EXPECT_EQ(l.workloads[0].money.used, 2'400'000);
  EXPECT_EQ(l.workloads[0].money.idle, 1'600'000);
  EXPECT_EQ(l.unallocated, 0);
  EXPECT_DOUBLE_EQ(l.workloads[0].gpu_hours, 1.0);
}

TEST(ComputeCosts, MigLayoutWithUncoveredSlicesIsUnallocated) {
  Fixture f(1);
  const int n = f.Node(7'000'000);
  const int a = f.Mig(n, "GPU-1", 3);
  const int b = f.Mig(n, "GPU-1", 2);
  const int p = f.Pod("reranker");
  f.Hold(a, 0, p, 1, 1);
  f.At(a, 0).compute = 1.0;
  (void)b;  // a 2g instance nobody holds
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.gpu_cost, 7'000'000);
  EXPECT_EQ(l.workloads[0].money.used, 3'000'000);  // 3 of 7 slices, fully busy
  EXPECT_EQ(l.unallocated, 4'000'000);              // the idle 2g instance + 2 uncovered slices
  EXPECT_NEAR(l.workloads[0].gpu_hours, 3.0 / 7.0, 1e-12);
}

TEST(ComputeCosts, SharedGpuSplitsMeasuredUsageByReservedShare) {
  Fixture f(1);
  const int n = f.Node(4'000'000);
  const int g = f.Gpu(n);
  const int p1 = f.Pod("a"), p2 = f.Pod("b"), p3 = f.Pod("c");
  for (int p : {p1, p2, p3}) f.Hold(g, 0, p, 0.25, 1);
  f.At(g, 0).compute = 0.30;
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.unallocated, 1'000'000);
  for (int w = 0; w < 3; ++w) {
    EXPECT_EQ(l.workloads[static_cast<std::size_t>(w)].money.allocated(), 1'000'000);
    EXPECT_EQ(l.workloads[static_cast<std::size_t>(w)].money.used, 400'000);  // 0.30 of the GPU over 0.75 held
  }
}

TEST(ComputeCosts, UnknownUsageIsIdleAndCountedAsUnmeasured) {
  Fixture f(2);
  const int n = f.Node(3'600'000);
  const int g = f.Gpu(n);
  const int p = f.Pod("x");
  f.Hold(g, 0, p, 1, 1);
  f.Hold(g, 1, p, 1, 0.5);
  f.At(g, 1).compute = 0.2;
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.workloads[0].money.unmeasured, 3'600'000);
  EXPECT_EQ(l.workloads[0].money.used, 720'000);  // min(0.2, 0.5) of 3.6 $
  EXPECT_EQ(l.unallocated, 1'800'000);
}

TEST(ComputeCosts, PartialIntervalsCarryRemaindersSoTheWindowTotalIsExact) {
  Fixture f(3, 1'794'787'200 - 1234);  // starts 1234 s before an hour mark
  f.s.grid_start_unix_s = 1'794'787'200 - 3600;
  f.s.end_unix_s = f.s.start_unix_s + 2 * 3600 + 17;
  const int n = f.Node(1'000'003);
  f.Gpu(n);
  const CostLedger l = ComputeCosts(f.s);
  const std::int64_t secs = f.s.end_unix_s - f.s.start_unix_s;
  EXPECT_EQ(l.gpu_cost, 1'000'003LL * secs / 3600);
  EXPECT_EQ(l.unallocated, l.gpu_cost);
}

TEST(ComputeCosts, APriceChangeInsideTheWindowAppliesFromTheNextInterval) {
  Fixture f(3);
  const int n = f.Node(4'000'000);
  // The book's rate drops to $3 at 01:30 into the window: the third interval (02:00) is the first at the new price.
  f.s.nodes[static_cast<std::size_t>(n)].price_from = {{f.s.start_unix_s, 4'000'000}, {f.s.start_unix_s + 5400, 3'000'000}};
  f.Gpu(n);
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.gpu_cost, 4'000'000 + 4'000'000 + 3'000'000);
  EXPECT_EQ(l.unallocated, l.gpu_cost);
}

TEST(ComputeCosts, UnpricedNodesCountHoursNotDollars) {
  Fixture f(2);
  const int n = f.Node(0);
  const int g = f.Gpu(n);
  f.Hold(g, 0, f.Pod("x"), 1, 1);
  const CostLedger l = ComputeCosts(f.s);
  EXPECT_EQ(l.gpu_cost, 0);
  EXPECT_EQ(l.unpriced_gpu_hours_x1000, 2000);
  EXPECT_DOUBLE_EQ(l.workloads[0].gpu_hours, 1.0);
}

// The money identities on random snapshots, each side computed independently of the ledger's own sums.
RC_GTEST_PROP(ComputeCostsProperty, IdentitiesHoldToTheMicroDollar, ()) {
  const int intervals = *rc::gen::inRange(1, 6);
  Fixture f(intervals);
  const int nodes = *rc::gen::inRange(1, 4);
  std::vector<std::int64_t> price;
  for (int n = 0; n < nodes; ++n) {
    price.push_back(*rc::gen::inRange<std::int64_t>(0, 9'000'000));
    f.Node(price.back());
  }
  const int pods = *rc::gen::inRange(1, 6);
  for (int p = 0; p < pods; ++p) f.Pod("p" + std::to_string(p));
  const int gpus = *rc::gen::inRange(1, 6);
  for (int g = 0; g < gpus; ++g) {
    const int node = *rc::gen::inRange(0, nodes);
    if (*rc::gen::arbitrary<bool>()) {
      f.Gpu(node);
    } else {
      const std::string uuid = "MIG-" + std::to_string(g);
      int left = 7;
      while (left > 0) {
        const int slices = *rc::gen::element(1, 2, 3, 4, 7);
        if (slices > left) break;
        f.Mig(node, uuid, slices);
        left -= slices;
      }
      if (left == 7) f.Gpu(node);
    }
  }
  for (std::size_t d = 0; d < f.s.devices.size(); ++d) {
    for (int i = 0; i < intervals; ++i) {
      const int holders = *rc::gen::inRange(0, 4);
      for (int h = 0; h < holders; ++h) {
        f.Hold(static_cast<int>(d), i, *rc::gen::inRange(0, pods), *rc::gen::element(1.0, 0.5, 0.25, 0.125, 0.3),
               *rc::gen::element(1.0, 0.5, 0.01, 0.0));
      }
      if (*rc::gen::arbitrary<bool>()) f.At(static_cast<int>(d), i).compute = *rc::gen::element(0.0, 0.1, 0.5, 1.0);
      if (*rc::gen::arbitrary<bool>()) f.At(static_cast<int>(d), i).fb_used_bytes = *rc::gen::element(0.0, 1e9, 80e9);
    }
  }
  const CostLedger l = ComputeCosts(f.s);
  // Independent GPU cost: price x hours per physical GPU.
  std::int64_t expected = 0;
  std::map<std::string, int> physical;  // uuid -> node
  for (const Device& d : f.s.devices) physical[d.uuid] = d.node;
  for (const auto& [uuid, node] : physical) expected += price[static_cast<std::size_t>(node)] * intervals;
  RC_ASSERT(l.gpu_cost == expected);
  std::int64_t workloads = 0;
  for (const WorkloadCost& w : l.workloads) {
    RC_ASSERT(w.money.used >= 0);
    RC_ASSERT(w.money.idle >= 0);
    RC_ASSERT(w.money.unmeasured <= w.money.idle);
    workloads += w.money.used + w.money.idle;
  }
  RC_ASSERT(workloads + l.unallocated == l.gpu_cost);
  RC_ASSERT(l.unallocated >= 0);
  // Rows re-add to the same totals, per day and node.
  std::int64_t rows = 0;
  for (const CostRow& r : l.rows) rows += r.cost;
  RC_ASSERT(rows == l.gpu_cost);
  // Per node: allocated + unallocated = the node's cost.
  for (const NodeCost& n : l.nodes) RC_ASSERT(n.allocated.allocated() + n.unallocated == n.cost);
}

}  // namespace
}  // namespace gpuwise::analyze
