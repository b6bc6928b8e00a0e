// libFuzzer target: the Kubernetes WATCH stream decoder (observe/kube/kube_client.h) on arbitrary bytes fed in
// arbitrary chunks. The first byte seeds the chunk sizes, the second sets when the consumer stops (0: never) and
// whether the event size limit is small (2 KiB) or the default; the rest is the stream.
// Properties: no crash, no sanitizer report, no exception; every event object is a JSON object with apiVersion and
// kind; and the decoder is chunking-invariant: fed in one piece, byte by byte, or in random pieces, it yields the
// same events in the same order, the same status code (messages may quote a different snippet of the chunk), the
// same stop, partial and resourceVersion state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe/kube/kube_client.h"

namespace kube = gpuwise::observe::kube;
using nlohmann::json;

namespace {

struct Outcome {
  std::vector<std::pair<int, std::string>> events;  // type, object text (only when shallow enough to compare)
  gpuwise::base::Code code = gpuwise::base::Code::kOk;
  bool stopped = false, partial = false;
  std::string last_rv;
  std::int64_t count = 0;
  bool operator==(const Outcome&) const = default;
};

// Comparing and printing JSON recurses; the decoder itself must take any depth, the comparison only shallow input.
bool Shallow(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > 128) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// Feeds `stream` cut before each offset in `cuts` (ascending), stopping at the first error as a client does.
Outcome Run(std::string_view stream, const std::vector<std::size_t>& cuts, int stop_after, std::size_t max_event,
            bool compare_objects) {
  kube::WatchStreamDecoder d(kube::PodsType(), max_event);
  Outcome out;
  auto on_event = [&](const kube::WatchEvent& e) {
    if (e.object == nullptr || !e.object->is_object()) __builtin_trap();
    const auto api = e.object->find("apiVersion");
    const auto kind = e.object->find("kind");
    if (api == e.object->end() || kind == e.object->end()) __builtin_trap();
    out.events.emplace_back(static_cast<int>(e.type),
                            compare_objects ? e.object->dump(-1, ' ', false, json::error_handler_t::replace) : "");
    return stop_after == 0 || static_cast<int>(out.events.size()) < stop_after;
  };
  std::size_t from = 0;
  gpuwise::base::Status s;
  for (std::size_t cut : cuts) {
    s = d.Feed(stream.substr(from, cut - from), on_event);
    from = cut;
    if (!s.ok()) break;
  }
  if (s.ok()) s = d.Feed(stream.substr(from), on_event);
  out.code = s.code();
  if (!s.ok() && s.message().empty()) __builtin_trap();  // an error says what was wrong
  out.stopped = d.stopped();
  out.partial = d.partial();
  out.last_rv = d.last_resource_version();
  out.count = d.events();
  if (out.count != static_cast<std::int64_t>(out.events.size())) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const int stop_after = data[1] & 0x7f;
  const std::size_t max_event = (data[1] & 0x80) != 0 ? 2048 : 64u << 20;
  const bool compare = Shallow(stream);

  const Outcome whole = Run(stream, {}, stop_after, max_event, compare);

  std::vector<std::size_t> random_cuts;
  std::uint32_t x = data[0] * 2654435761u + 1;
  for (std::size_t at = 0;;) {
    x = x * 1664525u + 1013904223u;
    at += 1 + (x >> 24) % 23;
    if (at >= stream.size()) break;
    random_cuts.push_back(at);
  }
  if (!(Run(stream, random_cuts, stop_after, max_event, compare) == whole)) __builtin_trap();

  if (stream.size() <= 4096) {  // byte by byte costs a call per byte: only on inputs of a few KiB
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    if (!(Run(stream, every, stop_after, max_event, compare) == whole)) __builtin_trap();
  }
  return 0;
}
