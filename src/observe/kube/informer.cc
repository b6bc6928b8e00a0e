// The informer's LIST+WATCH loop: relist on 410, reconnect with backoff on errors, diff on relist.
#include "observe/kube/informer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "base/log.h"

namespace gpuwise::observe::kube {
namespace {

std::string MetaString(const Object& obj, const char* field) {
  if (!obj.is_object()) return "";
  const auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  const auto v = meta->find(field);
  return v != meta->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string Scope(const ResourceType& type, const ListOptions& list) {
  return type.Key() + (type.namespaced && !list.namespace_name.empty() ? " in namespace " + list.namespace_name
                                                                       : std::string(" cluster-wide"));
}

}  // namespace

Informer::Informer(KubeClient& client, ResourceType type, InformerOptions options, InformerHandler handler,
                   base::Clock& clock)
    : client_(client),
      type_(std::move(type)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      clock_(clock) {}

Informer::~Informer() { Stop(); }

base::Status Informer::Start() {
  std::lock_guard lock(mu_);
  if (started_) return base::FailedPrecondition("the informer for " + Scope(type_, options_.list) + " was started");
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return base::Status::Ok();
}

void Informer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool Informer::HasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

base::Status Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  if (!started_) return base::FailedPrecondition("the informer for " + Scope(type_, options_.list) + " is not started");
  if (synced_cv_.wait_for(lock, timeout, [this] { return synced_; })) return base::Status::Ok();
  std::string msg = "the informer for " + Scope(type_, options_.list) + " did not sync within " +
                    std::to_string(timeout.count()) + " ms";
  if (!last_error_.ok()) msg += ": " + last_error_.message();
  return base::DeadlineExceeded(msg);
}

std::vector<ObjectPtr> Informer::Items() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& kv : items_) out.push_back(kv.second);
  return out;
}

ObjectPtr Informer::Get(std::string_view namespace_name, std::string_view name) const {
  const std::string key = type_.namespaced ? std::string(namespace_name) + "/" + std::string(name) : std::string(name);
  std::lock_guard lock(mu_);
  const auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::string Informer::resource_version() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

base::Status Informer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Informer::Stats Informer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::string Informer::KeyOf(const Object& object) const {
  const std::string name = MetaString(object, "name");
  if (!type_.namespaced) return name;
  return MetaString(object, "namespace") + "/" + name;
}

void Informer::Run() {
  int failures = 0;
  bool need_list = true;
  while (!stop_) {
    if (need_list) {
      if (!ListAndReplace()) {
        {
          std::lock_guard lock(mu_);
          ++stats_.reconnects;
        }
        Backoff(++failures);
        continue;
      }
      need_list = false;
      failures = 0;
    }
    WatchOptions w;
    w.list = options_.list;
    w.list.resource_version = resource_version();
    w.timeout = options_.watch_timeout;
    w.bookmarks = true;
    std::int64_t received = 0;
    const std::int64_t started_ns = clock_.MonotonicNanos();
    {
      std::lock_guard lock(mu_);
      ++stats_.watches;
    }
    std::string last;
    base::Status st = client_.Watch(
        type_, w,
        [&](const WatchEvent& e) {
          ++received;
          Apply(e);
          return !stop_.load();
        },
        &last, &stop_);
    if (stop_) break;
    if (st.ok()) {
      const auto lasted = std::chrono::nanoseconds(clock_.MonotonicNanos() - started_ns);
      if (received == 0 && lasted < options_.min_watch) {
        {
          std::lock_guard lock(mu_);
          ++stats_.reconnects;
        }
        Backoff(++failures);
      } else {
        failures = 0;
      }
      continue;
    }
    if (st.code() == base::Code::kOutOfRange) {
      // The version is gone from the server's history: only a fresh LIST can tell what changed.
      LOG_INFO << "kube informer " << Scope(type_, options_.list) << ": " << st.message() << "; listing again";
      std::lock_guard lock(mu_);
      ++stats_.relists;
      need_list = true;
      continue;
    }
    {
      std::lock_guard lock(mu_);
      last_error_ = st;
      ++stats_.reconnects;
    }
    if (failures == 0) {
      LOG_WARNING << "kube informer " << Scope(type_, options_.list) << ": " << st.message();
    }
    Backoff(++failures);
  }
}

bool Informer::ListAndReplace() {
  ListOptions lo = options_.list;
  lo.resource_version.clear();
  base::Result<ObjectList> list = client_.List(type_, lo);
  if (!list.ok()) {
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = last_error_.ok();
      last_error_ = list.status();
    }
    if (first) {
      LOG_WARNING << "kube informer " << Scope(type_, options_.list) << ": " << list.status().message();
    }
    return false;
  }
  std::map<std::string, ObjectPtr> fresh;
  for (ObjectPtr& o : list->items) {
    std::string key = KeyOf(*o);
    fresh[std::move(key)] = std::move(o);
  }
  // What changed since the cache's last state: handlers see objects that vanished while the watch was gone.
  std::vector<std::pair<WatchEventType, ObjectPtr>> diff;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, old] : items_) {
      if (fresh.find(key) == fresh.end()) diff.emplace_back(WatchEventType::kDeleted, old);
    }
    for (const auto& [key, obj] : fresh) {
      const auto it = items_.find(key);
      if (it == items_.end()) {
        diff.emplace_back(WatchEventType::kAdded, obj);
      } else if (MetaString(*it->second, "resourceVersion") != MetaString(*obj, "resourceVersion")) {
        diff.emplace_back(WatchEventType::kModified, obj);
      }
    }
    items_ = std::move(fresh);
    resource_version_ = list->resource_version;
    last_error_ = base::Status::Ok();
    ++stats_.lists;
  }
  if (handler_) {
    for (const auto& d : diff) handler_(d.first, d.second);
  }
  // Synced once handlers have seen the first list too, so that WaitForSync means "they know the current state".
  {
    std::lock_guard lock(mu_);
    synced_ = true;
  }
  synced_cv_.notify_all();
  return true;
}

void Informer::Apply(const WatchEvent& event) {
  const std::string rv = MetaString(*event.object, "resourceVersion");
  {
    std::lock_guard lock(mu_);
    if (!rv.empty()) resource_version_ = rv;
    if (event.type == WatchEventType::kBookmark) {
      ++stats_.bookmarks;
      return;
    }
    ++stats_.events;
    std::string key = KeyOf(*event.object);
    if (event.type == WatchEventType::kDeleted) {
      items_.erase(key);
    } else {
      items_[std::move(key)] = event.object;
    }
  }
  if (handler_) handler_(event.type, event.object);
}

void Informer::Backoff(int failures) {
  double d = static_cast<double>(options_.backoff_base.count());
  const double cap = static_cast<double>(options_.backoff_cap.count());
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto left = std::chrono::milliseconds(static_cast<std::int64_t>(d * jitter(rng)));
  // In slices, so that Stop() does not wait out a long backoff.
  constexpr std::chrono::milliseconds kSlice{50};
  while (left.count() > 0 && !stop_) {
    const auto step = std::min(left, kSlice);
    clock_.SleepFor(step);
    left -= step;
  }
}

}  // namespace gpuwise::observe::kube
