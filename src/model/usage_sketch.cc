// UsageSketch implementation: key mapping inverse, dense store growth, decay, merge, wire format.
#include "model/usage_sketch.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

namespace gpuwise::model {
namespace {

constexpr double kMinAlpha = 1e-4;
constexpr double kMaxAlpha = 0.5;
constexpr double kMinIndexableFloor = std::numeric_limits<double>::min();  // smallest normal
constexpr double kMinIndexableCeiling = 1.0;
constexpr std::int64_t kMaxHalfLifeMs = std::int64_t{100} * 365 * 24 * 3600 * 1000;
// Timestamps are clamped to +-2^53 ms (+-285,000 years): keeps every difference exact in a double
// and free of int64 overflow, whatever a corrupt source sends.
constexpr std::int64_t kMaxAbsMillis = std::int64_t{1} << 53;
// Weights are kept below 2^kRescaleExponent by moving the reference forward (float max is 2^128,
// so ~2^96 samples of maximum weight still fit).
constexpr double kRescaleExponent = 32.0;
// Spare buckets added on the side that grows: amortises copies, costs <= 64 B.
constexpr std::int32_t kGrowthPad = 8;
constexpr std::uint32_t kMaxCount = std::numeric_limits<std::uint32_t>::max();

constexpr char kMagic[4] = {'G', 'W', 'S', 'K'};
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kFlagDecay = 1;
constexpr std::uint8_t kFlagHasReference = 2;

double Gamma(double alpha) {
  const double a = alpha * (1.0 - 1e-7);  // headroom for rounding at bucket edges
  return (1.0 + a) / (1.0 - a);
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table built at compile time.
constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

std::uint32_t Crc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ---- little-endian writer / bounds-checked reader ----

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Fixed(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) U8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void F64(double v) { Fixed(std::bit_cast<std::uint64_t>(v), 8); }
  void F32(float v) { Fixed(std::bit_cast<std::uint32_t>(v), 4); }
  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      U8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    U8(static_cast<std::uint8_t>(v));
  }
  void Signed(std::int64_t v) {  // zigzag
    Varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void Raw(const char* p, std::size_t n) { out_.append(p, n); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::size_t remaining() const { return in_.size() - pos_; }

  base::Status U8(std::uint8_t& v, const char* what) {
    if (remaining() < 1) return Truncated(what);
    v = static_cast<std::uint8_t>(in_[pos_++]);
    return base::Status::Ok();
  }
  base::Status Fixed(std::uint64_t& v, int bytes, const char* what) {
    if (remaining() < static_cast<std::size_t>(bytes)) return Truncated(what);
    v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= std::uint64_t{static_cast<std::uint8_t>(in_[pos_++])} << (8 * i);
    }
    return base::Status::Ok();
  }
  base::Status F64(double& v, const char* what) {
    std::uint64_t bits = 0;
    RETURN_IF_ERROR(Fixed(bits, 8, what));
    v = std::bit_cast<double>(bits);
    return base::Status::Ok();
  }
  base::Status F32(float& v, const char* what) {
    std::uint64_t bits = 0;
    RETURN_IF_ERROR(Fixed(bits, 4, what));
    v = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    return base::Status::Ok();
  }
  base::Status Varint(std::uint64_t& v, const char* what) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() < 1) return Truncated(what);
      const auto b = static_cast<std::uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) break;  // would overflow 64 bits
      v |= std::uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return base::Status::Ok();
    }
    return base::InvalidArgument(std::string("usage sketch: malformed varint in ") + what);
  }
  base::Status Signed(std::int64_t& v, const char* what) {
    std::uint64_t u = 0;
    RETURN_IF_ERROR(Varint(u, what));
    v = static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
    return base::Status::Ok();
  }

 private:
  static base::Status Truncated(const char* what) {
    return base::InvalidArgument(std::string("usage sketch: truncated input while reading ") + what);
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

base::Status Corrupt(const std::string& what) {
  return base::InvalidArgument("usage sketch: corrupt input: " + what);
}

bool SameOptions(const UsageSketch::Options& a, const UsageSketch::Options& b) {
  return a.relative_accuracy == b.relative_accuracy &&
         a.min_indexable_value == b.min_indexable_value && a.decay_half_life == b.decay_half_life;
}

}  // namespace

// ---- construction ----

UsageSketch::UsageSketch() : UsageSketch(Options{}) {}

UsageSketch::UsageSketch(const Options& options)
    : options_(options), multiplier_(0.7 / std::log(Gamma(options.relative_accuracy))) {}

base::Status UsageSketch::ValidateOptions(const Options& o) {
  if (!(o.relative_accuracy >= kMinAlpha && o.relative_accuracy <= kMaxAlpha)) {
    return base::InvalidArgument("usage sketch: relative_accuracy must be in [1e-4, 0.5], got " +
                                 std::to_string(o.relative_accuracy));
  }
  if (!(o.min_indexable_value >= kMinIndexableFloor && o.min_indexable_value <= kMinIndexableCeiling)) {
    return base::InvalidArgument("usage sketch: min_indexable_value must be in [2.3e-308, 1], got " +
                                 std::to_string(o.min_indexable_value));
  }
  if (o.decay_half_life.count() < 0 || o.decay_half_life.count() > kMaxHalfLifeMs) {
    return base::InvalidArgument("usage sketch: decay_half_life must be in [0, 100 years], got " +
                                 std::to_string(o.decay_half_life.count()) + " ms");
  }
  return base::Status::Ok();
}

base::Result<UsageSketch> UsageSketch::Create(const Options& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  return UsageSketch(options);
}

// ---- key mapping ----

double UsageSketch::InverseQ(double qv) {
  const double e = std::floor(qv);
  const double y = qv - e;  // in [0, 1): solve P(s) = y
  // P is increasing and concave on [0, 1] with P' >= 5/7, so Newton from s = y converges fast.
  double s = y;
  for (int i = 0; i < 20; ++i) {
    const double p = ((kA * s + kB) * s + kC) * s - y;
    const double dp = (3.0 * kA * s + 2.0 * kB) * s + kC;
    const double next = std::clamp(s - p / dp, 0.0, 1.0);
    if (next == s) break;
    s = next;
  }
  return std::ldexp(1.0 + s, static_cast<int>(e));
}

double UsageSketch::ValueOfKey(std::int32_t key) const {
  const double lo = InverseQ(static_cast<double>(key) / multiplier_);
  const double hi = InverseQ(static_cast<double>(key + 1) / multiplier_);
  if (!std::isfinite(hi)) return lo;  // only the bucket holding DBL_MAX; clamped to max() anyway
  const double r = hi / lo;
  return lo * (2.0 * r / (1.0 + r));
}

// ---- insert ----

void UsageSketch::InsertSlow(double value) {
  if (std::isnan(value)) {
    ++nan_count_;
    return;
  }
  if (value < 0) {
    ++negative_count_;
    return;
  }
  if (value > std::numeric_limits<double>::max()) {
    ++overflow_count_;
    return;
  }
  value += 0.0;  // -0.0 -> +0.0
  if (decaying()) {
    InsertWeighted(value, has_reference_ ? WeightAt(latest_ms_) : 1.0);
    return;
  }
  if (value < options_.min_indexable_value) {
    ++zero_count_;
    AddStats(value);
    return;
  }
  const std::size_t i = Reserve(KeyOf(value));
  if (bins_[i] == kMaxCount) {
    ++overflow_count_;
    return;
  }
  ++bins_[i];
  AddStats(value);
}

void UsageSketch::InsertMany(std::span<const double> values) {
  if (decaying()) {
    for (double v : values) Insert(v);
    return;
  }
  // Insert()'s fast path with count/sum/min/max in locals: a store-to-load round trip per sample
  // on the sum is what bounds Insert() in a loop.
  std::uint64_t count = count_;
  double hi = sum_hi_;
  double lo = sum_lo_;
  double mn = min_;
  double mx = max_;
  const double min_indexable = options_.min_indexable_value;
  for (double v : values) {
    if (v >= min_indexable && v <= std::numeric_limits<double>::max()) {
      const auto i = static_cast<std::uint32_t>(KeyOf(v) - offset_);
      if (i < bins_.size() && bins_[i] != kMaxCount) {
        ++bins_[i];
        ++count;
        const double t = hi + v;
        lo += ((hi > v ? hi : v) - t) + (hi > v ? v : hi);
        hi = t;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        continue;
      }
    }
    count_ = count, sum_hi_ = hi, sum_lo_ = lo, min_ = mn, max_ = mx;
    InsertSlow(v);
    count = count_, hi = sum_hi_, lo = sum_lo_, mn = min_, mx = max_;
  }
  count_ = count, sum_hi_ = hi, sum_lo_ = lo, min_ = mn, max_ = mx;
}

void UsageSketch::Insert(double value, base::UnixMillis t_ms) {
  if (!decaying() || !(value >= 0) || value > std::numeric_limits<double>::max()) {
    Insert(value);  // no decay, or a rejected value: counted there
    return;
  }
  InsertWeighted(value + 0.0, WeightAt(t_ms));
}

void UsageSketch::InsertWeighted(double value, double weight) {
  AddStats(value);
  if (value < options_.min_indexable_value) {
    ++zero_count_;
    zero_weight_ += weight;
    return;
  }
  const std::size_t i = Reserve(KeyOf(value));
  bins_[i] = std::bit_cast<std::uint32_t>(BinWeight(i) + static_cast<float>(weight));
}

double UsageSketch::WeightAt(base::UnixMillis t_ms) {
  const std::int64_t h = options_.decay_half_life.count();
  t_ms = std::clamp<std::int64_t>(t_ms, -kMaxAbsMillis, kMaxAbsMillis);
  if (!has_reference_) {
    // Aligned to a multiple of the half-life so that any two sketches differ by whole half-lives.
    reference_ms_ = FloorDiv(t_ms, h) * h;
    has_reference_ = true;
    latest_ms_ = t_ms;
  } else {
    latest_ms_ = std::max(latest_ms_, t_ms);
  }
  double e = static_cast<double>(t_ms - reference_ms_) / static_cast<double>(h);
  if (e >= kRescaleExponent) {
    ShiftReference(FloorDiv(t_ms - reference_ms_, h));
    e = static_cast<double>(t_ms - reference_ms_) / static_cast<double>(h);
  }
  if (e < -126.0) return 0.0;  // below float's normal range: fully decayed
  return std::exp2(e);
}

void UsageSketch::ShiftReference(std::int64_t n) {
  if (n <= 0) return;
  reference_ms_ += n * options_.decay_half_life.count();
  const int shift = static_cast<int>(std::min<std::int64_t>(n, 1000));
  for (auto& bin : bins_) {
    float w = std::ldexp(std::bit_cast<float>(bin), -shift);  // exact unless it underflows
    if (w < std::numeric_limits<float>::min()) w = 0.0f;    // no denormals
    bin = std::bit_cast<std::uint32_t>(w);
  }
  zero_weight_ = std::ldexp(zero_weight_, -shift);
}

// ---- dense store ----

std::size_t UsageSketch::Reserve(std::int32_t key) {
  if (bins_.empty()) {
    GrowTo(key - kGrowthPad, key + kGrowthPad);
  } else if (key < offset_) {
    GrowTo(key - kGrowthPad, key);
  } else if (key >= offset_ + static_cast<std::int32_t>(bins_.size())) {
    GrowTo(key, key + kGrowthPad);
  }
  return static_cast<std::size_t>(key - offset_);
}

void UsageSketch::GrowTo(std::int32_t lo_key, std::int32_t hi_key) {
  if (!bins_.empty()) {
    const std::int32_t end_key = offset_ + static_cast<std::int32_t>(bins_.size()) - 1;
    if (lo_key >= offset_ && hi_key <= end_key) return;  // already covered
    lo_key = std::min(lo_key, offset_);
    hi_key = std::max(hi_key, end_key);
  }
  std::vector<std::uint32_t> grown(static_cast<std::size_t>(hi_key - lo_key) + 1, 0);
  if (!bins_.empty()) {
    std::memcpy(grown.data() + (offset_ - lo_key), bins_.data(), bins_.size() * sizeof(bins_[0]));
  }
  bins_ = std::move(grown);  // capacity == size: no hidden doubling
  offset_ = lo_key;
}

std::pair<std::size_t, std::size_t> UsageSketch::NonZeroRange() const {
  // A zero uint32 and a +0.0f weight are both all-zero bits.
  std::size_t first = 0;
  while (first < bins_.size() && bins_[first] == 0) ++first;
  if (first == bins_.size()) return {1, 0};
  std::size_t last = bins_.size() - 1;
  while (bins_[last] == 0) --last;
  return {first, last};
}

double UsageSketch::TotalWeight() const {
  if (!decaying()) return static_cast<double>(count_);
  double total = zero_weight_;
  for (std::size_t i = 0; i < bins_.size(); ++i) total += BinWeight(i);
  return total;
}

std::size_t UsageSketch::MemoryBytes() const {
  return sizeof(UsageSketch) + bins_.capacity() * sizeof(bins_[0]);
}

// ---- query ----

double UsageSketch::Quantile(double q) const {
  constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
  if (count_ == 0 || !(q >= 0.0 && q <= 1.0)) return kUnknown;
  if (q == 0.0) return min_;
  if (q == 1.0) return max_;
  auto clamp = [this](double v) { return std::clamp(v, min_, max_); };
  if (!decaying()) {
    // Rank of the answer, 0-based, in the sorted accepted samples.
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1));
    std::uint64_t cumulative = zero_count_;
    if (cumulative > rank) return clamp(0.0);
    for (std::size_t i = 0; i < bins_.size(); ++i) {
      cumulative += bins_[i];
      if (cumulative > rank) return clamp(ValueOfKey(offset_ + static_cast<std::int32_t>(i)));
    }
    return max_;  // unreachable while count == zero_count + sum(bins)
  }
  const double total = TotalWeight();
  if (!(total > 0.0)) return kUnknown;  // everything decayed away
  const double target = q * total;
  double cumulative = zero_weight_;
  if (cumulative > target) return clamp(0.0);
  std::size_t last_nonzero = bins_.size();
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    const double w = BinWeight(i);
    if (w == 0.0) continue;
    last_nonzero = i;
    cumulative += w;
    if (cumulative > target) return clamp(ValueOfKey(offset_ + static_cast<std::int32_t>(i)));
  }
  // Rounding left cumulative <= target at the very end: the answer is the last bucket.
  if (last_nonzero < bins_.size()) {
    return clamp(ValueOfKey(offset_ + static_cast<std::int32_t>(last_nonzero)));
  }
  return clamp(0.0);
}

double UsageSketch::ShareBelow(double x) const {
  const double total = TotalWeight();
  if (count_ == 0 || !(total > 0.0) || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0.0) return 0.0;
  double below = decaying() ? zero_weight_ : static_cast<double>(zero_count_);
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    if (ValueOfKey(offset_ + static_cast<std::int32_t>(i)) >= x) break;
    below += decaying() ? BinWeight(i) : static_cast<double>(bins_[i]);
  }
  return std::min(1.0, below / total);
}

// ---- merge ----

base::Status UsageSketch::Merge(const UsageSketch& other) {
  if (&other == this) {
    const UsageSketch copy = other;
    return Merge(copy);
  }
  if (!SameOptions(options_, other.options_)) {
    return base::InvalidArgument(
        "usage sketch: cannot merge sketches with different options (relative_accuracy " +
        std::to_string(options_.relative_accuracy) + " vs " +
        std::to_string(other.options_.relative_accuracy) + ", min_indexable_value " +
        std::to_string(options_.min_indexable_value) + " vs " +
        std::to_string(other.options_.min_indexable_value) + ", decay_half_life " +
        std::to_string(options_.decay_half_life.count()) + " vs " +
        std::to_string(other.options_.decay_half_life.count()) + " ms)");
  }
  const auto [first, last] = other.NonZeroRange();
  const bool other_has_bins = first <= last;
  const std::int32_t lo_key = other.offset_ + static_cast<std::int32_t>(first);
  const std::int32_t hi_key = other.offset_ + static_cast<std::int32_t>(last);

  if (!decaying()) {
    // Check before mutating so that an error leaves *this unchanged.
    // No bucket can pass 2^32 - 1 while both totals together stay below it (the usual case).
    if (other_has_bins && count_ + other.count_ > kMaxCount) {
      for (std::size_t i = first; i <= last; ++i) {
        const std::int32_t key = other.offset_ + static_cast<std::int32_t>(i);
        const std::int64_t j = std::int64_t{key} - offset_;
        if (j >= 0 && j < static_cast<std::int64_t>(bins_.size()) &&
            std::uint64_t{bins_[static_cast<std::size_t>(j)]} + other.bins_[i] > kMaxCount) {
          return base::Status(base::Code::kOutOfRange,
                              "usage sketch: merge would overflow a bucket count (2^32 - 1)");
        }
      }
    }
    if (other_has_bins) {
      GrowTo(lo_key, hi_key);
      for (std::size_t i = first; i <= last; ++i) {
        bins_[static_cast<std::size_t>(other.offset_ + static_cast<std::int32_t>(i) - offset_)] +=
            other.bins_[i];
      }
    }
    zero_count_ += other.zero_count_;
  } else {
    // Align both to the later reference; references are multiples of the half-life, so the
    // rescale is by a whole power of two.
    int other_shift = 0;
    if (other.has_reference_) {
      const std::int64_t h = options_.decay_half_life.count();
      if (!has_reference_) {
        reference_ms_ = other.reference_ms_;
        has_reference_ = true;
        latest_ms_ = other.latest_ms_;
      } else if (other.reference_ms_ > reference_ms_) {
        ShiftReference((other.reference_ms_ - reference_ms_) / h);
      } else {
        other_shift = static_cast<int>(std::min<std::int64_t>((reference_ms_ - other.reference_ms_) / h, 1000));
      }
      latest_ms_ = std::max(latest_ms_, other.latest_ms_);
    }
    if (other_has_bins) {
      GrowTo(lo_key, hi_key);
      for (std::size_t i = first; i <= last; ++i) {
        float w = std::ldexp(other.BinWeight(i), -other_shift);
        if (w < std::numeric_limits<float>::min()) w = 0.0f;
        const auto j = static_cast<std::size_t>(other.offset_ + static_cast<std::int32_t>(i) - offset_);
        bins_[j] = std::bit_cast<std::uint32_t>(BinWeight(j) + w);
      }
    }
    zero_count_ += other.zero_count_;
    zero_weight_ += std::ldexp(other.zero_weight_, -other_shift);
  }

  count_ += other.count_;
  nan_count_ += other.nan_count_;
  negative_count_ += other.negative_count_;
  overflow_count_ += other.overflow_count_;
  sum_lo_ += other.sum_lo_;
  AddToSum(other.sum_hi_);
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  return base::Status::Ok();
}

// ---- equality ----

bool operator==(const UsageSketch& a, const UsageSketch& b) {
  if (!SameOptions(a.options_, b.options_) || a.count_ != b.count_ ||
      a.zero_count_ != b.zero_count_ || a.zero_weight_ != b.zero_weight_ ||
      a.nan_count_ != b.nan_count_ || a.negative_count_ != b.negative_count_ ||
      a.overflow_count_ != b.overflow_count_ || a.sum() != b.sum() || a.min_ != b.min_ ||
      a.max_ != b.max_ || a.has_reference_ != b.has_reference_ ||
      a.reference_ms_ != b.reference_ms_ || a.latest_ms_ != b.latest_ms_) {
    return false;
  }
  const auto [af, al] = a.NonZeroRange();
  const auto [bf, bl] = b.NonZeroRange();
  const bool a_empty = af > al;
  const bool b_empty = bf > bl;
  if (a_empty || b_empty) return a_empty == b_empty;
  if (al - af != bl - bf) return false;
  if (a.offset_ + static_cast<std::int32_t>(af) != b.offset_ + static_cast<std::int32_t>(bf)) {
    return false;
  }
  return std::equal(a.bins_.begin() + static_cast<std::ptrdiff_t>(af),
                    a.bins_.begin() + static_cast<std::ptrdiff_t>(al) + 1,
                    b.bins_.begin() + static_cast<std::ptrdiff_t>(bf));
}

// ---- wire format ----
//
// "GWSK" u8 version=1 u8 flags(1 decay, 2 has_reference)
// f64 relative_accuracy, f64 min_indexable_value
// [decay] varint half_life_ms, zigzag reference_ms, zigzag latest_ms, f64 zero_weight
// varint count, zero_count, nan_count, negative_count, overflow_count
// f64 sum, min, max
// zigzag first_key, varint n, then n bins: varint counts (no decay) or f32 weights (decay),
// trimmed to the first..last non-zero bucket
// u32 CRC-32 of everything before it.

std::string UsageSketch::Serialize() const {
  Writer w;
  w.Raw(kMagic, sizeof kMagic);
  w.U8(kVersion);
  w.U8(static_cast<std::uint8_t>((decaying() ? kFlagDecay : 0) |
                                 (has_reference_ ? kFlagHasReference : 0)));
  w.F64(options_.relative_accuracy);
  w.F64(options_.min_indexable_value);
  if (decaying()) {
    w.Varint(static_cast<std::uint64_t>(options_.decay_half_life.count()));
    w.Signed(reference_ms_);
    w.Signed(latest_ms_);
    w.F64(zero_weight_);
  }
  w.Varint(count_);
  w.Varint(zero_count_);
  w.Varint(nan_count_);
  w.Varint(negative_count_);
  w.Varint(overflow_count_);
  w.F64(sum());  // the compensation term is not kept: sum() is what round-trips, bit for bit
  w.F64(min_);
  w.F64(max_);
  const auto [first, last] = NonZeroRange();
  if (first > last) {
    w.Signed(0);
    w.Varint(0);
  } else {
    w.Signed(offset_ + static_cast<std::int64_t>(first));
    w.Varint(last - first + 1);
    for (std::size_t i = first; i <= last; ++i) {
      if (decaying()) {
        w.F32(BinWeight(i));
      } else {
        w.Varint(bins_[i]);
      }
    }
  }
  const std::uint32_t crc = Crc32(w.str());
  w.Fixed(crc, 4);
  return std::move(w.str());
}

base::Result<UsageSketch> UsageSketch::Deserialize(std::string_view bytes) {
  constexpr std::size_t kMinSize = sizeof kMagic + 2 + 4;
  if (bytes.size() < kMinSize) {
    return base::InvalidArgument("usage sketch: truncated input (" + std::to_string(bytes.size()) +
                                 " bytes, need at least " + std::to_string(kMinSize) + ")");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return base::InvalidArgument("usage sketch: not a usage sketch (bad magic)");
  }
  if (static_cast<std::uint8_t>(bytes[4]) != kVersion) {
    return base::InvalidArgument("usage sketch: unsupported format version " +
                                 std::to_string(static_cast<std::uint8_t>(bytes[4])) +
                                 " (this build reads 1)");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  std::uint32_t stored_crc = 0;
  for (int i = 0; i < 4; ++i) {
    stored_crc |= std::uint32_t{static_cast<std::uint8_t>(bytes[bytes.size() - 4 + i])} << (8 * i);
  }
  if (Crc32(body) != stored_crc) {
    return base::InvalidArgument("usage sketch: checksum mismatch (corrupt or truncated input)");
  }

  Reader r(body.substr(sizeof kMagic + 1));
  std::uint8_t flags = 0;
  RETURN_IF_ERROR(r.U8(flags, "flags"));
  if (flags & ~(kFlagDecay | kFlagHasReference)) return Corrupt("unknown flags");
  const bool decay = flags & kFlagDecay;
  Options options;
  RETURN_IF_ERROR(r.F64(options.relative_accuracy, "relative_accuracy"));
  RETURN_IF_ERROR(r.F64(options.min_indexable_value, "min_indexable_value"));
  std::int64_t half_life = 0;
  std::int64_t reference_ms = 0;
  std::int64_t latest_ms = 0;
  double zero_weight = 0;
  if (decay) {
    std::uint64_t h = 0;
    RETURN_IF_ERROR(r.Varint(h, "decay_half_life"));
    if (h == 0 || h > static_cast<std::uint64_t>(kMaxHalfLifeMs)) {
      return Corrupt("decay_half_life out of range");
    }
    half_life = static_cast<std::int64_t>(h);
    RETURN_IF_ERROR(r.Signed(reference_ms, "reference_ms"));
    RETURN_IF_ERROR(r.Signed(latest_ms, "latest_ms"));
    RETURN_IF_ERROR(r.F64(zero_weight, "zero_weight"));
    if (flags & kFlagHasReference) {
      if (reference_ms < -kMaxAbsMillis || reference_ms > kMaxAbsMillis ||
          latest_ms < -kMaxAbsMillis || latest_ms > kMaxAbsMillis || reference_ms % half_life != 0) {
        return Corrupt("decay reference time out of range or not a multiple of the half-life");
      }
    } else if (reference_ms != 0 || latest_ms != 0) {
      return Corrupt("reference time set without the reference flag");
    }
    if (!(std::isfinite(zero_weight) && zero_weight >= 0)) {
      return Corrupt("zero weight not finite or negative");
    }
  } else if (flags & kFlagHasReference) {
    return Corrupt("reference time without decay");
  }
  options.decay_half_life = std::chrono::milliseconds(half_life);
  if (base::Status st = ValidateOptions(options); !st.ok()) return Corrupt(st.message());
  UsageSketch s(options);
  s.has_reference_ = (flags & kFlagHasReference) != 0;
  s.reference_ms_ = reference_ms;
  s.latest_ms_ = latest_ms;
  s.zero_weight_ = zero_weight;

  RETURN_IF_ERROR(r.Varint(s.count_, "count"));
  RETURN_IF_ERROR(r.Varint(s.zero_count_, "zero_count"));
  RETURN_IF_ERROR(r.Varint(s.nan_count_, "nan_count"));
  RETURN_IF_ERROR(r.Varint(s.negative_count_, "negative_count"));
  RETURN_IF_ERROR(r.Varint(s.overflow_count_, "overflow_count"));
  RETURN_IF_ERROR(r.F64(s.sum_hi_, "sum"));
  RETURN_IF_ERROR(r.F64(s.min_, "min"));
  RETURN_IF_ERROR(r.F64(s.max_, "max"));
  std::int64_t first_key = 0;
  std::uint64_t n = 0;
  RETURN_IF_ERROR(r.Signed(first_key, "first bucket key"));
  RETURN_IF_ERROR(r.Varint(n, "bucket count"));

  // Key bounds of the mapping: nothing indexable lies outside.
  const std::int64_t key_lo = s.KeyOf(options.min_indexable_value);
  const std::int64_t key_hi = s.KeyOf(std::numeric_limits<double>::max());
  const std::size_t bytes_per_bin = decay ? 4 : 1;
  if (n > r.remaining() / bytes_per_bin) return Corrupt("bucket count exceeds the input size");
  if (n > 0 && (first_key < key_lo || first_key + static_cast<std::int64_t>(n) - 1 > key_hi)) {
    return Corrupt("bucket keys outside the indexable range");
  }

  if (s.count_ == 0) {
    if (s.zero_count_ != 0 || n != 0 || s.sum_hi_ != 0 ||
        s.min_ != std::numeric_limits<double>::infinity() ||
        s.max_ != -std::numeric_limits<double>::infinity() || zero_weight != 0) {
      return Corrupt("empty sketch with non-empty fields");
    }
  } else {
    if (!(s.min_ >= 0 && s.min_ <= s.max_ && s.max_ <= std::numeric_limits<double>::max())) {
      return Corrupt("min/max not ordered, negative or infinite");
    }
    if (!(std::isfinite(s.sum_hi_) && s.sum_hi_ >= 0)) {
      return Corrupt("sum not finite or negative");
    }
    if (s.zero_count_ > s.count_) return Corrupt("zero_count exceeds count");
    const bool has_small = s.min_ < options.min_indexable_value;
    if (has_small != (s.zero_count_ > 0)) return Corrupt("zero bucket disagrees with min");
    if (n > 0) {
      const std::int64_t min_key = s.KeyOf(std::max(s.min_, options.min_indexable_value));
      const std::int64_t max_key = s.max_ >= options.min_indexable_value ? s.KeyOf(s.max_) : key_lo - 1;
      if (first_key < min_key || first_key + static_cast<std::int64_t>(n) - 1 > max_key) {
        return Corrupt("bucket keys outside [min, max]");
      }
    }
  }

  s.bins_.assign(static_cast<std::size_t>(n), 0);
  s.offset_ = static_cast<std::int32_t>(first_key);
  std::uint64_t total = s.zero_count_;
  for (std::size_t i = 0; i < n; ++i) {
    if (decay) {
      float w = 0;
      RETURN_IF_ERROR(r.F32(w, "bucket weight"));
      if (!(std::isfinite(w) && w >= 0)) return Corrupt("bucket weight not finite or negative");
      s.bins_[i] = std::bit_cast<std::uint32_t>(w + 0.0f);
    } else {
      std::uint64_t c = 0;
      RETURN_IF_ERROR(r.Varint(c, "bucket count"));
      if (c > kMaxCount) return Corrupt("bucket count above 2^32 - 1");
      s.bins_[i] = static_cast<std::uint32_t>(c);
      total += c;  // n < 2^40 buckets of < 2^32: no wrap before the check below
      if (total > s.count_) return Corrupt("bucket total exceeds count");
    }
  }
  if (r.remaining() != 0) return Corrupt(std::to_string(r.remaining()) + " trailing bytes");
  if (!decay && total != s.count_) {
    return Corrupt("count " + std::to_string(s.count_) + " differs from the bucket total " +
                   std::to_string(total));
  }
  if (n > 0 && (s.bins_.front() == 0 || s.bins_.back() == 0)) {
    return Corrupt("bucket range not trimmed");
  }
  return s;
}

}  // namespace gpuwise::model
