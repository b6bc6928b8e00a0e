#include "model/price_book.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "base/time_parse.h"

namespace gpuwise::model {
namespace {

// Exact money arithmetic: a node price (<= 1e11 µ) x share (ppm) x 1e6 x GPUs (<= 1024) x 1e6 stays below 2^127.
__extension__ typedef __int128 Int128;

constexpr std::int64_t kMaxPriceMicro = 100'000LL * 1'000'000LL;  // $100,000 per hour: above it, a typo
constexpr int kMaxGpus = 1024;                                    // per node or instance
constexpr Int128 kE6 = 1'000'000;
constexpr Int128 kE12 = kE6 * kE6;

// num / den rounded half to even; den > 0.
Int128 RoundHalfEven(Int128 num, Int128 den) {
  if (num < 0) return -RoundHalfEven(-num, den);
  Int128 q = num / den;
  const Int128 r2 = (num % den) * 2;
  if (r2 > den || (r2 == den && q % 2 != 0)) ++q;
  return q;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- GPU model names

bool IsMemoryToken(std::string_view t, std::string* out) {
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  if (digits == 0) return false;
  const std::string_view unit = t.substr(digits);
  if (unit != "GB" && unit != "G") return false;
  *out = std::string(t.substr(0, digits)) + "GB";
  return true;
}

GpuModelParts ParseModelImpl(std::string_view name) {
  const std::string s = Upper(name);
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '_' || c == '/' || c == '\t') {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  // GFD appends "-MIG-<profile>" (single strategy) and "-SHARED" (time-slicing or MPS without renaming): a MIG
  // token ends the name, SHARED tokens are dropped (after the first token, so the result parses to itself).
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    if (tokens[i] == "MIG") {
      tokens.resize(i);
      break;
    }
  }
  for (std::size_t i = tokens.size(); i-- > 1;) {
    if (tokens[i] == "SHARED") tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i));
  }

  GpuModelParts m;
  std::string memtech;
  std::vector<std::string> family;
  for (const std::string& t : tokens) {
    if (t == "NVIDIA" || t == "TESLA" || t == "TENSOR" || t == "CORE" || t == "GPU") continue;
    if (t.starts_with("HBM") || t.starts_with("GDDR")) {
      memtech = t;
      continue;
    }
    if (t.starts_with("SXM") && (t.size() == 3 || (t.size() == 4 && std::isdigit(static_cast<unsigned char>(t[3]))))) {
      m.form = "SXM";
      continue;
    }
    if (t == "PCIE") {
      m.form = "PCIe";
      continue;
    }
    if (t == "NVL") {
      m.form = "NVL";
      continue;
    }
    std::string mem;
    if (IsMemoryToken(t, &mem)) {
      m.memory = mem;
      continue;
    }
    family.push_back(t);
  }
  for (std::size_t i = 0; i < family.size(); ++i) m.family += (i ? " " : "") + family[i];
  // dcgm and GFD name the SXM5 H100 "NVIDIA H100 80GB HBM3"; the PCIe and NVL parts say so (HBM2e / NVL).
  if (m.family == "H100" && m.form.empty() && memtech.starts_with("HBM3")) m.form = "SXM";
  if (m.family.empty()) return {};
  return m;
}

std::string Canonical(const GpuModelParts& m) {
  if (m.family.empty()) return "";
  std::string out = m.family;
  if (!m.form.empty()) out += " " + m.form;
  if (!m.memory.empty()) out += " " + m.memory;
  return out;
}

bool Covers(const GpuModelParts& pattern, const GpuModelParts& model) {
  if (pattern.family.empty() || pattern.family != model.family) return false;
  if (!pattern.form.empty() && pattern.form != model.form) return false;
  if (!pattern.memory.empty() && pattern.memory != model.memory) return false;
  return true;
}

int Specificity(const GpuModelParts& m) { return (m.form.empty() ? 0 : 1) + (m.memory.empty() ? 0 : 1); }

// ---- formatting

std::string FormatWhen(std::int64_t unix_s) { return base::FormatTime(unix_s * 1000); }

std::string FormatDates(std::int64_t from, std::int64_t to) {
  std::string out;
  if (from != kNoStart) out += " from " + FormatWhen(from);
  if (to != kNoEnd) out += " until " + FormatWhen(to);
  return out;
}

// 400000 -> "40%", 123450 -> "12.345%".
std::string FormatPpmPercent(std::int64_t ppm) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%04lld", static_cast<long long>(ppm / 10000), static_cast<long long>(ppm % 10000));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "%";
}

// ppm-GPUs (GPUs x 1e6) -> "8" or "2.5".
std::string FormatPpmGpus(Int128 ppm_gpus) {
  const long long whole = static_cast<long long>(ppm_gpus / kE6);
  const long long frac = static_cast<long long>(ppm_gpus % kE6);
  if (frac == 0) return std::to_string(whole);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", whole, frac);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  return s;
}

std::string WithSource(const std::string& what, const std::string& source) {
  return source.empty() ? what : what + " (" + source + ")";
}

// ---- matching

// -1: the rule does not apply to a node of this capacity type.
int CapacityScore(PriceCapacity rule, CapacityType node) {
  switch (rule) {
    case PriceCapacity::kAny: return 0;
    case PriceCapacity::kOnDemand:
      if (node == CapacityType::kOnDemand) return 2;
      return node == CapacityType::kUnknown || node == CapacityType::kReserved ? 1 : -1;
    case PriceCapacity::kSpot: return node == CapacityType::kSpot ? 2 : -1;
    case PriceCapacity::kReserved: return node == CapacityType::kReserved ? 2 : -1;
  }
  return -1;
}

int LocationScore(const PriceRule& r, const Node& n) {
  if (!r.zone.empty() && !EqualsIgnoreCase(r.zone, n.zone)) return -1;
  if (!r.region.empty() && !EqualsIgnoreCase(r.region, n.region)) return -1;
  return (r.zone.empty() ? 0 : 2) + (r.region.empty() ? 0 : 1);
}

struct Score {
  int kind = -1, capacity = -1, location = -1, model = -1;
  auto operator<=>(const Score&) const = default;
};

// The rule's score for this node as if bought as `capacity`, ignoring dates; kind == -1 when it does not apply.
Score RuleScore(const PriceRule& r, const GpuModelParts& pattern, const Node& node, const GpuModelParts& model,
                CapacityType capacity) {
  Score s;
  switch (r.kind) {
    case PriceRuleKind::kInstanceType:
      if (node.instance_type.empty() || !EqualsIgnoreCase(r.instance_type, node.instance_type)) return {};
      s.kind = 2;
      s.model = 0;
      break;
    case PriceRuleKind::kGpuModel:
      if (!Covers(pattern, model)) return {};
      s.kind = 1;
      s.model = Specificity(pattern);
      break;
    case PriceRuleKind::kDefault:
      s.kind = 0;
      s.model = 0;
      break;
  }
  s.capacity = CapacityScore(r.capacity, capacity);
  s.location = LocationScore(r, node);
  if (s.capacity < 0 || s.location < 0) return {};
  return s;
}

// The book's rules with their GPU models parsed once.
struct RuleSet {
  const std::vector<PriceRule>& rules;
  const std::vector<GpuModelParts>& models;
};

const PriceRule* BestRule(const RuleSet& set, const Node& node, const GpuModelParts& model, CapacityType capacity,
                          std::int64_t t) {
  const PriceRule* best = nullptr;
  Score best_score;
  for (std::size_t i = 0; i < set.rules.size(); ++i) {
    const PriceRule& r = set.rules[i];
    if (!r.InEffect(t)) continue;
    const Score s = RuleScore(r, set.models[i], node, model, capacity);
    if (s.kind < 0) continue;
    if (best == nullptr || s > best_score) {  // strictly better: ties go to the rule listed first
      best = &r;
      best_score = s;
    }
  }
  return best;
}

// The GPU part of a node's bill per hour under `rule`, over 1e12 micro-units.
Int128 BillNum(const PriceRule& rule, int gpus) {
  if (rule.kind == PriceRuleKind::kInstanceType) return Int128(rule.price_micro) * rule.gpu_share_ppm * kE6;
  return Int128(rule.price_micro) * gpus * kE12;
}

bool CommitmentMatches(const Commitment& c, const GpuModelParts& target, const Node& node, const GpuModelParts& model) {
  if (node.capacity_type == CapacityType::kSpot) return false;
  if (!c.region.empty() && !EqualsIgnoreCase(c.region, node.region)) return false;
  if (!c.instance_type.empty()) return !node.instance_type.empty() && EqualsIgnoreCase(c.instance_type, node.instance_type);
  return Covers(target, model);
}

struct Portion {
  const Commitment* commitment = nullptr;
  Int128 ppm_gpus = 0;   // GPU-hours covered, x 1e6
  Int128 bill_num = 0;   // the node's GPU bill per hour at the committed rate, over 1e12
};

struct Work {
  NodePrice price;
  GpuModelParts model;
  const PriceRule* rate = nullptr;
  Int128 rate_bill_num = 0;
  Int128 uncovered = 0;  // ppm-GPUs no commitment covers
  std::vector<Portion> portions;
};

std::string NoRuleReason(const RuleSet& set, const Node& node, const GpuModelParts& model, std::int64_t t) {
  std::string what;
  if (node.instance_type.empty() && model.family.empty()) {
    what = "the node has no instance type (node.kubernetes.io/instance-type) and no GPU model (nvidia.com/gpu.product)";
  } else {
    what = "no rule in the book prices ";
    std::string parts;
    if (!node.instance_type.empty()) parts += "instance type '" + node.instance_type + "'";
    if (!model.family.empty()) parts += std::string(parts.empty() ? "" : " or ") + "GPU model '" + Canonical(model) + "'";
    what += parts;
    std::string where;
    if (!node.region.empty()) where += "region " + node.region;
    if (!node.zone.empty()) where += std::string(where.empty() ? "" : ", ") + "zone " + node.zone;
    where += std::string(where.empty() ? "" : ", ") + "capacity " + std::string(CapacityTypeName(node.capacity_type));
    what += " (" + where + ")";
  }
  what += "; the book sets no default";
  int other_times = 0;
  const PriceRule* example = nullptr;
  for (std::size_t i = 0; i < set.rules.size(); ++i) {
    const PriceRule& r = set.rules[i];
    if (r.InEffect(t) || RuleScore(r, set.models[i], node, model, node.capacity_type).kind < 0) continue;
    ++other_times;
    if (example == nullptr) example = &r;
  }
  if (other_times > 0) {
    what += "; " + std::to_string(other_times) + " rule" + (other_times > 1 ? "s" : "") +
            " would price it at other times, e.g. " + WithSource(example->Describe(), example->source);
  }
  return what;
}

// Everything but commitments, for one node.
Work PriceBase(const RuleSet& rules, const std::string& currency, const Node& node, std::int64_t t) {
  Work w;
  w.model = ParseModelImpl(node.gpu_product);
  w.price.currency = currency;
  const PriceRule* rate = BestRule(rules, node, w.model, node.capacity_type, t);
  if (rate == nullptr) {
    w.price.unpriced_reason = NoRuleReason(rules, node, w.model, t);
    return w;
  }
  const bool instance = rate->kind == PriceRuleKind::kInstanceType;
  int gpus = node.gpu_count > 0 ? node.gpu_count : (instance ? rate->gpus : 0);
  if (gpus > kMaxGpus) {
    w.price.unpriced_reason = "the node reports " + std::to_string(gpus) + " GPUs (more than " +
                              std::to_string(kMaxGpus) + "): not priced";
    return w;
  }
  if (instance && gpus <= 0) {
    w.price.unpriced_reason = WithSource(rate->Describe(), rate->source) +
                              " gives the node's price, but its GPU count is unknown (no nvidia.com/gpu.count label, "
                              "and the rule sets no gpus)";
    return w;
  }
  if (instance && node.gpu_count > 0 && rate->gpus > 0 && rate->gpus != node.gpu_count) {
    w.price.notes.push_back("the node reports " + std::to_string(node.gpu_count) + " GPUs, the rule says the instance has " +
                            std::to_string(rate->gpus) + ": the node's GPU bill is spread over its " +
                            std::to_string(node.gpu_count));
  }
  if (rate->capacity == PriceCapacity::kOnDemand && node.capacity_type == CapacityType::kUnknown) {
    w.price.notes.push_back("capacity type unknown (no capacity-type label): priced as on-demand");
  } else if (rate->capacity == PriceCapacity::kOnDemand && node.capacity_type == CapacityType::kReserved) {
    w.price.notes.push_back("reserved node priced at the on-demand rate (the book has no reserved rule for it)");
  } else if (rate->capacity == PriceCapacity::kAny && node.capacity_type == CapacityType::kSpot) {
    w.price.notes.push_back("spot node priced by a rule for any capacity type (the book has no spot rule for it)");
  }
  const PriceRule* list = rate;
  if (node.capacity_type == CapacityType::kSpot || node.capacity_type == CapacityType::kReserved) {
    if (const PriceRule* od = BestRule(rules, node, w.model, CapacityType::kOnDemand, t)) list = od;
  }
  w.rate = rate;
  w.price.gpus = gpus;
  w.price.rule = WithSource(rate->Describe(), rate->source);
  w.price.list_rule = WithSource(list->Describe(), list->source);
  if (gpus <= 0) {  // a GPU-model or default rule on a node whose GPU count is unknown: the rate, no bill
    w.price.list_micro_per_gpu_hour = list->kind == PriceRuleKind::kInstanceType ? 0 : list->price_micro;
    w.price.effective_micro_per_gpu_hour = rate->price_micro;
    w.price.notes.push_back("GPU count unknown (no nvidia.com/gpu.count label): per-GPU rate only, no node bill");
    return w;
  }
  const int list_gpus = gpus;
  const Int128 list_num = BillNum(*list, list_gpus);
  w.price.list_bill_micro_per_hour = static_cast<std::int64_t>(RoundHalfEven(list_num, kE12));
  w.price.list_micro_per_gpu_hour = static_cast<std::int64_t>(RoundHalfEven(list_num, kE12 * list_gpus));
  w.rate_bill_num = BillNum(*rate, gpus);
  w.uncovered = Int128(gpus) * kE6;
  return w;
}

void Finish(Work& w) {
  NodePrice& p = w.price;
  if (!p.priced() || w.rate == nullptr || p.gpus <= 0) return;
  const Int128 gpus = p.gpus;
  // Sum over portions of (ppm-GPUs x node bill at that rate); the exact effective bill is sum / (gpus x 1e6 x 1e12).
  Int128 sum = w.uncovered * w.rate_bill_num;
  for (const Portion& portion : w.portions) sum += portion.ppm_gpus * portion.bill_num;
  p.effective_bill_micro_per_hour = static_cast<std::int64_t>(RoundHalfEven(sum, gpus * kE6 * kE12));
  p.effective_micro_per_gpu_hour = static_cast<std::int64_t>(RoundHalfEven(sum, gpus * gpus * kE6 * kE12));
}

}  // namespace

// ---- names

std::string NormalizeGpuModel(std::string_view name) { return Canonical(ParseModelImpl(name)); }

GpuModelParts ParseGpuModel(std::string_view name) { return ParseModelImpl(name); }

bool GpuModelCovers(std::string_view pattern, std::string_view model) {
  return Covers(ParseModelImpl(pattern), ParseModelImpl(model));
}

int GpuModelSpecificity(std::string_view pattern) { return Specificity(ParseModelImpl(pattern)); }

std::string_view PriceRuleKindName(PriceRuleKind k) {
  switch (k) {
    case PriceRuleKind::kInstanceType: return "instance";
    case PriceRuleKind::kGpuModel: return "gpu-model";
    case PriceRuleKind::kDefault: return "default";
  }
  return "?";
}

std::string_view PriceCapacityName(PriceCapacity c) {
  switch (c) {
    case PriceCapacity::kAny: return "any";
    case PriceCapacity::kOnDemand: return "on-demand";
    case PriceCapacity::kSpot: return "spot";
    case PriceCapacity::kReserved: return "reserved";
  }
  return "?";
}

bool ParsePriceCapacity(std::string_view text, PriceCapacity* out) {
  const std::string t = Lower(text);
  for (PriceCapacity c : {PriceCapacity::kAny, PriceCapacity::kOnDemand, PriceCapacity::kSpot, PriceCapacity::kReserved}) {
    if (t == PriceCapacityName(c)) {
      *out = c;
      return true;
    }
  }
  return false;
}

std::string_view CommitmentKindName(CommitmentKind k) {
  return k == CommitmentKind::kReserved ? "reserved" : "savings-plan";
}

std::string_view EquivalenceMethodName(EquivalenceMethod m) { return m == EquivalenceMethod::kPrice ? "price" : "tflops"; }

std::string FormatMicro(std::int64_t micro, std::string_view currency) {
  const bool neg = micro < 0;
  const std::uint64_t a = neg ? 0 - static_cast<std::uint64_t>(micro) : static_cast<std::uint64_t>(micro);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%llu.%06llu", neg ? "-" : "", static_cast<unsigned long long>(a / 1000000),
                static_cast<unsigned long long>(a % 1000000));
  return std::string(buf) + (currency.empty() ? "" : " " + std::string(currency));
}

std::string PriceRule::Describe() const {
  std::string out;
  switch (kind) {
    case PriceRuleKind::kInstanceType: out = "instance " + instance_type; break;
    case PriceRuleKind::kGpuModel: out = "gpu-model " + gpu_model; break;
    case PriceRuleKind::kDefault: out = "book default"; break;
  }
  if (capacity != PriceCapacity::kAny) out += " " + std::string(PriceCapacityName(capacity));
  if (!region.empty()) out += " region " + region;
  if (!zone.empty()) out += " zone " + zone;
  return out + FormatDates(from_unix_s, to_unix_s);
}

std::string Commitment::Describe() const {
  std::string out(CommitmentKindName(kind));
  if (!name.empty()) out += " '" + name + "'";
  out += " (" + (instance_type.empty() ? "gpu-model " + gpu_model : "instance " + instance_type);
  if (!region.empty()) out += " region " + region;
  out += coverage_gpus >= 0 ? ", first " + std::to_string(coverage_gpus) + " GPUs"
                            : ", " + FormatPpmPercent(coverage_share_ppm) + " of GPU-hours";
  if (discount_ppm >= 0) {
    out += ", " + FormatPpmPercent(discount_ppm) + " off";
  } else {
    out += ", rate " + FormatMicro(rate_micro, "") + (instance_type.empty() ? " per GPU-hour" : " per node-hour");
  }
  return out + ")" + FormatDates(from_unix_s, to_unix_s);
}

// ---- the book

base::Status PriceBook::SetCurrency(std::string_view code) {
  bool ok = code.size() == 3;
  for (char c : code) ok = ok && c >= 'A' && c <= 'Z';
  if (!ok) {
    return base::InvalidArgument("currency '" + std::string(code) +
                                 "': expected an ISO 4217 code, three capital letters such as USD or EUR");
  }
  currency_ = std::string(code);
  return base::Status::Ok();
}

base::Status PriceBook::AddRule(PriceRule rule) {
  const std::string what = WithSource(rule.Describe(), rule.source);
  auto bad = [&](const std::string& why) { return base::InvalidArgument(what + ": " + why); };
  if (rule.price_micro < 0) return bad("negative price");
  if (rule.price_micro > kMaxPriceMicro) return bad("price above 100000 per hour (a typo?)");
  if (rule.from_unix_s >= rule.to_unix_s) return bad("'from' must be before 'to'");
  switch (rule.kind) {
    case PriceRuleKind::kInstanceType:
      if (rule.instance_type.empty()) return bad("an instance rule needs an instance type");
      if (rule.gpus < 0 || rule.gpus > kMaxGpus) return bad("gpus must be 0.." + std::to_string(kMaxGpus));
      if (rule.gpu_share_ppm <= 0 || rule.gpu_share_ppm > kPpm) return bad("the GPU share must be above 0 and at most 1");
      if (!rule.gpu_model.empty()) {
        const std::string norm = NormalizeGpuModel(rule.gpu_model);
        if (norm.empty()) return bad("unreadable GPU model '" + rule.gpu_model + "'");
        rule.gpu_model = norm;
      }
      break;
    case PriceRuleKind::kGpuModel: {
      const std::string norm = NormalizeGpuModel(rule.gpu_model);
      if (norm.empty()) return bad("a GPU-model rule needs a GPU model (got '" + rule.gpu_model + "')");
      if (!rule.instance_type.empty()) return bad("a GPU-model rule has no instance type");
      rule.gpu_model = norm;
      rule.gpu_share_ppm = kPpm;
      rule.gpus = 0;
      break;
    }
    case PriceRuleKind::kDefault:
      if (!rule.instance_type.empty() || !rule.gpu_model.empty()) return bad("the book default names no instance or GPU");
      rule.gpu_share_ppm = kPpm;
      rule.gpus = 0;
      break;
  }
  for (const PriceRule& r : rules_) {
    const bool same_key = r.kind == rule.kind && EqualsIgnoreCase(r.instance_type, rule.instance_type) &&
                          (r.kind != PriceRuleKind::kGpuModel || r.gpu_model == rule.gpu_model) &&
                          r.capacity == rule.capacity && EqualsIgnoreCase(r.region, rule.region) &&
                          EqualsIgnoreCase(r.zone, rule.zone);
    if (same_key && rule.from_unix_s < r.to_unix_s && r.from_unix_s < rule.to_unix_s) {
      return base::InvalidArgument(what + ": effective dates overlap " + WithSource(r.Describe(), r.source) +
                                   ", a rule for the same instance or GPU model, capacity type and location");
    }
  }
  rule_models_.push_back(ParseModelImpl(rule.kind == PriceRuleKind::kGpuModel ? rule.gpu_model : std::string()));
  rules_.push_back(std::move(rule));
  return base::Status::Ok();
}

base::Status PriceBook::AddCommitment(Commitment c) {
  const std::string what = WithSource(c.Describe(), c.source);
  auto bad = [&](const std::string& why) { return base::InvalidArgument(what + ": " + why); };
  if (c.instance_type.empty() == c.gpu_model.empty()) return bad("name exactly one of an instance type and a GPU model");
  if (!c.gpu_model.empty()) {
    const std::string norm = NormalizeGpuModel(c.gpu_model);
    if (norm.empty()) return bad("unreadable GPU model '" + c.gpu_model + "'");
    c.gpu_model = norm;
  }
  if ((c.discount_ppm >= 0) == (c.rate_micro >= 0)) return bad("give exactly one of a discount and a rate");
  if (c.discount_ppm > kPpm) return bad("the discount must be between 0 and 1");
  if (c.rate_micro > kMaxPriceMicro) return bad("rate above 100000 per hour (a typo?)");
  if (c.coverage_gpus >= 0) {
    if (c.coverage_gpus == 0 || c.coverage_gpus > 1'000'000) return bad("coverage gpus must be 1..1000000");
  } else if (c.coverage_share_ppm <= 0 || c.coverage_share_ppm > kPpm) {
    return bad("the coverage share must be above 0 and at most 1");
  }
  if (c.from_unix_s >= c.to_unix_s) return bad("'from' must be before 'to'");
  commitment_models_.push_back(ParseModelImpl(c.gpu_model));
  commitments_.push_back(std::move(c));
  return base::Status::Ok();
}

NodePrice PriceBook::PriceNode(const Node& node, std::int64_t at_unix_s) const {
  return PriceFleet({&node}, at_unix_s).front();
}

std::vector<NodePrice> PriceBook::PriceNodes(const std::vector<Node>& fleet, std::int64_t at_unix_s) const {
  std::vector<const Node*> nodes;
  nodes.reserve(fleet.size());
  for (const Node& n : fleet) nodes.push_back(&n);
  return PriceFleet(nodes, at_unix_s);
}

std::vector<NodePrice> PriceBook::PriceFleet(const std::vector<const Node*>& fleet, std::int64_t at_unix_s) const {
  const RuleSet set{rules_, rule_models_};
  std::vector<Work> work;
  work.reserve(fleet.size());
  for (const Node* n : fleet) work.push_back(PriceBase(set, currency_, *n, at_unix_s));

  std::vector<std::size_t> order(fleet.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return fleet[a]->name < fleet[b]->name; });

  for (std::size_t ci = 0; ci < commitments_.size(); ++ci) {
    const Commitment& c = commitments_[ci];
    if (!c.InEffect(at_unix_s)) continue;
    Int128 remaining = c.coverage_gpus >= 0 ? Int128(c.coverage_gpus) * kE6 : -1;
    for (std::size_t i : order) {
      if (remaining == 0) break;
      Work& w = work[i];
      if (!w.price.priced() || w.rate == nullptr || w.price.gpus <= 0 || w.uncovered <= 0) continue;
      if (!CommitmentMatches(c, commitment_models_[ci], *fleet[i], w.model)) continue;
      const Int128 cap = remaining >= 0 ? remaining : Int128(c.coverage_share_ppm) * w.price.gpus;
      const Int128 take = std::min(w.uncovered, cap);
      if (take <= 0) continue;
      w.uncovered -= take;
      if (remaining >= 0) remaining -= take;
      Portion p;
      p.commitment = &c;
      p.ppm_gpus = take;
      if (c.discount_ppm >= 0) {
        p.bill_num = RoundHalfEven(w.rate_bill_num * (kE6 - c.discount_ppm), kE6);
      } else if (!c.instance_type.empty()) {
        const std::int64_t share = w.rate->kind == PriceRuleKind::kInstanceType ? w.rate->gpu_share_ppm : kPpm;
        p.bill_num = Int128(c.rate_micro) * share * kE6;
      } else {
        p.bill_num = Int128(c.rate_micro) * w.price.gpus * kE12;
      }
      w.portions.push_back(p);
      w.price.notes.push_back(WithSource(c.Describe(), c.source) + " covers " + FormatPpmGpus(take) + " of " +
                              std::to_string(w.price.gpus) + " GPUs");
    }
  }

  std::vector<NodePrice> out;
  out.reserve(work.size());
  for (Work& w : work) {
    Finish(w);
    out.push_back(std::move(w.price));
  }
  return out;
}

std::vector<std::int64_t> PriceBook::ChangePoints(std::int64_t start_unix_s, std::int64_t end_unix_s) const {
  std::vector<std::int64_t> out;
  auto add = [&](std::int64_t t) {
    if (t > start_unix_s && t < end_unix_s) out.push_back(t);
  };
  for (const PriceRule& r : rules_) {
    add(r.from_unix_s);
    add(r.to_unix_s);
  }
  for (const Commitment& c : commitments_) {
    add(c.from_unix_s);
    add(c.to_unix_s);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<PriceSpan> PriceBook::PriceWindow(const std::vector<Node>& fleet, std::int64_t start_unix_s,
                                              std::int64_t end_unix_s) const {
  std::vector<PriceSpan> out;
  if (start_unix_s >= end_unix_s) return out;
  std::vector<std::int64_t> cuts = ChangePoints(start_unix_s, end_unix_s);
  cuts.insert(cuts.begin(), start_unix_s);
  cuts.push_back(end_unix_s);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    out.push_back({cuts[i], cuts[i + 1], PriceNodes(fleet, cuts[i])});
  }
  return out;
}

std::int64_t PriceBook::ListPricePerGpuHour(std::string_view model, std::int64_t at_unix_s, std::string* rule) const {
  const GpuModelParts m = ParseModelImpl(model);
  if (m.family.empty()) return -1;
  const PriceRule* best = nullptr;
  std::pair<int, int> best_score{-1, -1};
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const PriceRule& r = rules_[i];
    if (r.kind != PriceRuleKind::kGpuModel || !r.InEffect(at_unix_s) || !r.region.empty() || !r.zone.empty()) continue;
    if (r.capacity != PriceCapacity::kAny && r.capacity != PriceCapacity::kOnDemand) continue;
    const GpuModelParts& pattern = rule_models_[i];
    if (!Covers(pattern, m)) continue;
    const std::pair<int, int> score{r.capacity == PriceCapacity::kOnDemand ? 1 : 0, Specificity(pattern)};
    if (best == nullptr || score > best_score) {
      best = &r;
      best_score = score;
    }
  }
  if (best != nullptr) {
    if (rule != nullptr) *rule = WithSource(best->Describe(), best->source);
    return best->price_micro;
  }
  for (const PriceRule& r : rules_) {
    if (r.kind != PriceRuleKind::kInstanceType || !r.InEffect(at_unix_s) || r.gpu_model.empty() || r.gpus <= 0) continue;
    if (r.capacity != PriceCapacity::kAny && r.capacity != PriceCapacity::kOnDemand) continue;
    if (!Covers(ParseModelImpl(r.gpu_model), m)) continue;
    if (rule != nullptr) *rule = WithSource(r.Describe(), r.source);
    return static_cast<std::int64_t>(RoundHalfEven(BillNum(r, r.gpus), kE12 * r.gpus));
  }
  return -1;
}

// ---- the H100-equivalence table

const std::vector<GpuSpec>& GpuSpecTable() {
  // Dense BF16 tensor TFLOPS: NVIDIA datasheets print the sparse (2:4) figure with a footnote that the dense one is
  // half; these are the halves. Most specific entry wins (FindGpuSpec), so "H100 PCIe" beats "H100".
  static const std::vector<GpuSpec> kTable = {
      // NVIDIA H100 Tensor Core GPU datasheet: BF16 1,979 TFLOPS (SXM) / 1,513 (PCIe) / 1,671 (NVL), with sparsity.
      {"H100 SXM", 989, "NVIDIA H100 datasheet, SXM5: 1,979 sparse / 2"},
      {"H100", 989, "NVIDIA H100 datasheet: a bare 'H100' is taken as the SXM5 part hyperscalers rent"},
      {"H100 PCIe", 756, "NVIDIA H100 datasheet, PCIe: 1,513 sparse / 2"},
      {"H100 NVL", 835, "NVIDIA H100 datasheet, NVL: 1,671 sparse / 2"},
      // NVIDIA H200 datasheet: BF16 1,979 TFLOPS (SXM) / 1,671 (NVL), with sparsity (same GH100 die as H100).
      {"H200", 989, "NVIDIA H200 datasheet, SXM: 1,979 sparse / 2"},
      {"H200 NVL", 835, "NVIDIA H200 datasheet, NVL: 1,671 sparse / 2"},
      {"GH200", 989, "NVIDIA GH200 datasheet: the H100/H200-class GPU, 1,979 sparse / 2"},
      // HGX B200 specification: FP16/BF16 4.5 PFLOPS per GPU with sparsity (36 PFLOPS for 8 GPUs).
      {"B200", 2250, "NVIDIA HGX B200 specification: 4.5 PFLOPS sparse per GPU / 2"},
      // NVIDIA A100 datasheet: BF16 312 TFLOPS (624 with sparsity), SXM and PCIe, 40 GB and 80 GB alike.
      {"A100", 312, "NVIDIA A100 datasheet: 624 sparse / 2"},
      // NVIDIA A30 datasheet: BF16 165 TFLOPS (330 with sparsity).
      {"A30", 165, "NVIDIA A30 datasheet: 330 sparse / 2"},
      // NVIDIA A10 datasheet: BF16 125 TFLOPS (250 with sparsity).
      {"A10", 125, "NVIDIA A10 datasheet: 250 sparse / 2"},
      // A10G is AWS's variant (g5); neither NVIDIA nor AWS publishes a datasheet. ~70 dense FP16/BF16 tensor TFLOPS
      // is the figure third parties report (e.g. Baseten, "NVIDIA A10 vs A10G for ML model inference").
      {"A10G", 70, "no NVIDIA datasheet (AWS part); ~70 as reported by third parties: approximate"},
      // NVIDIA L4 datasheet: BF16 242 TFLOPS with sparsity.
      {"L4", 121, "NVIDIA L4 datasheet: 242 sparse / 2"},
      // NVIDIA L40S datasheet: BF16 362.05 TFLOPS dense (733 with sparsity); L40: 181.05 (362.1).
      {"L40S", 362, "NVIDIA L40S datasheet: 362.05 dense"},
      {"L40", 181, "NVIDIA L40 datasheet: 181.05 dense"},
      // NVIDIA T4 datasheet: mixed precision (FP16/FP32) 65 TFLOPS; Turing has no BF16.
      {"T4", 65, "NVIDIA T4 datasheet: FP16 mixed precision (no BF16 on Turing)"},
      // NVIDIA V100 datasheet: tensor 125 TFLOPS (SXM2) / 112 (PCIe); Volta has no BF16.
      {"V100", 125, "NVIDIA V100 datasheet, SXM2: FP16 tensor (no BF16 on Volta)"},
      {"V100 PCIe", 112, "NVIDIA V100 datasheet, PCIe: FP16 tensor (no BF16 on Volta)"},
  };
  return kTable;
}

const GpuSpec* FindGpuSpec(std::string_view model) {
  const GpuModelParts m = ParseModelImpl(model);
  const GpuSpec* best = nullptr;
  int best_spec = -1;
  for (const GpuSpec& s : GpuSpecTable()) {
    const GpuModelParts pattern = ParseModelImpl(s.model);
    if (!Covers(pattern, m)) continue;
    if (Specificity(pattern) > best_spec) {
      best = &s;
      best_spec = Specificity(pattern);
    }
  }
  return best;
}

H100Equivalence PriceBook::H100Equivalent(std::string_view model, EquivalenceMethod method, std::int64_t at_unix_s) const {
  H100Equivalence e;
  const std::string norm = NormalizeGpuModel(model);
  if (norm.empty()) {
    e.unknown_reason = "unreadable GPU model '" + std::string(model) + "'";
    return e;
  }
  if (method == EquivalenceMethod::kTflops) {
    const GpuSpec* spec = FindGpuSpec(norm);
    const GpuSpec* ref = FindGpuSpec(kH100Reference);
    if (spec == nullptr) {
      e.unknown_reason = "no dense BF16 TFLOPS figure for '" + norm + "' in the table";
      return e;
    }
    e.factor = spec->bf16_dense_tflops / ref->bf16_dense_tflops;
    char buf[96];
    std::snprintf(buf, sizeof buf, "tflops %g / %g (dense BF16, %s / H100 SXM)", spec->bf16_dense_tflops,
                  ref->bf16_dense_tflops, std::string(spec->model).c_str());
    e.basis = buf;
    return e;
  }
  std::string rule, ref_rule;
  const std::int64_t price = ListPricePerGpuHour(norm, at_unix_s, &rule);
  const std::int64_t ref = ListPricePerGpuHour(kH100Reference, at_unix_s, &ref_rule);
  if (ref <= 0) {
    e.unknown_reason = "the price book has no on-demand H100 price to compare with";
    return e;
  }
  if (price < 0) {
    e.unknown_reason = "the price book has no on-demand price for '" + norm + "'";
    return e;
  }
  e.factor = static_cast<double>(price) / static_cast<double>(ref);
  e.basis = "price " + FormatMicro(price, "") + " / " + FormatMicro(ref, currency_) + " per GPU-hour (" + rule + " / " +
            ref_rule + ")";
  return e;
}

std::vector<H100EquivalenceRow> PriceBook::H100EquivalenceTable(std::int64_t at_unix_s) const {
  std::vector<H100EquivalenceRow> rows;
  for (const GpuSpec& s : GpuSpecTable()) {
    H100EquivalenceRow row;
    row.model = std::string(s.model);
    row.bf16_dense_tflops = s.bf16_dense_tflops;
    row.tflops_note = std::string(s.note);
    row.by_tflops = H100Equivalent(s.model, EquivalenceMethod::kTflops, at_unix_s);
    row.by_price = H100Equivalent(s.model, EquivalenceMethod::kPrice, at_unix_s);
    row.list_micro_per_gpu_hour = ListPricePerGpuHour(s.model, at_unix_s);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace gpuwise::model
