#include "sim/history.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "observe/prom/exposition_parser.h"
#include "sim/behavior.h"
#include "sim/endpoints.h"

namespace gpuwise::sim {
namespace {

namespace prom = observe::prom;

constexpr double kSimStepS = 15;                  // the Simulator's step
constexpr std::size_t kChunkBytes = 1 << 20;      // what a sink receives per Write, about
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// Consecutive scrapes a series has points at: [first, first + count).
struct Run {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};

struct Series {
  std::uint32_t family = 0;
  std::string labels;           // "{a=\"x\",instance=\"...\",job=\"...\"}": sorted, escaped
  std::vector<double> values;   // this window's points, one per scrape of `runs`
  std::vector<Run> runs;
  std::uint32_t last_scrape = kNone;
  bool written = false;         // has had a point in some window
};

struct Family {
  std::string name;
  std::vector<std::uint32_t> series;  // first-seen order
};

// The series of the sample at one position of a target's page last time, keyed by the bytes as written there
// (name + raw label block, in the target's key arena: one scrape reads them in order, so they stream from memory).
struct CacheEntry {
  std::uint32_t series = kNone;
  std::uint32_t name_size = 0;
  std::uint32_t offset = 0;  // into Target::keys
  std::uint32_t size = 0;
};

struct Target {
  int pod = 0;
  std::string job, instance;
  std::uint32_t up_series = kNone;
  std::vector<CacheEntry> cache;  // by sample position on the page
  std::string keys;
  std::size_t live = 0;           // bytes of keys that entries point at
};

void AppendEscaped(std::string_view value, std::string* out) {
  for (char c : value) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
    }
  }
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class Recorder {
 public:
  Recorder(const World& world, WindowSink& sink) : world_(world), sink_(sink), parser_("", {}) {
    for (std::size_t i = 0; i < world.pods.size(); ++i) {
      const SimPod& pod = world.pods[i];
      if (pod.port == 0 || pod.ip.empty() || pod.node.empty() || EndpointJob(pod).empty()) continue;
      Target t;
      t.pod = static_cast<int>(i);
      t.job = std::string(EndpointJob(pod));
      t.instance = pod.ip + ":" + std::to_string(pod.port);
      targets_.push_back(std::move(t));
    }
  }

  HistoryStats& stats() { return stats_; }

  // Scrapes every target alive at t (the simulator is at t) as scrape number `scrape`.
  void Scrape(const Simulator& sim, double t, std::uint32_t scrape) {
    for (Target& target : targets_) {
      if (!world_.pods[static_cast<std::size_t>(target.pod)].alive(t)) continue;
      ScrapeTarget(sim, target, scrape);
    }
  }

  // Writes the window's points and forgets them.
  base::Status Flush(std::int64_t window_start_unix_s, std::uint32_t first_scrape,
                     const std::vector<std::string>& timestamps) {
    RETURN_IF_ERROR(sink_.Begin(window_start_unix_s));
    out_.clear();
    for (const Family& family : families_) {
      bool typed = false;
      for (std::uint32_t sid : family.series) {
        Series& s = series_[sid];
        if (s.values.empty()) {
          if (s.values.capacity() > 0) std::vector<double>().swap(s.values);  // gone: free its buffer
          continue;
        }
        if (!typed) {
          out_.append("# TYPE ").append(family.name).append(" gauge\n");
          typed = true;
        }
        std::size_t k = 0;
        for (const Run& run : s.runs) {
          for (std::uint32_t j = 0; j < run.count; ++j) {
            out_.append(family.name).append(s.labels).push_back(' ');
            AppendOpenMetricsValue(s.values[k++], &out_);
            out_.push_back(' ');
            out_.append(timestamps[run.first + j - first_scrape]).push_back('\n');
          }
          if (out_.size() >= kChunkBytes) RETURN_IF_ERROR(Emit());
        }
        stats_.samples += static_cast<std::int64_t>(s.values.size());
        if (!s.written) {
          s.written = true;
          ++stats_.series;  // interned series of a scrape that failed later on its page never count
        }
        s.values.clear();
        s.runs.clear();
      }
    }
    out_.append("# EOF\n");
    RETURN_IF_ERROR(Emit());
    ++stats_.windows;
    return sink_.End();
  }

 private:
  struct Pending {
    std::uint32_t series;
    double value;
  };

  base::Status Emit() {
    if (out_.empty()) return base::Status::Ok();
    stats_.bytes += static_cast<std::int64_t>(out_.size());
    base::Status st = sink_.Write(out_);
    out_.clear();
    return st;
  }

  void ScrapeTarget(const Simulator& sim, Target& target, std::uint32_t scrape) {
    bool up = false;
    const std::string page = RenderEndpoint(sim, target.pod, &up);
    pending_.clear();
    bool ok = up;
    if (ok) {
      parser_.Reset(page);
      prom::Entry e;
      std::size_t pos = 0;
      while (true) {
        if (!parser_.Next(&e).ok()) {
          ok = false;  // Prometheus fails the whole scrape on a malformed line
          break;
        }
        if (e.kind == prom::EntryKind::kEof) break;
        if (e.kind != prom::EntryKind::kSample) continue;
        const std::uint32_t sid = Lookup(target, pos++, e.sample);
        if (sid == kNone) {
          ok = false;
          break;
        }
        pending_.push_back({sid, e.sample.value});
      }
    }
    if (target.up_series == kNone) {
      std::string labels = "{instance=\"";
      AppendEscaped(target.instance, &labels);
      labels += "\",job=\"";
      AppendEscaped(target.job, &labels);
      labels += "\"}";
      target.up_series = Intern("up", labels);
    }
    ++stats_.scrapes;
    if (!ok) ++stats_.failed_scrapes;
    AddPoint(target.up_series, scrape, ok ? 1 : 0);
    if (!ok) return;
    for (const Pending& p : pending_) AddPoint(p.series, scrape, p.value);
  }

  // The series of the sample at `pos` of the target's page; kNone when its labels are invalid (a repeated name).
  std::uint32_t Lookup(Target& target, std::size_t pos, const prom::TextSample& sample) {
    if (pos >= target.cache.size()) target.cache.resize(pos + 1);
    CacheEntry& c = target.cache[pos];
    const std::string_view name = sample.name, raw = sample.raw_labels;
    if (c.series != kNone && c.name_size == name.size() && c.size == name.size() + raw.size()) {
      const char* key = target.keys.data() + c.offset;
      if (std::memcmp(key, name.data(), name.size()) == 0 &&
          std::memcmp(key + name.size(), raw.data(), raw.size()) == 0) {
        return c.series;
      }
    }
    // Target labels as a static scrape config attaches them (honor_labels: false).
    labels_.clear();
    for (const prom::Label& l : sample.labels) {
      if (l.value.empty()) continue;  // an empty label value is no label
      std::string_view n = l.name;
      if (n == "job") n = "exported_job";
      else if (n == "instance") n = "exported_instance";
      labels_.emplace_back(n, l.value);
    }
    labels_.emplace_back("job", target.job);
    labels_.emplace_back("instance", target.instance);
    std::sort(labels_.begin(), labels_.end());
    std::string block = "{";
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (i > 0 && labels_[i].first == labels_[i - 1].first) return kNone;
      if (i > 0) block.push_back(',');
      block.append(labels_[i].first).append("=\"");
      AppendEscaped(labels_[i].second, &block);
      block.push_back('"');
    }
    block.push_back('}');
    const std::uint32_t sid = Intern(name, block);
    SetKey(target, pos, name, raw, sid);
    return sid;
  }

  // Points the cache entry at a copy of the new key, appended to the arena; the arena is compacted (entries in
  // position order again) when more than half of it is stale.
  static void SetKey(Target& target, std::size_t pos, std::string_view name, std::string_view raw, std::uint32_t sid) {
    CacheEntry& c = target.cache[pos];
    if (c.series != kNone) target.live -= c.size;
    c.series = sid;
    c.name_size = static_cast<std::uint32_t>(name.size());
    c.size = static_cast<std::uint32_t>(name.size() + raw.size());
    target.live += c.size;
    if (target.keys.size() > 4096 && target.live * 2 < target.keys.size()) {
      std::string packed;
      packed.reserve(target.live + c.size);
      for (std::size_t i = 0; i < target.cache.size(); ++i) {
        CacheEntry& e = target.cache[i];
        if (e.series == kNone || i == pos) continue;
        const auto offset = static_cast<std::uint32_t>(packed.size());
        packed.append(target.keys, e.offset, e.size);
        e.offset = offset;
      }
      target.keys.swap(packed);
    }
    // Offsets are 32 bits: a page of more than 4 GiB of sample keys is not cached.
    if (target.keys.size() + c.size > std::numeric_limits<std::uint32_t>::max()) {
      target.live -= c.size;
      c.series = kNone;
      return;
    }
    c.offset = static_cast<std::uint32_t>(target.keys.size());
    target.keys.append(name).append(raw);
  }

  std::uint32_t Intern(std::string_view name, const std::string& labels) {
    key_.assign(name);
    key_.push_back('\0');
    key_.append(labels);
    auto it = index_.find(key_);
    if (it != index_.end()) return it->second;
    auto fit = family_index_.find(std::string(name));
    std::uint32_t family;
    if (fit == family_index_.end()) {
      family = static_cast<std::uint32_t>(families_.size());
      families_.push_back({std::string(name), {}});
      family_index_.emplace(std::string(name), family);
    } else {
      family = fit->second;
    }
    const auto sid = static_cast<std::uint32_t>(series_.size());
    Series s;
    s.family = family;
    s.labels = labels;
    series_.push_back(std::move(s));
    families_[family].series.push_back(sid);
    index_.emplace(key_, sid);
    return sid;
  }

  void AddPoint(std::uint32_t sid, std::uint32_t scrape, double value) {
    Series& s = series_[sid];
    if (s.last_scrape == scrape) {  // the page repeated a series: Prometheus keeps the first
      ++stats_.duplicates;
      return;
    }
    s.last_scrape = scrape;
    if (!s.runs.empty() && s.runs.back().first + s.runs.back().count == scrape) {
      ++s.runs.back().count;
    } else {
      s.runs.push_back({scrape, 1});
    }
    s.values.push_back(value);
  }

  const World& world_;
  WindowSink& sink_;
  prom::ExpositionParser parser_;
  std::vector<Target> targets_;
  std::vector<Series> series_;
  std::vector<Family> families_;
  std::unordered_map<std::string, std::uint32_t> index_;         // name \0 labels -> series
  std::unordered_map<std::string, std::uint32_t> family_index_;  // name -> family
  std::vector<std::pair<std::string_view, std::string_view>> labels_;
  std::vector<Pending> pending_;
  std::string key_;
  std::string out_;
  HistoryStats stats_;
};

class DirSink : public WindowSink {
 public:
  explicit DirSink(std::string dir) : dir_(std::move(dir)) {}
  ~DirSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  DirSink(const DirSink&) = delete;
  DirSink& operator=(const DirSink&) = delete;

  base::Status Begin(std::int64_t window_start_unix_s) override {
    path_ = (std::filesystem::path(dir_) / (std::to_string(window_start_unix_s) + ".om")).string();
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) return Error();
    return base::Status::Ok();
  }
  base::Status Write(std::string_view chunk) override {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) return Error();
    return base::Status::Ok();
  }
  base::Status End() override {
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) return Error();
    return base::Status::Ok();
  }

 private:
  base::Status Error() const { return base::Internal("writing " + path_ + ": " + std::strerror(errno)); }

  std::string dir_, path_;
  std::FILE* file_ = nullptr;
};

}  // namespace

void AppendOpenMetricsValue(double value, std::string* out) {
  char buf[32];
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  std::to_chars_result r;
  if (value == 0 && std::signbit(value)) {
    out->append("-0");
    return;
  }
  if (value == std::trunc(value) && std::fabs(value) < 9.2e18) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, value);
  }
  out->append(buf, r.ptr);
}

std::string FormatOpenMetricsTimestamp(std::int64_t unix_ms) {
  char buf[40];
  if (unix_ms % 1000 == 0) {
    const auto r = std::to_chars(buf, buf + sizeof buf, unix_ms / 1000);
    return std::string(buf, r.ptr);
  }
  // Prometheus's OpenMetrics parser computes int64(seconds * 1000), truncating toward zero: step away from zero
  // from the nearest double until both truncation and rounding give unix_ms back (one or two steps at most).
  auto reads_back = [unix_ms](double s) {
    const double ms = s * 1000.0;
    return static_cast<std::int64_t>(ms) == unix_ms && std::llround(ms) == unix_ms;
  };
  double s = static_cast<double>(unix_ms) / 1000.0;
  const double away = unix_ms > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (int i = 0; i < 64 && !reads_back(s); ++i) s = std::nextafter(s, away);
  const auto r = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, r.ptr);
}

base::Result<HistoryStats> WriteHistory(const World& world, const HistoryOptions& options, WindowSink& sink) {
  if (!std::isfinite(options.start_s) || !std::isfinite(options.end_s) || !(options.end_s > options.start_s)) {
    return base::InvalidArgument("history range must be finite and end after it starts");
  }
  if (!(options.scrape_interval_s >= 0.001) || !std::isfinite(options.scrape_interval_s)) {
    return base::InvalidArgument("scrape interval must be at least 1 ms");
  }
  const std::int64_t window_ms = std::llround(options.window_s * 1000);
  if (!(options.window_s > 0) || !std::isfinite(options.window_s) || window_ms < 1) {
    return base::InvalidArgument("window must be at least 1 ms");
  }
  const double span = (options.end_s - options.start_s) / options.scrape_interval_s;
  if (span >= static_cast<double>(kNone - 1)) return base::InvalidArgument("too many scrapes in the history range");
  const auto scrape_count = static_cast<std::uint32_t>(std::ceil(span));

  Recorder recorder(world, sink);
  SimulatorOptions sim_options;
  sim_options.step_s = kSimStepS;
  sim_options.start_s = options.start_s - kSimStepS;  // one step before the first scrape, which then sees it
  sim_options.data_dir = options.data_dir;
  Simulator sim(world, sim_options);
  std::vector<std::string> timestamps;
  std::int64_t window = 0;
  std::uint32_t window_first = 0;
  bool open = false;
  for (std::uint32_t k = 0; k < scrape_count; ++k) {
    const double t = options.start_s + static_cast<double>(k) * options.scrape_interval_s;
    if (!(t < options.end_s)) break;
    const std::int64_t unix_ms = std::llround((world.options.epoch_unix_s + t) * 1000);
    const std::int64_t w = FloorDiv(unix_ms, window_ms);
    if (open && w != window) {
      RETURN_IF_ERROR(recorder.Flush(FloorDiv(window * window_ms, 1000), window_first, timestamps));
      open = false;
    }
    if (!open) {
      open = true;
      window = w;
      window_first = k;
      timestamps.clear();
    }
    timestamps.push_back(FormatOpenMetricsTimestamp(unix_ms));
    sim.AdvanceTo(t);
    recorder.Scrape(sim, t, k);
    if (options.progress) options.progress(static_cast<double>(k + 1) / scrape_count);
  }
  if (open) RETURN_IF_ERROR(recorder.Flush(FloorDiv(window * window_ms, 1000), window_first, timestamps));
  return recorder.stats();
}

base::Result<HistoryStats> WriteHistoryToDir(const World& world, const HistoryOptions& options,
                                             const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return base::Internal("creating " + dir + ": " + ec.message());
  DirSink sink(dir);
  return WriteHistory(world, options, sink);
}

}  // namespace gpuwise::sim
