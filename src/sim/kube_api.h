// The simulated kube-apiserver's HTTP surface over a KubeStore: discovery, LIST (label and field selectors,
// limit/continue), WATCH (resourceVersion, bookmarks, 410 Expired), GET, CREATE, UPDATE, PATCH (merge, JSON,
// strategic), DELETE (graceful for pods), server-side meta.k8s.io/v1 Tables, the subresources gpuwise and
// kubectl use (status, scale, pods/log, pods/eviction honouring PodDisruptionBudgets), SelfSubjectAccessReview,
// bearer-token and client-certificate authentication, an RBAC table (403 names the verb and resource), and fault
// injection for client tests. Errors are the real Status objects with the real codes and reasons.
// `Handle` is the whole protocol; `KubeApiServer` puts it on HTTPS (generated CA) or plain HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "sim/kube_store.h"
#include "sim/kube_tls.h"

namespace httplib {
class Server;
}

namespace gpuwise::sim {

struct KubeIdentity {
  std::string user;
  std::vector<std::string> groups;
};

// One RBAC rule as a (Cluster)Role holds it; "*" matches anything.
struct RbacRule {
  std::vector<std::string> verbs;
  std::vector<std::string> api_groups;
  std::vector<std::string> resources;  // "pods", "pods/log", "deployments/scale"
  std::vector<std::string> resource_names;
  std::vector<std::string> non_resource_urls;  // "/version", "/healthz"
};

// A binding of rules to a user or a group, cluster-wide or in one namespace.
struct RbacBinding {
  std::string subject;
  bool group = false;
  std::string namespace_name;  // empty = ClusterRoleBinding
  std::vector<RbacRule> rules;
};

// A fault for client tests: the next `times` requests matching method and path answer `status` (429 carries
// Retry-After), or wait `delay` first, or (watches) close the stream after `cut_watch_after` events.
struct KubeFault {
  std::string method;         // "" = any
  std::string path_contains;  // "" = any
  int status = 0;             // 0 = no error answer
  int retry_after_s = 1;
  std::chrono::milliseconds delay{0};
  int cut_watch_after = -1;
  int times = 1;              // -1 = until cleared
};

struct KubeApiOptions {
  bool tls = true;
  std::string address = "127.0.0.1";
  int port = 0;  // 0 = an ephemeral port
  // Bearer tokens; tokens are never logged.
  std::map<std::string, KubeIdentity> tokens;
  std::vector<RbacBinding> rbac;  // system:masters is always allowed everything
  std::chrono::milliseconds bookmark_interval{60000};
  std::string git_version = "v1.31.2";
  int threads = 256;  // every open watch holds one
};

struct KubeRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  KubeIdentity identity;  // authenticated by the transport (client certificate) or by Handle (bearer token)
  bool authenticated = false;
  bool bad_client_cert = false;  // a certificate was sent and did not verify (401)
};

struct KubeResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // Set for watches: writes events through `write` until it returns false or the watch ends.
  std::function<void(const std::function<bool(std::string_view)>& write, const std::atomic<bool>& stopping)> stream;
};

class KubeApiServer {
 public:
  // now_unix_s: simulated wall time (ages, timestamps). pod_log(namespace, name, container) returns the log text or
  // NotFound.
  KubeApiServer(KubeStore& store, KubeApiOptions options, std::function<double()> now_unix_s);
  ~KubeApiServer();
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  void SetPodLog(std::function<base::Result<std::string>(std::string_view ns, std::string_view name,
                                                         std::string_view container)> pod_log);

  // The whole protocol, transport-free.
  KubeResponse Handle(KubeRequest request);

  // Listens (TLS with a generated CA unless options.tls is false) and serves until Stop().
  base::Status Start();
  void Stop();
  std::string url() const;
  const KubePki& pki() const { return pki_; }
  // A kubeconfig (YAML) for `user`: bearer token if `token` is set, else a client certificate issued now for
  // user/groups.
  base::Result<std::string> Kubeconfig(const std::string& user, const std::vector<std::string>& groups,
                                       const std::string& token = "") const;

  void AddFault(KubeFault fault);
  void ClearFaults();

  // Whether `who` may do verb on resource (for SSAR and the 403 check).
  bool Allowed(const KubeIdentity& who, std::string_view verb, std::string_view group, std::string_view resource,
               std::string_view subresource, std::string_view ns, std::string_view name) const;

  struct Impl;  // the protocol's state; defined and used in kube_api.cc only

 private:
  std::unique_ptr<Impl> impl_;
  KubePki pki_;
};

}  // namespace gpuwise::sim
