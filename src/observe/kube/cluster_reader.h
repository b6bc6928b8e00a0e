// ReadCluster: one consistent-enough read of the cluster into model::ClusterState. LISTs nodes, namespaces and pods
// (every page), converts them (object_convert.h), walks each pod's ownerReferences up to its top controller, and
// marks the nodes that fractional-GPU pods show to run HAMi or KAI.
//
// The owner walk is generic: at each step the controlling reference (controller=true, else the first) is resolved
// through discovery (KubeClient::ResolveKind, so custom resources such as KServe InferenceService,
// LeaderWorkerSet, RayService or Notebook work like Deployments) and read with GET. Results are cached by
// namespace/group/kind/name, since most pods share their owners. Before the walk, a built-in kind that many pods
// name (16 or more distinct ReplicaSets, Jobs, ...) is read with one LIST instead (OwnerResolver::Prefetch): on a
// large fleet the GETs, under the client's rate limit, were most of the read's time. An owner that cannot be read (404, 403, kind not
// served, uid changed) ends the walk there with one warning naming it and why; the read goes on. A Node owner
// (static pods) ends the walk without a GET.
//
// Errors: nodes or pods that cannot be listed fail the read (the client's message names the missing grant).
// Namespaces that cannot be read are a warning (only team labels are lost). An object that does not convert is
// skipped with a warning naming it. Outputs are sorted as cluster.h says.
// Requests are exactly the rows of rbac.h's table (Need::...). Thread-safety: one call at a time per
// OwnerResolver; ReadCluster itself keeps no state.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "model/cluster.h"
#include "observe/kube/kube_client.h"

namespace gpuwise::observe::kube {

struct ReadOptions {
  // Pods of these namespaces only (and these namespaces only); empty = the whole cluster. Nodes are always read.
  std::vector<std::string> namespaces;
  // Pods matching this label selector only ("app=x,tier!=dev"); "" = all.
  std::string label_selector;
  bool resolve_owners = true;
  int max_owner_depth = 8;  // a guard against ownerReference cycles
  // A built-in owner kind with at least this many distinct owners at one level of the walk is LISTed, not read
  // with one GET each (OwnerResolver::Prefetch); 0 = never list.
  std::size_t list_owners_from = 16;
  // Called as the read goes: stage is "nodes", "namespaces", "pods" (items so far, per page) or "owners" (pods
  // walked so far). May be empty.
  std::function<void(std::string_view stage, std::size_t done)> progress;
  base::Clock* clock = nullptr;  // for ClusterState::read_unix_s; nullptr = the system clock
  // ConfigMaps to read by "namespace/name" into ClusterState::config_maps (optional: a failure is a warning).
  std::vector<std::string> config_maps = {"gpu-operator/default-mig-parted-config"};
};

base::Result<model::ClusterState> ReadCluster(KubeClient& client, const ReadOptions& options = {});

// The owner walk with its cache, reusable across reads (the informer-driven `serve` path keeps one).
class OwnerResolver {
 public:
  explicit OwnerResolver(KubeClient& client, int max_depth = 8) : client_(client), max_depth_(max_depth) {}

  // The chain above a pod in `namespace_name` whose controlling owner is `direct`: direct first, top last. Owners
  // that cannot be read end the chain (they stay in it: the pod's attribution is known up to them) and add one
  // warning each to *warnings, the first time they are met.
  std::vector<model::OwnerRef> Chain(std::string_view namespace_name, const model::OwnerRef& direct,
                                     std::vector<std::string>* warnings);

  // Reads ahead, level by level along the chains, the owners that Chain will need for pods with these direct
  // owners (namespace, reference): a built-in kind (ReplicaSet, Job, Deployment, ...) with at least
  // `list_threshold` distinct unread owners at a level is read with one LIST (cluster-wide, or per namespace of
  // `namespaces` when not empty) instead of one GET each. Other kinds, and kinds the LIST is refused for (one
  // warning, then GETs), are left to Chain. The result of Chain is the same either way.
  void Prefetch(const std::vector<std::pair<std::string, model::OwnerRef>>& direct,
                const std::vector<std::string>& namespaces, std::vector<std::string>* warnings,
                std::size_t list_threshold = 16);

  std::size_t gets() const { return gets_; }    // GETs made (cache misses), for tests and stats
  std::size_t lists() const { return lists_; }  // LISTs made by Prefetch

 private:
  struct Step {
    bool readable = false;
    std::string uid;                      // of the object read; a reference naming another uid does not match it
    std::optional<model::OwnerRef> next;  // the owner's own controlling owner
    std::string bad_owners;               // why its ownerReferences could not be read ("" = they could)
    bool warned = false;                  // the warning for it (unreadable, bad_owners) was given
  };
  Step& Lookup(std::string_view namespace_name, const model::OwnerRef& ref, std::vector<std::string>* warnings);
  static std::string Key(std::string_view namespace_name, std::string_view group, std::string_view kind,
                         std::string_view name);
  static Step StepOf(const nlohmann::json& object, const std::string& what);

  KubeClient& client_;
  int max_depth_;
  std::map<std::string, Step, std::less<>> cache_;
  std::set<std::string, std::less<>> list_refused_;  // "group/kind" whose LIST was refused or failed
  std::size_t gets_ = 0, lists_ = 0;
};

}  // namespace gpuwise::observe::kube
