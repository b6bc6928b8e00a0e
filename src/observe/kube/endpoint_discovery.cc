#include "observe/kube/endpoint_discovery.h"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "observe/kube/rbac.h"

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;

constexpr int kDcgmPort = 9400;
const char* const kDcgmSelectors[] = {"app=nvidia-dcgm-exporter", "app.kubernetes.io/name=dcgm-exporter"};

// Lenient reading of discovery objects: a missing or mistyped field reads as absent (a malformed slice or
// endpoint is skipped, never a crash).
const json& At(const json& j, std::initializer_list<std::string_view> path) {
  static const json kNull;
  const json* cur = &j;
  for (std::string_view key : path) {
    if (!cur->is_object()) return kNull;
    auto it = cur->find(std::string(key));
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}
std::string Str(const json& j) { return j.is_string() ? j.get<std::string>() : std::string(); }
int Port(const json& j) {
  if (!j.is_number_integer() && !j.is_number_unsigned()) return 0;
  const auto v = j.get<std::int64_t>();
  return v > 0 && v <= 65535 ? static_cast<int>(v) : 0;
}
const json& Array(const json& j) {
  static const json kEmpty = json::array();
  return j.is_array() ? j : kEmpty;
}

ResourceType Type(std::string group, std::string resource, std::string kind) {
  ResourceType t;
  t.group = std::move(group);
  t.version = "v1";
  t.resource = std::move(resource);
  t.kind = std::move(kind);
  return t;
}
const ResourceType& ServicesType() {
  static const ResourceType t = Type("", "services", "Service");
  return t;
}
const ResourceType& EndpointSlicesType() {
  static const ResourceType t = Type("discovery.k8s.io", "endpointslices", "EndpointSlice");
  return t;
}
const ResourceType& EndpointsType() {
  static const ResourceType t = Type("", "endpoints", "Endpoints");
  return t;
}

std::string HostPort(std::string_view ip, int port) {
  const bool v6 = ip.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(ip) + "]" : std::string(ip)) + ":" + std::to_string(port);
}

// The metrics port among a Service's / slice's ports: named metrics or gpu-metrics, else 9400, else the only one.
int PickPort(const json& ports) {
  int by_number = 0, only = 0, count = 0;
  for (const json& p : Array(ports)) {
    const std::string name = Str(At(p, {"name"}));
    const int port = Port(At(p, {"port"}));
    if (port == 0) continue;
    if (name == "metrics" || name == "gpu-metrics") return port;
    if (port == kDcgmPort) by_number = port;
    only = port;
    ++count;
  }
  if (by_number != 0) return by_number;
  return count == 1 ? only : 0;
}

struct Service {
  std::string namespace_name, name;
};

class DcgmFinder {
 public:
  DcgmFinder(KubeClient& client, const DiscoveryOptions& options, std::vector<std::string>* warnings)
      : client_(client), options_(options), warnings_(warnings) {}

  base::Result<std::vector<ExporterEndpoint>> Run() {
    bool services_listed = false;
    std::vector<Service> services;
    std::set<std::pair<std::string, std::string>> seen;
    const AccessRule& svc_rule = RuleFor(Need::kListServices, "list", "", "services");
    for (const char* selector : kDcgmSelectors) {
      ListOptions lo;
      lo.namespace_name = options_.dcgm_namespace;
      lo.label_selector = selector;
      base::Result<ObjectList> list = client_.List(ServicesType(), lo);
      if (!list.ok()) {
        last_error_ = list.status();
        Warn("dcgm-exporter Services not listed (" + std::string(svc_rule.id) + "): " + list.status().message());
        continue;
      }
      services_listed = true;
      for (const ObjectPtr& s : list->items) {
        Service svc{Str(At(*s, {"metadata", "namespace"})), Str(At(*s, {"metadata", "name"}))};
        if (svc.name.empty() || !seen.insert({svc.namespace_name, svc.name}).second) continue;
        services.push_back(std::move(svc));
      }
    }
    for (const Service& svc : services) FromService(svc);
    bool pods_listed = true;
    if (out_.empty()) pods_listed = FromPods();
    if (!services_listed && !pods_listed) {
      return base::Status(last_error_.code(), "cannot find dcgm-exporter: neither Services nor pods can be listed: " +
                                                  last_error_.message());
    }
    FillNodes();
    std::sort(out_.begin(), out_.end(), [](const ExporterEndpoint& a, const ExporterEndpoint& b) {
      return std::tie(a.node, a.url) < std::tie(b.node, b.url);
    });
    out_.erase(std::unique(out_.begin(), out_.end(),
                           [](const ExporterEndpoint& a, const ExporterEndpoint& b) { return a.url == b.url; }),
               out_.end());
    return out_;
  }

 private:
  void Warn(std::string w) {
    if (warnings_ != nullptr) warnings_->push_back(std::move(w));
  }

  void Add(std::string_view ip, int port, std::string node, const json& target_ref, bool ready, std::string source,
           std::string_view default_ns) {
    if (ip.empty() || port == 0) return;
    ExporterEndpoint e;
    e.target = HostPort(ip, port);
    e.url = "http://" + e.target + "/metrics";
    e.node = std::move(node);
    if (Str(At(target_ref, {"kind"})) == "Pod") {
      e.pod = Str(At(target_ref, {"name"}));
      e.namespace_name = Str(At(target_ref, {"namespace"}));
      if (e.namespace_name.empty()) e.namespace_name = std::string(default_ns);
    }
    e.ready = ready;
    e.source = std::move(source);
    out_.push_back(std::move(e));
  }

  void FromService(const Service& svc) {
    const std::string what = svc.namespace_name + "/" + svc.name;
    const AccessRule& slice_rule = RuleFor(Need::kListEndpointSlices, "list", "discovery.k8s.io", "endpointslices");
    ListOptions lo;
    lo.namespace_name = svc.namespace_name;
    lo.label_selector = "kubernetes.io/service-name=" + svc.name;
    base::Result<ObjectList> slices = client_.List(EndpointSlicesType(), lo);
    if (slices.ok()) {
      for (const ObjectPtr& s : slices->items) {
        const std::string source = "endpointslice " + svc.namespace_name + "/" + Str(At(*s, {"metadata", "name"}));
        const int port = PickPort(At(*s, {"ports"}));
        if (port == 0) {
          Warn(source + " (Service " + what + "): no port named metrics or gpu-metrics, none is 9400; skipped");
          continue;
        }
        for (const json& ep : Array(At(*s, {"endpoints"}))) {
          const json& addrs = Array(At(ep, {"addresses"}));
          if (addrs.empty()) continue;
          const json& ready = At(ep, {"conditions", "ready"});
          Add(Str(addrs[0]), port, Str(At(ep, {"nodeName"})), At(ep, {"targetRef"}),
              !ready.is_boolean() || ready.get<bool>(), source, svc.namespace_name);
        }
      }
      return;
    }
    Warn("EndpointSlices of Service " + what + " not listed (" + std::string(slice_rule.id) +
         "): " + slices.status().message() + "; reading its Endpoints instead");
    const AccessRule& ep_rule = RuleFor(Need::kGetEndpoints, "get", "", "endpoints");
    base::Result<ObjectPtr> eps = client_.Get(EndpointsType(), svc.namespace_name, svc.name);
    if (!eps.ok()) {
      Warn("Endpoints " + what + " not read (" + std::string(ep_rule.id) + "): " + eps.status().message());
      return;
    }
    const std::string source = "endpoints " + what;
    for (const json& subset : Array(At(**eps, {"subsets"}))) {
      const int port = PickPort(At(subset, {"ports"}));
      if (port == 0) {
        Warn(source + ": no port named metrics or gpu-metrics, none is 9400; skipped");
        continue;
      }
      for (const auto& [key, ready] : {std::pair<const char*, bool>{"addresses", true}, {"notReadyAddresses", false}}) {
        for (const json& a : Array(At(subset, {key}))) {
          Add(Str(At(a, {"ip"})), port, Str(At(a, {"nodeName"})), At(a, {"targetRef"}), ready, source,
              svc.namespace_name);
        }
      }
    }
  }

  bool FromPods() {
    const AccessRule& rule = RuleFor(Need::kListPods, "list", "", "pods");
    bool listed = false;
    for (const char* selector : kDcgmSelectors) {
      ListOptions lo;
      lo.namespace_name = options_.dcgm_namespace;
      lo.label_selector = selector;
      base::Result<ObjectList> pods = client_.List(PodsType(), lo);
      if (!pods.ok()) {
        last_error_ = pods.status();
        Warn("dcgm-exporter pods not listed (" + std::string(rule.id) + "): " + pods.status().message());
        continue;
      }
      listed = true;
      for (const ObjectPtr& p : pods->items) {
        if (Str(At(*p, {"status", "phase"})) != "Running") continue;
        const std::string ns = Str(At(*p, {"metadata", "namespace"})), name = Str(At(*p, {"metadata", "name"}));
        int port = 0;
        for (const json& c : Array(At(*p, {"spec", "containers"}))) {
          for (const json& cp : Array(At(c, {"ports"}))) {
            const int n = Port(At(cp, {"containerPort"}));
            if (Str(At(cp, {"name"})) == "metrics" && n != 0 && port == 0) port = n;
          }
        }
        if (port == 0) port = kDcgmPort;
        const json ref = {{"kind", "Pod"}, {"namespace", ns}, {"name", name}};
        Add(Str(At(*p, {"status", "podIP"})), port, Str(At(*p, {"spec", "nodeName"})), ref, true,
            "pod " + ns + "/" + name, ns);
      }
    }
    return listed;
  }

  // Endpoints that name their pod but not their node: the pod says.
  void FillNodes() {
    for (ExporterEndpoint& e : out_) {
      if (!e.node.empty() || e.pod.empty()) continue;
      RuleFor(Need::kListPods, "get", "", "pods");
      base::Result<ObjectPtr> pod = client_.Get(PodsType(), e.namespace_name, e.pod);
      if (pod.ok()) {
        e.node = Str(At(**pod, {"spec", "nodeName"}));
      } else {
        Warn("dcgm-exporter " + e.target + ": its pod " + e.namespace_name + "/" + e.pod +
             " not read, node unknown: " + pod.status().message());
      }
    }
  }

  KubeClient& client_;
  const DiscoveryOptions& options_;
  std::vector<std::string>* warnings_;
  std::vector<ExporterEndpoint> out_;
  base::Status last_error_ = base::Unavailable("no request made");
};

std::string Annotation(const model::Pod& p, const char* key) {
  auto it = p.annotations.find(key);
  return it == p.annotations.end() ? std::string() : it->second;
}

}  // namespace

base::Result<std::vector<ExporterEndpoint>> DiscoverDcgmExporters(KubeClient& client, const DiscoveryOptions& options,
                                                                  std::vector<std::string>* warnings) {
  return DcgmFinder(client, options, warnings).Run();
}

std::string PodProxyPath(std::string_view namespace_name, std::string_view pod, int port, std::string_view path,
                         std::string_view scheme) {
  std::string p = "/api/v1/namespaces/" + std::string(namespace_name) + "/pods/";
  if (scheme == "https") p += "https:";
  p += std::string(pod) + ":" + std::to_string(port) + "/proxy";
  if (path.empty() || path.front() != '/') p += "/";
  p += path;
  return p;
}

std::vector<EngineEndpoint> EngineEndpoints(const model::ClusterState& state, const DiscoveryOptions& options) {
  std::vector<EngineEndpoint> out;
  if (options.via_api_proxy) RuleFor(Need::kPodProxy, "get", "", "pods/proxy");
  for (const model::Pod& p : state.pods) {
    if (!p.engine.Found() || p.phase != "Running" || p.ip.empty() || p.end_unix_s != 0) continue;
    if (Annotation(p, "prometheus.io/scrape") == "false") continue;
    int port = p.engine.metrics_port;
    std::string source = "engine " + p.engine.name + " metrics port";
    if (const std::string a = Annotation(p, "prometheus.io/port"); !a.empty()) {
      int v = 0;
      bool digits = a.size() <= 5;
      for (char ch : a) {
        if (ch < '0' || ch > '9') digits = false;
        else v = v * 10 + (ch - '0');
      }
      if (digits && v > 0 && v <= 65535) {
        port = v;
        source = "annotation prometheus.io/port";
      }
    }
    if (port == 0) continue;
    std::string path = Annotation(p, "prometheus.io/path");
    if (path.empty()) path = "/metrics";
    if (path.front() != '/') path.insert(0, "/");
    std::string scheme = Annotation(p, "prometheus.io/scheme");
    if (scheme != "https") scheme = "http";
    EngineEndpoint e;
    e.namespace_name = p.namespace_name;
    e.pod = p.name;
    e.container = p.engine.container;
    e.node = p.node;
    e.engine = p.engine.name;
    e.via_api_proxy = options.via_api_proxy;
    e.url = options.via_api_proxy ? PodProxyPath(p.namespace_name, p.name, port, path, scheme)
                                  : scheme + "://" + HostPort(p.ip, port) + path;
    e.source = std::move(source);
    out.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, std::string> NodeByTarget(const std::vector<ExporterEndpoint>& exporters) {
  std::map<std::string, std::string> out;
  for (const ExporterEndpoint& e : exporters) {
    if (!e.node.empty()) out[e.target] = e.node;
  }
  return out;
}

}  // namespace gpuwise::observe::kube
