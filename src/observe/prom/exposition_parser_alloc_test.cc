// Proves the parser's steady state allocates nothing per sample: this binary replaces global operator new
// with a counting one, parses a page once to warm buffers, then counts allocations on further passes.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <gtest/gtest.h>

#include "observe/prom/exposition_parser.h"
#include "observe/prom/series_interner.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // malloc-backed new paired with free-backed delete
#endif

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace gpuwise::observe::prom {
namespace {

std::string Page() {
  std::string page;
  for (int gpu = 0; gpu < 8; ++gpu) {
    for (int m = 0; m < 20; ++m) {
      page += "DCGM_FI_X" + std::to_string(m) + "{gpu=\"" + std::to_string(gpu) + "\",UUID=\"GPU-" +
              std::to_string(gpu * 7919) + "\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\",esc=\"a\\\"b\"," +
              "pod=\"p\"} " + std::to_string(gpu * 0.5 + m) + "\n";
    }
  }
  return page;
}

TEST(ParserAllocationTest, ZeroAllocationsPerSampleInSteadyState) {
  const std::string page = Page();
  ExpositionParser parser(page, {});
  SeriesInterner interner;
  Entry e;
  auto pass = [&] {
    parser.Reset(page);
    std::size_t n = 0;
    while (parser.Next(&e).ok() && e.kind != EntryKind::kEof) {
      interner.Intern(e.sample);
      ++n;
    }
    return n;
  };
  ASSERT_EQ(pass(), 160u);  // warm-up: buffers and the interner grow here
  const long before = g_allocations.load();
  std::size_t samples = 0;
  for (int i = 0; i < 10; ++i) samples += pass();
  EXPECT_EQ(samples, 1600u);
  EXPECT_EQ(g_allocations.load() - before, 0) << "allocations on " << samples << " steady-state samples";
  EXPECT_EQ(interner.size(), 160u);
}

}  // namespace
}  // namespace gpuwise::observe::prom
