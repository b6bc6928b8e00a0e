// Clock: the only source of "now" in gpuwise. Real code takes a Clock&; tests pass a FakeClock.
// Thread-safety: SystemClock is stateless; FakeClock is safe to read and advance from many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gpuwise::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, Unix epoch, milliseconds.
  virtual std::int64_t NowUnixMillis() const = 0;
  // Monotonic time for measuring durations, nanoseconds from an arbitrary origin.
  virtual std::int64_t MonotonicNanos() const = 0;
  // Blocks (real clock) or advances (fake clock) by d.
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowUnixMillis() const override;
  std::int64_t MonotonicNanos() const override;
  void SleepFor(std::chrono::nanoseconds d) override;
  static SystemClock& Get();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t start_unix_millis = 1'700'000'000'000) : now_ms_(start_unix_millis) {}
  std::int64_t NowUnixMillis() const override { return now_ms_.load(); }
  std::int64_t MonotonicNanos() const override { return mono_ns_.load(); }
  // Sleeping on a fake clock advances it: retries with backoff run instantly in tests.
  void SleepFor(std::chrono::nanoseconds d) override { Advance(d); }
  void Advance(std::chrono::nanoseconds d) {
    mono_ns_ += d.count();
    now_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

 private:
  std::atomic<std::int64_t> now_ms_;
  std::atomic<std::int64_t> mono_ns_{0};
};

}  // namespace gpuwise::base
