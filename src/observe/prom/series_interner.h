// SeriesInterner: gives each distinct series (metric name + label set) a dense id, scrape after scrape.
// Lookup is by the parser's order-independent series_hash, then an exact equality check, so two series
// whose hashes collide never merge. Looking up a series seen before allocates nothing.
// Layout: each series is stored once in one contiguous arena as its name and its label block exactly as the
// exporter wrote it. An exporter writes a series the same way every scrape, so the usual equality check is a
// single memcmp; a block written differently (label order, blanks) is re-parsed and compared as a set. The
// series after the previous hit is tried first, since exporters write their series in the same order.
// Thread-safety: not thread-safe; one interner per scrape loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe::prom {

class SeriesInterner {
 public:
  SeriesInterner();

  // The id of the sample's series; a new series gets the next id (0, 1, 2, ...).
  std::uint32_t Intern(const TextSample& sample);

  std::size_t size() const { return series_.size(); }
  std::string_view Name(std::uint32_t id) const;
  // Label (name, value) pairs of a series, sorted by name (re-parsed from the arena; allocates).
  std::vector<std::pair<std::string, std::string>> Labels(std::uint32_t id) const;
  // How many lookups found an equal hash but a different series (kept apart). For tests and metrics.
  std::uint64_t collisions() const { return collisions_; }
  std::size_t arena_bytes() const { return arena_.size(); }

  // Test hook: replaces every hash with this one, forcing collisions.
  void ForceHashForTesting(bool on) { force_collisions_ = on; }

 private:
  struct Stored {
    std::uint64_t hash;
    std::uint64_t offset;      // into arena_: name bytes, then the raw label block
    std::uint32_t name_size;
    std::uint32_t labels_size;
  };
  std::string_view NameOf(const Stored& s) const { return {arena_.data() + s.offset, s.name_size}; }
  std::string_view RawLabelsOf(const Stored& s) const {
    return {arena_.data() + s.offset + s.name_size, s.labels_size};
  }
  bool Equal(const Stored& stored, const TextSample& sample);
  void Grow();

  std::vector<Stored> series_;
  std::string arena_;
  // Open addressing: slots hold (hash, id + 1); id + 1 == 0 marks an empty slot.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> slots_;
  // For the slow comparison: a parser over a stored block and sorted views (no allocation once grown).
  ExpositionParser reparser_;
  std::string reparse_line_;
  std::vector<std::pair<std::string_view, std::string_view>> stored_scratch_;
  std::vector<std::pair<std::string_view, std::string_view>> sample_scratch_;
  std::uint32_t last_id_ = UINT32_MAX;
  std::uint64_t collisions_ = 0;
  bool force_collisions_ = false;
};

}  // namespace gpuwise::observe::prom
