// SeriesInterner: gives each distinct series (metric name + label set) a dense id, scrape after scrape.
// Lookup is by the parser's order-independent series_hash, then an exact equality check, so two series
// whose hashes collide never merge. Looking up a series seen before allocates nothing.
// Thread-safety: not thread-safe; one interner per scrape loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe::prom {

class SeriesInterner {
 public:
  SeriesInterner();

  // The id of the sample's series; a new series gets the next id (0, 1, 2, ...).
  std::uint32_t Intern(const TextSample& sample);

  std::size_t size() const { return series_.size(); }
  std::string_view Name(std::uint32_t id) const { return series_[id].name; }
  // Label (name, value) pairs of a series, sorted by name.
  const std::vector<std::pair<std::string, std::string>>& Labels(std::uint32_t id) const { return series_[id].labels; }
  // How many lookups found an equal hash but a different series (kept apart). For tests and metrics.
  std::uint64_t collisions() const { return collisions_; }

  // Test hook: replaces every hash with this one, forcing collisions.
  void ForceHashForTesting(bool on) { force_collisions_ = on; }

 private:
  struct Stored {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
    std::vector<std::uint16_t> page_order;  // page_order[i] = index in labels of the i-th label as first seen
  };
  bool Equal(const Stored& stored, const TextSample& sample);
  void Grow();

  std::vector<Stored> series_;
  // Open addressing: slots hold (hash, id + 1); id + 1 == 0 marks an empty slot.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> slots_;
  std::vector<const Label*> scratch_;  // reused for order-independent comparison
  std::uint64_t collisions_ = 0;
  bool force_collisions_ = false;
};

}  // namespace gpuwise::observe::prom
