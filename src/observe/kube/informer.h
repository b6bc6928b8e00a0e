// Informer: a local cache of one resource type kept current by LIST then WATCH, as client-go's shared informer
// does. A background thread lists once, then watches from the list's resourceVersion, applying ADDED / MODIFIED /
// DELETED to a map keyed by "namespace/name" ("name" for cluster-scoped types); bookmarks advance the version.
// When the server says the version is gone (410) it lists again and emits DELETED for objects that vanished
// meanwhile (and ADDED/MODIFIED for what appeared or changed), so handlers see every object's last state.
// Errors never stop it: it reconnects with capped exponential backoff and keeps the last error for WaitForSync.
// Thread-safety: every method may be called from any thread; the handler runs on the informer's thread, after the
// cache has the change, never under the informer's lock (it may call Items() and Get()).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "observe/kube/kube_client.h"

namespace gpuwise::observe::kube {

struct InformerOptions {
  ListOptions list;                             // namespace and selectors (resource_version is ignored)
  std::chrono::seconds watch_timeout{300};      // timeoutSeconds of each watch; the informer then re-watches
  std::chrono::milliseconds backoff_base{500};  // first reconnect delay after an error
  std::chrono::milliseconds backoff_cap{30'000};
  // A watch that ends with nothing received sooner than this counts as a failure and backs off (a server that
  // closes watches at once must not be hammered).
  std::chrono::milliseconds min_watch{1'000};
};

// ADDED, MODIFIED or DELETED (never a bookmark), with the object's new state (its last state for DELETED).
using InformerHandler = std::function<void(WatchEventType type, const ObjectPtr& object)>;

class Informer {
 public:
  Informer(KubeClient& client, ResourceType type, InformerOptions options = {}, InformerHandler handler = {},
           base::Clock& clock = base::SystemClock::Get());
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the background thread (once; FailedPrecondition after that).
  base::Status Start();
  // Ends an open watch or a backoff within ~50 ms and joins the thread (a LIST in flight finishes first, bounded by
  // the client's timeout and retries). Idempotent.
  void Stop();

  // True once the first LIST has filled the cache and the handler has seen its objects (as ADDED).
  bool HasSynced() const;
  // Waits (real time: the wait is for the network) until synced. DeadlineExceeded with the last error when the
  // timeout passes first, FailedPrecondition when not started.
  base::Status WaitForSync(std::chrono::milliseconds timeout) const;

  // A consistent copy of the cache, ordered by key.
  std::vector<ObjectPtr> Items() const;
  // One object, or nullptr. `namespace_name` is ignored for cluster-scoped types.
  ObjectPtr Get(std::string_view namespace_name, std::string_view name) const;
  // The version the cache is complete up to (list, events and bookmarks).
  std::string resource_version() const;
  base::Status last_error() const;

  struct Stats {
    std::int64_t lists = 0;    // LISTs that succeeded (the first one included)
    std::int64_t relists = 0;  // LISTs after a 410
    std::int64_t events = 0;   // ADDED/MODIFIED/DELETED applied from watches
    std::int64_t bookmarks = 0;
    std::int64_t watches = 0;     // watch requests made
    std::int64_t reconnects = 0;  // watches or lists retried after an error
  };
  Stats stats() const;

 private:
  void Run();
  bool ListAndReplace();
  void Apply(const WatchEvent& event);
  void Backoff(int failures);
  std::string KeyOf(const Object& object) const;

  KubeClient& client_;
  const ResourceType type_;
  const InformerOptions options_;
  const InformerHandler handler_;
  base::Clock& clock_;

  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  std::map<std::string, ObjectPtr> items_;
  std::string resource_version_;
  bool synced_ = false;
  bool started_ = false;
  base::Status last_error_;
  Stats stats_;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gpuwise::observe::kube
