// Rollup store: the hourly cost rollups and usage sketches a report writes with `--store PATH`, kept in one SQLite
// file so that later reports can answer over windows longer than Prometheus keeps, with exact dollars and
// quantiles as good as the sketch's 1% (docs/store.md has the schema and the rules below in full).
//
// Why the raw sqlite3 C API: a handful of statements, prepared once per call; a wrapper library would add a
// dependency and exceptions to catch for nothing. sqlite3.h stays inside rollup_store.cc (pimpl).
//
// Durability: journal_mode=WAL and synchronous=FULL. A committed WriteRollups() survives a process crash with any
// synchronous setting (SQLite's rule); FULL also fsyncs the WAL at every commit, so it survives power loss and an OS
// crash too (NORMAL could roll the last commits back on power loss). A report commits once, so the extra fsync costs
// one disk flush per run. A write that dies half-way (crash, kill, error) leaves exactly the data committed before.
//
// One hour, one run. Rows are keyed on the UTC hour they start in. Each hour is owned by the run that wrote it:
// a new run that covers at least as many seconds of the hour as the owner replaces the hour's rows wholesale (cost
// and usage, every node and workload), a run covering less of it (a partial first or last hour) leaves it alone.
// So re-running a report over an overlapping window never double counts, and a workload that is no longer in the
// newer run's data leaves no stale rows behind. One store holds one cluster.
//
// Thread-safety: one RollupStore is one SQLite connection, to be used by one thread at a time. Any number of
// RollupStore objects (threads or processes) may open the same file: readers see the last committed state and
// never block the writer (WAL); writers take turns, waiting up to StoreOptions::busy_timeout.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyze/cost.h"
#include "base/status.h"
#include "model/snapshot.h"
#include "model/usage_sketch.h"

namespace gpuwise::store {

// The schema version this binary writes (PRAGMA user_version). A file with a newer version is refused untouched.
inline constexpr int kSchemaVersion = 1;
// PRAGMA application_id of a gpuwise store ("GPUW"): an unrelated SQLite database is refused, never written into.
inline constexpr std::int32_t kApplicationId = 0x47505557;
// The rollup grid: snapshots must use 1 h intervals aligned to UTC hours (observe's default grid).
inline constexpr std::int64_t kRollupSeconds = 3600;

struct StoreOptions {
  // Open without writing: no WAL switch, no migration. A store that does not exist or needs a migration is an
  // error; WriteRollups() fails with FailedPrecondition.
  bool read_only = false;
  // How long a statement waits for another connection's lock before failing with Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // Tests only: called inside WriteRollups()'s transaction after each row is inserted (1, 2, ...), so a test can
  // crash the writer mid-way. Unset in the product.
  std::function<void(std::int64_t rows_so_far)> after_row_for_test;
};

// Who wrote a run; stored in `runs`.
struct RunInfo {
  std::int64_t created_unix_s = 0;  // read from base::Clock by the caller; must be > 0
  std::string gpuwise_version;      // "0.1.0"
  std::string sources;              // "" = the snapshot's telemetry_source and cluster_source
};

struct WriteCounts {
  std::int64_t run_id = 0;
  int hours_written = 0;            // hours this run now owns
  int hours_kept = 0;               // hours left to an earlier run that covered more of them
  std::int64_t cost_rows = 0;       // rows inserted
  std::int64_t usage_rows = 0;
  std::int64_t replaced_cost_rows = 0;   // earlier runs' rows of the hours written, deleted
  std::int64_t replaced_usage_rows = 0;
};

// Filters of ReadCosts(); unset = any. Unallocated rows have no namespace, workload or team, so a namespace,
// team or workload filter leaves them out; a node filter keeps the node's unallocated cost.
struct CostFilter {
  std::optional<std::string> namespace_name;
  std::optional<std::string> team;
  std::optional<std::string> node;       // "" = GPUs on unknown nodes
  std::optional<model::WorkloadKey> workload;
};

// Micro-USD sums, exact: cost = used + idle + unallocated.
struct CostTotals {
  std::int64_t cost_micro_usd = 0;
  std::int64_t used_micro_usd = 0;
  std::int64_t idle_micro_usd = 0;
  std::int64_t unallocated_micro_usd = 0;
  double gpu_hours = 0;                  // GPU-equivalents x hours (unpriced GPUs included, at $0)
};

struct WorkloadCostTotal {
  model::WorkloadKey key;
  std::string team;                      // the team of its latest hour in the range
  CostTotals totals;                     // unallocated is 0
};
struct NodeCostTotal {
  std::string node;                      // "" = GPUs on unknown nodes
  CostTotals totals;
};
struct TeamCostTotal {
  std::string team;
  CostTotals totals;                     // unallocated is 0
};

// Costs of the hours whose start lies in [start, end) (hours are taken whole).
struct CostHistory {
  int hours = 0;                         // hours in the range the store holds (whatever the filter)
  std::int64_t covered_s = 0;            // seconds of those hours the owning runs covered (hours x 3600 = no gap)
  std::int64_t first_hour_unix_s = 0, last_hour_unix_s = 0;  // 0 when hours == 0
  CostTotals total;                      // every row passing the filter
  std::vector<WorkloadCostTotal> workloads;  // by key
  std::vector<NodeCostTotal> nodes;          // by name
  std::vector<TeamCostTotal> teams;          // by name
};

// A workload's usage over the hours whose start lies in [start, end): the hourly sketches merged, per signal.
// Merging is exact (same buckets as one sketch of all the samples), so quantiles keep the sketch's 1% bound.
struct UsageHistory {
  std::array<model::UsageSketch, model::kUsageSignalCount> signals;  // by model::UsageSignal; empty = no samples
  std::array<int, model::kUsageSignalCount> hours{};                 // hours with samples, per signal
};

struct RunRecord {
  std::int64_t id = 0;
  std::int64_t created_unix_s = 0;
  std::int64_t window_start_unix_s = 0, window_end_unix_s = 0;
  std::int64_t interval_s = 0;
  std::string sources;
  std::string gpuwise_version;
  int hours_owned = 0;                   // hours whose rows still come from this run
};

class RollupStore {
 public:
  // Opens (creating when missing, unless read_only) the store at `path`, switches it to WAL, and applies pending
  // schema migrations in one transaction. Errors name the path: InvalidArgument for a file that is not a SQLite
  // database or is another application's database; FailedPrecondition for a schema newer than kSchemaVersion (the
  // file is not written); NotFound for a read-only open of a missing file; Unavailable when locked past the busy
  // timeout; DataLoss for a corrupt file.
  static base::Result<RollupStore> Open(const std::string& path, const StoreOptions& options = {});

  RollupStore(RollupStore&&) noexcept;
  RollupStore& operator=(RollupStore&&) noexcept;
  ~RollupStore();

  // Writes one run: the ledger's interval rows (CostOptions{.interval_rows = true}) and the workloads' interval
  // sketches (SnapshotOptions::interval_sketches) of every hour this run may own (see "one hour, one run"), in one
  // transaction: all of it is committed or none. FailedPrecondition for a live snapshot (its costs are a rate, not
  // spend), a grid other than UTC hours, a ledger without interval rows or a snapshot without interval sketches;
  // Internal when the ledger does not belong to the snapshot.
  base::Result<WriteCounts> WriteRollups(const model::Snapshot& snapshot, const analyze::CostLedger& ledger,
                                         const RunInfo& run);

  // Costs summed per workload, node and team over [start, end), in one consistent read. InvalidArgument when
  // end <= start; OutOfRange if a sum passes 2^63 micro-USD.
  base::Result<CostHistory> ReadCosts(std::int64_t start_unix_s, std::int64_t end_unix_s,
                                      const CostFilter& filter = {}) const;

  // A workload's merged sketches over [start, end). A row whose sketch does not decode or merge is DataLoss naming
  // the row (id, hour, workload, signal).
  base::Result<UsageHistory> ReadUsage(const model::WorkloadKey& workload, std::int64_t start_unix_s,
                                       std::int64_t end_unix_s) const;

  // Every run, oldest first.
  base::Result<std::vector<RunRecord>> ListRuns() const;

  // PRAGMA integrity_check and foreign_key_check: OK, or DataLoss with SQLite's findings.
  base::Status CheckIntegrity() const;

  const std::string& path() const;
  int schema_version() const;

 private:
  struct Impl;
  explicit RollupStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuwise::store
