// libFuzzer target: the exposition parser and the dcgm telemetry builder on arbitrary bytes, in both formats.
// Properties checked on every input: no crash, no read past the input (ASan), every error names a line, the
// parser always reaches the end, and a sample's labels are unique.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "observe/prom/dcgm_telemetry.h"
#include "observe/prom/exposition_parser.h"
#include "observe/prom/series_interner.h"

using namespace gpuwise::observe::prom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the format, the rest is the page.
  const Format format = (data[0] & 1) ? Format::kOpenMetrics : Format::kText;
  std::string_view page(reinterpret_cast<const char*>(data + 1), size - 1);
  ExpositionParser parser(page, {.format = format, .max_label_value_bytes = 4096, .max_labels = 64});
  SeriesInterner interner;
  Entry e;
  std::size_t guard = 0;
  while (true) {
    gpuwise::base::Status s = parser.Next(&e);
    if (++guard > size + 2) std::abort();  // every call consumes a line or ends
    if (!s.ok()) {
      if (s.message().rfind("line ", 0) != 0) std::abort();
      continue;
    }
    if (e.kind == EntryKind::kEof) break;
    if (e.kind != EntryKind::kSample) continue;
    for (std::size_t i = 0; i < e.sample.labels.size(); ++i) {
      for (std::size_t j = i + 1; j < e.sample.labels.size(); ++j) {
        if (e.sample.labels[i].name == e.sample.labels[j].name) std::abort();
      }
    }
    interner.Intern(e.sample);
  }
  DcgmTelemetryBuilder builder;
  builder.AddPage(page, format, "fuzz");
  Telemetry t = builder.Finish();
  (void)SignalHealth(t);
  return 0;
}
