// Loaders for RestConfig (rest_config.h): kubeconfig files parsed with yaml-cpp and merged by kubectl's rules, the
// in-cluster service account, and the choice between them. Every error names the file and the entry.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "observe/kube/rest_config.h"

namespace gpuwise::observe::kube {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kExecV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kExecV1beta1 = "client.authentication.k8s.io/v1beta1";
constexpr std::string_view kExecExtension = "client.authentication.k8s.io/exec";
// Certificates and kubeconfigs are kilobytes; anything this large is not one.
constexpr std::size_t kMaxFileBytes = 16u << 20;

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Whole file, with the OS's reason on failure ("No such file or directory").
base::Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::NotFound(std::strerror(errno));
  std::string out;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return base::Unavailable(std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) {
      ::close(fd);
      return base::ResourceExhausted("larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    }
  }
  ::close(fd);
  return out;
}

// Checks that a file can be opened for reading (token files are read later, on use).
base::Status CheckReadable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::NotFound(std::strerror(errno));
  ::close(fd);
  return base::Status::Ok();
}

std::string TrimSpace(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// Standard base64 with padding, as Go's encoding/json decodes []byte fields (line breaks are ignored). On failure
// *bad_offset is the offset of the first character that is wrong (the text's length when only its length is).
bool DecodeBase64(std::string_view text, std::string* out, std::size_t* bad_offset) {
  std::string in;
  in.reserve(text.size());
  std::vector<std::size_t> offset;  // position in `text` of each kept character, for the error
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') continue;
    in.push_back(text[i]);
    offset.push_back(i);
  }
  std::size_t pad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                       c == '/';
    if (c == '=') {
      ++pad;
      continue;
    }
    if (!alpha || pad > 0) {
      *bad_offset = offset[i];
      return false;
    }
  }
  if (in.size() % 4 != 0 || pad > 2) {
    *bad_offset = text.size();
    return false;
  }
  out->assign(in.size() / 4 * 3 + 1, '\0');
  if (in.empty()) {
    out->clear();
    return true;
  }
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) {
    *bad_offset = 0;
    return false;
  }
  out->resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts the padding as zero bytes
  return true;
}

// A scalar of an extension, typed as YAML 1.1 would read it, for the JSON the exec plugin receives.
nlohmann::json ScalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end == s.c_str() + s.size()) return i;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (errno == 0 && end == s.c_str() + s.size()) return d;
  return s;
}

// Limits on an extension as JSON: YAML aliases share nodes, so a few hundred bytes of anchors can expand to 10^8
// values (or nest thousands deep); a plugin's cluster config is a handful of keys.
constexpr std::size_t kMaxExtensionValues = 10'000;
constexpr int kMaxExtensionDepth = 64;

// False when the value exceeds the limits above; `budget` counts the values still allowed.
bool YamlToJson(const YAML::Node& n, std::size_t* budget, int depth, nlohmann::json* out) {
  if (*budget == 0 || depth > kMaxExtensionDepth) return false;
  --*budget;
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      *out = ScalarToJson(n);
      return true;
    case YAML::NodeType::Sequence: {
      *out = nlohmann::json::array();
      for (const auto& item : n) {
        nlohmann::json v;
        if (!YamlToJson(item, budget, depth + 1, &v)) return false;
        out->push_back(std::move(v));
      }
      return true;
    }
    case YAML::NodeType::Map: {
      *out = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        nlohmann::json v;
        if (!YamlToJson(it->second, budget, depth + 1, &v)) return false;
        (*out)[it->first.Scalar()] = std::move(v);
      }
      return true;
    }
    default:
      *out = nullptr;
      return true;
  }
}

// Where an entry came from, for errors.
struct Origin {
  std::string file;  // as the user named it
  fs::path dir;      // absolute directory of the file, for relative paths
  int line = 0;      // 1-based; 0 = unknown
  std::string Describe() const { return file + (line > 0 ? " line " + std::to_string(line) : ""); }
};

struct ClusterDef {
  Origin at;
  std::string server;
  std::string ca_file;  // resolved path
  std::optional<std::string> ca_data;  // decoded
  bool insecure = false;
  std::string tls_server_name, proxy_url;
  std::string exec_extension_json;
};

struct UserDef {
  Origin at;
  std::string token, token_file;
  std::string cert_file, key_file;  // resolved paths
  std::optional<std::string> cert_data, key_data;  // decoded
  std::string username, password;
  bool has_exec = false;
  ExecConfig exec;
  std::string auth_provider;  // its name, when the user has one
  bool impersonates = false;
};

struct ContextDef {
  Origin at;
  std::string cluster, user, namespace_name;
};

struct MergedConfig {
  std::vector<std::string> files;  // the files read, in order
  std::map<std::string, ClusterDef> clusters;
  std::map<std::string, UserDef> users;
  std::map<std::string, ContextDef> contexts;
  std::string current_context;
};

// Parses one kubeconfig file's YAML and adds what it defines to a MergedConfig (first definition wins).
class FileParser {
 public:
  FileParser(std::string file, fs::path dir) : file_(std::move(file)), dir_(std::move(dir)) {}

  base::Status Parse(const std::string& text, MergedConfig* merged) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      return base::InvalidArgument("kubeconfig " + file_ + " line " + std::to_string(e.mark.line + 1) +
                                   " column " + std::to_string(e.mark.column + 1) + ": malformed YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
      return base::InvalidArgument("kubeconfig " + file_ + ": malformed YAML: " + e.msg);
    }
    if (root.IsNull()) return base::Status::Ok();  // an empty file defines nothing, as in kubectl
    if (!root.IsMap()) return Error(root, "the top level must be a mapping (apiVersion, kind, clusters, ...)");
    try {
      return ParseRoot(root, merged);
    } catch (const YAML::Exception& e) {  // a shape the checks below did not expect
      return base::InvalidArgument("kubeconfig " + file_ + ": " + e.what());
    }
  }

 private:
  base::Status ParseRoot(const YAML::Node& root, MergedConfig* merged) {
    std::map<std::string, ClusterDef> clusters;
    std::map<std::string, UserDef> users;
    std::map<std::string, ContextDef> contexts;
    RETURN_IF_ERROR(ForEachNamed(root, "clusters", "cluster", [&](const std::string& name, const YAML::Node& body,
                                                                  const Origin& at) -> base::Status {
      ClusterDef c;
      c.at = at;
      RETURN_IF_ERROR(ParseCluster(name, body, &c));
      clusters.emplace(name, std::move(c));
      return base::Status::Ok();
    }));
    RETURN_IF_ERROR(ForEachNamed(root, "users", "user", [&](const std::string& name, const YAML::Node& body,
                                                            const Origin& at) -> base::Status {
      UserDef u;
      u.at = at;
      RETURN_IF_ERROR(ParseUser(name, body, &u));
      users.emplace(name, std::move(u));
      return base::Status::Ok();
    }));
    RETURN_IF_ERROR(ForEachNamed(root, "contexts", "context", [&](const std::string& name, const YAML::Node& body,
                                                                  const Origin& at) -> base::Status {
      ContextDef c;
      c.at = at;
      const std::string where = "context " + Quoted(name);
      RETURN_IF_ERROR(String(body, "cluster", where, &c.cluster));
      RETURN_IF_ERROR(String(body, "user", where, &c.user));
      RETURN_IF_ERROR(String(body, "namespace", where, &c.namespace_name));
      contexts.emplace(name, std::move(c));
      return base::Status::Ok();
    }));
    std::string current;
    RETURN_IF_ERROR(String(root, "current-context", "the file", &current));

    // kubectl's merge: the first file to define a name (or to set current-context) wins.
    for (auto& [name, c] : clusters) merged->clusters.emplace(name, std::move(c));
    for (auto& [name, u] : users) merged->users.emplace(name, std::move(u));
    for (auto& [name, c] : contexts) merged->contexts.emplace(name, std::move(c));
    if (merged->current_context.empty()) merged->current_context = current;
    return base::Status::Ok();
  }

  base::Status Error(const YAML::Node& n, const std::string& what) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return base::InvalidArgument("kubeconfig " + file_ + ": " + what);
    return base::InvalidArgument("kubeconfig " + file_ + " line " + std::to_string(m.line + 1) + ": " + what);
  }

  Origin At(const YAML::Node& n) const {
    Origin o{file_, dir_, 0};
    if (n.Mark().line >= 0) o.line = n.Mark().line + 1;
    return o;
  }

  std::string Resolve(const std::string& path) const {
    if (path.empty() || fs::path(path).is_absolute()) return path;
    return (dir_ / path).lexically_normal().string();
  }

  // Calls fn(name, body, origin) for each `- name: N\n  <body_key>: {...}` of root[list_key]. A name defined twice
  // in one file is an error, as in kubectl.
  template <typename Fn>
  base::Status ForEachNamed(const YAML::Node& root, const char* list_key, const char* body_key, Fn fn) {
    const YAML::Node list = root[list_key];
    if (!list || list.IsNull()) return base::Status::Ok();
    if (!list.IsSequence()) return Error(list, std::string(list_key) + " must be a list");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      const std::string where = std::string(list_key) + "[" + std::to_string(i) + "]";
      if (!item.IsMap()) return Error(item, where + " must be a mapping with name and " + body_key);
      std::string name;
      RETURN_IF_ERROR(String(item, "name", where, &name));
      if (name.empty()) return Error(item, where + " has no name");
      if (!seen.insert(name).second) {
        return Error(item, std::string(body_key) + " " + Quoted(name) + " is defined twice in this file");
      }
      const YAML::Node found = item[body_key];
      if (found && !found.IsNull() && !found.IsMap()) {
        return Error(found, std::string(body_key) + " " + Quoted(name) + ": " + body_key + " must be a mapping");
      }
      // `cluster:` with nothing under it is an empty entry, not an error.
      const YAML::Node body = found && found.IsMap() ? found : YAML::Node(YAML::NodeType::Map);
      RETURN_IF_ERROR(fn(name, body, At(item)));
    }
    return base::Status::Ok();
  }

  base::Status String(const YAML::Node& map, const char* key, const std::string& where, std::string* out) const {
    if (!map.IsMap()) return base::Status::Ok();
    const YAML::Node n = map[key];
    if (!n || n.IsNull()) return base::Status::Ok();
    if (!n.IsScalar()) return Error(n, where + ": " + key + " must be a string");
    *out = n.Scalar();
    return base::Status::Ok();
  }

  base::Status Bool(const YAML::Node& map, const char* key, const std::string& where, bool* out) const {
    if (!map.IsMap()) return base::Status::Ok();
    const YAML::Node n = map[key];
    if (!n || n.IsNull()) return base::Status::Ok();
    try {
      *out = n.as<bool>();
    } catch (const YAML::Exception&) {
      return Error(n, where + ": " + key + " must be true or false, not " +
                          Quoted(n.IsScalar() ? n.Scalar() : std::string("a collection")));
    }
    return base::Status::Ok();
  }

  // A *-data field: base64 decoded. The message names the field and the offset, never the content.
  base::Status Data(const YAML::Node& map, const char* key, const std::string& where,
                    std::optional<std::string>* out) const {
    std::string text;
    RETURN_IF_ERROR(String(map, key, where, &text));
    if (text.empty()) return base::Status::Ok();
    std::string decoded;
    std::size_t bad = 0;
    if (!DecodeBase64(text, &decoded, &bad)) {
      return Error(map[key], where + ": " + key + " is not valid base64 (" +
                                 (bad >= text.size() ? std::string("its length is not a multiple of 4")
                                                     : "bad character at offset " + std::to_string(bad)) +
                                 ")");
    }
    *out = std::move(decoded);
    return base::Status::Ok();
  }

  base::Status ParseCluster(const std::string& name, const YAML::Node& body, ClusterDef* c) {
    const std::string where = "cluster " + Quoted(name);
    RETURN_IF_ERROR(String(body, "server", where, &c->server));
    RETURN_IF_ERROR(String(body, "certificate-authority", where, &c->ca_file));
    c->ca_file = Resolve(c->ca_file);
    RETURN_IF_ERROR(Data(body, "certificate-authority-data", where, &c->ca_data));
    RETURN_IF_ERROR(Bool(body, "insecure-skip-tls-verify", where, &c->insecure));
    RETURN_IF_ERROR(String(body, "tls-server-name", where, &c->tls_server_name));
    RETURN_IF_ERROR(String(body, "proxy-url", where, &c->proxy_url));
    const YAML::Node ext = body["extensions"];
    if (ext && ext.IsSequence()) {
      for (const auto& e : ext) {
        if (e.IsMap() && e["name"] && e["name"].IsScalar() && e["name"].Scalar() == kExecExtension && e["extension"]) {
          std::size_t budget = kMaxExtensionValues;
          nlohmann::json value;
          if (!YamlToJson(e["extension"], &budget, 0, &value)) {
            return Error(e["extension"], where + ": extension " + std::string(kExecExtension) + " has more than " +
                                             std::to_string(kMaxExtensionValues) + " values or is nested deeper than " +
                                             std::to_string(kMaxExtensionDepth) + " (after expanding YAML aliases)");
          }
          try {
            c->exec_extension_json = value.dump();
          } catch (const nlohmann::json::exception&) {  // JSON text must be UTF-8; YAML bytes need not be
            return Error(e["extension"], where + ": extension " + std::string(kExecExtension) +
                                             " is not valid UTF-8 (it is passed to the exec plugin as JSON)");
          }
        }
      }
    }
    return base::Status::Ok();
  }

  base::Status ParseUser(const std::string& name, const YAML::Node& body, UserDef* u) {
    const std::string where = "user " + Quoted(name);
    RETURN_IF_ERROR(String(body, "token", where, &u->token));
    RETURN_IF_ERROR(String(body, "tokenFile", where, &u->token_file));
    u->token_file = Resolve(u->token_file);
    RETURN_IF_ERROR(String(body, "client-certificate", where, &u->cert_file));
    u->cert_file = Resolve(u->cert_file);
    RETURN_IF_ERROR(String(body, "client-key", where, &u->key_file));
    u->key_file = Resolve(u->key_file);
    RETURN_IF_ERROR(Data(body, "client-certificate-data", where, &u->cert_data));
    RETURN_IF_ERROR(Data(body, "client-key-data", where, &u->key_data));
    RETURN_IF_ERROR(String(body, "username", where, &u->username));
    RETURN_IF_ERROR(String(body, "password", where, &u->password));
    u->impersonates = body["as"] || body["as-groups"] || body["as-uid"] || body["as-user-extra"];
    const YAML::Node ap = body["auth-provider"];
    if (ap && !ap.IsNull()) {
      u->auth_provider = "(unnamed)";
      if (ap.IsMap() && ap["name"] && ap["name"].IsScalar()) u->auth_provider = ap["name"].Scalar();
    }
    const YAML::Node exec = body["exec"];
    if (!exec || exec.IsNull()) return base::Status::Ok();
    if (!exec.IsMap()) return Error(exec, where + ": exec must be a mapping");
    u->has_exec = true;
    ExecConfig& e = u->exec;
    const std::string ewhere = where + " exec";
    RETURN_IF_ERROR(String(exec, "apiVersion", ewhere, &e.api_version));
    RETURN_IF_ERROR(String(exec, "command", ewhere, &e.command));
    // A command with a path separator is a file relative to the kubeconfig; a bare name is looked up on PATH.
    if (e.command.find('/') != std::string::npos) e.command = Resolve(e.command);
    RETURN_IF_ERROR(String(exec, "installHint", ewhere, &e.install_hint));
    RETURN_IF_ERROR(Bool(exec, "provideClusterInfo", ewhere, &e.provide_cluster_info));
    RETURN_IF_ERROR(String(exec, "interactiveMode", ewhere, &e.interactive_mode));
    const YAML::Node args = exec["args"];
    if (args && !args.IsNull()) {
      if (!args.IsSequence()) return Error(args, ewhere + ": args must be a list of strings");
      for (const auto& a : args) {
        if (!a.IsScalar()) return Error(a, ewhere + ": args must be a list of strings");
        e.args.push_back(a.Scalar());
      }
    }
    const YAML::Node env = exec["env"];
    if (env && !env.IsNull()) {
      if (!env.IsSequence()) return Error(env, ewhere + ": env must be a list of {name, value}");
      for (const auto& kv : env) {
        if (!kv.IsMap()) return Error(kv, ewhere + ": env must be a list of {name, value}");
        std::string n, v;
        RETURN_IF_ERROR(String(kv, "name", ewhere + " env", &n));
        RETURN_IF_ERROR(String(kv, "value", ewhere + " env", &v));
        if (n.empty()) return Error(kv, ewhere + ": an env entry has no name");
        e.env.emplace_back(std::move(n), std::move(v));
      }
    }
    return base::Status::Ok();
  }

  std::string file_;
  fs::path dir_;
};

// DNS-1123 label, as kubectl requires of a context's namespace.
bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

std::string NamesOf(const auto& map) {
  std::vector<std::string> names;
  for (const auto& [name, def] : map) names.push_back(name);
  return names.empty() ? "(none)" : Join(names, ", ");
}

base::Status EntryError(const Origin& at, const std::string& entry, const std::string& what) {
  return base::InvalidArgument("kubeconfig " + at.Describe() + ": " + entry + ": " + what);
}

base::Status FillCluster(const std::string& name, const ClusterDef& c, RestConfig* rc) {
  const std::string entry = "cluster " + Quoted(name);
  std::string server = c.server;
  if (server.empty()) return EntryError(c.at, entry, "has no server");
  const auto scheme_end = server.find("://");
  if (scheme_end == std::string::npos) {
    server = "https://" + server;  // TLS unless the file says otherwise
  } else {
    const std::string scheme = server.substr(0, scheme_end);
    if (scheme != "https" && scheme != "http") {
      return EntryError(c.at, entry, "server " + Quoted(c.server) + " must be an http:// or https:// URL");
    }
  }
  // "https://" alone (or "https:// " once YAML trims it) names no host: an address no request can reach.
  const std::size_t host = server.find("://") + 3;
  if (host >= server.size() || server[host] == '/' || server.find_first_of(" \t", host) != std::string::npos) {
    return EntryError(c.at, entry, "server " + Quoted(c.server) + " has no host");
  }
  while (!server.empty() && server.back() == '/') server.pop_back();
  rc->server = server;
  rc->cluster_name = name;
  rc->insecure_skip_tls_verify = c.insecure;
  rc->tls_server_name = c.tls_server_name;
  if (c.ca_data && !c.ca_file.empty()) {
    return EntryError(c.at, entry,
                      "sets both certificate-authority-data and certificate-authority; keep one (kubectl refuses this too)");
  }
  if (c.ca_data) {
    rc->ca_pem = *c.ca_data;
  } else if (!c.ca_file.empty()) {
    auto pem = ReadWholeFile(c.ca_file);
    if (!pem.ok()) {
      return EntryError(c.at, entry, "cannot read certificate-authority " + c.ca_file + ": " + pem.status().message());
    }
    rc->ca_pem = std::move(pem).value();
  }
  if (c.insecure && !rc->ca_pem.empty()) {
    return EntryError(c.at, entry,
                      "sets insecure-skip-tls-verify together with a certificate authority; remove one (kubectl "
                      "refuses this too)");
  }
  if (!c.proxy_url.empty()) {
    const auto end = c.proxy_url.find("://");
    const std::string scheme = end == std::string::npos ? "" : c.proxy_url.substr(0, end);
    if (scheme != "http" && scheme != "https" && scheme != "socks5") {
      return EntryError(c.at, entry, "proxy-url " + Quoted(c.proxy_url) + " must start with http://, https:// or socks5://");
    }
    rc->proxy_url = c.proxy_url;
  }
  return base::Status::Ok();
}

base::Status CheckExec(const std::string& entry, const UserDef& u, ExecConfig* e) {
  if (e->command.empty()) return EntryError(u.at, entry, "exec needs a command");
  if (e->api_version.empty()) return EntryError(u.at, entry, "exec needs an apiVersion (" + std::string(kExecV1) + ")");
  if (e->api_version != kExecV1 && e->api_version != kExecV1beta1) {
    return EntryError(u.at, entry,
                      "exec apiVersion " + Quoted(e->api_version) + " is not supported; use " + std::string(kExecV1) +
                          " or " + std::string(kExecV1beta1));
  }
  if (e->interactive_mode.empty()) {
    // v1beta1 defaulted it for compatibility; v1 makes the plugin author say.
    if (e->api_version == kExecV1beta1) {
      e->interactive_mode = "IfAvailable";
    } else {
      return EntryError(u.at, entry, "exec needs interactiveMode (Never, IfAvailable or Always) with " +
                                         std::string(kExecV1));
    }
  }
  if (e->interactive_mode != "Never" && e->interactive_mode != "IfAvailable" && e->interactive_mode != "Always") {
    return EntryError(u.at, entry, "exec interactiveMode " + Quoted(e->interactive_mode) +
                                       " is not one of Never, IfAvailable, Always");
  }
  return base::Status::Ok();
}

base::Status FillUser(const std::string& name, const UserDef& u, const ClusterDef& cluster, RestConfig* rc) {
  const std::string entry = "user " + Quoted(name);
  rc->user_name = name;
  const bool basic = !u.username.empty() || !u.password.empty();
  if (!u.token.empty() && basic) {
    return EntryError(u.at, entry, "sets both a token and username/password; only one authentication method is allowed");
  }
  rc->token = u.token;
  rc->username = u.username;
  rc->password = u.password;
  if (!u.token_file.empty()) {
    if (auto st = CheckReadable(u.token_file); !st.ok()) {
      return EntryError(u.at, entry, "cannot read tokenFile " + u.token_file + ": " + st.message());
    }
    rc->token_file = u.token_file;
  }
  const bool has_cert = u.cert_data || !u.cert_file.empty();
  const bool has_key = u.key_data || !u.key_file.empty();
  if (has_cert) {
    if (u.cert_data && !u.cert_file.empty()) {
      return EntryError(u.at, entry, "sets both client-certificate-data and client-certificate; keep one");
    }
    if (u.key_data && !u.key_file.empty()) {
      return EntryError(u.at, entry, "sets both client-key-data and client-key; keep one");
    }
    if (!has_key) return EntryError(u.at, entry, "has a client certificate but no client-key or client-key-data");
    if (u.cert_data) {
      rc->client_cert_pem = *u.cert_data;
    } else {
      auto pem = ReadWholeFile(u.cert_file);
      if (!pem.ok()) {
        return EntryError(u.at, entry, "cannot read client-certificate " + u.cert_file + ": " + pem.status().message());
      }
      rc->client_cert_pem = std::move(pem).value();
    }
    if (u.key_data) {
      rc->client_key_pem = *u.key_data;
    } else {
      auto pem = ReadWholeFile(u.key_file);
      if (!pem.ok()) {
        return EntryError(u.at, entry, "cannot read client-key " + u.key_file + ": " + pem.status().message());
      }
      rc->client_key_pem = std::move(pem).value();
    }
  } else if (has_key) {
    rc->warnings.push_back("kubeconfig " + u.at.Describe() + ": " + entry +
                           " has a client key but no client certificate; the key is ignored");
  }
  if (u.has_exec) {
    if (!u.auth_provider.empty()) {
      return EntryError(u.at, entry, "sets both exec and auth-provider; only one is allowed");
    }
    ExecConfig e = u.exec;
    RETURN_IF_ERROR(CheckExec(entry, u, &e));
    e.cluster_config_json = cluster.exec_extension_json;
    if (!rc->token.empty() || !rc->token_file.empty() || basic || has_cert) {
      // client-go skips the plugin when the user entry already carries credentials.
      rc->warnings.push_back("kubeconfig " + u.at.Describe() + ": " + entry +
                             " sets exec and also a token, certificate or password; the exec plugin " +
                             Quoted(e.command) + " is not used");
    } else {
      rc->exec = std::move(e);
    }
  } else if (!u.auth_provider.empty()) {
    rc->warnings.push_back("kubeconfig " + u.at.Describe() + ": " + entry + " uses auth-provider " +
                           Quoted(u.auth_provider) +
                           ": legacy auth providers are not supported (kubectl removed them too); configure an exec "
                           "credential plugin instead (gke-gcloud-auth-plugin, kubelogin, aws eks get-token, ...). "
                           "Requests are sent without credentials");
  }
  if (u.impersonates) {
    rc->warnings.push_back("kubeconfig " + u.at.Describe() + ": " + entry +
                           " asks to impersonate (as/as-groups); gpuwise does not impersonate and acts as the user "
                           "itself");
  }
  return base::Status::Ok();
}

// KUBECONFIG's entries in order, without empty entries and repeats (as client-go).
std::vector<std::string> SplitKubeconfigEnv(const std::string& value) {
  std::vector<std::string> files;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(':', start);
    if (end == std::string::npos) end = value.size();
    std::string f = value.substr(start, end - start);
    if (!f.empty() && std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
    start = end + 1;
  }
  return files;
}

// The files to read: --kubeconfig, else the existing KUBECONFIG entries, else ~/.kube/config.
base::Result<std::vector<std::string>> KubeconfigFiles(const KubeconfigOptions& options) {
  if (!options.path.empty()) {
    if (auto st = CheckReadable(options.path); !st.ok()) {
      return base::NotFound("kubeconfig " + options.path + " (--kubeconfig) cannot be read: " + st.message());
    }
    return std::vector<std::string>{options.path};
  }
  const std::vector<std::string> listed = SplitKubeconfigEnv(options.kubeconfig_env);
  if (!listed.empty()) {
    std::vector<std::string> existing;
    for (const auto& f : listed) {
      struct stat st {};
      if (::stat(f.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;  // kubectl skips missing files
        return base::Unavailable("kubeconfig " + f + " (from KUBECONFIG) cannot be read: " + std::strerror(errno));
      }
      existing.push_back(f);
    }
    if (existing.empty()) {
      return base::NotFound("none of the kubeconfig files in KUBECONFIG exist: " + Join(listed, ", "));
    }
    return existing;
  }
  if (options.home.empty()) {
    return base::NotFound("no kubeconfig: --kubeconfig not given, KUBECONFIG not set, and HOME not set");
  }
  const std::string def = (fs::path(options.home) / ".kube" / "config").string();
  if (auto st = CheckReadable(def); !st.ok()) {
    return base::NotFound("no kubeconfig: --kubeconfig not given, KUBECONFIG not set, and " + def +
                          " cannot be read: " + st.message());
  }
  return std::vector<std::string>{def};
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

base::Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options) {
  ASSIGN_OR_RETURN(const std::vector<std::string> files, KubeconfigFiles(options));
  MergedConfig merged;
  for (const auto& file : files) {
    auto text = ReadWholeFile(file);
    if (!text.ok()) return base::Unavailable("kubeconfig " + file + " cannot be read: " + text.status().message());
    std::error_code ec;
    fs::path dir = fs::absolute(fs::path(file), ec).parent_path();
    if (ec) dir = fs::path(file).parent_path();
    FileParser parser(file, dir);
    RETURN_IF_ERROR(parser.Parse(*text, &merged));
    merged.files.push_back(file);
  }
  const std::string where = Join(merged.files, ":");

  std::string context_name = options.context;
  if (context_name.empty()) context_name = merged.current_context;
  if (context_name.empty()) {
    return base::FailedPrecondition("kubeconfig " + where +
                                    " sets no current-context and no --context was given; available contexts: " +
                                    NamesOf(merged.contexts));
  }
  const auto ctx_it = merged.contexts.find(context_name);
  if (ctx_it == merged.contexts.end()) {
    return base::NotFound("context " + Quoted(context_name) + (options.context.empty() ? " (current-context)" : "") +
                          " is not defined in kubeconfig " + where + "; available contexts: " +
                          NamesOf(merged.contexts));
  }
  const ContextDef& ctx = ctx_it->second;
  const std::string centry = "context " + Quoted(context_name);
  if (ctx.cluster.empty()) return EntryError(ctx.at, centry, "names no cluster");
  if (ctx.user.empty()) return EntryError(ctx.at, centry, "names no user");
  const auto cl = merged.clusters.find(ctx.cluster);
  if (cl == merged.clusters.end()) {
    return EntryError(ctx.at, centry, "names cluster " + Quoted(ctx.cluster) + ", which no kubeconfig file (" + where +
                                          ") defines; clusters: " + NamesOf(merged.clusters));
  }
  const auto us = merged.users.find(ctx.user);
  if (us == merged.users.end()) {
    return EntryError(ctx.at, centry, "names user " + Quoted(ctx.user) + ", which no kubeconfig file (" + where +
                                          ") defines; users: " + NamesOf(merged.users));
  }
  if (!ctx.namespace_name.empty() && !IsDnsLabel(ctx.namespace_name)) {
    return EntryError(ctx.at, centry, "namespace " + Quoted(ctx.namespace_name) +
                                          " is not a valid namespace name (lowercase letters, digits and '-')");
  }

  RestConfig rc;
  rc.context = context_name;
  if (!ctx.namespace_name.empty()) rc.namespace_name = ctx.namespace_name;
  RETURN_IF_ERROR(FillCluster(ctx.cluster, cl->second, &rc));
  RETURN_IF_ERROR(FillUser(ctx.user, us->second, cl->second, &rc));
  rc.source = "kubeconfig " + where + ", context " + context_name;
  return rc;
}

base::Result<RestConfig> InClusterConfig(const InClusterOptions& options) {
  if (options.service_host.empty() || options.service_port.empty()) {
    return base::FailedPrecondition(
        "not running inside a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set");
  }
  RestConfig rc;
  std::string host = options.service_host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";  // IPv6 literal
  rc.server = "https://" + host + ":" + options.service_port;
  const fs::path dir(options.account_dir);
  rc.token_file = (dir / "token").string();
  if (auto st = CheckReadable(rc.token_file); !st.ok()) {
    return base::Unavailable("in-cluster service account token " + rc.token_file + " cannot be read: " + st.message() +
                             " (is automountServiceAccountToken disabled for this pod?)");
  }
  const std::string ca_file = (dir / "ca.crt").string();
  auto ca = ReadWholeFile(ca_file);
  if (ca.ok()) {
    rc.ca_pem = std::move(ca).value();
  } else {
    // client-go logs this and falls back to the system roots; a self-signed API server then fails verification.
    rc.warnings.push_back("in-cluster CA " + ca_file + " cannot be read (" + ca.status().message() +
                          "); verifying the API server against the system roots");
  }
  if (!options.pod_namespace.empty()) {
    rc.namespace_name = options.pod_namespace;
  } else if (auto ns = ReadWholeFile((dir / "namespace").string()); ns.ok()) {
    const std::string trimmed = TrimSpace(*ns);
    if (!trimmed.empty()) rc.namespace_name = trimmed;
  }
  rc.source = "in-cluster service account (" + options.account_dir + ")";
  return rc;
}

base::Result<RestConfig> ResolveRestConfig(KubeconfigOptions options) {
  if (options.kubeconfig_env.empty()) options.kubeconfig_env = Getenv("KUBECONFIG");
  if (options.home.empty()) options.home = Getenv("HOME");
  InClusterOptions in_cluster;
  in_cluster.service_host = Getenv("KUBERNETES_SERVICE_HOST");
  in_cluster.service_port = Getenv("KUBERNETES_SERVICE_PORT");
  in_cluster.pod_namespace = Getenv("POD_NAMESPACE");

  // An explicit file, or any existing KUBECONFIG file, or ~/.kube/config: the kubeconfig decides (and its errors
  // are the answer).
  bool have_kubeconfig = !options.path.empty();
  std::vector<std::string> looked;
  if (!have_kubeconfig) {
    const std::vector<std::string> listed = SplitKubeconfigEnv(options.kubeconfig_env);
    for (const auto& f : listed) have_kubeconfig |= IsFile(f);
    if (!listed.empty()) {
      looked.push_back("KUBECONFIG=" + options.kubeconfig_env + " (no such files)");
    } else {
      looked.push_back("KUBECONFIG (not set)");
      if (!options.home.empty()) {
        const std::string def = (fs::path(options.home) / ".kube" / "config").string();
        if (IsFile(def)) {
          have_kubeconfig = true;
        } else {
          looked.push_back(def + " (missing)");
        }
      } else {
        looked.push_back("~/.kube/config (HOME not set)");
      }
    }
  }
  if (have_kubeconfig) return LoadKubeconfig(options);
  if (!options.context.empty()) {
    return base::NotFound("--context " + options.context + " was given but there is no kubeconfig; looked at " +
                          Join(looked, ", "));
  }
  if (!in_cluster.service_host.empty()) return InClusterConfig(in_cluster);
  looked.push_back("the in-cluster service account (KUBERNETES_SERVICE_HOST not set)");
  return base::NotFound("no Kubernetes configuration found: looked at --kubeconfig (not given), " + Join(looked, ", ") +
                        "; pass --kubeconfig or set KUBECONFIG");
}

}  // namespace gpuwise::observe::kube
