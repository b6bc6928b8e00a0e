#include "base/csv.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace gpuwise::base {
namespace {

TEST(CsvFile, ColumnsByNameAndErrorsNamingFileLineAndColumn) {
  auto f = CsvFile::FromText("pods.csv", "name,gpu_milli,num_gpu\r\np-1,500,1\n\np-2,x,1\np-3,1\n", {"gpu_milli"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Index("num_gpu"), 2);
  EXPECT_EQ(f->Index("missing"), -1);
  ASSERT_TRUE(*f->Next());
  std::int64_t milli = 0;
  ASSERT_TRUE(f->Int(f->Index("gpu_milli"), 0, 1000, &milli).ok());
  EXPECT_EQ(milli, 500);
  EXPECT_EQ(f->Field(0), "p-1");
  ASSERT_TRUE(*f->Next());  // the empty line is skipped
  EXPECT_EQ(f->line(), 4);
  const Status bad = f->Int(f->Index("gpu_milli"), 0, 1000, &milli);
  EXPECT_EQ(bad.message(), "pods.csv:4: column 'gpu_milli': expected an integer, got 'x'");
  const Result<bool> short_row = f->Next();
  ASSERT_FALSE(short_row.ok());
  EXPECT_EQ(short_row.status().message(), "pods.csv:5: expected 3 comma-separated fields (name,gpu_milli,num_gpu), got 2");

  auto missing = CsvFile::FromText("nodes.csv", "sn,cpu\n", {"model"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "nodes.csv:1: missing column 'model' in the header");
  EXPECT_FALSE(CsvFile::FromText("empty.csv", "", {}).ok());
  EXPECT_EQ(CsvFile::Open("/nonexistent/x.csv", {}).status().code(), Code::kNotFound);
}

TEST(CsvFile, RangeChecks) {
  auto f = CsvFile::FromText("t.csv", "a,b\n2000,\n", {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(*f->Next());
  std::int64_t v = 7;
  EXPECT_EQ(f->Int(0, 0, 1000, &v).message(), "t.csv:2: column 'a': 2000 is out of range [0, 1000]");
  EXPECT_TRUE(f->Int(1, 0, 10, &v, /*optional=*/true).ok());
  EXPECT_EQ(v, 7);  // an empty optional column leaves the value
  EXPECT_FALSE(f->Int(1, 0, 10, &v).ok());
}

// Any table of integer cells written as CSV reads back cell for cell, whatever the line endings.
RC_GTEST_PROP(CsvProperty, WrittenTablesReadBack, ()) {
  const int columns = *rc::gen::inRange(1, 6);
  const auto rows = *rc::gen::container<std::vector<std::vector<std::int64_t>>>(
      rc::gen::container<std::vector<std::int64_t>>(static_cast<std::size_t>(columns), rc::gen::arbitrary<std::int64_t>()));
  const bool crlf = *rc::gen::arbitrary<bool>();
  std::string text;
  for (int c = 0; c < columns; ++c) text += (c ? "," : "") + std::string("c") + std::to_string(c);
  text += crlf ? "\r\n" : "\n";
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) text += (c ? "," : "") + std::to_string(row[c]);
    text += crlf ? "\r\n" : "\n";
  }
  auto f = CsvFile::FromText("p.csv", text, {"c0"});
  RC_ASSERT(f.ok());
  for (const auto& row : rows) {
    const Result<bool> more = f->Next();
    RC_ASSERT(more.ok() && *more);
    for (std::size_t c = 0; c < row.size(); ++c) {
      std::int64_t v = 0;
      RC_ASSERT(f->Int(static_cast<int>(c), INT64_MIN, INT64_MAX, &v).ok());
      RC_ASSERT(v == row[c]);
    }
  }
  const Result<bool> end = f->Next();
  RC_ASSERT(end.ok() && !*end);
}

}  // namespace
}  // namespace gpuwise::base
