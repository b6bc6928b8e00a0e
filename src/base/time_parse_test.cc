#include "base/time_parse.h"

#include <gtest/gtest.h>

namespace gpuwise::base {
namespace {

TEST(ParseDurationTest, PrometheusStyleDurations) {
  EXPECT_EQ(ParseDuration("800ms")->count(), 800);
  EXPECT_EQ(ParseDuration("30s")->count(), 30000);
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("7d")->count(), 604800000);
  EXPECT_EQ(ParseDuration("2w")->count(), 1209600000);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(5400000)), "1h30m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(604800000)), "7d");
}

TEST(ParseDurationTest, BadDurationsSayWhy) {
  EXPECT_NE(ParseDuration("7days").status().message().find("unknown unit 'days'"), std::string::npos);
  EXPECT_NE(ParseDuration("m5").status().message().find("expected a number"), std::string::npos);
  EXPECT_NE(ParseDuration("30m1h").status().message().find("largest to smallest"), std::string::npos);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
}

TEST(ParseTimeTest, Rfc3339AndUnixSeconds) {
  EXPECT_EQ(*ParseTime("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*ParseTime("2023-11-14T23:13:20.5+01:00"), 1700000000500);
  EXPECT_EQ(*ParseTime("1700000000.123"), 1700000000123);
  EXPECT_EQ(FormatTime(1700000000500), "2023-11-14T22:13:20.500Z");
  EXPECT_FALSE(ParseTime("2023-13-14T22:13:20Z").ok());
  EXPECT_FALSE(ParseTime("yesterday").ok());
  EXPECT_FALSE(ParseTime("2023-11-14T22:13:20").ok());
}

}  // namespace
}  // namespace gpuwise::base
