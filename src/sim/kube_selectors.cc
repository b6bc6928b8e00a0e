#include "sim/kube_selectors.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using Op = LabelSelector::Op;

// Go's strconv.Quote (the %q verb) for the byte strings selectors carry: printable ASCII and valid UTF-8 kept,
// the rest escaped.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    char buf[8];
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    // A well-formed multi-byte UTF-8 sequence is kept as is.
    std::size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf5) len = 0;
    bool valid = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (valid) {
      out.append(s.substr(i, len));
      i += len - 1;
      continue;
    }
    std::snprintf(buf, sizeof(buf), "\\x%02x", c);
    out += buf;
  }
  return out + "\"";
}

// Go's %#v of a []string, the bad value of a requirement's values.
std::string GoStringSlice(const std::vector<std::string>& v) {
  std::string out = "[]string{";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + GoQuote(v[i]);
  return out + "}";
}

// field.Invalid(path, value, detail).Error().
std::string Invalid(std::string_view path, std::string_view bad_value_formatted, std::string_view detail) {
  std::string out = std::string(path) + ": Invalid value: " + std::string(bad_value_formatted);
  if (!detail.empty()) out += ": " + std::string(detail);
  return out;
}

// utilerrors.NewAggregate(errs).Error(): one message as is, several deduplicated in brackets.
std::string Aggregate(const std::vector<std::string>& errs) {
  std::vector<std::string> seen;
  for (const std::string& e : errs) {
    if (std::find(seen.begin(), seen.end(), e) == seen.end()) seen.push_back(e);
  }
  if (seen.size() == 1) return seen[0];
  std::string out;
  for (std::size_t i = 0; i < seen.size(); ++i) out += (i ? ", " : "") + seen[i];
  return "[" + out + "]";
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool IsDns1123Subdomain(std::string_view s) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    for (char c : label) {
      if (!lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kQualifiedNameErr =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

// validation.RegexError(msg, fmt, examples...).
std::string RegexError(std::string_view msg, std::string_view fmt, const std::vector<std::string_view>& examples) {
  std::string out(msg);
  out += " (e.g. ";
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (i) out += " or ";
    out += "'" + std::string(examples[i]) + "', ";
  }
  return out + "regex used for validation is '" + std::string(fmt) + "')";
}

// validation.IsQualifiedName (apimachinery v0.32 pkg/util/validation/validation.go).
std::vector<std::string> QualifiedNameErrors(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  const std::size_t slashes = std::count(value.begin(), value.end(), '/');
  if (slashes > 1) {
    return {"a qualified name " + RegexError(kQualifiedNameErr, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
            " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"};
  }
  if (slashes == 1) {
    const std::size_t slash = value.find('/');
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > 253) errs.push_back("prefix part must be no more than 253 characters");
      if (!IsDns1123Subdomain(prefix)) {
        errs.push_back("prefix part " +
                       RegexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                                  "'-' or '.', and must start and end with an alphanumeric character",
                                  "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"}));
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part must be no more than 63 characters");
  }
  if (!IsQualifiedNamePart(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameErr, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

// validation.IsValidLabelValue.
std::vector<std::string> LabelValueErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!value.empty() && !IsQualifiedNamePart(value)) {
    errs.push_back(RegexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                              "or '.', and must start and end with an alphanumeric character",
                              "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::optional<std::string> ValidateLabelKey(std::string_view key, std::string_view path) {
  const std::vector<std::string> errs = QualifiedNameErrors(key);
  if (errs.empty()) return std::nullopt;
  return Invalid(path, GoQuote(key), Join(errs, "; "));
}

// strconv.ParseInt(s, 10, 64).
std::optional<std::int64_t> ParseInt64(std::string_view s) {
  const bool plus = !s.empty() && s.front() == '+';
  if (plus) s.remove_prefix(1);
  if (s.empty() || s.front() == '+' || (plus && s.front() == '-')) return std::nullopt;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kEquals: return "=";
    case Op::kDoubleEquals: return "==";
    case Op::kNotEquals: return "!=";
    case Op::kIn: return "in";
    case Op::kNotIn: return "notin";
    case Op::kExists: return "exists";
    case Op::kDoesNotExist: return "!";
    case Op::kGreaterThan: return "gt";
    case Op::kLessThan: return "lt";
  }
  return "";
}

// labels.NewRequirement: the checks on the values for the operator, then every value as a label value. The key was
// validated by the caller.
base::Result<LabelSelector::Requirement> NewRequirement(std::string key, Op op, std::vector<std::string> values) {
  std::vector<std::string> errs;
  if (auto e = ValidateLabelKey(key, "key")) errs.push_back(*e);
  switch (op) {
    case Op::kIn:
    case Op::kNotIn:
      if (values.empty()) {
        errs.push_back(Invalid("values", GoStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case Op::kEquals:
    case Op::kDoubleEquals:
    case Op::kNotEquals:
      if (values.size() != 1) {
        errs.push_back(Invalid("values", GoStringSlice(values), "exact-match compatibility requires one single value"));
      }
      break;
    case Op::kExists:
    case Op::kDoesNotExist:
      if (!values.empty()) {
        errs.push_back(
            Invalid("values", GoStringSlice(values), "values set must be empty for exists and does not exist"));
      }
      break;
    case Op::kGreaterThan:
    case Op::kLessThan:
      if (values.size() != 1) {
        errs.push_back(
            Invalid("values", GoStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (!ParseInt64(values[i])) {
          errs.push_back(Invalid("values[" + std::to_string(i) + "]", GoQuote(values[i]),
                                 "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::vector<std::string> value_errs = LabelValueErrors(values[i]);
    if (!value_errs.empty()) {
      errs.push_back(
          Invalid("values[" + std::to_string(i) + "][" + key + "]", GoQuote(values[i]), Join(value_errs, "; ")));
    }
  }
  if (!errs.empty()) return base::InvalidArgument(Aggregate(errs));
  return LabelSelector::Requirement{std::move(key), op, std::move(values)};
}

// --- The label selector lexer and parser (pkg/labels/selector.go), token for token. ---

enum class Token {
  kError,
  kEndOfString,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

std::optional<Token> KeywordToken(std::string_view s) {
  static const std::map<std::string_view, Token> kTokens = {
      {")", Token::kClosedPar}, {",", Token::kComma},          {"!", Token::kDoesNotExist}, {"==", Token::kDoubleEquals},
      {"=", Token::kEquals},    {">", Token::kGreaterThan},    {"in", Token::kIn},          {"<", Token::kLessThan},
      {"!=", Token::kNotEquals}, {"notin", Token::kNotIn},     {"(", Token::kOpenPar},
  };
  const auto it = kTokens.find(s);
  if (it == kTokens.end()) return std::nullopt;
  return it->second;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecialSymbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

struct Item {
  Token tok;
  std::string literal;
};

// Like upstream, a NUL byte reads as the end of the input (read() returns 0 for both).
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Item Lex() {
    char ch = Read();
    while (IsWhitespace(ch)) ch = Read();
    if (ch == 0) return {Token::kEndOfString, ""};
    Unread();
    return IsSpecialSymbol(ch) ? ScanSpecialSymbol() : ScanIdOrKeyword();
  }

 private:
  char Read() { return pos_ < s_.size() ? s_[pos_++] : 0; }
  void Unread() { --pos_; }

  Item ScanIdOrKeyword() {
    std::string buffer;
    while (true) {
      const char ch = Read();
      if (ch == 0) break;
      if (IsSpecialSymbol(ch) || IsWhitespace(ch)) {
        Unread();
        break;
      }
      buffer += ch;
    }
    if (auto tok = KeywordToken(buffer)) return {*tok, buffer};
    return {Token::kIdentifier, buffer};
  }

  // The longest run of special symbols that still spells a token.
  Item ScanSpecialSymbol() {
    std::string buffer;
    std::optional<Item> last;
    while (true) {
      const char ch = Read();
      if (ch == 0) break;
      if (!IsSpecialSymbol(ch)) {
        Unread();
        break;
      }
      buffer += ch;
      if (auto tok = KeywordToken(buffer)) {
        last = Item{*tok, buffer};
      } else if (last) {
        Unread();
        break;
      }
    }
    if (!last) return {Token::kError, "error expected: keyword found '" + buffer + "'"};
    return *last;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view text) {
    Lexer lexer(text);
    while (true) {
      items_.push_back(lexer.Lex());
      if (items_.back().tok == Token::kEndOfString) break;
    }
  }

  base::Result<std::vector<LabelSelector::Requirement>> Parse() {
    std::vector<LabelSelector::Requirement> requirements;
    while (true) {
      const Item item = Lookahead(/*values=*/true);
      switch (item.tok) {
        case Token::kIdentifier:
        case Token::kDoesNotExist: {
          auto r = ParseRequirement();
          if (!r.ok()) return base::InvalidArgument("unable to parse requirement: " + r.status().message());
          requirements.push_back(std::move(r).value());
          const Item next = Consume(true);
          if (next.tok == Token::kEndOfString) return requirements;
          if (next.tok != Token::kComma) {
            return base::InvalidArgument("found '" + next.literal + "', expected: ',' or 'end of string'");
          }
          const Item after = Lookahead(true);
          if (after.tok != Token::kIdentifier && after.tok != Token::kDoesNotExist) {
            return base::InvalidArgument("found '" + after.literal + "', expected: identifier after ','");
          }
          break;
        }
        case Token::kEndOfString:
          return requirements;
        default:
          return base::InvalidArgument("found '" + item.literal + "', expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  // In the values context the keywords `in` and `notin` are plain identifiers.
  static Item InContext(Item item, bool values) {
    if (values && (item.tok == Token::kIn || item.tok == Token::kNotIn)) item.tok = Token::kIdentifier;
    return item;
  }
  Item Lookahead(bool values) const { return InContext(items_[std::min(pos_, items_.size() - 1)], values); }
  Item Consume(bool values) {
    const Item item = Lookahead(values);
    if (pos_ < items_.size()) ++pos_;
    return item;
  }

  base::Result<LabelSelector::Requirement> ParseRequirement() {
    std::optional<Op> op;
    Item item = Consume(true);
    if (item.tok == Token::kDoesNotExist) {
      op = Op::kDoesNotExist;
      item = Consume(true);
    }
    if (item.tok != Token::kIdentifier) {
      return base::InvalidArgument("found '" + item.literal + "', expected: identifier");
    }
    // Upstream validates the key here with a nil field path, hence "<nil>".
    if (auto e = ValidateLabelKey(item.literal, "<nil>")) return base::InvalidArgument(*e);
    std::string key = item.literal;
    const Token next = Lookahead(true).tok;
    if ((next == Token::kEndOfString || next == Token::kComma) && !op) op = Op::kExists;
    if (op) return NewRequirement(std::move(key), *op, {});

    const Item op_item = Consume(false);
    switch (op_item.tok) {
      case Token::kIn: op = Op::kIn; break;
      case Token::kEquals: op = Op::kEquals; break;
      case Token::kDoubleEquals: op = Op::kDoubleEquals; break;
      case Token::kGreaterThan: op = Op::kGreaterThan; break;
      case Token::kLessThan: op = Op::kLessThan; break;
      case Token::kNotIn: op = Op::kNotIn; break;
      case Token::kNotEquals: op = Op::kNotEquals; break;
      default:
        return base::InvalidArgument("found '" + op_item.literal + "', expected: in, notin, =, ==, !=, gt, lt");
    }
    std::set<std::string> values;
    if (*op == Op::kIn || *op == Op::kNotIn) {
      RETURN_IF_ERROR(ParseValues(values));
    } else {
      RETURN_IF_ERROR(ParseExactValue(values));
    }
    return NewRequirement(std::move(key), *op, std::vector<std::string>(values.begin(), values.end()));
  }

  base::Status ParseValues(std::set<std::string>& values) {
    const Item open = Consume(true);
    if (open.tok != Token::kOpenPar) return base::InvalidArgument("found '" + open.literal + "' expected: '('");
    const Item item = Lookahead(true);
    switch (item.tok) {
      case Token::kIdentifier:
      case Token::kComma:
        RETURN_IF_ERROR(ParseIdentifiersList(values));
        Consume(true);  // the ')' ParseIdentifiersList stopped at
        return base::Status::Ok();
      case Token::kClosedPar:  // "()" is the set {""}
        Consume(true);
        values.insert("");
        return base::Status::Ok();
      default:
        return base::InvalidArgument("found '" + item.literal + "', expected: ',', ')' or identifier");
    }
  }

  // Empty entries between commas ("(,a)", "(a,)", "(a,,b)") are the empty value.
  base::Status ParseIdentifiersList(std::set<std::string>& values) {
    while (true) {
      const Item item = Consume(true);
      switch (item.tok) {
        case Token::kIdentifier: {
          values.insert(item.literal);
          const Item next = Lookahead(true);
          if (next.tok == Token::kComma) continue;
          if (next.tok == Token::kClosedPar) return base::Status::Ok();
          return base::InvalidArgument("found '" + next.literal + "', expected: ',' or ')'");
        }
        case Token::kComma: {
          if (values.empty()) values.insert("");
          const Token next = Lookahead(true).tok;
          if (next == Token::kClosedPar) {
            values.insert("");
            return base::Status::Ok();
          }
          if (next == Token::kComma) values.insert("");
          continue;
        }
        default:
          return base::InvalidArgument("found '" + item.literal + "', expected: ',', or identifier");
      }
    }
  }

  base::Status ParseExactValue(std::set<std::string>& values) {
    const Token next = Lookahead(true).tok;
    if (next == Token::kEndOfString || next == Token::kComma) {
      values.insert("");
      return base::Status::Ok();
    }
    const Item item = Consume(true);
    if (item.tok != Token::kIdentifier) return base::InvalidArgument("found '" + item.literal + "', expected: identifier");
    values.insert(item.literal);
    return base::Status::Ok();
  }

  std::vector<Item> items_;
  std::size_t pos_ = 0;
};

void SortByKey(std::vector<LabelSelector::Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
}

const std::string* LookupLabel(const nlohmann::json& labels, const std::string& key) {
  if (!labels.is_object()) return nullptr;
  const auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

bool RequirementMatches(const LabelSelector::Requirement& r, const nlohmann::json& labels) {
  const std::string* value = LookupLabel(labels, r.key);
  auto has_value = [&] { return std::find(r.values.begin(), r.values.end(), *value) != r.values.end(); };
  switch (r.op) {
    case Op::kIn:
    case Op::kEquals:
    case Op::kDoubleEquals:
      return value != nullptr && has_value();
    case Op::kNotIn:
    case Op::kNotEquals:
      return value == nullptr || !has_value();
    case Op::kExists:
      return value != nullptr;
    case Op::kDoesNotExist:
      return value == nullptr;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      if (value == nullptr || r.values.size() != 1) return false;
      const auto have = ParseInt64(*value);
      const auto want = ParseInt64(r.values[0]);
      if (!have || !want) return false;
      return r.op == Op::kGreaterThan ? *have > *want : *have < *want;
    }
  }
  return false;
}

// --- Field selectors. ---

// How one selectable field is read from the served object.
enum class Extract {
  kString,             // the string at the dotted path, "" when absent
  kBool,               // "true"/"false", absent = false
  kInt,                // decimal integer, absent = 0
  kPodIp,              // status.podIPs[0].ip, else status.podIP
  kEventSource,        // source.component, else reportingComponent
};

struct SelectableField {
  std::string_view path;  // dotted path in the object
  Extract extract = Extract::kString;
};

struct ResourceFields {
  std::map<std::string_view, SelectableField> fields;  // field label -> how to read it
  // Label renames done by the server's conversion (pods: spec.host -> spec.nodeName).
  std::map<std::string_view, std::string_view> aliases;
  // The rejection text for an unsupported label; {} is replaced by the label.
  std::string_view reject_format;
  bool quote_label = false;  // %q rather than %s
};

const ResourceFields& DefaultFields() {
  // apimachinery pkg/runtime/conversion.go DefaultMetaV1FieldSelectorConversion.
  static const ResourceFields kDefault{
      {{"metadata.name", {"metadata.name"}}, {"metadata.namespace", {"metadata.namespace"}}},
      {},
      "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
      true};
  return kDefault;
}

const ResourceFields& FieldsFor(std::string_view resource) {
  // kubernetes v1.32 pkg/apis/core/v1/conversion.go (Pod, Node, Event, Namespace, Secret, Service) and
  // pkg/apis/batch/v1/conversion.go (Job); values from pkg/registry/core/{pod,node,event,namespace,secret,service}
  // and pkg/registry/batch/job strategy.go.
  static const std::map<std::string_view, ResourceFields> kResources = {
      {"pods",
       {{{"metadata.name", {"metadata.name"}},
         {"metadata.namespace", {"metadata.namespace"}},
         {"spec.nodeName", {"spec.nodeName"}},
         {"spec.restartPolicy", {"spec.restartPolicy"}},
         {"spec.schedulerName", {"spec.schedulerName"}},
         {"spec.serviceAccountName", {"spec.serviceAccountName"}},
         {"spec.hostNetwork", {"spec.hostNetwork", Extract::kBool}},
         {"status.phase", {"status.phase"}},
         {"status.podIP", {"", Extract::kPodIp}},
         {"status.nominatedNodeName", {"status.nominatedNodeName"}}},
        {{"spec.host", "spec.nodeName"}},
        "field label not supported: {}"}},
      {"nodes",
       {{{"metadata.name", {"metadata.name"}}, {"spec.unschedulable", {"spec.unschedulable", Extract::kBool}}},
        {},
        "field label not supported: {}"}},
      {"namespaces",
       {{{"metadata.name", {"metadata.name"}}, {"status.phase", {"status.phase"}}}, {}, "field label not supported: {}"}},
      {"events",
       {{{"metadata.name", {"metadata.name"}},
         {"metadata.namespace", {"metadata.namespace"}},
         {"involvedObject.kind", {"involvedObject.kind"}},
         {"involvedObject.namespace", {"involvedObject.namespace"}},
         {"involvedObject.name", {"involvedObject.name"}},
         {"involvedObject.uid", {"involvedObject.uid"}},
         {"involvedObject.apiVersion", {"involvedObject.apiVersion"}},
         {"involvedObject.resourceVersion", {"involvedObject.resourceVersion"}},
         {"involvedObject.fieldPath", {"involvedObject.fieldPath"}},
         {"reason", {"reason"}},
         {"reportingComponent", {"reportingComponent"}},
         {"source", {"", Extract::kEventSource}},
         {"type", {"type"}}},
        {},
        "field label not supported: {}"}},
      {"secrets",
       {{{"metadata.name", {"metadata.name"}}, {"metadata.namespace", {"metadata.namespace"}}, {"type", {"type"}}},
        {},
        "field label not supported: {}"}},
      {"services",
       {{{"metadata.name", {"metadata.name"}},
         {"metadata.namespace", {"metadata.namespace"}},
         {"spec.clusterIP", {"spec.clusterIP"}},
         {"spec.type", {"spec.type"}}},
        {},
        "field label not supported: {}"}},
      {"jobs",
       {{{"metadata.name", {"metadata.name"}},
         {"metadata.namespace", {"metadata.namespace"}},
         {"status.successful", {"status.succeeded", Extract::kInt}}},
        {},
        "field label {} not supported for batchv1.Job",
        true}},
  };
  const auto it = kResources.find(resource);
  return it == kResources.end() ? DefaultFields() : it->second;
}

const nlohmann::json* AtPath(const nlohmann::json& obj, std::string_view dotted) {
  const nlohmann::json* cur = &obj;
  while (!dotted.empty()) {
    const std::size_t dot = dotted.find('.');
    const std::string key(dotted.substr(0, dot));
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return cur;
}

std::string StringAt(const nlohmann::json& obj, std::string_view path) {
  const nlohmann::json* v = AtPath(obj, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string FieldValue(const nlohmann::json& obj, const SelectableField& f) {
  switch (f.extract) {
    case Extract::kString:
      return StringAt(obj, f.path);
    case Extract::kBool: {
      const nlohmann::json* v = AtPath(obj, f.path);
      return v != nullptr && v->is_boolean() && v->get<bool>() ? "true" : "false";
    }
    case Extract::kInt: {
      const nlohmann::json* v = AtPath(obj, f.path);
      return v != nullptr && v->is_number_integer() ? std::to_string(v->get<std::int64_t>()) : "0";
    }
    case Extract::kPodIp: {
      const nlohmann::json* ips = AtPath(obj, "status.podIPs");
      if (ips != nullptr && ips->is_array() && !ips->empty()) return StringAt((*ips)[0], "ip");
      return StringAt(obj, "status.podIP");
    }
    case Extract::kEventSource: {
      std::string source = StringAt(obj, "source.component");
      return source.empty() ? StringAt(obj, "reportingComponent") : source;
    }
  }
  return "";
}

// fields.UnescapeValue.
base::Result<std::string> UnescapeFieldValue(std::string_view s) {
  std::string out;
  bool in_slash = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_slash) {
      if (c != '\\' && c != ',' && c != '=') {
        // The sequence is the backslash and the whole (UTF-8) character after it.
        std::size_t len = 1;
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0xc0) len = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
        return base::InvalidArgument("invalid field selector: invalid escape sequence: \\" +
                                     std::string(s.substr(i, len)));
      }
      out += c;
      in_slash = false;
      continue;
    }
    if (c == '\\') {
      in_slash = true;
    } else if (c == ',' || c == '=') {
      // Go prints the rune with %v: its code point.
      return base::InvalidArgument("invalid field selector: unescaped character in value: " +
                                   std::to_string(static_cast<int>(c)));
    } else {
      out += c;
    }
  }
  if (in_slash) return base::InvalidArgument("invalid field selector: invalid escape sequence: \\");
  return out;
}

std::string EscapeFieldValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// LabelSelector

LabelSelector LabelSelector::Nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

base::Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  ASSIGN_OR_RETURN(auto reqs, Parser(text).Parse());
  SortByKey(reqs);
  LabelSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

base::Result<LabelSelector> LabelSelector::FromJson(const nlohmann::json& selector) {
  if (selector.is_null()) return Nothing();
  if (!selector.is_object()) return base::InvalidArgument("label selector must be an object");
  std::vector<Requirement> reqs;
  if (const auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return base::InvalidArgument("matchLabels must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return base::InvalidArgument("matchLabels must be an object of strings");
      ASSIGN_OR_RETURN(Requirement r, NewRequirement(k, Op::kEquals, {v.get<std::string>()}));
      reqs.push_back(std::move(r));
    }
  }
  if (const auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return base::InvalidArgument("matchExpressions must be a list");
    for (const nlohmann::json& expr : *it) {
      if (!expr.is_object()) return base::InvalidArgument("matchExpressions entries must be objects");
      const auto key_it = expr.find("key");
      const std::string key = key_it != expr.end() && key_it->is_string() ? key_it->get<std::string>() : "";
      const auto op_it = expr.find("operator");
      const std::string op = op_it != expr.end() && op_it->is_string() ? op_it->get<std::string>() : "";
      std::vector<std::string> values;
      if (const auto v = expr.find("values"); v != expr.end() && !v->is_null()) {
        if (!v->is_array()) return base::InvalidArgument("matchExpressions values must be a list of strings");
        for (const nlohmann::json& s : *v) {
          if (!s.is_string()) return base::InvalidArgument("matchExpressions values must be a list of strings");
          values.push_back(s.get<std::string>());
        }
      }
      Op parsed;
      if (op == "In") {
        parsed = Op::kIn;
      } else if (op == "NotIn") {
        parsed = Op::kNotIn;
      } else if (op == "Exists") {
        parsed = Op::kExists;
      } else if (op == "DoesNotExist") {
        parsed = Op::kDoesNotExist;
      } else {
        return base::InvalidArgument(GoQuote(op) + " is not a valid label selector operator");
      }
      ASSIGN_OR_RETURN(Requirement r, NewRequirement(key, parsed, std::move(values)));
      reqs.push_back(std::move(r));
    }
  }
  SortByKey(reqs);
  LabelSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

LabelSelector LabelSelector::FromSet(const nlohmann::json& labels) {
  LabelSelector s;
  if (!labels.is_object()) return s;
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) s.requirements_.push_back({k, Op::kEquals, {v.get<std::string>()}});
  }
  SortByKey(s.requirements_);
  return s;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  if (nothing_) return false;
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const Requirement& r) { return RequirementMatches(r, labels); });
}

std::string LabelSelector::String() const {
  std::vector<std::string> parts;
  for (const Requirement& r : requirements_) {
    std::string s = r.op == Op::kDoesNotExist ? "!" + r.key : r.key;
    switch (r.op) {
      case Op::kExists:
      case Op::kDoesNotExist:
        parts.push_back(std::move(s));
        continue;
      case Op::kIn:
      case Op::kNotIn:
        s += r.op == Op::kIn ? " in (" : " notin (";
        break;
      case Op::kGreaterThan:
      case Op::kLessThan:
        s += r.op == Op::kGreaterThan ? ">" : "<";
        break;
      default:
        s += OpName(r.op);
        break;
    }
    std::vector<std::string> values = r.values;
    std::sort(values.begin(), values.end());
    s += Join(values, ",");
    if (r.op == Op::kIn || r.op == Op::kNotIn) s += ")";
    parts.push_back(std::move(s));
  }
  return Join(parts, ",");
}

std::optional<std::string> LabelSelector::RequiresExactMatch(std::string_view key) const {
  for (const Requirement& r : requirements_) {
    if (r.key != key) continue;
    const bool exact = r.op == Op::kEquals || r.op == Op::kDoubleEquals || r.op == Op::kIn;
    if (exact && r.values.size() == 1) return r.values[0];
    return std::nullopt;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// FieldSelector

base::Result<FieldSelector> FieldSelector::Parse(std::string_view text, std::string_view resource) {
  // splitTerms: commas not preceded by a backslash separate terms; terms are then sorted.
  std::vector<std::string> terms;
  if (!text.empty()) {
    std::size_t start = 0;
    bool in_slash = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (in_slash) {
        in_slash = false;
      } else if (text[i] == '\\') {
        in_slash = true;
      } else if (text[i] == ',') {
        terms.emplace_back(text.substr(start, i - start));
        start = i + 1;
      }
    }
    terms.emplace_back(text.substr(start));
  }
  std::sort(terms.begin(), terms.end());

  const ResourceFields& rules = FieldsFor(resource);
  FieldSelector s;
  s.resource_ = std::string(resource);
  std::vector<Requirement> parsed;
  for (const std::string& term : terms) {
    if (term.empty()) continue;
    // splitTerm: the first position where "!=", "==" or "=" starts.
    std::optional<std::pair<std::size_t, std::size_t>> split;  // (position, operator length)
    bool equals = true;
    for (std::size_t i = 0; i < term.size() && !split; ++i) {
      const std::string_view rest = std::string_view(term).substr(i);
      if (rest.substr(0, 2) == "!=") {
        split = {i, 2};
        equals = false;
      } else if (rest.substr(0, 2) == "==") {
        split = {i, 2};
      } else if (rest.substr(0, 1) == "=") {
        split = {i, 1};
      }
    }
    if (!split) {
      return base::InvalidArgument("invalid selector: '" + std::string(text) + "'; can't understand '" + term + "'");
    }
    ASSIGN_OR_RETURN(std::string value, UnescapeFieldValue(std::string_view(term).substr(split->first + split->second)));
    parsed.push_back({term.substr(0, split->first), equals, std::move(value)});
  }
  // Transform: the server's field label conversion, term by term.
  for (Requirement& r : parsed) {
    if (const auto alias = rules.aliases.find(r.field); alias != rules.aliases.end()) r.field = alias->second;
    if (!rules.fields.count(r.field)) {
      std::string message(rules.reject_format);
      message.replace(message.find("{}"), 2, rules.quote_label ? GoQuote(r.field) : r.field);
      return base::InvalidArgument(std::move(message));
    }
  }
  s.requirements_ = std::move(parsed);
  return s;
}

bool FieldSelector::Matches(const nlohmann::json& obj) const {
  const ResourceFields& rules = FieldsFor(resource_);
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) {
    const auto it = rules.fields.find(r.field);
    const std::string have = it == rules.fields.end() ? std::string() : FieldValue(obj, it->second);
    return (have == r.value) == r.equals;
  });
}

std::string FieldSelector::String() const {
  std::vector<std::string> parts;
  for (const Requirement& r : requirements_) {
    parts.push_back(r.field + (r.equals ? "=" : "!=") + EscapeFieldValue(r.value));
  }
  return Join(parts, ",");
}

std::optional<std::string> FieldSelector::RequiresExactMatch(std::string_view field) const {
  for (const Requirement& r : requirements_) {
    if (r.field == field && r.equals) return r.value;
  }
  return std::nullopt;
}

}  // namespace gpuwise::sim
