// libFuzzer target: the Prometheus API decoder must turn any bytes into a value or a Status, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "observe/prom/query_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  namespace prom = gpuwise::observe::prom;
  auto q = prom::DecodeQueryResponse(body);
  if (q.ok()) {
    // Decoded matrices keep their columnar invariant.
    for (const prom::Series& s : q->matrix) {
      if (s.timestamps_ms.size() != s.values.size()) __builtin_trap();
    }
  } else if (q.status().message().empty()) {
    __builtin_trap();
  }
  (void)prom::DecodeSeriesResponse(body);
  (void)prom::DecodeLabelsResponse(body);
  (void)prom::DecodeErrorResponse(body);
  return 0;
}
