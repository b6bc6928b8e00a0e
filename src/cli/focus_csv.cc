#include "cli/focus_csv.h"

#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/time_parse.h"

namespace gpuwise::cli {

namespace {

using L = FocusFeatureLevel;

std::string IsoTime(std::int64_t unix_s) { return base::FormatTime(unix_s * 1000); }

std::string Cell(const std::optional<std::string>& v) { return v ? *v : std::string(); }

// The Key-Value Format: a JSON object of string values. Bytes that are not UTF-8 are replaced, never thrown on.
std::string TagsJson(const std::map<std::string, std::string>& tags) {
  nlohmann::json obj = nlohmann::json::object();
  for (const auto& [k, v] : tags) obj[k] = v;
  return obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Hours(double h) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", h);
  return buf;
}

}  // namespace

std::string_view FocusFeatureLevelName(FocusFeatureLevel l) {
  switch (l) {
    case L::kMandatory: return "Mandatory";
    case L::kRecommended: return "Recommended";
    case L::kConditional: return "Conditional";
  }
  return "Mandatory";
}

const std::vector<FocusColumn>& FocusColumns() {
  static const std::vector<FocusColumn> kColumns = {
      {"AvailabilityZone", L::kRecommended, "String", true},
      {"BilledCost", L::kMandatory, "Decimal", false},
      {"BillingAccountId", L::kMandatory, "String", false},
      {"BillingAccountName", L::kMandatory, "String", true},
      {"BillingCurrency", L::kMandatory, "String", false},
      {"BillingPeriodEnd", L::kMandatory, "Date/Time", false},
      {"BillingPeriodStart", L::kMandatory, "Date/Time", false},
      {"ChargeCategory", L::kMandatory, "String", false},
      {"ChargeClass", L::kMandatory, "String", true},
      {"ChargeDescription", L::kMandatory, "String", true},
      {"ChargeFrequency", L::kRecommended, "String", false},
      {"ChargePeriodEnd", L::kMandatory, "Date/Time", false},
      {"ChargePeriodStart", L::kMandatory, "Date/Time", false},
      {"CommitmentDiscountCategory", L::kConditional, "String", true},
      {"CommitmentDiscountId", L::kConditional, "String", true},
      {"CommitmentDiscountName", L::kConditional, "String", true},
      {"CommitmentDiscountStatus", L::kConditional, "String", true},
      {"CommitmentDiscountType", L::kConditional, "String", true},
      {"ConsumedQuantity", L::kConditional, "Decimal", true},
      {"ConsumedUnit", L::kConditional, "String", true},
      {"ContractedCost", L::kMandatory, "Decimal", false},
      {"ContractedUnitPrice", L::kConditional, "Decimal", true},
      {"EffectiveCost", L::kMandatory, "Decimal", false},
      {"InvoiceIssuerName", L::kMandatory, "String", false},
      {"ListCost", L::kMandatory, "Decimal", false},
      {"ListUnitPrice", L::kConditional, "Decimal", true},
      {"PricingCategory", L::kConditional, "String", true},
      {"PricingQuantity", L::kMandatory, "Decimal", true},
      {"PricingUnit", L::kMandatory, "String", true},
      {"ProviderName", L::kMandatory, "String", false},
      {"PublisherName", L::kMandatory, "String", false},
      {"RegionId", L::kConditional, "String", true},
      {"RegionName", L::kConditional, "String", true},
      {"ResourceId", L::kConditional, "String", true},
      {"ResourceName", L::kConditional, "String", true},
      {"ResourceType", L::kConditional, "String", true},
      {"ServiceCategory", L::kMandatory, "String", false},
      {"ServiceName", L::kMandatory, "String", false},
      {"SkuId", L::kConditional, "String", true},
      {"SkuPriceId", L::kConditional, "String", true},
      {"SubAccountId", L::kConditional, "String", true},
      {"SubAccountName", L::kConditional, "String", true},
      {"Tags", L::kConditional, "JSON", true},
  };
  return kColumns;
}

Table FocusTable(const std::vector<analyze::FocusRow>& rows) {
  Table t;
  for (const FocusColumn& c : FocusColumns()) t.columns.emplace_back(c.id);
  using analyze::FormatMicro;
  for (const analyze::FocusRow& r : rows) {
    // Values by Column ID; a column absent here is null for every row gpuwise writes (commitment discounts:
    // gpuwise cannot tell which commitment covered which GPU-hour; SkuPriceId: no published price list).
    const std::map<std::string_view, std::string> v = {
        {"AvailabilityZone", Cell(r.availability_zone)},
        {"BilledCost", FormatMicro(r.billed_cost)},
        {"BillingAccountId", r.billing_account_id},
        {"BillingAccountName", Cell(r.billing_account_name)},
        {"BillingCurrency", r.billing_currency},
        {"BillingPeriodEnd", IsoTime(r.billing_period_end_unix_s)},
        {"BillingPeriodStart", IsoTime(r.billing_period_start_unix_s)},
        {"ChargeCategory", r.charge_category},
        {"ChargeDescription", r.charge_description},
        {"ChargeFrequency", r.charge_frequency},
        {"ChargePeriodEnd", IsoTime(r.charge_period_end_unix_s)},
        {"ChargePeriodStart", IsoTime(r.charge_period_start_unix_s)},
        {"ConsumedQuantity", FormatMicro(r.consumed_quantity)},
        {"ConsumedUnit", r.consumed_unit},
        {"ContractedCost", FormatMicro(r.contracted_cost)},
        {"ContractedUnitPrice", FormatMicro(r.contracted_unit_price)},
        {"EffectiveCost", FormatMicro(r.effective_cost)},
        {"InvoiceIssuerName", r.invoice_issuer_name},
        {"ListCost", FormatMicro(r.list_cost)},
        {"ListUnitPrice", FormatMicro(r.list_unit_price)},
        {"PricingCategory", r.pricing_category},
        {"PricingQuantity", FormatMicro(r.pricing_quantity)},
        {"PricingUnit", r.pricing_unit},
        {"ProviderName", r.provider_name},
        {"PublisherName", r.publisher_name},
        {"RegionId", Cell(r.region_id)},
        {"RegionName", Cell(r.region_name)},
        {"ResourceId", Cell(r.resource_id)},
        {"ResourceName", Cell(r.resource_name)},
        {"ResourceType", Cell(r.resource_type)},
        {"ServiceCategory", r.service_category},
        {"ServiceName", r.service_name},
        {"SkuId", Cell(r.sku_id)},
        {"SubAccountId", Cell(r.sub_account_id)},
        {"SubAccountName", Cell(r.sub_account_name)},
        {"Tags", TagsJson(r.tags)},
    };
    std::vector<std::string>& cells = t.rows.emplace_back();
    for (const FocusColumn& c : FocusColumns()) {
      auto it = v.find(c.id);
      cells.push_back(it == v.end() ? std::string() : it->second);
    }
  }
  return t;
}

nlohmann::json ChargebackJson(const std::vector<analyze::ChargebackRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  std::int64_t total = 0;
  for (const analyze::ChargebackRow& r : rows) {
    a.push_back({{"key", r.key},
                 {"unallocated", r.unallocated_row},
                 {"periodStart", IsoTime(r.period_start_unix_s)},
                 {"periodEnd", IsoTime(r.period_end_unix_s)},
                 {"costMicroUsd", r.cost},
                 {"usedMicroUsd", r.used},
                 {"idleMicroUsd", r.idle},
                 {"unallocatedMicroUsd", r.unallocated},
                 {"gpuHours", r.gpu_hours},
                 {"workloads", r.workloads}});
    total += r.cost;
  }
  return {{"rows", std::move(a)}, {"totalMicroUsd", total}};
}

Table ChargebackTable(const std::vector<analyze::ChargebackRow>& rows, std::string_view key_column) {
  Table t;
  t.columns = {"period_start", "period_end", std::string(key_column), "cost", "used", "idle", "unallocated",
               "gpu_hours", "workloads"};
  using analyze::FormatMicro;
  for (const analyze::ChargebackRow& r : rows) {
    t.rows.push_back({IsoTime(r.period_start_unix_s), IsoTime(r.period_end_unix_s), r.key, FormatMicro(r.cost),
                      FormatMicro(r.used), FormatMicro(r.idle), FormatMicro(r.unallocated), Hours(r.gpu_hours),
                      std::to_string(r.workloads)});
  }
  t.notes.push_back("amounts in USD, exact to the micro-dollar; unallocated: capacity no pod held");
  return t;
}

}  // namespace gpuwise::cli
