#include "observe/prom/series_interner.h"

#include <algorithm>

namespace gpuwise::observe::prom {

SeriesInterner::SeriesInterner() : slots_(1024, {0, 0}) {}

bool SeriesInterner::Equal(const Stored& stored, const TextSample& sample) {
  if (stored.name != sample.name || stored.labels.size() != sample.labels.size()) return false;
  // Fast path: the same exporter writes labels in the same order every scrape.
  bool same_order = true;
  for (std::size_t i = 0; i < sample.labels.size(); ++i) {
    const auto& l = stored.labels[stored.page_order[i]];
    if (l.first != sample.labels[i].name) {
      same_order = false;
      break;
    }
    if (l.second != sample.labels[i].value) return false;
  }
  if (same_order) return true;
  // Labels arrive in page order; stored ones are sorted. Sort pointers to the incoming ones (no allocation
  // once scratch_ has grown to the largest label count).
  scratch_.clear();
  for (const Label& l : sample.labels) scratch_.push_back(&l);
  std::sort(scratch_.begin(), scratch_.end(), [](const Label* a, const Label* b) { return a->name < b->name; });
  for (std::size_t i = 0; i < scratch_.size(); ++i) {
    if (stored.labels[i].first != scratch_[i]->name || stored.labels[i].second != scratch_[i]->value) return false;
  }
  return true;
}

void SeriesInterner::Grow() {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, {0, 0});
  const std::size_t mask = slots_.size() - 1;
  for (const auto& s : old) {
    if (s.second == 0) continue;
    std::size_t i = s.first & mask;
    while (slots_[i].second != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

std::uint32_t SeriesInterner::Intern(const TextSample& sample) {
  const std::uint64_t hash = force_collisions_ ? 42 : sample.series_hash;
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].second != 0) {
    if (slots_[i].first == hash) {
      const std::uint32_t id = slots_[i].second - 1;
      if (Equal(series_[id], sample)) return id;
      ++collisions_;
    }
    i = (i + 1) & mask;
  }
  const auto id = static_cast<std::uint32_t>(series_.size());
  Stored stored;
  stored.name.assign(sample.name);
  stored.labels.reserve(sample.labels.size());
  for (const Label& l : sample.labels) stored.labels.emplace_back(std::string(l.name), std::string(l.value));
  std::sort(stored.labels.begin(), stored.labels.end());
  stored.page_order.resize(sample.labels.size());
  for (std::size_t i = 0; i < sample.labels.size(); ++i) {
    auto it = std::lower_bound(stored.labels.begin(), stored.labels.end(), sample.labels[i].name,
                               [](const auto& kv, std::string_view n) { return kv.first < n; });
    stored.page_order[i] = static_cast<std::uint16_t>(it - stored.labels.begin());
  }
  series_.push_back(std::move(stored));
  slots_[i] = {hash, id + 1};
  if (series_.size() * 2 > slots_.size()) Grow();
  return id;
}

}  // namespace gpuwise::observe::prom
