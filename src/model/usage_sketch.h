// UsageSketch: a mergeable, relative-error quantile sketch (DDSketch-style log buckets) for GPU telemetry.
//
// What it answers: count, sum, min, max (exact) and any quantile of a non-negative series with a
// relative-error guarantee, in ~1.4 KB for a ratio series in [0.001, 1] and ~2.3 KB for framebuffer
// bytes in [1 MiB, 80 GiB] at the default 1% (vs 645 KB to keep 161,280 float32 samples exactly).
//
// Guarantee. For alpha = Options::relative_accuracy, every quantile returned for a rank whose
// sample is >= min_indexable_value is within alpha * true_value of the true sample at that rank.
// Samples in [0, min_indexable_value) are kept in one zero bucket and reported as 0 (clamped to
// min()), i.e. with absolute error < min_indexable_value.
//
// Rank definition (what "the true quantile" means; tests use the same one). Without decay, with n
// accepted samples sorted ascending x[0] <= ... <= x[n-1]:
//     Quantile(q) ~ x[floor(q * (n - 1))]      ("lower" nearest rank; q = 0.5, n = 4 -> x[1]).
// Quantile(0) is exactly min(), Quantile(1) exactly max(); every answer is clamped into [min, max].
// With decay, the answer is the first bucket whose cumulative weight exceeds q * TotalWeight().
//
// How buckets work (and why there is no std::log on the insert path). DDSketch maps x to
// ceil(log_gamma(x)) with gamma = (1 + alpha) / (1 - alpha); a bucket (L, U] with U / L <= gamma
// answered by 2LU / (L + U) is within alpha of anything inside it. We replace log2(x) by
// Q(x) = e + P(s), where x = 2^e * (1 + s), s in [0, 1) comes from the IEEE-754 bits, and
// P(s) = a s^3 + b s^2 + c s (a = 6/35, b = -3/5, c = 10/7) is monotone with P(0) = 0, P(1) = 1, so
// Q is continuous and increasing. key = floor(Q(x) * M). A bucket is 1/M wide in Q; dQ/dln(x) =
// P'(s) (1 + s) >= 10/7 on [0, 1) (minimum at s = 0; these coefficients maximise that minimum), so
// a bucket spans at most ln(x) width (7/10)/M. Choosing M = 0.7 / ln(gamma) makes U / L <= gamma.
// Worked number, alpha = 1%: gamma = 1.0202020, ln(gamma) = 0.0200007, M = 34.999 buckets per
// octave (exact log2 would need 34.657: 0.99% more buckets). [0.001, 1] spans 9.97 octaves -> 349
// buckets -> 1,396 B of uint32 counters; [1 MiB, 80 GiB] spans 16.32 octaves -> 572 -> 2,288 B.
// The insert is a bit cast, 3 multiply-adds, a multiply, a floor and an increment: measured 5.0 ns
// per Insert() and 3.4 ns per value with InsertMany() on a 2.6 GHz core (bench/usage_sketch_bench).
// gamma is built from alpha * (1 - 1e-7) so floating-point rounding at bucket edges stays inside
// the stated alpha.
//
// Decay (optional, VPA-style). With Options::decay_half_life = H > 0, a sample at Unix time t (ms)
// has weight 2^((t - reference) / H): a sample one half-life older counts half (VPA uses H = 24 h,
// kVpaHalfLife). Weights are float32 (4 bytes a bucket, as without decay); the reference is a
// multiple of H since the Unix epoch and moves forward by whole half-lives (an exact power-of-two
// rescale) once a weight would exceed 2^32, so sketches merge exactly in alignment. count(), sum(),
// min() and max() stay exact, undecayed, over all accepted samples. Without decay, timestamps are
// ignored, every weight is 1 and counts are exact integers (uint32 per bucket, uint64 in total).
//
// Inputs. NaN is ignored (nan_count()), negatives (including -inf and never expected from
// telemetry) are rejected (negative_count()), +inf and a sample landing in a bucket that already
// holds 2^32 - 1 are rejected (overflow_count()). -0.0 is 0.
//
// Merge is exact without decay: merging sketches of A and B gives the same buckets, count, min,
// max and quantiles as a sketch of A then B; sum() is a compensated (TwoSum) double sum, so it
// agrees to the last bit except when the true sum lies within ~1e-27 relative of a rounding edge.
// With decay, merged weights equal the concatenated ones up to float32 rounding (~1e-7 relative).
//
// Memory: sizeof(UsageSketch) (160 B on x86-64) + 4 B per bucket of the observed key range (+ <= 8 spare
// buckets on a side that grew). The range grows without bound with the data's dynamic range
// (1e-9 .. 1e15 would be ~2,100 buckets, 8.4 KB); there is no collapsing store.
//
// Serialize() gives a compact, versioned, CRC-32-checked byte string; Deserialize() validates
// every field and returns InvalidArgument for corrupt or truncated input (never crashes).
//
// Thread-safety: a value type. Concurrent const calls are safe; mutation needs external locking.
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"

namespace gpuwise::model {

// The half-life the Kubernetes VPA recommender uses for CPU and memory histograms.
inline constexpr std::chrono::milliseconds kVpaHalfLife = std::chrono::hours(24);

class UsageSketch {
 public:
  struct Options {
    // alpha: relative error bound of every quantile. Allowed [1e-4, 0.5]. 1% -> ~35 buckets per
    // factor of two of dynamic range.
    double relative_accuracy = 0.01;
    // Samples in [0, min_indexable_value) go to the zero bucket and read back as 0. Allowed
    // [2.3e-308 (DBL_MIN), 1]. 1e-9 is far below any GPU ratio (DCGM reports <= 6 decimals) and
    // below one byte; the store only spends memory on the range the data actually covers.
    double min_indexable_value = 1e-9;
    // 0 = no decay (every weight is 1, exact integer counts). > 0: exponential decay with this
    // half-life (see kVpaHalfLife). Allowed [0, 100 years].
    std::chrono::milliseconds decay_half_life{0};
  };

  // A sketch with default Options (1%, no decay).
  UsageSketch();
  // Options from outside (config) are checked here; InvalidArgument names the bad field.
  static base::Result<UsageSketch> Create(const Options& options);
  static base::Status ValidateOptions(const Options& options);

  // Adds one sample. Without decay the timestamp is ignored. With decay, a sample without a
  // timestamp is taken to be at the latest timestamp seen so far (weight 1 if none yet).
  void Insert(double value);
  void Insert(double value, base::UnixMillis t_ms);
  // Same result as Insert() of each value in order, ~2x faster for a batch (for example one
  // query_range series): the running statistics stay in registers.
  void InsertMany(std::span<const double> values);

  // Adds `other` into this sketch. InvalidArgument if the options differ (alpha, min indexable
  // value or half-life); OutOfRange if a bucket count would pass 2^32 - 1. On error, *this is
  // unchanged.
  base::Status Merge(const UsageSketch& other);

  // The value at quantile q in [0, 1] (see rank definition above). NaN ("unknown") when the sketch
  // holds no sample (or, with decay, all weight has decayed to 0) or q is outside [0, 1] or NaN.
  double Quantile(double q) const;

  // Share of the weight in samples whose bucket value is below x (0..1; NaN when empty): the inverse of Quantile, to
  // the same relative error in x. Used for "idle in 90% of samples".
  double ShareBelow(double x) const;

  // Accepted samples (not NaN, negative or overflow), exact and undecayed.
  std::uint64_t count() const { return count_; }
  // Sum of accepted samples (compensated double sum); 0 when empty.
  double sum() const { return sum_hi_ + sum_lo_; }
  // Exact extremes of the accepted samples; NaN when empty.
  double min() const { return count_ ? min_ : std::numeric_limits<double>::quiet_NaN(); }
  double max() const { return count_ ? max_ : std::numeric_limits<double>::quiet_NaN(); }
  // Samples in the zero bucket ([0, min_indexable_value)), undecayed.
  std::uint64_t zero_count() const { return zero_count_; }
  std::uint64_t nan_count() const { return nan_count_; }
  std::uint64_t negative_count() const { return negative_count_; }
  std::uint64_t overflow_count() const { return overflow_count_; }
  const Options& options() const { return options_; }
  bool decaying() const { return options_.decay_half_life.count() > 0; }
  // With decay: the Unix ms at which a sample weighs 1 (a multiple of the half-life); 0 before
  // the first timestamped sample or without decay.
  base::UnixMillis reference_ms() const { return reference_ms_; }

  // Sum of weights: count() without decay; with decay, in units of a sample taken at
  // reference_ms().
  double TotalWeight() const;
  // Buckets currently allocated (the dense store's size, including spare buckets).
  std::size_t BucketCount() const { return bins_.size(); }
  // Bytes owned: the object plus the store's capacity. Not counting allocator overhead.
  std::size_t MemoryBytes() const;

  // Compact bytes: version 1, little-endian, varint counts, CRC-32 trailer. Stable across
  // platforms; Deserialize(Serialize(s)) == s.
  std::string Serialize() const;
  // InvalidArgument ("usage sketch: <what is wrong>") for corrupt, truncated or inconsistent bytes.
  static base::Result<UsageSketch> Deserialize(std::string_view bytes);

  // Same options, counts, extremes, sum and bucket contents (spare capacity and store offset
  // are ignored).
  friend bool operator==(const UsageSketch& a, const UsageSketch& b);

 private:
  explicit UsageSketch(const Options& options);

  // Coefficients of P(s) (see the header comment).
  static constexpr double kA = 6.0 / 35.0;
  static constexpr double kB = -3.0 / 5.0;
  static constexpr double kC = 10.0 / 7.0;

  // Bucket key of x, for min_indexable_value <= x <= DBL_MAX (a normal double).
  std::int32_t KeyOf(double x) const {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    const int exponent = static_cast<int>(bits >> 52) - 1023;  // sign bit is 0 here
    const double s =
        std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull) - 1.0;
    const double q = (static_cast<double>(exponent) + ((kA * s + kB) * s + kC) * s) * multiplier_;
    // floor without a libm call: |q| < 2^31 for every allowed alpha.
    const std::int32_t t = static_cast<std::int32_t>(q);
    return t - (q < static_cast<double>(t));
  }
  // The value answered for bucket `key`: 2LU/(L+U) of its bounds.
  double ValueOfKey(std::int32_t key) const;
  // Inverse of Q: the x with Q(x) = qv.
  static double InverseQ(double qv);

  void AddToSum(double value) {
    // Fast2Sum for non-negative addends: (larger - rounded sum) + smaller is the exact rounding
    // error, carried in sum_lo_.
    const double t = sum_hi_ + value;
    const double big = sum_hi_ > value ? sum_hi_ : value;
    const double small = sum_hi_ > value ? value : sum_hi_;
    sum_lo_ += (big - t) + small;
    sum_hi_ = t;
  }
  void AddStats(double value) {
    ++count_;
    AddToSum(value);
    min_ = value < min_ ? value : min_;
    max_ = value > max_ ? value : max_;
  }
  void InsertSlow(double value);
  void InsertWeighted(double value, double weight);
  // Grows bins_ so that `key` has a slot; returns its index.
  std::size_t Reserve(std::int32_t key);
  void GrowTo(std::int32_t lo_key, std::int32_t hi_key);
  // Moves the decay reference forward by n half-lives, scaling every weight by 2^-n.
  void ShiftReference(std::int64_t n);
  double WeightAt(base::UnixMillis t_ms);
  float BinWeight(std::size_t i) const { return std::bit_cast<float>(bins_[i]); }
  // Index range [first, last] of non-zero bins; first > last when none.
  std::pair<std::size_t, std::size_t> NonZeroRange() const;

  Options options_;
  double multiplier_ = 0;  // M: buckets per unit of Q (per octave).
  // Dense store: bins_[i] is bucket offset_ + i. A uint32 count without decay; the bits of a
  // float32 weight with decay (one vector either way keeps the object small).
  std::vector<std::uint32_t> bins_;
  std::int32_t offset_ = 0;
  bool has_reference_ = false;
  std::uint64_t count_ = 0;
  std::uint64_t zero_count_ = 0;
  double zero_weight_ = 0;  // decay only
  std::uint64_t nan_count_ = 0;
  std::uint64_t negative_count_ = 0;
  std::uint64_t overflow_count_ = 0;
  double sum_hi_ = 0;
  double sum_lo_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  base::UnixMillis reference_ms_ = 0;
  base::UnixMillis latest_ms_ = 0;
};

inline void UsageSketch::Insert(double value) {
  // Fast path: an indexable value, no decay, its bucket already allocated and not saturated.
  if (value >= options_.min_indexable_value && value <= std::numeric_limits<double>::max() &&
      !decaying()) {
    const std::uint32_t i = static_cast<std::uint32_t>(KeyOf(value) - offset_);
    if (i < bins_.size() && bins_[i] != std::numeric_limits<std::uint32_t>::max()) {
      ++bins_[i];
      AddStats(value);
      return;
    }
  }
  InsertSlow(value);
}

}  // namespace gpuwise::model
