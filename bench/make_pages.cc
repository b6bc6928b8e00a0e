// bench_make_pages OUT_DIR: writes the parser benchmark's dcgm-exporter pages (dcgm_8gpu.prom,
// dcgm_8gpu_mig7.prom, dcgm_4096gpu.prom) so that other parsers (Go expfmt) time the very same bytes.
// Exit codes: 0 written, 1 I/O error, 2 usage.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/dcgm_page.h"

namespace {

// Keep in sync with bench/parser_bench.cc (bench/run compares the page sizes).
constexpr std::uint64_t kFleetSeed = 20240601;

gpuwise::sim::PageOptions BenchOptions() {
  gpuwise::sim::PageOptions o;
  o.include_sm_active = true;
  o.seed = 1;
  o.time_s = 14 * 3600;
  return o;
}

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_make_pages OUT_DIR\n");
    return 2;
  }
  namespace sim = gpuwise::sim;
  const std::string dir = argv[1];
  const std::vector<std::pair<std::string, std::string>> pages = {
      {"dcgm_8gpu", sim::RenderPage(sim::MakeFleet(8, 0, kFleetSeed)[0], BenchOptions())},
      {"dcgm_8gpu_mig7", sim::RenderPage(sim::MakeFleet(8, 8, kFleetSeed)[0], BenchOptions())},
      {"dcgm_4096gpu", sim::RenderFleetPage(sim::MakeFleet(4096, 0, kFleetSeed), BenchOptions())},
  };
  for (const auto& [name, bytes] : pages) {
    const std::string path = dir + "/" + name + ".prom";
    if (!WriteFile(path, bytes)) {
      std::fprintf(stderr, "bench_make_pages: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s\t%zu\n", path.c_str(), bytes.size());
  }
  return 0;
}
