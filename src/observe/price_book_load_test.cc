// Tests for reading price books: the YAML and CSV formats give the same book for the same content; errors name the
// file, line and field (negative price, NaN, unknown capacity type, bad or foreign currency, overlapping dates,
// unknown keys and columns); exact decimals; and the built-in default book, which must price every node of the demo
// scenario exactly as the simulator's ground truth does (sim::GpuHourPrice) and keep its per-GPU-model fallbacks
// within the issue's ranges.
#include "observe/price_book_load.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/time_parse.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace gpuwise::observe {
namespace {

using model::CapacityType;
using model::Node;
using model::NodePrice;
using model::PriceBook;
using model::PriceRule;

std::int64_t T(const char* rfc3339) { return *base::ParseTime(rfc3339) / 1000; }

const std::int64_t kNow = T("2026-11-18T12:00:00Z");

Node MakeNode(std::string name, std::string instance, std::string product, int gpus,
              CapacityType capacity = CapacityType::kOnDemand, std::string zone = "us-east-1a") {
  Node n;
  n.name = std::move(name);
  n.instance_type = std::move(instance);
  n.gpu_product = std::move(product);
  n.gpu_count = gpus;
  n.capacity_type = capacity;
  n.zone = zone;
  n.region = zone.empty() ? "" : zone.substr(0, zone.size() - 1);
  return n;
}

std::string ErrorOf(const base::Result<PriceBook>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

// ---- decimals

TEST(ParseDecimalMicro, ExactDecimalsAndRoundHalfToEvenBeyondMicros) {
  struct Case {
    const char* in;
    std::int64_t out;
  };
  const Case ok[] = {{"98.32", 98'320'000}, {"0.9", 900'000},         {"+4", 4'000'000},    {"12.", 12'000'000},
                     {".5", 500'000},       {"0", 0},                 {" 4.60 ", 4'600'000}, {"-3", -3'000'000},
                     {"1.0000005", 1'000'000},  // half, kept digit even: stays
                     {"1.0000015", 1'000'002},  // half, kept digit odd: up
                     {"1.00000051", 1'000'001}, {"0.0000004", 0},   {"000123.456789", 123'456'789}};
  for (const Case& c : ok) {
    auto v = ParseDecimalMicro(c.in);
    ASSERT_TRUE(v.ok()) << c.in << ": " << v.status().message();
    EXPECT_EQ(*v, c.out) << c.in;
  }
  struct Bad {
    const char* in;
    const char* why;
  };
  const Bad bad[] = {{"", "empty"},           {"NaN", "not a number"},    {".nan", "not a number"},
                     {"-inf", "finite"},      {"1e3", "exponents"},       {"$5", "decimal number"},
                     {"1,000", "decimal number"}, {"1.2.3", "decimal number"}, {"-", "decimal number"},
                     {"1234567890123", "too large"}};
  for (const Bad& b : bad) {
    auto v = ParseDecimalMicro(b.in);
    ASSERT_FALSE(v.ok()) << b.in;
    EXPECT_NE(v.status().message().find(b.why), std::string::npos) << b.in << ": " << v.status().message();
  }
}

// ---- one book, two formats

constexpr const char* kBookYaml = R"(apiVersion: gpuwise.io/v1alpha1
kind: PriceBook
name: acme
currency: EUR
default: {pricePerGpuHour: 3.10}
instances:
  - instanceType: p5.48xlarge
    gpuModel: NVIDIA H100 80GB HBM3
    gpus: 8
    pricePerHour: 90.5
    gpuShare: 0.9
    capacityType: on-demand
    to: 2025-06-01
  - {instanceType: p5.48xlarge, gpus: 8, pricePerHour: 50.25, gpuShare: 0.9, capacityType: on-demand, from: 2025-06-01}
  - {instanceType: g6.12xlarge, pricePerHour: 1.70, capacityType: spot, region: us-east-1, zone: us-east-1c, currency: EUR}
gpuModels:
  - {gpuModel: H100, pricePerGpuHour: 3.5}
  - {gpuModel: A100 80GB, pricePerGpuHour: 2.2, capacityType: spot, region: eu-west-1}
commitments:
  - name: p5-ri
    type: reserved
    instanceType: p5.48xlarge
    rate: 30
    coverage: {gpus: 12}
    from: 2026-01-01T00:00:00Z
  - {name: sp, type: savings-plan, gpuModel: A100, discount: 0.25, coverage: {share: 0.5}, region: eu-west-1}
)";

constexpr const char* kBookCsv =
    "# the same book as kBookYaml\n"
    "kind,instance_type,gpu_model,gpus,price,gpu_share,capacity_type,region,zone,from,to,currency,name,discount,rate,"
    "coverage_gpus,coverage_share,note\n"
    "default,,,,3.10,,,,,,,EUR,,,,,,\n"
    "instance,p5.48xlarge,NVIDIA H100 80GB HBM3,8,90.5,0.9,on-demand,,,,2025-06-01,,,,,,,\n"
    "instance,p5.48xlarge,,8,50.25,0.9,on-demand,,,2025-06-01,,,,,,,,\"list price, June 2025\"\n"
    "\n"
    "instance,g6.12xlarge,,,1.70,,spot,us-east-1,us-east-1c,,,EUR,,,,,,\n"
    "gpu-model,,H100,,3.5,,,,,,,,,,,,,\n"
    "gpu-model,,A100 80GB,,2.2,,spot,eu-west-1,,,,,,,,,,\n"
    "reserved,p5.48xlarge,,,,,,,,2026-01-01T00:00:00Z,,,p5-ri,,30,12,,\n"
    "savings-plan,,A100,,,,,eu-west-1,,,,,sp,0.25,,,0.5,\r\n";

bool SameRule(const PriceRule& a, const PriceRule& b) {
  return a.kind == b.kind && a.instance_type == b.instance_type && a.gpu_model == b.gpu_model && a.gpus == b.gpus &&
         a.capacity == b.capacity && a.region == b.region && a.zone == b.zone && a.price_micro == b.price_micro &&
         a.gpu_share_ppm == b.gpu_share_ppm && a.from_unix_s == b.from_unix_s && a.to_unix_s == b.to_unix_s;
}

bool SameCommitment(const model::Commitment& a, const model::Commitment& b) {
  return a.name == b.name && a.kind == b.kind && a.instance_type == b.instance_type && a.gpu_model == b.gpu_model &&
         a.region == b.region && a.discount_ppm == b.discount_ppm && a.rate_micro == b.rate_micro &&
         a.coverage_gpus == b.coverage_gpus && a.coverage_share_ppm == b.coverage_share_ppm &&
         a.from_unix_s == b.from_unix_s && a.to_unix_s == b.to_unix_s;
}

TEST(PriceBookFormats, YamlReadsEveryField) {
  auto book = ParsePriceBookYaml(kBookYaml, "acme.yaml");
  ASSERT_TRUE(book.ok()) << book.status().message();
  EXPECT_EQ(book->name(), "acme");
  EXPECT_EQ(book->currency(), "EUR");
  ASSERT_EQ(book->rules().size(), 6u);
  const PriceRule& p5 = book->rules()[1];
  EXPECT_EQ(p5.kind, model::PriceRuleKind::kInstanceType);
  EXPECT_EQ(p5.gpu_model, "H100 SXM 80GB");
  EXPECT_EQ(p5.gpus, 8);
  EXPECT_EQ(p5.price_micro, 90'500'000);
  EXPECT_EQ(p5.gpu_share_ppm, 900'000);
  EXPECT_EQ(p5.capacity, model::PriceCapacity::kOnDemand);
  EXPECT_EQ(p5.to_unix_s, T("2025-06-01T00:00:00Z"));
  EXPECT_EQ(p5.source, "acme.yaml line 7");
  EXPECT_EQ(book->rules()[0].kind, model::PriceRuleKind::kDefault);
  ASSERT_EQ(book->commitments().size(), 2u);
  EXPECT_EQ(book->commitments()[0].coverage_gpus, 12);
  EXPECT_EQ(book->commitments()[0].rate_micro, 30'000'000);
  EXPECT_EQ(book->commitments()[1].kind, model::CommitmentKind::kSavingsPlan);
  EXPECT_EQ(book->commitments()[1].coverage_share_ppm, 500'000);
  EXPECT_EQ(book->commitments()[1].discount_ppm, 250'000);
}

TEST(PriceBookFormats, CsvGivesTheSameBookAsYaml) {
  auto yaml = ParsePriceBookYaml(kBookYaml, "acme.yaml");
  auto csv = ParsePriceBookCsv(kBookCsv, "acme.csv");
  ASSERT_TRUE(yaml.ok()) << yaml.status().message();
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  EXPECT_EQ(csv->currency(), yaml->currency());
  ASSERT_EQ(csv->rules().size(), yaml->rules().size());
  for (std::size_t i = 0; i < yaml->rules().size(); ++i) {
    EXPECT_TRUE(SameRule(csv->rules()[i], yaml->rules()[i])) << "rule " << i << ": " << csv->rules()[i].Describe()
                                                             << " vs " << yaml->rules()[i].Describe();
  }
  ASSERT_EQ(csv->commitments().size(), yaml->commitments().size());
  for (std::size_t i = 0; i < yaml->commitments().size(); ++i) {
    EXPECT_TRUE(SameCommitment(csv->commitments()[i], yaml->commitments()[i])) << csv->commitments()[i].Describe();
  }
  EXPECT_EQ(csv->rules()[3].source, "acme.csv line 7");  // the blank line and the comment count
  // And they price a fleet identically, before and after the June change and the reservation.
  const std::vector<Node> fleet = {
      MakeNode("p5-a", "p5.48xlarge", "NVIDIA-H100-80GB-HBM3", 8), MakeNode("p5-b", "p5.48xlarge", "", 8),
      MakeNode("g6-spot", "g6.12xlarge", "NVIDIA-L4", 4, CapacityType::kSpot, "us-east-1c"),
      MakeNode("a100", "x", "NVIDIA A100-SXM4-80GB", 8, CapacityType::kSpot, "eu-west-1a"),
      MakeNode("a100-od", "x", "NVIDIA A100-SXM4-80GB", 8, CapacityType::kOnDemand, "eu-west-1a"),
      MakeNode("l4", "y", "NVIDIA L4", 1)};
  for (std::int64_t t : {T("2025-01-01T00:00:00Z"), T("2025-07-01T00:00:00Z"), kNow}) {
    const std::vector<NodePrice> a = yaml->PriceNodes(fleet, t), b = csv->PriceNodes(fleet, t);
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      EXPECT_TRUE(a[i].priced()) << fleet[i].name << ": " << a[i].unpriced_reason;
      EXPECT_EQ(a[i].effective_bill_micro_per_hour, b[i].effective_bill_micro_per_hour) << fleet[i].name;
      EXPECT_EQ(a[i].effective_micro_per_gpu_hour, b[i].effective_micro_per_gpu_hour) << fleet[i].name;
      EXPECT_EQ(a[i].list_micro_per_gpu_hour, b[i].list_micro_per_gpu_hour) << fleet[i].name;
      EXPECT_EQ(b[i].currency, "EUR");
    }
  }
  // The June price cut and the 2026 reservation, through the YAML book: 90.5 x 0.9, then 50.25 x 0.9, then 8 of
  // the reservation's 12 GPUs at 30 x 0.9 per node-hour.
  const Node p5 = fleet[0];
  EXPECT_EQ(yaml->PriceNode(p5, T("2025-01-01T00:00:00Z")).effective_bill_micro_per_hour, 81'450'000);
  EXPECT_EQ(yaml->PriceNode(p5, T("2025-07-01T00:00:00Z")).effective_bill_micro_per_hour, 45'225'000);
  EXPECT_EQ(yaml->PriceNode(p5, kNow).effective_bill_micro_per_hour, 27'000'000);
}

// ---- errors name the file, line and field

TEST(PriceBookErrors, YamlErrorsNameFileLineAndField) {
  const std::string head = "apiVersion: gpuwise.io/v1alpha1\nkind: PriceBook\n";
  struct Case {
    std::string body;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"instances:\n  - {instanceType: p5.48xlarge, pricePerHour: -3}\n",
       {"p.yaml line 4 column ", "instances[0].pricePerHour", "negative price"}},
      {"gpuModels:\n  - {gpuModel: H100, pricePerGpuHour: .nan}\n",
       {"p.yaml line 4", "gpuModels[0].pricePerGpuHour", "not a number"}},
      {"gpuModels:\n  - {gpuModel: H100, pricePerGpuHour: NaN}\n", {"line 4", "not a number"}},
      {"instances:\n  - {instanceType: p5.48xlarge, pricePerHour: 9, capacityType: preemptible}\n",
       {"line 4", "instances[0].capacityType", "unknown capacity type 'preemptible'"}},
      {"currency: dollars\n", {"p.yaml line 3", "currency", "ISO 4217"}},
      {"currency: USD\ngpuModels:\n  - {gpuModel: L4, pricePerGpuHour: 1, currency: EUR}\n",
       {"line 5", "gpuModels[0].currency", "differs from the book's USD"}},
      {"gpuModels:\n  - {gpuModel: L4, pricePerGpuHour: 1, currency: eur}\n", {"line 4", "ISO 4217"}},
      {"instances:\n  - {instanceType: p5.48xlarge, pricePerHour: 98, to: 2025-06-01}\n"
       "  - {instanceType: p5.48xlarge, pricePerHour: 55, from: 2025-05-01}\n",
       {"p.yaml line 5", "instances[1]", "overlap", "p.yaml line 4"}},
      {"instances:\n  - {instanceType: p5.48xlarge, pricePerHour: 98, from: next week}\n",
       {"line 4", "instances[0].from", "expected a date"}},
      {"instances:\n  - {instanceType: p5.48xlarge, price: 98}\n", {"line 4", "unknown key 'price'", "pricePerHour"}},
      {"instances:\n  - {instanceType: p5.48xlarge}\n", {"line 4", "missing instances[0].pricePerHour"}},
      {"gpuModels:\n  - {pricePerGpuHour: 2}\n", {"line 4", "missing gpuModels[0].gpuModel"}},
      {"instances:\n  - {instanceType: x, pricePerHour: 1, gpuShare: 1.5}\n", {"instances[0].gpuShare", "fraction"}},
      {"commitments:\n  - {type: reserved, instanceType: x, discount: 0.3, rate: 2}\n", {"line 4", "exactly one of"}},
      {"commitments:\n  - {type: lease, instanceType: x, discount: 0.3}\n", {"line 4", "unknown commitment type 'lease'"}},
      {"commitments:\n  - {type: reserved, gpuModel: A100, discount: 0.3, coverage: {gpus: 4, share: 0.5}}\n",
       {"at most one of"}},
      {"instances: {a: 1}\n", {"line 3", "instances must be a list"}},
      {"colour: blue\n", {"line 3", "unknown key 'colour'"}},
  };
  for (const Case& c : cases) {
    const std::string msg = ErrorOf(ParsePriceBookYaml(head + c.body, "p.yaml"));
    for (const std::string& w : c.want) EXPECT_NE(msg.find(w), std::string::npos) << "want '" << w << "' in: " << msg;
  }
  EXPECT_NE(ErrorOf(ParsePriceBookYaml("apiVersion: v1\nkind: ConfigMap\n", "p.yaml")).find("kind: PriceBook"),
            std::string::npos);
  EXPECT_NE(ErrorOf(ParsePriceBookYaml("a: [1, 2\n", "p.yaml")).find("not valid YAML"), std::string::npos);
  EXPECT_NE(ErrorOf(ParsePriceBookYaml("- 1\n", "p.yaml")).find("mapping"), std::string::npos);
}

TEST(PriceBookErrors, CsvErrorsNameFileLineAndColumn) {
  struct Case {
    std::string text;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"kind,instance_type,price\ninstance,p5.48xlarge,-98.32\n", {"p.csv line 2", "column 'price'", "negative price"}},
      {"kind,gpu_model,price\ngpu-model,H100,NaN\n", {"p.csv line 2", "column 'price'", "not a number"}},
      {"kind,gpu_model,price,capacity_type\ngpu-model,H100,4,preemptible\n",
       {"line 2", "column 'capacity_type'", "unknown capacity type"}},
      {"kind,gpu_model,price,currency\ngpu-model,H100,4,USD\ngpu-model,A100,2,EUR\n",
       {"line 3", "column 'currency'", "differs from the book's USD"}},
      {"kind,gpu_model,price,currency\ngpu-model,H100,4,US$\n", {"line 2", "ISO 4217"}},
      {"kind,instance_type,price,from,to\ninstance,p5,98,,2025-06-01\ninstance,p5,55,2025-05-01,\n",
       {"p.csv line 3", "overlap", "p.csv line 2"}},
      {"kind,instance_type,cost\n", {"line 1", "unknown column 'cost'"}},
      {"instance_type,price\np5,98\n", {"no 'kind' column"}},
      {"kind,instance_type,price\ninstance,p5\n", {"line 2", "2 fields, the header has 3"}},
      {"kind,instance_type,price\nmachine,p5,98\n", {"line 2", "unknown kind 'machine'"}},
      {"kind,instance_type,price,discount\ninstance,p5,98,0.2\n", {"line 2", "column 'discount'", "does not apply"}},
      {"kind,instance_type,price\ninstance,p5,\n", {"line 2", "missing column 'price'"}},
      {"kind,instance_type,price\ninstance,\"p5,98\n", {"unclosed quote"}},
      {"", {"no header row"}},
  };
  for (const Case& c : cases) {
    const std::string msg = ErrorOf(ParsePriceBookCsv(c.text, "p.csv"));
    for (const std::string& w : c.want) EXPECT_NE(msg.find(w), std::string::npos) << "want '" << w << "' in: " << msg;
  }
}

TEST(PriceBookFiles, LoadsByExtensionAndNamesAMissingFile) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("gpuwise-prices-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "book.CSV") << kBookCsv;
    std::ofstream(dir / "book.yaml") << kBookYaml;
  }
  auto csv = LoadPriceBook((dir / "book.CSV").string());
  auto yaml = LoadPriceBook((dir / "book.yaml").string());
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  ASSERT_TRUE(yaml.ok()) << yaml.status().message();
  EXPECT_EQ(csv->rules().size(), yaml->rules().size());
  EXPECT_NE(csv->rules()[0].source.find("book.CSV line 3"), std::string::npos) << csv->rules()[0].source;
  auto missing = LoadPriceBook((dir / "nope.yaml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.yaml"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// ---- the built-in default book

TEST(DefaultPriceBook, LoadsAndEveryRuleSaysWhereItCameFrom) {
  auto book = DefaultPriceBook();
  ASSERT_TRUE(book.ok()) << book.status().message();
  EXPECT_EQ(book->currency(), "USD");
  EXPECT_GT(book->rules().size(), 20u);
  for (const PriceRule& r : book->rules()) {
    EXPECT_NE(r.source.find("default_prices.yaml line "), std::string::npos);
    EXPECT_NE(r.kind, model::PriceRuleKind::kDefault) << "the default book sets no book default: no guesses";
  }
  EXPECT_NE(DefaultPriceBookYaml().find("NOT QUOTES"), std::string::npos);
  // A GPU the book does not know is unpriced, with the reason.
  const NodePrice p = book->PriceNode(MakeNode("x", "custom-box", "NVIDIA GeForce RTX 4090", 1), kNow);
  EXPECT_FALSE(p.priced());
  EXPECT_NE(p.unpriced_reason.find("custom-box"), std::string::npos);
}

TEST(DefaultPriceBook, PerGpuModelFallbacksAreWithinTheIssuesRanges) {
  auto book = DefaultPriceBook();
  ASSERT_TRUE(book.ok());
  int h100 = 0, a100 = 0;
  for (const PriceRule& r : book->rules()) {
    if (r.kind != model::PriceRuleKind::kGpuModel) continue;
    if (model::ParseGpuModel(r.gpu_model).family == "H100") {
      ++h100;
      EXPECT_GE(r.price_micro, 2'500'000) << r.Describe();  // $2.50-6 on neo-clouds, $4-6 on hyperscalers
      EXPECT_LE(r.price_micro, 6'000'000) << r.Describe();
    }
    if (model::ParseGpuModel(r.gpu_model).family == "A100") {
      ++a100;
      EXPECT_GT(r.price_micro, 0) << r.Describe();  // from under $1 to about $5
      EXPECT_LE(r.price_micro, 5'000'000) << r.Describe();
    }
  }
  EXPECT_GT(h100, 0);
  EXPECT_GT(a100, 0);
  // An H100 node on an unlisted instance type falls back to the per-GPU-model price.
  const NodePrice p = book->PriceNode(MakeNode("x", "some-neocloud-8x", "NVIDIA H100 80GB HBM3", 8), kNow);
  ASSERT_TRUE(p.priced()) << p.unpriced_reason;
  EXPECT_EQ(p.effective_micro_per_gpu_hour, 4'000'000);
  EXPECT_NE(p.rule.find("gpu-model H100"), std::string::npos);
  // By price the A100 80GB is 2.50 / 4.00 of an H100.
  EXPECT_DOUBLE_EQ(book->H100Equivalent("NVIDIA A100-SXM4-80GB", model::EquivalenceMethod::kPrice, kNow).factor, 0.625);
}

// Every node the demo scenario lays out, read from its labels as the Kubernetes reader would (instance type,
// topology, capacity type, GFD product and count), is priced by the default book at exactly the simulator's ground
// truth: node price / GPUs.
TEST(DefaultPriceBook, PricesEveryDemoNodeAsTheSimulatorDoes) {
  auto book = DefaultPriceBook();
  ASSERT_TRUE(book.ok()) << book.status().message();
  auto scenario = sim::BuiltinScenario("demo");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  auto world = sim::BuildWorld(*scenario);
  ASSERT_TRUE(world.ok()) << world.status().message();

  std::vector<Node> fleet;
  for (const sim::SimNode& sn : world->nodes) {
    const auto& l = sn.meta.labels;
    auto label = [&](const char* k) { return l.count(k) ? l.at(k) : std::string(); };
    Node n;
    n.name = sn.meta.name;
    n.instance_type = label("node.kubernetes.io/instance-type");
    n.region = label("topology.kubernetes.io/region");
    n.zone = label("topology.kubernetes.io/zone");
    const std::string cap = label("karpenter.sh/capacity-type");
    n.capacity_type = cap == "spot" ? CapacityType::kSpot : cap == "on-demand" ? CapacityType::kOnDemand : CapacityType::kUnknown;
    n.gpu_product = label("nvidia.com/gpu.product");
    n.gpu_count = std::stoi(label("nvidia.com/gpu.count"));
    fleet.push_back(std::move(n));
  }
  ASSERT_EQ(fleet.size(), 10u);
  const std::vector<NodePrice> prices = book->PriceNodes(fleet, world->options.epoch_unix_s + 3 * 86400);
  int spot = 0;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const NodePrice& p = prices[i];
    const sim::NodePool& pool = scenario->node_pools[static_cast<std::size_t>(world->nodes[i].pool)];
    ASSERT_TRUE(p.priced()) << fleet[i].name << ": " << p.unpriced_reason;
    EXPECT_EQ(p.effective_micro_per_gpu_hour, sim::GpuHourPrice(*world, static_cast<int>(i)).value) << fleet[i].name;
    EXPECT_EQ(p.effective_bill_micro_per_hour, pool.price_per_node_hour.value) << fleet[i].name;
    EXPECT_EQ(p.effective_remainder_micro(), 0) << fleet[i].name;
    EXPECT_NE(p.rule.find("instance " + fleet[i].instance_type), std::string::npos) << p.rule;
    if (fleet[i].capacity_type == CapacityType::kSpot) {
      ++spot;
      EXPECT_EQ(p.list_micro_per_gpu_hour, 1'150'000);  // the on-demand g6.12xlarge, 4.60 / 4
      EXPECT_EQ(p.effective_micro_per_gpu_hour, 460'000);
    } else {
      EXPECT_EQ(p.list_micro_per_gpu_hour, p.effective_micro_per_gpu_hour);
    }
  }
  EXPECT_EQ(spot, 1);
}

}  // namespace
}  // namespace gpuwise::observe
