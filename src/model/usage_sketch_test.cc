// Tests for UsageSketch against exact truth: quantiles within alpha on skewed GPU-like data, exact
// count/sum/min/max, merge == sketch of the concatenation, wire round trip, corrupt bytes, decay.
#include "model/usage_sketch.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace gpuwise::model {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr double kQuantiles[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};

// The rank definition documented in usage_sketch.h: x[floor(q * (n - 1))] of the sorted samples.
double ExactQuantile(std::vector<double> values, double q) {
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

// Within alpha relative error of the exact value; below min_indexable an absolute error < it.
::testing::AssertionResult WithinAlpha(double estimate, double exact, double alpha,
                                       double min_indexable = 1e-9) {
  const bool ok = exact < min_indexable ? std::fabs(estimate - exact) < min_indexable
                                        : std::fabs(estimate - exact) <= alpha * exact;
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "estimate " << estimate << " vs exact " << exact
                                       << " (relative error " << std::fabs(estimate - exact) / exact
                                       << ", alpha " << alpha << ")";
}

UsageSketch Sketch(const std::vector<double>& values, UsageSketch::Options options = {}) {
  auto created = UsageSketch::Create(options);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  UsageSketch s = std::move(created).value();
  for (double v : values) s.Insert(v);
  return s;
}

void ExpectQuantilesWithinAlpha(const std::vector<double>& values, double alpha = 0.01) {
  UsageSketch::Options options;
  options.relative_accuracy = alpha;
  const UsageSketch s = Sketch(values, options);
  for (double q : kQuantiles) {
    EXPECT_TRUE(WithinAlpha(s.Quantile(q), ExactQuantile(values, q), alpha)) << "q = " << q;
  }
  EXPECT_EQ(s.Quantile(0.0), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(s.Quantile(1.0), *std::max_element(values.begin(), values.end()));
}

// 4 weeks at 15 s.
constexpr std::size_t kFourWeeks = 161280;

std::vector<double> LogNormal(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(-3.0, 1.2);  // SM activity-like, heavy right skew
  std::vector<double> v(n);
  for (double& x : v) x = std::min(1.0, d(rng));
  return v;
}

std::vector<double> Pareto(std::size_t n, std::uint32_t seed) {
  // Framebuffer bytes: x_m = 1 MiB, shape 1.1 (infinite variance), capped at 80 GiB.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = std::min(80.0 * base::kGiB, base::kMiB / std::pow(1.0 - u(rng), 1.0 / 1.1));
  return v;
}

std::vector<double> IdleVsBusy(std::size_t n, std::uint32_t seed) {
  // 55% exact zeros (idle GPU), 15% near-idle noise, 30% busy around 0.85.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> busy(0.85, 0.08);
  std::vector<double> v(n);
  for (double& x : v) {
    const double r = u(rng);
    if (r < 0.55) {
      x = 0.0;
    } else if (r < 0.70) {
      x = 0.001 + 0.01 * u(rng);
    } else {
      x = std::clamp(busy(rng), 0.001, 1.0);
    }
  }
  return v;
}

// ---- quantiles against exact truth ----

TEST(UsageSketchTest, QuantilesWithinAlphaOnLogNormal) { ExpectQuantilesWithinAlpha(LogNormal(kFourWeeks, 1)); }

TEST(UsageSketchTest, QuantilesWithinAlphaOnHeavyTailedPareto) { ExpectQuantilesWithinAlpha(Pareto(kFourWeeks, 2)); }

TEST(UsageSketchTest, QuantilesWithinAlphaOnIdleVsBusyWithExactZeros) {
  const std::vector<double> v = IdleVsBusy(kFourWeeks, 3);
  ExpectQuantilesWithinAlpha(v);
  const UsageSketch s = Sketch(v);
  EXPECT_EQ(s.Quantile(0.5), 0.0);  // most of the time the GPU is idle: exactly 0, not "small"
  EXPECT_GT(s.zero_count(), kFourWeeks / 2);
}

TEST(UsageSketchTest, QuantilesWithinOtherAlphas) {
  for (double alpha : {0.001, 0.005, 0.02, 0.05, 0.2}) {
    SCOPED_TRACE(alpha);
    ExpectQuantilesWithinAlpha(Pareto(20000, 4), alpha);
    ExpectQuantilesWithinAlpha(LogNormal(20000, 5), alpha);
  }
}

// The polynomial log replacement keeps the guarantee everywhere in the double range: with x/2, x,
// 2x inserted, the median is x's bucket, clamped to [x/2, 2x] (which cannot hide an error > alpha).
TEST(UsageSketchTest, MappingKeepsTheGuaranteeAcrossTheWholeRange) {
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> log2x(-29.0, 1000.0);
  for (double alpha : {1e-4, 0.001, 0.01, 0.05, 0.2, 0.5}) {
    UsageSketch::Options options;
    options.relative_accuracy = alpha;
    for (int i = 0; i < 20000; ++i) {
      const double x = std::exp2(log2x(rng));
      UsageSketch s = Sketch({x / 2, x, 2 * x}, options);
      ASSERT_TRUE(WithinAlpha(s.Quantile(0.5), x, alpha)) << "x = " << x;
    }
  }
  // Exact powers of two and their neighbours sit on octave edges of the mapping.
  for (int e = -29; e < 1020; ++e) {
    for (double x : {std::ldexp(1.0, e), std::nextafter(std::ldexp(1.0, e), 0.0)}) {
      UsageSketch s = Sketch({x / 2, x, 2 * x});
      ASSERT_TRUE(WithinAlpha(s.Quantile(0.5), x, 0.01)) << "x = " << x;
    }
  }
}

// ---- exact statistics and edge cases ----

TEST(UsageSketchTest, CountSumMinMaxAreExact) {
  const std::vector<double> v = Pareto(kFourWeeks, 7);
  const UsageSketch s = Sketch(v);
  EXPECT_EQ(s.count(), v.size());
  EXPECT_EQ(s.min(), *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(s.max(), *std::max_element(v.begin(), v.end()));
  long double exact_sum = 0;
  for (double x : v) exact_sum += x;
  EXPECT_NEAR(s.sum(), static_cast<double>(exact_sum), 1e-15 * static_cast<double>(exact_sum));
  EXPECT_EQ(s.TotalWeight(), static_cast<double>(v.size()));
}

TEST(UsageSketchTest, EmptyIsUnknown) {
  const UsageSketch s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  EXPECT_TRUE(std::isnan(s.Quantile(0.0)));
  EXPECT_TRUE(std::isnan(s.Quantile(1.0)));
  EXPECT_TRUE(std::isnan(s.min()));
  EXPECT_TRUE(std::isnan(s.max()));
  EXPECT_EQ(s.sum(), 0.0);
}

TEST(UsageSketchTest, RejectsNanNegativeAndInfinity) {
  UsageSketch s;
  s.Insert(std::numeric_limits<double>::quiet_NaN());
  s.Insert(-1.0);
  s.Insert(-std::numeric_limits<double>::infinity());
  s.Insert(std::numeric_limits<double>::infinity());
  s.Insert(std::numeric_limits<double>::quiet_NaN(), 1000);
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.nan_count(), 2u);
  EXPECT_EQ(s.negative_count(), 2u);
  EXPECT_EQ(s.overflow_count(), 1u);
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  s.Insert(-0.0);
  s.Insert(0.25);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.zero_count(), 1u);
  EXPECT_EQ(s.min(), 0.0);
  EXPECT_FALSE(std::signbit(s.min()));
  EXPECT_EQ(s.Quantile(1.0), 0.25);
}

TEST(UsageSketchTest, InsertManyEqualsInsertingOneByOne) {
  std::vector<double> v = IdleVsBusy(20000, 18);
  const std::vector<double> wide = Pareto(20000, 19);
  v.insert(v.end(), wide.begin(), wide.end());
  for (std::size_t i = 0; i < v.size(); i += 997) v[i] = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 1; i < v.size(); i += 1999) v[i] = -1.0;
  v.push_back(std::numeric_limits<double>::infinity());
  UsageSketch batch;
  batch.InsertMany(std::vector<double>(v.begin(), v.begin() + 30000));
  batch.InsertMany(std::vector<double>(v.begin() + 30000, v.end()));
  const UsageSketch one_by_one = Sketch(v);
  EXPECT_TRUE(batch == one_by_one);
  EXPECT_EQ(batch.nan_count(), one_by_one.nan_count());
  EXPECT_GT(batch.nan_count(), 0u);
}

TEST(UsageSketchTest, OutOfRangeQuantileIsUnknown) {
  const UsageSketch s = Sketch({1, 2, 3});
  EXPECT_TRUE(std::isnan(s.Quantile(-0.1)));
  EXPECT_TRUE(std::isnan(s.Quantile(1.1)));
  EXPECT_TRUE(std::isnan(s.Quantile(std::numeric_limits<double>::quiet_NaN())));
}

TEST(UsageSketchTest, AnswersAreClampedIntoMinMax) {
  const UsageSketch s = Sketch(std::vector<double>(100, 0.37));
  for (double q : kQuantiles) EXPECT_EQ(s.Quantile(q), 0.37) << q;
}

TEST(UsageSketchTest, BelowMinIndexableReadsAsZero) {
  UsageSketch::Options options;
  options.min_indexable_value = 1e-3;
  const UsageSketch s = Sketch({0.0, 1e-5, 2e-4, 0.5}, options);
  EXPECT_EQ(s.zero_count(), 3u);
  EXPECT_EQ(s.Quantile(0.5), 0.0);  // 1e-5 is in the zero bucket: read as 0 (error < 1e-3)
  EXPECT_EQ(s.Quantile(0.0), 0.0);
}

TEST(UsageSketchTest, InvalidOptionsAreRejected) {
  UsageSketch::Options o;
  o.relative_accuracy = 0.0;
  EXPECT_EQ(UsageSketch::Create(o).status().code(), base::Code::kInvalidArgument);
  o = {};
  o.relative_accuracy = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(UsageSketch::Create(o).ok());
  o = {};
  o.min_indexable_value = 0.0;
  EXPECT_FALSE(UsageSketch::Create(o).ok());
  o = {};
  o.decay_half_life = milliseconds(-1);
  EXPECT_FALSE(UsageSketch::Create(o).ok());
}

// ---- memory ----

TEST(UsageSketchTest, FitsTheMemoryBudgetForTypicalGpuSeries) {
  constexpr std::size_t kBudget = 2560;  // 2.5 KiB
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> log_ratio(std::log(0.001), 0.0);
  std::uniform_real_distribution<double> log_bytes(std::log(base::kMiB), std::log(80 * base::kGiB));
  UsageSketch ratio;
  UsageSketch bytes;
  for (std::size_t i = 0; i < kFourWeeks; ++i) {
    ratio.Insert(std::exp(log_ratio(rng)));
    bytes.Insert(std::exp(log_bytes(rng)));
  }
  // The extremes themselves, so that both series span their whole range.
  for (double x : {0.001, 1.0}) ratio.Insert(x);
  for (double x : {base::kMiB, 80 * base::kGiB}) bytes.Insert(x);
  EXPECT_LE(ratio.MemoryBytes(), kBudget) << ratio.BucketCount() << " buckets";
  EXPECT_LE(bytes.MemoryBytes(), kBudget) << bytes.BucketCount() << " buckets";
  EXPECT_LE(ratio.BucketCount(), 349u + 16u);
  EXPECT_LE(bytes.BucketCount(), 572u + 16u);
  // Increasing data (a slowly filling framebuffer) grows the store step by step, same bound.
  UsageSketch growing;
  for (double x = base::kMiB; x <= 80 * base::kGiB; x *= 1.001) growing.Insert(x);
  EXPECT_LE(growing.MemoryBytes(), kBudget);
}

// ---- merge ----

TEST(UsageSketchTest, MergeEqualsSketchOfAllData) {
  const std::vector<double> a = IdleVsBusy(50000, 9);
  const std::vector<double> b = Pareto(70000, 10);  // a far wider range: the store must grow
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  UsageSketch merged = Sketch(a);
  ASSERT_TRUE(merged.Merge(Sketch(b)).ok());
  const UsageSketch whole = Sketch(all);
  EXPECT_TRUE(merged == whole);
  for (double q : kQuantiles) EXPECT_EQ(merged.Quantile(q), whole.Quantile(q)) << q;
  EXPECT_EQ(merged.Serialize(), whole.Serialize());
}

TEST(UsageSketchTest, MergeOfTwentyEightDailySketches) {
  const std::vector<double> all = LogNormal(kFourWeeks, 11);
  const std::size_t per_day = kFourWeeks / 28;
  UsageSketch month;
  for (std::size_t d = 0; d < 28; ++d) {
    UsageSketch day;
    for (std::size_t i = d * per_day; i < (d + 1) * per_day; ++i) day.Insert(all[i]);
    ASSERT_TRUE(month.Merge(day).ok());
  }
  EXPECT_TRUE(month == Sketch(all));
}

TEST(UsageSketchTest, MergeWithItselfDoubles) {
  UsageSketch s = Sketch({0.0, 0.5, 0.7});
  ASSERT_TRUE(s.Merge(s).ok());
  EXPECT_TRUE(s == Sketch({0.0, 0.5, 0.7, 0.0, 0.5, 0.7}));
}

TEST(UsageSketchTest, MergeRejectsDifferentOptions) {
  UsageSketch one_percent = Sketch({1.0});
  UsageSketch::Options o;
  o.relative_accuracy = 0.02;
  const UsageSketch two_percent = Sketch({2.0}, o);
  const base::Status st = one_percent.Merge(two_percent);
  EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("relative_accuracy"), std::string::npos) << st.message();
  EXPECT_TRUE(one_percent == Sketch({1.0}));  // unchanged
  o = {};
  o.decay_half_life = kVpaHalfLife;
  EXPECT_FALSE(one_percent.Merge(Sketch({2.0}, o)).ok());
}

// ---- wire format ----

TEST(UsageSketchTest, SerializeRoundTrips) {
  std::vector<double> v = IdleVsBusy(kFourWeeks, 12);
  UsageSketch s = Sketch(v);
  s.Insert(std::numeric_limits<double>::quiet_NaN());
  s.Insert(-3.0);
  const std::string bytes = s.Serialize();
  auto back = UsageSketch::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == s);
  EXPECT_EQ(back->nan_count(), 1u);
  EXPECT_EQ(back->Serialize(), bytes);
  for (double q : kQuantiles) EXPECT_EQ(back->Quantile(q), s.Quantile(q));
  EXPECT_LT(bytes.size(), 1200u);  // varint counts: ~2-3 bytes a bucket

  for (const UsageSketch& other : {UsageSketch(), Sketch({0.0}), Sketch(Pareto(1000, 13))}) {
    auto r = UsageSketch::Deserialize(other.Serialize());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r == other);
  }
}

TEST(UsageSketchTest, DecayingSketchRoundTrips) {
  UsageSketch::Options o;
  o.decay_half_life = kVpaHalfLife;
  UsageSketch s = *UsageSketch::Create(o);
  std::int64_t t = 1'700'000'000'000;
  for (double x : LogNormal(5000, 14)) s.Insert(x, t += 15000);
  s.Insert(0.0, t);
  auto back = UsageSketch::Deserialize(s.Serialize());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == s);
  EXPECT_EQ(back->reference_ms(), s.reference_ms());
}

std::uint32_t TestCrc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

// Rewrites the CRC trailer so that the structural validation (not the checksum) is what is tested.
std::string WithFixedCrc(std::string bytes) {
  const std::uint32_t crc = TestCrc32(std::string_view(bytes).substr(0, bytes.size() - 4));
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  return bytes;
}

TEST(UsageSketchTest, CorruptOrTruncatedBytesAreRejected) {
  const std::string good = Sketch(LogNormal(3000, 15)).Serialize();
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = UsageSketch::Deserialize(std::string_view(good).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("usage sketch"), std::string::npos);
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    auto r = UsageSketch::Deserialize(bad);
    ASSERT_FALSE(r.ok()) << "flip at byte " << i << " accepted";
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  }
  EXPECT_FALSE(UsageSketch::Deserialize(good + "x").ok());
  auto garbage = UsageSketch::Deserialize("not a sketch at all");
  EXPECT_NE(garbage.status().message().find("bad magic"), std::string::npos)
      << garbage.status().message();
}

TEST(UsageSketchTest, InconsistentFieldsAreRejectedEvenWithAValidChecksum) {
  const UsageSketch s = Sketch({0.0, 0.1, 0.2, 0.3});
  const std::string good = s.Serialize();
  // The layout: magic(4) version(1) flags(1) alpha(8) min_indexable(8) then varint count at 22.
  ASSERT_EQ(good[22], 4);
  std::string bad = good;
  bad[22] = 5;  // count 5 but the buckets hold 4
  auto r = UsageSketch::Deserialize(WithFixedCrc(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("count"), std::string::npos) << r.status().message();
  bad = good;
  bad[13] = 0x7F;  // alpha's top byte: a huge alpha
  r = UsageSketch::Deserialize(WithFixedCrc(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("relative_accuracy"), std::string::npos);

  // Every single-byte change with a repaired checksum: rejected or a usable, self-consistent sketch.
  std::mt19937 rng(16);
  for (std::size_t i = 4; i + 4 < good.size(); ++i) {
    for (int k = 0; k < 8; ++k) {
      std::string mutated = good;
      mutated[i] = static_cast<char>(rng());
      auto m = UsageSketch::Deserialize(WithFixedCrc(mutated));
      if (!m.ok()) {
        EXPECT_EQ(m.status().code(), base::Code::kInvalidArgument);
        continue;
      }
      for (double q : kQuantiles) {
        const double v = m->Quantile(q);
        if (m->count() > 0) {
          EXPECT_TRUE(v >= m->min() && v <= m->max()) << i << " " << q;
        }
      }
      auto again = UsageSketch::Deserialize(m->Serialize());
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(*again == *m);
    }
  }
}

std::string Varint(std::uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>(v | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}

TEST(UsageSketchTest, MergeThatWouldOverflowABucketFailsAndLeavesTheSketchUnchanged) {
  // A sketch of 2^32 - 1 samples of 0.5, written by hand: 4 billion inserts would take too long.
  const std::string one = Sketch({0.5}).Serialize();
  ASSERT_EQ(one.size(), 58u);  // header 22, 5 counters, 3 doubles, key, n = 1, one count, CRC
  ASSERT_EQ(one[22], 1);       // count
  ASSERT_EQ(one[53], 1);       // the one bucket
  const std::string max = Varint(0xFFFFFFFFu);
  std::string full = one.substr(0, 22) + max + one.substr(23, 53 - 23) + max + one.substr(54);
  auto big = UsageSketch::Deserialize(WithFixedCrc(full));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->count(), 0xFFFFFFFFu);
  const UsageSketch before = *big;
  const base::Status st = big->Merge(Sketch({0.5}));
  EXPECT_EQ(st.code(), base::Code::kOutOfRange) << st.ToString();
  EXPECT_TRUE(*big == before);
  EXPECT_TRUE(big->Merge(Sketch({0.9})).ok());  // another bucket is fine
  big->Insert(0.5);                              // the saturated bucket rejects, counted
  EXPECT_EQ(big->overflow_count(), 1u);
  EXPECT_EQ(big->count(), 0x100000000u);
}

// ---- decay ----

UsageSketch Decaying(milliseconds half_life = kVpaHalfLife) {
  UsageSketch::Options o;
  o.decay_half_life = half_life;
  return *UsageSketch::Create(o);
}

TEST(UsageSketchTest, ASampleOneHalfLifeOlderCountsHalf) {
  const std::int64_t h = milliseconds(kVpaHalfLife).count();
  const std::int64_t t0 = 1'700'000'123'456;
  UsageSketch s = Decaying();
  s.Insert(1.0, t0);
  const double w_old = s.TotalWeight();
  s.Insert(2.0, t0 + h);
  EXPECT_DOUBLE_EQ(s.TotalWeight(), 3.0 * w_old);  // the newer sample weighs 2x
  // Cumulative weight: 1/3 at 1.0, then 2/3 more at 2.0.
  EXPECT_NEAR(s.Quantile(0.33), 1.0, 0.01);
  EXPECT_NEAR(s.Quantile(0.34), 2.0, 0.02);
  // count, sum, min, max stay undecayed.
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.sum(), 3.0);
  EXPECT_EQ(s.min(), 1.0);
}

TEST(UsageSketchTest, DecayFavoursRecentUsage) {
  const std::int64_t step = 15000;
  std::int64_t t = 1'700'000'000'000;
  UsageSketch decaying = Decaying();
  UsageSketch flat;
  // A week busy at ~0.9 then a week idle at ~0.05: equal counts.
  for (int i = 0; i < 40320; ++i) {
    decaying.Insert(0.9, t += step);
    flat.Insert(0.9);
  }
  for (int i = 0; i < 40320; ++i) {
    decaying.Insert(0.05, t += step);
    flat.Insert(0.05);
  }
  EXPECT_NEAR(flat.Quantile(0.6), 0.9, 0.009);
  // The busy week is 1..2 weeks old: 2^-7 .. 2^-14 relative weight, under 1% of the total.
  EXPECT_NEAR(decaying.Quantile(0.98), 0.05, 0.05 * 0.01);
  EXPECT_EQ(decaying.Quantile(1.0), 0.9);  // max stays exact
}

TEST(UsageSketchTest, DecayRescalesWithoutOverflowOverYears) {
  UsageSketch s = Decaying(hours(1));
  std::int64_t t = 0;
  for (int i = 0; i < 3 * 365 * 24; ++i) s.Insert(i % 2 ? 0.25 : 0.5, t += 3'600'000);  // 3 years hourly
  EXPECT_TRUE(std::isfinite(s.TotalWeight()));
  EXPECT_GT(s.TotalWeight(), 0.0);
  EXPECT_GT(s.reference_ms(), 0);
  EXPECT_EQ(s.reference_ms() % 3'600'000, 0);
  const double q = s.Quantile(0.5);
  EXPECT_NEAR(q, 0.25, 0.0025);  // the newest sample is 0.25: weight 4/3 of 2 in all
  auto back = UsageSketch::Deserialize(s.Serialize());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == s);
}

TEST(UsageSketchTest, DecayingMergeMatchesTheConcatenation) {
  const std::int64_t h = milliseconds(kVpaHalfLife).count();
  const std::vector<double> v = LogNormal(20000, 17);
  std::int64_t t = 1'700'000'000'000;
  UsageSketch early = Decaying();
  UsageSketch late = Decaying();
  UsageSketch whole = Decaying();
  for (std::size_t i = 0; i < v.size(); ++i) {
    t += h / 500;  // 40 half-lives in all: forces a rescale and a different reference in `late`
    (i < v.size() / 2 ? early : late).Insert(v[i], t);
    whole.Insert(v[i], t);
  }
  ASSERT_NE(early.reference_ms(), late.reference_ms());
  UsageSketch a = early;
  ASSERT_TRUE(a.Merge(late).ok());
  UsageSketch b = late;
  ASSERT_TRUE(b.Merge(early).ok());
  // Weights are in units of a sample at reference_ms(); compare them at whole's reference.
  auto weight_at_whole_reference = [&](const UsageSketch& m) {
    return m.TotalWeight() * std::exp2(static_cast<double>(m.reference_ms() - whole.reference_ms()) /
                                        static_cast<double>(h));
  };
  for (const UsageSketch* m : {&a, &b}) {
    EXPECT_EQ(m->reference_ms(), late.reference_ms());
    EXPECT_NEAR(weight_at_whole_reference(*m), whole.TotalWeight(), whole.TotalWeight() * 1e-5);
    EXPECT_EQ(m->count(), whole.count());
    for (double q : kQuantiles) EXPECT_NEAR(m->Quantile(q), whole.Quantile(q), whole.Quantile(q) * 0.021) << q;
  }
}

// ---- properties (rapidcheck) ----

// Positive doubles spread over ~30 orders of magnitude, with repeats (a small pool) now and then.
rc::Gen<std::vector<double>> PositiveSeries() {
  auto value = rc::gen::map(
      rc::gen::pair(rc::gen::inRange<std::int64_t>(1, std::int64_t{1} << 52), rc::gen::inRange(-60, 40)),
      [](std::pair<std::int64_t, int> p) { return std::ldexp(static_cast<double>(p.first), p.second - 52); });
  return rc::gen::nonEmpty(rc::gen::container<std::vector<double>>(value));
}

RC_GTEST_PROP(UsageSketchProperty, EveryQuantileWithinAlphaOfExact, ()) {
  const std::vector<double> v = *PositiveSeries();
  const double alpha = *rc::gen::element(0.001, 0.01, 0.05);
  const double q = *rc::gen::map(rc::gen::inRange(0, 1001), [](int k) { return k / 1000.0; });
  UsageSketch::Options o;
  o.relative_accuracy = alpha;
  o.min_indexable_value = 1e-300;
  UsageSketch s = *UsageSketch::Create(o);
  for (double x : v) s.Insert(x);
  const double exact = ExactQuantile(v, q);
  RC_ASSERT(std::fabs(s.Quantile(q) - exact) <= alpha * exact);
  RC_ASSERT(s.count() == v.size());
  RC_ASSERT(s.max() == *std::max_element(v.begin(), v.end()));
}

RC_GTEST_PROP(UsageSketchProperty, MergeEqualsConcatenationAndRoundTrips, ()) {
  const std::vector<double> a = *PositiveSeries();
  const std::vector<double> b = *PositiveSeries();
  UsageSketch merged = Sketch(a);
  RC_ASSERT(merged.Merge(Sketch(b)).ok());
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  RC_ASSERT(merged == Sketch(all));
  auto back = UsageSketch::Deserialize(merged.Serialize());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == merged);
}

}  // namespace
}  // namespace gpuwise::model
