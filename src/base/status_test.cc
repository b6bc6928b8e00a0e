#include "base/status.h"

#include <gtest/gtest.h>

namespace gpuwise::base {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgument("not positive: " + std::to_string(x));
  return x;
}

Result<int> Doubled(int x) {
  ASSIGN_OR_RETURN(int v, ParsePositive(x));
  return v * 2;
}

Status Chain(int x) {
  RETURN_IF_ERROR(ParsePositive(x).status());
  return Status::Ok();
}

TEST(StatusTest, ErrorsPropagateWithTheirMessage) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().ToString(), "INVALID_ARGUMENT: not positive: -1");
  EXPECT_TRUE(Chain(1).ok());
  EXPECT_EQ(Chain(0).Annotate("reading flag --x").message(), "reading flag --x: not positive: 0");
}

TEST(StatusDeathTest, ValueOfAnErrorIsABugAndAborts) {
  EXPECT_DEATH({ (void)ParsePositive(0).value(); }, "not positive");
}

}  // namespace
}  // namespace gpuwise::base
