// The price book: what one GPU-hour of a node costs, at a given time, and why. Rules price a node by instance type
// (the instance's hourly price and the share of it that is GPU bill) or by GPU model (per GPU-hour), per capacity type,
// region and zone, each within effective dates; commitments (reserved instances, savings plans) lower the effective
// rate of the GPU-hours they cover. Also the GPU model names across sources and the H100-equivalence table.
// Loaded from YAML or CSV by observe/price_book_load; the format and the built-in defaults: docs/pricing.md.
//
// Money is integer micro-units of the book's currency (micro-dollars for USD), never a double. Rounding: every
// figure is computed exactly (integer rationals) and rounded once, half to even, to a micro-unit. The node's GPU bill
// per hour and its per-GPU-hour rate are each rounded from the exact value, so rate x GPUs may differ from the bill
// by at most GPUs/2 micro-units; that difference is NodePrice::*_remainder_micro, which belongs to the node (the
// report books it with the node's unallocated cost) so that totals equal the bill exactly.
// Worked number: p5.48xlarge at $98.32/h, GPU share 1, 8 GPUs: bill 98,320,000 µ$/h, rate 12,290,000 µ$ per
// GPU-hour, remainder 0. At GPU share 0.9: bill 88,488,000, rate 11,061,000, remainder 0. A $10/h node with 3 GPUs:
// bill 10,000,000, rate 3,333,333, remainder +1.
//
// Errors: Add* return InvalidArgument naming the rule and why (overlapping dates for the same key, a price out of
// range); lookups never fail: a node no rule prices is "unpriced, with the reason" (never a guess).
// Thread-safety: a PriceBook is a value; const methods are safe to call from many threads.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/cluster.h"

namespace gpuwise::model {

inline constexpr std::int64_t kNoStart = std::numeric_limits<std::int64_t>::min();  // effective from forever
inline constexpr std::int64_t kNoEnd = std::numeric_limits<std::int64_t>::max();    // effective until forever
inline constexpr std::int64_t kPpm = 1'000'000;  // shares and discounts are parts per million (6 decimals)

// ---- GPU model names

// One spelling for a GPU model across sources: GFD's nvidia.com/gpu.product ("NVIDIA-H100-80GB-HBM3", with any
// "-SHARED" or "-MIG-<profile>" suffix), dcgm-exporter's modelName ("NVIDIA H100 80GB HBM3"), and short names a
// person writes ("H100", "h100-sxm", "A100 80GB"). The result is "<FAMILY>[ <FORM>][ <MEMORY>]": the family
// upper-cased ("H100", "L40S", "RTX 6000 ADA GENERATION"), the form factor "SXM", "PCIe" or "NVL" when the name
// says (or implies: an H100 with HBM3 is the SXM5 part), and the memory ("80GB") when the name states it. Vendor
// words (NVIDIA, Tesla) and memory technology (HBM3, GDDR6) are dropped. "" for an empty or unreadable name.
// Examples: "NVIDIA-H100-80GB-HBM3" -> "H100 SXM 80GB"; "NVIDIA A100-SXM4-40GB" -> "A100 SXM 40GB";
// "NVIDIA-A100-80GB-PCIe-MIG-1g.10gb" -> "A100 PCIe 80GB"; "Tesla-T4" -> "T4"; "NVIDIA-L4-SHARED" -> "L4".
std::string NormalizeGpuModel(std::string_view name);

// The parts NormalizeGpuModel joins: family ("H100"), form ("SXM", "PCIe", "NVL" or ""), memory ("80GB" or "").
// All empty for an unreadable name.
struct GpuModelParts {
  std::string family, form, memory;
  bool operator==(const GpuModelParts&) const = default;
};
GpuModelParts ParseGpuModel(std::string_view name);

// Whether a rule's (or table entry's) GPU model covers a node's: same family, and every form or memory the
// pattern states is the node's. "A100" covers "A100 SXM 80GB"; "A100 80GB" does not cover "A100 SXM 40GB".
// Both arguments are normalised here. Specificity: how many of form and memory the pattern states (0..2).
bool GpuModelCovers(std::string_view pattern, std::string_view model);
int GpuModelSpecificity(std::string_view pattern);

// ---- rules

enum class PriceRuleKind { kInstanceType, kGpuModel, kDefault };
std::string_view PriceRuleKindName(PriceRuleKind k);  // "instance", "gpu-model", "default"

// The capacity type a rule applies to. kOnDemand also prices nodes whose labels do not say how they are bought
// (CapacityType::kUnknown: the list price, stated in the NodePrice notes) and reserved nodes when no kReserved rule
// does (capacity reservations bill at on-demand rates; commitments then lower them).
enum class PriceCapacity { kAny, kOnDemand, kSpot, kReserved };
std::string_view PriceCapacityName(PriceCapacity c);  // "any", "on-demand", "spot", "reserved"
// "any", "on-demand", "spot", "reserved" (ASCII case-insensitive); false for anything else.
bool ParsePriceCapacity(std::string_view text, PriceCapacity* out);

struct PriceRule {
  PriceRuleKind kind = PriceRuleKind::kInstanceType;
  std::string instance_type;   // kInstanceType: node.kubernetes.io/instance-type, compared ASCII case-insensitively
  std::string gpu_model;       // kGpuModel: the model priced (normalised on Add). kInstanceType: optional, the GPU
                               // the instance has (used for H100-equivalents by price and in docs)
  int gpus = 0;                // kInstanceType: optional GPUs per instance, used when the node has no GPU count
  PriceCapacity capacity = PriceCapacity::kAny;
  std::string region, zone;    // "" = any; compared ASCII case-insensitively
  // kInstanceType: the instance's price per hour (the whole node). kGpuModel and kDefault: per GPU-hour.
  std::int64_t price_micro = 0;
  std::int64_t gpu_share_ppm = kPpm;  // kInstanceType: the share of the node price that is GPU bill (default: all
                                      // of it; the CPU and memory of a GPU node belong to the GPU bill)
  std::int64_t from_unix_s = kNoStart;  // effective [from, to)
  std::int64_t to_unix_s = kNoEnd;
  std::string source;          // where it was read ("prices.yaml line 12"), for explain and errors

  // "instance p5.48xlarge on-demand region us-east-1", "gpu-model H100 spot", "book default"; dates when set.
  std::string Describe() const;
  bool InEffect(std::int64_t t) const { return from_unix_s <= t && t < to_unix_s; }
};

// ---- commitments

enum class CommitmentKind { kReserved, kSavingsPlan };
std::string_view CommitmentKindName(CommitmentKind k);  // "reserved", "savings-plan"

// A reserved instance or savings plan: lowers the rate of the GPU-hours it covers. Applies to nodes that are not
// spot, matching its target (an instance type, or a GPU model as GpuModelCovers) and region, while in effect.
// Coverage is either the first `coverage_gpus` GPUs of the matching nodes (nodes in name order, within the fleet
// priced together) or a share of every matching GPU-hour. Several commitments apply in the order the book lists
// them; each covers only GPU-hours no earlier one covered. The covered rate is either the rule's rate less
// `discount_ppm`, or `rate_micro`: per node-hour for an instance-type target (its GPU part taken at the GPU share of
// the rule that priced the node), per GPU-hour for a GPU-model target.
struct Commitment {
  std::string name;
  CommitmentKind kind = CommitmentKind::kReserved;
  std::string instance_type;  // exactly one of instance_type and gpu_model is set
  std::string gpu_model;
  std::string region;         // "" = any
  std::int64_t discount_ppm = -1;  // 0..1e6 off the rule's rate, or -1 when rate_micro is set
  std::int64_t rate_micro = -1;    // explicit effective rate, or -1
  std::int64_t coverage_gpus = -1;      // the first N GPUs, or -1 when coverage_share_ppm is used
  std::int64_t coverage_share_ppm = kPpm;  // a share of every matching GPU-hour (default: all of them)
  std::int64_t from_unix_s = kNoStart;
  std::int64_t to_unix_s = kNoEnd;
  std::string source;

  std::string Describe() const;  // "reserved 'p5-ri' (instance p5.48xlarge, first 16 GPUs, 40% off)"
  bool InEffect(std::int64_t t) const { return from_unix_s <= t && t < to_unix_s; }
};

// ---- lookups

// What one node's GPUs cost per hour at one time.
struct NodePrice {
  std::string unpriced_reason;  // non-empty: no rule prices the node (every figure below is then 0)
  bool priced() const { return unpriced_reason.empty(); }
  std::string currency;         // the book's ("USD")
  int gpus = 0;                 // GPUs the node's GPU bill is spread over (node gpu_count, else the rule's gpus)
  // Per GPU-hour, micro-units, rounded half to even. List: the on-demand rate card (for a spot or reserved node,
  // the rule that would price it on demand, when the book has one). Effective: what is paid (spot rate, after
  // commitments).
  std::int64_t list_micro_per_gpu_hour = 0;
  std::int64_t effective_micro_per_gpu_hour = 0;
  // The node's whole GPU bill per hour (price x GPU share for an instance rule; rate x GPUs for a GPU-model rule).
  std::int64_t list_bill_micro_per_hour = 0;
  std::int64_t effective_bill_micro_per_hour = 0;
  // bill - rate x gpus: the rounding remainder, |remainder| <= gpus / 2. Booked on the node, so totals are exact.
  std::int64_t list_remainder_micro() const { return list_bill_micro_per_hour - list_micro_per_gpu_hour * gpus; }
  std::int64_t effective_remainder_micro() const {
    return effective_bill_micro_per_hour - effective_micro_per_gpu_hour * gpus;
  }
  std::string rule;       // the rule that set the rate, with its source ("instance p5.48xlarge on-demand (…)")
  std::string list_rule;  // the rule behind the list price (equal to `rule` unless the node is spot or reserved)
  std::vector<std::string> notes;  // assumptions and commitments applied, for explain
};

// A stretch of time over which no rule or commitment starts or ends: one price per node.
struct PriceSpan {
  std::int64_t from_unix_s = 0, to_unix_s = 0;
  std::vector<NodePrice> prices;  // parallel to the fleet passed in
};

// ---- the H100-equivalence table

// Dense (no sparsity) BF16 tensor TFLOPS of one GPU model, from NVIDIA's datasheets (source in price_book.cc).
struct GpuSpec {
  std::string_view model;      // a pattern, as GpuModelCovers ("H100 PCIe", "A100")
  double bf16_dense_tflops = 0;
  std::string_view note;       // where the figure is from, and any caveat (T4 and V100 have no BF16: FP16 figure)
};
const std::vector<GpuSpec>& GpuSpecTable();
// The most specific table entry covering `model` (normalised here), or nullptr.
const GpuSpec* FindGpuSpec(std::string_view model);
inline constexpr std::string_view kH100Reference = "H100 SXM 80GB";  // 1 H100-equivalent GPU-hour

enum class EquivalenceMethod { kPrice, kTflops };
std::string_view EquivalenceMethodName(EquivalenceMethod m);  // "price", "tflops"

struct H100Equivalence {
  double factor = 0;            // H100-equivalent GPU-hours per GPU-hour of the model; 0 when unknown
  std::string basis;            // "tflops 312 / 989", "price 2.500000 / 4.000000 USD per GPU-hour (rules …)"
  std::string unknown_reason;   // non-empty when the factor is unknown
  bool known() const { return unknown_reason.empty(); }
};

struct H100EquivalenceRow {
  std::string model;                   // the table's pattern
  double bf16_dense_tflops = 0;
  std::string tflops_note;
  H100Equivalence by_tflops, by_price;
  std::int64_t list_micro_per_gpu_hour = -1;  // the book's on-demand per-GPU price for the model; -1 unknown
};

// ---- the book

class PriceBook {
 public:
  PriceBook() = default;

  // ISO 4217 form: three letters A-Z ("USD", "EUR"). Default "USD".
  base::Status SetCurrency(std::string_view code);
  const std::string& currency() const { return currency_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& name() const { return name_; }

  // Validates (prices 0..$100,000 per hour, shares and discounts in range, from < to, the fields a kind needs) and
  // rejects a rule whose key (kind, instance type or normalised GPU model, capacity, region, zone) and effective
  // dates overlap an existing rule's: the error names both rules (so one book default per capacity type,
  // location and date range).
  base::Status AddRule(PriceRule rule);
  base::Status AddCommitment(Commitment commitment);
  const std::vector<PriceRule>& rules() const { return rules_; }
  const std::vector<Commitment>& commitments() const { return commitments_; }

  // Precedence (the most specific rule in effect wins; ties go to the rule listed first):
  //   1. kind: instance type > GPU model > book default;
  //   2. capacity type: the node's own > on-demand standing in for unknown or reserved > any;
  //   3. location: zone > region > any;
  //   4. for GPU-model rules: the more of form factor and memory the rule's model states.
  // So: instance type + capacity + region > instance type > GPU model + capacity > GPU model > default.
  // The node's GPU model is NormalizeGpuModel(node.gpu_product). Count-based commitment coverage counts this node
  // alone; price a fleet with PriceNodes.
  NodePrice PriceNode(const Node& node, std::int64_t at_unix_s) const;
  // Prices every node at one time; count-based commitments cover the first GPUs of matching nodes in name order.
  std::vector<NodePrice> PriceNodes(const std::vector<Node>& fleet, std::int64_t at_unix_s) const;
  // Times in (start, end) where a rule or commitment starts or ends, sorted: a window is priced in pieces.
  std::vector<std::int64_t> ChangePoints(std::int64_t start_unix_s, std::int64_t end_unix_s) const;
  // [start, end) cut at ChangePoints, each piece priced (a price change mid-window splits the window).
  std::vector<PriceSpan> PriceWindow(const std::vector<Node>& fleet, std::int64_t start_unix_s,
                                     std::int64_t end_unix_s) const;

  // The book's on-demand list price of one GPU-hour of `model` (no region, no instance): the best GPU-model rule
  // covering it, else the first instance rule that names a GPU model covering it (its per-GPU list price).
  // -1 when the book has neither; `rule` (optional) receives the rule's description.
  std::int64_t ListPricePerGpuHour(std::string_view model, std::int64_t at_unix_s, std::string* rule = nullptr) const;

  // H100-equivalent GPU-hours per GPU-hour of `model`: by price, the model's list price over the reference H100's
  // (kH100Reference) from this book; by TFLOPS, dense BF16 TFLOPS over the H100 SXM's 989.
  H100Equivalence H100Equivalent(std::string_view model, EquivalenceMethod method, std::int64_t at_unix_s) const;
  // One row per GpuSpecTable() entry, both methods: the table `gpuwise` prints.
  std::vector<H100EquivalenceRow> H100EquivalenceTable(std::int64_t at_unix_s) const;

 private:
  std::string currency_ = "USD";
  std::string name_;
  std::vector<PriceRule> rules_;
  std::vector<GpuModelParts> rule_models_;  // parallel to rules_: each rule's GPU model, parsed once
  std::vector<Commitment> commitments_;
  std::vector<GpuModelParts> commitment_models_;  // parallel to commitments_

  std::vector<NodePrice> PriceFleet(const std::vector<const Node*>& fleet, std::int64_t at_unix_s) const;
};

// "12.290000 USD" style formatting of micro-units, exact (for notes and explain).
std::string FormatMicro(std::int64_t micro, std::string_view currency);

}  // namespace gpuwise::model
