#include "analyze/focus.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <set>
#include <tuple>

#include "base/time_parse.h"

namespace gpuwise::analyze {

namespace {

constexpr std::int64_t kDay = 86400;
__extension__ typedef __int128 Int128;  // value x price stays exact before the division

// The spec's ServiceCategory values (FOCUS 1.0, columns/servicecategory.md).
constexpr std::array<std::string_view, 19> kServiceCategories = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration",
    "Mobile", "Networking", "Security", "Storage", "Web", "Other"};

bool Blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

std::string Utc(std::int64_t t) { return base::FormatTime(t * 1000); }

// The value most of the workload's pods carry under `key` in `which` (labels or annotations); ties: the smaller.
std::string MajorityValue(const model::Snapshot& s, const model::Workload& w, const std::string& key, bool labels) {
  std::map<std::string, int> votes;
  for (int p : w.pods) {
    if (p < 0 || static_cast<std::size_t>(p) >= s.pods.size()) continue;
    const model::Pod& pod = s.pods[static_cast<std::size_t>(p)];
    const model::Labels& m = labels ? pod.labels : pod.annotations;
    if (auto it = m.find(key); it != m.end()) ++votes[it->second];
  }
  std::string best(kNoneKey);
  int best_n = 0;
  for (const auto& [value, n] : votes) {  // map order: the first of equal counts is the smaller value
    if (n > best_n) {
      best = value;
      best_n = n;
    }
  }
  return best;
}

}  // namespace

std::string_view UnallocatedModeName(UnallocatedMode m) {
  return m == UnallocatedMode::kProportional ? "proportional" : "separate";
}

std::string_view FocusBucketName(FocusBucket b) {
  switch (b) {
    case FocusBucket::kUsed: return "used";
    case FocusBucket::kIdle: return "idle";
    case FocusBucket::kUnallocated: return "unallocated";
  }
  return "used";
}

base::Status ParseChargebackDimension(std::string_view text, ChargebackOptions& options) {
  auto keyed = [&](std::string_view prefix, ChargebackDimension d) -> base::Status {
    std::string_view key = text.substr(prefix.size());
    if (key.empty() || Blank(key)) {
      return base::InvalidArgument("chargeback dimension '" + std::string(text) + "' names no key (write " +
                                   std::string(prefix) + "<key>, e.g. " + std::string(prefix) + "app.kubernetes.io/part-of)");
    }
    options.dimension = d;
    options.key = std::string(key);
    return base::Status::Ok();
  };
  if (text == "team") options.dimension = ChargebackDimension::kTeam;
  else if (text == "namespace") options.dimension = ChargebackDimension::kNamespace;
  else if (text == "workload") options.dimension = ChargebackDimension::kWorkload;
  else if (text.rfind("label:", 0) == 0) return keyed("label:", ChargebackDimension::kLabel);
  else if (text.rfind("annotation:", 0) == 0) return keyed("annotation:", ChargebackDimension::kAnnotation);
  else {
    return base::InvalidArgument("unknown chargeback dimension '" + std::string(text) +
                                 "' (want team, namespace, workload, label:<key> or annotation:<key>)");
  }
  options.key.clear();
  return base::Status::Ok();
}

base::Result<UnallocatedMode> ParseUnallocatedMode(std::string_view text) {
  if (text == "separate") return UnallocatedMode::kSeparate;
  if (text == "proportional") return UnallocatedMode::kProportional;
  return base::InvalidArgument("unknown unallocated mode '" + std::string(text) + "' (want separate or proportional)");
}

std::string ChargebackKey(const model::Snapshot& s, int w, const ChargebackOptions& options) {
  if (w < 0 || static_cast<std::size_t>(w) >= s.workloads.size()) return std::string(kNoneKey);
  const model::Workload& wl = s.workloads[static_cast<std::size_t>(w)];
  switch (options.dimension) {
    case ChargebackDimension::kTeam: return wl.team.empty() ? std::string(kNoneKey) : wl.team;
    case ChargebackDimension::kNamespace: return wl.key.namespace_name;
    case ChargebackDimension::kWorkload: return wl.key.str();
    case ChargebackDimension::kLabel: return MajorityValue(s, wl, options.key, true);
    case ChargebackDimension::kAnnotation: return MajorityValue(s, wl, options.key, false);
  }
  return std::string(kNoneKey);
}

std::int64_t WindowEnd(const model::Snapshot& s) {
  return s.live ? s.start_unix_s + s.interval_s : s.end_unix_s;
}

std::vector<ChargebackRow> Chargeback(const model::Snapshot& s, const CostLedger& ledger,
                                      const ChargebackOptions& options) {
  const std::int64_t ws = s.start_unix_s, we = WindowEnd(s);
  std::vector<std::string> keys(s.workloads.size());
  for (std::size_t w = 0; w < keys.size(); ++w) keys[w] = ChargebackKey(s, static_cast<int>(w), options);

  struct Acc {
    ChargebackRow row;
    std::set<int> workloads;
  };
  struct Period {
    std::map<std::string, Acc> keys;
    std::int64_t unallocated = 0;
    double unallocated_gpu_hours = 0;
    bool has_unallocated = false;
  };
  std::map<std::int64_t, Period> periods;  // by day, or one period keyed by the window start
  for (const CostRow& r : ledger.rows) {
    Period& p = periods[options.by_day ? r.day_start_unix_s : ws];
    if (r.workload < 0 || static_cast<std::size_t>(r.workload) >= keys.size()) {
      if (!options.include_unallocated) continue;
      p.unallocated += r.cost;
      p.unallocated_gpu_hours += r.gpu_hours;
      p.has_unallocated = true;
      continue;
    }
    Acc& a = p.keys[keys[static_cast<std::size_t>(r.workload)]];
    a.row.used += r.used;
    a.row.idle += r.idle;
    a.row.gpu_hours += r.gpu_hours;
    a.workloads.insert(r.workload);
  }

  std::vector<ChargebackRow> out;
  for (auto& [start, p] : periods) {
    const std::int64_t from = options.by_day ? std::max(start, ws) : ws;
    const std::int64_t to = options.by_day && !s.live ? std::min(start + kDay, we) : we;
    std::vector<ChargebackRow> rows;
    for (auto& [key, a] : p.keys) {
      a.row.key = key;
      a.row.workloads = static_cast<int>(a.workloads.size());
      rows.push_back(a.row);
    }
    bool separate = p.has_unallocated;
    if (p.has_unallocated && options.unallocated == UnallocatedMode::kProportional) {
      std::vector<double> weights;
      double total = 0;
      for (const ChargebackRow& r : rows) {
        weights.push_back(static_cast<double>(r.used + r.idle));
        total += weights.back();
      }
      if (total > 0) {
        const std::vector<std::int64_t> parts = SplitExact(p.unallocated, weights);
        for (std::size_t k = 0; k < rows.size(); ++k) {
          rows[k].unallocated = parts[k];
          rows[k].gpu_hours += p.unallocated_gpu_hours * weights[k] / total;
        }
        separate = false;
      }
    }
    if (separate) {
      ChargebackRow u;
      u.key = std::string(kUnallocatedKey);
      u.unallocated_row = true;
      u.unallocated = p.unallocated;
      u.gpu_hours = p.unallocated_gpu_hours;
      rows.push_back(u);
    }
    for (ChargebackRow& r : rows) {
      r.cost = r.used + r.idle + r.unallocated;
      r.period_start_unix_s = from;
      r.period_end_unix_s = to;
    }
    std::sort(rows.begin(), rows.end(), [](const ChargebackRow& a, const ChargebackRow& b) {
      return std::make_tuple(a.unallocated_row, -a.cost, a.key) < std::make_tuple(b.unallocated_row, -b.cost, b.key);
    });
    out.insert(out.end(), rows.begin(), rows.end());
  }
  return out;
}

// ---- FOCUS

std::string FormatMicro(std::int64_t micro) {
  // Magnitude as unsigned so that INT64_MIN has one too.
  const bool negative = micro < 0;
  const std::uint64_t mag = negative ? static_cast<std::uint64_t>(-(micro + 1)) + 1 : static_cast<std::uint64_t>(micro);
  std::string out = (negative ? "-" : "") + std::to_string(mag / 1'000'000);
  std::uint64_t frac = mag % 1'000'000;
  if (frac == 0) return out;
  std::string digits = std::to_string(frac);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

std::int64_t MulDivRound(std::int64_t value, std::int64_t num, std::int64_t den) {
  CHECK(den > 0) << "MulDivRound: denominator " << den;
  const Int128 p = static_cast<Int128>(value) * num;
  const Int128 half = den / 2;
  const Int128 q = p >= 0 ? (p + half) / den : -((-p + half) / den);
  return static_cast<std::int64_t>(q);
}

std::int64_t MonthStartUtc(std::int64_t unix_s) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_seconds{seconds{unix_s}})};
  return sys_seconds{sys_days{ymd.year() / ymd.month() / 1}}.time_since_epoch().count();
}

std::int64_t NextMonthStartUtc(std::int64_t unix_s) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_seconds{seconds{unix_s}})};
  const year_month next = year_month{ymd.year(), ymd.month()} + months{1};
  return sys_seconds{sys_days{next / 1}}.time_since_epoch().count();
}

namespace {

base::Status Validate(const FocusOptions& o) {
  const std::pair<std::string_view, const std::string*> names[] = {
      {"provider name", &o.provider_name},       {"publisher name", &o.publisher_name},
      {"invoice issuer name", &o.invoice_issuer_name}, {"billing account id", &o.billing_account_id},
      {"service name", &o.service_name}};
  for (const auto& n : names) {
    if (Blank(*n.second)) return base::InvalidArgument("FOCUS export: the " + std::string(n.first) + " is empty");
  }
  const bool iso = o.currency.size() == 3 &&
                   std::all_of(o.currency.begin(), o.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!iso) {
    return base::InvalidArgument("FOCUS export: currency '" + o.currency +
                                 "' is not an ISO 4217 code (three capital letters, e.g. USD)");
  }
  if (std::find(kServiceCategories.begin(), kServiceCategories.end(), o.service_category) == kServiceCategories.end()) {
    return base::InvalidArgument("FOCUS export: service category '" + o.service_category +
                                 "' is not one of FOCUS 1.0's (e.g. Compute, AI and Machine Learning)");
  }
  const bool given = o.billing_period_start_unix_s != 0 || o.billing_period_end_unix_s != 0;
  if (given && o.billing_period_end_unix_s <= o.billing_period_start_unix_s) {
    return base::InvalidArgument("FOCUS export: the billing period " + Utc(o.billing_period_start_unix_s) + " .. " +
                                 Utc(o.billing_period_end_unix_s) + " is empty (end <= start)");
  }
  return base::Status::Ok();
}

// Labels every pod of the workload carries with the same value: the workload's finalized user-defined tags.
// gpuwise.io/ keys are gpuwise's own contract; their resolved values come as provider-defined tags instead.
std::map<std::string, std::string> CommonLabels(const model::Snapshot& s, const model::Workload& w) {
  std::map<std::string, std::string> out;
  bool first = true;
  for (int p : w.pods) {
    if (p < 0 || static_cast<std::size_t>(p) >= s.pods.size()) continue;
    const model::Labels& l = s.pods[static_cast<std::size_t>(p)].labels;
    if (first) {
      out = std::map<std::string, std::string>(l.begin(), l.end());
      first = false;
      continue;
    }
    for (auto it = out.begin(); it != out.end();) {
      auto f = l.find(it->first);
      it = (f == l.end() || f->second != it->second) ? out.erase(it) : std::next(it);
    }
  }
  for (auto it = out.begin(); it != out.end();) {
    it = it->first.rfind(kTagPrefix, 0) == 0 ? out.erase(it) : std::next(it);
  }
  return out;
}

std::optional<std::string> SkuOf(const model::Snapshot& s, int node) {
  const model::Node& n = s.nodes[static_cast<std::size_t>(node)].node;
  if (!n.instance_type.empty()) return n.instance_type;
  if (!n.gpu_product.empty()) return n.gpu_product;
  for (const model::Device& d : s.devices) {
    if (d.node == node && !d.model_name.empty()) return d.model_name;
  }
  return std::nullopt;
}

std::optional<std::string> NonEmpty(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string>(v);
}

}  // namespace

base::Result<std::vector<FocusRow>> FocusRows(const model::Snapshot& s, const CostLedger& ledger,
                                              const FocusOptions& opt) {
  RETURN_IF_ERROR(Validate(opt));
  const std::int64_t ws = s.start_unix_s, we = WindowEnd(s);
  const bool fixed_period = opt.billing_period_start_unix_s != 0 || opt.billing_period_end_unix_s != 0;
  std::vector<std::optional<std::map<std::string, std::string>>> labels(s.workloads.size());
  std::vector<std::optional<std::optional<std::string>>> skus(s.nodes.size());
  std::vector<FocusRow> out;
  for (const CostRow& r : ledger.rows) {
    if (r.node < 0 || static_cast<std::size_t>(r.node) >= s.nodes.size() || r.cost <= 0) continue;
    const model::SnapshotNode& sn = s.nodes[static_cast<std::size_t>(r.node)];
    if (!sn.unpriced_reason.empty() || sn.price_micro_per_gpu_hour <= 0) continue;
    const model::Workload* wl = nullptr;
    if (r.workload >= 0 && static_cast<std::size_t>(r.workload) < s.workloads.size()) {
      wl = &s.workloads[static_cast<std::size_t>(r.workload)];
    }
    const std::int64_t effective = sn.price_micro_per_gpu_hour;
    // No list price in the book for this node: the effective rate is all there is to state.
    const std::int64_t list = sn.list_micro_per_gpu_hour > 0 ? sn.list_micro_per_gpu_hour : effective;

    FocusRow proto;
    proto.charge_period_start_unix_s = s.live ? ws : std::max(r.day_start_unix_s, ws);
    proto.charge_period_end_unix_s = s.live ? we : std::min(r.day_start_unix_s + kDay, we);
    if (fixed_period) {
      proto.billing_period_start_unix_s = opt.billing_period_start_unix_s;
      proto.billing_period_end_unix_s = opt.billing_period_end_unix_s;
      if (proto.charge_period_start_unix_s < proto.billing_period_start_unix_s ||
          proto.charge_period_end_unix_s > proto.billing_period_end_unix_s) {
        return base::InvalidArgument("FOCUS export: the billing period " + Utc(proto.billing_period_start_unix_s) +
                                     " .. " + Utc(proto.billing_period_end_unix_s) +
                                     " does not contain the charge period " + Utc(proto.charge_period_start_unix_s) +
                                     " .. " + Utc(proto.charge_period_end_unix_s));
      }
    } else {
      proto.billing_period_start_unix_s = MonthStartUtc(proto.charge_period_start_unix_s);
      proto.billing_period_end_unix_s = NextMonthStartUtc(proto.charge_period_start_unix_s);
    }
    proto.billing_account_id = opt.billing_account_id;
    proto.billing_account_name = Blank(opt.billing_account_name) ? opt.billing_account_id : opt.billing_account_name;
    proto.billing_currency = opt.currency;
    proto.list_unit_price = list;
    proto.contracted_unit_price = list;
    proto.pricing_unit = proto.consumed_unit = "GPU-Hours";
    if (sn.node.capacity_type == model::CapacityType::kSpot) proto.pricing_category = "Dynamic";
    else if (effective < list) proto.pricing_category = "Other";  // a commitment gpuwise cannot name per row
    else proto.pricing_category = "Standard";
    proto.provider_name = opt.provider_name;
    proto.publisher_name = opt.publisher_name;
    proto.invoice_issuer_name = opt.invoice_issuer_name;
    proto.service_name = opt.service_name;
    proto.service_category = opt.service_category;
    proto.resource_id = sn.node.provider_id.empty() ? sn.node.name : sn.node.provider_id;
    proto.resource_name = sn.node.name;
    proto.resource_type = "GPU Node";
    proto.region_id = proto.region_name = NonEmpty(sn.node.region);
    proto.availability_zone = NonEmpty(sn.node.zone);
    auto& sku = skus[static_cast<std::size_t>(r.node)];
    if (!sku) sku = SkuOf(s, r.node);
    proto.sku_id = *sku;
    proto.node = r.node;
    proto.workload = wl ? r.workload : -1;
    proto.tags[std::string(kTagPrefix) + "node"] = sn.node.name;
    if (wl) {
      auto& l = labels[static_cast<std::size_t>(r.workload)];
      if (!l) l = CommonLabels(s, *wl);
      for (const auto& [k, v] : *l) proto.tags[k] = v;
      proto.sub_account_id = proto.sub_account_name = wl->key.namespace_name;
      proto.tags[std::string(kTagPrefix) + "namespace"] = wl->key.namespace_name;
      proto.tags[std::string(kTagPrefix) + "kind"] = wl->key.kind;
      proto.tags[std::string(kTagPrefix) + "workload"] = wl->key.name;
      if (!wl->team.empty()) proto.tags[std::string(kTagPrefix) + "team"] = wl->team;
    }

    std::vector<std::pair<FocusBucket, std::int64_t>> buckets;
    if (wl) buckets = {{FocusBucket::kUsed, r.used}, {FocusBucket::kIdle, r.idle}};
    else buckets = {{FocusBucket::kUnallocated, r.cost}};
    std::vector<double> weights;
    for (const auto& b : buckets) weights.push_back(static_cast<double>(b.second));
    // The row's GPU-hours shared out like its money, so each bucket's quantity times the rate is its cost.
    const std::int64_t quantity = std::llround(std::max(0.0, r.gpu_hours) * 1e6);
    const std::vector<std::int64_t> quantities = SplitExact(quantity, weights);
    const std::string sku_text = proto.sku_id ? " (" + *proto.sku_id + ")" : "";
    const std::string rate = FormatMicro(effective) + " " + opt.currency + " per GPU-hour";
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      const auto [bucket, cost] = buckets[k];
      if (cost <= 0) continue;
      FocusRow row = proto;
      row.bucket = bucket;
      row.effective_cost = row.billed_cost = cost;
      row.list_cost = row.contracted_cost = MulDivRound(cost, list, effective);
      row.pricing_quantity = row.consumed_quantity = quantities[k];
      row.tags[std::string(kTagPrefix) + "bucket"] = std::string(FocusBucketName(bucket));
      const std::string on = "on node " + sn.node.name + sku_text;
      switch (bucket) {
        case FocusBucket::kUsed:
          row.charge_description = "GPU time " + on + " held and used by " + wl->key.str() +
                                   (wl->team.empty() ? "" : " (team " + wl->team + ")") + ", at " + rate;
          break;
        case FocusBucket::kIdle:
          row.charge_description = "GPU time " + on + " held but left idle by " + wl->key.str() +
                                   (wl->team.empty() ? "" : " (team " + wl->team + ")") + ", at " + rate;
          break;
        case FocusBucket::kUnallocated:
          row.charge_description = "GPU capacity " + on + " held by no pod (unallocated), at " + rate;
          break;
      }
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace gpuwise::analyze
