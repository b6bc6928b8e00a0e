// Tests for the price book: GPU model names across sources, the documented matching precedence, capacity types and
// list vs effective prices, effective dates (a change mid-window splits it), commitments (discount or rate, count or
// share coverage, book order, node-name order), currency codes, "unpriced, with the reason", the rounding contract
// (rate x GPUs + remainder == bill, each rounded half to even from the exact value, checked against an independent
// computation on random prices), and the H100-equivalence table.
#include "model/price_book.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/time_parse.h"

namespace gpuwise::model {
namespace {

constexpr std::int64_t kUsd = 1'000'000;  // micro-dollars per dollar
__extension__ typedef __int128 Int128;   // exact oracle arithmetic

std::int64_t T(const char* rfc3339) {
  auto ms = base::ParseTime(rfc3339);
  EXPECT_TRUE(ms.ok()) << rfc3339;
  return *ms / 1000;
}

const std::int64_t kNow = 1'790'000'000;  // 2026-09-21, inside every undated rule

Node MakeNode(std::string name, std::string instance, std::string product, int gpus,
              CapacityType capacity = CapacityType::kOnDemand, std::string region = "us-east-1",
              std::string zone = "us-east-1a") {
  Node n;
  n.name = std::move(name);
  n.instance_type = std::move(instance);
  n.gpu_product = std::move(product);
  n.gpu_count = gpus;
  n.capacity_type = capacity;
  n.region = std::move(region);
  n.zone = std::move(zone);
  return n;
}

PriceRule Instance(std::string type, std::int64_t price, PriceCapacity cap = PriceCapacity::kAny, std::string region = "",
                   std::string zone = "") {
  PriceRule r;
  r.kind = PriceRuleKind::kInstanceType;
  r.instance_type = std::move(type);
  r.price_micro = price;
  r.capacity = cap;
  r.region = std::move(region);
  r.zone = std::move(zone);
  return r;
}

PriceRule GpuModel(std::string model, std::int64_t price, PriceCapacity cap = PriceCapacity::kAny, std::string region = "") {
  PriceRule r;
  r.kind = PriceRuleKind::kGpuModel;
  r.gpu_model = std::move(model);
  r.price_micro = price;
  r.capacity = cap;
  r.region = std::move(region);
  return r;
}

PriceRule Default(std::int64_t price) {
  PriceRule r;
  r.kind = PriceRuleKind::kDefault;
  r.price_micro = price;
  return r;
}

PriceRule Named(PriceRule r, std::string source) {
  r.source = std::move(source);
  return r;
}

// ---- names

TEST(NormalizeGpuModel, OneSpellingAcrossGfdDcgmAndShortNames) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"NVIDIA-H100-80GB-HBM3", "H100 SXM 80GB"},          // GFD nvidia.com/gpu.product
      {"NVIDIA H100 80GB HBM3", "H100 SXM 80GB"},          // dcgm-exporter modelName
      {"NVIDIA-H100-80GB-HBM3-SHARED", "H100 SXM 80GB"},   // GFD, time-slicing without renaming
      {"H100", "H100"},
      {"h100-sxm", "H100 SXM"},
      {"NVIDIA H100 PCIe", "H100 PCIe"},
      {"NVIDIA H100 NVL", "H100 NVL"},
      {"NVIDIA A100-SXM4-80GB", "A100 SXM 80GB"},
      {"NVIDIA-A100-SXM4-40GB", "A100 SXM 40GB"},
      {"NVIDIA A100-PCIE-40GB", "A100 PCIe 40GB"},
      {"NVIDIA-A100-80GB-PCIe-MIG-1g.10gb", "A100 PCIe 80GB"},  // GFD, MIG single strategy
      {"NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"},
      {"Tesla-T4", "T4"},
      {"Tesla T4", "T4"},
      {"NVIDIA L4", "L4"},
      {"NVIDIA-L4-SHARED", "L4"},
      {"NVIDIA L40S", "L40S"},
      {"NVIDIA A10G", "A10G"},
      {"NVIDIA H200", "H200"},
      {"NVIDIA GH200 480GB", "GH200 480GB"},
      {"Tesla V100-SXM2-16GB", "V100 SXM 16GB"},
      {"NVIDIA B200", "B200"},
      {"NVIDIA RTX 2000 Ada Generation", "RTX 2000 ADA GENERATION"},
      {"", ""},
      {"NVIDIA", ""},
      {"  --  ", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(NormalizeGpuModel(c.in), c.out) << "input '" << c.in << "'";
}

TEST(NormalizeGpuModel, PartsAreWhatTheNameJoins) {
  EXPECT_EQ(ParseGpuModel("NVIDIA A100-SXM4-80GB"), (GpuModelParts{"A100", "SXM", "80GB"}));
  EXPECT_EQ(ParseGpuModel("L4"), (GpuModelParts{"L4", "", ""}));
  EXPECT_EQ(ParseGpuModel("Tesla"), GpuModelParts{});
}

TEST(GpuModelCovers, PatternsCoverMoreSpecificModelsOnly) {
  EXPECT_TRUE(GpuModelCovers("A100", "NVIDIA A100-SXM4-80GB"));
  EXPECT_TRUE(GpuModelCovers("A100 80GB", "NVIDIA A100-SXM4-80GB"));
  EXPECT_TRUE(GpuModelCovers("a100-sxm", "NVIDIA-A100-SXM4-40GB"));
  EXPECT_FALSE(GpuModelCovers("A100 80GB", "NVIDIA A100-SXM4-40GB"));
  EXPECT_FALSE(GpuModelCovers("A100 PCIe", "NVIDIA A100-SXM4-80GB"));
  EXPECT_FALSE(GpuModelCovers("A100", "NVIDIA A10G"));     // families compare whole, not as prefixes
  EXPECT_FALSE(GpuModelCovers("L4", "NVIDIA L40S"));
  EXPECT_FALSE(GpuModelCovers("H100 SXM", "H100"));        // the pattern states more than the model says
  EXPECT_FALSE(GpuModelCovers("", "H100"));
  EXPECT_EQ(GpuModelSpecificity("H100"), 0);
  EXPECT_EQ(GpuModelSpecificity("H100 SXM"), 1);
  EXPECT_EQ(GpuModelSpecificity("NVIDIA-H100-80GB-HBM3"), 2);
}

// Normalising is idempotent and ignores case and separators, for names built from real tokens.
RC_GTEST_PROP(NormalizeGpuModelProperty, IdempotentAndSeparatorBlind, ()) {
  const auto token = rc::gen::element<std::string>("NVIDIA", "Tesla", "H100", "a100", "L4", "80GB", "40GB", "HBM3",
                                                   "SXM4", "PCIe", "NVL", "SHARED", "MIG", "1g.10gb", "RTX", "6000");
  const auto tokens = *rc::gen::container<std::vector<std::string>>(token);
  std::string dashed, spaced_upper;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    dashed += (i ? "-" : "") + tokens[i];
    std::string up = tokens[i];
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    spaced_upper += (i ? " " : "") + up;
  }
  const std::string n = NormalizeGpuModel(dashed);
  RC_ASSERT(NormalizeGpuModel(n) == n);
  RC_ASSERT(NormalizeGpuModel(spaced_upper) == n);
  if (!n.empty()) RC_ASSERT(GpuModelCovers(n, dashed));
}

// ---- precedence

class Precedence : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(book_.AddRule(Named(Default(1 * kUsd), "default")).ok());
    ASSERT_TRUE(book_.AddRule(Named(GpuModel("H100", 4 * kUsd), "gpu")).ok());
    ASSERT_TRUE(book_.AddRule(Named(GpuModel("H100", 2 * kUsd, PriceCapacity::kSpot), "gpu+spot")).ok());
    ASSERT_TRUE(book_.AddRule(Named(GpuModel("H100 PCIe", 3 * kUsd), "gpu pcie")).ok());
    ASSERT_TRUE(book_.AddRule(Named(Instance("p5.48xlarge", 80 * kUsd), "inst")).ok());
    ASSERT_TRUE(book_.AddRule(Named(Instance("p5.48xlarge", 96 * kUsd, PriceCapacity::kOnDemand), "inst+od")).ok());
    ASSERT_TRUE(
        book_.AddRule(Named(Instance("p5.48xlarge", 88 * kUsd, PriceCapacity::kOnDemand, "eu-west-1"), "inst+od+region"))
            .ok());
    ASSERT_TRUE(book_.AddRule(Named(Instance("p5.48xlarge", 40 * kUsd, PriceCapacity::kSpot, "us-east-1", "us-east-1c"),
                                    "inst+spot+zone"))
                    .ok());
  }
  std::string RuleFor(const Node& n) {
    const NodePrice p = book_.PriceNode(n, kNow);
    EXPECT_TRUE(p.priced()) << p.unpriced_reason;
    return p.rule.substr(p.rule.rfind('(') + 1, p.rule.size() - p.rule.rfind('(') - 2);
  }
  PriceBook book_;
};

TEST_F(Precedence, MostSpecificRuleWinsAsDocumented) {
  const std::string h100 = "NVIDIA-H100-80GB-HBM3";
  EXPECT_EQ(RuleFor(MakeNode("a", "p5.48xlarge", h100, 8, CapacityType::kOnDemand, "eu-west-1", "eu-west-1a")),
            "inst+od+region");
  EXPECT_EQ(RuleFor(MakeNode("a", "p5.48xlarge", h100, 8, CapacityType::kOnDemand)), "inst+od");
  EXPECT_EQ(RuleFor(MakeNode("a", "p5.48xlarge", h100, 8, CapacityType::kSpot, "us-east-1", "us-east-1c")),
            "inst+spot+zone");
  // Spot in another zone: the spot rule does not apply, the on-demand one cannot: the any-capacity instance rule.
  EXPECT_EQ(RuleFor(MakeNode("a", "p5.48xlarge", h100, 8, CapacityType::kSpot, "us-east-1", "us-east-1b")), "inst");
  // No instance rule: GPU model + capacity > GPU model > default.
  EXPECT_EQ(RuleFor(MakeNode("a", "a3-highgpu-8g", h100, 8, CapacityType::kSpot)), "gpu+spot");
  EXPECT_EQ(RuleFor(MakeNode("a", "a3-highgpu-8g", h100, 8, CapacityType::kOnDemand)), "gpu");
  EXPECT_EQ(RuleFor(MakeNode("a", "", "NVIDIA H100 PCIe", 2)), "gpu pcie");  // more specific model
  EXPECT_EQ(RuleFor(MakeNode("a", "", "NVIDIA L4", 1)), "default");
}

TEST_F(Precedence, InstanceRuleSpreadsTheNodePriceOverItsGpus) {
  const NodePrice p = book_.PriceNode(MakeNode("a", "p5.48xlarge", "NVIDIA-H100-80GB-HBM3", 8), kNow);
  EXPECT_EQ(p.effective_bill_micro_per_hour, 96 * kUsd);
  EXPECT_EQ(p.effective_micro_per_gpu_hour, 12 * kUsd);
  EXPECT_EQ(p.gpus, 8);
  EXPECT_EQ(p.currency, "USD");
  // A GPU-model rule prices each GPU; the bill is rate x GPUs.
  const NodePrice g = book_.PriceNode(MakeNode("b", "", "NVIDIA H100 PCIe", 2), kNow);
  EXPECT_EQ(g.effective_micro_per_gpu_hour, 3 * kUsd);
  EXPECT_EQ(g.effective_bill_micro_per_hour, 6 * kUsd);
}

TEST_F(Precedence, SpotNodeListPriceIsTheOnDemandRateCard) {
  const NodePrice p =
      book_.PriceNode(MakeNode("a", "p5.48xlarge", "NVIDIA-H100-80GB-HBM3", 8, CapacityType::kSpot, "us-east-1", "us-east-1c"),
                      kNow);
  EXPECT_EQ(p.effective_micro_per_gpu_hour, 5 * kUsd);   // 40 / 8
  EXPECT_EQ(p.list_micro_per_gpu_hour, 12 * kUsd);       // 96 / 8, the on-demand rule
  EXPECT_NE(p.list_rule, p.rule);
  EXPECT_NE(p.list_rule.find("inst+od"), std::string::npos);
}

TEST_F(Precedence, UnknownCapacityIsPricedAsOnDemandAndSaysSo) {
  const NodePrice p = book_.PriceNode(MakeNode("a", "p5.48xlarge", "", 8, CapacityType::kUnknown), kNow);
  EXPECT_EQ(p.effective_bill_micro_per_hour, 96 * kUsd);
  ASSERT_FALSE(p.notes.empty());
  EXPECT_NE(p.notes.front().find("priced as on-demand"), std::string::npos);
  // A reserved node with no reserved rule: on-demand too.
  const NodePrice r = book_.PriceNode(MakeNode("a", "p5.48xlarge", "", 8, CapacityType::kReserved), kNow);
  EXPECT_EQ(r.effective_bill_micro_per_hour, 96 * kUsd);
}

TEST(PricePrecedence, TiesGoToTheRuleListedFirstAndZoneBeatsRegion) {
  PriceBook book;
  ASSERT_TRUE(book.AddRule(Named(GpuModel("A100 80GB", 2 * kUsd), "first")).ok());
  ASSERT_TRUE(book.AddRule(Named(GpuModel("A100 SXM", 3 * kUsd), "second")).ok());
  const Node n = MakeNode("a", "", "NVIDIA A100-SXM4-80GB", 1);
  EXPECT_EQ(book.PriceNode(n, kNow).effective_micro_per_gpu_hour, 2 * kUsd);

  PriceBook zoned;
  ASSERT_TRUE(zoned.AddRule(Instance("g6.12xlarge", 5 * kUsd, PriceCapacity::kAny, "us-east-1")).ok());
  ASSERT_TRUE(zoned.AddRule(Instance("g6.12xlarge", 4 * kUsd, PriceCapacity::kAny, "", "us-east-1c")).ok());
  EXPECT_EQ(zoned.PriceNode(MakeNode("a", "G6.12XLARGE", "", 4, CapacityType::kOnDemand, "us-east-1", "us-east-1c"), kNow)
                .effective_bill_micro_per_hour,
            4 * kUsd);  // zone beats region; instance types compare case-insensitively
  EXPECT_EQ(zoned.PriceNode(MakeNode("a", "g6.12xlarge", "", 4, CapacityType::kOnDemand, "us-east-1", "us-east-1b"), kNow)
                .effective_bill_micro_per_hour,
            5 * kUsd);
}

// ---- GPU share and rounding

TEST(GpuShare, OnlyTheGpuShareOfTheNodeIsGpuBill) {
  PriceBook book;
  PriceRule r = Instance("p5.48xlarge", 98'320'000);
  r.gpu_share_ppm = 900'000;
  ASSERT_TRUE(book.AddRule(r).ok());
  const NodePrice p = book.PriceNode(MakeNode("a", "p5.48xlarge", "", 8), kNow);
  EXPECT_EQ(p.list_bill_micro_per_hour, 88'488'000);  // the worked number in price_book.h
  EXPECT_EQ(p.list_micro_per_gpu_hour, 11'061'000);
  EXPECT_EQ(p.list_remainder_micro(), 0);
}

TEST(Rounding, RemainderStaysOnTheNodeAndHalvesGoToEven) {
  struct Case {
    std::int64_t price;
    int gpus;
    std::int64_t rate, remainder;
  };
  const Case cases[] = {
      {10 * kUsd, 3, 3'333'333, 1},  // the worked number in price_book.h
      {5, 2, 2, 1},                  // 2.5 -> 2 (even)
      {7, 2, 4, -1},                 // 3.5 -> 4 (even)
      {20 * kUsd, 3, 6'666'667, -1},
  };
  for (const Case& c : cases) {
    PriceBook book;
    ASSERT_TRUE(book.AddRule(Instance("x", c.price)).ok());
    const NodePrice p = book.PriceNode(MakeNode("a", "x", "", c.gpus), kNow);
    EXPECT_EQ(p.effective_bill_micro_per_hour, c.price);
    EXPECT_EQ(p.effective_micro_per_gpu_hour, c.rate) << c.price << " / " << c.gpus;
    EXPECT_EQ(p.effective_remainder_micro(), c.remainder);
  }
}

// Independent statement of round half to even on exact integers.
std::int64_t OracleRound(std::int64_t num, std::int64_t den) {
  std::int64_t q = num / den;
  const std::int64_t r = num % den;
  if (2 * r > den || (2 * r == den && q % 2 != 0)) ++q;
  return q;
}

// Per-GPU price x GPUs + remainder equals the node price x GPU share, to the micro-dollar, for random prices, shares
// and GPU counts; the rate is the nearest micro-dollar to the exact share and the remainder at most half a GPU count.
RC_GTEST_PROP(RoundingProperty, RateTimesGpusPlusRemainderIsTheBill, ()) {
  const std::int64_t price = *rc::gen::inRange<std::int64_t>(0, 500 * kUsd);
  const std::int64_t share = *rc::gen::inRange<std::int64_t>(1, kPpm + 1);
  const int gpus = *rc::gen::inRange(1, 17);
  const std::int64_t discount = *rc::gen::inRange<std::int64_t>(0, kPpm + 1);
  PriceBook book;
  PriceRule r = Instance("x", price);
  r.gpu_share_ppm = share;
  RC_ASSERT(book.AddRule(r).ok());
  const NodePrice p = book.PriceNode(MakeNode("a", "x", "", gpus), kNow);
  RC_ASSERT(p.priced());
  // price x share fits in int64 here (<= 5e8 x 1e6).
  RC_ASSERT(p.list_bill_micro_per_hour == OracleRound(price * share, kPpm));
  RC_ASSERT(p.list_micro_per_gpu_hour * gpus + p.list_remainder_micro() == p.list_bill_micro_per_hour);
  RC_ASSERT(2 * std::llabs(p.list_remainder_micro()) <= gpus);
  RC_ASSERT(p.list_micro_per_gpu_hour == OracleRound(price * share, kPpm * gpus));
  RC_ASSERT(p.effective_bill_micro_per_hour == p.list_bill_micro_per_hour);

  // With a discount on all of it, the effective bill is the exact discounted bill, rounded once.
  Commitment c;
  c.instance_type = "x";
  c.discount_ppm = discount;
  RC_ASSERT(book.AddCommitment(c).ok());
  const NodePrice d = book.PriceNode(MakeNode("a", "x", "", gpus), kNow);
  const Int128 exact = static_cast<Int128>(price) * share * (kPpm - discount);  // / 1e12
  const Int128 den = static_cast<Int128>(kPpm) * kPpm;
  Int128 q = exact / den;
  const Int128 rem2 = (exact % den) * 2;
  if (rem2 > den || (rem2 == den && q % 2 != 0)) ++q;
  RC_ASSERT(d.effective_bill_micro_per_hour == static_cast<std::int64_t>(q));
  RC_ASSERT(d.effective_micro_per_gpu_hour * gpus + d.effective_remainder_micro() == d.effective_bill_micro_per_hour);
  RC_ASSERT(2 * std::llabs(d.effective_remainder_micro()) <= gpus);
  RC_ASSERT(d.list_bill_micro_per_hour == p.list_bill_micro_per_hour);
}

// ---- effective dates

TEST(EffectiveDates, RuleAppliesInsideItsRangeAndAChangeSplitsTheWindow) {
  PriceBook book;
  PriceRule before = Named(Instance("p5.48xlarge", 98'320'000), "old");
  before.to_unix_s = T("2025-06-01T00:00:00Z");
  PriceRule after = Named(Instance("p5.48xlarge", 55'040'000), "new");
  after.from_unix_s = T("2025-06-01T00:00:00Z");
  ASSERT_TRUE(book.AddRule(before).ok());
  ASSERT_TRUE(book.AddRule(after).ok());
  const Node n = MakeNode("a", "p5.48xlarge", "", 8);
  EXPECT_EQ(book.PriceNode(n, T("2025-05-31T23:59:59Z")).effective_bill_micro_per_hour, 98'320'000);
  EXPECT_EQ(book.PriceNode(n, T("2025-06-01T00:00:00Z")).effective_bill_micro_per_hour, 55'040'000);  // [from, to)

  // A day straddling the change: 10 hours at the old price, 14 at the new.
  const std::int64_t start = T("2025-05-31T14:00:00Z"), end = T("2025-06-01T14:00:00Z");
  EXPECT_EQ(book.ChangePoints(start, end), std::vector<std::int64_t>{T("2025-06-01T00:00:00Z")});
  const std::vector<PriceSpan> spans = book.PriceWindow({n}, start, end);
  ASSERT_EQ(spans.size(), 2u);
  std::int64_t cost = 0;
  for (const PriceSpan& s : spans) cost += s.prices[0].effective_bill_micro_per_hour * (s.to_unix_s - s.from_unix_s) / 3600;
  EXPECT_EQ(cost, 10 * 98'320'000 + 14 * 55'040'000);
  EXPECT_EQ(spans[0].to_unix_s, spans[1].from_unix_s);
  EXPECT_EQ(book.PriceWindow({n}, start, start).size(), 0u);
}

TEST(EffectiveDates, OverlappingDatesForTheSameKeyAreRejectedNamingBothRules) {
  PriceBook book;
  PriceRule a = Named(Instance("p5.48xlarge", 98 * kUsd, PriceCapacity::kOnDemand), "prices.yaml line 4");
  a.to_unix_s = T("2025-06-01T00:00:00Z");
  ASSERT_TRUE(book.AddRule(a).ok());
  PriceRule b = Named(Instance("p5.48xlarge", 55 * kUsd, PriceCapacity::kOnDemand), "prices.yaml line 9");
  b.from_unix_s = T("2025-05-01T00:00:00Z");
  const base::Status st = book.AddRule(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("prices.yaml line 9"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("prices.yaml line 4"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("overlap"), std::string::npos);
  // Adjacent ranges, another capacity type or another region are different keys or times: accepted.
  b.from_unix_s = a.to_unix_s;
  EXPECT_TRUE(book.AddRule(b).ok());
  EXPECT_TRUE(book.AddRule(Instance("p5.48xlarge", 40 * kUsd, PriceCapacity::kSpot)).ok());
  EXPECT_TRUE(book.AddRule(Instance("p5.48xlarge", 90 * kUsd, PriceCapacity::kOnDemand, "eu-west-1")).ok());
  // GPU models compare normalised: "h100" and "NVIDIA H100" are the same key.
  ASSERT_TRUE(book.AddRule(GpuModel("h100", 4 * kUsd)).ok());
  EXPECT_FALSE(book.AddRule(GpuModel("NVIDIA H100", 5 * kUsd)).ok());
  // One default at a time.
  ASSERT_TRUE(book.AddRule(Default(kUsd)).ok());
  EXPECT_FALSE(book.AddRule(Default(2 * kUsd)).ok());
}

TEST(RuleValidation, BadValuesAreErrorsThatSayWhy) {
  PriceBook book;
  auto message = [&](PriceRule r) { return book.AddRule(std::move(r)).message(); };
  EXPECT_NE(message(Instance("x", -1)).find("negative price"), std::string::npos);
  EXPECT_NE(message(Instance("x", 200'000 * kUsd)).find("typo"), std::string::npos);
  EXPECT_NE(message(Instance("", kUsd)).find("instance type"), std::string::npos);
  PriceRule share = Instance("x", kUsd);
  share.gpu_share_ppm = 1'500'000;
  EXPECT_NE(message(share).find("GPU share"), std::string::npos);
  PriceRule dates = Instance("x", kUsd);
  dates.from_unix_s = 100;
  dates.to_unix_s = 100;
  EXPECT_NE(message(dates).find("before"), std::string::npos);
  EXPECT_NE(message(GpuModel("NVIDIA", kUsd)).find("GPU model"), std::string::npos);
  EXPECT_TRUE(book.rules().empty());
}

// ---- commitments

Commitment Reserved(std::string instance, std::int64_t gpus_covered, std::int64_t rate_per_node_hour) {
  Commitment c;
  c.name = "ri";
  c.instance_type = std::move(instance);
  c.coverage_gpus = gpus_covered;
  c.rate_micro = rate_per_node_hour;
  return c;
}

TEST(Commitments, DiscountOnAShareOfHours) {
  PriceBook book;
  ASSERT_TRUE(book.AddRule(Instance("p5.48xlarge", 100 * kUsd)).ok());
  Commitment sp;
  sp.kind = CommitmentKind::kSavingsPlan;
  sp.gpu_model = "H100";
  sp.discount_ppm = 400'000;        // 40% off
  sp.coverage_share_ppm = 500'000;  // half of every GPU-hour
  ASSERT_TRUE(book.AddCommitment(sp).ok());
  const NodePrice p = book.PriceNode(MakeNode("a", "p5.48xlarge", "NVIDIA H100 80GB HBM3", 8), kNow);
  EXPECT_EQ(p.list_bill_micro_per_hour, 100 * kUsd);
  EXPECT_EQ(p.effective_bill_micro_per_hour, 80 * kUsd);  // 50 at list + 50 x 0.6
  EXPECT_EQ(p.effective_micro_per_gpu_hour, 10 * kUsd);
  ASSERT_FALSE(p.notes.empty());
  EXPECT_NE(p.notes.back().find("covers 4 of 8 GPUs"), std::string::npos) << p.notes.back();
  // Not an H100: not covered.
  const NodePrice other = book.PriceNode(MakeNode("b", "p5.48xlarge", "NVIDIA A100-SXM4-80GB", 8), kNow);
  EXPECT_EQ(other.effective_bill_micro_per_hour, 100 * kUsd);
}

TEST(Commitments, FirstNGpusInNodeNameOrderAtAnExplicitRate) {
  PriceBook book;
  ASSERT_TRUE(book.AddRule(Instance("p5.48xlarge", 96 * kUsd)).ok());
  ASSERT_TRUE(book.AddCommitment(Reserved("p5.48xlarge", 12, 48 * kUsd)).ok());
  // Given out of name order: coverage follows names, not the vector.
  const std::vector<Node> fleet = {MakeNode("node-c", "p5.48xlarge", "", 8), MakeNode("node-a", "p5.48xlarge", "", 8),
                                   MakeNode("node-b", "p5.48xlarge", "", 8),
                                   MakeNode("node-0-spot", "p5.48xlarge", "", 8, CapacityType::kSpot)};
  const std::vector<NodePrice> p = book.PriceNodes(fleet, kNow);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[1].effective_bill_micro_per_hour, 48 * kUsd);  // node-a: 8 of 12
  EXPECT_EQ(p[2].effective_bill_micro_per_hour, 72 * kUsd);  // node-b: 4 covered at 6/GPU, 4 at 12/GPU
  EXPECT_EQ(p[2].effective_micro_per_gpu_hour, 9 * kUsd);
  EXPECT_EQ(p[0].effective_bill_micro_per_hour, 96 * kUsd);  // node-c: coverage used up
  EXPECT_EQ(p[3].effective_bill_micro_per_hour, 96 * kUsd);  // spot: never covered, though first by name
  for (const NodePrice& np : p) EXPECT_EQ(np.list_bill_micro_per_hour, 96 * kUsd);
  // Priced alone, a node takes the coverage itself.
  EXPECT_EQ(book.PriceNode(fleet[0], kNow).effective_bill_micro_per_hour, 48 * kUsd);
}

TEST(Commitments, ApplyInBookOrderEachCoveringOnlyWhatIsLeft) {
  PriceBook book;
  PriceRule r = Instance("p5.48xlarge", 80 * kUsd);
  r.gpu_share_ppm = 500'000;  // GPU bill 40/h
  ASSERT_TRUE(book.AddRule(r).ok());
  Commitment half;
  half.instance_type = "p5.48xlarge";
  half.discount_ppm = 500'000;
  half.coverage_share_ppm = 500'000;
  ASSERT_TRUE(book.AddCommitment(half).ok());
  // Then a reservation at 16/node-hour (GPU part at the rule's share: 8) for 2 GPUs.
  ASSERT_TRUE(book.AddCommitment(Reserved("p5.48xlarge", 2, 16 * kUsd)).ok());
  const NodePrice p = book.PriceNode(MakeNode("a", "p5.48xlarge", "", 8), kNow);
  // 4 GPUs at 2.5, 2 at 1, 2 at 5 per GPU-hour.
  EXPECT_EQ(p.effective_bill_micro_per_hour, 4 * 2'500'000 + 2 * 1'000'000 + 2 * 5'000'000);
  EXPECT_EQ(p.notes.size(), 2u);
}

TEST(Commitments, DatedCommitmentsSplitWindowsToo) {
  PriceBook book;
  ASSERT_TRUE(book.AddRule(Instance("g6.12xlarge", 4 * kUsd)).ok());
  Commitment c = Reserved("g6.12xlarge", 4, 2 * kUsd);
  c.from_unix_s = T("2026-01-01T00:00:00Z");
  ASSERT_TRUE(book.AddCommitment(c).ok());
  const Node n = MakeNode("a", "g6.12xlarge", "", 4);
  const auto spans = book.PriceWindow({n}, T("2025-12-31T22:00:00Z"), T("2026-01-01T02:00:00Z"));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].prices[0].effective_bill_micro_per_hour, 4 * kUsd);
  EXPECT_EQ(spans[1].prices[0].effective_bill_micro_per_hour, 2 * kUsd);
}

TEST(Commitments, InvalidCommitmentsAreErrors) {
  PriceBook book;
  Commitment c;
  c.discount_ppm = 100'000;
  EXPECT_FALSE(book.AddCommitment(c).ok());  // no target
  c.instance_type = "x";
  c.rate_micro = kUsd;
  EXPECT_FALSE(book.AddCommitment(c).ok());  // discount and rate
  c.rate_micro = -1;
  c.discount_ppm = 1'200'000;
  EXPECT_FALSE(book.AddCommitment(c).ok());  // > 100% off
  c.discount_ppm = 100'000;
  c.coverage_gpus = 0;
  EXPECT_FALSE(book.AddCommitment(c).ok());
  c.coverage_gpus = 8;
  EXPECT_TRUE(book.AddCommitment(c).ok());
}

// ---- currency and unpriced

TEST(Currency, IsoCodesOnly) {
  PriceBook book;
  EXPECT_EQ(book.currency(), "USD");
  EXPECT_TRUE(book.SetCurrency("EUR").ok());
  EXPECT_EQ(book.currency(), "EUR");
  for (const char* bad : {"usd", "US$", "DOLLARS", "", "EU"}) {
    const base::Status st = book.SetCurrency(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find("ISO 4217"), std::string::npos);
  }
  ASSERT_TRUE(book.AddRule(GpuModel("L4", kUsd)).ok());
  EXPECT_EQ(book.PriceNode(MakeNode("a", "", "NVIDIA L4", 1), kNow).currency, "EUR");
}

TEST(Unpriced, NoGuessesAndTheReasonSaysWhatWasLookedFor) {
  PriceBook book;
  PriceRule old = Named(Instance("p4d.24xlarge", 32 * kUsd), "old.yaml line 3");
  old.to_unix_s = T("2024-01-01T00:00:00Z");
  ASSERT_TRUE(book.AddRule(old).ok());
  ASSERT_TRUE(book.AddRule(GpuModel("H100", 4 * kUsd)).ok());

  const NodePrice p = book.PriceNode(MakeNode("a", "g6.xlarge", "NVIDIA L4", 1, CapacityType::kSpot), kNow);
  EXPECT_FALSE(p.priced());
  EXPECT_EQ(p.effective_micro_per_gpu_hour, 0);
  EXPECT_NE(p.unpriced_reason.find("instance type 'g6.xlarge'"), std::string::npos) << p.unpriced_reason;
  EXPECT_NE(p.unpriced_reason.find("GPU model 'L4'"), std::string::npos);
  EXPECT_NE(p.unpriced_reason.find("capacity spot"), std::string::npos);
  EXPECT_NE(p.unpriced_reason.find("no default"), std::string::npos);

  const NodePrice expired = book.PriceNode(MakeNode("a", "p4d.24xlarge", "", 8), kNow);
  EXPECT_FALSE(expired.priced());
  EXPECT_NE(expired.unpriced_reason.find("other times"), std::string::npos) << expired.unpriced_reason;
  EXPECT_NE(expired.unpriced_reason.find("old.yaml line 3"), std::string::npos);

  const NodePrice bare = book.PriceNode(MakeNode("a", "", "", 0), kNow);
  EXPECT_NE(bare.unpriced_reason.find("no instance type"), std::string::npos) << bare.unpriced_reason;

  // An instance price needs a GPU count to become a per-GPU price.
  ASSERT_TRUE(book.AddRule(Instance("g5.xlarge", kUsd)).ok());
  const NodePrice no_count = book.PriceNode(MakeNode("a", "g5.xlarge", "", 0), kNow);
  EXPECT_NE(no_count.unpriced_reason.find("GPU count is unknown"), std::string::npos) << no_count.unpriced_reason;
  PriceRule with_gpus = Instance("g6.xlarge", 800'000);
  with_gpus.gpus = 1;
  ASSERT_TRUE(book.AddRule(with_gpus).ok());
  EXPECT_EQ(book.PriceNode(MakeNode("a", "g6.xlarge", "", 0), kNow).effective_micro_per_gpu_hour, 800'000);

  // With a default, everything else is priced by it, and the rule says so.
  ASSERT_TRUE(book.AddRule(Named(Default(2 * kUsd), "book default line")).ok());
  const NodePrice d = book.PriceNode(MakeNode("a", "g6.2xlarge", "NVIDIA L4", 1), kNow);
  EXPECT_TRUE(d.priced());
  EXPECT_EQ(d.effective_micro_per_gpu_hour, 2 * kUsd);
  EXPECT_NE(d.rule.find("book default"), std::string::npos);
}

// ---- H100 equivalence

TEST(H100Equivalence, ByTflopsFromTheDatasheetTable) {
  PriceBook book;
  auto factor = [&](const char* m) { return book.H100Equivalent(m, EquivalenceMethod::kTflops, kNow); };
  EXPECT_DOUBLE_EQ(factor("NVIDIA-H100-80GB-HBM3").factor, 1.0);
  EXPECT_DOUBLE_EQ(factor("NVIDIA A100-SXM4-80GB").factor, 312.0 / 989.0);
  EXPECT_DOUBLE_EQ(factor("NVIDIA H100 PCIe").factor, 756.0 / 989.0);
  EXPECT_DOUBLE_EQ(factor("NVIDIA L4").factor, 121.0 / 989.0);
  EXPECT_DOUBLE_EQ(factor("NVIDIA L40S").factor, 362.0 / 989.0);
  EXPECT_DOUBLE_EQ(factor("Tesla-T4").factor, 65.0 / 989.0);
  EXPECT_DOUBLE_EQ(factor("NVIDIA B200").factor, 2250.0 / 989.0);
  EXPECT_NE(factor("NVIDIA A100-SXM4-80GB").basis.find("312"), std::string::npos);
  const H100Equivalence unknown = factor("NVIDIA RTX 2000 Ada Generation");
  EXPECT_FALSE(unknown.known());
  EXPECT_EQ(unknown.factor, 0);
  EXPECT_NE(unknown.unknown_reason.find("RTX 2000"), std::string::npos);
}

TEST(H100Equivalence, ByPriceRatioFromTheBook) {
  PriceBook book;
  EXPECT_FALSE(book.H100Equivalent("A100", EquivalenceMethod::kPrice, kNow).known());  // no H100 price yet
  ASSERT_TRUE(book.AddRule(GpuModel("H100", 4 * kUsd)).ok());
  ASSERT_TRUE(book.AddRule(GpuModel("A100 80GB", 2'500'000)).ok());
  ASSERT_TRUE(book.AddRule(GpuModel("A100", 1'500'000, PriceCapacity::kSpot)).ok());  // spot: not a list price
  PriceRule g6 = Instance("g6.xlarge", 800'000);
  g6.gpu_model = "NVIDIA L4";
  g6.gpus = 1;
  ASSERT_TRUE(book.AddRule(g6).ok());
  EXPECT_DOUBLE_EQ(book.H100Equivalent("NVIDIA A100-SXM4-80GB", EquivalenceMethod::kPrice, kNow).factor, 0.625);
  EXPECT_DOUBLE_EQ(book.H100Equivalent("NVIDIA L4", EquivalenceMethod::kPrice, kNow).factor, 0.2);  // via the instance
  const H100Equivalence a40 = book.H100Equivalent("NVIDIA A100-SXM4-40GB", EquivalenceMethod::kPrice, kNow);
  EXPECT_FALSE(a40.known());
  EXPECT_NE(a40.unknown_reason.find("A100 SXM 40GB"), std::string::npos);

  const std::vector<H100EquivalenceRow> table = book.H100EquivalenceTable(kNow);
  ASSERT_EQ(table.size(), GpuSpecTable().size());
  bool saw_l4 = false;
  for (const H100EquivalenceRow& row : table) {
    EXPECT_TRUE(row.by_tflops.known()) << row.model;
    EXPECT_FALSE(row.tflops_note.empty());
    if (row.model == "L4") {
      saw_l4 = true;
      EXPECT_EQ(row.list_micro_per_gpu_hour, 800'000);
      EXPECT_DOUBLE_EQ(row.by_price.factor, 0.2);
    }
  }
  EXPECT_TRUE(saw_l4);
}

TEST(H100Equivalence, MostSpecificTableEntryWins) {
  ASSERT_NE(FindGpuSpec("NVIDIA H100 NVL"), nullptr);
  EXPECT_EQ(FindGpuSpec("NVIDIA H100 NVL")->bf16_dense_tflops, 835);
  EXPECT_EQ(FindGpuSpec("H100")->bf16_dense_tflops, 989);
  EXPECT_EQ(FindGpuSpec("NVIDIA-H100-80GB-HBM3")->model, "H100 SXM");
  EXPECT_EQ(FindGpuSpec("Tesla V100-PCIE-16GB")->bf16_dense_tflops, 112);
  EXPECT_EQ(FindGpuSpec("NVIDIA L40")->bf16_dense_tflops, 181);  // not L40S
  EXPECT_EQ(FindGpuSpec("NVIDIA A10")->bf16_dense_tflops, 125);  // not A10G
  EXPECT_EQ(FindGpuSpec("NVIDIA RTX 4090"), nullptr);
}

}  // namespace
}  // namespace gpuwise::model
