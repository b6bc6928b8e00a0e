// Benchmark: Prometheus query_range JSON -> columnar arrays, against a plain simdjson DOM parse (the anchor).
// Input: 1,000 dcgm-like series x 2,000 points at 15 s, values as quoted strings, built in memory.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <random>
#include <string>

#include "observe/prom/query_decoder.h"

namespace {

constexpr int kSeries = 1'000;
constexpr int kPoints = 2'000;

const std::string& Response() {
  static const std::string body = [] {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> util(0, 100);
    std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
    for (int s = 0; s < kSeries; ++s) {
      if (s > 0) out += ',';
      const int node = s / 8, gpu = s % 8;
      out += R"({"metric":{"DCGM_FI_DRIVER_VERSION":"535.129.03","Hostname":"gpu-node-)" + std::to_string(node) +
             R"(","UUID":"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8)" + std::to_string(1000 + s) +
             R"(","__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","container":"vllm","device":"nvidia)" +
             std::to_string(gpu) + R"(","gpu":")" + std::to_string(gpu) +
             R"(","instance":"10.0.0.)" + std::to_string(node % 250) +
             R"(:9400","job":"dcgm-exporter","modelName":"NVIDIA H100 80GB HBM3","namespace":"serving","pci_bus_id":"00000000:1A:00.0","pod":"llama-7b-)" +
             std::to_string(s) + R"("},"values":[)";
      for (int p = 0; p < kPoints; ++p) {
        if (p > 0) out += ',';
        out += '[';
        out += std::to_string(1'700'000'000 + p * 15);
        out += ",\"";
        char buf[32];
        // dcgm-exporter prints DOUBLE fields with %f (6 decimals).
        int n = std::snprintf(buf, sizeof(buf), "%f", util(rng) / 100.0);
        out.append(buf, static_cast<std::size_t>(n));
        out += "\"]";
      }
      out += "]}";
    }
    out += "]}}";
    return out;
  }();
  return body;
}

void BM_DecodeColumnar(benchmark::State& state) {
  const std::string& body = Response();
  std::int64_t samples = 0;
  for (auto _ : state) {
    auto r = gpuwise::observe::prom::DecodeQueryResponse(body);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    samples = 0;
    for (const auto& s : r->matrix) samples += static_cast<std::int64_t>(s.values.size());
    benchmark::DoNotOptimize(r->matrix.data());
  }
  state.SetItemsProcessed(state.iterations() * samples);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters["samples"] = static_cast<double>(samples);
}
BENCHMARK(BM_DecodeColumnar)->Unit(benchmark::kMillisecond);

// The anchor: simdjson's DOM parse of the same bytes (already padded; no value extraction at all).
void BM_SimdjsonDomParse(benchmark::State& state) {
  const std::string& body = Response();
  simdjson::padded_string padded(body);
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
      state.SkipWithError("dom parse failed");
      return;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSeries) * kPoints);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters["implementation_is_" + std::string(simdjson::get_active_implementation()->name())] = 1;
}
BENCHMARK(BM_SimdjsonDomParse)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
