// The simulated API server's object store: the resource types it serves (what discovery lists) and every object
// as JSON, versioned by one cluster-wide resourceVersion as etcd does, with a bounded event log for WATCH.
// Objects are immutable once stored (ObjectPtr), so LIST and WATCH hand out pointers without copying under the
// lock. Contract: every write bumps the resourceVersion by one and appends one event; objects of a type are
// ordered by "namespace/name" bytes, as etcd keys order them; a watch from a version older than the log answers
// Gone (410). Thread-safe: one mutex, readers and writers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuwise::sim {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using TextPtr = std::shared_ptr<const std::string>;

// One resource type as discovery describes it.
struct ResourceType {
  std::string group;     // "" for core
  std::string version;   // "v1", "v2", "v1beta1"
  std::string plural;    // "pods"
  std::string singular;  // "pod"
  std::string kind;      // "Pod"
  bool namespaced = true;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  // Subresources with the kind each one speaks ("status" -> same kind, "scale" -> autoscaling/v1 Scale, ...).
  struct Sub {
    std::string name;
    std::string group, version, kind;
    std::vector<std::string> verbs;
  };
  std::vector<Sub> subresources;
  bool has_generation = true;  // metadata.generation counts spec changes (not for pods, nodes, events, ...)

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "pods", "deployments.apps": unique among served types.
  std::string key() const { return group.empty() ? plural : plural + "." + group; }
  const Sub* FindSub(std::string_view name) const;
};

// Whether a type's list items go without apiVersion/kind on the wire (built-in types do, custom resources don't).
bool ListItemsOmitTypeMeta(const ResourceType& type);

// Every type the simulated API server serves, in discovery order; exactly the surface gpuwise uses.
const std::vector<ResourceType>& KubeResources();
const ResourceType* FindResource(std::string_view group, std::string_view version, std::string_view plural);
const ResourceType* FindResourceByKind(std::string_view api_version, std::string_view kind);
// "pods" or "deployments.apps" -> type (no version needed: one version per group is served).
const ResourceType* FindResourceByKey(std::string_view key);

enum class WatchEventType { kAdded, kModified, kDeleted };
std::string_view WatchEventTypeName(WatchEventType type);

struct WatchEvent {
  std::uint64_t resource_version = 0;
  WatchEventType type = WatchEventType::kAdded;
  const ResourceType* resource = nullptr;
  ObjectPtr object;
  TextPtr text;  // the object as JSON text
};

class KubeStore {
 public:
  // now_unix_s: the simulated wall clock for creationTimestamp and deletionTimestamp.
  explicit KubeStore(std::function<double()> now_unix_s, std::size_t event_capacity = 50000);

  base::Result<ObjectPtr> Get(const ResourceType& type, std::string_view ns, std::string_view name) const;

  struct ListResult {
    std::vector<ObjectPtr> items;
    // Each item as JSON text in list form (built-in types without apiVersion/kind, as lists carry them).
    std::vector<TextPtr> item_texts;
    std::uint64_t resource_version = 0;
    std::string continue_key;  // the key to resume at when `limit` cut the list ("" = complete)
    std::int64_t remaining = 0;
  };
  // Objects of `type` in `ns` (all namespaces if empty) whose key is >= start_key, at most `limit` (0 = all)
  // after `keep` filters them.
  ListResult List(const ResourceType& type, std::string_view ns, std::string_view start_key = {},
                  std::size_t limit = 0, const std::function<bool(const nlohmann::json&)>& keep = {}) const;

  // Stores a new object: uid, resourceVersion, creationTimestamp, generation 1, a name from generateName.
  // AlreadyExists as kAborted with the real message.
  base::Result<ObjectPtr> Create(const ResourceType& type, nlohmann::json object);
  // Replaces an object (PUT). With check_version, a stale metadata.resourceVersion is a Conflict (kAborted).
  base::Result<ObjectPtr> Update(const ResourceType& type, nlohmann::json object, bool check_version = true);
  // Read-modify-write: `fn` edits a copy; a non-ok Status aborts with no change. A concurrent write makes it run
  // `fn` again on the new object (up to 8 times, then Conflict). No event when the object comes out equal.
  base::Result<ObjectPtr> Mutate(const ResourceType& type, std::string_view ns, std::string_view name,
                                 const std::function<base::Status(nlohmann::json&)>& fn);
  // Removes an object now (graceful deletion of pods is the API layer's and the kubelet's business).
  base::Result<ObjectPtr> Delete(const ResourceType& type, std::string_view ns, std::string_view name);

  std::uint64_t resource_version() const;
  // The oldest version a watch can start from (older -> Gone).
  std::uint64_t oldest_watchable() const;
  // Events newer than `after` of `type` (in `ns` if non-empty), in order. Gone (kFailedPrecondition) when
  // `after` predates the log.
  // `complete_to` (optional) gets the store's version at the read: no event of the type up to it is missing.
  base::Result<std::vector<WatchEvent>> EventsSince(std::uint64_t after, const ResourceType& type,
                                                    std::string_view ns, std::uint64_t* complete_to = nullptr) const;
  // Blocks until the store's version passes `after`, or the timeout. True if it did.
  bool WaitPast(std::uint64_t after, std::chrono::milliseconds timeout) const;

  static std::string Key(std::string_view ns, std::string_view name);

 private:
  base::Result<ObjectPtr> CommitLocked(const ResourceType& type, const std::string& key, nlohmann::json object,
                                       WatchEventType event);
  std::string NewUidLocked();

  std::function<double()> now_unix_s_;
  std::size_t event_capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::uint64_t version_ = 1;
  std::uint64_t uid_counter_ = 0;
  // An object with its JSON text, serialised once per write (LIST and WATCH concatenate texts).
  struct Entry {
    ObjectPtr object;
    TextPtr text;
    TextPtr item_text;
  };
  std::map<std::string, std::map<std::string, Entry>, std::less<>> objects_;  // type key -> ns/name -> entry
  std::deque<WatchEvent> log_;
  std::uint64_t log_floor_ = 1;  // events after this version are all in log_
};

}  // namespace gpuwise::sim
