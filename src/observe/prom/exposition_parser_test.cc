#include "observe/prom/exposition_parser.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "observe/prom/series_interner.h"

namespace gpuwise::observe::prom {
namespace {

struct Parsed {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  bool has_ts;
  std::int64_t ts;
  std::uint64_t hash;
  MetricType type;
};

struct ParseResult {
  std::vector<Parsed> samples;
  std::vector<std::string> errors;
  std::vector<Entry> meta;  // views invalid after parsing; only kind/type used
  std::vector<std::string> meta_text;
};

ParseResult ParseAll(std::string_view page, Format format = Format::kText, ParserOptions options = {}) {
  options.format = format;
  ExpositionParser parser(page, options);
  ParseResult r;
  Entry e;
  for (int guard = 0; guard < 1000000; ++guard) {
    base::Status s = parser.Next(&e);
    if (!s.ok()) {
      r.errors.push_back(s.message());
      continue;  // the parser has moved past the bad line (or is done)
    }
    if (e.kind == EntryKind::kEof) break;
    if (e.kind == EntryKind::kSample) {
      Parsed p{std::string(e.sample.name), {}, e.sample.value, e.sample.has_timestamp, e.sample.timestamp_ms,
               e.sample.series_hash, e.sample.family_type};
      for (const Label& l : e.sample.labels) p.labels.emplace_back(std::string(l.name), std::string(l.value));
      r.samples.push_back(std::move(p));
    } else {
      r.meta.push_back(e);
      r.meta_text.push_back(std::string(e.family) + "|" + std::string(e.text));
    }
  }
  return r;
}

constexpr char kDcgmPage[] =
    "# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n"
    "# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n"
    "DCGM_FI_DEV_SM_CLOCK{gpu=\"0\",UUID=\"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77\",pci_bus_id=\"00000000:1A:00.0\","
    "device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"gsrh100-074\","
    "DCGM_FI_DRIVER_VERSION=\"535.129.03\",container=\"\",namespace=\"\",pod=\"\"} 1980\n"
    "# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.\n"
    "# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge\n"
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77\","
    "pci_bus_id=\"00000000:1A:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",GPU_I_PROFILE=\"1g.10gb\","
    "GPU_I_ID=\"7\",Hostname=\"gsrh100-074\",DCGM_FI_DRIVER_VERSION=\"535.129.03\",container=\"kserve-container\","
    "namespace=\"model-playground-stg\",pod=\"text-embedding-predictor-00008-deployment-57946f6c67-vdtjl\"} 0.000000\n";

TEST(ExpositionParserTest, ParsesRealDcgmExporterLines) {
  ParseResult r = ParseAll(kDcgmPage);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  ASSERT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.samples[0].name, "DCGM_FI_DEV_SM_CLOCK");
  EXPECT_EQ(r.samples[0].value, 1980);
  EXPECT_EQ(r.samples[0].labels.size(), 10u);
  EXPECT_EQ(r.samples[0].labels[4].second, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r.samples[0].labels[9], (std::pair<std::string, std::string>{"pod", ""}));
  EXPECT_EQ(r.samples[0].type, MetricType::kGauge);
  EXPECT_EQ(r.samples[1].labels[5].second, "1g.10gb");
  EXPECT_EQ(r.samples[1].labels[6].second, "7");
  EXPECT_EQ(r.samples[1].value, 0.0);
  EXPECT_FALSE(r.samples[1].has_ts);
  ASSERT_EQ(r.meta.size(), 4u);
  EXPECT_EQ(r.meta_text[0], "DCGM_FI_DEV_SM_CLOCK|SM clock frequency (in MHz).");
}

TEST(ExpositionParserTest, SpecialValuesAndTimestamps) {
  ParseResult r = ParseAll(
      "a NaN\nb +Inf\nc -Inf\nd 1.5e3 1700000000123\ne -0.25 -5\nf Inf\ng 1e400\nh 0x1p3\n");
  // "0x1p3" is not a Prometheus value (Go's ParseFloat takes hex floats, but no exporter writes them).
  ASSERT_EQ(r.samples.size(), 7u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("line 8"), std::string::npos);
  EXPECT_TRUE(std::isnan(r.samples[0].value));
  EXPECT_EQ(r.samples[1].value, INFINITY);
  EXPECT_EQ(r.samples[2].value, -INFINITY);
  EXPECT_EQ(r.samples[3].value, 1500);
  EXPECT_TRUE(r.samples[3].has_ts);
  EXPECT_EQ(r.samples[3].ts, 1700000000123);
  EXPECT_EQ(r.samples[4].value, -0.25);
  EXPECT_EQ(r.samples[4].ts, -5);
  EXPECT_EQ(r.samples[5].value, INFINITY);
  EXPECT_EQ(r.samples[6].value, INFINITY);
}

TEST(ExpositionParserTest, LabelEscapesAndHelpEscapes) {
  ParseResult r = ParseAll(
      "# HELP m A \\\\ help\\nline\n"
      "m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\",nl=\"a\\nb\",utf=\"caf\xC3\xA9\"} 1\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.meta_text[0], "m|A \\ help\nline");
  EXPECT_EQ(r.samples[0].labels[0].second, "C:\\dir");
  EXPECT_EQ(r.samples[0].labels[1].second, "say \"hi\"");
  EXPECT_EQ(r.samples[0].labels[2].second, "a\nb");
  EXPECT_EQ(r.samples[0].labels[3].second, "caf\xC3\xA9");
}

TEST(ExpositionParserTest, TolerantOfBlanksTrailingCommaCrlfAndNoFinalNewline) {
  ParseResult r = ParseAll("m{gpu=\"0\", UUID=\"GPU-1\" ,} 3\r\n\n   \n  n 4");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  ASSERT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.samples[0].labels[1].second, "GPU-1");
  EXPECT_EQ(r.samples[1].name, "n");
  EXPECT_EQ(r.samples[1].value, 4);
}

TEST(ExpositionParserTest, HistogramsAndSummariesCarryTheirFamilyType) {
  ParseResult r = ParseAll(
      "# TYPE lat histogram\n"
      "lat_bucket{le=\"0.1\"} 3\nlat_bucket{le=\"+Inf\"} 5\nlat_sum 1.25\nlat_count 5\n"
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.99\"} 0.3\nrpc_sum 9\nrpc_count 30\nother 1\n");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.samples.size(), 8u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.samples[i].type, MetricType::kHistogram) << i;
  for (int i = 4; i < 7; ++i) EXPECT_EQ(r.samples[i].type, MetricType::kSummary) << i;
  EXPECT_EQ(r.samples[7].type, MetricType::kUnknown);
  EXPECT_EQ(r.samples[1].labels[0].second, "+Inf");
}

TEST(ExpositionParserTest, OpenMetricsExemplarsCreatedUnitAndEof) {
  ParseResult r = ParseAll(
      "# TYPE req counter\n# UNIT req requests\n# HELP req Requests \\\"served\\\".\n"
      "req_total{code=\"200\"} 17 1700000000.5 # {trace_id=\"abc\"} 1 1700000000.25\n"
      "req_created{code=\"200\"} 1699990000\n"
      "# TYPE up info\nup_info{version=\"1\"} 1\n"
      "# EOF\n",
      Format::kOpenMetrics);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].ts, 1700000000500);  // seconds in OpenMetrics
  EXPECT_EQ(r.samples[0].type, MetricType::kCounter);
  EXPECT_EQ(r.samples[1].type, MetricType::kCounter);
  EXPECT_EQ(r.samples[2].type, MetricType::kInfo);
  EXPECT_EQ(r.meta_text[2], "req|Requests \"served\".");
}

TEST(ExpositionParserTest, OpenMetricsExemplarFieldsAreExposed) {
  ExpositionParser parser("a_total 1 # {id=\"x\\\"y\"} 0.5 12.5\n# EOF\n", {.format = Format::kOpenMetrics});
  Entry e;
  ASSERT_TRUE(parser.Next(&e).ok());
  ASSERT_TRUE(e.sample.has_exemplar);
  ASSERT_EQ(e.sample.exemplar_labels.size(), 1u);
  EXPECT_EQ(e.sample.exemplar_labels[0].value, "x\"y");
  EXPECT_EQ(e.sample.exemplar_value, 0.5);
  EXPECT_EQ(e.sample.exemplar_timestamp_ms, 12500);
}

TEST(ExpositionParserTest, OpenMetricsWithoutEofIsReportedAsTruncated) {
  ParseResult r = ParseAll("a 1\n", Format::kOpenMetrics);
  EXPECT_EQ(r.samples.size(), 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("EOF"), std::string::npos);
  ParseResult after = ParseAll("# EOF\na 1\n", Format::kOpenMetrics);
  ASSERT_EQ(after.errors.size(), 1u);
  EXPECT_NE(after.errors[0].find("after '# EOF'"), std::string::npos);
}

TEST(ExpositionParserTest, LabelOrderDoesNotChangeTheSeriesHashButValuesDo) {
  ParseResult r = ParseAll("m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 1\nm{a=\"2\",b=\"1\"} 1\nn{a=\"1\",b=\"2\"} 1\n");
  ASSERT_EQ(r.samples.size(), 4u);
  EXPECT_EQ(r.samples[0].hash, r.samples[1].hash);
  EXPECT_NE(r.samples[0].hash, r.samples[2].hash);
  EXPECT_NE(r.samples[0].hash, r.samples[3].hash);
}

// Each bad input: a clear message naming line and column, no crash, and the good lines around it kept.
struct BadCase {
  const char* name;
  std::string page;
  const char* expect_in_message;
};

class BadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInputTest, ClearErrorAndNeighboursKept) {
  const BadCase& c = GetParam();
  std::string page = "good_before 1\n" + c.page + "\ngood_after 2\n";
  ParseResult r = ParseAll(page);
  ASSERT_EQ(r.errors.size(), 1u) << c.name;
  EXPECT_NE(r.errors[0].find("line 2 column"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find(c.expect_in_message), std::string::npos) << r.errors[0];
  ASSERT_EQ(r.samples.size(), 2u) << c.name;
  EXPECT_EQ(r.samples[0].name, "good_before");
  EXPECT_EQ(r.samples[1].name, "good_after");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputTest,
    ::testing::Values(BadCase{"truncated", "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-", "unclosed quote"},
                      BadCase{"truncated_no_value", "DCGM_FI_DEV_FB_USED{gpu=\"0\"}", "missing value"},
                      BadCase{"unclosed_brace", "m{gpu=\"0\" 1", "expected ',' or '}'"},
                      BadCase{"duplicate_label", "m{gpu=\"0\",gpu=\"1\"} 1", "duplicate label 'gpu'"},
                      BadCase{"invalid_utf8", "m{gpu=\"\xff\xfe\"} 1", "not valid UTF-8"},
                      BadCase{"overlong_utf8", "m{gpu=\"\xc0\xaf\"} 1", "not valid UTF-8"},
                      BadCase{"huge_label_value", "m{v=\"" + std::string(1 << 20, 'x') + "\"} 1", "over the limit"},
                      BadCase{"non_numeric", "m{gpu=\"0\"} twelve", "invalid value 'twelve'"},
                      BadCase{"bad_timestamp", "m 1 12.5", "invalid timestamp"},
                      BadCase{"trailing_garbage", "m 1 2 3", "unexpected text"},
                      BadCase{"bad_escape", "m{a=\"\\q\"} 1", "invalid escape"},
                      BadCase{"bad_name", "m-x 1", "invalid character in metric name"},
                      BadCase{"bad_label_name", "m{9a=\"1\"} 1", "expected a label name"},
                      BadCase{"bad_type", "# TYPE m histogrammm", "unknown metric type"},
                      BadCase{"exemplar_in_text", "m 1 # {a=\"b\"} 1", "unexpected text"},
                      BadCase{"nan_sign", "m +NaN", "invalid value"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ExpositionParserTest, TooManyLabelsIsAnError) {
  std::string line = "m{";
  for (int i = 0; i < 200; ++i) line += "l" + std::to_string(i) + "=\"v\",";
  line += "} 1\n";
  ParseResult r = ParseAll(line);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("more than 128 labels"), std::string::npos);
}

TEST(ExpositionParserTest, HundredThousandSeriesPage) {
  std::string page;
  for (int i = 0; i < 100000; ++i) {
    page += "DCGM_FI_DEV_FB_USED{gpu=\"" + std::to_string(i % 8) + "\",UUID=\"GPU-" + std::to_string(i) + "\"} " +
            std::to_string(i) + "\n";
  }
  ExpositionParser parser(page, {});
  SeriesInterner interner;
  Entry e;
  std::size_t n = 0;
  double sum = 0;
  while (parser.Next(&e).ok() && e.kind != EntryKind::kEof) {
    interner.Intern(e.sample);
    sum += e.sample.value;
    ++n;
  }
  EXPECT_EQ(n, 100000u);
  EXPECT_EQ(interner.size(), 100000u);
  EXPECT_EQ(sum, 99999.0 * 100000.0 / 2);
}

TEST(SeriesInternerTest, CollidingHashesNeverMergeSeries) {
  SeriesInterner interner;
  interner.ForceHashForTesting(true);  // every series hashes to 42
  ExpositionParser parser("m{a=\"1\"} 1\nm{a=\"2\"} 1\nm{b=\"1\"} 1\nn{a=\"1\"} 1\nm 1\nm{a=\"2\"} 9\n", {});
  Entry e;
  std::vector<std::uint32_t> ids;
  while (parser.Next(&e).ok() && e.kind != EntryKind::kEof) ids.push_back(interner.Intern(e.sample));
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 1}));
  EXPECT_GT(interner.collisions(), 0u);
}

TEST(SeriesInternerTest, LabelOrderIsTheSameSeries) {
  SeriesInterner interner;
  ExpositionParser parser(
      "m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 1\nm{b=\"1\",a=\"2\"} 1\nm{ a = \"1\", b=\"2\", } 1\nm{a=\"1\"} 1\n",
      {});
  Entry e;
  std::vector<std::uint32_t> ids;
  while (parser.Next(&e).ok() && e.kind != EntryKind::kEof) ids.push_back(interner.Intern(e.sample));
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{0, 0, 1, 0, 2}));
  EXPECT_EQ(interner.Labels(0)[0].first, "a");
  EXPECT_EQ(interner.Labels(0)[1].second, "2");
  EXPECT_EQ(interner.Name(1), "m");
}

}  // namespace
}  // namespace gpuwise::observe::prom
