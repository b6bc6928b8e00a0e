// Showback and chargeback: the cost ledger grouped by team, namespace, workload, or any pod label or annotation, per
// UTC day or over the whole window; and the same money as FOCUS 1.0 cost-and-usage rows (docs/focus.md has the column
// table, the spec reference and every choice made here). Plain structs: cli/focus_csv renders CSV, JSON and FOCUS CSV.
//
// Money is integer micro-USD and re-adds exactly: the chargeback rows of a window sum to the ledger's gpu_cost (or to
// its allocated cost when unallocated capacity is left out), the FOCUS rows' EffectiveCost sums to gpu_cost.
// Worked number (proportional mode): a day with team a $6.00 allocated, team b $3.00, and $1.00 unallocated gives
// a $6.666667 (6,666,667 micro: largest remainder) and b $3.333333, together $10.00.
// Pure: snapshot and ledger in, rows out; no clock, no I/O. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/cost.h"
#include "base/status.h"
#include "model/snapshot.h"

namespace gpuwise::analyze {

// ---- showback / chargeback

enum class ChargebackDimension { kTeam, kNamespace, kWorkload, kLabel, kAnnotation };

// What happens to capacity no pod held (the ledger's unallocated bucket).
enum class UnallocatedMode {
  kSeparate,      // its own row, key "(unallocated)" (the default: nobody is billed for what nobody held)
  kProportional,  // spread over the period's keys in proportion to their allocated cost (largest remainder); a
                  // period with no allocated cost keeps it as an "(unallocated)" row
};
std::string_view UnallocatedModeName(UnallocatedMode m);  // "separate", "proportional"

inline constexpr std::string_view kUnallocatedKey = "(unallocated)";
inline constexpr std::string_view kNoneKey = "(none)";  // the workload has no team / no such label or annotation

struct ChargebackOptions {
  ChargebackDimension dimension = ChargebackDimension::kTeam;
  std::string key;                // the label or annotation key, for kLabel / kAnnotation
  bool by_day = true;             // one row per key and UTC day; false: one row per key over the window
  bool include_unallocated = true;
  UnallocatedMode unallocated = UnallocatedMode::kSeparate;
};

// "team", "namespace", "workload", "label:<key>", "annotation:<key>": sets options.dimension and options.key.
base::Status ParseChargebackDimension(std::string_view text, ChargebackOptions& options);
// "separate" | "proportional".
base::Result<UnallocatedMode> ParseUnallocatedMode(std::string_view text);

struct ChargebackRow {
  std::string key;                // team, namespace, "ns/Kind/name", label or annotation value, "(none)"
  bool unallocated_row = false;   // the "(unallocated)" row (kept apart from a key that happens to read the same)
  std::int64_t period_start_unix_s = 0, period_end_unix_s = 0;  // the UTC day clipped to the window, or the window
  std::int64_t cost = 0;          // micro-USD: used + idle + unallocated
  std::int64_t used = 0, idle = 0;
  std::int64_t unallocated = 0;   // the unallocated row's cost, or this key's proportional share of it
  double gpu_hours = 0;           // held GPU-hours (plus the proportional share of unheld ones); unpriced nodes count
  int workloads = 0;              // distinct workloads with a ledger row in the period
};

// The key workload `w` (Snapshot::workloads index) falls under. A label or annotation is read from the workload's
// pods: the value most of its pods carry (ties: the smaller value), "(none)" when no pod has it.
std::string ChargebackKey(const model::Snapshot& snapshot, int w, const ChargebackOptions& options);

// Sorted by period, then cost (largest first), then key; the "(unallocated)" row last in its period.
std::vector<ChargebackRow> Chargeback(const model::Snapshot& snapshot, const CostLedger& ledger,
                                      const ChargebackOptions& options);

// ---- FOCUS 1.0

struct FocusOptions {
  // Who is who (FOCUS appendix "Origination of cost data", scenario 5.x: an internal offering names itself).
  std::string provider_name = "gpuwise";
  std::string publisher_name = "gpuwise";
  std::string invoice_issuer_name = "gpuwise";
  std::string billing_account_id = "kubernetes";  // set it to the cluster's name
  std::string billing_account_name;               // "" = billing_account_id
  std::string currency = "USD";                   // ISO 4217; the price book's currency (amounts are micro-units)
  std::string service_name = "Kubernetes GPU";
  std::string service_category = "Compute";       // one of the spec's values ("AI and Machine Learning", ...)
  // Both 0: each row's billing period is the UTC calendar month its charge period starts in. Otherwise [start, end)
  // for every row, and it must contain every charge period.
  std::int64_t billing_period_start_unix_s = 0, billing_period_end_unix_s = 0;
};

enum class FocusBucket { kUsed, kIdle, kUnallocated };
std::string_view FocusBucketName(FocusBucket b);  // "used", "idle", "unallocated"

// One charge: one bucket of one ledger row (UTC day x node x workload or nobody). Amounts are micro-units of the
// billing currency; quantities are micro-GPU-hours; times are Unix seconds, UTC. std::nullopt = FOCUS null.
struct FocusRow {
  std::int64_t charge_period_start_unix_s = 0, charge_period_end_unix_s = 0;
  std::int64_t billing_period_start_unix_s = 0, billing_period_end_unix_s = 0;
  std::string billing_account_id;
  std::optional<std::string> billing_account_name;
  std::string billing_currency;
  std::int64_t billed_cost = 0, effective_cost = 0, list_cost = 0, contracted_cost = 0;
  std::int64_t list_unit_price = 0, contracted_unit_price = 0;  // per GPU-hour
  std::int64_t pricing_quantity = 0, consumed_quantity = 0;     // micro-GPU-hours
  std::string pricing_unit, consumed_unit;                      // "GPU-Hours"
  std::string pricing_category;                                 // Standard | Dynamic | Other
  std::string charge_category = "Usage";
  std::string charge_frequency = "Usage-Based";
  std::string charge_description;
  std::string provider_name, publisher_name, invoice_issuer_name, service_name, service_category;
  std::optional<std::string> resource_id, resource_name, resource_type;
  std::optional<std::string> region_id, region_name, availability_zone;
  std::optional<std::string> sku_id;
  std::optional<std::string> sub_account_id, sub_account_name;  // the namespace; null for unallocated capacity
  std::map<std::string, std::string> tags;                      // Key-Value Format: string values only
  // gpuwise's own references (not FOCUS columns).
  int node = -1, workload = -1;
  FocusBucket bucket = FocusBucket::kUsed;
};

// Provider-defined tag keys (the spec requires a provider prefix on them).
inline constexpr std::string_view kTagPrefix = "gpuwise.io/";

// One row per non-zero bucket of every ledger row on a priced node (used and idle for a workload, unallocated for
// nobody); nodes without a price carry no money and are left out (the ledger counts their GPU-hours as unpriced).
// Errors: an option a FOCUS reader would reject (currency not three letters, a service category outside the spec's
// list, an empty name, a billing period that is empty or does not contain a charge period), naming the option.
base::Result<std::vector<FocusRow>> FocusRows(const model::Snapshot& snapshot, const CostLedger& ledger,
                                              const FocusOptions& options = {});

// ---- helpers shared with the renderers

// Exact decimal text of micro-units: 4000000 -> "4", 1500000 -> "1.5", -1 -> "-0.000001". No binary floating point.
std::string FormatMicro(std::int64_t micro);
// round(value x num / den), halves away from zero, without overflow (128-bit intermediate); den > 0.
std::int64_t MulDivRound(std::int64_t value, std::int64_t num, std::int64_t den);
// UTC calendar month containing t: [start, end).
std::int64_t MonthStartUtc(std::int64_t unix_s);
std::int64_t NextMonthStartUtc(std::int64_t unix_s);
// The end of the window the ledger costs: end_unix_s, or start + one interval for a live snapshot.
std::int64_t WindowEnd(const model::Snapshot& snapshot);

}  // namespace gpuwise::analyze
