#include "base/units.h"

#include <cmath>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/log.h"

namespace gpuwise::base {
namespace {

TEST(UnitsTest, ConversionsToCanonicalUnits) {
  EXPECT_DOUBLE_EQ(FromMiB(81559).value, 81559.0 * 1048576.0);
  EXPECT_DOUBLE_EQ(FromPercent(37).value, 0.37);
  EXPECT_DOUBLE_EQ(FromMillijoules(1500).value, 1.5);
  EXPECT_DOUBLE_EQ(FromMegahertz(1410).value, 1.41e9);
  EXPECT_DOUBLE_EQ(FromMegabytesPerSecond(2).value, 2e6);
}

TEST(UnitsTest, FormattingIsExactForMoneyAndReadableForBytes) {
  EXPECT_EQ(FormatUsd({2'500'001}), "$2.500001");
  EXPECT_EQ(FormatUsd({-1}), "-$0.000001");
  EXPECT_EQ(FormatBytes(80.0 * kGiB), "80.00 GiB");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(NAN), "unknown");
  EXPECT_EQ(FormatPercent(0.123), "12.3%");
}

TEST(ClockTest, FakeClockSleepAdvancesTime) {
  FakeClock clock(1000);
  clock.SleepFor(std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.NowUnixMillis(), 2500);
  EXPECT_EQ(clock.MonotonicNanos(), 1'500'000'000);
}

TEST(LogTest, SecretsAreRedacted) {
  EXPECT_EQ(RedactSecret("eyJhbGciOiJSUzI1NiIs"), "ey***");
  EXPECT_EQ(RedactSecret("short"), "***");
  EXPECT_EQ(RedactSecret("eyJhbGciOiJSUzI1NiIs").find("hbGci"), std::string::npos);
  LogLevel l;
  EXPECT_TRUE(ParseLogLevel("debug", &l));
  EXPECT_EQ(l, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud", &l));
}

}  // namespace
}  // namespace gpuwise::base
