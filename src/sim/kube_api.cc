#include "sim/kube_api.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cmath>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/time_parse.h"
#include "sim/cron.h"
#include "sim/json_read.h"
#include "sim/kube_patch.h"
#include "sim/kube_selectors.h"
#include "sim/kube_tables.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

const json& At(const json& j, std::initializer_list<std::string_view> path) { return JsonAt(j, path); }

std::string AtString(const json& j, std::initializer_list<std::string_view> path) { return JsonString(JsonAt(j, path)); }

// ---- Status objects (k8s.io/apimachinery/pkg/api/errors) ----

KubeResponse StatusResponse(int code, std::string_view reason, const std::string& message, json details = nullptr) {
  json s = {{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"},  {"message", message}, {"reason", reason},
            {"code", code}};
  if (!details.is_null()) s["details"] = std::move(details);
  if (reason.empty()) s.erase("reason");
  KubeResponse r;
  r.status = code;
  r.body = s.dump();
  return r;
}

json Details(const ResourceType& type, std::string_view name) {
  json d = {{"kind", type.plural}};
  if (!name.empty()) d["name"] = name;
  if (!type.group.empty()) d["group"] = type.group;
  return d;
}

KubeResponse NotFoundResponse() {
  return StatusResponse(404, "NotFound", "the server could not find the requested resource",
                        json{{"causes", json::array()}});
}

// Maps a store or validation error to its Status.
KubeResponse FromStatus(const base::Status& st, const ResourceType* type, std::string_view name) {
  json details = type != nullptr ? Details(*type, name) : json();
  switch (st.code()) {
    case base::Code::kNotFound:
      return StatusResponse(404, "NotFound", st.message(), details);
    case base::Code::kAlreadyExists:
      return StatusResponse(409, "AlreadyExists", st.message(), details);
    case base::Code::kAborted:
      return StatusResponse(409, "Conflict", st.message(), details);
    case base::Code::kInvalidArgument:
      return StatusResponse(422, "Invalid", st.message(), details);
    case base::Code::kFailedPrecondition:
      return StatusResponse(410, "Expired", st.message());
    case base::Code::kPermissionDenied:
      return StatusResponse(403, "Forbidden", st.message(), details);
    case base::Code::kResourceExhausted:
      return StatusResponse(429, "TooManyRequests", st.message(), details);
    default:
      return StatusResponse(500, "InternalError", st.message());
  }
}

KubeResponse JsonResponse(int code, const json& body) {
  KubeResponse r;
  r.status = code;
  r.body = body.dump();
  return r;
}

std::string Rfc3339(double unix_s) { return base::FormatTime(static_cast<std::int64_t>(std::floor(unix_s)) * 1000); }

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> Unbase64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // EVP_DecodeBlock keeps the padding
  out.resize(len);
  return out;
}

// storageVersionHash as kube-apiserver computes it: base64 of the first 8 bytes of sha256("group/version/kind").
std::string StorageVersionHash(const ResourceType& t) {
  const std::string in = t.group + "/" + t.version + "/" + t.kind;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  return Base64(std::string_view(reinterpret_cast<const char*>(digest), 8));
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

std::string Query(const KubeRequest& r, const std::string& key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? std::string() : it->second;
}

bool QueryTrue(const KubeRequest& r, const std::string& key) {
  const std::string v = Query(r, key);
  return v == "1" || v == "true";
}

std::string Header(const KubeRequest& r, const std::string& key) {
  auto it = r.headers.find(key);
  return it == r.headers.end() ? std::string() : it->second;
}

bool WantsTable(const KubeRequest& r) {
  const std::string accept = Header(r, "accept");
  return accept.find("as=Table") != std::string::npos && accept.find("g=meta.k8s.io") != std::string::npos;
}

bool Matches(const std::vector<std::string>& allowed, std::string_view value) {
  for (const std::string& a : allowed) {
    if (a == "*" || a == value) return true;
  }
  return false;
}

// The request's target, parsed from the path.
struct Target {
  const ResourceType* type = nullptr;
  std::string ns;
  std::string name;
  std::string sub;
  std::string proxy_path;  // pods/proxy: the path after "proxy" ("/metrics"), forwarded to the pod
};

// Parses the part after /api/v1 or /apis/G/V. Returns false when the path names nothing served.
bool ParseTarget(std::string_view group, std::string_view version, const std::vector<std::string>& rest,
                 Target* t) {
  std::size_t i = 0;
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    const ResourceType* nested = FindResource(group, version, rest[2]);
    if (nested != nullptr && nested->namespaced) {
      t->ns = rest[1];
      t->type = nested;
      i = 3;
    }
  }
  if (t->type == nullptr) {
    if (rest.empty()) return false;
    t->type = FindResource(group, version, rest[0]);
    if (t->type == nullptr) return false;
    i = 1;
  }
  if (i < rest.size()) t->name = rest[i++];
  if (i < rest.size()) t->sub = rest[i++];
  if (t->sub == "proxy") {
    for (; i < rest.size(); ++i) t->proxy_path += "/" + rest[i];
    if (t->proxy_path.empty()) t->proxy_path = "/";
  }
  if (i < rest.size()) return false;
  if (!t->sub.empty() && t->type->FindSub(t->sub) == nullptr) return false;
  return true;
}

std::string PodContainerName(const json& pod) {
  const json& cs = At(pod, {"spec", "containers"});
  return cs.is_array() && !cs.empty() ? AtString(cs[0], {"name"}) : "";
}

// A List as text: the items' stored texts concatenated (no object is re-serialised).
std::string ListBody(const ResourceType& type, std::uint64_t rv, const std::string& continue_token,
                     std::int64_t remaining, const std::vector<TextPtr>& items) {
  json meta = {{"resourceVersion", std::to_string(rv)}};
  if (!continue_token.empty()) {
    meta["continue"] = continue_token;
    meta["remainingItemCount"] = remaining;
  }
  std::size_t size = 128;
  for (const TextPtr& t : items) size += t->size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"apiVersion\":" + json(type.api_version()).dump() + ",\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += *items[i];
  }
  out += "],\"kind\":" + json(type.kind + "List").dump() + ",\"metadata\":" + meta.dump() + "}";
  return out;
}

// The continue token as kube-apiserver encodes it: unpadded URL-safe base64 of {"v","rv","start"}.
std::string ContinueToken(std::uint64_t rv, const std::string& start_key) {
  json token = {{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start_key}};
  std::string b = Base64(token.dump());
  for (char& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::optional<std::string> DecodeContinueToken(std::string token) {
  for (char& c : token) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (token.size() % 4 != 0) token += '=';
  return Unbase64(token);
}

// ?includeObject (checked in Handler::Resource: a bad value is a 400 before any of this runs).
IncludeObject IncludeOf(const KubeRequest& r) {
  base::Result<IncludeObject> v = ParseIncludeObject(Query(r, "includeObject"));
  return v.ok() ? *v : IncludeObject::kMetadata;
}

// Scale (autoscaling/v1) view of a workload with spec.replicas.
json ScaleOf(const json& obj) {
  json scale = {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}};
  scale["metadata"] = {{"name", AtString(obj, {"metadata", "name"})},
                       {"namespace", AtString(obj, {"metadata", "namespace"})},
                       {"uid", AtString(obj, {"metadata", "uid"})},
                       {"resourceVersion", AtString(obj, {"metadata", "resourceVersion"})},
                       {"creationTimestamp", AtString(obj, {"metadata", "creationTimestamp"})}};
  const json& replicas = At(obj, {"spec", "replicas"});
  scale["spec"] = {{"replicas", replicas.is_number_integer() ? replicas.get<long long>() : 1}};
  const json& current = At(obj, {"status", "replicas"});
  json status = {{"replicas", current.is_number_integer() ? current.get<long long>() : 0}};
  const json& sel = At(obj, {"spec", "selector"});
  if (sel.is_object()) {
    base::Result<LabelSelector> ls = LabelSelector::FromJson(sel);
    if (ls.ok()) status["selector"] = ls->String();
  }
  scale["status"] = std::move(status);
  return scale;
}

}  // namespace

struct KubeApiServer::Impl {
  KubeStore& store;
  KubeApiOptions options;
  std::function<double()> now_unix_s;
  std::function<base::Result<std::string>(std::string_view, std::string_view, std::string_view)> pod_log;
  std::unique_ptr<httplib::Server> http;
  std::thread listener;
  int port = 0;
  std::atomic<bool> stopping{false};
  mutable std::mutex faults_mu;
  std::vector<KubeFault> faults;

  Impl(KubeStore& s, KubeApiOptions o, std::function<double()> now)
      : store(s), options(std::move(o)), now_unix_s(std::move(now)) {}

  std::optional<KubeFault> TakeFault(const KubeRequest& r) {
    std::lock_guard lock(faults_mu);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->method.empty() && it->method != r.method) continue;
      if (!it->path_contains.empty() && r.path.find(it->path_contains) == std::string::npos) continue;
      KubeFault f = *it;
      if (it->times > 0 && --it->times == 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }
};

KubeApiServer::KubeApiServer(KubeStore& store, KubeApiOptions options, std::function<double()> now_unix_s)
    : impl_(std::make_unique<Impl>(store, std::move(options), std::move(now_unix_s))) {}

KubeApiServer::~KubeApiServer() { Stop(); }

void KubeApiServer::SetPodLog(
    std::function<base::Result<std::string>(std::string_view, std::string_view, std::string_view)> pod_log) {
  impl_->pod_log = std::move(pod_log);
}

void KubeApiServer::AddFault(KubeFault fault) {
  std::lock_guard lock(impl_->faults_mu);
  impl_->faults.push_back(std::move(fault));
}

void KubeApiServer::ClearFaults() {
  std::lock_guard lock(impl_->faults_mu);
  impl_->faults.clear();
}

bool KubeApiServer::Allowed(const KubeIdentity& who, std::string_view verb, std::string_view group,
                            std::string_view resource, std::string_view subresource, std::string_view ns,
                            std::string_view name) const {
  if (std::find(who.groups.begin(), who.groups.end(), "system:masters") != who.groups.end()) return true;
  // system:basic-user: every authenticated user may ask what it can do.
  if (resource == "selfsubjectaccessreviews" && verb == "create" &&
      std::find(who.groups.begin(), who.groups.end(), "system:authenticated") != who.groups.end()) {
    return true;
  }
  const std::string full = subresource.empty() ? std::string(resource) : std::string(resource) + "/" + std::string(subresource);
  for (const RbacBinding& b : impl_->options.rbac) {
    const bool subject = b.group ? std::find(who.groups.begin(), who.groups.end(), b.subject) != who.groups.end()
                                 : b.subject == who.user;
    if (!subject) continue;
    if (!b.namespace_name.empty() && b.namespace_name != ns) continue;
    for (const RbacRule& rule : b.rules) {
      if (!Matches(rule.verbs, verb)) continue;
      if (resource.empty()) {
        // A non-resource URL (group carries the path here).
        for (const std::string& u : rule.non_resource_urls) {
          if (u == "*" || u == group || (u.ends_with("*") && group.starts_with(u.substr(0, u.size() - 1)))) {
            return true;
          }
        }
        continue;
      }
      if (!Matches(rule.api_groups, group) || !Matches(rule.resources, full)) continue;
      if (!rule.resource_names.empty() && !Matches(rule.resource_names, name)) continue;
      return true;
    }
  }
  return false;
}

namespace {

// Everything the protocol needs for one request; one per call of Handle.
class Handler {
 public:
  Handler(KubeApiServer& server, KubeApiServer::Impl& impl, KubeRequest& req) : server_(server), s_(impl), r_(req) {}
  KubeResponse Run();

 private:
  KubeResponse Discovery(const std::vector<std::string>& parts);
  KubeResponse Resource(const Target& t);
  KubeResponse List(const Target& t);
  KubeResponse Watch(const Target& t);
  KubeResponse Get(const Target& t);
  KubeResponse Create(const Target& t);
  KubeResponse Update(const Target& t);
  KubeResponse Patch(const Target& t);
  KubeResponse Delete(const Target& t);
  KubeResponse DeleteCollection(const Target& t);
  KubeResponse Scale(const Target& t);
  KubeResponse Status(const Target& t);
  KubeResponse Log(const Target& t);
  KubeResponse Proxy(const Target& t);
  KubeResponse Evict(const Target& t);
  KubeResponse AccessReview();
  KubeResponse Forbidden(std::string_view verb, const Target& t);
  std::string Verb(const Target& t) const;
  json Table(const ResourceType& type, const std::vector<const json*>& objs, bool headers) const;
  base::Result<json> ApplyPatch(const json& original, const ResourceType& type);
  base::Status Validate(const ResourceType& type, const json& obj) const;

  KubeApiServer& server_;
  KubeApiServer::Impl& s_;
  KubeRequest& r_;
};

std::string Handler::Verb(const Target& t) const {
  const std::string& m = r_.method;
  if (m == "GET" || m == "HEAD") {
    if (QueryTrue(r_, "watch")) return "watch";  // a named watch is a watch with metadata.name
    return t.name.empty() ? "list" : "get";
  }
  if (m == "POST") return "create";
  if (m == "PUT") return "update";
  if (m == "PATCH") return "patch";
  if (m == "DELETE") return t.name.empty() ? "deletecollection" : "delete";
  return "";
}

KubeResponse Handler::Forbidden(std::string_view verb, const Target& t) {
  const ResourceType& type = *t.type;
  std::string what = t.sub.empty() ? type.plural : type.plural + "/" + t.sub;
  std::string subject = type.plural;
  if (!t.name.empty()) subject = type.key() + " \"" + t.name + "\"";
  else if (!type.group.empty()) subject = type.key();
  std::string msg = subject + " is forbidden: User \"" + r_.identity.user + "\" cannot " + std::string(verb) +
                    " resource \"" + what + "\" in API group \"" + type.group + "\"";
  msg += t.ns.empty() ? " at the cluster scope" : " in the namespace \"" + t.ns + "\"";
  return StatusResponse(403, "Forbidden", msg, Details(type, t.name));
}

KubeResponse Handler::Run() {
  // Authentication: a bearer token, else the transport's client certificate, else anonymous.
  // A client certificate that does not verify is a 401, as kube-apiserver's x509 authenticator answers.
  if (r_.bad_client_cert) return StatusResponse(401, "Unauthorized", "Unauthorized");
  const std::string auth = Header(r_, "authorization");
  if (auth.rfind("Bearer ", 0) == 0) {
    auto it = s_.options.tokens.find(auth.substr(7));
    if (it == s_.options.tokens.end()) return StatusResponse(401, "Unauthorized", "Unauthorized");
    r_.identity = it->second;
    r_.authenticated = true;
  }
  if (!r_.authenticated) r_.identity = {"system:anonymous", {"system:unauthenticated"}};
  else r_.identity.groups.push_back("system:authenticated");

  const std::vector<std::string> parts = SplitPath(r_.path);
  // Non-resource URLs: discovery and health are public (system:public-info-viewer and system:discovery).
  if (parts.empty() || parts[0] == "version" || parts[0] == "healthz" || parts[0] == "livez" ||
      parts[0] == "readyz" || ((parts[0] == "api" && parts.size() <= 2) || (parts[0] == "apis" && parts.size() <= 3))) {
    if (r_.method != "GET") return StatusResponse(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    return Discovery(parts);
  }
  if (!r_.authenticated) {
    // Anonymous requests are authenticated as system:anonymous and then refused by RBAC, as a real server
    // with --anonymous-auth does; without any credentials kubectl shows this 403.
  }
  Target t;
  bool ok = false;
  if (parts[0] == "api" && parts.size() >= 3 && parts[1] == "v1") {
    ok = ParseTarget("", "v1", std::vector<std::string>(parts.begin() + 2, parts.end()), &t);
  } else if (parts[0] == "apis" && parts.size() >= 4) {
    ok = ParseTarget(parts[1], parts[2], std::vector<std::string>(parts.begin() + 3, parts.end()), &t);
  }
  if (!ok) return NotFoundResponse();
  return Resource(t);
}

KubeResponse Handler::Discovery(const std::vector<std::string>& parts) {
  if (parts.empty()) {
    json paths = json::array({"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"});
    std::vector<std::string> groups;
    for (const ResourceType& t : KubeResources()) {
      if (t.group.empty()) continue;
      groups.push_back("/apis/" + t.group);
      groups.push_back("/apis/" + t.api_version());
    }
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (const std::string& g : groups) paths.push_back(g);
    return JsonResponse(200, {{"paths", paths}});
  }
  if (parts[0] == "healthz" || parts[0] == "livez" || parts[0] == "readyz") {
    if (parts.size() != 1) return NotFoundResponse();
    KubeResponse ok;
    ok.content_type = "text/plain; charset=utf-8";
    ok.body = "ok";
    return ok;
  }
  if (parts[0] == "version") {
    const std::string& v = s_.options.git_version;  // "v1.31.2"
    const std::size_t dot1 = v.find('.'), dot2 = v.find('.', dot1 + 1);
    return JsonResponse(200, {{"major", v.substr(1, dot1 - 1)},
                              {"minor", v.substr(dot1 + 1, dot2 - dot1 - 1)},
                              {"gitVersion", v},
                              {"gitCommit", "5864a4677267e6adeae276ad85882a8714d69d9d"},
                              {"gitTreeState", "clean"},
                              {"buildDate", "2024-10-22T20:28:14Z"},
                              {"goVersion", "go1.22.8"},
                              {"compiler", "gc"},
                              {"platform", "linux/amd64"}});
  }
  auto group_json = [](const std::string& group, const std::string& version) {
    json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
    return json{{"name", group}, {"versions", json::array({gv})}, {"preferredVersion", gv}};
  };
  auto resource_list = [&](const std::string& group, const std::string& version) -> KubeResponse {
    json resources = json::array();
    bool any = false;
    for (const ResourceType& t : KubeResources()) {
      if (t.group != group || t.version != version) continue;
      any = true;
      json e = {{"name", t.plural}, {"singularName", t.singular}, {"namespaced", t.namespaced},
                {"kind", t.kind},   {"verbs", t.verbs},           {"storageVersionHash", StorageVersionHash(t)}};
      if (!t.short_names.empty()) e["shortNames"] = t.short_names;
      if (!t.categories.empty()) e["categories"] = t.categories;
      if (t.kind == "SelfSubjectAccessReview" || t.kind == "Event") e.erase("storageVersionHash");
      if (t.kind == "Event") e["storageVersionHash"] = StorageVersionHash(t);
      resources.push_back(std::move(e));
      for (const ResourceType::Sub& sub : t.subresources) {
        json se = {{"name", t.plural + "/" + sub.name}, {"singularName", ""}, {"namespaced", t.namespaced},
                   {"kind", sub.kind}, {"verbs", sub.verbs}};
        if (sub.group != t.group || sub.version != t.version) {
          se["group"] = sub.group;
          se["version"] = sub.version;
        }
        resources.push_back(std::move(se));
      }
    }
    if (!any) return NotFoundResponse();
    return JsonResponse(200, {{"kind", "APIResourceList"},
                              {"apiVersion", "v1"},
                              {"groupVersion", group.empty() ? version : group + "/" + version},
                              {"resources", resources}});
  };
  if (parts[0] == "api") {
    if (parts.size() == 1) {
      return JsonResponse(200, {{"kind", "APIVersions"},
                                {"versions", json::array({"v1"})},
                                {"serverAddressByClientCIDRs",
                                 json::array({{{"clientCIDR", "0.0.0.0/0"},
                                               {"serverAddress", s_.options.address + ":" + std::to_string(s_.port)}}})}});
    }
    if (parts[1] != "v1") return NotFoundResponse();
    return resource_list("", "v1");
  }
  // /apis, /apis/G, /apis/G/V
  if (parts.size() == 1) {
    json groups = json::array();
    std::vector<std::string> seen;
    for (const ResourceType& t : KubeResources()) {
      if (t.group.empty() || std::find(seen.begin(), seen.end(), t.group) != seen.end()) continue;
      seen.push_back(t.group);
      groups.push_back(group_json(t.group, t.version));
    }
    return JsonResponse(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
  }
  for (const ResourceType& t : KubeResources()) {
    if (t.group != parts[1]) continue;
    if (parts.size() == 2) {
      json g = group_json(t.group, t.version);
      g["kind"] = "APIGroup";
      g["apiVersion"] = "v1";
      return JsonResponse(200, g);
    }
    return resource_list(parts[1], parts[2]);
  }
  return NotFoundResponse();
}

json Handler::Table(const ResourceType& type, const std::vector<const json*>& objs, bool headers) const {
  return KubeTable(type.plural, objs, IncludeOf(r_), headers,
                   static_cast<std::int64_t>(std::floor(s_.now_unix_s())));
}

KubeResponse Handler::Resource(const Target& t) {
  const std::string verb = Verb(t);
  if (verb.empty()) return StatusResponse(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  const ResourceType& type = *t.type;
  const std::vector<std::string>& verbs = t.sub.empty() ? type.verbs : type.FindSub(t.sub)->verbs;
  // pods/log is read with GET, pods/eviction written with POST: the subresource's own verbs decide.
  if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end()) {
    return StatusResponse(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                          Details(type, t.name));
  }
  if (!server_.Allowed(r_.identity, verb, type.group, type.plural, t.sub, t.ns, t.name)) return Forbidden(verb, t);
  if (base::Result<IncludeObject> include = ParseIncludeObject(Query(r_, "includeObject")); !include.ok()) {
    return StatusResponse(400, "BadRequest", include.status().message());
  }
  if (!t.ns.empty() && !(type.plural == "namespaces")) {
    const ResourceType* nstype = FindResource("", "v1", "namespaces");
    if (r_.method == "POST" && !s_.store.Get(*nstype, "", t.ns).ok()) {
      return StatusResponse(404, "NotFound", "namespaces \"" + t.ns + "\" not found",
                            json{{"name", t.ns}, {"kind", "namespaces"}});
    }
  }
  if (t.sub == "scale") return Scale(t);
  if (t.sub == "status") return Status(t);
  if (t.sub == "log") return Log(t);
  if (t.sub == "proxy") return Proxy(t);
  if (t.sub == "eviction") return Evict(t);
  if (type.kind == "SelfSubjectAccessReview") return AccessReview();
  if (verb == "list") return List(t);
  if (verb == "watch") return Watch(t);
  if (verb == "get") return Get(t);
  if (verb == "create") return Create(t);
  if (verb == "update") return Update(t);
  if (verb == "patch") return Patch(t);
  if (verb == "delete") return Delete(t);
  if (verb == "deletecollection") return DeleteCollection(t);
  return StatusResponse(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

KubeResponse Handler::List(const Target& t) {
  const ResourceType& type = *t.type;
  base::Result<LabelSelector> labels = LabelSelector::Parse(Query(r_, "labelSelector"));
  if (!labels.ok()) return StatusResponse(400, "BadRequest", "unable to parse requirement: " + labels.status().message());
  base::Result<FieldSelector> fields = FieldSelector::Parse(Query(r_, "fieldSelector"), type.plural);
  if (!fields.ok()) return StatusResponse(400, "BadRequest", fields.status().message());
  std::size_t limit = 0;
  const std::string limit_text = Query(r_, "limit");
  if (!limit_text.empty()) {
    try {
      limit = static_cast<std::size_t>(std::max(0LL, std::stoll(limit_text)));
    } catch (...) {
      return StatusResponse(400, "BadRequest", "invalid limit: " + limit_text);
    }
  }
  std::string start;
  const std::string cont = Query(r_, "continue");
  if (!cont.empty()) {
    std::optional<std::string> decoded = DecodeContinueToken(cont);
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!token.is_object() || !token.contains("start") || !token["start"].is_string() || !token.contains("rv")) {
      return StatusResponse(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
    }
    if (token["rv"].get<std::uint64_t>() < s_.store.oldest_watchable()) {
      return StatusResponse(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
    }
    start = token["start"].get<std::string>();
  }
  const LabelSelector& ls = *labels;
  const FieldSelector& fs = *fields;
  KubeStore::ListResult res = s_.store.List(type, t.ns, start, limit, [&](const json& o) {
    const json& meta = o["metadata"];
    return ls.Matches(meta.contains("labels") ? meta["labels"] : json()) && fs.Matches(o);
  });
  const std::string next = res.continue_key.empty() ? "" : ContinueToken(res.resource_version, res.continue_key);
  if (WantsTable(r_)) {
    std::vector<const json*> objs;
    objs.reserve(res.items.size());
    for (const ObjectPtr& o : res.items) objs.push_back(o.get());
    json table = Table(type, objs, true);
    json meta = {{"resourceVersion", std::to_string(res.resource_version)}};
    if (!next.empty()) {
      meta["continue"] = next;
      meta["remainingItemCount"] = res.remaining;
    }
    table["metadata"] = std::move(meta);
    return JsonResponse(200, table);
  }
  KubeResponse out;
  out.body = ListBody(type, res.resource_version, next, res.remaining, res.item_texts);
  return out;
}

KubeResponse Handler::Watch(const Target& t) {
  const ResourceType& type = *t.type;
  base::Result<LabelSelector> labels = LabelSelector::Parse(Query(r_, "labelSelector"));
  if (!labels.ok()) return StatusResponse(400, "BadRequest", "unable to parse requirement: " + labels.status().message());
  base::Result<FieldSelector> fields = FieldSelector::Parse(Query(r_, "fieldSelector"), type.plural);
  if (!fields.ok()) return StatusResponse(400, "BadRequest", fields.status().message());
  const std::string only_name = t.name;  // GET .../pods/NAME?watch=1 watches that one object
  const std::string rv_text = Query(r_, "resourceVersion");
  std::uint64_t from = 0;
  bool initial = rv_text.empty() || rv_text == "0";
  if (!initial) {
    try {
      from = std::stoull(rv_text);
    } catch (...) {
      return StatusResponse(400, "BadRequest", "invalid resource version: " + rv_text);
    }
  }
  const bool bookmarks = QueryTrue(r_, "allowWatchBookmarks");
  long long timeout_s = 1800;
  if (!Query(r_, "timeoutSeconds").empty()) {
    try {
      timeout_s = std::clamp(std::stoll(Query(r_, "timeoutSeconds")), 0LL, 7LL * 86400);
    } catch (...) {
      return StatusResponse(400, "BadRequest", "invalid timeoutSeconds: " + Query(r_, "timeoutSeconds"));
    }
  }
  const bool table = WantsTable(r_);
  const IncludeObject include = IncludeOf(r_);
  std::optional<KubeFault> fault = s_.TakeFault(r_);  // taken here so that a cut applies to this stream
  const int cut_after = fault && fault->cut_watch_after >= 0 ? fault->cut_watch_after : -1;
  KubeApiServer::Impl* impl = &s_;
  const std::string ns = t.ns;
  KubeResponse resp;
  // The stream parameter keeps the transport from gzip-buffering the events (clients parse the media type and
  // ignore parameters).
  resp.content_type = "application/json;stream=watch";
  resp.stream = [impl, &type, ns, only_name, initial, from, bookmarks, timeout_s, table, include, cut_after,
                 ls = *labels, fs = *fields](const std::function<bool(std::string_view)>& write,
                                             const std::atomic<bool>& stopping) {
    int sent = 0;
    bool headers_sent = false;
    auto now = [&] { return static_cast<std::int64_t>(std::floor(impl->now_unix_s())); };
    auto matches = [&](const json& o) {
      const json& meta = o["metadata"];
      if (!only_name.empty() && AtString(o, {"metadata", "name"}) != only_name) return false;
      return ls.Matches(meta.contains("labels") ? meta["labels"] : json()) && fs.Matches(o);
    };
    auto emit = [&](std::string_view type_name, const json& obj, const TextPtr& text) -> bool {
      std::string line;
      if (table) {
        json tab = KubeTable(type.plural, {&obj}, include, !headers_sent, now());
        headers_sent = true;
        tab["metadata"] = {{"resourceVersion", obj["metadata"].value("resourceVersion", "")}};
        line = json{{"type", type_name}, {"object", std::move(tab)}}.dump();
      } else {
        // {"object":...,"type":...}: the stored text, not a re-serialisation.
        line = "{\"object\":" + (text ? *text : obj.dump()) + ",\"type\":\"" + std::string(type_name) + "\"}";
      }
      line += '\n';
      if (!write(line)) return false;
      ++sent;
      return cut_after < 0 || sent < cut_after;
    };
    std::uint64_t cursor = from;
    if (initial) {
      KubeStore::ListResult res = impl->store.List(type, ns);
      for (const ObjectPtr& o : res.items) {
        if (matches(*o) && !emit("ADDED", *o, nullptr)) return;
      }
      cursor = res.resource_version;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    auto last_bookmark = std::chrono::steady_clock::now();
    while (!stopping.load() && std::chrono::steady_clock::now() < deadline) {
      std::uint64_t complete_to = 0;  // the store's version when these events were read: the stream is whole up to it
      base::Result<std::vector<WatchEvent>> events = impl->store.EventsSince(cursor, type, ns, &complete_to);
      if (!events.ok()) {
        json status = json::parse(StatusResponse(410, "Expired", events.status().message()).body);
        write(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
        return;
      }
      for (const WatchEvent& e : *events) {
        cursor = e.resource_version;
        if (!matches(*e.object)) continue;
        if (!emit(WatchEventTypeName(e.type), *e.object, e.text)) return;
      }
      cursor = std::max(cursor, complete_to);
      const auto now_wall = std::chrono::steady_clock::now();
      if (bookmarks && now_wall - last_bookmark >= impl->options.bookmark_interval) {
        last_bookmark = now_wall;
        // Bookmarks carry the newest version the stream is known complete up to.
        json obj = {{"kind", type.kind}, {"apiVersion", type.api_version()},
                    {"metadata", {{"resourceVersion", std::to_string(cursor)}}}};
        if (!write(json{{"type", "BOOKMARK"}, {"object", obj}}.dump() + "\n")) return;
      }
      impl->store.WaitPast(cursor, std::chrono::milliseconds(200));
    }
  };
  return resp;
}

KubeResponse Handler::Get(const Target& t) {
  base::Result<ObjectPtr> obj = s_.store.Get(*t.type, t.ns, t.name);
  if (!obj.ok()) return FromStatus(obj.status(), t.type, t.name);
  if (WantsTable(r_)) {
    json table = Table(*t.type, {obj->get()}, true);
    table["metadata"] = {{"resourceVersion", (**obj)["metadata"].value("resourceVersion", "")}};
    return JsonResponse(200, table);
  }
  return JsonResponse(200, **obj);
}

// The shape every stored object keeps, whatever a client sends (the typed decoding a real server does): the
// controllers read these fields without checking their types again.
base::Status CheckShape(const ResourceType& type, const json& obj) {
  const std::string what = (type.group.empty() ? type.kind : type.kind + "." + type.group) + " \"" +
                           AtString(obj, {"metadata", "name"}) + "\" is invalid: ";
  auto bad = [&](const std::string& field, const json& v, const char* want) {
    return base::InvalidArgument(what + field + ": Invalid value: " + v.dump().substr(0, 200) + ": must be " + want);
  };
  if (!obj.is_object()) return base::InvalidArgument("the object is not a JSON object");
  const json& meta = At(obj, {"metadata"});
  if (!meta.is_object()) return bad("metadata", meta, "an object");
  for (const char* f : {"name", "namespace", "generateName", "resourceVersion", "uid"}) {
    const json& v = At(meta, {f});
    if (!v.is_null() && !v.is_string()) return bad(std::string("metadata.") + f, v, "a string");
  }
  for (const char* f : {"labels", "annotations"}) {
    const json& m = At(meta, {f});
    if (m.is_null()) continue;
    if (!m.is_object()) return bad(std::string("metadata.") + f, m, "a map of strings");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) return bad(std::string("metadata.") + f + "." + k, v, "a string");
    }
  }
  const json& owners = At(meta, {"ownerReferences"});
  if (!owners.is_null()) {
    if (!owners.is_array()) return bad("metadata.ownerReferences", owners, "a list");
    for (const json& o : owners) {
      if (!o.is_object() || !At(o, {"uid"}).is_string() || !At(o, {"name"}).is_string() || !At(o, {"kind"}).is_string()) {
        return bad("metadata.ownerReferences", o, "an owner reference with apiVersion, kind, name and uid");
      }
    }
  }
  const json& spec = At(obj, {"spec"});
  if (!spec.is_null() && !spec.is_object()) return bad("spec", spec, "an object");
  // A pod spec wherever one sits.
  auto pod_spec = [&](const std::string& at, const json& ps) -> base::Status {
    if (!ps.is_object()) return bad(at, ps, "a pod spec");
    const json& cs = At(ps, {"containers"});
    if (!cs.is_array()) return bad(at + ".containers", cs, "a list of containers");
    for (const json& c : cs) {
      if (!c.is_object() || !At(c, {"name"}).is_string()) return bad(at + ".containers", c, "a container with a name");
      for (const char* r : {"requests", "limits"}) {
        const json& q = At(c, {"resources", r});
        if (q.is_null()) continue;
        if (!q.is_object()) return bad(at + ".containers.resources." + r, q, "a map of quantities");
        for (const auto& [k, v] : q.items()) {
          if (!v.is_string() && !v.is_number()) return bad(at + ".containers.resources." + r + "." + k, v, "a quantity");
        }
      }
      const json& ports = At(c, {"ports"});
      if (!ports.is_null()) {
        if (!ports.is_array()) return bad(at + ".containers.ports", ports, "a list");
        for (const json& port : ports) {
          if (!At(port, {"containerPort"}).is_number_integer()) return bad(at + ".containers.ports", port, "a port with containerPort");
        }
      }
    }
    const json& sel = At(ps, {"nodeSelector"});
    if (!sel.is_null()) {
      if (!sel.is_object()) return bad(at + ".nodeSelector", sel, "a map of strings");
      for (const auto& [k, v] : sel.items()) {
        if (!v.is_string()) return bad(at + ".nodeSelector." + k, v, "a string");
      }
    }
    const json& tol = At(ps, {"tolerations"});
    if (!tol.is_null()) {
      if (!tol.is_array()) return bad(at + ".tolerations", tol, "a list");
      for (const json& t : tol) {
        if (!t.is_object()) return bad(at + ".tolerations", t, "a toleration");
        for (const char* f : {"key", "operator", "value", "effect"}) {
          if (!At(t, {f}).is_null() && !At(t, {f}).is_string()) return bad(at + ".tolerations." + f, At(t, {f}), "a string");
        }
      }
    }
    return base::Status::Ok();
  };
  if (type.kind == "Pod") return pod_spec("spec", spec);
  if (type.kind == "Deployment" || type.kind == "ReplicaSet" || type.kind == "StatefulSet" ||
      type.kind == "DaemonSet" || type.kind == "Job") {
    return pod_spec("spec.template.spec", At(spec, {"template", "spec"}));
  }
  if (type.kind == "CronJob") return pod_spec("spec.jobTemplate.spec.template.spec", At(spec, {"jobTemplate", "spec", "template", "spec"}));
  if (type.kind == "Node") {
    const json& u = At(spec, {"unschedulable"});
    if (!u.is_null() && !u.is_boolean()) return bad("spec.unschedulable", u, "a boolean");
    const json& taints = At(spec, {"taints"});
    if (!taints.is_null()) {
      if (!taints.is_array()) return bad("spec.taints", taints, "a list");
      for (const json& t : taints) {
        if (!t.is_object() || !At(t, {"key"}).is_string() || !At(t, {"effect"}).is_string()) {
          return bad("spec.taints", t, "a taint with key and effect");
        }
      }
    }
  }
  if (type.kind == "ConfigMap") {
    const json& data = At(obj, {"data"});
    if (!data.is_null()) {
      if (!data.is_object()) return bad("data", data, "a map of strings");
      for (const auto& [k, v] : data.items()) {
        if (!v.is_string()) return bad("data." + k, v, "a string");
      }
    }
  }
  return base::Status::Ok();
}

base::Status Handler::Validate(const ResourceType& type, const json& obj) const {
  RETURN_IF_ERROR(CheckShape(type, obj));
  // `Deployment.apps "x" is invalid: spec.replicas: ...`, as the real validation error reads.
  const std::string what = (type.group.empty() ? type.kind : type.kind + "." + type.group) + " \"" +
                           obj["metadata"].value("name", "") + "\" is invalid: ";
  auto invalid = [&](const std::string& field, const std::string& msg) {
    return base::InvalidArgument(what + field + ": " + msg);
  };
  const json& spec = At(obj, {"spec"});
  const json& replicas = At(spec, {"replicas"});
  if (!replicas.is_null() && (!replicas.is_number_integer() || replicas.get<long long>() < 0 ||
                              replicas.get<long long>() > 1000000)) {
    return invalid("spec.replicas", "Invalid value: " + replicas.dump() + ": must be between 0 and 1000000");
  }
  if (type.kind == "HorizontalPodAutoscaler") {
    const json& min_j = At(spec, {"minReplicas"});
    const json& max_j = At(spec, {"maxReplicas"});
    if (!min_j.is_null() && !min_j.is_number_integer()) return invalid("spec.minReplicas", "Invalid value: " + min_j.dump());
    if (!max_j.is_number_integer()) return invalid("spec.maxReplicas", "Required value");
    const long long min = min_j.is_null() ? 1 : min_j.get<long long>();
    const long long max = max_j.get<long long>();
    if (min < 1) return invalid("spec.minReplicas", "Invalid value: " + std::to_string(min) + ": must be greater than or equal to 1");
    if (max < min) return invalid("spec.maxReplicas", "Invalid value: " + std::to_string(max) + ": must be greater than or equal to `minReplicas`");
    if (AtString(spec, {"scaleTargetRef", "kind"}).empty()) return invalid("spec.scaleTargetRef.kind", "Required value");
    if (AtString(spec, {"scaleTargetRef", "name"}).empty()) return invalid("spec.scaleTargetRef.name", "Required value");
  }
  if (type.kind == "Deployment" || type.kind == "ReplicaSet" || type.kind == "StatefulSet" || type.kind == "DaemonSet") {
    if (!At(spec, {"selector"}).is_object()) return invalid("spec.selector", "Required value");
    base::Result<LabelSelector> sel = LabelSelector::FromJson(At(spec, {"selector"}));
    if (!sel.ok()) return invalid("spec.selector", sel.status().message());
    const json& tl = At(spec, {"template", "metadata", "labels"});
    if (!tl.is_object() || !sel->Matches(tl)) {
      return invalid("spec.template.metadata.labels", "Invalid value: " + tl.dump() + ": `selector` does not match template `labels`");
    }
  }
  if (type.kind == "Job" || type.kind == "CronJob") {
    const json& tmpl = type.kind == "Job" ? At(spec, {"template"}) : At(spec, {"jobTemplate", "spec", "template"});
    if (!tmpl.is_object()) return invalid(type.kind == "Job" ? "spec.template" : "spec.jobTemplate.spec.template", "Required value");
  }
  if (type.kind == "CronJob") {
    std::string zone;
    std::optional<std::string_view> zone_arg;
    if (At(spec, {"timeZone"}).is_string()) {
      zone = AtString(spec, {"timeZone"});
      zone_arg = zone;
    }
    std::vector<CronFieldError> errors = ValidateCronJobSchedule(AtString(spec, {"schedule"}), zone_arg);
    if (!errors.empty()) {
      std::string text;
      for (const CronFieldError& e : errors) text += (text.empty() ? "" : ", ") + e.field + ": " + e.body;
      return base::InvalidArgument(what + (errors.size() > 1 ? "[" + text + "]" : text));
    }
  }
  if (type.kind == "PodDisruptionBudget" && !At(spec, {"minAvailable"}).is_null() && !At(spec, {"maxUnavailable"}).is_null()) {
    return invalid("spec", "Invalid value: ...: minAvailable and maxUnavailable cannot be both set");
  }
  return base::Status::Ok();
}

KubeResponse Handler::Create(const Target& t) {
  json obj = json::parse(r_.body, nullptr, false);
  if (!obj.is_object()) return StatusResponse(400, "BadRequest", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
  if (t.type->namespaced) {
    const std::string body_ns = obj["metadata"].value("namespace", "");
    if (!body_ns.empty() && body_ns != t.ns) {
      return StatusResponse(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    obj["metadata"]["namespace"] = t.ns;
  }
  if (base::Status v = Validate(*t.type, obj); !v.ok()) return FromStatus(v, t.type, obj["metadata"].value("name", ""));
  obj.erase("status");
  base::Result<ObjectPtr> created = s_.store.Create(*t.type, std::move(obj));
  if (!created.ok()) return FromStatus(created.status(), t.type, "");
  return JsonResponse(201, **created);
}

KubeResponse Handler::Update(const Target& t) {
  json obj = json::parse(r_.body, nullptr, false);
  if (!obj.is_object() || !obj["metadata"].is_object()) return StatusResponse(400, "BadRequest", "the body of the request was in an unknown format");
  if (obj["metadata"].value("name", "") != t.name) {
    return StatusResponse(400, "BadRequest", "the name of the object (" + obj["metadata"].value("name", "") +
                                                 ") does not match the name on the URL (" + t.name + ")");
  }
  if (t.type->namespaced) obj["metadata"]["namespace"] = t.ns;
  base::Result<ObjectPtr> old = s_.store.Get(*t.type, t.ns, t.name);
  if (!old.ok()) return FromStatus(old.status(), t.type, t.name);
  if (t.type->FindSub("status") != nullptr) {
    // The main resource ignores status writes when a status subresource exists.
    if ((**old).contains("status")) obj["status"] = (**old)["status"];
    else obj.erase("status");
  }
  if (base::Status v = Validate(*t.type, obj); !v.ok()) return FromStatus(v, t.type, t.name);
  base::Result<ObjectPtr> done = s_.store.Update(*t.type, std::move(obj));
  if (!done.ok()) return FromStatus(done.status(), t.type, t.name);
  return JsonResponse(200, **done);
}

base::Result<json> Handler::ApplyPatch(const json& original, const ResourceType& type) {
  std::string ct = Header(r_, "content-type");
  ct = ct.substr(0, ct.find(';'));
  if (ct == "application/merge-patch+json") return ApplyMergePatch(original, r_.body);
  if (ct == "application/json-patch+json") return ApplyJsonPatch(original, r_.body);
  if (ct == "application/strategic-merge-patch+json") {
    if (!SupportsStrategicMerge(type.kind)) {
      return base::Status(base::Code::kUnimplemented, "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    }
    return ApplyStrategicMergePatch(original, r_.body, type.kind);
  }
  return base::Status(base::Code::kUnimplemented,
                      "the body of the request was in an unknown format - accepted media types include: "
                      "application/json-patch+json, application/merge-patch+json, "
                      "application/strategic-merge-patch+json");
}

namespace {
// Patch errors as the real server answers them (kube_patch.h says which code is which status).
KubeResponse PatchError(const base::Status& st, const ResourceType* type, const std::string& name) {
  switch (st.code()) {
    case base::Code::kUnimplemented:
      return StatusResponse(415, "UnsupportedMediaType", st.message());
    case base::Code::kInvalidArgument:
      return StatusResponse(400, "BadRequest", st.message());
    case base::Code::kFailedPrecondition:
      return StatusResponse(422, "", st.message());
    case base::Code::kResourceExhausted:
      return StatusResponse(413, "RequestEntityTooLarge", st.message());
    case base::Code::kInternal:
      return StatusResponse(500, "", st.message());
    default:
      return FromStatus(st, type, name);
  }
}
}  // namespace

KubeResponse Handler::Patch(const Target& t) {
  const ResourceType& type = *t.type;
  const bool has_status = type.FindSub("status") != nullptr;
  base::Status patch_error = base::Status::Ok();
  base::Status invalid = base::Status::Ok();
  base::Result<ObjectPtr> done = s_.store.Mutate(type, t.ns, t.name, [&](json& obj) -> base::Status {
    base::Result<json> patched = ApplyPatch(obj, type);
    if (!patched.ok()) {
      patch_error = patched.status();
      return patch_error;
    }
    json next = std::move(*patched);
    if (has_status) {
      if (obj.contains("status")) next["status"] = obj["status"];
      else next.erase("status");
    }
    if (!next.is_object() || !next["metadata"].is_object() || next["metadata"].value("name", "") != t.name) {
      invalid = base::InvalidArgument(type.kind + " \"" + t.name + "\" is invalid: metadata.name: Invalid value: the name may not be changed");
      return invalid;
    }
    if (type.kind == "Pod") {
      // Pod specs are immutable except container images (and a few fields gpuwise never touches).
      json a = obj["spec"], b = next["spec"];
      for (json* s : {&a, &b}) {
        if ((*s)["containers"].is_array()) {
          for (json& c : (*s)["containers"]) c.erase("image");
        }
      }
      if (a != b) {
        invalid = base::InvalidArgument("Pod \"" + t.name + "\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)");
        return invalid;
      }
    }
    if (base::Status v = Validate(type, next); !v.ok()) {
      invalid = v;
      return v;
    }
    obj = std::move(next);
    return base::Status::Ok();
  });
  if (!patch_error.ok()) return PatchError(patch_error, t.type, t.name);
  if (!done.ok()) return FromStatus(done.status(), t.type, t.name);
  return JsonResponse(200, **done);
}

KubeResponse Handler::Delete(const Target& t) {
  const ResourceType& type = *t.type;
  if (type.kind == "Pod") {
    // Graceful deletion: the pod gets a deletionTimestamp and the kubelet removes it once its containers stop.
    json opts = json::parse(r_.body.empty() ? std::string("{}") : r_.body, nullptr, false);
    long long grace = -1;
    if (opts.is_object() && opts.contains("gracePeriodSeconds") && opts["gracePeriodSeconds"].is_number()) {
      grace = opts["gracePeriodSeconds"].get<long long>();
    }
    if (!Query(r_, "gracePeriodSeconds").empty()) grace = std::atoll(Query(r_, "gracePeriodSeconds").c_str());
    if (grace > 365LL * 86400) grace = 365LL * 86400;
    base::Result<ObjectPtr> pod = s_.store.Get(type, t.ns, t.name);
    if (!pod.ok()) return FromStatus(pod.status(), t.type, t.name);
    const json& tgp = At(**pod, {"spec", "terminationGracePeriodSeconds"});
    if (grace < 0) grace = tgp.is_number_integer() ? tgp.get<long long>() : 30;
    grace = std::clamp<long long>(grace, 0, 365LL * 86400);
    const bool scheduled = !AtString(**pod, {"spec", "nodeName"}).empty();
    if (grace == 0 || !scheduled) {
      base::Result<ObjectPtr> gone = s_.store.Delete(type, t.ns, t.name);
      if (!gone.ok()) return FromStatus(gone.status(), t.type, t.name);
      return JsonResponse(200, **gone);
    }
    const double now = s_.now_unix_s();
    base::Result<ObjectPtr> marked = s_.store.Mutate(type, t.ns, t.name, [&](json& o) {
      if (!o["metadata"].contains("deletionTimestamp")) {
        o["metadata"]["deletionTimestamp"] = Rfc3339(now + static_cast<double>(grace));
        o["metadata"]["deletionGracePeriodSeconds"] = grace;
      }
      return base::Status::Ok();
    });
    if (!marked.ok()) return FromStatus(marked.status(), t.type, t.name);
    return JsonResponse(200, **marked);
  }
  if (type.kind == "Namespace") {
    if (!s_.store.Get(type, "", t.name).ok()) return FromStatus(base::NotFound("namespaces \"" + t.name + "\" not found"), t.type, t.name);
    // The namespace controller empties it: every namespaced object goes (pods gracefully, as DELETE does).
    for (const ResourceType& nt : KubeResources()) {
      if (!nt.namespaced || std::find(nt.verbs.begin(), nt.verbs.end(), "delete") == nt.verbs.end()) continue;
      for (const ObjectPtr& o : s_.store.List(nt, t.name).items) {
        Target one{&nt, t.name, AtString(*o, {"metadata", "name"}), "", ""};
        (void)Delete(one);
      }
    }
  }
  // A deleted object answers with its last state; kubectl prints `<kind> "<name>" deleted`.
  base::Result<ObjectPtr> gone = s_.store.Delete(type, t.ns, t.name);
  if (!gone.ok()) return FromStatus(gone.status(), t.type, t.name);
  return JsonResponse(200, **gone);
}

KubeResponse Handler::DeleteCollection(const Target& t) {
  // The objects the selectors pick, each deleted as DELETE would (pods gracefully); answers their List.
  base::Result<LabelSelector> labels = LabelSelector::Parse(Query(r_, "labelSelector"));
  if (!labels.ok()) return StatusResponse(400, "BadRequest", "unable to parse requirement: " + labels.status().message());
  base::Result<FieldSelector> fields = FieldSelector::Parse(Query(r_, "fieldSelector"), t.type->plural);
  if (!fields.ok()) return StatusResponse(400, "BadRequest", fields.status().message());
  KubeStore::ListResult res = s_.store.List(*t.type, t.ns, "", 0, [&](const json& o) {
    return labels->Matches(At(o, {"metadata", "labels"})) && fields->Matches(o);
  });
  std::vector<TextPtr> deleted;
  for (const ObjectPtr& o : res.items) {
    Target one = t;
    one.name = AtString(*o, {"metadata", "name"});
    one.ns = AtString(*o, {"metadata", "namespace"});
    KubeResponse d = Delete(one);
    if (d.status == 200) deleted.push_back(std::make_shared<const std::string>(d.body));
  }
  KubeResponse out;
  out.body = ListBody(*t.type, s_.store.resource_version(), "", 0, deleted);
  return out;
}

KubeResponse Handler::Scale(const Target& t) {
  const ResourceType& type = *t.type;
  base::Result<ObjectPtr> obj = s_.store.Get(type, t.ns, t.name);
  if (!obj.ok()) return FromStatus(obj.status(), t.type, t.name);
  if (r_.method == "GET") return JsonResponse(200, ScaleOf(**obj));
  base::Status patch_error = base::Status::Ok();
  base::Result<ObjectPtr> done = s_.store.Mutate(type, t.ns, t.name, [&](json& o) -> base::Status {
    json scale = ScaleOf(o);
    json next;
    if (r_.method == "PUT") {
      next = json::parse(r_.body, nullptr, false);
      if (!next.is_object()) {
        patch_error = base::InvalidArgument("the body of the request was in an unknown format");
        return patch_error;
      }
      const std::string want = next["metadata"].value("resourceVersion", "");
      if (!want.empty() && want != o["metadata"].value("resourceVersion", "")) {
        patch_error = base::Status(base::Code::kAborted, "Operation cannot be fulfilled on " + type.key() + " \"" +
                                                             t.name + "\": the object has been modified; please apply your changes to the latest version and try again");
        return patch_error;
      }
    } else {
      const ResourceType* scale_type = nullptr;  // Scale has no strategic-merge lists; merge semantics apply
      (void)scale_type;
      std::string ct = Header(r_, "content-type");
      ct = ct.substr(0, ct.find(';'));
      base::Result<json> p = ct == "application/json-patch+json" ? ApplyJsonPatch(scale, r_.body)
                                                                 : ApplyMergePatch(scale, r_.body);
      if (!p.ok()) {
        patch_error = p.status();
        return patch_error;
      }
      next = std::move(*p);
    }
    const json& replicas = next["spec"]["replicas"];
    if (!replicas.is_number_integer() || replicas.get<long long>() < 0) {
      patch_error = base::InvalidArgument("Scale.autoscaling \"" + t.name + "\" is invalid: spec.replicas: Invalid value: " + replicas.dump() + ": must be greater than or equal to 0");
      return patch_error;
    }
    o["spec"]["replicas"] = replicas;
    return base::Status::Ok();
  });
  if (!patch_error.ok()) return patch_error.code() == base::Code::kInvalidArgument && patch_error.message().find("is invalid") != std::string::npos
                                    ? StatusResponse(422, "Invalid", patch_error.message(), Details(type, t.name))
                                    : PatchError(patch_error, t.type, t.name);
  if (!done.ok()) return FromStatus(done.status(), t.type, t.name);
  return JsonResponse(200, ScaleOf(**done));
}

KubeResponse Handler::Status(const Target& t) {
  const ResourceType& type = *t.type;
  if (r_.method == "GET") return Get(t);
  base::Status patch_error = base::Status::Ok();
  base::Result<ObjectPtr> done = s_.store.Mutate(type, t.ns, t.name, [&](json& o) -> base::Status {
    json next;
    if (r_.method == "PUT") {
      next = json::parse(r_.body, nullptr, false);
      if (!next.is_object()) return patch_error = base::InvalidArgument("the body of the request was in an unknown format");
    } else {
      base::Result<json> p = ApplyPatch(o, type);
      if (!p.ok()) return patch_error = p.status();
      next = std::move(*p);
    }
    // Only status changes through the status subresource.
    if (next.contains("status")) o["status"] = next["status"];
    else o.erase("status");
    return base::Status::Ok();
  });
  if (!patch_error.ok()) return PatchError(patch_error, t.type, t.name);
  if (!done.ok()) return FromStatus(done.status(), t.type, t.name);
  return JsonResponse(200, **done);
}

// pods/proxy: GET /api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy/PATH is forwarded to the pod's IP and port
// (80 when none is named) and the pod's answer relayed, as kube-apiserver does. Only GET, and only plain HTTP: the
// simulated pods serve nothing else.
KubeResponse Handler::Proxy(const Target& t) {
  if (r_.method != "GET") {
    return StatusResponse(405, "MethodNotAllowed", "the simulated API server proxies GET only");
  }
  std::string name = t.name, scheme = "http";
  int port = 80;
  if (const std::size_t c = name.find(':'); c != std::string::npos && (name.starts_with("http:") || name.starts_with("https:"))) {
    scheme = name.substr(0, c);
    name = name.substr(c + 1);
  }
  if (const std::size_t c = name.rfind(':'); c != std::string::npos) {
    const std::string p = name.substr(c + 1);
    name = name.substr(0, c);
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
        std::stoi(p) < 1 || std::stoi(p) > 65535) {
      return StatusResponse(400, "BadRequest", "invalid port \"" + p + "\"");
    }
    port = std::stoi(p);
  }
  base::Result<ObjectPtr> pod = s_.store.Get(*t.type, t.ns, name);
  if (!pod.ok()) return FromStatus(pod.status(), t.type, name);
  const std::string ip = AtString(**pod, {"status", "podIP"});
  if (ip.empty()) return StatusResponse(503, "ServiceUnavailable", "address not allowed");
  if (scheme != "http") {
    return StatusResponse(503, "ServiceUnavailable", "error trying to reach service: the simulated pods serve HTTP only");
  }
  std::string target = t.proxy_path;
  bool first = true;
  for (const auto& [k, v] : r_.query) {
    target += (first ? "?" : "&") + httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
    first = false;
  }
  httplib::Client client(ip, port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  httplib::Result res = client.Get(target);
  if (!res) {
    return StatusResponse(503, "ServiceUnavailable", "error trying to reach service: dial tcp " + ip + ":" +
                                                         std::to_string(port) + ": " + httplib::to_string(res.error()));
  }
  KubeResponse out;
  out.status = res->status;
  out.content_type = res->get_header_value("Content-Type");
  out.body = std::move(res->body);
  return out;
}

KubeResponse Handler::Log(const Target& t) {
  base::Result<ObjectPtr> pod = s_.store.Get(*t.type, t.ns, t.name);
  if (!pod.ok()) return FromStatus(pod.status(), t.type, t.name);
  std::string container = Query(r_, "container");
  if (container.empty()) container = PodContainerName(**pod);
  bool known = false;
  const json& containers = At(**pod, {"spec", "containers"});
  if (containers.is_array()) {
    for (const json& c : containers) known = known || AtString(c, {"name"}) == container;
  }
  if (!known) {
    return StatusResponse(400, "BadRequest", "container " + container + " is not valid for pod " + t.name);
  }
  if (AtString(**pod, {"spec", "nodeName"}).empty()) {
    return StatusResponse(400, "BadRequest", "container \"" + container + "\" in pod \"" + t.name +
                                                 "\" is waiting to start: ContainerCreating");
  }
  if (!s_.pod_log) return StatusResponse(404, "NotFound", "the server could not find the requested resource");
  base::Result<std::string> text = s_.pod_log(t.ns, t.name, container);
  if (!text.ok()) return StatusResponse(400, "BadRequest", text.status().message());
  std::string body = *text;
  const std::string tail = Query(r_, "tailLines");
  if (!tail.empty()) {
    long long n = std::atoll(tail.c_str());
    std::size_t pos = body.size();
    if (pos > 0 && body[pos - 1] == '\n') --pos;
    while (n > 0 && pos > 0) {
      pos = body.rfind('\n', pos - 1);
      if (pos == std::string::npos) {
        pos = 0;
        break;
      }
      --n;
      if (n == 0) ++pos;
    }
    body = body.substr(pos);
  }
  KubeResponse r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

KubeResponse Handler::Evict(const Target& t) {
  const ResourceType& pods = *t.type;
  base::Result<ObjectPtr> pod = s_.store.Get(pods, t.ns, t.name);
  if (!pod.ok()) return FromStatus(pod.status(), t.type, t.name);
  const json& p = **pod;
  const json& labels = At(p, {"metadata", "labels"});
  const bool terminating = !At(p, {"metadata", "deletionTimestamp"}).is_null();
  const std::string phase = AtString(p, {"status", "phase"});
  // Pods already terminating or finished are evicted without consulting budgets (as the eviction REST does).
  if (!terminating && phase != "Succeeded" && phase != "Failed") {
    const ResourceType* pdbs = FindResource("policy", "v1", "poddisruptionbudgets");
    KubeStore::ListResult budgets = s_.store.List(*pdbs, t.ns);
    std::vector<ObjectPtr> matching;
    for (const ObjectPtr& b : budgets.items) {
      base::Result<LabelSelector> sel = LabelSelector::FromJson(At(*b, {"spec", "selector"}));
      if (sel.ok() && !sel->empty() && sel->Matches(labels)) matching.push_back(b);
    }
    if (matching.size() > 1) {
      return StatusResponse(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    }
    if (matching.size() == 1) {
      // Checked and used in one write: concurrent evictions (kubectl drain evicts in parallel) cannot both take
      // the last allowed disruption.
      const std::string name = AtString(*matching[0], {"metadata", "name"});
      const std::string pod_name = t.name;
      const double now = s_.now_unix_s();
      json refused;
      base::Result<ObjectPtr> updated = s_.store.Mutate(*pdbs, t.ns, name, [&](json& o) -> base::Status {
        const json& allowed = At(o, {"status", "disruptionsAllowed"});
        if (!allowed.is_number_integer() || allowed.get<long long>() <= 0) {
          const json& desired = At(o, {"status", "desiredHealthy"});
          const json& current = At(o, {"status", "currentHealthy"});
          refused = {{"causes", json::array({{{"reason", "DisruptionBudget"},
                                              {"message", "The disruption budget " + name + " needs " +
                                                              (desired.is_number() ? desired.dump() : "0") +
                                                              " healthy pods and has " +
                                                              (current.is_number() ? current.dump() : "0") +
                                                              " currently"}}})}};
          return base::ResourceExhausted("disruption budget");
        }
        o["status"]["disruptionsAllowed"] = allowed.get<long long>() - 1;
        o["status"]["disruptedPods"][pod_name] = Rfc3339(now);
        return base::Status::Ok();
      });
      if (!refused.is_null()) {
        return StatusResponse(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                              refused);
      }
      if (!updated.ok()) return FromStatus(updated.status(), pdbs, name);
    }
  }
  KubeRequest del = r_;
  del.method = "DELETE";
  json body = json::parse(r_.body, nullptr, false);
  del.body = body.is_object() && body.contains("deleteOptions") ? body["deleteOptions"].dump() : "{}";
  Handler deleter(server_, s_, del);
  Target pt = t;
  pt.sub.clear();
  KubeResponse d = deleter.Delete(pt);
  if (d.status != 200) return d;
  return JsonResponse(201, {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                            {"status", "Success"}, {"code", 201}});
}

KubeResponse Handler::AccessReview() {
  json review = json::parse(r_.body, nullptr, false);
  if (!review.is_object() || !review["spec"].is_object()) {
    return StatusResponse(400, "BadRequest", "the body of the request was in an unknown format");
  }
  const json& spec = review["spec"];
  bool allowed = false;
  if (At(spec, {"resourceAttributes"}).is_object()) {
    const json& a = At(spec, {"resourceAttributes"});
    allowed = server_.Allowed(r_.identity, AtString(a, {"verb"}), AtString(a, {"group"}), AtString(a, {"resource"}),
                              AtString(a, {"subresource"}), AtString(a, {"namespace"}), AtString(a, {"name"}));
  } else if (At(spec, {"nonResourceAttributes"}).is_object()) {
    const json& a = At(spec, {"nonResourceAttributes"});
    allowed = server_.Allowed(r_.identity, AtString(a, {"verb"}), AtString(a, {"path"}), "", "", "", "");
  } else {
    return StatusResponse(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
  }
  review["apiVersion"] = "authorization.k8s.io/v1";
  review["kind"] = "SelfSubjectAccessReview";
  review["metadata"] = {{"creationTimestamp", nullptr}};
  review["status"] = {{"allowed", allowed}};
  if (allowed) review["status"]["reason"] = "RBAC: allowed by the simulated cluster's role bindings";
  return JsonResponse(201, review);
}

}  // namespace

KubeResponse KubeApiServer::Handle(KubeRequest request) {
  if (std::optional<KubeFault> fault = [&]() -> std::optional<KubeFault> {
        // Watches take their fault inside the stream (a cut applies mid-stream).
        if (request.method == "GET" && (request.query.count("watch") != 0)) {
          return std::nullopt;
        }
        return impl_->TakeFault(request);
      }()) {
    if (fault->delay.count() > 0) std::this_thread::sleep_for(fault->delay);
    if (fault->status == 429) {
      KubeResponse r = StatusResponse(429, "TooManyRequests", "Too many requests, please try again later.",
                                      json{{"retryAfterSeconds", fault->retry_after_s}});
      r.headers["Retry-After"] = std::to_string(fault->retry_after_s);
      return r;
    }
    if (fault->status >= 500) {
      const char* reason = fault->status == 503 ? "ServiceUnavailable" : fault->status == 504 ? "Timeout" : "InternalError";
      return StatusResponse(fault->status, reason, "injected fault: the server is currently unable to handle the request");
    }
    if (fault->status != 0) return StatusResponse(fault->status, "", "injected fault");
  }
  Handler handler(*this, *impl_, request);
  try {
    return handler.Run();
  } catch (const std::exception& e) {
    // A request that does not decode as the type it names (a real server rejects it while decoding).
    return StatusResponse(400, "BadRequest", std::string("the request could not be decoded: ") + e.what());
  }
}

// ---- Transport ----

namespace {
std::string YamlQuote(const std::string& s) { return json(s).dump(); }
}  // namespace

base::Status KubeApiServer::Start() {
  if (impl_->http) return base::FailedPrecondition("the API server is already running");
  if (impl_->options.tls) {
    ASSIGN_OR_RETURN(pki_, GenerateKubePki());
    ASSIGN_OR_RETURN(impl_->http, MakeSslServer(pki_, /*request_client_cert=*/true));
  } else {
    impl_->http = std::make_unique<httplib::Server>();
  }
  httplib::Server& srv = *impl_->http;
  const int threads = impl_->options.threads;
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  srv.set_keep_alive_max_count(1000);
  srv.set_tcp_nodelay(true);  // without it every small response waits ~40 ms for the client's delayed ACK
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    KubeRequest kr;
    kr.method = req.method;
    kr.path = req.path;
    for (const auto& [k, v] : req.params) kr.query.emplace(k, v);
    for (const auto& [k, v] : req.headers) {
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      kr.headers[lower] = v;
    }
    kr.body = req.body;
    if (req.ssl != nullptr) {
      base::Result<std::optional<CertIdentity>> id = ClientCertIdentity(req.ssl);
      if (!id.ok()) {
        kr.bad_client_cert = true;
      } else if (id->has_value()) {
        kr.identity = {(*id)->user, (*id)->groups};
        kr.authenticated = true;
      }
    }
    KubeResponse out = Handle(std::move(kr));
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (out.stream) {
      auto stream = std::make_shared<decltype(out.stream)>(std::move(out.stream));
      std::atomic<bool>* stopping = &impl_->stopping;
      res.set_chunked_content_provider(out.content_type, [stream, stopping](std::size_t, httplib::DataSink& sink) {
        try {
          (*stream)([&](std::string_view chunk) { return sink.is_writable() && sink.write(chunk.data(), chunk.size()); },
                    *stopping);
        } catch (const std::exception& e) {
          LOG_WARNING << "watch stream ended: " << e.what();
        }
        sink.done();
        return true;
      });
      return;
    }
    res.set_content(out.body, out.content_type);
  };
  srv.Get(".*", handler);
  srv.Post(".*", handler);
  srv.Put(".*", handler);
  srv.Patch(".*", handler);
  srv.Delete(".*", handler);
  const int port = impl_->options.port == 0 ? srv.bind_to_any_port(impl_->options.address)
                                             : (srv.bind_to_port(impl_->options.address, impl_->options.port)
                                                    ? impl_->options.port
                                                    : -1);
  if (port < 0) {
    impl_->http.reset();
    return base::Unavailable("cannot listen on " + impl_->options.address + ":" + std::to_string(impl_->options.port));
  }
  impl_->port = port;
  impl_->stopping = false;
  impl_->listener = std::thread([this] { impl_->http->listen_after_bind(); });
  return base::Status::Ok();
}

void KubeApiServer::Stop() {
  if (!impl_ || !impl_->http) return;
  impl_->stopping = true;
  impl_->http->stop();
  if (impl_->listener.joinable()) impl_->listener.join();
  impl_->http.reset();
}

std::string KubeApiServer::url() const {
  return std::string(impl_->options.tls ? "https://" : "http://") + impl_->options.address + ":" +
         std::to_string(impl_->port);
}

base::Result<std::string> KubeApiServer::Kubeconfig(const std::string& user, const std::vector<std::string>& groups,
                                                    const std::string& token) const {
  std::string cluster = "    server: " + url() + "\n";
  if (impl_->options.tls) cluster += "    certificate-authority-data: " + Base64(pki_.ca.cert_pem) + "\n";
  std::string creds;
  if (!token.empty()) {
    creds = "    token: " + YamlQuote(token) + "\n";
  } else if (impl_->options.tls) {
    ASSIGN_OR_RETURN(PemPair client, IssueClientCert(pki_.ca, user, groups));
    creds = "    client-certificate-data: " + Base64(client.cert_pem) + "\n    client-key-data: " +
            Base64(client.key_pem) + "\n";
  } else {
    return base::InvalidArgument("a plain-HTTP API server authenticates by token only: pass a token");
  }
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: gpuwise-sim\n  cluster:\n" + cluster +
         "users:\n- name: " + user + "\n  user:\n" + creds +
         "contexts:\n- name: gpuwise-sim\n  context:\n    cluster: gpuwise-sim\n    user: " + user +
         "\n    namespace: default\ncurrent-context: gpuwise-sim\npreferences: {}\n";
}

}  // namespace gpuwise::sim
