#include "analyze/focus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <tuple>

namespace gpuwise::analyze {
namespace {

using model::CapacityType;
using model::DeviceHold;
using model::DeviceInterval;
using model::Snapshot;

constexpr std::int64_t kNov16 = 1'794'787'200;  // 2026-11-16T00:00:00Z
constexpr std::int64_t kDay = 86400;

// A snapshot built by hand: nodes, GPUs (whole or MIG), workloads with pods, and who held what when.
struct World {
  Snapshot s;
  std::map<std::pair<int, int>, DeviceInterval> iv;  // (device, interval)

  World(std::int64_t start, std::int64_t end) {
    s.start_unix_s = start;
    s.end_unix_s = end;
    s.interval_s = 3600;
    s.grid_start_unix_s = start - ((start % 3600) + 3600) % 3600;
    s.intervals = static_cast<int>((end - s.grid_start_unix_s + 3599) / 3600);
  }
  int Node(const std::string& name, std::int64_t effective, std::int64_t list = 0,
           CapacityType cap = CapacityType::kOnDemand) {
    model::SnapshotNode n;
    n.node.name = name;
    n.node.capacity_type = cap;
    n.node.instance_type = "p5.48xlarge";
    n.price_micro_per_gpu_hour = effective;
    n.list_micro_per_gpu_hour = list;
    if (effective == 0) n.unpriced_reason = "no rule";
    s.nodes.push_back(n);
    return static_cast<int>(s.nodes.size()) - 1;
  }
  // A workload with one pod per entry of `pod_labels`.
  int Workload(const std::string& ns, const std::string& name, const std::string& team,
               const std::vector<model::Labels>& pod_labels = {{}}, const model::Labels& annotations = {}) {
    model::Workload w;
    w.key = {ns, "Deployment", name};
    w.team = team;
    const int wi = static_cast<int>(s.workloads.size());
    for (std::size_t k = 0; k < pod_labels.size(); ++k) {
      model::Pod p;
      p.namespace_name = ns;
      p.name = name + "-" + std::to_string(k);
      p.labels = pod_labels[k];
      p.annotations = annotations;
      s.pods.push_back(p);
      s.pod_workload.push_back(wi);
      w.pods.push_back(static_cast<int>(s.pods.size()) - 1);
    }
    s.workloads.push_back(w);
    return wi;
  }
  int Gpu(int node) {
    model::Device d;
    d.node = node;
    d.key = "gpu" + std::to_string(s.devices.size());
    d.uuid = d.key;
    d.memory_bytes = 80e9;
    d.model_name = "NVIDIA H100 80GB HBM3";
    s.devices.push_back(d);
    return static_cast<int>(s.devices.size()) - 1;
  }
  int Mig(int node, const std::string& uuid, int slices) {
    model::Device d;
    d.node = node;
    d.uuid = uuid;
    d.gi_id = static_cast<int>(s.devices.size());
    d.compute_slices = slices;
    d.gpu_share = slices / 7.0;
    d.memory_bytes = slices * 10e9;
    d.key = uuid + "/gi" + std::to_string(d.gi_id);
    s.devices.push_back(d);
    const int idx = static_cast<int>(s.devices.size()) - 1;
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
  // Pod `k` of workload `w` holds `share` of device `d` in interval `i`.
  void Hold(int d, int i, int w, double share = 1, double fraction = 1, int k = 0) {
    DeviceHold h;
    h.pod = s.workloads[static_cast<std::size_t>(w)].pods[static_cast<std::size_t>(k)];
    h.share = share;
    h.fraction = fraction;
    h.how = model::HoldHow::kLabel;
    iv[{d, i}].holds.push_back(h);
  }
  void HoldAll(int d, int w, double share = 1) {
    for (int i = 0; i < s.intervals; ++i) Hold(d, i, w, share);
  }
  void Use(int d, int i, double compute) { iv[{d, i}].compute = compute; }
  const Snapshot& Done() {
    s.usage.clear();
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      for (int i = 0; i < s.intervals; ++i) {
        DeviceInterval x;
        if (auto it = iv.find({static_cast<int>(d), i}); it != iv.end()) x = it->second;
        x.device = static_cast<int>(d);
        x.interval = i;
        s.usage.push_back(x);
      }
    }
    return s;
  }
};

std::int64_t Sum(const std::vector<ChargebackRow>& rows) {
  std::int64_t t = 0;
  for (const auto& r : rows) t += r.cost;
  return t;
}

const ChargebackRow* Find(const std::vector<ChargebackRow>& rows, const std::string& key, std::int64_t day = -1) {
  for (const auto& r : rows) {
    if (r.key == key && !r.unallocated_row && (day < 0 || r.period_start_unix_s == day)) return &r;
  }
  return nullptr;
}

const ChargebackRow* FindUnallocated(const std::vector<ChargebackRow>& rows, std::int64_t day) {
  for (const auto& r : rows) {
    if (r.unallocated_row && r.period_start_unix_s == day) return &r;
  }
  return nullptr;
}

// ---- helpers

TEST(FormatMicro, IsExactDecimalText) {
  EXPECT_EQ(FormatMicro(0), "0");
  EXPECT_EQ(FormatMicro(4'000'000), "4");
  EXPECT_EQ(FormatMicro(1'500'000), "1.5");
  EXPECT_EQ(FormatMicro(123'456'789), "123.456789");
  EXPECT_EQ(FormatMicro(1), "0.000001");
  EXPECT_EQ(FormatMicro(-1), "-0.000001");
  EXPECT_EQ(FormatMicro(-2'050'000), "-2.05");
  EXPECT_EQ(FormatMicro(INT64_MIN), "-9223372036854.775808");
  EXPECT_EQ(FormatMicro(INT64_MAX), "9223372036854.775807");
}

TEST(MulDivRound, RoundsHalfAwayAndDoesNotOverflow) {
  EXPECT_EQ(MulDivRound(3, 1, 2), 2);
  EXPECT_EQ(MulDivRound(-3, 1, 2), -2);
  EXPECT_EQ(MulDivRound(10, 4, 3), 13);  // 13.33
  EXPECT_EQ(MulDivRound(5, 5, 3), 8);    // 8.33
  EXPECT_EQ(MulDivRound(3'000'000, 4'100'000, 2'981'234), 4'125'808);  // docs/focus.md's ListCost worked number
  // 9e18 x 3 overflows 64 bits; the 128-bit intermediate does not.
  EXPECT_EQ(MulDivRound(9'000'000'000'000'000'000, 3, 4), 6'750'000'000'000'000'000);
}

TEST(MonthUtc, CalendarMonthsIncludingLeapFebruaryAndYearEnd) {
  EXPECT_EQ(MonthStartUtc(1'708'002'000), 1'706'745'600);       // 2024-02-15T13:00Z -> 2024-02-01
  EXPECT_EQ(NextMonthStartUtc(1'708'002'000), 1'709'251'200);   // -> 2024-03-01 (29 days later)
  EXPECT_EQ(MonthStartUtc(1'735'689'599), 1'733'011'200);       // 2024-12-31T23:59:59Z -> 2024-12-01
  EXPECT_EQ(NextMonthStartUtc(1'735'689'599), 1'735'689'600);   // -> 2025-01-01
  EXPECT_EQ(MonthStartUtc(1'735'689'600), 1'735'689'600);
}

TEST(ParseChargebackDimension, AcceptsTheFiveFormsAndRejectsOthersWithAReason) {
  ChargebackOptions o;
  ASSERT_TRUE(ParseChargebackDimension("namespace", o).ok());
  EXPECT_EQ(o.dimension, ChargebackDimension::kNamespace);
  ASSERT_TRUE(ParseChargebackDimension("label:app.kubernetes.io/part-of", o).ok());
  EXPECT_EQ(o.dimension, ChargebackDimension::kLabel);
  EXPECT_EQ(o.key, "app.kubernetes.io/part-of");
  ASSERT_TRUE(ParseChargebackDimension("annotation:cost-center", o).ok());
  EXPECT_EQ(o.dimension, ChargebackDimension::kAnnotation);
  EXPECT_EQ(o.key, "cost-center");
  ASSERT_TRUE(ParseChargebackDimension("team", o).ok());
  EXPECT_EQ(o.dimension, ChargebackDimension::kTeam);
  EXPECT_TRUE(o.key.empty());
  ASSERT_TRUE(ParseChargebackDimension("workload", o).ok());
  EXPECT_EQ(o.dimension, ChargebackDimension::kWorkload);

  const base::Status empty = ParseChargebackDimension("label:", o);
  EXPECT_FALSE(empty.ok());
  EXPECT_NE(empty.message().find("names no key"), std::string::npos) << empty.message();
  const base::Status bad = ParseChargebackDimension("cluster", o);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("'cluster'"), std::string::npos) << bad.message();

  EXPECT_EQ(*ParseUnallocatedMode("proportional"), UnallocatedMode::kProportional);
  EXPECT_EQ(*ParseUnallocatedMode("separate"), UnallocatedMode::kSeparate);
  EXPECT_FALSE(ParseUnallocatedMode("spread").ok());
}

// ---- chargeback

// Two days, one node at $2/GPU-hour with three GPUs: team a holds gpu0 both days (50% busy), team b holds gpu1 on
// day one only, gpu2 is never held.
struct TwoDays : World {
  int a, b, none;
  TwoDays() : World(kNov16, kNov16 + 2 * kDay) {
    const int n = Node("n0", 2'000'000);
    const int g0 = Gpu(n), g1 = Gpu(n);
    Gpu(n);
    a = Workload("ns-a", "chat", "a");
    b = Workload("ns-b", "train", "b");
    none = Workload("ns-b", "notebook", "");
    HoldAll(g0, a);
    for (int i = 0; i < s.intervals; ++i) Use(g0, i, 0.5);
    for (int i = 0; i < 24; ++i) Hold(g1, i, i < 12 ? b : none);
    Done();
  }
};

TEST(Chargeback, ByTeamAndDaySeparateReAddsToTheLedgerAndMatchesItsWorkloadTotals) {
  TwoDays w;
  const CostLedger l = ComputeCosts(w.s);
  ASSERT_EQ(l.gpu_cost, 2'000'000LL * 3 * 48);
  const auto rows = Chargeback(w.s, l, {});
  EXPECT_EQ(Sum(rows), l.gpu_cost);
  // Day one: a holds 24 GPU-hours at $2, half used; b 12; the team-less notebook 12; gpu2 24 unallocated.
  const ChargebackRow* a1 = Find(rows, "a", kNov16);
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1->used, 24'000'000);
  EXPECT_EQ(a1->idle, 24'000'000);
  EXPECT_DOUBLE_EQ(a1->gpu_hours, 24.0);
  EXPECT_EQ(a1->period_start_unix_s, kNov16);
  EXPECT_EQ(a1->period_end_unix_s, kNov16 + kDay);
  ASSERT_NE(Find(rows, "b", kNov16), nullptr);
  EXPECT_EQ(Find(rows, "b", kNov16)->cost, 24'000'000);
  EXPECT_EQ(Find(rows, "b", kNov16 + kDay), nullptr);  // b held nothing on day two
  ASSERT_NE(Find(rows, std::string(kNoneKey), kNov16), nullptr);
  EXPECT_EQ(Find(rows, std::string(kNoneKey), kNov16)->cost, 24'000'000);
  const ChargebackRow* u1 = FindUnallocated(rows, kNov16);
  const ChargebackRow* u2 = FindUnallocated(rows, kNov16 + kDay);
  ASSERT_NE(u1, nullptr);
  ASSERT_NE(u2, nullptr);
  EXPECT_EQ(u1->cost, 48'000'000);   // gpu2
  EXPECT_EQ(u2->cost, 96'000'000);   // gpu1 and gpu2
  EXPECT_EQ(u1->key, kUnallocatedKey);
  EXPECT_EQ(rows[3].key, kUnallocatedKey);  // last of its day: a (48), then (none) and b (24 each, by name)
  EXPECT_EQ(rows[0].key, "a");

  // Whole window: each team's money is what the ledger's per-workload totals say.
  ChargebackOptions whole;
  whole.by_day = false;
  const auto w_rows = Chargeback(w.s, l, whole);
  EXPECT_EQ(Sum(w_rows), l.gpu_cost);
  ASSERT_NE(Find(w_rows, "a"), nullptr);
  EXPECT_EQ(Find(w_rows, "a")->used, l.workloads[static_cast<std::size_t>(w.a)].money.used);
  EXPECT_EQ(Find(w_rows, "a")->idle, l.workloads[static_cast<std::size_t>(w.a)].money.idle);
  EXPECT_EQ(Find(w_rows, "a")->period_start_unix_s, w.s.start_unix_s);
  EXPECT_EQ(Find(w_rows, "a")->period_end_unix_s, w.s.end_unix_s);
  EXPECT_EQ(FindUnallocated(w_rows, w.s.start_unix_s)->cost, l.unallocated);
}

TEST(Chargeback, ProportionalSpreadsUnallocatedByAllocatedCostWorkedNumber) {
  // The header's worked number: a GPU at $10/h, a holds 0.6 of it, b 0.3, 0.1 unheld.
  World w(kNov16, kNov16 + 3600);
  const int n = w.Node("n0", 10'000'000);
  const int g = w.Gpu(n);
  const int a = w.Workload("ns", "a", "a"), b = w.Workload("ns", "b", "b");
  w.Hold(g, 0, a, 0.6);
  w.Hold(g, 0, b, 0.3);
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  ChargebackOptions o;
  o.unallocated = UnallocatedMode::kProportional;
  const auto rows = Chargeback(w.s, l, o);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, "a");
  EXPECT_EQ(rows[0].cost, 6'666'667);
  EXPECT_EQ(rows[0].unallocated, 666'667);
  EXPECT_EQ(rows[1].cost, 3'333'333);
  EXPECT_EQ(rows[0].cost, rows[0].used + rows[0].idle + rows[0].unallocated);
  EXPECT_EQ(Sum(rows), 10'000'000);
  EXPECT_NEAR(rows[0].gpu_hours + rows[1].gpu_hours, 1.0, 1e-12);
}

TEST(Chargeback, ProportionalKeepsUnallocatedApartOnADayNobodyHeldAnything) {
  World w(kNov16, kNov16 + 2 * kDay);
  const int n = w.Node("n0", 1'000'000);
  const int g = w.Gpu(n);
  const int a = w.Workload("ns", "a", "a");
  for (int i = 0; i < 24; ++i) w.Hold(g, i, a, 0.5);
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  ChargebackOptions o;
  o.unallocated = UnallocatedMode::kProportional;
  const auto rows = Chargeback(w.s, l, o);
  EXPECT_EQ(Sum(rows), l.gpu_cost);
  ASSERT_NE(Find(rows, "a", kNov16), nullptr);
  EXPECT_EQ(Find(rows, "a", kNov16)->cost, 24'000'000);  // its half plus the unheld half of day one
  EXPECT_EQ(FindUnallocated(rows, kNov16), nullptr);
  ASSERT_NE(FindUnallocated(rows, kNov16 + kDay), nullptr);
  EXPECT_EQ(FindUnallocated(rows, kNov16 + kDay)->cost, 24'000'000);
}

TEST(Chargeback, LeavingUnallocatedOutReAddsToAllocatedCost) {
  TwoDays w;
  const CostLedger l = ComputeCosts(w.s);
  ChargebackOptions o;
  o.include_unallocated = false;
  const auto rows = Chargeback(w.s, l, o);
  EXPECT_EQ(Sum(rows), l.allocated.allocated());
  for (const auto& r : rows) EXPECT_FALSE(r.unallocated_row);
}

TEST(Chargeback, LabelDimensionGroupsWorkloadsByTheLabelOfTheirPods) {
  World w(kNov16, kNov16 + 3600);
  const int n = w.Node("n0", 1'000'000);
  const model::Labels vision = {{"cost-center", "vision"}}, speech = {{"cost-center", "speech"}};
  const int w1 = w.Workload("ns1", "w1", "t", {vision, vision});
  const int w2 = w.Workload("ns2", "w2", "t", {vision});
  const int w3 = w.Workload("ns2", "w3", "t", {{{"app", "x"}}});
  const int w4 = w.Workload("ns2", "w4", "t", {speech, vision, speech});  // most pods say speech
  for (int wl : {w1, w2, w3, w4}) w.Hold(w.Gpu(n), 0, wl);
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  ChargebackOptions o;
  ASSERT_TRUE(ParseChargebackDimension("label:cost-center", o).ok());
  EXPECT_EQ(ChargebackKey(w.s, w4, o), "speech");
  const int tie = w.Workload("ns2", "tie", "t", {vision, speech});  // holds nothing: no ledger row
  EXPECT_EQ(ChargebackKey(w.s, tie, o), "speech");                 // a tie goes to the smaller value
  const auto rows = Chargeback(w.s, l, o);
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_NE(Find(rows, "vision"), nullptr);
  EXPECT_EQ(Find(rows, "vision")->workloads, 2);
  EXPECT_EQ(Find(rows, "vision")->cost, 2'000'000);
  ASSERT_NE(Find(rows, "speech"), nullptr);
  EXPECT_EQ(Find(rows, "speech")->cost, 1'000'000);
  ASSERT_NE(Find(rows, std::string(kNoneKey)), nullptr);
  EXPECT_EQ(Find(rows, std::string(kNoneKey))->workloads, 1);
  EXPECT_EQ(Sum(rows), l.gpu_cost);

  // Annotations are read the same way, from the pods' annotations.
  World v(kNov16, kNov16 + 3600);
  const int m = v.Node("n0", 1'000'000);
  const int x = v.Workload("ns", "x", "t", {{}}, {{"billing/project", "p-17"}});
  v.Hold(v.Gpu(m), 0, x);
  v.Done();
  ChargebackOptions ao;
  ASSERT_TRUE(ParseChargebackDimension("annotation:billing/project", ao).ok());
  const auto arows = Chargeback(v.s, ComputeCosts(v.s), ao);
  ASSERT_EQ(arows.size(), 1u);
  EXPECT_EQ(arows[0].key, "p-17");
}

// ---- FOCUS

TEST(FocusRows, ChargePeriodIsTheDayClippedToTheWindowAndBillingPeriodTheMonth) {
  // 2026-11-30T10:00Z .. 2026-12-01T05:00Z: two charge periods in two calendar months.
  const std::int64_t start = kNov16 + 14 * kDay + 10 * 3600;
  World w(start, start + 19 * 3600);
  const int n = w.Node("n0", 1'000'000);
  const int g = w.Gpu(n);
  w.HoldAll(g, w.Workload("ns", "a", "a"));
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  auto rows = FocusRows(w.s, l);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);  // one idle row a day (no usage sampled)
  const FocusRow& d1 = (*rows)[0];
  const FocusRow& d2 = (*rows)[1];
  EXPECT_EQ(d1.charge_period_start_unix_s, start);
  EXPECT_EQ(d1.charge_period_end_unix_s, kNov16 + 15 * kDay);
  EXPECT_EQ(d2.charge_period_start_unix_s, kNov16 + 15 * kDay);
  EXPECT_EQ(d2.charge_period_end_unix_s, start + 19 * 3600);
  EXPECT_EQ(d1.billing_period_start_unix_s, 1'793'491'200);  // 2026-11-01
  EXPECT_EQ(d1.billing_period_end_unix_s, kNov16 + 15 * kDay);  // 2026-12-01
  EXPECT_EQ(d2.billing_period_start_unix_s, kNov16 + 15 * kDay);
  EXPECT_EQ(d1.effective_cost, 14'000'000);
  EXPECT_EQ(d2.effective_cost, 5'000'000);
  EXPECT_EQ(d1.pricing_quantity, 14'000'000);  // 14 GPU-hours in micro-GPU-hours
  EXPECT_EQ(d1.bucket, FocusBucket::kIdle);

  // A given billing period applies to every row, and must contain them.
  FocusOptions o;
  o.billing_period_start_unix_s = 1'793'491'200;
  o.billing_period_end_unix_s = kNov16 + 46 * kDay;
  auto fixed = FocusRows(w.s, l, o);
  ASSERT_TRUE(fixed.ok());
  for (const FocusRow& r : *fixed) EXPECT_EQ(r.billing_period_end_unix_s, kNov16 + 46 * kDay);
  o.billing_period_end_unix_s = kNov16 + 15 * kDay;  // ends before the second charge period
  auto short_period = FocusRows(w.s, l, o);
  ASSERT_FALSE(short_period.ok());
  EXPECT_NE(short_period.status().message().find("does not contain the charge period"), std::string::npos);
}

TEST(FocusRows, ListAndEffectiveCostsAndPricingCategory) {
  World w(kNov16, kNov16 + 3 * 3600);
  const int od = w.Node("od", 3'000'000, 4'000'000);
  const int spot = w.Node("spot", 1'000'000, 4'000'000, CapacityType::kSpot);
  const int nolist = w.Node("nolist", 2'000'000, 0);
  const int a = w.Workload("ns", "a", "a");
  const int g0 = w.Gpu(od), g1 = w.Gpu(spot), g2 = w.Gpu(nolist);
  w.HoldAll(g0, a);
  for (int i = 0; i < 3; ++i) w.Use(g0, i, 1.0 / 3.0);
  w.HoldAll(g1, a);
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  auto rows = FocusRows(w.s, l);
  ASSERT_TRUE(rows.ok());
  std::int64_t effective = 0;
  for (const FocusRow& r : *rows) {
    effective += r.effective_cost;
    EXPECT_EQ(r.billed_cost, r.effective_cost);
    EXPECT_EQ(r.contracted_cost, r.list_cost);
    EXPECT_GE(r.list_cost, r.effective_cost);
    if (r.node == od) {
      EXPECT_EQ(r.pricing_category, "Other");
      EXPECT_EQ(r.list_unit_price, 4'000'000);
      // 3 GPU-hours at $3: used $3 and idle $6, each scaled by 4/3.
      EXPECT_EQ(r.list_cost, r.bucket == FocusBucket::kUsed ? 4'000'000 : 8'000'000);
    } else if (r.node == spot) {
      EXPECT_EQ(r.pricing_category, "Dynamic");
      EXPECT_EQ(r.list_cost, 4 * r.effective_cost);
    } else {
      ASSERT_EQ(r.node, nolist);
      EXPECT_EQ(r.pricing_category, "Standard");
      EXPECT_EQ(r.list_unit_price, 2'000'000);  // no list price: the effective rate stands in
      EXPECT_EQ(r.list_cost, r.effective_cost);
      EXPECT_EQ(r.bucket, FocusBucket::kUnallocated);
    }
  }
  EXPECT_EQ(effective, l.gpu_cost);
  (void)g2;
}

TEST(FocusRows, TagsResourceAndSubAccount) {
  World w(kNov16, kNov16 + 3600);
  const int n = w.Node("ip-10-0-0-1", 4'000'000);
  w.s.nodes[0].node.provider_id = "aws:///us-east-1a/i-0abc";
  w.s.nodes[0].node.region = "us-east-1";
  w.s.nodes[0].node.zone = "us-east-1a";
  const int m = w.Node("onprem-1", 4'000'000);
  w.s.nodes[1].node.instance_type.clear();
  const model::Labels l0 = {{"app", "chat"}, {"pod-template-hash", "abc"}, {"gpuwise.io/team", "raw"}};
  const model::Labels l1 = {{"app", "chat"}, {"pod-template-hash", "def"}, {"gpuwise.io/team", "raw"}};
  const int a = w.Workload("serving", "chat", "ml", {l0, l1});
  const int g = w.Gpu(n);
  w.Hold(g, 0, a, 0.5);
  w.Use(g, 0, 0.25);
  w.Gpu(m);
  w.Done();
  auto rows = FocusRows(w.s, ComputeCosts(w.s));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);  // used, idle, unallocated on the first node; unallocated on the second
  std::set<std::string> buckets;
  for (const FocusRow& r : *rows) {
    buckets.insert(r.tags.at("gpuwise.io/bucket"));
    EXPECT_EQ(r.tags.at("gpuwise.io/node"), r.resource_name.value());
    EXPECT_EQ(r.resource_type, "GPU Node");
    if (r.node == n) {
      EXPECT_EQ(r.resource_id, "aws:///us-east-1a/i-0abc");
      EXPECT_EQ(r.region_id, "us-east-1");
      EXPECT_EQ(r.availability_zone, "us-east-1a");
      EXPECT_EQ(r.sku_id, "p5.48xlarge");
    } else {
      EXPECT_EQ(r.resource_id, "onprem-1");   // no provider ID: the node name
      EXPECT_FALSE(r.region_id.has_value());
      EXPECT_EQ(r.sku_id, "NVIDIA H100 80GB HBM3");  // no instance type: the GPU model
    }
    if (r.bucket == FocusBucket::kUnallocated) {
      EXPECT_FALSE(r.sub_account_id.has_value());
      EXPECT_EQ(r.tags.count("gpuwise.io/namespace"), 0u);
      EXPECT_EQ(r.tags.count("app"), 0u);
      EXPECT_NE(r.charge_description.find("held by no pod"), std::string::npos);
      continue;
    }
    EXPECT_EQ(r.sub_account_id, "serving");
    EXPECT_EQ(r.tags.at("gpuwise.io/namespace"), "serving");
    EXPECT_EQ(r.tags.at("gpuwise.io/workload"), "chat");
    EXPECT_EQ(r.tags.at("gpuwise.io/kind"), "Deployment");
    EXPECT_EQ(r.tags.at("gpuwise.io/team"), "ml");  // the resolved team, not the raw label
    EXPECT_EQ(r.tags.at("app"), "chat");            // every pod carries it: a finalized user tag
    EXPECT_EQ(r.tags.count("pod-template-hash"), 0u);  // pods disagree: not finalized
    EXPECT_NE(r.charge_description.find("serving/Deployment/chat (team ml)"), std::string::npos);
    EXPECT_NE(r.charge_description.find("4 USD per GPU-hour"), std::string::npos);
  }
  EXPECT_EQ(buckets, (std::set<std::string>{"used", "idle", "unallocated"}));
}

TEST(FocusRows, UnpricedNodesAreLeftOutAndLiveChargesOneInterval) {
  World w(kNov16 + 600, kNov16 + 601);
  w.s.live = true;
  w.s.grid_start_unix_s = w.s.start_unix_s;
  w.s.intervals = 1;
  const int priced = w.Node("priced", 3'600'000);
  const int unpriced = w.Node("unpriced", 0);
  const int a = w.Workload("ns", "a", "a");
  w.Hold(w.Gpu(priced), 0, a);
  w.Hold(w.Gpu(unpriced), 0, a);
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  auto rows = FocusRows(w.s, l);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].node, priced);
  EXPECT_EQ((*rows)[0].effective_cost, l.gpu_cost);
  EXPECT_EQ((*rows)[0].charge_period_start_unix_s, kNov16 + 600);
  EXPECT_EQ((*rows)[0].charge_period_end_unix_s, kNov16 + 600 + 3600);
}

TEST(FocusRows, BadOptionsAreErrorsNamingTheOption) {
  World w(kNov16, kNov16 + 3600);
  w.Gpu(w.Node("n", 1'000'000));
  w.Done();
  const CostLedger l = ComputeCosts(w.s);
  auto err = [&](auto mutate) {
    FocusOptions o;
    mutate(o);
    auto r = FocusRows(w.s, l, o);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err([](FocusOptions& o) { o.currency = "usd"; }).find("ISO 4217"), std::string::npos);
  EXPECT_NE(err([](FocusOptions& o) { o.service_category = "GPUs"; }).find("service category"), std::string::npos);
  EXPECT_NE(err([](FocusOptions& o) { o.provider_name = " "; }).find("provider name"), std::string::npos);
  EXPECT_NE(err([](FocusOptions& o) { o.billing_period_start_unix_s = 5; }).find("is empty"), std::string::npos);
  EXPECT_EQ(err([](FocusOptions& o) { o.service_category = "AI and Machine Learning"; }), "");
}

// ---- the money identities on generated snapshots, against the ledger's own totals

World Generate(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const std::int64_t start = kNov16 + uni(0, 3 * 86399);
  World w(start, start + uni(1, 80) * 1800 + uni(0, 1799));
  const int nodes = uni(1, 3);
  for (int n = 0; n < nodes; ++n) {
    const std::int64_t price = uni(0, 5) == 0 ? 0 : uni(1, 12'000'000);
    const std::int64_t list = uni(0, 2) == 0 ? 0 : price + uni(0, 3'000'000);
    w.Node("n" + std::to_string(n), price, list, uni(0, 3) == 0 ? CapacityType::kSpot : CapacityType::kOnDemand);
    for (int g = uni(1, 3); g > 0; --g) w.Gpu(n);
    if (uni(0, 1)) {
      const std::string uuid = "mig" + std::to_string(n);
      w.Mig(n, uuid, 3);
      if (uni(0, 1)) w.Mig(n, uuid, 2);
    }
  }
  const char* teams[] = {"a", "b", "", "Research, \"Vision\""};
  const int workloads = uni(1, 6);
  for (int k = 0; k < workloads; ++k) {
    std::vector<model::Labels> pods;
    for (int p = uni(1, 3); p > 0; --p) pods.push_back({{"cc", uni(0, 2) ? "x" : "y"}});
    w.Workload("ns" + std::to_string(uni(0, 2)), "w" + std::to_string(k), teams[uni(0, 3)], pods);
  }
  for (std::size_t d = 0; d < w.s.devices.size(); ++d) {
    for (int i = 0; i < w.s.intervals; ++i) {
      const int holders = uni(0, 2);
      for (int h = 0; h < holders; ++h) {
        const int wl = uni(0, workloads - 1);
        w.Hold(static_cast<int>(d), i, wl, holders == 1 && uni(0, 1) ? 1.0 : real(0.1, 0.7), real(0.2, 1.0),
               uni(0, static_cast<int>(w.s.workloads[static_cast<std::size_t>(wl)].pods.size()) - 1));
      }
      if (uni(0, 3)) w.Use(static_cast<int>(d), i, real(0, 1));
    }
  }
  w.Done();
  return w;
}

TEST(MoneyIdentities, ChargebackAndFocusReAddExactlyForEveryDimensionAndMode) {
  const char* dims[] = {"team", "namespace", "workload", "label:cc", "annotation:none"};
  std::map<FocusBucket, int> exercised;  // the generator must reach every bucket, or the identities prove little
  int spread = 0;
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    const World w = Generate(seed);
    const CostLedger l = ComputeCosts(w.s);
    for (const char* dim : dims) {
      for (UnallocatedMode mode : {UnallocatedMode::kSeparate, UnallocatedMode::kProportional}) {
        for (bool by_day : {true, false}) {
          ChargebackOptions o;
          ASSERT_TRUE(ParseChargebackDimension(dim, o).ok());
          o.unallocated = mode;
          o.by_day = by_day;
          const auto rows = Chargeback(w.s, l, o);
          std::int64_t cost = 0, used = 0, idle = 0, unallocated = 0;
          std::set<std::tuple<std::int64_t, bool, std::string>> seen;
          for (const auto& r : rows) {
            cost += r.cost;
            used += r.used;
            idle += r.idle;
            unallocated += r.unallocated;
            EXPECT_EQ(r.cost, r.used + r.idle + r.unallocated);
            EXPECT_GE(r.unallocated, 0);
            EXPECT_LT(r.period_start_unix_s, r.period_end_unix_s);
            EXPECT_GE(r.period_start_unix_s, w.s.start_unix_s);
            EXPECT_LE(r.period_end_unix_s, w.s.end_unix_s);
            EXPECT_TRUE(seen.insert({r.period_start_unix_s, r.unallocated_row, r.key}).second) << "duplicate key";
          }
          SCOPED_TRACE(std::string(dim) + " seed " + std::to_string(seed));
          EXPECT_EQ(cost, l.gpu_cost);
          EXPECT_EQ(used, l.allocated.used);
          EXPECT_EQ(idle, l.allocated.idle);
          EXPECT_EQ(unallocated, l.unallocated);
          if (mode == UnallocatedMode::kProportional && !rows.empty() && !rows.back().unallocated_row &&
              l.unallocated > 0) {
            ++spread;
          }
        }
      }
    }
    auto focus = FocusRows(w.s, l);
    ASSERT_TRUE(focus.ok());
    std::map<FocusBucket, std::int64_t> by_bucket;
    std::int64_t effective = 0;
    for (const FocusRow& r : *focus) {
      effective += r.effective_cost;
      by_bucket[r.bucket] += r.effective_cost;
      ++exercised[r.bucket];
      EXPECT_GT(r.effective_cost, 0);
      const model::SnapshotNode& sn = w.s.nodes[static_cast<std::size_t>(r.node)];
      if (sn.list_micro_per_gpu_hour >= sn.price_micro_per_gpu_hour) {
        EXPECT_GE(r.list_cost, r.effective_cost);
      }
      // Unit price x quantity gives the cost, up to rounding: the ledger rounds each device-interval to the
      // micro-dollar (a few micro each), the quantity is rounded to the micro-GPU-hour.
      const double rate = static_cast<double>(r.list_unit_price);
      const double implied = rate * static_cast<double>(r.pricing_quantity) / 1e6;
      const double slack = (3.0 * w.s.intervals + 2) * rate / static_cast<double>(sn.price_micro_per_gpu_hour) +
                           rate * 1e-6 + 1;
      EXPECT_NEAR(implied, static_cast<double>(r.list_cost), slack);
      EXPECT_LE(r.charge_period_start_unix_s, r.charge_period_end_unix_s);
      EXPECT_LE(r.billing_period_start_unix_s, r.charge_period_start_unix_s);
      EXPECT_GE(r.billing_period_end_unix_s, r.charge_period_end_unix_s);
    }
    EXPECT_EQ(effective, l.gpu_cost) << "seed " << seed;
    EXPECT_EQ(by_bucket[FocusBucket::kUsed], l.allocated.used);
    EXPECT_EQ(by_bucket[FocusBucket::kIdle], l.allocated.idle);
    EXPECT_EQ(by_bucket[FocusBucket::kUnallocated], l.unallocated);
  }
  EXPECT_GT(exercised[FocusBucket::kUsed], 20);
  EXPECT_GT(exercised[FocusBucket::kIdle], 20);
  EXPECT_GT(exercised[FocusBucket::kUnallocated], 20);
  EXPECT_GT(spread, 20);
}

}  // namespace
}  // namespace gpuwise::analyze
