// Tests of the slice latency model: its properties (no data needed) and its calibration against the MIGProfiler
// CSVs under $GPUWISE_SHARED/data/migprofiler-a100 (skipped when the variable is unset). The calibration test fits
// nothing: it recomputes the error figures the header states from the compiled-in constants.
#include "optimize/fractional/slice_latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace gpuwise::optimize::fractional {
namespace {

// A100-80GB shapes (nvidia-gpu-facts.md 2.2).
constexpr std::int64_t kGiB = std::int64_t{1} << 30;
UnitShape A100(int g) {
  switch (g) {
    case 7: return {GpuFamily::kA100, 98, 7, 7, 8, 8, 79 * kGiB};
    case 4: return {GpuFamily::kA100, 56, 4, 7, 4, 8, 39 * kGiB};
    case 3: return {GpuFamily::kA100, 42, 3, 7, 4, 8, 39 * kGiB};
    case 2: return {GpuFamily::kA100, 28, 2, 7, 2, 8, 19 * kGiB};
    default: return {GpuFamily::kA100, 14, 1, 7, 1, 8, 9 * kGiB};
  }
}
UnitShape H100(int g) {
  switch (g) {
    case 7: return {GpuFamily::kH100, 132, 7, 7, 8, 8, 79 * kGiB};
    case 3: return {GpuFamily::kH100, 60, 3, 7, 4, 8, 39 * kGiB};
    default: return {GpuFamily::kH100, 16, 1, 7, 1, 8, 9 * kGiB};
  }
}

double Factor(const UnitShape& from, const UnitShape& to, double a) {
  auto r = ComputeFactor(from, to, a);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->factor : 0;
}

bool HasReason(const std::vector<std::string>& reasons, std::string_view part) {
  return std::any_of(reasons.begin(), reasons.end(),
                     [&](const std::string& r) { return r.find(part) != std::string::npos; });
}

// ---------------------------------------------------------------------------------------------------------------
// Properties.

TEST(SliceLatency, SameShapeIsIdentity) {
  for (int g : {7, 3, 2, 1}) {
    for (double a : {0.0, 0.1, 0.3, 0.5, 0.9, 1.0}) EXPECT_DOUBLE_EQ(Factor(A100(g), A100(g), a), 1.0);
  }
  auto d = DecodeFactor(A100(3), A100(3), 0.7);
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->factor, 1.0);
}

TEST(SliceLatency, FewerSmsNeverFaster) {
  UnitShape from = A100(7);
  for (double a = 0; a <= 1.0; a += 0.05) {
    double last = 1.0;
    for (int sms = 98; sms >= 7; sms -= 7) {
      UnitShape to = from;
      to.sms = sms;
      const double f = Factor(from, to, a);
      EXPECT_GE(f, last - 1e-12) << "a=" << a << " sms=" << sms;
      EXPECT_GE(f, 1.0);
      last = f;
    }
  }
}

TEST(SliceLatency, MoreActivityNeverFaster) {
  double last = 1.0;
  for (double a = 0; a <= 1.0; a += 0.01) {
    const double f = Factor(A100(7), A100(2), a);
    EXPECT_GE(f, last - 1e-12);
    last = f;
  }
}

TEST(SliceLatency, GrowingNeverPredictsSpeedUpAndIsFlagged) {
  auto r = ComputeFactor(A100(1), A100(7), 1.0);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->factor, 1.0);
  EXPECT_TRUE(r->extrapolated);
}

TEST(SliceLatency, WorkedNumbersOfTheHeader) {
  // a = 0.31 from 7g to 3g: u = 16 * 0.31^3 = 0.477, / (42 / 98) = 1.11.
  EXPECT_NEAR(Factor(A100(7), A100(3), 0.31), 16 * std::pow(0.31, 3) / (42.0 / 98), 1e-12);
  EXPECT_NEAR(Factor(A100(7), A100(3), 0.31), 1.11, 0.005);
  // Compute-bound (a >= 0.40): the SM ratio.
  EXPECT_NEAR(Factor(A100(7), A100(3), 0.5), 98.0 / 42, 1e-12);
  EXPECT_NEAR(Factor(A100(7), A100(1), 1.0), 7.0, 1e-12);
  // Low activity: no slowdown until the slice's share falls below u = 16 * 0.2^3 = 0.128.
  EXPECT_DOUBLE_EQ(Factor(A100(7), A100(1), 0.2), 1.0);
}

TEST(SliceLatency, DecodeScalesWithMemorySlicesFlooredByCompute) {
  auto d = DecodeFactor(A100(7), A100(3), 0.1);  // 8 -> 4 memory slices, compute term 1
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->factor, 2.0);
  d = DecodeFactor(A100(7), A100(1), 0.1);  // 8 -> 1
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->factor, 8.0);
  d = DecodeFactor(A100(7), A100(3), 0.9);  // compute term 98/42 = 2.33 > bandwidth 2
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(d->factor, 98.0 / 42, 1e-12);
  EXPECT_TRUE(HasReason(d->reasons, "uncalibrated"));
}

TEST(SliceLatency, ErrorBoundsByActivityBand) {
  EXPECT_DOUBLE_EQ(ComputeErrorBound(0.1), 0.05);
  EXPECT_DOUBLE_EQ(ComputeErrorBound(0.3), 0.31);
  EXPECT_DOUBLE_EQ(ComputeErrorBound(0.6), 0.17);
  EXPECT_DOUBLE_EQ(ComputeErrorBound(1.0), 0.14);
}

TEST(SliceLatency, ExtrapolationFlags) {
  auto a100 = ComputeFactor(A100(7), A100(3), 0.5);
  ASSERT_TRUE(a100.ok());
  EXPECT_FALSE(a100->extrapolated);
  auto h100 = ComputeFactor(H100(7), H100(3), 0.5);
  ASSERT_TRUE(h100.ok());
  EXPECT_TRUE(h100->extrapolated);
  EXPECT_NEAR(h100->factor, 132.0 / 60, 1e-12);
  EXPECT_TRUE(HasReason(h100->reasons, "calibrated on A100 only"));
  auto tiny = ComputeFactor(H100(7), H100(1), 0.5);  // 16 / 132 = 0.121 < 1/7
  ASSERT_TRUE(tiny.ok());
  EXPECT_TRUE(HasReason(tiny->reasons, "SM ratio 0.121"));
  auto idle = ComputeFactor(A100(7), A100(3), 0.01);
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE(idle->extrapolated);
}

TEST(SliceLatency, BadInputsAreErrors) {
  EXPECT_EQ(ComputeFactor(A100(7), H100(3), 0.5).status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(ComputeFactor(A100(7), A100(3), 1.5).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(ComputeFactor(A100(7), A100(3), std::nan("")).status().code(), base::Code::kInvalidArgument);
  UnitShape broken = A100(3);
  broken.sms = 0;
  EXPECT_EQ(ComputeFactor(A100(7), broken, 0.5).status().code(), base::Code::kInvalidArgument);
  broken = A100(3);
  broken.memory_slices = 9;
  EXPECT_EQ(ComputeFactor(A100(7), broken, 0.5).status().code(), base::Code::kInvalidArgument);
  WorkloadObservation none;
  EXPECT_EQ(PredictLatency(A100(7), A100(3), none).status().code(), base::Code::kInvalidArgument);
  WorkloadObservation negative;
  negative.request_p99_s = -1;
  EXPECT_EQ(PredictLatency(A100(7), A100(3), negative).status().code(), base::Code::kInvalidArgument);
}

TEST(SliceLatency, SaturationDoesNotFit) {
  WorkloadObservation o;
  o.request_p99_s = 0.020;
  o.gr_active_p95 = 0.3;  // x7 on 1g = 2.1: would need more SMs than the slice has
  auto p = PredictLatency(A100(7), A100(1), o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->fits);
  EXPECT_FALSE(p->request_p99.has_value());
  EXPECT_TRUE(HasReason(p->reasons, "would saturate"));
  // Same workload on 3g: 0.3 x 2.33 = 0.70 < 0.9, fits.
  p = PredictLatency(A100(7), A100(3), o);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->fits);
  // An LLM server is limited by memory bandwidth too: 8 -> 1 memory slices is x8.
  WorkloadObservation llm;
  llm.tpot_p99_s = 0.030;
  llm.gr_active_p95 = 0.12;  // x8 = 0.96
  p = PredictLatency(A100(7), A100(1), llm);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->fits);
}

TEST(SliceLatency, MemoryDoesNotFit) {
  WorkloadObservation o;
  o.request_p99_s = 0.010;
  o.gr_active_p95 = 0.05;
  o.memory_needed_bytes = 12 * kGiB;
  auto p = PredictLatency(A100(7), A100(1), o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->fits);
  EXPECT_TRUE(HasReason(p->reasons, "GiB of GPU memory"));
}

TEST(SliceLatency, PredictLatencyCombinesTermsAndExplains) {
  WorkloadObservation o;
  o.ttft_p99_s = 0.400;
  o.tpot_p99_s = 0.025;
  o.gr_active_p95 = 0.3;
  auto p = PredictLatency(A100(7), A100(3), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->fits);
  const double g = 98.0 / 42;
  const double q = (1 + 0.3 * g / (2 * (1 - 0.3 * g))) / (1 + 0.3 / (2 * 0.7));  // 1.78
  ASSERT_TRUE(p->ttft_p99 && p->tpot_p99);
  EXPECT_NEAR(p->ttft_p99->factor, g * q, 1e-9);
  EXPECT_NEAR(p->ttft_p99->predicted_s, 0.400 * g * q, 1e-9);
  EXPECT_DOUBLE_EQ(p->ttft_p99->error_bound, 0.14);
  EXPECT_DOUBLE_EQ(p->tpot_p99->factor, 2.0);  // 8 -> 4 memory slices; no queueing on decode
  EXPECT_DOUBLE_EQ(p->tpot_p99->error_bound, 0.31);
  EXPECT_FALSE(p->request_p99.has_value());
  EXPECT_TRUE(HasReason(p->reasons, "prefill x2.33 (SMs 42 vs 98"));
  EXPECT_TRUE(HasReason(p->reasons, "decode x2.00 (memory slices 4 of 8"));
  EXPECT_TRUE(HasReason(p->reasons, "queueing x1.78"));
  EXPECT_TRUE(HasReason(p->reasons, "model error p90 +31%"));
  EXPECT_TRUE(HasReason(p->reasons, "calibrated on A100 MIGProfiler"));
  EXPECT_FALSE(p->extrapolated);

  LatencyOptions no_queue;
  no_queue.model_queueing = false;
  p = PredictLatency(A100(7), A100(3), o, no_queue);
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR(p->ttft_p99->factor, g, 1e-9);
}

TEST(SliceLatency, BusyFractionRaisesActivityWhileServing) {
  // 10% GR activity, but only 20% of the time serving: 0.5 while serving -> compute-bound.
  WorkloadObservation o;
  o.request_p99_s = 0.010;
  o.gr_active_p95 = 0.1;
  o.busy_fraction = 0.2;
  LatencyOptions no_queue;
  no_queue.model_queueing = false;
  auto p = PredictLatency(A100(7), A100(3), o, no_queue);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->fits);
  EXPECT_NEAR(p->request_p99->factor, 98.0 / 42, 1e-9);
  o.busy_fraction.reset();
  p = PredictLatency(A100(7), A100(3), o, no_queue);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->request_p99->factor, 1.0);
  EXPECT_TRUE(HasReason(p->reasons, "busy fraction unknown"));
}

TEST(SliceLatency, SloCheck) {
  EXPECT_TRUE(SloHolds(0.100, 0.14, 0.1141));
  EXPECT_FALSE(SloHolds(0.100, 0.14, 0.1139));
  EXPECT_FALSE(SloHolds(std::nan(""), 0.14, 1.0));
  WorkloadObservation o;
  o.request_p99_s = 0.020;
  o.gr_active_p95 = 0.15;
  auto p = PredictLatency(A100(7), A100(2), o);  // compute x1; queueing 0.15 -> 0.525
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->fits);
  const double limit = p->request_p99->predicted_s * 1.05;
  SloTargets slo;
  EXPECT_FALSE(CheckSlo(*p, slo).holds);  // no SLO: never shrink
  EXPECT_TRUE(HasReason(CheckSlo(*p, slo).reasons, "no SLO"));
  slo.request_p99_s = limit;
  EXPECT_TRUE(CheckSlo(*p, slo).holds);
  slo.request_p99_s = limit * 0.999;
  EXPECT_FALSE(CheckSlo(*p, slo).holds);
  slo.request_p99_s = 1.0;
  slo.ttft_p99_s = 1.0;  // an SLO on a latency never observed: unknown, does not hold
  EXPECT_FALSE(CheckSlo(*p, slo).holds);
  LatencyPrediction saturated;
  saturated.fits = false;
  saturated.does_not_fit = "would saturate";
  EXPECT_FALSE(CheckSlo(saturated, SloTargets{1.0, 1.0, 1.0}).holds);
}

// ---------------------------------------------------------------------------------------------------------------
// Calibration against MIGProfiler.

// A small CSV reader: header row, comma separated, no quoting (these files have none).
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int Col(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};
std::vector<std::string> SplitComma(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    out.push_back(cell);
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}
Csv ReadCsv(const std::filesystem::path& path) {
  Csv csv;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return csv;
  csv.header = SplitComma(line);
  while (std::getline(in, line)) {
    if (!line.empty()) csv.rows.push_back(SplitComma(line));
  }
  return csv;
}

// 1 Hz GRACT samples; p95 (nearest rank) over [start, end].
class Dcgm {
 public:
  explicit Dcgm(const std::filesystem::path& path) {
    const Csv csv = ReadCsv(path);
    const int ts = csv.Col("TimeStamp"), gr = csv.Col("GRACT");
    for (const auto& row : csv.rows) samples_.emplace_back(std::stoll(row[ts]), std::stod(row[gr]));
  }
  double P95(long long start, long long end) const {
    std::vector<double> v;
    for (const auto& [t, g] : samples_) {
      if (t >= start && t <= end) v.push_back(g);
    }
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    const auto k = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(v.size()))) - 1;
    return v[k];
  }
  std::size_t size() const { return samples_.size(); }

 private:
  std::vector<std::pair<long long, double>> samples_;
};

struct Run {
  double latency_ms;
  double activity_p95;
};
using Key = std::tuple<std::string, std::string, int, int>;  // gpu, model, batch, seq
using Runs = std::map<Key, std::map<int, Run>>;               // compute slices -> run

// Adds the rows of one result file; the first run seen for a (key, profile) wins (batch sweeps are read before
// sequence sweeps: the A100-40GB sweeps both ran batch 32 / seq 64, in different runs).
void AddRuns(Runs* runs, const std::string& gpu, const std::filesystem::path& file, int fixed_slices,
             const Dcgm& dcgm) {
  const Csv csv = ReadCsv(file);
  const int model = csv.Col("model_name"), batch = csv.Col("batch_size"), seq = csv.Col("seq_length"),
            latency = csv.Col("latency"), start = csv.Col("start_timestamp"), end = csv.Col("end_timestamp"),
            profile = csv.Col("mig_profile");
  ASSERT_GE(model, 0) << file;
  ASSERT_GE(latency, 0) << file;
  for (const auto& row : csv.rows) {
    const double l = std::stod(row[latency]);
    if (l <= 0) continue;  // runs that did not fit in memory
    const int slices = profile >= 0 ? row[profile][0] - '0' : fixed_slices;
    Key key{gpu, row[model], std::stoi(row[batch]), seq >= 0 ? std::stoi(row[seq]) : 0};
    auto& by_profile = (*runs)[key];
    if (by_profile.count(slices)) continue;
    by_profile[slices] = Run{l, std::min(1.0, dcgm.P95(std::stoll(row[start]), std::stoll(row[end])))};
  }
}

struct Move {
  std::string gpu, model;
  int batch, seq, from, to;
  double activity, measured, predicted;
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

class MigProfilerCalibration : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* shared = std::getenv("GPUWISE_SHARED");
    if (shared == nullptr) GTEST_SKIP() << "GPUWISE_SHARED not set";
    const std::filesystem::path root = std::filesystem::path(shared) / "data" / "migprofiler-a100";
    if (!std::filesystem::exists(root)) GTEST_SKIP() << root << " missing";
    Runs runs;
    const std::filesystem::path a80 = root / "A100-80g" / "infer";
    {
      const Dcgm nlp(a80 / "nlp" / "dcgm.csv"), cv(a80 / "cv" / "dcgm.csv");
      AddRuns(&runs, "A100-80GB", a80 / "nlp" / "integrated_result_bsz.csv", 0, nlp);
      AddRuns(&runs, "A100-80GB", a80 / "nlp" / "integrated_result_seq.csv", 0, nlp);
      AddRuns(&runs, "A100-80GB", a80 / "cv" / "integrated_result.csv", 0, cv);
    }
    const std::map<std::string, int> slices_of{{"05g", 1}, {"10g", 2}, {"20g", 3}, {"40g", 7}};
    for (const std::string sweep : {"bsz", "seq"}) {
      const std::filesystem::path dir = root / "A100-40g" / ("infer_" + sweep);
      const Dcgm dcgm(dir / "dcgm.csv");
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.find("_infer_") != std::string::npos && name.ends_with("g_" + sweep + ".csv")) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        const std::string name = f.filename().string();
        const std::string tag = name.substr(name.size() - sweep.size() - 4 - 4, 3);  // "05g" of "_05g_bsz.csv"
        ASSERT_TRUE(slices_of.count(tag)) << name;
        AddRuns(&runs, "A100-40GB", f, slices_of.at(tag), dcgm);
      }
    }
    const std::map<int, int> sms{{7, 98}, {3, 42}, {2, 28}, {1, 14}};
    for (const auto& [key, by_profile] : runs) {
      for (const auto& [from, rf] : by_profile) {
        for (const auto& [to, rt] : by_profile) {
          if (to >= from) continue;
          UnitShape f{GpuFamily::kA100, sms.at(from), from, 7, 8, 8, 0};
          UnitShape t{GpuFamily::kA100, sms.at(to), to, 7, 8, 8, 0};
          ASSERT_GE(rf.activity_p95, 0) << std::get<1>(key);
          auto p = ComputeFactor(f, t, rf.activity_p95);
          ASSERT_TRUE(p.ok()) << p.status().ToString();
          moves_.push_back(Move{std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), from, to,
                                rf.activity_p95, rt.latency_ms / rf.latency_ms, p->factor});
        }
      }
    }
  }
  std::vector<Move> moves_;
};

TEST_F(MigProfilerCalibration, ErrorFiguresMatchTheHeader) {
  ASSERT_EQ(static_cast<int>(moves_.size()), kCalibration.moves);
  std::vector<double> abs, under;
  for (const Move& m : moves_) {
    abs.push_back(std::abs(m.predicted - m.measured) / m.measured);
    under.push_back(std::max(0.0, m.measured / m.predicted - 1));
  }
  EXPECT_NEAR(Quantile(abs, 0.5), kCalibration.abs_p50, 0.005);
  EXPECT_NEAR(Quantile(abs, 0.9), kCalibration.abs_p90, 0.005);
  EXPECT_NEAR(*std::max_element(abs.begin(), abs.end()), kCalibration.abs_max, 0.01);
  EXPECT_NEAR(Quantile(under, 0.9), kCalibration.under_p90, 0.005);
  EXPECT_NEAR(*std::max_element(under.begin(), under.end()), kCalibration.under_max, 0.01);
}

TEST_F(MigProfilerCalibration, BandBoundsAreTheCalibrationP90) {
  // Each band's bound covers 90% of its calibration moves and is no looser than the data by more than 1.5 points.
  const double edges[] = {0, 0.25, 0.5, 0.75, 1.01};
  for (int b = 0; b < 4; ++b) {
    std::vector<double> under;
    for (const Move& m : moves_) {
      if (m.activity >= edges[b] && m.activity < edges[b + 1]) under.push_back(std::max(0.0, m.measured / m.predicted - 1));
    }
    ASSERT_GE(under.size(), 100u) << "band " << b;
    const double p90 = Quantile(under, 0.9);
    const double bound = ComputeErrorBound((edges[b] + edges[b + 1]) / 2);
    EXPECT_GE(bound, p90) << "band " << b;
    EXPECT_LE(bound, p90 + 0.015) << "band " << b;
  }
}

TEST_F(MigProfilerCalibration, SaturatedRunsScaleWithSms) {
  // Runs at activity >= 0.75 on 7g (compute-bound) moved to 1g: the model predicts x7 (98 / 14 SMs). None is slower
  // than that by more than the band's 14%; the median is within 10%. (Small batches, e.g. ViT at batch 1, slow less:
  // x4.1, an over-prediction, the safe side.)
  std::vector<double> ratio;
  for (const Move& m : moves_) {
    if (m.from != 7 || m.to != 1 || m.activity < 0.75) continue;
    ratio.push_back(m.measured / m.predicted);
    EXPECT_LE(m.measured, m.predicted * (1 + ComputeErrorBound(m.activity)))
        << m.model << " batch " << m.batch << " seq " << m.seq;
  }
  ASSERT_GE(ratio.size(), 15u);
  EXPECT_NEAR(Quantile(ratio, 0.5), 1.0, 0.10);
}

}  // namespace
}  // namespace gpuwise::optimize::fractional
