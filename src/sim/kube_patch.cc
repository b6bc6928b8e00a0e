#include "sim/kube_patch.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

// Deeper documents are refused before any recursive walk, so that no input can exhaust the stack. Go's decoder
// stops at 10,000; real patches nest a few dozen levels.
constexpr int kMaxPatchDepth = 1000;
// kube-apiserver: "The allowed maximum operations in a JSON patch" (handlers/patch.go maxJSONPatchOperations).
constexpr std::size_t kMaxJsonPatchOperations = 10000;
// Bytes that JSON patch `copy` operations may add in total (the request body limit of kube-apiserver, 3 MiB), so
// that a few thousand self-doubling copies cannot exhaust memory.
constexpr std::size_t kMaxAccumulatedCopyBytes = 3 << 20;

bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxPatchDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

std::optional<json> ParseJson(std::string_view text) {
  if (TooDeep(text)) return std::nullopt;
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Go's JSON type name in "json: cannot unmarshal X into Go value of type T".
std::string_view JsonTypeWord(const json& j) {
  if (j.is_object()) return "object";
  if (j.is_array()) return "array";
  if (j.is_string()) return "string";
  if (j.is_boolean()) return "bool";
  return "number";
}

// --- Go's fmt verbs, for the messages upstream builds with %v and %s. ---

std::string GoFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto sci_end = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific).ptr;
  const std::string sci(buf, sci_end);
  const int exp = std::stoi(sci.substr(sci.find('e') + 1));
  // strconv 'g' with the shortest precision switches to an exponent from 1e+06 and below 1e-04.
  if (exp < -4 || exp >= 6) return sci;
  const auto fixed = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

// %v of a decoded JSON value: map[k:v ...] with sorted keys, [a b], <nil>.
std::string GoValue(const json& j, int depth = 0) {
  if (depth > 64) return "...";
  switch (j.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::string: return j.get<std::string>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return GoFloat(j.get<double>());
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < j.size(); ++i) out += (i ? " " : "") + GoValue(j[i], depth + 1);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        out += (first ? "" : " ") + k + ":" + GoValue(v, depth + 1);
        first = false;
      }
      return out + "]";
    }
    default: return "";
  }
}

std::string GoTypeName(const json& j) {
  if (j.is_object()) return "map[string]interface {}";
  if (j.is_array()) return "[]interface {}";
  if (j.is_string()) return "string";
  if (j.is_boolean()) return "bool";
  if (j.is_number()) return "float64";
  return "%!s(<nil>)";
}

// %s of a decoded JSON value.
std::string GoPercentS(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "%!s(<nil>)";
  return "%!s(" + GoTypeName(j) + "=" + GoValue(j) + ")";
}

// --- JSON merge patch: evanphx/json-patch v4 merge.go. ---

void PruneNulls(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->is_null()) {
        it = v.erase(it);
      } else {
        PruneNulls(*it);
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (json& e : v) {
      if (!e.is_null()) PruneNulls(e);
    }
  }
}

void MergeDocs(json& doc, json& patch);

// A patch object merges into an object; anything else replaces (nulls pruned when the target was not an object).
void MergeValue(json& cur, json& patch) {
  if (!cur.is_object()) {
    PruneNulls(patch);
    cur = std::move(patch);
  } else if (!patch.is_object()) {
    cur = std::move(patch);
  } else {
    MergeDocs(cur, patch);
  }
}

void MergeDocs(json& doc, json& patch) {
  for (auto& [k, v] : patch.items()) {
    if (v.is_null()) {
      doc.erase(k);
      continue;
    }
    const auto it = doc.find(k);
    if (it == doc.end() || it->is_null()) {
      PruneNulls(v);
      doc[k] = std::move(v);
    } else {
      MergeValue(*it, v);
    }
  }
}

// --- JSON patch: evanphx/json-patch v4 patch.go. ---

std::string Wrap(std::string_view msg, std::string_view cause) { return std::string(msg) + ": " + std::string(cause); }
constexpr std::string_view kMissing = "missing value";
constexpr std::string_view kInvalidIndex = "invalid index referenced";

// RFC 6901 unescaping: ~1 is '/', ~0 is '~', left to right.
std::string DecodePatchKey(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~' && i + 1 < s.size() && (s[i + 1] == '1' || s[i + 1] == '0')) {
      out += s[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string GoQuoteAscii(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// strconv.Atoi.
base::Result<long long> Atoi(std::string_view s) {
  std::string_view digits = s;
  bool neg = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    neg = digits.front() == '-';
    digits.remove_prefix(1);
  }
  const bool syntax_ok =
      !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!syntax_ok) return base::InvalidArgument("strconv.Atoi: parsing " + GoQuoteAscii(s) + ": invalid syntax");
  unsigned long long v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  const unsigned long long limit = neg ? 1ULL << 63 : (1ULL << 63) - 1;
  if (ec != std::errc() || v > limit) {
    return base::InvalidArgument("strconv.Atoi: parsing " + GoQuoteAscii(s) + ": value out of range");
  }
  return neg ? static_cast<long long>(0 - v) : static_cast<long long>(v);
}

// An operation failed to apply; the server answers 422.
base::Status OpError(std::string message) { return base::FailedPrecondition(std::move(message)); }

// Resolves a (possibly negative) index into an array of `size` for get/set/remove.
base::Result<std::size_t> ArrayIndex(std::string_view key, std::size_t size) {
  ASSIGN_OR_RETURN(long long idx, Atoi(key));
  const auto n = static_cast<long long>(size);
  if (idx < 0) {
    if (idx < -n) return OpError(Wrap("Unable to access invalid index: " + std::to_string(idx), kInvalidIndex));
    idx += n;
  }
  if (idx >= n) return OpError(Wrap("Unable to access invalid index: " + std::to_string(idx), kInvalidIndex));
  return static_cast<std::size_t>(idx);
}

// The container (object or array) a path's last segment lives in, or null when some parent is missing.
json* FindObject(json& doc, std::string_view path, std::string& key) {
  std::vector<std::string_view> split;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    split.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (split.size() < 2) return nullptr;
  json* cur = &doc;
  for (std::size_t i = 1; i + 1 < split.size(); ++i) {
    const std::string part = DecodePatchKey(split[i]);
    json* next = nullptr;
    if (cur->is_object()) {
      const auto it = cur->find(part);
      if (it != cur->end()) next = &*it;
    } else {
      auto idx = ArrayIndex(part, cur->size());
      if (idx.ok()) next = &(*cur)[*idx];
    }
    if (next == nullptr || !(next->is_object() || next->is_array())) return nullptr;
    cur = next;
  }
  key = DecodePatchKey(split.back());
  return cur;
}

// get: an object's missing (or null) member reads as "nothing", as upstream; an array's bad index is an error.
base::Result<const json*> ContainerGet(json& con, const std::string& key) {
  if (con.is_object()) {
    const auto it = con.find(key);
    return it == con.end() || it->is_null() ? nullptr : &*it;
  }
  ASSIGN_OR_RETURN(std::size_t idx, ArrayIndex(key, con.size()));
  return &con[idx];
}

base::Status ContainerAdd(json& con, const std::string& key, json value) {
  if (con.is_object()) {
    con[key] = std::move(value);
    return base::Status::Ok();
  }
  if (key == "-") {
    con.push_back(std::move(value));
    return base::Status::Ok();
  }
  auto parsed = Atoi(key);
  if (!parsed.ok()) return OpError(Wrap("value was not a proper array index: '" + key + "'", parsed.status().message()));
  long long idx = *parsed;
  const auto n = static_cast<long long>(con.size()) + 1;
  if (idx >= n) return OpError(Wrap("Unable to access invalid index: " + std::to_string(idx), kInvalidIndex));
  if (idx < 0) {
    if (idx < -n) return OpError(Wrap("Unable to access invalid index: " + std::to_string(idx), kInvalidIndex));
    idx += n;
  }
  con.insert(con.begin() + idx, std::move(value));
  return base::Status::Ok();
}

base::Status ContainerRemove(json& con, const std::string& key) {
  if (con.is_object()) {
    if (con.erase(key) == 0) return OpError(Wrap("Unable to remove nonexistent key: " + key, kMissing));
    return base::Status::Ok();
  }
  ASSIGN_OR_RETURN(std::size_t idx, ArrayIndex(key, con.size()));
  con.erase(con.begin() + static_cast<std::ptrdiff_t>(idx));
  return base::Status::Ok();
}

// Rough serialized size, without recursion (the document may be as deep as the patch allows).
std::size_t ApproxBytes(const json& root) {
  std::size_t bytes = 0;
  std::vector<const json*> stack = {&root};
  while (!stack.empty()) {
    const json* j = stack.back();
    stack.pop_back();
    bytes += 2;
    if (j->is_string()) bytes += j->get_ref<const std::string&>().size();
    if (j->is_number()) bytes += 8;
    if (j->is_object()) {
      for (const auto& [k, v] : j->items()) {
        bytes += k.size() + 3;
        stack.push_back(&v);
      }
    } else if (j->is_array()) {
      for (const json& v : *j) stack.push_back(&v);
    }
  }
  return bytes;
}

// Nesting depth, without recursion.
std::size_t JsonDepth(const json& root) {
  std::size_t max_depth = 0;
  std::vector<std::pair<const json*, std::size_t>> stack = {{&root, 1}};
  while (!stack.empty()) {
    const auto [j, depth] = stack.back();
    stack.pop_back();
    max_depth = std::max(max_depth, depth);
    if (j->is_structured()) {
      for (const json& v : *j) stack.emplace_back(&v, depth + 1);
    }
  }
  return max_depth;
}

// add, copy and move may each deepen the document; past this they are refused, so that no sequence of operations
// builds a document too deep to copy or print.
constexpr std::size_t kMaxDocumentDepth = 2 * kMaxPatchDepth;

base::Status CheckDepth(std::string_view path, const json& value) {
  const std::size_t segments = std::count(path.begin(), path.end(), '/');
  if (segments + JsonDepth(value) > kMaxDocumentDepth) {
    return OpError("the patched document would nest deeper than " + std::to_string(kMaxDocumentDepth) + " levels");
  }
  return base::Status::Ok();
}

// Fields of one operation; JSON null reads as absent (Go decodes it to a nil *RawMessage).
struct Operation {
  const json& op;
  std::string Kind() const {
    const auto it = op.is_object() ? op.find("op") : op.end();
    return op.is_object() && it != op.end() && it->is_string() ? it->get<std::string>() : "unknown";
  }
  base::Result<std::string> Field(const char* name, std::string_view missing) const {
    if (!op.is_object()) return base::InvalidArgument(std::string(missing));
    const auto it = op.find(name);
    if (it == op.end() || it->is_null()) return base::InvalidArgument(std::string(missing));
    if (!it->is_string()) {
      return base::InvalidArgument("json: cannot unmarshal " + std::string(JsonTypeWord(*it)) +
                                   " into Go value of type string");
    }
    return it->get<std::string>();
  }
  base::Result<std::string> Path() const { return Field("path", Wrap("operation missing path field", kMissing)); }
  base::Result<std::string> From() const { return Field("from", Wrap("operation, missing from field", kMissing)); }
  bool HasValue() const { return op.is_object() && op.contains("value"); }
  json Value() const { return HasValue() ? op["value"] : json(); }
};

base::Status ApplyOperation(json& doc, const Operation& op, std::size_t& copied_bytes) {
  const std::string kind = op.Kind();
  std::string key;
  if (kind == "add") {
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("add operation failed to decode path", kMissing));
    json* con = FindObject(doc, *path, key);
    if (con == nullptr) {
      return OpError(Wrap("add operation does not apply: doc is missing path: \"" + *path + "\"", kMissing));
    }
    json value = op.Value();
    RETURN_IF_ERROR(CheckDepth(*path, value));
    const base::Status s = ContainerAdd(*con, key, std::move(value));
    if (!s.ok()) return OpError(Wrap("error in add for path: '" + *path + "'", s.message()));
    return base::Status::Ok();
  }
  if (kind == "remove") {
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("remove operation failed to decode path", kMissing));
    json* con = FindObject(doc, *path, key);
    if (con == nullptr) {
      return OpError(Wrap("remove operation does not apply: doc is missing path: \"" + *path + "\"", kMissing));
    }
    const base::Status s = ContainerRemove(*con, key);
    if (!s.ok()) return OpError(Wrap("error in remove for path: '" + *path + "'", s.message()));
    return base::Status::Ok();
  }
  if (kind == "replace") {
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("replace operation failed to decode path", path.status().message()));
    if (path->empty()) {
      // The whole document; upstream silently ignores a value that is neither an object nor an array.
      json value = op.Value();
      RETURN_IF_ERROR(CheckDepth("", value));
      if (value.is_object() || value.is_array()) doc = std::move(value);
      return base::Status::Ok();
    }
    json* con = FindObject(doc, *path, key);
    if (con == nullptr) return OpError(Wrap("replace operation does not apply: doc is missing path: " + *path, kMissing));
    if (!ContainerGet(*con, key).ok()) {
      return OpError(Wrap("replace operation does not apply: doc is missing key: " + *path, kMissing));
    }
    RETURN_IF_ERROR(CheckDepth(*path, op.Value()));
    // A missing object member is added, as upstream (v4 does not check it exists).
    if (con->is_object()) {
      (*con)[key] = op.Value();
    } else {
      (*con)[*ArrayIndex(key, con->size())] = op.Value();
    }
    return base::Status::Ok();
  }
  if (kind == "move") {
    auto from = op.From();
    if (!from.ok()) return OpError(Wrap("move operation failed to decode from", from.status().message()));
    json* con = FindObject(doc, *from, key);
    if (con == nullptr) {
      return OpError(Wrap("move operation does not apply: doc is missing from path: " + *from, kMissing));
    }
    auto got = ContainerGet(*con, key);
    if (!got.ok()) return OpError(Wrap("error in move for path: '" + key + "'", got.status().message()));
    json value = *got == nullptr ? json() : **got;
    const base::Status removed = ContainerRemove(*con, key);
    if (!removed.ok()) return OpError(Wrap("error in move for path: '" + key + "'", removed.message()));
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("move operation failed to decode path", path.status().message()));
    con = FindObject(doc, *path, key);
    if (con == nullptr) {
      return OpError(Wrap("move operation does not apply: doc is missing destination path: " + *path, kMissing));
    }
    RETURN_IF_ERROR(CheckDepth(*path, value));
    const base::Status added = ContainerAdd(*con, key, std::move(value));
    if (!added.ok()) return OpError(Wrap("error in move for path: '" + *path + "'", added.message()));
    return base::Status::Ok();
  }
  if (kind == "test") {
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("test operation failed to decode path", path.status().message()));
    const std::string failed = Wrap("testing value " + *path + " failed", "test failed");
    if (path->empty()) return doc == op.Value() ? base::Status::Ok() : OpError(failed);
    json* con = FindObject(doc, *path, key);
    if (con == nullptr) return OpError(Wrap("test operation does not apply: is missing path: " + *path, kMissing));
    auto got = ContainerGet(*con, key);
    if (!got.ok()) return OpError(Wrap("error in test for path: '" + *path + "'", got.status().message()));
    // A missing member equals null; an absent "value" equals nothing else.
    if (*got == nullptr) return op.Value().is_null() ? base::Status::Ok() : OpError(failed);
    if (!op.HasValue()) return OpError(failed);
    return **got == op.Value() ? base::Status::Ok() : OpError(failed);
  }
  if (kind == "copy") {
    auto from = op.From();
    if (!from.ok()) return OpError(Wrap("copy operation failed to decode from", from.status().message()));
    json* con = FindObject(doc, *from, key);
    if (con == nullptr) {
      return OpError(Wrap("copy operation does not apply: doc is missing from path: " + *from, kMissing));
    }
    auto got = ContainerGet(*con, key);
    if (!got.ok()) return OpError(Wrap("error in copy for from: '" + *from + "'", got.status().message()));
    json value = *got == nullptr ? json() : **got;
    auto path = op.Path();
    if (!path.ok()) return OpError(Wrap("copy operation failed to decode path", kMissing));
    con = FindObject(doc, *path, key);
    if (con == nullptr) {
      return OpError(Wrap("copy operation does not apply: doc is missing destination path: " + *path, kMissing));
    }
    RETURN_IF_ERROR(CheckDepth(*path, value));
    copied_bytes += ApproxBytes(value);
    if (copied_bytes > kMaxAccumulatedCopyBytes) {
      return OpError("Unable to complete the copy, the accumulated size increase of copy is " +
                     std::to_string(copied_bytes) + ", exceeding the limit " + std::to_string(kMaxAccumulatedCopyBytes));
    }
    const base::Status added = ContainerAdd(*con, key, std::move(value));
    if (!added.ok()) return OpError(Wrap("error while adding value during copy", added.message()));
    return base::Status::Ok();
  }
  return OpError("Unexpected kind: " + kind);
}

// --- Strategic merge patch: k8s.io/apimachinery pkg/util/strategicpatch/patch.go (server side). ---

constexpr std::string_view kDirectiveMarker = "$patch";
constexpr std::string_view kRetainKeysDirective = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList";
constexpr std::string_view kSetElementOrderPrefix = "$setElementOrder";

// mergepatch errors as the server classifies them (handlers/patch.go interpretStrategicMergePatchError).
base::Status BadRequest(std::string m) { return base::InvalidArgument(std::move(m)); }
base::Status Unprocessable(std::string m) { return base::FailedPrecondition(std::move(m)); }
base::Status Untyped(std::string m) { return base::Internal(std::move(m)); }
base::Status ErrNoMergeKey(const json& m, std::string_view key) {
  return Untyped("map: " + GoValue(m) + " does not contain declared merge key: " + std::string(key));
}
base::Status ErrBadArgType(std::string_view expected, const json& actual) {
  return Untyped("expected a " + std::string(expected) + ", but received a " + GoTypeName(actual));
}
base::Status ErrBadPatchType(const json& t, const json& m) {
  return Untyped("unknown patch type: " + GoPercentS(t) + " in map: " + GoValue(m));
}

// The patch metadata of one field, from its Go struct tags.
struct FieldMeta {
  enum class Strategy { kNone, kMerge, kReplace } strategy = Strategy::kNone;
  std::string merge_key;  // empty for lists of primitives
};

// Field path (dotted, list elements share their list's path) -> metadata. Unlisted lists are replaced, unlisted
// maps merged: for the fields of a typed object that is what a field without patch tags gets.
using Schema = std::map<std::string, FieldMeta, std::less<>>;

void AddMerge(Schema& s, const std::string& path, std::string key) {
  s[path] = {FieldMeta::Strategy::kMerge, std::move(key)};
}

// metav1.ObjectMeta (apimachinery pkg/apis/meta/v1/types.go).
void AddObjectMeta(Schema& s, const std::string& prefix) {
  AddMerge(s, prefix + "metadata.ownerReferences", "uid");
  AddMerge(s, prefix + "metadata.finalizers", "");
}

// core/v1 PodSpec, Container, EphemeralContainerCommon (k8s.io/api v0.32 core/v1/types.go).
void AddPodSpec(Schema& s, const std::string& spec) {
  AddMerge(s, spec + "volumes", "name");  // merge,retainKeys
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const std::string c = spec + list;
    AddMerge(s, c, "name");
    AddMerge(s, c + ".ports", "containerPort");
    AddMerge(s, c + ".env", "name");
    AddMerge(s, c + ".volumeMounts", "mountPath");
    AddMerge(s, c + ".volumeDevices", "devicePath");
  }
  AddMerge(s, spec + "imagePullSecrets", "name");
  AddMerge(s, spec + "hostAliases", "ip");
  AddMerge(s, spec + "topologySpreadConstraints", "topologyKey");
  AddMerge(s, spec + "schedulingGates", "name");
  AddMerge(s, spec + "resourceClaims", "name");  // merge,retainKeys
}

void AddPodTemplate(Schema& s, const std::string& prefix) {
  AddObjectMeta(s, prefix);
  AddPodSpec(s, prefix + "spec.");
}

Schema SchemaFor(std::string_view kind) {
  Schema s;
  AddObjectMeta(s, "");
  if (kind == "Pod") {
    AddPodSpec(s, "spec.");
    AddMerge(s, "status.conditions", "type");
    AddMerge(s, "status.hostIPs", "ip");
    AddMerge(s, "status.podIPs", "ip");
    AddMerge(s, "status.resourceClaimStatuses", "name");
    for (const char* list : {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
      AddMerge(s, std::string("status.") + list + ".volumeMounts", "mountPath");
      AddMerge(s, std::string("status.") + list + ".allocatedResourcesStatus", "name");
    }
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
             kind == "Job") {
    AddPodTemplate(s, "spec.template.");
    AddMerge(s, "status.conditions", "type");
  } else if (kind == "CronJob") {
    AddObjectMeta(s, "spec.jobTemplate.");
    AddPodTemplate(s, "spec.jobTemplate.spec.template.");
  } else if (kind == "Node") {
    AddMerge(s, "spec.podCIDRs", "");
    AddMerge(s, "status.conditions", "type");
    AddMerge(s, "status.addresses", "type");
  } else if (kind == "Service") {
    AddMerge(s, "spec.ports", "port");
    AddMerge(s, "status.conditions", "type");
  } else if (kind == "Namespace" || kind == "HorizontalPodAutoscaler") {
    AddMerge(s, "status.conditions", "type");
  } else if (kind == "PodDisruptionBudget") {
    s["spec.selector"] = {FieldMeta::Strategy::kReplace, ""};
    AddMerge(s, "status.conditions", "type");
  }
  return s;
}

const Schema* KnownSchema(std::string_view kind) {
  static const std::map<std::string, Schema, std::less<>> kSchemas = [] {
    std::map<std::string, Schema, std::less<>> m;
    for (const char* k : {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Node",
                          "Service", "ConfigMap", "Secret", "Namespace", "PodDisruptionBudget",
                          "HorizontalPodAutoscaler", "Event", "Endpoints", "EndpointSlice", "Lease"}) {
      m.emplace(k, SchemaFor(k));
    }
    return m;
  }();
  const auto it = kSchemas.find(kind);
  return it == kSchemas.end() ? nullptr : &it->second;
}

bool HasPrefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Go decodes every JSON number to float64, so all numbers are one type.
int GoKind(const json& j) {
  if (j.is_number()) return 1;
  return static_cast<int>(j.type()) + 2;
}

// Values the patch brings in whole: null members are dropped (IgnoreUnmatchedNulls).
void DiscardNulls(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->is_null()) {
        it = v.erase(it);
      } else {
        DiscardNulls(*it);
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (json& e : v) DiscardNulls(e);
  }
}

// removeDirectives: a map carrying $patch is dropped (returns false), recursively.
bool RemoveDirectives(json& v) {
  if (v.is_object()) {
    if (v.contains(kDirectiveMarker)) return false;
    for (auto it = v.begin(); it != v.end();) {
      if (RemoveDirectives(*it)) {
        ++it;
      } else {
        it = v.erase(it);
      }
    }
  } else if (v.is_array()) {
    json kept = json::array();
    for (json& e : v) {
      if (RemoveDirectives(e)) kept.push_back(std::move(e));
    }
    v = std::move(kept);
  }
  return true;
}

// Directive keys never reach a stored object: the typed decoding upstream does after the merge drops them. Iterative,
// because the original may be deeper than any patch.
void StripDirectiveKeys(json& root) {
  std::vector<json*> stack = {&root};
  while (!stack.empty()) {
    json* j = stack.back();
    stack.pop_back();
    if (j->is_object()) {
      for (auto it = j->begin(); it != j->end();) {
        const std::string& k = it.key();
        if (k == kDirectiveMarker || k == kRetainKeysDirective || HasPrefix(k, kSetElementOrderPrefix) ||
            HasPrefix(k, kDeleteFromPrimitiveListPrefix)) {
          it = j->erase(it);
        } else {
          stack.push_back(&*it);
          ++it;
        }
      }
    } else if (j->is_array()) {
      for (json& e : *j) stack.push_back(&e);
    }
  }
}

const json* MergeKeyValue(const json& item, const std::string& key) {
  if (!item.is_object()) return nullptr;
  const auto it = item.find(key);
  return it == item.end() ? nullptr : &*it;
}

class StrategicMerger {
 public:
  explicit StrategicMerger(const Schema& schema) : schema_(schema) {}

  // mergeMap: merges patch into original (both objects, original may be null), in place.
  base::Status MergeMap(json& original, json& patch, const std::string& path) {
    if (const auto it = patch.find(kDirectiveMarker); it != patch.end()) {
      if (*it == "replace") {
        patch.erase(kDirectiveMarker);
        DiscardNulls(patch);
        original = std::move(patch);
        return base::Status::Ok();
      }
      if (*it == "delete") {
        original = json::object();
        return base::Status::Ok();
      }
      return ErrBadPatchType(*it, patch);
    }
    if (original.is_null()) original = json::object();
    RETURN_IF_ERROR(ApplyRetainKeys(original, patch));
    RETURN_IF_ERROR(MergeSetElementOrder(original, patch, path));

    for (auto& [patch_key, patch_value] : patch.items()) {
      std::string key = patch_key;
      bool delete_list = false;
      if (HasPrefix(key, kDeleteFromPrimitiveListPrefix)) {
        auto k = ExtractKey(key, kDeleteFromPrimitiveListPrefix);
        if (!k.ok()) return k.status();
        key = *k;
        delete_list = true;
      }
      if (patch_value.is_null()) {
        original.erase(key);
        continue;
      }
      const auto it = original.find(key);
      if (it == original.end() || GoKind(*it) != GoKind(patch_value)) {
        if (delete_list) continue;
        DiscardNulls(patch_value);
        if (RemoveDirectives(patch_value)) {
          original[key] = std::move(patch_value);
        } else {
          original.erase(key);
        }
        continue;
      }
      const std::string child = path.empty() ? key : path + "." + key;
      const FieldMeta meta = Lookup(child);
      if (it->is_object()) {
        if (meta.strategy == FieldMeta::Strategy::kReplace) {
          DiscardNulls(patch_value);
          *it = std::move(patch_value);
        } else {
          RETURN_IF_ERROR(MergeMap(*it, patch_value, child));
        }
      } else if (it->is_array()) {
        RETURN_IF_ERROR(MergeSliceHandler(*it, patch_value, child, meta, delete_list));
      } else {
        *it = std::move(patch_value);
      }
    }
    return base::Status::Ok();
  }

 private:
  FieldMeta Lookup(std::string_view path) const {
    const auto it = schema_.find(path);
    return it == schema_.end() ? FieldMeta{} : it->second;
  }

  static base::Result<std::string> ExtractKey(const std::string& s, std::string_view prefix) {
    const std::size_t slash = s.find('/');
    if (slash == std::string::npos || std::string_view(s).substr(0, slash) != prefix) {
      return BadRequest(prefix == kDeleteFromPrimitiveListPrefix ? "invalid patch format of primitive list"
                                                                 : "invalid patch format of setElementOrder list");
    }
    return s.substr(slash + 1);
  }

  // applyRetainKeysDirective: keys of original not in the list are cleared; the patch may only set listed keys.
  static base::Status ApplyRetainKeys(json& original, json& patch) {
    const auto it = patch.find(kRetainKeysDirective);
    if (it == patch.end()) return base::Status::Ok();
    const json keys = std::move(*it);
    patch.erase(it);
    if (!keys.is_array()) return BadRequest("invalid patch format of retainKeys");
    auto listed = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), json(k)) != keys.end(); };
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null() || HasPrefix(k, kDeleteFromPrimitiveListPrefix) || HasPrefix(k, kSetElementOrderPrefix)) continue;
      if (!listed(k)) return BadRequest("invalid patch format of retainKeys");
    }
    for (auto o = original.begin(); o != original.end();) {
      if (listed(o.key())) {
        ++o;
      } else {
        o = original.erase(o);
      }
    }
    return base::Status::Ok();
  }

  // mergePatchIntoOriginal: each $setElementOrder/<list> merges <list> and orders the result by it.
  base::Status MergeSetElementOrder(json& original, json& patch, const std::string& path) {
    std::vector<std::string> directives;
    for (const auto& [k, v] : patch.items()) {
      if (HasPrefix(k, kSetElementOrderPrefix)) directives.push_back(k);
    }
    for (const std::string& directive : directives) {
      json order = std::move(patch[directive]);
      patch.erase(directive);
      if (!order.is_array()) return ErrBadArgType("[]interface {}", order);
      ASSIGN_OR_RETURN(const std::string key, ExtractKey(directive, kSetElementOrderPrefix));
      const auto orig_it = original.find(key);
      const auto patch_it = patch.find(key);
      const bool found_original = orig_it != original.end();
      const bool found_patch = patch_it != patch.end();
      json original_list = json::array();
      json patch_list = json::array();
      if (found_original) {
        if (!orig_it->is_array()) return ErrBadArgType("[]interface {}", *orig_it);
        original_list = *orig_it;
      }
      if (found_patch) {
        if (!patch_it->is_array()) return ErrBadArgType("[]interface {}", *patch_it);
        patch_list = *patch_it;
      }
      const std::string child = path.empty() ? key : path + "." + key;
      const FieldMeta meta = Lookup(child);
      RETURN_IF_ERROR(ValidatePatchWithSetOrderList(patch_list, order, meta.merge_key));
      json merged;
      if (found_original && !found_patch) {
        merged = original_list;
      } else if (!found_original && found_patch) {
        merged = patch_list;
        RemoveDirectives(merged);
      } else if (found_original && found_patch) {
        merged = original_list;
        json patch_copy = patch_list;
        json server_view = original_list;
        RETURN_IF_ERROR(MergeSliceHandler(merged, patch_copy, child, meta, /*delete_list=*/false, &server_view));
        original_list = std::move(server_view);
      } else {
        continue;
      }
      ASSIGN_OR_RETURN(const int kind, SliceElementKind(original_list, patch_list));
      json patch_items = json::array();
      json server_only = json::array();
      RETURN_IF_ERROR(Partition(merged, order, meta.merge_key, kind, patch_items, server_only));
      ASSIGN_OR_RETURN(json both, NormalizeElementOrder(std::move(patch_items), std::move(server_only), order,
                                                        original_list, meta.merge_key, kind));
      original[key] = std::move(both);
      patch.erase(key);
    }
    return base::Status::Ok();
  }

  // The relative order of the patch's (non-delete) items must agree with the $setElementOrder list.
  static base::Status ValidatePatchWithSetOrderList(const json& patch_list, const json& order,
                                                    const std::string& merge_key) {
    if (order.empty() || patch_list.empty()) return base::Status::Ok();
    std::vector<const json*> non_delete;
    for (const json& v : patch_list) {
      if (!merge_key.empty()) {
        if (!v.is_object()) return ErrBadArgType("map[string]interface {}", v);
        const auto d = v.find(kDirectiveMarker);
        if (d != v.end() && *d == "delete") continue;
      }
      non_delete.push_back(&v);
    }
    std::size_t p = 0;
    std::size_t o = 0;
    while (p < non_delete.size() && o < order.size()) {
      const json& item = *non_delete[p];
      if (item.is_object() && item.contains(kDirectiveMarker)) {
        ++p;
        continue;
      }
      bool equal = false;
      if (merge_key.empty()) {
        equal = item == order[o];
      } else {
        if (!item.is_object()) return ErrBadArgType("map[string]interface {}", item);
        if (!order[o].is_object()) return ErrBadArgType("map[string]interface {}", order[o]);
        const json* l = MergeKeyValue(item, merge_key);
        if (l == nullptr) return ErrNoMergeKey(item, merge_key);
        const json* r = MergeKeyValue(order[o], merge_key);
        if (r == nullptr) return ErrNoMergeKey(order[o], merge_key);
        equal = *l == *r;
      }
      if (equal) ++p;
      ++o;
    }
    if (p < non_delete.size() && o >= order.size()) {
      return Untyped("The order in patch list:\n" + GoValue(patch_list) + "\n doesn't match $setElementOrder list:\n" +
                     GoValue(order) + "\n");
    }
    return base::Status::Ok();
  }

  // server_view, when given, receives the server's list as Go's mergePatchIntoOriginal sees it afterwards: merging
  // edits the original slice's backing array in place (deletions shift items left, new items are appended into the
  // freed slots), and $setElementOrder orders the result against that view. The three-way patches of kubectl apply
  // depend on it (upstream case "add map and delete map from merging list").
  base::Status MergeSliceHandler(json& original, json& patch, const std::string& path, const FieldMeta& meta,
                                 bool delete_list, json* server_view = nullptr) {
    if (meta.strategy == FieldMeta::Strategy::kMerge || delete_list) {
      ASSIGN_OR_RETURN(json merged, MergeSlice(std::move(original), std::move(patch), path, meta.merge_key,
                                               delete_list, server_view));
      original = std::move(merged);
    } else {
      DiscardNulls(patch);
      original = std::move(patch);
    }
    return base::Status::Ok();
  }

  // The one Go type all elements share (lists of lists are refused).
  static base::Result<int> SliceElementKind(const json& a, const json& b) {
    std::optional<int> kind;
    for (const json* list : {&a, &b}) {
      for (const json& v : *list) {
        if (!kind) {
          kind = GoKind(v);
          if (v.is_array()) return Unprocessable("lists of lists are not supported");
        } else if (*kind != GoKind(v)) {
          return Untyped("list element types are not identical: [" + GoValue(a) + " " + GoValue(b) + "]");
        }
      }
    }
    if (!kind) return Untyped("no elements in any of the given slices");
    return *kind;
  }

  base::Result<json> MergeSlice(json original, json patch, const std::string& path, const std::string& merge_key,
                                bool delete_list, json* server_view) {
    if (server_view != nullptr) *server_view = original;
    if (original.empty() && patch.empty()) return original;
    ASSIGN_OR_RETURN(const int kind, SliceElementKind(original, patch));
    json merged = json::array();
    if (kind != GoKind(json::object())) {
      if (delete_list) {
        for (const json& v : original) {
          if (std::find(patch.begin(), patch.end(), v) == patch.end()) merged.push_back(v);
        }
        return merged;
      }
      for (const json* list : {&original, &patch}) {
        for (const json& v : *list) {
          if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
        }
      }
    } else {
      if (merge_key.empty()) return Untyped("cannot merge lists without merge key for " + path);
      // `backing` is the original slice's array, its first `len` items the list proper.
      json backing = std::move(original);
      std::size_t len = backing.size();
      bool replace = false;
      RETURN_IF_ERROR(MergeSliceWithSpecialElements(backing, len, patch, merge_key, replace));
      original = replace ? patch : json(backing.begin(), backing.begin() + static_cast<std::ptrdiff_t>(len));
      if (replace) patch = json::array();
      merged = original;
      for (json& v : patch) {
        const json* value = MergeKeyValue(v, merge_key);
        if (value == nullptr) return ErrNoMergeKey(v, merge_key);
        const auto found = std::find_if(merged.begin(), merged.end(), [&](const json& o) {
          const json* ov = MergeKeyValue(o, merge_key);
          return ov != nullptr && *ov == *value;
        });
        json item = v;
        if (found != merged.end()) {
          RETURN_IF_ERROR(MergeMap(*found, item, path));
        } else {
          DiscardNulls(item);
          if (len < backing.size()) backing[len] = item;
          ++len;
          merged.push_back(std::move(item));
        }
      }
      if (server_view != nullptr) *server_view = std::move(backing);
    }
    json patch_items = json::array();
    json server_only = json::array();
    RETURN_IF_ERROR(Partition(merged, patch, merge_key, kind, patch_items, server_only));
    return NormalizeElementOrder(std::move(patch_items), std::move(server_only), patch, original, merge_key, kind);
  }

  // `$patch: delete` elements remove their matches from backing[0, len) (shifting the rest left, as Go's append
  // does); `$patch: replace` leaves the patch's other elements as the new list. On return `patch` holds the
  // elements without a directive.
  static base::Status MergeSliceWithSpecialElements(json& backing, std::size_t& len, json& patch,
                                                    const std::string& merge_key, bool& replace) {
    json plain = json::array();
    for (json& v : patch) {
      const auto d = v.find(kDirectiveMarker);
      if (d == v.end()) {
        plain.push_back(std::move(v));
        continue;
      }
      if (*d == "delete") {
        const json* value = MergeKeyValue(v, merge_key);
        if (value == nullptr) return ErrNoMergeKey(v, merge_key);
        std::size_t i = 0;
        while (i < len) {
          const json* ov = MergeKeyValue(backing[i], merge_key);
          if (ov == nullptr || *ov != *value) {
            ++i;
            continue;
          }
          for (std::size_t k = i; k + 1 < len; ++k) backing[k] = backing[k + 1];
          --len;
        }
      } else if (*d == "replace") {
        replace = true;
      } else if (*d == "merge") {
        return Untyped("merging lists cannot yet be specified in the patch");
      } else {
        return ErrBadPatchType(*d, v);
      }
    }
    if (replace) DiscardNulls(plain);
    patch = std::move(plain);
    return base::Status::Ok();
  }

  // Splits merged items into those the order list names and the server-only rest.
  static base::Status Partition(const json& merged, const json& by, const std::string& merge_key, int kind,
                                json& in, json& out) {
    const bool maps = kind == GoKind(json::object());
    for (const json& v : merged) {
      bool found = false;
      if (!maps) {
        found = std::find(by.begin(), by.end(), v) != by.end();
      } else {
        if (!v.is_object()) return ErrBadArgType("map[string]interface {}", v);
        const json* value = MergeKeyValue(v, merge_key);
        if (value == nullptr) return ErrNoMergeKey(v, merge_key);
        for (std::size_t i = 0; i < by.size() && !found; ++i) {
          if (!by[i].is_object()) return Untyped("value for key " + std::to_string(i) + " is not a map");
          const json* bv = MergeKeyValue(by[i], merge_key);
          found = bv != nullptr && *bv == *value;
        }
      }
      (found ? in : out).push_back(v);
    }
    return base::Status::Ok();
  }

  static long Index(const json& list, const json& item, const std::string& merge_key, bool maps) {
    static const json kNull;
    auto val = [&](const json& v) -> const json& {
      if (!maps) return v;
      const json* m = MergeKeyValue(v, merge_key);
      return m == nullptr ? kNull : *m;
    };
    const json& want = val(item);
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (val(list[i]) == want) return static_cast<long>(i);
    }
    return -1;
  }

  // normalizeSliceOrder: items sorted by their place in `order` (unlisted ones keep their order, last), then the
  // `$patch: delete` items.
  static base::Result<json> NormalizeSliceOrder(json items, const json& order, const std::string& merge_key, bool maps) {
    std::vector<json> to_delete;
    std::vector<std::pair<long, json>> keyed;
    if (maps) {
      for (const json* list : {static_cast<const json*>(&items), &order}) {
        for (const json& v : *list) {
          if (!v.is_object()) return ErrBadArgType("map[string]interface {}", v);
          if (MergeKeyValue(v, merge_key) == nullptr) return ErrNoMergeKey(v, merge_key);
        }
      }
    }
    for (json& v : items) {
      if (maps) {
        const auto d = v.find(kDirectiveMarker);
        if (d != v.end() && *d == "delete") {
          to_delete.push_back(std::move(v));
          continue;
        }
      }
      const long idx = Index(order, v, merge_key, maps);
      keyed.emplace_back(idx < 0 ? LONG_MAX : idx, std::move(v));
    }
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    json out = json::array();
    for (auto& [idx, v] : keyed) out.push_back(std::move(v));
    for (json& v : to_delete) out.push_back(std::move(v));
    return out;
  }

  // normalizeElementOrder + mergeSortedSlice: patch items in patch order, server-only items in server order, the
  // two interleaved by their places in the server's list. An item the server does not know goes before the rest.
  static base::Result<json> NormalizeElementOrder(json patch_items, json server_only, const json& patch_order,
                                                  const json& server_order, const std::string& merge_key, int kind) {
    const bool maps = kind == GoKind(json::object());
    ASSIGN_OR_RETURN(json right, NormalizeSliceOrder(std::move(patch_items), patch_order, merge_key, maps));
    ASSIGN_OR_RETURN(json left, NormalizeSliceOrder(std::move(server_only), server_order, merge_key, maps));
    json out = json::array();
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < left.size() || j < right.size()) {
      if (j >= right.size()) {
        out.push_back(std::move(left[i++]));
      } else if (i >= left.size()) {
        out.push_back(std::move(right[j++]));
      } else {
        const long li = Index(server_order, left[i], merge_key, maps);
        const long ri = Index(server_order, right[j], merge_key, maps);
        if (li >= 0 && ri >= 0 && li < ri) {
          out.push_back(std::move(left[i++]));
        } else {
          out.push_back(std::move(right[j++]));
        }
      }
    }
    return out;
  }

  const Schema& schema_;
};

}  // namespace

base::Result<json> ApplyMergePatch(const json& original, std::string_view patch) {
  std::optional<json> p = ParseJson(patch);
  if (!p || p->is_null() || !(p->is_object() || p->is_array())) return base::InvalidArgument("Invalid JSON Patch");
  if (!p->is_object()) {
    return base::InvalidArgument("error decoding patch: json: cannot unmarshal array into Go value of type "
                                 "map[string]interface {}");
  }
  if (!original.is_object()) return base::InvalidArgument("Invalid JSON Document");
  json doc = original;
  MergeDocs(doc, *p);
  return doc;
}

base::Result<json> ApplyJsonPatch(const json& original, std::string_view patch) {
  std::optional<json> ops = ParseJson(patch);
  if (!ops) return base::InvalidArgument("invalid JSON in patch");
  if (ops->is_null()) return original;  // decodes to an empty operation list
  if (!ops->is_array()) {
    return base::InvalidArgument("json: cannot unmarshal " + std::string(JsonTypeWord(*ops)) +
                                 " into Go value of type jsonpatch.Patch");
  }
  for (const json& op : *ops) {
    if (!op.is_object() && !op.is_null()) {
      return base::InvalidArgument("json: cannot unmarshal " + std::string(JsonTypeWord(op)) +
                                   " into Go value of type jsonpatch.Operation");
    }
  }
  if (ops->size() > kMaxJsonPatchOperations) {
    return base::ResourceExhausted("The allowed maximum operations in a JSON patch is " +
                                   std::to_string(kMaxJsonPatchOperations) + ", got " + std::to_string(ops->size()));
  }
  if (!original.is_object()) return base::InvalidArgument("Invalid JSON Document");
  json doc = original;
  std::size_t copied_bytes = 0;
  for (const json& op : *ops) RETURN_IF_ERROR(ApplyOperation(doc, Operation{op}, copied_bytes));
  if (!doc.is_object()) return base::InvalidArgument("the patched document is not a JSON object");
  return doc;
}

base::Result<json> ApplyStrategicMergePatch(const json& original, std::string_view patch, std::string_view kind) {
  const Schema* schema = KnownSchema(kind);
  if (schema == nullptr) return ApplyMergePatch(original, patch);
  std::optional<json> p = ParseJson(patch);
  if (!p) return base::InvalidArgument("invalid JSON in patch");
  if (p->is_null()) return original;  // decodes to a nil map: nothing to merge
  if (!p->is_object()) {
    return base::InvalidArgument("json: cannot unmarshal " + std::string(JsonTypeWord(*p)) +
                                 " into Go value of type map[string]interface {}");
  }
  if (!original.is_object()) return base::InvalidArgument("invalid JSON document");
  json doc = original;
  RETURN_IF_ERROR(StrategicMerger(*schema).MergeMap(doc, *p, ""));
  StripDirectiveKeys(doc);
  return doc;
}

bool SupportsStrategicMerge(std::string_view kind) { return KnownSchema(kind) != nullptr; }

}  // namespace gpuwise::sim
