#include "store/rollup_store.h"

#include "base/time_parse.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

namespace gpuwise::store {
namespace {

using analyze::CostLedger;
using model::Snapshot;
using model::UsageSignal;

constexpr std::int64_t kT0 = 1'794'787'200;  // a UTC hour
constexpr std::int64_t kH = 3600;

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::gpuwise::base::Status st_ = (expr);          \
    ASSERT_TRUE(st_.ok()) << st_.ToString();             \
  } while (0)

// Under TEST_TMPDIR when set, else on tmpfs when there is one: every commit fsyncs (synchronous=FULL), which costs
// ~20 ms on a disk and nothing on tmpfs, and the property tests commit a few hundred times.
std::string TempBase() {
  if (std::getenv("TEST_TMPDIR") == nullptr && ::access("/dev/shm", W_OK) == 0) return "/dev/shm/";
  return ::testing::TempDir();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = TempBase() + "rollup_store_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Direct SQLite access, to set up files gpuwise must refuse and to damage a store on purpose.
std::string Raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::string out;
  char* err = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* acc, int n, char** vals, char**) {
        auto* s = static_cast<std::string*>(acc);
        for (int i = 0; i < n; ++i) *s += (s->empty() ? "" : "|") + std::string(vals[i] ? vals[i] : "NULL");
        return 0;
      },
      &out, &err);
  if (rc != SQLITE_OK) out = "ERROR: " + std::string(err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(db);
  return out;
}

// A cluster on the hourly grid, built by hand: nodes, devices, one pod per workload, holds, usage, sketches.
struct World {
  Snapshot s;
  explicit World(int hours, std::int64_t t0 = kT0) {
    s.start_unix_s = s.grid_start_unix_s = t0;
    s.interval_s = kH;
    s.intervals = hours;
    s.end_unix_s = t0 + hours * kH;
    s.telemetry_source = "prometheus test";
    s.cluster_source = "fake";
  }
  int Node(const std::string& name, std::int64_t price) {
    model::SnapshotNode n;
    n.node.name = name;
    n.price_micro_per_gpu_hour = price;
    if (price == 0) n.unpriced_reason = "no rule";
    s.nodes.push_back(n);
    return static_cast<int>(s.nodes.size()) - 1;
  }
  // One workload with one pod; the index is both the pod's and the workload's.
  int Workload(const std::string& ns, const std::string& kind, const std::string& name, const std::string& team) {
    model::Pod p;
    p.namespace_name = ns;
    p.name = name + "-pod";
    s.pods.push_back(p);
    model::Workload w;
    w.key = {ns, kind, name};
    w.team = team;
    w.pods = {static_cast<int>(s.pods.size()) - 1};
    s.workloads.push_back(w);
    s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
    return static_cast<int>(s.workloads.size()) - 1;
  }
  int Gpu(int node) {
    model::Device d;
    d.node = node;
    d.key = "gpu" + std::to_string(s.devices.size());
    d.uuid = d.key;
    d.memory_bytes = 80e9;
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
    for (model::MigParent& p : s.mig_parents) {
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
  // After the devices: one usage cell per device and interval.
  void Grid() {
    s.usage.clear();
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      for (int i = 0; i < s.intervals; ++i) {
        model::DeviceInterval di;
        di.device = static_cast<int>(d);
        di.interval = i;
        s.usage.push_back(di);
      }
    }
  }
  model::DeviceInterval& At(int d, int i) {
    return s.usage[static_cast<std::size_t>(d) * static_cast<std::size_t>(s.intervals) + static_cast<std::size_t>(i)];
  }
  void Hold(int d, int i, int workload, double share = 1, double fraction = 1) {
    model::DeviceHold h;
    h.pod = workload;
    h.share = share;
    h.fraction = fraction;
    h.how = model::HoldHow::kLabel;
    At(d, i).holds.push_back(h);
  }
  void Samples(int workload, int interval, UsageSignal sig, const std::vector<double>& values) {
    model::Workload& w = s.workloads[static_cast<std::size_t>(workload)];
    const auto k = static_cast<std::size_t>(sig);
    for (double v : values) {
      w.interval_usage[interval][k].Insert(v);
      w.usage[k].Insert(v);
    }
  }
  CostLedger Ledger() const { return analyze::ComputeCosts(s, analyze::CostOptions{.interval_rows = true}); }
  std::int64_t HourStart(int i) const { return s.IntervalStart(i); }
};

// The same world seen by a report over intervals [from, to), optionally starting `trim_start` s late and ending
// `trim_end` s early (partial first and last hours).
Snapshot Slice(const Snapshot& full, int from, int to, std::int64_t trim_start = 0, std::int64_t trim_end = 0) {
  Snapshot out = full;
  out.grid_start_unix_s = full.IntervalStart(from);
  out.start_unix_s = out.grid_start_unix_s + trim_start;
  out.end_unix_s = full.IntervalStart(to) - trim_end;
  out.intervals = to - from;
  out.usage.clear();
  for (model::DeviceInterval di : full.usage) {
    if (di.interval < from || di.interval >= to) continue;
    di.interval -= from;
    out.usage.push_back(di);
  }
  for (model::Workload& w : out.workloads) {
    // As the builder would: the window's sketches are the merge of its intervals'.
    std::map<int, std::array<model::UsageSketch, model::kUsageSignalCount>> moved;
    w.usage = {};
    for (const auto& iv : w.interval_usage) {
      if (iv.first < from || iv.first >= to) continue;
      moved[iv.first - from] = iv.second;
      for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) (void)w.usage[k].Merge(iv.second[k]);
    }
    w.interval_usage = std::move(moved);
  }
  return out;
}

StoreOptions ReadOnly() {
  StoreOptions o;
  o.read_only = true;
  return o;
}

RunInfo TestRun(std::int64_t created = kT0 + 100 * kH) { return RunInfo{created, "0.1.0-test", ""}; }

base::Result<WriteCounts> Write(RollupStore& store, const Snapshot& s) {
  return store.WriteRollups(s, analyze::ComputeCosts(s, analyze::CostOptions{.interval_rows = true}), TestRun());
}

// What the ledger's interval rows add up to over the hours [from, to) of the window: the expectation for a range
// read, summed here in C++ rather than SQL.
CostTotals LedgerTotals(const CostLedger& l, std::int64_t from, std::int64_t to) {
  CostTotals t;
  for (const analyze::CostRow& r : l.interval_rows) {
    const std::int64_t hour = r.day_start_unix_s - ((r.day_start_unix_s % kH) + kH) % kH;
    if (hour < from || hour >= to) continue;
    t.cost_micro_usd += r.cost;
    t.used_micro_usd += r.used;
    t.idle_micro_usd += r.idle;
    if (r.workload < 0) t.unallocated_micro_usd += r.cost;
    t.gpu_hours += r.gpu_hours;
  }
  return t;
}

void ExpectSameMoney(const CostTotals& got, const CostTotals& want, const std::string& what) {
  EXPECT_EQ(got.cost_micro_usd, want.cost_micro_usd) << what;
  EXPECT_EQ(got.used_micro_usd, want.used_micro_usd) << what;
  EXPECT_EQ(got.idle_micro_usd, want.idle_micro_usd) << what;
  EXPECT_EQ(got.unallocated_micro_usd, want.unallocated_micro_usd) << what;
  EXPECT_NEAR(got.gpu_hours, want.gpu_hours, 1e-9 * (1 + std::abs(want.gpu_hours))) << what;
}

// The store's answer over the whole window against the ledger's own totals (computed by analyze/cost from the
// devices, independently of its rows): workloads, nodes, teams and the total, to the micro-dollar. Returns a
// description of the first difference, "" when equal (usable from gtest and rapidcheck alike).
std::string DiffAgainstLedger(const CostHistory& h, const Snapshot& s, const CostLedger& l) {
  std::ostringstream d;
  if (h.total.cost_micro_usd != l.gpu_cost) d << "total cost " << h.total.cost_micro_usd << " != " << l.gpu_cost;
  if (h.total.unallocated_micro_usd != l.unallocated) d << " unallocated " << h.total.unallocated_micro_usd << " != " << l.unallocated;
  if (h.total.used_micro_usd != l.allocated.used) d << " used " << h.total.used_micro_usd << " != " << l.allocated.used;
  if (h.total.idle_micro_usd != l.allocated.idle) d << " idle " << h.total.idle_micro_usd << " != " << l.allocated.idle;
  std::map<std::string, const WorkloadCostTotal*> got;
  for (const WorkloadCostTotal& w : h.workloads) got[w.key.str()] = &w;
  std::map<std::string, std::pair<analyze::Money, double>> teams;
  for (std::size_t i = 0; i < s.workloads.size(); ++i) {
    const analyze::WorkloadCost& want = l.workloads[i];
    const auto it = got.find(s.workloads[i].key.str());
    if (it == got.end()) {
      if (want.money.allocated() != 0 || want.gpu_hours > 0) d << " workload " << s.workloads[i].key.str() << " missing";
      continue;
    }
    const CostTotals& t = it->second->totals;
    if (t.used_micro_usd != want.money.used || t.idle_micro_usd != want.money.idle ||
        t.cost_micro_usd != want.money.allocated() || t.unallocated_micro_usd != 0 ||
        std::abs(t.gpu_hours - want.gpu_hours) > 1e-9 * (1 + want.gpu_hours)) {
      d << " workload " << s.workloads[i].key.str() << " used/idle " << t.used_micro_usd << "/" << t.idle_micro_usd
        << " != " << want.money.used << "/" << want.money.idle;
    }
    if (it->second->team != s.workloads[i].team) d << " team of " << s.workloads[i].key.str();
    teams[s.workloads[i].team].first.Add(want.money);
    teams[s.workloads[i].team].second += want.gpu_hours;
    got.erase(it);
  }
  if (!got.empty()) d << " unexpected workload " << got.begin()->first;
  std::map<std::string, const NodeCostTotal*> nodes;
  for (const NodeCostTotal& n : h.nodes) nodes[n.node] = &n;
  for (std::size_t i = 0; i < s.nodes.size(); ++i) {
    const analyze::NodeCost& want = l.nodes[i];
    const auto it = nodes.find(s.nodes[i].node.name);
    const CostTotals t = it == nodes.end() ? CostTotals{} : it->second->totals;
    if (t.cost_micro_usd != want.cost || t.unallocated_micro_usd != want.unallocated ||
        t.used_micro_usd != want.allocated.used || t.idle_micro_usd != want.allocated.idle) {
      d << " node " << s.nodes[i].node.name << " cost " << t.cost_micro_usd << " != " << want.cost;
    }
  }
  for (const TeamCostTotal& t : h.teams) {
    const auto it = teams.find(t.team);
    if (it == teams.end()) {
      d << " unexpected team " << t.team;
      continue;
    }
    if (t.totals.used_micro_usd != it->second.first.used || t.totals.idle_micro_usd != it->second.first.idle ||
        std::abs(t.totals.gpu_hours - it->second.second) > 1e-9 * (1 + it->second.second)) {
      d << " team " << t.team;
    }
  }
  return d.str();
}

// Two priced nodes, one unpriced, GPUs on an unknown node; whole, MIG (with uncovered slices) and shared GPUs;
// three teams in two namespaces; six hours with changing holds and usage.
World Scenario(std::int64_t price_a = 4'000'000, std::int64_t price_b = 2'500'003) {
  World w(6);
  const int a = w.Node("node-a", price_a), b = w.Node("node-b", price_b), c = w.Node("node-c", 0);
  const int chat = w.Workload("serving", "Deployment", "chat", "search");
  const int rerank = w.Workload("serving", "Deployment", "rerank", "search");
  const int train = w.Workload("research", "Job", "train", "ml");
  const int nb = w.Workload("research", "Pod", "notebook", "ml");
  const int batch = w.Workload("research", "CronJob", "nightly", "infra");
  const int g0 = w.Gpu(a), g1 = w.Gpu(a), g2 = w.Gpu(b), g3 = w.Gpu(c), g4 = w.Gpu(-1);
  const int m0 = w.Mig(b, "GPU-mig", 3), m1 = w.Mig(b, "GPU-mig", 2);
  w.Grid();
  for (int i = 0; i < 6; ++i) {
    w.Hold(g0, i, chat);
    w.At(g0, i).compute = 0.2 + 0.1 * i;
    if (i < 4) w.Hold(g1, i, train, 1, i == 3 ? 0.5 : 1.0);
    w.At(g1, i).compute = 0.9;
    w.Hold(g2, i, nb, 0.5);
    w.Hold(g2, i, batch, 0.25, i % 2 ? 1.0 : 0.4);
    if (i != 2) w.At(g2, i).fb_used_bytes = 30e9;  // hour 2 unmeasured
    w.Hold(g3, i, train);
    w.At(g3, i).compute = 0.5;
    w.Hold(g4, i, batch);
    w.Hold(m0, i, rerank);
    w.At(m0, i).compute = 0.7;
    (void)m1;  // a 2g instance nobody holds
    w.Samples(chat, i, UsageSignal::kCompute, {0.2, 0.25, 0.3 + 0.01 * i});
    w.Samples(chat, i, UsageSignal::kPower, {300, 310 + 5.0 * i});
    w.Samples(train, i, UsageSignal::kCompute, {0.9, 0.95});
  }
  return w;
}

TEST(RollupStore, RoundTripTotalsEqualTheLedgerExactly) {
  TempDir dir;
  World w = Scenario();
  const CostLedger l = w.Ledger();
  ASSERT_GT(l.gpu_cost, 0);
  ASSERT_GT(l.unallocated, 0);
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto counts = store->WriteRollups(w.s, l, TestRun());
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->hours_written, 6);
  EXPECT_EQ(counts->hours_kept, 0);
  EXPECT_GT(counts->cost_rows, 6);
  EXPECT_EQ(counts->usage_rows, 6 * 3);  // chat compute + power, train compute, each hour

  auto h = store->ReadCosts(w.HourStart(0), w.HourStart(6));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(DiffAgainstLedger(*h, w.s, l), "");
  EXPECT_EQ(h->hours, 6);
  EXPECT_EQ(h->covered_s, 6 * kH);
  EXPECT_EQ(h->first_hour_unix_s, w.HourStart(0));
  EXPECT_EQ(h->last_hour_unix_s, w.HourStart(5));
  EXPECT_EQ(h->total.cost_micro_usd,
            h->total.used_micro_usd + h->total.idle_micro_usd + h->total.unallocated_micro_usd);
  EXPECT_EQ(h->workloads.size(), 5u);
  EXPECT_EQ(h->teams.size(), 3u);
  // GPUs on no known node are a row of their own (node ""), at $0.
  ASSERT_EQ(h->nodes.size(), 4u);
  EXPECT_EQ(h->nodes[0].node, "");
  EXPECT_EQ(h->nodes[0].totals.cost_micro_usd, 0);
  EXPECT_NEAR(h->nodes[0].totals.gpu_hours, 6.0, 1e-9);

  // A sub-range takes its hours whole, and equals the ledger's rows of those hours.
  auto mid = store->ReadCosts(w.HourStart(2), w.HourStart(4) - 1);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->hours, 2);
  ExpectSameMoney(mid->total, LedgerTotals(l, w.HourStart(2), w.HourStart(4)), "hours 2-3");

  // Filters.
  CostFilter team;
  team.team = "ml";
  auto ml = store->ReadCosts(w.HourStart(0), w.HourStart(6), team);
  ASSERT_TRUE(ml.ok());
  const analyze::Money want_ml = [&] {
    analyze::Money m = l.workloads[2].money;
    m.Add(l.workloads[3].money);
    return m;
  }();
  EXPECT_EQ(ml->total.used_micro_usd, want_ml.used);
  EXPECT_EQ(ml->total.idle_micro_usd, want_ml.idle);
  EXPECT_EQ(ml->total.unallocated_micro_usd, 0);
  ASSERT_EQ(ml->workloads.size(), 2u);
  EXPECT_EQ(ml->hours, 6);

  CostFilter node;
  node.node = "node-b";
  auto nb = store->ReadCosts(w.HourStart(0), w.HourStart(6), node);
  ASSERT_TRUE(nb.ok());
  EXPECT_EQ(nb->total.cost_micro_usd, l.nodes[1].cost);
  EXPECT_EQ(nb->total.unallocated_micro_usd, l.nodes[1].unallocated);

  CostFilter one;
  one.workload = model::WorkloadKey{"serving", "Deployment", "chat"};
  auto chat = store->ReadCosts(w.HourStart(0), w.HourStart(6), one);
  ASSERT_TRUE(chat.ok());
  ASSERT_EQ(chat->workloads.size(), 1u);
  EXPECT_EQ(chat->total.used_micro_usd, l.workloads[0].money.used);
  EXPECT_EQ(chat->total.idle_micro_usd, l.workloads[0].money.idle);

  CostFilter ns;
  ns.namespace_name = "serving";
  auto serving = store->ReadCosts(w.HourStart(0), w.HourStart(6), ns);
  ASSERT_TRUE(serving.ok());
  EXPECT_EQ(serving->total.cost_micro_usd, l.workloads[0].money.allocated() + l.workloads[1].money.allocated());

  // Runs.
  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].id, counts->run_id);
  EXPECT_EQ((*runs)[0].window_start_unix_s, w.s.start_unix_s);
  EXPECT_EQ((*runs)[0].window_end_unix_s, w.s.end_unix_s);
  EXPECT_EQ((*runs)[0].interval_s, kH);
  EXPECT_EQ((*runs)[0].sources, "prometheus test; fake");
  EXPECT_EQ((*runs)[0].gpuwise_version, "0.1.0-test");
  EXPECT_EQ((*runs)[0].hours_owned, 6);
  ASSERT_OK(store->CheckIntegrity());
}

TEST(RollupStore, ReopenKeepsDataAndTheFileIsAWalStoreOfTheCurrentVersion) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  World w = Scenario();
  {
    auto store = RollupStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(Write(*store, w.s).ok());
  }
  EXPECT_EQ(Raw(path, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(Raw(path, "PRAGMA application_id"), std::to_string(kApplicationId));
  EXPECT_EQ(Raw(path, "PRAGMA journal_mode"), "wal");
  // Opening again must not re-run migrations (CREATE TABLE would fail), and sees the data.
  auto again = RollupStore::Open(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->schema_version(), kSchemaVersion);
  auto h = again->ReadCosts(w.HourStart(0), w.HourStart(6));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(DiffAgainstLedger(*h, w.s, w.Ledger()), "");
  auto ro = RollupStore::Open(path, ReadOnly());
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  auto runs = ro->ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
  auto refused = ro->WriteRollups(w.s, w.Ledger(), TestRun());
  EXPECT_EQ(refused.status().code(), base::Code::kFailedPrecondition);
}

TEST(RollupStore, ReadOnlyOpenOfAMissingFileIsNotFoundAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.File("none.db");
  auto store = RollupStore::Open(path, ReadOnly());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), base::Code::kNotFound);
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
  auto missing_dir = RollupStore::Open(dir.File("no/such/dir.db"));
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.status().message().find("no/such/dir.db"), std::string::npos);
}

TEST(RollupStore, OverlappingRewriteReplacesHoursNotDoubles) {
  TempDir dir;
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  ASSERT_TRUE(store.ok());
  // The first report sees hours 0-3 at the old prices, and a workload ("gone") that the second report's data no
  // longer attributes the same way in hours 2-3.
  World old_world = Scenario(4'000'000, 2'500'003);
  const int gone = old_world.Workload("serving", "Pod", "gone", "search");
  for (int i = 0; i < 6; ++i) old_world.Hold(old_world.s.mig_parents[0].instances[1], i, gone);
  World new_world = Scenario(5'000'000, 2'000'000);
  const Snapshot first = Slice(old_world.s, 0, 4);
  const Snapshot second = Slice(new_world.s, 2, 6);
  const CostLedger l1 = analyze::ComputeCosts(first, {.interval_rows = true});
  const CostLedger l2 = analyze::ComputeCosts(second, {.interval_rows = true});
  auto c1 = store->WriteRollups(first, l1, TestRun());
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  auto c2 = store->WriteRollups(second, l2, TestRun());
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  EXPECT_EQ(c2->hours_written, 4);
  EXPECT_EQ(c2->hours_kept, 0);
  EXPECT_GT(c2->replaced_cost_rows, 0);
  EXPECT_GT(c2->replaced_usage_rows, 0);

  auto h = store->ReadCosts(kT0, kT0 + 6 * kH);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hours, 6);
  CostTotals want = LedgerTotals(l1, kT0, kT0 + 2 * kH);
  const CostTotals newer = LedgerTotals(l2, kT0 + 2 * kH, kT0 + 6 * kH);
  want.cost_micro_usd += newer.cost_micro_usd;
  want.used_micro_usd += newer.used_micro_usd;
  want.idle_micro_usd += newer.idle_micro_usd;
  want.unallocated_micro_usd += newer.unallocated_micro_usd;
  want.gpu_hours += newer.gpu_hours;
  ExpectSameMoney(h->total, want, "hours 0-1 from the first run, 2-5 from the second");
  // The per-hour GPU cost is price x 1 h: 6 hours of the two priced nodes' GPUs, never 8.
  EXPECT_EQ(h->total.cost_micro_usd, 2 * (2 * 4'000'000 + 2 * 2'500'003) + 4 * (2 * 5'000'000 + 2 * 2'000'000));

  // "gone" keeps only the hours its run still owns.
  CostFilter gone_only;
  gone_only.workload = model::WorkloadKey{"serving", "Pod", "gone"};
  auto g = store->ReadCosts(kT0, kT0 + 6 * kH, gone_only);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->workloads.size(), 1u);
  EXPECT_NEAR(g->workloads[0].totals.gpu_hours, 2 * 2.0 / 7.0, 1e-9);

  // Usage: hours 2-5 hold the second run's sketches only (a sample count of 4 hours, not 6 overlapping ones).
  auto u = store->ReadUsage({"serving", "Deployment", "chat"}, kT0, kT0 + 6 * kH);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->hours[static_cast<std::size_t>(UsageSignal::kCompute)], 6);
  EXPECT_EQ(u->signals[static_cast<std::size_t>(UsageSignal::kCompute)].count(), 6u * 3u);

  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].hours_owned, 2);
  EXPECT_EQ((*runs)[1].hours_owned, 4);

  // Writing the same report again changes nothing.
  ASSERT_TRUE(store->WriteRollups(second, l2, TestRun()).ok());
  auto again = store->ReadCosts(kT0, kT0 + 6 * kH);
  ASSERT_TRUE(again.ok());
  ExpectSameMoney(again->total, want, "after a repeated write");
  ASSERT_OK(store->CheckIntegrity());
}

TEST(RollupStore, PartialHourGoesToTheRunThatCoveredMoreOfIt) {
  World w = Scenario(3'600'000, 7'200'000);
  // Run A: hours 0-2, the last only half (ends at 2:30). Run B: hours 2-5 in full.
  const Snapshot a = Slice(w.s, 0, 3, 0, 1800);
  const Snapshot b = Slice(w.s, 2, 6);
  const CostLedger la = analyze::ComputeCosts(a, {.interval_rows = true});
  const CostLedger lb = analyze::ComputeCosts(b, {.interval_rows = true});
  const std::int64_t h2 = kT0 + 2 * kH;
  const CostTotals full_hour = LedgerTotals(lb, h2, h2 + kH);
  const CostTotals half_hour = LedgerTotals(la, h2, h2 + kH);
  ASSERT_NE(full_hour.cost_micro_usd, half_hour.cost_micro_usd);
  for (bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "partial run first" : "full run first");
    TempDir dir;
    auto store = RollupStore::Open(dir.File("gpuwise.db"));
    ASSERT_TRUE(store.ok());
    if (a_first) {
      ASSERT_TRUE(store->WriteRollups(a, la, TestRun()).ok());
      auto cb = store->WriteRollups(b, lb, TestRun());
      ASSERT_TRUE(cb.ok());
      EXPECT_EQ(cb->hours_written, 4);
    } else {
      ASSERT_TRUE(store->WriteRollups(b, lb, TestRun()).ok());
      auto ca = store->WriteRollups(a, la, TestRun());
      ASSERT_TRUE(ca.ok());
      EXPECT_EQ(ca->hours_written, 2);
      EXPECT_EQ(ca->hours_kept, 1);
    }
    auto h = store->ReadCosts(h2, h2 + kH);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->covered_s, kH);
    ExpectSameMoney(h->total, full_hour, "hour 2 comes from the full run");
  }
  // Alone, the partial run's hour reads back with its coverage.
  TempDir dir;
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->WriteRollups(a, la, TestRun()).ok());
  auto h = store->ReadCosts(kT0, kT0 + 6 * kH);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hours, 3);
  EXPECT_EQ(h->covered_s, 2 * kH + 1800);
  EXPECT_EQ(h->total.cost_micro_usd, la.gpu_cost);
}

// Random clusters: written whole, or as two overlapping reports in either order, the store reads back the ledger
// of the whole window to the micro-dollar.
RC_GTEST_PROP(RollupStoreProperty, OverlappingReportsReadBackAsTheWholeWindow, ()) {
  const int hours = *rc::gen::inRange(1, 7);
  World w(hours);
  const int nodes = *rc::gen::inRange(1, 4);
  for (int n = 0; n < nodes; ++n) {
    w.Node("node-" + std::to_string(n), *rc::gen::element<std::int64_t>(0, 1'000'000, 3'999'999, 12'345'678));
  }
  const int workloads = *rc::gen::inRange(1, 6);
  for (int k = 0; k < workloads; ++k) {
    w.Workload(*rc::gen::element<std::string>("a", "b"), *rc::gen::element<std::string>("Deployment", "Job"),
               "w" + std::to_string(k), *rc::gen::element<std::string>("ml", "search", "infra"));
  }
  const int gpus = *rc::gen::inRange(1, 5);
  for (int g = 0; g < gpus; ++g) {
    const int node = *rc::gen::inRange(-1, nodes);
    if (*rc::gen::arbitrary<bool>()) {
      w.Gpu(node);
    } else {
      const int instances = *rc::gen::inRange(1, 3);
      for (int m = 0; m < instances; ++m) w.Mig(node, "GPU-" + std::to_string(g), *rc::gen::element(1, 2, 3));
    }
  }
  w.Grid();
  for (std::size_t d = 0; d < w.s.devices.size(); ++d) {
    for (int i = 0; i < hours; ++i) {
      const int holders = *rc::gen::inRange(0, 3);
      for (int k = 0; k < holders; ++k) {
        w.Hold(static_cast<int>(d), i, *rc::gen::inRange(0, workloads), *rc::gen::element(1.0, 0.5, 0.25),
               *rc::gen::element(1.0, 0.5, 0.3));
      }
      if (*rc::gen::arbitrary<bool>()) w.At(static_cast<int>(d), i).compute = *rc::gen::inRange(0, 101) / 100.0;
    }
  }
  const CostLedger whole = w.Ledger();
  const int cut_a = *rc::gen::inRange(1, hours + 1);  // first report: [0, cut_a)
  const int cut_b = *rc::gen::inRange(0, cut_a);       // second: [cut_b, hours), overlapping [cut_b, cut_a)
  const bool whole_first = *rc::gen::arbitrary<bool>();

  TempDir dir;
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  RC_ASSERT(store.ok());
  const Snapshot first = Slice(w.s, 0, cut_a), second = Slice(w.s, cut_b, hours);
  if (whole_first) RC_ASSERT(Write(*store, w.s).ok());
  RC_ASSERT(Write(*store, second).ok());
  RC_ASSERT(Write(*store, first).ok());
  auto h = store->ReadCosts(kT0, kT0 + hours * kH);
  RC_ASSERT(h.ok());
  RC_ASSERT(DiffAgainstLedger(*h, w.s, whole) == std::string());
  RC_ASSERT(h->hours == hours);
}

// Usage samples of one workload over random hours, stored as two overlapping reports: the merged hourly sketches
// answer every quantile exactly as one sketch of all the samples does.
RC_GTEST_PROP(RollupStoreProperty, MergedHourlySketchesEqualOneSketchOfAllSamples, ()) {
  const int hours = *rc::gen::inRange(1, 9);
  World w(hours);
  const int wl = w.Workload("serving", "Deployment", "chat", "search");
  w.Grid();
  std::array<model::UsageSketch, model::kUsageSignalCount> all;
  std::array<int, model::kUsageSignalCount> hours_with{};
  for (int i = 0; i < hours; ++i) {
    for (UsageSignal sig : {UsageSignal::kCompute, UsageSignal::kFbShare, UsageSignal::kPower}) {
      const auto k = static_cast<std::size_t>(sig);
      const auto raw = *rc::gen::container<std::vector<int>>(*rc::gen::inRange<std::size_t>(0, 40),
                                                            rc::gen::inRange(0, 1'000'001));
      std::vector<double> values;
      for (int r : raw) values.push_back(sig == UsageSignal::kPower ? 50 + r / 1000.0 : r / 1e6);
      w.Samples(wl, i, sig, values);
      for (double v : values) all[k].Insert(v);
      hours_with[k] += values.empty() ? 0 : 1;
    }
  }
  const int cut_a = *rc::gen::inRange(1, hours + 1);
  const int cut_b = *rc::gen::inRange(0, cut_a);
  TempDir dir;
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  RC_ASSERT(store.ok());
  RC_ASSERT(Write(*store, Slice(w.s, cut_b, hours)).ok());
  RC_ASSERT(Write(*store, Slice(w.s, 0, cut_a)).ok());
  auto u = store->ReadUsage({"serving", "Deployment", "chat"}, kT0, kT0 + hours * kH);
  RC_ASSERT(u.ok());
  for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) {
    const model::UsageSketch& got = u->signals[k];
    RC_ASSERT(u->hours[k] == hours_with[k]);
    RC_ASSERT(got.count() == all[k].count());
    if (all[k].count() == 0) continue;
    RC_ASSERT(got.min() == all[k].min());
    RC_ASSERT(got.max() == all[k].max());
    RC_ASSERT(std::abs(got.sum() - all[k].sum()) <= 1e-9 * all[k].sum());
    for (int q = 0; q <= 100; ++q) RC_ASSERT(got.Quantile(q / 100.0) == all[k].Quantile(q / 100.0));
  }
  // A range of later hours merges only those.
  auto tail = store->ReadUsage({"serving", "Deployment", "chat"}, kT0 + (hours - 1) * kH, kT0 + hours * kH);
  RC_ASSERT(tail.ok());
  const auto& last = w.s.workloads[0].interval_usage;
  const auto it = last.find(hours - 1);
  const std::uint64_t want = it == last.end() ? 0 : it->second[0].count();
  RC_ASSERT(tail->signals[0].count() == want);
}

TEST(RollupStore, NewerSchemaIsRefusedAndTheFileIsUnchanged) {
  TempDir dir;
  const std::string path = dir.File("future.db");
  ASSERT_EQ(Raw(path, "CREATE TABLE runs(id INTEGER); PRAGMA application_id = " + std::to_string(kApplicationId) +
                          "; PRAGMA user_version = 999;"),
            "");
  const std::string before = ReadBytes(path);
  ASSERT_FALSE(before.empty());
  for (bool read_only : {false, true}) {
    auto store = RollupStore::Open(path, read_only ? ReadOnly() : StoreOptions());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), base::Code::kFailedPrecondition);
    EXPECT_NE(store.status().message().find("999"), std::string::npos) << store.status().message();
    EXPECT_NE(store.status().message().find(path), std::string::npos);
  }
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_EQ(Raw(path, "PRAGMA user_version"), "999");

  // A newer gpuwise's store in WAL mode, with commits still in its WAL: refusing it must not checkpoint them
  // into the main file either.
  const std::string wal_path = dir.File("future-wal.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(wal_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), SQLITE_OK);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  ASSERT_EQ(sqlite3_exec(db,
                         ("PRAGMA journal_mode=WAL; CREATE TABLE runs(id INTEGER); PRAGMA application_id = " +
                          std::to_string(kApplicationId) + "; PRAGMA user_version = 999; INSERT INTO runs VALUES(1);")
                             .c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string main_before = ReadBytes(wal_path), wal_before = ReadBytes(wal_path + "-wal");
  ASSERT_FALSE(wal_before.empty());
  auto refused = RollupStore::Open(wal_path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(wal_path), main_before);
  EXPECT_EQ(ReadBytes(wal_path + "-wal"), wal_before);
}

TEST(RollupStore, NonDatabaseAndForeignDatabaseAreRefusedUntouched) {
  TempDir dir;
  const std::string text = dir.File("notes.txt");
  {
    std::ofstream out(text);
    out << "this is a shopping list, not a database; it is long enough to have a header-sized prefix.\n";
  }
  const std::string text_before = ReadBytes(text);
  auto a = RollupStore::Open(text);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find(text), std::string::npos);
  EXPECT_NE(a.status().message().find("not a SQLite database"), std::string::npos) << a.status().message();
  EXPECT_EQ(ReadBytes(text), text_before);

  const std::string other = dir.File("other-app.db");
  ASSERT_EQ(Raw(other, "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES('ada');"), "");
  const std::string other_before = ReadBytes(other);
  auto b = RollupStore::Open(other);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(b.status().message().find("another application"), std::string::npos) << b.status().message();
  EXPECT_EQ(ReadBytes(other), other_before);
  EXPECT_EQ(Raw(other, "SELECT name FROM contacts"), "ada");
}

TEST(RollupStore, CorruptSketchIsAnErrorNamingTheRow) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  const World w = Scenario();
  const model::WorkloadKey chat{"serving", "Deployment", "chat"};
  struct Damage {
    std::string sql, expect;
  };
  for (const Damage& d : std::vector<Damage>{
           {"UPDATE usage_rollups SET sketch = substr(sketch, 1, length(sketch) - 3) WHERE id = ", "checksum"},
           {"UPDATE usage_rollups SET sketch = zeroblob(3) WHERE id = ", "truncated"},
           {"UPDATE usage_rollups SET sketch = randomblob(64) WHERE id = ", "usage sketch"},
           {"UPDATE usage_rollups SET signal = 'warp' WHERE id = ", "unknown signal"}}) {
    SCOPED_TRACE(d.sql);
    auto store = RollupStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(Write(*store, w.s).ok());  // a fresh, good copy of every row
    ASSERT_TRUE(store->ReadUsage(chat, kT0, kT0 + 6 * kH).ok());
    const std::string id = Raw(path,
                               "SELECT id FROM usage_rollups WHERE workload_name = 'chat' AND signal = 'power' "
                               "ORDER BY interval_start LIMIT 1 OFFSET 2");
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(Raw(path, d.sql + id), "");
    auto u = store->ReadUsage(chat, kT0, kT0 + 6 * kH);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.status().code(), base::Code::kDataLoss);
    EXPECT_NE(u.status().message().find("usage_rollups row " + id), std::string::npos) << u.status().message();
    EXPECT_NE(u.status().message().find("hour " + base::FormatTime((kT0 + 2 * kH) * 1000)), std::string::npos)
        << u.status().message();
    EXPECT_NE(u.status().message().find("serving/Deployment/chat"), std::string::npos);
    EXPECT_NE(u.status().message().find(d.expect), std::string::npos) << u.status().message();
    // The hours before the damaged one, and other workloads, still read.
    EXPECT_TRUE(store->ReadUsage(chat, kT0, kT0 + 2 * kH).ok());
    EXPECT_TRUE(store->ReadUsage({"research", "Job", "train"}, kT0, kT0 + 6 * kH).ok());
  }
}

TEST(RollupStore, IntegrityCheckReportsDamage) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  auto store = RollupStore::Open(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(Write(*store, Scenario().s).ok());
  ASSERT_OK(store->CheckIntegrity());
  // A row pointing at a run that does not exist (written with foreign keys off, as a buggy tool might).
  ASSERT_EQ(Raw(path,
                "INSERT INTO cost_rollups(interval_start, node, namespace, workload_kind, workload_name, team, "
                "cost_micro_usd, used_micro_usd, idle_micro_usd, gpu_hours, run_id) VALUES(" +
                    std::to_string(kT0) + ", 'x', 'n', 'Pod', 'p', 't', 1, 1, 0, 1.0, 77)"),
            "");
  const base::Status st = store->CheckIntegrity();
  EXPECT_EQ(st.code(), base::Code::kDataLoss);
  EXPECT_NE(st.message().find("cost_rollups"), std::string::npos) << st.message();
}

TEST(RollupStore, SumsPastInt64AreAnErrorNotAWrap) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  auto store = RollupStore::Open(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(Write(*store, Scenario().s).ok());
  for (const char* node : {"huge-1", "huge-2"}) {
    ASSERT_EQ(Raw(path, "INSERT INTO cost_rollups(interval_start, node, namespace, workload_kind, workload_name, team, "
                        "cost_micro_usd, used_micro_usd, idle_micro_usd, gpu_hours, run_id) VALUES(" +
                            std::to_string(kT0) + ", '" + node + "', '', '', '', '', 4611686018427387904, 0, 0, 1.0, 1)"),
              "");
  }
  auto h = store->ReadCosts(kT0, kT0 + kH);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), base::Code::kOutOfRange) << h.status().ToString();
}

TEST(RollupStore, RefusesSnapshotsItCannotStoreAndWritesNothing) {
  TempDir dir;
  auto store = RollupStore::Open(dir.File("gpuwise.db"));
  ASSERT_TRUE(store.ok());
  World w = Scenario();
  const CostLedger l = w.Ledger();

  Snapshot live = w.s;
  live.live = true;
  EXPECT_EQ(store->WriteRollups(live, l, TestRun()).status().code(), base::Code::kFailedPrecondition);

  Snapshot off_grid = w.s;
  off_grid.grid_start_unix_s += 900;
  EXPECT_EQ(store->WriteRollups(off_grid, l, TestRun()).status().code(), base::Code::kFailedPrecondition);

  Snapshot five_minutes = w.s;
  five_minutes.interval_s = 300;
  EXPECT_EQ(store->WriteRollups(five_minutes, l, TestRun()).status().code(), base::Code::kFailedPrecondition);

  const CostLedger day_rows_only = analyze::ComputeCosts(w.s);
  auto no_rows = store->WriteRollups(w.s, day_rows_only, TestRun());
  EXPECT_EQ(no_rows.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(no_rows.status().message().find("interval_rows"), std::string::npos);

  Snapshot no_sketches = w.s;
  for (model::Workload& wl : no_sketches.workloads) wl.interval_usage.clear();
  auto ns = store->WriteRollups(no_sketches, l, TestRun());
  EXPECT_EQ(ns.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(ns.status().message().find("interval_sketches"), std::string::npos);

  EXPECT_EQ(store->WriteRollups(w.s, l, TestRun(0)).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(store->WriteRollups(Scenario().s, World(2).Ledger(), TestRun()).status().code(), base::Code::kInternal);
  EXPECT_EQ(store->ReadCosts(kT0, kT0).status().code(), base::Code::kInvalidArgument);

  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  auto h = store->ReadCosts(kT0, kT0 + 6 * kH);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hours, 0);
  EXPECT_EQ(h->total.cost_micro_usd, 0);
}

TEST(RollupStore, WriterWaitsForTheLockThenFailsCleanly) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  World w = Scenario();
  { ASSERT_TRUE(RollupStore::Open(path).ok()); }
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto store = RollupStore::Open(path, [] {
    StoreOptions o;
    o.busy_timeout = std::chrono::milliseconds(100);
    return o;
  }());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto blocked = Write(*store, w.s);
  EXPECT_EQ(blocked.status().code(), base::Code::kUnavailable) << blocked.status().ToString();
  ASSERT_EQ(sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  ASSERT_TRUE(Write(*store, w.s).ok());
}

// A writer's open transaction is invisible to readers; its commit is visible all at once.
TEST(RollupStore, ReaderDuringAWriteSeesTheLastCommit) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  World before = Scenario(4'000'000, 2'500'003), after = Scenario(9'000'000, 1'000'000);
  const CostLedger lb = before.Ledger(), la = after.Ledger();
  {
    auto store = RollupStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->WriteRollups(before.s, lb, TestRun()).ok());
  }
  auto reader = RollupStore::Open(path, ReadOnly());
  ASSERT_TRUE(reader.ok());
  int checks = 0;
  StoreOptions opt;
  opt.after_row_for_test = [&](std::int64_t rows) {
    if (rows % 7 != 1) return;
    auto h = reader->ReadCosts(kT0, kT0 + 6 * kH);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(DiffAgainstLedger(*h, before.s, lb), "") << "mid-write, after row " << rows;
    ++checks;
  };
  auto writer = RollupStore::Open(path, opt);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->WriteRollups(after.s, la, TestRun()).ok());
  EXPECT_GT(checks, 2);
  auto h = reader->ReadCosts(kT0, kT0 + 6 * kH);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(DiffAgainstLedger(*h, after.s, la), "");
}

// Many reads while another connection commits alternating states: each read is one whole state, never a mix.
TEST(RollupStore, ConcurrentReaderSeesBeforeOrAfterNeverAMix) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  World x = Scenario(4'000'000, 2'500'003), y = Scenario(9'000'000, 1'000'000);
  const CostLedger lx = x.Ledger(), ly = y.Ledger();
  auto writer = RollupStore::Open(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->WriteRollups(x.s, lx, TestRun()).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::string first_bad;
  std::thread reader([&] {
    auto store = RollupStore::Open(path, ReadOnly());
    if (!store.ok()) {
      ++bad;
      return;
    }
    while (!done.load() || reads.load() < 5) {
      auto h = store->ReadCosts(kT0, kT0 + 6 * kH);
      const std::string dx = h.ok() ? DiffAgainstLedger(*h, x.s, lx) : h.status().ToString();
      const std::string dy = h.ok() ? DiffAgainstLedger(*h, y.s, ly) : h.status().ToString();
      if (!dx.empty() && !dy.empty()) {
        if (bad++ == 0) first_bad = dx + " / " + dy;
      }
      ++reads;
    }
  });
  for (int k = 0; k < 12; ++k) {
    const bool to_y = k % 2 == 0;
    ASSERT_TRUE(writer->WriteRollups(to_y ? y.s : x.s, to_y ? ly : lx, TestRun()).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0) << first_bad;
  EXPECT_GE(reads.load(), 5);
}

// A cluster large enough that the write transaction spills uncommitted pages into the WAL before it commits.
World BigWorld(std::int64_t price) {
  World w(48);
  const int node_a = w.Node("node-a", price), node_b = w.Node("node-b", price + 1);
  std::vector<int> gpus;
  for (int k = 0; k < 20; ++k) {
    w.Workload("ns" + std::to_string(k % 3), "Deployment", "svc-" + std::to_string(k), "team" + std::to_string(k % 4));
    gpus.push_back(w.Gpu(k % 2 ? node_a : node_b));
  }
  w.Grid();
  model::UsageSketch hour;  // ~700 distinct buckets: a realistic hourly sketch of a noisy signal
  for (int j = 0; j < 800; ++j) hour.Insert(1e-3 * std::pow(1e6, (j + 0.5) / 800));
  for (int k = 0; k < 20; ++k) {
    for (int i = 0; i < 48; ++i) {
      w.Hold(gpus[static_cast<std::size_t>(k)], i, k);
      w.At(gpus[static_cast<std::size_t>(k)], i).compute = 0.05 * (k % 20);
      w.s.workloads[static_cast<std::size_t>(k)].interval_usage[i].fill(hour);
    }
    w.s.workloads[static_cast<std::size_t>(k)].usage.fill(hour);
  }
  return w;
}

// Kills a child writer part-way through its transaction (SIGKILL while paused, or _exit), then checks the parent
// finds exactly what was committed before, a clean integrity check, and a store it can write again.
void CrashMidWrite(bool sigkill) {
  TempDir dir;
  const std::string path = dir.File("gpuwise.db");
  const World committed = BigWorld(2'000'000), torn = BigWorld(3'000'000);
  const CostLedger lc = committed.Ledger(), lt = torn.Ledger();
  const std::int64_t end = kT0 + 48 * kH;
  {
    auto store = RollupStore::Open(path);
    ASSERT_TRUE(store.ok());
    auto c = store->WriteRollups(committed.s, lc, TestRun());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_GT(c->cost_rows + c->usage_rows, 5000);
  }
  const std::int64_t crash_at = 5000;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    StoreOptions opt;
    opt.after_row_for_test = [&](std::int64_t rows) {
      if (rows != crash_at) return;
      if (!sigkill) _exit(7);
      const char c = 'x';
      if (write(ready[1], &c, 1) != 1) _exit(2);
      for (;;) pause();
    };
    auto store = RollupStore::Open(path, opt);
    if (!store.ok()) _exit(3);
    (void)store->WriteRollups(torn.s, lt, TestRun());
    _exit(4);  // the hook never let it get here
  }
  close(ready[1]);
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reap{pid};
  if (sigkill) {
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the child never reached the middle of its write";
    // The torn transaction has pages on disk already: the crash really leaves uncommitted frames behind.
    EXPECT_GT(std::filesystem::file_size(path + "-wal"), 1u << 20);
    auto reader = RollupStore::Open(path, ReadOnly());
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto h = reader->ReadCosts(kT0, end);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(DiffAgainstLedger(*h, committed.s, lc), "") << "a reader during the torn write";
    ASSERT_EQ(kill(pid, SIGKILL), 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  reap.pid = 0;
  close(ready[0]);
  if (sigkill) {
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  } else {
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
  }

  auto store = RollupStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_OK(store->CheckIntegrity());
  EXPECT_EQ(Raw(path, "PRAGMA integrity_check"), "ok");
  auto h = store->ReadCosts(kT0, end);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(DiffAgainstLedger(*h, committed.s, lc), "");
  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
  auto u = store->ReadUsage({"ns0", "Deployment", "svc-0"}, kT0, end);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->signals[0].count(), 48u * 800u);
  // And it takes the write the child never finished.
  ASSERT_TRUE(store->WriteRollups(torn.s, lt, TestRun()).ok());
  auto after = store->ReadCosts(kT0, end);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(DiffAgainstLedger(*after, torn.s, lt), "");
}

TEST(RollupStoreCrash, SigkillMidWriteLosesNothingCommitted) { CrashMidWrite(true); }
TEST(RollupStoreCrash, ExitMidWriteLosesNothingCommitted) { CrashMidWrite(false); }

}  // namespace
}  // namespace gpuwise::store
