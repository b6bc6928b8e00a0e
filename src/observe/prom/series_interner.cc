#include "observe/prom/series_interner.h"

#include <algorithm>
#include <cstring>

namespace gpuwise::observe::prom {
namespace {

// Reads one length-prefixed field at *p and advances past it.
inline std::string_view Field(const char*& p) {
  std::uint32_t n;
  std::memcpy(&n, p, 4);
  std::string_view s(p + 4, n);
  p += 4 + n;
  return s;
}

}  // namespace

SeriesInterner::SeriesInterner() : slots_(1024, {0, 0}) {}

void SeriesInterner::Append(std::string_view bytes) {
  const auto n = static_cast<std::uint32_t>(bytes.size());
  arena_.append(reinterpret_cast<const char*>(&n), 4);
  arena_.append(bytes);
}

std::string_view SeriesInterner::Name(std::uint32_t id) const {
  const char* p = arena_.data() + series_[id].offset;
  return Field(p);
}

std::vector<std::pair<std::string_view, std::string_view>> SeriesInterner::Labels(std::uint32_t id) const {
  const char* p = arena_.data() + series_[id].offset;
  Field(p);
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (std::uint32_t i = 0; i < series_[id].label_count; ++i) {
    std::string_view n = Field(p);
    out.emplace_back(n, Field(p));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool SeriesInterner::Equal(const Stored& stored, const TextSample& sample) {
  if (stored.label_count != sample.labels.size()) return false;
  const char* p = arena_.data() + stored.offset;
  if (Field(p) != sample.name) return false;
  // Fast path: the same label order as when first seen.
  const char* labels_start = p;
  bool same_order = true;
  for (const Label& l : sample.labels) {
    std::string_view n = Field(p);
    std::string_view v = Field(p);
    if (n != l.name) {
      same_order = false;
      break;
    }
    if (v != l.value) return false;
  }
  if (same_order) return true;
  // Another order: compare as sets (label names are unique within a sample).
  p = labels_start;
  stored_scratch_.clear();
  sample_scratch_.clear();
  for (std::uint32_t i = 0; i < stored.label_count; ++i) {
    std::string_view n = Field(p);
    stored_scratch_.emplace_back(n, Field(p));
  }
  for (const Label& l : sample.labels) sample_scratch_.emplace_back(l.name, l.value);
  std::sort(stored_scratch_.begin(), stored_scratch_.end());
  std::sort(sample_scratch_.begin(), sample_scratch_.end());
  return stored_scratch_ == sample_scratch_;
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
  // Prediction: the series after the previous one.
  const std::uint32_t next = last_id_ + 1;
  if (next < series_.size() && series_[next].hash == hash && Equal(series_[next], sample)) {
    last_id_ = next;
    return next;
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].second != 0) {
    if (slots_[i].first == hash) {
      const std::uint32_t id = slots_[i].second - 1;
      if (Equal(series_[id], sample)) {
        last_id_ = id;
        return id;
      }
      ++collisions_;
    }
    i = (i + 1) & mask;
  }
  const auto id = static_cast<std::uint32_t>(series_.size());
  series_.push_back({hash, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(sample.labels.size())});
  Append(sample.name);
  for (const Label& l : sample.labels) {
    Append(l.name);
    Append(l.value);
  }
  slots_[i] = {hash, id + 1};
  if (series_.size() * 2 > slots_.size()) Grow();
  last_id_ = id;
  return id;
}

}  // namespace gpuwise::observe::prom
