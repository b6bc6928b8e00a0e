// The rollup store on the sqlite3 C API: schema migrations, the one-transaction write and the reads.
#include "store/rollup_store.h"

#include <sqlite3.h>

#include <cerrno>
#include <filesystem>
#include <iterator>
#include <map>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include "base/time_parse.h"

namespace gpuwise::store {
namespace {

// Ordered migrations: kMigrations[v] takes the schema from version v to v + 1. Append only; never edit a released
// one (a store migrated by it would differ from a store created by the edit).
constexpr const char* kMigrations[] = {
    // 1: runs, the hours each run owns, cost and usage rollups. STRICT: an INTEGER column refuses anything but an
    // integer, so money stays exact.
    R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  created_unix_s INTEGER NOT NULL,
  window_start_unix_s INTEGER NOT NULL,
  window_end_unix_s INTEGER NOT NULL,
  interval_s INTEGER NOT NULL,
  sources TEXT NOT NULL,
  gpuwise_version TEXT NOT NULL
) STRICT;
CREATE TABLE hours (
  interval_start INTEGER PRIMARY KEY,
  covered_s INTEGER NOT NULL CHECK (covered_s > 0 AND covered_s <= 3600),
  run_id INTEGER NOT NULL REFERENCES runs(id)
) STRICT;
CREATE INDEX hours_by_run ON hours(run_id);
CREATE TABLE cost_rollups (
  id INTEGER PRIMARY KEY,
  interval_start INTEGER NOT NULL REFERENCES hours(interval_start),
  node TEXT NOT NULL,
  namespace TEXT NOT NULL,
  workload_kind TEXT NOT NULL,
  workload_name TEXT NOT NULL,
  team TEXT NOT NULL,
  cost_micro_usd INTEGER NOT NULL,
  used_micro_usd INTEGER NOT NULL,
  idle_micro_usd INTEGER NOT NULL,
  gpu_hours REAL NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  UNIQUE (interval_start, node, namespace, workload_kind, workload_name)
) STRICT;
CREATE INDEX cost_rollups_by_workload ON cost_rollups(namespace, workload_kind, workload_name, interval_start);
CREATE TABLE usage_rollups (
  id INTEGER PRIMARY KEY,
  interval_start INTEGER NOT NULL REFERENCES hours(interval_start),
  namespace TEXT NOT NULL,
  workload_kind TEXT NOT NULL,
  workload_name TEXT NOT NULL,
  signal TEXT NOT NULL,
  sketch BLOB NOT NULL,
  sample_count INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  UNIQUE (namespace, workload_kind, workload_name, signal, interval_start)
) STRICT;
CREATE INDEX usage_rollups_by_hour ON usage_rollups(interval_start);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
std::int64_t HourOf(std::int64_t t) { return FloorDiv(t, kRollupSeconds) * kRollupSeconds; }
std::string Hour(std::int64_t t) { return base::FormatTime(t * 1000); }

base::Status NewerSchema(const std::string& path, std::int64_t version) {
  return base::FailedPrecondition("store " + path + ": schema version " + std::to_string(version) +
                                  " is newer than this gpuwise knows (" + std::to_string(kSchemaVersion) +
                                  "); upgrade gpuwise (the file was not changed)");
}

// The status for a failed sqlite3 call. `what` says what gpuwise was doing.
base::Status SqlError(sqlite3* db, int rc, const std::string& path, std::string_view what) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  std::string msg = "store " + path + ": " + std::string(what) + ": " + detail;
  if (sys != 0) msg += " (" + std::generic_category().message(sys) + ")";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return base::InvalidArgument("store " + path + ": not a SQLite database (" + detail + ")");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return base::Unavailable(msg + "; another process is using the store, retry later");
    case SQLITE_CORRUPT:
      return base::DataLoss(msg);
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
      return base::ResourceExhausted(msg);
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return base::PermissionDenied(msg);
    case SQLITE_CANTOPEN:
      if (sys == ENOENT) return base::NotFound(msg);
      if (sys == EACCES || sys == EPERM) return base::PermissionDenied(msg);
      return base::Unavailable(msg);
    case SQLITE_IOERR:
      return base::Unavailable(msg);
    case SQLITE_ERROR:
      if (detail == "integer overflow") return base::Status(base::Code::kOutOfRange, msg);
      break;
    default:
      break;
  }
  return base::Internal(msg);
}

// A prepared statement. Bind errors are kept and reported by the next Step(), so call sites stay short.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path) : db_(db), path_(&path) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  base::Status Prepare(std::string_view sql) {
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) return SqlError(db_, rc, *path_, "preparing a statement");
    return base::Status::Ok();
  }
  void Bind(int i, std::int64_t v) { Keep(sqlite3_bind_int64(stmt_, i, v)); }
  void Bind(int i, double v) { Keep(sqlite3_bind_double(stmt_, i, v)); }
  void Bind(int i, std::string_view v) {
    Keep(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindBlob(int i, std::string_view v) { Keep(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT)); }
  void Bind(int i, const std::optional<std::string>& v) {
    if (v) Bind(i, std::string_view(*v));
    else Keep(sqlite3_bind_null(stmt_, i));
  }

  // true: a row is ready; false: done.
  base::Result<bool> Step(std::string_view what) {
    if (bind_rc_ != SQLITE_OK) return SqlError(db_, bind_rc_, *path_, what);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, rc, *path_, what);
  }
  // Runs a statement that returns no row.
  base::Status Run(std::string_view what) {
    ASSIGN_OR_RETURN(bool row, Step(what));
    (void)row;
    return base::Status::Ok();
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
  }

  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::string_view Blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p != nullptr ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n))
                        : std::string_view();
  }

 private:
  void Keep(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3* db_;
  const std::string* path_;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = SQLITE_OK;
};

struct CostKey {
  std::int64_t hour;
  std::string node, ns, kind, name;
  bool operator<(const CostKey& o) const {
    return std::tie(hour, node, ns, kind, name) < std::tie(o.hour, o.node, o.ns, o.kind, o.name);
  }
};
struct CostSum {
  std::string team;
  std::int64_t cost = 0, used = 0, idle = 0;
  double gpu_hours = 0;
};
struct UsageKey {
  std::int64_t hour;
  std::string ns, kind, name;
  std::size_t signal;
  bool operator<(const UsageKey& o) const {
    return std::tie(hour, ns, kind, name, signal) < std::tie(o.hour, o.ns, o.kind, o.name, o.signal);
  }
};

// Runs one or more statements that return nothing.
base::Status Exec(sqlite3* db, const std::string& path, const std::string& sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg(db) still holds the message
  if (rc != SQLITE_OK) return SqlError(db, rc, path, what);
  return base::Status::Ok();
}

// BEGIN ... COMMIT; rolls back unless committed (an error return, or a crash: then SQLite discards the WAL frames
// that carry no commit record).
class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& path) : db_(db), path_(path) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  // IMMEDIATE takes the write lock at once: a deferred read that later upgrades could fail with SQLITE_BUSY
  // without waiting for the busy timeout.
  base::Status Begin(bool write) {
    RETURN_IF_ERROR(Exec(db_, path_, write ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction"));
    open_ = true;
    return base::Status::Ok();
  }
  base::Status Commit() {
    RETURN_IF_ERROR(Exec(db_, path_, "COMMIT", "committing"));
    open_ = false;
    return base::Status::Ok();
  }

 private:
  sqlite3* db_;
  const std::string& path_;
  bool open_ = false;
};

}  // namespace

struct RollupStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  StoreOptions options;
  int schema_version = 0;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // close_v2 finalises nothing we still hold (every Stmt is scoped) and rolls back an open transaction.
  ~Impl() { sqlite3_close_v2(db); }

  base::Status Error(int rc, std::string_view what) const { return SqlError(db, rc, path, what); }

  base::Status Exec(const std::string& sql, std::string_view what) { return store::Exec(db, path, sql, what); }

  base::Result<std::int64_t> QueryInt(std::string_view sql, std::string_view what) {
    Stmt st(db, path);
    RETURN_IF_ERROR(st.Prepare(sql));
    ASSIGN_OR_RETURN(bool row, st.Step(what));
    return row ? st.Int(0) : std::int64_t{0};
  }
  base::Result<std::string> QueryText(std::string_view sql, std::string_view what) {
    Stmt st(db, path);
    RETURN_IF_ERROR(st.Prepare(sql));
    ASSIGN_OR_RETURN(bool row, st.Step(what));
    return row ? st.Text(0) : std::string();
  }

  base::Status Migrate(std::int64_t version);
};

base::Status RollupStore::Impl::Migrate(std::int64_t version) {
  if (version == kSchemaVersion) return base::Status::Ok();
  Transaction txn(db, path);
  RETURN_IF_ERROR(txn.Begin(true));
  // Another process may have migrated between our first look and the lock.
  ASSIGN_OR_RETURN(version, QueryInt("PRAGMA user_version", "reading the schema version"));
  if (version > kSchemaVersion) {
    return NewerSchema(path, version);
  }
  for (std::int64_t v = version; v < kSchemaVersion; ++v) {
    RETURN_IF_ERROR(Exec(kMigrations[v], "migrating the schema to version " + std::to_string(v + 1)));
  }
  RETURN_IF_ERROR(Exec("PRAGMA application_id = " + std::to_string(kApplicationId), "setting the application id"));
  RETURN_IF_ERROR(Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion), "setting the schema version"));
  return txn.Commit();
}

base::Result<RollupStore> RollupStore::Open(const std::string& path, const StoreOptions& options) {
  if (path.empty()) return base::InvalidArgument("store: empty path");
  auto im = std::make_unique<Impl>();
  im->path = path;
  im->options = options;
  std::error_code ec;
  if (options.read_only && !std::filesystem::exists(path, ec)) {
    return base::NotFound("store " + path + ": no such file (a report run with --store " + path + " creates it)");
  }
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &im->db, flags, nullptr);
  if (rc != SQLITE_OK) return im->Error(rc, "opening");
  sqlite3_extended_result_codes(im->db, 1);
  sqlite3_busy_timeout(im->db, static_cast<int>(options.busy_timeout.count()));
  // Closing the last connection to a WAL database checkpoints it into the main file: not until we know the file
  // is ours (a refused file keeps every byte, its WAL included).
  sqlite3_db_config(im->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);

  // Look before writing anything: a file gpuwise cannot own is refused unchanged.
  ASSIGN_OR_RETURN(std::int64_t version, im->QueryInt("PRAGMA user_version", "reading the schema version"));
  if (version > kSchemaVersion) {
    return NewerSchema(path, version);
  }
  ASSIGN_OR_RETURN(std::int64_t app_id, im->QueryInt("PRAGMA application_id", "reading the application id"));
  ASSIGN_OR_RETURN(std::int64_t objects, im->QueryInt("SELECT count(*) FROM sqlite_schema", "reading the schema"));
  if (app_id != kApplicationId && (version != 0 || objects != 0)) {
    return base::InvalidArgument("store " + path + ": a SQLite database of another application (application_id " +
                                 std::to_string(app_id) + ", " + std::to_string(objects) +
                                 " schema objects); gpuwise writes only into its own store: give a new path");
  }
  if (options.read_only) {
    if (version < kSchemaVersion) {
      return base::FailedPrecondition(
          "store " + path + ": " +
          (version == 0 ? std::string("empty, not a gpuwise store yet")
                        : "schema version " + std::to_string(version) + " is older than " +
                              std::to_string(kSchemaVersion) + "; open it once read-write to migrate"));
    }
  } else {
    sqlite3_db_config(im->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    ASSIGN_OR_RETURN(std::string mode, im->QueryText("PRAGMA journal_mode=WAL", "switching to WAL"));
    if (mode != "wal") {
      return base::FailedPrecondition("store " + path + ": cannot use write-ahead logging (journal mode stays '" +
                                      mode + "'); put the store on a local filesystem");
    }
    RETURN_IF_ERROR(im->Exec("PRAGMA synchronous=FULL", "setting synchronous=FULL"));
    RETURN_IF_ERROR(im->Exec("PRAGMA foreign_keys=ON", "enabling foreign keys"));
    RETURN_IF_ERROR(im->Migrate(version));
  }
  im->schema_version = kSchemaVersion;
  return RollupStore(std::move(im));
}

RollupStore::RollupStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RollupStore::RollupStore(RollupStore&&) noexcept = default;
RollupStore& RollupStore::operator=(RollupStore&&) noexcept = default;
RollupStore::~RollupStore() = default;

const std::string& RollupStore::path() const { return impl_->path; }
int RollupStore::schema_version() const { return impl_->schema_version; }

namespace {

base::Status ValidateWrite(const std::string& path, const model::Snapshot& s, const analyze::CostLedger& ledger,
                           const RunInfo& run) {
  const std::string where = "store " + path + ": ";
  if (run.created_unix_s <= 0) return base::InvalidArgument(where + "run creation time not set");
  if (s.live) {
    return base::FailedPrecondition(where + "a live snapshot's costs are a rate at one moment, not spend over a "
                                            "window; store a report over a window (--window)");
  }
  if (s.interval_s != kRollupSeconds || FloorDiv(s.grid_start_unix_s, kRollupSeconds) * kRollupSeconds !=
                                            s.grid_start_unix_s) {
    return base::FailedPrecondition(where + "rollups are hourly; the snapshot's grid is " +
                                    std::to_string(s.interval_s) + " s intervals from " +
                                    Hour(s.grid_start_unix_s) + " (need 3600 s from a UTC hour)");
  }
  if (s.end_unix_s <= s.start_unix_s) return base::InvalidArgument(where + "the snapshot's window is empty");
  if (ledger.workloads.size() != s.workloads.size() || ledger.nodes.size() != s.nodes.size()) {
    return base::Internal(where + "the cost ledger was not computed from this snapshot");
  }
  if (ledger.interval_rows.empty() && !ledger.rows.empty()) {
    return base::FailedPrecondition(where + "the cost ledger has no interval rows (CostOptions::interval_rows)");
  }
  bool any_samples = false, any_interval = false;
  for (const model::Workload& w : s.workloads) {
    for (const model::UsageSketch& u : w.usage) any_samples |= u.count() > 0;
    any_interval |= !w.interval_usage.empty();
    if (w.key.kind.empty()) return base::Internal(where + "workload " + w.key.str() + " has no kind");
    for (const auto& iv : w.interval_usage) {
      if (iv.first < 0 || iv.first >= s.intervals) {
        return base::Internal(where + "workload " + w.key.str() + " has a sketch for interval " +
                              std::to_string(iv.first) + " outside the snapshot");
      }
    }
  }
  if (any_samples && !any_interval) {
    return base::FailedPrecondition(where +
                                    "the snapshot has no per-interval sketches (SnapshotOptions::interval_sketches)");
  }
  for (const analyze::CostRow& r : ledger.interval_rows) {
    if (r.node < -1 || r.node >= static_cast<int>(s.nodes.size()) || r.workload < -1 ||
        r.workload >= static_cast<int>(s.workloads.size())) {
      return base::Internal(where + "a cost row names a node or workload the snapshot does not have");
    }
  }
  return base::Status::Ok();
}

}  // namespace

base::Result<WriteCounts> RollupStore::WriteRollups(const model::Snapshot& s, const analyze::CostLedger& ledger,
                                                    const RunInfo& run) {
  Impl& im = *impl_;
  if (im.options.read_only) return base::FailedPrecondition("store " + im.path + ": opened read-only");
  RETURN_IF_ERROR(ValidateWrite(im.path, s, ledger, run));

  // The hours of the window and the seconds of each the snapshot covers (the first and last may be partial).
  std::map<std::int64_t, std::int64_t> covered;
  for (int i = 0; i < s.intervals; ++i) {
    const std::int64_t secs = s.IntervalSeconds(i);
    if (secs > 0) covered[s.IntervalStart(i)] = secs;
  }

  // Rows keyed as the store keys them; two ledger rows with one key (two workloads or nodes of one name) add up.
  std::map<CostKey, CostSum> costs;
  for (const analyze::CostRow& r : ledger.interval_rows) {
    CostKey k{HourOf(r.day_start_unix_s), "", "", "", ""};
    if (r.node >= 0) k.node = s.nodes[static_cast<std::size_t>(r.node)].node.name;
    std::string team;
    if (r.workload >= 0) {
      const model::Workload& w = s.workloads[static_cast<std::size_t>(r.workload)];
      k.ns = w.key.namespace_name;
      k.kind = w.key.kind;
      k.name = w.key.name;
      team = w.team;
    }
    CostSum& sum = costs[k];
    if (sum.team.empty()) sum.team = team;
    sum.cost += r.cost;
    sum.used += r.used;
    sum.idle += r.idle;
    sum.gpu_hours += r.gpu_hours;
  }
  std::map<UsageKey, model::UsageSketch> usage;
  for (const model::Workload& w : s.workloads) {
    for (const auto& iv : w.interval_usage) {
      for (std::size_t sig = 0; sig < model::kUsageSignalCount; ++sig) {
        const model::UsageSketch& sk = iv.second[sig];
        if (sk.count() == 0) continue;
        const UsageKey k{s.IntervalStart(iv.first), w.key.namespace_name, w.key.kind, w.key.name, sig};
        auto [it, inserted] = usage.try_emplace(k, sk);
        if (!inserted) {
          const base::Status st = it->second.Merge(sk);
          if (!st.ok()) return st.Annotate("store " + im.path + ": merging the sketches of " + w.key.str());
        }
      }
    }
  }

  Transaction txn(im.db, im.path);
  RETURN_IF_ERROR(txn.Begin(true));
  WriteCounts out;
  {
    Stmt ins(im.db, im.path);
    RETURN_IF_ERROR(ins.Prepare(
        "INSERT INTO runs(created_unix_s, window_start_unix_s, window_end_unix_s, interval_s, sources, "
        "gpuwise_version) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
    ins.Bind(1, run.created_unix_s);
    ins.Bind(2, s.start_unix_s);
    ins.Bind(3, s.end_unix_s);
    ins.Bind(4, s.interval_s);
    std::string sources = run.sources;
    if (sources.empty()) {
      sources = s.telemetry_source;
      if (!s.cluster_source.empty()) sources += (sources.empty() ? "" : "; ") + s.cluster_source;
    }
    ins.Bind(5, std::string_view(sources));
    ins.Bind(6, std::string_view(run.gpuwise_version));
    RETURN_IF_ERROR(ins.Run("recording the run"));
    out.run_id = sqlite3_last_insert_rowid(im.db);
  }

  // Which hours this run takes over.
  std::map<std::int64_t, bool> owns;
  {
    Stmt owner(im.db, im.path), del_cost(im.db, im.path), del_usage(im.db, im.path), own(im.db, im.path);
    RETURN_IF_ERROR(owner.Prepare("SELECT covered_s FROM hours WHERE interval_start = ?1"));
    RETURN_IF_ERROR(del_cost.Prepare("DELETE FROM cost_rollups WHERE interval_start = ?1"));
    RETURN_IF_ERROR(del_usage.Prepare("DELETE FROM usage_rollups WHERE interval_start = ?1"));
    RETURN_IF_ERROR(own.Prepare(
        "INSERT INTO hours(interval_start, covered_s, run_id) VALUES(?1, ?2, ?3) ON CONFLICT(interval_start) "
        "DO UPDATE SET covered_s = excluded.covered_s, run_id = excluded.run_id"));
    for (const auto& [hour, secs] : covered) {
      owner.Reset();
      owner.Bind(1, hour);
      ASSIGN_OR_RETURN(bool held, owner.Step("reading who owns " + Hour(hour)));
      if (held && owner.Int(0) > secs) {
        owns[hour] = false;
        ++out.hours_kept;
        continue;
      }
      owns[hour] = true;
      ++out.hours_written;
      if (held) {
        del_cost.Reset();
        del_cost.Bind(1, hour);
        RETURN_IF_ERROR(del_cost.Run("replacing the cost rows of " + Hour(hour)));
        out.replaced_cost_rows += sqlite3_changes64(im.db);
        del_usage.Reset();
        del_usage.Bind(1, hour);
        RETURN_IF_ERROR(del_usage.Run("replacing the usage rows of " + Hour(hour)));
        out.replaced_usage_rows += sqlite3_changes64(im.db);
      }
      own.Reset();
      own.Bind(1, hour);
      own.Bind(2, secs);
      own.Bind(3, out.run_id);
      RETURN_IF_ERROR(own.Run("recording the owner of " + Hour(hour)));
    }
  }
  auto owned = [&](std::int64_t hour) {
    const auto it = owns.find(hour);
    return it != owns.end() && it->second;
  };

  std::int64_t rows = 0;
  auto row_done = [&] {
    ++rows;
    if (im.options.after_row_for_test) im.options.after_row_for_test(rows);
  };
  {
    // The hour's earlier rows are gone, so the upsert only replaces within this transaction; the unique key is
    // what makes a double count impossible whatever the write path does.
    Stmt ins(im.db, im.path);
    RETURN_IF_ERROR(ins.Prepare(
        "INSERT INTO cost_rollups(interval_start, node, namespace, workload_kind, workload_name, team, "
        "cost_micro_usd, used_micro_usd, idle_micro_usd, gpu_hours, run_id) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT(interval_start, node, namespace, workload_kind, workload_name) DO UPDATE SET "
        "team = excluded.team, cost_micro_usd = excluded.cost_micro_usd, used_micro_usd = excluded.used_micro_usd, "
        "idle_micro_usd = excluded.idle_micro_usd, gpu_hours = excluded.gpu_hours, run_id = excluded.run_id"));
    for (const auto& [k, v] : costs) {
      if (!owned(k.hour)) continue;
      ins.Reset();
      ins.Bind(1, k.hour);
      ins.Bind(2, std::string_view(k.node));
      ins.Bind(3, std::string_view(k.ns));
      ins.Bind(4, std::string_view(k.kind));
      ins.Bind(5, std::string_view(k.name));
      ins.Bind(6, std::string_view(v.team));
      ins.Bind(7, v.cost);
      ins.Bind(8, v.used);
      ins.Bind(9, v.idle);
      ins.Bind(10, v.gpu_hours);
      ins.Bind(11, out.run_id);
      RETURN_IF_ERROR(ins.Run("writing a cost row of " + Hour(k.hour)));
      ++out.cost_rows;
      row_done();
    }
  }
  {
    Stmt ins(im.db, im.path);
    RETURN_IF_ERROR(ins.Prepare(
        "INSERT INTO usage_rollups(interval_start, namespace, workload_kind, workload_name, signal, sketch, "
        "sample_count, run_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(namespace, workload_kind, workload_name, signal, interval_start) DO UPDATE SET "
        "sketch = excluded.sketch, sample_count = excluded.sample_count, run_id = excluded.run_id"));
    for (const auto& [k, sk] : usage) {
      if (!owned(k.hour)) continue;
      ins.Reset();
      ins.Bind(1, k.hour);
      ins.Bind(2, std::string_view(k.ns));
      ins.Bind(3, std::string_view(k.kind));
      ins.Bind(4, std::string_view(k.name));
      ins.Bind(5, model::UsageSignalName(static_cast<model::UsageSignal>(k.signal)));
      const std::string bytes = sk.Serialize();
      ins.BindBlob(6, bytes);
      ins.Bind(7, static_cast<std::int64_t>(sk.count()));
      ins.Bind(8, out.run_id);
      RETURN_IF_ERROR(ins.Run("writing a usage row of " + Hour(k.hour)));
      ++out.usage_rows;
      row_done();
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

namespace {

// The WHERE clause every ReadCosts() query shares: ?1, ?2 the range; ?3..?8 the filters (NULL = any).
constexpr const char* kCostWhere =
    " WHERE interval_start >= ?1 AND interval_start < ?2 AND (?3 IS NULL OR namespace = ?3) AND "
    "(?4 IS NULL OR team = ?4) AND (?5 IS NULL OR node = ?5) AND "
    "(?6 IS NULL OR (namespace = ?6 AND workload_kind = ?7 AND workload_name = ?8))";
// Columns 0..4 of every cost query; unallocated rows are the ones with no workload kind.
constexpr const char* kCostSums =
    "COALESCE(SUM(cost_micro_usd), 0), COALESCE(SUM(used_micro_usd), 0), COALESCE(SUM(idle_micro_usd), 0), "
    "COALESCE(SUM(CASE WHEN workload_kind = '' THEN cost_micro_usd END), 0), TOTAL(gpu_hours)";

void BindCostFilter(Stmt& st, std::int64_t start, std::int64_t end, const CostFilter& f) {
  st.Bind(1, start);
  st.Bind(2, end);
  st.Bind(3, f.namespace_name);
  st.Bind(4, f.team);
  st.Bind(5, f.node);
  st.Bind(6, f.workload ? std::optional<std::string>(f.workload->namespace_name) : std::nullopt);
  st.Bind(7, f.workload ? std::optional<std::string>(f.workload->kind) : std::nullopt);
  st.Bind(8, f.workload ? std::optional<std::string>(f.workload->name) : std::nullopt);
}

CostTotals TotalsAt(const Stmt& st, int col) {
  CostTotals t;
  t.cost_micro_usd = st.Int(col);
  t.used_micro_usd = st.Int(col + 1);
  t.idle_micro_usd = st.Int(col + 2);
  t.unallocated_micro_usd = st.Int(col + 3);
  t.gpu_hours = st.Real(col + 4);
  return t;
}

}  // namespace

base::Result<CostHistory> RollupStore::ReadCosts(std::int64_t start_unix_s, std::int64_t end_unix_s,
                                                 const CostFilter& filter) const {
  Impl& im = *impl_;
  if (end_unix_s <= start_unix_s) {
    return base::InvalidArgument("store " + im.path + ": empty range " + Hour(start_unix_s) + " .. " +
                                 Hour(end_unix_s));
  }
  CostHistory out;
  // One read transaction: the four queries see the same committed state even while a writer commits.
  Transaction txn(im.db, im.path);
  RETURN_IF_ERROR(txn.Begin(false));
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare(
        "SELECT COUNT(*), COALESCE(SUM(covered_s), 0), COALESCE(MIN(interval_start), 0), "
        "COALESCE(MAX(interval_start), 0) FROM hours WHERE interval_start >= ?1 AND interval_start < ?2"));
    st.Bind(1, start_unix_s);
    st.Bind(2, end_unix_s);
    ASSIGN_OR_RETURN(bool row, st.Step("reading the hours"));
    if (row) {
      out.hours = static_cast<int>(st.Int(0));
      out.covered_s = st.Int(1);
      out.first_hour_unix_s = st.Int(2);
      out.last_hour_unix_s = st.Int(3);
    }
  }
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare(std::string("SELECT ") + kCostSums + " FROM cost_rollups" + kCostWhere));
    BindCostFilter(st, start_unix_s, end_unix_s, filter);
    ASSIGN_OR_RETURN(bool row, st.Step("summing costs"));
    if (row) out.total = TotalsAt(st, 0);
  }
  {
    // SQLite takes the bare column `team` from the row that gave MAX(interval_start): the workload's latest team.
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare(std::string("SELECT namespace, workload_kind, workload_name, team, "
                                           "MAX(interval_start), ") +
                               kCostSums + " FROM cost_rollups" + kCostWhere +
                               " AND workload_kind <> '' GROUP BY namespace, workload_kind, workload_name "
                               "ORDER BY namespace, workload_kind, workload_name"));
    BindCostFilter(st, start_unix_s, end_unix_s, filter);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step("summing costs per workload"));
      if (!row) break;
      WorkloadCostTotal w;
      w.key = {st.Text(0), st.Text(1), st.Text(2)};
      w.team = st.Text(3);
      w.totals = TotalsAt(st, 5);
      out.workloads.push_back(std::move(w));
    }
  }
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare(std::string("SELECT node, ") + kCostSums + " FROM cost_rollups" + kCostWhere +
                               " GROUP BY node ORDER BY node"));
    BindCostFilter(st, start_unix_s, end_unix_s, filter);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step("summing costs per node"));
      if (!row) break;
      out.nodes.push_back({st.Text(0), TotalsAt(st, 1)});
    }
  }
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare(std::string("SELECT team, ") + kCostSums + " FROM cost_rollups" + kCostWhere +
                               " AND workload_kind <> '' GROUP BY team ORDER BY team"));
    BindCostFilter(st, start_unix_s, end_unix_s, filter);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step("summing costs per team"));
      if (!row) break;
      out.teams.push_back({st.Text(0), TotalsAt(st, 1)});
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

base::Result<UsageHistory> RollupStore::ReadUsage(const model::WorkloadKey& workload, std::int64_t start_unix_s,
                                                  std::int64_t end_unix_s) const {
  Impl& im = *impl_;
  if (end_unix_s <= start_unix_s) {
    return base::InvalidArgument("store " + im.path + ": empty range " + Hour(start_unix_s) + " .. " +
                                 Hour(end_unix_s));
  }
  Stmt st(im.db, im.path);
  RETURN_IF_ERROR(st.Prepare(
      "SELECT id, interval_start, signal, sketch FROM usage_rollups WHERE namespace = ?1 AND workload_kind = ?2 "
      "AND workload_name = ?3 AND interval_start >= ?4 AND interval_start < ?5 ORDER BY interval_start, signal"));
  st.Bind(1, std::string_view(workload.namespace_name));
  st.Bind(2, std::string_view(workload.kind));
  st.Bind(3, std::string_view(workload.name));
  st.Bind(4, start_unix_s);
  st.Bind(5, end_unix_s);
  UsageHistory out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step("reading usage of " + workload.str()));
    if (!row) break;
    const std::string signal = st.Text(2);
    const std::string which = "store " + im.path + ": usage_rollups row " + std::to_string(st.Int(0)) + " (hour " +
                              Hour(st.Int(1)) + ", workload " + workload.str() + ", signal " + signal + ")";
    std::size_t sig = model::kUsageSignalCount;
    for (std::size_t k = 0; k < model::kUsageSignalCount; ++k) {
      if (model::UsageSignalName(static_cast<model::UsageSignal>(k)) == signal) sig = k;
    }
    if (sig == model::kUsageSignalCount) return base::DataLoss(which + ": unknown signal");
    auto sketch = model::UsageSketch::Deserialize(st.Blob(3));
    if (!sketch.ok()) return base::DataLoss(which + ": " + sketch.status().message());
    if (out.hours[sig] == 0) {
      out.signals[sig] = std::move(sketch).value();
    } else {
      const base::Status merged = out.signals[sig].Merge(*sketch);
      if (!merged.ok()) return base::DataLoss(which + ": cannot merge: " + merged.message());
    }
    ++out.hours[sig];
  }
  return out;
}

base::Result<std::vector<RunRecord>> RollupStore::ListRuns() const {
  Impl& im = *impl_;
  Stmt st(im.db, im.path);
  RETURN_IF_ERROR(st.Prepare(
      "SELECT id, created_unix_s, window_start_unix_s, window_end_unix_s, interval_s, sources, gpuwise_version, "
      "(SELECT COUNT(*) FROM hours WHERE hours.run_id = runs.id) FROM runs ORDER BY id"));
  std::vector<RunRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step("listing runs"));
    if (!row) break;
    RunRecord r;
    r.id = st.Int(0);
    r.created_unix_s = st.Int(1);
    r.window_start_unix_s = st.Int(2);
    r.window_end_unix_s = st.Int(3);
    r.interval_s = st.Int(4);
    r.sources = st.Text(5);
    r.gpuwise_version = st.Text(6);
    r.hours_owned = static_cast<int>(st.Int(7));
    out.push_back(std::move(r));
  }
  return out;
}

base::Status RollupStore::CheckIntegrity() const {
  Impl& im = *impl_;
  std::string findings;
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare("PRAGMA integrity_check"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step("checking integrity"));
      if (!row) break;
      const std::string line = st.Text(0);
      if (line != "ok") findings += (findings.empty() ? "" : "; ") + line;
    }
  }
  {
    Stmt st(im.db, im.path);
    RETURN_IF_ERROR(st.Prepare("PRAGMA foreign_key_check"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step("checking foreign keys"));
      if (!row) break;
      findings += (findings.empty() ? "" : "; ") + ("row " + std::to_string(st.Int(1)) + " of " + st.Text(0) +
                                                    " points to a missing " + st.Text(2));
    }
  }
  if (!findings.empty()) return base::DataLoss("store " + im.path + ": integrity check failed: " + findings);
  return base::Status::Ok();
}

}  // namespace gpuwise::store
