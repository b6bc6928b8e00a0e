#include "cli/focus_csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "analyze/cost.h"
#include "analyze/focus.h"

namespace gpuwise::cli {
namespace {

using analyze::ChargebackOptions;
using analyze::ComputeCosts;
using analyze::CostLedger;
using model::DeviceInterval;

constexpr std::int64_t kNov30 = 1'796'083'200 - 86400;  // 2026-11-30T00:00:00Z
const std::string kOddTeam = "Research, \"Vision\"";

// FOCUS 1.0 (github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, tag v1.0, specification/columns/*.md): every
// column in the specification's order, with its feature level, data type and whether it allows nulls. Written out
// here from the specification, not taken from the code under test.
struct SpecColumn {
  const char* id;
  bool mandatory;
  const char* type;
  bool nullable;
};
const SpecColumn kSpec[] = {
    {"AvailabilityZone", false, "String", true},     {"BilledCost", true, "Decimal", false},
    {"BillingAccountId", true, "String", false},     {"BillingAccountName", true, "String", true},
    {"BillingCurrency", true, "String", false},      {"BillingPeriodEnd", true, "Date/Time", false},
    {"BillingPeriodStart", true, "Date/Time", false}, {"ChargeCategory", true, "String", false},
    {"ChargeClass", true, "String", true},           {"ChargeDescription", true, "String", true},
    {"ChargeFrequency", false, "String", false},     {"ChargePeriodEnd", true, "Date/Time", false},
    {"ChargePeriodStart", true, "Date/Time", false}, {"CommitmentDiscountCategory", false, "String", true},
    {"CommitmentDiscountId", false, "String", true}, {"CommitmentDiscountName", false, "String", true},
    {"CommitmentDiscountStatus", false, "String", true}, {"CommitmentDiscountType", false, "String", true},
    {"ConsumedQuantity", false, "Decimal", true},    {"ConsumedUnit", false, "String", true},
    {"ContractedCost", true, "Decimal", false},      {"ContractedUnitPrice", false, "Decimal", true},
    {"EffectiveCost", true, "Decimal", false},       {"InvoiceIssuerName", true, "String", false},
    {"ListCost", true, "Decimal", false},            {"ListUnitPrice", false, "Decimal", true},
    {"PricingCategory", false, "String", true},      {"PricingQuantity", true, "Decimal", true},
    {"PricingUnit", true, "String", true},           {"ProviderName", true, "String", false},
    {"PublisherName", true, "String", false},        {"RegionId", false, "String", true},
    {"RegionName", false, "String", true},           {"ResourceId", false, "String", true},
    {"ResourceName", false, "String", true},         {"ResourceType", false, "String", true},
    {"ServiceCategory", true, "String", false},      {"ServiceName", true, "String", false},
    {"SkuId", false, "String", true},                {"SkuPriceId", false, "String", true},
    {"SubAccountId", false, "String", true},         {"SubAccountName", false, "String", true},
    {"Tags", false, "JSON", true},
};
const std::set<std::string> kChargeCategories = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"};
const std::set<std::string> kChargeFrequencies = {"One-Time", "Recurring", "Usage-Based"};
const std::set<std::string> kPricingCategories = {"Standard", "Dynamic", "Committed", "Other"};
const std::set<std::string> kServiceCategories = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration",
    "Mobile", "Networking", "Security", "Storage", "Web", "Other"};

// An RFC 4180 reader: quoted fields, doubled quotes, CRLF records.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(field);
      field.clear();
      out.push_back(row);
      row.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_TRUE(field.empty() && row.empty()) << "last record not terminated by CRLF";
  return out;
}

// A decimal as micro-units, exactly; nullopt when the text is not a plain decimal with at most six places.
std::optional<std::int64_t> Micro(const std::string& s) {
  static const std::regex kDecimal(R"(^(-?)(\d+)(?:\.(\d{1,6}))?$)");
  std::smatch m;
  if (!std::regex_match(s, m, kDecimal)) return std::nullopt;
  std::string frac = m[3].str();
  frac.append(6 - frac.size(), '0');
  const std::int64_t v = std::stoll(m[2].str()) * 1'000'000 + std::stoll(frac);
  return m[1].str().empty() ? v : -v;
}

// A small fleet over midnight: an on-demand node with list > effective and its cloud identity, a spot node with a
// MIG layout, a node with no price; a team whose name needs CSV quoting.
struct Fleet {
  model::Snapshot s;
  Fleet() {
    s.start_unix_s = s.grid_start_unix_s = kNov30 + 20 * 3600;
    s.end_unix_s = s.start_unix_s + 8 * 3600 + 1234;  // into 2026-12-01
    s.intervals = 9;
    auto node = [&](const std::string& name, std::int64_t eff, std::int64_t list, model::CapacityType cap) {
      model::SnapshotNode n;
      n.node.name = name;
      n.node.capacity_type = cap;
      n.node.gpu_product = "NVIDIA-H100-80GB-HBM3";
      n.price_micro_per_gpu_hour = eff;
      n.list_micro_per_gpu_hour = list;
      if (eff == 0) n.unpriced_reason = "no rule";
      s.nodes.push_back(n);
    };
    node("ip-10-0-0-1", 2'981'234, 4'100'000, model::CapacityType::kOnDemand);
    s.nodes[0].node.provider_id = "aws:///us-east-1a/i-0abc";
    s.nodes[0].node.instance_type = "p5.48xlarge";
    s.nodes[0].node.region = "us-east-1";
    s.nodes[0].node.zone = "us-east-1a";
    node("spot-1", 1'200'001, 4'100'000, model::CapacityType::kSpot);
    node("lab-1", 0, 0, model::CapacityType::kUnknown);
    auto workload = [&](const std::string& ns, const std::string& name, const std::string& team) {
      model::Pod p;
      p.namespace_name = ns;
      p.name = name + "-0";
      p.labels = {{"app", name}};
      s.pods.push_back(p);
      model::Workload w;
      w.key = {ns, "Deployment", name};
      w.team = team;
      w.pods = {static_cast<int>(s.pods.size()) - 1};
      s.workloads.push_back(w);
      s.pod_workload.push_back(static_cast<int>(s.workloads.size()) - 1);
    };
    workload("serving", "chat", kOddTeam);
    workload("research", "train", "ml");
    workload("dev", "notebook", "");
    auto gpu = [&](int node, int gi, int slices) {
      model::Device d;
      d.node = node;
      d.uuid = "GPU-" + std::to_string(node) + (gi >= 0 ? "" : "-" + std::to_string(s.devices.size()));
      d.key = d.uuid + (gi >= 0 ? "/gi" + std::to_string(gi) : "");
      d.gi_id = gi;
      d.compute_slices = slices;
      d.gpu_share = gi >= 0 ? slices / 7.0 : 1.0;
      d.memory_bytes = gi >= 0 ? slices * 10e9 : 80e9;
      s.devices.push_back(d);
      const int idx = static_cast<int>(s.devices.size()) - 1;
      if (gi >= 0) {
        if (s.mig_parents.empty() || s.mig_parents.back().uuid != d.uuid) {
          model::MigParent p;
          p.node = node;
          p.uuid = d.uuid;
          s.mig_parents.push_back(p);
        }
        s.mig_parents.back().instances.push_back(idx);
      }
      return idx;
    };
    gpu(0, -1, 0);
    gpu(0, -1, 0);
    gpu(1, 1, 3);
    gpu(1, 2, 2);
    gpu(2, -1, 0);
    for (std::size_t d = 0; d < s.devices.size(); ++d) {
      for (int i = 0; i < s.intervals; ++i) {
        DeviceInterval x;
        x.device = static_cast<int>(d);
        x.interval = i;
        auto hold = [&](int pod, double share) {
          model::DeviceHold h;
          h.pod = pod;
          h.share = share;
          h.how = model::HoldHow::kLabel;
          x.holds.push_back(h);
        };
        if (d == 0) hold(0, 1);                 // chat holds gpu0 all along
        if (d == 1 && i % 2 == 0) hold(1, 0.5);  // train holds half of gpu1 every other hour
        if (d == 2) hold(2, 1);                 // the notebook holds the 3g instance
        if (d == 4) hold(1, 1);                 // and train an unpriced GPU
        x.compute = d == 0 ? 0.37 : (d == 2 ? 0.05 : NAN);
        s.usage.push_back(x);
      }
    }
  }
};

TEST(FocusTable, EveryColumnOfTheSpecInItsOrderWithValuesOfTheRightTypeInEveryRow) {
  Fleet f;
  const CostLedger l = ComputeCosts(f.s);
  ASSERT_GT(l.gpu_cost, 0);
  auto rows = analyze::FocusRows(f.s, l, {});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  const std::string csv = RenderCsv(FocusTable(*rows));
  const auto records = ParseCsv(csv);
  ASSERT_GE(records.size(), 2u);
  const std::vector<std::string>& header = records[0];

  // The header row: every FOCUS 1.0 column, each once, in the specification's order; hence every Mandatory one.
  std::vector<std::string> spec_ids;
  for (const SpecColumn& c : kSpec) spec_ids.emplace_back(c.id);
  EXPECT_EQ(header, spec_ids);
  std::map<std::string, std::size_t> at;
  for (std::size_t k = 0; k < header.size(); ++k) at[header[k]] = k;
  int mandatory = 0;
  for (const SpecColumn& c : kSpec) {
    if (!c.mandatory) continue;
    ++mandatory;
    EXPECT_EQ(std::count(header.begin(), header.end(), c.id), 1) << c.id;
  }
  EXPECT_EQ(mandatory, 21);

  static const std::regex kDateTime(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$)");
  std::int64_t effective = 0, billed = 0;
  std::set<std::string> seen_categories;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& rec = records[i];
    ASSERT_EQ(rec.size(), header.size()) << "record " << i;
    auto cell = [&](const char* id) { return rec[at.at(id)]; };
    for (const SpecColumn& c : kSpec) {
      const std::string& v = rec[at.at(c.id)];
      SCOPED_TRACE(std::string(c.id) + " = '" + v + "' in record " + std::to_string(i));
      if (v.empty()) {
        EXPECT_TRUE(c.nullable) << "null in a column that allows none";
        continue;
      }
      const std::string type = c.type;
      if (type == "Date/Time") {
        EXPECT_TRUE(std::regex_match(v, kDateTime));
      } else if (type == "Decimal") {
        EXPECT_TRUE(Micro(v).has_value()) << "not an exact decimal";
      } else if (type == "JSON") {
        const auto j = nlohmann::json::parse(v, nullptr, false);
        ASSERT_TRUE(j.is_object());
        for (const auto& [k, value] : j.items()) {
          EXPECT_TRUE(value.is_string() || value.is_number() || value.is_boolean() || value.is_null()) << k;
        }
      } else {
        EXPECT_NE(v.find_first_not_of(' '), std::string::npos) << "blank string";
      }
    }
    // Allowed values and the conditional rules for a Usage charge that is not a correction.
    EXPECT_EQ(kChargeCategories.count(cell("ChargeCategory")), 1u);
    EXPECT_EQ(cell("ChargeCategory"), "Usage");
    EXPECT_EQ(cell("ChargeClass"), "");  // not a correction: null
    EXPECT_EQ(kChargeFrequencies.count(cell("ChargeFrequency")), 1u);
    EXPECT_EQ(kServiceCategories.count(cell("ServiceCategory")), 1u);
    EXPECT_EQ(kPricingCategories.count(cell("PricingCategory")), 1u);
    seen_categories.insert(cell("PricingCategory"));
    EXPECT_TRUE(std::regex_match(cell("BillingCurrency"), std::regex("^[A-Z]{3}$")));
    for (const char* id : {"PricingUnit", "PricingQuantity", "ListUnitPrice", "ContractedUnitPrice", "ConsumedQuantity",
                           "ConsumedUnit", "SkuId", "ChargeDescription", "BillingAccountName"}) {
      EXPECT_NE(cell(id), "") << id << " must not be null on a Usage row";
    }
    EXPECT_EQ(cell("ResourceId").empty(), cell("ResourceType").empty());
    for (const char* id : {"CommitmentDiscountId", "CommitmentDiscountCategory", "CommitmentDiscountStatus",
                           "CommitmentDiscountType", "CommitmentDiscountName"}) {
      EXPECT_EQ(cell(id), "") << id << ": no commitment is named on any row";
    }
    EXPECT_LT(cell("ChargePeriodStart"), cell("ChargePeriodEnd"));  // same fixed-width UTC form: text order is time order
    EXPECT_LE(cell("BillingPeriodStart"), cell("ChargePeriodStart"));
    EXPECT_GE(cell("BillingPeriodEnd"), cell("ChargePeriodEnd"));
    // Money: exact, list >= effective (every priced node here lists above its effective rate).
    const std::int64_t eff = *Micro(cell("EffectiveCost"));
    effective += eff;
    billed += *Micro(cell("BilledCost"));
    EXPECT_GE(*Micro(cell("ListCost")), eff);
    EXPECT_GE(*Micro(cell("ContractedCost")), eff);
    EXPECT_LE(*Micro(cell("ContractedCost")), *Micro(cell("ListCost")));
    const double implied = static_cast<double>(*Micro(cell("ListUnitPrice"))) *
                           static_cast<double>(*Micro(cell("PricingQuantity"))) / 1e12;
    EXPECT_NEAR(implied, static_cast<double>(*Micro(cell("ListCost"))) / 1e6, 1e-4);
  }
  EXPECT_EQ(effective, l.gpu_cost);
  EXPECT_EQ(billed, l.gpu_cost);
  EXPECT_EQ(seen_categories, (std::set<std::string>{"Other", "Dynamic"}));
}

TEST(FocusTable, QuotesATeamNameWithACommaAndAQuote) {
  Fleet f;
  auto rows = analyze::FocusRows(f.s, ComputeCosts(f.s), {});
  ASSERT_TRUE(rows.ok());
  const std::string csv = RenderCsv(FocusTable(*rows));
  EXPECT_NE(csv.find(R"(""Vision"")"), std::string::npos) << "quotes inside a field are doubled";
  const auto records = ParseCsv(csv);
  const auto& header = records[0];
  const std::size_t tags = static_cast<std::size_t>(std::find(header.begin(), header.end(), "Tags") - header.begin());
  const std::size_t desc =
      static_cast<std::size_t>(std::find(header.begin(), header.end(), "ChargeDescription") - header.begin());
  int found = 0;
  for (std::size_t i = 1; i < records.size(); ++i) {
    ASSERT_EQ(records[i].size(), header.size());
    const auto j = nlohmann::json::parse(records[i][tags]);
    if (j.value("gpuwise.io/team", "") != kOddTeam) continue;
    ++found;
    EXPECT_NE(records[i][desc].find("(team " + kOddTeam + ")"), std::string::npos) << records[i][desc];
    EXPECT_EQ(j.at("gpuwise.io/namespace"), "serving");
    EXPECT_EQ(j.at("app"), "chat");
  }
  EXPECT_EQ(found, 4);  // chat's used and idle rows on each of the two days
}

TEST(ChargebackRender, TableCsvAndJsonCarryTheSameExactMoney) {
  Fleet f;
  const CostLedger l = ComputeCosts(f.s);
  for (auto mode : {analyze::UnallocatedMode::kSeparate, analyze::UnallocatedMode::kProportional}) {
    ChargebackOptions o;
    o.unallocated = mode;
    const auto rows = analyze::Chargeback(f.s, l, o);
    const auto records = ParseCsv(RenderCsv(ChargebackTable(rows, "team")));
    ASSERT_EQ(records.size(), rows.size() + 1);
    EXPECT_EQ(records[0], (std::vector<std::string>{"period_start", "period_end", "team", "cost", "used", "idle",
                                                    "unallocated", "gpu_hours", "workloads"}));
    std::int64_t total = 0;
    std::set<std::string> teams;
    for (std::size_t i = 1; i < records.size(); ++i) {
      const auto& r = records[i];
      total += *Micro(r[3]);
      EXPECT_EQ(*Micro(r[3]), *Micro(r[4]) + *Micro(r[5]) + *Micro(r[6]));
      teams.insert(r[2]);
    }
    EXPECT_EQ(total, l.gpu_cost);
    EXPECT_EQ(teams.count(kOddTeam), 1u);  // the quoted name reads back whole
    EXPECT_EQ(teams.count("(unallocated)"), mode == analyze::UnallocatedMode::kSeparate ? 1u : 0u);

    const nlohmann::json j = ChargebackJson(rows);
    EXPECT_EQ(j.at("totalMicroUsd").get<std::int64_t>(), l.gpu_cost);
    ASSERT_EQ(j.at("rows").size(), rows.size());
    std::int64_t sum = 0;
    for (const auto& r : j.at("rows")) {
      sum += r.at("costMicroUsd").get<std::int64_t>();
      EXPECT_EQ(r.at("costMicroUsd").get<std::int64_t>(),
                r.at("usedMicroUsd").get<std::int64_t>() + r.at("idleMicroUsd").get<std::int64_t>() +
                    r.at("unallocatedMicroUsd").get<std::int64_t>());
      EXPECT_TRUE(std::regex_match(r.at("periodStart").get<std::string>(),
                                   std::regex(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$)")));
    }
    EXPECT_EQ(sum, l.gpu_cost);
  }
}

}  // namespace
}  // namespace gpuwise::cli
