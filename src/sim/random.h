// Deterministic randomness for the simulator: splitmix64 hashing and a counter-based generator. Portable and
// stable across compilers and library versions, unlike std::hash and std::*_distribution, so the same scenario
// and seed give the same bytes everywhere.
// Thread-safety: free functions are pure; an Rng is a plain value.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace gpuwise::sim {

inline std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline std::uint64_t Hash3(std::uint64_t a, std::uint64_t b, std::uint64_t c) { return Mix64(Mix64(Mix64(a) ^ b) ^ c); }
// FNV-1a, then mixed.
inline std::uint64_t HashString(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return Mix64(h);
}
inline double Unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }  // [0, 1)
inline double Uniform(std::uint64_t h, double lo, double hi) { return lo + (hi - lo) * Unit(h); }

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() { return Mix64(state_++ * 0x2545f4914f6cdd1dULL); }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Unit(Next()); }
  int Int(int lo, int hi_inclusive) {
    return lo + static_cast<int>(Next() % static_cast<std::uint64_t>(hi_inclusive - lo + 1));
  }
  bool Chance(double p) { return Unit(Next()) < p; }
  // Standard normal (Box-Muller).
  double Normal() {
    const double u1 = 1.0 - Unit(Next()), u2 = Unit(Next());
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Poisson(mean): inversion for small means, a rounded normal beyond 30 (error < 1% in the tails there).
  std::int64_t Poisson(double mean) {
    if (!(mean > 0)) return 0;
    if (mean > 30) {
      const double v = std::round(mean + std::sqrt(mean) * Normal());
      return v < 0 ? 0 : static_cast<std::int64_t>(v);
    }
    const double limit = std::exp(-mean);
    double p = Unit(Next());
    std::int64_t k = 0;
    while (p > limit) {
      p *= Unit(Next());
      ++k;
    }
    return k;
  }

 private:
  std::uint64_t state_;
};

// Kubernetes random suffixes use this alphabet (apimachinery rand.String: no vowels, no 0/1/3).
inline std::string KubeSuffix(std::uint64_t key, int length) {
  constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < length; ++i) s.push_back(kAlphabet[Hash3(key, static_cast<std::uint64_t>(i), 77) % kAlphabet.size()]);
  return s;
}

// An RFC 4122 version-4 layout from two random words, as Kubernetes uids look.
inline std::string UuidText(std::uint64_t a, std::uint64_t b) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

}  // namespace gpuwise::sim
