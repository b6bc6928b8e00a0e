// libFuzzer target: price books (observe/price_book_load.h) on arbitrary bytes. Byte 0 picks the input: a YAML book,
// a CSV book, or one decimal number; the rest is the text.
// Properties: no crash, no sanitizer report, no exception; an error names the input ("fuzz.yaml") and says why;
// a book that loads prices every node of a fleet built from its own rules (and a node no rule names) at the
// rules' start and end times with no NaN anywhere: a priced node has non-negative rates, a rounding remainder of at
// most half a micro-unit per GPU, its book's currency; an unpriced one has a reason and zero figures; a window's
// price spans tile it exactly and match pricing at each span's start; every H100-equivalence factor is finite and
// non-negative. The same book written out as CSV (by this target) loads to the same rules and commitments (both
// formats give the same book for the same content; GPU model names are a fixed point of their normalisation).
// A decimal that parses prints back (six decimals) to the same micro-units.
#include <cmath>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "model/price_book.h"
#include "observe/price_book_load.h"

namespace model = gpuwise::model;
using gpuwise::observe::ParseDecimalMicro;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string Micro(std::int64_t v) {  // micro-units as an exact decimal
  char buf[48];
  const unsigned long long a = v < 0 ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  std::snprintf(buf, sizeof buf, "%s%llu.%06llu", v < 0 ? "-" : "", a / 1'000'000ULL, a % 1'000'000ULL);
  return buf;
}

std::string Cell(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Times go out as Unix seconds, which ParseTime reads exactly while a double holds them exactly.
bool When(std::int64_t t, std::int64_t none, std::string* out) {
  if (t == none) {
    *out = "";
    return true;
  }
  if (t > (1LL << 52) || t < -(1LL << 52)) return false;
  *out = std::to_string(t);
  return true;
}

// The book as CSV, every cell quoted; false when a value cannot be written exactly.
bool ToCsv(const model::PriceBook& book, std::string* csv) {
  *csv = "kind,instance_type,gpu_model,gpus,gpu_share,price,capacity_type,region,zone,from,to,currency,name,discount,"
         "rate,coverage_gpus,coverage_share\n";
  for (const model::PriceRule& r : book.rules()) {
    std::string from, to;
    if (!When(r.from_unix_s, model::kNoStart, &from) || !When(r.to_unix_s, model::kNoEnd, &to)) return false;
    const bool instance = r.kind == model::PriceRuleKind::kInstanceType;
    *csv += Cell(std::string(model::PriceRuleKindName(r.kind))) + "," + Cell(r.instance_type) + "," +
            Cell(r.kind == model::PriceRuleKind::kDefault ? "" : r.gpu_model) + "," +
            Cell(instance && r.gpus > 0 ? std::to_string(r.gpus) : "") + "," +
            Cell(instance ? Micro(r.gpu_share_ppm) : "") + "," + Cell(Micro(r.price_micro)) + "," +
            Cell(std::string(model::PriceCapacityName(r.capacity))) + "," + Cell(r.region) + "," + Cell(r.zone) +
            "," + Cell(from) + "," + Cell(to) + "," + Cell(book.currency()) + ",,,,,\n";
  }
  for (const model::Commitment& c : book.commitments()) {
    std::string from, to;
    if (!When(c.from_unix_s, model::kNoStart, &from) || !When(c.to_unix_s, model::kNoEnd, &to)) return false;
    *csv += Cell(std::string(model::CommitmentKindName(c.kind))) + "," + Cell(c.instance_type) + "," +
            Cell(c.gpu_model) + ",,,,," + Cell(c.region) + ",," + Cell(from) + "," + Cell(to) + "," +
            Cell(book.currency()) + "," + Cell(c.name) + "," + Cell(c.discount_ppm >= 0 ? Micro(c.discount_ppm) : "") +
            "," + Cell(c.rate_micro >= 0 ? Micro(c.rate_micro) : "") + "," +
            Cell(c.coverage_gpus >= 0 ? std::to_string(c.coverage_gpus) : "") + "," +
            Cell(c.coverage_gpus >= 0 ? "" : Micro(c.coverage_share_ppm)) + "\n";
  }
  return true;
}

bool SameRules(const model::PriceBook& a, const model::PriceBook& b) {
  const bool empty = a.rules().empty() && a.commitments().empty();  // an empty CSV book cannot name a currency
  if ((!empty && a.currency() != b.currency()) || a.rules().size() != b.rules().size() ||
      a.commitments().size() != b.commitments().size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.rules().size(); ++i) {
    const model::PriceRule &x = a.rules()[i], &y = b.rules()[i];
    if (x.kind != y.kind || x.instance_type != y.instance_type || x.gpu_model != y.gpu_model || x.gpus != y.gpus ||
        x.capacity != y.capacity || x.region != y.region || x.zone != y.zone || x.price_micro != y.price_micro ||
        x.gpu_share_ppm != y.gpu_share_ppm || x.from_unix_s != y.from_unix_s || x.to_unix_s != y.to_unix_s) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.commitments().size(); ++i) {
    const model::Commitment &x = a.commitments()[i], &y = b.commitments()[i];
    if (x.name != y.name || x.kind != y.kind || x.instance_type != y.instance_type || x.gpu_model != y.gpu_model ||
        x.region != y.region || x.discount_ppm != y.discount_ppm || x.rate_micro != y.rate_micro ||
        x.coverage_gpus != y.coverage_gpus || x.coverage_share_ppm != y.coverage_share_ppm ||
        x.from_unix_s != y.from_unix_s || x.to_unix_s != y.to_unix_s) {
      return false;
    }
  }
  return true;
}

model::CapacityType NodeCapacity(model::PriceCapacity c, std::size_t i) {
  switch (c) {
    case model::PriceCapacity::kOnDemand: return model::CapacityType::kOnDemand;
    case model::PriceCapacity::kSpot: return model::CapacityType::kSpot;
    case model::PriceCapacity::kReserved: return model::CapacityType::kReserved;
    case model::PriceCapacity::kAny: break;
  }
  return i % 2 ? model::CapacityType::kUnknown : model::CapacityType::kReserved;
}

void CheckPrice(const model::PriceBook& book, const model::NodePrice& p) {
  if (!p.priced()) {
    Check(p.list_micro_per_gpu_hour == 0 && p.effective_micro_per_gpu_hour == 0 && p.list_bill_micro_per_hour == 0 &&
          p.effective_bill_micro_per_hour == 0);
    return;
  }
  Check(p.currency == book.currency());
  Check(!p.rule.empty());
  Check(p.list_micro_per_gpu_hour >= 0 && p.effective_micro_per_gpu_hour >= 0);
  Check(p.list_bill_micro_per_hour >= 0 && p.effective_bill_micro_per_hour >= 0);
  Check(p.gpus >= 0);
  // Bill and rate are each rounded from the exact value (half a micro-unit each), so |bill - rate x gpus| is at most
  // (gpus + 1) / 2. model/price_book.h says gpus / 2, which an odd GPU count with a bill ending in .5 micro-units
  // exceeds by one half (corpus/price_book/regression_remainder_odd_gpus: 3 GPUs, bill 1.5 -> 2, rate 0.5 -> 0).
  Check(2 * std::llabs(p.list_remainder_micro()) <= p.gpus + 1);
  Check(2 * std::llabs(p.effective_remainder_micro()) <= p.gpus + 1);
}

void CheckBook(const model::PriceBook& book) {
  std::vector<model::Node> fleet;
  std::vector<std::int64_t> times = {0, 1'794'787'200};
  for (std::size_t i = 0; i < book.rules().size() && fleet.size() < 32; ++i) {
    const model::PriceRule& r = book.rules()[i];
    model::Node n;
    n.name = "node-" + std::to_string(i);
    n.instance_type = r.instance_type;
    n.gpu_product = r.gpu_model;
    n.region = r.region;
    n.zone = r.zone;
    n.capacity_type = NodeCapacity(r.capacity, i);
    n.gpu_count = static_cast<int>(i % 10);  // 0: the GPU count comes from the rule, or is unknown
    fleet.push_back(n);
    if (r.from_unix_s != model::kNoStart) times.push_back(r.from_unix_s);
    if (r.to_unix_s != model::kNoEnd) times.push_back(r.to_unix_s - 1);
  }
  for (std::size_t i = 0; i < book.commitments().size() && times.size() < 64; ++i) {
    const model::Commitment& c = book.commitments()[i];
    model::Node n;
    n.name = "committed-" + std::to_string(i);
    n.instance_type = c.instance_type;
    n.gpu_product = c.gpu_model;
    n.region = c.region;
    n.gpu_count = 8;
    fleet.push_back(n);
    if (c.from_unix_s != model::kNoStart) times.push_back(c.from_unix_s);
  }
  model::Node stranger;
  stranger.name = "stranger";
  stranger.instance_type = "no-such-instance";
  stranger.gpu_count = 4;
  fleet.push_back(stranger);
  for (std::int64_t t : times) {
    const std::vector<model::NodePrice> prices = book.PriceNodes(fleet, t);
    Check(prices.size() == fleet.size());
    for (const model::NodePrice& p : prices) CheckPrice(book, p);
    if (!prices.back().priced()) Check(!prices.back().unpriced_reason.empty());
    for (const model::Node& n : fleet) {
      for (auto method : {model::EquivalenceMethod::kPrice, model::EquivalenceMethod::kTflops}) {
        const model::H100Equivalence e = book.H100Equivalent(n.gpu_product, method, t);
        Check(std::isfinite(e.factor) && e.factor >= 0);
        Check(e.known() == e.unknown_reason.empty());
      }
      Check(book.ListPricePerGpuHour(n.gpu_product, t) >= -1);
    }
  }
  // A window's spans tile it and each is priced as at its start.
  const std::int64_t start = times.size() > 2 ? std::min(times[2], times[1]) - 86'400 : 0;
  const std::int64_t end = start + 90LL * 86'400;
  const std::vector<model::PriceSpan> spans = book.PriceWindow(fleet, start, end);
  Check(!spans.empty() && spans.front().from_unix_s == start && spans.back().to_unix_s == end);
  for (std::size_t i = 0; i < spans.size(); ++i) {
    Check(spans[i].from_unix_s < spans[i].to_unix_s);
    if (i > 0) Check(spans[i].from_unix_s == spans[i - 1].to_unix_s);
    Check(spans[i].prices.size() == fleet.size());
  }
  for (const model::H100EquivalenceRow& row : book.H100EquivalenceTable(times.back())) {
    Check(std::isfinite(row.by_price.factor) && std::isfinite(row.by_tflops.factor));
  }
  for (const model::PriceRule& r : book.rules()) {
    if (!r.gpu_model.empty()) Check(model::NormalizeGpuModel(r.gpu_model) == r.gpu_model);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
    case 1: {
      const bool yaml = data[0] % 3 == 0;
      const std::string source = yaml ? "fuzz.yaml" : "fuzz.csv";
      gpuwise::base::Result<model::PriceBook> book =
          yaml ? gpuwise::observe::ParsePriceBookYaml(text, source) : gpuwise::observe::ParsePriceBookCsv(text, source);
      if (!book.ok()) {
        Check(book.status().message().starts_with(source));
        return 0;
      }
      CheckBook(*book);
      std::string csv;
      if (ToCsv(*book, &csv)) {
        gpuwise::base::Result<model::PriceBook> again = gpuwise::observe::ParsePriceBookCsv(csv, "again.csv");
        Check(again.ok() && SameRules(*book, *again));
      }
      return 0;
    }
    default: {
      gpuwise::base::Result<std::int64_t> v = ParseDecimalMicro(text);
      if (!v.ok()) return 0;
      gpuwise::base::Result<std::int64_t> back = ParseDecimalMicro(Micro(*v));
      Check(back.ok() && *back == *v);
      return 0;
    }
  }
}
