// parser_bench: throughput of gpuwise's exposition parser on realistic dcgm-exporter pages, in bytes/s and
// samples/s, parse only and parse + series interning. The pages are those bench_make_pages writes (same
// generator, same seed), so bench/run can time Go's expfmt on the very same bytes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "observe/prom/exposition_parser.h"
#include "observe/prom/series_interner.h"
#include "sim/dcgm_page.h"

namespace {

using gpuwise::observe::prom::Entry;
using gpuwise::observe::prom::EntryKind;
using gpuwise::observe::prom::ExpositionParser;
using gpuwise::observe::prom::ParserOptions;
using gpuwise::observe::prom::SeriesInterner;

// Keep in sync with bench/make_pages.cc (bench/run compares the page sizes).
constexpr std::uint64_t kFleetSeed = 20240601;

gpuwise::sim::PageOptions BenchOptions() {
  gpuwise::sim::PageOptions o;
  o.include_sm_active = true;  // 26 families: the 25 default counters + DCGM_FI_PROF_SM_ACTIVE
  o.seed = 1;
  o.time_s = 14 * 3600;  // mid-afternoon: inference near its daily peak
  return o;
}

struct Page {
  const char* name;
  std::string bytes;
  std::size_t samples = 0;
};

std::size_t CountSamples(const std::string& page, int* errors) {
  ExpositionParser parser(page, ParserOptions{});
  Entry entry;
  std::size_t n = 0;
  while (true) {
    if (!parser.Next(&entry).ok()) {
      ++*errors;
      continue;
    }
    if (entry.kind == EntryKind::kEof) break;
    n += entry.kind == EntryKind::kSample;
  }
  return n;
}

std::vector<Page>& Pages() {
  static std::vector<Page> pages = [] {
    namespace sim = gpuwise::sim;
    std::vector<Page> p;
    p.push_back({"dcgm_8gpu", sim::RenderPage(sim::MakeFleet(8, 0, kFleetSeed)[0], BenchOptions())});
    p.push_back({"dcgm_8gpu_mig7", sim::RenderPage(sim::MakeFleet(8, 8, kFleetSeed)[0], BenchOptions())});
    p.push_back({"dcgm_4096gpu", sim::RenderFleetPage(sim::MakeFleet(4096, 0, kFleetSeed), BenchOptions())});
    for (Page& page : p) {
      int errors = 0;
      page.samples = CountSamples(page.bytes, &errors);
      if (errors != 0) std::fprintf(stderr, "parser_bench: %s has %d parse errors\n", page.name, errors);
    }
    return p;
  }();
  return pages;
}

void SetCounters(benchmark::State& state, const Page& page) {
  const auto iters = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(page.bytes.size()) * state.iterations());
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(page.samples) * iters,
                                                       benchmark::Counter::kIsRate);
  state.counters["page_bytes"] = static_cast<double>(page.bytes.size());
  state.counters["page_samples"] = static_cast<double>(page.samples);
}

// Parse only: every entry up to kEof; values read, labels as views.
void BM_Parse(benchmark::State& state, const Page* page) {
  ExpositionParser parser(page->bytes, ParserOptions{});
  Entry entry;
  std::int64_t errors = 0;
  for (auto _ : state) {
    parser.Reset(page->bytes);
    double sum = 0;
    while (true) {
      if (!parser.Next(&entry).ok()) {
        ++errors;
        continue;
      }
      if (entry.kind == EntryKind::kEof) break;
      if (entry.kind == EntryKind::kSample) sum += entry.sample.value;
    }
    benchmark::DoNotOptimize(sum);
  }
  SetCounters(state, *page);
  state.counters["errors"] = static_cast<double>(errors);
}

// Parse + SeriesInterner::Intern per sample, in steady state (every series seen in an earlier scrape, as in a
// scrape loop; the first scrape that creates the series is outside the timing).
void BM_ParseIntern(benchmark::State& state, const Page* page) {
  ExpositionParser parser(page->bytes, ParserOptions{});
  SeriesInterner interner;
  Entry entry;
  std::int64_t errors = 0;
  auto scrape = [&] {
    parser.Reset(page->bytes);
    std::uint64_t ids = 0;
    while (true) {
      if (!parser.Next(&entry).ok()) {
        ++errors;
        continue;
      }
      if (entry.kind == EntryKind::kEof) break;
      if (entry.kind == EntryKind::kSample) ids += interner.Intern(entry.sample);
    }
    return ids;
  };
  scrape();
  for (auto _ : state) benchmark::DoNotOptimize(scrape());
  SetCounters(state, *page);
  state.counters["errors"] = static_cast<double>(errors);
  state.counters["series"] = static_cast<double>(interner.size());
}

}  // namespace

int main(int argc, char** argv) {
  for (const Page& page : Pages()) {
    benchmark::RegisterBenchmark((std::string("BM_Parse/") + page.name).c_str(), BM_Parse, &page)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("BM_ParseIntern/") + page.name).c_str(), BM_ParseIntern, &page)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
