#include "observe/prom/series_interner.h"

#include <algorithm>
#include <cstring>

namespace gpuwise::observe::prom {

SeriesInterner::SeriesInterner() : slots_(1024, {0, 0}), reparser_("", {}) {}

std::string_view SeriesInterner::Name(std::uint32_t id) const { return NameOf(series_[id]); }

std::vector<std::pair<std::string, std::string>> SeriesInterner::Labels(std::uint32_t id) const {
  const Stored& s = series_[id];
  const std::string line = "m" + std::string(RawLabelsOf(s)) + " 0";
  ExpositionParser parser(line, {});
  Entry e;
  std::vector<std::pair<std::string, std::string>> out;
  if (parser.Next(&e).ok() && e.kind == EntryKind::kSample) {
    for (const Label& l : e.sample.labels) out.emplace_back(std::string(l.name), std::string(l.value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool SeriesInterner::Equal(const Stored& stored, const TextSample& sample) {
  if (NameOf(stored) != sample.name) return false;
  const std::string_view raw = RawLabelsOf(stored);
  if (raw == sample.raw_labels) return true;  // written the same way: the same labels
  // Written differently (another order, other blanks, other escapes of the same text): compare as sets.
  // The stored block parsed once already, so it parses again; labels are unique within a sample.
  reparse_line_.assign("m");
  reparse_line_.append(raw);
  reparse_line_.append(" 0");
  reparser_.Reset(reparse_line_);
  Entry e;
  if (!reparser_.Next(&e).ok() || e.kind != EntryKind::kSample) return false;
  if (e.sample.labels.size() != sample.labels.size()) return false;
  stored_scratch_.clear();
  sample_scratch_.clear();
  for (const Label& l : e.sample.labels) stored_scratch_.emplace_back(l.name, l.value);
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
  series_.push_back({hash, arena_.size(), static_cast<std::uint32_t>(sample.name.size()),
                     static_cast<std::uint32_t>(sample.raw_labels.size())});
  arena_.append(sample.name);
  arena_.append(sample.raw_labels);
  slots_[i] = {hash, id + 1};
  if (series_.size() * 2 > slots_.size()) Grow();
  last_id_ = id;
  return id;
}

}  // namespace gpuwise::observe::prom
