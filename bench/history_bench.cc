// history_bench: history mode (sim/history.h) for a synthetic fleet of 1,000 GPUs over 7 days at 15 s, written to
// /dev/null with write(2) (1.2 TB of OpenMetrics text otherwise): samples/s and bytes/s of the whole
// pipeline (simulate, render each exporter page, parse it, buffer the window, format the OpenMetrics lines),
// against the anchor: write(2) of the same number of bytes, already formatted (the first 64 MiB of the output,
// repeated), to /dev/null in the same 1 MiB chunks. The anchor is the I/O limit; the ratio says how far the
// formatting is from it.
//
// Usage: history_bench [--days D] [--gpus N] [--interval S] [--seed K]
//   --days defaults to $BENCH_HISTORY_DAYS, else 7 (7 days take about 40 minutes on one core of a 2-vCPU VM).
// stdout: two JSON lines per bench/run (name, value, unit, anchor, anchor_value, ratio); stderr: progress, totals.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sim/history.h"
#include "sim/scenario_gen.h"
#include "sim/world.h"

namespace gpuwise::sim {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;
constexpr std::size_t kKeep = std::size_t{64} << 20;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// write(2) of all of `data`, retrying short writes; false on an error.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Writes every chunk to /dev/null and keeps the first kKeep bytes for the anchor.
class DevNullSink : public WindowSink {
 public:
  explicit DevNullSink(int fd) : fd_(fd) {}
  base::Status Begin(std::int64_t) override { return base::Status::Ok(); }
  base::Status Write(std::string_view chunk) override {
    if (kept.size() < kKeep) kept.append(chunk.substr(0, kKeep - kept.size()));
    if (!WriteAll(fd_, chunk)) return base::Internal(std::string("write(/dev/null): ") + std::strerror(errno));
    return base::Status::Ok();
  }
  base::Status End() override { return base::Status::Ok(); }
  std::string kept;

 private:
  int fd_;
};

// The anchor: `total` bytes of `text` (repeated) to fd in kChunk writes. Seconds taken, or -1 on an error.
double WritePreformatted(int fd, const std::string& text, std::int64_t total) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t pos = 0;
  for (std::int64_t left = total; left > 0;) {
    if (pos >= text.size()) pos = 0;
    const std::size_t n = std::min({kChunk, text.size() - pos, static_cast<std::size_t>(left)});
    if (!WriteAll(fd, std::string_view(text).substr(pos, n))) return -1;
    pos += n;
    left -= static_cast<std::int64_t>(n);
  }
  return Seconds(start);
}

std::string Sig(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

void Emit(const std::string& name, double value, const std::string& unit, const std::string& anchor,
          double anchor_value) {
  std::printf("{\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"anchor\": \"%s\", \"anchor_value\": %s, "
              "\"ratio\": %s}\n",
              name.c_str(), Sig(value).c_str(), unit.c_str(), anchor.c_str(),
              anchor_value > 0 ? Sig(anchor_value).c_str() : "null",
              anchor_value > 0 ? Sig(value / anchor_value).c_str() : "null");
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  const char* env_days = std::getenv("BENCH_HISTORY_DAYS");
  double days = env_days != nullptr && *env_days != '\0' ? std::atof(env_days) : 7;
  int gpus = 1000;
  double interval = 15;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--days") days = std::atof(argv[i + 1]);
    else if (flag == "--gpus") gpus = std::atoi(argv[i + 1]);
    else if (flag == "--interval") interval = std::atof(argv[i + 1]);
    else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: history_bench [--days D] [--gpus N] [--interval S] [--seed K]\n");
      return 2;
    }
  }
  if (!(days > 0) || gpus <= 0 || !(interval > 0)) {
    std::fprintf(stderr, "history_bench: --days, --gpus and --interval must be positive\n");
    return 2;
  }
  auto scenario = SyntheticScenario(gpus, seed);
  if (!scenario.ok()) {
    std::fprintf(stderr, "history_bench: %s\n", scenario.status().ToString().c_str());
    return 1;
  }
  WorldOptions world_options;
  world_options.horizon_s = std::max(world_options.horizon_s, (days + 1) * 86400);
  auto world = BuildWorld(*scenario, world_options);
  if (!world.ok()) {
    std::fprintf(stderr, "history_bench: %s\n", world.status().ToString().c_str());
    return 1;
  }
  int fleet_gpus = 0;
  for (const SimNode& n : world->nodes) fleet_gpus += static_cast<int>(n.gpus.size());
  const int fd = ::open("/dev/null", O_WRONLY);
  if (fd < 0) {
    std::perror("history_bench: /dev/null");
    return 1;
  }
  std::fprintf(stderr, "history_bench: %d GPUs on %zu nodes, %zu pods; %.3g days at %g s\n", fleet_gpus,
               world->nodes.size(), world->pods.size(), days, interval);

  DevNullSink sink(fd);
  HistoryOptions options;
  options.start_s = 0;
  options.end_s = days * 86400;
  options.scrape_interval_s = interval;
  const auto start = std::chrono::steady_clock::now();
  int next_report = 1;
  options.progress = [&](double done) {
    if (done * 20 < next_report) return;
    next_report = static_cast<int>(done * 20) + 1;
    std::fprintf(stderr, "history_bench: %3.0f%% after %.0f s\n", done * 100, Seconds(start));
  };
  auto stats = WriteHistory(*world, options, sink);
  const double seconds = Seconds(start);
  if (!stats.ok()) {
    std::fprintf(stderr, "history_bench: %s\n", stats.status().ToString().c_str());
    return 1;
  }
  // The anchor: median of three runs.
  std::vector<double> anchor_s;
  for (int rep = 0; rep < 3; ++rep) anchor_s.push_back(WritePreformatted(fd, sink.kept, stats->bytes));
  std::sort(anchor_s.begin(), anchor_s.end());
  ::close(fd);
  const double anchor = anchor_s[1];
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::fprintf(stderr,
               "history_bench: %lld samples, %lld series, %lld bytes, %lld windows in %.1f s (%.0f bytes/sample); "
               "anchor %.3f s; peak RSS %.0f MiB\n",
               static_cast<long long>(stats->samples), static_cast<long long>(stats->series),
               static_cast<long long>(stats->bytes), static_cast<long long>(stats->windows), seconds,
               static_cast<double>(stats->bytes) / static_cast<double>(std::max<std::int64_t>(1, stats->samples)),
               anchor, static_cast<double>(usage.ru_maxrss) / 1024);

  char name[96];
  std::snprintf(name, sizeof name, "history_%dgpus_%gd_%gs", gpus, days, interval);
  const std::string anchor_name = "write(2) of the same bytes, pre-formatted, to /dev/null in 1 MiB chunks";
  const double bytes = static_cast<double>(stats->bytes), samples = static_cast<double>(stats->samples);
  const bool anchor_ok = anchor > 0;
  Emit(name, bytes / seconds, "bytes/s", anchor_name, anchor_ok ? bytes / anchor : 0);
  Emit(std::string(name) + "_samples", samples / seconds, "samples/s", anchor_name, anchor_ok ? samples / anchor : 0);
  return 0;
}

}  // namespace
}  // namespace gpuwise::sim

int main(int argc, char** argv) { return gpuwise::sim::Main(argc, argv); }
