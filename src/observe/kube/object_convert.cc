#include "observe/kube/object_convert.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "base/time_parse.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using Nanos = Quantity::Nanos;

// ---------------------------------------------------------------------------------------------------------------
// Quantities.

constexpr Nanos Pow10(int n) {
  Nanos v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}
constexpr Nanos kNano = Pow10(9);
constexpr Nanos kMaxNanos = Pow10(35);  // 1e26 in units

std::string Int128ToString(Nanos v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  // Work on the negative side: it holds one more value than the positive side.
  std::string out;
  Nanos n = negative ? v : -v;
  while (n != 0) {
    out.push_back(static_cast<char>('0' - static_cast<int>(n % 10)));
    n /= 10;
  }
  if (negative) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

base::Status QuantityError(std::string_view text, std::string_view why) {
  return base::InvalidArgument("quantity \"" + std::string(text) + "\": " + std::string(why));
}

constexpr std::string_view kGrammar =
    "expected a number, then an optional suffix (Ki Mi Gi Ti Pi Ei, n u m k M G T P E) or exponent (e3)";

// ---------------------------------------------------------------------------------------------------------------
// Shape-checked JSON reading. A member that is absent or null reads as absent; a member of the wrong type is an
// error naming the object and the path.

struct Ctx {
  std::string what;                       // "node gpu-1", "pod ml/train-0"
  std::vector<std::string>* warnings = nullptr;

  base::Status Bad(std::string_view path, std::string_view why) const {
    return base::InvalidArgument(what + ": " + std::string(path) + ": " + std::string(why));
  }
  void Warn(const std::string& message) const {
    if (warnings != nullptr) warnings->push_back(what + ": " + message);
  }
};

std::string Join(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}
std::string Index(std::string_view parent, std::size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}
std::string Keyed(std::string_view parent, std::string_view key) {
  return std::string(parent) + "[\"" + std::string(key) + "\"]";
}

const json* Member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string_view TypeName(const json& j) { return j.type_name(); }

base::Result<const json*> Obj(const Ctx& c, const json& parent, std::string_view key, std::string_view path) {
  const json* m = Member(parent, key);
  if (m != nullptr && !m->is_object()) {
    return c.Bad(Join(path, key), "expected an object, got " + std::string(TypeName(*m)));
  }
  return m;
}

base::Result<const json*> Arr(const Ctx& c, const json& parent, std::string_view key, std::string_view path) {
  const json* m = Member(parent, key);
  if (m != nullptr && !m->is_array()) {
    return c.Bad(Join(path, key), "expected an array, got " + std::string(TypeName(*m)));
  }
  return m;
}

base::Result<std::string> Str(const Ctx& c, const json& parent, std::string_view key, std::string_view path) {
  const json* m = Member(parent, key);
  if (m == nullptr) return std::string();
  if (!m->is_string()) return c.Bad(Join(path, key), "expected a string, got " + std::string(TypeName(*m)));
  return m->get<std::string>();
}

// spec.taints of a node or spec.tolerations of a pod: key, value and effect of each. A toleration whose operator is
// Exists matches any value, written "*".
base::Result<std::vector<model::Taint>> Taints(const Ctx& c, const json& spec, std::string_view field) {
  std::vector<model::Taint> out;
  ASSIGN_OR_RETURN(const json* list, Arr(c, spec, field, "spec"));
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& t = (*list)[i];
    const std::string p = Index("spec." + std::string(field), i);
    if (!t.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(t)));
    model::Taint taint;
    ASSIGN_OR_RETURN(taint.key, Str(c, t, "key", p));
    ASSIGN_OR_RETURN(taint.value, Str(c, t, "value", p));
    ASSIGN_OR_RETURN(taint.effect, Str(c, t, "effect", p));
    ASSIGN_OR_RETURN(std::string op, Str(c, t, "operator", p));
    if (op == "Exists") taint.value = "*";
    out.push_back(std::move(taint));
  }
  return out;
}

base::Result<bool> Bool(const Ctx& c, const json& parent, std::string_view key, std::string_view path) {
  const json* m = Member(parent, key);
  if (m == nullptr) return false;
  if (!m->is_boolean()) return c.Bad(Join(path, key), "expected a boolean, got " + std::string(TypeName(*m)));
  return m->get<bool>();
}

// An integer in [lo, hi]; a float with an integral value is accepted (JSON writers differ).
base::Result<std::int64_t> Int(const Ctx& c, const json& parent, std::string_view key, std::string_view path,
                               std::int64_t lo, std::int64_t hi) {
  const json* m = Member(parent, key);
  if (m == nullptr) return std::int64_t{0};
  const std::string p = Join(path, key);
  if (m->is_number_unsigned()) {
    const auto u = m->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) return c.Bad(p, "out of range: " + m->dump());
    return static_cast<std::int64_t>(u);
  }
  if (m->is_number_integer()) {
    const auto v = m->get<std::int64_t>();
    if (v < lo || v > hi) return c.Bad(p, "out of range: " + m->dump());
    return v;
  }
  if (m->is_number_float()) {
    const double d = m->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) {
      return static_cast<std::int64_t>(d);
    }
    return c.Bad(p, "expected an integer in range, got " + m->dump());
  }
  return c.Bad(p, "expected an integer, got " + std::string(TypeName(*m)));
}

base::Status StrMap(const Ctx& c, const json& parent, std::string_view key, std::string_view path,
                    std::map<std::string, std::string>* out) {
  ASSIGN_OR_RETURN(const json* m, Obj(c, parent, key, path));
  if (m == nullptr) return base::Status::Ok();
  const std::string p = Join(path, key);
  for (const auto& [k, v] : m->items()) {
    if (v.is_null()) continue;
    if (!v.is_string()) return c.Bad(Keyed(p, k), "expected a string, got " + std::string(TypeName(v)));
    (*out)[k] = v.get<std::string>();
  }
  return base::Status::Ok();
}

base::Result<std::vector<std::string>> StrList(const Ctx& c, const json& parent, std::string_view key,
                                               std::string_view path) {
  ASSIGN_OR_RETURN(const json* m, Arr(c, parent, key, path));
  std::vector<std::string> out;
  if (m == nullptr) return out;
  const std::string p = Join(path, key);
  for (std::size_t i = 0; i < m->size(); ++i) {
    const json& v = (*m)[i];
    if (!v.is_string()) return c.Bad(Index(p, i), "expected a string, got " + std::string(TypeName(v)));
    out.push_back(v.get<std::string>());
  }
  return out;
}

// RFC 3339 timestamp -> Unix seconds; 0 when absent.
// spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution (model::PodAntiAffinity).
base::Result<model::PodAntiAffinity> AntiAffinity(const Ctx& c, const json& spec) {
  model::PodAntiAffinity out;
  ASSIGN_OR_RETURN(const json* affinity, Obj(c, spec, "affinity", "spec"));
  if (affinity == nullptr) return out;
  ASSIGN_OR_RETURN(const json* anti, Obj(c, *affinity, "podAntiAffinity", "spec.affinity"));
  if (anti == nullptr) return out;
  const std::string base = "spec.affinity.podAntiAffinity";
  ASSIGN_OR_RETURN(const json* terms, Arr(c, *anti, "requiredDuringSchedulingIgnoredDuringExecution", base));
  if (terms == nullptr) return out;
  for (std::size_t i = 0; i < terms->size(); ++i) {
    const json& t = (*terms)[i];
    const std::string p = Index(base + ".requiredDuringSchedulingIgnoredDuringExecution", i);
    if (!t.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(t)));
    ASSIGN_OR_RETURN(std::string topology, Str(c, t, "topologyKey", p));
    ASSIGN_OR_RETURN(const json* selector, Obj(c, t, "labelSelector", p));
    ASSIGN_OR_RETURN(const json* namespaces, Arr(c, t, "namespaces", p));
    ASSIGN_OR_RETURN(const json* namespace_selector, Obj(c, t, "namespaceSelector", p));
    const json* expressions = nullptr;
    model::Labels match;
    if (selector != nullptr) {
      ASSIGN_OR_RETURN(expressions, Arr(c, *selector, "matchExpressions", p + ".labelSelector"));
      RETURN_IF_ERROR(StrMap(c, *selector, "matchLabels", p + ".labelSelector", &match));
    }
    if (topology != "kubernetes.io/hostname" || selector == nullptr || (expressions != nullptr && !expressions->empty()) ||
        (namespaces != nullptr && !namespaces->empty()) || namespace_selector != nullptr) {
      out.other = true;
      continue;
    }
    out.hostname.push_back(std::move(match));
  }
  return out;
}

base::Result<std::int64_t> Time(const Ctx& c, const json& parent, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(std::string text, Str(c, parent, key, path));
  if (text.empty()) return std::int64_t{0};
  base::Result<std::int64_t> ms = base::ParseTime(text);
  if (!ms.ok()) return c.Bad(Join(path, key), ms.status().message());
  // Floor division: times before 1970 stay ordered.
  const std::int64_t v = *ms;
  return v >= 0 ? v / 1000 : -((-v + 999) / 1000);
}

base::Result<Quantity> QuantityAt(const Ctx& c, const json& v, std::string_view path) {
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number()) {
    text = v.dump();
  } else {
    return c.Bad(path, "expected a quantity string, got " + std::string(TypeName(v)));
  }
  base::Result<Quantity> q = ParseQuantity(text);
  if (!q.ok()) return c.Bad(path, q.status().message());
  return *q;
}

// A resource list (capacity, requests, limits) as name -> quantity.
base::Result<std::map<std::string, Quantity>> Resources(const Ctx& c, const json& parent, std::string_view key,
                                                        std::string_view path) {
  ASSIGN_OR_RETURN(const json* m, Obj(c, parent, key, path));
  std::map<std::string, Quantity> out;
  if (m == nullptr) return out;
  const std::string p = Join(path, key);
  for (const auto& [name, v] : m->items()) {
    if (v.is_null()) continue;
    ASSIGN_OR_RETURN(Quantity q, QuantityAt(c, v, Keyed(p, name)));
    out[name] = q;
  }
  return out;
}

// Common metadata: name (required), uid, labels, annotations, creationTimestamp.
struct Meta {
  std::string name, namespace_name, uid;
  model::Labels labels, annotations;
  std::int64_t created = 0, deleted = 0;
};

base::Result<Meta> ReadMeta(Ctx& c, const json& object, std::string_view kind, bool namespaced) {
  if (!object.is_object()) {
    return base::InvalidArgument(std::string(kind) + " object: expected a JSON object, got " +
                                 std::string(TypeName(object)));
  }
  c.what = std::string(kind) + " object";
  ASSIGN_OR_RETURN(const json* meta, Obj(c, object, "metadata", ""));
  if (meta == nullptr) return c.Bad("metadata", "missing");
  Meta m;
  ASSIGN_OR_RETURN(m.name, Str(c, *meta, "name", "metadata"));
  if (m.name.empty()) return c.Bad("metadata.name", "missing");
  if (namespaced) {
    ASSIGN_OR_RETURN(m.namespace_name, Str(c, *meta, "namespace", "metadata"));
    if (m.namespace_name.empty()) {
      c.what = std::string(kind) + " " + m.name;
      return c.Bad("metadata.namespace", "missing");
    }
    c.what = std::string(kind) + " " + m.namespace_name + "/" + m.name;
  } else {
    c.what = std::string(kind) + " " + m.name;
  }
  ASSIGN_OR_RETURN(m.uid, Str(c, *meta, "uid", "metadata"));
  RETURN_IF_ERROR(StrMap(c, *meta, "labels", "metadata", &m.labels));
  RETURN_IF_ERROR(StrMap(c, *meta, "annotations", "metadata", &m.annotations));
  ASSIGN_OR_RETURN(m.created, Time(c, *meta, "creationTimestamp", "metadata"));
  ASSIGN_OR_RETURN(m.deleted, Time(c, *meta, "deletionTimestamp", "metadata"));
  return m;
}

std::string LabelOr(const model::Labels& labels, std::string_view a, std::string_view b = {}) {
  if (auto it = labels.find(std::string(a)); it != labels.end() && !it->second.empty()) return it->second;
  if (!b.empty()) {
    if (auto it = labels.find(std::string(b)); it != labels.end()) return it->second;
  }
  return {};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> ParseInt(std::string_view s) {
  const std::optional<double> v = ParseNumber(s);
  if (!v || *v != std::floor(*v) || std::fabs(*v) > 1e9) return std::nullopt;
  return static_cast<int>(*v);
}

// ---------------------------------------------------------------------------------------------------------------
// Serving engines.

// Flags that take no value, so that `--enforce-eager meta-llama/x` keeps the model positional.
const std::set<std::string, std::less<>>& BooleanFlags() {
  static const std::set<std::string, std::less<>> kFlags = {
      "enforce-eager", "trust-remote-code", "enable-prefix-caching", "no-enable-prefix-caching",
      "disable-log-requests", "disable-log-stats", "enable-chunked-prefill", "no-enable-chunked-prefill",
      "enable-lora", "enable-auto-tool-choice", "disable-custom-all-reduce", "enable-sleep-mode",
      "disable-frontend-multiprocessing", "enable-log-requests", "metrics", "enable-metrics", "disable-radix-cache",
      "disable-cuda-graph", "no-cuda-graph", "allow-metrics-auth", "strict-model-config", "verbose", "help",
      "skip-tokenizer-init", "enable-expert-parallel", "disable-custom-kernels",
      "use-v2-block-manager", "cont-batching", "embedding", "embeddings", "no-mmap", "mlock",
      "disable-fastapi-docs"};
  return kFlags;
}

std::string FlagKey(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && token[i] == '-') ++i;
  std::string key(token.substr(i));
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

bool IsSeparator(std::string_view t) { return t == "&&" || t == "||" || t == ";" || t == "|" || t == "&"; }

// Shell words of a `sh -c` script: whitespace-separated, quotes grouped, ; && || | as their own words.
std::vector<std::string> ShellWords(std::string_view script) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  auto flush = [&] {
    if (have) out.push_back(cur);
    cur.clear();
    have = false;
  };
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char ch = script[i];
    if (quote != 0) {
      if (ch == quote) {
        quote = 0;
      } else if (ch == '\\' && quote == '"' && i + 1 < script.size()) {
        cur.push_back(script[++i]);
      } else {
        cur.push_back(ch);
      }
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      have = true;
    } else if (ch == '\\' && i + 1 < script.size()) {
      if (script[i + 1] != '\n') cur.push_back(script[i + 1]);
      have = have || script[i + 1] != '\n';
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(ch))) {
      flush();
    } else if (ch == ';' || ch == '|' || ch == '&') {
      flush();
      std::string sep(1, ch);
      if (i + 1 < script.size() && (script[i + 1] == '|' || script[i + 1] == '&') && ch != ';') {
        sep.push_back(script[++i]);
      }
      out.push_back(sep);
    } else {
      cur.push_back(ch);
      have = true;
    }
  }
  flush();
  return out;
}

std::string Basename(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool IsShell(std::string_view word) {
  const std::string b = Basename(word);
  return b == "sh" || b == "bash" || b == "dash" || b == "ash" || b == "zsh";
}

// The command line as words: command then args, with `sh -c <script> ...` scripts split into words.
std::vector<std::string> CommandWords(const model::Container& c) {
  std::vector<std::string> argv = c.command;
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (IsShell(w)) {
      // Skip shell options up to -c (e.g. "-ec", "-lc", "-c").
      std::size_t j = i + 1;
      bool script = false;
      while (j < argv.size() && argv[j].size() > 1 && argv[j][0] == '-') {
        if (argv[j].find('c') != std::string::npos) script = true;
        ++j;
        if (script) break;
      }
      if (script && j < argv.size()) {
        out.push_back(w);
        for (std::string& s : ShellWords(argv[j])) out.push_back(std::move(s));
        out.push_back(";");
        i = j;
        continue;
      }
    }
    out.push_back(w);
  }
  return out;
}

// Image repository path without registry port confusion, tag or digest, lower case: "vllm/vllm-openai".
struct ImageRef {
  std::string repo;  // "docker.io/vllm/vllm-openai" as written (host kept when present)
  std::string last;  // "vllm-openai"
  std::string tag;   // "v0.6.3"
};
ImageRef ParseImage(std::string_view image) {
  ImageRef r;
  std::string s = Lower(image);
  if (const std::size_t at = s.find('@'); at != std::string::npos) s.resize(at);
  const std::size_t slash = s.rfind('/');
  const std::size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    r.tag = s.substr(colon + 1);
    s.resize(colon);
  }
  r.repo = s;
  r.last = Basename(s);
  return r;
}

struct Launch {
  std::string engine;
  std::string evidence;
  std::size_t flags_from = 0;  // index of the first word after the launch words
};

std::optional<Launch> FindLaunch(const std::vector<std::string>& w) {
  auto at = [&](std::size_t i) -> std::string_view { return i < w.size() ? std::string_view(w[i]) : ""; };
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::string base = Basename(w[i]);
    if (base == "vllm" && at(i + 1) == "serve") return Launch{"vllm", "command 'vllm serve'", i + 2};
    if (w[i] == "-m" && i + 1 < w.size()) {
      const std::string_view mod = at(i + 1);
      if (mod.starts_with("vllm.entrypoints")) {
        return Launch{"vllm", "command 'python -m " + std::string(mod) + "'", i + 2};
      }
      if (mod == "sglang.launch_server") return Launch{"sglang", "command 'python -m sglang.launch_server'", i + 2};
      if (mod == "huggingfaceserver") return Launch{"kserve-huggingface", "command 'python -m huggingfaceserver'", i + 2};
      if (mod.starts_with("lmdeploy")) return Launch{"lmdeploy", "command 'python -m " + std::string(mod) + "'", i + 2};
    }
    if (base == "sglang" && at(i + 1) == "serve") return Launch{"sglang", "command 'sglang serve'", i + 2};
    if (base == "text-generation-launcher") return Launch{"tgi", "command 'text-generation-launcher'", i + 1};
    if (base == "tritonserver") return Launch{"triton", "command 'tritonserver'", i + 1};
    if (base == "trtllm-serve") return Launch{"tensorrt-llm", "command 'trtllm-serve'", i + 1};
    if (base == "lmdeploy" && at(i + 1) == "serve") {
      const std::size_t next = at(i + 2) == "api_server" ? i + 3 : i + 2;
      return Launch{"lmdeploy", "command 'lmdeploy serve " + std::string(at(i + 2)) + "'", next};
    }
    if (base == "ollama" && at(i + 1) == "serve") return Launch{"ollama", "command 'ollama serve'", i + 2};
    if (base == "llama-server") return Launch{"llama.cpp", "command 'llama-server'", i + 1};
    if (base == "serve" && (at(i + 1) == "run" || at(i + 1) == "deploy")) {
      return Launch{"ray-serve", "command 'serve " + std::string(at(i + 1)) + "'", i + 2};
    }
    if (base == "torchserve") return Launch{"torchserve", "command 'torchserve'", i + 1};
  }
  return std::nullopt;
}

std::optional<std::string> EngineOfImage(const ImageRef& img) {
  if (img.last.starts_with("vllm")) return "vllm";
  if (img.repo.find("sglang") != std::string::npos) return "sglang";
  if (img.last == "text-generation-inference" || img.last.starts_with("tgi-")) return "tgi";
  if (img.last == "tritonserver") return "triton";
  if (img.repo.find("tensorrt-llm") != std::string::npos || img.repo.find("tensorrt_llm") != std::string::npos) {
    return "tensorrt-llm";
  }
  if (img.last == "lmdeploy") return "lmdeploy";
  if (img.last == "ollama") return "ollama";
  if (img.last == "llama.cpp" && img.tag.starts_with("server")) return "llama.cpp";
  if (img.last == "torchserve") return "torchserve";
  if (img.last == "huggingfaceserver") return "kserve-huggingface";
  if (img.repo.starts_with("nvcr.io/nim/")) return "nim";
  return std::nullopt;
}

struct ParsedFlags {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
};

ParsedFlags ParseFlags(const std::vector<std::string>& w, std::size_t from) {
  ParsedFlags p;
  for (std::size_t i = from; i < w.size(); ++i) {
    const std::string& t = w[i];
    if (IsSeparator(t)) break;
    if (t.size() > 1 && t[0] == '-' && !(std::isdigit(static_cast<unsigned char>(t[1])) || t[1] == '.')) {
      if (t == "--") continue;
      const std::size_t eq = t.find('=');
      if (eq != std::string::npos) {
        p.flags[FlagKey(t.substr(0, eq))] = t.substr(eq + 1);
        continue;
      }
      const std::string key = FlagKey(t);
      const bool takes_value = !BooleanFlags().contains(key) && i + 1 < w.size() && !IsSeparator(w[i + 1]) &&
                               !(w[i + 1].size() > 1 && w[i + 1][0] == '-' &&
                                 !std::isdigit(static_cast<unsigned char>(w[i + 1][1])));
      p.flags[key] = takes_value ? w[++i] : "";
    } else {
      p.positional.push_back(t);
    }
  }
  return p;
}

std::string FlagOr(const ParsedFlags& p, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (auto it = p.flags.find(std::string(k)); it != p.flags.end() && !it->second.empty()) return it->second;
  }
  return {};
}

// The model keeps container port numbers, not their names: the first port stands in.
int FirstPort(const model::Container& c) { return c.ports.empty() ? 0 : c.ports.front(); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Quantity.

base::Result<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return QuantityError(text, "empty");
  if (text.size() > 64) return QuantityError(text.substr(0, 64), "longer than 64 characters");
  std::size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') {
    negative = text[i] == '-';
    ++i;
  }
  Nanos mantissa = 0;
  int digits = 0, frac_digits = 0, significant = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '.') {
      if (dot) return QuantityError(text, kGrammar);
      dot = true;
      continue;
    }
    if (ch < '0' || ch > '9') break;
    ++digits;
    if (dot) ++frac_digits;
    if (mantissa == 0 && ch == '0') {
      continue;  // leading zeros carry no digits of precision
    }
    if (++significant > 36) return QuantityError(text, "too many digits");
    mantissa = mantissa * 10 + (ch - '0');
  }
  if (digits == 0) return QuantityError(text, kGrammar);
  const std::string_view suffix = text.substr(i);
  int exp10 = 0, exp2 = 0;
  Format format = Format::kDecimalSI;
  static constexpr std::array<std::pair<std::string_view, int>, 10> kDecimal = {
      {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3}, {"M", 6}, {"G", 9}, {"T", 12}, {"P", 15}, {"E", 18}}};
  static constexpr std::array<std::pair<std::string_view, int>, 6> kBinary = {
      {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}}};
  bool known = false;
  for (const auto& [s, e] : kDecimal) {
    if (suffix == s) {
      exp10 = e;
      known = true;
    }
  }
  for (const auto& [s, e] : kBinary) {
    if (suffix == s) {
      exp2 = e;
      format = Format::kBinarySI;
      known = true;
    }
  }
  if (!known) {
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return QuantityError(text, kGrammar);
    std::size_t j = 1;
    bool exp_negative = false;
    if (suffix[j] == '+' || suffix[j] == '-') {
      exp_negative = suffix[j] == '-';
      ++j;
    }
    if (j >= suffix.size()) return QuantityError(text, kGrammar);
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (suffix[j] < '0' || suffix[j] > '9') return QuantityError(text, kGrammar);
      e = e * 10 + (suffix[j] - '0');
      if (e > 1000) return QuantityError(text, "exponent out of range");
    }
    exp10 = exp_negative ? -e : e;
    format = Format::kDecimalExponent;
  }
  // nanos = mantissa * 2^exp2 * 10^(9 - frac_digits + exp10), rounded up to a whole nano.
  Nanos v = mantissa;
  if (v != 0) {
    for (int k = 0; k < exp2; ++k) {
      if (v > kMaxNanos) break;
      v *= 2;
    }
    int scale = 9 - frac_digits + exp10;
    if (scale >= 0) {
      for (; scale > 0 && v <= kMaxNanos; --scale) v *= 10;
    } else if (scale < -38) {
      v = 1;  // finer than 1n: rounds up to 1n
    } else {
      const Nanos div = Pow10(-scale);
      const bool remainder = v % div != 0;
      v = v / div + (remainder ? 1 : 0);
    }
    if (v > kMaxNanos) return QuantityError(text, "out of range (magnitude above 1e26)");
  }
  return Quantity(negative ? -v : v, format);
}

base::Result<Quantity> ParseQuantity(std::string_view text) { return Quantity::Parse(text); }

double Quantity::ToDouble() const {
  // Split so that the integer part converts exactly when it can.
  const Nanos whole = nanos_ / kNano, frac = nanos_ % kNano;
  return static_cast<double>(whole) + static_cast<double>(frac) / 1e9;
}

bool Quantity::IsInteger() const { return nanos_ % kNano == 0; }

std::int64_t Quantity::Value() const {
  Nanos v = nanos_ / kNano;
  if (nanos_ % kNano > 0) ++v;
  if (v > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  if (v < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

std::string Quantity::ToString() const {
  if (nanos_ == 0) return "0";
  if (format_ == Format::kBinarySI && nanos_ % kNano == 0) {
    const Nanos v = nanos_ / kNano;
    static constexpr std::array<std::string_view, 7> kSuffix = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    for (int k = 6; k >= 1; --k) {
      const Nanos unit = static_cast<Nanos>(1) << (10 * k);
      if (v % unit == 0) return Int128ToString(v / unit) + std::string(kSuffix[static_cast<std::size_t>(k)]);
    }
  }
  // Decimal: the largest power of 1000 (down to 1n) that divides exactly.
  for (int e = 18; e >= -9; e -= 3) {
    const Nanos unit = Pow10(e + 9);
    if (nanos_ % unit != 0) continue;
    const std::string mant = Int128ToString(nanos_ / unit);
    if (format_ == Format::kDecimalExponent) return e == 0 ? mant : mant + "e" + std::to_string(e);
    static constexpr std::array<std::string_view, 10> kSuffix = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    return mant + std::string(kSuffix[static_cast<std::size_t>((e + 9) / 3)]);
  }
  return Int128ToString(nanos_) + "n";  // unreachable: 10^0 divides everything
}

// ---------------------------------------------------------------------------------------------------------------
// Labels and resource names.

std::pair<model::CapacityType, std::string> CapacityTypeFromLabels(const model::Labels& labels) {
  using model::CapacityType;
  auto get = [&](const char* key) -> std::optional<std::string> {
    auto it = labels.find(key);
    if (it == labels.end()) return std::nullopt;
    return Lower(it->second);
  };
  if (auto v = get("karpenter.sh/capacity-type")) {
    if (*v == "spot") return {CapacityType::kSpot, "karpenter.sh/capacity-type"};
    if (*v == "on-demand") return {CapacityType::kOnDemand, "karpenter.sh/capacity-type"};
    if (*v == "reserved") return {CapacityType::kReserved, "karpenter.sh/capacity-type"};
  }
  if (auto v = get("eks.amazonaws.com/capacityType")) {
    if (*v == "spot") return {CapacityType::kSpot, "eks.amazonaws.com/capacityType"};
    if (*v == "on_demand") return {CapacityType::kOnDemand, "eks.amazonaws.com/capacityType"};
    if (*v == "capacity_block") return {CapacityType::kReserved, "eks.amazonaws.com/capacityType"};
  }
  if (auto v = get("cloud.google.com/gke-spot"); v && *v == "true") {
    return {CapacityType::kSpot, "cloud.google.com/gke-spot"};
  }
  if (auto v = get("cloud.google.com/gke-preemptible"); v && *v == "true") {
    return {CapacityType::kSpot, "cloud.google.com/gke-preemptible"};
  }
  if (auto v = get("cloud.google.com/gke-provisioning")) {
    if (*v == "spot" || *v == "preemptible") return {CapacityType::kSpot, "cloud.google.com/gke-provisioning"};
    if (*v == "standard") return {CapacityType::kOnDemand, "cloud.google.com/gke-provisioning"};
  }
  if (auto v = get("kubernetes.azure.com/scalesetpriority")) {
    if (*v == "spot") return {CapacityType::kSpot, "kubernetes.azure.com/scalesetpriority"};
    if (*v == "regular") return {CapacityType::kOnDemand, "kubernetes.azure.com/scalesetpriority"};
  }
  if (auto v = get("node.kubernetes.io/lifecycle")) {
    if (*v == "spot") return {CapacityType::kSpot, "node.kubernetes.io/lifecycle"};
    if (*v == "normal" || *v == "on-demand") return {CapacityType::kOnDemand, "node.kubernetes.io/lifecycle"};
  }
  return {CapacityType::kUnknown, ""};
}

model::FractionalBackend DetectNodeBackend(const model::Node& node) {
  for (const auto* m : {&node.capacity, &node.allocatable}) {
    if (m->count("nvidia.com/gpumem") || m->count("nvidia.com/gpucores")) return model::FractionalBackend::kHami;
  }
  for (const auto& [k, v] : node.annotations) {
    if (k.starts_with("hami.io/")) return model::FractionalBackend::kHami;
  }
  for (const auto& [k, v] : node.labels) {
    if (k.starts_with("kai.scheduler/")) return model::FractionalBackend::kKai;
  }
  return model::FractionalBackend::kNone;
}

std::string MigProfileOfResource(std::string_view resource) {
  constexpr std::string_view kPrefix = "nvidia.com/mig-";
  if (!resource.starts_with(kPrefix) || resource.size() == kPrefix.size()) return {};
  std::string profile(resource.substr(kPrefix.size()));
  // The device plugin writes "+" as "." in resource names (1g.10gb+me -> mig-1g.10gb.me).
  if (profile.ends_with(".me")) profile.replace(profile.size() - 3, 1, "+");
  else if (profile.ends_with(".me.all")) profile.replace(profile.size() - 7, 1, "+");
  return profile;
}

bool IsGpuLikeResource(std::string_view resource) {
  const std::size_t slash = resource.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string lower = Lower(resource);
  const std::string_view domain = std::string_view(lower).substr(0, slash);
  const std::string_view name = std::string_view(lower).substr(slash + 1);
  if (name == "priority") return false;  // HAMi's task priority, not a device
  if (lower.find("gpu") != std::string::npos) return true;
  if (domain == "nvidia.com") {
    static constexpr std::array<std::string_view, 14> kModels = {"a100", "a10", "a30", "a40", "h100", "h200", "h20",
                                                                 "l4", "l40", "t4", "v100", "b200", "gb200", "mig"};
    for (std::string_view m : kModels) {
      if (name.starts_with(m)) return true;
    }
    return false;
  }
  return domain == "habana.ai" || (domain == "aws.amazon.com" && name.starts_with("neuron")) ||
         (domain == "google.com" && name.starts_with("tpu")) || (domain == "huawei.com" && name.starts_with("ascend"));
}

// ---------------------------------------------------------------------------------------------------------------
// Objects.

base::Result<model::Namespace> NamespaceFromJson(const json& object) {
  Ctx c;
  ASSIGN_OR_RETURN(Meta m, ReadMeta(c, object, "namespace", false));
  model::Namespace ns;
  ns.name = std::move(m.name);
  ns.labels = std::move(m.labels);
  ns.annotations = std::move(m.annotations);
  return ns;
}

base::Result<std::optional<model::OwnerRef>> ControllerOwnerFromJson(const json& object, std::string_view what) {
  Ctx c;
  c.what = std::string(what);
  ASSIGN_OR_RETURN(const json* meta, Obj(c, object, "metadata", ""));
  if (meta == nullptr) return std::optional<model::OwnerRef>();
  ASSIGN_OR_RETURN(const json* refs, Arr(c, *meta, "ownerReferences", "metadata"));
  if (refs == nullptr) return std::optional<model::OwnerRef>();
  std::optional<model::OwnerRef> first, controller;
  for (std::size_t i = 0; i < refs->size(); ++i) {
    const json& r = (*refs)[i];
    const std::string p = Index("metadata.ownerReferences", i);
    if (!r.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(r)));
    model::OwnerRef o;
    ASSIGN_OR_RETURN(o.api_version, Str(c, r, "apiVersion", p));
    ASSIGN_OR_RETURN(o.kind, Str(c, r, "kind", p));
    ASSIGN_OR_RETURN(o.name, Str(c, r, "name", p));
    ASSIGN_OR_RETURN(o.uid, Str(c, r, "uid", p));
    ASSIGN_OR_RETURN(bool is_controller, Bool(c, r, "controller", p));
    if (o.kind.empty() || o.name.empty() || o.api_version.empty()) {
      return c.Bad(p, "apiVersion, kind and name are required");
    }
    if (!first) first = o;
    if (is_controller && !controller) controller = o;
  }
  return controller ? controller : first;
}

base::Result<model::Node> NodeFromJson(const json& object, std::vector<std::string>* warnings) {
  Ctx c;
  c.warnings = warnings;
  ASSIGN_OR_RETURN(Meta m, ReadMeta(c, object, "node", false));
  model::Node n;
  n.name = std::move(m.name);
  n.uid = std::move(m.uid);
  n.labels = std::move(m.labels);
  n.annotations = std::move(m.annotations);
  n.created_unix_s = m.created;

  ASSIGN_OR_RETURN(const json* spec, Obj(c, object, "spec", ""));
  if (spec != nullptr) {
    ASSIGN_OR_RETURN(n.provider_id, Str(c, *spec, "providerID", "spec"));
    ASSIGN_OR_RETURN(n.unschedulable, Bool(c, *spec, "unschedulable", "spec"));
    ASSIGN_OR_RETURN(n.taints, Taints(c, *spec, "taints"));
  }

  ASSIGN_OR_RETURN(const json* status, Obj(c, object, "status", ""));
  if (status != nullptr) {
    ASSIGN_OR_RETURN(auto capacity, Resources(c, *status, "capacity", "status"));
    ASSIGN_OR_RETURN(auto allocatable, Resources(c, *status, "allocatable", "status"));
    for (const auto& [name, q] : capacity) {
      if (name.find('/') != std::string::npos) n.capacity[name] = q.ToDouble();
    }
    for (const auto& [name, q] : allocatable) {
      if (name.find('/') != std::string::npos) n.allocatable[name] = q.ToDouble();
      if (name == "cpu") n.cpu_allocatable = q.ToDouble();
      if (name == "memory") n.memory_allocatable_bytes = q.ToDouble();
    }
    ASSIGN_OR_RETURN(const json* conditions, Arr(c, *status, "conditions", "status"));
    if (conditions != nullptr) {
      for (std::size_t i = 0; i < conditions->size(); ++i) {
        const json& cond = (*conditions)[i];
        const std::string p = Index("status.conditions", i);
        if (!cond.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(cond)));
        ASSIGN_OR_RETURN(std::string type, Str(c, cond, "type", p));
        ASSIGN_OR_RETURN(std::string st, Str(c, cond, "status", p));
        if (type == "Ready") n.ready = st == "True";
      }
    }
  }

  const model::Labels& l = n.labels;
  n.instance_type = LabelOr(l, "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type");
  n.region = LabelOr(l, "topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region");
  n.zone = LabelOr(l, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
  std::tie(n.capacity_type, n.capacity_type_source) = CapacityTypeFromLabels(l);

  n.gpu_product = LabelOr(l, "nvidia.com/gpu.product");
  if (const std::string v = LabelOr(l, "nvidia.com/gpu.count"); !v.empty()) {
    const std::optional<int> count = ParseInt(v);
    if (count && *count >= 0) n.gpu_count = *count;
    else c.Warn("label nvidia.com/gpu.count: \"" + v + "\" is not a GPU count; ignored");
  }
  if (const std::string v = LabelOr(l, "nvidia.com/gpu.memory"); !v.empty()) {
    const std::optional<double> mib = ParseNumber(v);
    if (mib && *mib >= 0) n.gpu_memory_mib = *mib;
    else c.Warn("label nvidia.com/gpu.memory: \"" + v + "\" is not MiB; ignored");
  }
  if (const std::string v = LabelOr(l, "nvidia.com/gpu.replicas"); !v.empty()) {
    const std::optional<int> replicas = ParseInt(v);
    if (replicas && *replicas >= 0) n.gpu_replicas = std::max(1, *replicas);
    else c.Warn("label nvidia.com/gpu.replicas: \"" + v + "\" is not a replica count; read as 1");
  }
  n.mig_strategy = LabelOr(l, "nvidia.com/mig.strategy");
  n.mig_config = LabelOr(l, "nvidia.com/mig.config");
  n.mig_config_state = LabelOr(l, "nvidia.com/mig.config.state");
  n.device_plugin_config = LabelOr(l, "nvidia.com/device-plugin.config");
  n.sharing_strategy = LabelOr(l, "nvidia.com/gpu.sharing-strategy");
  n.backend = DetectNodeBackend(n);
  return n;
}

namespace {

// One container's GPU request from its resources: requests, with limits standing in for absent requests.
base::Status AddGpuResource(const Ctx& c, const std::string& path, const std::string& name, const Quantity& q,
                            model::GpuRequest* g) {
  auto whole = [&]() -> base::Result<int> {
    if (!q.IsInteger() || q.nanos() < 0 || q.Value() > 1'000'000) {
      return c.Bad(path, "\"" + q.ToString() + "\" is not a whole, non-negative device count");
    }
    return static_cast<int>(q.Value());
  };
  if (name == "nvidia.com/gpu") {
    ASSIGN_OR_RETURN(g->gpus, whole());
  } else if (name == "nvidia.com/gpu.shared") {
    ASSIGN_OR_RETURN(g->shared, whole());
  } else if (const std::string profile = MigProfileOfResource(name); !profile.empty()) {
    ASSIGN_OR_RETURN(int n, whole());
    if (n > 0) g->mig[profile] += n;
  } else if (name == "nvidia.com/gpumem") {
    g->hami_gpumem_mib = q.ToDouble();
  } else if (name == "nvidia.com/gpumem-percentage") {
    g->hami_gpumem_percent = q.ToDouble();
  } else if (name == "nvidia.com/gpucores") {
    g->hami_gpucores_percent = q.ToDouble();
  } else if (IsGpuLikeResource(name)) {
    if (q.nanos() != 0) g->other[name] = q.ToDouble();
  }
  return base::Status::Ok();
}

base::Result<model::Container> ReadContainer(const Ctx& c, const json& j, const std::string& p) {
  if (!j.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(j)));
  model::Container k;
  ASSIGN_OR_RETURN(k.name, Str(c, j, "name", p));
  ASSIGN_OR_RETURN(k.image, Str(c, j, "image", p));
  ASSIGN_OR_RETURN(k.command, StrList(c, j, "command", p));
  ASSIGN_OR_RETURN(k.args, StrList(c, j, "args", p));
  ASSIGN_OR_RETURN(const json* env, Arr(c, j, "env", p));
  if (env != nullptr) {
    for (std::size_t i = 0; i < env->size(); ++i) {
      const json& e = (*env)[i];
      const std::string ep = Index(Join(p, "env"), i);
      if (!e.is_object()) return c.Bad(ep, "expected an object, got " + std::string(TypeName(e)));
      ASSIGN_OR_RETURN(std::string name, Str(c, e, "name", ep));
      ASSIGN_OR_RETURN(const json* from, Obj(c, e, "valueFrom", ep));
      if (from != nullptr || name.empty()) continue;  // valueFrom is not resolved (it may name a Secret)
      ASSIGN_OR_RETURN(std::string value, Str(c, e, "value", ep));
      k.env[name] = std::move(value);
    }
  }
  ASSIGN_OR_RETURN(const json* ports, Arr(c, j, "ports", p));
  if (ports != nullptr) {
    for (std::size_t i = 0; i < ports->size(); ++i) {
      const json& port = (*ports)[i];
      const std::string pp = Index(Join(p, "ports"), i);
      if (!port.is_object()) return c.Bad(pp, "expected an object, got " + std::string(TypeName(port)));
      ASSIGN_OR_RETURN(std::int64_t n, Int(c, port, "containerPort", pp, 0, 65535));
      if (n > 0) k.ports.push_back(static_cast<int>(n));
    }
  }
  ASSIGN_OR_RETURN(const json* res, Obj(c, j, "resources", p));
  if (res != nullptr) {
    const std::string rp = Join(p, "resources");
    ASSIGN_OR_RETURN(auto requests, Resources(c, *res, "requests", rp));
    ASSIGN_OR_RETURN(auto limits, Resources(c, *res, "limits", rp));
    std::map<std::string, std::pair<Quantity, std::string>> ext;  // name -> (quantity, path it came from)
    for (const auto& [name, q] : limits) {
      if (name.find('/') != std::string::npos) ext[name] = {q, Keyed(Join(rp, "limits"), name)};
    }
    for (const auto& [name, q] : requests) {
      if (name.find('/') != std::string::npos) ext[name] = {q, Keyed(Join(rp, "requests"), name)};
      if (name == "cpu") k.cpu_request = q.ToDouble();
      if (name == "memory") k.memory_request_bytes = q.ToDouble();
    }
    for (const auto& [name, qp] : ext) RETURN_IF_ERROR(AddGpuResource(c, qp.second, name, qp.first, &k.gpu));
  }
  return k;
}

base::Status ReadContainerStatus(const Ctx& c, const json& s, const std::string& p, model::Container* k,
                                 std::int64_t* finished) {
  ASSIGN_OR_RETURN(k->ready, Bool(c, s, "ready", p));
  ASSIGN_OR_RETURN(std::int64_t restarts, Int(c, s, "restartCount", p, 0, std::numeric_limits<int>::max()));
  k->restarts = static_cast<int>(restarts);
  ASSIGN_OR_RETURN(const json* state, Obj(c, s, "state", p));
  if (state != nullptr) {
    const std::string sp = Join(p, "state");
    ASSIGN_OR_RETURN(const json* running, Obj(c, *state, "running", sp));
    ASSIGN_OR_RETURN(const json* waiting, Obj(c, *state, "waiting", sp));
    ASSIGN_OR_RETURN(const json* terminated, Obj(c, *state, "terminated", sp));
    k->running = running != nullptr;
    if (waiting != nullptr) {
      ASSIGN_OR_RETURN(k->waiting_reason, Str(c, *waiting, "reason", Join(sp, "waiting")));
    }
    if (terminated != nullptr) {
      const std::string tp = Join(sp, "terminated");
      ASSIGN_OR_RETURN(k->terminated_reason, Str(c, *terminated, "reason", tp));
      ASSIGN_OR_RETURN(std::int64_t at, Time(c, *terminated, "finishedAt", tp));
      *finished = std::max(*finished, at);
    }
  }
  ASSIGN_OR_RETURN(const json* last, Obj(c, s, "lastState", p));
  if (last != nullptr) {
    const std::string lp = Join(p, "lastState");
    ASSIGN_OR_RETURN(const json* terminated, Obj(c, *last, "terminated", lp));
    if (terminated != nullptr) {
      const std::string tp = Join(lp, "terminated");
      ASSIGN_OR_RETURN(std::int64_t code, Int(c, *terminated, "exitCode", tp, std::numeric_limits<int>::min(),
                                              std::numeric_limits<int>::max()));
      k->last_exit_code = static_cast<int>(code);
      ASSIGN_OR_RETURN(k->last_reason, Str(c, *terminated, "reason", tp));
    }
  }
  return base::Status::Ok();
}

// KAI GPU sharing: gpu-fraction / gpu-memory pod annotations on the named (or first) container.
void ApplyKaiAnnotations(const Ctx& c, const model::Labels& annotations, std::vector<model::Container>* containers) {
  auto get = [&](const char* key) -> std::string {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  };
  const std::string fraction = get("gpu-fraction"), memory = get("gpu-memory");
  if ((fraction.empty() && memory.empty()) || containers->empty()) return;
  model::Container* target = &containers->front();
  if (const std::string name = get("gpu-fraction-container-name"); !name.empty()) {
    auto it = std::find_if(containers->begin(), containers->end(),
                           [&](const model::Container& k) { return k.name == name; });
    if (it == containers->end()) {
      c.Warn("annotation gpu-fraction-container-name: no container \"" + name + "\"; the first container is used");
    } else {
      target = &*it;
    }
  }
  int devices = 1;
  if (const std::string n = get("gpu-fraction-num-devices"); !n.empty()) {
    const std::optional<int> v = ParseInt(n);
    if (v && *v >= 1) devices = *v;
    else c.Warn("annotation gpu-fraction-num-devices: \"" + n + "\" is not a device count; read as 1");
  }
  if (!fraction.empty()) {
    const std::optional<double> f = ParseNumber(fraction);
    if (f && *f > 0 && *f <= 1) target->gpu.kai_fraction = *f * devices;
    else c.Warn("annotation gpu-fraction: \"" + fraction + "\" is not a fraction in (0, 1]; ignored");
  }
  if (!memory.empty()) {
    // KAI reads gpu-memory as MiB; a quantity with a suffix ("2Gi") is read as bytes.
    const std::optional<double> mib = ParseNumber(memory);
    base::Result<Quantity> q = ParseQuantity(memory);
    if (mib && *mib > 0) {
      target->gpu.kai_memory_mib = *mib * devices;
    } else if (q.ok() && q->nanos() > 0) {
      target->gpu.kai_memory_mib = q->ToDouble() / (1024.0 * 1024.0) * devices;
    } else {
      c.Warn("annotation gpu-memory: \"" + memory + "\" is not MiB; ignored");
    }
  }
}

}  // namespace

base::Result<model::Pod> PodFromJson(const json& object, std::vector<std::string>* warnings) {
  Ctx c;
  c.warnings = warnings;
  ASSIGN_OR_RETURN(Meta m, ReadMeta(c, object, "pod", true));
  model::Pod pod;
  pod.namespace_name = std::move(m.namespace_name);
  pod.name = std::move(m.name);
  pod.uid = std::move(m.uid);
  pod.labels = std::move(m.labels);
  pod.annotations = std::move(m.annotations);
  pod.created_unix_s = m.created;
  ASSIGN_OR_RETURN(std::optional<model::OwnerRef> owner, ControllerOwnerFromJson(object, c.what));
  if (owner) pod.owners.push_back(std::move(*owner));

  ASSIGN_OR_RETURN(const json* spec, Obj(c, object, "spec", ""));
  if (spec == nullptr) return c.Bad("spec", "missing");
  ASSIGN_OR_RETURN(pod.node, Str(c, *spec, "nodeName", "spec"));
  ASSIGN_OR_RETURN(pod.scheduler_name, Str(c, *spec, "schedulerName", "spec"));
  RETURN_IF_ERROR(StrMap(c, *spec, "nodeSelector", "spec", &pod.node_selector));
  ASSIGN_OR_RETURN(pod.anti_affinity, AntiAffinity(c, *spec));
  ASSIGN_OR_RETURN(pod.tolerations, Taints(c, *spec, "tolerations"));
  ASSIGN_OR_RETURN(const json* containers, Arr(c, *spec, "containers", "spec"));
  if (containers == nullptr) return c.Bad("spec.containers", "missing");
  for (std::size_t i = 0; i < containers->size(); ++i) {
    ASSIGN_OR_RETURN(model::Container k, ReadContainer(c, (*containers)[i], Index("spec.containers", i)));
    pod.containers.push_back(std::move(k));
  }
  ApplyKaiAnnotations(c, pod.annotations, &pod.containers);

  std::int64_t finished = 0;
  ASSIGN_OR_RETURN(const json* status, Obj(c, object, "status", ""));
  if (status != nullptr) {
    ASSIGN_OR_RETURN(pod.phase, Str(c, *status, "phase", "status"));
    ASSIGN_OR_RETURN(pod.ip, Str(c, *status, "podIP", "status"));
    ASSIGN_OR_RETURN(pod.start_unix_s, Time(c, *status, "startTime", "status"));
    ASSIGN_OR_RETURN(const json* conditions, Arr(c, *status, "conditions", "status"));
    if (conditions != nullptr) {
      for (std::size_t i = 0; i < conditions->size(); ++i) {
        const json& cond = (*conditions)[i];
        const std::string p = Index("status.conditions", i);
        if (!cond.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(cond)));
        ASSIGN_OR_RETURN(std::string type, Str(c, cond, "type", p));
        ASSIGN_OR_RETURN(std::string st, Str(c, cond, "status", p));
        ASSIGN_OR_RETURN(std::string reason, Str(c, cond, "reason", p));
        if (type == "PodScheduled" && st == "False" && reason == "Unschedulable") {
          ASSIGN_OR_RETURN(pod.unschedulable_message, Str(c, cond, "message", p));
          if (pod.unschedulable_message.empty()) pod.unschedulable_message = "Unschedulable";
        }
      }
    }
    ASSIGN_OR_RETURN(const json* statuses, Arr(c, *status, "containerStatuses", "status"));
    if (statuses != nullptr) {
      for (std::size_t i = 0; i < statuses->size(); ++i) {
        const json& s = (*statuses)[i];
        const std::string p = Index("status.containerStatuses", i);
        if (!s.is_object()) return c.Bad(p, "expected an object, got " + std::string(TypeName(s)));
        ASSIGN_OR_RETURN(std::string name, Str(c, s, "name", p));
        auto it = std::find_if(pod.containers.begin(), pod.containers.end(),
                               [&](const model::Container& k) { return k.name == name; });
        if (it == pod.containers.end()) continue;  // a status for a container the spec does not have
        RETURN_IF_ERROR(ReadContainerStatus(c, s, p, &*it, &finished));
      }
    }
  }
  if (m.deleted != 0) {
    pod.end_unix_s = m.deleted;
  } else if (pod.phase == "Succeeded" || pod.phase == "Failed") {
    pod.end_unix_s = finished;
  }
  pod.engine = DetectServingEngine(pod);
  return pod;
}

// ---------------------------------------------------------------------------------------------------------------
// Serving engines.

model::ServingEngine DetectEngineInContainer(const model::Container& container) {
  model::ServingEngine e;
  const std::vector<std::string> words = CommandWords(container);
  ParsedFlags p;
  if (std::optional<Launch> launch = FindLaunch(words)) {
    e.name = launch->engine;
    e.evidence = launch->evidence;
    p = ParseFlags(words, launch->flags_from);
  } else if (std::optional<std::string> engine = EngineOfImage(ParseImage(container.image))) {
    e.name = *engine;
    e.evidence = "image " + container.image;
    // The image's entrypoint runs the engine and the args are its flags. A command the pod sets that is not
    // recognised replaces the entrypoint: the args are still read, for what they say.
    if (!container.command.empty()) e.evidence += " (command '" + container.command.front() + "' not recognised)";
    p = ParseFlags(container.args, 0);
  } else {
    return e;
  }
  e.container = container.name;
  e.flags = p.flags;

  auto port_flag = [&](std::initializer_list<std::string_view> keys, int fallback) {
    const std::optional<int> v = ParseInt(FlagOr(p, keys));
    return v && *v > 0 && *v <= 65535 ? *v : fallback;
  };
  auto env_port = [&](const char* key) -> int {
    auto it = container.env.find(key);
    if (it == container.env.end()) return 0;
    const std::optional<int> v = ParseInt(it->second);
    return v && *v > 0 && *v <= 65535 ? *v : 0;
  };
  auto tp = [&](std::initializer_list<std::string_view> keys) {
    const std::optional<int> v = ParseInt(FlagOr(p, keys));
    return v && *v >= 1 ? *v : 1;
  };
  const std::string first_positional = p.positional.empty() ? std::string() : p.positional.front();
  if (e.name == "vllm") {
    e.model = FlagOr(p, {"model"});
    if (e.model.empty()) e.model = first_positional;
    if (const std::string u = FlagOr(p, {"gpu-memory-utilization"}); !u.empty()) {
      const std::optional<double> v = ParseNumber(u);
      if (v && *v > 0 && *v <= 1) e.gpu_memory_utilization = *v;
    }
    e.tensor_parallel = tp({"tensor-parallel-size", "tp"});
    e.metrics_port = port_flag({"port"}, 8000);
  } else if (e.name == "sglang") {
    e.model = FlagOr(p, {"model-path", "model"});
    e.tensor_parallel = tp({"tp-size", "tp", "tensor-parallel-size"});
    e.metrics_port = port_flag({"port"}, 30000);
  } else if (e.name == "tgi") {
    e.model = FlagOr(p, {"model-id"});
    if (e.model.empty() && container.env.count("MODEL_ID")) e.model = container.env.at("MODEL_ID");
    e.tensor_parallel = tp({"num-shard"});
    const int env = env_port("PORT");
    e.metrics_port = port_flag({"port"}, env != 0 ? env : FirstPort(container));
  } else if (e.name == "triton") {
    e.model = FlagOr(p, {"model-repository", "model-store"});
    e.metrics_port = port_flag({"metrics-port"}, 8002);
  } else if (e.name == "tensorrt-llm") {
    e.model = first_positional;
    e.tensor_parallel = tp({"tp-size"});
    e.metrics_port = port_flag({"port"}, FirstPort(container));
  } else if (e.name == "lmdeploy") {
    e.model = first_positional;
    e.tensor_parallel = tp({"tp"});
    e.metrics_port = port_flag({"server-port"}, 23333);
  } else if (e.name == "ollama") {
    e.metrics_port = 0;  // no Prometheus endpoint
  } else if (e.name == "llama.cpp") {
    e.model = FlagOr(p, {"model", "m", "hf-repo", "hf"});
    e.metrics_port = p.flags.count("metrics") ? port_flag({"port"}, 8080) : 0;
  } else if (e.name == "torchserve") {
    e.model = FlagOr(p, {"models"});
    e.metrics_port = 8082;
  } else if (e.name == "kserve-huggingface") {
    e.model = FlagOr(p, {"model-id", "model-dir", "model-name"});
    e.tensor_parallel = tp({"tensor-parallel-size"});
    e.metrics_port = port_flag({"http-port"}, 8080);
  } else {  // ray-serve, nim
    e.model = first_positional;
    e.metrics_port = port_flag({"port"}, FirstPort(container));
  }
  return e;
}

model::ServingEngine DetectServingEngine(const model::Pod& pod) {
  for (const model::Container& k : pod.containers) {
    model::ServingEngine e = DetectEngineInContainer(k);
    if (e.Found()) return e;
  }
  return {};
}

}  // namespace gpuwise::observe::kube
