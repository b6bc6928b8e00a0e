#include "observe/price_book_load.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "base/time_parse.h"

namespace gpuwise::observe {

extern const char kDefaultPricesYaml[];  // default_prices_data.cc, generated from default_prices.yaml

namespace {

using model::Commitment;
using model::CommitmentKind;
using model::PriceBook;
using model::PriceRule;
using model::PriceRuleKind;

constexpr const char* kApiVersion = "gpuwise.io/v1alpha1";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// ---- one entry, whichever format it came from

// A value as read: its text, where it is ("prices.yaml line 12 column 18") and how to name it in an error
// ("instances[2].pricePerHour" or "column 'price'").
struct Field {
  std::string text;
  std::string where;
  std::string label;
};

enum class Format { kYaml, kCsv };

// One rule or commitment. Fields are keyed by canonical name (the YAML key, coverage flattened); see kFieldNames.
struct Record {
  Format format = Format::kYaml;
  std::string kind;    // instance | gpu-model | default | reserved | savings-plan
  std::string where;   // the entry's own position
  std::string path;    // "instances[2]" or "row 5"
  std::string source;  // "prices.yaml line 12": the rule's source
  std::map<std::string, Field> fields;
};

struct FieldName {
  const char* canonical;
  const char* yaml;  // as written in YAML ("coverage.gpus" inside the coverage map)
  const char* csv;
};
constexpr FieldName kFieldNames[] = {
    {"instanceType", "instanceType", "instance_type"},
    {"gpuModel", "gpuModel", "gpu_model"},
    {"gpus", "gpus", "gpus"},
    {"gpuShare", "gpuShare", "gpu_share"},
    {"price", "price", "price"},  // YAML: pricePerHour (instances), pricePerGpuHour (gpuModels, default)
    {"capacityType", "capacityType", "capacity_type"},
    {"region", "region", "region"},
    {"zone", "zone", "zone"},
    {"from", "from", "from"},
    {"to", "to", "to"},
    {"currency", "currency", "currency"},
    {"name", "name", "name"},
    {"discount", "discount", "discount"},
    {"rate", "rate", "rate"},
    {"coverageGpus", "coverage.gpus", "coverage_gpus"},
    {"coverageShare", "coverage.share", "coverage_share"},
    {"note", "note", "note"},
};

std::string YamlKeyOf(const Record& r, const std::string& canonical) {
  if (canonical == "price") return r.kind == "instance" ? "pricePerHour" : "pricePerGpuHour";
  for (const FieldName& f : kFieldNames) {
    if (canonical == f.canonical) return f.yaml;
  }
  return canonical;
}

std::string CsvColumnOf(const std::string& canonical) {
  for (const FieldName& f : kFieldNames) {
    if (canonical == f.canonical) return f.csv;
  }
  return canonical;
}

// How an absent field is named in an error.
std::string LabelOf(const Record& r, const std::string& canonical) {
  if (r.format == Format::kYaml) return r.path + "." + YamlKeyOf(r, canonical);
  return "column '" + CsvColumnOf(canonical) + "'";
}

base::Status FieldError(const Field& f, const std::string& why) {
  return base::InvalidArgument(f.where + ": " + f.label + ": " + why);
}

base::Status RecordError(const Record& r, const std::string& why) {
  return base::InvalidArgument(r.where + ": " + r.path + ": " + why);
}

const Field* Find(const Record& r, const char* canonical) {
  auto it = r.fields.find(canonical);
  return it == r.fields.end() ? nullptr : &it->second;
}

base::Status Require(const Record& r, const char* canonical, const Field** out) {
  *out = Find(r, canonical);
  if (*out == nullptr) return RecordError(r, "missing " + LabelOf(r, canonical));
  return base::Status::Ok();
}

base::Status ParseMoney(const Field& f, std::int64_t* out) {
  base::Result<std::int64_t> v = ParseDecimalMicro(f.text);
  if (!v.ok()) return FieldError(f, v.status().message());
  if (*v < 0) return FieldError(f, "negative price (" + f.text + ")");
  *out = *v;
  return base::Status::Ok();
}

// A fraction in [0, 1] (or (0, 1] when zero is not allowed) as parts per million.
base::Status ParseFraction(const Field& f, bool allow_zero, std::int64_t* out) {
  base::Result<std::int64_t> v = ParseDecimalMicro(f.text);
  if (!v.ok()) return FieldError(f, v.status().message());
  if (*v < (allow_zero ? 0 : 1) || *v > model::kPpm) {
    return FieldError(f, std::string("expected a fraction ") + (allow_zero ? "from 0" : "above 0") +
                             " up to 1 (0.4 for 40%), got '" + f.text + "'");
  }
  *out = *v;
  return base::Status::Ok();
}

base::Status ParseCount(const Field& f, std::int64_t max, std::int64_t* out) {
  const std::string_view t = Trim(f.text);
  bool ok = !t.empty() && t.size() <= 9;
  for (char c : t) ok = ok && std::isdigit(static_cast<unsigned char>(c));
  if (!ok) return FieldError(f, "expected a whole number, got '" + f.text + "'");
  const std::int64_t v = std::stoll(std::string(t));
  if (v > max) return FieldError(f, "at most " + std::to_string(max) + ", got " + std::string(t));
  *out = v;
  return base::Status::Ok();
}

// "2025-06-01" (midnight UTC), an RFC 3339 time, or Unix seconds.
base::Status ParseWhen(const Field& f, std::int64_t* out) {
  std::string t(Trim(f.text));
  if (t.size() == 10 && t[4] == '-' && t[7] == '-') t += "T00:00:00Z";
  base::Result<std::int64_t> ms = base::ParseTime(t);
  if (!ms.ok()) return FieldError(f, "expected a date (2025-06-01) or an RFC 3339 time, got '" + f.text + "'");
  *out = *ms >= 0 ? *ms / 1000 : -((-*ms + 999) / 1000);
  return base::Status::Ok();
}

base::Status ParseCapacity(const Field& f, model::PriceCapacity* out) {
  if (!model::ParsePriceCapacity(Trim(f.text), out)) {
    return FieldError(f, "unknown capacity type '" + f.text + "' (one of: any, on-demand, spot, reserved)");
  }
  return base::Status::Ok();
}

// Every rate is in the book's currency: a rate in another one is an error, not a conversion.
base::Status CheckCurrency(const Record& r, const std::string& book_currency) {
  const Field* f = Find(r, "currency");
  if (f == nullptr) return base::Status::Ok();
  PriceBook probe;
  if (base::Status st = probe.SetCurrency(Trim(f->text)); !st.ok()) return FieldError(*f, st.message());
  if (probe.currency() != book_currency) {
    return FieldError(*f, "currency " + probe.currency() + " differs from the book's " + book_currency +
                              " (one currency per book: convert the rate)");
  }
  return base::Status::Ok();
}

base::Status CheckAllowed(const Record& r, std::initializer_list<const char*> allowed) {
  for (const auto& [name, field] : r.fields) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || name == a;
    if (!ok) return FieldError(field, "does not apply to " + r.kind + " entries");
  }
  return base::Status::Ok();
}

base::Status ReadDates(const Record& r, std::int64_t* from, std::int64_t* to) {
  if (const Field* f = Find(r, "from")) RETURN_IF_ERROR(ParseWhen(*f, from));
  if (const Field* f = Find(r, "to")) RETURN_IF_ERROR(ParseWhen(*f, to));
  if (*from >= *to) {
    const Field* f = Find(r, "to") != nullptr ? Find(r, "to") : Find(r, "from");
    return FieldError(*f, "'to' must be after 'from'");
  }
  return base::Status::Ok();
}

base::Status AddRecord(const Record& r, PriceBook* book) {
  RETURN_IF_ERROR(CheckCurrency(r, book->currency()));
  if (r.kind == "instance" || r.kind == "gpu-model" || r.kind == "default") {
    PriceRule rule;
    rule.source = r.source;
    if (r.kind == "instance") {
      RETURN_IF_ERROR(CheckAllowed(r, {"instanceType", "gpuModel", "gpus", "gpuShare", "price", "capacityType", "region",
                                       "zone", "from", "to", "currency", "note"}));
      rule.kind = PriceRuleKind::kInstanceType;
      const Field* type = nullptr;
      RETURN_IF_ERROR(Require(r, "instanceType", &type));
      rule.instance_type = std::string(Trim(type->text));
      if (rule.instance_type.empty()) return FieldError(*type, "empty instance type");
      if (const Field* f = Find(r, "gpus")) {
        std::int64_t gpus = 0;
        RETURN_IF_ERROR(ParseCount(*f, 1024, &gpus));
        rule.gpus = static_cast<int>(gpus);
      }
      if (const Field* f = Find(r, "gpuShare")) RETURN_IF_ERROR(ParseFraction(*f, false, &rule.gpu_share_ppm));
    } else if (r.kind == "gpu-model") {
      RETURN_IF_ERROR(CheckAllowed(r, {"gpuModel", "price", "capacityType", "region", "zone", "from", "to", "currency", "note"}));
      rule.kind = PriceRuleKind::kGpuModel;
      const Field* m = nullptr;
      RETURN_IF_ERROR(Require(r, "gpuModel", &m));
    } else {
      RETURN_IF_ERROR(CheckAllowed(r, {"price", "capacityType", "region", "zone", "from", "to", "currency", "note"}));
      rule.kind = PriceRuleKind::kDefault;
    }
    if (const Field* f = Find(r, "gpuModel")) {
      rule.gpu_model = std::string(Trim(f->text));
      if (model::NormalizeGpuModel(rule.gpu_model).empty()) return FieldError(*f, "unreadable GPU model '" + f->text + "'");
    }
    const Field* price = nullptr;
    RETURN_IF_ERROR(Require(r, "price", &price));
    RETURN_IF_ERROR(ParseMoney(*price, &rule.price_micro));
    if (const Field* f = Find(r, "capacityType")) RETURN_IF_ERROR(ParseCapacity(*f, &rule.capacity));
    if (const Field* f = Find(r, "region")) rule.region = std::string(Trim(f->text));
    if (const Field* f = Find(r, "zone")) rule.zone = std::string(Trim(f->text));
    RETURN_IF_ERROR(ReadDates(r, &rule.from_unix_s, &rule.to_unix_s));
    base::Status st = book->AddRule(std::move(rule));
    if (!st.ok()) return RecordError(r, st.message());
    return base::Status::Ok();
  }
  if (r.kind == "reserved" || r.kind == "savings-plan") {
    RETURN_IF_ERROR(CheckAllowed(r, {"name", "instanceType", "gpuModel", "region", "discount", "rate", "coverageGpus",
                                     "coverageShare", "from", "to", "currency", "note"}));
    Commitment c;
    c.source = r.source;
    c.kind = r.kind == "reserved" ? CommitmentKind::kReserved : CommitmentKind::kSavingsPlan;
    if (const Field* f = Find(r, "name")) c.name = std::string(Trim(f->text));
    const Field* type = Find(r, "instanceType");
    const Field* gpu = Find(r, "gpuModel");
    if ((type == nullptr) == (gpu == nullptr)) {
      return RecordError(r, "name exactly one of " + LabelOf(r, "instanceType") + " and " + LabelOf(r, "gpuModel"));
    }
    if (type != nullptr) c.instance_type = std::string(Trim(type->text));
    if (gpu != nullptr) {
      c.gpu_model = std::string(Trim(gpu->text));
      if (model::NormalizeGpuModel(c.gpu_model).empty()) return FieldError(*gpu, "unreadable GPU model '" + gpu->text + "'");
    }
    if (const Field* f = Find(r, "region")) c.region = std::string(Trim(f->text));
    const Field* discount = Find(r, "discount");
    const Field* rate = Find(r, "rate");
    if ((discount == nullptr) == (rate == nullptr)) {
      return RecordError(r, "give exactly one of " + LabelOf(r, "discount") + " and " + LabelOf(r, "rate"));
    }
    if (discount != nullptr) RETURN_IF_ERROR(ParseFraction(*discount, true, &c.discount_ppm));
    if (rate != nullptr) RETURN_IF_ERROR(ParseMoney(*rate, &c.rate_micro));
    const Field* gpus = Find(r, "coverageGpus");
    const Field* share = Find(r, "coverageShare");
    if (gpus != nullptr && share != nullptr) {
      return RecordError(r, "give at most one of " + LabelOf(r, "coverageGpus") + " and " + LabelOf(r, "coverageShare"));
    }
    if (gpus != nullptr) {
      RETURN_IF_ERROR(ParseCount(*gpus, 1'000'000, &c.coverage_gpus));
      if (c.coverage_gpus == 0) return FieldError(*gpus, "cover at least one GPU");
    }
    if (share != nullptr) RETURN_IF_ERROR(ParseFraction(*share, false, &c.coverage_share_ppm));
    RETURN_IF_ERROR(ReadDates(r, &c.from_unix_s, &c.to_unix_s));
    base::Status st = book->AddCommitment(std::move(c));
    if (!st.ok()) return RecordError(r, st.message());
    return base::Status::Ok();
  }
  const Field* k = Find(r, "kind");
  const std::string why = "unknown kind '" + r.kind + "' (one of: instance, gpu-model, default, reserved, savings-plan)";
  return k != nullptr ? FieldError(*k, why) : RecordError(r, why);
}

// ---- YAML

class YamlReader {
 public:
  explicit YamlReader(std::string_view source) : source_(source) {}

  std::string Where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return source_;
    return source_ + " line " + std::to_string(m.line + 1) + " column " + std::to_string(m.column + 1);
  }
  std::string SourceOf(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return m.line < 0 ? source_ : source_ + " line " + std::to_string(m.line + 1);
  }
  base::Status Error(const YAML::Node& n, const std::string& what) const {
    return base::InvalidArgument(Where(n) + ": " + what);
  }

  base::Status CheckKeys(const YAML::Node& map, const std::string& where, std::initializer_list<const char*> known) const {
    if (!map.IsMap()) return Error(map, where + " must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok) {
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Error(it->first, where + ": unknown key '" + key + "' (known: " + list + ")");
      }
    }
    return base::Status::Ok();
  }

  // A scalar field into the record under `canonical`; absent and null values stay absent.
  base::Status Take(const YAML::Node& map, const char* key, const std::string& path, const char* canonical,
                    Record* r) const {
    const YAML::Node n = map[key];
    if (!n || n.IsNull()) return base::Status::Ok();
    if (!n.IsScalar()) return Error(n, path + "." + key + ": expected a single value");
    r->fields[canonical] = Field{n.Scalar(), Where(n), path + "." + key};
    return base::Status::Ok();
  }

  base::Status ReadEntry(const YAML::Node& n, const std::string& path, const std::string& kind, Record* r) const {
    r->format = Format::kYaml;
    r->kind = kind;
    r->where = Where(n);
    r->path = path;
    r->source = SourceOf(n);
    if (kind == "instance") {
      RETURN_IF_ERROR(CheckKeys(n, path, {"instanceType", "gpuModel", "gpus", "gpuShare", "pricePerHour", "capacityType",
                                          "region", "zone", "from", "to", "currency", "note"}));
      RETURN_IF_ERROR(Take(n, "pricePerHour", path, "price", r));
    } else if (kind == "gpu-model" || kind == "default") {
      if (kind == "gpu-model") {
        RETURN_IF_ERROR(CheckKeys(n, path, {"gpuModel", "pricePerGpuHour", "capacityType", "region", "zone", "from", "to",
                                            "currency", "note"}));
      } else {
        RETURN_IF_ERROR(
            CheckKeys(n, path, {"pricePerGpuHour", "capacityType", "region", "zone", "from", "to", "currency", "note"}));
      }
      RETURN_IF_ERROR(Take(n, "pricePerGpuHour", path, "price", r));
    } else {
      RETURN_IF_ERROR(CheckKeys(n, path, {"name", "type", "instanceType", "gpuModel", "region", "discount", "rate",
                                          "coverage", "from", "to", "currency", "note"}));
      const YAML::Node type = n["type"];
      if (!type || !type.IsScalar()) return Error(n, path + ": missing " + path + ".type (reserved or savings-plan)");
      r->kind = Trim(type.Scalar());
      if (r->kind != "reserved" && r->kind != "savings-plan") {
        return Error(type, path + ".type: unknown commitment type '" + type.Scalar() + "' (one of: reserved, savings-plan)");
      }
      if (const YAML::Node cov = n["coverage"]) {
        RETURN_IF_ERROR(CheckKeys(cov, path + ".coverage", {"gpus", "share"}));
        RETURN_IF_ERROR(Take(cov, "gpus", path + ".coverage", "coverageGpus", r));
        RETURN_IF_ERROR(Take(cov, "share", path + ".coverage", "coverageShare", r));
      }
    }
    for (const char* key : {"instanceType", "gpuModel", "gpus", "gpuShare", "capacityType", "region", "zone", "from", "to",
                            "currency", "name", "discount", "rate", "note"}) {
      if (n[key]) RETURN_IF_ERROR(Take(n, key, path, key, r));
    }
    return base::Status::Ok();
  }

 private:
  std::string source_;
};

// ---- CSV

struct CsvRow {
  int line = 0;  // where the record starts (1-based)
  std::vector<std::string> cells;
};

// RFC 4180 records: commas, double quotes with "" inside, CRLF or LF; a record may span lines inside quotes.
// Lines whose first character is '#' and blank lines are skipped.
base::Status SplitCsv(std::string_view text, std::string_view source, std::vector<CsvRow>* rows) {
  int line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    // At a record start: skip comment lines and blank ones.
    const std::size_t eol = text.find('\n', i);
    const std::string_view rest = Trim(text.substr(i, eol == std::string_view::npos ? text.size() - i : eol - i));
    if (rest.empty() || rest.front() == '#') {
      i = eol == std::string_view::npos ? text.size() : eol + 1;
      ++line;
      continue;
    }
    CsvRow row;
    row.line = line;
    std::string cell;
    bool quoted = false, was_quoted = false;
    while (true) {
      if (i >= text.size()) {
        if (quoted) {
          return base::InvalidArgument(std::string(source) + " line " + std::to_string(row.line) + ": unclosed quote");
        }
        row.cells.push_back(was_quoted ? cell : std::string(Trim(cell)));
        break;
      }
      const char c = text[i];
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
          } else {
            quoted = false;
            ++i;
          }
        } else {
          if (c == '\n') ++line;
          cell.push_back(c);
          ++i;
        }
        continue;
      }
      if (c == '"' && Trim(cell).empty()) {
        quoted = was_quoted = true;
        cell.clear();
        ++i;
      } else if (c == ',') {
        row.cells.push_back(was_quoted ? cell : std::string(Trim(cell)));
        cell.clear();
        was_quoted = false;
        ++i;
      } else if (c == '\n' || c == '\r') {
        row.cells.push_back(was_quoted ? cell : std::string(Trim(cell)));
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        break;
      } else if (was_quoted) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
          return base::InvalidArgument(std::string(source) + " line " + std::to_string(line) +
                                       ": text after a closing quote");
        }
        ++i;
      } else {
        cell.push_back(c);
        ++i;
      }
    }
    rows->push_back(std::move(row));
  }
  return base::Status::Ok();
}

// ---- decimal

base::Status NumberError(std::string_view text, const std::string& why) {
  return base::InvalidArgument(why + " ('" + std::string(text) + "')");
}

}  // namespace

base::Result<std::int64_t> ParseDecimalMicro(std::string_view text) {
  const std::string_view t = Trim(text);
  if (t.empty()) return NumberError(text, "empty value, expected a number");
  const std::string low = Lower(t);
  if (low.find("nan") != std::string::npos) return NumberError(text, "not a number");
  if (low.find("inf") != std::string::npos) return NumberError(text, "not a finite number");
  std::size_t i = 0;
  bool negative = false;
  if (t[0] == '+' || t[0] == '-') {
    negative = t[0] == '-';
    i = 1;
  }
  std::string whole, frac;
  bool dot = false;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      (dot ? frac : whole).push_back(c);
    } else if (c == '.' && !dot) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && !(whole.empty() && frac.empty())) {
      return NumberError(text, "exponents are not accepted, write the number out (such as 98.32)");
    } else {
      return NumberError(text, "expected a decimal number such as 98.32");
    }
  }
  if (whole.empty() && frac.empty()) return NumberError(text, "expected a decimal number such as 98.32");
  whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size()));
  if (whole.size() > 12) return NumberError(text, "too large");
  std::int64_t v = whole.empty() ? 0 : std::stoll(whole);
  std::string kept = frac.substr(0, std::min<std::size_t>(6, frac.size()));
  kept.resize(6, '0');
  v = v * 1'000'000 + std::stoll(kept);
  if (frac.size() > 6) {  // round half to even on the dropped digits
    const std::string rest = frac.substr(6);
    const bool above_half = rest[0] > '5' || (rest[0] == '5' && rest.find_first_not_of('0', 1) != std::string::npos);
    const bool half = rest[0] == '5' && rest.find_first_not_of('0', 1) == std::string::npos;
    if (above_half || (half && v % 2 != 0)) ++v;
  }
  if (v >= 1'000'000'000'000'000'000) return NumberError(text, "too large");  // rounded up to 1e12
  return negative ? -v : v;
}

base::Result<PriceBook> ParsePriceBookYaml(std::string_view yaml, std::string_view source) {
  const YamlReader r(source);
  const std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(src + " line " + std::to_string(e.mark.line + 1) + " column " +
                                 std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) return base::InvalidArgument(src + ": a price book is a YAML mapping");
  RETURN_IF_ERROR(r.CheckKeys(root, "the price book",
                              {"apiVersion", "kind", "name", "description", "currency", "default", "instances",
                               "gpuModels", "commitments"}));
  const YAML::Node api = root["apiVersion"], kind = root["kind"];
  if (!api || !kind || !api.IsScalar() || !kind.IsScalar() || api.Scalar() != kApiVersion || kind.Scalar() != "PriceBook") {
    return r.Error(root, std::string("expected apiVersion: ") + kApiVersion + " and kind: PriceBook");
  }
  PriceBook book;
  try {
    if (const YAML::Node n = root["name"]; n && n.IsScalar()) book.set_name(n.Scalar());
    if (const YAML::Node c = root["currency"]; c && !c.IsNull()) {
      if (!c.IsScalar()) return r.Error(c, "currency: expected a single value");
      if (base::Status st = book.SetCurrency(Trim(c.Scalar())); !st.ok()) return r.Error(c, "currency: " + st.message());
    }
    if (const YAML::Node d = root["default"]; d && !d.IsNull()) {
      Record rec;
      RETURN_IF_ERROR(r.ReadEntry(d, "default", "default", &rec));
      RETURN_IF_ERROR(AddRecord(rec, &book));
    }
    struct Section {
      const char* key;
      const char* kind;
    };
    for (const Section s : {Section{"instances", "instance"}, Section{"gpuModels", "gpu-model"},
                            Section{"commitments", "commitment"}}) {
      const YAML::Node list = root[s.key];
      if (!list || list.IsNull()) continue;
      if (!list.IsSequence()) return r.Error(list, std::string(s.key) + " must be a list");
      for (std::size_t i = 0; i < list.size(); ++i) {
        Record rec;
        RETURN_IF_ERROR(r.ReadEntry(list[i], std::string(s.key) + "[" + std::to_string(i) + "]", s.kind, &rec));
        RETURN_IF_ERROR(AddRecord(rec, &book));
      }
    }
  } catch (const YAML::Exception& e) {  // e.g. a key that is itself a collection
    return base::InvalidArgument(src + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return book;
}

base::Result<PriceBook> ParsePriceBookCsv(std::string_view csv, std::string_view source) {
  const std::string src(source);
  std::vector<CsvRow> rows;
  RETURN_IF_ERROR(SplitCsv(csv, source, &rows));
  if (rows.empty()) return base::InvalidArgument(src + ": no header row (the first line names the columns)");
  const CsvRow& header = rows.front();
  std::vector<std::string> canonical;
  std::set<std::string> seen;
  std::string known = "kind";
  for (const FieldName& f : kFieldNames) known += std::string(", ") + f.csv;
  for (const std::string& cell : header.cells) {
    const std::string name = Lower(Trim(cell));
    std::string c;
    if (name == "kind") c = "kind";
    for (const FieldName& f : kFieldNames) {
      if (name == f.csv) c = f.canonical;
    }
    if (c.empty()) {
      return base::InvalidArgument(src + " line " + std::to_string(header.line) + ": unknown column '" + cell +
                                   "' (known: " + known + ")");
    }
    if (!seen.insert(c).second) {
      return base::InvalidArgument(src + " line " + std::to_string(header.line) + ": column '" + name + "' appears twice");
    }
    canonical.push_back(c);
  }
  if (!seen.count("kind")) return base::InvalidArgument(src + " line " + std::to_string(header.line) + ": no 'kind' column");

  // The book's currency: the first one a row names (USD when none does); every row must agree.
  PriceBook book;
  for (std::size_t ri = 1; ri < rows.size(); ++ri) {
    for (std::size_t ci = 0; ci < canonical.size() && ci < rows[ri].cells.size(); ++ci) {
      if (canonical[ci] != "currency" || Trim(rows[ri].cells[ci]).empty()) continue;
      if (base::Status st = book.SetCurrency(Trim(rows[ri].cells[ci])); !st.ok()) {
        return base::InvalidArgument(src + " line " + std::to_string(rows[ri].line) + ": column 'currency': " + st.message());
      }
      ri = rows.size();
      break;
    }
  }
  for (std::size_t ri = 1; ri < rows.size(); ++ri) {
    const CsvRow& row = rows[ri];
    const std::string where = src + " line " + std::to_string(row.line);
    if (row.cells.size() != canonical.size()) {
      return base::InvalidArgument(where + ": " + std::to_string(row.cells.size()) + " fields, the header has " +
                                   std::to_string(canonical.size()));
    }
    Record rec;
    rec.format = Format::kCsv;
    rec.where = where;
    rec.path = "row " + std::to_string(ri);
    rec.source = where;
    for (std::size_t ci = 0; ci < canonical.size(); ++ci) {
      const std::string& cell = row.cells[ci];
      if (Trim(cell).empty()) continue;
      if (canonical[ci] == "kind") {
        rec.kind = Lower(Trim(cell));
        rec.fields["kind"] = Field{cell, where, "column 'kind'"};
        continue;
      }
      rec.fields[canonical[ci]] = Field{cell, where, "column '" + CsvColumnOf(canonical[ci]) + "'"};
    }
    if (rec.kind.empty()) return base::InvalidArgument(where + ": column 'kind' is empty");
    const Field kind_field = rec.fields["kind"];
    rec.fields.erase("kind");
    if (rec.kind != "instance" && rec.kind != "gpu-model" && rec.kind != "default" && rec.kind != "reserved" &&
        rec.kind != "savings-plan") {
      return FieldError(kind_field, "unknown kind '" + rec.kind +
                                        "' (one of: instance, gpu-model, default, reserved, savings-plan)");
    }
    RETURN_IF_ERROR(AddRecord(rec, &book));
  }
  return book;
}

base::Result<PriceBook> LoadPriceBook(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFound("cannot read price book " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return base::NotFound("cannot read price book " + path);
  if (Lower(path).ends_with(".csv")) return ParsePriceBookCsv(text.str(), path);
  return ParsePriceBookYaml(text.str(), path);
}

std::string_view DefaultPriceBookYaml() { return kDefaultPricesYaml; }

base::Result<PriceBook> DefaultPriceBook() {
  return ParsePriceBookYaml(kDefaultPricesYaml, "built-in default_prices.yaml");
}

}  // namespace gpuwise::observe
