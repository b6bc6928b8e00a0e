#include "sim/kube_store.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/time_parse.h"
#include "sim/random.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

const std::vector<std::string> kAll = {"create", "delete", "deletecollection", "get", "list", "patch", "update",
                                       "watch"};
const std::vector<std::string> kStatusVerbs = {"get", "patch", "update"};

ResourceType::Sub StatusOf(const std::string& group, const std::string& version, const std::string& kind) {
  return {"status", group, version, kind, kStatusVerbs};
}
ResourceType::Sub ScaleSub() { return {"scale", "autoscaling", "v1", "Scale", kStatusVerbs}; }

std::vector<ResourceType> BuildResources() {
  std::vector<ResourceType> r;
  auto add = [&](std::string group, std::string version, std::string plural, std::string singular,
                 std::string kind, bool namespaced, std::vector<std::string> shorts,
                 std::vector<std::string> categories, bool generation, std::vector<std::string> verbs = kAll) {
    ResourceType t;
    t.group = std::move(group);
    t.version = std::move(version);
    t.plural = std::move(plural);
    t.singular = std::move(singular);
    t.kind = std::move(kind);
    t.namespaced = namespaced;
    t.verbs = std::move(verbs);
    t.short_names = std::move(shorts);
    t.categories = std::move(categories);
    t.has_generation = generation;
    r.push_back(std::move(t));
    return &r.back();
  };
  // core/v1 (verbs as a v1.31 kube-apiserver lists them).
  add("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, {}, false);
  add("", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}, {}, false);
  add("", "v1", "events", "event", "Event", true, {"ev"}, {}, false);
  add("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, {}, false,
      {"create", "delete", "get", "list", "patch", "update", "watch"})
      ->subresources = {{"finalize", "", "v1", "Namespace", {"update"}}, StatusOf("", "v1", "Namespace")};
  add("", "v1", "nodes", "node", "Node", false, {"no"}, {}, false)->subresources = {StatusOf("", "v1", "Node")};
  add("", "v1", "pods", "pod", "Pod", true, {"po"}, {"all"}, false)->subresources = {
      {"eviction", "policy", "v1", "Eviction", {"create"}},
      {"log", "", "v1", "Pod", {"get"}},
      {"proxy", "", "v1", "PodProxyOptions", {"create", "delete", "get", "patch", "update"}},
      StatusOf("", "v1", "Pod")};
  add("", "v1", "services", "service", "Service", true, {"svc"}, {"all"}, false,
      {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"})
      ->subresources = {StatusOf("", "v1", "Service")};
  add("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, {"all"}, true)->subresources = {
      StatusOf("apps", "v1", "DaemonSet")};
  add("apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, {"all"}, true)->subresources = {
      ScaleSub(), StatusOf("apps", "v1", "Deployment")};
  add("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, {"all"}, true)->subresources = {
      ScaleSub(), StatusOf("apps", "v1", "ReplicaSet")};
  add("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, {"all"}, true)->subresources = {
      ScaleSub(), StatusOf("apps", "v1", "StatefulSet")};
  add("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
      "SelfSubjectAccessReview", false, {}, {}, false, {"create"});
  add("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true,
      {"hpa"}, {"all"}, true)
      ->subresources = {StatusOf("autoscaling", "v2", "HorizontalPodAutoscaler")};
  add("batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, {"all"}, true)->subresources = {
      StatusOf("batch", "v1", "CronJob")};
  add("batch", "v1", "jobs", "job", "Job", true, {}, {"all"}, true)->subresources = {StatusOf("batch", "v1", "Job")};
  add("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}, {}, false);
  add("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, {}, {}, false);
  add("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, {"pdb"}, {},
      true)
      ->subresources = {StatusOf("policy", "v1", "PodDisruptionBudget")};
  // The custom resources that own part 1's CRD-owned workloads (served as their CRDs declare them).
  add("leaderworkerset.x-k8s.io", "v1", "leaderworkersets", "leaderworkerset", "LeaderWorkerSet", true, {"lws"}, {},
      true)
      ->subresources = {{"scale", "autoscaling", "v1", "Scale", kStatusVerbs},
                        StatusOf("leaderworkerset.x-k8s.io", "v1", "LeaderWorkerSet")};
  add("serving.kserve.io", "v1beta1", "inferenceservices", "inferenceservice", "InferenceService", true, {"isvc"},
      {}, true)
      ->subresources = {StatusOf("serving.kserve.io", "v1beta1", "InferenceService")};
  return r;
}

std::string Rfc3339(double unix_s) {
  return base::FormatTime(static_cast<std::int64_t>(std::floor(unix_s)) * 1000);
}

// Strips what a writer may not set and what does not count as a change for generation.
bool SpecChanged(const json& before, const json& after) {
  auto spec = [](const json& o) { return o.contains("spec") ? o["spec"] : json(); };
  return spec(before) != spec(after);
}

}  // namespace

const ResourceType::Sub* ResourceType::FindSub(std::string_view name) const {
  for (const Sub& s : subresources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool ListItemsOmitTypeMeta(const ResourceType& type) {
  // Custom resources are served from unstructured data and keep their type in list items.
  return type.group.find('.') == std::string::npos || type.group.ends_with(".k8s.io");
}

const std::vector<ResourceType>& KubeResources() {
  static const std::vector<ResourceType> resources = BuildResources();
  return resources;
}

const ResourceType* FindResource(std::string_view group, std::string_view version, std::string_view plural) {
  for (const ResourceType& t : KubeResources()) {
    if (t.group == group && t.version == version && t.plural == plural) return &t;
  }
  return nullptr;
}

const ResourceType* FindResourceByKind(std::string_view api_version, std::string_view kind) {
  for (const ResourceType& t : KubeResources()) {
    if (t.kind == kind && t.api_version() == api_version) return &t;
  }
  return nullptr;
}

const ResourceType* FindResourceByKey(std::string_view key) {
  for (const ResourceType& t : KubeResources()) {
    if (t.key() == key) return &t;
  }
  return nullptr;
}

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
  }
  return "ERROR";
}

KubeStore::KubeStore(std::function<double()> now_unix_s, std::size_t event_capacity)
    : now_unix_s_(std::move(now_unix_s)), event_capacity_(std::max<std::size_t>(event_capacity, 1)) {}

std::string KubeStore::Key(std::string_view ns, std::string_view name) {
  std::string key(ns);
  key += '/';
  key += name;
  return key;
}

namespace {
std::string NotFoundMessage(const ResourceType& type, std::string_view name) {
  // The real message names the resource (plural, with its group): `pods "x" not found`,
  // `deployments.apps "x" not found`.
  return type.key() + " \"" + std::string(name) + "\" not found";
}
}  // namespace

base::Result<ObjectPtr> KubeStore::Get(const ResourceType& type, std::string_view ns, std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(type.key());
  if (it != objects_.end()) {
    auto obj = it->second.find(Key(ns, name));
    if (obj != it->second.end()) return obj->second.object;
  }
  return base::NotFound(NotFoundMessage(type, name));
}

KubeStore::ListResult KubeStore::List(const ResourceType& type, std::string_view ns, std::string_view start_key,
                                      std::size_t limit, const std::function<bool(const json&)>& keep) const {
  ListResult out;
  std::lock_guard lock(mu_);
  out.resource_version = version_;
  auto it = objects_.find(type.key());
  if (it == objects_.end()) return out;
  const std::map<std::string, Entry>& objs = it->second;
  std::string prefix = ns.empty() ? std::string() : Key(ns, "");
  std::string from = std::max(prefix, std::string(start_key));
  for (auto o = objs.lower_bound(from); o != objs.end(); ++o) {
    if (!prefix.empty() && o->first.compare(0, prefix.size(), prefix) != 0) break;
    if (keep && !keep(*o->second.object)) continue;
    if (limit != 0 && out.items.size() == limit) {
      // Cut here: the next matching key starts the next page.
      out.continue_key = o->first;
      for (auto rest = o; rest != objs.end(); ++rest) {
        if (!prefix.empty() && rest->first.compare(0, prefix.size(), prefix) != 0) break;
        if (!keep || keep(*rest->second.object)) ++out.remaining;
      }
      break;
    }
    out.items.push_back(o->second.object);
    out.item_texts.push_back(o->second.item_text);
  }
  return out;
}

std::string KubeStore::NewUidLocked() {
  // Deterministic per store.
  const std::uint64_t a = Mix64(++uid_counter_ * 0x9e3779b97f4a7c15ULL + 17);
  return UuidText(a, Mix64(a ^ 0x5851f42d4c957f2dULL));
}

base::Result<ObjectPtr> KubeStore::CommitLocked(const ResourceType& type, const std::string& key, json object,
                                                WatchEventType event) {
  ++version_;
  if (event != WatchEventType::kDeleted) object["metadata"]["resourceVersion"] = std::to_string(version_);
  Entry entry;
  entry.text = std::make_shared<const std::string>(object.dump());
  if (ListItemsOmitTypeMeta(type)) {
    json item = object;
    item.erase("apiVersion");
    item.erase("kind");
    entry.item_text = std::make_shared<const std::string>(item.dump());
  } else {
    entry.item_text = entry.text;
  }
  entry.object = std::make_shared<const json>(std::move(object));
  ObjectPtr ptr = entry.object;
  TextPtr text = entry.text;
  auto& objs = objects_[type.key()];
  if (event == WatchEventType::kDeleted) {
    objs.erase(key);
  } else {
    objs[key] = std::move(entry);
  }
  log_.push_back(WatchEvent{version_, event, &type, ptr, text});
  while (log_.size() > event_capacity_) {
    log_floor_ = log_.front().resource_version;
    log_.pop_front();
  }
  changed_.notify_all();
  return ptr;
}

base::Result<ObjectPtr> KubeStore::Create(const ResourceType& type, json object) {
  if (!object.is_object()) return base::InvalidArgument("object is not a JSON object");
  json& meta = object["metadata"];
  if (!meta.is_object()) return base::InvalidArgument("metadata is not an object");
  std::lock_guard lock(mu_);
  std::string name = meta.value("name", "");
  if (name.empty()) {
    const std::string prefix = meta.value("generateName", "");
    if (prefix.empty()) {
      return base::InvalidArgument(type.kind + " \"\" is invalid: metadata.name: Required value: name or generateName is required");
    }
    name = prefix + KubeSuffix(Mix64(version_ * 31 + uid_counter_), 5);
    meta["name"] = name;
  }
  const std::string ns = type.namespaced ? meta.value("namespace", "") : "";
  if (type.namespaced && ns.empty()) return base::InvalidArgument("the namespace of the object is not set");
  if (!type.namespaced) meta.erase("namespace");
  const std::string key = Key(ns, name);
  auto& objs = objects_[type.key()];
  if (objs.count(key) != 0) {
    return base::Status(base::Code::kAlreadyExists, type.key() + " \"" + name + "\" already exists");
  }
  if (!meta.contains("uid")) meta["uid"] = NewUidLocked();
  if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = Rfc3339(now_unix_s_());
  if (type.has_generation) meta["generation"] = 1;
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  return CommitLocked(type, key, std::move(object), WatchEventType::kAdded);
}

base::Result<ObjectPtr> KubeStore::Update(const ResourceType& type, json object, bool check_version) {
  if (!object.is_object() || !object["metadata"].is_object()) return base::InvalidArgument("metadata is not an object");
  const std::string name = object["metadata"].value("name", "");
  const std::string ns = type.namespaced ? object["metadata"].value("namespace", "") : "";
  std::lock_guard lock(mu_);
  auto& objs = objects_[type.key()];
  const std::string key = Key(ns, name);
  auto it = objs.find(key);
  if (it == objs.end()) return base::NotFound(NotFoundMessage(type, name));
  const json& old = *it->second.object;
  const std::string want = object["metadata"].value("resourceVersion", "");
  if (check_version && !want.empty() && want != old["metadata"].value("resourceVersion", "")) {
    return base::Status(base::Code::kAborted, "Operation cannot be fulfilled on " + type.key() + " \"" + name +
                                                  "\": the object has been modified; please apply your changes to "
                                                  "the latest version and try again");
  }
  // Identity and creation are the server's.
  for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    if (old["metadata"].contains(f)) {
      object["metadata"][f] = old["metadata"][f];
    } else if (std::string_view(f) == "uid" || std::string_view(f) == "creationTimestamp") {
      object["metadata"].erase(f);
    }
  }
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  if (type.has_generation) {
    const std::int64_t gen = old["metadata"].value("generation", std::int64_t{1});
    object["metadata"]["generation"] = SpecChanged(old, object) ? gen + 1 : gen;
  }
  json cmp = object;
  cmp["metadata"]["resourceVersion"] = old["metadata"].value("resourceVersion", "");
  if (cmp == old) return it->second.object;  // no-op updates neither bump the version nor send an event
  return CommitLocked(type, key, std::move(object), WatchEventType::kModified);
}

base::Result<ObjectPtr> KubeStore::Mutate(const ResourceType& type, std::string_view ns, std::string_view name,
                                          const std::function<base::Status(json&)>& fn) {
  // Optimistic concurrency as the API server's GuaranteedUpdate: read, edit outside the lock (`fn` may read the
  // store), write if nobody wrote in between, else try again on the new object.
  for (int attempt = 0;; ++attempt) {
    json copy;
    {
      std::lock_guard lock(mu_);
      auto& objs = objects_[type.key()];
      auto it = objs.find(Key(type.namespaced ? ns : "", name));
      if (it == objs.end()) return base::NotFound(NotFoundMessage(type, name));
      copy = *it->second.object;
    }
    const std::string read_version = copy["metadata"].value("resourceVersion", "");
    RETURN_IF_ERROR(fn(copy));
    copy["metadata"]["resourceVersion"] = read_version;
    copy["metadata"]["name"] = std::string(name);
    if (type.namespaced) copy["metadata"]["namespace"] = std::string(ns);
    base::Result<ObjectPtr> done = Update(type, std::move(copy), /*check_version=*/true);
    if (done.ok() || done.status().code() != base::Code::kAborted || attempt == 8) return done;
  }
}

base::Result<ObjectPtr> KubeStore::Delete(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::lock_guard lock(mu_);
  auto& objs = objects_[type.key()];
  const std::string key = Key(type.namespaced ? ns : "", name);
  auto it = objs.find(key);
  if (it == objs.end()) return base::NotFound(NotFoundMessage(type, name));
  json last = *it->second.object;
  last["metadata"]["resourceVersion"] = std::to_string(version_ + 1);
  return CommitLocked(type, key, std::move(last), WatchEventType::kDeleted);
}

std::uint64_t KubeStore::resource_version() const {
  std::lock_guard lock(mu_);
  return version_;
}

std::uint64_t KubeStore::oldest_watchable() const {
  std::lock_guard lock(mu_);
  return log_floor_;
}

base::Result<std::vector<WatchEvent>> KubeStore::EventsSince(std::uint64_t after, const ResourceType& type,
                                                             std::string_view ns, std::uint64_t* complete_to) const {
  std::lock_guard lock(mu_);
  if (complete_to != nullptr) *complete_to = version_;
  if (after < log_floor_) {
    return base::FailedPrecondition("too old resource version: " + std::to_string(after) + " (" +
                                    std::to_string(log_floor_) + ")");
  }
  std::vector<WatchEvent> out;
  auto first = std::upper_bound(log_.begin(), log_.end(), after,
                                [](std::uint64_t v, const WatchEvent& e) { return v < e.resource_version; });
  for (auto it = first; it != log_.end(); ++it) {
    if (it->resource != &type) continue;
    if (!ns.empty() && (*it->object)["metadata"].value("namespace", "") != ns) continue;
    out.push_back(*it);
  }
  return out;
}

bool KubeStore::WaitPast(std::uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return version_ > after; });
}

}  // namespace gpuwise::sim
