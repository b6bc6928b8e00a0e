// Tests for the Prometheus API JSON decoder: shapes, special values, errors, and a round-trip property.
#include "observe/prom/query_decoder.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

namespace gpuwise::observe::prom {
namespace {

TEST(QueryDecoderTest, DecodesVectorFromPrometheusDocs) {
  auto r = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},"value":[1435781451.781,"1"]},
 {"metric":{"__name__":"up","job":"node","instance":"localhost:9100"},"value":[1435781451.781,"0"]}]}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result_type, ResultType::kVector);
  ASSERT_EQ(r->vector.size(), 2u);
  EXPECT_EQ(r->vector[0].timestamp_ms, 1435781451781);
  EXPECT_EQ(r->vector[0].value, 1.0);
  EXPECT_EQ(r->vector[1].value, 0.0);
  // Sorted by name.
  Labels want = {{"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "prometheus"}};
  EXPECT_EQ(r->vector[0].labels, want);
}

TEST(QueryDecoderTest, DecodesMatrixWithSpecialValues) {
  auto r = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"gpu":"0","__name__":"DCGM_FI_DEV_GPU_UTIL"},"values":[[1700000000,"NaN"],[1700000015.5,"+Inf"],[1700000030.25,"-Inf"],[1700000045.001,"1.5e-3"],[1700000060,"-0"],[1700000075,"42"]]}]},
 "warnings":["w1"],"infos":["i1"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->result_type, ResultType::kMatrix);
  ASSERT_EQ(r->matrix.size(), 1u);
  const Series& s = r->matrix[0];
  EXPECT_EQ(s.labels[0].first, "__name__");
  ASSERT_EQ(s.values.size(), 6u);
  EXPECT_TRUE(std::isnan(s.values[0]));
  EXPECT_EQ(s.values[1], std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.values[2], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.values[3], 0.0015);
  EXPECT_TRUE(std::signbit(s.values[4]));
  EXPECT_EQ(s.values[5], 42.0);
  std::vector<std::int64_t> want_ts = {1700000000000, 1700000015500, 1700000030250, 1700000045001, 1700000060000,
                                       1700000075000};
  EXPECT_EQ(s.timestamps_ms, want_ts);
  EXPECT_EQ(r->warnings, (std::vector<std::string>{"w1", "i1"}));
}

TEST(QueryDecoderTest, TimestampsConvertExactlyWithRounding) {
  std::int64_t ms = 0;
  ASSERT_TRUE(ParseTimestampMillis("1435781451.781", &ms));
  EXPECT_EQ(ms, 1435781451781);
  ASSERT_TRUE(ParseTimestampMillis("1435781451.7815", &ms));
  EXPECT_EQ(ms, 1435781451782);  // half rounds away from zero
  ASSERT_TRUE(ParseTimestampMillis("1435781451.7814999", &ms));
  EXPECT_EQ(ms, 1435781451781);
  ASSERT_TRUE(ParseTimestampMillis("1435781451.9996", &ms));
  EXPECT_EQ(ms, 1435781452000);  // carries into the seconds
  ASSERT_TRUE(ParseTimestampMillis("-1.5", &ms));
  EXPECT_EQ(ms, -1500);
  ASSERT_TRUE(ParseTimestampMillis("1.4e9", &ms));
  EXPECT_EQ(ms, 1400000000000);
  ASSERT_TRUE(ParseTimestampMillis("0", &ms));
  EXPECT_EQ(ms, 0);
  EXPECT_FALSE(ParseTimestampMillis("", &ms));
  EXPECT_FALSE(ParseTimestampMillis("-", &ms));
  EXPECT_FALSE(ParseTimestampMillis("1.2.3", &ms));
  EXPECT_FALSE(ParseTimestampMillis("1e400", &ms));
  EXPECT_FALSE(ParseTimestampMillis("99999999999999999999", &ms));
}

TEST(QueryDecoderTest, SampleValues) {
  double v = 0;
  EXPECT_TRUE(ParseSampleValue("NaN", &v) && std::isnan(v));
  EXPECT_TRUE(ParseSampleValue("+Inf", &v) && v > 0 && std::isinf(v));
  EXPECT_TRUE(ParseSampleValue("-Inf", &v) && v < 0 && std::isinf(v));
  EXPECT_TRUE(ParseSampleValue("167.362000", &v) && v == 167.362);
  EXPECT_TRUE(ParseSampleValue("1e+06", &v) && v == 1e6);
  EXPECT_TRUE(ParseSampleValue("1e999", &v) && std::isinf(v));
  EXPECT_FALSE(ParseSampleValue("", &v));
  EXPECT_FALSE(ParseSampleValue("+", &v));
  EXPECT_FALSE(ParseSampleValue("+-1", &v));
  EXPECT_FALSE(ParseSampleValue("1,5", &v));
  EXPECT_FALSE(ParseSampleValue("abc", &v));
  EXPECT_FALSE(ParseSampleValue("0x10", &v));
}

TEST(QueryDecoderTest, EmptyResults) {
  auto m = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->result_type, ResultType::kMatrix);
  EXPECT_TRUE(m->matrix.empty());
  auto v = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->vector.empty());
}

TEST(QueryDecoderTest, ScalarAndString) {
  auto s = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"3.25"]}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->result_type, ResultType::kScalar);
  ASSERT_EQ(s->vector.size(), 1u);
  EXPECT_EQ(s->vector[0].timestamp_ms, 1700000000500);
  EXPECT_EQ(s->vector[0].value, 3.25);
  auto t = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->string_value, "hello");
}

TEST(QueryDecoderTest, ErrorResponseCarriesTypeAndText) {
  auto r = DecodeQueryResponse(
      R"j({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"})j");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("bad_data"), std::string::npos);
  EXPECT_NE(r.status().message().find("exceeded maximum resolution of 11,000 points"), std::string::npos);

  auto s = DecodeQueryResponse(
      R"({"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"})");
  EXPECT_EQ(s.status().code(), base::Code::kResourceExhausted);
  auto t = DecodeQueryResponse(R"({"status":"error","errorType":"timeout","error":"query timed out"})");
  EXPECT_EQ(t.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_EQ(DecodeErrorResponse(R"({"status":"error","errorType":"internal","error":"boom"})").code(),
            base::Code::kInternal);
  EXPECT_TRUE(DecodeErrorResponse("<html>").ok());
}

TEST(QueryDecoderTest, HtmlPageIsAClearError) {
  std::string html =
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
      "</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n" +
      std::string(500, 'x');
  auto r = DecodeQueryResponse(html);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("expected a Prometheus API JSON response, got: \"<html> <head><title>502 Bad Gateway"), std::string::npos) << m;
  EXPECT_EQ(m.find('\r'), std::string::npos);
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_LT(m.size(), 200u);
  EXPECT_FALSE(DecodeQueryResponse("").ok());
  EXPECT_FALSE(DecodeQueryResponse("   \n").ok());
  EXPECT_NE(DecodeQueryResponse(std::string("\x01\x02\xff", 3)).status().message().find("???"), std::string::npos);
}

TEST(QueryDecoderTest, BadInputsAreErrorsNotCrashes) {
  const char* bad[] = {
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2")",  // truncated
      R"({"status":"success")",
      R"({"status":"success"})",                                   // no data
      R"({"status":"success","data":{"resultType":"matrix"}})",    // no result
      R"({"status":"success","data":{"resultType":"matrix","result":{}}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})",  // number value
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["1","2"]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2",3]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[2,"1"],[1,"1"]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"x","a":"y"},"values":[]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"values":[[1,"1"]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"value":[1,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]}})",
      R"({"status":"success","data":{"resultType":"bogus","result":[]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[1,"2"]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}})",
      R"({"status":"maybe","data":{}})",
      R"({"data":{"resultType":"vector","result":[]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[]}} trailing)",
      R"({"status":"success","data":{"resultType":"vector","result":[]}}})",
      R"({"status":1})",
      R"({"status":"success","warnings":"nope","data":{"resultType":"vector","result":[]}})",
      R"({)",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e999999,"1"]}]}})",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"\xff\"},\"value\":[1,\"1\"]}]}}",
      "[1,2,3]",
      "null",
  };
  for (const char* body : bad) {
    auto r = DecodeQueryResponse(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_FALSE(r.status().message().empty());
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument) << body << " -> " << r.status().ToString();
  }
  // Wrong types name what was found.
  auto r = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":"x"}]}})");
  EXPECT_NE(r.status().message().find("got string"), std::string::npos) << r.status().ToString();
  auto t = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"x"]]}]}})");
  EXPECT_NE(t.status().message().find("data.result[0].values[1]"), std::string::npos) << t.status().ToString();
}

TEST(QueryDecoderTest, ToleratesFieldOrderAndUnknownFields) {
  auto r = DecodeQueryResponse(
      R"({"data":{"result":[{"values":[[1,"1"]],"extra":{"x":[1,2]},"metric":{"b":"2","a":"1"}}],"resultType":"matrix"},"status":"success","stats":{}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrix.size(), 1u);
  EXPECT_EQ(r->matrix[0].labels, (Labels{{"a", "1"}, {"b", "2"}}));
}

TEST(QueryDecoderTest, NativeHistogramsAreSkippedWithAWarning) {
  auto r = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"histogram":[1,{"count":"2"}]},{"metric":{"a":"2"},"value":[1,"3"]}]}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_FALSE(r->warnings.empty());
}

TEST(QueryDecoderTest, SeriesAndLabels) {
  auto s = DecodeSeriesResponse(
      R"({"status":"success","data":[{"__name__":"up","job":"prometheus","instance":"localhost:9090"},{"__name__":"up","job":"node"}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->series.size(), 2u);
  EXPECT_EQ(s->series[1], (Labels{{"__name__", "up"}, {"job", "node"}}));
  auto l = DecodeLabelsResponse(R"({"status":"success","data":["__name__","gpu","job"],"warnings":["partial"]})");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->names, (std::vector<std::string>{"__name__", "gpu", "job"}));
  EXPECT_EQ(l->warnings, (std::vector<std::string>{"partial"}));
  EXPECT_FALSE(DecodeLabelsResponse(R"({"status":"success","data":[1]})").ok());
  EXPECT_FALSE(DecodeSeriesResponse(R"({"status":"success","data":["x"]})").ok());
}

TEST(QueryDecoderTest, EscapedLabelValues) {
  auto r = DecodeQueryResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a\"b":"q\"\\\n\u00e9"},"value":[1,"1"]}]}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->vector[0].labels[0].first, "a\"b");
  EXPECT_EQ(r->vector[0].labels[0].second, "q\"\\\n\xc3\xa9");
}

// ---- property: the test's own writer -> decoder round-trips exactly ----

void WriteJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      *out += buf;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

std::string WriteSeconds(std::int64_t ms) {
  std::string out = ms < 0 ? "-" : "";
  std::uint64_t a = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  out += std::to_string(a / 1000);
  if (a % 1000 != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03u", static_cast<unsigned>(a % 1000));
    out += buf;
  }
  return out;
}

std::string WriteValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string WriteMatrix(const Matrix& m) {
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"metric":{)";
    for (std::size_t j = 0; j < m[i].labels.size(); ++j) {
      if (j > 0) out += ',';
      WriteJsonString(&out, m[i].labels[j].first);
      out += ':';
      WriteJsonString(&out, m[i].labels[j].second);
    }
    out += R"(},"values":[)";
    for (std::size_t k = 0; k < m[i].values.size(); ++k) {
      if (k > 0) out += ',';
      out += '[' + WriteSeconds(m[i].timestamps_ms[k]) + ",\"" + WriteValue(m[i].values[k]) + "\"]";
    }
    out += "]}";
  }
  out += "]}}";
  return out;
}

bool SameDouble(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

TEST(QueryDecoderPropertyTest, RandomMatricesRoundTrip) {
  bool ok = rc::check("written matrices decode back exactly", [] {
    const auto series_count = *rc::gen::inRange<std::size_t>(0, 6);
    Matrix m;
    for (std::size_t i = 0; i < series_count; ++i) {
      Series s;
      // Valid UTF-8 only (JSON requires it): printable ASCII, escapes, and a two-byte character.
      const auto text = rc::gen::map(
          rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100)),
          [](const std::vector<int>& codes) {
            std::string out;
            for (std::size_t k = 0; k < codes.size() && k < 12; ++k) {
              const int c = codes[k];
              if (c < 95) out.push_back(static_cast<char>(32 + c));
              else if (c == 95) out.push_back('\n');
              else if (c == 96) out.push_back('\0');
              else if (c == 97) out.push_back('\t');
              else out += "\xc3\xa9";
            }
            return out;
          });
      auto label_map = *rc::gen::container<std::map<std::string, std::string>>(text, text);
      while (label_map.size() > 5) label_map.erase(std::prev(label_map.end()));
      label_map["zz_series"] = std::to_string(i);  // label sets differ
      s.labels.assign(label_map.begin(), label_map.end());
      const auto n = *rc::gen::inRange<std::size_t>(0, 40);
      std::int64_t t = *rc::gen::inRange<std::int64_t>(-1'000'000'000'000, 4'000'000'000'000);
      for (std::size_t k = 0; k < n; ++k) {
        t += *rc::gen::inRange<std::int64_t>(1, 1'000'000);
        s.timestamps_ms.push_back(t);
        const int kind = *rc::gen::inRange(0, 10);
        double v;
        if (kind == 0) v = std::numeric_limits<double>::quiet_NaN();
        else if (kind == 1) v = std::numeric_limits<double>::infinity();
        else if (kind == 2) v = -std::numeric_limits<double>::infinity();
        else if (kind == 3) v = static_cast<double>(*rc::gen::arbitrary<std::int32_t>());
        else v = *rc::gen::arbitrary<double>();
        if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
        s.values.push_back(v);
      }
      m.push_back(std::move(s));
    }
    auto r = DecodeQueryResponse(WriteMatrix(m));
    RC_ASSERT(r.ok());
    RC_ASSERT(r->matrix.size() == m.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
      RC_ASSERT(r->matrix[i].labels == m[i].labels);
      RC_ASSERT(r->matrix[i].timestamps_ms == m[i].timestamps_ms);
      RC_ASSERT(r->matrix[i].values.size() == m[i].values.size());
      for (std::size_t k = 0; k < m[i].values.size(); ++k) RC_ASSERT(SameDouble(r->matrix[i].values[k], m[i].values[k]));
    }
  });
  EXPECT_TRUE(ok);
}

TEST(QueryDecoderPropertyTest, ArbitraryBytesNeverCrash) {
  bool ok = rc::check("any bytes decode to a value or an error", [](const std::string& body) {
    auto r = DecodeQueryResponse(body);
    if (!r.ok()) RC_ASSERT(!r.status().message().empty());
    auto prefixed = DecodeQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[)" + body);
    const bool consistent = !prefixed.ok() || prefixed->result_type == ResultType::kMatrix;
    RC_ASSERT(consistent);
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace gpuwise::observe::prom

namespace gpuwise::observe::prom {
namespace {

// The decoder's fast paths (plain decimals, timestamps with up to 3 decimals) must give exactly what the
// general parser gives: random decimal texts, including long ones that fall back, compared bit for bit.
TEST(QueryDecoderFastPathTest, DecimalValuesAndTimestampsMatchTheGeneralParser) {
  const bool ok = rc::check("fast path == from_chars", [] {
    const auto int_digits = *rc::gen::inRange(1, 21);
    const auto frac_digits = *rc::gen::inRange(0, 24);
    std::string v = *rc::gen::element(std::string(""), std::string("-"));
    for (int i = 0; i < int_digits; ++i) v.push_back(static_cast<char>('0' + *rc::gen::inRange(0, 10)));
    if (frac_digits > 0) {
      v.push_back('.');
      for (int i = 0; i < frac_digits; ++i) v.push_back(static_cast<char>('0' + *rc::gen::inRange(0, 10)));
    }
    const auto secs = *rc::gen::inRange<std::int64_t>(0, 4'000'000'000);
    const auto millis = *rc::gen::inRange(0, 1000);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%lld.%03d", static_cast<long long>(secs), millis);
    const std::string body = std::string(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[)") +
                             ts + ",\"" + v + "\"]]}]}}";
    auto r = DecodeQueryResponse(body);
    RC_ASSERT(r.ok());
    RC_ASSERT(r->matrix.size() == 1u);
    double want = 0;
    const char* b = v.data();
    auto res = std::from_chars(b, b + v.size(), want);
    RC_ASSERT(res.ec == std::errc());
    RC_ASSERT(std::memcmp(&r->matrix[0].values[0], &want, sizeof want) == 0);
    RC_ASSERT(r->matrix[0].timestamps_ms[0] == secs * 1000 + millis);
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace gpuwise::observe::prom
